#include "ui/views/layerinspector.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QImage>
#include <QLabel>
#include <QMouseEvent>
#include <QPaintEvent>
#include <QPainter>
#include <QScrollArea>
#include <QStackedWidget>
#include <QTextDocument>
#include <QToolTip>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>

#include "ui/models/format.h"

namespace detslim::ui {

namespace {
constexpr uchar kZeroGray = 255;    // zero weight: white
constexpr uchar kNonZeroGray = 38;  // non-zero weight: dark
constexpr int kGridMinZoomPx = 4;   // kernel borders drawn from this cell size up
constexpr int kTopPatterns = 16;    // glyphs drawn; the rest are summed in the note
constexpr int kGlyphCellPx = 11;
constexpr int kGlyphColumns = 4;
// A zoom whose map would be larger falls back to fit: such a widget is slow to lay out.
constexpr int kMaxZoomedSidePx = 30000;
// Fit: cells at most this many times taller than wide, or wider than tall.
constexpr double kMaxCellAspect = 4.0;

QString shapeText(const Shape& shape) {
  QStringList dims;
  for (int64_t d : shape) dims << QString::number(d);
  return dims.join(QStringLiteral("\u00d7"));
}
}  // namespace

// The zero map: paints only the exposed cells, so a large zoom of a large layer stays cheap.
class ZeroMapWidget : public QWidget {
 public:
  explicit ZeroMapWidget(QWidget* parent) : QWidget(parent) {
    setMouseTracking(true);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
    setAttribute(Qt::WA_OpaquePaintEvent);
  }

  void setMap(const prune::LayerWeightMap* map) {
    m_map = map;
    m_fitted = QImage();
    if (!map || map->rows == 0 || map->cols == 0) {
      m_image = QImage();
    } else {
      m_image = QImage(static_cast<int>(map->cols), static_cast<int>(map->rows),
                       QImage::Format_Grayscale8);
      for (int64_t r = 0; r < map->rows; ++r) {
        uchar* line = m_image.scanLine(static_cast<int>(r));
        const uint8_t* src = map->nonzero.data() + r * map->cols;
        for (int64_t c = 0; c < map->cols; ++c) line[c] = src[c] ? kNonZeroGray : kZeroGray;
      }
    }
    updateGeometry();
    update();
  }

  void setZoom(int pixelsPerCell) {
    m_zoom = pixelsPerCell;
    updateGeometry();
    update();
  }

  QSize sizeHint() const override {
    if (m_image.isNull() || m_zoom <= 0) return {400, 300};
    return {m_image.width() * m_zoom, m_image.height() * m_zoom};
  }

  // Pixels per cell, horizontally and vertically. A zoom gives square cells. Fit fills the view
  // with cells at most kMaxCellAspect times taller than wide (or wider than tall): maps are
  // C_in x 9 times wider than tall, and square cells would leave most of the view empty. Cells
  // of a pixel or more get whole pixels, so every weight stays one crisp block.
  QSizeF cellSize() const {
    if (m_image.isNull()) return {1.0, 1.0};
    if (m_zoom > 0) return {static_cast<double>(m_zoom), static_cast<double>(m_zoom)};
    double w = static_cast<double>(width()) / m_image.width();
    double h = static_cast<double>(height()) / m_image.height();
    w = std::min(w, kMaxCellAspect * h);
    h = std::min(h, kMaxCellAspect * w);
    if (w >= 1.0 && h >= 1.0) {
      w = std::floor(w);
      h = std::min(std::floor(h), kMaxCellAspect * w);
    }
    return {w, h};
  }

