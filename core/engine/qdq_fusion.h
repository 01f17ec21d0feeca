#pragma once
// QDQ fusion on the engine's runtime node list (docs/quant.md, "Engine execution of a QDQ
// model"); runs after Conv + activation (+ Add) fusion:
//   1. DQ(X_q) -> Conv | FusedConv whose weight is a compile-time DQ(int8 constant, axis 0)
//      -> detslim::QConv reading X_q. If every reader of its output is a QuantizeLinear with the
//      same constant per-tensor parameters (and the output is no graph output), QConv writes the
//      integers and those Q nodes go; otherwise it writes float32. A FusedConv Sum input that is
//      DQ(R_q) is read as R_q with sum_scale / sum_zero_point.
//   2. A scale-preserving op (Concat, MaxPool, nearest Resize, Split, Slice, Reshape, Flatten,
//      Transpose, Identity) whose data inputs are all DQ outputs with identical parameters, and
//      whose outputs are read only by Q nodes with those parameters, moves the integers.
//   3. DQ(X_q) -> float elementwise ops of that one value and scalar constants (SiLU's Sigmoid
//      and Mul, Relu, Tanh, Add, ...) -> Q: a function of X_q's 256 codes, so it becomes one
//      detslim::QLut whose table is that chain run once at compile time on the 256 codes by the
//      reference kernels (bit for bit what the unfused graph computes). Intermediate values must
//      have no other reader; the chain's result must be read only by Q nodes of one parameters.
//   4. DQ nodes left without readers are removed; the other Q / DQ nodes stay (fast kernels).
// Rewrites repeat until nothing changes, so chains (MaxPool -> MaxPool -> Concat) all go.

#include <functional>
#include <string>
#include <vector>

#include "core/engine/engine.h"
#include "core/engine/fusion.h"

namespace detslim {

struct QdqFusionLookups {
  DescLookup desc_of;
  ConstantLookup constant_of;
  OutputCheck is_graph_output;
  // The node evaluated at compile time that produced a constant value (the DequantizeLinear
  // behind a quantized Conv's weight); nullptr for initializers and run-time values.
  std::function<const Node*(const std::string&)> folded_producer;
  int64_t opset = 13;  // the model's ai.onnx opset (the QLut chains are evaluated under it)
};

struct QdqFusionReport {
  int qconvs = 0;                   // Conv / FusedConv nodes that became QConv
  int qconvs_integer_output = 0;    // of those, writing uint8 / int8
  int integer_sums = 0;             // QConv Sum inputs read as integers
  int integer_movement_ops = 0;     // scale-preserving ops moving integers
  int removed_quantize = 0;         // QuantizeLinear nodes absorbed
  int removed_dequantize = 0;       // DequantizeLinear nodes left without readers
  int tables = 0;                   // DQ -> elementwise chain -> Q made detslim::QLut
  // Conv / FusedConv nodes that stay float32, as "<name>: <why>".
  std::vector<std::string> float_convs;
};

// Rewrites io.nodes (and io.fused: "DQ+Conv+Sigmoid+Mul+Q" for QConv) in place.
QdqFusionReport fuseQdq(FusionInput io, const QdqFusionLookups& lookups);

// What of a compiled plan runs on integers, read from its steps (for `detslim bench --profile`
// and the quantize report).
struct QdqPlanSummary {
  int qconv_steps = 0;
  int qconv_integer_output = 0;  // QConv steps writing uint8 / int8
  int quantize_steps = 0;        // QuantizeLinear steps left
  int dequantize_steps = 0;      // DequantizeLinear steps left
  int table_steps = 0;           // QLut steps (elementwise chains on the integers)
  int integer_steps = 0;         // other steps writing uint8 / int8 (moved integers), reorders aside
  std::vector<std::string> float_convs;  // names of the Conv / FusedConv steps (float32)
};

QdqPlanSummary summarizeQdq(const std::vector<StepInfo>& steps);

}  // namespace detslim
