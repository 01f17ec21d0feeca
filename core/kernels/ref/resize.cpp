// Reference Resize (opsets 10-19) and Upsample (7, 9): nearest, linear and cubic interpolation,
// separable over any set of axes. Coordinates follow the ONNX reference implementation
// (onnx/reference/ops/op_resize.py), which generated the conformance data: every output position
// maps to an input coordinate, and each axis contributes a few taps (index, weight) computed
// once at kernel creation. run() combines the taps of all axes.

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/kernels/ref/movement_common.h"
#include "core/kernels/ref/ref_ops.h"
#include "core/kernels/ref/widen.h"

namespace detslim {

namespace {

using movement::acceptStorable;
using movement::contiguousStrides;

// run() keeps per-axis positions in fixed arrays; image resizes have rank 3 to 5.
constexpr size_t kMaxResizeRank = 8;

enum class Interp { kNearest, kLinear, kCubic };
enum class CoordMode {
  kHalfPixel,
  kHalfPixelSymmetric,
  kPytorchHalfPixel,
  kAlignCorners,
  kAsymmetric,
  kTfHalfPixelForNn,
  kTfCropAndResize,
};
// kSimple is Upsample's and Resize-10's rule (as onnxruntime keeps it for those opsets):
// truncate when upsampling, ceil when downsampling.
enum class NearestMode { kRoundPreferFloor, kRoundPreferCeil, kFloor, kCeil, kSimple };

struct ResizePlan {
  Interp interp = Interp::kNearest;
  CoordMode coord = CoordMode::kHalfPixel;
  NearestMode nearest = NearestMode::kRoundPreferFloor;
  double cubic_a = -0.75;
  bool exclude_outside = false;
  double extrapolation = 0.0;
  Shape out;
  std::vector<double> scales;     // per axis, as used by the coordinate transform
  std::vector<double> roi_start;  // per axis, tf_crop_and_resize only
  std::vector<double> roi_end;
};

Result<Interp> parseInterp(const NodeContext& ctx) {
  const std::string mode = ctx.node->stringOr("mode", "nearest");
  if (mode == "nearest") return Interp::kNearest;
  if (mode == "linear" || mode == "bilinear") return Interp::kLinear;
  if (mode == "cubic" && ctx.node->op_type == "Resize" && ctx.opset >= 11) return Interp::kCubic;
  return ctx.error("mode '" + mode + "' is not supported here (nearest, linear" +
                   std::string(ctx.node->op_type == "Resize" ? ", cubic from opset 11)" : ")"));
}

Result<CoordMode> parseCoordMode(const NodeContext& ctx) {
  const std::string m = ctx.node->stringOr("coordinate_transformation_mode", "half_pixel");
  if (m == "half_pixel") return CoordMode::kHalfPixel;
  if (m == "half_pixel_symmetric" && ctx.opset >= 19) return CoordMode::kHalfPixelSymmetric;
  if (m == "pytorch_half_pixel") return CoordMode::kPytorchHalfPixel;
  if (m == "align_corners") return CoordMode::kAlignCorners;
  if (m == "asymmetric") return CoordMode::kAsymmetric;
  if (m == "tf_half_pixel_for_nn") return CoordMode::kTfHalfPixelForNn;
  if (m == "tf_crop_and_resize") return CoordMode::kTfCropAndResize;
  return ctx.error("coordinate_transformation_mode '" + m + "' is unknown for opset " +
                   std::to_string(ctx.opset));
}

Result<NearestMode> parseNearestMode(const NodeContext& ctx) {
  const std::string m = ctx.node->stringOr("nearest_mode", "round_prefer_floor");
  if (m == "round_prefer_floor") return NearestMode::kRoundPreferFloor;
  if (m == "round_prefer_ceil") return NearestMode::kRoundPreferCeil;
  if (m == "floor") return NearestMode::kFloor;
  if (m == "ceil") return NearestMode::kCeil;
  return ctx.error("nearest_mode '" + m + "' is unknown");
}

// Values of a float input that must be a compile-time constant; empty when omitted or empty
// (Resize-11 passes an empty scales tensor when sizes are given).
Result<std::vector<double>> constantFloats(const NodeContext& ctx, size_t i,
                                           const std::string& what) {
  if (!ctx.hasInput(i) || ctx.inputs[i].numel() == 0) return std::vector<double>{};
  const Tensor* t = ctx.constant(i);
  if (!t) return ctx.unsupportedError(what + " must be known when the plan is compiled");
  std::vector<double> v(static_cast<size_t>(t->numel()));
  for (size_t k = 0; k < v.size(); ++k) v[k] = t->elementAsDouble(static_cast<int64_t>(k));
  return v;
}

// Output sizes from scales: floor(in * scale), the product in double as the reference does.
Status sizesFromScales(const NodeContext& ctx, const Shape& in, ResizePlan& p) {
  for (size_t d = 0; d < in.size(); ++d) {
    if (!(p.scales[d] > 0.0) || !std::isfinite(p.scales[d])) {
      return ctx.error("scale " + std::to_string(p.scales[d]) + " of axis " + std::to_string(d) +
                       " is not positive");
    }
    p.out.push_back(static_cast<int64_t>(std::floor(static_cast<double>(in[d]) * p.scales[d])));
  }
  return Status::ok();
}

// Resize-11+: roi (1), scales (2), sizes (3), attributes axes and keep_aspect_ratio_policy (18).
Status planResize11(const NodeContext& ctx, const Shape& in, ResizePlan& p) {
  const int64_t rank = static_cast<int64_t>(in.size());
  std::vector<int64_t> axes;
  if (ctx.opset >= 18 && ctx.node->hasAttr("axes")) {
    DS_ASSIGN_OR_RETURN(axes, ctx.node->getInts("axes"));
    for (int64_t& a : axes) {
      DS_ASSIGN_OR_RETURN(a, movement::normalizeAxis(ctx, a, rank, "axis"));
    }
  } else {
    for (int64_t a = 0; a < rank; ++a) axes.push_back(a);
  }
  if (ctx.opset >= 18 && ctx.node->intOr("antialias", 0) != 0) {
    return ctx.unsupportedError("antialias=1 is not supported by the reference Resize");
  }
  DS_ASSIGN_OR_RETURN(std::vector<double> scales, constantFloats(ctx, 2, "scales (input 2)"));
  std::vector<int64_t> sizes;
  if (ctx.hasInput(3) && ctx.inputs[3].numel() > 0) {
    DS_ASSIGN_OR_RETURN(sizes, movement::constantInts(ctx, 3, "sizes (input 3)"));
  }
  if (scales.empty() == sizes.empty()) {
    return ctx.error("exactly one of scales (input 2) and sizes (input 3) must be given");
  }
  const size_t n = axes.size();
  if ((!scales.empty() && scales.size() != n) || (!sizes.empty() && sizes.size() != n)) {
    return ctx.error("scales / sizes need " + std::to_string(n) + " values");
  }
  p.scales.assign(in.size(), 1.0);
  if (!scales.empty()) {
    for (size_t i = 0; i < n; ++i) p.scales[static_cast<size_t>(axes[i])] = scales[i];
    DS_RETURN_IF_ERROR(sizesFromScales(ctx, in, p));
  } else {
    p.out = in;
    for (size_t i = 0; i < n; ++i) {
      const size_t a = static_cast<size_t>(axes[i]);
      if (sizes[i] < 0) return ctx.error("sizes has a negative value");
      if (in[a] == 0 && sizes[i] > 0) return ctx.error("cannot resize an empty axis");
      p.out[a] = sizes[i];
      p.scales[a] = in[a] ? static_cast<double>(sizes[i]) / static_cast<double>(in[a]) : 1.0;
    }
    const std::string policy =
        ctx.opset >= 18 ? ctx.node->stringOr("keep_aspect_ratio_policy", "stretch") : "stretch";
    if (policy == "not_larger" || policy == "not_smaller") {
      // One scale for all listed axes, the smallest or largest; sizes rounded half up.
      double scale = p.scales[static_cast<size_t>(axes[0])];
      for (int64_t a : axes) {
        const double s = p.scales[static_cast<size_t>(a)];
        scale = policy == "not_larger" ? std::min(scale, s) : std::max(scale, s);
      }
      for (int64_t a : axes) {
        const size_t ax = static_cast<size_t>(a);
        p.scales[ax] = scale;
        p.out[ax] = static_cast<int64_t>(scale * static_cast<double>(in[ax]) + 0.5);
      }
    } else if (policy != "stretch") {
      return ctx.error("keep_aspect_ratio_policy '" + policy + "' is unknown");
    }
  }
  if (p.coord == CoordMode::kTfCropAndResize) {
    DS_ASSIGN_OR_RETURN(std::vector<double> roi, constantFloats(ctx, 1, "roi (input 1)"));
    if (roi.size() != 2 * n) {
      return ctx.error("tf_crop_and_resize needs roi with " + std::to_string(2 * n) + " values");
    }
    p.roi_start.assign(in.size(), 0.0);
    p.roi_end.assign(in.size(), 1.0);
    for (size_t i = 0; i < n; ++i) {
      p.roi_start[static_cast<size_t>(axes[i])] = roi[i];
      p.roi_end[static_cast<size_t>(axes[i])] = roi[i + n];
    }
  }
  return Status::ok();
}

Result<ResizePlan> planResize(const NodeContext& ctx) {
  if (!ctx.hasInput(0)) return ctx.error("input X is missing");
  const Shape& in = ctx.inputs[0].shape;
  if (in.size() > kMaxResizeRank) {
    return ctx.unsupportedError("rank " + std::to_string(in.size()) + " is above " +
                                std::to_string(kMaxResizeRank));
  }
  ResizePlan p;
  DS_ASSIGN_OR_RETURN(p.interp, parseInterp(ctx));
  const bool is_upsample = ctx.node->op_type == "Upsample";
  if (is_upsample || ctx.opset < 11) {
    // Upsample and Resize-10: asymmetric coordinates, no roi, no sizes.
    p.coord = CoordMode::kAsymmetric;
    p.nearest = NearestMode::kSimple;
    if (is_upsample && ctx.opset < 7) {
      return ctx.unsupportedError("Upsample-1 (height_scale / width_scale) is not supported");
    }
    if (is_upsample && ctx.opset < 9) {
      // Upsample-7 carries the scales as a floats attribute.
      const Attribute* scales = ctx.node->attr("scales");
      if (!scales || scales->kind != Attribute::Kind::kFloats) {
        return ctx.error("the scales attribute (floats) is required");
      }
      p.scales.assign(scales->floats.begin(), scales->floats.end());
    } else {
      DS_ASSIGN_OR_RETURN(p.scales, constantFloats(ctx, 1, "scales (input 1)"));
    }
    if (p.scales.size() != in.size()) {
      return ctx.error("scales has " + std::to_string(p.scales.size()) + " values for rank " +
                       std::to_string(in.size()));
    }
    DS_RETURN_IF_ERROR(sizesFromScales(ctx, in, p));
    return p;
  }
  DS_ASSIGN_OR_RETURN(p.coord, parseCoordMode(ctx));
  DS_ASSIGN_OR_RETURN(p.nearest, parseNearestMode(ctx));
  p.cubic_a = ctx.node->floatOr("cubic_coeff_a", -0.75f);
  p.exclude_outside = ctx.node->intOr("exclude_outside", 0) != 0;
  p.extrapolation = ctx.node->floatOr("extrapolation_value", 0.0f);
  DS_RETURN_IF_ERROR(planResize11(ctx, in, p));
  return p;
}

// The input coordinate of output position x along one axis (op_resize.py's
// _interpolate_1d_with_x). Note the reference's "output width" is scale * in, not the rounded
// size, for align_corners and tf_crop_and_resize. Sets *outside for tf_crop_and_resize
// positions beyond the input.
double sourceCoordinate(const ResizePlan& p, size_t axis, int64_t in, int64_t out_int, int64_t x,
                        bool* outside) {
  const double scale = p.scales[axis];
  const double out = scale * static_cast<double>(in);
  const double xd = static_cast<double>(x);
  const double in_d = static_cast<double>(in);
  *outside = false;
  switch (p.coord) {
    case CoordMode::kHalfPixel:
      return (xd + 0.5) / scale - 0.5;
    case CoordMode::kHalfPixelSymmetric: {
      const double adjustment = static_cast<double>(out_int) / out;
      const double offset = in_d / 2.0 * (1.0 - adjustment);
      return offset + (xd + 0.5) / scale - 0.5;
    }
    case CoordMode::kPytorchHalfPixel:
      return out == 1.0 ? -0.5 : (xd + 0.5) / scale - 0.5;
    case CoordMode::kAlignCorners:
      return out == 1.0 ? 0.0 : xd * (in_d - 1.0) / (out - 1.0);
    case CoordMode::kAsymmetric:
      return xd / scale;
    case CoordMode::kTfHalfPixelForNn:
      return (xd + 0.5) / scale;
    case CoordMode::kTfCropAndResize: {
      const double start = p.roi_start[axis];
      const double end = p.roi_end[axis];
      double x_ori = out == 1.0 ? (end - start) * (in_d - 1.0) / 2.0
                                : xd * (end - start) * (in_d - 1.0) / (out - 1.0);
      x_ori += start * (in_d - 1.0);
      *outside = x_ori < 0.0 || x_ori > in_d - 1.0;
      return x_ori;
    }
  }
  return xd;
}

// The ONNX cubic convolution kernel's four weights for taps floor-1 .. floor+2.
void cubicWeights(double ratio, double a, double w[4]) {
  auto near = [a](double t) { return ((a + 2.0) * t - (a + 3.0)) * t * t + 1.0; };       // |t|<=1
  auto far = [a](double t) { return ((a * t - 5.0 * a) * t + 8.0 * a) * t - 4.0 * a; };  // 1<|t|<2
  w[0] = far(ratio + 1.0);
  w[1] = near(ratio);
  w[2] = near(1.0 - ratio);
  w[3] = far(2.0 - ratio);
}

// Taps of one axis: for output position o, entries [begin[o], begin[o + 1]) of index / weight.
struct AxisTaps {
  std::vector<int64_t> begin;
  std::vector<int64_t> index;  // input position, clamped into the axis
  std::vector<double> weight;
  std::vector<uint8_t> outside;  // tf_crop_and_resize: the output takes extrapolation_value
};

AxisTaps axisTaps(const ResizePlan& p, size_t axis, int64_t in, int64_t out) {
  AxisTaps t;
  t.begin.push_back(0);
  for (int64_t o = 0; o < out; ++o) {
    bool outside = false;
    const double x = sourceCoordinate(p, axis, in, out, o, &outside);
    t.outside.push_back(outside ? 1 : 0);
    const double fl = std::floor(x);
    const double ratio = x - fl;
    const int64_t base = static_cast<int64_t>(fl);
    int64_t idx[4] = {};
    double w[4] = {};
    int taps = 0;
    if (p.interp == Interp::kNearest) {
      int64_t pick = base;
      if (ratio != 0.0) {
        switch (p.nearest) {
          case NearestMode::kRoundPreferFloor:
            pick = ratio <= 0.5 ? base : base + 1;
            break;
          case NearestMode::kRoundPreferCeil:
            pick = ratio < 0.5 ? base : base + 1;
            break;
          case NearestMode::kFloor:
            pick = base;
            break;
          case NearestMode::kCeil:
            pick = base + 1;
            break;
          case NearestMode::kSimple:
            pick = p.scales[axis] < 1.0 ? base + 1 : base;
            break;
        }
      }
      idx[0] = pick;
      w[0] = 1.0;
      taps = 1;
    } else if (p.interp == Interp::kLinear) {
      idx[0] = base;
      idx[1] = base + 1;
      w[0] = 1.0 - ratio;
      w[1] = ratio;
      taps = 2;
    } else {
      for (int k = 0; k < 4; ++k) idx[k] = base - 1 + k;
      cubicWeights(ratio, p.cubic_a, w);
      taps = 4;
    }
    if (p.exclude_outside && p.interp != Interp::kNearest) {
      double sum = 0.0;
      for (int k = 0; k < taps; ++k) {
        if (idx[k] < 0 || idx[k] >= in) w[k] = 0.0;
        sum += w[k];
      }
      for (int k = 0; k < taps; ++k) w[k] = sum != 0.0 ? w[k] / sum : 0.0;
    }
    for (int k = 0; k < taps; ++k) {
      // Zero weights are dropped so that axes the resize leaves alone cost one tap.
      if (w[k] == 0.0 && taps > 1) continue;
      // Positions outside the input take the edge value, as the reference's edge padding.
      t.index.push_back(std::clamp<int64_t>(idx[k], 0, std::max<int64_t>(in - 1, 0)));
      t.weight.push_back(w[k]);
    }
    if (static_cast<int64_t>(t.index.size()) == t.begin.back()) {  // all weights zero
      t.index.push_back(0);
      t.weight.push_back(0.0);
    }
    t.begin.push_back(static_cast<int64_t>(t.index.size()));
  }
  return t;
}

// Nearest: output elements are copies, so any dtype works; the walk is a gather per axis.
class NearestKernel final : public Kernel {
 public:
  NearestKernel(const ResizePlan& p, const Shape& in, size_t elem_bytes)
      : out_(p.out), in_strides_(contiguousStrides(in)), elem_bytes_(elem_bytes) {
    for (size_t d = 0; d < in.size(); ++d) taps_.push_back(axisTaps(p, d, in[d], p.out[d]));
  }

