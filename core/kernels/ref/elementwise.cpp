// Reference kernels of the elementwise math ops: Add, Sub, Mul, Div, Pow, Max, Min, Equal,
// Greater, Less, Where (numpy broadcasting), Sqrt, Exp, Log, Neg, Abs, Cast, and the inference
// form of BatchNormalization.
//
// Integer arithmetic wraps like numpy's fixed-width integers; integer Div truncates toward zero
// as C++ does, and x / 0 gives 0 (numpy's integer result) instead of a crash.

#include <algorithm>
#include <array>
#include <cmath>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/kernels/ref/elementwise_common.h"
#include "core/kernels/ref/ref_ops.h"

namespace detslim {

using ref::AllTypes;
using ref::Bool8;
using ref::FloatTypes;
using ref::NumericTypes;
using ref::SignedIntTypes;

namespace {

// Pow-15's base type T (the output's); the exponent (T1) may be any numeric type.
using PowBaseTypes = decltype(FloatTypes{} + ref::TypeList<int32_t, int64_t>{});
using NegTypes = decltype(FloatTypes{} + SignedIntTypes{});

// Before opset 7 Add / Sub / Mul / Div / Pow broadcast only with broadcast=1, aligning B at
// `axis` when given; numpy broadcasting covers every case except that explicit axis.
constexpr int64_t kNumpyBroadcastOpset = 7;

Status refuseLegacyAxisBroadcast(const NodeContext& ctx) {
  DS_RETURN_IF_ERROR(ref::checkAttrKinds(
      ctx, {{"broadcast", Attribute::Kind::kInt}, {"axis", Attribute::Kind::kInt}}));
  if (ctx.opset < kNumpyBroadcastOpset && ctx.node->hasAttr("axis") &&
      ctx.node->intOr("broadcast", 0) != 0) {
    return ctx.unsupportedError(
        "legacy broadcasting with an explicit axis (opset < 7) is not supported");
  }
  return Status::ok();
}

// The numpy broadcast shape of inputs [first, first + count); refuses incompatible shapes.
Result<Shape> broadcastInputs(const NodeContext& ctx, size_t first, size_t count) {
  std::vector<Shape> shapes;
  for (size_t i = first; i < first + count; ++i) shapes.push_back(ctx.inputs[i].shape);
  std::optional<Shape> out = broadcastShapes(shapes);
  if (!out) {
    std::string listed;
    for (const Shape& s : shapes) listed += (listed.empty() ? "" : " and ") + shapeToString(s);
    return ctx.error("input shapes " + listed + " do not broadcast");
  }
  return *out;
}

// Two inputs of one dtype from `types`, broadcast; output dtype `out_dtype` (kUndefined: the
// inputs' dtype).
template <class... Ts>
Status inferBinary(NodeContext& ctx, ref::TypeList<Ts...> types, DType out_dtype) {
  DS_RETURN_IF_ERROR(ref::checkInputCount(ctx, 2, 2));
  DS_RETURN_IF_ERROR(ref::checkOutputCount(ctx, 1));
  DS_RETURN_IF_ERROR(ref::checkInputDType(ctx, 0, types));
  DS_RETURN_IF_ERROR(ref::checkSameDType(ctx, 0, 1));
  DS_RETURN_IF_ERROR(refuseLegacyAxisBroadcast(ctx));
  DS_ASSIGN_OR_RETURN(Shape out, broadcastInputs(ctx, 0, 2));
  ctx.outputs[0] =
      ValueDesc{out_dtype == DType::kUndefined ? ctx.inputs[0].dtype : out_dtype, std::move(out)};
  return Status::ok();
}

ref::StridedWalk<2> binaryWalk(const NodeContext& ctx) {
  return ref::StridedWalk<2>::broadcast(ctx.outputs[0].shape,
                                        {ctx.inputs[0].shape, ctx.inputs[1].shape});
}

// Output dtype = input dtype; op(a, b) returns the compute type.
template <class... Ts, class Op>
Result<std::unique_ptr<Kernel>> makeArithmetic(const NodeContext& ctx, ref::TypeList<Ts...> types,
                                               Op op) {
  const bool in_place_ok = ctx.inputs[0].shape == ctx.outputs[0].shape;
  std::unique_ptr<Kernel> kernel;
  ref::dispatchDType(types, ctx.inputs[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    kernel = std::make_unique<ref::BinaryKernel<T, T, T, Op>>(binaryWalk(ctx), op, in_place_ok);
  });
  if (!kernel) return ref::noReferenceKernel(ctx);
  return kernel;
}

// Output dtype bool; op(a, b) returns bool.
template <class... Ts, class Op>
Result<std::unique_ptr<Kernel>> makeComparison(const NodeContext& ctx, ref::TypeList<Ts...> types,
                                               Op op) {
  std::unique_ptr<Kernel> kernel;
  ref::dispatchDType(types, ctx.inputs[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    kernel = std::make_unique<ref::BinaryKernel<T, T, Bool8, Op>>(binaryWalk(ctx), op, false);
  });
  if (!kernel) return ref::noReferenceKernel(ctx);
  return kernel;
}

}  // namespace

// --- Add, Sub, Mul, Div ------------------------------------------------------------------------

Status inferAdd(NodeContext& ctx) {
  return inferBinary(ctx, NumericTypes{}, DType::kUndefined);
}
Status inferSub(NodeContext& ctx) {
  return inferBinary(ctx, NumericTypes{}, DType::kUndefined);
}
Status inferMul(NodeContext& ctx) {
  return inferBinary(ctx, NumericTypes{}, DType::kUndefined);
}
Status inferDiv(NodeContext& ctx) {
  return inferBinary(ctx, NumericTypes{}, DType::kUndefined);
}

Result<std::unique_ptr<Kernel>> makeRefAdd(const NodeContext& ctx, std::string* /*why_not*/) {
  return makeArithmetic(ctx, NumericTypes{}, [](auto a, auto b) -> decltype(a) {
    if constexpr (std::is_integral_v<decltype(a)>) {
      return ref::wrapAdd(a, b);
    } else {
      return a + b;
    }
  });
}

Result<std::unique_ptr<Kernel>> makeRefSub(const NodeContext& ctx, std::string* /*why_not*/) {
  return makeArithmetic(ctx, NumericTypes{}, [](auto a, auto b) -> decltype(a) {
    if constexpr (std::is_integral_v<decltype(a)>) {
      return ref::wrapSub(a, b);
    } else {
      return a - b;
    }
  });
}

Result<std::unique_ptr<Kernel>> makeRefMul(const NodeContext& ctx, std::string* /*why_not*/) {
  return makeArithmetic(ctx, NumericTypes{}, [](auto a, auto b) -> decltype(a) {
    if constexpr (std::is_integral_v<decltype(a)>) {
      return ref::wrapMul(a, b);
    } else {
      return a * b;
    }
  });
}

Result<std::unique_ptr<Kernel>> makeRefDiv(const NodeContext& ctx, std::string* /*why_not*/) {
  return makeArithmetic(ctx, NumericTypes{}, [](auto a, auto b) -> decltype(a) {
    using C = decltype(a);
    if constexpr (std::is_integral_v<C>) {
      if (b == C(0)) return C(0);  // numpy's integer x / 0; C++ would trap
      if constexpr (std::is_signed_v<C>) {
        if (b == C(-1)) return ref::wrapNeg(a);  // lowest / -1 overflows in C++
      }
      return static_cast<C>(a / b);
    } else {
      return a / b;
    }
  });
}

// --- Pow: output has the base's dtype; the exponent may have another (opset 12+) ------------

namespace {

// base^exponent for integers, wrapping like repeated multiplication in the base's type.
// A negative exponent gives the truncated real result: 1 and -1 keep their magnitude, others 0.
template <class CB, class CE>
CB integerPow(CB base, CE exponent) {
  if constexpr (std::is_signed_v<CE>) {
    if (exponent < 0) {
      if (base == CB(1)) return CB(1);
      if constexpr (std::is_signed_v<CB>) {
        if (base == CB(-1)) return (exponent % 2 == 0) ? CB(1) : CB(-1);
      }
      return CB(0);
    }
  }
  CB result = 1;
  auto e = static_cast<uint64_t>(exponent);
  while (e != 0) {
    if (e & 1) result = ref::wrapMul(result, base);
    base = ref::wrapMul(base, base);
    e >>= 1;
  }
  return result;
}

}  // namespace

Status inferPow(NodeContext& ctx) {
  DS_RETURN_IF_ERROR(ref::checkInputCount(ctx, 2, 2));
  DS_RETURN_IF_ERROR(ref::checkOutputCount(ctx, 1));
  DS_RETURN_IF_ERROR(ref::checkInputDType(ctx, 0, PowBaseTypes{}));
  DS_RETURN_IF_ERROR(ref::checkInputDType(ctx, 1, NumericTypes{}));
  DS_RETURN_IF_ERROR(refuseLegacyAxisBroadcast(ctx));
  DS_ASSIGN_OR_RETURN(Shape out, broadcastInputs(ctx, 0, 2));
  ctx.outputs[0] = ValueDesc{ctx.inputs[0].dtype, std::move(out)};
  return Status::ok();
}

Result<std::unique_ptr<Kernel>> makeRefPow(const NodeContext& ctx, std::string* /*why_not*/) {
  const bool in_place_ok = ctx.inputs[0].shape == ctx.outputs[0].shape;
  auto op = [](auto base, auto exponent) -> decltype(base) {
    using CB = decltype(base);
    using CE = decltype(exponent);
    if constexpr (std::is_integral_v<CB> && std::is_integral_v<CE>) {
      return integerPow(base, exponent);
    } else {
      // Computed in double and rounded once: as exact as the base type can hold. An integer
      // base truncates the real result, as numpy's power(...).astype(base dtype) does.
      const double p = std::pow(static_cast<double>(base), static_cast<double>(exponent));
      if constexpr (std::is_integral_v<CB>) {
        return ref::floatToInt<CB>(p);
      } else {
        return static_cast<CB>(p);
      }
    }
  };
  std::unique_ptr<Kernel> kernel;
  ref::dispatchDType(PowBaseTypes{}, ctx.inputs[0].dtype, [&](auto base_tag) {
    ref::dispatchDType(NumericTypes{}, ctx.inputs[1].dtype, [&](auto exponent_tag) {
      using TB = typename decltype(base_tag)::type;
      using TE = typename decltype(exponent_tag)::type;
      kernel = std::make_unique<ref::BinaryKernel<TB, TE, TB, decltype(op)>>(binaryWalk(ctx), op,
                                                                             in_place_ok);
    });
  });
  if (!kernel) return ref::noReferenceKernel(ctx);
  return kernel;
}

// --- Max, Min: variadic, broadcast, NaN propagates (numpy maximum / minimum) --------------------

namespace {

// dst = op(...op(op(in0, in1), in2)..., inN) folded input by input into the output buffer.
template <class T, class Op>
class VariadicKernel final : public Kernel {
 public:
  VariadicKernel(std::vector<ref::StridedWalk<1>> walks, Op op)
      : walks_(std::move(walks)), op_(std::move(op)) {}

