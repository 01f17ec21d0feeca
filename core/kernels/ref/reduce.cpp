// Reference kernels of Softmax, ReduceMax / ReduceMean / ReduceSum, TopK and ArgMax.
// Sums accumulate in double (floats) or 64-bit integers (integers, wrapping like numpy);
// NaN propagates through Softmax and ReduceMax and counts as the largest value in TopK and
// ArgMax (numpy's sort and argmax order).

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "core/kernels/ref/elementwise_common.h"
#include "core/kernels/ref/ref_ops.h"

namespace detslim {

using ref::FloatTypes;
using ref::NumericTypes;

namespace {

// Product of shape[begin, end).
int64_t dimProduct(const Shape& shape, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t d = begin; d < end; ++d) p *= shape[d];
  return p;
}

// A tensor seen as [outer, n, inner] around one axis: the layout Softmax, TopK and ArgMax work
// in, with element (o, j, i) at (o * n + j) * inner + i.
struct AxisSplit {
  int64_t outer = 1;
  int64_t n = 1;
  int64_t inner = 1;
};

AxisSplit splitAtAxis(const Shape& shape, size_t axis) {
  return {dimProduct(shape, 0, axis), shape[axis], dimProduct(shape, axis + 1, shape.size())};
}

// "a ranks before b" when sorting descending (largest) or ascending, with NaN counted as larger
// than every number; equal values keep index order, which the callers break by index.
template <class C>
bool greaterWithNaN(C a, C b) {
  if (ref::isNaNValue(a)) return !ref::isNaNValue(b);
  if (ref::isNaNValue(b)) return false;
  return a > b;
}

}  // namespace

// --- Softmax ------------------------------------------------------------------------------------
// Opset < 13: the input is seen as 2-D [prod(d < axis), prod(d >= axis)] and each row is
// normalised (axis default 1). Opset >= 13: one axis is normalised (axis default -1).

namespace {

constexpr int64_t kSoftmaxSingleAxisOpset = 13;

template <class T>
class SoftmaxKernel final : public Kernel {
 public:
  explicit SoftmaxKernel(AxisSplit split) : split_(split) {}

  void run(const KernelArgs& args) override {
    const T* src = ref::inputAs<T>(args, 0);
    T* dst = ref::outputAs<T>(args, 0);
    const auto [outer, n, inner] = split_;
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < inner; ++i) {
        const int64_t base = o * n * inner + i;
        auto x = [&](int64_t j) { return static_cast<double>(ref::load(src[base + j * inner])); };
        // Subtracting the maximum keeps exp() finite; a NaN maximum makes the row NaN, as the
        // ONNX reference's np.max does.
        double max = -std::numeric_limits<double>::infinity();
        for (int64_t j = 0; j < n; ++j) {
          if (std::isnan(x(j)) || x(j) > max) max = x(j);
          if (std::isnan(max)) break;
        }
        double sum = 0.0;
        for (int64_t j = 0; j < n; ++j) sum += std::exp(x(j) - max);
        for (int64_t j = 0; j < n; ++j) {
          dst[base + j * inner] =
              ref::store<T>(static_cast<ref::ComputeType<T>>(std::exp(x(j) - max) / sum));
        }
      }
    }
  }
  int inPlaceInput() const override { return 0; }

 private:
  AxisSplit split_;
};

}  // namespace

Status inferSoftmax(NodeContext& ctx) {
  DS_RETURN_IF_ERROR(ref::checkAttrKinds(ctx, {{"axis", Attribute::Kind::kInt}}));
  DS_RETURN_IF_ERROR(ref::inferUnary(ctx, FloatTypes{}));
  const int64_t default_axis = ctx.opset < kSoftmaxSingleAxisOpset ? 1 : -1;
  const auto rank = static_cast<int64_t>(ctx.inputs[0].shape.size());
  return ref::normalizeAxis(ctx, ctx.node->intOr("axis", default_axis), rank).status();
}

