#pragma once
// Conv + activation (+ residual Add) fusion on the engine's runtime node list.
//   Conv -> Relu | LeakyRelu | Sigmoid | Tanh | HardSwish | HardSigmoid | Clip (constant bounds)
//   Conv -> Sigmoid, Mul(conv, sigmoid)      (SiLU as exporters write it) -> activation swish
//   ... -> Add(y, r)   with r of the same shape, computed before the Conv -> Sum input, sum_first 0
//   Conv -> Add(y, r) -> activation                                       -> Sum input, sum_first 1
// Intermediate values must have no other reader and must not be graph outputs.

#include <functional>
#include <string>
#include <vector>

#include "core/graph/graph.h"
#include "core/kernels/kernel.h"

namespace detslim {

struct FusionInput {
  std::vector<Node>& nodes;          // runtime nodes in execution order; rewritten in place
  std::vector<std::string>& fused;   // parallel to nodes: "Conv+Sigmoid+Mul" for fused ones
};

using DescLookup = std::function<const ValueDesc*(const std::string&)>;
using ConstantLookup = std::function<const Tensor*(const std::string&)>;
using OutputCheck = std::function<bool(const std::string&)>;

// Returns how many Conv nodes were fused with something.
int fuseConvActivations(FusionInput io, const DescLookup& desc_of, const ConstantLookup& constant_of,
                        const OutputCheck& is_graph_output);

}  // namespace detslim
