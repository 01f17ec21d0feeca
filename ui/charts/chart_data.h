#pragma once
// What the charts plot, computed from stored runs with no Qt: labels, the mAP / latency trade-off
// and its Pareto front, grouped bars, sparsity curves, memory, per-layer and histogram data.
// Kept apart from the drawing so each rule (which run is on the front, which run fills a bar)
// is unit-tested on hand-built records. A run that lacks what a chart needs (failed, no metrics,
// NaN, no latency record) is left out of that chart, never drawn as zero.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/store/store.h"

namespace detslim::ui {

enum class MapMetric { kMap5095, kMap50 };
enum class LatencyKind { kInference, kEndToEnd };

// "mAP50-95" / "mAP50"; "inference" / "end-to-end".
std::string mapMetricName(MapMetric metric);
std::string latencyKindName(LatencyKind kind);
// The store's kind string ("inference" / "end_to_end").
const char* latencyStoreKind(LatencyKind kind);

// "none", "magnitude 50 %", "group 20 %": the pruning step of a run.
std::string methodLabel(const store::RunRecord& run);
// "fp32", "int8 entropy": the precision step (with the calibrator when the config names one).
std::string precisionLabel(const store::RunRecord& run);
// "#12 magnitude 50 % int8 entropy": unique per run, used in legends and tooltips.
std::string runLabel(const store::RunRecord& run);

// The run's mAP of that kind, or nullopt when it has no usable metrics (failed, none, NaN, -1).
std::optional<double> runMap(const store::RunRecord& run, MapMetric metric);
// The latency record of that kind, or nullptr.
const store::LatencyRecord* findLatency(const store::RunRecord& run, LatencyKind kind);
// Median of that latency kind when finite and > 0.
std::optional<double> runLatencyMs(const store::RunRecord& run, LatencyKind kind);
// Images/s at that batch when measured and > 0.
std::optional<double> runThroughput(const store::RunRecord& run, int batch);
// The batches any run measured throughput at, ascending.
std::vector<int> throughputBatches(const std::vector<store::RunRecord>& runs);

// ---- mAP against latency ----

struct TradeoffPoint {
  int64_t run_id = 0;
  std::string label;
  double latency_ms = 0;
  double map = 0;
  bool on_front = false;
};

// One point per run that has both the metric and the latency; on_front marks the Pareto front.
std::vector<TradeoffPoint> tradeoffPoints(const std::vector<store::RunRecord>& runs,
                                          MapMetric metric, LatencyKind kind);
// Indices of the points no other point dominates (one is dominated when another has latency
// <= and mAP >= with at least one strictly better), sorted by latency then mAP descending.
// Equal points are all kept.
std::vector<size_t> paretoFront(const std::vector<TradeoffPoint>& points);

// ---- grouped bars: configuration (pruning) x precision ----

struct BarCell {
  double value = 0;
  int64_t run_id = 0;  // 0: no run fills this cell
  std::string label;   // the run's label
};

struct GroupedBars {
  std::vector<std::string> categories;      // pruning configurations, in first-seen order
  std::vector<std::string> series;          // precisions, in first-seen order
  std::vector<std::vector<BarCell>> cells;  // [series][category]
  // Runs that share a cell: the newest (highest id) is drawn; the others are named here.
  std::vector<std::string> notes;
};

enum class BarMeasure { kLatencyMedian, kLatencyP99, kThroughput };

// Latency (ms, of `kind`) or throughput (images/s at `batch`) by configuration x precision.
// Categories carry the model name when the runs span more than one model.
GroupedBars groupedBars(const std::vector<store::RunRecord>& runs, BarMeasure measure,
                        LatencyKind kind, int batch);

// ---- mAP and model size against sparsity, per method ----

struct SparsityPoint {
  double sparsity = 0;  // fraction, 0..1
  double map = 0;
  double size_mib = 0;  // model file bytes / 2^20; < 0 when the run has no memory record
  int64_t run_id = 0;
  std::string label;
};

struct SparsityCurve {
  std::string name;                   // method, with the precision when the runs use more than one
  std::vector<SparsityPoint> points;  // ascending sparsity, one per sparsity (newest run)
};

// One curve per pruning method (x precision when several precisions are present). The dense
// runs ("none", same precision and model) start every curve at sparsity 0.
std::vector<SparsityCurve> sparsityCurves(const std::vector<store::RunRecord>& runs,
                                          MapMetric metric);

// ---- model size against FPS ----

struct SizeFpsPoint {
  double size_mib = 0;
  double fps = 0;  // throughput at batch 1, else 1000 / inference median
  int64_t run_id = 0;
  std::string label;
  std::string group;  // precision label: one scatter series per precision
};

std::vector<SizeFpsPoint> sizeFpsPoints(const std::vector<store::RunRecord>& runs);

// ---- memory per configuration ----

struct MemoryBars {
  std::vector<std::string> labels;  // run labels
  std::vector<int64_t> run_ids;
  // MiB; a value < 0 was not measured (peak RSS without the probe).
  std::vector<double> weights_mib, activations_mib, peak_rss_mib;
};

MemoryBars memoryBars(const std::vector<store::RunRecord>& runs);

// ---- per layer of one run ----

struct LayerBars {
  std::vector<std::string> names;  // shortened node names
  std::vector<std::string> full_names;
  std::vector<std::string> op_types;
  std::vector<double> sparsity_pct;  // 0..100
  std::vector<double> time_ms;
  int total_layers = 0;  // all nodes of the run, weighted or not
};

// The run's layers that hold weights (params > 0), in graph order.
LayerBars layerBars(const store::RunRecord& run);
// "/model.0/conv/Conv" -> "model.0/conv": the node name without its leading slash and op suffix.
std::string shortLayerName(const std::string& name, const std::string& op_type);

// ---- latency histogram of one run ----

struct HistogramBin {
  double lo_ms = 0, hi_ms = 0;
  int64_t count = 0;
};

struct HistogramData {
  std::vector<HistogramBin> bins;
  double median_ms = 0, p99_ms = 0;
  double deadline_ms = 0;  // 0: no deadline set
  double miss_rate = 0;
  int runs = 0;
  double x_min = 0, x_max = 0;  // axis range: the bins, widened to show p99 and the deadline
  int64_t max_count = 0;
};

// Nullopt when the run has no such latency record or its histogram is empty or inconsistent
// (edges != counts + 1, edges not ascending, negative counts).
std::optional<HistogramData> histogramData(const store::RunRecord& run, LatencyKind kind);

// The run with that id, or nullptr.
const store::RunRecord* findRun(const std::vector<store::RunRecord>& runs, int64_t id);

}  // namespace detslim::ui