Result<std::unique_ptr<Kernel>> makeRefSoftmax(const NodeContext& ctx, std::string* /*why_not*/) {
  const Shape& shape = ctx.inputs[0].shape;
  const bool flatten = ctx.opset < kSoftmaxSingleAxisOpset;
  const auto rank = static_cast<int64_t>(shape.size());
  DS_ASSIGN_OR_RETURN(int64_t axis,
                      ref::normalizeAxis(ctx, ctx.node->intOr("axis", flatten ? 1 : -1), rank));
  const auto a = static_cast<size_t>(axis);
  const AxisSplit split =
      flatten ? AxisSplit{dimProduct(shape, 0, a), dimProduct(shape, a, shape.size()), 1}
              : splitAtAxis(shape, a);
  std::unique_ptr<Kernel> kernel;
  ref::dispatchDType(FloatTypes{}, ctx.inputs[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    kernel = std::make_unique<SoftmaxKernel<T>>(split);
  });
  if (!kernel) return ref::noReferenceKernel(ctx);
  return kernel;
}

// --- ReduceMax, ReduceMean, ReduceSum -----------------------------------------------------------
// Axes come from the `axes` attribute before ReduceSum-13 / ReduceMax-18 / ReduceMean-18 and
// from an optional int64 input since. No axes reduce everything, unless noop_with_empty_axes
// (input form only) makes the op an identity. An empty reduction gives 0 (Sum), NaN (Mean of
// floats, 0 for integers) or -inf / the lowest value (Max), as ONNX-18 specifies.

namespace {

enum class ReduceKind { kMax, kMean, kSum };

constexpr int64_t kReduceSumAxesInputOpset = 13;
constexpr int64_t kReduceAxesInputOpset = 18;

int64_t axesInputOpset(ReduceKind kind) {
  return kind == ReduceKind::kSum ? kReduceSumAxesInputOpset : kReduceAxesInputOpset;
}

struct ReducePlan {
  std::vector<bool> reduced;  // per input dim
  bool keepdims = true;
};

Result<ReducePlan> planReduce(const NodeContext& ctx, ReduceKind kind) {
  const auto rank = static_cast<int64_t>(ctx.inputs[0].shape.size());
  const bool axes_as_input = ctx.opset >= axesInputOpset(kind);
  DS_RETURN_IF_ERROR(ref::checkAttrKinds(ctx, {{"axes", Attribute::Kind::kInts}}));
  std::vector<int64_t> axes;
  bool noop_with_empty_axes = false;
  if (axes_as_input) {
    if (ctx.node->hasAttr("axes")) {
      return ctx.error("axes is an input since opset " + std::to_string(axesInputOpset(kind)) +
                       ", not an attribute");
    }
    DS_ASSIGN_OR_RETURN(noop_with_empty_axes, ref::flagAttr(ctx, "noop_with_empty_axes", false));
    if (ctx.hasInput(1)) {
      DS_RETURN_IF_ERROR(ref::checkInputDType(ctx, 1, ref::TypeList<int64_t>{}));
      if (ctx.inputs[1].shape.size() > 1) {
        return ctx.error("axes must be 1-D, has shape " + shapeToString(ctx.inputs[1].shape));
      }
      const Tensor* axes_value = ctx.constant(1);
      if (!axes_value) {
        return ctx.unsupportedError(
            "axes must be known at compile time (the output shape depends on them)");
      }
      axes = axes_value->toInt64Vector();
    }
  } else {
    axes = ctx.node->intsOr("axes", {});
  }
  ReducePlan plan;
  DS_ASSIGN_OR_RETURN(plan.keepdims, ref::flagAttr(ctx, "keepdims", true));
  if (axes.empty()) {
    plan.reduced.assign(static_cast<size_t>(rank), !noop_with_empty_axes);
    return plan;
  }
  plan.reduced.assign(static_cast<size_t>(rank), false);
  for (int64_t axis : axes) {
    DS_ASSIGN_OR_RETURN(int64_t a, ref::normalizeAxis(ctx, axis, rank, "axes value"));
    if (plan.reduced[static_cast<size_t>(a)]) {
      return ctx.error("axes names dimension " + std::to_string(a) + " twice");
    }
    plan.reduced[static_cast<size_t>(a)] = true;
  }
  return plan;
}

Status inferReduce(NodeContext& ctx, ReduceKind kind) {
  const size_t max_inputs = ctx.opset >= axesInputOpset(kind) ? 2 : 1;
  DS_RETURN_IF_ERROR(ref::checkInputCount(ctx, 1, max_inputs));
  DS_RETURN_IF_ERROR(ref::checkOutputCount(ctx, 1));
  DS_RETURN_IF_ERROR(ref::checkInputDType(ctx, 0, NumericTypes{}));
  DS_ASSIGN_OR_RETURN(ReducePlan plan, planReduce(ctx, kind));
  const Shape& in = ctx.inputs[0].shape;
  Shape out;
  for (size_t d = 0; d < in.size(); ++d) {
    if (!plan.reduced[d]) {
      out.push_back(in[d]);
    } else if (plan.keepdims) {
      out.push_back(1);
    }
  }
  ctx.outputs[0] = ValueDesc{ctx.inputs[0].dtype, std::move(out)};
  return Status::ok();
}

// For each output element (a walk over the kept dims), folds the input elements of the reduced
// dims (a second walk whose offsets are relative to the first's).
template <class T, ReduceKind kKind>
class ReduceKernel final : public Kernel {
  using C = ref::ComputeType<T>;
  // Sum / Mean accumulate in double for floats and in 64 bits for integers.
  using SumAcc = std::conditional_t<std::is_floating_point_v<C>, double,
                                    std::conditional_t<std::is_signed_v<C>, int64_t, uint64_t>>;

