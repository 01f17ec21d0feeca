// Reference shape ops: Reshape, Flatten, Squeeze, Unsqueeze, Identity (views of their input),
// Shape, Constant, ConstantOfShape and Range (outputs known when the plan is compiled).

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/graph/const_eval.h"
#include "core/kernels/ref/movement_common.h"
#include "core/kernels/ref/ref_ops.h"

namespace detslim {

namespace {

using movement::acceptStorable;
using movement::constantInts;
using movement::normalizeAxis;
using movement::ViewKernel;

// Writes a tensor fixed at plan compilation into output 0 (Shape, Constant, Range).
class ConstantKernel final : public Kernel {
 public:
  explicit ConstantKernel(Tensor value) : value_(std::move(value)) {}
  void run(const KernelArgs& args) override {
    if (value_.bytes()) std::memcpy(args.outputs[0], value_.raw(), value_.bytes());
  }

 private:
  Tensor value_;
};

Status requireInput0(const NodeContext& ctx) {
  if (!ctx.hasInput(0)) return ctx.error("input 0 is missing");
  return Status::ok();
}

Result<std::unique_ptr<Kernel>> makeView(const NodeContext& ctx, std::string* why_not) {
  if (!acceptStorable(ctx.inputs[0].dtype, why_not)) return std::unique_ptr<Kernel>();
  return std::unique_ptr<Kernel>(std::make_unique<ViewKernel>(ctx.outputs[0].bytes()));
}

void setOutput(NodeContext& ctx, DType dtype, Shape shape) {
  ctx.outputs[0] = ValueDesc{dtype, std::move(shape), Layout::kPlain};
}

}  // namespace

// ---- Reshape -------------------------------------------------------------------------------

Status inferReshape(NodeContext& ctx) {
  DS_RETURN_IF_ERROR(requireInput0(ctx));
  const Shape& in = ctx.inputs[0].shape;
  std::vector<int64_t> target;
  if (ctx.opset < 5) {  // Reshape-1 carried the shape as an attribute
    DS_ASSIGN_OR_RETURN(target, ctx.node->getInts("shape"));
  } else {
    DS_ASSIGN_OR_RETURN(target, constantInts(ctx, 1, "the target shape (input 1)"));
  }
  const bool allow_zero = ctx.opset >= 14 && ctx.node->intOr("allowzero", 0) != 0;
  Shape out(target.size());
  int64_t infer_at = -1;
  int64_t known = 1;
  for (size_t i = 0; i < target.size(); ++i) {
    int64_t d = target[i];
    if (d == 0 && !allow_zero) {
      if (i >= in.size()) {
        return ctx.error("target shape " + shapeToString(target) + " copies dim " +
                         std::to_string(i) + " (0) that the input " + shapeToString(in) +
                         " does not have");
      }
      d = in[i];
    } else if (d == -1) {
      if (infer_at >= 0) {
        return ctx.error("target shape " + shapeToString(target) + " has more than one -1");
      }
      infer_at = static_cast<int64_t>(i);
      continue;
    } else if (d < 0) {
      return ctx.error("target shape " + shapeToString(target) + " has a negative dim");
    }
    out[i] = d;
    known *= d;
  }
  const int64_t numel = shapeNumel(in);
  if (infer_at >= 0) {
    if (known == 0) {
      return ctx.error("target shape " + shapeToString(target) +
                       " leaves the -1 dim undetermined (the other dims hold no element)");
    }
    if (numel % known != 0) {
      return ctx.error("cannot reshape " + shapeToString(in) + " to " + shapeToString(target));
    }
    out[static_cast<size_t>(infer_at)] = numel / known;
  } else if (known != numel) {
    return ctx.error("cannot reshape " + shapeToString(in) + " (" + std::to_string(numel) +
                     " elements) to " + shapeToString(out));
  }
  setOutput(ctx, ctx.inputs[0].dtype, std::move(out));
  return Status::ok();
}

Result<std::unique_ptr<Kernel>> makeRefReshape(const NodeContext& ctx, std::string* why_not) {
  return makeView(ctx, why_not);
}

// ---- Flatten -------------------------------------------------------------------------------

Status inferFlatten(NodeContext& ctx) {
  DS_RETURN_IF_ERROR(requireInput0(ctx));
  const Shape& in = ctx.inputs[0].shape;
  const int64_t rank = static_cast<int64_t>(in.size());
  int64_t axis = ctx.node->intOr("axis", 1);
  // Negative axes arrived with Flatten-11; the range is [-rank, rank] (axis == rank is valid).
  if (axis < (ctx.opset >= 11 ? -rank : 0) || axis > rank) {
    return ctx.error("axis " + std::to_string(axis) + " is out of range for rank " +
                     std::to_string(rank));
  }
  if (axis < 0) axis += rank;
  int64_t outer = 1;
  int64_t inner = 1;
  for (int64_t i = 0; i < rank; ++i) (i < axis ? outer : inner) *= in[static_cast<size_t>(i)];
  setOutput(ctx, ctx.inputs[0].dtype, {outer, inner});
  return Status::ok();
}

Result<std::unique_ptr<Kernel>> makeRefFlatten(const NodeContext& ctx, std::string* why_not) {
  return makeView(ctx, why_not);
}

// ---- Squeeze / Unsqueeze -------------------------------------------------------------------

namespace {

// The axes of Squeeze / Unsqueeze: attribute before opset 13, constant input 1 from 13.
// `present` is false when neither is given.
Result<std::vector<int64_t>> squeezeAxes(const NodeContext& ctx, bool* present) {
  *present = true;
  if (ctx.opset < 13) {
    if (!ctx.node->hasAttr("axes")) {
      *present = false;
      return std::vector<int64_t>{};
    }
    return ctx.node->getInts("axes");
  }
  if (!ctx.hasInput(1)) {
    *present = false;
    return std::vector<int64_t>{};
  }
  return constantInts(ctx, 1, "axes (input 1)");
}

// Normalised, duplicate-free axes for a result of rank `rank`.
Result<std::vector<bool>> axisMask(const NodeContext& ctx, const std::vector<int64_t>& axes,
                                   int64_t rank) {
  std::vector<bool> mask(static_cast<size_t>(rank), false);
  for (int64_t a : axes) {
    DS_ASSIGN_OR_RETURN(int64_t axis, normalizeAxis(ctx, a, rank, "axis"));
    if (mask[static_cast<size_t>(axis)]) {
      return ctx.error("axis " + std::to_string(a) + " is listed twice");
    }
    mask[static_cast<size_t>(axis)] = true;
  }
  return mask;
}

}  // namespace

Status inferSqueeze(NodeContext& ctx) {
  DS_RETURN_IF_ERROR(requireInput0(ctx));
  const Shape& in = ctx.inputs[0].shape;
  bool has_axes = false;
  DS_ASSIGN_OR_RETURN(std::vector<int64_t> axes, squeezeAxes(ctx, &has_axes));
  Shape out;
  if (!has_axes) {
    for (int64_t d : in) {
      if (d != 1) out.push_back(d);
    }
  } else {
    DS_ASSIGN_OR_RETURN(std::vector<bool> mask,
                        axisMask(ctx, axes, static_cast<int64_t>(in.size())));
    for (size_t i = 0; i < in.size(); ++i) {
      if (!mask[i]) {
        out.push_back(in[i]);
      } else if (in[i] != 1) {
        return ctx.error("cannot squeeze axis " + std::to_string(i) + " of " + shapeToString(in) +
                         ": its size is not 1");
      }
    }
  }
  setOutput(ctx, ctx.inputs[0].dtype, std::move(out));
  return Status::ok();
}

Result<std::unique_ptr<Kernel>> makeRefSqueeze(const NodeContext& ctx, std::string* why_not) {
  return makeView(ctx, why_not);
}

Status inferUnsqueeze(NodeContext& ctx) {
  DS_RETURN_IF_ERROR(requireInput0(ctx));
  const Shape& in = ctx.inputs[0].shape;
  bool has_axes = false;
  DS_ASSIGN_OR_RETURN(std::vector<int64_t> axes, squeezeAxes(ctx, &has_axes));
  if (!has_axes) return ctx.error("axes are required");
  const int64_t out_rank = static_cast<int64_t>(in.size() + axes.size());
  DS_ASSIGN_OR_RETURN(std::vector<bool> mask, axisMask(ctx, axes, out_rank));
  Shape out;
  size_t next = 0;
  for (int64_t i = 0; i < out_rank; ++i) {
    out.push_back(mask[static_cast<size_t>(i)] ? 1 : in[next++]);
  }
  setOutput(ctx, ctx.inputs[0].dtype, std::move(out));
  return Status::ok();
}

Result<std::unique_ptr<Kernel>> makeRefUnsqueeze(const NodeContext& ctx, std::string* why_not) {
  return makeView(ctx, why_not);
}

// ---- Identity ------------------------------------------------------------------------------

Status inferIdentity(NodeContext& ctx) {
  DS_RETURN_IF_ERROR(requireInput0(ctx));
  ctx.outputs[0] = ctx.inputs[0];
  ctx.outputs[0].layout = Layout::kPlain;
  return Status::ok();
}

Result<std::unique_ptr<Kernel>> makeRefIdentity(const NodeContext& ctx, std::string* why_not) {
  return makeView(ctx, why_not);
}

// ---- Shape ---------------------------------------------------------------------------------

namespace {

// Shape-15's [start, end) window over the input's dims, clamped as the spec says.
Shape shapeSlice(const NodeContext& ctx) {
  const Shape& in = ctx.inputs[0].shape;
  const int64_t rank = static_cast<int64_t>(in.size());
  int64_t start = ctx.opset >= 15 ? ctx.node->intOr("start", 0) : 0;
  int64_t end = ctx.opset >= 15 ? ctx.node->intOr("end", rank) : rank;
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, 0, rank);
  if (end < start) end = start;
  return Shape(in.begin() + start, in.begin() + end);
}

}  // namespace