  void run(const KernelArgs& args) override {
    T* dst = ref::outputAs<T>(args, 0);
    const T* first = ref::inputAs<T>(args, 0);
    walks_[0].forEach([&](int64_t i, const std::array<int64_t, 1>& in) { dst[i] = first[in[0]]; });
    for (size_t k = 1; k < walks_.size(); ++k) {
      const T* src = ref::inputAs<T>(args, k);
      walks_[k].forEach([&](int64_t i, const std::array<int64_t, 1>& in) {
        dst[i] = ref::store<T>(op_(ref::load(dst[i]), ref::load(src[in[0]])));
      });
    }
  }

 private:
  std::vector<ref::StridedWalk<1>> walks_;  // input k broadcast to the output shape
  Op op_;
};

Status inferVariadic(NodeContext& ctx) {
  if (ctx.inputs.empty()) return ctx.error("expects at least one input");
  DS_RETURN_IF_ERROR(ref::checkInputCount(ctx, ctx.inputs.size(), ctx.inputs.size()));
  DS_RETURN_IF_ERROR(ref::checkOutputCount(ctx, 1));
  DS_RETURN_IF_ERROR(ref::checkInputDType(ctx, 0, NumericTypes{}));
  for (size_t i = 1; i < ctx.inputs.size(); ++i) DS_RETURN_IF_ERROR(ref::checkSameDType(ctx, 0, i));
  DS_ASSIGN_OR_RETURN(Shape out, broadcastInputs(ctx, 0, ctx.inputs.size()));
  ctx.outputs[0] = ValueDesc{ctx.inputs[0].dtype, std::move(out)};
  return Status::ok();
}

template <class Op>
Result<std::unique_ptr<Kernel>> makeVariadic(const NodeContext& ctx, Op op) {
  std::vector<ref::StridedWalk<1>> walks;
  for (const ValueDesc& in : ctx.inputs) {
    walks.push_back(ref::StridedWalk<1>::broadcast(ctx.outputs[0].shape, {in.shape}));
  }
  std::unique_ptr<Kernel> kernel;
  ref::dispatchDType(NumericTypes{}, ctx.inputs[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    kernel = std::make_unique<VariadicKernel<T, Op>>(walks, op);
  });
  if (!kernel) return ref::noReferenceKernel(ctx);
  return kernel;
}

}  // namespace

Status inferMax(NodeContext& ctx) {
  return inferVariadic(ctx);
}
Status inferMin(NodeContext& ctx) {
  return inferVariadic(ctx);
}

Result<std::unique_ptr<Kernel>> makeRefMax(const NodeContext& ctx, std::string* /*why_not*/) {
  return makeVariadic(ctx, [](auto a, auto b) -> decltype(a) {
    if (ref::isNaNValue(a)) return a;
    if (ref::isNaNValue(b)) return b;
    return a < b ? b : a;
  });
}

Result<std::unique_ptr<Kernel>> makeRefMin(const NodeContext& ctx, std::string* /*why_not*/) {
  return makeVariadic(ctx, [](auto a, auto b) -> decltype(a) {
    if (ref::isNaNValue(a)) return a;
    if (ref::isNaNValue(b)) return b;
    return b < a ? b : a;
  });
}

// --- Equal, Greater, Less: bool output; any comparison with NaN is false ----------------------

Status inferEqual(NodeContext& ctx) {
  return inferBinary(ctx, AllTypes{}, DType::kBool);
}
Status inferGreater(NodeContext& ctx) {
  return inferBinary(ctx, NumericTypes{}, DType::kBool);
}
Status inferLess(NodeContext& ctx) {
  return inferBinary(ctx, NumericTypes{}, DType::kBool);
}

Result<std::unique_ptr<Kernel>> makeRefEqual(const NodeContext& ctx, std::string* /*why_not*/) {
  return makeComparison(ctx, AllTypes{}, [](auto a, auto b) { return a == b; });
}

Result<std::unique_ptr<Kernel>> makeRefGreater(const NodeContext& ctx, std::string* /*why_not*/) {
  return makeComparison(ctx, NumericTypes{}, [](auto a, auto b) { return a > b; });
}

Result<std::unique_ptr<Kernel>> makeRefLess(const NodeContext& ctx, std::string* /*why_not*/) {
  return makeComparison(ctx, NumericTypes{}, [](auto a, auto b) { return a < b; });
}

// --- Where: Y = cond ? X : Y, all three broadcast -------------------------------------------

namespace {

template <class T>
class WhereKernel final : public Kernel {
 public:
  explicit WhereKernel(ref::StridedWalk<3> walk) : walk_(std::move(walk)) {}
  void run(const KernelArgs& args) override {
    const Bool8* cond = ref::inputAs<Bool8>(args, 0);
    const T* x = ref::inputAs<T>(args, 1);
    const T* y = ref::inputAs<T>(args, 2);
    T* dst = ref::outputAs<T>(args, 0);
    walk_.forEach([&](int64_t i, const std::array<int64_t, 3>& in) {
      dst[i] = ref::load(cond[in[0]]) ? x[in[1]] : y[in[2]];
    });
  }