 public:
  ReduceKernel(ref::StridedWalk<1> kept, ref::StridedWalk<1> reduced, int64_t count)
      : kept_(std::move(kept)), reduced_(std::move(reduced)), count_(count) {}

  void run(const KernelArgs& args) override {
    const T* src = ref::inputAs<T>(args, 0);
    T* dst = ref::outputAs<T>(args, 0);
    kept_.forEach([&](int64_t out, const std::array<int64_t, 1>& base) {
      if constexpr (kKind == ReduceKind::kMax) {
        C acc = lowest();
        reduced_.forEach([&](int64_t, const std::array<int64_t, 1>& off) {
          const C v = ref::load(src[base[0] + off[0]]);
          if (ref::isNaNValue(acc)) return;
          if (ref::isNaNValue(v) || v > acc) acc = v;
        });
        dst[out] = ref::store<T>(acc);
      } else {
        SumAcc acc = 0;
        reduced_.forEach([&](int64_t, const std::array<int64_t, 1>& off) {
          const auto v = static_cast<SumAcc>(ref::load(src[base[0] + off[0]]));
          if constexpr (std::is_integral_v<SumAcc>) {
            acc = ref::wrapAdd(acc, v);
          } else {
            acc += v;
          }
        });
        if constexpr (kKind == ReduceKind::kMean) {
          if constexpr (std::is_integral_v<SumAcc>) {
            // Integer division truncates like the reference's mean(...).astype(int); an empty
            // integer mean has no value and gives 0.
            acc = count_ == 0 ? 0 : acc / static_cast<SumAcc>(count_);
          } else {
            acc /= static_cast<double>(count_);
          }
        }
        dst[out] = ref::store<T>(static_cast<C>(acc));
      }
    });
  }

 private:
  static C lowest() {
    if constexpr (std::is_floating_point_v<C>) {
      return -std::numeric_limits<C>::infinity();
    } else {
      return std::numeric_limits<C>::lowest();
    }
  }

