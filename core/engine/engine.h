#pragma once
// The inference engine: Engine::compile(model, options) -> Plan; plan.run(inputs) executes.
//
// compile: fixes input shapes, folds BatchNormalization into Conv, infers every value's shape
// with the ops' shape functions, evaluates what is constant at compile time (Shape chains,
// Constant nodes), fuses Conv + activation (+ residual Add) into FusedConv, picks one kernel per
// node (first implementation that accepts; the reference kernel last), inserts layout reorders,
// and plans activation memory (liveness-based reuse of one arena). run: binds input pointers and
// executes the steps — no allocation, no name lookups.

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/base/status.h"
#include "core/base/tensor.h"
#include "core/graph/graph.h"
#include "core/kernels/kernel.h"

namespace detslim {

struct EngineOptions {
  int num_threads = 0;  // 0: every core this process may use
  // Graph input shapes to compile for, by name (others keep the file's static shape).
  std::vector<std::pair<std::string, Shape>> input_shapes;
  // Graph inputs whose values are fixed at compile time (e.g. a shape tensor given as input).
  std::vector<std::pair<std::string, Tensor>> constant_inputs;
  bool reference_only = false;  // only reference kernels (the oracle the fast path is tested against)
  bool fuse = true;             // BatchNorm folding and Conv + activation (+ Add) fusion
  bool reuse_memory = true;     // liveness-based arena; false gives every value its own bytes
  bool profile = false;         // time every step in run()
  // Precision of Conv / FusedConv / ConvTranspose / Gemm / MatMul (docs/quant.md: bf16 is a
  // compile option). kBFloat16 needs AVX-512 BF16; without it those nodes stay float32.
  ComputePrecision compute = ComputePrecision::kFloat32;
  std::vector<std::string> keep_fp32_nodes;  // node names computed in float32 regardless
};

// One executed step as the profiler and `detslim bench --profile` show it.
struct StepInfo {
  std::string name;            // node name (or "reorder <value>")
  std::string op_type;         // "Conv", "FusedConv", "Reorder", ...
  std::string fused;           // "Conv+Sigmoid+Mul+Add" for fused nodes, "" otherwise
  std::string kernel;          // the implementation that accepted, e.g. "f32_conv_dnnl"
  std::string kernel_detail;   // what it runs, e.g. oneDNN's "brgconv:avx512_core nhwc>nhwc"
  std::vector<Shape> output_shapes;
  std::vector<std::string> output_layouts;
  std::vector<DType> output_dtypes;
  int64_t macs = 0;            // Conv/Gemm/MatMul multiply-accumulates of this step
};

struct StepTiming {
  double total_ms = 0.0;
  int64_t runs = 0;
};

class Plan {
 public:
  Plan();
  ~Plan();
  Plan(Plan&&) noexcept;
  Plan& operator=(Plan&&) noexcept;
  Plan(const Plan&) = delete;
  Plan& operator=(const Plan&) = delete;

  // Executes on `inputs` (graph-input order, plain layout, the compiled dtypes and shapes;
  // refused otherwise, naming the input). Outputs stay valid until the next run.
  Status run(std::span<const Tensor> inputs);
  const Tensor& output(size_t i) const;
  size_t numOutputs() const;
  const std::vector<std::string>& outputNames() const;
  const std::vector<std::string>& inputNames() const;
  const std::vector<ValueDesc>& inputDescs() const;

  const std::vector<StepInfo>& steps() const;
  // Per-step timings accumulated over profiled runs (EngineOptions::profile), step order.
  const std::vector<StepTiming>& timings() const;
  void resetTimings();

  int numThreads() const;
  // Activation arena bytes (the planned peak) and what it would be without reuse.
  size_t activationBytes() const;
  size_t activationBytesWithoutReuse() const;
  // Bytes of the constants the plan holds (weights as stored in the model).
  size_t weightBytes() const;
  // Weight bytes by dtype name, as the model stores them.
  const std::vector<std::pair<std::string, size_t>>& weightBytesByDtype() const;
  // Kernel name -> number of steps using it.
  std::vector<std::pair<std::string, int>> kernelCounts() const;

  // Engine-internal state (defined in core/engine/plan_impl.h, opaque elsewhere).
  struct Impl;
  Impl& internals() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

class Engine {
 public:
  // Refuses (before anything runs) a graph with an op, attribute or dynamic shape the engine
  // cannot execute, naming the node and the reason.
  static Result<Plan> compile(const Model& model, const EngineOptions& options = {});
};

// Runs `model` once on `input` with the reference kernels (no fusion, one thread), its first
// graph input compiled to `input`'s shape, and returns output 0. For small evaluations at compile
// or calibration time: the QDQ fusion's integer tables, the quantizer's pre-activation ranges.
Result<Tensor> evaluateReference(const Model& model, const Tensor& input);

}  // namespace detslim
