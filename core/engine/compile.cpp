// Engine::compile: IR -> Plan. See engine.h for the stages.

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "core/base/cpu.h"
#include "core/engine/float16_lowering.h"
#include "core/engine/detect_fusion.h"
#include "core/engine/fusion.h"
#include "core/engine/memory_plan.h"
#include "core/engine/plan_impl.h"
#include "core/engine/qdq_fusion.h"
#include "core/graph/passes.h"
#include "core/graph/stats.h"
#include "core/kernels/opt/dnnl_common.h"
#include "core/kernels/registry.h"
#include "core/kernels/reorder.h"

namespace detslim {

namespace {

// Outputs of nodes whose inputs are all known are computed at compile time when they are at
// most this many elements (shape arithmetic, small constants); bigger ones run every time.
constexpr int64_t kMaxFoldElements = 1 << 20;

// Multiply-accumulates of the compute-heavy ops (the profiler's GFLOP/s column).
int64_t stepMacs(const Node& node, const NodeContext& ctx) {
  if (ctx.outputs.empty() || !ctx.outputs[0].present() || ctx.inputs.size() < 2) return 0;
  const int64_t out = ctx.outputs[0].numel();
  const Shape& w = ctx.inputs[1].shape;
  const std::string& op = node.op_type;
  if ((op == "Conv" || op == "FusedConv" || op == "QConv" || op == "ConvInteger") && !w.empty() && w[0] > 0) {
    return out * (shapeNumel(w) / w[0]);
  }
  if (op == "ConvTranspose" && !w.empty() && w[0] > 0) {
    return ctx.inputs[0].numel() * (shapeNumel(w) / w[0]);
  }
  if (op == "Gemm" && ctx.inputs[0].shape.size() == 2) {
    const int64_t k = node.intOr("transA", 0) ? ctx.inputs[0].shape[0] : ctx.inputs[0].shape[1];
    return out * k;
  }
  if ((op == "MatMul" || op == "MatMulInteger") && !ctx.inputs[0].shape.empty()) {
    return out * ctx.inputs[0].shape.back();
  }
  return 0;
}

struct Value {
  std::string name;
  ValueDesc desc;
  const Tensor* constant = nullptr;  // compile-time value (points into `constants`)
  int input_index = -1;              // graph input position
  bool graph_output = false;
};

class Compiler {
 public:
  Compiler(const Model& model, const EngineOptions& options) : model_(model), options_(options) {}

  Result<Plan> run();

 private:
  int valueId(const std::string& name) {
    auto it = ids_.find(name);
    if (it != ids_.end()) return it->second;
    ids_.emplace(name, static_cast<int>(values_.size()));
    values_.push_back(Value{name, {}, nullptr, -1, false});
    return static_cast<int>(values_.size()) - 1;
  }
  const Tensor* keepConstant(Tensor t) {
    constant_pool_.push_back(std::make_unique<Tensor>(std::move(t)));
    return constant_pool_.back().get();
  }

  Status bindInputs();
  Status inferAndFold();
  NodeContext contextFor(const Node& node) const;
  Status createSteps();
  Status planMemory();

  const Model& model_;
  const EngineOptions& options_;
  Model work_;
  int num_threads_ = 1;
  std::vector<Value> values_;
  std::unordered_map<std::string, int> ids_;
  std::vector<std::unique_ptr<Tensor>> constant_pool_;
  std::vector<Node> runtime_nodes_;  // what is left to execute, in order
  // The node evaluated at compile time behind each folded value, by value name (the QDQ fusion
  // finds a quantized Conv's weight DequantizeLinear here).
  std::unordered_map<std::string, Node> folded_producers_;
  std::vector<std::string> runtime_fused_;

