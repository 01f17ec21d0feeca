#include "ui/models/resultstablemodel.h"

#include <QBrush>
#include <QColor>
#include <QFileInfo>
#include <QFont>
#include <QStringList>
#include <cmath>
#include <limits>

#include "ui/models/format.h"

namespace detslim::ui {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kMiB = 1024.0 * 1024.0;
const QString kBaselineMarker = QStringLiteral("\u2605 ");  // ★, beside the baseline's id

const LatencySummary* inferenceLatency(const store::RunRecord& run) {
  for (const store::LatencyRecord& l : run.latency) {
    if (l.kind == store::kLatencyInference) return &l.summary;
  }
  return nullptr;
}

double throughputBatch1(const store::RunRecord& run) {
  for (const store::ThroughputRecord& t : run.throughput) {
    if (t.batch == 1) return t.images_per_s;
  }
  return kNaN;
}

// pycocotools reports -1 for a statistic without ground truth: not a value to show or chart.
double cocoStat(const store::RunRecord& run, size_t i) {
  if (!run.has_metrics || !(run.stats[i] >= 0.0)) return kNaN;
  return run.stats[i];
}

double positiveOrNaN(double v) {
  return v > 0.0 ? v : kNaN;
}

QString fixed(double v, int decimals) {
  return std::isnan(v) ? QString() : QString::number(v, 'f', decimals);
}

QString ratioText(double v) {
  return std::isnan(v) ? QString() : QStringLiteral("%1\u00d7").arg(v, 0, 'f', 2);
}

QString pointsText(double v) {
  if (std::isnan(v)) return {};
  double rounded = std::round(v * 10.0) / 10.0;
  if (rounded == 0.0) rounded = 0.0;  // no "-0.0 pt"
  QString text = QString::number(rounded, 'f', 1);
  if (!text.startsWith(QLatin1Char('-'))) text.prepend(QLatin1Char('+'));
  return text + QStringLiteral(" pt");
}

// "rtoss (entries=2)": the method with its options from the configuration, sparsity aside.
QString methodText(const store::RunRecord& run) {
  QString text = QString::fromStdString(run.prune_method);
  const auto prune = run.config.find("prune");
  if (prune == run.config.end() || !prune->is_object()) return text;
  const auto params = prune->find("params");
  if (params == prune->end() || !params->is_object() || params->empty()) return text;
  QStringList parts;
  for (auto it = params->begin(); it != params->end(); ++it) {
    if (it.key() == "sparsity") continue;
    const std::string value = it->is_string() ? it->get<std::string>() : it->dump();
    parts << QString::fromStdString(it.key() + "=" + value);
  }
  return parts.isEmpty()
             ? text
             : text + QStringLiteral(" (") + parts.join(QStringLiteral(", ")) + QLatin1Char(')');
}

QString datasetText(const store::RunRecord& run) {
  if (run.dataset.path.empty()) return QStringLiteral("\u2014");  // latency-only run
  const QString name = QFileInfo(QString::fromStdString(run.dataset.path)).fileName();
  return run.dataset.format.empty()
             ? name
             : QStringLiteral("%1 (%2)").arg(name, QString::fromStdString(run.dataset.format));
}

// "yolov5n_fp32": the extension says nothing in a table of ONNX models (the tooltip has the path).
QString modelText(const store::RunRecord& run) {
  QString name = QString::fromStdString(run.model.name);
  if (name.isEmpty()) name = QFileInfo(QString::fromStdString(run.model.path)).fileName();
  if (name.endsWith(QStringLiteral(".onnx"), Qt::CaseInsensitive)) name.chop(5);
  return name;
}

// "2024-05-01 12:00:00" from "2024-05-01T12:00:00.123Z": seconds are enough in a table.
QString timeText(const std::string& iso) {
  QString text = QString::fromStdString(iso);
  text.replace(QLatin1Char('T'), QLatin1Char(' '));
  const qsizetype dot = text.indexOf(QLatin1Char('.'));
  if (dot > 0) text.truncate(dot);
  if (text.endsWith(QLatin1Char('Z'))) text.chop(1);
  return text;
}

}  // namespace

ResultsTableModel::ResultsTableModel(QObject* parent) : QAbstractTableModel(parent) {}

void ResultsTableModel::setRuns(std::vector<store::RunRecord> runs) {
  beginResetModel();
  m_runs = std::move(runs);
  endResetModel();
}

