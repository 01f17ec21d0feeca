#include "ui/views/runpanel.h"

#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QComboBox>
#include <QCoreApplication>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QMetaObject>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QRegularExpression>
#include <QScrollArea>
#include <QSlider>
#include <QSpinBox>
#include <QStackedWidget>
#include <QTimer>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>
#include <algorithm>
#include <cstring>
#include <climits>
#include <cmath>
#include <optional>
#include <sstream>

#include "core/datasets/class_map.h"
#include "core/datasets/dataset.h"
#include "core/quant/calibrate.h"
#include "core/store/store.h"
#include "core/workbench/quantize_job.h"
#include "ui/runners/jobrunner.h"

namespace detslim::ui {

namespace fs = std::filesystem;

namespace {

// Defaults of the settings whose CLI flag is left out when unchanged (app/cli/cmd_run.cpp and
// precision_args.cpp use the same ones), so the shown command line stays short.
constexpr int kDefaultCalibCount = 64;        // PrecisionOptions::calib_count
constexpr double kDefaultPercentile = 99.99;  // quant::QuantOptions::percentile
constexpr double kDefaultMaxMapDrop = 2.0;    // PrecisionOptions::max_map_drop
constexpr int kSparsitySteps = 99;            // slider in hundredths: 0 .. 0.99
constexpr int kProbeDelayMs = 300;            // typing pauses this long before a dataset probe

// Numbers as core writes them into parameters (ostream defaults: 0.5, 2, 99.99), so the GUI's
// configuration hashes like the CLI's.
std::string fmtNumber(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

QString qs(const std::string& s) {
  return QString::fromStdString(s);
}

// Quotes a word for a POSIX shell only when it needs it.
QString shellQuote(const QString& word) {
  static const QRegularExpression kSafe(QStringLiteral("^[A-Za-z0-9_./:=,@%+-]+$"));
  if (kSafe.match(word).hasMatch()) return word;
  QString quoted = word;
  quoted.replace(QLatin1Char('\''), QStringLiteral("'\\''"));
  return QLatin1Char('\'') + quoted + QLatin1Char('\'');
}

bool usesSparsity(const QString& method) {
  // rtoss: `entries` decides how much goes; none prunes nothing.
  return method != QLatin1String("none") && method != QLatin1String("rtoss");
}

QString etaText(double seconds) {
  if (seconds < 0) return {};
  const int s = static_cast<int>(std::lround(seconds));
  if (s < 60) return QObject::tr("ETA %1 s").arg(s);
  return QObject::tr("ETA %1:%2").arg(s / 60).arg(s % 60, 2, 10, QLatin1Char('0'));
}

// A method option of docs/prune.md's table. The first choice (or `def`) is core's default, and
// an option left at "default" is not written into the configuration, as the CLI leaves it out.
struct OptionSpec {
  enum class Kind { kChoice, kInt, kNumber };
  const char* method;
  const char* key;
  Kind kind;
  std::vector<const char*> choices;
  double lo = 0, hi = 0, def = 0, step = 1;
  const char* help = "";
};

OptionSpec choice(const char* method, const char* key, std::vector<const char*> choices,
                  const char* help) {
  return {method, key, OptionSpec::Kind::kChoice, std::move(choices), 0, 0, 0, 1, help};
}
OptionSpec integer(const char* method, const char* key, int lo, int hi, int def, const char* help) {
  return {method, key, OptionSpec::Kind::kInt, {}, double(lo), double(hi), double(def), 1, help};
}
OptionSpec number(const char* method, const char* key, double lo, double hi, double def,
                  const char* help) {
  return {method, key, OptionSpec::Kind::kNumber, {}, lo, hi, def, 0.05, help};
}

const std::vector<OptionSpec>& optionSpecs() {
  static const char* kCompensate = "fold removed channels' constants into the consumers' biases";
  static const std::vector<OptionSpec> specs = {
      choice("magnitude", "scope", {"local", "global"},
             "local: every layer loses the fraction; global: one threshold over all layers"),
      choice("soft-channel", "norm", {"l2", "l1"}, "filter norm that ranks channels"),
      choice("soft-channel", "compensate", {"true", "false"}, kCompensate),
      choice("group", "scope", {"local", "global"},
             "local: one ratio per group; global: all groups ranked together"),
      integer("group", "round", 1, 1024, 1, "kept channel counts rounded up to a multiple"),
      number("group", "max_ratio", 0, 1, 0.9, "global: at most this fraction of a group goes"),
      choice("group", "compensate", {"true", "false"}, kCompensate),
      choice("bn-slim", "mode", {"channel", "layer"},
             "channel: BN channels; layer: whole residual blocks"),
      choice("bn-slim", "scope", {"global", "local"}, "global: one threshold over all channels"),
      integer("bn-slim", "round", 1, 1024, 1, "kept channel counts rounded up to a multiple"),
      number("bn-slim", "max_ratio", 0, 1, 0.9, "at most this fraction of a group goes"),
      choice("bn-slim", "compensate", {"true", "false"}, kCompensate),
      integer("rtoss", "entries", 2, 5, 3, "cells kept in every 3x3 kernel"),
      choice("rtoss", "share", {"group", "kernel"},
             "group: Algorithm 1's groups share patterns; kernel: every kernel its own"),
      choice("rtoss", "adjacency", {"4", "8"}, "4: cells share an edge; 8: a corner is enough"),
      choice("rtoss", "tail", {"zero", "pattern"}, "the last incomplete block"),
      choice("rtoss", "pattern", {"rtoss", "patdnn"}, "pattern dictionary"),
      integer("rtoss", "patterns", 0, 512, 0, "0: all connected patterns; N: the N most used"),
      number("rtoss", "connectivity", 0, 0.99, 0,
             "fraction of 3x3 kernels removed whole (pattern=patdnn only)"),
      integer("nm", "n", 1, 63, 2, "kept of every m weights (default: from the sparsity)"),
      integer("nm", "m", 2, 64, 4, "group size"),
  };
  return specs;
}

DatasetProbe probeDatasetAt(const QString& path, datasets::Format format) {
  DatasetProbe probe;
  probe.path = path;
  if (path.trimmed().isEmpty()) {
    probe.error = QObject::tr("no dataset chosen");
    return probe;
  }
  datasets::ReadOptions read;
  read.format = format;
  Result<datasets::Dataset> dataset = datasets::readDataset(path.toStdString(), read);
  if (!dataset) {
    probe.error = qs(dataset.status().message());
    return probe;
  }
  probe.ok = true;
  probe.format = QString::fromLatin1(datasets::formatName(dataset->format));
  probe.images = static_cast<qint64>(dataset->samples.size());
  probe.boxes = static_cast<qint64>(dataset->boxCount());
  probe.classes = static_cast<int>(dataset->class_names.size());
  probe.warnings = static_cast<int>(dataset->warnings.size());
  Result<datasets::ClassMap> map = datasets::defaultClassMap(dataset->format);
  probe.classMap = map ? qs(map->origin) : QObject::tr("by class name (the model's names)");
  return probe;
}

}  // namespace

struct RunPanel::OptionWidget {
  const OptionSpec* spec = nullptr;
  QComboBox* combo = nullptr;
  QSpinBox* spin = nullptr;
  QDoubleSpinBox* number = nullptr;

