#include "ui/mainwindow/mainwindow.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QPushButton>
#include <QSettings>
#include <QStackedWidget>
#include <QStatusBar>
#include <QTabWidget>
#include <QToolBar>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>
#include <algorithm>

#include "core/base/version.h"
#include "core/store/store.h"
#include "ui/charts/chartsview.h"
#include "ui/charts/report.h"
#include "ui/models/resultstablemodel.h"
#include "ui/viewer/detectioncanvas.h"
#include "ui/viewer/detectionviewer.h"
#include "ui/views/layerinspector.h"
#include "ui/views/modelpanel.h"
#include "ui/views/resultsview.h"
#include "ui/views/runpanel.h"

namespace detslim::ui {

namespace {

const char* recentKey(int kind) {
  static const char* const kKeys[] = {"recent/models", "recent/datasets", "recent/stores"};
  return kKeys[kind];
}

bool isStoreFile(const QString& path) {
  const QString suffix = QFileInfo(path).suffix().toLower();
  return suffix == QLatin1String("sqlite") || suffix == QLatin1String("db") ||
         suffix == QLatin1String("sqlite3");
}

}  // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  setWindowTitle(QStringLiteral("DetSlim"));
  setObjectName(QStringLiteral("mainWindow"));
  setAcceptDrops(true);
  m_pages = new QStackedWidget(this);
  m_startPage = buildStartPage();
  m_pages->addWidget(m_startPage);
  buildWorkspace();
  setCentralWidget(m_pages);
  buildActions();
  buildMenus();
  buildToolBar();
  connectViews();
  m_storeLabel = new QLabel(this);
  m_storeLabel->setObjectName(QStringLiteral("storeLabel"));
  statusBar()->addPermanentWidget(m_storeLabel);
  statusBar()->showMessage(tr("Open an ONNX detector, a dataset or a results store to begin"));
  connect(&m_loadWatcher, &QFutureWatcher<LoadResult>::finished, this, &MainWindow::onLoadFinished);

  QSettings settings;
  if (!restoreGeometry(settings.value(QStringLiteral("mainwindow/geometry")).toByteArray())) {
    resize(1280, 800);
  }
  restoreState(settings.value(QStringLiteral("mainwindow/state")).toByteArray());
  const QString store = settings.value(QStringLiteral("paths/store"),
                                       QString::fromStdString(store::Store::defaultPath().string()))
                            .toString();
  openStore(store);
  refreshRecentMenus();
  refreshStartPage();
  updateActions();
}

MainWindow::~MainWindow() { m_loadWatcher.waitForFinished(); }

// ---- construction -----------------------------------------------------------------------------

void MainWindow::buildWorkspace() {
  m_tabs = new QTabWidget(this);
  m_tabs->setObjectName(QStringLiteral("workspaceTabs"));
  m_tabs->setDocumentMode(true);
  m_modelPanel = new ModelPanel(m_tabs);
  m_results = new ResultsTableModel(this);
  m_resultsView = new ResultsView(m_results, QString(), m_tabs);
  m_charts = new ChartsView(m_tabs);
  m_viewer = new DetectionViewer(m_tabs);
  m_layers = new LayerInspector(m_tabs);
  m_tabs->insertTab(kModelTab, m_modelPanel, tr("Model"));
  m_tabs->insertTab(kResultsTab, m_resultsView, tr("Results"));
  m_tabs->insertTab(kChartsTab, m_charts, tr("Charts"));
  m_tabs->insertTab(kDetectionsTab, m_viewer, tr("Detections"));
  m_tabs->insertTab(kLayersTab, m_layers, tr("Layers"));
  m_pages->addWidget(m_tabs);

  m_runPanel = new RunPanel(this);
  m_runPanel->setMessageSink([this](const QString& title, const QString& text) { showError(title, text); });
  m_runDock = new QDockWidget(tr("Configure & Run"), this);
  m_runDock->setObjectName(QStringLiteral("runDock"));
  m_runDock->setWidget(m_runPanel);
  m_runDock->setAllowedAreas(Qt::LeftDockWidgetArea | Qt::RightDockWidgetArea);
  addDockWidget(Qt::LeftDockWidgetArea, m_runDock);
  m_runDock->hide();  // shown with the workspace
}

