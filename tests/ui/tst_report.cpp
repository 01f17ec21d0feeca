// The report of selected runs, from a real SQLite results store: the HTML carries each run's
// configuration and metric values, the deltas against the baseline and charts that decode as
// PNG; the PDF is a PDF; bad paths and bad baselines fail naming them; and the headless
// `detslim-gui --report` / `--export-chart` commands work on the built binary with no display.

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QImageReader>
#include <QPainter>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTextBrowser>
#include <QXmlStreamReader>
#include <QtTest>

#include "chart_fixtures.h"
#include "ui/charts/report.h"

using namespace detslim;
using namespace detslim::ui;

namespace {

QByteArray readAll(const QString& path) {
  QFile f(path);
  return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

// The three runs the report tests reason about, as stored: #1 dense fp32 (the baseline),
// #2 magnitude 50 % fp32, #3 dense int8 (entropy calibration).
std::vector<store::RunRecord> reportRuns() {
  using detslim::testing::fixtureRun;
  std::vector<store::RunRecord> runs = {
      fixtureRun({0, "none", 0, "fp32", "", 0.3398, 0.5216, 20.0, 26.2, 50.0}),
      fixtureRun({0, "magnitude", 0.5, "fp32", "", 0.2512, 0.4100, 15.0, 22.0, 66.6}),
      fixtureRun({0, "none", 0, "int8", "entropy", 0.3399, 0.5145, 11.41, 18.0, 87.6}),
  };
  runs[1].memory->peak_rss_bytes = -1;  // stored as measured without the probe
  // Histogram and layers so the per-run charts have something to draw.
  runs[0].latency[0].histogram_edges_ms = {18, 19, 20, 21, 22, 23, 24, 25};
  runs[0].latency[0].histogram_counts = {1, 6, 20, 12, 6, 3, 2};
  runs[0].layers = {{"/model.0/conv/Conv", "Conv", 3456, 0.0, 1000, 1.2},
                    {"/model.1/conv/Conv", "Conv", 4608, 0.0, 2000, 0.9}};
  return runs;
}

}  // namespace

class TestReport : public QObject {
  Q_OBJECT

 private:
  QTemporaryDir m_dir;
  QString m_db;
  std::vector<int64_t> m_ids;

  QString gui() const {
    return QDir::cleanPath(QCoreApplication::applicationDirPath() +
                           QStringLiteral("/../../app/gui/detslim-gui"));
  }

  std::vector<store::RunRecord> stored() {
    Result<std::vector<store::RunRecord>> runs = loadStoredRuns(m_db, {});
    return runs ? *runs : std::vector<store::RunRecord>{};
  }

  // Runs detslim-gui with no display set up; returns exit code, stdout and stderr.
  struct Outcome {
    int code = -1;
    QString out, err;
  };
  Outcome runGui(const QStringList& args) {
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.remove(QStringLiteral("QT_QPA_PLATFORM"));  // the headless modes must pick offscreen
    env.remove(QStringLiteral("DISPLAY"));
    env.remove(QStringLiteral("WAYLAND_DISPLAY"));
    p.setProcessEnvironment(env);
    p.start(gui(), args);
    if (!p.waitForFinished(120000)) {
      p.kill();
      p.waitForFinished();
      return {};
    }
    return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1,
            QString::fromLocal8Bit(p.readAllStandardOutput()),
            QString::fromLocal8Bit(p.readAllStandardError())};
  }

 private slots:
  void initTestCase() {
    QVERIFY(m_dir.isValid());
    m_db = m_dir.filePath(QStringLiteral("results.sqlite"));
    Result<store::Store> db = store::Store::open(m_db.toStdString());
    QVERIFY2(db, db.status().message().c_str());
    for (const store::RunRecord& r : reportRuns()) {
      Result<int64_t> id = db->insertRun(r);
      QVERIFY2(id, id.status().message().c_str());
      m_ids.push_back(*id);
    }
    QCOMPARE(m_ids, (std::vector<int64_t>{1, 2, 3}));
  }

