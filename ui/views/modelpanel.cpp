#include "ui/views/modelpanel.h"

#include <QComboBox>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QStackedWidget>
#include <QTableView>
#include <QTextBrowser>
#include <QVBoxLayout>
#include <algorithm>
#include <map>

#include "ui/models/format.h"
#include "ui/models/layertablemodel.h"
#include "ui/models/sparsitybardelegate.h"

namespace detslim::ui {

// Filters on the op combo (exact op type) and the text (substring of op or name) together.
class LayerFilterProxy : public QSortFilterProxyModel {
 public:
  using QSortFilterProxyModel::QSortFilterProxyModel;

  void setText(const QString& text) {
    m_text = text.trimmed();
    invalidateFilter();
  }
  void setOpType(const QString& opType) {
    m_opType = opType;
    invalidateFilter();
  }

 protected:
  bool filterAcceptsRow(int row, const QModelIndex& parent) const override {
    const QModelIndex index = sourceModel()->index(row, 0, parent);
    const QString op = index.data(LayerTableModel::kOpTypeRole).toString();
    if (!m_opType.isEmpty() && op != m_opType) return false;
    if (m_text.isEmpty()) return true;
    return op.contains(m_text, Qt::CaseInsensitive) || index.data(LayerTableModel::kNodeNameRole)
                                                           .toString()
                                                           .contains(m_text, Qt::CaseInsensitive);
  }