  ref::StridedWalk<1> kept_;
  ref::StridedWalk<1> reduced_;
  int64_t count_;  // elements per reduction
};

Result<std::unique_ptr<Kernel>> makeReduce(const NodeContext& ctx, ReduceKind kind) {
  DS_ASSIGN_OR_RETURN(ReducePlan plan, planReduce(ctx, kind));
  const Shape& in = ctx.inputs[0].shape;
  const std::vector<int64_t> strides = ref::contiguousStrides(in);
  Shape kept_shape = in;
  Shape reduced_shape = in;
  for (size_t d = 0; d < in.size(); ++d) (plan.reduced[d] ? kept_shape : reduced_shape)[d] = 1;
  ref::StridedWalk<1> kept(kept_shape, {strides});
  ref::StridedWalk<1> reduced(reduced_shape, {strides});
  const int64_t count = shapeNumel(reduced_shape);
  std::unique_ptr<Kernel> kernel;
  ref::dispatchDType(NumericTypes{}, ctx.inputs[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    switch (kind) {
      case ReduceKind::kMax:
        kernel = std::make_unique<ReduceKernel<T, ReduceKind::kMax>>(kept, reduced, count);
        break;
      case ReduceKind::kMean:
        kernel = std::make_unique<ReduceKernel<T, ReduceKind::kMean>>(kept, reduced, count);
        break;
      case ReduceKind::kSum:
        kernel = std::make_unique<ReduceKernel<T, ReduceKind::kSum>>(kept, reduced, count);
        break;
    }
  });
  if (!kernel) return ref::noReferenceKernel(ctx);
  return kernel;
}

}  // namespace

Status inferReduceMax(NodeContext& ctx) {
  return inferReduce(ctx, ReduceKind::kMax);
}
Status inferReduceMean(NodeContext& ctx) {
  return inferReduce(ctx, ReduceKind::kMean);
}
Status inferReduceSum(NodeContext& ctx) {
  return inferReduce(ctx, ReduceKind::kSum);
}

Result<std::unique_ptr<Kernel>> makeRefReduceMax(const NodeContext& ctx, std::string* /*why_not*/) {
  return makeReduce(ctx, ReduceKind::kMax);
}
Result<std::unique_ptr<Kernel>> makeRefReduceMean(const NodeContext& ctx,
                                                  std::string* /*why_not*/) {
  return makeReduce(ctx, ReduceKind::kMean);
}
Result<std::unique_ptr<Kernel>> makeRefReduceSum(const NodeContext& ctx, std::string* /*why_not*/) {
  return makeReduce(ctx, ReduceKind::kSum);
}

// --- TopK ---------------------------------------------------------------------------------------
// Outputs the k largest (or smallest) elements along an axis and their int64 indices, sorted;
// equal values keep index order (the lower index first), as the spec requires. k is the `k`
// attribute before opset 10 and a 1-element int64 input since, which must be a compile-time
// constant because it fixes the output shape. sorted = 0 leaves the order unspecified; the
// reference sorts anyway.

