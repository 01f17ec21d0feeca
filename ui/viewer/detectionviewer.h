#pragma once
// The detection viewer: a dataset's images with their ground truth and a detector's predictions
// marked TP / FP / FN at IoU 0.5, and side by side a baseline and a compressed configuration
// with the boxes the compressed one lost and its new detections. Reading the dataset, building
// the detectors (pruning, quantization, compilation) and running them happen off the GUI thread,
// one task at a time; detections are cached per (side, image) at the configuration's own (low)
// decode threshold, so the confidence slider and the class filter only redraw.

#include <QFutureWatcher>
#include <QString>
#include <QWidget>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "core/datasets/dataset.h"
#include "core/workbench/detections_job.h"
#include "core/workbench/job.h"

class QComboBox;
class QLabel;
class QListWidget;
class QSlider;
class QToolButton;

namespace detslim::ui {

class DetectionCanvas;

// A model file, the configuration applied to it (pruning, precision, size, thresholds) and a
// label; detectorSpecFromRun (core) makes one from a stored run.
using DetectorSource = DetectorSpec;

class DetectionViewer : public QWidget {
  Q_OBJECT

 public:
  enum Side { Baseline = 0, Compressed = 1 };

  explicit DetectionViewer(QWidget* parent = nullptr);
  // Cancels the task in flight and waits for it.
  ~DetectionViewer() override;

  // Reads a dataset folder (or COCO / BDD100K JSON), format auto-detected; datasetLoaded or
  // errorOccurred follows.
  void setDataset(const QString& path);
  // Builds the detectors (sidesReady or errorOccurred follows). Without a dataset yet, the
  // baseline's own dataset (a stored run's) is opened.
  void setSides(DetectorSource baseline, std::optional<DetectorSource> compressed = {});
  // The same from stored runs; a run whose model file moved is reported by errorOccurred.
  void setSidesFromRuns(const store::RunRecord& baseline,
                        const std::optional<store::RunRecord>& compressed = {});
  // Shows image `index` of the dataset: drawn at once from the cache, else after the detectors
  // ran on it (imageShown follows either way).
  void showImage(int index);

  void setConfidence(double confidence);  // [0.01, 1]; redraws, never re-runs a model
  double confidence() const;
  void setClassFilter(int classIndex);  // -1: every class
  int classFilter() const;

  QString datasetPath() const { return m_datasetPath; }
  int imageCount() const;
  int currentIndex() const { return m_index; }
  int gtCount(int index) const;  // boxes in the image's ground truth
  const datasets::Sample* sample(int index) const;
  const std::vector<std::string>& classNames() const { return m_classNames; }
  bool hasCompressed() const { return m_sources.size() > 1; }
  // The cached detections of `side` on the current image (every score), if run.
  const std::vector<detect::Detection>* detections(int side) const;
  // The current image compared at the slider's confidence and the class filter.
  const std::optional<ImageComparison>& comparison() const { return m_comparison; }
  DetectionCanvas* canvas(int side) const;
  bool isBusy() const { return m_running; }
  QString statusText() const;

 signals:
  void datasetLoaded(int images);
  void sidesReady();
  void imageShown(int index);
  void errorOccurred(const QString& message);
  void busyChanged(bool busy);

 private:
  // A task's result is applied on the GUI thread by the closure its worker part returns.
  using Finish = std::function<void()>;
  enum class TaskKind { Dataset, Build, Detect };
  struct Task {
    TaskKind kind;
    QString message;
    std::function<Finish()> work;
  };

  void buildUi();
  void enqueue(Task task);
  void startNext();
  void onTaskFinished();
  void setStatus(const QString& text, bool error = false);
  void reportError(const QString& message);
  void loadDataset();
  void requestDetections();
  void populateImageList();
  void populateClassFilter();
  void redraw();
  void updateTitles();
  void syncFrom(DetectionCanvas* source);

  // Widgets.
  QListWidget* m_imageList = nullptr;
  QLabel* m_datasetLabel = nullptr;
  QSlider* m_confSlider = nullptr;
  QLabel* m_confLabel = nullptr;
  QComboBox* m_classCombo = nullptr;
  QLabel* m_status = nullptr;
  QLabel* m_titles[2] = {nullptr, nullptr};
  DetectionCanvas* m_canvases[2] = {nullptr, nullptr};
  QWidget* m_sidePanels[2] = {nullptr, nullptr};
  QLabel* m_counts = nullptr;
  QLabel* m_legend = nullptr;

  // State (GUI thread only).
  QString m_datasetPath;
  std::shared_ptr<const datasets::Dataset> m_dataset;
  std::vector<std::string> m_datasetClasses;  // model classes the dataset was mapped onto
  std::vector<DetectorSource> m_sources;
  std::vector<std::shared_ptr<Detector>> m_detectors;  // parallel to m_sources once built
  std::vector<std::string> m_classNames;
  std::map<std::pair<int, int>, std::vector<detect::Detection>> m_cache;  // (side, image)
  std::optional<ImageComparison> m_comparison;
  QString m_imageError;  // the current image could not be decoded / run
  int m_index = -1;
  int m_shownIndex = -1;  // the image on the canvases
  int m_datasetGeneration = 0;
  int m_sidesGeneration = 0;
  bool m_syncing = false;

  // Tasks: one in flight, the rest queued (a newer task of the same kind replaces a queued one).
  std::deque<Task> m_queue;
  QFutureWatcher<Finish> m_watcher;
  bool m_running = false;
  QString m_runningMessage;
  CancelToken m_cancel;
};

}  // namespace detslim::ui
