#include "ui/viewer/detectioncanvas.h"

#include <QBrush>
#include <QGraphicsPixmapItem>
#include <QGraphicsRectItem>
#include <QGraphicsScene>
#include <QGraphicsSimpleTextItem>
#include <QGraphicsTextItem>
#include <QKeyEvent>
#include <QPen>
#include <QPixmap>
#include <QScrollBar>
#include <QWheelEvent>
#include <QtMath>

namespace detslim::ui {

namespace {

constexpr double kWheelStep = 1.25;  // one wheel notch or one +/- press
constexpr double kMinZoom = 0.02;
constexpr double kMaxZoom = 40.0;
constexpr int kLabelPadding = 2;
constexpr double kHaloMargin = 4.0;  // image pixels around a "new" prediction

}  // namespace

DetectionCanvas::DetectionCanvas(QWidget* parent) : QGraphicsView(parent) {
  m_scene = new QGraphicsScene(this);
  setScene(m_scene);
  setDragMode(QGraphicsView::ScrollHandDrag);
  setTransformationAnchor(QGraphicsView::AnchorUnderMouse);
  setResizeAnchor(QGraphicsView::AnchorViewCenter);
  setRenderHint(QPainter::Antialiasing);
  setRenderHint(QPainter::SmoothPixmapTransform);
  setBackgroundBrush(QColor(40, 40, 40));
  setFocusPolicy(Qt::StrongFocus);
  auto scrolled = [this] {
    if (!m_following) emit viewChanged();
  };
  connect(horizontalScrollBar(), &QScrollBar::valueChanged, this, scrolled);
  connect(verticalScrollBar(), &QScrollBar::valueChanged, this, scrolled);
}

void DetectionCanvas::setImage(const QImage& image) {
  clearBoxes();
  if (m_message) {
    m_scene->removeItem(m_message);
    delete m_message;
    m_message = nullptr;
  }
  const bool sameSize = m_pixmap && m_pixmap->pixmap().size() == image.size();
  if (!m_pixmap) {
    m_pixmap = m_scene->addPixmap(QPixmap::fromImage(image));
    m_pixmap->setTransformationMode(Qt::SmoothTransformation);
  } else {
    m_pixmap->setPixmap(QPixmap::fromImage(image));
  }
  m_scene->setSceneRect(QRectF(QPointF(0, 0), QSizeF(image.size())));
  if (!sameSize || m_fitted) fitToImage();
}

void DetectionCanvas::showMessage(const QString& message) {
  clearBoxes();
  if (m_pixmap) {
    m_scene->removeItem(m_pixmap);
    delete m_pixmap;
    m_pixmap = nullptr;
  }
  if (!m_message) {
    m_message = m_scene->addText(QString());
    m_message->setDefaultTextColor(QColor(220, 220, 220));
  }
  m_message->setPlainText(message);
  m_message->setTextWidth(qMax(200, viewport()->width() - 40));
  m_scene->setSceneRect(m_message->boundingRect());
  resetTransform();
  m_fitted = true;
}

QString DetectionCanvas::message() const {
  return m_message ? m_message->toPlainText() : QString();
}

void DetectionCanvas::clearBoxes() {
  for (QGraphicsItem* item : m_boxes) {
    m_scene->removeItem(item);
    delete item;  // deletes its label and halo children
  }
  m_boxes.clear();
}

void DetectionCanvas::setBoxes(const QList<Box>& boxes) {
  clearBoxes();
  if (!m_pixmap) return;
  for (const Box& box : boxes) {
    auto* item = new QGraphicsRectItem(box.rect);
    QPen pen(box.colour);
    pen.setCosmetic(true);  // the same width on screen at any zoom
    if (box.kind == BoxKind::GroundTruth) {
      pen.setStyle(box.mark == QLatin1String("ignore") ? Qt::DotLine : Qt::DashLine);
      pen.setWidthF(box.mark == QLatin1String("lost") ? 3.0 : 2.0);
    } else {
      pen.setWidthF(2.0);
    }
    item->setPen(pen);
    item->setData(kKindRole,
                  box.kind == BoxKind::GroundTruth ? QStringLiteral("gt") : QStringLiteral("pred"));
    item->setData(kMarkRole, box.mark);
    item->setData(kClassRole, box.classId);
    item->setData(kNewRole, box.isNew);
    item->setToolTip(box.label);
    if (box.isNew) {
      auto* halo = new QGraphicsRectItem(
          box.rect.adjusted(-kHaloMargin, -kHaloMargin, kHaloMargin, kHaloMargin), item);
      QPen haloPen(QColor(255, 230, 0));
      haloPen.setCosmetic(true);
      haloPen.setWidthF(2.0);
      haloPen.setStyle(Qt::DashDotLine);
      halo->setPen(haloPen);
    }
    if (!box.label.isEmpty()) {
      // Labels keep their size on screen whatever the zoom.
      auto* background = new QGraphicsRectItem(item);
      background->setFlag(QGraphicsItem::ItemIgnoresTransformations);
      auto* text = new QGraphicsSimpleTextItem(box.label, background);
      text->setBrush(Qt::white);
      const QRectF textRect = text->boundingRect();
      text->setPos(kLabelPadding, 0);
      background->setRect(0, 0, textRect.width() + 2 * kLabelPadding, textRect.height());
      background->setBrush(box.labelBackground.isValid() ? box.labelBackground : box.colour);
      background->setPen(Qt::NoPen);
      // Ground truth labels above the box, prediction labels inside its top edge, so the two
      // do not cover each other when a prediction sits on its GT.
      background->setPos(box.rect.topLeft());
      if (box.kind == BoxKind::GroundTruth) {
        background->setTransform(QTransform::fromTranslate(0, -textRect.height()));
      }
    }
    m_scene->addItem(item);
    m_boxes.append(item);
  }
}

QList<QGraphicsItem*> DetectionCanvas::boxItems() const {
  return m_boxes;
}

int DetectionCanvas::boxCount(BoxKind kind) const {
  const QString want = kind == BoxKind::GroundTruth ? QStringLiteral("gt") : QStringLiteral("pred");
  int n = 0;
  for (const QGraphicsItem* item : m_boxes) n += item->data(kKindRole).toString() == want;
  return n;
}

void DetectionCanvas::zoomBy(double factor) {
  const double target = qBound(kMinZoom, zoom() * factor, kMaxZoom);
  if (qFuzzyCompare(target, zoom())) return;
  const double applied = target / zoom();
  scale(applied, applied);
  m_fitted = false;
  emit viewChanged();
}

void DetectionCanvas::fitToImage() {
  if (!m_pixmap) return;
  fitInView(m_pixmap, Qt::KeepAspectRatio);
  m_fitted = true;
  if (!m_following) emit viewChanged();
}

void DetectionCanvas::followView(const DetectionCanvas& other) {
  m_following = true;
  setTransform(other.transform());
  horizontalScrollBar()->setValue(other.horizontalScrollBar()->value());
  verticalScrollBar()->setValue(other.verticalScrollBar()->value());
  m_fitted = other.m_fitted;
  m_following = false;
}

void DetectionCanvas::wheelEvent(QWheelEvent* event) {
  const double notches = event->angleDelta().y() / 120.0;
  if (notches == 0.0) {
    QGraphicsView::wheelEvent(event);
    return;
  }
  zoomBy(qPow(kWheelStep, notches));
  event->accept();
}

void DetectionCanvas::keyPressEvent(QKeyEvent* event) {
  switch (event->key()) {
    case Qt::Key_Plus:
    case Qt::Key_Equal:
      zoomBy(kWheelStep);
      return;
    case Qt::Key_Minus:
      zoomBy(1.0 / kWheelStep);
      return;
    case Qt::Key_0:
      fitToImage();
      return;
    default:
      QGraphicsView::keyPressEvent(event);
  }
}

void DetectionCanvas::resizeEvent(QResizeEvent* event) {
  QGraphicsView::resizeEvent(event);
  if (m_fitted) fitToImage();
  if (m_message) m_message->setTextWidth(qMax(200, viewport()->width() - 40));
}

}  // namespace detslim::ui
