#pragma once
// RunPanel: configure one run — dataset, pruning method and its options, sparsity, precision
// (with INT8 calibration), measurement settings, results store — run it through core's
// executeRun off the GUI thread, store it, and say so (runStored) so Results can refresh.
// A grid of configurations runs through core's runSweep. Every configuration is checked with
// core's validateConfig before anything starts, and the equivalent `detslim run` command line
// is shown so any GUI run can be reproduced from the CLI.

#include <QFutureWatcher>
#include <QList>
#include <QString>
#include <QStringList>
#include <QWidget>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "core/base/status.h"
#include "core/workbench/run_job.h"
#include "ui/views/runsweepdialog.h"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QGroupBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QSlider;
class QSpinBox;
class QStackedWidget;
class QTimer;

namespace detslim::ui {

class JobRunner;

// What a dataset probe found (format, counts) or why it failed; computed off the GUI thread.
struct DatasetProbe {
  QString path;
  bool ok = false;
  QString error;   // core's message when !ok
  QString format;  // "yolo", "coco", ...
  qint64 images = 0;
  qint64 boxes = 0;
  int classes = 0;
  QString classMap;  // the shipped map the evaluation uses, or how classes are matched
  int warnings = 0;
};

class RunPanel : public QWidget {
  Q_OBJECT

 public:
  // Receives every error the panel reports (title, core's message). The default opens a
  // window-modal message box that does not block; tests capture the messages instead.
  using MessageSink = std::function<void(const QString& title, const QString& text)>;

  explicit RunPanel(QWidget* parent = nullptr);
  // Cancels a running job and waits for it.
  ~RunPanel() override;

  void setModelPath(const QString& path);
  QString modelPath() const { return m_modelPath; }
  // Sets the dataset line edit; the folder is probed in the background (datasetProbed).
  void setDatasetPath(const QString& path);
  QString datasetPath() const;
  void setStorePath(const QString& path);
  QString storePath() const;
  void setMessageSink(MessageSink sink);

  // The run the widgets describe, as the CLI would build it. Refuses what the panel cannot
  // express (no model or dataset, an unparsable batch list, ',' in an ignore pattern); core's
  // validateConfig is checked separately, by startRun.
  Result<RunOptions> runOptions() const;
  // The `detslim run ...` line for the current widgets (also shown in the panel).
  QString commandLine() const;
  // The `detslim sweep ...` line for `grid` with the panel's fixed settings.
  QString sweepCommandLine(const SweepGrid& grid) const;
  // The sweep core would run for `grid`; refuses an empty axis.
  Result<SweepOptions> sweepOptions(const SweepGrid& grid) const;

  bool isBusy() const;
  JobRunner* runner() const { return m_runner; }
  qint64 lastRunId() const { return m_lastRunId; }
  DatasetProbe lastProbe() const { return m_probe; }
  int queuedSweeps() const { return static_cast<int>(m_queuedSweeps.size()); }

  // The `detslim` executable beside the GUI (its folder, or ../cli/ as in the build tree), used
  // as the peak-RSS probe; empty when there is none (peak RSS is then stored as -1).
  static QString cliExecutable();

 public slots:
  // Checks the configuration and starts the run; false (message sent to the sink) when
  // refused, or when another job runs.
  bool startRun();
  // Checks every configuration of the grid and starts the sweep, or queues it behind the
  // running job; false when refused.
  bool startSweep(const SweepGrid& grid);
  // Stops the running job (nothing half-done is stored) and drops queued sweeps.
  void cancel();
  // Opens the sweep dialog (non-blocking); an accepted grid goes to startSweep.
  void openSweepDialog();

 signals:
  void runStored(qint64 id, const QString& storePath);
  void runFailed(const QString& message);
  void runCancelled();
  void sweepFinished(int stored, int skipped, int failed, bool cancelled);
  void datasetProbed(bool ok, const QString& summary);
  void busyChanged(bool busy);

 private:
  struct OptionWidget;  // one per-method pruning option (docs/prune.md)
  struct RunOutcome;    // what the worker leaves for the GUI thread
  // A sweep as the widgets described it when it was asked for, not when it starts: opening
  // another model or store while a job runs must not change a queued sweep.
  struct PendingSweep {
    SweepOptions options;
    QString storePath;
    QString commandLine;
  };