 protected:
  void paintEvent(QPaintEvent* event) override {
    QPainter painter(this);
    painter.fillRect(event->rect(), palette().color(QPalette::Base));
    if (m_image.isNull()) return;
    const QSizeF cell = cellSize();
    if (m_zoom <= 0) {
      const QSize target(std::max(1, static_cast<int>(cell.width() * m_image.width())),
                         std::max(1, static_cast<int>(cell.height() * m_image.height())));
      if (cell.width() < 1.0 || cell.height() < 1.0) {
        // Fewer pixels than weights: a box-filtered downscale shows dense and sparse regions
        // as grey levels instead of sampling every n-th weight.
        if (m_fitted.size() != target) {
          m_fitted = m_image.scaled(target, Qt::IgnoreAspectRatio, Qt::SmoothTransformation);
        }
        painter.drawImage(0, 0, m_fitted);
      } else {
        painter.drawImage(QRect(QPoint(0, 0), target), m_image);  // nearest: crisp cells
      }
      drawGrid(painter, cell, 0, 0, m_image.width(), m_image.height());
      return;
    }
    const QRect exposed = event->rect();
    const int c0 = std::max(0, exposed.left() / m_zoom);
    const int r0 = std::max(0, exposed.top() / m_zoom);
    const int c1 = std::min(m_image.width(), exposed.right() / m_zoom + 1);
    const int r1 = std::min(m_image.height(), exposed.bottom() / m_zoom + 1);
    if (c1 <= c0 || r1 <= r0) return;
    painter.drawImage(QRect(c0 * m_zoom, r0 * m_zoom, (c1 - c0) * m_zoom, (r1 - r0) * m_zoom),
                      m_image, QRect(c0, r0, c1 - c0, r1 - r0));
    drawGrid(painter, cell, c0, r0, c1, r1);
  }

  void mouseMoveEvent(QMouseEvent* event) override {
    if (m_image.isNull() || !m_map || width() <= 0 || height() <= 0) return;
    const QPointF p = event->position();
    const QSizeF cellPx = cellSize();
    const int64_t col = static_cast<int64_t>(p.x() / cellPx.width());
    const int64_t row = static_cast<int64_t>(p.y() / cellPx.height());
    if (col < 0 || row < 0 || col >= m_map->cols || row >= m_map->rows) return;
    const int64_t slot = col / m_map->kernel_cells;
    const int64_t cell = col % m_map->kernel_cells;
    const bool nonzero = m_map->nonzero[static_cast<size_t>(row * m_map->cols + col)] != 0;
    QToolTip::showText(event->globalPosition().toPoint(),
                       tr("output channel %1, input channel %2, kernel cell %3: %4")
                           .arg(row)
                           .arg(slot)
                           .arg(cell)
                           .arg(nonzero ? tr("non-zero") : tr("zero")),
                       this);
  }

 private:
  // Kernel borders make a 3x3 pattern readable cell by cell, once cells are large enough.
  void drawGrid(QPainter& painter, QSizeF cell, int c0, int r0, int c1, int r1) {
    if (!m_map || m_map->kernel_cells <= 1 || cell.width() < kGridMinZoomPx ||
        cell.height() < kGridMinZoomPx) {
      return;
    }
    painter.setPen(QColor(0xc8, 0xc8, 0xc8));
    const int k = static_cast<int>(m_map->kernel_cells);
    const auto x = [&](int c) { return static_cast<int>(c * cell.width()); };
    const auto y = [&](int r) { return static_cast<int>(r * cell.height()); };
    for (int c = (c0 / k) * k; c <= c1; c += k) painter.drawLine(x(c), y(r0), x(c), y(r1));
    for (int r = r0; r <= r1; ++r) painter.drawLine(x(c0), y(r), x(c1), y(r));
  }

  const prune::LayerWeightMap* m_map = nullptr;
  QImage m_image;
  QImage m_fitted;
  int m_zoom = 0;
};

// The top patterns of a 3x3 layer as glyphs with their counts.
class PatternHistogramWidget : public QWidget {
 public:
  explicit PatternHistogramWidget(QWidget* parent) : QWidget(parent) {}

  void setPatterns(std::vector<prune::PatternCount> patterns, int64_t kernels) {
    m_patterns = std::move(patterns);
    if (m_patterns.size() > static_cast<size_t>(kTopPatterns)) m_patterns.resize(kTopPatterns);
    m_kernels = kernels;
    updateGeometry();
    update();
  }

  QSize sizeHint() const override {
    const int rows = (static_cast<int>(m_patterns.size()) + kGlyphColumns - 1) / kGlyphColumns;
    return {kGlyphColumns * slotWidth(), std::max(1, rows) * slotHeight()};
  }

