// Reference kernels of the activations: Relu, LeakyRelu, PRelu, Sigmoid, HardSigmoid,
// HardSwish, Tanh, Clip. Computed in the element's compute type (float for float16 / bfloat16),
// as the ONNX reference implementation does; NaN propagates through every one of them.

#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>

#include "core/kernels/ref/elementwise_common.h"
#include "core/kernels/ref/ref_ops.h"

namespace detslim {

using ref::FloatTypes;
using ref::NumericTypes;
using ref::SignedIntTypes;

namespace {

// Relu-14 takes the floats and the signed integers.
using ReluTypes = decltype(FloatTypes{} + SignedIntTypes{});
// PRelu-16: floats and 32/64-bit integers.
using PReluTypes = decltype(FloatTypes{} + ref::TypeList<int32_t, int64_t, uint32_t, uint64_t>{});

// ONNX defaults.
constexpr float kLeakyReluAlpha = 0.01f;
constexpr float kHardSigmoidAlpha = 0.2f;
constexpr float kHardSigmoidBeta = 0.5f;

}  // namespace

// --- Relu ----------------------------------------------------------------------------------------

Status inferRelu(NodeContext& ctx) {
  return ref::inferUnary(ctx, ReluTypes{});
}

Result<std::unique_ptr<Kernel>> makeRefRelu(const NodeContext& ctx, std::string* /*why_not*/) {
  return ref::makeUnaryKernel(ctx, ReluTypes{}, [](auto x) {
    using C = decltype(x);
    return x < C(0) ? C(0) : x;
  });
}

// --- LeakyRelu -----------------------------------------------------------------------------------

Status inferLeakyRelu(NodeContext& ctx) {
  DS_RETURN_IF_ERROR(ref::checkAttrKinds(ctx, {{"alpha", Attribute::Kind::kFloat}}));
  return ref::inferUnary(ctx, FloatTypes{});
}

Result<std::unique_ptr<Kernel>> makeRefLeakyRelu(const NodeContext& ctx, std::string* /*why_not*/) {
  const float alpha = ctx.node->floatOr("alpha", kLeakyReluAlpha);
  return ref::makeUnaryKernel(ctx, FloatTypes{}, [alpha](auto x) {
    using C = decltype(x);
    return x < C(0) ? static_cast<C>(alpha) * x : x;
  });
}

// --- PRelu: Y = X < 0 ? slope * X : X, slope broadcast to X (unidirectionally) ----------------

Status inferPRelu(NodeContext& ctx) {
  DS_RETURN_IF_ERROR(ref::checkInputCount(ctx, 2, 2));
  DS_RETURN_IF_ERROR(ref::checkOutputCount(ctx, 1));
  DS_RETURN_IF_ERROR(ref::checkInputDType(ctx, 0, PReluTypes{}));
  DS_RETURN_IF_ERROR(ref::checkSameDType(ctx, 0, 1));
  const Shape& x = ctx.inputs[0].shape;
  const Shape& slope = ctx.inputs[1].shape;
  const std::optional<Shape> out = broadcastShapes({x, slope});
  if (!out || *out != x) {
    return ctx.error("slope shape " + shapeToString(slope) +
                     " does not broadcast to the input shape " + shapeToString(x));
  }
  ctx.outputs[0] = ValueDesc{ctx.inputs[0].dtype, x};
  return Status::ok();
}

Result<std::unique_ptr<Kernel>> makeRefPRelu(const NodeContext& ctx, std::string* /*why_not*/) {
  const Shape& x = ctx.inputs[0].shape;
  auto walk = ref::StridedWalk<2>::broadcast(x, {x, ctx.inputs[1].shape});
  std::unique_ptr<Kernel> kernel;
  ref::dispatchDType(PReluTypes{}, ctx.inputs[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    auto op = [](auto v, auto slope) {
      using C = decltype(v);
      if constexpr (std::is_unsigned_v<C>) {
        return v;  // never negative
      } else if constexpr (std::is_integral_v<C>) {
        return v < C(0) ? ref::wrapMul(slope, v) : v;
      } else {
        return v < C(0) ? slope * v : v;
      }
    };
    kernel = std::make_unique<ref::BinaryKernel<T, T, T, decltype(op)>>(walk, op, true);
  });
  if (!kernel) return ref::noReferenceKernel(ctx);
  return kernel;
}

// --- Sigmoid, Tanh ----------------------------------------------------------------------------

Status inferSigmoid(NodeContext& ctx) {
  return ref::inferUnary(ctx, FloatTypes{});
}

Result<std::unique_ptr<Kernel>> makeRefSigmoid(const NodeContext& ctx, std::string* /*why_not*/) {
  return ref::makeUnaryKernel(ctx, FloatTypes{}, [](auto x) {
    using C = decltype(x);
    // exp(-x) overflows to inf for very negative x, giving the correct limit 0.
    return C(1) / (C(1) + std::exp(-x));
  });
}

Status inferTanh(NodeContext& ctx) {
  return ref::inferUnary(ctx, FloatTypes{});
}

Result<std::unique_ptr<Kernel>> makeRefTanh(const NodeContext& ctx, std::string* /*why_not*/) {
  return ref::makeUnaryKernel(ctx, FloatTypes{}, [](auto x) { return std::tanh(x); });
}

// --- HardSigmoid: max(0, min(1, alpha * x + beta)) -----------------------------------------------

Status inferHardSigmoid(NodeContext& ctx) {
  DS_RETURN_IF_ERROR(ref::checkAttrKinds(
      ctx, {{"alpha", Attribute::Kind::kFloat}, {"beta", Attribute::Kind::kFloat}}));
  return ref::inferUnary(ctx, FloatTypes{});
}

Result<std::unique_ptr<Kernel>> makeRefHardSigmoid(const NodeContext& ctx,
                                                   std::string* /*why_not*/) {
  const float alpha = ctx.node->floatOr("alpha", kHardSigmoidAlpha);
  const float beta = ctx.node->floatOr("beta", kHardSigmoidBeta);
  return ref::makeUnaryKernel(ctx, FloatTypes{}, [alpha, beta](auto x) {
    using C = decltype(x);
    return ref::clampKeepNaN(static_cast<C>(alpha) * x + static_cast<C>(beta), C(0), C(1));
  });
}

// --- HardSwish: x * max(0, min(1, x / 6 + 1 / 2)) ------------------------------------------------

Status inferHardSwish(NodeContext& ctx) {
  return ref::inferUnary(ctx, FloatTypes{});
}

Result<std::unique_ptr<Kernel>> makeRefHardSwish(const NodeContext& ctx, std::string* /*why_not*/) {
  return ref::makeUnaryKernel(ctx, FloatTypes{}, [](auto x) {
    using C = decltype(x);
    // The spec writes alpha = 1/6, beta = 0.5 (HardSigmoid's form).
    return x * ref::clampKeepNaN(x * (C(1) / C(6)) + C(0.5), C(0), C(1));
  });
}

// --- Clip --------------------------------------------------------------------------------------
// Opset < 11: bounds are the float attributes min / max. Opset >= 11: optional scalar inputs
// of the input's dtype, read at run time (they need not be constants). Absent bounds do not clip
// (±inf for floats, so ±inf inputs pass unchanged); min > max gives max everywhere.

namespace {

template <class T>
class ClipKernel final : public Kernel {
  using C = ref::ComputeType<T>;

