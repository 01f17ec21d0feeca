// Reference kernels of QuantizeLinear, DequantizeLinear and DynamicQuantizeLinear.
//
//   QuantizeLinear:        y = saturate(round_half_even(x / scale) + zero_point)
//   DequantizeLinear:      y = (x - zero_point) * scale
//   DynamicQuantizeLinear: uint8 with scale = (max(0, max x) - min(0, min x)) / 255 and
//                          zero_point = round_half_even(saturate(-min(0, min x) / scale))
//
// Scale and zero point are per tensor (one value) or, since opset 13, per axis (1-D, one value
// per index of `axis`). Arithmetic is float32, as in the ONNX reference implementation, so the
// rounding ties land where the spec's own outputs put them. Rounding uses std::nearbyint, which
// rounds half to even in the default floating-point environment the engine never changes.

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>

#include "core/kernels/ref/elementwise_common.h"
#include "core/kernels/ref/ref_ops.h"

namespace detslim {

using ref::BFloat16;
using ref::Float16;
using ref::TypeList;

namespace {

using QuantizeInputTypes = TypeList<float, Float16, BFloat16, int32_t>;
using ScaleTypes = TypeList<float, Float16, BFloat16>;
// uint8 / int8, and the 16-bit types opset 21 adds.
using QuantizedTypes = TypeList<uint8_t, int8_t, uint16_t, int16_t>;
using DequantizeInputTypes = decltype(QuantizedTypes{} + TypeList<int32_t>{});

constexpr int64_t kPerAxisOpset = 13;
constexpr int64_t kDefaultQuantAxis = 1;
constexpr size_t kScaleInput = 1;
constexpr size_t kZeroPointInput = 2;

// Which scale / zero point element applies to element i: (i / inner) % channels. Per tensor is
// channels = inner = 1.
struct QuantAxis {
  int64_t channels = 1;
  int64_t inner = 1;
  int64_t channelOf(int64_t i) const { return (i / inner) % channels; }
};

// Checks scale and zero point shapes against x and returns how they index it.
Result<QuantAxis> quantAxis(const NodeContext& ctx) {
  const Shape& x = ctx.inputs[0].shape;
  const Shape& scale = ctx.inputs[kScaleInput].shape;
  DS_RETURN_IF_ERROR(ref::checkAttrKinds(ctx, {{"axis", Attribute::Kind::kInt},
                                               {"block_size", Attribute::Kind::kInt},
                                               {"output_dtype", Attribute::Kind::kInt}}));
  if (ctx.node->intOr("block_size", 0) != 0) {
    return ctx.unsupportedError("blocked quantization (block_size) is not supported");
  }
  if (ctx.hasInput(kZeroPointInput) && ctx.inputs[kZeroPointInput].shape != scale) {
    // Shapes [] and [1] both mean one value.
    const Shape& zp = ctx.inputs[kZeroPointInput].shape;
    if (!(shapeNumel(zp) == 1 && shapeNumel(scale) == 1 && zp.size() <= 1 && scale.size() <= 1)) {
      return ctx.error("zero point shape " + shapeToString(zp) + " differs from scale shape " +
                       shapeToString(scale));
    }
  }
  QuantAxis axis;
  if (scale.size() <= 1 && shapeNumel(scale) == 1) return axis;  // per tensor
  if (scale.size() != 1) {
    return ctx.error("scale must be a scalar or 1-D, has shape " + shapeToString(scale));
  }
  if (ctx.opset < kPerAxisOpset) {
    return ctx.error("per-axis scale (shape " + shapeToString(scale) + ") needs opset 13");
  }
  const auto rank = static_cast<int64_t>(x.size());
  DS_ASSIGN_OR_RETURN(int64_t a,
                      ref::normalizeAxis(ctx, ctx.node->intOr("axis", kDefaultQuantAxis), rank));
  const auto d = static_cast<size_t>(a);
  if (scale[0] != x[d]) {
    return ctx.error("per-axis scale has " + std::to_string(scale[0]) + " values, axis " +
                     std::to_string(a) + " of the input has size " + std::to_string(x[d]));
  }
  axis.channels = x[d];
  axis.inner = 1;
  for (size_t k = d + 1; k < x.size(); ++k) axis.inner *= x[k];
  return axis;
}

// round_half_even(value) + zero_point, saturated to TQ. NaN (which the spec leaves undefined)
// quantizes as 0 does, to the zero point.
template <class TQ>
TQ quantizeValue(float value, float zero_point) {
  float q = std::nearbyint(value);
  if (std::isnan(q)) q = 0.0f;
  q = std::clamp(q + zero_point, static_cast<float>(std::numeric_limits<TQ>::lowest()),
                 static_cast<float>(std::numeric_limits<TQ>::max()));
  return static_cast<TQ>(q);
}

}  // namespace

// --- QuantizeLinear -----------------------------------------------------------------------------

namespace {

template <class TX, class TS, class TQ>
class QuantizeKernel final : public Kernel {
 public:
  QuantizeKernel(int64_t numel, QuantAxis axis, bool has_zero_point)
      : numel_(numel), axis_(axis), has_zero_point_(has_zero_point) {}

