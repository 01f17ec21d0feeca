#include "ui/viewer/detectionviewer.h"

#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QImageReader>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QSlider>
#include <QSplitter>
#include <QToolButton>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>
#include <algorithm>
#include <exception>

#include "ui/viewer/detectioncanvas.h"

namespace detslim::ui {

namespace {

namespace fs = std::filesystem;

constexpr int kSliderSteps = 100;  // confidence in hundredths
constexpr int kSliderMin = 1;      // 0.01: below it the view is mostly noise
constexpr double kMatchIou = 0.5;  // TP / FP / FN and lost / new, as P / R in `run`
constexpr double kZoomStep = 1.25;

// Ground truth and marks, chosen to stay apart from the class palette's saturated hues.
const QColor kGtFound(230, 230, 230);
const QColor kGtMissed(255, 140, 0);
const QColor kGtLost(255, 0, 255);
const QColor kGtIgnore(150, 150, 150);
const QColor kTpLabel(30, 150, 60);
const QColor kFpLabel(210, 40, 40);
const QColor kIgnoredLabel(110, 110, 110);
const QColor kNewHalo(255, 230, 0);

fs::path toPath(const QString& path) {
  return fs::path(path.toStdString());
}
QString toQString(const std::string& s) {
  return QString::fromStdString(s);
}

QColor classColour(int classId) {
  const auto rgb = classColor(classId);
  return QColor(rgb[0], rgb[1], rgb[2]);
}

QString swatch(const QColor& colour, const QString& text) {
  return QStringLiteral("<span style='color:%1'>&#9632;</span>&nbsp;%2").arg(colour.name(), text);
}

}  // namespace

DetectionViewer::DetectionViewer(QWidget* parent) : QWidget(parent) {
  buildUi();
  connect(&m_watcher, &QFutureWatcher<Finish>::finished, this, &DetectionViewer::onTaskFinished);
  const QString noData =
      tr("No dataset open.\nUse \u201cOpen folder\u2026\u201d to browse a "
         "dataset with ground truth (COCO, YOLO, KITTI, BDD100K or Pascal "
         "VOC; the format is detected).");
  m_canvases[Baseline]->showMessage(noData);
  m_canvases[Compressed]->showMessage(noData);
  setStatus(tr("No detector chosen: predictions appear once a model or a stored run is set."));
}

DetectionViewer::~DetectionViewer() {
  m_queue.clear();
  m_cancel.cancel();
  m_watcher.waitForFinished();
}

void DetectionViewer::buildUi() {
  auto* openButton = new QPushButton(tr("Open folder\u2026"), this);
  openButton->setObjectName(QStringLiteral("openDatasetButton"));
  connect(openButton, &QPushButton::clicked, this, [this] {
    const QString dir =
        QFileDialog::getExistingDirectory(this, tr("Open a dataset folder"), m_datasetPath);
    if (!dir.isEmpty()) setDataset(dir);
  });
  m_datasetLabel = new QLabel(tr("no dataset"), this);
  m_datasetLabel->setObjectName(QStringLiteral("datasetLabel"));
  m_datasetLabel->setWordWrap(true);
  m_imageList = new QListWidget(this);
  m_imageList->setObjectName(QStringLiteral("imageList"));
  connect(m_imageList, &QListWidget::currentRowChanged, this, [this](int row) {
    if (row >= 0) showImage(row);
  });
  auto* browser = new QWidget(this);
  auto* browserLayout = new QVBoxLayout(browser);
  browserLayout->setContentsMargins(0, 0, 0, 0);
  browserLayout->addWidget(openButton);
  browserLayout->addWidget(m_datasetLabel);
  browserLayout->addWidget(m_imageList, 1);

  // Toolbar: confidence, class, zoom.
  m_confSlider = new QSlider(Qt::Horizontal, this);
  m_confSlider->setObjectName(QStringLiteral("confidenceSlider"));
  m_confSlider->setRange(kSliderMin, kSliderSteps);
  m_confSlider->setValue(qRound(detect::DecodeOptions::kDisplayConfThreshold * kSliderSteps));
  m_confLabel = new QLabel(this);
  m_confLabel->setObjectName(QStringLiteral("confidenceValue"));
  m_confLabel->setMinimumWidth(
      m_confLabel->fontMetrics().horizontalAdvance(QStringLiteral("0.000")));
  connect(m_confSlider, &QSlider::valueChanged, this, [this](int) {
    m_confLabel->setText(QString::number(confidence(), 'f', 2));
    redraw();
  });
  m_confLabel->setText(QString::number(confidence(), 'f', 2));
  m_classCombo = new QComboBox(this);
  m_classCombo->setObjectName(QStringLiteral("classFilter"));
  m_classCombo->addItem(tr("All classes"), -1);
  m_classCombo->setMinimumContentsLength(14);
  connect(m_classCombo, &QComboBox::currentIndexChanged, this, [this](int) { redraw(); });
  auto makeButton = [this](const QString& text, const QString& name, const QString& tip) {
    auto* b = new QToolButton(this);
    b->setText(text);
    b->setObjectName(name);
    b->setToolTip(tip);
    return b;
  };
  QToolButton* zoomIn =
      makeButton(QStringLiteral("+"), QStringLiteral("zoomIn"), tr("Zoom in (+)"));
  QToolButton* zoomOut =
      makeButton(QStringLiteral("\u2212"), QStringLiteral("zoomOut"), tr("Zoom out (-)"));
  QToolButton* zoomFit = makeButton(tr("Fit"), QStringLiteral("zoomFit"), tr("Fit the image (0)"));
  connect(zoomIn, &QToolButton::clicked, this, [this] { m_canvases[Baseline]->zoomBy(kZoomStep); });
  connect(zoomOut, &QToolButton::clicked, this,
          [this] { m_canvases[Baseline]->zoomBy(1.0 / kZoomStep); });
  connect(zoomFit, &QToolButton::clicked, this, [this] {
    for (DetectionCanvas* c : m_canvases) c->fitToImage();
  });
  auto* toolbar = new QHBoxLayout;
  toolbar->addWidget(new QLabel(tr("Confidence \u2265"), this));
  toolbar->addWidget(m_confSlider, 1);
  toolbar->addWidget(m_confLabel);
  toolbar->addSpacing(12);
  toolbar->addWidget(new QLabel(tr("Class"), this));
  toolbar->addWidget(m_classCombo);
  toolbar->addSpacing(12);
  toolbar->addWidget(zoomOut);
  toolbar->addWidget(zoomIn);
  toolbar->addWidget(zoomFit);

  m_status = new QLabel(this);
  m_status->setObjectName(QStringLiteral("viewerStatus"));
  m_status->setWordWrap(true);
  m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);