  void htmlHoldsConfigurationMetricsDeltasAndCharts() {
    ReportRequest req;
    req.runs = stored();
    QCOMPARE(req.runs.size(), size_t{3});
    req.baseline_id = 1;
    req.title = QStringLiteral("yolov5n <compression> study");
    req.output_path = m_dir.filePath(QStringLiteral("report.html"));
    QImage example(640, 360, QImage::Format_RGB32);
    example.fill(QColor(30, 90, 160));
    req.images.push_back({example, QStringLiteral("bus.jpg: person 0.88, bus 0.49")});
    const Status st = exportReport(req);
    QVERIFY2(st, st.message().c_str());
    const QString html = QString::fromUtf8(readAll(req.output_path));
    QVERIFY(html.startsWith(QStringLiteral("<!DOCTYPE html>")));
    QVERIFY(html.contains(QStringLiteral("yolov5n &lt;compression&gt; study")));  // escaped
    // Configuration of each run.
    for (const char* text :
         {"yolov5n_fp32", "val2017 (yolo, 128 images)", "magnitude", "sparsity=0.5", "50.0 %",
          "entropy", "640x640", "int8", "2024-06-01 10:00:00Z"}) {
      QVERIFY2(html.contains(QLatin1String(text)), text);
    }
    // Metric values as stored.
    for (const char* text :
         {"0.3398", "0.5216", "0.2512", "0.3399", "0.5145", "20.00", "25.00", "15.00", "11.41",
          "26.20", "50.0", "66.6", "87.6", "7.12", "2.19", "19.56", "126.46", "not measured"}) {
      QVERIFY2(html.contains(QLatin1String(text)), text);
    }
    // Deltas against #1: mAP in points, the rest relative.
    const qsizetype deltas = html.indexOf(QStringLiteral("Change against baseline #1"));
    QVERIFY(deltas > 0);
    const QString tail = html.mid(deltas);
    for (const char* text : {"-8.86 pt", "+0.01 pt", "-11.16 pt", "-0.71 pt", "-25.0 %", "1.33x",
                             "1.75x", "+33.2 %", "+75.2 %", "-69.3 %"}) {
      QVERIFY2(tail.contains(QLatin1String(text)), text);
    }
    QVERIFY(tail.contains(QStringLiteral("class=\"num better\"")));
    QVERIFY(tail.contains(QStringLiteral("class=\"num worse\"")));
    // Host.
    QVERIFY(html.contains(QStringLiteral("Test CPU @ 2.0GHz")));
    QVERIFY(html.contains(QStringLiteral("avx2 avx512f")));
    // Every embedded image decodes as PNG; the charts at the asked size, the example as given.
    static const QRegularExpression re(
        QStringLiteral("src=\"data:image/png;base64,([A-Za-z0-9+/=]+)\""));
    int charts = 0, examples = 0;
    for (const QRegularExpressionMatch& m : re.globalMatch(html)) {
      const QImage image =
          QImage::fromData(QByteArray::fromBase64(m.captured(1).toLatin1()), "PNG");
      QVERIFY(!image.isNull());
      if (image.size() == req.chart_size) ++charts;
      if (image.size() == example.size()) ++examples;
    }
    // Six kinds over the set + histogram and layers of #1 (the others have none: listed).
    QCOMPARE(charts, 8);
    QCOMPARE(examples, 1);
    QVERIFY(html.contains(QStringLiteral("bus.jpg: person 0.88, bus 0.49")));
    QVERIFY(html.contains(QStringLiteral("Run #2 has no inference latency histogram")));
    QVERIFY(!html.contains(QStringLiteral("src=\"http")));  // one self-contained file
  }

  void pdfIsWritten() {
    ReportRequest req;
    req.runs = stored();
    req.baseline_id = 1;
    req.output_path = m_dir.filePath(QStringLiteral("report.pdf"));
    const Status st = exportReport(req);
    QVERIFY2(st, st.message().c_str());
    const QByteArray pdf = readAll(req.output_path);
    QVERIFY(pdf.startsWith("%PDF-"));
    QVERIFY(pdf.trimmed().endsWith("%%EOF"));
    QVERIFY2(pdf.size() > 50000, QByteArray::number(pdf.size()));  // the charts are in it
    QVERIFY(pdf.count("/Subtype /Image") + pdf.count("/Subtype/Image") >= 8);
  }

