#pragma once
// The layer inspector: for one convolution of the loaded model, its weight drawn as a zero /
// non-zero map (one cell per weight; rows = output channels, columns = input channels x kernel
// cells; zero white, non-zero dark; fit or a fixed zoom), its zero statistics, and for 3x3
// kernels the histogram of kernel patterns (9-bit masks, top 16 drawn as 3x3 glyphs). After
// R-TOSS the histogram shows the handful of patterns the pruner kept.

#include <QWidget>
#include <memory>
#include <vector>

#include "core/prune/patterns.h"
#include "core/workbench/inspect.h"

class QComboBox;
class QLabel;
class QScrollArea;
class QStackedWidget;

namespace detslim::ui {

class ZeroMapWidget;
class PatternHistogramWidget;

class LayerInspector : public QWidget {
  Q_OBJECT

 public:
  explicit LayerInspector(QWidget* parent = nullptr);
  ~LayerInspector() override;

  // Lists the model's convolutions with constant weights; keeps the shown layer when the new
  // model has one of the same name (a pruned copy), else shows the first. nullptr: empty state.
  void setInspection(std::shared_ptr<const ModelInspection> inspection);
  // Selects the layer with this name (LayerStats::name); false when it is no conv with weights.
  bool showLayer(const QString& nodeName);
  QString currentLayer() const;
  // Cells per weight in pixels; 0 fits the whole map into the view.
  void setZoom(int pixelsPerCell);
  int zoom() const { return m_zoom; }

  // What is shown, for tests and other views: nullptr / empty when nothing is.
  const prune::LayerWeightMap* currentMap() const;
  const std::vector<prune::PatternCount>& currentPatterns() const { return m_patterns; }
  // The statistics as plain text, as the panel shows them.
  QString statsText() const;
  int layerCount() const { return static_cast<int>(m_convLayers.size()); }

 signals:
  void currentLayerChanged(const QString& nodeName);

 private:
  void onLayerIndexChanged(int index);
  void showEmpty(const QString& message);
  // Applies m_requestedZoom, or fit when the map would be too large at that zoom.
  void applyZoom();

  std::shared_ptr<const ModelInspection> m_inspection;
  std::vector<prune::ConvWeightLayer> m_convLayers;  // tensors point into m_inspection's graph
  std::unique_ptr<prune::LayerWeightMap> m_map;
  std::vector<prune::PatternCount> m_patterns;
  int m_requestedZoom = 0;  // what the user chose
  int m_zoom = 0;           // what is shown

  QStackedWidget* m_stack = nullptr;
  QLabel* m_empty = nullptr;
  QComboBox* m_layerCombo = nullptr;
  QComboBox* m_zoomCombo = nullptr;
  QScrollArea* m_scroll = nullptr;
  ZeroMapWidget* m_mapView = nullptr;
  QLabel* m_stats = nullptr;
  QLabel* m_patternNote = nullptr;
  PatternHistogramWidget* m_histogram = nullptr;
};

}  // namespace detslim::ui