void MainWindow::buildActions() {
  m_runAction = new QAction(tr("&Run Configuration"), this);
  m_runAction->setObjectName(QStringLiteral("runAction"));
  m_runAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
  m_runAction->setToolTip(tr("Run the configuration of the Run panel and store it (Ctrl+R)"));
  connect(m_runAction, &QAction::triggered, this, [this] {
    showWorkspace();
    m_runDock->show();
    m_runPanel->startRun();
  });
  m_cancelAction = new QAction(tr("&Cancel"), this);
  m_cancelAction->setObjectName(QStringLiteral("cancelAction"));
  m_cancelAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Period));
  connect(m_cancelAction, &QAction::triggered, m_runPanel, &RunPanel::cancel);
  m_sweepAction = new QAction(tr("Queue &Sweep…"), this);
  m_sweepAction->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_R));
  connect(m_sweepAction, &QAction::triggered, this, [this] {
    showWorkspace();
    m_runDock->show();
    m_runPanel->openSweepDialog();
  });
  m_compareAction = new QAction(tr("Compare &Detections"), this);
  m_compareAction->setObjectName(QStringLiteral("compareAction"));
  m_compareAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_D));
  m_compareAction->setToolTip(tr("Show the baseline run and the selected run side by side (Ctrl+D)"));
  connect(m_compareAction, &QAction::triggered, this, &MainWindow::compareSelectedDetections);
  m_reportAction = new QAction(tr("Export &Report…"), this);
  m_reportAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
  connect(m_reportAction, &QAction::triggered, this, &MainWindow::chooseReport);
  m_chartAction = new QAction(tr("Export &Chart…"), this);
  m_chartAction->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_E));
  connect(m_chartAction, &QAction::triggered, this, [this] {
    showTab(kChartsTab);
    m_charts->exportWithDialog();
  });
}

void MainWindow::buildMenus() {
  QMenu* file = menuBar()->addMenu(tr("&File"));
  QAction* open = file->addAction(tr("&Open Model…"), this, &MainWindow::chooseModel);
  open->setShortcut(QKeySequence::Open);
  QAction* dataset = file->addAction(tr("Open &Dataset…"), this, &MainWindow::chooseDataset);
  dataset->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O));
  QAction* store = file->addAction(tr("Open Results &Store…"), this, &MainWindow::chooseStore);
  store->setShortcut(QKeySequence(Qt::CTRL | Qt::ALT | Qt::Key_O));
  file->addSeparator();
  m_recentModels = file->addMenu(tr("Recent &Models"));
  m_recentDatasets = file->addMenu(tr("Recent D&atasets"));
  m_recentStores = file->addMenu(tr("Recent S&tores"));
  file->addSeparator();
  file->addAction(m_reportAction);
  file->addAction(m_chartAction);
  file->addSeparator();
  QAction* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
  quit->setShortcut(QKeySequence::Quit);

  QMenu* run = menuBar()->addMenu(tr("&Run"));
  run->addAction(m_runAction);
  run->addAction(m_sweepAction);
  run->addAction(m_cancelAction);
  run->addSeparator();
  run->addAction(m_compareAction);

  QMenu* view = menuBar()->addMenu(tr("&View"));
  view->addAction(tr("&Start Page"), this, [this] { m_pages->setCurrentWidget(m_startPage); });
  const QString names[] = {tr("&Model"), tr("&Results"), tr("&Charts"), tr("&Detections"), tr("&Layers")};
  for (int i = 0; i < 5; ++i) {
    QAction* a = view->addAction(names[i], this, [this, i] { showTab(static_cast<Tab>(i)); });
    a->setShortcut(QKeySequence(Qt::CTRL | static_cast<Qt::Key>(Qt::Key_1 + i)));
  }
  view->addSeparator();
  view->addAction(m_runDock->toggleViewAction());

  QMenu* help = menuBar()->addMenu(tr("&Help"));
  help->addAction(tr("&About DetSlim"), this, [this] {
    QMessageBox::about(this, tr("About DetSlim"),
                       tr("<b>DetSlim %1</b><p>Compress an object detector and see, measured, what it "
                          "costs and what it buys.</p><p>Every action here is also a command of "
                          "<tt>detslim</tt> (see docs/cli.md).</p>")
                           .arg(QString::fromLatin1(kVersion)));
  });
}