namespace {

constexpr int64_t kTopKInputOpset = 10;

struct TopKParams {
  size_t axis = 0;
  int64_t k = 0;
  bool largest = true;
};

Result<TopKParams> topKParams(const NodeContext& ctx) {
  DS_RETURN_IF_ERROR(ref::checkAttrKinds(ctx, {{"axis", Attribute::Kind::kInt}}));
  TopKParams p;
  const Shape& shape = ctx.inputs[0].shape;
  const auto rank = static_cast<int64_t>(shape.size());
  DS_ASSIGN_OR_RETURN(int64_t axis, ref::normalizeAxis(ctx, ctx.node->intOr("axis", -1), rank));
  p.axis = static_cast<size_t>(axis);
  if (ctx.opset < kTopKInputOpset) {
    DS_ASSIGN_OR_RETURN(p.k, ctx.node->getInt("k"));
  } else {
    DS_RETURN_IF_ERROR(ref::checkInputDType(ctx, 1, ref::TypeList<int64_t>{}));
    if (ctx.inputs[1].numel() != 1 || ctx.inputs[1].shape.size() > 1) {
      return ctx.error("K must hold one value (shape [1]), has shape " +
                       shapeToString(ctx.inputs[1].shape));
    }
    const Tensor* k_value = ctx.constant(1);
    if (!k_value) {
      return ctx.unsupportedError(
          "K must be known at compile time (the output shape depends on it)");
    }
    p.k = k_value->elementAsInt64(0);
  }
  if (p.k < 0 || p.k > shape[p.axis]) {
    return ctx.error("k = " + std::to_string(p.k) + " is outside [0, " +
                     std::to_string(shape[p.axis]) + "] (the size of axis " + std::to_string(axis) +
                     ")");
  }
  DS_ASSIGN_OR_RETURN(p.largest, ref::flagAttr(ctx, "largest", true));
  DS_RETURN_IF_ERROR(ref::flagAttr(ctx, "sorted", true).status());
  return p;
}

template <class T>
class TopKKernel final : public Kernel {
 public:
  TopKKernel(AxisSplit split, int64_t k, bool largest) : split_(split), k_(k), largest_(largest) {}

  size_t scratchBytes() const override { return static_cast<size_t>(split_.n) * sizeof(int64_t); }

  void run(const KernelArgs& args) override {
    const T* src = ref::inputAs<T>(args, 0);
    T* values = ref::outputAs<T>(args, 0);
    // Indices may be an omitted output.
    int64_t* indices = args.outputs.size() > 1 ? ref::outputAs<int64_t>(args, 1) : nullptr;
    int64_t* order = static_cast<int64_t*>(args.scratch);
    const auto [outer, n, inner] = split_;
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < inner; ++i) {
        const int64_t base = o * n * inner + i;
        auto value = [&](int64_t j) { return ref::load(src[base + j * inner]); };
        // A strict total order (value, then index) makes the result unique, so partial_sort's
        // instability does not matter and ties come out lower index first.
        auto before = [&](int64_t a, int64_t b) {
          const auto va = value(a);
          const auto vb = value(b);
          if (largest_ ? greaterWithNaN(va, vb) : greaterWithNaN(vb, va)) return true;
          if (largest_ ? greaterWithNaN(vb, va) : greaterWithNaN(va, vb)) return false;
          return a < b;
        };
        std::iota(order, order + n, int64_t{0});
        std::partial_sort(order, order + k_, order + n, before);
        for (int64_t j = 0; j < k_; ++j) {
          const int64_t out = (o * k_ + j) * inner + i;
          values[out] = src[base + order[j] * inner];
          if (indices) indices[out] = order[j];
        }
      }
    }
  }

 private:
  AxisSplit split_;
  int64_t k_;
  bool largest_;
};

}  // namespace

Status inferTopK(NodeContext& ctx) {
  const size_t inputs = ctx.opset < kTopKInputOpset ? 1 : 2;
  DS_RETURN_IF_ERROR(ref::checkInputCount(ctx, inputs, inputs));
  DS_RETURN_IF_ERROR(ref::checkOutputCount(ctx, 2));
  DS_RETURN_IF_ERROR(ref::checkInputDType(ctx, 0, NumericTypes{}));
  DS_ASSIGN_OR_RETURN(TopKParams p, topKParams(ctx));
  Shape out = ctx.inputs[0].shape;
  out[p.axis] = p.k;
  ctx.outputs[0] = ValueDesc{ctx.inputs[0].dtype, out};
  if (ctx.outputs.size() > 1 && !ctx.node->outputs[1].empty()) {
    ctx.outputs[1] = ValueDesc{DType::kInt64, out};
  }
  return Status::ok();
}

