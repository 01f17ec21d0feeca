// `detslim-gui`: the Qt Widgets workbench.

#include <QApplication>
#include <QCommandLineParser>
#include <cstdio>
#include <string_view>

#include "core/base/version.h"
#include "ui/mainwindow/mainwindow.h"

int main(int argc, char** argv) {
  // --version must work without a display: answer it before QApplication needs a platform.
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--version" || std::string_view(argv[i]) == "-v") {
      std::printf("detslim-gui %s\n", detslim::kVersion);
      return 0;
    }
  }
  QApplication app(argc, argv);
  QApplication::setOrganizationName(QStringLiteral("DetSlim"));
  QApplication::setApplicationName(QStringLiteral("DetSlim"));
  QApplication::setApplicationVersion(QString::fromLatin1(detslim::kVersion));
  QCommandLineParser parser;
  parser.setApplicationDescription(QStringLiteral("DetSlim workbench"));
  parser.addHelpOption();
  parser.addPositionalArgument(QStringLiteral("model"), QStringLiteral("ONNX model to open"), QStringLiteral("[model]"));
  parser.process(app);
  detslim::ui::MainWindow window;
  window.show();
  if (!parser.positionalArguments().isEmpty()) window.openModel(parser.positionalArguments().first());
  return QApplication::exec();
}
