// Reference pooling: MaxPool (with the optional Indices output), AveragePool and
// GlobalAveragePool over 1-D, 2-D and 3-D windows. One output element at a time with bounds
// checks per tap: pooling windows are small, and clarity matters more than speed here.

#include <algorithm>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "core/kernels/ref/ref_ops.h"
#include "core/kernels/ref/spatial_common.h"
#include "core/kernels/ref/widen.h"

namespace detslim {

namespace {

using spatial::Geometry3;
using spatial::WindowAxis;

std::string dtypeStr(DType d) {
  return std::string(dtypeName(d));
}

struct PoolPlan {
  int64_t batch_channels = 0;  // N * C: pooling treats every (n, c) plane alike
  Geometry3 geo{};
  Shape out;
};

enum class PoolKind { kMax, kAverage };

Result<PoolPlan> planPool(const NodeContext& ctx, PoolKind kind) {
  if (!ctx.hasInput(0)) return ctx.error("input X is missing");
  const Shape& x = ctx.inputs[0].shape;
  if (x.size() < 3) return ctx.error("X " + shapeToString(x) + " must be N x C x spatial dims");
  const size_t rank = x.size() - 2;
  if (rank > spatial::kMaxSpatialRank) {
    return ctx.unsupportedError("pooling over " + std::to_string(rank) +
                                " spatial dims; the reference kernel handles 1 to 3");
  }
  DS_ASSIGN_OR_RETURN(std::vector<int64_t> kernel, spatial::kernelShape(ctx, rank, {}));
  spatial::WindowOptions options;
  // ceil_mode arrived with opset 10, dilations with MaxPool-10 and AveragePool-19.
  options.ceil_mode = ctx.opset >= 10 && ctx.node->intOr("ceil_mode", 0) != 0;
  options.allow_dilations = kind == PoolKind::kMax ? ctx.opset >= 10 : ctx.opset >= 19;
  DS_ASSIGN_OR_RETURN(std::vector<WindowAxis> axes,
                      spatial::windowGeometry(ctx, Shape(x.begin() + 2, x.end()), kernel, options));
  PoolPlan plan;
  plan.batch_channels = x[0] * x[1];
  plan.geo = spatial::toGeometry3(axes);
  plan.out = {x[0], x[1]};
  for (const WindowAxis& a : axes) plan.out.push_back(a.out);
  return plan;
}

// Calls fn(offset_in_plane, d, h, w) for every tap of output position (od, oh, ow) that lies
// inside the input, in row-major window order.
template <class Fn>
void forEachTap(const Geometry3& g, int64_t od, int64_t oh, int64_t ow, Fn&& fn) {
  for (int64_t kd = 0; kd < g[0].kernel; ++kd) {
    const int64_t id = od * g[0].stride - g[0].pad_begin + kd * g[0].dilation;
    if (id < 0 || id >= g[0].in) continue;
    for (int64_t kh = 0; kh < g[1].kernel; ++kh) {
      const int64_t ih = oh * g[1].stride - g[1].pad_begin + kh * g[1].dilation;
      if (ih < 0 || ih >= g[1].in) continue;
      for (int64_t kw = 0; kw < g[2].kernel; ++kw) {
        const int64_t iw = ow * g[2].stride - g[2].pad_begin + kw * g[2].dilation;
        if (iw < 0 || iw >= g[2].in) continue;
        fn((id * g[1].in + ih) * g[2].in + iw, id, ih, iw);
      }
    }
  }
}

}  // namespace

// ---- MaxPool -------------------------------------------------------------------------------

namespace {

bool wantsIndices(const NodeContext& ctx) {
  return ctx.node->outputs.size() > 1 && !ctx.node->outputs[1].empty();
}

template <class T>
class MaxPoolKernel final : public Kernel {
 public:
  MaxPoolKernel(PoolPlan plan, bool column_major) : p_(plan), column_major_(column_major) {}

