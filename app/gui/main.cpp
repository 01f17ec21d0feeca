// `detslim-gui`: the Qt Widgets workbench, and the headless commands that need Qt but no window
// (the CLI links core only): `--report` and `--export-chart`, run on the offscreen platform.

#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <algorithm>
#include <cstdio>
#include <optional>
#include <string_view>
#include <vector>

#include <unistd.h>

#include "core/base/version.h"
#include "core/store/store.h"
#include "ui/charts/chart_export.h"
#include "ui/charts/charts.h"
#include "ui/charts/report.h"
#include "ui/mainwindow/mainwindow.h"

namespace {

using detslim::ui::ChartKind;

constexpr int kBadInput = 2;
constexpr const char* kUsage =
    "usage:\n"
    "  detslim-gui [MODEL.onnx] [--data DATASET_DIR] [--db STORE]\n"
    "  detslim-gui --report OUT.html|OUT.pdf [--db STORE] [--runs 1,2,3] [--baseline ID]"
    " [--title T]\n"
    "  detslim-gui --export-chart KIND [--db STORE] [--runs 1,2,3] [--run ID] [--baseline ID]\n"
    "              [--metric map|map50] [--latency inference|end-to-end] [--batch N]\n"
    "              [--size 1600x900] -o OUT.png|OUT.svg\n";

int fail(const QString& message) {
  std::fprintf(stderr, "detslim-gui: %s\n", qPrintable(message));
  return kBadInput;
}

QString fromStd(const std::string& s) {
  return QString::fromStdString(s);
}

bool isHeadless(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view a(argv[i]);
    if (a == "--report" || a.starts_with("--report=") || a == "--export-chart" ||
        a.starts_with("--export-chart=")) {
      return true;
    }
  }
  return false;
}

std::optional<int64_t> parseId(const QString& text) {
  bool ok = false;
  const qlonglong id = text.trimmed().toLongLong(&ok);
  if (!ok || id <= 0) return std::nullopt;
  return id;
}