  // Two canvases on one zoom and scroll position.
  auto* sides = new QHBoxLayout;
  const char* canvasNames[2] = {"baselineCanvas", "compressedCanvas"};
  for (int s = 0; s < 2; ++s) {
    m_sidePanels[s] = new QWidget(this);
    auto* layout = new QVBoxLayout(m_sidePanels[s]);
    layout->setContentsMargins(0, 0, 0, 0);
    m_titles[s] = new QLabel(this);
    m_titles[s]->setObjectName(s == 0 ? QStringLiteral("baselineTitle")
                                      : QStringLiteral("compressedTitle"));
    m_titles[s]->setWordWrap(true);
    m_canvases[s] = new DetectionCanvas(this);
    m_canvases[s]->setObjectName(QLatin1String(canvasNames[s]));
    layout->addWidget(m_titles[s]);
    layout->addWidget(m_canvases[s], 1);
    sides->addWidget(m_sidePanels[s], 1);
    DetectionCanvas* canvas = m_canvases[s];
    connect(canvas, &DetectionCanvas::viewChanged, this, [this, canvas] { syncFrom(canvas); });
  }
  m_sidePanels[Compressed]->hide();

  m_counts = new QLabel(this);
  m_counts->setObjectName(QStringLiteral("countsBar"));
  m_counts->setTextFormat(Qt::RichText);
  m_legend = new QLabel(this);
  m_legend->setObjectName(QStringLiteral("legend"));
  m_legend->setTextFormat(Qt::RichText);
  m_legend->setWordWrap(true);
  m_legend->setText(QStringList{
      swatch(kGtFound, tr("ground truth (dashed)")), swatch(kTpLabel, tr("\u2713 true positive")),
      swatch(kFpLabel, tr("\u2717 false positive")),
      swatch(kGtMissed, tr("FN: missed ground truth")),
      swatch(kGtLost, tr("lost: found by baseline, missed by compressed")),
      swatch(kNewHalo, tr("new: compressed detection without a baseline match")),
      swatch(kGtIgnore, tr("crowd / ignore region (dotted)")), tr("box colour = class; IoU 0.5")}
                        .join(QStringLiteral(" &nbsp; ")));