  // The value to write, or nothing when left at the default.
  std::optional<std::string> value() const {
    if (combo) {
      const QString v = combo->currentData().toString();
      if (v.isEmpty()) return std::nullopt;
      return v.toStdString();
    }
    if (spin) {
      if (spin->value() == spin->minimum()) return std::nullopt;
      return std::to_string(spin->value());
    }
    if (number->value() == number->minimum()) return std::nullopt;
    return fmtNumber(number->value());
  }
};

struct RunPanel::RunOutcome {
  QString storePath;
  bool sweep = false;
  qint64 id = -1;
  std::string summary;
  std::vector<std::string> notes;
  SweepReport report;
};

RunPanel::RunPanel(QWidget* parent) : QWidget(parent) {
  setObjectName(QStringLiteral("runPanel"));
  m_runner = new JobRunner(this);
  connect(m_runner, &JobRunner::progress, this, &RunPanel::onProgress);
  connect(m_runner, &JobRunner::finished, this, &RunPanel::onJobFinished);
  m_probeTimer = new QTimer(this);
  m_probeTimer->setSingleShot(true);
  m_probeTimer->setInterval(kProbeDelayMs);
  connect(m_probeTimer, &QTimer::timeout, this, &RunPanel::probeDataset);
  connect(&m_probeWatcher, &QFutureWatcher<DatasetProbe>::finished, this,
          &RunPanel::onProbeFinished);

  auto* form = new QWidget;
  auto* formLayout = new QVBoxLayout(form);
  formLayout->addWidget(buildDataGroup());
  formLayout->addWidget(buildPruneGroup());
  formLayout->addWidget(buildPrecisionGroup());
  formLayout->addWidget(buildMeasureGroup());
  formLayout->addStretch();
  auto* scroll = new QScrollArea(this);
  scroll->setWidget(form);
  scroll->setWidgetResizable(true);
  scroll->setMinimumWidth(form->sizeHint().width() + 24);

  auto* layout = new QHBoxLayout(this);
  layout->addWidget(scroll, 0);
  layout->addWidget(buildRunArea(), 1);

  updateMethodWidgets();
  updatePrecisionWidgets();
  connectForCommandLine();
  setBusy(false);
  updateCommandLine();
}

RunPanel::~RunPanel() {
  // The sweep's log callback posts to this panel: the job must end before the panel does.
  m_runner->cancel();
  m_runner->waitForFinished();
  m_probeWatcher.waitForFinished();
}

// ---- building ----

QWidget* RunPanel::buildDataGroup() {
  auto* box = new QGroupBox(tr("Model and data"));
  auto* form = new QFormLayout(box);
  m_modelEdit = new QLineEdit;
  m_modelEdit->setObjectName(QStringLiteral("modelEdit"));
  m_modelEdit->setReadOnly(true);
  m_modelEdit->setPlaceholderText(tr("open a model in the main window"));
  form->addRow(tr("Model"), m_modelEdit);

  m_dataEdit = new QLineEdit;
  m_dataEdit->setObjectName(QStringLiteral("datasetEdit"));
  m_dataEdit->setPlaceholderText(tr("KITTI, COCO, YOLO, BDD100K or VOC folder"));
  auto* browse = new QPushButton(tr("Browse…"));
  browse->setObjectName(QStringLiteral("datasetBrowse"));
  connect(browse, &QPushButton::clicked, this, &RunPanel::chooseDataset);
  auto* row = new QHBoxLayout;
  row->addWidget(m_dataEdit, 1);
  row->addWidget(browse);
  form->addRow(tr("Dataset"), row);

  m_formatCombo = new QComboBox;
  m_formatCombo->setObjectName(QStringLiteral("formatCombo"));
  for (const char* f : {"auto", "kitti", "coco", "yolo", "bdd100k", "voc"}) {
    m_formatCombo->addItem(QString::fromLatin1(f));
  }
  form->addRow(tr("Format"), m_formatCombo);

  m_dataInfo = new QLabel(tr("no dataset chosen"));
  m_dataInfo->setObjectName(QStringLiteral("datasetInfo"));
  m_dataInfo->setWordWrap(true);
  m_dataInfo->setTextInteractionFlags(Qt::TextSelectableByMouse);
  form->addRow(QString(), m_dataInfo);
  connect(m_dataEdit, &QLineEdit::textChanged, m_probeTimer, qOverload<>(&QTimer::start));
  connect(m_formatCombo, &QComboBox::currentIndexChanged, m_probeTimer,
          qOverload<>(&QTimer::start));
  return box;
}

QWidget* RunPanel::buildPruneGroup() {
  auto* box = new QGroupBox(tr("Pruning"));
  auto* form = new QFormLayout(box);
  m_methodCombo = new QComboBox;
  m_methodCombo->setObjectName(QStringLiteral("methodCombo"));
  for (const std::string& m : availablePruneMethods()) m_methodCombo->addItem(qs(m));
  form->addRow(tr("Method"), m_methodCombo);

  m_sparsitySlider = new QSlider(Qt::Horizontal);
  m_sparsitySlider->setObjectName(QStringLiteral("sparsitySlider"));
  m_sparsitySlider->setRange(0, kSparsitySteps);
  m_sparsitySpin = new QDoubleSpinBox;
  m_sparsitySpin->setObjectName(QStringLiteral("sparsitySpin"));
  m_sparsitySpin->setRange(0.0, kSparsitySteps / 100.0);
  m_sparsitySpin->setDecimals(2);
  m_sparsitySpin->setSingleStep(0.05);
  m_sparsitySpin->setValue(0.5);
  m_sparsitySlider->setValue(50);
  connect(m_sparsitySlider, &QSlider::valueChanged, this, [this](int v) {
    if (std::lround(m_sparsitySpin->value() * 100) != v) m_sparsitySpin->setValue(v / 100.0);
  });
  connect(m_sparsitySpin, &QDoubleSpinBox::valueChanged, this, [this](double v) {
    const int step = static_cast<int>(std::lround(v * 100));
    if (m_sparsitySlider->value() != step) m_sparsitySlider->setValue(step);
  });
  auto* sparsityRow = new QHBoxLayout;
  sparsityRow->addWidget(m_sparsitySlider, 1);
  sparsityRow->addWidget(m_sparsitySpin);
  form->addRow(tr("Sparsity"), sparsityRow);

  // One page of options per method; only the chosen method's page shows.
  m_methodOptions = new QStackedWidget;
  m_methodOptions->setObjectName(QStringLiteral("methodOptions"));
  for (const std::string& method : availablePruneMethods()) {
    auto* page = new QWidget;
    page->setObjectName(QStringLiteral("options_") + qs(method));
    auto* pageForm = new QFormLayout(page);
    pageForm->setContentsMargins(0, 0, 0, 0);
    for (const OptionSpec& spec : optionSpecs()) {
      if (method != spec.method) continue;
      auto option = std::make_unique<OptionWidget>();
      option->spec = &spec;
      QWidget* widget = nullptr;
      const QString name = QStringLiteral("opt_%1_%2").arg(qs(method), QLatin1String(spec.key));
      if (spec.kind == OptionSpec::Kind::kChoice) {
        option->combo = new QComboBox;
        option->combo->addItem(tr("default (%1)").arg(QLatin1String(spec.choices.front())),
                               QString());
        for (const char* c : spec.choices)
          option->combo->addItem(QLatin1String(c), QLatin1String(c));
        widget = option->combo;
      } else if (spec.kind == OptionSpec::Kind::kInt) {
        option->spin = new QSpinBox;
        option->spin->setRange(static_cast<int>(spec.lo) - 1, static_cast<int>(spec.hi));
        // nm's n follows the sparsity unless given (docs/prune.md).
        option->spin->setSpecialValueText(method == "nm" && std::string(spec.key) == "n"
                                              ? tr("from sparsity")
                                              : tr("default (%1)").arg(spec.def));
        option->spin->setValue(option->spin->minimum());
        widget = option->spin;
      } else {
        option->number = new QDoubleSpinBox;
        option->number->setDecimals(2);
        option->number->setSingleStep(spec.step);
        option->number->setRange(spec.lo - spec.step, spec.hi);
        option->number->setSpecialValueText(tr("default (%1)").arg(spec.def));
        option->number->setValue(option->number->minimum());
        widget = option->number;
      }
      widget->setObjectName(name);
      widget->setToolTip(QLatin1String(spec.help));
      pageForm->addRow(QLatin1String(spec.key), widget);
      m_options.push_back(std::move(option));
    }
    if (pageForm->rowCount() == 0) {
      pageForm->addRow(
          new QLabel(method == "none" ? tr("the model is not pruned") : tr("no options")));
    }
    m_methodOptions->addWidget(page);
  }
  form->addRow(tr("Options"), m_methodOptions);

  m_protectHead = new QCheckBox(tr("Protect the Detect head convs"));
  m_protectHead->setObjectName(QStringLiteral("protectHeadCheck"));
  m_protectHead->setChecked(true);
  form->addRow(QString(), m_protectHead);
  m_ignoreEdit = new QLineEdit;
  m_ignoreEdit->setObjectName(QStringLiteral("ignoreEdit"));
  m_ignoreEdit->setPlaceholderText(tr("layer names, regexes or op:Type, separated by ;"));
  form->addRow(tr("Ignore"), m_ignoreEdit);
  connect(m_methodCombo, &QComboBox::currentIndexChanged, this, &RunPanel::updateMethodWidgets);
  return box;
}

QWidget* RunPanel::buildPrecisionGroup() {
  auto* box = new QGroupBox(tr("Precision"));
  auto* form = new QFormLayout(box);
  m_precisionCombo = new QComboBox;
  m_precisionCombo->setObjectName(QStringLiteral("precisionCombo"));
  for (const std::string& p : availablePrecisions()) m_precisionCombo->addItem(qs(p));
  form->addRow(tr("Precision"), m_precisionCombo);

  m_int8Box = new QGroupBox(tr("INT8 calibration"));
  m_int8Box->setObjectName(QStringLiteral("int8Box"));
  auto* int8 = new QFormLayout(m_int8Box);
  m_calibratorCombo = new QComboBox;
  m_calibratorCombo->setObjectName(QStringLiteral("calibratorCombo"));
  for (quant::Calibrator c : {quant::Calibrator::kMinMax, quant::Calibrator::kPercentile,
                              quant::Calibrator::kEntropy, quant::Calibrator::kMse}) {
    m_calibratorCombo->addItem(qs(std::string(quant::calibratorName(c))));
  }
  m_calibratorCombo->setCurrentText(qs(std::string(quant::calibratorName(defaultCalibrator()))));
  int8->addRow(tr("Calibrator"), m_calibratorCombo);
  m_percentileSpin = new QDoubleSpinBox;
  m_percentileSpin->setObjectName(QStringLiteral("percentileSpin"));
  m_percentileSpin->setDecimals(3);
  m_percentileSpin->setRange(50.001, 100.0);
  m_percentileSpin->setValue(kDefaultPercentile);
  int8->addRow(tr("Percentile"), m_percentileSpin);
  m_activationsCombo = new QComboBox;
  m_activationsCombo->setObjectName(QStringLiteral("activationsCombo"));
  m_activationsCombo->addItem(QStringLiteral("u8"));
  m_activationsCombo->addItem(QStringLiteral("s8"));
  m_activationsCombo->setToolTip(tr("u8: asymmetric (default); s8: symmetric"));
  int8->addRow(tr("Activations"), m_activationsCombo);
  m_preActivationCombo = new QComboBox;
  m_preActivationCombo->setObjectName(QStringLiteral("preActivationCombo"));
  m_preActivationCombo->addItem(QStringLiteral("int8"));
  m_preActivationCombo->addItem(QStringLiteral("f32"));
  m_preActivationCombo->setToolTip(
      tr("int8 (default): quantize each conv's output before its SiLU too; the SiLU then runs as "
         "a 256-entry table on the integers (faster). f32: SiLU in float inside the int8 "
         "convolution"));
  int8->addRow(tr("Pre-activation"), m_preActivationCombo);
  m_calibEdit = new QLineEdit;
  m_calibEdit->setObjectName(QStringLiteral("calibEdit"));
  m_calibEdit->setPlaceholderText(tr("default: dataset images the evaluation does not use"));
  auto* calibBrowse = new QPushButton(tr("Browse…"));
  connect(calibBrowse, &QPushButton::clicked, this, &RunPanel::chooseCalibration);
  auto* calibRow = new QHBoxLayout;
  calibRow->addWidget(m_calibEdit, 1);
  calibRow->addWidget(calibBrowse);
  int8->addRow(tr("Calibration"), calibRow);
  m_calibCountSpin = new QSpinBox;
  m_calibCountSpin->setObjectName(QStringLiteral("calibCountSpin"));
  m_calibCountSpin->setRange(1, 100000);
  m_calibCountSpin->setValue(kDefaultCalibCount);
  int8->addRow(tr("Images"), m_calibCountSpin);
  form->addRow(m_int8Box);

  // Kept in f32: int8 and bf16 both honour it.
  m_keepRow = new QWidget;
  auto* keepLayout = new QHBoxLayout(m_keepRow);
  keepLayout->setContentsMargins(0, 0, 0, 0);
  m_keepCombo = new QComboBox;
  m_keepCombo->setObjectName(QStringLiteral("keepCombo"));
  for (const char* k : {"default", "none", "auto"}) m_keepCombo->addItem(QLatin1String(k));
  m_keepCombo->setToolTip(
      tr("default: first conv + Detect head; auto: the fewest most "
         "sensitive convs within the mAP50 budget"));
  m_maxDropSpin = new QDoubleSpinBox;
  m_maxDropSpin->setObjectName(QStringLiteral("maxMapDropSpin"));
  m_maxDropSpin->setRange(0.0, 100.0);
  m_maxDropSpin->setDecimals(2);
  m_maxDropSpin->setValue(kDefaultMaxMapDrop);
  m_maxDropSpin->setPrefix(tr("max mAP50 drop "));
  m_maxDropSpin->setSuffix(tr(" pts"));
  keepLayout->addWidget(m_keepCombo);
  keepLayout->addWidget(m_maxDropSpin, 1);
  form->addRow(tr("Keep in f32"), m_keepRow);
  connect(m_precisionCombo, &QComboBox::currentIndexChanged, this,
          &RunPanel::updatePrecisionWidgets);
  connect(m_calibratorCombo, &QComboBox::currentIndexChanged, this,
          &RunPanel::updatePrecisionWidgets);
  connect(m_keepCombo, &QComboBox::currentIndexChanged, this, &RunPanel::updatePrecisionWidgets);
  return box;
}

QWidget* RunPanel::buildMeasureGroup() {
  auto* box = new QGroupBox(tr("Measurement"));
  auto* form = new QFormLayout(box);
  auto spin = [](const char* name, int lo, int hi, int value, const QString& special) {
    auto* s = new QSpinBox;
    s->setObjectName(QLatin1String(name));
    s->setRange(lo, hi);
    s->setValue(value);
    if (!special.isEmpty()) s->setSpecialValueText(special);
    return s;
  };
  const RunConfig defaults;
  m_threadsSpin = spin("threadsSpin", 0, 256, defaults.threads, tr("all cores"));
  form->addRow(tr("Threads"), m_threadsSpin);
  m_sizeSpin = spin("sizeSpin", 0, 4096, static_cast<int>(defaults.size), tr("the model's"));
  m_sizeSpin->setSingleStep(32);
  form->addRow(tr("Input size"), m_sizeSpin);
  m_limitSpin = spin("limitSpin", 0, 10000000, static_cast<int>(defaults.limit), tr("all"));
  form->addRow(tr("Image limit"), m_limitSpin);
  m_runsSpin = spin("runsSpin", 1, 100000, defaults.timed_runs, {});
  form->addRow(tr("Timed runs"), m_runsSpin);
  m_warmupSpin = spin("warmupSpin", 0, 10000, defaults.warmup, {});
  form->addRow(tr("Warm-up runs"), m_warmupSpin);
  QStringList batches;
  for (int b : defaults.throughput_batches) batches << QString::number(b);
  m_batchesEdit = new QLineEdit(batches.join(QLatin1Char(',')));
  m_batchesEdit->setObjectName(QStringLiteral("batchesEdit"));
  m_batchesEdit->setToolTip(tr("Throughput batches, comma-separated"));
  form->addRow(tr("Throughput batches"), m_batchesEdit);

  m_storeEdit = new QLineEdit(qs(store::Store::defaultPath().string()));
  m_storeEdit->setObjectName(QStringLiteral("storeEdit"));
  auto* browse = new QPushButton(tr("Browse…"));
  connect(browse, &QPushButton::clicked, this, &RunPanel::chooseStore);
  auto* row = new QHBoxLayout;
  row->addWidget(m_storeEdit, 1);
  row->addWidget(browse);
  form->addRow(tr("Results store"), row);
  return box;
}

QWidget* RunPanel::buildRunArea() {
  auto* area = new QWidget;
  auto* layout = new QVBoxLayout(area);

  auto* cliBox = new QGroupBox(tr("Equivalent command line"));
  auto* cliLayout = new QHBoxLayout(cliBox);
  m_commandEdit = new QLineEdit;
  m_commandEdit->setObjectName(QStringLiteral("commandLine"));
  m_commandEdit->setReadOnly(true);
  auto* copy = new QPushButton(tr("Copy"));
  copy->setObjectName(QStringLiteral("copyCommand"));
  connect(copy, &QPushButton::clicked, this,
          [this] { QApplication::clipboard()->setText(m_commandEdit->text()); });
  cliLayout->addWidget(m_commandEdit, 1);
  cliLayout->addWidget(copy);
  layout->addWidget(cliBox);

  auto* buttons = new QHBoxLayout;
  m_runButton = new QPushButton(tr("Run"));
  m_runButton->setObjectName(QStringLiteral("runButton"));
  m_runButton->setDefault(true);
  m_cancelButton = new QPushButton(tr("Cancel"));
  m_cancelButton->setObjectName(QStringLiteral("cancelButton"));
  m_sweepButton = new QPushButton(tr("Queue sweep…"));
  m_sweepButton->setObjectName(QStringLiteral("sweepButton"));
  connect(m_runButton, &QPushButton::clicked, this, &RunPanel::startRun);
  connect(m_cancelButton, &QPushButton::clicked, this, &RunPanel::cancel);
  connect(m_sweepButton, &QPushButton::clicked, this, &RunPanel::openSweepDialog);
  buttons->addWidget(m_runButton);
  buttons->addWidget(m_cancelButton);
  buttons->addStretch();
  buttons->addWidget(m_sweepButton);
  layout->addLayout(buttons);

  m_progress = new QProgressBar;
  m_progress->setObjectName(QStringLiteral("progressBar"));
  m_progress->setRange(0, 1);
  m_progress->setValue(0);
  layout->addWidget(m_progress);
  auto* stageRow = new QHBoxLayout;
  m_stageLabel = new QLabel(tr("Idle"));
  m_stageLabel->setObjectName(QStringLiteral("stageLabel"));
  m_etaLabel = new QLabel;
  m_etaLabel->setObjectName(QStringLiteral("etaLabel"));
  stageRow->addWidget(m_stageLabel, 1);
  stageRow->addWidget(m_etaLabel);
  layout->addLayout(stageRow);
  m_sweepProgress = new QProgressBar;
  m_sweepProgress->setObjectName(QStringLiteral("sweepProgress"));
  m_sweepProgress->setFormat(tr("configuration %v of %m"));
  m_sweepProgress->setVisible(false);
  layout->addWidget(m_sweepProgress);

  m_log = new QPlainTextEdit;
  m_log->setObjectName(QStringLiteral("logView"));
  m_log->setReadOnly(true);
  m_log->setMaximumBlockCount(5000);
  m_log->setPlaceholderText(tr("Runs and sweeps log here"));
  layout->addWidget(m_log, 1);
  return area;
}

void RunPanel::connectForCommandLine() {
  const auto update = [this] { updateCommandLine(); };
  for (QLineEdit* e : findChildren<QLineEdit*>()) {
    if (e != m_commandEdit) connect(e, &QLineEdit::textChanged, this, update);
  }
  for (QComboBox* c : findChildren<QComboBox*>()) {
    connect(c, &QComboBox::currentIndexChanged, this, update);
  }
  for (QSpinBox* s : findChildren<QSpinBox*>()) connect(s, &QSpinBox::valueChanged, this, update);
  for (QDoubleSpinBox* s : findChildren<QDoubleSpinBox*>()) {
    connect(s, &QDoubleSpinBox::valueChanged, this, update);
  }
  connect(m_protectHead, &QCheckBox::toggled, this, update);
}

void RunPanel::updateMethodWidgets() {
  const QString method = m_methodCombo->currentText();
  m_methodOptions->setCurrentIndex(m_methodCombo->currentIndex());
  // A stack is as tall as its tallest page (rtoss): let only the shown page claim space.
  for (int i = 0; i < m_methodOptions->count(); ++i) {
    const bool current = i == m_methodOptions->currentIndex();
    m_methodOptions->widget(i)->setSizePolicy(
        current ? QSizePolicy::Preferred : QSizePolicy::Ignored,
        current ? QSizePolicy::Preferred : QSizePolicy::Ignored);
  }
  m_methodOptions->adjustSize();
  const bool sparsity = usesSparsity(method);
  m_sparsitySlider->setEnabled(sparsity);
  m_sparsitySpin->setEnabled(sparsity);
  const bool pruned = method != QLatin1String("none");
  m_protectHead->setEnabled(pruned);
  m_ignoreEdit->setEnabled(pruned);
}

void RunPanel::updatePrecisionWidgets() {
  const QString precision = m_precisionCombo->currentText();
  const bool int8 = precision == QLatin1String("int8");
  m_int8Box->setVisible(int8);
  m_percentileSpin->setEnabled(m_calibratorCombo->currentText() == QLatin1String("percentile"));
  m_keepRow->setEnabled(int8 || precision == QLatin1String("bf16"));
  // auto measures mAP on calibration images: an int8 feature only.
  m_maxDropSpin->setEnabled(int8 && m_keepCombo->currentText() == QLatin1String("auto"));
}

// ---- configuration ----

void RunPanel::setModelPath(const QString& path) {
  m_modelPath = path;
  m_modelEdit->setText(path);
  updateCommandLine();
}

void RunPanel::setDatasetPath(const QString& path) {
  m_dataEdit->setText(path);
  m_probeTimer->stop();
  probeDataset();
}

QString RunPanel::datasetPath() const {
  return m_dataEdit->text().trimmed();
}

void RunPanel::setStorePath(const QString& path) {
  m_storeEdit->setText(path);
}

QString RunPanel::storePath() const {
  const QString text = m_storeEdit->text().trimmed();
  return text.isEmpty() ? qs(store::Store::defaultPath().string()) : text;
}

void RunPanel::setMessageSink(MessageSink sink) {
  m_sink = std::move(sink);
}

std::map<std::string, std::string> RunPanel::pruneParams(QStringList* problems) const {
  std::map<std::string, std::string> params;
  const std::string method = m_methodCombo->currentText().toStdString();
  if (method == "none") return params;
  if (usesSparsity(m_methodCombo->currentText())) {
    params["sparsity"] = fmtNumber(m_sparsitySpin->value());
  }
  for (const auto& option : m_options) {
    if (option->spec->method != method) continue;
    if (std::optional<std::string> v = option->value()) params[option->spec->key] = *v;
  }
  if (!m_protectHead->isChecked()) params["protect_head"] = "false";
  const QString ignore = m_ignoreEdit->text().trimmed();
  if (!ignore.isEmpty()) {
    // The CLI's --prune separates parameters with ',': a pattern holding one could not be
    // reproduced from the command line.
    if (ignore.contains(QLatin1Char(',')) && problems) {
      problems->append(
          tr("ignore patterns cannot contain ',' (the --prune syntax separates "
             "parameters with it); use a regex class such as [,] instead"));
    }
    params["ignore"] = ignore.toStdString();
  }
  return params;
}

std::map<std::string, std::string> RunPanel::precisionParams(const std::string& precision) const {
  std::map<std::string, std::string> params;
  if (precision != "int8" && precision != "bf16") return params;
  const std::string keep = m_keepCombo->currentText().toStdString();
  if (keep != "default") params["keep"] = keep;
  if (precision == "bf16") return params;
  // The calibrator is written even at its default: which one ran should not depend on a
  // default that may change between versions.
  const std::string calibrator = m_calibratorCombo->currentText().toStdString();
  params["calibrator"] = calibrator;
  if (calibrator == "percentile" && m_percentileSpin->value() != kDefaultPercentile) {
    params["percentile"] = fmtNumber(m_percentileSpin->value());
  }
  if (m_activationsCombo->currentText() != QLatin1String("u8")) {
    params["activations"] = m_activationsCombo->currentText().toStdString();
  }
  if (m_preActivationCombo->currentText() != QLatin1String("int8")) {
    params["pre_activation"] = m_preActivationCombo->currentText().toStdString();
  }
  const QString calib = m_calibEdit->text().trimmed();
  if (!calib.isEmpty()) params["calib"] = calib.toStdString();
  if (m_calibCountSpin->value() != kDefaultCalibCount) {
    params["calib_count"] = std::to_string(m_calibCountSpin->value());
  }
  if (keep == "auto" && m_maxDropSpin->value() != kDefaultMaxMapDrop) {
    params["max_map_drop"] = fmtNumber(m_maxDropSpin->value());
  }
  return params;
}

Result<std::vector<int>> RunPanel::throughputBatches() const {
  std::vector<int> batches;
  for (const QString& part : m_batchesEdit->text().split(QLatin1Char(','), Qt::SkipEmptyParts)) {
    bool ok = false;
    const int b = part.trimmed().toInt(&ok);
    if (!ok) {
      return invalidArgument("throughput batch '" + part.trimmed().toStdString() +
                             "' is not a whole number");
    }
    batches.push_back(b);
  }
  if (batches.empty()) return invalidArgument("give at least one throughput batch (e.g. 1)");
  return batches;
}

RunOptions RunPanel::collectOptions(QStringList* problems) const {
  RunOptions o;
  o.model = m_modelPath.toStdString();
  o.data = datasetPath().toStdString();
  if (m_modelPath.isEmpty()) problems->append(tr("no model: open an ONNX model first"));
  if (datasetPath().isEmpty()) problems->append(tr("no dataset: choose a dataset folder"));
  Result<datasets::Format> format =
      datasets::parseFormat(m_formatCombo->currentText().toStdString());
  if (format) {
    o.format = *format;
  } else {
    problems->append(qs(format.status().message()));
  }
  RunConfig& c = o.config;
  c.prune_method = m_methodCombo->currentText().toStdString();
  c.prune_params = pruneParams(problems);
  c.precision = m_precisionCombo->currentText().toStdString();
  c.precision_params = precisionParams(c.precision);
  c.threads = m_threadsSpin->value();
  c.size = m_sizeSpin->value();
  c.limit = static_cast<size_t>(m_limitSpin->value());
  c.timed_runs = m_runsSpin->value();
  c.warmup = m_warmupSpin->value();
  Result<std::vector<int>> batches = throughputBatches();
  if (batches) {
    c.throughput_batches = *batches;
  } else {
    problems->append(qs(batches.status().message()));
  }
  o.rss_probe = cliExecutable().toStdString();
  return o;
}

Result<RunOptions> RunPanel::runOptions() const {
  QStringList problems;
  RunOptions options = collectOptions(&problems);
  if (!problems.isEmpty()) return invalidArgument(problems.first().toStdString());
  return options;
}

Result<SweepOptions> RunPanel::sweepOptions(const SweepGrid& grid) const {
  QStringList problems;
  SweepOptions o;
  o.base = collectOptions(&problems);
  if (!problems.isEmpty()) return invalidArgument(problems.first().toStdString());
  if (grid.methods.isEmpty() || grid.precisions.isEmpty()) {
    return invalidArgument("a sweep needs at least one method and one precision");
  }
  // SweepOptions' axes start with core's defaults ({"none"}, {"fp32"}): replace them.
  o.methods.clear();
  o.precisions.clear();
  for (const QString& m : grid.methods) o.methods.push_back(m.toStdString());
  o.sparsities.assign(grid.sparsities.begin(), grid.sparsities.end());
  for (const QString& p : grid.precisions) o.precisions.push_back(p.toStdString());
  // The int8 settings go to every int8 configuration (and keep to bf16, by expandSweep); the
  // calibrator becomes the calibrator axis, as `detslim sweep --calibrators` has it.
  std::map<std::string, std::string> params = precisionParams("int8");
  const std::string panelCalibrator = params["calibrator"];
  params.erase("calibrator");
  params.erase("percentile");
  if (grid.precisions.contains(QLatin1String("int8"))) {
    if (grid.calibrators.isEmpty()) {
      o.calibrators = {panelCalibrator};
    } else {
      for (const QString& cal : grid.calibrators) o.calibrators.push_back(cal.toStdString());
    }
    const bool percentile =
        std::find(o.calibrators.begin(), o.calibrators.end(), "percentile") != o.calibrators.end();
    if (percentile && m_percentileSpin->value() != kDefaultPercentile) {
      params["percentile"] = fmtNumber(m_percentileSpin->value());
    }
  }
  o.base.config.prune_method = "none";
  o.base.config.prune_params.clear();
  o.base.config.precision = "fp32";
  o.base.config.precision_params = params;
  return o;
}

QString RunPanel::cliExecutable() {
  const QString dir = QCoreApplication::applicationDirPath();
  for (const QString& candidate :
       {dir + QStringLiteral("/detslim"), dir + QStringLiteral("/../cli/detslim")}) {
    const QFileInfo info(candidate);
    if (info.isFile() && info.isExecutable()) return QDir::cleanPath(info.absoluteFilePath());
  }
  return {};
}

QStringList RunPanel::precisionFlags(const std::map<std::string, std::string>& params) {
  // precision_args.cpp's flags, one per precision parameter.
  static const std::map<std::string, QString> kFlags = {
      {"calib", QStringLiteral("--calib")},
      {"calib_count", QStringLiteral("--calib-count")},
      {"calibrator", QStringLiteral("--calibrator")},
      {"activations", QStringLiteral("--activations")},
      {"percentile", QStringLiteral("--percentile")},
      {"keep", QStringLiteral("--keep-fp32")},
      {"max_map_drop", QStringLiteral("--max-map-drop")},
      {"scales", QStringLiteral("--scales-in")},
      {"pre_activation", QStringLiteral("--pre-activation")},
  };
  QStringList flags;
  for (const auto& [key, value] : params) {
    auto flag = kFlags.find(key);
    if (flag == kFlags.end()) continue;
    QString v = qs(value);
    if (key == "keep") v.replace(QLatin1Char(';'), QLatin1Char(','));  // --keep-fp32 a,b
    flags << flag->second << shellQuote(v);
  }
  return flags;
}

QStringList RunPanel::commonFlags(const RunOptions& o) const {
  const RunConfig defaults;
  const RunConfig& c = o.config;
  QStringList flags;
  if (o.format != datasets::Format::kAuto) {
    flags << QStringLiteral("--format") << QString::fromLatin1(datasets::formatName(o.format));
  }
  if (c.limit != defaults.limit) flags << QStringLiteral("--limit") << QString::number(c.limit);
  if (c.threads != defaults.threads) {
    flags << QStringLiteral("--threads") << QString::number(c.threads);
  }
  if (c.size != defaults.size) flags << QStringLiteral("--size") << QString::number(c.size);
  if (c.timed_runs != defaults.timed_runs) {
    flags << QStringLiteral("--runs") << QString::number(c.timed_runs);
  }
  if (c.warmup != defaults.warmup) flags << QStringLiteral("--warmup") << QString::number(c.warmup);
  if (c.throughput_batches != defaults.throughput_batches) {
    QStringList batches;
    for (int b : c.throughput_batches) batches << QString::number(b);
    flags << QStringLiteral("--throughput-batches") << batches.join(QLatin1Char(','));
  }
  flags << QStringLiteral("--db") << shellQuote(storePath());
  return flags;
}

QString RunPanel::commandLine() const {
  QStringList problems;
  const RunOptions o = collectOptions(&problems);
  const QString exe = cliExecutable();
  QStringList args;
  args << (exe.isEmpty() ? QStringLiteral("detslim") : shellQuote(exe)) << QStringLiteral("run")
       << QStringLiteral("--model") << shellQuote(m_modelPath) << QStringLiteral("--data")
       << shellQuote(datasetPath());
  if (o.config.prune_method != "none") {
    QString spec = qs(o.config.prune_method);
    QStringList params;
    for (const auto& [key, value] : o.config.prune_params) params << qs(key + "=" + value);
    if (!params.isEmpty()) spec += QLatin1Char(':') + params.join(QLatin1Char(','));
    args << QStringLiteral("--prune") << shellQuote(spec);
  }
  if (o.config.precision != "fp32") args << QStringLiteral("--precision") << qs(o.config.precision);
  args << precisionFlags(o.config.precision_params) << commonFlags(o);
  return args.join(QLatin1Char(' '));
}

QString RunPanel::sweepCommandLine(const SweepGrid& grid) const {
  Result<SweepOptions> o = sweepOptions(grid);
  if (!o) return {};
  const QString exe = cliExecutable();
  QStringList args;
  args << (exe.isEmpty() ? QStringLiteral("detslim") : shellQuote(exe)) << QStringLiteral("sweep")
       << QStringLiteral("--model") << shellQuote(m_modelPath) << QStringLiteral("--data")
       << shellQuote(datasetPath());
  args << QStringLiteral("--methods") << grid.methods.join(QLatin1Char(','));
  QStringList sparsities;
  for (double s : o->sparsities) sparsities << qs(fmtNumber(s));
  if (!sparsities.isEmpty())
    args << QStringLiteral("--sparsity") << sparsities.join(QLatin1Char(','));
  args << QStringLiteral("--precision") << grid.precisions.join(QLatin1Char(','));
  if (!o->calibrators.empty()) {
    QStringList cals;
    for (const std::string& c : o->calibrators) cals << qs(c);
    args << QStringLiteral("--calibrators") << cals.join(QLatin1Char(','));
  }
  args << precisionFlags(o->base.config.precision_params) << commonFlags(o->base);
  return args.join(QLatin1Char(' '));
}

void RunPanel::updateCommandLine() {
  const QString line = commandLine();
  m_commandEdit->setText(line);
  m_commandEdit->setToolTip(line);  // the edit shows only the start of a long line
  m_commandEdit->setCursorPosition(0);
}

// ---- dataset probe ----

void RunPanel::probeDataset() {
  const QString path = datasetPath();
  if (m_probeWatcher.isRunning()) {
    m_probeStale = true;
    return;
  }
  m_probeStale = false;
  if (path.isEmpty()) {
    m_probe = DatasetProbe();
    m_dataInfo->setText(tr("no dataset chosen"));
    m_dataInfo->setStyleSheet(QString());
    return;
  }
  m_dataInfo->setText(tr("reading %1…").arg(path));
  m_dataInfo->setStyleSheet(QString());
  Result<datasets::Format> format =
      datasets::parseFormat(m_formatCombo->currentText().toStdString());
  const datasets::Format f = format ? *format : datasets::Format::kAuto;
  m_probeWatcher.setFuture(QtConcurrent::run([path, f] { return probeDatasetAt(path, f); }));
}

void RunPanel::onProbeFinished() {
  m_probe = m_probeWatcher.result();
  // The text changed while the probe ran: that answer is stale, probe again.
  if (m_probeStale || m_probe.path != datasetPath()) {
    probeDataset();
    return;
  }
  QString summary;
  if (m_probe.ok) {
    summary = tr("%1 · %2 images · %3 boxes · %4 classes · class map: %5")
                  .arg(m_probe.format)
                  .arg(m_probe.images)
                  .arg(m_probe.boxes)
                  .arg(m_probe.classes)
                  .arg(m_probe.classMap);
    if (m_probe.warnings > 0) summary += tr(" · %n warning(s)", nullptr, m_probe.warnings);
    m_dataInfo->setStyleSheet(QString());
  } else {
    summary = m_probe.error;
    m_dataInfo->setStyleSheet(QStringLiteral("color: #b00020;"));
  }
  m_dataInfo->setText(summary);
  emit datasetProbed(m_probe.ok, summary);
}

void RunPanel::chooseDataset() {
  const QString dir =
      QFileDialog::getExistingDirectory(this, tr("Choose a dataset folder"), datasetPath());
  if (!dir.isEmpty()) setDatasetPath(dir);
}

void RunPanel::chooseCalibration() {
  const QString dir =
      QFileDialog::getExistingDirectory(this, tr("Choose calibration images"), m_calibEdit->text());
  if (!dir.isEmpty()) m_calibEdit->setText(dir);
}

void RunPanel::chooseStore() {
  const QString path = QFileDialog::getSaveFileName(
      this, tr("Results store"), storePath(), tr("SQLite results (*.sqlite *.db);;All files (*)"),
      nullptr, QFileDialog::DontConfirmOverwrite);
  if (!path.isEmpty()) m_storeEdit->setText(path);
}

// ---- running ----

void RunPanel::report(const QString& title, const QString& text) {
  if (m_sink) {
    m_sink(title, text);
    return;
  }
  // Window-modal but not blocking: the panel stays usable behind it.
  auto* box = new QMessageBox(QMessageBox::Warning, title, text, QMessageBox::Ok, this);
  box->setObjectName(QStringLiteral("runErrorDialog"));
  box->setAttribute(Qt::WA_DeleteOnClose);
  box->open();
}

bool RunPanel::isBusy() const {
  return m_runner->isRunning();
}

void RunPanel::setBusy(bool busy) {
  m_runButton->setEnabled(!busy);
  m_cancelButton->setEnabled(busy);
  if (!busy) {
    m_etaLabel->clear();
    m_sweepProgress->setVisible(false);
  }
  emit busyChanged(busy);
}

bool RunPanel::startRun() {
  if (isBusy()) {
    report(tr("Run"), tr("A job is running: wait for it to finish or cancel it."));
    return false;
  }
  Result<RunOptions> options = runOptions();
  if (!options) {
    report(tr("Cannot run"), qs(options.status().message()));
    return false;
  }
  const Status valid = validateConfig(options->config);
  if (!valid.isOk()) {
    report(tr("Invalid configuration"), qs(valid.message()));
    return false;
  }
  auto outcome = std::make_shared<RunOutcome>();
  outcome->storePath = storePath();
  const fs::path db = storePath().toStdString();
  JobRunner::Job job = [run = *options, db, outcome](const JobControl& control) -> Status {
    // The store first, as the CLI does: a bad path should fail before minutes of measuring.
    Result<store::Store> store = store::Store::open(db);
    if (!store) return store.status();
    Result<RunResult> result = executeRun(run, control);
    if (!result) return result.status();
    // Cancel pressed after the last check inside the run: the user asked for nothing stored.
    if (control.cancel.cancelled()) return cancelled("run cancelled before it was stored");
    Result<int64_t> id = store->insertRun(result->record);
    if (!id) return id.status();
    const store::RunRecord& rec = result->record;
    char line[256] = "";
    if (rec.has_metrics) {
      std::snprintf(line, sizeof line, ": mAP50-95 %.3f  mAP50 %.3f", rec.stats[0], rec.stats[1]);
    }
    if (!rec.latency.empty()) {
      const size_t used = std::strlen(line);
      std::snprintf(line + used, sizeof line - used, "%s median %.2f ms", used ? " " : ":",
                    rec.latency.front().summary.median_ms);
    }
    outcome->id = *id;
    outcome->summary = "Run " + std::to_string(*id) + " stored (" + run.config.label() + ")" + line;
    outcome->notes = result->notes;
    return Status::ok();
  };
  m_outcome = outcome;
  if (!m_runner->start(std::move(job), tr("run"))) {
    m_outcome.reset();
    report(tr("Run"), tr("A job is running: wait for it to finish or cancel it."));
    return false;
  }
  appendLog(QStringLiteral("$ ") + commandLine());
  if (options->rss_probe.empty()) {
    appendLog(tr("note: no detslim executable beside the GUI, peak RSS is not measured"));
  }
  m_stageLabel->setText(tr("Starting…"));
  m_progress->setRange(0, 0);
  setBusy(true);
  return true;
}

bool RunPanel::startSweep(const SweepGrid& grid) {
  Result<SweepOptions> options = sweepOptions(grid);
  if (!options) {
    report(tr("Cannot sweep"), qs(options.status().message()));
    return false;
  }
  const std::vector<RunConfig> configs = expandSweep(*options);
  if (configs.empty()) {
    report(tr("Cannot sweep"), tr("the grid holds no configuration"));
    return false;
  }
  // Refuse the whole grid before anything runs, as core's runSweep would.
  for (const RunConfig& c : configs) {
    const Status valid = validateConfig(c);
    if (!valid.isOk()) {
      report(tr("Invalid sweep configuration"),
             qs(valid.withContext("sweep configuration '" + c.label() + "'").message()));
      return false;
    }
  }
  PendingSweep pending{*options, storePath(), sweepCommandLine(grid)};
  if (isBusy()) {
    m_queuedSweeps.append(std::move(pending));
    appendLog(tr("Sweep of %n configuration(s) queued", nullptr, static_cast<int>(configs.size())));
    return true;
  }
  return launchSweep(pending);
}

bool RunPanel::launchSweep(const PendingSweep& pending) {
  auto outcome = std::make_shared<RunOutcome>();
  outcome->sweep = true;
  outcome->storePath = pending.storePath;
  const fs::path db = pending.storePath.toStdString();
  // runSweep's log runs on the worker; lines reach the panel queued, in order, before the
  // runner's finished signal (the destructor waits for the job, so `this` outlives it).
  JobRunner::Job job = [sweep = pending.options, db, outcome,
                        this](const JobControl& control) -> Status {
    Result<store::Store> store = store::Store::open(db);
    if (!store) return store.status();
    Result<SweepReport> report = runSweep(sweep, *store, control, [this](const std::string& line) {
      const QString text = QString::fromStdString(line);
      QMetaObject::invokeMethod(
          this, [this, text] { onSweepLine(text); }, Qt::QueuedConnection);
    });
    if (!report) return report.status();
    outcome->report = *report;
    if (report->cancelled) return cancelled("sweep cancelled; finished runs are kept");
    return Status::ok();
  };
  m_outcome = outcome;
  if (!m_runner->start(std::move(job), tr("sweep"))) {
    m_outcome.reset();
    return false;
  }
  m_sweepTotal = static_cast<int>(expandSweep(pending.options).size());
  m_sweepDone = 0;
  appendLog(QStringLiteral("$ ") + pending.commandLine);
  m_sweepProgress->setRange(0, m_sweepTotal);
  m_sweepProgress->setValue(0);
  m_sweepProgress->setVisible(true);
  m_stageLabel->setText(tr("Starting sweep…"));
  m_progress->setRange(0, 0);
  setBusy(true);
  return true;
}

void RunPanel::cancel() {
  if (!m_queuedSweeps.isEmpty()) {
    appendLog(tr("%n queued sweep(s) dropped", nullptr, static_cast<int>(m_queuedSweeps.size())));
    m_queuedSweeps.clear();
  }
  if (!isBusy()) return;
  m_runner->cancel();
  m_stageLabel->setText(tr("Cancelling…"));
  m_cancelButton->setEnabled(false);
}

void RunPanel::openSweepDialog() {
  auto* dialog = new RunSweepDialog(this);
  dialog->setAttribute(Qt::WA_DeleteOnClose);
  connect(dialog, &QDialog::accepted, this, [this, dialog] {
    Result<SweepGrid> grid = dialog->grid();
    if (grid) startSweep(*grid);
  });
  dialog->open();
}

void RunPanel::onProgress(const QString& stage, qint64 done, qint64 total, double etaSeconds) {
  if (total > 0) {
    // QProgressBar holds ints: scale very large totals down.
    const qint64 scale = total > INT_MAX ? total / INT_MAX + 1 : 1;
    m_progress->setRange(0, static_cast<int>(total / scale));
    m_progress->setValue(static_cast<int>(std::min(done, total) / scale));
    m_stageLabel->setText(tr("%1 (%2 / %3)").arg(stage).arg(done).arg(total));
  } else {
    m_progress->setRange(0, 0);
    m_stageLabel->setText(stage);
  }
  m_etaLabel->setText(etaText(etaSeconds));
}

void RunPanel::onSweepLine(const QString& line) {
  appendLog(line);
  ++m_sweepDone;
  m_sweepProgress->setValue(std::min(m_sweepDone, m_sweepTotal));
  // Stored now (": stored as run N", or "FAILED (stored as run N)"): Results shows it at once.
  // "already stored as run N" is not new.
  static const QRegularExpression kStored(QStringLiteral("(?:: |\\()stored as run (\\d+)"));
  const QRegularExpressionMatch match = kStored.match(line);
  if (match.hasMatch() && m_outcome)
    emit runStored(match.captured(1).toLongLong(), m_outcome->storePath);
}

void RunPanel::onJobFinished(bool ok, const QString& message) {
  const std::shared_ptr<RunOutcome> outcome = std::move(m_outcome);
  const bool wasCancelled = m_runner->lastCancelled();
  m_progress->setRange(0, 1);
  m_progress->setValue(ok ? 1 : 0);
  setBusy(false);
  if (outcome && outcome->sweep) {
    const SweepReport& r = outcome->report;
    if (ok || wasCancelled) {
      const QString text = tr("Sweep %1: %2 stored, %3 already stored, %4 failed, of %5")
                               .arg(wasCancelled ? tr("cancelled") : tr("finished"))
                               .arg(r.stored)
                               .arg(r.skipped)
                               .arg(r.failed)
                               .arg(r.total);
      appendLog(text);
      m_stageLabel->setText(text);
    } else {
      appendLog(tr("Sweep failed: %1").arg(message));
      m_stageLabel->setText(tr("Sweep failed"));
      report(tr("Sweep failed"), message);
    }
    emit sweepFinished(r.stored, r.skipped, r.failed, wasCancelled);
  } else if (ok && outcome) {
    m_lastRunId = outcome->id;
    appendLog(qs(outcome->summary) + tr(" in %1").arg(outcome->storePath));
    for (const std::string& note : outcome->notes) appendLog(tr("note: %1").arg(qs(note)));
    m_stageLabel->setText(tr("Run %1 stored").arg(outcome->id));
    emit runStored(outcome->id, outcome->storePath);
  } else if (wasCancelled) {
    appendLog(tr("Run cancelled; nothing was stored (%1)").arg(message));
    m_stageLabel->setText(tr("Cancelled"));
    emit runCancelled();
  } else {
    appendLog(tr("Run failed: %1").arg(message));
    m_stageLabel->setText(tr("Run failed"));
    report(tr("Run failed"), message);
    emit runFailed(message);
  }
  // A listener may have started a job already; the queue then waits for that one.
  if (!isBusy() && !m_queuedSweeps.isEmpty()) launchSweep(m_queuedSweeps.takeFirst());
}

void RunPanel::appendLog(const QString& line) {
  m_log->appendPlainText(line);
}

}  // namespace detslim::ui
