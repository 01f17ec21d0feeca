// Reference data-movement ops: Concat, Split, Slice, Transpose, Expand, Tile, Gather, Pad.
// They move elements of any storable dtype as bytes; index arithmetic is done once at kernel
// creation (StridedCopy, per-axis index maps) so run() only copies.

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "core/kernels/ref/broadcast.h"
#include "core/kernels/ref/movement_common.h"
#include "core/kernels/ref/ref_ops.h"

namespace detslim {

namespace {

using movement::acceptStorable;
using movement::constantInts;
using movement::contiguousStrides;
using movement::normalizeAxis;
using movement::StridedCopy;

Status requireInput0(const NodeContext& ctx) {
  if (!ctx.hasInput(0)) return ctx.error("input 0 is missing");
  return Status::ok();
}

// One StridedCopy per output, from input 0 (Slice, Transpose, Expand, Tile, Split).
class StridedCopyKernel final : public Kernel {
 public:
  explicit StridedCopyKernel(std::vector<StridedCopy> copies) : copies_(std::move(copies)) {}
  void run(const KernelArgs& args) override {
    for (size_t i = 0; i < copies_.size(); ++i) {
      if (args.outputs[i]) copies_[i].run(args.inputs[0], args.outputs[i]);
    }
  }

 private:
  std::vector<StridedCopy> copies_;
};

Result<std::unique_ptr<Kernel>> makeStridedCopy(const NodeContext& ctx, std::string* why_not,
                                                std::vector<StridedCopy> copies) {
  if (!acceptStorable(ctx.inputs[0].dtype, why_not)) return std::unique_ptr<Kernel>();
  return std::unique_ptr<Kernel>(std::make_unique<StridedCopyKernel>(std::move(copies)));
}

size_t elemBytes(const NodeContext& ctx) {
  return dtypeSize(ctx.inputs[0].dtype);
}

}  // namespace

// ---- Concat --------------------------------------------------------------------------------

namespace {

Result<int64_t> concatAxis(const NodeContext& ctx) {
  if (ctx.inputs.empty() || !ctx.hasInput(0)) return ctx.error("needs at least one input");
  const int64_t rank = static_cast<int64_t>(ctx.inputs[0].shape.size());
  // Concat-1 defaulted the axis to 1; from opset 4 it is required.
  int64_t axis = ctx.node->intOr("axis", 1);
  if (ctx.opset >= 4) {
    DS_ASSIGN_OR_RETURN(axis, ctx.node->getInt("axis"));
  }
  return normalizeAxis(ctx, axis, rank, "axis");
}

class ConcatKernel final : public Kernel {
 public:
  ConcatKernel(int64_t outer, std::vector<size_t> chunk_bytes)
      : outer_(outer), chunk_bytes_(std::move(chunk_bytes)) {}
  void run(const KernelArgs& args) override {
    auto* dst = static_cast<unsigned char*>(args.outputs[0]);
    for (int64_t o = 0; o < outer_; ++o) {
      for (size_t i = 0; i < chunk_bytes_.size(); ++i) {
        const size_t n = chunk_bytes_[i];
        if (!n) continue;
        std::memcpy(dst, static_cast<const unsigned char*>(args.inputs[i]) + o * n, n);
        dst += n;
      }
    }
  }

