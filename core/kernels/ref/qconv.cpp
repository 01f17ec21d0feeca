// Reference kernel of detslim::QConv, the engine's integer convolution of a QDQ model
// (docs/quant.md): the FusedConv reference run on dequantized values, then quantized.
//
//   x = x_scale * (X_q - x_zero_point)        w = w_scales[o] * W_q
//   y = FusedConv(x, w, B, Sum)               Sum = sum_scale * (Sum_q - sum_zero_point) if integer
//   Y = y_type float ? y : saturate(round_half_even(y / y_scale) + y_zero_point)
//
// Every step computes in float32 with the formulas of the DequantizeLinear / QuantizeLinear
// reference kernels (core/kernels/ref/quant.cpp), so QConv gives bit for bit what the QDQ graph
// Dequantize -> FusedConv -> Quantize gives on the reference kernels. The weights are dequantized
// once at create; X and an integer Sum into scratch at every run.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/kernels/ref/ref_ops.h"

namespace detslim {

namespace {

constexpr size_t kX = 0;
constexpr size_t kW = 1;
constexpr size_t kB = 2;
constexpr size_t kSum = 3;
constexpr size_t kMaxInputs = 4;

// ONNX element types y_type may name.
constexpr int64_t kOnnxFloat = 1;
constexpr int64_t kOnnxUInt8 = 2;
constexpr int64_t kOnnxInt8 = 3;

std::string dtypeStr(DType d) {
  return std::string(dtypeName(d));
}

bool isInt8Like(DType d) {
  return d == DType::kUInt8 || d == DType::kInt8;
}

int32_t lowestOf(DType d) {
  return d == DType::kUInt8 ? std::numeric_limits<uint8_t>::lowest()
                            : std::numeric_limits<int8_t>::lowest();
}
int32_t highestOf(DType d) {
  return d == DType::kUInt8 ? std::numeric_limits<uint8_t>::max()
                            : std::numeric_limits<int8_t>::max();
}

Status checkScale(const NodeContext& ctx, const char* name, float scale) {
  if (!std::isfinite(scale) || !(scale > 0.0f)) {
    return ctx.error(std::string(name) + " " + std::to_string(scale) +
                     " must be positive and finite");
  }
  return Status::ok();
}

Result<float> requiredScale(const NodeContext& ctx, const char* name) {
  const Attribute* a = ctx.node->attr(name);
  if (!a) return ctx.error("attribute " + std::string(name) + " is required");
  if (a->kind != Attribute::Kind::kFloat) {
    return ctx.error("attribute " + std::string(name) + " is " +
                     std::string(attributeKindName(a->kind)) + ", expected FLOAT");
  }
  DS_RETURN_IF_ERROR(checkScale(ctx, name, a->f));
  return a->f;
}

// An int attribute (default 0) that must be a value of `dtype`.
Result<int32_t> zeroPoint(const NodeContext& ctx, const char* name, DType dtype) {
  const Attribute* a = ctx.node->attr(name);
  if (!a) return 0;
  if (a->kind != Attribute::Kind::kInt) {
    return ctx.error("attribute " + std::string(name) + " is " +
                     std::string(attributeKindName(a->kind)) + ", expected INT");
  }
  if (a->i < lowestOf(dtype) || a->i > highestOf(dtype)) {
    return ctx.error(std::string(name) + " " + std::to_string(a->i) + " is outside the range of " +
                     dtypeStr(dtype) + " [" + std::to_string(lowestOf(dtype)) + ", " +
                     std::to_string(highestOf(dtype)) + "]");
  }
  return static_cast<int32_t>(a->i);
}

}  // namespace

Result<QConvQuant> parseQConvQuant(const NodeContext& ctx) {
  if (!ctx.hasInput(kX) || !ctx.hasInput(kW)) return ctx.error("inputs X_q and W_q are required");
  if (ctx.inputs.size() > kMaxInputs) {
    return ctx.error("has " + std::to_string(ctx.inputs.size()) +
                     " inputs; QConv takes X_q, W_q, B, Sum");
  }
  QConvQuant q;
  q.x_type = ctx.inputs[kX].dtype;
  if (!isInt8Like(q.x_type)) {
    return ctx.error("X_q (input 0) must be uint8 or int8, is " + dtypeStr(q.x_type));
  }
  if (ctx.inputs[kW].dtype != DType::kInt8) {
    return ctx.error("W_q (input 1) must be int8, is " + dtypeStr(ctx.inputs[kW].dtype));
  }
  if (ctx.hasInput(kB) && ctx.inputs[kB].dtype != DType::kFloat32) {
    return ctx.error("B (input 2) must be float32, is " + dtypeStr(ctx.inputs[kB].dtype));
  }
  DS_ASSIGN_OR_RETURN(q.x_scale, requiredScale(ctx, "x_scale"));
  DS_ASSIGN_OR_RETURN(q.x_zero_point, zeroPoint(ctx, "x_zero_point", q.x_type));

  const Attribute* w_scales = ctx.node->attr("w_scales");
  if (!w_scales) return ctx.error("attribute w_scales is required");
  if (w_scales->kind != Attribute::Kind::kFloats) {
    return ctx.error("attribute w_scales is " + std::string(attributeKindName(w_scales->kind)) +
                     ", expected FLOATS");
  }
  const Shape& w = ctx.inputs[kW].shape;
  const int64_t out_channels = w.empty() ? 0 : w[0];
  const auto count = static_cast<int64_t>(w_scales->floats.size());
  if (count != 1 && count != out_channels) {
    return ctx.error("w_scales has " + std::to_string(count) + " values; W_q " + shapeToString(w) +
                     " needs " + std::to_string(out_channels) + " or 1");
  }
  for (float s : w_scales->floats) DS_RETURN_IF_ERROR(checkScale(ctx, "a w_scales value", s));
  q.w_scales = w_scales->floats;

  const int64_t y_type = ctx.node->intOr("y_type", kOnnxFloat);
  if (y_type == kOnnxFloat) {
    q.y_type = DType::kFloat32;
  } else if (y_type == kOnnxUInt8 || y_type == kOnnxInt8) {
    q.y_type = y_type == kOnnxUInt8 ? DType::kUInt8 : DType::kInt8;
    DS_ASSIGN_OR_RETURN(q.y_scale, requiredScale(ctx, "y_scale"));
    DS_ASSIGN_OR_RETURN(q.y_zero_point, zeroPoint(ctx, "y_zero_point", q.y_type));
  } else {
    return ctx.error("y_type " + std::to_string(y_type) +
                     " is not 1 (float), 2 (uint8) or 3 (int8)");
  }

  if (ctx.hasInput(kSum)) {
    q.sum_type = ctx.inputs[kSum].dtype;
    if (isInt8Like(q.sum_type)) {
      DS_ASSIGN_OR_RETURN(q.sum_scale, requiredScale(ctx, "sum_scale"));
      DS_ASSIGN_OR_RETURN(q.sum_zero_point, zeroPoint(ctx, "sum_zero_point", q.sum_type));
    } else if (q.sum_type != DType::kFloat32) {
      return ctx.error("Sum (input 3) must be float32, uint8 or int8, is " + dtypeStr(q.sum_type));
    }
  }
  return q;
}

namespace {

// The node seen as the float32 FusedConv it stands for (same node, so errors name the QConv).
NodeContext floatContext(const NodeContext& ctx) {
  NodeContext f = ctx;
  for (size_t i : {kX, kW, kSum}) {
    if (f.hasInput(i)) f.inputs[i].dtype = DType::kFloat32;
  }
  for (ValueDesc& out : f.outputs) {
    if (out.present()) out.dtype = DType::kFloat32;
  }
  return f;
}

// value * scale with value = q - zero_point, as DequantizeLinear's reference computes it.
template <class TQ>
void dequantize(const TQ* q, int64_t count, float scale, float zero_point, float* out) {
  for (int64_t i = 0; i < count; ++i) out[i] = (static_cast<float>(q[i]) - zero_point) * scale;
}

// saturate(round_half_even(y / scale) + zero_point), as QuantizeLinear's reference computes it.
template <class TQ>
void quantize(const float* y, int64_t count, float scale, float zero_point, TQ* out) {
  constexpr float kLo = std::numeric_limits<TQ>::lowest();
  constexpr float kHi = std::numeric_limits<TQ>::max();
  for (int64_t i = 0; i < count; ++i) {
    float r = std::nearbyint(y[i] / scale);
    if (std::isnan(r)) r = 0.0f;
    out[i] = static_cast<TQ>(std::clamp(r + zero_point, kLo, kHi));
  }
}

void dequantizeAny(DType dtype, const void* q, int64_t count, float scale, int32_t zero_point,
                   float* out) {
  const auto zp = static_cast<float>(zero_point);
  if (dtype == DType::kUInt8) {
    dequantize(static_cast<const uint8_t*>(q), count, scale, zp, out);
  } else {
    dequantize(static_cast<const int8_t*>(q), count, scale, zp, out);
  }
}

constexpr size_t kScratchAlignment = 64;

size_t alignUp(size_t bytes) {
  return (bytes + kScratchAlignment - 1) / kScratchAlignment * kScratchAlignment;
}

class QConvKernel final : public Kernel {
 public:
  QConvKernel(std::unique_ptr<Kernel> conv, QConvQuant quant, Tensor weights, int64_t x_numel,
              int64_t y_numel)
      : conv_(std::move(conv)),
        q_(std::move(quant)),
        weights_(std::move(weights)),
        x_numel_(x_numel),
        y_numel_(y_numel) {
    // Scratch: X as float, Sum as float (integer Sum), Y as float (integer Y), the conv's own.
    size_t offset = alignUp(static_cast<size_t>(x_numel_) * sizeof(float));
    if (isInt8Like(q_.sum_type)) {
      sum_offset_ = offset;
      offset += alignUp(static_cast<size_t>(y_numel_) * sizeof(float));
    }
    if (q_.y_type != DType::kFloat32) {
      y_offset_ = offset;
      offset += alignUp(static_cast<size_t>(y_numel_) * sizeof(float));
    }
    conv_offset_ = offset;
    scratch_bytes_ = offset + conv_->scratchBytes();
  }

