// JobRunner with fake core jobs (progress order, cancel, refusal of a second job, exceptions,
// the destructor's cancel-and-wait), and RunPanel offscreen: widgets kept in sync, the CLI line
// equal to the configured options, core's refusals reaching the message sink with nothing
// stored, and on the shared data a real run stored with its configuration and metrics, a
// cancelled run leaving the store as it was, and a sweep that skips what is already stored.

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QGroupBox>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QProcess>
#include <QPushButton>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QSlider>
#include <QSpinBox>
#include <QStackedWidget>
#include <QTemporaryDir>
#include <QtTest>
#include <atomic>
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <thread>

#include "core/quant/calibrate.h"
#include "core/store/store.h"
#include "core/workbench/quantize_job.h"
#include "core/workbench/run_job.h"
#include "ui/runners/jobrunner.h"
#include "ui/views/runpanel.h"

using detslim::JobControl;
using detslim::JobProgress;
using detslim::Status;
using detslim::ui::JobRunner;
using detslim::ui::RunPanel;
using detslim::ui::SweepGrid;

namespace {

// A whole run on two images of yolov5n with few timed runs takes seconds on 2 cores; the
// generous limit only guards against a hang.
constexpr int kRunTimeoutMs = 120000;
constexpr int kFakeSteps = 5;

QString sharedData(const QString& relative) {
  const QByteArray dir = qgetenv("DETSLIM_TEST_DATA");
  if (dir.isEmpty()) return {};
  return QString::fromLocal8Bit(dir) + QLatin1Char('/') + relative;
}

int64_t storedRuns(const QString& path) {
  if (!QFileInfo::exists(path)) return 0;
  auto store = detslim::store::Store::open(path.toStdString());
  if (!store) return -1;
  auto count = store->countRuns();
  return count ? *count : -1;
}

// Progress reports arrive per stage with `done` never going back.
bool doneNeverDecreases(const QSignalSpy& spy) {
  QString stage;
  qint64 last = -1;
  for (const QList<QVariant>& args : spy) {
    if (args.at(0).toString() != stage) {
      stage = args.at(0).toString();
      last = -1;
    }
    if (args.at(1).toLongLong() < last) return false;
    last = args.at(1).toLongLong();
  }
  return true;
}

}  // namespace

class TestRunPanel : public QObject {
  Q_OBJECT

 private:
  QTemporaryDir m_tmp;
  QStringList m_messages;
  // The stored GUI run, for the CLI reproduction check.
  QString m_guiCommand;
  std::string m_guiHash;

  // The small real configuration every data test starts from.
  void configureSmall(RunPanel& panel, const QString& store, int limit) {
    panel.setModelPath(sharedData(QStringLiteral("models/yolov5n_fp32.onnx")));
    panel.setDatasetPath(sharedData(QStringLiteral("coco/images/val2017")));
    panel.setStorePath(store);
    panel.findChild<QSpinBox*>(QStringLiteral("limitSpin"))->setValue(limit);
    panel.findChild<QSpinBox*>(QStringLiteral("runsSpin"))->setValue(3);
    panel.findChild<QSpinBox*>(QStringLiteral("warmupSpin"))->setValue(1);
    panel.findChild<QLineEdit*>(QStringLiteral("batchesEdit"))->setText(QStringLiteral("1"));
  }

  void capture(RunPanel& panel) {
    m_messages.clear();
    panel.setMessageSink([this](const QString& title, const QString& text) {
      m_messages << title + QStringLiteral(": ") + text;
    });
  }

  static void choose(RunPanel& panel, const char* combo, const QString& text) {
    auto* box = panel.findChild<QComboBox*>(QLatin1String(combo));
    QVERIFY(box);
    const int index = box->findText(text);
    QVERIFY2(index >= 0, qPrintable(text));
    box->setCurrentIndex(index);
  }

 private slots:
  void initTestCase() {
    QCoreApplication::setOrganizationName(QStringLiteral("DetSlimTest"));
    QCoreApplication::setApplicationName(QStringLiteral("tst_runpanel"));
    QVERIFY(m_tmp.isValid());
  }

  // ---- JobRunner with fake jobs ----

