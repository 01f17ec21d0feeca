#pragma once
// Qt Charts over stored runs: one builder per chart kind, all with the same look (fonts, theme,
// no animation, white background) so a chart reads the same in the window, a PNG / SVG export
// and the HTML / PDF report. The numbers come from chart_data.h; this file only draws them.

#include <QChart>
#include <QString>
#include <QStringList>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/store/store.h"
#include "ui/charts/chart_data.h"

class QAbstractSeries;
class QGraphicsSimpleTextItem;

namespace detslim::ui {

enum class ChartKind {
  kTradeoff,        // mAP against latency with the Pareto front (seed 003 Fig. 4.6)
  kLatencyBars,     // latency by configuration x precision (seed 000 Figs. 6-9 (i))
  kThroughputBars,  // throughput by configuration x precision (seed 000 Figs. 6-9 (ii))
  kSparsity,        // mAP and model size against sparsity, per method (seed 002 Fig. 8)
  kSizeFps,         // model size against FPS (seed 002 Fig. 9)
  kMemory,          // weights, activations, peak RSS per configuration
  kLayers,          // per-layer time and weight sparsity of one run
  kHistogram,       // latency histogram of one run with p50, p99 and the deadline
};

// Every kind, in the order the view lists them.
const std::vector<ChartKind>& allChartKinds();
// "tradeoff", "latency-bars", ...: the names the command line takes.
QString chartKindName(ChartKind kind);
// The kind of that name (case-insensitive), or nullopt.
std::optional<ChartKind> chartKindFromName(const QString& name);
// "mAP vs latency", ...: what the view's kind list shows.
QString chartKindTitle(ChartKind kind);
// Whether the kind draws one selected run (layers, histogram) rather than the set.
bool chartKindNeedsRun(ChartKind kind);

struct ChartOptions {
  MapMetric metric = MapMetric::kMap5095;
  LatencyKind latency = LatencyKind::kInference;
  int batch = 1;       // throughput bars: images/s at this batch
  int64_t run_id = 0;  // layers / histogram: the run drawn (0: none selected)
};

// A QChart that can say it has nothing to draw (a centred message instead of fake data), carries
// value labels that follow the plot area, and keeps notes on what it left out.
class ResultsChart : public QChart {
  Q_OBJECT

 public:
  explicit ResultsChart(QGraphicsItem* parent = nullptr);

  // Non-empty: the chart has no data and shows this message.
  QString emptyMessage() const { return m_emptyMessage; }
  void setEmptyMessage(const QString& message);
  // What the chart left out (runs sharing a bar, values not measured), for tooltips and reports.
  QStringList notes() const { return m_notes; }
  void addNote(const QString& note) { m_notes << note; }
  // A text placed at a data point of `series`, kept there when the plot area moves.
  void addPointLabel(const QPointF& value, QAbstractSeries* series, const QString& text);

 protected:
  void resizeEvent(QGraphicsSceneResizeEvent* event) override;

 private:
  struct PointLabel {
    QPointF value;
    QAbstractSeries* series = nullptr;
    QGraphicsSimpleTextItem* item = nullptr;
  };
  void placeItems();

  QString m_emptyMessage;
  QGraphicsSimpleTextItem* m_messageItem = nullptr;
  QStringList m_notes;
  std::vector<PointLabel> m_labels;
};

// Builds a chart of that kind over `runs` (any order; failed or incomplete runs are left out of
// what they cannot show). `baseline_id` (0: none) is marked where the kind can show it. The
// caller owns the chart. Never fails: missing data gives an empty chart with a message.
ResultsChart* buildChart(ChartKind kind, const std::vector<store::RunRecord>& runs,
                         int64_t baseline_id, const ChartOptions& options);

// The name under which tooltips are kept on a series / bar set (a QStringList property, one
// entry per point or bar), so tests and the report can read what hovering shows.
inline constexpr const char* kToolTipsProperty = "detslimToolTips";

}  // namespace detslim::ui