  size_t scratchBytes() const override { return scratch_bytes_; }

  void run(const KernelArgs& args) override {
    auto* base = static_cast<std::byte*>(args.scratch);
    auto* x = reinterpret_cast<float*>(base);
    dequantizeAny(q_.x_type, args.inputs[kX], x_numel_, q_.x_scale, q_.x_zero_point, x);
    std::array<const void*, kMaxInputs> inputs = {x, weights_.raw(), nullptr, nullptr};
    if (args.inputs.size() > kB) inputs[kB] = args.inputs[kB];
    if (args.inputs.size() > kSum && args.inputs[kSum]) {
      inputs[kSum] = args.inputs[kSum];
      if (isInt8Like(q_.sum_type)) {
        auto* sum = reinterpret_cast<float*>(base + sum_offset_);
        dequantizeAny(q_.sum_type, args.inputs[kSum], y_numel_, q_.sum_scale, q_.sum_zero_point,
                      sum);
        inputs[kSum] = sum;
      }
    }
    float* y = q_.y_type == DType::kFloat32 ? static_cast<float*>(args.outputs[0])
                                            : reinterpret_cast<float*>(base + y_offset_);
    std::array<void*, 1> outputs = {y};
    conv_->run(KernelArgs{std::span<const void* const>(inputs.data(), args.inputs.size()), outputs,
                          base + conv_offset_});
    const auto zp = static_cast<float>(q_.y_zero_point);
    if (q_.y_type == DType::kUInt8) {
      quantize(y, y_numel_, q_.y_scale, zp, static_cast<uint8_t*>(args.outputs[0]));
    } else if (q_.y_type == DType::kInt8) {
      quantize(y, y_numel_, q_.y_scale, zp, static_cast<int8_t*>(args.outputs[0]));
    }
  }