 private:
  ref::StridedWalk<3> walk_;
};

}  // namespace

Status inferWhere(NodeContext& ctx) {
  DS_RETURN_IF_ERROR(ref::checkInputCount(ctx, 3, 3));
  DS_RETURN_IF_ERROR(ref::checkOutputCount(ctx, 1));
  DS_RETURN_IF_ERROR(ref::checkInputDType(ctx, 0, ref::TypeList<Bool8>{}));
  DS_RETURN_IF_ERROR(ref::checkInputDType(ctx, 1, AllTypes{}));
  DS_RETURN_IF_ERROR(ref::checkSameDType(ctx, 1, 2));
  DS_ASSIGN_OR_RETURN(Shape out, broadcastInputs(ctx, 0, 3));
  ctx.outputs[0] = ValueDesc{ctx.inputs[1].dtype, std::move(out)};
  return Status::ok();
}

Result<std::unique_ptr<Kernel>> makeRefWhere(const NodeContext& ctx, std::string* /*why_not*/) {
  auto walk = ref::StridedWalk<3>::broadcast(
      ctx.outputs[0].shape, {ctx.inputs[0].shape, ctx.inputs[1].shape, ctx.inputs[2].shape});
  std::unique_ptr<Kernel> kernel;
  ref::dispatchDType(AllTypes{}, ctx.inputs[1].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    kernel = std::make_unique<WhereKernel<T>>(walk);
  });
  if (!kernel) return ref::noReferenceKernel(ctx);
  return kernel;
}

