// MainWindow offscreen: the start page shows its three entry points, a real model loads off the
// GUI thread into the Model tab with the model's figures, a bad file raises a dialog and the
// window stays usable. (The whole workbench scenario is tst_workbench.)

#include <QDir>
#include <QMessageBox>
#include <QPushButton>
#include <QSignalSpy>
#include <QStackedWidget>
#include <QTemporaryDir>
#include <QTabWidget>
#include <QtTest>

#include "ui/mainwindow/mainwindow.h"
#include "ui/views/modelpanel.h"

using detslim::ui::MainWindow;

class TestMainWindow : public QObject {
  Q_OBJECT

 private:
  static QString sharedModel(const char* name) {
    const QByteArray dir = qgetenv("DETSLIM_TEST_DATA");
    if (dir.isEmpty()) return {};
    return QString::fromLocal8Bit(dir) + QStringLiteral("/models/") + QLatin1String(name);
  }

 private slots:
  void initTestCase() {
    QCoreApplication::setOrganizationName(QStringLiteral("DetSlimTest"));
    QCoreApplication::setApplicationName(QStringLiteral("tst_mainwindow"));
  }

  void startPageShows() {
    MainWindow w;
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    QVERIFY(w.findChild<QPushButton*>(QStringLiteral("openModelButton")) != nullptr);
    QVERIFY(w.findChild<QPushButton*>(QStringLiteral("openDatasetButton")) != nullptr);
    QVERIFY(w.findChild<QPushButton*>(QStringLiteral("openResultsButton")) != nullptr);
    QVERIFY(!w.isWorkspaceShown());
    QCOMPARE(w.windowTitle(), QStringLiteral("DetSlim"));
  }

  void loadsRealModel() {
    const QString path = sharedModel("yolov5n_fp32.onnx");
    if (path.isEmpty()) QSKIP("DETSLIM_TEST_DATA is unset");
    MainWindow w;
    w.show();
    QSignalSpy loaded(&w, &MainWindow::modelLoaded);
    w.openModel(path);
    QVERIFY(loaded.wait(60000));
    QVERIFY(w.isWorkspaceShown());
    auto* tabs = w.findChild<QTabWidget*>(QStringLiteral("workspaceTabs"));
    QVERIFY(tabs);
    QCOMPARE(tabs->currentIndex(), int(MainWindow::kModelTab));
    const QString text = w.modelPanel()->summaryText();
    QVERIFY2(text.contains(QStringLiteral("1,867,405")), qPrintable(text));
    QVERIFY(text.contains(QStringLiteral("2,234,060,800")));
    QVERIFY(text.contains(QStringLiteral("float32[1,3,640,640]")));
    QCOMPARE(w.currentModelPath(), path);
  }

  void badFileShowsDialogAndStaysUsable() {
    QTemporaryDir dir;
    const QString bad = dir.filePath(QStringLiteral("broken.onnx"));
    QFile f(bad);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("definitely not a protobuf \xff\xfe\x01", 29);
    f.close();
    MainWindow w;
    w.show();
    QSignalSpy failed(&w, &MainWindow::loadFailed);
    w.openModel(bad);
    QVERIFY(failed.wait(30000));
    QVERIFY(failed.first().first().toString().contains(bad));
    auto* box = w.findChild<QMessageBox*>(QStringLiteral("errorDialog"));
    QVERIFY(box);
    QVERIFY(box->text().contains(bad));
    box->close();
    QVERIFY(w.isEnabled());
    QVERIFY(w.currentModelPath().isEmpty());
  }
};

QTEST_MAIN(TestMainWindow)
#include "tst_mainwindow.moc"