  void run(const KernelArgs& args) override {
    if (shapeNumel(out_) == 0) return;
    switch (elem_bytes_) {
      case 1:
        return copy<uint8_t>(args);
      case 2:
        return copy<uint16_t>(args);
      case 4:
        return copy<uint32_t>(args);
      case 8:
        return copy<uint64_t>(args);
      default:
        return;
    }
  }

 private:
  template <class E>
  void copy(const KernelArgs& args) const {
    const E* src = static_cast<const E*>(args.inputs[0]);
    E* dst = static_cast<E*>(args.outputs[0]);
    if (out_.empty()) {
      *dst = *src;
      return;
    }
    walk(src, dst, 0);
  }

  template <class E>
  void walk(const E* src, E*& dst, size_t d) const {
    const AxisTaps& t = taps_[d];
    const int64_t stride = in_strides_[d];
    const bool last = d + 1 == out_.size();
    for (int64_t o = 0; o < out_[d]; ++o) {
      const E* s = src + t.index[static_cast<size_t>(t.begin[static_cast<size_t>(o)])] * stride;
      if (last) {
        *dst++ = *s;
      } else {
        walk(s, dst, d + 1);
      }
    }
  }

  Shape out_;
  std::vector<int64_t> in_strides_;
  std::vector<AxisTaps> taps_;
  size_t elem_bytes_;
};

// Linear / cubic, and nearest with tf_crop_and_resize extrapolation: weighted sums of taps.
template <class T>
class InterpolateKernel final : public Kernel {
 public:
  InterpolateKernel(const ResizePlan& p, const Shape& in)
      : out_(p.out), in_strides_(contiguousStrides(in)), extrapolation_(p.extrapolation) {
    for (size_t d = 0; d < in.size(); ++d) taps_.push_back(axisTaps(p, d, in[d], p.out[d]));
  }