 protected:
  void paintEvent(QPaintEvent*) override {
    QPainter painter(this);
    const QFontMetrics fm = fontMetrics();
    for (size_t i = 0; i < m_patterns.size(); ++i) {
      const int x = static_cast<int>(i % kGlyphColumns) * slotWidth();
      const int y = static_cast<int>(i / kGlyphColumns) * slotHeight();
      const int glyph = 3 * kGlyphCellPx;
      const int gx = x + (slotWidth() - glyph) / 2;
      for (int r = 0; r < 3; ++r) {
        for (int c = 0; c < 3; ++c) {
          const bool on = (m_patterns[i].mask >> (r * 3 + c)) & 1u;
          const QRect cell(gx + c * kGlyphCellPx, y + 4 + r * kGlyphCellPx, kGlyphCellPx,
                           kGlyphCellPx);
          painter.fillRect(
              cell, on ? QColor(kNonZeroGray, kNonZeroGray, kNonZeroGray) : QColor(Qt::white));
          painter.setPen(QColor(0xa0, 0xa0, 0xa0));
          painter.drawRect(cell.adjusted(0, 0, -1, -1));
        }
      }
      const double share = m_kernels ? 100.0 * static_cast<double>(m_patterns[i].count) /
                                           static_cast<double>(m_kernels)
                                     : 0.0;
      painter.setPen(palette().color(QPalette::Text));
      const QRect text(x, y + 8 + glyph, slotWidth(), 2 * fm.height());
      painter.drawText(
          text, Qt::AlignHCenter | Qt::AlignTop,
          QStringLiteral("%1\n%2 %").arg(groupDigits(m_patterns[i].count)).arg(share, 0, 'f', 1));
    }
  }

 private:
  int slotWidth() const {
    return std::max(3 * kGlyphCellPx + 16,
                    fontMetrics().horizontalAdvance(QStringLiteral("000,000")) + 8);
  }
  int slotHeight() const { return 3 * kGlyphCellPx + 14 + 2 * fontMetrics().height(); }