  QWidget* buildDataGroup();
  QWidget* buildPruneGroup();
  QWidget* buildPrecisionGroup();
  QWidget* buildMeasureGroup();
  QWidget* buildRunArea();
  void connectForCommandLine();
  void updateMethodWidgets();
  void updatePrecisionWidgets();
  void updateCommandLine();
  void probeDataset();
  void onProbeFinished();
  void chooseDataset();
  void chooseCalibration();
  void chooseStore();
  void report(const QString& title, const QString& text);
  void setBusy(bool busy);
  void onProgress(const QString& stage, qint64 done, qint64 total, double etaSeconds);
  void onJobFinished(bool ok, const QString& message);
  void appendLog(const QString& line);
  void onSweepLine(const QString& line);
  bool launchSweep(const PendingSweep& pending);

  // The options the widgets describe; what the panel cannot express goes to `problems`.
  RunOptions collectOptions(QStringList* problems) const;
  std::map<std::string, std::string> pruneParams(QStringList* problems) const;
  std::map<std::string, std::string> precisionParams(const std::string& precision) const;
  Result<std::vector<int>> throughputBatches() const;
  // Flags shared by `run` and `sweep` (format, limit, size, runs, ..., db) and the precision
  // flags for `params`.
  QStringList commonFlags(const RunOptions& options) const;
  static QStringList precisionFlags(const std::map<std::string, std::string>& params);

  QString m_modelPath;
  MessageSink m_sink;
  JobRunner* m_runner = nullptr;
  std::shared_ptr<RunOutcome> m_outcome;
  qint64 m_lastRunId = -1;
  QList<PendingSweep> m_queuedSweeps;
  int m_sweepTotal = 0;
  int m_sweepDone = 0;

  QFutureWatcher<DatasetProbe> m_probeWatcher;
  QTimer* m_probeTimer = nullptr;
  bool m_probeStale = false;  // the inputs changed while a probe ran: probe again
  DatasetProbe m_probe;

  QLineEdit* m_modelEdit = nullptr;
  QLineEdit* m_dataEdit = nullptr;
  QComboBox* m_formatCombo = nullptr;
  QLabel* m_dataInfo = nullptr;

  QComboBox* m_methodCombo = nullptr;
  QSlider* m_sparsitySlider = nullptr;
  QDoubleSpinBox* m_sparsitySpin = nullptr;
  QStackedWidget* m_methodOptions = nullptr;
  std::vector<std::unique_ptr<OptionWidget>> m_options;
  QCheckBox* m_protectHead = nullptr;
  QLineEdit* m_ignoreEdit = nullptr;

  QComboBox* m_precisionCombo = nullptr;
  QGroupBox* m_int8Box = nullptr;
  QComboBox* m_calibratorCombo = nullptr;
  QDoubleSpinBox* m_percentileSpin = nullptr;
  QComboBox* m_activationsCombo = nullptr;
  QComboBox* m_preActivationCombo = nullptr;
  QLineEdit* m_calibEdit = nullptr;
  QSpinBox* m_calibCountSpin = nullptr;
  QWidget* m_keepRow = nullptr;
  QComboBox* m_keepCombo = nullptr;
  QDoubleSpinBox* m_maxDropSpin = nullptr;

  QSpinBox* m_threadsSpin = nullptr;
  QLineEdit* m_batchesEdit = nullptr;
  QSpinBox* m_sizeSpin = nullptr;
  QSpinBox* m_limitSpin = nullptr;
  QSpinBox* m_runsSpin = nullptr;
  QSpinBox* m_warmupSpin = nullptr;
  QLineEdit* m_storeEdit = nullptr;

  QLineEdit* m_commandEdit = nullptr;
  QPushButton* m_runButton = nullptr;
  QPushButton* m_cancelButton = nullptr;
  QPushButton* m_sweepButton = nullptr;
  QProgressBar* m_progress = nullptr;
  QProgressBar* m_sweepProgress = nullptr;
  QLabel* m_stageLabel = nullptr;
  QLabel* m_etaLabel = nullptr;
  QPlainTextEdit* m_log = nullptr;
};

}  // namespace detslim::ui
