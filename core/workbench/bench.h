#pragma once
// The `bench` job: compile a model, time DetSlim's engine (and optionally a peer engine on the same
// input, alternating run by run), and report latency, throughput, memory and a per-node profile.

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/engine/engine.h"
#include "core/perf/latency.h"

namespace detslim {

struct BenchOptions {
  std::filesystem::path model;
  int threads = 0;       // 0: all cores
  int64_t batch = 0;     // 0: the model's batch
  int64_t size = 0;      // square input size; 0: the model's
  int runs = 100;
  int warmup = 10;
  std::string peer;      // "", "ort", "opencv"
  bool profile = false;
  bool reference_only = false;
  // Convolution / matrix-product precision (`--precision fp32|bf16`; docs/quant.md).
  ComputePrecision compute = ComputePrecision::kFloat32;
  // Untimed pause before each engine's run when a peer is measured: both engines' worker
  // threads spin for a while after a run (libgomp, ONNX Runtime's pool), and a spinning peer
  // would steal a core from the next run. The pause lets them park so each run starts alike.
  double settle_ms = 3.0;
  // Called after every timed run with (done, total); return false to stop early.
  std::function<bool(int, int)> progress;
};

struct NodeProfile {
  std::string name;
  std::string op_type;
  std::string fused;
  std::string kernel;
  std::string kernel_detail;
  std::string output_shape;
  std::string layout;
  double mean_ms = 0.0;
  double share = 0.0;    // of the summed node time
  double gflops = 0.0;   // 2 * MACs / time, compute ops only
};

struct OpTypeProfile {
  std::string op_type;
  int count = 0;
  double total_ms = 0.0;
  double share = 0.0;
};

struct BenchReport {
  std::string model;
  std::vector<int64_t> input_shape;
  int threads = 1;
  int batch = 1;
  LatencySummary latency;
  double throughput_ips = 0.0;
  size_t activation_bytes = 0;
  size_t activation_bytes_without_reuse = 0;
  size_t weight_bytes = 0;
  int64_t macs = 0;
  std::vector<std::pair<std::string, int>> kernels;
  // Peer (empty name when none)
  std::string peer_name;
  LatencySummary peer_latency;
  double ratio_median = 0.0;  // DetSlim / peer
  double max_abs_diff = -1.0; // of output 0 against the peer, -1 when not compared
  double max_rel_diff = -1.0; // max |diff| / max |peer output|
  std::vector<NodeProfile> nodes;
  std::vector<OpTypeProfile> op_types;
};

Result<BenchReport> runBench(const BenchOptions& options);
nlohmann::json benchToJson(const BenchReport& report);

}  // namespace detslim