  std::vector<prune::PatternCount> m_patterns;
  int64_t m_kernels = 0;
};

LayerInspector::LayerInspector(QWidget* parent) : QWidget(parent) {
  m_stack = new QStackedWidget(this);
  m_empty = new QLabel(m_stack);
  m_empty->setObjectName(QStringLiteral("layerInspectorEmpty"));
  m_empty->setAlignment(Qt::AlignCenter);
  m_empty->setWordWrap(true);
  m_stack->addWidget(m_empty);

  auto* page = new QWidget(m_stack);
  auto* pageLayout = new QVBoxLayout(page);
  auto* top = new QHBoxLayout;
  top->addWidget(new QLabel(tr("Layer:"), page));
  m_layerCombo = new QComboBox(page);
  m_layerCombo->setObjectName(QStringLiteral("layerCombo"));
  m_layerCombo->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  m_layerCombo->setMinimumContentsLength(40);
  top->addWidget(m_layerCombo, 1);
  top->addWidget(new QLabel(tr("Zoom:"), page));
  m_zoomCombo = new QComboBox(page);
  m_zoomCombo->setObjectName(QStringLiteral("zoomCombo"));
  m_zoomCombo->addItem(tr("Fit"), 0);
  for (int z : {1, 2, 4, 8, 16}) m_zoomCombo->addItem(tr("%1 px / weight").arg(z), z);
  top->addWidget(m_zoomCombo);
  pageLayout->addLayout(top);

  auto* body = new QHBoxLayout;
  m_scroll = new QScrollArea(page);
  m_scroll->setObjectName(QStringLiteral("zeroMapScroll"));
  m_mapView = new ZeroMapWidget(m_scroll);
  m_mapView->setObjectName(QStringLiteral("zeroMap"));
  m_scroll->setWidget(m_mapView);
  m_scroll->setWidgetResizable(true);
  body->addWidget(m_scroll, 1);

  auto* side = new QVBoxLayout;
  m_stats = new QLabel(page);
  m_stats->setObjectName(QStringLiteral("layerStats"));
  m_stats->setTextFormat(Qt::RichText);
  m_stats->setWordWrap(true);
  m_stats->setTextInteractionFlags(Qt::TextSelectableByMouse);
  side->addWidget(m_stats);
  // Unicode squares: QLabel's rich text draws no borders, so an empty box would not show.
  auto* legend = new QLabel(tr("<span style='color:#262626'>\u25a0</span> non-zero &nbsp; "
                               "<span style='color:#888'>\u25a1</span> zero<br>"
                               "<span style='color:#666'>rows: output channels; columns: input "
                               "channels \u00d7 kernel cells</span>"),
                            page);
  legend->setWordWrap(true);
  side->addWidget(legend);
  m_patternNote = new QLabel(page);
  m_patternNote->setObjectName(QStringLiteral("patternNote"));
  m_patternNote->setWordWrap(true);
  side->addWidget(m_patternNote);
  m_histogram = new PatternHistogramWidget(page);
  m_histogram->setObjectName(QStringLiteral("patternHistogram"));
  side->addWidget(m_histogram);
  side->addStretch(1);
  auto* sideWidget = new QWidget(page);
  sideWidget->setLayout(side);
  sideWidget->setFixedWidth(340);
  body->addWidget(sideWidget);
  pageLayout->addLayout(body, 1);
  m_stack->addWidget(page);

  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(m_stack);

  connect(m_layerCombo, &QComboBox::currentIndexChanged, this,
          &LayerInspector::onLayerIndexChanged);
  connect(m_zoomCombo, &QComboBox::currentIndexChanged, this,
          [this](int) { setZoom(m_zoomCombo->currentData().toInt()); });
  showEmpty(tr("No model loaded — open an ONNX detector to inspect its convolution weights."));
}

LayerInspector::~LayerInspector() = default;

void LayerInspector::showEmpty(const QString& message) {
  m_empty->setText(message);
  m_stack->setCurrentWidget(m_empty);
}

void LayerInspector::setInspection(std::shared_ptr<const ModelInspection> inspection) {
  const QString previous = currentLayer();
  // The map points into the old graph: drop it before the graph may go.
  m_mapView->setMap(nullptr);
  m_map.reset();
  m_patterns.clear();
  m_histogram->setPatterns({}, 0);
  m_inspection = std::move(inspection);
  m_convLayers = m_inspection ? prune::convWeightLayers(m_inspection->model.graph)
                              : std::vector<prune::ConvWeightLayer>{};
  {
    const QSignalBlocker block(m_layerCombo);
    m_layerCombo->clear();
    for (const prune::ConvWeightLayer& layer : m_convLayers) {
      m_layerCombo->addItem(
          QStringLiteral("%1  \u00b7  %2 [%3]")
              .arg(QString::fromStdString(layer.name), QString::fromStdString(layer.op_type),
                   shapeText(layer.tensor->shape())),
          QString::fromStdString(layer.name));
    }
  }
  if (!m_inspection) {
    showEmpty(tr("No model loaded — open an ONNX detector to inspect its convolution weights."));
    return;
  }
  if (m_convLayers.empty()) {
    showEmpty(tr("%1 has no convolution with constant weights to map.")
                  .arg(QString::fromStdString(m_inspection->path.filename().string())));
    return;
  }
  m_stack->setCurrentIndex(1);
  const int keep = m_layerCombo->findData(previous);
  m_layerCombo->setCurrentIndex(keep >= 0 ? keep : 0);
  onLayerIndexChanged(m_layerCombo->currentIndex());
}

bool LayerInspector::showLayer(const QString& nodeName) {
  const int index = m_layerCombo->findData(nodeName);
  if (index < 0) return false;
  if (index == m_layerCombo->currentIndex()) return true;
  m_layerCombo->setCurrentIndex(index);  // onLayerIndexChanged follows
  return true;
}

QString LayerInspector::currentLayer() const {
  return m_layerCombo->currentIndex() >= 0 ? m_layerCombo->currentData().toString() : QString();
}

void LayerInspector::setZoom(int pixelsPerCell) {
  m_requestedZoom = std::max(0, pixelsPerCell);
  applyZoom();
}

void LayerInspector::applyZoom() {
  int zoom = m_requestedZoom;
  if (zoom > 0 && m_map &&
      std::max(m_map->rows, m_map->cols) * zoom > static_cast<int64_t>(kMaxZoomedSidePx)) {
    zoom = 0;  // a widget that large is slow to lay out and useless to scroll
  }
  m_zoom = zoom;
  {
    const QSignalBlocker block(m_zoomCombo);
    const int index = m_zoomCombo->findData(zoom);
    m_zoomCombo->setCurrentIndex(index >= 0 ? index : 0);
  }
  m_scroll->setWidgetResizable(zoom == 0);
  m_mapView->setZoom(zoom);
  if (zoom > 0) m_mapView->resize(m_mapView->sizeHint());
}

const prune::LayerWeightMap* LayerInspector::currentMap() const {
  return m_map.get();
}

void LayerInspector::onLayerIndexChanged(int index) {
  m_mapView->setMap(nullptr);
  m_map.reset();
  m_patterns.clear();
  if (index < 0 || static_cast<size_t>(index) >= m_convLayers.size()) {
    m_stats->clear();
    m_patternNote->clear();
    m_histogram->setPatterns({}, 0);
    return;
  }
  const prune::ConvWeightLayer& layer = m_convLayers[static_cast<size_t>(index)];
  const QString name = QString::fromStdString(layer.name);
  // One pass over one weight tensor (at most a few million bytes): cheap enough for the GUI
  // thread, unlike loading or running a model.
  Result<prune::LayerWeightMap> map = prune::layerWeightMap(*layer.tensor);
  if (!map) {
    m_stats->setText(QStringLiteral("<b>%1</b><br><span style='color:#c62828'>%2</span>")
                         .arg(name.toHtmlEscaped(),
                              QString::fromStdString(map.status().message()).toHtmlEscaped()));
    m_patternNote->clear();
    m_histogram->setPatterns({}, 0);
    emit currentLayerChanged(name);
    return;
  }
  m_map = std::make_unique<prune::LayerWeightMap>(std::move(map).value());
  const prune::LayerWeightMap& m = *m_map;
  const int64_t inSlots = m.shape.size() > 1 ? m.shape[1] : 0;
  const int64_t kernels = m.kernel_cells ? m.total / m.kernel_cells : 0;
  m_stats->setText(tr("<b>%1</b> (%2)<br>weight <code>%3</code> %4 [%5]"
                      "<p>Zeros: <b>%6</b> / %7 (<b>%8 %</b>)<br>"
                      "Output channels entirely zero: %9 of %10<br>"
                      "Input channels entirely zero: %11 of %12<br>"
                      "Kernels entirely zero: %13 of %14</p>")
                       .arg(name.toHtmlEscaped(), QString::fromStdString(layer.op_type),
                            QString::fromStdString(layer.weight).toHtmlEscaped(),
                            QString::fromStdString(std::string(dtypeName(layer.tensor->dtype()))),
                            shapeText(m.shape), groupDigits(m.zeros), groupDigits(m.total))
                       .arg(100.0 * m.sparsity, 0, 'f', 2)
                       .arg(groupDigits(m.zero_rows), groupDigits(m.rows),
                            groupDigits(m.zero_input_channels), groupDigits(inSlots),
                            groupDigits(m.zero_kernels), groupDigits(kernels)));
  Result<std::vector<prune::PatternCount>> patterns = prune::kernelPatternHistogram(*layer.tensor);
  if (patterns) {
    m_patterns = std::move(patterns).value();
    int64_t shown = 0;
    for (size_t i = 0; i < m_patterns.size() && i < static_cast<size_t>(kTopPatterns); ++i) {
      shown += m_patterns[i].count;
    }
    QString note = tr("<b>3\u00d73 kernel patterns:</b> %1 distinct in %2 kernels")
                       .arg(m_patterns.size())
                       .arg(groupDigits(kernels));
    if (m_patterns.size() > static_cast<size_t>(kTopPatterns)) {
      note += tr("; the top %1 cover %2 %")
                  .arg(kTopPatterns)
                  .arg(kernels ? 100.0 * static_cast<double>(shown) / static_cast<double>(kernels)
                               : 0.0,
                       0, 'f', 1);
    }
    m_patternNote->setText(note);
    m_histogram->setPatterns(m_patterns, kernels);
  } else {
    m_patternNote->setText(tr("Kernel patterns are counted for 3\u00d73 kernels; this layer's are "
                              "%1.")
                               .arg(shapeText(Shape(m.shape.begin() + 2, m.shape.end()))));
    m_histogram->setPatterns({}, 0);
  }
  m_mapView->setMap(m_map.get());
  applyZoom();
  emit currentLayerChanged(name);
}

QString LayerInspector::statsText() const {
  QTextDocument doc;
  doc.setHtml(m_stats->text());
  return doc.toPlainText();
}

}  // namespace detslim::ui
