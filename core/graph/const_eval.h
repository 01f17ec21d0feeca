#pragma once
// Evaluation of single ONNX nodes on constant inputs, for foldConstants. Not a kernel library:
// it is written for small shape-like tensors (index arithmetic per element), and follows
// onnxruntime where the ONNX spec leaves room (integer Div truncates toward zero).

#include <cstdint>
#include <optional>
#include <vector>

#include "core/base/status.h"
#include "core/base/tensor.h"
#include "core/graph/graph.h"

namespace detslim {

// The ops evaluateConstantNode() knows, besides Constant.
bool isConstantFoldableOp(const Node& node);

// The tensor a Constant node holds (attributes value, value_float(s), value_int(s),
// value_string(s)); refuses sparse_value and a node without a value attribute.
Result<Tensor> constantNodeValue(const Node& node);

// Evaluates a single-output node. `inputs[i]` is the constant tensor of input i, nullptr for an
// omitted optional input. `input0_shape` stands in for input 0 of Shape, which needs only its
// shape (inputs[0] may then be nullptr). `opset` is the model's default-domain opset (0 when
// unknown: the form present on the node is used). Refuses, with the reason, inputs it cannot
// evaluate and results of more than `max_elements` elements; the caller keeps such nodes.
Result<Tensor> evaluateConstantNode(const Node& node, const std::vector<const Tensor*>& inputs,
                                    const std::optional<Shape>& input0_shape, int64_t opset,
                                    int64_t max_elements);

// Numpy-style broadcast of shapes; nullopt when they are incompatible.
std::optional<Shape> broadcastShapes(const std::vector<Shape>& shapes);

}  // namespace detslim