  void run(const KernelArgs& args) override {
    if (shapeNumel(out_) == 0) return;
    const T* src = static_cast<const T*>(args.inputs[0]);
    T* dst = static_cast<T*>(args.outputs[0]);
    int64_t pos[kMaxResizeRank] = {};
    walk(src, dst, pos, 0);
  }

 private:
  void walk(const T* src, T*& dst, int64_t* pos, size_t d) const {
    if (d == out_.size()) {
      for (size_t a = 0; a < out_.size(); ++a) {
        if (taps_[a].outside[static_cast<size_t>(pos[a])]) {
          *dst++ = static_cast<T>(extrapolation_);
          return;
        }
      }
      *dst++ = static_cast<T>(combine(src, pos, 0, 0));
      return;
    }
    for (pos[d] = 0; pos[d] < out_[d]; ++pos[d]) walk(src, dst, pos, d + 1);
  }

  // Sum over the taps of axes d.. of weight products times the input value.
  double combine(const T* src, const int64_t* pos, size_t d, int64_t offset) const {
    if (d == out_.size()) return static_cast<double>(src[offset]);
    const AxisTaps& t = taps_[d];
    const size_t o = static_cast<size_t>(pos[d]);
    double sum = 0.0;
    for (int64_t k = t.begin[o]; k < t.begin[o + 1]; ++k) {
      const size_t i = static_cast<size_t>(k);
      sum += t.weight[i] * combine(src, pos, d + 1, offset + t.index[i] * in_strides_[d]);
    }
    return sum;
  }