void MainWindow::buildToolBar() {
  QToolBar* bar = addToolBar(tr("Main"));
  bar->setObjectName(QStringLiteral("mainToolBar"));
  bar->setMovable(false);
  bar->addAction(tr("Open Model"), this, &MainWindow::chooseModel);
  bar->addAction(tr("Open Dataset"), this, &MainWindow::chooseDataset);
  bar->addSeparator();
  bar->addAction(m_runAction);
  bar->addAction(m_cancelAction);
  bar->addSeparator();
  bar->addAction(m_compareAction);
  bar->addAction(m_reportAction);
}

QWidget* MainWindow::buildStartPage() {
  auto* page = new QWidget(this);
  page->setObjectName(QStringLiteral("startPage"));
  auto* layout = new QVBoxLayout(page);
  layout->addStretch();
  auto* title = new QLabel(QStringLiteral("<h1>DetSlim</h1><p>Prune and quantize an ONNX detector, "
                                          "then measure mAP, latency and memory on your machine.</p>"),
                           page);
  title->setAlignment(Qt::AlignCenter);
  layout->addWidget(title);
  auto* buttons = new QHBoxLayout;
  buttons->addStretch();
  auto addButton = [&](const QString& text, const char* name, void (MainWindow::*slot)()) {
    auto* b = new QPushButton(text, page);
    b->setObjectName(QLatin1String(name));
    b->setMinimumWidth(180);
    connect(b, &QPushButton::clicked, this, slot);
    buttons->addWidget(b);
  };
  addButton(tr("Open Model…"), "openModelButton", &MainWindow::chooseModel);
  addButton(tr("Open Dataset…"), "openDatasetButton", &MainWindow::chooseDataset);
  addButton(tr("Open Results…"), "openResultsButton", &MainWindow::chooseStore);
  buttons->addStretch();
  layout->addLayout(buttons);
  auto* hint = new QLabel(tr("or drop an .onnx file, a dataset folder or a results .sqlite file here"), page);
  hint->setAlignment(Qt::AlignCenter);
  layout->addWidget(hint);
  auto* recentTitle = new QLabel(tr("<b>Recent</b>"), page);
  recentTitle->setAlignment(Qt::AlignCenter);
  layout->addWidget(recentTitle);
  m_recentList = new QListWidget(page);
  m_recentList->setObjectName(QStringLiteral("recentList"));
  m_recentList->setMaximumWidth(720);
  m_recentList->setMaximumHeight(200);
  connect(m_recentList, &QListWidget::itemActivated, this, [this](QListWidgetItem* item) {
    const QString path = item->data(Qt::UserRole).toString();
    const auto kind = static_cast<Recent>(item->data(Qt::UserRole + 1).toInt());
    if (kind == Recent::kModel) openModel(path);
    else if (kind == Recent::kDataset) openDataset(path);
    else openStore(path);
  });
  layout->addWidget(m_recentList, 0, Qt::AlignHCenter);
  layout->addStretch();
  return page;
}

void MainWindow::connectViews() {
  connect(m_modelPanel, &ModelPanel::layerActivated, this, [this](const QString& node) {
    if (m_layers->showLayer(node)) showTab(kLayersTab);
  });
  // One model feeds the table and the charts.
  connect(m_results, &QAbstractItemModel::modelReset, this, &MainWindow::feedCharts);
  connect(m_results, &ResultsTableModel::baselineChanged, this, &MainWindow::feedCharts);
  connect(m_resultsView, &ResultsView::selectionChangedRuns, this, [this](const QList<qint64>&) {
    if (const qint64 id = m_resultsView->focusedRunId()) m_charts->setSelectedRun(id);
    updateActions();
  });
  connect(m_resultsView, &ResultsView::errorOccurred, this,
          [this](const QString& message) { showError(tr("Results store"), message); });
  connect(m_runPanel, &RunPanel::runStored, this, [this](qint64 id, const QString& store) {
    if (store != m_storePath) openStore(store);
    else m_resultsView->reload();
    statusBar()->showMessage(tr("Run %1 stored in %2").arg(id).arg(store), 10000);
  });
  connect(m_runPanel, &RunPanel::sweepFinished, this, [this](int stored, int skipped, int failed, bool cancelled) {
    m_resultsView->reload();
    statusBar()->showMessage(tr("Sweep %1: %2 stored, %3 already stored, %4 failed")
                                 .arg(cancelled ? tr("cancelled") : tr("finished"))
                                 .arg(stored)
                                 .arg(skipped)
                                 .arg(failed),
                             15000);
  });
  connect(m_runPanel, &RunPanel::busyChanged, this, [this](bool) { updateActions(); });
  connect(m_viewer, &DetectionViewer::errorOccurred, this,
          [this](const QString& message) { showError(tr("Detections"), message); });
}

