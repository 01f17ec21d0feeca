#include "core/kernels/registry.h"

#include <cstring>
#include <unordered_map>

#include "core/kernels/opt/opt_kernels.h"
#include "core/kernels/ref/ref_ops.h"

namespace detslim {

std::string_view layoutName(Layout layout) {
  switch (layout) {
    case Layout::kPlain: return "plain";
    case Layout::kNhwc: return "nhwc";
    case Layout::kNChw16c: return "nChw16c";
  }
  return "?";
}

size_t ValueDesc::bytes() const {
  if (layout == Layout::kNChw16c && shape.size() >= 2) {
    Shape padded = shape;
    padded[1] = (padded[1] + 15) / 16 * 16;
    return static_cast<size_t>(shapeNumel(padded)) * dtypeSize(dtype);
  }
  return static_cast<size_t>(numel()) * dtypeSize(dtype);
}

Status NodeContext::error(const std::string& message) const {
  return invalidArgument((node ? node->describe() : std::string("node")) + ": " + message);
}

Status NodeContext::unsupportedError(const std::string& message) const {
  return unsupported((node ? node->describe() : std::string("node")) + ": " + message);
}

namespace {

std::vector<OpRegistration> buildRegistry() {
  std::vector<OpRegistration> ops;
#define DETSLIM_OP(domain, op) ops.push_back(OpRegistration{domain, #op, &infer##op, {}});
#include "core/kernels/ops.inc"
#undef DETSLIM_OP
  auto find = [&](std::string_view op_type) -> OpRegistration* {
    for (OpRegistration& r : ops) {
      if (r.op_type == op_type) return &r;
    }
    return nullptr;
  };
#define DETSLIM_KERNEL(op, name, factory) \
  if (OpRegistration* r = find(#op)) r->impls.push_back(KernelImpl{name, &factory});
#include "core/kernels/impls.inc"
#undef DETSLIM_KERNEL
#define DETSLIM_OP(domain, op) find(#op)->impls.push_back(KernelImpl{"ref", &makeRef##op});
#include "core/kernels/ops.inc"
#undef DETSLIM_OP
  return ops;
}

}  // namespace

const std::vector<OpRegistration>& opRegistry() {
  static const std::vector<OpRegistration> kRegistry = buildRegistry();
  return kRegistry;
}

const OpRegistration* findOp(std::string_view domain, std::string_view op_type) {
  const std::string_view wanted = domain == "ai.onnx" ? std::string_view{} : domain;
  for (const OpRegistration& r : opRegistry()) {
    if (r.op_type == op_type && r.domain == wanted) return &r;
  }
  return nullptr;
}

Result<KernelChoice> createKernel(NodeContext& ctx, bool reference_only) {
  const Node& node = *ctx.node;
  const OpRegistration* op = findOp(node.domain, node.op_type);
  if (!op) return unsupported(node.describe() + ": the engine has no kernel for op " + node.op_type);
  ctx.outputs.assign(node.outputs.size(), ValueDesc{});
  DS_RETURN_IF_ERROR(op->infer(ctx));
  KernelChoice choice;
  for (const KernelImpl& impl : op->impls) {
    const bool is_ref = impl.name == "ref";
    if (reference_only && !is_ref) continue;
    std::string why_not;
    DS_ASSIGN_OR_RETURN(std::unique_ptr<Kernel> kernel, impl.create(ctx, &why_not));
    if (kernel) {
      choice.kernel = std::move(kernel);
      choice.impl_name = std::string(impl.name);
      return choice;
    }
    choice.rejections.push_back(std::string(impl.name) + ": " + why_not);
  }
  std::string reasons;
  for (const std::string& r : choice.rejections) reasons += "; " + r;
  return unsupported(node.describe() + ": no implementation accepts this node" + reasons);
}

Result<std::vector<Tensor>> runNode(const Node& node, int64_t opset, const std::vector<Tensor>& inputs,
                                    bool reference_only, int num_threads) {
  NodeContext ctx;
  ctx.node = &node;
  ctx.opset = opset;
  ctx.num_threads = num_threads;
  ctx.cpu = reference_only ? CpuFeatures::baseline() : CpuFeatures::host();
  for (const Tensor& t : inputs) {
    ctx.inputs.push_back(t.defined() ? ValueDesc{t.dtype(), t.shape(), Layout::kPlain} : ValueDesc{});
    ctx.constants.push_back(t.defined() ? &t : nullptr);
  }
  while (ctx.inputs.size() < node.inputs.size()) {
    ctx.inputs.emplace_back();
    ctx.constants.push_back(nullptr);
  }
  DS_ASSIGN_OR_RETURN(KernelChoice choice, createKernel(ctx, reference_only));
  std::vector<Tensor> outputs;
  std::vector<void*> out_ptrs;
  for (const ValueDesc& d : ctx.outputs) {
    outputs.emplace_back(d.present() ? Tensor(d.dtype, d.shape) : Tensor());
  }
  for (Tensor& t : outputs) out_ptrs.push_back(t.defined() ? t.rawMutable() : nullptr);
  std::vector<const void*> in_ptrs;
  for (const Tensor& t : inputs) in_ptrs.push_back(t.defined() ? t.raw() : nullptr);
  while (in_ptrs.size() < node.inputs.size()) in_ptrs.push_back(nullptr);
  std::vector<std::byte> scratch_storage(choice.kernel->scratchBytes() + Tensor::kAlignment);
  void* scratch = scratch_storage.data();
  size_t space = scratch_storage.size();
  std::align(Tensor::kAlignment, choice.kernel->scratchBytes(), scratch, space);
  if (choice.kernel->isView()) {
    // Views share the input's bytes; here we copy so every output owns its storage.
    std::memcpy(outputs[0].rawMutable(), inputs[0].raw(), outputs[0].bytes());
  } else {
    choice.kernel->run(KernelArgs{in_ptrs, out_ptrs, scratch});
  }
  if (!outputs.empty() && outputs[0].dtype() == DType::kString) {
    return unsupported(node.describe() + ": string tensors are not supported by the engine");
  }
  return outputs;
}

Result<std::vector<Tensor>> runReference(const Model& model,
                                         const std::vector<std::pair<std::string, Tensor>>& inputs) {
  const Graph& g = model.graph;
  std::unordered_map<std::string, Tensor> values;
  for (const NamedTensor& init : g.initializers()) values[init.name] = init.tensor;
  for (const auto& [name, tensor] : inputs) values[name] = tensor;
  for (const ValueInfo& in : g.inputs) {
    if (!values.count(in.name)) return invalidArgument("graph input '" + in.name + "' was not given");
  }
  DS_ASSIGN_OR_RETURN(std::vector<size_t> order, g.topologicalOrder());
  for (size_t index : order) {
    const Node& node = g.nodes[index];
    std::vector<Tensor> node_inputs;
    for (const std::string& name : node.inputs) {
      if (name.empty()) {
        node_inputs.emplace_back();
        continue;
      }
      auto it = values.find(name);
      if (it == values.end()) return invalidArgument(node.describe() + ": input '" + name + "' has no value");
      node_inputs.push_back(it->second);
    }
    DS_ASSIGN_OR_RETURN(std::vector<Tensor> outs, runNode(node, model.opsetVersion(node.domain), node_inputs, true, 1));
    for (size_t i = 0; i < node.outputs.size() && i < outs.size(); ++i) {
      if (!node.outputs[i].empty()) values[node.outputs[i]] = std::move(outs[i]);
    }
  }
  std::vector<Tensor> result;
  for (const ValueInfo& out : g.outputs) {
    auto it = values.find(out.name);
    if (it == values.end()) return invalidArgument("graph output '" + out.name + "' was not produced");
    result.push_back(it->second);
  }
  return result;
}

}  // namespace detslim
