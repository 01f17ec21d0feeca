#pragma once
// ChartsView: every chart kind over the runs the main window hands it (from the results model),
// one at a time, picked in a combo, with the options that kind reads (mAP metric, latency kind,
// throughput batch) and export of the chart shown to PNG / SVG at a chosen size. Drawing only:
// the runs arrive already loaded, so nothing here touches the store or the engine.

#include <QDialog>
#include <QWidget>
#include <vector>

#include "core/base/status.h"
#include "core/store/store.h"
#include "ui/charts/charts.h"

class QChartView;
class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;

namespace detslim::ui {

class ChartsView : public QWidget {
  Q_OBJECT

 public:
  explicit ChartsView(QWidget* parent = nullptr);
  ~ChartsView() override;

  // Replaces the runs charted; `baseline_id` (0: none) is marked where a kind can show it.
  void setRuns(std::vector<store::RunRecord> runs, int64_t baseline_id = 0);
  // The run the per-run kinds (layers, histogram) draw; 0 clears the choice.
  void setSelectedRun(int64_t run_id);
  void setKind(ChartKind kind);
  ChartKind kind() const { return m_kind; }
  ChartOptions options() const;
  const std::vector<store::RunRecord>& runs() const { return m_runs; }
  int64_t baselineId() const { return m_baselineId; }
  // The chart on screen (owned by the view; replaced on every change).
  ResultsChart* chart() const { return m_chart; }

  // Writes the current kind with the current options at `size` (PNG or SVG by suffix).
  Status exportCurrentChart(const QString& path, const QSize& size);

 public slots:
  // Asks for a path and a size, then exports; errors go to a dialog, never a crash.
  void exportWithDialog();

 signals:
  void kindChanged(detslim::ui::ChartKind kind);
  void chartExported(const QString& path);

 private:
  void rebuild();
  void updateOptionWidgets();

  std::vector<store::RunRecord> m_runs;
  int64_t m_baselineId = 0;
  int64_t m_selectedRun = 0;
  ChartKind m_kind = ChartKind::kTradeoff;
  QComboBox* m_kindCombo = nullptr;
  QComboBox* m_metricCombo = nullptr;
  QComboBox* m_latencyCombo = nullptr;
  QComboBox* m_batchCombo = nullptr;
  QLabel* m_metricLabel = nullptr;
  QLabel* m_latencyLabel = nullptr;
  QLabel* m_batchLabel = nullptr;
  QLabel* m_notes = nullptr;
  QPushButton* m_exportButton = nullptr;
  QChartView* m_chartView = nullptr;
  ResultsChart* m_chart = nullptr;
  QSize m_lastExportSize{1600, 900};
  QString m_lastExportPath;
};

// Asks where to write a chart and at what size (pixels); the format follows the suffix.
class ExportChartDialog : public QDialog {
  Q_OBJECT

 public:
  ExportChartDialog(const QString& path, const QSize& size, QWidget* parent = nullptr);
  QString path() const;
  QSize imageSize() const;

 private:
  void browse();
  void validate();

  QLineEdit* m_path = nullptr;
  QSpinBox* m_width = nullptr;
  QSpinBox* m_height = nullptr;
  QPushButton* m_ok = nullptr;
};

}  // namespace detslim::ui