  struct PlannedStep {
    std::unique_ptr<Kernel> kernel;
    std::vector<int> inputs;   // value ids (-1: omitted)
    std::vector<int> outputs;  // value ids (-1: omitted)
    StepInfo info;
  };
  std::vector<PlannedStep> steps_;
  Plan plan_;
};

Status Compiler::bindInputs() {
  const Graph& g = work_.graph;
  for (const NamedTensor& init : g.initializers()) {
    Value& v = values_[static_cast<size_t>(valueId(init.name))];
    v.constant = &init.tensor;
    v.desc = ValueDesc{init.tensor.dtype(), init.tensor.shape(), Layout::kPlain};
  }
  for (const auto& [name, tensor] : options_.constant_inputs) {
    Value& v = values_[static_cast<size_t>(valueId(name))];
    v.constant = keepConstant(tensor);
    v.desc = ValueDesc{tensor.dtype(), tensor.shape(), Layout::kPlain};
  }
  Plan::Impl& p = plan_.internals();
  for (const ValueInfo& in : g.inputs) {
    const int id = valueId(in.name);
    if (values_[static_cast<size_t>(id)].constant) continue;  // initializer default or bound
    Shape shape;
    auto override_it = std::find_if(options_.input_shapes.begin(), options_.input_shapes.end(),
                                    [&](const auto& o) { return o.first == in.name; });
    if (override_it != options_.input_shapes.end()) {
      shape = override_it->second;
    } else {
      if (!in.type.has_shape) {
        return invalidArgument("graph input '" + in.name + "' has no declared shape; give its shape to compile");
      }
      for (const Dim& d : in.type.dims) {
        if (!d.isStatic()) {
          return invalidArgument("graph input '" + in.name + "' has a dynamic dimension '" +
                                 (d.param.empty() ? std::string("?") : d.param) +
                                 "'; give its shape to compile (e.g. --batch / --size)");
        }
        shape.push_back(d.value);
      }
    }
    if (in.type.dtype == DType::kUndefined || in.type.dtype == DType::kString) {
      return unsupported("graph input '" + in.name + "' has element type " +
                         std::string(dtypeName(in.type.dtype)) + ", which the engine cannot take");
    }
    Value& v = values_[static_cast<size_t>(id)];
    v.desc = ValueDesc{in.type.dtype, shape, Layout::kPlain};
    v.input_index = static_cast<int>(p.input_names.size());
    p.input_names.push_back(in.name);
    p.input_descs.push_back(v.desc);
  }
  for (const auto& [name, shape] : options_.input_shapes) {
    if (std::none_of(g.inputs.begin(), g.inputs.end(), [&](const ValueInfo& v) { return v.name == name; })) {
      return invalidArgument("an input shape was given for '" + name + "', which is not a graph input");
    }
  }
  for (const ValueInfo& out : g.outputs) values_[static_cast<size_t>(valueId(out.name))].graph_output = true;
  return Status::ok();
}

NodeContext Compiler::contextFor(const Node& node) const {
  NodeContext ctx;
  ctx.node = &node;
  ctx.opset = work_.opsetVersion(node.domain);
  if (node.domain == "detslim") ctx.opset = work_.opsetVersion("");
  ctx.num_threads = num_threads_;
  ctx.cpu = options_.reference_only ? CpuFeatures::baseline() : CpuFeatures::host();
  const auto& keep = options_.keep_fp32_nodes;
  ctx.compute = std::find(keep.begin(), keep.end(), node.name) != keep.end()
                    ? ComputePrecision::kFloat32
                    : options_.compute;
  for (const std::string& name : node.inputs) {
    if (name.empty()) {
      ctx.inputs.emplace_back();
      ctx.constants.push_back(nullptr);
      continue;
    }
    const Value& v = values_[static_cast<size_t>(ids_.at(name))];
    ctx.inputs.push_back(v.desc);
    ctx.constants.push_back(v.constant);
  }
  return ctx;
}

Status Compiler::inferAndFold() {
  const Graph& g = work_.graph;
  DS_ASSIGN_OR_RETURN(std::vector<size_t> order, g.topologicalOrder());
  for (size_t index : order) {
    const Node& node = g.nodes[index];
    if (!findOp(node.domain, node.op_type)) {
      return unsupported(node.describe() + ": the engine has no kernel for op " +
                         (node.domain.empty() ? "" : node.domain + "::") + node.op_type);
    }
    for (const std::string& name : node.inputs) {
      if (!name.empty() && (!ids_.count(name) || !values_[static_cast<size_t>(ids_.at(name))].desc.present())) {
        return invalidArgument(node.describe() + ": input '" + name + "' is not produced by any node, "
                               "graph input or initializer");
      }
    }
    NodeContext ctx = contextFor(node);
    DS_ASSIGN_OR_RETURN(KernelChoice choice, createKernel(ctx, /*reference_only=*/true));
    bool all_constant = true;
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      if (!node.inputs[i].empty() && !ctx.constants[i]) all_constant = false;
    }
    const bool shape_only = node.op_type == "Shape" && node.domain.empty();
    int64_t out_elements = 0;
    for (const ValueDesc& d : ctx.outputs) out_elements += d.present() ? d.numel() : 0;
    // A DequantizeLinear of constants is a QDQ model's weight: always folded, whatever its size,
    // so the convolution gets a constant weight (and the QDQ fusion finds the int8 one).
    const bool dequantize_constant = all_constant && node.op_type == "DequantizeLinear" && node.domain.empty();
    const bool fold = ((all_constant || shape_only) && out_elements <= kMaxFoldElements) || dequantize_constant;
    std::vector<Tensor> folded;
    if (fold) {
      // Evaluate now with the reference kernel (Shape reads only the shape, never the data).
      std::vector<Tensor> outs;
      std::vector<void*> out_ptrs;
      for (const ValueDesc& d : ctx.outputs) outs.emplace_back(d.present() ? Tensor(d.dtype, d.shape) : Tensor());
      for (Tensor& t : outs) out_ptrs.push_back(t.defined() ? t.rawMutable() : nullptr);
      std::vector<const void*> in_ptrs;
      for (const Tensor* c : ctx.constants) in_ptrs.push_back(c ? c->raw() : nullptr);
      std::vector<std::byte> scratch(choice.kernel->scratchBytes() + Tensor::kAlignment);
      void* aligned = scratch.data();
      size_t space = scratch.size();
      std::align(Tensor::kAlignment, choice.kernel->scratchBytes(), aligned, space);
      if (choice.kernel->isView()) {
        std::memcpy(outs[0].rawMutable(), in_ptrs[0], outs[0].bytes());
      } else {
        choice.kernel->run(KernelArgs{in_ptrs, out_ptrs, aligned});
      }
      folded = std::move(outs);
    }
    for (size_t i = 0; i < node.outputs.size(); ++i) {
      if (node.outputs[i].empty()) continue;
      const int id = valueId(node.outputs[i]);
      Value& v = values_[static_cast<size_t>(id)];
      if (v.desc.present()) return invalidArgument(node.describe() + ": value '" + node.outputs[i] + "' is produced twice");
      v.desc = i < ctx.outputs.size() ? ctx.outputs[i] : ValueDesc{};
      if (fold && i < folded.size() && folded[i].defined()) {
        v.constant = keepConstant(std::move(folded[i]));
        folded_producers_.emplace(node.outputs[i], node);
      }
    }
    if (!fold) runtime_nodes_.push_back(node);
  }
  return Status::ok();
}

Status Compiler::createSteps() {
  // Values as seen by step creation: a reordered copy of a value, by (value id, layout).
  std::map<std::pair<int, Layout>, int> reordered;
  auto addReorder = [&](int id, Layout to) -> Result<int> {
    auto key = std::make_pair(id, to);
    if (auto it = reordered.find(key); it != reordered.end()) return it->second;
    const Value src = values_[static_cast<size_t>(id)];
    std::unique_ptr<Kernel> kernel = makeReorderKernel(src.desc, to, num_threads_);
    if (!kernel) {
      return unsupported("value '" + src.name + "' (" + shapeToString(src.desc.shape) + ", " +
                         std::string(layoutName(src.desc.layout)) + ") cannot be reordered to " +
                         std::string(layoutName(to)));
    }
    const int dst = valueId(src.name + "@" + std::string(layoutName(to)));
    values_[static_cast<size_t>(dst)].desc = ValueDesc{src.desc.dtype, src.desc.shape, to};
    PlannedStep step;
    step.kernel = std::move(kernel);
    step.inputs = {id};
    step.outputs = {dst};
    step.info.name = "reorder " + src.name;
    step.info.op_type = "Reorder";
    step.info.kernel = "reorder_dnnl";
    step.info.kernel_detail = std::string(layoutName(src.desc.layout)) + ">" + std::string(layoutName(to));
    step.info.output_shapes = {src.desc.shape};
    step.info.output_layouts = {std::string(layoutName(to))};
    step.info.output_dtypes = {src.desc.dtype};
    steps_.push_back(std::move(step));
    reordered.emplace(key, dst);
    return dst;
  };

  // Which ops read each value: a convolution whose every reader wants plain data (Reshape,
  // Transpose, ... of a Detect head) writes plain directly instead of NHWC + a reorder.
  std::unordered_map<std::string, std::vector<const Node*>> readers;
  for (const Node& node : runtime_nodes_) {
    for (const std::string& in : node.inputs) {
      if (!in.empty()) readers[in].push_back(&node);
    }
  }
  std::function<bool(const Node&)> readsNhwc = [&](const Node& reader) {
    static const std::unordered_set<std::string> kNhwcReaders = {
        "Conv", "FusedConv", "MaxPool", "AveragePool", "GlobalAveragePool", "Concat", "Resize",
        "Sigmoid", "Add", "Sub", "Mul", "Div", "Pow", "Split", "QConv", "QuantizeLinear",
        "DequantizeLinear", "YoloDecode"};
    // float16 rounding and integer tables take any layout: they read NHWC when one of their own
    // readers does.
    if ((reader.op_type == "RoundToHalf" || reader.op_type == "QLut") && reader.outputs.size() == 1) {
      const auto& next = readers[reader.outputs[0]];
      return std::any_of(next.begin(), next.end(), [&](const Node* x) { return readsNhwc(*x); });
    }
    return kNhwcReaders.count(reader.op_type) > 0;
  };

  for (size_t n = 0; n < runtime_nodes_.size(); ++n) {
    const Node& node = runtime_nodes_[n];
    NodeContext ctx = contextFor(node);
    std::optional<KernelChoice> preset;
    const bool is_conv = (node.op_type == "Conv" && node.domain.empty()) || node.op_type == "FusedConv" ||
                         node.op_type == "QConv";
    if (is_conv && !options_.reference_only && node.outputs.size() == 1) {
      DnnlLayoutRequest request;
      const auto& r = readers[node.outputs[0]];
      const bool graph_output = values_[static_cast<size_t>(ids_.at(node.outputs[0]))].graph_output;
      if (graph_output || (!r.empty() && std::none_of(r.begin(), r.end(), [&](const Node* x) { return readsNhwc(*x); }))) {
        request.dst = Layout::kPlain;
      }
      if (request.dst) {
        const OpRegistration* op = findOp(node.domain, node.op_type);
        ctx.outputs.assign(node.outputs.size(), ValueDesc{});
        DS_RETURN_IF_ERROR(op->infer(ctx));
        std::string why_not;
        DS_ASSIGN_OR_RETURN(std::unique_ptr<Kernel> kernel, makeDnnlKernelWithLayouts(ctx, request, &why_not));
        if (kernel) {
          KernelChoice c;
          c.kernel = std::move(kernel);
          const auto* dnnl_kernel = dynamic_cast<const DnnlKernel*>(c.kernel.get());
          const std::string dtype = dnnl_kernel && dnnl_kernel->computesInBf16() ? "bf16" : "f32";
          c.impl_name = node.op_type == "FusedConv" ? dtype + "_fusedconv_dnnl"
                        : node.op_type == "QConv"   ? "int8_qconv_dnnl"
                                                    : dtype + "_conv_dnnl";
          preset = std::move(c);
        }
      }
    }
    KernelChoice choice;
    if (preset) {
      choice = std::move(*preset);
    } else {
      DS_ASSIGN_OR_RETURN(choice, createKernel(ctx, options_.reference_only));
    }
    PlannedStep step;
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      if (node.inputs[i].empty()) {
        step.inputs.push_back(-1);
        continue;
      }
      int id = ids_.at(node.inputs[i]);
      const Layout want = choice.kernel->inputLayout(i);
      if (values_[static_cast<size_t>(id)].desc.layout != want) {
        DS_ASSIGN_OR_RETURN(id, addReorder(id, want));
      }
      step.inputs.push_back(id);
    }
    for (size_t i = 0; i < node.outputs.size(); ++i) {
      if (node.outputs[i].empty() || i >= ctx.outputs.size() || !ctx.outputs[i].present()) {
        step.outputs.push_back(-1);
        continue;
      }
      const int id = ids_.at(node.outputs[i]);
      Value& v = values_[static_cast<size_t>(id)];
      v.desc = ctx.outputs[i];
      v.desc.layout = choice.kernel->outputLayout(i);
      step.outputs.push_back(id);
    }
    StepInfo info;
    info.name = node.name.empty() ? "-> " + node.outputs.front() : node.name;
    info.op_type = node.op_type;
    info.fused = runtime_fused_[n];
    info.kernel = choice.impl_name;
    info.kernel_detail = choice.kernel->detail();
    for (int id : step.outputs) {
      if (id < 0) continue;
      info.output_shapes.push_back(values_[static_cast<size_t>(id)].desc.shape);
      info.output_layouts.emplace_back(layoutName(values_[static_cast<size_t>(id)].desc.layout));
      info.output_dtypes.push_back(values_[static_cast<size_t>(id)].desc.dtype);
    }
    info.macs = stepMacs(node, ctx);
    step.kernel = std::move(choice.kernel);
    step.info = std::move(info);
    steps_.push_back(std::move(step));
  }
  // Graph outputs leave in plain layout.
  for (const ValueInfo& out : work_.graph.outputs) {
    const int id = ids_.at(out.name);
    Value& v = values_[static_cast<size_t>(id)];
    if (!v.constant && v.desc.layout != Layout::kPlain) {
      DS_ASSIGN_OR_RETURN(int plain, addReorder(id, Layout::kPlain));
      // The graph output is the reordered copy from here on.
      values_[static_cast<size_t>(plain)].graph_output = true;
      v.graph_output = false;
      ids_[out.name + "#output"] = plain;
    }
  }
  return Status::ok();
}