 private:
  int64_t outer_;
  std::vector<size_t> chunk_bytes_;  // per input: bytes from axis inward
};

}  // namespace

Status inferConcat(NodeContext& ctx) {
  DS_ASSIGN_OR_RETURN(int64_t axis, concatAxis(ctx));
  Shape out = ctx.inputs[0].shape;
  out[static_cast<size_t>(axis)] = 0;
  for (size_t i = 0; i < ctx.inputs.size(); ++i) {
    const ValueDesc& in = ctx.inputs[i];
    if (!in.present()) return ctx.error("input " + std::to_string(i) + " is missing");
    if (in.dtype != ctx.inputs[0].dtype) {
      return ctx.error("input " + std::to_string(i) + " is " + std::string(dtypeName(in.dtype)) +
                       ", input 0 is " + std::string(dtypeName(ctx.inputs[0].dtype)));
    }
    if (in.shape.size() != out.size()) {
      return ctx.error("input " + std::to_string(i) + " has rank " +
                       std::to_string(in.shape.size()) + ", input 0 has rank " +
                       std::to_string(out.size()));
    }
    for (size_t d = 0; d < out.size(); ++d) {
      if (static_cast<int64_t>(d) == axis) continue;
      if (in.shape[d] != ctx.inputs[0].shape[d]) {
        return ctx.error("input " + std::to_string(i) + " " + shapeToString(in.shape) +
                         " differs from input 0 " + shapeToString(ctx.inputs[0].shape) +
                         " outside axis " + std::to_string(axis));
      }
    }
    out[static_cast<size_t>(axis)] += in.shape[static_cast<size_t>(axis)];
  }
  ctx.outputs[0] = ValueDesc{ctx.inputs[0].dtype, std::move(out), Layout::kPlain};
  return Status::ok();
}

Result<std::unique_ptr<Kernel>> makeRefConcat(const NodeContext& ctx, std::string* why_not) {
  if (!acceptStorable(ctx.inputs[0].dtype, why_not)) return std::unique_ptr<Kernel>();
  DS_ASSIGN_OR_RETURN(int64_t axis, concatAxis(ctx));
  const Shape& out = ctx.outputs[0].shape;
  int64_t outer = 1;
  int64_t inner = 1;
  for (size_t d = 0; d < out.size(); ++d) {
    if (static_cast<int64_t>(d) < axis) outer *= out[d];
    if (static_cast<int64_t>(d) > axis) inner *= out[d];
  }
  std::vector<size_t> chunk_bytes;
  for (const ValueDesc& in : ctx.inputs) {
    chunk_bytes.push_back(static_cast<size_t>(in.shape[static_cast<size_t>(axis)] * inner) *
                          elemBytes(ctx));
  }
  return std::unique_ptr<Kernel>(std::make_unique<ConcatKernel>(outer, std::move(chunk_bytes)));
}

// ---- Split ---------------------------------------------------------------------------------

namespace {

// Sizes of the outputs along the axis: `split` attribute (< 13) or constant input 1 (>= 13),
// else num_outputs (>= 18, the last part smaller), else equal parts over the node's outputs.
Result<std::vector<int64_t>> splitSizes(const NodeContext& ctx, int64_t dim) {
  const int64_t n_out = static_cast<int64_t>(ctx.node->outputs.size());
  std::vector<int64_t> sizes;
  if (ctx.opset < 13 && ctx.node->hasAttr("split")) {
    DS_ASSIGN_OR_RETURN(sizes, ctx.node->getInts("split"));
  } else if (ctx.opset >= 13 && ctx.hasInput(1)) {
    DS_ASSIGN_OR_RETURN(sizes, constantInts(ctx, 1, "split (input 1)"));
  } else if (ctx.opset >= 18 && ctx.node->hasAttr("num_outputs")) {
    DS_ASSIGN_OR_RETURN(const int64_t n, ctx.node->getInt("num_outputs"));
    if (n != n_out) {
      return ctx.error("num_outputs is " + std::to_string(n) + " but the node has " +
                       std::to_string(n_out) + " outputs");
    }
    const int64_t chunk = (dim + n - 1) / n;
    const int64_t last = dim - chunk * (n - 1);
    if (last < 0) {
      return ctx.error("cannot split a dim of " + std::to_string(dim) + " into " +
                       std::to_string(n) + " parts of " + std::to_string(chunk));
    }
    sizes.assign(static_cast<size_t>(n), chunk);
    sizes.back() = last;
    return sizes;
  } else {
    if (n_out == 0 || dim % n_out != 0) {
      return ctx.error("cannot split a dim of " + std::to_string(dim) + " into " +
                       std::to_string(n_out) + " equal parts");
    }
    return std::vector<int64_t>(static_cast<size_t>(n_out), dim / n_out);
  }
  if (static_cast<int64_t>(sizes.size()) != n_out) {
    return ctx.error("split has " + std::to_string(sizes.size()) + " sizes for " +
                     std::to_string(n_out) + " outputs");
  }
  int64_t total = 0;
  for (int64_t s : sizes) {
    if (s < 0) return ctx.error("split size " + std::to_string(s) + " is negative");
    total += s;
  }
  if (total != dim) {
    return ctx.error("split sizes add up to " + std::to_string(total) + ", the axis has " +
                     std::to_string(dim));
  }
  return sizes;
}

}  // namespace

Status inferSplit(NodeContext& ctx) {
  DS_RETURN_IF_ERROR(requireInput0(ctx));
  const Shape& in = ctx.inputs[0].shape;
  DS_ASSIGN_OR_RETURN(int64_t axis, normalizeAxis(ctx, ctx.node->intOr("axis", 0),
                                                  static_cast<int64_t>(in.size()), "axis"));
  DS_ASSIGN_OR_RETURN(std::vector<int64_t> sizes, splitSizes(ctx, in[static_cast<size_t>(axis)]));
  for (size_t i = 0; i < sizes.size(); ++i) {
    Shape out = in;
    out[static_cast<size_t>(axis)] = sizes[i];
    ctx.outputs[i] = ValueDesc{ctx.inputs[0].dtype, std::move(out), Layout::kPlain};
  }
  return Status::ok();
}

Result<std::unique_ptr<Kernel>> makeRefSplit(const NodeContext& ctx, std::string* why_not) {
  const Shape& in = ctx.inputs[0].shape;
  DS_ASSIGN_OR_RETURN(int64_t axis, normalizeAxis(ctx, ctx.node->intOr("axis", 0),
                                                  static_cast<int64_t>(in.size()), "axis"));
  const std::vector<int64_t> strides = contiguousStrides(in);
  std::vector<StridedCopy> copies;
  int64_t start = 0;
  for (const ValueDesc& out : ctx.outputs) {
    copies.emplace_back(out.shape, strides, start * strides[static_cast<size_t>(axis)],
                        elemBytes(ctx));
    start += out.shape[static_cast<size_t>(axis)];
  }
  return makeStridedCopy(ctx, why_not, std::move(copies));
}

// ---- Slice ---------------------------------------------------------------------------------

namespace {

constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();

struct SlicePlan {
  Shape out;
  std::vector<int64_t> starts;  // per input axis, clamped
  std::vector<int64_t> steps;   // per input axis
};

Result<SlicePlan> planSlice(const NodeContext& ctx) {
  DS_RETURN_IF_ERROR(requireInput0(ctx));
  const Shape& in = ctx.inputs[0].shape;
  const int64_t rank = static_cast<int64_t>(in.size());
  std::vector<int64_t> starts, ends, axes, steps;
  if (ctx.opset < 10) {  // Slice-1: attributes, no steps
    DS_ASSIGN_OR_RETURN(starts, ctx.node->getInts("starts"));
    DS_ASSIGN_OR_RETURN(ends, ctx.node->getInts("ends"));
    axes = ctx.node->intsOr("axes", {});
  } else {
    DS_ASSIGN_OR_RETURN(starts, constantInts(ctx, 1, "starts (input 1)"));
    DS_ASSIGN_OR_RETURN(ends, constantInts(ctx, 2, "ends (input 2)"));
    if (ctx.hasInput(3)) {
      DS_ASSIGN_OR_RETURN(axes, constantInts(ctx, 3, "axes (input 3)"));
    }
    if (ctx.hasInput(4)) {
      DS_ASSIGN_OR_RETURN(steps, constantInts(ctx, 4, "steps (input 4)"));
    }
  }
  if (axes.empty()) {
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  }
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() ||
      steps.size() != starts.size()) {
    return ctx.error("starts, ends, axes and steps have different lengths");
  }
  SlicePlan plan{in, std::vector<int64_t>(in.size(), 0), std::vector<int64_t>(in.size(), 1)};
  std::vector<bool> seen(in.size(), false);
  for (size_t i = 0; i < starts.size(); ++i) {
    DS_ASSIGN_OR_RETURN(int64_t axis, normalizeAxis(ctx, axes[i], rank, "axis"));
    const size_t a = static_cast<size_t>(axis);
    if (seen[a]) return ctx.error("axis " + std::to_string(axes[i]) + " is sliced twice");
    seen[a] = true;
    const int64_t step = steps[i];
    if (step == 0) return ctx.error("step of axis " + std::to_string(axis) + " is 0");
    const int64_t dim = in[a];
    int64_t start = starts[i];
    int64_t end = ends[i];
    // Negative positions count from the end; then clamp (INT64_MIN / MAX mean "to the edge").
    if (start < 0) start += dim;
    if (end < 0) end += dim;
    int64_t count = 0;
    if (step > 0) {
      start = std::clamp<int64_t>(start, 0, dim);
      end = std::clamp<int64_t>(end, 0, dim);
      if (end > start) count = (end - start - 1) / step + 1;  // no overflow for huge steps
    } else if (dim > 0) {
      start = std::clamp<int64_t>(start, 0, dim - 1);
      end = std::clamp<int64_t>(end, -1, dim - 1);
      if (start > end) {
        const int64_t magnitude = step == kInt64Min ? std::numeric_limits<int64_t>::max() : -step;
        count = (start - end - 1) / magnitude + 1;
      }
    }
    plan.out[a] = count;
    plan.starts[a] = count > 0 ? start : 0;
    // A single element needs no step; keeping 1 avoids overflowing stride * step later.
    plan.steps[a] = count > 1 ? step : 1;
  }
  return plan;
}

}  // namespace

