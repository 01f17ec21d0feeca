#pragma once
// Private helpers of the elementwise, activation, reduction and quantization reference kernels
// (elementwise.cpp, activation.cpp, reduce.cpp, quant.cpp): storage types for the 16-bit floats
// and bool, dtype dispatch over compile-time type lists, the element conversion Cast defines,
// allocation-free strided / broadcast walks, and the checks the shape functions share.

#include <array>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/base/dtype.h"
#include "core/kernels/kernel.h"
#include "core/kernels/ref/broadcast.h"

namespace detslim::ref {

// ---------------------------------------------------------------------------------------------
// Element storage types. float16 / bfloat16 are stored as bits and computed in float (as numpy
// and the ONNX reference do); bool is stored as one byte and read as "byte != 0" so a buffer
// holding 2..255 cannot produce an invalid C++ bool.

struct Float16 {
  uint16_t bits;
};
struct BFloat16 {
  uint16_t bits;
};
struct Bool8 {
  uint8_t byte;
};

template <class T>
struct ComputeTypeOf {
  using type = T;
};
template <>
struct ComputeTypeOf<Float16> {
  using type = float;
};
template <>
struct ComputeTypeOf<BFloat16> {
  using type = float;
};
template <>
struct ComputeTypeOf<Bool8> {
  using type = bool;
};
// The type an element of storage type T is computed in.
template <class T>
using ComputeType = typename ComputeTypeOf<T>::type;

template <class T>
inline ComputeType<T> load(T v) {
  if constexpr (std::is_same_v<T, Float16>) {
    return halfToFloat(v.bits);
  } else if constexpr (std::is_same_v<T, BFloat16>) {
    return bfloat16ToFloat(v.bits);
  } else if constexpr (std::is_same_v<T, Bool8>) {
    return v.byte != 0;
  } else {
    return v;
  }
}

template <class T>
inline T store(ComputeType<T> v) {
  if constexpr (std::is_same_v<T, Float16>) {
    return Float16{floatToHalf(v)};
  } else if constexpr (std::is_same_v<T, BFloat16>) {
    return BFloat16{floatToBFloat16(v)};
  } else if constexpr (std::is_same_v<T, Bool8>) {
    return Bool8{static_cast<uint8_t>(v ? 1 : 0)};
  } else {
    return v;
  }
}

// The DType of each storage type (kUndefined: not a storage type).
template <class T>
inline constexpr DType kDTypeOf = DType::kUndefined;
template <>
inline constexpr DType kDTypeOf<float> = DType::kFloat32;
template <>
inline constexpr DType kDTypeOf<double> = DType::kFloat64;
template <>
inline constexpr DType kDTypeOf<Float16> = DType::kFloat16;
template <>
inline constexpr DType kDTypeOf<BFloat16> = DType::kBFloat16;
template <>
inline constexpr DType kDTypeOf<int8_t> = DType::kInt8;
template <>
inline constexpr DType kDTypeOf<int16_t> = DType::kInt16;
template <>
inline constexpr DType kDTypeOf<int32_t> = DType::kInt32;
template <>
inline constexpr DType kDTypeOf<int64_t> = DType::kInt64;
template <>
inline constexpr DType kDTypeOf<uint8_t> = DType::kUInt8;
template <>
inline constexpr DType kDTypeOf<uint16_t> = DType::kUInt16;
template <>
inline constexpr DType kDTypeOf<uint32_t> = DType::kUInt32;
template <>
inline constexpr DType kDTypeOf<uint64_t> = DType::kUInt64;
template <>
inline constexpr DType kDTypeOf<Bool8> = DType::kBool;

// ---------------------------------------------------------------------------------------------
// Type lists: the dtypes an op accepts, named once and used both by the shape function's check
// and by the factory's dispatch, so the two cannot disagree.

template <class... Ts>
struct TypeList {
  static_assert(((kDTypeOf<Ts> != DType::kUndefined) && ...), "not a storage type");
};
template <class... A, class... B>
constexpr TypeList<A..., B...> operator+(TypeList<A...>, TypeList<B...>) {
  return {};
}

using FloatTypes = TypeList<float, Float16, BFloat16, double>;
using SignedIntTypes = TypeList<int8_t, int16_t, int32_t, int64_t>;
using UnsignedIntTypes = TypeList<uint8_t, uint16_t, uint32_t, uint64_t>;
using IntTypes = decltype(SignedIntTypes{} + UnsignedIntTypes{});
using NumericTypes = decltype(FloatTypes{} + IntTypes{});
using AllTypes = decltype(NumericTypes{} + TypeList<Bool8>{});

template <class T>
struct Tag {
  using type = T;
};

// Calls fn(Tag<T>{}) for the T of `list` whose dtype is `dtype`; false when none is.
template <class... Ts, class Fn>
bool dispatchDType(TypeList<Ts...>, DType dtype, Fn&& fn) {
  return ((dtype == kDTypeOf<Ts> ? (fn(Tag<Ts>{}), true) : false) || ...);
}

template <class... Ts>
bool inTypeList(TypeList<Ts...>, DType dtype) {
  return ((dtype == kDTypeOf<Ts>) || ...);
}

// "float32, float16, bfloat16, float64" for messages.
template <class... Ts>
std::string typeListNames(TypeList<Ts...>) {
  std::string names;
  ((names += (names.empty() ? "" : ", ") + std::string(dtypeName(kDTypeOf<Ts>))), ...);
  return names;
}

// Element i of a buffer of any numeric dtype as double, for per-channel parameters whose dtype
// the kernel only knows at run time (BatchNormalization's scale / bias / mean / var).
inline double loadAsDouble(DType dtype, const void* data, int64_t i) {
  double value = 0.0;
  dispatchDType(NumericTypes{}, dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    value = static_cast<double>(load(static_cast<const T*>(data)[i]));
  });
  return value;
}