  void badRequestsNameTheFile() {
    const QString blocked = m_dir.filePath(QStringLiteral("plain.txt"));
    QFile f(blocked);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.close();
    for (const char* name : {"/report.html", "/report.pdf"}) {
      ReportRequest req;
      req.runs = stored();
      req.output_path = blocked + QLatin1String(name);
      const Status st = exportReport(req);
      QVERIFY(!st);
      QVERIFY2(QString::fromStdString(st.message()).contains(req.output_path),
               st.message().c_str());
    }
    ReportRequest req;
    req.runs = stored();
    req.output_path = m_dir.filePath(QStringLiteral("r.html"));
    req.baseline_id = 99;
    Status st = exportReport(req);
    QVERIFY(!st);
    QVERIFY(QString::fromStdString(st.message()).contains(QStringLiteral("baseline run 99")));
    req.baseline_id = 0;
    req.output_path = m_dir.filePath(QStringLiteral("r.docx"));
    QVERIFY(!exportReport(req));
    req.runs.clear();
    req.output_path = m_dir.filePath(QStringLiteral("r.html"));
    QVERIFY(!exportReport(req));
    QVERIFY(!QFile::exists(req.output_path));
    Result<std::vector<store::RunRecord>> missing = loadStoredRuns(m_db, {1, 999});
    QVERIFY(!missing);
    QVERIFY(QString::fromStdString(missing.status().message()).contains("run 999"));
  }

  void headlessReport() {
    QVERIFY2(QFileInfo(gui()).isExecutable(),
             qPrintable(gui() + QStringLiteral(" is not built (ninja detslim-gui)")));
    const QString html = m_dir.filePath(QStringLiteral("cli.html"));
    Outcome r =
        runGui({QStringLiteral("--report"), html, QStringLiteral("--db"), m_db,
                QStringLiteral("--runs"), QStringLiteral("2,3"), QStringLiteral("--baseline"),
                QStringLiteral("1"), QStringLiteral("--title"), QStringLiteral("CLI report")});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY2(r.out.contains(QStringLiteral("wrote ") + html), qPrintable(r.out));
    const QString text = QString::fromUtf8(readAll(html));
    QVERIFY(text.contains(QStringLiteral("<h1>CLI report</h1>")));
    QVERIFY(text.contains(QStringLiteral("3 runs: #1, #2, #3")));  // the baseline was added
    QVERIFY(text.contains(QStringLiteral("-8.86 pt")));
    const QString pdf = m_dir.filePath(QStringLiteral("cli.pdf"));
    r = runGui({QStringLiteral("--report"), pdf, QStringLiteral("--db"), m_db});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY(readAll(pdf).startsWith("%PDF-"));
  }

  void headlessExportChart() {
    QVERIFY2(QFileInfo(gui()).isExecutable(), qPrintable(gui()));
    const QString png = m_dir.filePath(QStringLiteral("tradeoff.png"));
    Outcome r =
        runGui({QStringLiteral("--export-chart"), QStringLiteral("tradeoff"),
                QStringLiteral("--db"), m_db, QStringLiteral("--baseline"), QStringLiteral("1"),
                QStringLiteral("--size"), QStringLiteral("800x500"), QStringLiteral("-o"), png});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY2(r.out.contains(png), qPrintable(r.out));
    QImageReader reader(png);
    QCOMPARE(reader.format(), QByteArray("png"));
    QCOMPARE(reader.size(), QSize(800, 500));

    const QString svg = m_dir.filePath(QStringLiteral("hist.svg"));
    r = runGui({QStringLiteral("--export-chart"), QStringLiteral("histogram"),
                QStringLiteral("--db"), m_db, QStringLiteral("--run"), QStringLiteral("1"),
                QStringLiteral("--size"), QStringLiteral("640x480"), QStringLiteral("-o"), svg});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QFile f(svg);
    QVERIFY(f.open(QIODevice::ReadOnly));
    QXmlStreamReader xml(&f);
    while (!xml.atEnd() && !xml.isStartElement()) xml.readNext();
    QCOMPARE(xml.name().toString(), QStringLiteral("svg"));
    QCOMPARE(xml.attributes().value(QStringLiteral("width")).toString(), QStringLiteral("640"));
    QCOMPARE(xml.attributes().value(QStringLiteral("height")).toString(), QStringLiteral("480"));
  }

