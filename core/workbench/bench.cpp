#include "core/workbench/bench.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/engine/batch.h"
#include "core/onnx/onnx_io.h"
#include "core/perf/peer.h"

namespace detslim {

namespace {

// A fixed seed so DetSlim, the peer and repeated runs all see the same input.
constexpr uint32_t kInputSeed = 20240517;

Tensor makeInput(const ValueDesc& desc) {
  Tensor t(desc.dtype, desc.shape);
  std::mt19937 rng(kInputSeed);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  if (desc.dtype == DType::kFloat32) {
    float* p = t.mutableData<float>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = uniform(rng);
  } else if (desc.dtype == DType::kFloat16) {
    auto* p = t.mutableData<uint16_t>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = floatToHalf(uniform(rng));
  } else if (desc.dtype == DType::kUInt8) {
    auto* p = t.mutableData<uint8_t>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<uint8_t>(rng() & 0xFF);
  }
  return t;
}

std::string shapeString(const Shape& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) out += (i ? "x" : "") + std::to_string(s[i]);
  return out;
}

nlohmann::json latencyJson(const LatencySummary& s) {
  return {{"median", s.median_ms}, {"p90", s.p90_ms}, {"p99", s.p99_ms}, {"mean", s.mean_ms},
          {"std", s.std_ms},       {"min", s.min_ms}, {"max", s.max_ms}, {"runs", s.runs}};
}

}  // namespace

Result<BenchReport> runBench(const BenchOptions& options) {
  if (options.runs < 1) return invalidArgument("--runs must be at least 1");
  if (options.warmup < 0) return invalidArgument("--warmup must not be negative");
  if (!options.peer.empty() && options.peer != "ort" && options.peer != "opencv") {
    return invalidArgument("--vs takes 'ort' or 'opencv', not '" + options.peer + "'");
  }
  LoadOptions load;
  DS_ASSIGN_OR_RETURN(Model model, loadModel(options.model, load));
  EngineOptions engine;
  engine.num_threads = options.threads;
  engine.profile = options.profile;
  engine.reference_only = options.reference_only;
  engine.compute = options.compute;
  // Batch / size overrides apply to 4-D image inputs.
  for (const ValueInfo& in : model.graph.inputs) {
    if (model.graph.isInitializer(in.name)) continue;
    if (!(options.batch > 0 || options.size > 0)) break;
    if (!in.type.has_shape || in.type.dims.size() != 4) {
      return invalidArgument(options.model.string() + ": --batch/--size need a 4-D image input; '" + in.name +
                             "' is " + in.type.toString());
    }
    Shape s;
    for (const Dim& d : in.type.dims) s.push_back(d.isStatic() ? d.value : 1);
    if (options.batch > 0) s[0] = options.batch;
    if (options.size > 0) s[2] = s[3] = options.size;
    engine.input_shapes.emplace_back(in.name, s);
  }
  Result<Plan> compiled = Engine::compile(model, engine);
  if (!compiled && options.batch > 1 && engine.input_shapes.size() == 1) {
    // An export that baked batch 1 into its Reshape targets: rebatch a copy, checked item by
    // item against batch-1 runs (engine/batch.h).
    EngineOptions single = engine;
    single.input_shapes[0].second[0] = 1;
    DS_ASSIGN_OR_RETURN(Plan one, Engine::compile(model, single));
    const Tensor item = makeInput(one.inputDescs()[0]);
    Result<BatchPlan> batched =
        compileForBatch(model, engine.input_shapes[0].first, item, options.batch, engine);
    if (batched) compiled = std::move(batched->plan);
  }
  if (!compiled) return compiled.status();
  Plan plan = std::move(*compiled);
  std::vector<Tensor> inputs;
  for (const ValueDesc& d : plan.inputDescs()) inputs.push_back(makeInput(d));

  BenchReport r;
  r.model = options.model.string();
  r.threads = plan.numThreads();
  r.input_shape = plan.inputDescs().empty() ? Shape{} : plan.inputDescs()[0].shape;
  r.batch = r.input_shape.empty() ? 1 : static_cast<int>(r.input_shape[0]);
  r.activation_bytes = plan.activationBytes();
  r.activation_bytes_without_reuse = plan.activationBytesWithoutReuse();
  r.weight_bytes = plan.weightBytes();
  r.kernels = plan.kernelCounts();
  for (const StepInfo& s : plan.steps()) r.macs += s.macs;

  std::unique_ptr<PeerEngine> peer;
  if (options.peer == "ort") {
    if (inputs.size() != 1) return unsupported("--vs ort supports models with one input");
    DS_ASSIGN_OR_RETURN(peer, startOrtPeer(options.model, plan.inputNames()[0], inputs[0], r.threads));
  } else if (options.peer == "opencv") {
    if (inputs.size() != 1) return unsupported("--vs opencv supports models with one input");
    DS_ASSIGN_OR_RETURN(peer, startOpenCvPeer(model, inputs[0], r.threads));
  }
  using Clock = std::chrono::steady_clock;
  auto settle = [&] {
    if (peer && options.settle_ms > 0) {
      std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(options.settle_ms));
    }
  };
  for (int i = 0; i < options.warmup; ++i) {
    DS_RETURN_IF_ERROR(plan.run(inputs));
    if (peer) DS_RETURN_IF_ERROR(peer->runOnce().status());
  }
  plan.resetTimings();
  std::vector<double> ours, theirs;
  for (int i = 0; i < options.runs; ++i) {
    settle();
    const auto t0 = Clock::now();
    DS_RETURN_IF_ERROR(plan.run(inputs));
    ours.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    if (peer) {
      settle();
      DS_ASSIGN_OR_RETURN(double ms, peer->runOnce());
      theirs.push_back(ms);
    }
    if (options.progress && !options.progress(i + 1, options.runs)) break;
  }
  r.latency = summarizeLatency(ours);
  r.throughput_ips = r.latency.median_ms > 0 ? 1000.0 * r.batch / r.latency.median_ms : 0.0;
  if (peer) {
    r.peer_name = peer->name();
    r.peer_latency = summarizeLatency(theirs);
    r.ratio_median = r.peer_latency.median_ms > 0 ? r.latency.median_ms / r.peer_latency.median_ms : 0.0;
    Result<Tensor> theirs_out = peer->output();
    if (theirs_out.isOk() && plan.numOutputs() > 0) {
      const Tensor& a = plan.output(0);
      const Tensor& b = *theirs_out;
      if (a.dtype() == DType::kFloat32 && a.numel() == b.numel()) {
        double max_abs = 0.0, max_ref = 0.0;
        for (int64_t i = 0; i < a.numel(); ++i) {
          max_abs = std::max(max_abs, std::fabs(static_cast<double>(a.data<float>()[i]) - b.data<float>()[i]));
          max_ref = std::max(max_ref, std::fabs(static_cast<double>(b.data<float>()[i])));
        }
        r.max_abs_diff = max_abs;
        r.max_rel_diff = max_ref > 0 ? max_abs / max_ref : max_abs;
      }
    }
  }
  if (options.profile) {
    const auto& steps = plan.steps();
    const auto& timings = plan.timings();
    double total = 0.0;
    for (const StepTiming& t : timings) total += t.runs ? t.total_ms / static_cast<double>(t.runs) : 0.0;
    std::map<std::string, OpTypeProfile> by_op;
    for (size_t i = 0; i < steps.size(); ++i) {
      const double mean = timings[i].runs ? timings[i].total_ms / static_cast<double>(timings[i].runs) : 0.0;
      NodeProfile n;
      n.name = steps[i].name;
      n.op_type = steps[i].op_type;
      n.fused = steps[i].fused;
      n.kernel = steps[i].kernel;
      n.kernel_detail = steps[i].kernel_detail;
      n.output_shape = steps[i].output_shapes.empty() ? "" : shapeString(steps[i].output_shapes[0]);
      n.layout = steps[i].output_layouts.empty() ? "" : steps[i].output_layouts[0];
      n.mean_ms = mean;
      n.share = total > 0 ? mean / total : 0.0;
      n.gflops = mean > 0 && steps[i].macs > 0 ? 2.0 * static_cast<double>(steps[i].macs) / (mean * 1e6) : 0.0;
      r.nodes.push_back(n);
      const std::string key = n.fused.empty() ? n.op_type : n.fused;
      OpTypeProfile& op = by_op[key];
      op.op_type = key;
      ++op.count;
      op.total_ms += mean;
    }
    for (auto& [key, op] : by_op) {
      op.share = total > 0 ? op.total_ms / total : 0.0;
      r.op_types.push_back(op);
    }
    std::sort(r.op_types.begin(), r.op_types.end(),
              [](const OpTypeProfile& a, const OpTypeProfile& b) { return a.total_ms > b.total_ms; });
  }
  return r;
}