 private:
  std::unique_ptr<Kernel> conv_;  // the float32 FusedConv reference
  QConvQuant q_;
  Tensor weights_;  // W dequantized, float32
  int64_t x_numel_;
  int64_t y_numel_;
  size_t sum_offset_ = 0;
  size_t y_offset_ = 0;
  size_t conv_offset_ = 0;
  size_t scratch_bytes_ = 0;
};

}  // namespace

Status inferQConv(NodeContext& ctx) {
  DS_ASSIGN_OR_RETURN(QConvQuant q, parseQConvQuant(ctx));
  NodeContext f = floatContext(ctx);
  DS_RETURN_IF_ERROR(inferFusedConv(f));
  ctx.outputs[0] = ValueDesc{q.y_type, f.outputs[0].shape, Layout::kPlain};
  return Status::ok();
}

Result<std::unique_ptr<Kernel>> makeRefQConv(const NodeContext& ctx, std::string* why_not) {
  DS_ASSIGN_OR_RETURN(QConvQuant q, parseQConvQuant(ctx));
  const Tensor* w_q = ctx.constant(kW);
  if (!w_q) return ctx.error("W_q (input 1) must be an int8 constant known at compile time");
  // w = w_scales[o] * W_q, as DequantizeLinear(W_q, w_scales, 0, axis=0) computes it.
  Tensor weights(DType::kFloat32, w_q->shape());
  const int64_t out_channels = w_q->shape()[0];
  const int64_t per_channel = out_channels > 0 ? w_q->numel() / out_channels : 0;
  for (int64_t o = 0; o < out_channels; ++o) {
    dequantize(w_q->data<int8_t>() + o * per_channel, per_channel, q.wScale(o), 0.0f,
               weights.mutableData<float>() + o * per_channel);
  }
  NodeContext f = floatContext(ctx);
  f.constants[kW] = &weights;
  DS_ASSIGN_OR_RETURN(std::unique_ptr<Kernel> conv, makeRefFusedConv(f, why_not));
  if (!conv) return std::unique_ptr<Kernel>();
  return std::unique_ptr<Kernel>(
      std::make_unique<QConvKernel>(std::move(conv), std::move(q), std::move(weights),
                                    ctx.inputs[kX].numel(), ctx.outputs[0].numel()));
}

}  // namespace detslim