// ---- opening things ---------------------------------------------------------------------------

void MainWindow::chooseModel() {
  QSettings settings;
  const QString dir = settings.value(QStringLiteral("paths/lastModelDir")).toString();
  const QString path = QFileDialog::getOpenFileName(this, tr("Open ONNX model"), dir,
                                                    tr("ONNX models (*.onnx);;All files (*)"));
  if (path.isEmpty()) return;
  settings.setValue(QStringLiteral("paths/lastModelDir"), QFileInfo(path).absolutePath());
  openModel(path);
}

void MainWindow::chooseDataset() {
  QSettings settings;
  const QString dir = settings.value(QStringLiteral("paths/lastDatasetDir")).toString();
  const QString path = QFileDialog::getExistingDirectory(this, tr("Open dataset folder"), dir);
  if (path.isEmpty()) return;
  settings.setValue(QStringLiteral("paths/lastDatasetDir"), QFileInfo(path).absolutePath());
  openDataset(path);
}

void MainWindow::chooseStore() {
  const QString path = QFileDialog::getSaveFileName(
      this, tr("Open or create a results store"), m_storePath,
      tr("DetSlim results (*.sqlite *.db);;All files (*)"), nullptr, QFileDialog::DontConfirmOverwrite);
  if (!path.isEmpty()) openStore(path);
}

void MainWindow::openModel(const QString& path) {
  if (m_loadWatcher.isRunning()) {
    statusBar()->showMessage(tr("Still loading %1").arg(m_pendingPath));
    return;
  }
  m_pendingPath = path;
  statusBar()->showMessage(tr("Loading %1…").arg(path));
  const std::string file = path.toStdString();
  m_loadWatcher.setFuture(QtConcurrent::run([file]() -> LoadResult {
    return std::make_shared<Result<ModelInspection>>(inspectModel(file));
  }));
}

void MainWindow::onLoadFinished() {
  const LoadResult result = m_loadWatcher.result();
  if (!result || !result->isOk()) {
    const QString message = result ? QString::fromStdString(result->status().message())
                                   : tr("loading %1 produced no result").arg(m_pendingPath);
    statusBar()->showMessage(tr("Could not open %1").arg(m_pendingPath));
    showError(tr("Could not open model"), message);
    emit loadFailed(message);
    return;
  }
  m_modelPath = m_pendingPath;
  auto inspection = std::make_shared<const ModelInspection>(std::move(*result).value());
  m_modelPanel->setInspection(inspection);
  m_layers->setInspection(inspection);
  m_runPanel->setModelPath(m_modelPath);
  rememberRecent(Recent::kModel, m_modelPath);
  setWindowTitle(QStringLiteral("%1 — DetSlim").arg(QFileInfo(m_modelPath).fileName()));
  statusBar()->showMessage(tr("Loaded %1").arg(m_modelPath));
  showWorkspace();
  showTab(kModelTab);
  updateActions();
  emit modelLoaded(m_modelPath);
}

void MainWindow::openDataset(const QString& path) {
  if (!QFileInfo(path).isDir()) {
    showError(tr("Could not open dataset"), tr("%1 is not a folder").arg(path));
    return;
  }
  m_datasetPath = path;
  m_runPanel->setDatasetPath(path);
  m_viewer->setDataset(path);
  rememberRecent(Recent::kDataset, path);
  statusBar()->showMessage(tr("Dataset %1").arg(path), 10000);
  showWorkspace();
  m_runDock->show();
}

