#include "ui/charts/chartsview.h"

#include <QChartView>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

#include "ui/charts/chart_export.h"

namespace detslim::ui {

ChartsView::ChartsView(QWidget* parent) : QWidget(parent) {
  m_kindCombo = new QComboBox(this);
  m_kindCombo->setObjectName(QStringLiteral("chartKind"));
  for (ChartKind k : allChartKinds()) {
    m_kindCombo->addItem(chartKindTitle(k), static_cast<int>(k));
  }
  m_metricLabel = new QLabel(tr("Metric"), this);
  m_metricCombo = new QComboBox(this);
  m_metricCombo->setObjectName(QStringLiteral("mapMetric"));
  m_metricCombo->addItem(QStringLiteral("mAP50-95"), static_cast<int>(MapMetric::kMap5095));
  m_metricCombo->addItem(QStringLiteral("mAP50"), static_cast<int>(MapMetric::kMap50));
  m_latencyLabel = new QLabel(tr("Latency"), this);
  m_latencyCombo = new QComboBox(this);
  m_latencyCombo->setObjectName(QStringLiteral("latencyKind"));
  m_latencyCombo->addItem(tr("inference"), static_cast<int>(LatencyKind::kInference));
  m_latencyCombo->addItem(tr("end-to-end"), static_cast<int>(LatencyKind::kEndToEnd));
  m_batchLabel = new QLabel(tr("Batch"), this);
  m_batchCombo = new QComboBox(this);
  m_batchCombo->setObjectName(QStringLiteral("throughputBatch"));
  m_batchCombo->addItem(QStringLiteral("1"), 1);
  m_exportButton = new QPushButton(tr("Export…"), this);
  m_exportButton->setObjectName(QStringLiteral("exportChart"));
  m_exportButton->setToolTip(tr("Save the chart shown as PNG or SVG at a chosen size"));

  auto* bar = new QHBoxLayout;
  bar->addWidget(new QLabel(tr("Chart"), this));
  bar->addWidget(m_kindCombo, 1);
  bar->addWidget(m_metricLabel);
  bar->addWidget(m_metricCombo);
  bar->addWidget(m_latencyLabel);
  bar->addWidget(m_latencyCombo);
  bar->addWidget(m_batchLabel);
  bar->addWidget(m_batchCombo);
  bar->addStretch();
  bar->addWidget(m_exportButton);

  m_chartView = new QChartView(this);
  m_chartView->setObjectName(QStringLiteral("chartView"));
  m_chartView->setRenderHint(QPainter::Antialiasing);
  m_notes = new QLabel(this);
  m_notes->setObjectName(QStringLiteral("chartNotes"));
  m_notes->setWordWrap(true);
  m_notes->setStyleSheet(QStringLiteral("color: #555;"));

  auto* layout = new QVBoxLayout(this);
  layout->addLayout(bar);
  layout->addWidget(m_chartView, 1);
  layout->addWidget(m_notes);

  connect(m_kindCombo, &QComboBox::currentIndexChanged, this, [this] {
    const auto k = static_cast<ChartKind>(m_kindCombo->currentData().toInt());
    if (k == m_kind) return;
    m_kind = k;
    rebuild();
    emit kindChanged(m_kind);
  });
  for (QComboBox* c : {m_metricCombo, m_latencyCombo, m_batchCombo}) {
    connect(c, &QComboBox::currentIndexChanged, this, [this] { rebuild(); });
  }
  connect(m_exportButton, &QPushButton::clicked, this, &ChartsView::exportWithDialog);
  rebuild();
}

ChartsView::~ChartsView() = default;  // the chart view owns m_chart

void ChartsView::setRuns(std::vector<store::RunRecord> runs, int64_t baseline_id) {
  m_runs = std::move(runs);
  m_baselineId = baseline_id;
  // Offer the batches the runs measured; keep the chosen one when it is still there.
  const int batch = m_batchCombo->currentData().toInt();
  std::vector<int> batches = throughputBatches(m_runs);
  if (batches.empty()) batches = {1};
  QSignalBlocker block(m_batchCombo);
  m_batchCombo->clear();
  for (int b : batches) m_batchCombo->addItem(QString::number(b), b);
  const int keep = m_batchCombo->findData(batch);
  m_batchCombo->setCurrentIndex(keep >= 0 ? keep : 0);
  rebuild();
}

void ChartsView::setSelectedRun(int64_t run_id) {
  if (run_id == m_selectedRun) return;
  m_selectedRun = run_id;
  if (chartKindNeedsRun(m_kind)) rebuild();
}

void ChartsView::setKind(ChartKind kind) {
  m_kindCombo->setCurrentIndex(m_kindCombo->findData(static_cast<int>(kind)));
}

ChartOptions ChartsView::options() const {
  ChartOptions o;
  o.metric = static_cast<MapMetric>(m_metricCombo->currentData().toInt());
  o.latency = static_cast<LatencyKind>(m_latencyCombo->currentData().toInt());
  o.batch = m_batchCombo->currentData().toInt() > 0 ? m_batchCombo->currentData().toInt() : 1;
  o.run_id = m_selectedRun;
  return o;
}

void ChartsView::updateOptionWidgets() {
  const bool metric = m_kind == ChartKind::kTradeoff || m_kind == ChartKind::kSparsity;
  const bool latency = m_kind == ChartKind::kTradeoff || m_kind == ChartKind::kLatencyBars ||
                       m_kind == ChartKind::kHistogram;
  const bool batch = m_kind == ChartKind::kThroughputBars;
  m_metricLabel->setVisible(metric);
  m_metricCombo->setVisible(metric);
  m_latencyLabel->setVisible(latency);
  m_latencyCombo->setVisible(latency);
  m_batchLabel->setVisible(batch);
  m_batchCombo->setVisible(batch);
}

void ChartsView::rebuild() {
  updateOptionWidgets();
  // setChart releases, but does not delete, the previous chart (at first the view's own).
  QChart* previous = m_chartView->chart();
  m_chart = buildChart(m_kind, m_runs, m_baselineId, options());
  m_chartView->setChart(m_chart);
  delete previous;
  m_exportButton->setEnabled(m_chart->emptyMessage().isEmpty());
  const QStringList notes = m_chart->notes();
  m_notes->setText(notes.join(QStringLiteral("; ")));
  m_notes->setVisible(!notes.isEmpty());
}

Status ChartsView::exportCurrentChart(const QString& path, const QSize& size) {
  // A fresh chart: resizing the one on screen to the export size would make the view jump.
  const Status st = exportChart(m_kind, m_runs, m_baselineId, options(), path, size);
  if (st) emit chartExported(path);
  return st;
}

void ChartsView::exportWithDialog() {
  QString suggested = m_lastExportPath;
  if (suggested.isEmpty()) {
    suggested = QDir::home().filePath(QStringLiteral("detslim-%1.png").arg(chartKindName(m_kind)));
  }
  ExportChartDialog dialog(suggested, m_lastExportSize, this);
  if (dialog.exec() != QDialog::Accepted) return;
  m_lastExportPath = dialog.path();
  m_lastExportSize = dialog.imageSize();
  const Status st = exportCurrentChart(dialog.path(), dialog.imageSize());
  if (!st) {
    QMessageBox box(QMessageBox::Warning, tr("Export failed"), QString::fromStdString(st.message()),
                    QMessageBox::Ok, this);
    box.setObjectName(QStringLiteral("exportErrorDialog"));
    box.exec();
  }
}

// ---- ExportChartDialog ----

ExportChartDialog::ExportChartDialog(const QString& path, const QSize& size, QWidget* parent)
    : QDialog(parent) {
  setWindowTitle(tr("Export chart"));
  m_path = new QLineEdit(path, this);
  m_path->setObjectName(QStringLiteral("exportPath"));
  auto* browse_button = new QPushButton(tr("Browse…"), this);
  m_width = new QSpinBox(this);
  m_width->setObjectName(QStringLiteral("exportWidth"));
  m_height = new QSpinBox(this);
  m_height->setObjectName(QStringLiteral("exportHeight"));
  for (QSpinBox* b : {m_width, m_height}) {
    b->setRange(kMinExportSide, kMaxExportSide);
    b->setSuffix(tr(" px"));
  }
  m_width->setValue(size.width());
  m_height->setValue(size.height());
  auto* path_row = new QHBoxLayout;
  path_row->addWidget(m_path, 1);
  path_row->addWidget(browse_button);
  auto* form = new QFormLayout;
  form->addRow(tr("File (.png or .svg)"), path_row);
  form->addRow(tr("Width"), m_width);
  form->addRow(tr("Height"), m_height);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
  m_ok = buttons->button(QDialogButtonBox::Ok);
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(form);
  layout->addWidget(buttons);
  connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
  connect(browse_button, &QPushButton::clicked, this, &ExportChartDialog::browse);
  connect(m_path, &QLineEdit::textChanged, this, &ExportChartDialog::validate);
  validate();
}

QString ExportChartDialog::path() const {
  return m_path->text().trimmed();
}

QSize ExportChartDialog::imageSize() const {
  return {m_width->value(), m_height->value()};
}

void ExportChartDialog::browse() {
  const QString chosen = QFileDialog::getSaveFileName(this, tr("Export chart"), path(),
                                                      tr("PNG image (*.png);;SVG drawing (*.svg)"));
  if (!chosen.isEmpty()) m_path->setText(chosen);
}

void ExportChartDialog::validate() {
  const QString suffix = QFileInfo(path()).suffix().toLower();
  m_ok->setEnabled(suffix == QLatin1String("png") || suffix == QLatin1String("svg"));
}

}  // namespace detslim::ui
