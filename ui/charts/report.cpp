#include "ui/charts/report.h"

#include <QBuffer>
#include <QDateTime>
#include <QFile>
#include <QFileInfo>
#include <QPageLayout>
#include <QPageSize>
#include <QPdfWriter>
#include <QSaveFile>
#include <QTextDocument>
#include <QUrl>
#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "core/base/version.h"
#include "ui/charts/chart_data.h"
#include "ui/charts/chart_export.h"
#include "ui/charts/charts.h"

namespace detslim::ui {

namespace {

constexpr double kMiB = 1024.0 * 1024.0;
// Width of an image in the PDF, in the document's layout pixels: QTextDocument::print lays an
// A4 landscape page out about 1120 px wide less its 2 cm margins.
constexpr int kPdfImageWidth = 860;

std::string s(const QString& text) {
  return text.toStdString();
}
QString q(const std::string& text) {
  return QString::fromStdString(text);
}
QString esc(const QString& text) {
  return text.toHtmlEscaped();
}
QString esc(const std::string& text) {
  return q(text).toHtmlEscaped();
}

const QString kMissing = QStringLiteral("&mdash;");

QString num(double v, int decimals) {
  return QString::number(v, 'f', decimals);
}
QString signedNum(double v, int decimals) {
  return (v > 0 ? QStringLiteral("+") : QString()) + num(v, decimals);
}

// Turns an image into what an <img src> takes: a data URI (HTML) or a resource name (PDF).
using ImageSource = std::function<QString(const QImage&)>;

QByteArray pngBytes(const QImage& image) {
  QByteArray bytes;
  QBuffer buffer(&bytes);
  buffer.open(QIODevice::WriteOnly);
  image.save(&buffer, "PNG");
  return bytes;
}

QString jsonText(const nlohmann::json& v) {
  if (v.is_string()) return q(v.get<std::string>());
  if (v.is_array()) {
    QStringList parts;
    for (const nlohmann::json& e : v) parts << jsonText(e);
    return parts.join(QLatin1Char(' '));
  }
  return q(v.dump());
}

const nlohmann::json* child(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

// ---- configuration cells ----

QString pruneParams(const store::RunRecord& r) {
  const nlohmann::json* prune = child(r.config, "prune");
  const nlohmann::json* params = prune ? child(*prune, "params") : nullptr;
  if (!params || !params->is_object() || params->empty()) return kMissing;
  QStringList parts;
  for (auto it = params->begin(); it != params->end(); ++it) {
    parts << esc(q(it.key()) + QLatin1Char('=') + jsonText(it.value()));
  }
  return parts.join(QStringLiteral(", "));
}

QString calibrator(const store::RunRecord& r) {
  const nlohmann::json* pp = child(r.config, "precision_params");
  if (pp) {
    if (const nlohmann::json* c = child(*pp, "calibrator")) return esc(jsonText(*c));
  }
  return r.precision == "int8" ? QStringLiteral("default") : kMissing;
}

QString threads(const store::RunRecord& r) {
  for (const char* key : {"threads_used", "threads"}) {
    if (const nlohmann::json* t = child(r.config, key); t && t->is_number()) {
      const int n = t->get<int>();
      if (n > 0) return QString::number(n);
    }
  }
  return QStringLiteral("all cores");
}

QString inputSize(const store::RunRecord& r) {
  const nlohmann::json* size = child(r.config, "input_size");
  if (!size) return kMissing;
  if (size->is_array() && size->size() == 2) {
    return esc(jsonText((*size)[0]) + QLatin1Char('x') + jsonText((*size)[1]));
  }
  if (size->is_number() && size->get<double>() > 0) {
    return QStringLiteral("%1x%1").arg(jsonText(*size));
  }
  return QStringLiteral("model's");
}

QString dataset(const store::RunRecord& r) {
  if (r.dataset.path.empty()) return QStringLiteral("none");
  return esc(QFileInfo(q(r.dataset.path)).fileName() + QStringLiteral(" (") + q(r.dataset.format) +
             QStringLiteral(", %1 images)").arg(r.dataset.image_count));
}

// ---- metric values ----

std::optional<double> latencyOf(const store::RunRecord& r, LatencyKind kind, bool p99) {
  const store::LatencyRecord* l = findLatency(r, kind);
  if (!l) return std::nullopt;
  const double v = p99 ? l->summary.p99_ms : l->summary.median_ms;
  if (!std::isfinite(v) || v <= 0) return std::nullopt;
  return v;
}

std::optional<double> mib(const store::RunRecord& r, int64_t store::MemoryRecord::*field) {
  if (!r.memory || (*r.memory).*field <= 0) return std::nullopt;
  return static_cast<double>((*r.memory).*field) / kMiB;
}

QString cellOf(const std::optional<double>& v, int decimals) {
  return v ? num(*v, decimals) : kMissing;
}

// A change against the baseline, coloured by whether it is an improvement.
QString deltaCell(const std::optional<double>& run, const std::optional<double>& base,
                  bool higher_is_better, bool as_points) {
  if (!run || !base) return QStringLiteral("<td>%1</td>").arg(kMissing);
  if (!as_points && *base == 0) return QStringLiteral("<td>%1</td>").arg(kMissing);
  double change = as_points ? (*run - *base) * 100.0 : (*run / *base - 1.0) * 100.0;
  // Rounded as shown, and judged on that: "+0.0 %" in red would call a rounding error a
  // regression. (+ 0.0 also turns a -0 into 0.)
  const int decimals = as_points ? 2 : 1;
  change = std::round(change * std::pow(10.0, decimals)) / std::pow(10.0, decimals) + 0.0;
  const QString text =
      signedNum(change, decimals) + (as_points ? QStringLiteral(" pt") : QStringLiteral(" %"));
  const bool better = higher_is_better ? change > 0 : change < 0;
  const QString cls = change == 0
                          ? QStringLiteral("num")
                          : (better ? QStringLiteral("num better") : QStringLiteral("num worse"));
  const QString color = change == 0
                            ? QStringLiteral("#000000")
                            : (better ? QStringLiteral("#1a7f37") : QStringLiteral("#b42318"));
  // QTextDocument (the PDF) ignores class colours, so the colour is also given inline.
  return QStringLiteral("<td class=\"%1\"><font color=\"%2\">%3</font></td>").arg(cls, color, text);
}

QString td(const QString& html, bool numeric = false) {
  return numeric ? QStringLiteral("<td class=\"num\" align=\"right\">%1</td>").arg(html)
                 : QStringLiteral("<td>%1</td>").arg(html);
}

// `width` (e.g. "16%") keeps the text columns readable: the PDF's table layout otherwise gives
// the numbers the room and breaks the labels inside words.
QString th(const QString& text, const QString& width = {}) {
  return width.isEmpty() ? QStringLiteral("<th>%1</th>").arg(text)
                         : QStringLiteral("<th width=\"%1\">%2</th>").arg(width, text);
}

QString tableStart() {
  return QStringLiteral("<table border=\"1\" cellspacing=\"0\" cellpadding=\"4\">");
}

QString runCell(const store::RunRecord& r, int64_t baseline_id) {
  QString text = QStringLiteral("#%1").arg(r.id);
  if (r.id == baseline_id && baseline_id != 0) text += QStringLiteral(" (baseline)");
  return text;
}

// ---- sections ----

QString configurationTable(const ReportRequest& req) {
  QString h = QStringLiteral("<h2>Configuration</h2>") + tableStart() + QStringLiteral("<tr>");
  for (const char* c : {"run", "model", "dataset", "method", "parameters", "sparsity", "precision",
                        "calibrator", "threads", "input size", "status", "started (UTC)"}) {
    const QLatin1String name(c);
    h += th(name, name == QLatin1String("model") || name == QLatin1String("dataset")
                      ? QStringLiteral("12%")
                      : QString());
  }
  h += QStringLiteral("</tr>");
  for (const store::RunRecord& r : req.runs) {
    QString status = esc(r.status);
    if (!r.error.empty()) status += QStringLiteral(": ") + esc(r.error);
    h += QStringLiteral("<tr>") + td(runCell(r, req.baseline_id)) +
         QStringLiteral("<td title=\"%1\">%2</td>").arg(esc(r.model.path), esc(r.model.name)) +
         td(dataset(r)) + td(esc(r.prune_method)) + td(pruneParams(r)) +
         td(num(r.sparsity * 100.0, 1) + QStringLiteral(" %"), true) + td(esc(r.precision)) +
         td(calibrator(r)) + td(threads(r), true) + td(inputSize(r)) + td(status) +
         td(esc(q(r.started_at).replace(QLatin1Char('T'), QLatin1Char(' ')))) +
         QStringLiteral("</tr>");
  }
  return h + QStringLiteral("</table>");
}

// Two tables, not one of 14 columns: on an A4 page the PDF layout would break every label.
QString metricsTable(const ReportRequest& req) {
  // One deadline for every run (the usual case) goes in the header, not in each cell.
  std::set<double> deadlines;
  for (const store::RunRecord& r : req.runs) {
    const store::LatencyRecord* e2e = findLatency(r, LatencyKind::kEndToEnd);
    if (e2e && e2e->deadline_ms > 0) deadlines.insert(e2e->deadline_ms);
  }
  const bool one_deadline = deadlines.size() == 1;
  const QString miss_header =
      one_deadline ? QStringLiteral("deadline miss rate (%1 ms)").arg(num(*deadlines.begin(), 1))
                   : QStringLiteral("deadline miss rate");
  QString accuracy = QStringLiteral("<h3>Accuracy and latency</h3>") + tableStart() +
                     QStringLiteral("<tr>") + th(QStringLiteral("run"), QStringLiteral("24%"));
  for (const char* c : {"mAP50-95", "mAP50", "inference median (ms)", "inference p99 (ms)",
                        "end-to-end median (ms)", "end-to-end p99 (ms)"}) {
    accuracy += th(QLatin1String(c));
  }
  accuracy += th(miss_header) + QStringLiteral("</tr>");
  QString resources = QStringLiteral("<h3>Throughput and memory</h3>") + tableStart() +
                      QStringLiteral("<tr>") + th(QStringLiteral("run"), QStringLiteral("24%"));
  for (const char* c : {"throughput b1 (img/s)", "weights (MiB)", "activations, planned (MiB)",
                        "model file (MiB)", "peak RSS (MiB)"}) {
    resources += th(QLatin1String(c));
  }
  resources += QStringLiteral("</tr>");
  for (const store::RunRecord& r : req.runs) {
    QString run = runCell(r, req.baseline_id) + QStringLiteral(" ") +
                  esc(methodLabel(r) + " " + precisionLabel(r));
    if (r.status != store::kStatusOk) {
      // A failed run's partial records are not measurements to compare.
      run += QStringLiteral(" (") + esc(r.status + (r.error.empty() ? "" : ": " + r.error)) +
             QStringLiteral(")");
      accuracy += QStringLiteral("<tr>") + td(run);
      for (int i = 0; i < 7; ++i) accuracy += td(kMissing, true);
      resources += QStringLiteral("<tr>") + td(run);
      for (int i = 0; i < 5; ++i) resources += td(kMissing, true);
      accuracy += QStringLiteral("</tr>");
      resources += QStringLiteral("</tr>");
      continue;
    }
    const store::LatencyRecord* e2e = findLatency(r, LatencyKind::kEndToEnd);
    QString miss = kMissing;
    if (e2e && e2e->deadline_ms > 0) {
      miss = num(e2e->deadline_miss_rate * 100.0, 1) + QStringLiteral(" %");
      if (!one_deadline) miss += QStringLiteral(" (%1 ms)").arg(num(e2e->deadline_ms, 1));
    }
    accuracy += QStringLiteral("<tr>") + td(run) +
                td(cellOf(runMap(r, MapMetric::kMap5095), 4), true) +
                td(cellOf(runMap(r, MapMetric::kMap50), 4), true) +
                td(cellOf(latencyOf(r, LatencyKind::kInference, false), 2), true) +
                td(cellOf(latencyOf(r, LatencyKind::kInference, true), 2), true) +
                td(cellOf(latencyOf(r, LatencyKind::kEndToEnd, false), 2), true) +
                td(cellOf(latencyOf(r, LatencyKind::kEndToEnd, true), 2), true) + td(miss, true) +
                QStringLiteral("</tr>");
    std::optional<double> rss = mib(r, &store::MemoryRecord::peak_rss_bytes);
    resources += QStringLiteral("<tr>") + td(run) + td(cellOf(runThroughput(r, 1), 1), true) +
                 td(cellOf(mib(r, &store::MemoryRecord::weights_bytes), 2), true) +
                 td(cellOf(mib(r, &store::MemoryRecord::activations_bytes), 2), true) +
                 td(cellOf(mib(r, &store::MemoryRecord::model_file_bytes), 2), true) +
                 td(r.memory && !rss ? QStringLiteral("not measured") : cellOf(rss, 2), true) +
                 QStringLiteral("</tr>");
  }
  return QStringLiteral("<h2>Metrics</h2>") + accuracy + QStringLiteral("</table>") + resources +
         QStringLiteral("</table>");
}

QString deltasTable(const ReportRequest& req, const store::RunRecord& base) {
  QString h = QStringLiteral("<h2>Change against baseline #%1 (%2)</h2>")
                  .arg(base.id)
                  .arg(esc(methodLabel(base) + " " + precisionLabel(base))) +
              QStringLiteral(
                  "<p>mAP in points (1 pt = 0.01); the rest relative to the "
                  "baseline. Green: better, red: worse.</p>") +
              tableStart() + QStringLiteral("<tr>");
  h += th(QStringLiteral("run"), QStringLiteral("20%"));
  for (const char* c :
       {"&Delta; mAP50-95", "&Delta; mAP50", "inference median", "speed-up (inference)",
        "end-to-end median", "throughput b1", "weights", "model file", "peak RSS"}) {
    h += th(QLatin1String(c));
  }
  h += QStringLiteral("</tr>");
  for (const store::RunRecord& r : req.runs) {
    if (r.id == base.id || r.status != store::kStatusOk) continue;
    const std::optional<double> lat = latencyOf(r, LatencyKind::kInference, false);
    const std::optional<double> base_lat = latencyOf(base, LatencyKind::kInference, false);
    QString speedup = kMissing;
    if (lat && base_lat) speedup = QStringLiteral("%1x").arg(num(*base_lat / *lat, 2));
    h += QStringLiteral("<tr>") +
         td(QStringLiteral("#%1 ").arg(r.id) + esc(methodLabel(r) + " " + precisionLabel(r))) +
         deltaCell(runMap(r, MapMetric::kMap5095), runMap(base, MapMetric::kMap5095), true, true) +
         deltaCell(runMap(r, MapMetric::kMap50), runMap(base, MapMetric::kMap50), true, true) +
         deltaCell(lat, base_lat, false, false) + td(speedup, true) +
         deltaCell(latencyOf(r, LatencyKind::kEndToEnd, false),
                   latencyOf(base, LatencyKind::kEndToEnd, false), false, false) +
         deltaCell(runThroughput(r, 1), runThroughput(base, 1), true, false) +
         deltaCell(mib(r, &store::MemoryRecord::weights_bytes),
                   mib(base, &store::MemoryRecord::weights_bytes), false, false) +
         deltaCell(mib(r, &store::MemoryRecord::model_file_bytes),
                   mib(base, &store::MemoryRecord::model_file_bytes), false, false) +
         deltaCell(mib(r, &store::MemoryRecord::peak_rss_bytes),
                   mib(base, &store::MemoryRecord::peak_rss_bytes), false, false) +
         QStringLiteral("</tr>");
  }
  return h + QStringLiteral("</table>");
}

QString figure(const QString& src, const QString& caption, int width_attr) {
  const QString width =
      width_attr > 0 ? QStringLiteral(" width=\"%1\"").arg(width_attr) : QString();
  return QStringLiteral(
             "<div class=\"figure\"><p><img src=\"%1\"%2 alt=\"%3\"/></p>"
             "<p class=\"caption\"><i>%3</i></p></div>")
      .arg(src, width, esc(caption));
}

QString chartsSection(const ReportRequest& req, const ImageSource& source, int width_attr) {
  QString h = QStringLiteral("<h2>Charts</h2>");
  QStringList skipped, notes;
  ChartOptions options;
  const std::vector<int> batches = throughputBatches(req.runs);
  if (!batches.empty() && std::find(batches.begin(), batches.end(), 1) == batches.end()) {
    options.batch = batches.front();
  }
  auto draw = [&](ChartKind kind, const ChartOptions& o) {
    std::unique_ptr<ResultsChart> chart(buildChart(kind, req.runs, req.baseline_id, o));
    if (!chart->emptyMessage().isEmpty()) {
      skipped << esc(chart->title() + QStringLiteral(": ") + chart->emptyMessage());
      return;
    }
    for (const QString& n : chart->notes()) notes << esc(chart->title() + QStringLiteral(": ") + n);
    const QImage image = renderChartImage(chart.get(), req.chart_size);
    h += figure(source(image), chart->title(), width_attr);
  };
  for (ChartKind kind : allChartKinds()) {
    if (!chartKindNeedsRun(kind)) draw(kind, options);
  }
  if (req.per_run_charts) {
    int drawn = 0;
    QStringList left_out;
    for (const store::RunRecord& r : req.runs) {
      if (r.status != store::kStatusOk) continue;
      if (drawn >= kMaxPerRunCharts) {
        left_out << QStringLiteral("#%1").arg(r.id);
        continue;
      }
      ++drawn;
      ChartOptions o = options;
      o.run_id = r.id;
      draw(ChartKind::kHistogram, o);
      draw(ChartKind::kLayers, o);
    }
    if (!left_out.isEmpty()) {
      skipped << QStringLiteral("per-run charts drawn for the first %1 runs only; not for %2")
                     .arg(kMaxPerRunCharts)
                     .arg(left_out.join(QStringLiteral(", ")));
    }
  }
  if (!skipped.isEmpty() || !notes.isEmpty()) {
    h += QStringLiteral("<h3>Not drawn / left out</h3><ul>");
    for (const QString& line : skipped + notes) h += QStringLiteral("<li>%1</li>").arg(line);
    h += QStringLiteral("</ul>");
  }
  return h;
}

QString examplesSection(const ReportRequest& req, const ImageSource& source, int width_attr) {
  QString h;
  int n = 0;
  for (const ReportImage& image : req.images) {
    if (image.image.isNull()) continue;
    QImage scaled = image.image;
    if (scaled.width() > kMaxReportImageWidth) {
      scaled = scaled.scaledToWidth(kMaxReportImageWidth, Qt::SmoothTransformation);
    }
    const int width = width_attr > 0 ? std::min(width_attr, scaled.width()) : 0;
    h += figure(source(scaled), image.caption, width);
    ++n;
  }
  if (n == 0) return {};
  return QStringLiteral("<h2>Detection examples</h2>") + h;
}

QString hostsSection(const ReportRequest& req) {
  // Runs measured on one machine share one host table.
  std::vector<std::pair<nlohmann::json, QStringList>> hosts;
  for (const store::RunRecord& r : req.runs) {
    auto it =
        std::find_if(hosts.begin(), hosts.end(), [&](const auto& h) { return h.first == r.host; });
    if (it == hosts.end()) {
      hosts.push_back({r.host, {}});
      it = hosts.end() - 1;
    }
    it->second << QStringLiteral("#%1").arg(r.id);
  }
  QString h = QStringLiteral("<h2>Host</h2>");
  for (const auto& [host, ids] : hosts) {
    h += QStringLiteral("<p>Runs %1</p>").arg(ids.join(QStringLiteral(", ")));
    if (!host.is_object() || host.empty()) {
      h += QStringLiteral("<p>No host record.</p>");
      continue;
    }
    h += tableStart();
    for (auto it = host.begin(); it != host.end(); ++it) {
      h += QStringLiteral("<tr>") + th(esc(it.key())) + td(esc(jsonText(it.value()))) +
           QStringLiteral("</tr>");
    }
    h += QStringLiteral("</table>");
  }
  return h;
}

Status validate(const ReportRequest& req) {
  if (req.runs.empty()) {
    return invalidArgument("report '" + s(req.output_path) + "': no runs to report");
  }
  if (req.baseline_id != 0 && !findRun(req.runs, req.baseline_id)) {
    return invalidArgument("report '" + s(req.output_path) + "': baseline run " +
                           std::to_string(req.baseline_id) + " is not among the report's runs");
  }
  if (req.chart_size.width() < kMinExportSide || req.chart_size.height() < kMinExportSide ||
      req.chart_size.width() > kMaxExportSide || req.chart_size.height() > kMaxExportSide) {
    return invalidArgument("report '" + s(req.output_path) + "': chart size out of range");
  }
  return Status::ok();
}

QString buildHtml(const ReportRequest& req, const ImageSource& source, bool for_pdf) {
  const int width_attr = for_pdf ? kPdfImageWidth : 0;
  QString h =
      QStringLiteral(
          "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"/>"
          "<meta name=\"generator\" content=\"DetSlim %1\"/><title>%2</title><style>"
          "body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;font-size:10pt;margin:24px;}"
          "table{border-collapse:collapse;margin:6px 0 14px 0;}"
          "th{background:#eeeeee;text-align:left;}"
          "th,td{border:1px solid #999999;padding:3px 6px;}"
          // No white-space:nowrap: QTextDocument (the PDF) then squeezes the label column to a
          // letter.
          "td.num{text-align:right;}"
          "td.better{color:#1a7f37;}td.worse{color:#b42318;}"
          ".figure img{max-width:100%;border:1px solid #dddddd;}"
          ".caption{color:#555555;margin-top:0;}"
          "</style></head><body>\n")
          .arg(QLatin1String(kVersion), esc(req.title));
  const store::RunRecord* base = findRun(req.runs, req.baseline_id);
  QStringList ids;
  for (const store::RunRecord& r : req.runs) ids << QStringLiteral("#%1").arg(r.id);
  h += QStringLiteral("<h1>%1</h1><p>%2 runs: %3. Baseline: %4. Generated %5 by DetSlim %6.</p>")
           .arg(esc(req.title))
           .arg(req.runs.size())
           .arg(ids.join(QStringLiteral(", ")),
                base ? QStringLiteral("#%1").arg(base->id) : QStringLiteral("none"),
                QDateTime::currentDateTimeUtc().toString(Qt::ISODate), QLatin1String(kVersion));
  h += configurationTable(req) + QLatin1Char('\n');
  h += metricsTable(req) + QLatin1Char('\n');
  if (base) h += deltasTable(req, *base) + QLatin1Char('\n');
  h += chartsSection(req, source, width_attr) + QLatin1Char('\n');
  h += examplesSection(req, source, width_attr);
  h += hostsSection(req);
  return h + QStringLiteral("\n</body></html>\n");
}

}  // namespace

Result<QString> reportHtml(const ReportRequest& request) {
  DS_RETURN_IF_ERROR(validate(request));
  return buildHtml(
      request,
      [](const QImage& image) {
        return QStringLiteral("data:image/png;base64,") +
               QString::fromLatin1(pngBytes(image).toBase64());
      },
      false);
}

Status exportReport(const ReportRequest& request) {
  DS_RETURN_IF_ERROR(validate(request));
  const QString path = request.output_path;
  ReportFormat format = request.format;
  if (format == ReportFormat::kAuto) {
    const QString suffix = QFileInfo(path).suffix().toLower();
    if (suffix == QLatin1String("html") || suffix == QLatin1String("htm")) {
      format = ReportFormat::kHtml;
    } else if (suffix == QLatin1String("pdf")) {
      format = ReportFormat::kPdf;
    } else {
      return invalidArgument("report '" + s(path) + "': unknown format '." + s(suffix) +
                             "' (use .html or .pdf)");
    }
  }
  if (format == ReportFormat::kHtml) {
    // Opened first: a path we cannot write fails before the charts are drawn.
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly)) {
      return ioError("cannot write the report '" + s(path) + "': " + s(file.errorString()));
    }
    Result<QString> html = reportHtml(request);
    if (!html) return html.status();
    const QByteArray bytes = html->toUtf8();
    if (file.write(bytes) != bytes.size() || !file.commit()) {
      return ioError("cannot write the report '" + s(path) + "': " + s(file.errorString()));
    }
    return Status::ok();
  }
  QSaveFile file(path);
  if (!file.open(QIODevice::WriteOnly)) {
    return ioError("cannot write the report '" + s(path) + "': " + s(file.errorString()));
  }
  QTextDocument doc;
  int next = 0;
  // QTextDocument does not read data: URIs, so images go in as named resources.
  const QString html = buildHtml(
      request,
      [&doc, &next](const QImage& image) {
        const QString name = QStringLiteral("detslim-image-%1.png").arg(next++);
        doc.addResource(QTextDocument::ImageResource, QUrl(name), image);
        return name;
      },
      true);
  QFont font = doc.defaultFont();
  font.setPointSizeF(8);
  doc.setDefaultFont(font);
  doc.setHtml(html);
  {
    QPdfWriter writer(&file);
    writer.setTitle(request.title);
    writer.setCreator(QStringLiteral("DetSlim ") + QLatin1String(kVersion));
    writer.setPageSize(QPageSize(QPageSize::A4));
    writer.setPageOrientation(QPageLayout::Landscape);
    writer.setResolution(300);
    doc.print(&writer);
  }
  if (!file.commit()) {
    return ioError("cannot write the report '" + s(path) + "': " + s(file.errorString()));
  }
  return Status::ok();
}

Result<std::vector<store::RunRecord>> loadStoredRuns(const QString& store_path,
                                                     const std::vector<int64_t>& ids) {
  store::OpenOptions options;
  options.read_only = true;
  options.create = false;
  Result<store::Store> db = store::Store::open(store_path.toStdString(), options);
  if (!db) return db.status();
  if (ids.empty()) return db->listRuns();
  std::vector<store::RunRecord> runs;
  for (int64_t id : ids) {
    Result<store::RunRecord> run = db->getRun(id);
    if (!run) return run.status();
    runs.push_back(std::move(*run));
  }
  return runs;
}

}  // namespace detslim::ui