// ---------------------------------------------------------------------------------------------
// Element conversion as Cast defines it. float -> integer truncates toward zero; ONNX leaves
// NaN and out-of-range values undefined, so they saturate (NaN -> 0) instead of hitting C++
// undefined behaviour. integer -> integer wraps (two's complement), any -> bool is "!= 0"
// (NaN -> true, as numpy), bool -> number is 0 / 1. float64 -> float16 goes through float32;
// the double rounding this allows is at most one float16 ulp in rare ties.

template <class I, class F>
I floatToInt(F x) {
  if (std::isnan(x)) return 0;
  const double t = std::trunc(static_cast<double>(x));
  // max() of int64 / uint64 is not a double; the comparison uses its rounded-up value 2^63 / 2^64,
  // which is exactly where the range ends.
  if (t >= static_cast<double>(std::numeric_limits<I>::max())) return std::numeric_limits<I>::max();
  if (t <= static_cast<double>(std::numeric_limits<I>::lowest())) {
    return std::numeric_limits<I>::lowest();
  }
  return static_cast<I>(t);
}

template <class To, class C>
To fromCompute(C x) {
  using CT = ComputeType<To>;
  if constexpr (std::is_same_v<CT, bool>) {
    return store<To>(x != C(0));
  } else if constexpr (std::is_integral_v<CT> && std::is_floating_point_v<C>) {
    return store<To>(floatToInt<CT>(x));
  } else {
    return store<To>(static_cast<CT>(x));
  }
}

template <class To, class From>
To convertElement(From v) {
  return fromCompute<To>(load(v));
}

// ---------------------------------------------------------------------------------------------
// Integer arithmetic that wraps like numpy's fixed-width integers without signed-overflow UB:
// computed in uint64 (conversion to unsigned is modular) and narrowed back (also modular).

