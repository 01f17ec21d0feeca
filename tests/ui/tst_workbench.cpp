// The whole workbench as a newcomer drives it, offscreen, on real data: open yolov5n_fp32.onnx,
// open the COCO val samples, run the baseline, `group` 30 % and INT8 from the Run panel, see the
// three runs in Results and the Charts, compare baseline and INT8 detections side by side, and
// export a report. Each main view is saved as a PNG under <build>/screenshots/ (README's
// screenshot comes from here). Also: drag-and-drop routing and settings persistence.

#include <QAbstractItemView>
#include <QComboBox>
#include <QDir>
#include <QDockWidget>
#include <QDoubleSpinBox>
#include <QFile>
#include <QLineEdit>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QtTest>

#include "core/onnx/onnx_io.h"
#include "core/prune/prune.h"
#include "core/store/store.h"
#include "ui/charts/chartsview.h"
#include "ui/mainwindow/mainwindow.h"
#include "ui/models/resultstablemodel.h"
#include "ui/viewer/detectionviewer.h"
#include "ui/views/layerinspector.h"
#include "ui/views/modelpanel.h"
#include "ui/views/resultsview.h"
#include "ui/views/runpanel.h"

using detslim::ui::MainWindow;

namespace {

QString sharedData(const QString& rel) {
  const QByteArray dir = qgetenv("DETSLIM_TEST_DATA");
  return dir.isEmpty() ? QString() : QString::fromLocal8Bit(dir) + QLatin1Char('/') + rel;
}

// A run of 4 images with few timed runs takes ~10-40 s here; int8 calibrates first.
constexpr int kRunTimeoutMs = 300000;

}  // namespace

class TestWorkbench : public QObject {
  Q_OBJECT

 private:
  QTemporaryDir m_tmp;

  static void choose(QWidget* parent, const char* combo, const QString& text) {
    auto* box = parent->findChild<QComboBox*>(QLatin1String(combo));
    QVERIFY2(box, combo);
    const int index = box->findText(text);
    QVERIFY2(index >= 0, qPrintable(text));
    box->setCurrentIndex(index);
  }

  // withRunDock: the Configure & Run dock beside the tab; otherwise the tab gets the width.
  static void saveShot(MainWindow& w, const char* name, bool withRunDock = false) {
    w.runDock()->setVisible(withRunDock);
    QDir().mkpath(QStringLiteral(DETSLIM_SCREENSHOT_DIR));
    QCoreApplication::processEvents();
    QVERIFY(w.grab().save(QStringLiteral(DETSLIM_SCREENSHOT_DIR "/") + QLatin1String(name)));
  }

  // Runs the Run panel's configuration and waits until it is stored; returns the run id.
  static qint64 runAndWait(MainWindow& w) {
    QSignalSpy stored(w.runPanel(), &detslim::ui::RunPanel::runStored);
    QSignalSpy failed(w.runPanel(), &detslim::ui::RunPanel::runFailed);
    if (!w.runPanel()->startRun()) return -1;
    for (int waited = 0; stored.isEmpty() && failed.isEmpty() && waited < kRunTimeoutMs; waited += 200) {
      QTest::qWait(200);
    }
    if (!failed.isEmpty()) qWarning() << "run failed:" << failed.first().first().toString();
    return stored.isEmpty() ? -1 : stored.first().first().toLongLong();
  }

 private slots:
  void initTestCase() {
    QCoreApplication::setOrganizationName(QStringLiteral("DetSlimTest"));
    QCoreApplication::setApplicationName(QStringLiteral("tst_workbench"));
    QVERIFY(m_tmp.isValid());
    QSettings().clear();
  }