  auto* main = new QWidget(this);
  auto* mainLayout = new QVBoxLayout(main);
  mainLayout->setContentsMargins(0, 0, 0, 0);
  mainLayout->addLayout(toolbar);
  mainLayout->addWidget(m_status);
  mainLayout->addLayout(sides, 1);
  mainLayout->addWidget(m_counts);
  mainLayout->addWidget(m_legend);

  auto* splitter = new QSplitter(Qt::Horizontal, this);
  splitter->addWidget(browser);
  splitter->addWidget(main);
  splitter->setStretchFactor(0, 0);
  splitter->setStretchFactor(1, 1);
  splitter->setSizes({220, 1000});
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(splitter);
  updateTitles();
}

// ---- tasks ----

void DetectionViewer::enqueue(Task task) {
  // Only the newest request of a kind matters (a user clicking through images).
  auto same = std::find_if(m_queue.begin(), m_queue.end(),
                           [&](const Task& t) { return t.kind == task.kind; });
  if (same != m_queue.end()) {
    *same = std::move(task);
  } else {
    m_queue.push_back(std::move(task));
  }
  startNext();
}

void DetectionViewer::startNext() {
  if (m_running || m_queue.empty()) return;
  Task task = std::move(m_queue.front());
  m_queue.pop_front();
  m_running = true;
  m_runningMessage = task.message;
  setStatus(tr("running\u2026 %1").arg(task.message));
  emit busyChanged(true);
  // An exception (e.g. out of memory while building a model) must not reach the GUI thread's
  // result(): it becomes an error message like any refused input.
  m_watcher.setFuture(QtConcurrent::run([this, work = std::move(task.work)]() -> Finish {
    try {
      return work();
    } catch (const std::exception& e) {
      const QString message = tr("internal error: %1").arg(QString::fromLocal8Bit(e.what()));
      return [this, message] { reportError(message); };
    }
  }));
}

void DetectionViewer::onTaskFinished() {
  const Finish finish = m_watcher.result();
  m_running = false;
  const QString before = m_status->text();
  if (finish) finish();
  // A task that reported nothing leaves no stale "running…".
  if (m_status->text() == before && before.startsWith(tr("running\u2026"))) setStatus({});
  if (m_queue.empty()) emit busyChanged(false);
  startNext();
}

void DetectionViewer::setStatus(const QString& text, bool error) {
  m_status->setStyleSheet(error ? QStringLiteral("color: #c62828;") : QString());
  m_status->setText(text);
}

QString DetectionViewer::statusText() const {
  return m_status->text();
}

void DetectionViewer::reportError(const QString& message) {
  setStatus(message, true);
  emit errorOccurred(message);
}

// ---- dataset ----

void DetectionViewer::setDataset(const QString& path) {
  m_datasetPath = path;
  ++m_datasetGeneration;
  m_dataset.reset();
  m_cache.clear();
  m_comparison.reset();
  m_index = -1;
  m_shownIndex = -1;
  m_imageList->clear();
  m_datasetLabel->setText(path);
  for (DetectionCanvas* c : m_canvases) c->showMessage(tr("Reading %1\u2026").arg(path));
  loadDataset();
}

void DetectionViewer::loadDataset() {
  const fs::path path = toPath(m_datasetPath);
  const std::vector<std::string> classes = m_classNames;
  const int generation = m_datasetGeneration;
  const QString shown = m_datasetPath;
  enqueue({TaskKind::Dataset, tr("reading %1").arg(shown),
           [this, path, classes, generation, shown]() -> Finish {
             auto read =
                 std::make_shared<Result<datasets::Dataset>>(readGroundTruth(path, classes));
             return [this, read, classes, generation, shown] {
               if (generation != m_datasetGeneration) return;
               // Detectors built while this was read: read again, mapped onto their classes.
               if (!m_classNames.empty() && classes != m_classNames) {
                 loadDataset();
                 return;
               }
               if (!read->isOk()) {
                 const QString message = tr("Cannot open the dataset %1: %2")
                                             .arg(shown, toQString(read->status().message()));
                 for (DetectionCanvas* c : m_canvases) c->showMessage(message);
                 reportError(message);
                 return;
               }
               m_dataset = std::make_shared<const datasets::Dataset>(std::move(read->value()));
               m_datasetClasses = classes;
               populateImageList();
               if (m_classNames.empty()) populateClassFilter();
               setStatus(tr("%1: %2 images, %3 boxes (%4)")
                             .arg(shown)
                             .arg(m_dataset->samples.size())
                             .arg(m_dataset->boxCount())
                             .arg(QLatin1String(datasets::formatName(m_dataset->format))));
               emit datasetLoaded(imageCount());
               if (m_dataset->samples.empty()) return;
               showImage(m_index >= 0 && m_index < imageCount() ? m_index : 0);
             };
           }});
}