void MainWindow::openStore(const QString& path) {
  if (path.isEmpty()) return;
  m_storePath = path;
  m_runPanel->setStorePath(path);
  m_resultsView->setStorePath(path);
  m_storeLabel->setText(tr("Results: %1").arg(path));
  QSettings().setValue(QStringLiteral("paths/store"), path);
  if (QFileInfo::exists(path)) rememberRecent(Recent::kStore, path);
}

// ---- results, charts, detections, report -------------------------------------------------------

void MainWindow::feedCharts() {
  m_charts->setRuns(m_results->runs(), m_results->baselineId());
  if (const qint64 id = m_resultsView->focusedRunId()) m_charts->setSelectedRun(id);
  updateActions();
}

void MainWindow::compareSelectedDetections() {
  const store::RunRecord* baseline = m_results->runById(m_results->baselineId());
  if (!baseline) {
    showError(tr("Compare detections"),
              tr("No baseline run: select a run in Results and choose \"Set as baseline\" first."));
    return;
  }
  std::optional<store::RunRecord> compressed;
  for (qint64 id : m_resultsView->selectedRunIds()) {
    if (id == baseline->id) continue;
    if (const store::RunRecord* r = m_results->runById(id)) compressed = *r;
  }
  if (m_viewer->datasetPath().isEmpty() && !baseline->dataset.path.empty()) {
    m_viewer->setDataset(QString::fromStdString(baseline->dataset.path));
  }
  m_viewer->setSidesFromRuns(*baseline, compressed);
  showTab(kDetectionsTab);
}

void MainWindow::chooseReport() {
  QSettings settings;
  const QString dir = settings.value(QStringLiteral("paths/lastReportDir"), QDir::homePath()).toString();
  const QString path = QFileDialog::getSaveFileName(this, tr("Export report"), dir + QStringLiteral("/detslim-report.html"),
                                                    tr("HTML report (*.html);;PDF report (*.pdf)"));
  if (path.isEmpty()) return;
  settings.setValue(QStringLiteral("paths/lastReportDir"), QFileInfo(path).absolutePath());
  const QString error = exportReport(path);
  if (!error.isEmpty()) showError(tr("Could not export the report"), error);
}

QString MainWindow::exportReport(const QString& path) {
  ReportRequest request;
  const QList<qint64> selected = m_resultsView->selectedRunIds();
  for (const store::RunRecord& run : m_results->runs()) {
    if (selected.isEmpty() || selected.contains(run.id)) request.runs.push_back(run);
  }
  const int64_t baseline = m_results->baselineId();
  const bool baseline_in = std::any_of(request.runs.begin(), request.runs.end(),
                                       [&](const store::RunRecord& r) { return r.id == baseline; });
  request.baseline_id = baseline_in ? baseline : 0;
  request.title = m_modelPath.isEmpty() ? tr("DetSlim report")
                                        : tr("DetSlim report — %1").arg(QFileInfo(m_modelPath).fileName());
  request.output_path = path;
  // The detection examples the viewer shows now (both sides when comparing).
  for (int side = 0; side < (m_viewer->hasCompressed() ? 2 : 1); ++side) {
    if (!m_viewer->detections(side)) continue;
    DetectionCanvas* canvas = m_viewer->canvas(side);
    if (!canvas) continue;
    ReportImage image;
    image.caption = m_viewer->statusText() + (side == 0 ? tr(" — baseline") : tr(" — compressed"));
    image.image = canvas->grab().toImage();
    request.images.push_back(std::move(image));
  }
  const Status status = detslim::ui::exportReport(request);
  if (!status.isOk()) return QString::fromStdString(status.message());
  statusBar()->showMessage(tr("Report written to %1").arg(path), 10000);
  emit reportExported(path);
  return {};
}

// ---- state -------------------------------------------------------------------------------------

void MainWindow::showWorkspace() {
  if (m_pages->currentWidget() == m_tabs) return;
  m_pages->setCurrentWidget(m_tabs);
  m_runDock->show();
}

bool MainWindow::isWorkspaceShown() const { return m_pages->currentWidget() == m_tabs; }

void MainWindow::showTab(Tab tab) {
  showWorkspace();
  m_tabs->setCurrentIndex(tab);
}

