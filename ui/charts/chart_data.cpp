#include "ui/charts/chart_data.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

namespace detslim::ui {

namespace {

constexpr double kMiB = 1024.0 * 1024.0;

bool usable(double v) {
  return std::isfinite(v) && v > 0;
}

// 0.5 -> "50 %", 0.725 -> "72.5 %": at most one decimal, no trailing zero.
std::string percentText(double fraction) {
  const double pct = std::round(fraction * 1000.0) / 10.0;
  std::ostringstream s;
  if (pct == std::floor(pct)) {
    s << static_cast<int64_t>(pct);
  } else {
    s.setf(std::ios::fixed);
    s.precision(1);
    s << pct;
  }
  s << " %";
  return s.str();
}

std::string jsonScalarText(const nlohmann::json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

bool isDense(const store::RunRecord& run) {
  return run.prune_method.empty() || run.prune_method == "none";
}

bool spansModels(const std::vector<store::RunRecord>& runs) {
  std::set<std::string> models;
  for (const store::RunRecord& r : runs) models.insert(r.model.sha256 + "|" + r.model.name);
  return models.size() > 1;
}

template <class T>
size_t indexOf(std::vector<std::string>& names, const std::string& name, T& grow) {
  auto it = std::find(names.begin(), names.end(), name);
  if (it != names.end()) return static_cast<size_t>(it - names.begin());
  names.push_back(name);
  grow();
  return names.size() - 1;
}

}  // namespace

std::string mapMetricName(MapMetric metric) {
  return metric == MapMetric::kMap50 ? "mAP50" : "mAP50-95";
}

std::string latencyKindName(LatencyKind kind) {
  return kind == LatencyKind::kEndToEnd ? "end-to-end" : "inference";
}

const char* latencyStoreKind(LatencyKind kind) {
  return kind == LatencyKind::kEndToEnd ? store::kLatencyEndToEnd : store::kLatencyInference;
}

std::string methodLabel(const store::RunRecord& run) {
  if (isDense(run)) return "none";
  std::string s = run.prune_method;
  if (run.sparsity > 0) return s + " " + percentText(run.sparsity);
  // Methods without a sparsity (rtoss entries=2, nm n=2,m=4) are told apart by their params.
  const nlohmann::json* params = nullptr;
  if (run.config.is_object() && run.config.contains("prune") && run.config["prune"].is_object() &&
      run.config["prune"].contains("params") && run.config["prune"]["params"].is_object()) {
    params = &run.config["prune"]["params"];
  }
  if (params && !params->empty()) {
    bool first = true;
    for (auto it = params->begin(); it != params->end(); ++it) {
      s += (first ? " " : ",") + it.key() + "=" + jsonScalarText(it.value());
      first = false;
    }
  }
  return s;
}

std::string precisionLabel(const store::RunRecord& run) {
  std::string s = run.precision.empty() ? "fp32" : run.precision;
  if (run.config.is_object() && run.config.contains("precision_params") &&
      run.config["precision_params"].is_object()) {
    const nlohmann::json& pp = run.config["precision_params"];
    if (pp.contains("calibrator")) s += " " + jsonScalarText(pp["calibrator"]);
  }
  return s;
}

std::string runLabel(const store::RunRecord& run) {
  return "#" + std::to_string(run.id) + " " + methodLabel(run) + " " + precisionLabel(run);
}

std::optional<double> runMap(const store::RunRecord& run, MapMetric metric) {
  if (!run.has_metrics || run.status != store::kStatusOk) return std::nullopt;
  const double v = run.stats[metric == MapMetric::kMap50 ? 1 : 0];
  // pycocotools reports -1 when there is no ground truth; NaN comes back from SQL NULL.
  if (!std::isfinite(v) || v < 0) return std::nullopt;
  return v;
}

const store::LatencyRecord* findLatency(const store::RunRecord& run, LatencyKind kind) {
  const std::string wanted = latencyStoreKind(kind);
  for (const store::LatencyRecord& l : run.latency) {
    if (l.kind == wanted) return &l;
  }
  return nullptr;
}

std::optional<double> runLatencyMs(const store::RunRecord& run, LatencyKind kind) {
  if (run.status != store::kStatusOk) return std::nullopt;
  const store::LatencyRecord* l = findLatency(run, kind);
  if (!l || !usable(l->summary.median_ms)) return std::nullopt;
  return l->summary.median_ms;
}

std::optional<double> runThroughput(const store::RunRecord& run, int batch) {
  if (run.status != store::kStatusOk) return std::nullopt;
  for (const store::ThroughputRecord& t : run.throughput) {
    if (t.batch == batch && usable(t.images_per_s)) return t.images_per_s;
  }
  return std::nullopt;
}

std::vector<int> throughputBatches(const std::vector<store::RunRecord>& runs) {
  std::set<int> batches;
  for (const store::RunRecord& r : runs) {
    for (const store::ThroughputRecord& t : r.throughput) {
      if (usable(t.images_per_s) && t.batch > 0) batches.insert(t.batch);
    }
  }
  return {batches.begin(), batches.end()};
}

std::vector<TradeoffPoint> tradeoffPoints(const std::vector<store::RunRecord>& runs,
                                          MapMetric metric, LatencyKind kind) {
  std::vector<TradeoffPoint> points;
  for (const store::RunRecord& r : runs) {
    const std::optional<double> map = runMap(r, metric);
    const std::optional<double> latency = runLatencyMs(r, kind);
    if (!map || !latency) continue;
    points.push_back({r.id, runLabel(r), *latency, *map, false});
  }
  for (size_t i : paretoFront(points)) points[i].on_front = true;
  return points;
}

std::vector<size_t> paretoFront(const std::vector<TradeoffPoint>& points) {
  std::vector<size_t> order(points.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (points[a].latency_ms != points[b].latency_ms) {
      return points[a].latency_ms < points[b].latency_ms;
    }
    return points[a].map > points[b].map;
  });
  // Sweep by latency: a point is on the front when its mAP beats every faster point's, or it
  // ties exactly with the last point kept (equal points dominate nothing).
  std::vector<size_t> front;
  double best_map = -1;
  for (size_t i : order) {
    const TradeoffPoint& p = points[i];
    if (p.map > best_map) {
      front.push_back(i);
      best_map = p.map;
    } else if (!front.empty() && p.map == points[front.back()].map &&
               p.latency_ms == points[front.back()].latency_ms) {
      front.push_back(i);
    }
  }
  return front;
}

GroupedBars groupedBars(const std::vector<store::RunRecord>& runs, BarMeasure measure,
                        LatencyKind kind, int batch) {
  GroupedBars bars;
  const bool with_model = spansModels(runs);
  // Key (series, category) -> run index drawn; newest wins.
  std::map<std::pair<size_t, size_t>, const store::RunRecord*> chosen;
  std::map<std::pair<size_t, size_t>, std::vector<int64_t>> hidden;
  auto noop = [] {};
  for (const store::RunRecord& r : runs) {
    std::optional<double> value;
    if (measure == BarMeasure::kThroughput) {
      value = runThroughput(r, batch);
    } else {
      const store::LatencyRecord* l = r.status == store::kStatusOk ? findLatency(r, kind) : nullptr;
      if (l) {
        const double v =
            measure == BarMeasure::kLatencyP99 ? l->summary.p99_ms : l->summary.median_ms;
        if (usable(v)) value = v;
      }
    }
    if (!value) continue;
    const std::string category = (with_model ? r.model.name + " " : "") + methodLabel(r);
    const size_t c = indexOf(bars.categories, category, noop);
    const size_t s = indexOf(bars.series, precisionLabel(r), noop);
    auto [it, inserted] = chosen.try_emplace({s, c}, &r);
    if (!inserted) {
      const store::RunRecord* older = it->second->id < r.id ? it->second : &r;
      if (it->second->id < r.id) it->second = &r;
      hidden[{s, c}].push_back(older->id);
    }
  }
  bars.cells.assign(bars.series.size(), std::vector<BarCell>(bars.categories.size()));
  for (const auto& [key, run] : chosen) {
    BarCell& cell = bars.cells[key.first][key.second];
    cell.run_id = run->id;
    cell.label = runLabel(*run);
    if (measure == BarMeasure::kThroughput) {
      cell.value = *runThroughput(*run, batch);
    } else {
      const store::LatencyRecord* l = findLatency(*run, kind);
      cell.value = measure == BarMeasure::kLatencyP99 ? l->summary.p99_ms : l->summary.median_ms;
    }
  }
  for (const auto& [key, ids] : hidden) {
    std::string note = bars.categories[key.second] + " " + bars.series[key.first] + ": run #" +
                       std::to_string(bars.cells[key.first][key.second].run_id) +
                       " drawn; older run(s)";
    for (int64_t id : ids) note += " #" + std::to_string(id);
    bars.notes.push_back(note + " not drawn");
  }
  return bars;
}

std::vector<SparsityCurve> sparsityCurves(const std::vector<store::RunRecord>& runs,
                                          MapMetric metric) {
  std::set<std::string> precisions;
  for (const store::RunRecord& r : runs) {
    if (runMap(r, metric)) precisions.insert(precisionLabel(r));
  }
  const bool with_precision = precisions.size() > 1;
  const bool with_model = spansModels(runs);
  auto pointOf = [&](const store::RunRecord& r) {
    SparsityPoint p;
    p.sparsity = isDense(r) ? 0.0 : r.sparsity;
    p.map = *runMap(r, metric);
    p.size_mib = r.memory && r.memory->model_file_bytes > 0
                     ? static_cast<double>(r.memory->model_file_bytes) / kMiB
                     : -1.0;
    p.run_id = r.id;
    p.label = runLabel(r);
    return p;
  };
  // Curve key: model + method + precision; dense runs keyed by model + precision.
  std::vector<std::string> names;
  std::vector<std::map<double, SparsityPoint>> by_sparsity;
  std::vector<std::string> dense_key_of_curve;
  std::map<std::string, SparsityPoint> dense;  // model|precision -> newest dense run
  auto grow = [&] {
    by_sparsity.emplace_back();
    dense_key_of_curve.emplace_back();
  };
  auto keepNewest = [](std::map<double, SparsityPoint>& m, const SparsityPoint& p) {
    auto [it, inserted] = m.try_emplace(p.sparsity, p);
    if (!inserted && it->second.run_id < p.run_id) it->second = p;
  };
  for (const store::RunRecord& r : runs) {
    if (!runMap(r, metric)) continue;
    const std::string dense_key = r.model.sha256 + "|" + precisionLabel(r);
    if (isDense(r)) {
      auto [it, inserted] = dense.try_emplace(dense_key, pointOf(r));
      if (!inserted && it->second.run_id < r.id) it->second = pointOf(r);
      continue;
    }
    std::string name = (with_model ? r.model.name + " " : "") + r.prune_method +
                       (with_precision ? " " + precisionLabel(r) : "");
    const size_t i = indexOf(names, name, grow);
    dense_key_of_curve[i] = dense_key;
    keepNewest(by_sparsity[i], pointOf(r));
  }
  std::vector<SparsityCurve> curves;
  for (size_t i = 0; i < names.size(); ++i) {
    auto d = dense.find(dense_key_of_curve[i]);
    if (d != dense.end()) keepNewest(by_sparsity[i], d->second);
    SparsityCurve curve{names[i], {}};
    for (const auto& [sparsity, point] : by_sparsity[i]) curve.points.push_back(point);
    curves.push_back(std::move(curve));
  }
  return curves;
}

std::vector<SizeFpsPoint> sizeFpsPoints(const std::vector<store::RunRecord>& runs) {
  std::vector<SizeFpsPoint> points;
  for (const store::RunRecord& r : runs) {
    if (r.status != store::kStatusOk || !r.memory || r.memory->model_file_bytes <= 0) continue;
    std::optional<double> fps = runThroughput(r, 1);
    if (!fps) {
      if (std::optional<double> ms = runLatencyMs(r, LatencyKind::kInference)) fps = 1000.0 / *ms;
    }
    if (!fps) continue;
    points.push_back({static_cast<double>(r.memory->model_file_bytes) / kMiB, *fps, r.id,
                      runLabel(r), precisionLabel(r)});
  }
  return points;
}

MemoryBars memoryBars(const std::vector<store::RunRecord>& runs) {
  MemoryBars bars;
  auto mib = [](int64_t bytes) { return bytes >= 0 ? static_cast<double>(bytes) / kMiB : -1.0; };
  for (const store::RunRecord& r : runs) {
    if (r.status != store::kStatusOk || !r.memory) continue;
    const store::MemoryRecord& m = *r.memory;
    if (m.weights_bytes <= 0 && m.activations_bytes <= 0 && m.peak_rss_bytes <= 0) continue;
    bars.labels.push_back(runLabel(r));
    bars.run_ids.push_back(r.id);
    bars.weights_mib.push_back(mib(m.weights_bytes));
    bars.activations_mib.push_back(mib(m.activations_bytes));
    // The probe reports -1 when it could not run; 0 would mean "measured, nothing".
    bars.peak_rss_mib.push_back(m.peak_rss_bytes > 0 ? mib(m.peak_rss_bytes) : -1.0);
  }
  return bars;
}

std::string shortLayerName(const std::string& name, const std::string& op_type) {
  std::string s = name;
  if (!s.empty() && s.front() == '/') s.erase(0, 1);
  const std::string suffix = "/" + op_type;
  if (!op_type.empty() && s.size() > suffix.size() &&
      s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0) {
    s.erase(s.size() - suffix.size());
  }
  return s.empty() ? name : s;
}

LayerBars layerBars(const store::RunRecord& run) {
  LayerBars bars;
  bars.total_layers = static_cast<int>(run.layers.size());
  for (const store::LayerRecord& l : run.layers) {
    if (l.params <= 0) continue;
    bars.names.push_back(shortLayerName(l.name, l.op_type));
    bars.full_names.push_back(l.name);
    bars.op_types.push_back(l.op_type);
    bars.sparsity_pct.push_back(std::isfinite(l.sparsity) ? l.sparsity * 100.0 : 0.0);
    bars.time_ms.push_back(std::isfinite(l.time_ms) && l.time_ms > 0 ? l.time_ms : 0.0);
  }
  return bars;
}

std::optional<HistogramData> histogramData(const store::RunRecord& run, LatencyKind kind) {
  const store::LatencyRecord* l = findLatency(run, kind);
  if (!l) return std::nullopt;
  const std::vector<double>& edges = l->histogram_edges_ms;
  const std::vector<int64_t>& counts = l->histogram_counts;
  if (counts.empty() || edges.size() != counts.size() + 1) return std::nullopt;
  for (size_t i = 0; i < edges.size(); ++i) {
    if (!std::isfinite(edges[i]) || (i > 0 && edges[i] < edges[i - 1])) return std::nullopt;
  }
  HistogramData h;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] < 0) return std::nullopt;
    h.bins.push_back({edges[i], edges[i + 1], counts[i]});
    h.max_count = std::max(h.max_count, counts[i]);
  }
  h.median_ms = std::isfinite(l->summary.median_ms) ? l->summary.median_ms : 0.0;
  h.p99_ms = std::isfinite(l->summary.p99_ms) ? l->summary.p99_ms : 0.0;
  h.deadline_ms = usable(l->deadline_ms) ? l->deadline_ms : 0.0;
  h.miss_rate = std::isfinite(l->deadline_miss_rate) ? l->deadline_miss_rate : 0.0;
  h.runs = l->summary.runs;
  h.x_min = edges.front();
  h.x_max = edges.back();
  // The deadline and p99 must be visible even when every sample lies far from them.
  for (double x : {h.median_ms, h.p99_ms, h.deadline_ms}) {
    if (x > 0) {
      h.x_min = std::min(h.x_min, x);
      h.x_max = std::max(h.x_max, x);
    }
  }
  const double pad = (h.x_max - h.x_min) * 0.05;
  h.x_max += pad > 0 ? pad : 1.0;
  h.x_min = std::max(0.0, h.x_min - pad);
  return h;
}

const store::RunRecord* findRun(const std::vector<store::RunRecord>& runs, int64_t id) {
  for (const store::RunRecord& r : runs) {
    if (r.id == id) return &r;
  }
  return nullptr;
}

}  // namespace detslim::ui