  void run(const KernelArgs& args) override {
    const Geometry3& g = p_.geo;
    const int64_t in_plane = spatial::inVolume(g);
    const T* x = static_cast<const T*>(args.inputs[0]);
    T* y = static_cast<T*>(args.outputs[0]);
    int64_t* indices = args.outputs.size() > 1 ? static_cast<int64_t*>(args.outputs[1]) : nullptr;
    for (int64_t nc = 0; nc < p_.batch_channels; ++nc) {
      const T* src = x + nc * in_plane;
      for (int64_t od = 0; od < g[0].out; ++od) {
        for (int64_t oh = 0; oh < g[1].out; ++oh) {
          for (int64_t ow = 0; ow < g[2].out; ++ow) {
            T best = std::numeric_limits<T>::lowest();
            int64_t best_index = 0;
            bool found = false;
            forEachTap(g, od, oh, ow, [&](int64_t off, int64_t id, int64_t ih, int64_t iw) {
              // Strictly greater: the first maximum in window order wins, as onnxruntime.
              if (!found || src[off] > best) {
                best = src[off];
                found = true;
                // Indices count from the tensor start (N and C included); storage_order 1
                // numbers the spatial dims column-major, the first spatial dim fastest.
                const int64_t spatial_index =
                    column_major_ ? (iw * g[1].in + ih) * g[0].in + id : off;
                best_index = nc * in_plane + spatial_index;
              }
            });
            *y++ = best;
            if (indices) *indices++ = best_index;
          }
        }
      }
    }
  }

 private:
  PoolPlan p_;
  bool column_major_;
};

}  // namespace

Status inferMaxPool(NodeContext& ctx) {
  DS_ASSIGN_OR_RETURN(PoolPlan plan, planPool(ctx, PoolKind::kMax));
  ctx.outputs[0] = ValueDesc{ctx.inputs[0].dtype, plan.out, Layout::kPlain};
  if (wantsIndices(ctx)) ctx.outputs[1] = ValueDesc{DType::kInt64, plan.out, Layout::kPlain};
  return Status::ok();
}

Result<std::unique_ptr<Kernel>> makeRefMaxPool(const NodeContext& ctx, std::string* why_not) {
  if (widen::needsWidening(ctx)) return widen::widened(ctx, why_not, &makeRefMaxPool);
  DS_ASSIGN_OR_RETURN(PoolPlan plan, planPool(ctx, PoolKind::kMax));
  const bool column_major = ctx.opset >= 8 && ctx.node->intOr("storage_order", 0) != 0;
  switch (ctx.inputs[0].dtype) {
    case DType::kFloat32:
      return std::unique_ptr<Kernel>(std::make_unique<MaxPoolKernel<float>>(plan, column_major));
    case DType::kFloat64:
      return std::unique_ptr<Kernel>(std::make_unique<MaxPoolKernel<double>>(plan, column_major));
    case DType::kUInt8:
      return std::unique_ptr<Kernel>(std::make_unique<MaxPoolKernel<uint8_t>>(plan, column_major));
    case DType::kInt8:
      return std::unique_ptr<Kernel>(std::make_unique<MaxPoolKernel<int8_t>>(plan, column_major));
    default:
      *why_not =
          "the reference MaxPool takes float32, float64, float16, bfloat16, uint8 and int8, not " +
          dtypeStr(ctx.inputs[0].dtype);
      return std::unique_ptr<Kernel>();
  }
}

// ---- AveragePool ---------------------------------------------------------------------------

namespace {

// Taps of a window along one axis inside [lo, hi).
int64_t tapsWithin(const WindowAxis& a, int64_t o, int64_t lo, int64_t hi) {
  int64_t count = 0;
  for (int64_t k = 0; k < a.kernel; ++k) {
    const int64_t i = o * a.stride - a.pad_begin + k * a.dilation;
    count += (i >= lo && i < hi);
  }
  return count;
}

template <class T>
class AveragePoolKernel final : public Kernel {
 public:
  AveragePoolKernel(PoolPlan plan, bool count_include_pad)
      : p_(plan), count_include_pad_(count_include_pad) {}

  void run(const KernelArgs& args) override {
    const Geometry3& g = p_.geo;
    const int64_t in_plane = spatial::inVolume(g);
    const T* x = static_cast<const T*>(args.inputs[0]);
    T* y = static_cast<T*>(args.outputs[0]);
    for (int64_t nc = 0; nc < p_.batch_channels; ++nc) {
      const T* src = x + nc * in_plane;
      for (int64_t od = 0; od < g[0].out; ++od) {
        for (int64_t oh = 0; oh < g[1].out; ++oh) {
          for (int64_t ow = 0; ow < g[2].out; ++ow) {
            double sum = 0.0;
            forEachTap(g, od, oh, ow,
                       [&](int64_t off, int64_t, int64_t, int64_t) { sum += src[off]; });
            const int64_t pos[3] = {od, oh, ow};
            int64_t divisor = 1;
            for (int axis = 0; axis < 3; ++axis) {
              const WindowAxis& a = g[axis];
              // count_include_pad counts padding taps but not taps past the padding, which
              // ceil_mode windows can reach (onnxruntime and PyTorch do the same).
              divisor *= count_include_pad_
                             ? tapsWithin(a, pos[axis], -a.pad_begin, a.in + a.pad_end)
                             : tapsWithin(a, pos[axis], 0, a.in);
            }
            *y++ = static_cast<T>(divisor > 0 ? sum / static_cast<double>(divisor) : 0.0);
          }
        }
      }
    }
  }