void ResultsTableModel::setBaselineId(int64_t id) {
  if (id == m_baselineId) return;
  m_baselineId = id;
  if (!m_runs.empty()) {
    // Every row's deltas and the marker move with the baseline.
    emit dataChanged(index(0, 0), index(rowCount() - 1, kColumnCount - 1));
  }
  emit baselineChanged(static_cast<qint64>(id));
}

const store::RunRecord* ResultsTableModel::runById(int64_t id) const {
  if (id == 0) return nullptr;
  for (const store::RunRecord& run : m_runs) {
    if (run.id == id) return &run;
  }
  return nullptr;
}

const store::RunRecord* ResultsTableModel::baselineRun() const {
  return runById(m_baselineId);
}

int ResultsTableModel::rowOfRun(int64_t id) const {
  for (size_t i = 0; i < m_runs.size(); ++i) {
    if (m_runs[i].id == id) return static_cast<int>(i);
  }
  return -1;
}

int64_t ResultsTableModel::defaultBaselineId(const std::vector<store::RunRecord>& runs,
                                             const std::string& model_sha256) {
  int64_t best = 0;
  for (const store::RunRecord& run : runs) {
    if (run.model.sha256 != model_sha256 || run.status != store::kStatusOk) continue;
    if (run.prune_method != "none" || run.precision != "fp32") continue;
    if (best == 0 || run.id < best) best = run.id;
  }
  return best;
}

QString ResultsTableModel::precisionLabel(const store::RunRecord& run) {
  const QString precision = QString::fromStdString(run.precision);
  const auto params = run.config.find("precision_params");
  if (params == run.config.end() || !params->is_object()) return precision;
  const auto calibrator = params->find("calibrator");
  if (calibrator == params->end() || !calibrator->is_string()) return precision;
  return QStringLiteral("%1 (%2)").arg(precision,
                                       QString::fromStdString(calibrator->get<std::string>()));
}

bool ResultsTableModel::isNumericColumn(int column) {
  switch (column) {
    case kId:
    case kSparsity:
    case kMap:
    case kMap50:
    case kLatencyMs:
    case kP99Ms:
    case kThroughput:
    case kWeightsMiB:
    case kPeakRssMiB:
    case kDeltaMap:
    case kLatencyRatio:
    case kWeightsRatio:
      return true;
    default:
      return false;
  }
}

double ResultsTableModel::value(const store::RunRecord& run, int column) const {
  const LatencySummary* latency = inferenceLatency(run);
  switch (column) {
    case kId:
      return static_cast<double>(run.id);
    case kSparsity:
      return run.sparsity;
    case kMap:
      return cocoStat(run, 0);
    case kMap50:
      return cocoStat(run, 1);
    case kLatencyMs:
      return latency ? positiveOrNaN(latency->median_ms) : kNaN;
    case kP99Ms:
      return latency ? positiveOrNaN(latency->p99_ms) : kNaN;
    case kThroughput:
      return positiveOrNaN(throughputBatch1(run));
    case kWeightsMiB:
      return run.memory ? positiveOrNaN(static_cast<double>(run.memory->weights_bytes) / kMiB)
                        : kNaN;
    case kPeakRssMiB:  // -1 / 0: RSS was not measured (--no-rss)
      return run.memory ? positiveOrNaN(static_cast<double>(run.memory->peak_rss_bytes) / kMiB)
                        : kNaN;
    case kDeltaMap:
    case kLatencyRatio:
    case kWeightsRatio: {
      const store::RunRecord* base = baselineRun();
      if (!base) return kNaN;
      if (column == kDeltaMap) return 100.0 * (value(run, kMap) - value(*base, kMap));
      const int of = column == kLatencyRatio ? kLatencyMs : kWeightsMiB;
      return value(run, of) / value(*base, of);  // NaN propagates from a missing value
    }
    default:
      return kNaN;
  }
}

QString ResultsTableModel::displayText(const store::RunRecord& run, int column) const {
  switch (column) {
    case kId: {
      const QString id = QString::number(run.id);
      return run.id == m_baselineId ? kBaselineMarker + id : id;
    }
    case kModel:
      return modelText(run);
    case kDataset:
      return datasetText(run);
    case kMethod:
      return methodText(run);
    case kSparsity:
      return run.sparsity > 0.0 ? QStringLiteral("%1 %").arg(100.0 * run.sparsity, 0, 'f', 0)
                                : QString();
    case kPrecision:
      return precisionLabel(run);
    case kMap:
    case kMap50:
      return fixed(value(run, column), 3);
    case kLatencyMs:
    case kP99Ms:
      return fixed(value(run, column), 2);
    case kThroughput:
      return fixed(value(run, column), 1);
    case kWeightsMiB:
    case kPeakRssMiB:
      return fixed(value(run, column), 2);
    case kStatus:
      return QString::fromStdString(run.status);
    case kFinishedAt:
      return timeText(run.finished_at);
    case kDeltaMap:
      return pointsText(value(run, column));
    case kLatencyRatio:
    case kWeightsRatio:
      return ratioText(value(run, column));
    default:
      return {};
  }
}

int ResultsTableModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(m_runs.size());
}

int ResultsTableModel::columnCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : kColumnCount;
}

QVariant ResultsTableModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= rowCount()) return {};
  const store::RunRecord& run = m_runs[static_cast<size_t>(index.row())];
  const int column = index.column();
  const bool baseline = m_baselineId != 0 && run.id == m_baselineId;
  switch (role) {
    case Qt::DisplayRole:
      return displayText(run, column);
    case kRunIdRole:
      return static_cast<qlonglong>(run.id);
    case kIsBaselineRole:
      return baseline;
    case kValueRole:
    case kSortRole: {
      if (!isNumericColumn(column))
        return role == kSortRole ? QVariant(displayText(run, column)) : QVariant();
      const double v = value(run, column);
      return std::isnan(v) ? QVariant() : QVariant(v);
    }
    case Qt::FontRole:
      if (baseline) {
        QFont font;
        font.setBold(true);
        return font;
      }
      return {};
    case Qt::ForegroundRole:
      if (column == kStatus && run.status != store::kStatusOk)
        return QBrush(QColor(0xc6, 0x28, 0x28));
      if (column == kDeltaMap && !baseline) {
        const double d = value(run, column);
        if (d <= -0.05) return QBrush(QColor(0xc6, 0x28, 0x28));
        if (d >= 0.05) return QBrush(QColor(0x2e, 0x7d, 0x32));
      }
      return {};
    case Qt::BackgroundRole:
      return baseline ? QVariant(QBrush(QColor(0xff, 0xf4, 0xc2))) : QVariant();
    case Qt::TextAlignmentRole:
      return isNumericColumn(column) ? QVariant(static_cast<int>(Qt::AlignRight | Qt::AlignVCenter))
                                     : QVariant();
    case Qt::ToolTipRole:
      if (baseline && column == kId)
        return tr("Baseline: the deltas compare every run to this one");
      if (column == kStatus && !run.error.empty()) return QString::fromStdString(run.error);
      if (column == kDataset) return QString::fromStdString(run.dataset.path);
      if (column == kModel) return QString::fromStdString(run.model.path);
      return displayText(run, column);
    default:
      return {};
  }
}

QVariant ResultsTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal)
    return QAbstractTableModel::headerData(section, orientation, role);
  if (role == Qt::ToolTipRole) {
    switch (section) {
      case kMap:
        return tr("COCO mAP at IoU 0.50:0.95 (pycocotools stats[0])");
      case kLatencyMs:
        return tr("Median inference latency");
      case kThroughput:
        return tr("Images per second at batch 1");
      case kDeltaMap:
        return tr("mAP50-95 minus the baseline's, in percentage points");
      case kLatencyRatio:
        return tr("Median latency over the baseline's");
      case kWeightsRatio:
        return tr("Weight bytes over the baseline's");
      default:
        return {};
    }
  }
  if (role != Qt::DisplayRole) return {};
  switch (section) {
    case kId:
      return tr("Id");
    case kModel:
      return tr("Model");
    case kDataset:
      return tr("Dataset");
    case kMethod:
      return tr("Method");
    case kSparsity:
      return tr("Sparsity");
    case kPrecision:
      return tr("Precision");
    case kMap:
      return tr("mAP50-95");
    case kMap50:
      return tr("mAP50");
    case kLatencyMs:
      return tr("Latency ms");
    case kP99Ms:
      return tr("p99 ms");
    case kThroughput:
      return tr("img/s");
    case kWeightsMiB:
      return tr("Weights MiB");
    case kPeakRssMiB:
      return tr("Peak RSS MiB");
    case kStatus:
      return tr("Status");
    case kFinishedAt:
      return tr("Finished");
    case kDeltaMap:  // of mAP50-95, in points; the tooltip says so
      return tr("\u0394mAP");
    case kLatencyRatio:
      return tr("Latency \u00d7");
    case kWeightsRatio:
      return tr("Weights \u00d7");
    default:
      return {};
  }
}

}  // namespace detslim::ui
