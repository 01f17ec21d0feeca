#include "ui/mainwindow/mainwindow.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QPushButton>
#include <QSettings>
#include <QStackedWidget>
#include <QStatusBar>
#include <QTextBrowser>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

#include "core/base/version.h"
#include "ui/mainwindow/modelsummary.h"

namespace detslim::ui {

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  setWindowTitle(QStringLiteral("DetSlim"));
  setAcceptDrops(true);
  m_pages = new QStackedWidget(this);
  m_pages->addWidget(buildStartPage());
  m_summary = new QTextBrowser(this);
  m_summary->setObjectName(QStringLiteral("modelSummary"));
  m_pages->addWidget(m_summary);
  setCentralWidget(m_pages);
  buildMenus();
  statusBar()->showMessage(tr("Open an ONNX detector to begin"));
  connect(&m_loadWatcher, &QFutureWatcher<LoadResult>::finished, this, &MainWindow::onLoadFinished);
  QSettings settings;
  restoreGeometry(settings.value(QStringLiteral("mainwindow/geometry")).toByteArray());
  if (!settings.contains(QStringLiteral("mainwindow/geometry"))) resize(1100, 720);
}

MainWindow::~MainWindow() { m_loadWatcher.waitForFinished(); }

void MainWindow::buildMenus() {
  QMenu* file = menuBar()->addMenu(tr("&File"));
  QAction* open = file->addAction(tr("&Open Model…"), this, &MainWindow::chooseModel);
  open->setShortcut(QKeySequence::Open);
  file->addSeparator();
  QAction* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
  quit->setShortcut(QKeySequence::Quit);
  QMenu* help = menuBar()->addMenu(tr("&Help"));
  help->addAction(tr("&About DetSlim"), this, [this] {
    QMessageBox::about(this, tr("About DetSlim"),
                       tr("<b>DetSlim %1</b><p>Compress an object detector and see, measured, what it "
                          "costs and what it buys.</p>")
                           .arg(QString::fromLatin1(kVersion)));
  });
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
  auto* open = new QPushButton(tr("Open Model…"), page);
  open->setObjectName(QStringLiteral("openModelButton"));
  open->setMinimumWidth(220);
  connect(open, &QPushButton::clicked, this, &MainWindow::chooseModel);
  layout->addWidget(open, 0, Qt::AlignHCenter);
  auto* hint = new QLabel(tr("or drop an .onnx file here"), page);
  hint->setAlignment(Qt::AlignCenter);
  layout->addWidget(hint);
  layout->addStretch();
  return page;
}

void MainWindow::chooseModel() {
  QSettings settings;
  const QString dir = settings.value(QStringLiteral("paths/lastModelDir")).toString();
  const QString path = QFileDialog::getOpenFileName(this, tr("Open ONNX model"), dir,
                                                    tr("ONNX models (*.onnx);;All files (*)"));
  if (path.isEmpty()) return;
  settings.setValue(QStringLiteral("paths/lastModelDir"), QFileInfo(path).absolutePath());
  openModel(path);
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
    // Window-modal but not blocking: the GUI stays responsive and tests can read the box.
    auto* box = new QMessageBox(QMessageBox::Warning, tr("Could not open model"), message,
                                QMessageBox::Ok, this);
    box->setObjectName(QStringLiteral("errorDialog"));
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();
    emit loadFailed(message);
    return;
  }
  m_modelPath = m_pendingPath;
  m_summary->setHtml(modelSummaryHtml(result->value()));
  m_pages->setCurrentWidget(m_summary);
  setWindowTitle(QStringLiteral("%1 — DetSlim").arg(QFileInfo(m_modelPath).fileName()));
  statusBar()->showMessage(tr("Loaded %1").arg(m_modelPath));
  emit modelLoaded(m_modelPath);
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
  for (const QUrl& url : event->mimeData()->urls()) {
    if (url.isLocalFile() && url.toLocalFile().endsWith(QStringLiteral(".onnx"), Qt::CaseInsensitive)) {
      event->acceptProposedAction();
      return;
    }
  }
}

void MainWindow::dropEvent(QDropEvent* event) {
  for (const QUrl& url : event->mimeData()->urls()) {
    if (url.isLocalFile() && url.toLocalFile().endsWith(QStringLiteral(".onnx"), Qt::CaseInsensitive)) {
      openModel(url.toLocalFile());
      return;
    }
  }
}

void MainWindow::closeEvent(QCloseEvent* event) {
  QSettings settings;
  settings.setValue(QStringLiteral("mainwindow/geometry"), saveGeometry());
  QMainWindow::closeEvent(event);
}

}  // namespace detslim::ui