Status inferShape(NodeContext& ctx) {
  DS_RETURN_IF_ERROR(requireInput0(ctx));
  setOutput(ctx, DType::kInt64, {static_cast<int64_t>(shapeSlice(ctx).size())});
  return Status::ok();
}

Result<std::unique_ptr<Kernel>> makeRefShape(const NodeContext& ctx, std::string* /*why_not*/) {
  const Shape dims = shapeSlice(ctx);
  return std::unique_ptr<Kernel>(std::make_unique<ConstantKernel>(
      Tensor::fromVector(DType::kInt64, {static_cast<int64_t>(dims.size())}, dims)));
}

// ---- Constant ------------------------------------------------------------------------------

Status inferConstant(NodeContext& ctx) {
  DS_ASSIGN_OR_RETURN(Tensor value, constantNodeValue(*ctx.node));
  setOutput(ctx, value.dtype(), value.shape());
  return Status::ok();
}

Result<std::unique_ptr<Kernel>> makeRefConstant(const NodeContext& ctx, std::string* why_not) {
  DS_ASSIGN_OR_RETURN(Tensor value, constantNodeValue(*ctx.node));
  if (!acceptStorable(value.dtype(), why_not)) return std::unique_ptr<Kernel>();
  return std::unique_ptr<Kernel>(std::make_unique<ConstantKernel>(std::move(value)));
}