// --- Sqrt, Exp, Log, Neg, Abs -----------------------------------------------------------------

Status inferSqrt(NodeContext& ctx) {
  return ref::inferUnary(ctx, FloatTypes{});
}
Status inferExp(NodeContext& ctx) {
  return ref::inferUnary(ctx, FloatTypes{});
}
Status inferLog(NodeContext& ctx) {
  return ref::inferUnary(ctx, FloatTypes{});
}
Status inferNeg(NodeContext& ctx) {
  return ref::inferUnary(ctx, NegTypes{});
}
Status inferAbs(NodeContext& ctx) {
  return ref::inferUnary(ctx, NumericTypes{});
}

Result<std::unique_ptr<Kernel>> makeRefSqrt(const NodeContext& ctx, std::string* /*why_not*/) {
  return ref::makeUnaryKernel(ctx, FloatTypes{}, [](auto x) { return std::sqrt(x); });
}

Result<std::unique_ptr<Kernel>> makeRefExp(const NodeContext& ctx, std::string* /*why_not*/) {
  return ref::makeUnaryKernel(ctx, FloatTypes{}, [](auto x) { return std::exp(x); });
}

Result<std::unique_ptr<Kernel>> makeRefLog(const NodeContext& ctx, std::string* /*why_not*/) {
  return ref::makeUnaryKernel(ctx, FloatTypes{}, [](auto x) { return std::log(x); });
}