void MainWindow::updateActions() {
  const bool busy = m_runPanel->isBusy();
  m_runAction->setEnabled(!busy && !m_modelPath.isEmpty());
  m_cancelAction->setEnabled(busy);
  m_compareAction->setEnabled(m_results->baselineId() != 0);
  m_reportAction->setEnabled(!m_results->runs().empty());
  m_chartAction->setEnabled(!m_results->runs().empty());
}

void MainWindow::showError(const QString& title, const QString& message) {
  // Window-modal but not blocking: the GUI stays responsive and tests can read the box.
  auto* box = new QMessageBox(QMessageBox::Warning, title, message, QMessageBox::Ok, this);
  box->setObjectName(QStringLiteral("errorDialog"));
  box->setAttribute(Qt::WA_DeleteOnClose);
  box->open();
}

void MainWindow::rememberRecent(Recent kind, const QString& path) {
  QSettings settings;
  const QString key = QLatin1String(recentKey(static_cast<int>(kind)));
  QStringList list = settings.value(key).toStringList();
  const QString absolute = QFileInfo(path).absoluteFilePath();
  list.removeAll(absolute);
  list.prepend(absolute);
  while (list.size() > kMaxRecent) list.removeLast();
  settings.setValue(key, list);
  refreshRecentMenus();
  refreshStartPage();
}

QStringList MainWindow::recent(Recent kind) const {
  return QSettings().value(QLatin1String(recentKey(static_cast<int>(kind)))).toStringList();
}

void MainWindow::refreshRecentMenus() {
  const std::pair<QMenu*, Recent> menus[] = {
      {m_recentModels, Recent::kModel}, {m_recentDatasets, Recent::kDataset}, {m_recentStores, Recent::kStore}};
  for (const auto& [menu, kind] : menus) {
    if (!menu) continue;
    menu->clear();
    const QStringList paths = recent(kind);
    menu->setEnabled(!paths.isEmpty());
    for (const QString& p : paths) {
      menu->addAction(p, this, [this, p, kind = kind] {
        if (kind == Recent::kModel) openModel(p);
        else if (kind == Recent::kDataset) openDataset(p);
        else openStore(p);
      });
    }
  }
}

void MainWindow::refreshStartPage() {
  if (!m_recentList) return;
  m_recentList->clear();
  const std::pair<Recent, QString> kinds[] = {
      {Recent::kModel, tr("model")}, {Recent::kDataset, tr("dataset")}, {Recent::kStore, tr("results")}};
  for (const auto& [kind, label] : kinds) {
    for (const QString& p : recent(kind)) {
      auto* item = new QListWidgetItem(QStringLiteral("%1 — %2").arg(label, p), m_recentList);
      item->setData(Qt::UserRole, p);
      item->setData(Qt::UserRole + 1, static_cast<int>(kind));
    }
  }
  if (m_recentList->count() == 0) new QListWidgetItem(tr("Nothing opened yet"), m_recentList);
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
  for (const QUrl& url : event->mimeData()->urls()) {
    if (!url.isLocalFile()) continue;
    const QString path = url.toLocalFile();
    if (path.endsWith(QStringLiteral(".onnx"), Qt::CaseInsensitive) || QFileInfo(path).isDir() ||
        isStoreFile(path)) {
      event->acceptProposedAction();
      return;
    }
  }
}

void MainWindow::dropEvent(QDropEvent* event) {
  if (openDropped(event->mimeData()->urls()) > 0) event->acceptProposedAction();
}

int MainWindow::openDropped(const QList<QUrl>& urls) {
  int opened = 0;
  for (const QUrl& url : urls) {
    if (!url.isLocalFile()) continue;
    const QString path = url.toLocalFile();
    if (path.endsWith(QStringLiteral(".onnx"), Qt::CaseInsensitive)) openModel(path);
    else if (QFileInfo(path).isDir()) openDataset(path);
    else if (isStoreFile(path)) openStore(path);
    else continue;
    ++opened;
  }
  return opened;
}

void MainWindow::closeEvent(QCloseEvent* event) {
  QSettings settings;
  settings.setValue(QStringLiteral("mainwindow/geometry"), saveGeometry());
  settings.setValue(QStringLiteral("mainwindow/state"), saveState());
  QMainWindow::closeEvent(event);
}

}  // namespace detslim::ui
