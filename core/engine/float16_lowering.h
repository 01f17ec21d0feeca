#pragma once
// float16 graphs as "fp16 storage, fp32 compute" (docs/quant.md): the engine's kernels are
// float32, so a graph holding float16 values is rewritten at compile time to compute in float32
// with float16 precision at every op output.
//
// Phase 1, lowerFloat16 (on the model, before anything else in Engine::compile):
//  - float16 initializers and Constant / ConstantOfShape values become float32 (exact);
//  - every float16 value becomes float32; a float16 graph input is read through
//    Cast(to=float) and a float16 graph output is written by Cast(to=float16), so the plan still
//    takes and gives float16 tensors;
//  - Cast(to=float16) of a float32 value becomes detslim::RoundToHalf, Cast(to=float16) of a
//    float16 value and Cast(to=float) of a float16 value become Identity;
//  - the float16 outputs of arithmetic ops are listed in round_values. Data movement and
//    selection ops (Concat, Split, Slice, Reshape, Transpose, Gather, nearest Resize, MaxPool,
//    Max / Min, Relu, Clip, ...) keep float16-representable values and need no rounding.
// Phase 2, insertHalfRounding (after Conv + activation fusion): a detslim::RoundToHalf step after
// each remaining runtime node that produces a value of round_values. A FusedConv's output is thus
// rounded once, at the layer boundary, where the float16 graph rounds after the Conv, the Sigmoid
// and the Mul: inside a fused layer the values stay float32, which is at least as accurate
// (docs/quant.md). Rounding after fusion keeps the Conv + SiLU (+ Add) fusion intact.

#include <functional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/base/status.h"
#include "core/graph/graph.h"

namespace detslim {

// The element type of every value of `graph` (graph inputs, initializers, node outputs) by the
// ops' type rules (ONNX's: most outputs follow input 0; Cast its `to`; Shape int64; ...), the
// declared / inferred type where no rule applies. Values of unknown type are absent.
std::unordered_map<std::string, DType> inferElementTypes(const Graph& graph);

// True when an op's float outputs hold only values taken from its float inputs (movement,
// selection, max / min, nearest resize), so float16-representable inputs give
// float16-representable outputs.
bool keepsHalfValues(const Node& node);

struct Float16Lowering {
  bool applied = false;                          // the graph held float16 values
  std::unordered_set<std::string> round_values;  // round to float16 after their producer
};

// Phase 1 on `model` (see above). A graph without float16 is left unchanged (applied false).
Result<Float16Lowering> lowerFloat16(Model& model);

// Phase 2 on the engine's runtime node list (execution order; `fused` is parallel to it). For
// each node whose output V is in lowering.round_values, the node writes a new value (created by
// add_value(V), which returns its name, with V's type) and RoundToHalf writes V. Returns how
// many RoundToHalf nodes were inserted.
int insertHalfRounding(std::vector<Node>& nodes, std::vector<std::string>& fused,
                       const Float16Lowering& lowering,
                       const std::function<std::string(const std::string&)>& add_value);

// Rounds every element of a float32 tensor to the nearest float16 (compile-time constants of
// round_values). Returns a new tensor.
Tensor roundTensorToHalf(const Tensor& t);

}  // namespace detslim
