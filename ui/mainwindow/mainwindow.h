#pragma once
// The DetSlim main window: a start page (open model / dataset / results, recent files) and the
// workspace — Model, Results, Charts, Detections and Layers tabs around a "Configure & Run" dock.
// It only wires the views together: loading, runs, store reads and detections run off the GUI
// thread inside the views (ui/runners, QtConcurrent); errors arrive as signals and show as
// non-blocking dialogs, so the window stays usable. Settings, window state and recent files
// persist in QSettings.

#include <QFutureWatcher>
#include <QMainWindow>
#include <QStringList>
#include <memory>

#include "core/workbench/inspect.h"

class QAction;
class QDockWidget;
class QLabel;
class QListWidget;
class QMenu;
class QStackedWidget;
class QTabWidget;

namespace detslim::ui {

class ChartsView;
class DetectionViewer;
class LayerInspector;
class ModelPanel;
class ResultsTableModel;
class ResultsView;
class RunPanel;

class MainWindow : public QMainWindow {
  Q_OBJECT

 public:
  enum Tab { kModelTab = 0, kResultsTab, kChartsTab, kDetectionsTab, kLayersTab };

  explicit MainWindow(QWidget* parent = nullptr);
  ~MainWindow() override;

  // Starts loading a model in the background; modelLoaded or loadFailed follows.
  void openModel(const QString& path);
  // A dataset folder for runs and the detection viewer (probed off the GUI thread by them).
  void openDataset(const QString& path);
  // A results store (SQLite file; created on the first stored run if missing).
  void openStore(const QString& path);
  // Writes an HTML or PDF report (by suffix) of the selected runs (all when none is selected),
  // with the detection viewer's current images when it shows any. Returns core's message on
  // failure ("" on success); the GUI path shows it in a dialog.
  QString exportReport(const QString& path);
  // What a drop does: .onnx -> model, folder -> dataset, .sqlite / .db -> results store.
  // Returns how many of `urls` were opened.
  int openDropped(const QList<QUrl>& urls);
  // Shows the baseline run and the selected one side by side in the Detections tab.
  void compareSelectedDetections();

  QString currentModelPath() const { return m_modelPath; }
  QString datasetPath() const { return m_datasetPath; }
  QString storePath() const { return m_storePath; }
  void showTab(Tab tab);
  bool isWorkspaceShown() const;

  ModelPanel* modelPanel() const { return m_modelPanel; }
  RunPanel* runPanel() const { return m_runPanel; }
  ResultsView* resultsView() const { return m_resultsView; }
  ResultsTableModel* resultsModel() const { return m_results; }
  ChartsView* chartsView() const { return m_charts; }
  DetectionViewer* detectionViewer() const { return m_viewer; }
  LayerInspector* layerInspector() const { return m_layers; }
  QDockWidget* runDock() const { return m_runDock; }

  static constexpr int kMaxRecent = 8;

 signals:
  void modelLoaded(const QString& path);
  void loadFailed(const QString& message);
  void reportExported(const QString& path);

 protected:
  void dragEnterEvent(QDragEnterEvent* event) override;
  void dropEvent(QDropEvent* event) override;
  void closeEvent(QCloseEvent* event) override;

 private:
  enum class Recent { kModel, kDataset, kStore };

  void buildWorkspace();
  void buildActions();
  void buildMenus();
  void buildToolBar();
  QWidget* buildStartPage();
  void connectViews();
  void chooseModel();
  void chooseDataset();
  void chooseStore();
  void chooseReport();
  void onLoadFinished();
  void showError(const QString& title, const QString& message);
  void rememberRecent(Recent kind, const QString& path);
  QStringList recent(Recent kind) const;
  void refreshRecentMenus();
  void refreshStartPage();
  void updateActions();
  void feedCharts();
  void showWorkspace();

  using LoadResult = std::shared_ptr<Result<ModelInspection>>;
  QStackedWidget* m_pages = nullptr;
  QWidget* m_startPage = nullptr;
  QListWidget* m_recentList = nullptr;
  QTabWidget* m_tabs = nullptr;
  QDockWidget* m_runDock = nullptr;
  ModelPanel* m_modelPanel = nullptr;
  RunPanel* m_runPanel = nullptr;
  ResultsTableModel* m_results = nullptr;
  ResultsView* m_resultsView = nullptr;
  ChartsView* m_charts = nullptr;
  DetectionViewer* m_viewer = nullptr;
  LayerInspector* m_layers = nullptr;
  QLabel* m_storeLabel = nullptr;
  QMenu* m_recentModels = nullptr;
  QMenu* m_recentDatasets = nullptr;
  QMenu* m_recentStores = nullptr;
  QAction* m_runAction = nullptr;
  QAction* m_cancelAction = nullptr;
  QAction* m_sweepAction = nullptr;
  QAction* m_compareAction = nullptr;
  QAction* m_reportAction = nullptr;
  QAction* m_chartAction = nullptr;
  QFutureWatcher<LoadResult> m_loadWatcher;
  QString m_modelPath;
  QString m_pendingPath;
  QString m_datasetPath;
  QString m_storePath;
};

}  // namespace detslim::ui
