#pragma once
// The float elementwise chain reading one value: the nodes that compute a function of that value
// alone (each node's other inputs are scalar constants), e.g. SiLU's Sigmoid + Mul(x, sigmoid).
// A chain applied to an int8 / uint8 tensor has 256 possible results: the QDQ planner quantizes a
// Conv's output before such a chain (core/quant/qdq.h) and the engine runs DQ -> chain -> Q as one
// 256-entry table, detslim::QLut (core/engine/qdq_fusion.h). Both find the chain here.

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/graph/graph.h"

namespace detslim {

struct ElementwiseChain {
  std::vector<size_t> nodes;  // indices into the node list, ascending
  std::string result;         // the chain's value read outside it
  // True when a node costs an exponential, a logarithm, a power or a division per value (Sigmoid,
  // Tanh, Exp, Log, Pow, Div, Sqrt): a table beats computing it; Relu / Clip / Add alone do not.
  bool transcendental = false;
};

struct ChainLookups {
  // Indices of the nodes reading a value (nodes no longer in the list must not be listed).
  std::function<std::vector<size_t>(const std::string&)> readers;
  std::function<bool(const std::string&)> is_scalar_constant;  // float32, one element
  // True when a node output may join: float32 with the start value's shape.
  std::function<bool(const std::string&)> same_shape_float;
  std::function<bool(const std::string&)> is_graph_output;
};

// Ops a chain may hold: Sigmoid, Tanh, Relu, LeakyRelu, PRelu, HardSigmoid, HardSwish, Clip, Exp,
// Log, Sqrt, Neg, Abs, Add, Sub, Mul, Div, Pow, Max, Min (ai.onnx, one output).
bool isElementwiseChainOp(const Node& n);

// The chains reading `value`, one per chain value read outside the chain ops (its "result"),
// each made of that result's producers back to `value`, whose values no node outside the chain
// reads and which are no graph outputs; results that are graph outputs, or whose chain leaks
// an intermediate value, give none. Empty when no chain op reads `value`, or when more than
// `max_nodes` chain ops hang off it.
std::vector<ElementwiseChain> elementwiseChainsFrom(const std::string& value, const std::vector<Node>& nodes,
                                                    const ChainLookups& lookups, size_t max_nodes = 32);

// `nodes` (in order) as a model of their own, to evaluate a chain on many values at once: graph
// input `input` ([n] of `input_type`, n symbolic: compile with EngineOptions::input_shapes),
// graph output `output` (`output_type`), and every other value a node reads but no node produces
// an initializer copied from `constant_of` (refused, naming the value, when it has none).
Result<Model> subgraphModel(const std::vector<Node>& nodes, const std::string& input, DType input_type,
                            const std::string& output, DType output_type,
                            const std::function<const Tensor*(const std::string&)>& constant_of, int64_t opset);

}  // namespace detslim