Status Compiler::planMemory() {
  Plan::Impl& p = plan_.internals();
  const Graph& g = work_.graph;
  // Final id of every graph output (after a possible reorder to plain).
  std::vector<int> output_ids;
  for (const ValueInfo& out : g.outputs) {
    auto it = ids_.find(out.name + "#output");
    output_ids.push_back(it != ids_.end() ? it->second : ids_.at(out.name));
  }
  MemoryPlanner planner(values_.size());
  std::vector<bool> is_output(values_.size(), false);
  for (int id : output_ids) is_output[static_cast<size_t>(id)] = true;
  for (size_t id = 0; id < values_.size(); ++id) {
    if (values_[id].constant || values_[id].input_index >= 0 || is_output[id]) {
      planner.markExternal(static_cast<int>(id));
    }
  }
  // Pass 1: lifetimes.
  for (size_t s = 0; s < steps_.size(); ++s) {
    for (int id : steps_[s].inputs) {
      if (id >= 0) planner.use(id, static_cast<int>(s));
    }
    for (int id : steps_[s].outputs) {
      if (id >= 0 && !is_output[static_cast<size_t>(id)]) {
        planner.define(id, static_cast<int>(s), values_[static_cast<size_t>(id)].desc.bytes());
      }
    }
  }
  // Pass 2: views share their input's bytes; in-place kernels overwrite an input that dies here.
  for (size_t s = 0; s < steps_.size(); ++s) {
    const PlannedStep& step = steps_[s];
    if (step.outputs.empty() || step.outputs[0] < 0) continue;
    const int out = step.outputs[0];
    if (is_output[static_cast<size_t>(out)]) continue;
    const int in0 = step.inputs.empty() ? -1 : step.inputs[0];
    if (step.kernel->isView() && in0 >= 0) {
      planner.aliasView(out, in0);
    } else if (step.kernel->inPlaceInput() >= 0 &&
               static_cast<size_t>(step.kernel->inPlaceInput()) < step.inputs.size()) {
      const size_t k = static_cast<size_t>(step.kernel->inPlaceInput());
      const int in = step.inputs[k];
      // The kernel still reads its other inputs while writing: never overwrite bytes one of them
      // lives in (x + act(conv(x)) has the same value as X and Sum).
      bool shared_with_other_input = false;
      for (size_t j = 0; j < step.inputs.size(); ++j) {
        if (j != k && step.inputs[j] >= 0 && in >= 0 && planner.root(step.inputs[j]) == planner.root(in)) {
          shared_with_other_input = true;
        }
      }
      if (in >= 0 && !shared_with_other_input &&
          values_[static_cast<size_t>(in)].desc.bytes() == values_[static_cast<size_t>(out)].desc.bytes()) {
        planner.tryAliasInPlace(out, in, static_cast<int>(s));
      }
    }
  }
  const MemoryPlanner::Result layout = planner.solve(options_.reuse_memory);
  p.arena_bytes = layout.arena_bytes;
  p.arena_bytes_without_reuse = layout.arena_bytes_without_reuse;
  p.arena = std::shared_ptr<std::byte[]>(new (std::align_val_t{Tensor::kAlignment}) std::byte[std::max<size_t>(p.arena_bytes, 1) + Tensor::kAlignment],
                                         [](std::byte* q) { ::operator delete[](q, std::align_val_t{Tensor::kAlignment}); });
  // Dedicated output tensors.
  std::unordered_map<int, size_t> output_slot;
  for (size_t i = 0; i < output_ids.size(); ++i) {
    const Value& v = values_[static_cast<size_t>(output_ids[i])];
    p.output_names.push_back(g.outputs[i].name);
    p.outputs.emplace_back(v.desc.dtype, v.desc.shape);
    output_slot.emplace(output_ids[i], i);
    if (v.constant) p.output_copies.push_back({i, v.constant->raw(), -1});
    else if (v.input_index >= 0) p.output_copies.push_back({i, nullptr, v.input_index});
  }
  // Resolves where a value lives; graph-input-based ones become patches.
  auto locate = [&](int id, size_t step, size_t slot, bool out_slot) -> void* {
    const int root = planner.root(id);
    const Value& r = values_[static_cast<size_t>(root)];
    if (auto it = output_slot.find(id); it != output_slot.end()) return p.outputs[it->second].rawMutable();
    // A view of a graph output (a Reshape reading it) lives in that output's own buffer.
    if (auto it = output_slot.find(root); it != output_slot.end()) return p.outputs[it->second].rawMutable();
    if (r.constant) return const_cast<void*>(r.constant->raw());
    if (r.input_index >= 0) {
      p.patches.push_back({step, slot, out_slot, static_cast<size_t>(r.input_index)});
      return nullptr;
    }
    return p.arena.get() + layout.offsets[static_cast<size_t>(root)];
  };
  size_t scratch = 0;
  for (size_t s = 0; s < steps_.size(); ++s) {
    PlannedStep& ps = steps_[s];
    Plan::Impl::Step step;
    for (size_t k = 0; k < ps.inputs.size(); ++k) {
      step.inputs.push_back(ps.inputs[k] < 0 ? nullptr : locate(ps.inputs[k], s, k, false));
    }
    for (size_t k = 0; k < ps.outputs.size(); ++k) {
      step.outputs.push_back(ps.outputs[k] < 0 ? nullptr : locate(ps.outputs[k], s, k, true));
    }
    // A view whose output got its own buffer (a graph output) must copy.
    step.skip = ps.kernel->isView() && !ps.outputs.empty() && ps.outputs[0] >= 0 &&
                planner.root(ps.outputs[0]) != ps.outputs[0];
    scratch = std::max(scratch, ps.kernel->scratchBytes());
    step.kernel = std::move(ps.kernel);
    p.steps.push_back(std::move(step));
    p.infos.push_back(std::move(ps.info));
  }
  p.scratch_bytes = scratch;
  p.scratch = std::shared_ptr<std::byte[]>(new (std::align_val_t{Tensor::kAlignment}) std::byte[scratch + Tensor::kAlignment],
                                           [](std::byte* q) { ::operator delete[](q, std::align_val_t{Tensor::kAlignment}); });
  p.timings.assign(p.steps.size(), StepTiming{});
  return Status::ok();
}