void DetectionViewer::populateImageList() {
  QSignalBlocker block(m_imageList);
  m_imageList->clear();
  if (!m_dataset) return;
  for (const datasets::Sample& s : m_dataset->samples) {
    m_imageList->addItem(
        tr("%1  (%2 GT)").arg(toQString(s.image_path.filename().string())).arg(s.boxes.size()));
  }
  if (m_index >= 0) m_imageList->setCurrentRow(m_index);
}

int DetectionViewer::imageCount() const {
  return m_dataset ? static_cast<int>(m_dataset->samples.size()) : 0;
}

const datasets::Sample* DetectionViewer::sample(int index) const {
  if (!m_dataset || index < 0 || index >= imageCount()) return nullptr;
  return &m_dataset->samples[static_cast<size_t>(index)];
}

int DetectionViewer::gtCount(int index) const {
  const datasets::Sample* s = sample(index);
  return s ? static_cast<int>(s->boxes.size()) : 0;
}

// ---- detectors ----

void DetectionViewer::setSides(DetectorSource baseline, std::optional<DetectorSource> compressed) {
  // A build still in flight is for sides nobody wants any more.
  m_cancel.cancel();
  m_cancel = CancelToken();
  m_sources.clear();
  m_sources.push_back(std::move(baseline));
  if (compressed) m_sources.push_back(std::move(*compressed));
  ++m_sidesGeneration;
  m_detectors.clear();
  m_cache.clear();
  m_comparison.reset();
  m_sidePanels[Compressed]->setVisible(hasCompressed());
  updateTitles();
  if (m_datasetPath.isEmpty() && !m_sources.front().data.empty()) {
    setDataset(toQString(m_sources.front().data.string()));
  }
  const std::vector<DetectorSource> sources = m_sources;
  const fs::path data = toPath(m_datasetPath);
  const int generation = m_sidesGeneration;
  JobControl control;
  control.cancel = m_cancel;
  control.progress = [this](const JobProgress& p) {
    const QString stage = toQString(p.stage);
    // Queued to the GUI thread; the destructor waits for the task, so `this` outlives it.
    QMetaObject::invokeMethod(
        this, [this, stage] { setStatus(tr("running\u2026 %1").arg(stage)); },
        Qt::QueuedConnection);
  };
  QStringList labels;
  for (const DetectorSource& s : sources) labels << toQString(s.label);
  enqueue({TaskKind::Build, tr("building %1").arg(labels.join(QStringLiteral(" and "))),
           [this, sources, data, generation, control]() -> Finish {
             std::vector<std::shared_ptr<Detector>> built;
             QStringList notes;
             QString failure;
             int failed = -1;
             for (size_t s = 0; s < sources.size(); ++s) {
               Result<BuiltDetector> r =
                   buildDetector(sources[s], data, datasets::Format::kAuto, control);
               if (!r) {
                 failure = toQString(r.status().message());
                 failed = static_cast<int>(s);
                 break;
               }
               for (const std::string& n : r->notes) notes << toQString(n);
               built.push_back(std::make_shared<Detector>(std::move(r->detector)));
             }
             return [this, built, notes, failure, failed, generation, sources] {
               if (generation != m_sidesGeneration) return;
               if (failed >= 0) {
                 const QString message =
                     tr("Cannot build %1: %2")
                         .arg(toQString(sources[static_cast<size_t>(failed)].label), failure);
                 m_canvases[failed]->showMessage(message);
                 reportError(message);
                 // The side that did build still shows its predictions.
                 if (failed == Compressed) {
                   m_detectors = built;
                   m_detectors.resize(m_sources.size());
                 } else {
                   return;
                 }
               } else {
                 m_detectors = built;
                 setStatus(notes.join(QStringLiteral("; ")));
               }
               m_classNames = m_detectors.front()->classNames();
               populateClassFilter();
               updateTitles();
               emit sidesReady();
               if (m_dataset && m_datasetClasses != m_classNames) {
                 loadDataset();  // map the ground truth onto the model's classes
               } else {
                 requestDetections();
               }
             };
           }});
}

