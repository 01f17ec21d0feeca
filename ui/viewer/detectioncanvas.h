#pragma once
// One image with boxes drawn over it: ground truth dashed, predictions solid in their class
// colour with a "class 0.87" label. Zoom with the wheel, +/- and 0 (fit), pan by dragging. The
// viewer keeps two canvases on the same zoom and scroll position (viewChanged).

#include <QColor>
#include <QGraphicsView>
#include <QImage>
#include <QList>
#include <QRectF>
#include <QString>

class QGraphicsPixmapItem;
class QGraphicsScene;
class QGraphicsTextItem;

namespace detslim::ui {

class DetectionCanvas : public QGraphicsView {
  Q_OBJECT

 public:
  // What a drawn box is; stored on its item (kKindRole) so tests and tools can tell boxes from
  // their labels.
  enum class BoxKind { GroundTruth, Prediction };
  // How a box is marked, stored on its item (kMarkRole): "tp", "fp", "ignored" for predictions;
  // "found", "fn", "lost", "ignore" for ground truth.
  static constexpr int kKindRole = 0;
  static constexpr int kMarkRole = 1;
  static constexpr int kClassRole = 2;
  static constexpr int kNewRole = 3;  // a prediction without a baseline counterpart

  struct Box {
    QRectF rect;  // image pixels
    BoxKind kind = BoxKind::Prediction;
    QString mark;
    int classId = -1;
    QString label;  // "person 0.87", "FN car"
    QColor colour;  // outline
    QColor labelBackground;
    bool isNew = false;
  };

  explicit DetectionCanvas(QWidget* parent = nullptr);

  // Shows `image` (scene coordinates = image pixels) without boxes; keeps the zoom unless the
  // size differs, then fits.
  void setImage(const QImage& image);
  // No image: `message` says what is missing or what went wrong.
  void showMessage(const QString& message);
  void setBoxes(const QList<Box>& boxes);
  bool hasImage() const { return m_pixmap != nullptr; }
  QString message() const;

  // The box items (labels and highlight halos are children of these and not counted).
  QList<QGraphicsItem*> boxItems() const;
  int boxCount(BoxKind kind) const;

  void zoomBy(double factor);
  void fitToImage();
  double zoom() const { return transform().m11(); }
  bool isFitted() const { return m_fitted; }
  // Takes another canvas's zoom and scroll position (no viewChanged emitted).
  void followView(const DetectionCanvas& other);

 signals:
  // The zoom or the scroll position changed through this canvas.
  void viewChanged();

 protected:
  void wheelEvent(QWheelEvent* event) override;
  void keyPressEvent(QKeyEvent* event) override;
  void resizeEvent(QResizeEvent* event) override;

 private:
  void clearBoxes();

  QGraphicsScene* m_scene = nullptr;
  QGraphicsPixmapItem* m_pixmap = nullptr;
  QGraphicsTextItem* m_message = nullptr;
  QList<QGraphicsItem*> m_boxes;
  bool m_fitted = true;
  bool m_following = false;
};

}  // namespace detslim::ui