Status inferSlice(NodeContext& ctx) {
  DS_ASSIGN_OR_RETURN(SlicePlan plan, planSlice(ctx));
  ctx.outputs[0] = ValueDesc{ctx.inputs[0].dtype, plan.out, Layout::kPlain};
  return Status::ok();
}

Result<std::unique_ptr<Kernel>> makeRefSlice(const NodeContext& ctx, std::string* why_not) {
  DS_ASSIGN_OR_RETURN(SlicePlan plan, planSlice(ctx));
  const std::vector<int64_t> in_strides = contiguousStrides(ctx.inputs[0].shape);
  std::vector<int64_t> strides(in_strides.size());
  int64_t offset = 0;
  for (size_t d = 0; d < in_strides.size(); ++d) {
    strides[d] = in_strides[d] * plan.steps[d];
    offset += plan.starts[d] * in_strides[d];
  }
  std::vector<StridedCopy> copies;
  copies.emplace_back(plan.out, strides, offset, elemBytes(ctx));
  return makeStridedCopy(ctx, why_not, std::move(copies));
}

// ---- Transpose -----------------------------------------------------------------------------

namespace {

// The perm attribute, reversed dims when absent; refuses non-permutations.
Result<std::vector<int64_t>> transposePerm(const NodeContext& ctx) {
  const size_t rank = ctx.inputs[0].shape.size();
  std::vector<int64_t> perm(rank);
  for (size_t i = 0; i < rank; ++i) perm[i] = static_cast<int64_t>(rank - 1 - i);
  perm = ctx.node->intsOr("perm", perm);
  if (perm.size() != rank) {
    return ctx.error("perm has " + std::to_string(perm.size()) + " values for rank " +
                     std::to_string(rank));
  }
  std::vector<bool> seen(rank, false);
  for (int64_t p : perm) {
    if (p < 0 || p >= static_cast<int64_t>(rank) || seen[static_cast<size_t>(p)]) {
      return ctx.error("perm " + shapeToString(perm) + " is not a permutation");
    }
    seen[static_cast<size_t>(p)] = true;
  }
  return perm;
}

}  // namespace