// ---- ConstantOfShape -----------------------------------------------------------------------

namespace {

// The fill value: attribute `value` (one element), float32 0 when absent.
Result<Tensor> fillValue(const NodeContext& ctx) {
  if (!ctx.node->hasAttr("value")) return Tensor(DType::kFloat32, {1});
  DS_ASSIGN_OR_RETURN(Tensor value, ctx.node->getTensor("value"));
  if (value.numel() != 1) {
    return ctx.error("value must hold one element, it holds " + std::to_string(value.numel()));
  }
  return value;
}

class FillKernel final : public Kernel {
 public:
  FillKernel(const Tensor& value, int64_t count)
      : elem_bytes_(dtypeSize(value.dtype())), count_(count) {
    std::memcpy(value_, value.raw(), elem_bytes_);
  }
  void run(const KernelArgs& args) override {
    switch (elem_bytes_) {
      case 1:
        return fill<uint8_t>(args.outputs[0]);
      case 2:
        return fill<uint16_t>(args.outputs[0]);
      case 4:
        return fill<uint32_t>(args.outputs[0]);
      case 8:
        return fill<uint64_t>(args.outputs[0]);
      default: {
        auto* dst = static_cast<unsigned char*>(args.outputs[0]);
        for (int64_t i = 0; i < count_; ++i)
          std::memcpy(dst + i * elem_bytes_, value_, elem_bytes_);
      }
    }
  }

 private:
  template <class E>
  void fill(void* dst) const {
    E v;
    std::memcpy(&v, value_, sizeof v);
    std::fill_n(static_cast<E*>(dst), count_, v);
  }

  unsigned char value_[16] = {};
  size_t elem_bytes_;
  int64_t count_;
};

}  // namespace

Status inferConstantOfShape(NodeContext& ctx) {
  DS_ASSIGN_OR_RETURN(std::vector<int64_t> shape,
                      constantInts(ctx, 0, "the output shape (input 0)"));
  for (int64_t d : shape) {
    if (d < 0) return ctx.error("output shape " + shapeToString(shape) + " has a negative dim");
  }
  DS_ASSIGN_OR_RETURN(Tensor value, fillValue(ctx));
  setOutput(ctx, value.dtype(), std::move(shape));
  return Status::ok();
}