void DetectionViewer::setSidesFromRuns(const store::RunRecord& baseline,
                                       const std::optional<store::RunRecord>& compressed) {
  Result<DetectorSpec> a = detectorSpecFromRun(baseline);
  if (!a) {
    reportError(toQString(a.status().message()));
    return;
  }
  std::optional<DetectorSpec> b;
  if (compressed) {
    Result<DetectorSpec> spec = detectorSpecFromRun(*compressed);
    if (!spec) {
      reportError(toQString(spec.status().message()));
      return;
    }
    b = std::move(*spec);
  }
  setSides(std::move(*a), std::move(b));
}

void DetectionViewer::updateTitles() {
  const QString names[2] = {tr("Baseline"), tr("Compressed")};
  for (int s = 0; s < 2; ++s) {
    QString title = QStringLiteral("<b>%1</b>").arg(names[s]);
    if (s < static_cast<int>(m_sources.size())) {
      title += QStringLiteral(" \u2014 ") +
               toQString(m_sources[static_cast<size_t>(s)].label).toHtmlEscaped();
    } else if (s == Baseline) {
      title += tr(" \u2014 no detector");
    }
    m_titles[s]->setText(title);
  }
}

void DetectionViewer::populateClassFilter() {
  const int previous = classFilter();
  QSignalBlocker block(m_classCombo);
  m_classCombo->clear();
  m_classCombo->addItem(tr("All classes"), -1);
  const std::vector<std::string>& names =
      !m_classNames.empty() ? m_classNames
                            : (m_dataset ? m_dataset->class_names : std::vector<std::string>{});
  for (size_t c = 0; c < names.size(); ++c) {
    m_classCombo->addItem(toQString(names[c]), static_cast<int>(c));
  }
  const int restored = m_classCombo->findData(previous);
  m_classCombo->setCurrentIndex(restored >= 0 ? restored : 0);
}

// ---- images ----

void DetectionViewer::showImage(int index) {
  if (!m_dataset || index < 0 || index >= imageCount()) return;
  m_index = index;
  {
    QSignalBlocker block(m_imageList);
    m_imageList->setCurrentRow(index);
  }
  requestDetections();
}

void DetectionViewer::requestDetections() {
  const datasets::Sample* current = sample(m_index);
  if (!current) return;
  const int index = m_index;
  std::vector<std::pair<int, std::shared_ptr<Detector>>> needed;
  for (size_t s = 0; s < m_detectors.size(); ++s) {
    if (m_detectors[s] && !m_cache.count({static_cast<int>(s), index})) {
      needed.emplace_back(static_cast<int>(s), m_detectors[s]);
    }
  }
  if (needed.empty() && m_shownIndex == index && m_imageError.isEmpty()) {
    redraw();
    emit imageShown(index);
    return;
  }
  const fs::path path = current->image_path;
  const int generation = m_sidesGeneration;
  // Image indices restart with every dataset: detections of the previous dataset's image `index`
  // must not be cached (or drawn) as this one's.
  const int datasetGeneration = m_datasetGeneration;
  const QString name = toQString(path.filename().string());
  enqueue({TaskKind::Detect,
           needed.empty() ? tr("loading %1").arg(name) : tr("detecting on %1").arg(name),
           [this, path, index, generation, datasetGeneration, needed]() -> Finish {
             const QString file = toQString(path.string());
             QImageReader reader(file);
             reader.setAutoTransform(true);  // as OpenCV's imread, which the detector uses
             QImage image = reader.read();
             const QString readError = image.isNull() ? reader.errorString() : QString();
             std::vector<std::pair<int, Result<ImageDetections>>> found;
             if (!image.isNull()) {
               for (const auto& [side, detector] : needed) {
                 found.emplace_back(side, detector->detect(path));
               }
             }
             return [this, image, readError, file, found, index, generation,
                     datasetGeneration] {
               if (datasetGeneration != m_datasetGeneration) return;  // another dataset now
               QStringList errors;
               for (const auto& [side, result] : found) {
                 if (result.isOk() && generation == m_sidesGeneration) {
                   m_cache[{side, index}] = result->detections;
                 } else if (!result.isOk()) {
                   errors << toQString(result.status().message());
                 }
               }
               if (index != m_index) return;  // the user moved on; a newer task draws
               m_imageError.clear();
               if (image.isNull()) {
                 m_imageError = tr("Cannot decode %1: %2").arg(file, readError);
                 m_shownIndex = -1;
                 m_comparison.reset();
                 for (DetectionCanvas* c : m_canvases) c->showMessage(m_imageError);
                 m_counts->clear();
                 reportError(m_imageError);
                 return;
               }
               for (DetectionCanvas* c : m_canvases) c->setImage(image);
               m_shownIndex = index;
               if (!errors.isEmpty()) {
                 m_imageError = errors.join(QStringLiteral("; "));
                 reportError(m_imageError);
               }
               redraw();
               emit imageShown(index);
             };
           }});
}