Status inferTranspose(NodeContext& ctx) {
  DS_RETURN_IF_ERROR(requireInput0(ctx));
  DS_ASSIGN_OR_RETURN(std::vector<int64_t> perm, transposePerm(ctx));
  Shape out;
  for (int64_t p : perm) out.push_back(ctx.inputs[0].shape[static_cast<size_t>(p)]);
  ctx.outputs[0] = ValueDesc{ctx.inputs[0].dtype, std::move(out), Layout::kPlain};
  return Status::ok();
}

Result<std::unique_ptr<Kernel>> makeRefTranspose(const NodeContext& ctx, std::string* why_not) {
  DS_ASSIGN_OR_RETURN(std::vector<int64_t> perm, transposePerm(ctx));
  const std::vector<int64_t> in_strides = contiguousStrides(ctx.inputs[0].shape);
  std::vector<int64_t> strides;
  for (int64_t p : perm) strides.push_back(in_strides[static_cast<size_t>(p)]);
  std::vector<StridedCopy> copies;
  copies.emplace_back(ctx.outputs[0].shape, strides, 0, elemBytes(ctx));
  return makeStridedCopy(ctx, why_not, std::move(copies));
}

// ---- Expand --------------------------------------------------------------------------------

Status inferExpand(NodeContext& ctx) {
  DS_RETURN_IF_ERROR(requireInput0(ctx));
  DS_ASSIGN_OR_RETURN(std::vector<int64_t> shape,
                      constantInts(ctx, 1, "the target shape (input 1)"));
  for (int64_t d : shape) {
    if (d < 0) return ctx.error("target shape " + shapeToString(shape) + " has a negative dim");
  }
  const std::optional<Shape> out = broadcastShapes({ctx.inputs[0].shape, shape});
  if (!out) {
    return ctx.error("cannot expand " + shapeToString(ctx.inputs[0].shape) + " to " +
                     shapeToString(shape));
  }
  ctx.outputs[0] = ValueDesc{ctx.inputs[0].dtype, *out, Layout::kPlain};
  return Status::ok();
}