  void run(const KernelArgs& args) override {
    const TX* x = ref::inputAs<TX>(args, 0);
    const TS* scale = ref::inputAs<TS>(args, kScaleInput);
    const TQ* zero_point = has_zero_point_ ? ref::inputAs<TQ>(args, kZeroPointInput) : nullptr;
    TQ* y = ref::outputAs<TQ>(args, 0);
    for (int64_t i = 0; i < numel_; ++i) {
      const int64_t c = axis_.channelOf(i);
      const float zp = zero_point ? static_cast<float>(zero_point[c]) : 0.0f;
      y[i] = quantizeValue<TQ>(static_cast<float>(ref::load(x[i])) / ref::load(scale[c]), zp);
    }
  }

 private:
  int64_t numel_;
  QuantAxis axis_;
  bool has_zero_point_;
};

// The output dtype: the zero point's, else opset 21's output_dtype, else uint8.
Result<DType> quantizedDType(const NodeContext& ctx) {
  if (ctx.hasInput(kZeroPointInput)) return ctx.inputs[kZeroPointInput].dtype;
  const int64_t code = ctx.node->intOr("output_dtype", 0);
  if (code == 0) return DType::kUInt8;
  const auto dtype = static_cast<DType>(code);
  if (code > std::numeric_limits<int32_t>::max() || !isKnownDType(static_cast<int32_t>(code)) ||
      !ref::inTypeList(QuantizedTypes{}, dtype)) {
    return ctx.unsupportedError("output_dtype " + std::to_string(code) + " is not supported; " +
                                "supported: " + ref::typeListNames(QuantizedTypes{}));
  }
  return dtype;
}

}  // namespace

Status inferQuantizeLinear(NodeContext& ctx) {
  DS_RETURN_IF_ERROR(ref::checkInputCount(ctx, 2, 3));
  DS_RETURN_IF_ERROR(ref::checkOutputCount(ctx, 1));
  DS_RETURN_IF_ERROR(ref::checkInputDType(ctx, 0, QuantizeInputTypes{}));
  DS_RETURN_IF_ERROR(ref::checkInputDType(ctx, kScaleInput, ScaleTypes{}));
  if (ctx.hasInput(kZeroPointInput)) {
    DS_RETURN_IF_ERROR(ref::checkInputDType(ctx, kZeroPointInput, QuantizedTypes{}));
  }
  DS_RETURN_IF_ERROR(quantAxis(ctx).status());
  DS_ASSIGN_OR_RETURN(DType out_dtype, quantizedDType(ctx));
  ctx.outputs[0] = ValueDesc{out_dtype, ctx.inputs[0].shape};
  return Status::ok();
}

Result<std::unique_ptr<Kernel>> makeRefQuantizeLinear(const NodeContext& ctx,
                                                      std::string* /*why_not*/) {
  DS_ASSIGN_OR_RETURN(QuantAxis axis, quantAxis(ctx));
  const int64_t numel = ctx.inputs[0].numel();
  const bool has_zero_point = ctx.hasInput(kZeroPointInput);
  std::unique_ptr<Kernel> kernel;
  ref::dispatchDType(QuantizeInputTypes{}, ctx.inputs[0].dtype, [&](auto x_tag) {
    ref::dispatchDType(ScaleTypes{}, ctx.inputs[kScaleInput].dtype, [&](auto scale_tag) {
      ref::dispatchDType(QuantizedTypes{}, ctx.outputs[0].dtype, [&](auto q_tag) {
        using TX = typename decltype(x_tag)::type;
        using TS = typename decltype(scale_tag)::type;
        using TQ = typename decltype(q_tag)::type;
        kernel = std::make_unique<QuantizeKernel<TX, TS, TQ>>(numel, axis, has_zero_point);
      });
    });
  });
  if (!kernel) return ref::noReferenceKernel(ctx);
  return kernel;
}

// --- DequantizeLinear: output dtype = scale dtype (float32 before opset 19)
// -----------------------

namespace {

template <class TQ, class TS>
class DequantizeKernel final : public Kernel {
 public:
  DequantizeKernel(int64_t numel, QuantAxis axis, bool has_zero_point)
      : numel_(numel), axis_(axis), has_zero_point_(has_zero_point) {}

  void run(const KernelArgs& args) override {
    const TQ* x = ref::inputAs<TQ>(args, 0);
    const TS* scale = ref::inputAs<TS>(args, kScaleInput);
    const TQ* zero_point = has_zero_point_ ? ref::inputAs<TQ>(args, kZeroPointInput) : nullptr;
    TS* y = ref::outputAs<TS>(args, 0);
    for (int64_t i = 0; i < numel_; ++i) {
      const int64_t c = axis_.channelOf(i);
      const float zp = zero_point ? static_cast<float>(zero_point[c]) : 0.0f;
      y[i] = ref::store<TS>((static_cast<float>(x[i]) - zp) * ref::load(scale[c]));
    }
  }

