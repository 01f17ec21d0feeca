#pragma once
// The model panel: what an inspected model holds (inputs / outputs with shapes, params, MACs,
// file and weight bytes, opset, class names, the ops the engine cannot run yet, in red) above a
// sortable, filterable table of its layers. Shows an empty state until a model is set.

#include <QWidget>
#include <memory>

#include "core/workbench/inspect.h"

class QComboBox;
class QLabel;
class QLineEdit;
class QSortFilterProxyModel;
class QStackedWidget;
class QTableView;
class QTextBrowser;

namespace detslim::ui {

class LayerTableModel;
class LayerFilterProxy;

class ModelPanel : public QWidget {
  Q_OBJECT

 public:
  explicit ModelPanel(QWidget* parent = nullptr);
  ~ModelPanel() override;

  // Shows this model (nullptr: the empty state). Filters are reset.
  void setInspection(std::shared_ptr<const ModelInspection> inspection);
  const std::shared_ptr<const ModelInspection>& inspection() const { return m_inspection; }

  // Keeps rows whose op or name contains `text` (case-insensitive); "" keeps all.
  void setFilterText(const QString& text);
  // Keeps rows of exactly this op type; "" keeps all. Unknown types select "all".
  void setOpTypeFilter(const QString& opType);
  // Rows left after both filters.
  int visibleLayerCount() const;

  LayerTableModel* layerModel() const { return m_layers; }
  QSortFilterProxyModel* proxyModel() const;
  QTableView* layerTable() const { return m_table; }
  // The summary as plain text (what a reader of the panel sees above the table).
  QString summaryText() const;

 signals:
  // A layer row was double-clicked (or activated with Enter); nodeName is LayerStats::name.
  void layerActivated(const QString& nodeName);

 private:
  void rebuildOpCombo();
  void updateCountLabel();

  std::shared_ptr<const ModelInspection> m_inspection;
  LayerTableModel* m_layers = nullptr;
  LayerFilterProxy* m_proxy = nullptr;
  QStackedWidget* m_stack = nullptr;
  QTextBrowser* m_summary = nullptr;
  QLineEdit* m_filter = nullptr;
  QComboBox* m_opCombo = nullptr;
  QLabel* m_count = nullptr;
  QTableView* m_table = nullptr;
};

// Summary of a model as HTML (used by the panel; exposed for reports).
QString modelPanelSummaryHtml(const ModelInspection& inspection);

}  // namespace detslim::ui