Result<std::unique_ptr<Kernel>> makeRefExpand(const NodeContext& ctx, std::string* why_not) {
  const Shape& out = ctx.outputs[0].shape;
  std::vector<StridedCopy> copies;
  copies.emplace_back(out, broadcastStrides(ctx.inputs[0].shape, out), 0, elemBytes(ctx));
  return makeStridedCopy(ctx, why_not, std::move(copies));
}

// ---- Tile ----------------------------------------------------------------------------------

namespace {

Result<std::vector<int64_t>> tileRepeats(const NodeContext& ctx) {
  if (ctx.opset < 6) {
    return ctx.unsupportedError("Tile-1 (tiles and axis inputs) is not supported; opset >= 6 is");
  }
  DS_ASSIGN_OR_RETURN(std::vector<int64_t> repeats, constantInts(ctx, 1, "repeats (input 1)"));
  if (repeats.size() != ctx.inputs[0].shape.size()) {
    return ctx.error("repeats has " + std::to_string(repeats.size()) + " values for rank " +
                     std::to_string(ctx.inputs[0].shape.size()));
  }
  for (int64_t r : repeats) {
    if (r < 0) return ctx.error("repeat count " + std::to_string(r) + " is negative");
  }
  return repeats;
}

}  // namespace

Status inferTile(NodeContext& ctx) {
  DS_RETURN_IF_ERROR(requireInput0(ctx));
  DS_ASSIGN_OR_RETURN(std::vector<int64_t> repeats, tileRepeats(ctx));
  Shape out = ctx.inputs[0].shape;
  for (size_t i = 0; i < out.size(); ++i) out[i] *= repeats[i];
  ctx.outputs[0] = ValueDesc{ctx.inputs[0].dtype, std::move(out), Layout::kPlain};
  return Status::ok();
}

Result<std::unique_ptr<Kernel>> makeRefTile(const NodeContext& ctx, std::string* why_not) {
  DS_ASSIGN_OR_RETURN(std::vector<int64_t> repeats, tileRepeats(ctx));
  // Output [r0 * d0, r1 * d1, ...] in row-major order is [r0, d0, r1, d1, ...], where the
  // repeat dims step by 0 through the input.
  const Shape& in = ctx.inputs[0].shape;
  const std::vector<int64_t> in_strides = contiguousStrides(in);
  Shape dims;
  std::vector<int64_t> strides;
  for (size_t i = 0; i < in.size(); ++i) {
    dims.push_back(repeats[i]);
    strides.push_back(0);
    dims.push_back(in[i]);
    strides.push_back(in_strides[i]);
  }
  std::vector<StridedCopy> copies;
  copies.emplace_back(dims, strides, 0, elemBytes(ctx));
  return makeStridedCopy(ctx, why_not, std::move(copies));
}

// ---- Gather --------------------------------------------------------------------------------

namespace {

class GatherKernel final : public Kernel {
 public:
  GatherKernel(int64_t outer, int64_t axis_dim, int64_t count, size_t inner_bytes,
               bool indices_int64)
      : outer_(outer),
        axis_dim_(axis_dim),
        count_(count),
        inner_bytes_(inner_bytes),
        indices_int64_(indices_int64) {}

  void run(const KernelArgs& args) override {
    const auto* src = static_cast<const unsigned char*>(args.inputs[0]);
    auto* dst = static_cast<unsigned char*>(args.outputs[0]);
    for (int64_t o = 0; o < outer_; ++o) {
      for (int64_t j = 0; j < count_; ++j) {
        int64_t idx = indices_int64_ ? static_cast<const int64_t*>(args.inputs[1])[j]
                                     : static_cast<const int32_t*>(args.inputs[1])[j];
        if (idx < 0) idx += axis_dim_;
        if (idx < 0 || idx >= axis_dim_) {
          // Out-of-range indices are invalid input; run() cannot fail, so it writes zeros
          // rather than reading outside the buffer.
          std::memset(dst, 0, inner_bytes_);
        } else {
          std::memcpy(dst, src + (o * axis_dim_ + idx) * inner_bytes_, inner_bytes_);
        }
        dst += inner_bytes_;
      }
    }
  }

