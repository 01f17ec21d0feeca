#pragma once
// Declarations of every op's shape function and reference kernel factory (see ops.inc).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/kernels/kernel.h"

namespace detslim {

#define DETSLIM_OP(domain, op)                                                        \
  Status infer##op(NodeContext& ctx);                                                 \
  Result<std::unique_ptr<Kernel>> makeRef##op(const NodeContext& ctx, std::string* why_not);
#include "core/kernels/ops.inc"
#undef DETSLIM_OP

// detslim::QConv's quantization parameters (docs/quant.md), shared by its reference kernel
// (ref/qconv.cpp) and its oneDNN kernel (opt/dnnl_qconv.cpp).
struct QConvQuant {
  DType x_type = DType::kUndefined;  // uint8 or int8
  float x_scale = 1.0f;
  int32_t x_zero_point = 0;
  std::vector<float> w_scales;     // one per output channel, or one for all
  DType y_type = DType::kFloat32;  // float32, uint8 or int8
  float y_scale = 1.0f;            // integer Y only
  int32_t y_zero_point = 0;
  DType sum_type = DType::kUndefined;  // kUndefined: no Sum; float32, uint8 or int8
  float sum_scale = 1.0f;              // integer Sum only
  int32_t sum_zero_point = 0;
  float wScale(int64_t out_channel) const {
    return w_scales.size() == 1 ? w_scales[0] : w_scales[static_cast<size_t>(out_channel)];
  }
};

// Reads and checks QConv's dtypes and quantization attributes: X uint8 / int8, W int8 [O, ...],
// B float32, Sum float32 / uint8 / int8; scales positive and finite, w_scales O values or 1, zero
// points inside their dtype's range, y_type 1 / 2 / 3. Errors name the node.
Result<QConvQuant> parseQConvQuant(const NodeContext& ctx);

// detslim::QLut's table as bytes (Y's bit patterns, indexed by X_q's byte), checked: 256 values
// inside Y's dtype, y_type 2 / 3. Shared by the reference (ref/qlut.cpp) and fast kernels.
Result<std::vector<uint8_t>> parseQLutTable(const NodeContext& ctx);

}  // namespace detslim