Result<Plan> Compiler::run() {
  num_threads_ = options_.num_threads > 0 ? options_.num_threads : availableCores();
  work_ = model_;
  // float16 graphs run as float16 storage, float32 compute (float16_lowering.h); the reference
  // path runs the float16 graph as it is (the oracle).
  Float16Lowering half;
  if (!options_.reference_only) {
    DS_ASSIGN_OR_RETURN(half, lowerFloat16(work_));
  }
  if (options_.fuse) {
    DS_ASSIGN_OR_RETURN(PassReport bn, foldBatchNorm(work_));
    (void)bn;
  }
  DS_ASSIGN_OR_RETURN(PassReport dead, eliminateDeadNodes(work_));
  (void)dead;
  DS_RETURN_IF_ERROR(bindInputs());
  DS_RETURN_IF_ERROR(inferAndFold());
  runtime_fused_.assign(runtime_nodes_.size(), std::string());
  const DescLookup desc_of = [&](const std::string& name) -> const ValueDesc* {
    auto it = ids_.find(name);
    return it == ids_.end() ? nullptr : &values_[static_cast<size_t>(it->second)].desc;
  };
  const ConstantLookup constant_of = [&](const std::string& name) -> const Tensor* {
    auto it = ids_.find(name);
    return it == ids_.end() ? nullptr : values_[static_cast<size_t>(it->second)].constant;
  };
  const OutputCheck is_graph_output = [&](const std::string& name) {
    auto it = ids_.find(name);
    return it != ids_.end() && values_[static_cast<size_t>(it->second)].graph_output;
  };
  if (options_.fuse) {
    fuseConvActivations(FusionInput{runtime_nodes_, runtime_fused_}, desc_of, constant_of, is_graph_output);
  }
  // QDQ models: quantized convolutions and scale-preserving ops run on the integers. The
  // reference path runs the QDQ graph as it is (the oracle the integer path is checked against).
  if (options_.fuse && !options_.reference_only) {
    QdqFusionLookups qdq;
    qdq.desc_of = desc_of;
    qdq.constant_of = constant_of;
    qdq.is_graph_output = is_graph_output;
    qdq.folded_producer = [&](const std::string& name) -> const Node* {
      auto it = folded_producers_.find(name);
      return it == folded_producers_.end() ? nullptr : &it->second;
    };
    qdq.opset = work_.opsetVersion("");
    fuseQdq(FusionInput{runtime_nodes_, runtime_fused_}, qdq);
  }
  // The Detect-head decode in one pass (detect_fusion.h). Not for float16 graphs: their decode
  // rounds after every op, which one fused pass would not.
  if (options_.fuse && !options_.reference_only && !half.applied) {
    fuseYoloDecode(FusionInput{runtime_nodes_, runtime_fused_}, desc_of, constant_of, is_graph_output);
  }
  if (half.applied) {
    for (const std::string& name : half.round_values) {  // folded at compile time
      auto it = ids_.find(name);
      if (it == ids_.end()) continue;
      Value& v = values_[static_cast<size_t>(it->second)];
      if (v.constant && v.desc.dtype == DType::kFloat32) v.constant = keepConstant(roundTensorToHalf(*v.constant));
    }
    insertHalfRounding(runtime_nodes_, runtime_fused_, half, [&](const std::string& name) {
      std::string wide = name + "@f32";
      while (ids_.count(wide)) wide += "'";
      const ValueDesc desc = values_[static_cast<size_t>(ids_.at(name))].desc;
      values_[static_cast<size_t>(valueId(wide))].desc = desc;
      return wide;
    });
  }
  DS_RETURN_IF_ERROR(createSteps());
  DS_RETURN_IF_ERROR(planMemory());
  Plan::Impl& p = plan_.internals();
  p.num_threads = num_threads_;
  p.profile = options_.profile;
  for (auto& c : constant_pool_) p.constants.push_back(*c);
  std::map<std::string, size_t> by_dtype;
  for (const NamedTensor& init : work_.graph.initializers()) {
    p.constants.push_back(init.tensor);
  }
  for (const NamedTensor& init : model_.graph.initializers()) {
    p.weight_bytes += init.tensor.bytes();
    by_dtype[std::string(dtypeName(init.tensor.dtype()))] += init.tensor.bytes();
  }
  p.weight_bytes_by_dtype.assign(by_dtype.begin(), by_dtype.end());
  return std::move(plan_);
}

}  // namespace

Result<Plan> Engine::compile(const Model& model, const EngineOptions& options) {
  Compiler compiler(model, options);
  return compiler.run();
}

Result<Tensor> evaluateReference(const Model& model, const Tensor& input) {
  if (model.graph.inputs.empty()) return invalidArgument("evaluateReference: the model has no graph input");
  EngineOptions options;
  options.reference_only = true;
  options.fuse = false;
  options.num_threads = 1;
  options.input_shapes = {{model.graph.inputs.front().name, input.shape()}};
  DS_ASSIGN_OR_RETURN(Plan plan, Engine::compile(model, options));
  DS_RETURN_IF_ERROR(plan.run({&input, 1}));
  return plan.output(0).clone();
}

}  // namespace detslim
