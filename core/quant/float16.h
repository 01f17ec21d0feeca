#pragma once
// FP16 model conversion (docs/quant.md, precision fp16): float32 weights and activations become
// float16, so the file stores half the weight bytes and every engine that loads it (DetSlim,
// ONNX Runtime) computes with float16 values.

#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/graph/graph.h"

namespace detslim::quant {

struct Float16Options {
  // Graph inputs and outputs stay float32: Cast(to=float16) after each float32 graph input and
  // Cast(to=float) before each graph output. false: they are declared float16.
  bool keep_io_types = true;
  // Node names computed in float32 (their float16 inputs are cast up, their outputs cast down).
  std::vector<std::string> keep_fp32;
};

// The float16 copy of `fp32`: float32 initializers, Constant / ConstantOfShape values and node
// outputs become float16; Cast(to=float) nodes cast to float16. Left in float32: inputs ONNX types
// as float32 whatever the data type (Resize roi / scales, Upsample scales), ops without float16
// support in ONNX (Range, QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear), the nodes of
// options.keep_fp32, and non-float tensors (shapes, indices). Weights beyond float16's range are
// clamped to +-65504. Refuses a keep_fp32 name that is no node, and a result the ONNX checker
// rejects (naming what it says).
Result<Model> convertToFloat16(const Model& fp32, const Float16Options& options = {});

}  // namespace detslim::quant
