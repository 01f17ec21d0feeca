#pragma once
// Hand-built runs with known values for the chart and report tests: each number is chosen so a
// wrong rule (Pareto membership, the run filling a bar, a delta's sign) gives a different answer.

#include <cstdint>
#include <string>
#include <vector>

#include "core/store/store.h"
#include "core/workbench/run_job.h"

namespace detslim::testing {

struct FixtureValues {
  int64_t id = 0;
  std::string method = "none";
  double sparsity = 0;
  std::string precision = "fp32";
  std::string calibrator;  // int8 only
  double map = 0, map50 = 0;
  double inference_ms = 0, end_to_end_ms = 0;
  double fps_b1 = 0;
};

inline store::RunRecord fixtureRun(const FixtureValues& v) {
  store::RunRecord r;
  r.id = v.id;
  r.model = {std::string(64, 'a'),
             "/models/yolov5n_fp32.onnx",
             "yolov5n_fp32",
             1867405,
             2234060800,
             7918388,
             7469620};
  r.dataset = {"/data/coco/images/val2017", "yolo", 128, 929, ""};
  nlohmann::json params = nlohmann::json::object();
  if (v.method != "none") params["sparsity"] = std::to_string(v.sparsity).substr(0, 3);
  r.config = {{"prune", {{"method", v.method}, {"params", params}}},
              {"precision", v.precision},
              {"threads", 2},
              {"threads_used", 2},
              {"input_size", 640},
              {"batch", 1}};
  if (!v.calibrator.empty()) r.config["precision_params"] = {{"calibrator", v.calibrator}};
  r.prune_method = v.method;
  r.sparsity = v.sparsity;
  r.precision = v.precision;
  r.started_at = "2024-06-01T10:00:00Z";
  r.finished_at = "2024-06-01T10:01:00Z";
  r.host = {{"cpu_model", "Test CPU @ 2.0GHz"},
            {"logical_cores", 2},
            {"cores_used", 2},
            {"isa", {"avx2", "avx512f"}},
            {"os", "Debian GNU/Linux 12"},
            {"detslim_version", "0.1.0"}};
  r.has_metrics = true;
  r.stats.fill(0.1);
  r.stats[0] = v.map;
  r.stats[1] = v.map50;
  auto latency = [](const char* kind, double median) {
    store::LatencyRecord l;
    l.kind = kind;
    l.summary.runs = 50;
    l.summary.median_ms = median;
    l.summary.mean_ms = median * 1.02;
    l.summary.p90_ms = median * 1.1;
    l.summary.p99_ms = median * 1.25;
    l.summary.min_ms = median * 0.9;
    l.summary.max_ms = median * 1.3;
    l.deadline_ms = 33.3;
    l.deadline_miss_rate = median * 1.25 > 33.3 ? 0.02 : 0.0;
    return l;
  };
  r.latency = {latency(store::kLatencyInference, v.inference_ms),
               latency(store::kLatencyEndToEnd, v.end_to_end_ms)};
  r.throughput = {{1, v.fps_b1}};
  store::MemoryRecord m;
  m.weights_bytes = v.precision == "int8" ? 2296218 : 7469620;
  m.weights_by_dtype = {{"float32", m.weights_bytes}};
  m.activations_bytes = 20510720;
  m.model_file_bytes = v.precision == "int8" ? 2400000 : 7918388;
  m.peak_rss_bytes = 132600000;
  r.memory = m;
  return r;
}

// The set the chart tests reason about (inference ms, mAP50-95):
//   #1 none fp32 (20.0, .340)   #2 magnitude 50 % fp32 (19.0, .250)
//   #3 none int8 entropy (11.0, .338)   #4 group 50 % fp32 (10.7, .001)
//   #5 none fp16 (19.5, .339)   #6 none int8 entropy (11.0, .338), a repeat of #3
//   #7 failed   #8 magnitude 50 % int8 entropy (11.0, .300)   #9 magnitude 20 % fp32 (19.8, .300)
inline std::vector<store::RunRecord> fixtureRuns() {
  std::vector<store::RunRecord> runs = {
      fixtureRun({1, "none", 0, "fp32", "", 0.340, 0.520, 20.0, 28.0, 50.0}),
      fixtureRun({2, "magnitude", 0.5, "fp32", "", 0.250, 0.450, 19.0, 9.0, 52.0}),
      fixtureRun({3, "none", 0, "int8", "entropy", 0.338, 0.514, 11.0, 15.0, 88.0}),
      fixtureRun({4, "group", 0.5, "fp32", "", 0.001, 0.002, 10.7, 14.0, 93.0}),
      fixtureRun({5, "none", 0, "fp16", "", 0.339, 0.519, 19.5, 27.0, 51.0}),
      fixtureRun({6, "none", 0, "int8", "entropy", 0.338, 0.514, 11.0, 15.0, 91.0}),
      fixtureRun({7, "magnitude", 0.9, "fp32", "", 0.0, 0.0, 5.0, 6.0, 200.0}),
      fixtureRun({8, "magnitude", 0.5, "int8", "entropy", 0.300, 0.530, 11.0, 15.0, 90.0}),
      fixtureRun({9, "magnitude", 0.2, "fp32", "", 0.300, 0.480, 19.8, 27.5, 50.5}),
  };
  // A failed run keeps its configuration but has no measurement worth drawing.
  store::RunRecord& failed = runs[6];
  failed.status = store::kStatusFailed;
  failed.error = "engine: out of memory";
  failed.has_metrics = false;
  runs[0].throughput.push_back({8, 45.0});
  return runs;
}

// Measures two real runs of yolov5n_fp32 on 4 COCO val images (dense, then magnitude 50 %) and
// stores them; returns their ids. For screenshots, which must show measured data. `probe` is
// the CLI binary used for peak RSS (empty: not measured).
inline Result<std::vector<int64_t>> storeRealRuns(store::Store& db, const std::string& data_root,
                                                  const std::string& probe) {
  RunOptions options;
  options.model = data_root + "/models/yolov5n_fp32.onnx";
  options.data = data_root + "/coco/images/val2017";
  options.config.limit = 4;
  options.config.timed_runs = 12;
  options.config.warmup = 2;
  options.config.throughput_batches = {1};
  options.rss_probe = probe;
  std::vector<int64_t> ids;
  for (const char* method : {"none", "magnitude"}) {
    options.config.prune_method = method;
    options.config.prune_params.clear();
    if (std::string(method) == "magnitude") options.config.prune_params["sparsity"] = "0.5";
    Result<RunResult> result = executeRun(options);
    if (!result) return result.status();
    Result<int64_t> id = db.insertRun(result->record);
    if (!id) return id.status();
    ids.push_back(*id);
  }
  return ids;
}

}  // namespace detslim::testing