 private:
  int64_t numel_;
  QuantAxis axis_;
  bool has_zero_point_;
};

}  // namespace

Status inferDequantizeLinear(NodeContext& ctx) {
  DS_RETURN_IF_ERROR(ref::checkInputCount(ctx, 2, 3));
  DS_RETURN_IF_ERROR(ref::checkOutputCount(ctx, 1));
  DS_RETURN_IF_ERROR(ref::checkInputDType(ctx, 0, DequantizeInputTypes{}));
  DS_RETURN_IF_ERROR(ref::checkInputDType(ctx, kScaleInput, ScaleTypes{}));
  if (ctx.hasInput(kZeroPointInput)) {
    DS_RETURN_IF_ERROR(ref::checkSameDType(ctx, 0, kZeroPointInput));
  }
  DS_RETURN_IF_ERROR(quantAxis(ctx).status());
  ctx.outputs[0] = ValueDesc{ctx.inputs[kScaleInput].dtype, ctx.inputs[0].shape};
  return Status::ok();
}

Result<std::unique_ptr<Kernel>> makeRefDequantizeLinear(const NodeContext& ctx,
                                                        std::string* /*why_not*/) {
  DS_ASSIGN_OR_RETURN(QuantAxis axis, quantAxis(ctx));
  const int64_t numel = ctx.inputs[0].numel();
  const bool has_zero_point = ctx.hasInput(kZeroPointInput);
  std::unique_ptr<Kernel> kernel;
  ref::dispatchDType(DequantizeInputTypes{}, ctx.inputs[0].dtype, [&](auto q_tag) {
    ref::dispatchDType(ScaleTypes{}, ctx.inputs[kScaleInput].dtype, [&](auto scale_tag) {
      using TQ = typename decltype(q_tag)::type;
      using TS = typename decltype(scale_tag)::type;
      kernel = std::make_unique<DequantizeKernel<TQ, TS>>(numel, axis, has_zero_point);
    });
  });
  if (!kernel) return ref::noReferenceKernel(ctx);
  return kernel;
}

// --- DynamicQuantizeLinear: float32 -> (uint8 y, float32 scale, uint8 zero point) --------------

namespace {

constexpr float kUInt8Levels = 255.0f;  // qmax - qmin

class DynamicQuantizeKernel final : public Kernel {
 public:
  explicit DynamicQuantizeKernel(int64_t numel) : numel_(numel) {}

  void run(const KernelArgs& args) override {
    const float* x = ref::inputAs<float>(args, 0);
    // The range always contains 0 so that 0 is exactly representable; NaN is ignored (its
    // comparisons are false).
    float min = 0.0f;
    float max = 0.0f;
    for (int64_t i = 0; i < numel_; ++i) {
      min = x[i] < min ? x[i] : min;
      max = x[i] > max ? x[i] : max;
    }
    const float scale = (max - min) / kUInt8Levels;
    // scale 0 means every x is 0 (or NaN); the spec's -min / scale would be 0 / 0. Zero point 0
    // and y = 0 represent that exactly.
    const float zero_point =
        scale == 0.0f ? 0.0f : std::nearbyint(std::clamp(-min / scale, 0.0f, kUInt8Levels));
    if (auto* y = ref::outputAs<uint8_t>(args, 0)) {
      for (int64_t i = 0; i < numel_; ++i) {
        y[i] = scale == 0.0f ? uint8_t{0} : quantizeValue<uint8_t>(x[i] / scale, zero_point);
      }
    }
    if (args.outputs.size() > 1 && args.outputs[1]) *ref::outputAs<float>(args, 1) = scale;
    if (args.outputs.size() > 2 && args.outputs[2]) {
      *ref::outputAs<uint8_t>(args, 2) = static_cast<uint8_t>(zero_point);
    }
  }

 private:
  int64_t numel_;
};

}  // namespace

Status inferDynamicQuantizeLinear(NodeContext& ctx) {
  DS_RETURN_IF_ERROR(ref::checkInputCount(ctx, 1, 1));
  DS_RETURN_IF_ERROR(ref::checkOutputCount(ctx, 3));
  DS_RETURN_IF_ERROR(ref::checkInputDType(ctx, 0, TypeList<float>{}));
  const ValueDesc outputs[] = {ValueDesc{DType::kUInt8, ctx.inputs[0].shape},
                               ValueDesc{DType::kFloat32, Shape{}},
                               ValueDesc{DType::kUInt8, Shape{}}};
  for (size_t i = 0; i < ctx.outputs.size(); ++i) {
    if (!ctx.node->outputs[i].empty()) ctx.outputs[i] = outputs[i];
  }
  return Status::ok();
}

Result<std::unique_ptr<Kernel>> makeRefDynamicQuantizeLinear(const NodeContext& ctx,
                                                             std::string* /*why_not*/) {
  return std::unique_ptr<Kernel>(std::make_unique<DynamicQuantizeKernel>(ctx.inputs[0].numel()));
}

}  // namespace detslim