// Runs the headless command; returns the exit code (0, or 2 with a message on stderr).
int runHeadless(const QApplication& app) {
  QCommandLineParser parser;
  parser.setSingleDashWordOptionMode(QCommandLineParser::ParseAsLongOptions);
  const QCommandLineOption report(QStringLiteral("report"), QStringLiteral("report file"),
                                  QStringLiteral("OUT"));
  const QCommandLineOption chart(QStringLiteral("export-chart"), QStringLiteral("chart kind"),
                                 QStringLiteral("KIND"));
  const QCommandLineOption db(QStringLiteral("db"), QStringLiteral("results store"),
                              QStringLiteral("STORE"));
  const QCommandLineOption runs(QStringLiteral("runs"), QStringLiteral("run ids"),
                                QStringLiteral("IDS"));
  const QCommandLineOption run(QStringLiteral("run"), QStringLiteral("run drawn"),
                               QStringLiteral("ID"));
  const QCommandLineOption baseline(QStringLiteral("baseline"), QStringLiteral("baseline run"),
                                    QStringLiteral("ID"));
  const QCommandLineOption title(QStringLiteral("title"), QStringLiteral("report title"),
                                 QStringLiteral("T"));
  const QCommandLineOption size(QStringLiteral("size"), QStringLiteral("WxH"),
                                QStringLiteral("WxH"));
  const QCommandLineOption output({QStringLiteral("o"), QStringLiteral("output")},
                                  QStringLiteral("image file"), QStringLiteral("OUT"));
  const QCommandLineOption metric(QStringLiteral("metric"), QStringLiteral("map|map50"),
                                  QStringLiteral("M"));
  const QCommandLineOption latency(QStringLiteral("latency"),
                                   QStringLiteral("inference|end-to-end"), QStringLiteral("K"));
  const QCommandLineOption batch(QStringLiteral("batch"), QStringLiteral("throughput batch"),
                                 QStringLiteral("N"));
  parser.addOptions(
      {report, chart, db, runs, run, baseline, title, size, output, metric, latency, batch});
  if (!parser.parse(app.arguments())) return fail(parser.errorText() + "\n" + kUsage);
  if (!parser.positionalArguments().isEmpty()) {
    return fail(QStringLiteral("unexpected argument '%1'\n%2")
                    .arg(parser.positionalArguments().first(), QLatin1String(kUsage)));
  }
  if (parser.isSet(report) && parser.isSet(chart)) {
    return fail(QStringLiteral("--report and --export-chart are separate commands"));
  }

  const QString db_path =
      parser.isSet(db) ? parser.value(db) : fromStd(detslim::store::Store::defaultPath());
  std::vector<int64_t> ids;
  if (parser.isSet(runs)) {
    for (const QString& token : parser.value(runs).split(QLatin1Char(','))) {
      const std::optional<int64_t> id = parseId(token);
      if (!id) return fail(QStringLiteral("--runs: '%1' is not a run id").arg(token));
      ids.push_back(*id);
    }
  }
  int64_t baseline_id = 0;
  if (parser.isSet(baseline)) {
    const std::optional<int64_t> id = parseId(parser.value(baseline));
    if (!id)
      return fail(QStringLiteral("--baseline: '%1' is not a run id").arg(parser.value(baseline)));
    baseline_id = *id;
  }
  int64_t run_id = 0;
  if (parser.isSet(run)) {
    const std::optional<int64_t> id = parseId(parser.value(run));
    if (!id) return fail(QStringLiteral("--run: '%1' is not a run id").arg(parser.value(run)));
    run_id = *id;
  }
  // The baseline and the drawn run belong to the set even when --runs leaves them out.
  auto listed = [&](int64_t id) { return std::find(ids.begin(), ids.end(), id) != ids.end(); };
  if (!ids.empty() && baseline_id != 0 && !listed(baseline_id)) {
    ids.insert(ids.begin(), baseline_id);
  }
  if (!ids.empty() && run_id != 0 && !listed(run_id)) ids.push_back(run_id);

  std::optional<ChartKind> kind;
  if (parser.isSet(chart)) {
    kind = detslim::ui::chartKindFromName(parser.value(chart));
    if (!kind) {
      QStringList names;
      for (ChartKind k : detslim::ui::allChartKinds()) names << detslim::ui::chartKindName(k);
      return fail(QStringLiteral("--export-chart: unknown chart kind '%1'; kinds: %2")
                      .arg(parser.value(chart), names.join(QStringLiteral(", "))));
    }
  }
  const QFileInfo store_info(db_path);
  if (!store_info.exists()) return fail(QStringLiteral("--db: '%1' does not exist").arg(db_path));

  detslim::Result<std::vector<detslim::store::RunRecord>> loaded =
      detslim::ui::loadStoredRuns(db_path, ids);
  if (!loaded) return fail(fromStd(loaded.status().message()));
  if (loaded->empty()) return fail(QStringLiteral("'%1' holds no runs").arg(db_path));
  const auto has = [&](int64_t id) { return detslim::ui::findRun(*loaded, id) != nullptr; };
  if (baseline_id != 0 && !has(baseline_id)) {
    return fail(QStringLiteral("--baseline: %1: run %2 not found").arg(db_path).arg(baseline_id));
  }
  if (run_id != 0 && !has(run_id)) {
    return fail(QStringLiteral("--run: %1: run %2 not found").arg(db_path).arg(run_id));
  }

  if (parser.isSet(report)) {
    detslim::ui::ReportRequest request;
    request.runs = std::move(*loaded);
    request.baseline_id = baseline_id;
    request.output_path = parser.value(report);
    if (parser.isSet(title)) request.title = parser.value(title);
    const detslim::Status st = detslim::ui::exportReport(request);
    if (!st) return fail(fromStd(st.message()));
    std::printf("wrote %s (report of %zu runs, %lld bytes)\n", qPrintable(request.output_path),
                request.runs.size(), static_cast<long long>(QFileInfo(request.output_path).size()));
    return 0;
  }

  // --export-chart
  if (!parser.isSet(output)) return fail(QStringLiteral("--export-chart needs -o OUT.png|.svg"));
  const QString out = parser.value(output);
  QSize image_size(1600, 900);
  if (parser.isSet(size)) {
    image_size = detslim::ui::parseExportSize(parser.value(size));
    if (!image_size.isValid()) {
      return fail(QStringLiteral("--size: '%1' is not WIDTHxHEIGHT with sides in %2..%3")
                      .arg(parser.value(size))
                      .arg(detslim::ui::kMinExportSide)
                      .arg(detslim::ui::kMaxExportSide));
    }
  }
  detslim::ui::ChartOptions options;
  if (parser.isSet(metric)) {
    const QString m = parser.value(metric).toLower();
    if (m == QLatin1String("map") || m == QLatin1String("map50-95")) {
      options.metric = detslim::ui::MapMetric::kMap5095;
    } else if (m == QLatin1String("map50")) {
      options.metric = detslim::ui::MapMetric::kMap50;
    } else {
      return fail(QStringLiteral("--metric: '%1' is not map or map50").arg(parser.value(metric)));
    }
  }
  if (parser.isSet(latency)) {
    const QString l = parser.value(latency).toLower();
    if (l == QLatin1String("inference")) {
      options.latency = detslim::ui::LatencyKind::kInference;
    } else if (l == QLatin1String("end-to-end") || l == QLatin1String("end_to_end")) {
      options.latency = detslim::ui::LatencyKind::kEndToEnd;
    } else {
      return fail(QStringLiteral("--latency: '%1' is not inference or end-to-end")
                      .arg(parser.value(latency)));
    }
  }
  if (parser.isSet(batch)) {
    bool ok = false;
    options.batch = parser.value(batch).toInt(&ok);
    if (!ok || options.batch <= 0) {
      return fail(QStringLiteral("--batch: '%1' is not a batch size").arg(parser.value(batch)));
    }
  }
  if (detslim::ui::chartKindNeedsRun(*kind)) {
    if (run_id == 0 && ids.size() == 1) run_id = ids.front();
    if (run_id == 0) {
      return fail(QStringLiteral("--run: chart '%1' draws one run; give --run ID")
                      .arg(detslim::ui::chartKindName(*kind)));
    }
  }
  options.run_id = run_id;
  const detslim::Status st =
      detslim::ui::exportChart(*kind, *loaded, baseline_id, options, out, image_size);
  if (!st) return fail(fromStd(st.message()));
  std::printf("wrote %s (%s, %dx%d, %zu runs)\n", qPrintable(out),
              qPrintable(detslim::ui::chartKindName(*kind)), image_size.width(),
              image_size.height(), loaded->size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // --version must work without a display: answer it before QApplication needs a platform.
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--version" || std::string_view(argv[i]) == "-v") {
      std::printf("detslim-gui %s\n", detslim::kVersion);
      return 0;
    }
  }
  if (isHeadless(argc, argv)) {
    // Scripts and CI have no display; these commands draw into files only.
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) {
      qputenv("QT_QPA_PLATFORM", "offscreen");
    }
    // Without a session (cron, CI, ssh) Qt warns about a missing runtime dir on every run.
    if (qEnvironmentVariableIsEmpty("XDG_RUNTIME_DIR")) {
      const QString dir = QDir::tempPath() + QStringLiteral("/detslim-runtime-") + QString::number(getuid());
      if (QDir().mkpath(dir)) {
        QFile::setPermissions(dir, QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner);
        qputenv("XDG_RUNTIME_DIR", QFile::encodeName(dir));
      }
    }
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("DetSlim"));
    return runHeadless(app);
  }
  QApplication app(argc, argv);
  QApplication::setOrganizationName(QStringLiteral("DetSlim"));
  QApplication::setApplicationName(QStringLiteral("DetSlim"));
  QApplication::setApplicationVersion(QString::fromLatin1(detslim::kVersion));
  QCommandLineParser parser;
  parser.setApplicationDescription(QStringLiteral("DetSlim workbench\n\n") + QLatin1String(kUsage));
  parser.addHelpOption();
  parser.addPositionalArgument(QStringLiteral("model"), QStringLiteral("ONNX model to open"),
                               QStringLiteral("[model]"));
  const QCommandLineOption data(QStringLiteral("data"), QStringLiteral("Dataset folder to open"),
                                QStringLiteral("DIR"));
  const QCommandLineOption db(QStringLiteral("db"),
                              QStringLiteral("Results store (default: the last one used)"),
                              QStringLiteral("STORE"));
  parser.addOption(data);
  parser.addOption(db);
  parser.process(app);
  detslim::ui::MainWindow window;
  window.show();
  if (parser.isSet(db)) window.openStore(parser.value(db));
  if (parser.isSet(data)) window.openDataset(parser.value(data));
  if (!parser.positionalArguments().isEmpty()) {
    window.openModel(parser.positionalArguments().first());
  }
  return QApplication::exec();
}