Result<std::unique_ptr<Kernel>> makeRefNeg(const NodeContext& ctx, std::string* /*why_not*/) {
  return ref::makeUnaryKernel(ctx, NegTypes{}, [](auto x) -> decltype(x) {
    if constexpr (std::is_integral_v<decltype(x)>) {
      return ref::wrapNeg(x);  // -lowest wraps
    } else {
      return -x;
    }
  });
}

Result<std::unique_ptr<Kernel>> makeRefAbs(const NodeContext& ctx, std::string* /*why_not*/) {
  return ref::makeUnaryKernel(ctx, NumericTypes{}, [](auto x) -> decltype(x) {
    using C = decltype(x);
    if constexpr (std::is_unsigned_v<C>) {
      return x;
    } else if constexpr (std::is_integral_v<C>) {
      return x < C(0) ? ref::wrapNeg(x) : x;
    } else {
      return std::abs(x);
    }
  });
}

// --- Cast ---------------------------------------------------------------------------------------

namespace {

template <class From, class To>
class CastKernel final : public Kernel {
 public:
  explicit CastKernel(int64_t numel) : numel_(numel) {}
  void run(const KernelArgs& args) override {
    const From* src = ref::inputAs<From>(args, 0);
    To* dst = ref::outputAs<To>(args, 0);
    for (int64_t i = 0; i < numel_; ++i) dst[i] = ref::convertElement<To>(src[i]);
  }
  // Same-size casts read each element before writing it.
  int inPlaceInput() const override { return sizeof(From) == sizeof(To) ? 0 : -1; }

 private:
  int64_t numel_;
};

}  // namespace