  void jobRunnerForwardsProgressInOrder() {
    JobRunner runner;
    QSignalSpy started(&runner, &JobRunner::started);
    QSignalSpy progress(&runner, &JobRunner::progress);
    QSignalSpy finished(&runner, &JobRunner::finished);
    std::atomic<bool> onGuiThread{true};
    const auto gui = std::this_thread::get_id();
    QVERIFY(runner.start(
        [&](const JobControl& control) {
          onGuiThread = std::this_thread::get_id() == gui;
          for (int i = 1; i <= kFakeSteps; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            control.progress({"fake", i, kFakeSteps, 0.0, (kFakeSteps - i) * 0.02});
          }
          return Status::ok();
        },
        QStringLiteral("fake")));
    QCOMPARE(started.count(), 1);
    QCOMPARE(started.at(0).at(0).toString(), QStringLiteral("fake"));
    QVERIFY(runner.isRunning());
    QVERIFY(finished.wait(10000));
    QVERIFY(!onGuiThread);
    QCOMPARE(finished.at(0).at(0).toBool(), true);
    QVERIFY(!runner.isRunning());
    QVERIFY(progress.count() >= 1);
    QVERIFY(doneNeverDecreases(progress));
    // The last report always arrives, before `finished`.
    QCOMPARE(progress.last().at(1).toLongLong(), qint64{kFakeSteps});
    QCOMPARE(progress.last().at(2).toLongLong(), qint64{kFakeSteps});
    QCOMPARE(progress.last().at(0).toString(), QStringLiteral("fake"));
  }