 private:
  int64_t outer_;
  int64_t axis_dim_;
  int64_t count_;
  size_t inner_bytes_;
  bool indices_int64_;
};

}  // namespace

Status inferGather(NodeContext& ctx) {
  DS_RETURN_IF_ERROR(requireInput0(ctx));
  if (!ctx.hasInput(1)) return ctx.error("indices (input 1) are missing");
  const ValueDesc& indices = ctx.inputs[1];
  if (indices.dtype != DType::kInt64 && indices.dtype != DType::kInt32) {
    return ctx.error("indices have dtype " + std::string(dtypeName(indices.dtype)) +
                     ", expected int64 or int32");
  }
  const Shape& data = ctx.inputs[0].shape;
  if (data.empty()) return ctx.error("data must have rank >= 1");
  DS_ASSIGN_OR_RETURN(int64_t axis, normalizeAxis(ctx, ctx.node->intOr("axis", 0),
                                                  static_cast<int64_t>(data.size()), "axis"));
  const int64_t dim = data[static_cast<size_t>(axis)];
  if (const Tensor* t = ctx.constant(1)) {
    for (int64_t i = 0; i < t->numel(); ++i) {
      const int64_t idx = t->elementAsInt64(i);
      if (idx < -dim || idx >= dim) {
        return ctx.error("index " + std::to_string(idx) + " is out of range for axis " +
                         std::to_string(axis) + " of size " + std::to_string(dim));
      }
    }
  }
  Shape out(data.begin(), data.begin() + axis);
  out.insert(out.end(), indices.shape.begin(), indices.shape.end());
  out.insert(out.end(), data.begin() + axis + 1, data.end());
  ctx.outputs[0] = ValueDesc{ctx.inputs[0].dtype, std::move(out), Layout::kPlain};
  return Status::ok();
}

Result<std::unique_ptr<Kernel>> makeRefGather(const NodeContext& ctx, std::string* why_not) {
  if (!acceptStorable(ctx.inputs[0].dtype, why_not)) return std::unique_ptr<Kernel>();
  const Shape& data = ctx.inputs[0].shape;
  DS_ASSIGN_OR_RETURN(int64_t axis, normalizeAxis(ctx, ctx.node->intOr("axis", 0),
                                                  static_cast<int64_t>(data.size()), "axis"));
  int64_t outer = 1;
  int64_t inner = 1;
  for (size_t d = 0; d < data.size(); ++d) {
    if (static_cast<int64_t>(d) < axis) outer *= data[d];
    if (static_cast<int64_t>(d) > axis) inner *= data[d];
  }
  return std::unique_ptr<Kernel>(std::make_unique<GatherKernel>(
      outer, data[static_cast<size_t>(axis)], ctx.inputs[1].numel(),
      static_cast<size_t>(inner) * elemBytes(ctx), ctx.inputs[1].dtype == DType::kInt64));
}

// ---- Pad -----------------------------------------------------------------------------------