 private:
  PoolPlan p_;
  bool count_include_pad_;
};

}  // namespace

Status inferAveragePool(NodeContext& ctx) {
  DS_ASSIGN_OR_RETURN(PoolPlan plan, planPool(ctx, PoolKind::kAverage));
  ctx.outputs[0] = ValueDesc{ctx.inputs[0].dtype, plan.out, Layout::kPlain};
  return Status::ok();
}

Result<std::unique_ptr<Kernel>> makeRefAveragePool(const NodeContext& ctx, std::string* why_not) {
  if (widen::needsWidening(ctx)) return widen::widened(ctx, why_not, &makeRefAveragePool);
  DS_ASSIGN_OR_RETURN(PoolPlan plan, planPool(ctx, PoolKind::kAverage));
  const bool include_pad = ctx.opset >= 7 && ctx.node->intOr("count_include_pad", 0) != 0;
  switch (ctx.inputs[0].dtype) {
    case DType::kFloat32:
      return std::unique_ptr<Kernel>(std::make_unique<AveragePoolKernel<float>>(plan, include_pad));
    case DType::kFloat64:
      return std::unique_ptr<Kernel>(
          std::make_unique<AveragePoolKernel<double>>(plan, include_pad));
    default:
      *why_not =
          "the reference AveragePool computes float32, float64, float16 and bfloat16 only, not " +
          dtypeStr(ctx.inputs[0].dtype);
      return std::unique_ptr<Kernel>();
  }
}

// ---- GlobalAveragePool ---------------------------------------------------------------------

namespace {

template <class T>
class GlobalAveragePoolKernel final : public Kernel {
 public:
  GlobalAveragePoolKernel(int64_t planes, int64_t plane_size)
      : planes_(planes), plane_size_(plane_size) {}
  void run(const KernelArgs& args) override {
    const T* x = static_cast<const T*>(args.inputs[0]);
    T* y = static_cast<T*>(args.outputs[0]);
    for (int64_t p = 0; p < planes_; ++p) {
      // A double sum keeps large planes (160 x 160) exact enough to serve as the oracle.
      double sum = 0.0;
      for (int64_t i = 0; i < plane_size_; ++i) sum += x[p * plane_size_ + i];
      y[p] = static_cast<T>(plane_size_ ? sum / static_cast<double>(plane_size_) : 0.0);
    }
  }

 private:
  int64_t planes_;
  int64_t plane_size_;
};

}  // namespace

Status inferGlobalAveragePool(NodeContext& ctx) {
  if (!ctx.hasInput(0)) return ctx.error("input X is missing");
  const Shape& x = ctx.inputs[0].shape;
  if (x.size() < 2) return ctx.error("X " + shapeToString(x) + " must be N x C x spatial dims");
  Shape out = x;
  for (size_t i = 2; i < out.size(); ++i) out[i] = 1;
  ctx.outputs[0] = ValueDesc{ctx.inputs[0].dtype, std::move(out), Layout::kPlain};
  return Status::ok();
}

Result<std::unique_ptr<Kernel>> makeRefGlobalAveragePool(const NodeContext& ctx,
                                                         std::string* why_not) {
  if (widen::needsWidening(ctx)) return widen::widened(ctx, why_not, &makeRefGlobalAveragePool);
  const Shape& x = ctx.inputs[0].shape;
  const int64_t planes = x[0] * x[1];
  const int64_t plane_size = planes ? shapeNumel(x) / planes : 0;
  switch (ctx.inputs[0].dtype) {
    case DType::kFloat32:
      return std::unique_ptr<Kernel>(
          std::make_unique<GlobalAveragePoolKernel<float>>(planes, plane_size));
    case DType::kFloat64:
      return std::unique_ptr<Kernel>(
          std::make_unique<GlobalAveragePoolKernel<double>>(planes, plane_size));
    default:
      *why_not =
          "the reference GlobalAveragePool computes float32, float64, float16 and bfloat16 only, "
          "not " +
          dtypeStr(ctx.inputs[0].dtype);
      return std::unique_ptr<Kernel>();
  }
}

}  // namespace detslim
