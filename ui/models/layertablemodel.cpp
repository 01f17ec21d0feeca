#include "ui/models/layertablemodel.h"

#include <QBrush>
#include <QColor>
#include <QStringList>

#include "ui/models/format.h"

namespace detslim::ui {

namespace {

QString unsupportedKey(const std::string& domain, const std::string& op_type) {
  return QString::fromStdString(domain) + QLatin1Char('\n') + QString::fromStdString(op_type);
}

QString joined(const std::vector<std::string>& parts) {
  QStringList list;
  for (const std::string& p : parts) {
    if (!p.empty()) list << QString::fromStdString(p);
  }
  return list.join(QStringLiteral(", "));
}

}  // namespace

LayerTableModel::LayerTableModel(QObject* parent) : QAbstractTableModel(parent) {}

void LayerTableModel::setInspection(std::shared_ptr<const ModelInspection> inspection) {
  beginResetModel();
  m_inspection = std::move(inspection);
  m_unsupported.clear();
  m_activationInputs.clear();
  if (m_inspection) {
    for (const UnsupportedOp& op : m_inspection->unsupported_ops) {
      m_unsupported.insert(unsupportedKey(op.domain, op.op_type));
    }
    // Weights and biases have their own columns (params); the inputs column shows what flows.
    const Graph& graph = m_inspection->model.graph;
    for (const LayerStats& layer : m_inspection->stats.layers) {
      QStringList shapes;
      if (layer.node_index < graph.nodes.size()) {
        const Node& node = graph.nodes[layer.node_index];
        for (size_t i = 0; i < node.inputs.size() && i < layer.input_shapes.size(); ++i) {
          if (node.inputs[i].empty() || graph.isInitializer(node.inputs[i])) continue;
          shapes << QString::fromStdString(layer.input_shapes[i]);
        }
      }
      m_activationInputs.push_back(shapes.join(QStringLiteral(", ")));
    }
  }
  endResetModel();
}

int LayerTableModel::rowOfLayer(const QString& name) const {
  if (!m_inspection) return -1;
  const std::string key = name.toStdString();
  const std::vector<LayerStats>& layers = m_inspection->stats.layers;
  for (size_t i = 0; i < layers.size(); ++i) {
    if (layers[i].name == key) return static_cast<int>(i);
  }
  return -1;
}

int LayerTableModel::unsupportedCount() const {
  int n = 0;
  for (int row = 0; row < rowCount(); ++row) n += isUnsupported(row);
  return n;
}

int LayerTableModel::rowCount(const QModelIndex& parent) const {
  if (parent.isValid() || !m_inspection) return 0;
  return static_cast<int>(m_inspection->stats.layers.size());
}

int LayerTableModel::columnCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : kColumnCount;
}

bool LayerTableModel::isUnsupported(int row) const {
  if (m_unsupported.isEmpty()) return false;
  const LayerStats& layer = m_inspection->stats.layers[static_cast<size_t>(row)];
  const Graph& graph = m_inspection->model.graph;
  const std::string domain =
      layer.node_index < graph.nodes.size() ? graph.nodes[layer.node_index].domain : std::string();
  return m_unsupported.contains(unsupportedKey(domain, layer.op_type));
}

QVariant LayerTableModel::displayData(int row, int column) const {
  const LayerStats& layer = m_inspection->stats.layers[static_cast<size_t>(row)];
  switch (column) {
    case kOp:
      return QString::fromStdString(layer.op_type);
    case kName:
      return QString::fromStdString(layer.name);
    case kInputs:
      return m_activationInputs[static_cast<size_t>(row)];
    case kOutputs:
      return joined(layer.output_shapes);
    case kParams:
      return layer.params ? groupDigits(layer.params) : QString();
    case kMacs:
      if (!layer.macs_known) return QStringLiteral("?");
      return layer.macs ? groupDigits(layer.macs) : QString();
    case kSparsity:
      if (!layer.weight_elements) return QString();
      return QStringLiteral("%1 %").arg(100.0 * layer.sparsity, 0, 'f', 1);
    case kEngine:
      return isUnsupported(row) ? tr("unsupported") : QString();
    default:
      return {};
  }
}

QVariant LayerTableModel::sortData(int row, int column) const {
  const LayerStats& layer = m_inspection->stats.layers[static_cast<size_t>(row)];
  switch (column) {
    case kParams:
      return static_cast<qlonglong>(layer.params);
    case kMacs:
      return layer.macs_known ? QVariant(static_cast<qlonglong>(layer.macs)) : QVariant();
    case kSparsity:
      return layer.weight_elements ? QVariant(layer.sparsity) : QVariant();
    case kEngine:
      return isUnsupported(row) ? 1 : 0;
    default:
      return displayData(row, column);
  }
}

QVariant LayerTableModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || !m_inspection || index.row() >= rowCount()) return {};
  const int row = index.row();
  const LayerStats& layer = m_inspection->stats.layers[static_cast<size_t>(row)];
  switch (role) {
    case Qt::DisplayRole:
      return displayData(row, index.column());
    case kSortRole:
      return sortData(row, index.column());
    case kNodeNameRole:
      return QString::fromStdString(layer.name);
    case kOpTypeRole:
      return QString::fromStdString(layer.op_type);
    case kUnsupportedRole:
      return isUnsupported(row);
    case kSparsityRole:
      return layer.weight_elements ? QVariant(layer.sparsity) : QVariant();
    case kNodeIndexRole:
      return static_cast<qulonglong>(layer.node_index);
    case Qt::TextAlignmentRole:
      if (index.column() == kParams || index.column() == kMacs) {
        return static_cast<int>(Qt::AlignRight | Qt::AlignVCenter);
      }
      return {};
    case Qt::ForegroundRole:
      if (isUnsupported(row) && (index.column() == kOp || index.column() == kEngine)) {
        return QBrush(QColor(0xc6, 0x28, 0x28));
      }
      return {};
    case Qt::ToolTipRole:
      if (index.column() == kInputs) return joined(layer.input_shapes);
      if (index.column() == kEngine && isUnsupported(row)) {
        return tr("DetSlim's engine cannot run %1 yet").arg(QString::fromStdString(layer.op_type));
      }
      if (index.column() == kSparsity && layer.weight_elements) {
        return tr("%1 of %2 weights are zero")
            .arg(groupDigits(layer.weight_zeros), groupDigits(layer.weight_elements));
      }
      return displayData(row, index.column());
    default:
      return {};
  }
}

QVariant LayerTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || role != Qt::DisplayRole) {
    return QAbstractTableModel::headerData(section, orientation, role);
  }
  switch (section) {
    case kOp:
      return tr("Op");
    case kName:
      return tr("Name");
    case kInputs:
      return tr("Input shape");
    case kOutputs:
      return tr("Output shape");
    case kParams:
      return tr("Params");
    case kMacs:
      return tr("MACs");
    case kSparsity:
      return tr("Sparsity");
    case kEngine:
      return tr("Engine");
    default:
      return {};
  }
}

}  // namespace detslim::ui