namespace {

enum class PadMode { kConstant, kReflect, kEdge, kWrap };

struct PadPlan {
  PadMode mode = PadMode::kConstant;
  std::vector<int64_t> begin;  // per axis; negative values crop
  std::vector<int64_t> end;
  Shape out;
};

Result<PadPlan> planPad(const NodeContext& ctx) {
  DS_RETURN_IF_ERROR(requireInput0(ctx));
  const Shape& in = ctx.inputs[0].shape;
  const int64_t rank = static_cast<int64_t>(in.size());
  PadPlan plan;
  const std::string mode = ctx.node->stringOr("mode", "constant");
  if (mode == "constant") {
    plan.mode = PadMode::kConstant;
  } else if (mode == "reflect") {
    plan.mode = PadMode::kReflect;
  } else if (mode == "edge") {
    plan.mode = PadMode::kEdge;
  } else if (mode == "wrap" && ctx.opset >= 19) {
    plan.mode = PadMode::kWrap;
  } else {
    return ctx.error("mode '" + mode + "' is not constant, reflect, edge or (opset >= 19) wrap");
  }
  std::vector<int64_t> pads;
  std::vector<int64_t> axes;
  if (ctx.opset < 11) {  // Pad-1 named the attribute paddings, Pad-2 pads
    DS_ASSIGN_OR_RETURN(pads, ctx.node->getInts(ctx.opset < 2 ? "paddings" : "pads"));
  } else {
    DS_ASSIGN_OR_RETURN(pads, constantInts(ctx, 1, "pads (input 1)"));
    if (ctx.opset >= 18 && ctx.hasInput(3)) {
      DS_ASSIGN_OR_RETURN(axes, constantInts(ctx, 3, "axes (input 3)"));
    }
  }
  if (axes.empty()) {
    for (int64_t i = 0; i < rank; ++i) axes.push_back(i);
  }
  if (pads.size() != 2 * axes.size()) {
    return ctx.error("pads has " + std::to_string(pads.size()) + " values, expected " +
                     std::to_string(2 * axes.size()));
  }
  plan.begin.assign(in.size(), 0);
  plan.end.assign(in.size(), 0);
  std::vector<bool> seen(in.size(), false);
  for (size_t i = 0; i < axes.size(); ++i) {
    DS_ASSIGN_OR_RETURN(int64_t axis, normalizeAxis(ctx, axes[i], rank, "axis"));
    if (seen[static_cast<size_t>(axis)]) {
      return ctx.error("axis " + std::to_string(axes[i]) + " is listed twice");
    }
    seen[static_cast<size_t>(axis)] = true;
    plan.begin[static_cast<size_t>(axis)] = pads[i];
    plan.end[static_cast<size_t>(axis)] = pads[i + axes.size()];
  }
  plan.out = in;
  for (size_t d = 0; d < in.size(); ++d) {
    plan.out[d] = in[d] + plan.begin[d] + plan.end[d];
    if (plan.out[d] < 0) {
      return ctx.error("pads crop axis " + std::to_string(d) + " of size " + std::to_string(in[d]) +
                       " below zero");
    }
    const bool grows = plan.begin[d] > 0 || plan.end[d] > 0;
    if (plan.mode != PadMode::kConstant && grows && in[d] == 0) {
      return ctx.error("mode '" + mode + "' cannot pad axis " + std::to_string(d) + " of size 0");
    }
  }
  return plan;
}

// Input position of output position o along an axis, or -1 for the constant fill.
int64_t sourceIndex(PadMode mode, int64_t o, int64_t pad_begin, int64_t n) {
  const int64_t i = o - pad_begin;
  if (i >= 0 && i < n) return i;
  switch (mode) {
    case PadMode::kConstant:
      return -1;
    case PadMode::kEdge:
      return std::clamp<int64_t>(i, 0, n - 1);
    case PadMode::kWrap:
      return ((i % n) + n) % n;
    case PadMode::kReflect: {
      // Mirror without repeating the edge (numpy's 'reflect'), folding as often as needed.
      if (n == 1) return 0;
      const int64_t period = 2 * (n - 1);
      const int64_t m = ((i % period) + period) % period;
      return m < n ? m : period - m;
    }
  }
  return -1;
}

// Writes a double into one element of a numeric dtype (Pad-1/2's float `value` attribute).
void storeScalar(DType dtype, double v, unsigned char* dst) {
  auto put = [&](auto x) { std::memcpy(dst, &x, sizeof x); };
  switch (dtype) {
    case DType::kFloat32:
      return put(static_cast<float>(v));
    case DType::kFloat64:
      return put(v);
    case DType::kFloat16:
      return put(floatToHalf(static_cast<float>(v)));
    case DType::kBFloat16:
      return put(floatToBFloat16(static_cast<float>(v)));
    case DType::kInt8:
      return put(static_cast<int8_t>(v));
    case DType::kUInt8:
      return put(static_cast<uint8_t>(v));
    case DType::kInt16:
      return put(static_cast<int16_t>(v));
    case DType::kUInt16:
      return put(static_cast<uint16_t>(v));
    case DType::kInt32:
      return put(static_cast<int32_t>(v));
    case DType::kUInt32:
      return put(static_cast<uint32_t>(v));
    case DType::kInt64:
      return put(static_cast<int64_t>(v));
    case DType::kUInt64:
      return put(static_cast<uint64_t>(v));
    case DType::kBool:
      return put(static_cast<uint8_t>(v != 0.0));
    default:
      return;
  }
}

class PadKernel final : public Kernel {
 public:
  PadKernel(const PadPlan& plan, const Shape& in, size_t elem_bytes, bool value_from_input,
            const unsigned char* value)
      : out_(plan.out),
        in_strides_(movement::contiguousStrides(in)),
        out_inner_(movement::contiguousStrides(plan.out)),
        elem_bytes_(elem_bytes),
        value_from_input_(value_from_input) {
    std::memcpy(value_, value, elem_bytes);
    for (size_t d = 0; d < in.size(); ++d) {
      map_offsets_.push_back(static_cast<int64_t>(map_.size()));
      for (int64_t o = 0; o < plan.out[d]; ++o) {
        map_.push_back(sourceIndex(plan.mode, o, plan.begin[d], in[d]));
      }
    }
  }

