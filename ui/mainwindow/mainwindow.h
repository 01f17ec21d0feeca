#pragma once
// The DetSlim main window: a start page and the model panel. Loading runs off the GUI thread.

#include <QFutureWatcher>
#include <QMainWindow>
#include <memory>

#include "core/workbench/inspect.h"

class QLabel;
class QStackedWidget;
class QTextBrowser;

namespace detslim::ui {

class MainWindow : public QMainWindow {
  Q_OBJECT

 public:
  explicit MainWindow(QWidget* parent = nullptr);
  ~MainWindow() override;

  // Starts loading a model in the background; modelLoaded or loadFailed follows.
  void openModel(const QString& path);
  QString currentModelPath() const { return m_modelPath; }

 signals:
  void modelLoaded(const QString& path);
  void loadFailed(const QString& message);

 protected:
  void dragEnterEvent(QDragEnterEvent* event) override;
  void dropEvent(QDropEvent* event) override;
  void closeEvent(QCloseEvent* event) override;

 private:
  void buildMenus();
  QWidget* buildStartPage();
  void chooseModel();
  void onLoadFinished();

  using LoadResult = std::shared_ptr<Result<ModelInspection>>;
  QStackedWidget* m_pages = nullptr;
  QTextBrowser* m_summary = nullptr;
  QFutureWatcher<LoadResult> m_loadWatcher;
  QString m_modelPath;
  QString m_pendingPath;
};

}  // namespace detslim::ui