nlohmann::json benchToJson(const BenchReport& r) {
  using nlohmann::json;
  json j;
  j["model"] = r.model;
  j["input_shape"] = r.input_shape;
  j["threads"] = r.threads;
  j["batch"] = r.batch;
  j["latency_ms"] = latencyJson(r.latency);
  j["throughput_ips"] = r.throughput_ips;
  j["activation_bytes"] = r.activation_bytes;
  j["activation_bytes_without_reuse"] = r.activation_bytes_without_reuse;
  j["weight_bytes"] = r.weight_bytes;
  j["macs"] = r.macs;
  json kernels = json::object();
  for (const auto& [k, n] : r.kernels) kernels[k] = n;
  j["kernels"] = kernels;
  if (!r.peer_name.empty()) {
    j["peer"] = {{"name", r.peer_name}, {"latency_ms", latencyJson(r.peer_latency)}};
    j["ratio_median"] = r.ratio_median;
    if (r.max_abs_diff >= 0) j["output_agreement"] = {{"max_abs_diff", r.max_abs_diff}, {"max_rel_diff", r.max_rel_diff}};
  }
  if (!r.nodes.empty()) {
    json nodes = json::array();
    for (const NodeProfile& n : r.nodes) {
      nodes.push_back({{"name", n.name}, {"op_type", n.op_type}, {"fused", n.fused}, {"kernel", n.kernel},
                       {"kernel_detail", n.kernel_detail}, {"output_shape", n.output_shape}, {"layout", n.layout}, {"mean_ms", n.mean_ms},
                       {"share", n.share}, {"gflops", n.gflops}});
    }
    j["profile"]["nodes"] = nodes;
    json ops = json::array();
    for (const OpTypeProfile& o : r.op_types) {
      ops.push_back({{"op_type", o.op_type}, {"count", o.count}, {"total_ms", o.total_ms}, {"share", o.share}});
    }
    j["profile"]["op_types"] = ops;
  }
  return j;
}

}  // namespace detslim