  void run(const KernelArgs& args) override {
    if (shapeNumel(out_) == 0) return;
    switch (elem_bytes_) {
      case 1:
        return pad<uint8_t>(args);
      case 2:
        return pad<uint16_t>(args);
      case 4:
        return pad<uint32_t>(args);
      case 8:
        return pad<uint64_t>(args);
      default:
        return;
    }
  }

 private:
  template <class E>
  void pad(const KernelArgs& args) const {
    E value;
    const void* value_src = value_;
    // Pad-11's constant_value input; an omitted one means 0 (value_ holds zeros then).
    if (value_from_input_ && args.inputs.size() > 2 && args.inputs[2]) value_src = args.inputs[2];
    std::memcpy(&value, value_src, sizeof value);
    E* dst = static_cast<E*>(args.outputs[0]);
    const E* src = static_cast<const E*>(args.inputs[0]);
    if (out_.empty()) {
      *dst = *src;
      return;
    }
    padDim(src, dst, 0, value);
  }

  // Recursion over dims keeps run() free of allocation.
  template <class E>
  void padDim(const E* src, E*& dst, size_t d, E value) const {
    const int64_t* map = map_.data() + map_offsets_[d];
    const int64_t n = out_[d];
    if (d + 1 == out_.size()) {
      for (int64_t o = 0; o < n; ++o) *dst++ = map[o] < 0 ? value : src[map[o]];
      return;
    }
    for (int64_t o = 0; o < n; ++o) {
      if (map[o] < 0) {
        dst = std::fill_n(dst, out_inner_[d], value);
      } else {
        padDim(src + map[o] * in_strides_[d], dst, d + 1, value);
      }
    }
  }

  Shape out_;
  std::vector<int64_t> in_strides_;
  std::vector<int64_t> out_inner_;    // elements below one index of each output dim
  std::vector<int64_t> map_;          // per axis, per output index: source index or -1
  std::vector<int64_t> map_offsets_;  // start of each axis in map_
  size_t elem_bytes_;
  bool value_from_input_;
  unsigned char value_[16] = {};
};

}  // namespace

Status inferPad(NodeContext& ctx) {
  DS_ASSIGN_OR_RETURN(PadPlan plan, planPad(ctx));
  ctx.outputs[0] = ValueDesc{ctx.inputs[0].dtype, plan.out, Layout::kPlain};
  return Status::ok();
}

Result<std::unique_ptr<Kernel>> makeRefPad(const NodeContext& ctx, std::string* why_not) {
  if (!acceptStorable(ctx.inputs[0].dtype, why_not)) return std::unique_ptr<Kernel>();
  if (elemBytes(ctx) > 8) {
    *why_not = "elements wider than 8 bytes";
    return std::unique_ptr<Kernel>();
  }
  DS_ASSIGN_OR_RETURN(PadPlan plan, planPad(ctx));
  unsigned char value[16] = {};
  const bool from_input = ctx.opset >= 11;
  if (from_input) {
    if (ctx.hasInput(2) && ctx.inputs[2].dtype != ctx.inputs[0].dtype) {
      return ctx.error("constant_value (input 2) has dtype " +
                       std::string(dtypeName(ctx.inputs[2].dtype)) + ", data has " +
                       std::string(dtypeName(ctx.inputs[0].dtype)));
    }
  } else {
    storeScalar(ctx.inputs[0].dtype, ctx.node->floatOr("value", 0.0f), value);
  }
  return std::unique_ptr<Kernel>(
      std::make_unique<PadKernel>(plan, ctx.inputs[0].shape, elemBytes(ctx), from_input, value));
}

}  // namespace detslim