template <class C>
C wrapAdd(C a, C b) {
  return static_cast<C>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
template <class C>
C wrapSub(C a, C b) {
  return static_cast<C>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}
template <class C>
C wrapMul(C a, C b) {
  return static_cast<C>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
}
template <class C>
C wrapNeg(C a) {
  return static_cast<C>(uint64_t{0} - static_cast<uint64_t>(a));
}

// x limited to [lo, hi]; NaN stays NaN (std::min / std::max would turn it into a bound), and
// lo > hi gives hi, as Clip-13 specifies.
template <class C>
C clampKeepNaN(C x, C lo, C hi) {
  if (x < lo) x = lo;
  if (x > hi) x = hi;
  return x;
}

template <class C>
bool isNaNValue(C x) {
  if constexpr (std::is_floating_point_v<C>) {
    return std::isnan(x);
  } else {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Walks: visit the elements of a shape in row-major order with the offsets of N buffers read
// through per-dimension strides (0 along broadcast dims). Built when the kernel is created; the
// walk recurses over dimensions instead of keeping an index vector, so run() allocates nothing.

template <size_t N>
class StridedWalk {
 public:
  StridedWalk() = default;
  // strides[k][d]: element stride of buffer k along dimension d of `shape`.
  StridedWalk(Shape shape, std::array<std::vector<int64_t>, N> strides)
      : shape_(std::move(shape)), strides_(std::move(strides)) {}

  // Multidirectional (numpy) broadcasting of `inputs` to `out_shape`, which must be their
  // broadcast shape.
  static StridedWalk broadcast(const Shape& out_shape, const std::array<Shape, N>& inputs) {
    std::array<std::vector<int64_t>, N> strides;
    for (size_t k = 0; k < N; ++k) strides[k] = broadcastStrides(inputs[k], out_shape);
    return StridedWalk(out_shape, std::move(strides));
  }

  const Shape& shape() const { return shape_; }

  // fn(index, offsets): index counts 0, 1, 2, ... in row-major order of shape().
  template <class Fn>
  void forEach(Fn&& fn) const {
    if (shapeNumel(shape_) == 0) return;
    std::array<int64_t, N> offsets{};
    int64_t index = 0;
    if (shape_.empty()) {
      fn(index, offsets);
      return;
    }
    walk(0, offsets, index, fn);
  }

 private:
  template <class Fn>
  void walk(size_t dim, std::array<int64_t, N> offsets, int64_t& index, Fn& fn) const {
    const int64_t extent = shape_[dim];
    const bool innermost = dim + 1 == shape_.size();
    for (int64_t i = 0; i < extent; ++i) {
      if (innermost) {
        fn(index++, offsets);
      } else {
        walk(dim + 1, offsets, index, fn);
      }
      for (size_t k = 0; k < N; ++k) offsets[k] += strides_[k][dim];
    }
  }

  Shape shape_;
  std::array<std::vector<int64_t>, N> strides_;
};

// Row-major element strides of a contiguous tensor.
inline std::vector<int64_t> contiguousStrides(const Shape& shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (size_t d = shape.size(); d-- > 1;) strides[d - 1] = strides[d] * shape[d];
  return strides;
}

// ---------------------------------------------------------------------------------------------
// Generic kernels.

template <class T>
const T* inputAs(const KernelArgs& args, size_t i) {
  return static_cast<const T*>(args.inputs[i]);
}
template <class T>
T* outputAs(const KernelArgs& args, size_t i) {
  return static_cast<T*>(args.outputs[i]);
}

// dst[i] = op(src[i]) in T's compute type; op maps ComputeType<T> to ComputeType<T>.
template <class T, class Op>
class UnaryKernel final : public Kernel {
 public:
  UnaryKernel(int64_t numel, Op op) : numel_(numel), op_(std::move(op)) {}
  void run(const KernelArgs& args) override {
    const T* src = inputAs<T>(args, 0);
    T* dst = outputAs<T>(args, 0);
    for (int64_t i = 0; i < numel_; ++i) dst[i] = store<T>(op_(load(src[i])));
  }
  int inPlaceInput() const override { return 0; }

 private:
  int64_t numel_;
  Op op_;
};

// dst = op(a, b) with a and b broadcast to dst's shape; op returns ComputeType<TOut>.
template <class TA, class TB, class TOut, class Op>
class BinaryKernel final : public Kernel {
 public:
  BinaryKernel(StridedWalk<2> walk, Op op, bool in_place_ok)
      : walk_(std::move(walk)), op_(std::move(op)), in_place_ok_(in_place_ok) {}
  void run(const KernelArgs& args) override {
    const TA* a = inputAs<TA>(args, 0);
    const TB* b = inputAs<TB>(args, 1);
    TOut* dst = outputAs<TOut>(args, 0);
    walk_.forEach([&](int64_t i, const std::array<int64_t, 2>& in) {
      dst[i] = store<TOut>(op_(load(a[in[0]]), load(b[in[1]])));
    });
  }
  // Each element is read before the same element is written, so input 0 may be the output when
  // it is not broadcast and has the output's dtype.
  int inPlaceInput() const override { return in_place_ok_ ? 0 : -1; }

 private:
  StridedWalk<2> walk_;
  Op op_;
  bool in_place_ok_;
};

// ---------------------------------------------------------------------------------------------
// Checks shared by the shape functions.

// "input 1 'B'" (or "input 1" for an unnamed one) for messages.
inline std::string inputLabel(const NodeContext& ctx, size_t i) {
  std::string label = "input " + std::to_string(i);
  const std::string& name = ctx.node ? ctx.node->input(i) : std::string();
  return name.empty() ? label : label + " '" + name + "'";
}

// Refuses fewer than `min_inputs` node inputs, more than `max_inputs`, or an omitted one among
// the first `min_inputs`.
inline Status checkInputCount(const NodeContext& ctx, size_t min_inputs, size_t max_inputs) {
  const size_t count = ctx.inputs.size();
  if (count < min_inputs || count > max_inputs) {
    const std::string expected =
        min_inputs == max_inputs ? std::to_string(min_inputs)
                                 : std::to_string(min_inputs) + " to " + std::to_string(max_inputs);
    return ctx.error("expects " + expected + " inputs, has " + std::to_string(count));
  }
  for (size_t i = 0; i < min_inputs; ++i) {
    if (!ctx.inputs[i].present()) return ctx.error(inputLabel(ctx, i) + " is required");
  }
  return Status::ok();
}

// Refuses more than `max_outputs` outputs that are not omitted.
inline Status checkOutputCount(const NodeContext& ctx, size_t max_outputs) {
  if (!ctx.node) return Status::ok();
  for (size_t i = max_outputs; i < ctx.node->outputs.size(); ++i) {
    if (!ctx.node->outputs[i].empty()) {
      return ctx.error("has " + std::to_string(ctx.node->outputs.size()) + " outputs, at most " +
                       std::to_string(max_outputs) + " are defined");
    }
  }
  return Status::ok();
}

// Unsupported (not invalid) for dtypes DetSlim has no kernels for at all.
inline Status refuseUnsupportedDType(const NodeContext& ctx, size_t i) {
  const DType dtype = ctx.inputs[i].dtype;
  if (dtype == DType::kString) {
    return ctx.unsupportedError(inputLabel(ctx, i) + ": string tensors are not supported");
  }
  if (dtype == DType::kComplex64 || dtype == DType::kComplex128 || dtype == DType::kFloat8E4M3FN ||
      dtype == DType::kFloat8E4M3FNUZ || dtype == DType::kFloat8E5M2 ||
      dtype == DType::kFloat8E5M2FNUZ) {
    return ctx.unsupportedError(inputLabel(ctx, i) + ": " + std::string(dtypeName(dtype)) +
                                " tensors are not supported");
  }
  return Status::ok();
}

// Refuses an input whose dtype is not in `list` (unsupported for dtypes DetSlim cannot store,
// invalid for those the op does not take).
template <class... Ts>
Status checkInputDType(const NodeContext& ctx, size_t i, TypeList<Ts...> list) {
  const DType dtype = ctx.inputs[i].dtype;
  if (inTypeList(list, dtype)) return Status::ok();
  DS_RETURN_IF_ERROR(refuseUnsupportedDType(ctx, i));
  return ctx.error(inputLabel(ctx, i) + " has dtype " + std::string(dtypeName(dtype)) + "; " +
                   (ctx.node ? ctx.node->op_type : std::string("the op")) + " takes " +
                   typeListNames(list));
}

inline Status checkSameDType(const NodeContext& ctx, size_t i, size_t j) {
  if (ctx.inputs[i].dtype == ctx.inputs[j].dtype) return Status::ok();
  return ctx.error(inputLabel(ctx, j) + " has dtype " +
                   std::string(dtypeName(ctx.inputs[j].dtype)) + ", " + inputLabel(ctx, i) +
                   " has " + std::string(dtypeName(ctx.inputs[i].dtype)) + "; they must match");
}

// `axis` in [-rank, rank) made non-negative; refuses others naming `what`.
inline Result<int64_t> normalizeAxis(const NodeContext& ctx, int64_t axis, int64_t rank,
                                     const std::string& what = "axis") {
  if (axis < -rank || axis >= rank) {
    return ctx.error(what + " " + std::to_string(axis) + " is out of range for rank " +
                     std::to_string(rank));
  }
  return axis < 0 ? axis + rank : axis;
}

// Refuses attributes among `expected` that are present with another kind. Node's *Or accessors
// would silently read such an attribute as absent.
inline Status checkAttrKinds(
    const NodeContext& ctx,
    std::initializer_list<std::pair<std::string_view, Attribute::Kind>> expected) {
  for (const auto& [name, kind] : expected) {
    const Attribute* a = ctx.node->attr(name);
    if (a && a->kind != kind) {
      return ctx.error("attribute " + std::string(name) + " is " +
                       std::string(attributeKindName(a->kind)) + ", expected " +
                       std::string(attributeKindName(kind)));
    }
  }
  return Status::ok();
}

// A 0 / 1 flag attribute; refuses other values and kinds.
inline Result<bool> flagAttr(const NodeContext& ctx, std::string_view name, bool def) {
  DS_RETURN_IF_ERROR(checkAttrKinds(ctx, {{name, Attribute::Kind::kInt}}));
  const int64_t v = ctx.node->intOr(name, def ? 1 : 0);
  if (v != 0 && v != 1) {
    return ctx.error("attribute " + std::string(name) + " must be 0 or 1, is " + std::to_string(v));
  }
  return v == 1;
}

// ---------------------------------------------------------------------------------------------
// Unary ops: one input, one output of the same dtype and shape.

template <class... Ts>
Status inferUnary(NodeContext& ctx, TypeList<Ts...> types) {
  DS_RETURN_IF_ERROR(checkInputCount(ctx, 1, 1));
  DS_RETURN_IF_ERROR(checkOutputCount(ctx, 1));
  DS_RETURN_IF_ERROR(checkInputDType(ctx, 0, types));
  ctx.outputs[0] = ValueDesc{ctx.inputs[0].dtype, ctx.inputs[0].shape};
  return Status::ok();
}

// The error a reference factory returns for a node its shape function should have refused.
inline Status noReferenceKernel(const NodeContext& ctx) {
  return ctx.unsupportedError(
      "no reference kernel for input dtype " +
      std::string(dtypeName(ctx.inputs.empty() ? DType::kUndefined : ctx.inputs[0].dtype)));
}

// A UnaryKernel for input 0's dtype; `op` is a generic callable taking and returning the
// element's compute type (float for float16 / bfloat16).
template <class... Ts, class Op>
Result<std::unique_ptr<Kernel>> makeUnaryKernel(const NodeContext& ctx, TypeList<Ts...> types,
                                                Op op) {
  std::unique_ptr<Kernel> kernel;
  dispatchDType(types, ctx.inputs[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    kernel = std::make_unique<UnaryKernel<T, Op>>(ctx.inputs[0].numel(), op);
  });
  if (!kernel) return noReferenceKernel(ctx);
  return kernel;
}

}  // namespace detslim::ref