Result<std::unique_ptr<Kernel>> makeRefTopK(const NodeContext& ctx, std::string* /*why_not*/) {
  DS_ASSIGN_OR_RETURN(TopKParams p, topKParams(ctx));
  const AxisSplit split = splitAtAxis(ctx.inputs[0].shape, p.axis);
  std::unique_ptr<Kernel> kernel;
  ref::dispatchDType(NumericTypes{}, ctx.inputs[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    kernel = std::make_unique<TopKKernel<T>>(split, p.k, p.largest);
  });
  if (!kernel) return ref::noReferenceKernel(ctx);
  return kernel;
}

// --- ArgMax -------------------------------------------------------------------------------------
// int64 index of the largest element along `axis` (default 0); the first of equal maxima, or
// the last with select_last_index = 1. The first NaN wins, as numpy's argmax.

namespace {

template <class T>
class ArgMaxKernel final : public Kernel {
 public:
  ArgMaxKernel(AxisSplit split, bool select_last) : split_(split), select_last_(select_last) {}

  void run(const KernelArgs& args) override {
    const T* src = ref::inputAs<T>(args, 0);
    int64_t* dst = ref::outputAs<int64_t>(args, 0);
    const auto [outer, n, inner] = split_;
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < inner; ++i) {
        const int64_t base = o * n * inner + i;
        int64_t best = 0;
        auto best_value = ref::load(src[base]);
        for (int64_t j = 1; j < n; ++j) {
          const auto v = ref::load(src[base + j * inner]);
          const bool tie = ref::isNaNValue(best_value) ? ref::isNaNValue(v) : v == best_value;
          if (greaterWithNaN(v, best_value) || (select_last_ && tie)) {
            best = j;
            best_value = v;
          }
        }
        dst[o * inner + i] = best;
      }
    }
  }

 private:
  AxisSplit split_;
  bool select_last_;
};

Result<size_t> argMaxAxis(const NodeContext& ctx) {
  DS_RETURN_IF_ERROR(ref::checkAttrKinds(ctx, {{"axis", Attribute::Kind::kInt}}));
  const auto rank = static_cast<int64_t>(ctx.inputs[0].shape.size());
  DS_ASSIGN_OR_RETURN(int64_t axis, ref::normalizeAxis(ctx, ctx.node->intOr("axis", 0), rank));
  return static_cast<size_t>(axis);
}

}  // namespace

Status inferArgMax(NodeContext& ctx) {
  DS_RETURN_IF_ERROR(ref::checkInputCount(ctx, 1, 1));
  DS_RETURN_IF_ERROR(ref::checkOutputCount(ctx, 1));
  DS_RETURN_IF_ERROR(ref::checkInputDType(ctx, 0, NumericTypes{}));
  DS_ASSIGN_OR_RETURN(size_t axis, argMaxAxis(ctx));
  DS_ASSIGN_OR_RETURN(bool keepdims, ref::flagAttr(ctx, "keepdims", true));
  DS_RETURN_IF_ERROR(ref::flagAttr(ctx, "select_last_index", false).status());
  Shape out = ctx.inputs[0].shape;
  if (out[axis] == 0) return ctx.error("ArgMax over an empty axis has no result");
  if (keepdims) {
    out[axis] = 1;
  } else {
    out.erase(out.begin() + static_cast<std::ptrdiff_t>(axis));
  }
  ctx.outputs[0] = ValueDesc{DType::kInt64, std::move(out)};
  return Status::ok();
}

Result<std::unique_ptr<Kernel>> makeRefArgMax(const NodeContext& ctx, std::string* /*why_not*/) {
  DS_ASSIGN_OR_RETURN(size_t axis, argMaxAxis(ctx));
  DS_ASSIGN_OR_RETURN(bool select_last, ref::flagAttr(ctx, "select_last_index", false));
  const AxisSplit split = splitAtAxis(ctx.inputs[0].shape, axis);
  std::unique_ptr<Kernel> kernel;
  ref::dispatchDType(NumericTypes{}, ctx.inputs[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    kernel = std::make_unique<ArgMaxKernel<T>>(split, select_last);
  });
  if (!kernel) return ref::noReferenceKernel(ctx);
  return kernel;
}

}  // namespace detslim