Result<std::unique_ptr<Kernel>> makeRefConstantOfShape(const NodeContext& ctx,
                                                       std::string* why_not) {
  DS_ASSIGN_OR_RETURN(Tensor value, fillValue(ctx));
  if (!acceptStorable(value.dtype(), why_not)) return std::unique_ptr<Kernel>();
  if (dtypeSize(value.dtype()) > 16) {
    *why_not = "fill values wider than 16 bytes";
    return std::unique_ptr<Kernel>();
  }
  return std::unique_ptr<Kernel>(std::make_unique<FillKernel>(value, ctx.outputs[0].numel()));
}

// ---- Range ---------------------------------------------------------------------------------

namespace {

const char* const kRangeInputNames[3] = {"start (input 0)", "limit (input 1)", "delta (input 2)"};

// Range's three scalar inputs, which fix the output length and so must be constants.
Result<std::vector<const Tensor*>> rangeInputs(const NodeContext& ctx) {
  std::vector<const Tensor*> v;
  for (size_t i = 0; i < 3; ++i) {
    const Tensor* t = ctx.constant(i);
    if (!t) {
      return ctx.unsupportedError(std::string(kRangeInputNames[i]) +
                                  " must be known when the plan is compiled");
    }
    if (t->numel() != 1) return ctx.error(std::string(kRangeInputNames[i]) + " is not a scalar");
    if (!v.empty() && t->dtype() != v[0]->dtype()) {
      return ctx.error("start, limit and delta have different dtypes");
    }
    v.push_back(t);
  }
  return v;
}

// output[i] = start + i * delta, computed in T as the spec's pseudo-code does.
template <class T>
Tensor rangeValues(DType dtype, const std::vector<const Tensor*>& in, int64_t count) {
  Tensor out(dtype, {count});
  const T start = in[0]->data<T>()[0];
  const T delta = in[2]->data<T>()[0];
  T* dst = out.mutableData<T>();
  for (int64_t i = 0; i < count; ++i) dst[i] = static_cast<T>(start + static_cast<T>(i) * delta);
  return out;
}

Result<Tensor> computeRange(const NodeContext& ctx) {
  DS_ASSIGN_OR_RETURN(std::vector<const Tensor*> in, rangeInputs(ctx));
  const DType dtype = in[0]->dtype();
  const bool is_float = dtype == DType::kFloat32 || dtype == DType::kFloat64;
  const bool is_int = dtype == DType::kInt16 || dtype == DType::kInt32 || dtype == DType::kInt64;
  if (!is_float && !is_int) {
    return ctx.error("dtype " + std::string(dtypeName(dtype)) +
                     " is not float32, float64, int16, int32 or int64");
  }
  int64_t count = 0;
  if (is_float) {
    const double start = in[0]->elementAsDouble(0);
    const double limit = in[1]->elementAsDouble(0);
    const double delta = in[2]->elementAsDouble(0);
    if (delta == 0.0 || !std::isfinite(delta) || !std::isfinite(start) || !std::isfinite(limit)) {
      return ctx.error("start, limit and delta must be finite and delta non-zero");
    }
    count = std::max<int64_t>(0, static_cast<int64_t>(std::ceil((limit - start) / delta)));
  } else {
    const int64_t start = in[0]->elementAsInt64(0);
    const int64_t limit = in[1]->elementAsInt64(0);
    const int64_t delta = in[2]->elementAsInt64(0);
    if (delta == 0) return ctx.error("delta is 0");
    const int64_t span = limit - start;
    // ceil(span / delta) with integer division that truncates toward zero.
    count = span / delta + ((span % delta != 0 && ((span < 0) == (delta < 0))) ? 1 : 0);
    count = std::max<int64_t>(0, count);
  }
  switch (dtype) {
    case DType::kFloat32:
      return rangeValues<float>(dtype, in, count);
    case DType::kFloat64:
      return rangeValues<double>(dtype, in, count);
    case DType::kInt16:
      return rangeValues<int16_t>(dtype, in, count);
    case DType::kInt32:
      return rangeValues<int32_t>(dtype, in, count);
    default:
      return rangeValues<int64_t>(dtype, in, count);
  }
}

}  // namespace

Status inferRange(NodeContext& ctx) {
  DS_ASSIGN_OR_RETURN(Tensor values, computeRange(ctx));
  setOutput(ctx, values.dtype(), values.shape());
  return Status::ok();
}

Result<std::unique_ptr<Kernel>> makeRefRange(const NodeContext& ctx, std::string* /*why_not*/) {
  DS_ASSIGN_OR_RETURN(Tensor values, computeRange(ctx));
  return std::unique_ptr<Kernel>(std::make_unique<ConstantKernel>(std::move(values)));
}

}  // namespace detslim