namespace {

// TensorProto.DataType's names, indexed by code: Cast-1..5 give `to` as one of them.
constexpr std::string_view kOnnxTypeNames[] = {
    "UNDEFINED", "FLOAT",  "UINT8",     "INT8",       "UINT16",  "INT16",
    "INT32",     "INT64",  "STRING",    "BOOL",       "FLOAT16", "DOUBLE",
    "UINT32",    "UINT64", "COMPLEX64", "COMPLEX128", "BFLOAT16"};

// The `to` attribute: an int since Cast-6, a type name before.
Result<DType> castTarget(const NodeContext& ctx) {
  const Attribute* to = ctx.node->attr("to");
  if (!to) return ctx.error("attribute to is required");
  int64_t code = 0;
  if (to->kind == Attribute::Kind::kInt) {
    code = to->i;
  } else if (to->kind == Attribute::Kind::kString) {
    const auto* name = std::find(std::begin(kOnnxTypeNames), std::end(kOnnxTypeNames), to->s);
    if (name == std::end(kOnnxTypeNames)) {
      return ctx.error("attribute to = '" + to->s + "' is not an ONNX data type name");
    }
    code = name - std::begin(kOnnxTypeNames);
  } else {
    return ctx.error("attribute to is " + std::string(attributeKindName(to->kind)) +
                     ", expected int");
  }
  if (code <= 0 || code > std::numeric_limits<int32_t>::max() ||
      !isKnownDType(static_cast<int32_t>(code))) {
    return ctx.error("attribute to = " + std::to_string(code) + " is not an ONNX data type");
  }
  return static_cast<DType>(code);
}

}  // namespace

Status inferCast(NodeContext& ctx) {
  DS_RETURN_IF_ERROR(ref::checkInputCount(ctx, 1, 1));
  DS_RETURN_IF_ERROR(ref::checkOutputCount(ctx, 1));
  DS_RETURN_IF_ERROR(ref::checkInputDType(ctx, 0, AllTypes{}));
  DS_ASSIGN_OR_RETURN(DType to, castTarget(ctx));
  if (!ref::inTypeList(AllTypes{}, to)) {
    return ctx.unsupportedError("casting to " + std::string(dtypeName(to)) + " is not supported");
  }
  ctx.outputs[0] = ValueDesc{to, ctx.inputs[0].shape};
  return Status::ok();
}

Result<std::unique_ptr<Kernel>> makeRefCast(const NodeContext& ctx, std::string* /*why_not*/) {
  const int64_t numel = ctx.inputs[0].numel();
  std::unique_ptr<Kernel> kernel;
  ref::dispatchDType(AllTypes{}, ctx.inputs[0].dtype, [&](auto from_tag) {
    ref::dispatchDType(AllTypes{}, ctx.outputs[0].dtype, [&](auto to_tag) {
      using From = typename decltype(from_tag)::type;
      using To = typename decltype(to_tag)::type;
      kernel = std::make_unique<CastKernel<From, To>>(numel);
    });
  });
  if (!kernel) return ref::noReferenceKernel(ctx);
  return kernel;
}

// --- BatchNormalization (inference): Y = (X - mean) / sqrt(var + epsilon) * scale + B ---------
// Inputs X (N, C, D1, ...), scale, B, mean, var (each of size C). The training-mode outputs
// (running / saved statistics) are refused: the engine runs inference only.

namespace {

constexpr float kBatchNormEpsilon = 1e-5f;
constexpr int64_t kBatchNormTrainingModeOpset = 14;
constexpr int64_t kBatchNormSpatialRemovedOpset = 9;
constexpr size_t kBatchNormParams = 4;  // scale, B, mean, var: inputs 1..4

template <class T>
class BatchNormKernel final : public Kernel {
 public:
  BatchNormKernel(int64_t batch, int64_t channels, int64_t spatial, double epsilon,
                  std::array<DType, kBatchNormParams> param_dtypes)
      : batch_(batch),
        channels_(channels),
        spatial_(spatial),
        epsilon_(epsilon),
        param_dtypes_(param_dtypes) {}