  void headlessBadInput_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("named");  // what the message must name
    const QString out = QDir::tempPath() + QStringLiteral("/detslim-never-written.png");
    QTest::newRow("unknown run id")
        << QStringList{"--export-chart", "tradeoff", "--runs", "1,999", "-o", out}
        << QStringLiteral("run 999");
    QTest::newRow("unknown --run")
        << QStringList{"--export-chart", "layers", "--run", "77", "-o", out}
        << QStringLiteral("run 77");
    QTest::newRow("unknown kind") << QStringList{"--export-chart", "pie", "-o", out}
                                  << QStringLiteral("'pie'");
    QTest::newRow("per-run kind without --run")
        << QStringList{"--export-chart", "histogram", "-o", out} << QStringLiteral("--run");
    QTest::newRow("bad size") << QStringList{"--export-chart", "tradeoff", "--size",
                                             "12x7",           "-o",       out}
                              << QStringLiteral("--size: '12x7'");
    QTest::newRow("bad run list") << QStringList{"--report", "x.html", "--runs", "1,two"}
                                  << QStringLiteral("'two'");
    QTest::newRow("unknown baseline")
        << QStringList{"--report", "x.html", "--baseline", "55"} << QStringLiteral("run 55");
    QTest::newRow("unwritable output")
        << QStringList{"--export-chart", "tradeoff", "-o", "/proc/detslim/c.png"}
        << QStringLiteral("/proc/detslim/c.png");
    QTest::newRow("report format")
        << QStringList{"--report", "/tmp/detslim-report.odt"} << QStringLiteral(".odt");
  }

  void headlessBadInput() {
    QFETCH(QStringList, args);
    QFETCH(QString, named);
    QVERIFY2(QFileInfo(gui()).isExecutable(), qPrintable(gui()));
    const Outcome r = runGui(args + QStringList{QStringLiteral("--db"), m_db});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains(named), qPrintable(r.err));
    QVERIFY(!QFile::exists(QDir::tempPath() + QStringLiteral("/detslim-never-written.png")));
  }

  void headlessUnreadableStore() {
    QVERIFY2(QFileInfo(gui()).isExecutable(), qPrintable(gui()));
    const QString missing = m_dir.filePath(QStringLiteral("nope/results.sqlite"));
    Outcome r = runGui({QStringLiteral("--report"), m_dir.filePath(QStringLiteral("m.html")),
                        QStringLiteral("--db"), missing});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains(missing), qPrintable(r.err));
    QVERIFY(!QFile::exists(missing));  // never created by a read
    const QString text = m_dir.filePath(QStringLiteral("notes.sqlite"));
    QFile f(text);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("these are notes, not a database\n");
    f.close();
    r = runGui({QStringLiteral("--export-chart"), QStringLiteral("memory"), QStringLiteral("--db"),
                text, QStringLiteral("-o"), m_dir.filePath(QStringLiteral("m.png"))});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains(text), qPrintable(r.err));
  }

  // The report over two runs measured for real, shown as a reader sees it (QTextBrowser renders
  // the same HTML, data URIs included), saved as the docs' screenshot.
  void screenshotOfRealReport() {
    const QByteArray data = qgetenv("DETSLIM_TEST_DATA");
    if (data.isEmpty()) QSKIP("DETSLIM_TEST_DATA is unset: the screenshot needs real runs");
    QTemporaryDir dir;
    Result<store::Store> db =
        store::Store::open(dir.filePath(QStringLiteral("real.sqlite")).toStdString());
    QVERIFY2(db, db.status().message().c_str());
    const QString cli =
        QCoreApplication::applicationDirPath() + QStringLiteral("/../../app/cli/detslim");
    Result<std::vector<int64_t>> ids =
        detslim::testing::storeRealRuns(*db, QString::fromLocal8Bit(data).toStdString(),
                                        QFileInfo(cli).isExecutable() ? cli.toStdString() : "");
    QVERIFY2(ids, ids.status().message().c_str());
    ReportRequest req;
    Result<std::vector<store::RunRecord>> runs = db->listRuns();
    QVERIFY(runs);
    req.runs = *runs;
    req.baseline_id = ids->front();
    req.title = QStringLiteral("yolov5n_fp32: dense vs magnitude 50 % (4 COCO val images)");
    req.output_path = dir.filePath(QStringLiteral("real.html"));
    QVERIFY(exportReport(req));
    const QString html = QString::fromUtf8(readAll(req.output_path));
    // The measured values are in it, as the store holds them.
    for (const store::RunRecord& r : req.runs) {
      QVERIFY(html.contains(QString::number(r.stats[0], 'f', 4)));
      QVERIFY(html.contains(QString::number(r.latency[0].summary.median_ms, 'f', 2)));
    }
    QTextBrowser browser;
    browser.resize(1280, 800);
    browser.setHtml(html);
    browser.show();
    QVERIFY(QTest::qWaitForWindowExposed(&browser));
    QDir().mkpath(QStringLiteral(DETSLIM_SCREENSHOT_DIR));
    const QImage shot = browser.grab().toImage();
    QCOMPARE(shot.size(), QSize(1280, 800));
    QVERIFY(shot.save(QStringLiteral(DETSLIM_SCREENSHOT_DIR "/report.png")));
  }
};

QTEST_MAIN(TestReport)
#include "tst_report.moc"
