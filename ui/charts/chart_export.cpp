#include "ui/charts/chart_export.h"

#include <QBuffer>
#include <QCoreApplication>
#include <QFileInfo>
#include <QGraphicsScene>
#include <QImageWriter>
#include <QPainter>
#include <QRegularExpression>
#include <QSaveFile>
#include <QSvgGenerator>
#include <memory>

namespace detslim::ui {

namespace {

std::string s(const QString& text) {
  return text.toStdString();
}

bool sizeOk(const QSize& size) {
  return size.width() >= kMinExportSide && size.height() >= kMinExportSide &&
         size.width() <= kMaxExportSide && size.height() <= kMaxExportSide;
}

// Lays the chart out at `size` and paints it into `painter` (whose device is that size).
void paintChart(QChart* chart, QPainter* painter, const QSize& size) {
  std::unique_ptr<QGraphicsScene> own;
  QGraphicsScene* scene = chart->scene();
  if (!scene) {
    own = std::make_unique<QGraphicsScene>();
    own->addItem(chart);
    scene = own.get();
  }
  const QRectF old_geometry = chart->geometry();
  const QRectF target(QPointF(0, 0), QSizeF(size));
  chart->setGeometry(QRectF(chart->pos(), QSizeF(size)));
  // The chart lays out its axes and legend on a posted layout request; run it now so the picture
  // is of the asked size, not of the previous one.
  QCoreApplication::sendPostedEvents(nullptr, QEvent::LayoutRequest);
  const QRectF source = chart->mapRectToScene(chart->rect());
  scene->render(painter, target, source, Qt::IgnoreAspectRatio);
  if (own) {
    own->removeItem(chart);  // the caller keeps the chart; the scene must not delete it
  } else {
    chart->setGeometry(old_geometry);
  }
}

Status writeFile(const QString& path, const QByteArray& bytes) {
  QSaveFile file(path);
  if (!file.open(QIODevice::WriteOnly)) {
    return ioError("cannot write '" + s(path) + "': " + s(file.errorString()));
  }
  if (file.write(bytes) != bytes.size() || !file.commit()) {
    return ioError("cannot write '" + s(path) + "': " + s(file.errorString()));
  }
  return Status::ok();
}

QByteArray svgBytes(QChart* chart, const QSize& size, const QString& title) {
  QBuffer buffer;
  buffer.open(QIODevice::WriteOnly);
  QSvgGenerator generator;
  generator.setOutputDevice(&buffer);
  generator.setSize(size);
  generator.setViewBox(QRect(QPoint(0, 0), size));
  generator.setResolution(96);
  generator.setTitle(title);
  generator.setDescription(QStringLiteral("DetSlim chart"));
  {
    QPainter painter(&generator);
    painter.setRenderHint(QPainter::Antialiasing);
    painter.setRenderHint(QPainter::TextAntialiasing);
    painter.fillRect(QRect(QPoint(0, 0), size), Qt::white);
    paintChart(chart, &painter, size);
  }
  QByteArray svg = buffer.data();
  // QSvgGenerator states the size in millimetres; a report or browser wants the pixel size the
  // user asked for, so the root says it in user units (px).
  const qsizetype root = svg.indexOf("<svg");
  const qsizetype root_end = root >= 0 ? svg.indexOf('>', root) : -1;
  if (root >= 0 && root_end > root) {
    QString tag = QString::fromUtf8(svg.mid(root, root_end - root));
    tag.replace(QRegularExpression(QStringLiteral("\\swidth=\"[^\"]*\"")),
                QStringLiteral(" width=\"%1\"").arg(size.width()));
    tag.replace(QRegularExpression(QStringLiteral("\\sheight=\"[^\"]*\"")),
                QStringLiteral(" height=\"%1\"").arg(size.height()));
    svg = svg.left(root) + tag.toUtf8() + svg.mid(root_end);
  }
  return svg;
}

}  // namespace

QImage renderChartImage(QChart* chart, const QSize& size) {
  QImage image(size, QImage::Format_ARGB32_Premultiplied);
  image.fill(Qt::white);
  QPainter painter(&image);
  painter.setRenderHint(QPainter::Antialiasing);
  painter.setRenderHint(QPainter::TextAntialiasing);
  paintChart(chart, &painter, size);
  return image;
}

Status saveChart(QChart* chart, const QString& path, const QSize& size) {
  if (!sizeOk(size)) {
    return invalidArgument("'" + s(path) + "': size " + std::to_string(size.width()) + "x" +
                           std::to_string(size.height()) + " is outside " +
                           std::to_string(kMinExportSide) + ".." + std::to_string(kMaxExportSide) +
                           " pixels per side");
  }
  const QString suffix = QFileInfo(path).suffix().toLower();
  if (suffix == QLatin1String("svg")) {
    return writeFile(path, svgBytes(chart, size, chart->title()));
  }
  if (suffix != QLatin1String("png")) {
    return invalidArgument("'" + s(path) + "': unknown image type '." + s(suffix) +
                           "' (use .png or .svg)");
  }
  const QImage image = renderChartImage(chart, size);
  QBuffer buffer;
  buffer.open(QIODevice::WriteOnly);
  QImageWriter writer(&buffer, "png");
  if (!writer.write(image)) {
    return ioError("cannot encode '" + s(path) + "' as PNG: " + s(writer.errorString()));
  }
  return writeFile(path, buffer.data());
}

Status exportChart(ChartKind kind, const std::vector<store::RunRecord>& runs, int64_t baseline_id,
                   const ChartOptions& options, const QString& path, const QSize& size) {
  std::unique_ptr<ResultsChart> chart(buildChart(kind, runs, baseline_id, options));
  if (!chart->emptyMessage().isEmpty()) {
    return invalidArgument("chart '" + s(chartKindName(kind)) + "' has nothing to draw: " +
                           s(chart->emptyMessage()) + "; '" + s(path) + "' not written");
  }
  return saveChart(chart.get(), path, size);
}

QImage renderChart(ChartKind kind, const std::vector<store::RunRecord>& runs, int64_t baseline_id,
                   const ChartOptions& options, const QSize& size) {
  std::unique_ptr<ResultsChart> chart(buildChart(kind, runs, baseline_id, options));
  return renderChartImage(chart.get(), size);
}

QSize parseExportSize(const QString& text) {
  static const QRegularExpression re(QStringLiteral("^\\s*(\\d{1,6})\\s*[xX]\\s*(\\d{1,6})\\s*$"));
  const QRegularExpressionMatch m = re.match(text);
  if (!m.hasMatch()) return {};
  const QSize size(m.captured(1).toInt(), m.captured(2).toInt());
  return sizeOk(size) ? size : QSize();
}

}  // namespace detslim::ui