  void run(const KernelArgs& args) override {
    const T* src = ref::inputAs<T>(args, 0);
    T* dst = ref::outputAs<T>(args, 0);
    for (int64_t c = 0; c < channels_; ++c) {
      const double scale = param(args, 0, c);
      const double bias = param(args, 1, c);
      const double mean = param(args, 2, c);
      const double var = param(args, 3, c);
      const double inv_std = 1.0 / std::sqrt(var + epsilon_);
      for (int64_t n = 0; n < batch_; ++n) {
        const int64_t base = (n * channels_ + c) * spatial_;
        for (int64_t s = base; s < base + spatial_; ++s) {
          const double x = static_cast<double>(ref::load(src[s]));
          dst[s] =
              ref::store<T>(static_cast<ref::ComputeType<T>>((x - mean) * inv_std * scale + bias));
        }
      }
    }
  }
  int inPlaceInput() const override { return 0; }

 private:
  double param(const KernelArgs& args, size_t k, int64_t c) const {
    return ref::loadAsDouble(param_dtypes_[k], args.inputs[1 + k], c);
  }

  int64_t batch_;
  int64_t channels_;
  int64_t spatial_;
  double epsilon_;
  std::array<DType, kBatchNormParams> param_dtypes_;
};

}  // namespace

Status inferBatchNormalization(NodeContext& ctx) {
  DS_RETURN_IF_ERROR(ref::checkInputCount(ctx, 1 + kBatchNormParams, 1 + kBatchNormParams));
  DS_RETURN_IF_ERROR(ref::checkAttrKinds(ctx, {{"epsilon", Attribute::Kind::kFloat},
                                               {"training_mode", Attribute::Kind::kInt},
                                               {"spatial", Attribute::Kind::kInt}}));
  if (ctx.node->intOr("training_mode", 0) != 0) {
    return ctx.unsupportedError(
        "training_mode = 1 (training-mode BatchNormalization outputs) is not supported; the engine "
        "runs inference only");
  }
  for (size_t i = 1; i < ctx.node->outputs.size(); ++i) {
    if (!ctx.node->outputs[i].empty()) {
      return ctx.unsupportedError("output " + std::to_string(i) + " '" + ctx.node->outputs[i] +
                                  "' is a training-mode statistic; only output 0 is supported");
    }
  }
  if (ctx.opset < kBatchNormSpatialRemovedOpset && ctx.node->intOr("spatial", 1) == 0) {
    return ctx.unsupportedError("spatial = 0 (per-activation statistics) is not supported");
  }
  DS_RETURN_IF_ERROR(ref::checkInputDType(ctx, 0, FloatTypes{}));
  const Shape& x = ctx.inputs[0].shape;
  if (x.size() < 2) {
    return ctx.error("input X must have rank >= 2 (N, C, ...), has shape " + shapeToString(x));
  }
  for (size_t i = 1; i <= kBatchNormParams; ++i) {
    DS_RETURN_IF_ERROR(ref::checkInputDType(ctx, i, FloatTypes{}));
    if (ctx.inputs[i].shape != Shape{x[1]}) {
      return ctx.error(ref::inputLabel(ctx, i) + " must have shape [" + std::to_string(x[1]) +
                       "] (the channel count), has " + shapeToString(ctx.inputs[i].shape));
    }
  }
  const float epsilon = ctx.node->floatOr("epsilon", kBatchNormEpsilon);
  if (!(epsilon >= 0.0f)) {
    return ctx.error("attribute epsilon must be >= 0, is " + std::to_string(epsilon));
  }
  ctx.outputs[0] = ValueDesc{ctx.inputs[0].dtype, x};
  return Status::ok();
}

Result<std::unique_ptr<Kernel>> makeRefBatchNormalization(const NodeContext& ctx,
                                                          std::string* /*why_not*/) {
  const Shape& x = ctx.inputs[0].shape;
  const int64_t spatial = shapeNumel(Shape(x.begin() + 2, x.end()));
  const double epsilon = ctx.node->floatOr("epsilon", kBatchNormEpsilon);
  std::array<DType, kBatchNormParams> param_dtypes{};
  for (size_t k = 0; k < kBatchNormParams; ++k) param_dtypes[k] = ctx.inputs[1 + k].dtype;
  std::unique_ptr<Kernel> kernel;
  ref::dispatchDType(FloatTypes{}, ctx.inputs[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    kernel = std::make_unique<BatchNormKernel<T>>(x[0], x[1], spatial, epsilon, param_dtypes);
  });
  if (!kernel) return ref::noReferenceKernel(ctx);
  return kernel;
}

}  // namespace detslim