  Shape out_;
  std::vector<int64_t> in_strides_;
  std::vector<AxisTaps> taps_;
  double extrapolation_;
};

Status inferResizeLike(NodeContext& ctx) {
  DS_ASSIGN_OR_RETURN(ResizePlan plan, planResize(ctx));
  ctx.outputs[0] = ValueDesc{ctx.inputs[0].dtype, plan.out, Layout::kPlain};
  return Status::ok();
}

Result<std::unique_ptr<Kernel>> makeResizeLike(const NodeContext& ctx, std::string* why_not) {
  DS_ASSIGN_OR_RETURN(ResizePlan plan, planResize(ctx));
  const DType dtype = ctx.inputs[0].dtype;
  const Shape& in = ctx.inputs[0].shape;
  if (plan.interp == Interp::kNearest && plan.coord != CoordMode::kTfCropAndResize) {
    if (!acceptStorable(dtype, why_not)) return std::unique_ptr<Kernel>();
    if (dtypeSize(dtype) > 8) {
      *why_not = "elements wider than 8 bytes";
      return std::unique_ptr<Kernel>();
    }
    return std::unique_ptr<Kernel>(std::make_unique<NearestKernel>(plan, in, dtypeSize(dtype)));
  }
  if (widen::isNarrowFloat(dtype)) return widen::widened(ctx, why_not, &makeResizeLike);
  if (dtype == DType::kFloat32) {
    return std::unique_ptr<Kernel>(std::make_unique<InterpolateKernel<float>>(plan, in));
  }
  if (dtype == DType::kFloat64) {
    return std::unique_ptr<Kernel>(std::make_unique<InterpolateKernel<double>>(plan, in));
  }
  *why_not = "the reference " + ctx.node->op_type +
             " interpolates float32, float64, float16 and bfloat16 only (nearest without "
             "tf_crop_and_resize moves any dtype), not " +
             std::string(dtypeName(dtype));
  return std::unique_ptr<Kernel>();
}

}  // namespace

Status inferResize(NodeContext& ctx) {
  return inferResizeLike(ctx);
}

Result<std::unique_ptr<Kernel>> makeRefResize(const NodeContext& ctx, std::string* why_not) {
  return makeResizeLike(ctx, why_not);
}

Status inferUpsample(NodeContext& ctx) {
  return inferResizeLike(ctx);
}

Result<std::unique_ptr<Kernel>> makeRefUpsample(const NodeContext& ctx, std::string* why_not) {
  return makeResizeLike(ctx, why_not);
}

}  // namespace detslim