  void jobRunnerCancels() {
    JobRunner runner;
    QSignalSpy progress(&runner, &JobRunner::progress);
    QSignalSpy finished(&runner, &JobRunner::finished);
    QVERIFY(runner.start([](const JobControl& control) -> Status {
      for (int i = 0;; ++i) {
        if (control.cancel.cancelled()) {
          return detslim::cancelled("stopped after " + std::to_string(i) + " steps");
        }
        control.progress({"looping", i, 0, 0.0, -1.0});
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }));
    QVERIFY(progress.wait(10000));
    // A second job is refused while one runs, and nothing is emitted for it.
    QVERIFY(!runner.start([](const JobControl&) { return Status::ok(); }));
    runner.cancel();
    QVERIFY(finished.wait(10000));
    QCOMPARE(finished.count(), 1);
    QCOMPARE(finished.at(0).at(0).toBool(), false);
    QVERIFY(finished.at(0).at(1).toString().startsWith(QStringLiteral("stopped after")));
    QVERIFY(runner.lastCancelled());
    QCOMPARE(progress.last().at(2).toLongLong(), qint64{0});  // total unknown
    // Usable again.
    QVERIFY(runner.start([](const JobControl&) { return Status::ok(); }));
    QVERIFY(finished.wait(10000));
    QCOMPARE(finished.last().at(0).toBool(), true);
    QVERIFY(!runner.lastCancelled());
  }

  void jobRunnerReportsFailureAndException() {
    JobRunner runner;
    QSignalSpy finished(&runner, &JobRunner::finished);
    QVERIFY(runner.start(
        [](const JobControl&) { return detslim::invalidArgument("bad.onnx: node 'x' is wrong"); }));
    QVERIFY(finished.wait(10000));
    QCOMPARE(finished.at(0).at(1).toString(), QStringLiteral("bad.onnx: node 'x' is wrong"));
    QCOMPARE(runner.lastCode(), detslim::ErrorCode::kInvalidArgument);
    QVERIFY(runner.start([](const JobControl&) -> Status { throw std::runtime_error("boom"); }));
    QVERIFY(finished.wait(10000));
    QCOMPARE(finished.at(1).at(0).toBool(), false);
    QVERIFY(finished.at(1).at(1).toString().contains(QStringLiteral("boom")));
    QCOMPARE(runner.lastCode(), detslim::ErrorCode::kInternal);
  }

  void jobRunnerDestructorCancelsAndWaits() {
    auto returned = std::make_shared<std::atomic<bool>>(false);
    {
      JobRunner runner;
      QVERIFY(runner.start([returned](const JobControl& control) {
        while (!control.cancel.cancelled()) {
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        *returned = true;
        return detslim::cancelled("cancelled");
      }));
    }
    QVERIFY(returned->load());
  }

  // ---- RunPanel widgets ----

  void sparsitySliderAndSpinStayInSync() {
    RunPanel panel;
    auto* slider = panel.findChild<QSlider*>(QStringLiteral("sparsitySlider"));
    auto* spin = panel.findChild<QDoubleSpinBox*>(QStringLiteral("sparsitySpin"));
    QVERIFY(slider && spin);
    QCOMPARE(spin->maximum(), 0.99);
    spin->setValue(0.37);
    QCOMPARE(slider->value(), 37);
    slider->setValue(80);
    QCOMPARE(spin->value(), 0.8);
    choose(panel, "methodCombo", QStringLiteral("none"));
    QVERIFY(!spin->isEnabled());
    choose(panel, "methodCombo", QStringLiteral("rtoss"));  // entries decide, not sparsity
    QVERIFY(!spin->isEnabled());
    choose(panel, "methodCombo", QStringLiteral("magnitude"));
    QVERIFY(spin->isEnabled() && slider->isEnabled());
  }

  void methodOptionsFollowTheMethod_data() {
    QTest::addColumn<QString>("method");
    QTest::addColumn<QStringList>("options");
    QTest::newRow("magnitude") << "magnitude" << QStringList{"scope"};
    QTest::newRow("soft-channel") << "soft-channel" << QStringList{"norm", "compensate"};
    QTest::newRow("rtoss") << "rtoss" << QStringList{"entries", "share", "pattern", "connectivity"};
    QTest::newRow("nm") << "nm" << QStringList{"n", "m"};
    QTest::newRow("bn-slim") << "bn-slim" << QStringList{"mode", "scope", "max_ratio"};
  }

  void methodOptionsFollowTheMethod() {
    QFETCH(QString, method);
    QFETCH(QStringList, options);
    RunPanel panel;
    panel.show();
    choose(panel, "methodCombo", method);
    auto* pages = panel.findChild<QStackedWidget*>(QStringLiteral("methodOptions"));
    QCOMPARE(pages->currentWidget()->objectName(), QStringLiteral("options_") + method);
    for (const QString& key : options) {
      QWidget* w = panel.findChild<QWidget*>(QStringLiteral("opt_%1_%2").arg(method, key));
      QVERIFY2(w, qPrintable(key));
      QVERIFY2(w->isVisible(), qPrintable(key));
    }
    // Another method's options are not shown.
    QWidget* other = panel.findChild<QWidget*>(method == QLatin1String("magnitude")
                                                   ? QStringLiteral("opt_nm_n")
                                                   : QStringLiteral("opt_magnitude_scope"));
    QVERIFY(other && !other->isVisible());
  }

  void precisionWidgetsFollowThePrecision() {
    RunPanel panel;
    panel.show();
    auto* int8 = panel.findChild<QGroupBox*>(QStringLiteral("int8Box"));
    auto* calibrator = panel.findChild<QComboBox*>(QStringLiteral("calibratorCombo"));
    auto* precision = panel.findChild<QComboBox*>(QStringLiteral("precisionCombo"));
    QVERIFY(int8 && calibrator && precision);
    QCOMPARE(precision->count(), static_cast<int>(detslim::availablePrecisions().size()));
    QVERIFY(!int8->isVisible());
    choose(panel, "precisionCombo", QStringLiteral("int8"));
    QVERIFY(int8->isVisible());
    QCOMPARE(calibrator->currentText().toStdString(),
             std::string(detslim::quant::calibratorName(detslim::defaultCalibrator())));
    auto* maxDrop = panel.findChild<QDoubleSpinBox*>(QStringLiteral("maxMapDropSpin"));
    QVERIFY(!maxDrop->isEnabled());
    choose(panel, "keepCombo", QStringLiteral("auto"));
    QVERIFY(maxDrop->isEnabled());
    choose(panel, "precisionCombo", QStringLiteral("fp16"));
    QVERIFY(!int8->isVisible());
  }

  void commandLineMatchesOptions() {
    RunPanel panel;
    panel.setModelPath(QStringLiteral("/m/yolo v5n.onnx"));
    panel.findChild<QLineEdit*>(QStringLiteral("datasetEdit"))->setText(QStringLiteral("/d/val"));
    panel.setStorePath(QStringLiteral("/s/r.sqlite"));
    choose(panel, "methodCombo", QStringLiteral("magnitude"));
    panel.findChild<QDoubleSpinBox*>(QStringLiteral("sparsitySpin"))->setValue(0.3);
    choose(panel, "opt_magnitude_scope", QStringLiteral("global"));
    panel.findChild<QCheckBox*>(QStringLiteral("protectHeadCheck"))->setChecked(false);
    choose(panel, "precisionCombo", QStringLiteral("int8"));
    choose(panel, "calibratorCombo", QStringLiteral("mse"));
    panel.findChild<QSpinBox*>(QStringLiteral("calibCountSpin"))->setValue(16);
    choose(panel, "keepCombo", QStringLiteral("auto"));
    panel.findChild<QDoubleSpinBox*>(QStringLiteral("maxMapDropSpin"))->setValue(1.5);
    choose(panel, "preActivationCombo", QStringLiteral("f32"));
    panel.findChild<QSpinBox*>(QStringLiteral("limitSpin"))->setValue(2);
    panel.findChild<QSpinBox*>(QStringLiteral("runsSpin"))->setValue(3);
    panel.findChild<QLineEdit*>(QStringLiteral("batchesEdit"))->setText(QStringLiteral("1, 8"));
    const QString expected = QStringLiteral(
        "detslim run --model '/m/yolo v5n.onnx' --data /d/val "
        "--prune magnitude:protect_head=false,scope=global,sparsity=0.3 --precision int8 "
        "--calib-count 16 --calibrator mse --keep-fp32 auto --max-map-drop 1.5 "
        "--pre-activation f32 --limit 2 --runs 3 --throughput-batches 1,8 --db /s/r.sqlite");
    QCOMPARE(panel.commandLine(), expected);
    QCOMPARE(panel.findChild<QLineEdit*>(QStringLiteral("commandLine"))->text(), expected);
    // The same configuration as the CLI builds from that line.
    auto options = panel.runOptions();
    QVERIFY(options.isOk());
    const detslim::RunConfig& c = options->config;
    auto spec = detslim::parsePruneSpec("magnitude:protect_head=false,scope=global,sparsity=0.3");
    QVERIFY(spec.isOk());
    QCOMPARE(c.prune_method, spec->first);
    QVERIFY(c.prune_params == spec->second);
    QCOMPARE(c.sparsity(), 0.3);
    const std::map<std::string, std::string> precision = {
        {"calib_count", "16"}, {"calibrator", "mse"}, {"keep", "auto"}, {"max_map_drop", "1.5"},
        {"pre_activation", "f32"}};
    QVERIFY(c.precision_params == precision);
    QCOMPARE(c.limit, size_t{2});
    QCOMPARE(c.timed_runs, 3);
    QVERIFY((c.throughput_batches == std::vector<int>{1, 8}));
    QVERIFY(detslim::validateConfig(c).isOk());
  }

  void sweepCommandLineMatchesGrid() {
    RunPanel panel;
    panel.setModelPath(QStringLiteral("/m/y.onnx"));
    panel.findChild<QLineEdit*>(QStringLiteral("datasetEdit"))->setText(QStringLiteral("/d/val"));
    panel.setStorePath(QStringLiteral("/s/r.sqlite"));
    SweepGrid grid;
    grid.methods = {QStringLiteral("none"), QStringLiteral("magnitude")};
    grid.sparsities = {0.2, 0.5};
    grid.precisions = {QStringLiteral("fp32"), QStringLiteral("int8")};
    QCOMPARE(detslim::ui::sweepSize(grid), 6);
    auto options = panel.sweepOptions(grid);
    QVERIFY(options.isOk());
    QCOMPARE(detslim::expandSweep(*options).size(), size_t{6});
    QCOMPARE(
        panel.sweepCommandLine(grid),
        QStringLiteral("detslim sweep --model /m/y.onnx --data /d/val --methods none,magnitude "
                       "--sparsity 0.2,0.5 --precision fp32,int8 --calibrators mse "
                       "--db /s/r.sqlite"));
  }

  void invalidConfigurationIsRefused_data() {
    QTest::addColumn<QString>("kind");
    QTest::addColumn<QString>("message");
    QTest::newRow("nm n >= m") << "nm"
                               << "must be below m=4";
    QTest::newRow("bad batch") << "batch"
                               << "throughput batch 'x' is not a whole number";
    QTest::newRow("zero batch") << "zero batch"
                                << "throughput batch 0 must be >= 1";
    QTest::newRow("no model") << "model"
                              << "no model";
    QTest::newRow("comma in ignore") << "ignore"
                                     << "cannot contain ','";
  }

  void invalidConfigurationIsRefused() {
    QFETCH(QString, kind);
    QFETCH(QString, message);
    RunPanel panel;
    capture(panel);
    const QString tag =
        QString::fromLatin1(QTest::currentDataTag())
            .replace(QRegularExpression(QStringLiteral("[^a-z0-9]")), QStringLiteral("_"));
    const QString store = m_tmp.filePath(QStringLiteral("refused_%1.sqlite").arg(tag));
    panel.setModelPath(QStringLiteral("/m/y.onnx"));
    panel.findChild<QLineEdit*>(QStringLiteral("datasetEdit"))->setText(QStringLiteral("/d/val"));
    panel.setStorePath(store);
    if (kind == QLatin1String("nm")) {
      choose(panel, "methodCombo", QStringLiteral("nm"));
      panel.findChild<QSpinBox*>(QStringLiteral("opt_nm_n"))->setValue(4);
      panel.findChild<QSpinBox*>(QStringLiteral("opt_nm_m"))->setValue(4);
    } else if (kind == QLatin1String("batch")) {
      panel.findChild<QLineEdit*>(QStringLiteral("batchesEdit"))->setText(QStringLiteral("1,x"));
    } else if (kind == QLatin1String("zero batch")) {
      panel.findChild<QLineEdit*>(QStringLiteral("batchesEdit"))->setText(QStringLiteral("0"));
    } else if (kind == QLatin1String("model")) {
      panel.setModelPath(QString());
    } else if (kind == QLatin1String("ignore")) {
      choose(panel, "methodCombo", QStringLiteral("magnitude"));
      panel.findChild<QLineEdit*>(QStringLiteral("ignoreEdit"))->setText(QStringLiteral("a{1,2}"));
    }
    QSignalSpy busy(&panel, &RunPanel::busyChanged);
    auto* run = panel.findChild<QPushButton*>(QStringLiteral("runButton"));
    QTest::mouseClick(run, Qt::LeftButton);
    QCOMPARE(m_messages.size(), 1);
    QVERIFY2(m_messages.first().contains(message), qPrintable(m_messages.first()));
    QVERIFY(!panel.isBusy());
    QCOMPARE(busy.count(), 0);
    QVERIFY(run->isEnabled());
    QVERIFY(!QFileInfo::exists(store));  // refused before the store was even opened
  }

  void sweepDialogGrid() {
    detslim::ui::RunSweepDialog dialog;
    SweepGrid grid;
    grid.methods = {QStringLiteral("magnitude")};
    grid.sparsities = {0.25};
    grid.precisions = {QStringLiteral("int8")};
    grid.calibrators = {QStringLiteral("minmax"), QStringLiteral("mse")};
    dialog.setGrid(grid);
    auto read = dialog.grid();
    QVERIFY(read.isOk());
    QCOMPARE(read->methods, grid.methods);
    QCOMPARE(read->sparsities, grid.sparsities);
    QCOMPARE(read->calibrators, grid.calibrators);
    QCOMPARE(detslim::ui::sweepSize(*read), 2);
    dialog.findChild<QLineEdit*>(QStringLiteral("sweepSparsities"))
        ->setText(QStringLiteral("0.2,abc"));
    QVERIFY(!dialog.grid().isOk());
  }

  // The button opens the dialog; its accepted grid goes through the same checks as a run.
  void sweepButtonOpensDialog() {
    RunPanel panel;
    capture(panel);
    panel.findChild<QLineEdit*>(QStringLiteral("datasetEdit"))->setText(QStringLiteral("/d/val"));
    QTest::mouseClick(panel.findChild<QPushButton*>(QStringLiteral("sweepButton")), Qt::LeftButton);
    auto* dialog = panel.findChild<detslim::ui::RunSweepDialog*>();
    QVERIFY(dialog);
    QVERIFY(dialog->isVisible());
    dialog->accept();  // the default grid, but no model is open
    QCOMPARE(m_messages.size(), 1);
    QVERIFY2(m_messages.first().contains(QStringLiteral("no model")),
             qPrintable(m_messages.first()));
    QVERIFY(!panel.isBusy());
  }

  // ---- real data ----

  void datasetProbeReadsTheFolder() {
    const QString val = sharedData(QStringLiteral("coco/images/val2017"));
    if (val.isEmpty()) QSKIP("DETSLIM_TEST_DATA is unset");
    RunPanel panel;
    QSignalSpy probed(&panel, &RunPanel::datasetProbed);
    panel.setDatasetPath(val);
    QVERIFY(probed.wait(30000));
    QCOMPARE(probed.last().at(0).toBool(), true);
    const QString summary = probed.last().at(1).toString();
    QVERIFY2(summary.contains(QStringLiteral("128 images")), qPrintable(summary));
    QCOMPARE(panel.lastProbe().images, qint64{128});
    QVERIFY(panel.lastProbe().boxes > 0);
    QVERIFY(!panel.lastProbe().format.isEmpty());
    panel.setDatasetPath(m_tmp.filePath(QStringLiteral("no/such/folder")));
    QVERIFY(probed.wait(30000));
    QCOMPARE(probed.last().at(0).toBool(), false);
    QVERIFY2(probed.last().at(1).toString().contains(QStringLiteral("no/such/folder")),
             qPrintable(probed.last().at(1).toString()));
  }

  void missingDatasetSurfacesCoreMessage() {
    if (sharedData({}).isEmpty()) QSKIP("DETSLIM_TEST_DATA is unset");
    RunPanel panel;
    capture(panel);
    const QString store = m_tmp.filePath(QStringLiteral("missing.sqlite"));
    configureSmall(panel, store, 2);
    const QString missing = m_tmp.filePath(QStringLiteral("nonexistent_dataset"));
    panel.findChild<QLineEdit*>(QStringLiteral("datasetEdit"))->setText(missing);
    QSignalSpy failed(&panel, &RunPanel::runFailed);
    QSignalSpy stored(&panel, &RunPanel::runStored);
    QVERIFY(panel.startRun());
    QVERIFY(failed.wait(kRunTimeoutMs));
    QCOMPARE(stored.count(), 0);
    QCOMPARE(m_messages.size(), 1);
    QVERIFY2(m_messages.first().contains(QStringLiteral("nonexistent_dataset")),
             qPrintable(m_messages.first()));
    QCOMPARE(storedRuns(store), int64_t{0});
    QVERIFY(!panel.isBusy());
    QVERIFY(panel.findChild<QPushButton*>(QStringLiteral("runButton"))->isEnabled());
  }

  void missingCalibrationFolderSurfacesCoreMessage() {
    if (sharedData({}).isEmpty()) QSKIP("DETSLIM_TEST_DATA is unset");
    RunPanel panel;
    capture(panel);
    const QString store = m_tmp.filePath(QStringLiteral("calib.sqlite"));
    configureSmall(panel, store, 2);
    choose(panel, "precisionCombo", QStringLiteral("int8"));
    panel.findChild<QLineEdit*>(QStringLiteral("calibEdit"))
        ->setText(m_tmp.filePath(QStringLiteral("no_calibration_here")));
    QSignalSpy failed(&panel, &RunPanel::runFailed);
    QVERIFY(panel.startRun());
    QVERIFY(failed.wait(kRunTimeoutMs));
    QCOMPARE(m_messages.size(), 1);
    QVERIFY2(m_messages.first().contains(QStringLiteral("no_calibration_here")),
             qPrintable(m_messages.first()));
    QCOMPARE(storedRuns(store), int64_t{0});
    QVERIFY(!panel.isBusy());
  }

  // INT8 end to end: the panel's calibration settings reach the stored configuration.
  void int8RunStoresItsCalibration() {
    if (sharedData({}).isEmpty()) QSKIP("DETSLIM_TEST_DATA is unset");
    RunPanel panel;
    capture(panel);
    const QString store = m_tmp.filePath(QStringLiteral("int8.sqlite"));
    configureSmall(panel, store, 2);
    choose(panel, "precisionCombo", QStringLiteral("int8"));
    choose(panel, "calibratorCombo", QStringLiteral("minmax"));
    const QString calib = sharedData(QStringLiteral("coco/images/train2017"));
    panel.findChild<QLineEdit*>(QStringLiteral("calibEdit"))->setText(calib);
    panel.findChild<QSpinBox*>(QStringLiteral("calibCountSpin"))->setValue(4);
    QSignalSpy stored(&panel, &RunPanel::runStored);
    QVERIFY(panel.startRun());
    QVERIFY2(stored.wait(kRunTimeoutMs), qPrintable(m_messages.join(QLatin1Char('\n'))));
    auto db = detslim::store::Store::open(store.toStdString());
    auto rec = db->getRun(stored.at(0).at(0).toLongLong());
    QVERIFY(rec.isOk());
    QCOMPARE(rec->precision, std::string("int8"));
    const nlohmann::json& params = rec->config["precision_params"];
    QCOMPARE(params["calibrator"].get<std::string>(), std::string("minmax"));
    QCOMPARE(params["calib_count"].get<std::string>(), std::string("4"));
    QCOMPARE(QString::fromStdString(params["calib"].get<std::string>()), calib);
    QVERIFY(rec->has_metrics);
  }

  void runIsStoredWithItsConfiguration() {
    if (sharedData({}).isEmpty()) QSKIP("DETSLIM_TEST_DATA is unset");
    RunPanel panel;
    capture(panel);
    panel.resize(1280, 800);
    panel.show();
    const QString store = m_tmp.filePath(QStringLiteral("results.sqlite"));
    configureSmall(panel, store, 2);
    choose(panel, "methodCombo", QStringLiteral("magnitude"));
    panel.findChild<QDoubleSpinBox*>(QStringLiteral("sparsitySpin"))->setValue(0.3);
    choose(panel, "precisionCombo", QStringLiteral("fp32"));
    QSignalSpy stored(&panel, &RunPanel::runStored);
    QSignalSpy progress(panel.runner(), &JobRunner::progress);
    auto* run = panel.findChild<QPushButton*>(QStringLiteral("runButton"));
    QTest::mouseClick(run, Qt::LeftButton);
    QVERIFY(panel.isBusy());
    QVERIFY(!run->isEnabled());
    QVERIFY2(stored.wait(kRunTimeoutMs), qPrintable(m_messages.join(QLatin1Char('\n'))));
    QVERIFY2(m_messages.isEmpty(), qPrintable(m_messages.join(QLatin1Char('\n'))));
    const qint64 id = stored.at(0).at(0).toLongLong();
    QCOMPARE(stored.at(0).at(1).toString(), store);
    QCOMPARE(panel.lastRunId(), id);
    QVERIFY(run->isEnabled());

    auto db = detslim::store::Store::open(store.toStdString());
    QVERIFY(db.isOk());
    auto rec = db->getRun(id);
    QVERIFY(rec.isOk());
    QCOMPARE(rec->status, std::string(detslim::store::kStatusOk));
    QCOMPARE(rec->prune_method, std::string("magnitude"));
    QCOMPARE(rec->sparsity, 0.3);
    QCOMPARE(rec->precision, std::string("fp32"));
    QCOMPARE(rec->config["prune"]["params"]["sparsity"].get<std::string>(), std::string("0.3"));
    QCOMPARE(rec->config["limit"].get<int>(), 2);
    QCOMPARE(rec->config["timed_runs"].get<int>(), 3);
    QCOMPARE(rec->dataset.image_count, int64_t{2});
    QVERIFY(rec->has_metrics);
    QVERIFY(std::isfinite(rec->stats[1]) && rec->stats[1] >= 0.0 && rec->stats[1] <= 1.0);
    QCOMPARE(rec->latency.size(), size_t{2});
    QCOMPARE(rec->latency.front().summary.runs, 3);
    QVERIFY(rec->latency.front().summary.median_ms > 0);
    QCOMPARE(rec->throughput.size(), size_t{1});
    QCOMPARE(rec->throughput.front().batch, 1);
    QVERIFY(rec->throughput.front().images_per_s > 0);
    QVERIFY(rec->memory.has_value());
    QVERIFY(rec->memory->weights_bytes > 0);
    if (RunPanel::cliExecutable().isEmpty()) QCOMPARE(rec->memory->peak_rss_bytes, int64_t{-1});
    // The configuration the CLI line would store hashes the same.
    QCOMPARE(rec->config_hash, detslim::store::configHash(panel.runOptions()->config.toJson(),
                                                          rec->model, rec->dataset));

    QVERIFY(progress.count() >= 2);
    QVERIFY(doneNeverDecreases(progress));
    bool timed = false;
    for (const QList<QVariant>& args : progress) {
      if (args.at(0).toString() == QLatin1String("timing inference") &&
          args.at(1).toLongLong() == 4 && args.at(2).toLongLong() == 4) {
        timed = true;  // warm-up 1 + timed 3
      }
    }
    QVERIFY(timed);
    const QString log = panel.findChild<QPlainTextEdit*>(QStringLiteral("logView"))->toPlainText();
    QVERIFY2(log.contains(QStringLiteral("$ ") + panel.commandLine()), qPrintable(log));
    QVERIFY(log.contains(QStringLiteral("Run %1 stored").arg(id)));

    m_guiCommand = panel.commandLine();
    m_guiHash = rec->config_hash;

    QDir().mkpath(QStringLiteral(DETSLIM_SCREENSHOT_DIR));
    QVERIFY(panel.grab().save(QStringLiteral(DETSLIM_SCREENSHOT_DIR "/configure_run.png")));
  }

  // The shown command line, run by the CLI, stores the same configuration (same hash).
  void cliLineReproducesTheRun() {
    if (m_guiHash.empty()) QSKIP("needs the run of runIsStoredWithItsConfiguration");
    QString cli = RunPanel::cliExecutable();
    if (cli.isEmpty()) {
      // The test binary lives in build/tests/ui, the CLI in build/app/cli.
      cli = QCoreApplication::applicationDirPath() + QStringLiteral("/../../app/cli/detslim");
    }
    if (!QFileInfo(cli).isExecutable()) QSKIP("the detslim CLI is not built");
    QString command = m_guiCommand;
    QVERIFY(command.startsWith(QStringLiteral("detslim run ")));
    command.replace(0, 7, cli);
    QProcess process;
    process.start(QStringLiteral("/bin/sh"), {QStringLiteral("-c"), command});
    QVERIFY(process.waitForFinished(kRunTimeoutMs));
    const QString out = QString::fromLocal8Bit(process.readAllStandardOutput());
    QVERIFY2(process.exitCode() == 0,
             qPrintable(out + QString::fromLocal8Bit(process.readAllStandardError())));
    const QRegularExpressionMatch id =
        QRegularExpression(QStringLiteral("^Run (\\d+) stored")).match(out);
    QVERIFY2(id.hasMatch(), qPrintable(out));
    auto db =
        detslim::store::Store::open(m_tmp.filePath(QStringLiteral("results.sqlite")).toStdString());
    QVERIFY(db.isOk());
    auto rec = db->getRun(id.captured(1).toLongLong());
    QVERIFY(rec.isOk());
    QCOMPARE(rec->config_hash, m_guiHash);
  }

  void cancelStoresNothing() {
    if (sharedData({}).isEmpty()) QSKIP("DETSLIM_TEST_DATA is unset");
    RunPanel panel;
    capture(panel);
    const QString store = m_tmp.filePath(QStringLiteral("results.sqlite"));
    configureSmall(panel, store, 50);
    const int64_t before = storedRuns(store);
    QSignalSpy cancelledSpy(&panel, &RunPanel::runCancelled);
    QSignalSpy stored(&panel, &RunPanel::runStored);
    QSignalSpy progress(panel.runner(), &JobRunner::progress);
    QVERIFY(panel.startRun());
    // Cancel inside the evaluation loop, with most of the 50 images still to go.
    QTRY_VERIFY_WITH_TIMEOUT(!progress.isEmpty() && progress.last().at(0).toString().startsWith(
                                                        QStringLiteral("evaluating")),
                             kRunTimeoutMs);
    // A sweep asked for meanwhile waits in the queue; Cancel drops it too.
    SweepGrid grid;
    grid.methods = {QStringLiteral("none")};
    grid.precisions = {QStringLiteral("fp32")};
    QVERIFY(panel.startSweep(grid));
    QCOMPARE(panel.queuedSweeps(), 1);
    QTest::mouseClick(panel.findChild<QPushButton*>(QStringLiteral("cancelButton")),
                      Qt::LeftButton);
    QCOMPARE(panel.queuedSweeps(), 0);
    QVERIFY(cancelledSpy.wait(30000));
    QCOMPARE(stored.count(), 0);
    QVERIFY2(m_messages.isEmpty(), qPrintable(m_messages.join(QLatin1Char('\n'))));
    QCOMPARE(storedRuns(store), before);
    QVERIFY(!panel.isBusy());
    QVERIFY(panel.findChild<QPushButton*>(QStringLiteral("runButton"))->isEnabled());
    QVERIFY(!panel.findChild<QPushButton*>(QStringLiteral("cancelButton"))->isEnabled());
    QVERIFY(panel.runner()->lastCancelled());
    // Still usable: a refused configuration is reported, not ignored.
    panel.findChild<QLineEdit*>(QStringLiteral("batchesEdit"))->setText(QStringLiteral("0"));
    QVERIFY(!panel.startRun());
    QCOMPARE(m_messages.size(), 1);
  }

  void queuedSweepKeepsTheSettingsItWasQueuedWith() {
    if (sharedData({}).isEmpty()) QSKIP("DETSLIM_TEST_DATA is unset");
    RunPanel panel;
    capture(panel);
    // Queued with a store that cannot be opened, then the panel is pointed at a good one: the
    // sweep must run as it was asked for (and fail fast naming that store), not as the widgets
    // say when the job ahead of it ends.
    const QString queuedWith = QStringLiteral("/dev/null/queued/results.sqlite");
    const QString changedTo = m_tmp.filePath(QStringLiteral("changed_after_queueing.sqlite"));
    configureSmall(panel, queuedWith, 2);
    auto release = std::make_shared<std::atomic<bool>>(false);
    QVERIFY(panel.runner()->start([release](const JobControl&) {
      while (!release->load()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      return detslim::cancelled("the job ahead of the sweep");
    }));
    QVERIFY(panel.isBusy());
    SweepGrid grid;
    grid.methods = {QStringLiteral("none")};
    grid.precisions = {QStringLiteral("fp32")};
    QVERIFY(panel.startSweep(grid));
    QCOMPARE(panel.queuedSweeps(), 1);
    panel.setStorePath(changedTo);
    QSignalSpy finished(&panel, &RunPanel::sweepFinished);
    *release = true;
    QVERIFY(finished.wait(kRunTimeoutMs));
    QCOMPARE(m_messages.size(), 1);
    QVERIFY2(m_messages.first().contains(QStringLiteral("/dev/null/queued")),
             qPrintable(m_messages.first()));
    QVERIFY(!QFileInfo::exists(changedTo));
  }

  void sweepStoresEachRunAndSkipsStored() {
    if (sharedData({}).isEmpty()) QSKIP("DETSLIM_TEST_DATA is unset");
    RunPanel panel;
    capture(panel);
    const QString store = m_tmp.filePath(QStringLiteral("results.sqlite"));
    configureSmall(panel, store, 2);
    // magnitude 0.3 fp32 was stored by runIsStoredWithItsConfiguration (same settings) when it
    // ran first: the sweep then skips it.
    SweepGrid grid;
    grid.methods = {QStringLiteral("none"), QStringLiteral("magnitude")};
    grid.sparsities = {0.3};
    grid.precisions = {QStringLiteral("fp32")};
    const int64_t before = storedRuns(store);
    QSignalSpy stored(&panel, &RunPanel::runStored);
    QSignalSpy finished(&panel, &RunPanel::sweepFinished);
    QVERIFY(panel.startSweep(grid));
    QVERIFY(finished.wait(2 * kRunTimeoutMs));
    QVERIFY2(m_messages.isEmpty(), qPrintable(m_messages.join(QLatin1Char('\n'))));
    const int newRuns = finished.at(0).at(0).toInt();
    const int skipped = finished.at(0).at(1).toInt();
    QCOMPARE(finished.at(0).at(2).toInt(), 0);
    QCOMPARE(finished.at(0).at(3).toBool(), false);
    QCOMPARE(newRuns + skipped, 2);
    QVERIFY(newRuns >= 1);  // "none" was never stored before
    QCOMPARE(stored.count(), newRuns);
    QCOMPARE(storedRuns(store), before + newRuns);
    auto db = detslim::store::Store::open(store.toStdString());
    auto none = db->getRun(stored.at(0).at(0).toLongLong());
    QVERIFY(none.isOk());
    QCOMPARE(none->prune_method, std::string("none"));
    QCOMPARE(none->dataset.image_count, int64_t{2});
    const QString log = panel.findChild<QPlainTextEdit*>(QStringLiteral("logView"))->toPlainText();
    QVERIFY2(
        log.contains(QStringLiteral("$ detslim sweep")) || !RunPanel::cliExecutable().isEmpty(),
        qPrintable(log));
    QVERIFY2(log.contains(QStringLiteral("[1/2] none fp32")), qPrintable(log));
    if (skipped == 1) QVERIFY(log.contains(QStringLiteral("already stored")));
  }
};

QTEST_MAIN(TestRunPanel)
#include "tst_runpanel.moc"
