#pragma once
// Stored runs (store::RunRecord) as a table, one row per run, with deltas against a baseline
// run. The one model behind the results table and the charts: views read runs() and the roles,
// never a copy of the data.

#include <QAbstractTableModel>
#include <cstdint>
#include <vector>

#include "core/store/store.h"

namespace detslim::ui {

class ResultsTableModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  // Each delta column sits right of the value it compares; views address columns by name.
  enum Column {
    kId,
    kModel,
    kDataset,
    kMethod,
    kSparsity,
    kPrecision,
    kMap,           // mAP50-95, stats[0]
    kDeltaMap,      // (map - baseline map) x 100, points
    kMap50,         // stats[1]
    kLatencyMs,     // inference median
    kLatencyRatio,  // latency / baseline latency
    kP99Ms,         // inference p99
    kThroughput,    // images/s at batch 1
    kWeightsMiB,
    kWeightsRatio,  // weights / baseline weights
    kPeakRssMiB,
    kStatus,
    kFinishedAt,
    kColumnCount
  };
  enum Role {
    // A number for numeric columns (invalid when the run lacks the value, so it sorts last),
    // the display text otherwise.
    kSortRole = Qt::UserRole + 1,
    kRunIdRole,       // qlonglong run id, any column
    kIsBaselineRole,  // bool
    kValueRole,       // the raw number of a numeric column (double), invalid when missing
  };

  explicit ResultsTableModel(QObject* parent = nullptr);

  const std::vector<store::RunRecord>& runs() const { return m_runs; }
  // Replaces every row. The baseline id is kept even when no row has it (deltas then blank).
  void setRuns(std::vector<store::RunRecord> runs);
  int64_t baselineId() const { return m_baselineId; }
  // 0 clears it. Emits baselineChanged when it changes.
  void setBaselineId(int64_t id);
  // The baseline's record, or nullptr when it is not among the rows.
  const store::RunRecord* baselineRun() const;
  // Row of the run with this id, or -1.
  int rowOfRun(int64_t id) const;
  const store::RunRecord* runById(int64_t id) const;

  // The first (lowest id) ok run of the model with this sha256 that is unpruned fp32; 0 when none.
  static int64_t defaultBaselineId(const std::vector<store::RunRecord>& runs,
                                   const std::string& model_sha256);
  // "int8 (entropy)": the precision with the calibrator of config.precision_params, if any.
  static QString precisionLabel(const store::RunRecord& run);
  // The number a numeric column shows for a run, NaN when the run lacks it (deltas need a
  // baseline). For charts and tests; same values as kValueRole.
  double value(const store::RunRecord& run, int column) const;
  static bool isNumericColumn(int column);

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation,
                      int role = Qt::DisplayRole) const override;

 signals:
  void baselineChanged(qint64 id);

 private:
  QString displayText(const store::RunRecord& run, int column) const;

  std::vector<store::RunRecord> m_runs;
  int64_t m_baselineId = 0;
};

}  // namespace detslim::ui
