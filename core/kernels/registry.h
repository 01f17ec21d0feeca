#pragma once
// The op registry built from ops.inc + impls.inc, and helpers to run single nodes and whole
// graphs with freshly allocated tensors (compile-time constant evaluation, tests, the reference
// interpreter the optimised engine is checked against).

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/kernels/kernel.h"

namespace detslim {

const std::vector<OpRegistration>& opRegistry();
// nullptr when the engine has no such op ("" and "ai.onnx" are the same domain).
const OpRegistration* findOp(std::string_view domain, std::string_view op_type);

struct KernelChoice {
  std::unique_ptr<Kernel> kernel;
  std::string impl_name;                // the implementation that accepted
  std::vector<std::string> rejections;  // "<impl>: <why not>" for those tried before it
};

// Runs the op's shape function on ctx (filling ctx.outputs), then creates the first
// implementation that accepts. `reference_only` skips optimised implementations.
Result<KernelChoice> createKernel(NodeContext& ctx, bool reference_only = false);

// Shape inference + kernel creation + execution of one node on plain-layout tensors.
// `opset` is the node's domain opset. Inputs follow node.inputs (an undefined Tensor for an
// omitted optional input).
Result<std::vector<Tensor>> runNode(const Node& node, int64_t opset, const std::vector<Tensor>& inputs,
                                    bool reference_only = true, int num_threads = 1);

// Runs a whole model node by node with reference kernels (allocating every value). Inputs are
// bound by name; the result follows model.graph.outputs.
Result<std::vector<Tensor>> runReference(const Model& model,
                                         const std::vector<std::pair<std::string, Tensor>>& inputs);

}  // namespace detslim
