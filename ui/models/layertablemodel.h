#pragma once
// One row per node of an inspected model (core's LayerStats, in topological order): op, name,
// activation input / output shapes, params, MACs, weight sparsity and whether DetSlim's engine
// can run the op. Read-only; the model panel sorts and filters it through a proxy.

#include <QAbstractTableModel>
#include <QSet>
#include <memory>

#include "core/workbench/inspect.h"

namespace detslim::ui {

class LayerTableModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  enum Column { kOp, kName, kInputs, kOutputs, kParams, kMacs, kSparsity, kEngine, kColumnCount };
  enum Role {
    // Numbers for the numeric columns (params, MACs, sparsity), text otherwise; what the proxy
    // sorts by. Sparsity of a layer without a weight is invalid so it sorts after real values.
    kSortRole = Qt::UserRole + 1,
    kNodeNameRole,     // LayerStats::name (QString), the key showLayer / layerActivated use
    kOpTypeRole,       // op_type (QString)
    kUnsupportedRole,  // bool: the engine's op list lacks this op
    kSparsityRole,     // double in [0, 1], invalid when the layer has no weight
    kNodeIndexRole,    // index into inspection->model.graph.nodes
  };

  explicit LayerTableModel(QObject* parent = nullptr);

  // Replaces the rows (nullptr: no model, no rows). The inspection is kept alive by the model.
  void setInspection(std::shared_ptr<const ModelInspection> inspection);
  const std::shared_ptr<const ModelInspection>& inspection() const { return m_inspection; }
  // Row of the layer with this name, or -1.
  int rowOfLayer(const QString& name) const;
  // Rows whose op the engine does not support.
  int unsupportedCount() const;

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation,
                      int role = Qt::DisplayRole) const override;

 private:
  QVariant displayData(int row, int column) const;
  QVariant sortData(int row, int column) const;
  bool isUnsupported(int row) const;

  std::shared_ptr<const ModelInspection> m_inspection;
  // "domain\nop_type" keys of core's unsupported op list, looked up per row.
  QSet<QString> m_unsupported;
  std::vector<QString> m_activationInputs;  // per row: non-initializer input shapes, joined
};

}  // namespace detslim::ui