  void newcomerRunsComparesAndReports() {
    const QString model = sharedData(QStringLiteral("models/yolov5n_fp32.onnx"));
    if (model.isEmpty()) QSKIP("DETSLIM_TEST_DATA is unset: the workbench scenario needs real data");
    const QString store = m_tmp.filePath(QStringLiteral("results.sqlite"));
    MainWindow w;
    w.resize(1440, 900);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    w.openStore(store);

    QSignalSpy loaded(&w, &MainWindow::modelLoaded);
    w.openModel(model);
    QVERIFY(loaded.wait(60000));
    QVERIFY(w.isWorkspaceShown());
    QVERIFY(w.modelPanel()->summaryText().contains(QStringLiteral("1,867,405")));
    QVERIFY(w.layerInspector()->layerCount() >= 60);  // yolov5n has 60 convolutions
    saveShot(w, "01_model.png");

    w.openDataset(sharedData(QStringLiteral("coco/images/val2017")));
    detslim::ui::RunPanel* panel = w.runPanel();
    QCOMPARE(panel->modelPath(), model);
    panel->findChild<QSpinBox*>(QStringLiteral("limitSpin"))->setValue(4);
    panel->findChild<QSpinBox*>(QStringLiteral("runsSpin"))->setValue(30);
    panel->findChild<QSpinBox*>(QStringLiteral("warmupSpin"))->setValue(5);
    panel->findChild<QSpinBox*>(QStringLiteral("threadsSpin"))->setValue(2);
    panel->findChild<QLineEdit*>(QStringLiteral("batchesEdit"))->setText(QStringLiteral("1"));

    // 1. the baseline
    choose(panel, "methodCombo", QStringLiteral("none"));
    choose(panel, "precisionCombo", QStringLiteral("fp32"));
    const qint64 baseline = runAndWait(w);
    QVERIFY(baseline > 0);
    // 2. group pruning at 30 %
    choose(panel, "methodCombo", QStringLiteral("group"));
    panel->findChild<QDoubleSpinBox*>(QStringLiteral("sparsitySpin"))->setValue(0.3);
    const qint64 group = runAndWait(w);
    QVERIFY(group > 0);
    // 3. INT8 of the unpruned model, calibrated on 8 coco128 images
    choose(panel, "methodCombo", QStringLiteral("none"));
    choose(panel, "precisionCombo", QStringLiteral("int8"));
    panel->findChild<QLineEdit*>(QStringLiteral("calibEdit"))->setText(sharedData(QStringLiteral("coco/images/train2017")));
    panel->findChild<QSpinBox*>(QStringLiteral("calibCountSpin"))->setValue(8);
    saveShot(w, "02_configure_run.png", true);
    w.runDock()->show();
    const qint64 int8 = runAndWait(w);
    QVERIFY(int8 > 0);

    // Results: the three runs, read back from the file, the baseline marked.
    detslim::ui::ResultsTableModel* results = w.resultsModel();
    QTRY_COMPARE_WITH_TIMEOUT(static_cast<int>(results->runs().size()), 3, 30000);
    const detslim::store::RunRecord* g = results->runById(group);
    const detslim::store::RunRecord* q = results->runById(int8);
    QVERIFY(g && q);
    QCOMPARE(QString::fromStdString(g->prune_method), QStringLiteral("group"));
    QCOMPARE(g->sparsity, 0.3);
    QCOMPARE(QString::fromStdString(q->precision), QStringLiteral("int8"));
    QVERIFY(q->has_metrics && q->stats[1] > 0.0);
    QVERIFY(q->memory && g->memory);
    results->setBaselineId(baseline);
    w.showTab(MainWindow::kResultsTab);
    saveShot(w, "03_results.png");

    // Charts hold the same three runs (one model feeds table and charts).
    QCOMPARE(static_cast<int>(w.chartsView()->runs().size()), 3);
    w.showTab(MainWindow::kChartsTab);
    saveShot(w, "04_charts.png");

    // Detections: baseline and INT8 side by side.
    w.resultsView()->selectRuns({int8});
    QSignalSpy ready(w.detectionViewer(), &detslim::ui::DetectionViewer::sidesReady);
    w.compareSelectedDetections();
    QVERIFY(ready.wait(kRunTimeoutMs));
    QVERIFY(w.detectionViewer()->hasCompressed());
    QTRY_VERIFY_WITH_TIMEOUT(w.detectionViewer()->detections(1) != nullptr, 120000);
    QVERIFY(w.detectionViewer()->detections(0) != nullptr);
    saveShot(w, "05_detections.png");

    // Report of the three runs with the detection examples.
    w.resultsView()->selectRuns({baseline, group, int8});
    const QString report = m_tmp.filePath(QStringLiteral("report.html"));
    QCOMPARE(w.exportReport(report), QString());
    QFile f(report);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QString html = QString::fromUtf8(f.readAll());
    QVERIFY(html.contains(QStringLiteral("group")));
    QVERIFY(html.contains(QStringLiteral("int8")));
    QVERIFY(html.count(QStringLiteral("data:image/png;base64,")) >= 3);
    // An unwritable path comes back as core's message naming the file; the window stays usable.
    const QString bad = m_tmp.filePath(QStringLiteral("missing/dir/report.html"));
    QVERIFY(w.exportReport(bad).contains(QStringLiteral("missing/dir")));
    QVERIFY(w.isEnabled());

    // Layers: an R-TOSS (2 entries) copy of the model, pruned by core as `detslim prune` does,
    // opened in the same window: a 3x3 conv's zero map and its few kernel patterns.
    detslim::Result<detslim::Model> original = detslim::loadModel(model.toStdString());
    QVERIFY(original.isOk());
    detslim::prune::PruneOptions rtoss;
    rtoss.method = "rtoss";
    rtoss.opts = {{"entries", "2"}};
    QVERIFY(detslim::prune::pruneModel(*original, rtoss).isOk());
    const QString pruned = m_tmp.filePath(QStringLiteral("yolov5n_rtoss2.onnx"));
    QVERIFY(detslim::saveModel(*original, pruned.toStdString()).isOk());
    QSignalSpy reloaded(&w, &MainWindow::modelLoaded);
    w.openModel(pruned);
    QVERIFY(reloaded.wait(60000));
    QVERIFY(w.layerInspector()->showLayer(QStringLiteral("/model.2/m/m.0/cv2/conv/Conv")));
    const auto& patterns = w.layerInspector()->currentPatterns();
    QVERIFY(!patterns.empty() && patterns.size() <= 12);  // 2-cell patterns only
    w.showTab(MainWindow::kLayersTab);
    saveShot(w, "06_layers.png");
  }