const std::vector<detect::Detection>* DetectionViewer::detections(int side) const {
  auto it = m_cache.find({side, m_index});
  return it == m_cache.end() ? nullptr : &it->second;
}

DetectionCanvas* DetectionViewer::canvas(int side) const {
  return side == Compressed ? m_canvases[Compressed] : m_canvases[Baseline];
}

double DetectionViewer::confidence() const {
  return static_cast<double>(m_confSlider->value()) / kSliderSteps;
}

void DetectionViewer::setConfidence(double confidence) {
  m_confSlider->setValue(qBound(kSliderMin, qRound(confidence * kSliderSteps), kSliderSteps));
}

int DetectionViewer::classFilter() const {
  return m_classCombo->currentData().toInt();
}

void DetectionViewer::setClassFilter(int classIndex) {
  const int row = m_classCombo->findData(classIndex);
  m_classCombo->setCurrentIndex(row >= 0 ? row : 0);
}

void DetectionViewer::syncFrom(DetectionCanvas* source) {
  if (m_syncing) return;
  m_syncing = true;
  for (DetectionCanvas* c : m_canvases) {
    if (c != source) c->followView(*source);
  }
  m_syncing = false;
}

// ---- drawing ----

void DetectionViewer::redraw() {
  const datasets::Sample* current = sample(m_index);
  if (!current || m_shownIndex != m_index) return;
  const double conf = confidence();
  const int only = classFilter();
  auto className = [this](int c) {
    return c >= 0 && c < static_cast<int>(m_classNames.size())
               ? toQString(m_classNames[static_cast<size_t>(c)])
               : tr("class %1").arg(c);
  };

  // The class filter applies before matching, so the counts are those of the class shown.
  std::vector<datasets::GtBox> gt;
  for (const datasets::GtBox& g : current->boxes) {
    if (only < 0 || g.class_index == only) gt.push_back(g);
  }
  std::vector<detect::Detection> dets[2];
  bool have[2] = {false, false};
  for (int s = 0; s < 2; ++s) {
    const std::vector<detect::Detection>* all = detections(s);
    if (!all) continue;
    have[s] = true;
    for (const detect::Detection& d : *all) {
      if (only < 0 || d.class_id == only) dets[s].push_back(d);
    }
  }
  m_comparison.reset();
  const SideComparison* marks[2] = {nullptr, nullptr};
  if (have[Baseline]) {
    m_comparison = compareImage(gt, dets[Baseline], have[Compressed] ? &dets[Compressed] : nullptr,
                                kMatchIou, conf);
    marks[Baseline] = &m_comparison->a;
    if (m_comparison->b) marks[Compressed] = &*m_comparison->b;
  } else if (have[Compressed]) {
    m_comparison = compareImage(gt, dets[Compressed], nullptr, kMatchIou, conf);
    marks[Compressed] = &m_comparison->a;
  }

  const int sides = hasCompressed() ? 2 : 1;
  for (int s = 0; s < sides; ++s) {
    QList<DetectionCanvas::Box> boxes;
    const SideComparison* m = marks[s];
    const bool compared = s == Compressed && have[Baseline] && m_comparison && m_comparison->b;
    for (size_t g = 0; g < gt.size(); ++g) {
      DetectionCanvas::Box box;
      box.kind = DetectionCanvas::BoxKind::GroundTruth;
      box.rect = QRectF(QPointF(gt[g].x1, gt[g].y1), QPointF(gt[g].x2, gt[g].y2));
      box.classId = gt[g].class_index;
      const QString cls =
          gt[g].class_index >= 0 ? className(gt[g].class_index) : toQString(gt[g].class_name);
      const bool counted = !m_comparison || m_comparison->gt_counted[g];
      const bool lost = compared && std::count(m_comparison->lost.begin(), m_comparison->lost.end(),
                                               static_cast<int>(g));
      if (!counted || (gt[g].ignore && !m_comparison)) {
        box.mark = QStringLiteral("ignore");
        box.colour = kGtIgnore;
        box.label = gt[g].crowd ? tr("crowd %1").arg(cls) : tr("ignore %1").arg(cls);
      } else if (lost) {
        box.mark = QStringLiteral("lost");
        box.colour = kGtLost;
        box.label = tr("lost %1").arg(cls);
      } else if (m && !m->gt_found[g]) {
        box.mark = QStringLiteral("fn");
        box.colour = kGtMissed;
        box.label = tr("FN %1").arg(cls);
      } else {
        box.mark = m ? QStringLiteral("found") : QStringLiteral("gt");
        box.colour = kGtFound;
        if (!m) box.label = cls;  // without predictions the GT carries its class
      }
      boxes.append(box);
    }
    if (m) {
      for (size_t i = 0; i < dets[s].size(); ++i) {
        const DetectionMark mark = m->marks[i];
        if (mark == DetectionMark::kBelowConfidence) continue;
        const detect::Detection& d = dets[s][i];
        DetectionCanvas::Box box;
        box.kind = DetectionCanvas::BoxKind::Prediction;
        box.rect = QRectF(QPointF(d.x1, d.y1), QPointF(d.x2, d.y2));
        box.classId = d.class_id;
        box.colour = classColour(d.class_id);
        box.isNew = compared && m_comparison->b_new[i];
        QString prefix;
        if (mark == DetectionMark::kTruePositive) {
          box.mark = QStringLiteral("tp");
          box.labelBackground = kTpLabel;
          prefix = QStringLiteral("\u2713 ");
        } else if (mark == DetectionMark::kFalsePositive) {
          box.mark = QStringLiteral("fp");
          box.labelBackground = kFpLabel;
          prefix = QStringLiteral("\u2717 ");
        } else {
          box.mark = QStringLiteral("ignored");
          box.labelBackground = kIgnoredLabel;
        }
        if (box.isNew) prefix += tr("new ");
        box.label = prefix + className(d.class_id) + QLatin1Char(' ') +
                    QString::number(static_cast<double>(d.score), 'f', 2);
        boxes.append(box);
      }
    }
    m_canvases[s]->setBoxes(boxes);
  }

  // Counts bar.
  QStringList parts;
  const QString sideNames[2] = {tr("Baseline"), tr("Compressed")};
  for (int s = 0; s < sides; ++s) {
    if (!marks[s]) {
      parts << tr("<b>%1</b>: not run").arg(sideNames[s]);
      continue;
    }
    parts << tr("<b>%1</b>: TP <span style='color:%2'>%3</span> &nbsp;FP "
                "<span style='color:%4'>%5</span> &nbsp;FN <span style='color:%6'>%7</span>")
                 .arg(sideNames[s], kTpLabel.name())
                 .arg(marks[s]->tp)
                 .arg(kFpLabel.name())
                 .arg(marks[s]->fp)
                 .arg(kGtMissed.name())
                 .arg(marks[s]->fn);
  }
  if (m_comparison && m_comparison->b) {
    parts << tr("<span style='color:%1'>lost %2</span> &nbsp;new finds %3 &nbsp;"
                "new detections %4")
                 .arg(kGtLost.name())
                 .arg(m_comparison->lost.size())
                 .arg(m_comparison->gained.size())
                 .arg(m_comparison->newDetections());
  }
  int counted = 0;
  if (m_comparison) {
    counted = static_cast<int>(
        std::count(m_comparison->gt_counted.begin(), m_comparison->gt_counted.end(), true));
  }
  parts << tr("GT %1 &nbsp;(conf \u2265 %2%3)")
               .arg(m_comparison ? counted : static_cast<int>(gt.size()))
               .arg(conf, 0, 'f', 2)
               .arg(only >= 0 ? tr(", class %1").arg(className(only).toHtmlEscaped()) : QString());
  m_counts->setText(parts.join(QStringLiteral(" &nbsp;|&nbsp; ")));
}

}  // namespace detslim::ui