 private:
  QString m_text;
  QString m_opType;
};

namespace {

QString esc(const std::string& s) {
  return QString::fromStdString(s).toHtmlEscaped();
}

QString valueRows(const std::vector<ValueInfo>& values, const Graph& graph, bool skipInitializers) {
  QString html;
  for (const ValueInfo& v : values) {
    if (skipInitializers && graph.isInitializer(v.name)) continue;
    const TensorType* type = graph.typeOf(v.name);
    html += QStringLiteral("<br><code>%1</code> &nbsp;%2")
                .arg(esc(v.name), type ? esc(type->toString()) : QObject::tr("(type unknown)"));
  }
  return html;
}

QString row(const QString& key, const QString& value) {
  return QStringLiteral("<tr><td style='color:#555;padding-right:12px'>%1</td><td>%2</td></tr>")
      .arg(key, value);
}

}  // namespace

QString modelPanelSummaryHtml(const ModelInspection& in) {
  const Model& m = in.model;
  const ModelStats& s = in.stats;
  const QString path = QString::fromStdString(in.path.string());
  QString left;
  left += row(QObject::tr("Inputs"), valueRows(m.graph.inputs, m.graph, true).mid(4));
  left += row(QObject::tr("Outputs"), valueRows(m.graph.outputs, m.graph, false).mid(4));
  QStringList opsets;
  for (const OpsetImport& o : m.opset_imports) {
    opsets << QStringLiteral("%1 %2")
                  .arg(o.domain.empty() ? QStringLiteral("ai.onnx") : esc(o.domain))
                  .arg(o.version);
  }
  left += row(
      QObject::tr("Format"),
      QObject::tr("ONNX IR %1, opset %2").arg(m.ir_version).arg(opsets.join(QStringLiteral(", "))));
  if (!m.producer_name.empty()) {
    left += row(QObject::tr("Producer"), esc(m.producer_name + " " + m.producer_version));
  }
  left += row(QObject::tr("Checker"), !in.report.checker_ran     ? QObject::tr("not run")
                                      : in.report.checker_passed ? QObject::tr("passed")
                                                                 : QObject::tr("failed"));
  QString right;
  right += row(QObject::tr("Parameters"),
               QStringLiteral("%1 (%2)").arg(groupDigits(s.params), humanCount(s.params)));
  right +=
      row(QObject::tr("MACs"),
          QObject::tr("%1 (%2), Conv/Gemm/MatMul").arg(groupDigits(s.macs), humanCount(s.macs)));
  right += row(QObject::tr("File size"),
               QObject::tr("%1 bytes (%2)")
                   .arg(groupDigits(in.report.file_bytes), humanBytes(in.report.file_bytes)));
  QStringList byDtype;
  for (const auto& [dtype, bytes] : s.weight_bytes_by_dtype) {
    byDtype << QStringLiteral("%1 %2").arg(esc(dtype), groupDigits(bytes));
  }
  right += row(QObject::tr("Weight bytes"),
               QStringLiteral("%1 (%2) &nbsp;%3")
                   .arg(groupDigits(s.weight_bytes), humanBytes(s.weight_bytes),
                        byDtype.join(QStringLiteral(", "))));
  const double sparsity = s.weight_elements ? 100.0 * static_cast<double>(s.weight_zeros) /
                                                  static_cast<double>(s.weight_elements)
                                            : 0.0;
  right += row(QObject::tr("Weight sparsity"),
               QObject::tr("%1 % of Conv/Gemm/MatMul weights are zero").arg(sparsity, 0, 'f', 2));
  right += row(QObject::tr("Nodes"), QObject::tr("%1 (%2 op types), %3 initializers")
                                         .arg(s.nodes)
                                         .arg(s.op_counts.size())
                                         .arg(s.initializers));
  QString engine;
  if (in.unsupported_ops.empty()) {
    engine = QObject::tr("<span style='color:#2e7d32'>runs every op</span>");
  } else {
    QStringList ops;
    for (const UnsupportedOp& u : in.unsupported_ops) {
      const std::string op = (u.domain.empty() ? "" : u.domain + "::") + u.op_type;
      QString nodes = esc(u.nodes.front());
      if (u.nodes.size() > 1) nodes += QStringLiteral(", ") + esc(u.nodes[1]);
      if (u.nodes.size() > 2) nodes += QStringLiteral(", …");
      ops << QStringLiteral("<b>%1</b> ×%2 (%3)").arg(esc(op)).arg(u.nodes.size()).arg(nodes);
    }
    engine = QObject::tr("<span style='color:#c62828'>cannot run yet: %1</span>")
                 .arg(ops.join(QStringLiteral("; ")));
  }
  right += row(QObject::tr("Engine"), engine);

  QString html = QStringLiteral("<h3 style='margin:0'>%1</h3><div style='color:#666'>%2</div>")
                     .arg(QFileInfo(path).fileName().toHtmlEscaped(), path.toHtmlEscaped());
  html += QStringLiteral(
              "<table width='100%'><tr><td valign='top' width='45%'><table>%1</table>"
              "</td><td valign='top'><table>%2</table></td></tr></table>")
              .arg(left, right);
  if (!in.class_names.empty()) {
    QStringList names;
    for (const std::string& n : in.class_names) names << esc(n);
    html += QObject::tr(
                "<p style='margin-top:4px'><b>%1 classes:</b> "
                "<span style='color:#444'>%2</span></p>")
                .arg(in.class_names.size())
                .arg(names.join(QStringLiteral(", ")));
  } else {
    html += QObject::tr("<p><b>Classes:</b> no names in the metadata</p>");
  }
  QStringList problems;
  for (const std::string& w : in.report.warnings) problems << esc(w);
  if (!s.nan_inf_initializers.empty()) {
    problems << QObject::tr("NaN or Inf in %1 initializers").arg(s.nan_inf_initializers.size());
  }
  if (!problems.isEmpty()) {
    html += QStringLiteral("<p style='color:#c62828'>%1</p>")
                .arg(problems.join(QStringLiteral("<br>")));
  }
  return html;
}

ModelPanel::ModelPanel(QWidget* parent) : QWidget(parent) {
  m_layers = new LayerTableModel(this);
  m_proxy = new LayerFilterProxy(this);
  m_proxy->setSourceModel(m_layers);
  m_proxy->setSortRole(LayerTableModel::kSortRole);

  m_stack = new QStackedWidget(this);
  auto* empty = new QLabel(tr("No model loaded — open an ONNX detector with File ▸ Open Model… "
                              "or drop an .onnx file on the window."),
                           m_stack);
  empty->setObjectName(QStringLiteral("modelPanelEmpty"));
  empty->setAlignment(Qt::AlignCenter);
  empty->setWordWrap(true);
  m_stack->addWidget(empty);

  auto* splitter = new QSplitter(Qt::Vertical, m_stack);
  m_summary = new QTextBrowser(splitter);
  m_summary->setObjectName(QStringLiteral("modelPanelSummary"));
  m_summary->setOpenLinks(false);
  splitter->addWidget(m_summary);

  auto* tablePage = new QWidget(splitter);
  auto* tableLayout = new QVBoxLayout(tablePage);
  tableLayout->setContentsMargins(0, 0, 0, 0);
  auto* filterRow = new QHBoxLayout;
  m_filter = new QLineEdit(tablePage);
  m_filter->setObjectName(QStringLiteral("layerFilter"));
  m_filter->setPlaceholderText(tr("Filter layers by op or name"));
  m_filter->setClearButtonEnabled(true);
  m_opCombo = new QComboBox(tablePage);
  m_opCombo->setObjectName(QStringLiteral("opTypeFilter"));
  m_opCombo->setSizeAdjustPolicy(QComboBox::AdjustToContents);
  m_count = new QLabel(tablePage);
  m_count->setObjectName(QStringLiteral("layerCount"));
  filterRow->addWidget(m_filter, 1);
  filterRow->addWidget(m_opCombo);
  filterRow->addWidget(m_count);
  tableLayout->addLayout(filterRow);

  m_table = new QTableView(tablePage);
  m_table->setObjectName(QStringLiteral("layerTable"));
  m_table->setModel(m_proxy);
  m_table->setSortingEnabled(true);
  m_table->sortByColumn(-1, Qt::AscendingOrder);  // topological order until a header is clicked
  m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
  m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
  m_table->setAlternatingRowColors(true);
  m_table->setWordWrap(false);
  m_table->verticalHeader()->setDefaultSectionSize(m_table->fontMetrics().height() + 6);
  m_table->setItemDelegateForColumn(LayerTableModel::kSparsity,
                                    new SparsityBarDelegate(LayerTableModel::kSparsityRole, this));
  QHeaderView* header = m_table->horizontalHeader();
  header->setSectionResizeMode(QHeaderView::Interactive);
  header->setStretchLastSection(true);
  tableLayout->addWidget(m_table, 1);
  splitter->addWidget(tablePage);
  splitter->setStretchFactor(0, 0);
  splitter->setStretchFactor(1, 1);
  splitter->setSizes({260, 540});
  m_stack->addWidget(splitter);

  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(m_stack);

  connect(m_filter, &QLineEdit::textChanged, this, [this](const QString& text) {
    m_proxy->setText(text);
    updateCountLabel();
  });
  connect(m_opCombo, &QComboBox::currentIndexChanged, this, [this](int) {
    m_proxy->setOpType(m_opCombo->currentData().toString());
    updateCountLabel();
  });
  connect(m_table, &QTableView::activated, this, [this](const QModelIndex& index) {
    emit layerActivated(index.data(LayerTableModel::kNodeNameRole).toString());
  });
  setInspection(nullptr);
}

ModelPanel::~ModelPanel() = default;

QSortFilterProxyModel* ModelPanel::proxyModel() const {
  return m_proxy;
}

void ModelPanel::setInspection(std::shared_ptr<const ModelInspection> inspection) {
  m_inspection = std::move(inspection);
  m_layers->setInspection(m_inspection);
  m_filter->clear();
  rebuildOpCombo();
  if (!m_inspection) {
    m_summary->clear();
    m_stack->setCurrentIndex(0);
    updateCountLabel();
    return;
  }
  m_summary->setHtml(modelPanelSummaryHtml(*m_inspection));
  m_stack->setCurrentIndex(1);
  m_table->resizeColumnsToContents();
  // Names of deep graphs are long; cap so the numeric columns stay on screen.
  for (int c : {LayerTableModel::kName, LayerTableModel::kInputs, LayerTableModel::kOutputs}) {
    m_table->setColumnWidth(c, std::min(m_table->columnWidth(c), 260));
  }
  m_table->setColumnWidth(LayerTableModel::kSparsity, 110);
  updateCountLabel();
}

void ModelPanel::rebuildOpCombo() {
  const QSignalBlocker block(m_opCombo);
  m_opCombo->clear();
  m_opCombo->addItem(tr("All ops (%1)").arg(m_layers->rowCount()), QString());
  if (m_inspection) {
    std::map<std::string, int> counts;  // by bare op type, as the table's op column shows it
    for (const LayerStats& layer : m_inspection->stats.layers) ++counts[layer.op_type];
    for (const auto& [op, n] : counts) {
      m_opCombo->addItem(QStringLiteral("%1 (%2)").arg(QString::fromStdString(op)).arg(n),
                         QString::fromStdString(op));
    }
  }
  m_opCombo->setCurrentIndex(0);
  m_proxy->setOpType(QString());
}

void ModelPanel::setFilterText(const QString& text) {
  m_filter->setText(text);
}

void ModelPanel::setOpTypeFilter(const QString& opType) {
  const int index = m_opCombo->findData(opType);
  m_opCombo->setCurrentIndex(index < 0 ? 0 : index);
}

int ModelPanel::visibleLayerCount() const {
  return m_proxy->rowCount();
}

QString ModelPanel::summaryText() const {
  return m_summary->toPlainText();
}

void ModelPanel::updateCountLabel() {
  const int total = m_layers->rowCount();
  const int shown = m_proxy->rowCount();
  m_count->setText(shown == total ? tr("%1 layers").arg(total)
                                  : tr("%1 of %2 layers").arg(shown).arg(total));
}

}  // namespace detslim::ui