  void dropRoutesFilesAndSettingsPersist() {
    const QString store = m_tmp.filePath(QStringLiteral("dropped.sqlite"));
    {
      MainWindow w;
      w.show();
      const QString text = m_tmp.filePath(QStringLiteral("notes.txt"));
      QCOMPARE(w.openDropped({QUrl::fromLocalFile(store), QUrl::fromLocalFile(m_tmp.path()),
                              QUrl::fromLocalFile(text), QUrl(QStringLiteral("https://example.com/m.onnx"))}),
               2);
      QCOMPARE(w.datasetPath(), m_tmp.path());
      QCOMPARE(w.storePath(), store);
      QVERIFY(w.isWorkspaceShown());
      w.close();
    }
    MainWindow again;
    QCOMPARE(again.storePath(), store);  // the store is remembered
    const QStringList recentDatasets = QSettings().value(QStringLiteral("recent/datasets")).toStringList();
    QVERIFY(recentDatasets.contains(QFileInfo(m_tmp.path()).absoluteFilePath()));
  }

  void badModelShowsDialogAndStaysUsable() {
    QFile f(m_tmp.filePath(QStringLiteral("broken.onnx")));
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("not a protobuf \xff\xfe", 17);
    f.close();
    MainWindow w;
    w.show();
    QSignalSpy failed(&w, &MainWindow::loadFailed);
    w.openModel(f.fileName());
    QVERIFY(failed.wait(30000));
    QVERIFY(failed.first().first().toString().contains(f.fileName()));
    QVERIFY(w.currentModelPath().isEmpty());
    QVERIFY(w.isEnabled());
  }
};

QTEST_MAIN(TestWorkbench)
#include "tst_workbench.moc"