 public:
  ClipKernel(int64_t numel, bool min_is_input, bool max_is_input, C min, C max)
      : numel_(numel),
        min_is_input_(min_is_input),
        max_is_input_(max_is_input),
        min_(min),
        max_(max) {}

  void run(const KernelArgs& args) override {
    const C lo = min_is_input_ ? ref::load(ref::inputAs<T>(args, 1)[0]) : min_;
    const C hi = max_is_input_ ? ref::load(ref::inputAs<T>(args, 2)[0]) : max_;
    const T* src = ref::inputAs<T>(args, 0);
    T* dst = ref::outputAs<T>(args, 0);
    for (int64_t i = 0; i < numel_; ++i) {
      dst[i] = ref::store<T>(ref::clampKeepNaN(ref::load(src[i]), lo, hi));
    }
  }
  int inPlaceInput() const override { return 0; }

 private:
  int64_t numel_;
  bool min_is_input_;
  bool max_is_input_;
  C min_;
  C max_;
};

// The bound that does not clip.
template <class C>
C noClipLow() {
  if constexpr (std::is_floating_point_v<C>) {
    return -std::numeric_limits<C>::infinity();
  } else {
    return std::numeric_limits<C>::lowest();
  }
}
template <class C>
C noClipHigh() {
  if constexpr (std::is_floating_point_v<C>) {
    return std::numeric_limits<C>::infinity();
  } else {
    return std::numeric_limits<C>::max();
  }
}

constexpr int64_t kClipBoundsAsInputsOpset = 11;

}  // namespace

Status inferClip(NodeContext& ctx) {
  if (ctx.opset < kClipBoundsAsInputsOpset) {
    DS_RETURN_IF_ERROR(ref::checkAttrKinds(
        ctx, {{"min", Attribute::Kind::kFloat}, {"max", Attribute::Kind::kFloat}}));
    return ref::inferUnary(ctx, FloatTypes{});
  }
  DS_RETURN_IF_ERROR(ref::checkInputCount(ctx, 1, 3));
  DS_RETURN_IF_ERROR(ref::checkOutputCount(ctx, 1));
  DS_RETURN_IF_ERROR(ref::checkInputDType(ctx, 0, NumericTypes{}));
  for (size_t i = 1; i < ctx.inputs.size(); ++i) {
    if (!ctx.hasInput(i)) continue;
    DS_RETURN_IF_ERROR(ref::checkSameDType(ctx, 0, i));
    // The spec says scalar; exporters also write shape [1], which means the same.
    if (ctx.inputs[i].numel() != 1 || ctx.inputs[i].shape.size() > 1) {
      return ctx.error(ref::inputLabel(ctx, i) + " must be a scalar, has shape " +
                       shapeToString(ctx.inputs[i].shape));
    }
  }
  ctx.outputs[0] = ValueDesc{ctx.inputs[0].dtype, ctx.inputs[0].shape};
  return Status::ok();
}

Result<std::unique_ptr<Kernel>> makeRefClip(const NodeContext& ctx, std::string* /*why_not*/) {
  const bool bounds_are_inputs = ctx.opset >= kClipBoundsAsInputsOpset;
  std::unique_ptr<Kernel> kernel;
  ref::dispatchDType(NumericTypes{}, ctx.inputs[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    using C = ref::ComputeType<T>;
    C lo = noClipLow<C>();
    C hi = noClipHigh<C>();
    if (!bounds_are_inputs) {
      // Before opset 11 the input is a float type, so the float attributes convert exactly.
      if (ctx.node->hasAttr("min")) lo = static_cast<C>(ctx.node->floatOr("min", 0.0f));
      if (ctx.node->hasAttr("max")) hi = static_cast<C>(ctx.node->floatOr("max", 0.0f));
    }
    kernel =
        std::make_unique<ClipKernel<T>>(ctx.inputs[0].numel(), bounds_are_inputs && ctx.hasInput(1),
                                        bounds_are_inputs && ctx.hasInput(2), lo, hi);
  });
  if (!kernel) return ref::noReferenceKernel(ctx);
  return kernel;
}

}  // namespace detslim
