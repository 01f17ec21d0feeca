// Reference convolutions: Conv, FusedConv (Conv + activation + residual Sum, made by the
// engine's fusion pass), ConvTranspose, ConvInteger and QLinearConv over 1-D, 2-D and 3-D
// inputs with groups, strides, dilations, pads and auto_pad.
//
// Direct convolution, one (image, output channel) plane at a time: for every input channel and
// kernel tap the whole output plane is updated, with the innermost loop running along the output
// width over a precomputed valid range (no per-element bounds checks, vectorisable for stride 1).
// That runs yolov5n-sized layers in well under a second each.

#include <algorithm>
#include <cmath>
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
bool isFloatConv(DType d) {
  return d == DType::kFloat32 || d == DType::kFloat64;
}
bool isInt8Like(DType d) {
  return d == DType::kUInt8 || d == DType::kInt8;
}

// Channel bookkeeping shared by every convolution.
struct ConvPlan {
  int64_t batch = 0;
  int64_t in_channels = 0;
  int64_t out_channels = 0;
  int64_t groups = 1;
  int64_t in_per_group = 0;
  int64_t out_per_group = 0;
  Geometry3 geo{};
  Shape out;
  int64_t inPlane() const { return spatial::inVolume(geo); }
  int64_t outPlane() const { return spatial::outVolume(geo); }
  int64_t kernelVolume() const { return spatial::kernelVolume(geo); }
};

// Checks X [N, C, spatial...] and W and returns the spatial rank; the reference handles 1-3.
Result<size_t> spatialRank(const NodeContext& ctx, size_t x_index, size_t w_index) {
  if (!ctx.hasInput(x_index) || !ctx.hasInput(w_index)) {
    return ctx.error("inputs X (" + std::to_string(x_index) + ") and W (" +
                     std::to_string(w_index) + ") are required");
  }
  const Shape& x = ctx.inputs[x_index].shape;
  const Shape& w = ctx.inputs[w_index].shape;
  if (x.size() < 3) return ctx.error("X " + shapeToString(x) + " must be N x C x spatial dims");
  if (w.size() != x.size()) {
    return ctx.error("W " + shapeToString(w) + " and X " + shapeToString(x) +
                     " have different ranks");
  }
  const size_t rank = x.size() - 2;
  if (rank > spatial::kMaxSpatialRank) {
    return ctx.unsupportedError("convolution over " + std::to_string(rank) +
                                " spatial dims; the reference kernels handle 1 to 3");
  }
  return rank;
}

Status checkBias(const NodeContext& ctx, size_t b_index, int64_t out_channels) {
  if (!ctx.hasInput(b_index)) return Status::ok();
  const Shape& b = ctx.inputs[b_index].shape;
  if (b.size() != 1 || b[0] != out_channels) {
    return ctx.error("bias " + shapeToString(b) + " must be [" + std::to_string(out_channels) +
                     "]");
  }
  return Status::ok();
}

// Conv geometry: X [N, C, ...], W [M, C / group, k...] -> Y [N, M, ...].
Result<ConvPlan> planConv(const NodeContext& ctx, size_t x_index, size_t w_index, size_t b_index) {
  DS_ASSIGN_OR_RETURN(size_t rank, spatialRank(ctx, x_index, w_index));
  const Shape& x = ctx.inputs[x_index].shape;
  const Shape& w = ctx.inputs[w_index].shape;
  ConvPlan p;
  p.batch = x[0];
  p.in_channels = x[1];
  p.out_channels = w[0];
  p.groups = ctx.node->intOr("group", 1);
  if (p.groups < 1 || p.in_channels % p.groups != 0 || p.out_channels % p.groups != 0) {
    return ctx.error("group " + std::to_string(p.groups) + " does not divide the " +
                     std::to_string(p.in_channels) + " input and " +
                     std::to_string(p.out_channels) + " output channels");
  }
  p.in_per_group = p.in_channels / p.groups;
  p.out_per_group = p.out_channels / p.groups;
  if (w[1] != p.in_per_group) {
    return ctx.error("W " + shapeToString(w) + " needs " + std::to_string(p.in_per_group) +
                     " input channels per group (X " + shapeToString(x) + ", group " +
                     std::to_string(p.groups) + ")");
  }
  DS_RETURN_IF_ERROR(checkBias(ctx, b_index, p.out_channels));
  DS_ASSIGN_OR_RETURN(
      std::vector<int64_t> kernel,
      spatial::kernelShape(ctx, rank, std::vector<int64_t>(w.begin() + 2, w.end())));
  DS_ASSIGN_OR_RETURN(std::vector<WindowAxis> axes,
                      spatial::windowGeometry(ctx, Shape(x.begin() + 2, x.end()), kernel, {}));
  p.geo = spatial::toGeometry3(axes);
  p.out = {p.batch, p.out_channels};
  for (const WindowAxis& a : axes) p.out.push_back(a.out);
  return p;
}

// dst[o] += w * (src[o * stride + offset] - src_zp) over the whole output plane of one
// (input channel, output channel) pair. Acc is the accumulator type (float, double, int32);
// zero points are subtracted only when kZeroPoints (the integer convolutions).
template <class Acc, class Src, class Wei, bool kZeroPoints>
void accumulateChannel(const Geometry3& g, const Src* src, Acc src_zp, const Wei* wei, Acc wei_zp,
                       Acc* dst) {
  const WindowAxis& ad = g[0];
  const WindowAxis& ah = g[1];
  const WindowAxis& aw = g[2];
  int64_t tap = 0;
  for (int64_t kd = 0; kd < ad.kernel; ++kd) {
    int64_t d_lo, d_hi;
    spatial::validOutputRange(ad, kd * ad.dilation, &d_lo, &d_hi);
    for (int64_t kh = 0; kh < ah.kernel; ++kh) {
      int64_t h_lo, h_hi;
      spatial::validOutputRange(ah, kh * ah.dilation, &h_lo, &h_hi);
      for (int64_t kw = 0; kw < aw.kernel; ++kw, ++tap) {
        Acc w = static_cast<Acc>(wei[tap]);
        if constexpr (kZeroPoints) w -= wei_zp;
        int64_t w_lo, w_hi;
        spatial::validOutputRange(aw, kw * aw.dilation, &w_lo, &w_hi);
        const int64_t w_offset = kw * aw.dilation - aw.pad_begin;
        for (int64_t od = d_lo; od < d_hi; ++od) {
          const int64_t id = od * ad.stride - ad.pad_begin + kd * ad.dilation;
          for (int64_t oh = h_lo; oh < h_hi; ++oh) {
            const int64_t ih = oh * ah.stride - ah.pad_begin + kh * ah.dilation;
            const Src* srow = src + (id * ah.in + ih) * aw.in;
            Acc* drow = dst + (od * ah.out + oh) * aw.out;
            for (int64_t ow = w_lo; ow < w_hi; ++ow) {
              Acc v = static_cast<Acc>(srow[ow * aw.stride + w_offset]);
              if constexpr (kZeroPoints) v -= src_zp;
              drow[ow] += w * v;
            }
          }
        }
      }
    }
  }
}

}  // namespace

// ---- Conv / FusedConv ----------------------------------------------------------------------

namespace {

enum class Activation {
  kNone,
  kRelu,
  kLeakyRelu,
  kSigmoid,
  kSwish,
  kHardSwish,
  kHardSigmoid,
  kClip,
  kTanh
};

// FusedConv's epilogue: Y = act(conv + Sum) when sum_first, else act(conv) + Sum.
struct Epilogue {
  Activation act = Activation::kNone;
  float alpha = 0.0f;
  float beta = 0.0f;
  bool has_sum = false;
  bool sum_first = false;
};

// The ONNX op's defaults when activation_alpha / activation_beta are absent.
Result<Epilogue> parseEpilogue(const NodeContext& ctx) {
  Epilogue e;
  const Node& node = *ctx.node;
  const std::string name = node.stringOr("activation", "");
  struct Entry {
    const char* name;
    Activation act;
    float alpha;
    float beta;
  };
  static const Entry kEntries[] = {
      {"", Activation::kNone, 0.0f, 0.0f},
      {"relu", Activation::kRelu, 0.0f, 0.0f},
      {"leaky_relu", Activation::kLeakyRelu, 0.01f, 0.0f},
      {"sigmoid", Activation::kSigmoid, 0.0f, 0.0f},
      {"swish", Activation::kSwish, 1.0f, 0.0f},  // x * sigmoid(alpha * x); SiLU is alpha 1
      {"hardswish", Activation::kHardSwish, 1.0f / 6.0f, 0.5f},
      {"hardsigmoid", Activation::kHardSigmoid, 0.2f, 0.5f},
      {"clip", Activation::kClip, -std::numeric_limits<float>::infinity(),
       std::numeric_limits<float>::infinity()},
      {"tanh", Activation::kTanh, 0.0f, 0.0f},
  };
  const Entry* entry = nullptr;
  for (const Entry& candidate : kEntries) {
    if (name == candidate.name) entry = &candidate;
  }
  if (!entry) return ctx.error("unknown activation '" + name + "'");
  e.act = entry->act;
  e.alpha = node.floatOr("activation_alpha", entry->alpha);
  e.beta = node.floatOr("activation_beta", entry->beta);
  e.sum_first = node.intOr("sum_first", 0) != 0;
  e.has_sum = ctx.hasInput(3);
  return e;
}

template <class T>
T activate(const Epilogue& e, T x) {
  const T alpha = static_cast<T>(e.alpha);
  const T beta = static_cast<T>(e.beta);
  switch (e.act) {
    case Activation::kNone:
      return x;
    case Activation::kRelu:
      return x > T(0) ? x : T(0);
    case Activation::kLeakyRelu:
      return x >= T(0) ? x : alpha * x;
    case Activation::kSigmoid:
      return T(1) / (T(1) + std::exp(-x));
    case Activation::kSwish:
      return x / (T(1) + std::exp(-alpha * x));
    case Activation::kHardSwish:
      return x * std::clamp(alpha * x + beta, T(0), T(1));
    case Activation::kHardSigmoid:
      return std::clamp(alpha * x + beta, T(0), T(1));
    case Activation::kClip:
      return std::min(std::max(x, alpha), beta);
    case Activation::kTanh:
      return std::tanh(x);
  }
  return x;
}

template <class T>
class ConvKernel final : public Kernel {
 public:
  ConvKernel(ConvPlan plan, Epilogue epilogue) : p_(plan), e_(epilogue) {}

  void run(const KernelArgs& args) override {
    const T* x = static_cast<const T*>(args.inputs[0]);
    const T* w = static_cast<const T*>(args.inputs[1]);
    const T* b = args.inputs.size() > 2 ? static_cast<const T*>(args.inputs[2]) : nullptr;
    const T* sum = e_.has_sum ? static_cast<const T*>(args.inputs[3]) : nullptr;
    T* y = static_cast<T*>(args.outputs[0]);
    const int64_t in_plane = p_.inPlane();
    const int64_t out_plane = p_.outPlane();
    const int64_t kvol = p_.kernelVolume();
    for (int64_t n = 0; n < p_.batch; ++n) {
      for (int64_t m = 0; m < p_.out_channels; ++m) {
        const int64_t g = m / p_.out_per_group;
        const int64_t plane = (n * p_.out_channels + m) * out_plane;
        T* dst = y + plane;
        std::fill_n(dst, out_plane, b ? b[m] : T(0));
        for (int64_t ic = 0; ic < p_.in_per_group; ++ic) {
          const T* src = x + (n * p_.in_channels + g * p_.in_per_group + ic) * in_plane;
          accumulateChannel<T, T, T, false>(p_.geo, src, T(0),
                                            w + (m * p_.in_per_group + ic) * kvol, T(0), dst);
        }
        if (e_.act == Activation::kNone && !sum) continue;
        const T* res = sum ? sum + plane : nullptr;
        for (int64_t i = 0; i < out_plane; ++i) {
          if (!res) {
            dst[i] = activate(e_, dst[i]);
          } else if (e_.sum_first) {
            dst[i] = activate(e_, dst[i] + res[i]);
          } else {
            dst[i] = activate(e_, dst[i]) + res[i];
          }
        }
      }
    }
  }

 private:
  ConvPlan p_;
  Epilogue e_;
};

Status checkFloatInputs(const NodeContext& ctx, size_t count) {
  for (size_t i = 1; i < count; ++i) {
    if (ctx.hasInput(i) && ctx.inputs[i].dtype != ctx.inputs[0].dtype) {
      return ctx.error("input " + std::to_string(i) + " is " + dtypeStr(ctx.inputs[i].dtype) +
                       ", X is " + dtypeStr(ctx.inputs[0].dtype));
    }
  }
  return Status::ok();
}

Result<std::unique_ptr<Kernel>> makeFloatConv(const NodeContext& ctx, std::string* why_not,
                                              const Epilogue& epilogue) {
  const DType dtype = ctx.inputs[0].dtype;
  if (!isFloatConv(dtype)) {
    *why_not = "the reference " + ctx.node->op_type +
               " computes float32, float64, float16 and bfloat16 only, not " + dtypeStr(dtype);
    return std::unique_ptr<Kernel>();
  }
  DS_ASSIGN_OR_RETURN(ConvPlan plan, planConv(ctx, 0, 1, 2));
  if (dtype == DType::kFloat32) {
    return std::unique_ptr<Kernel>(std::make_unique<ConvKernel<float>>(plan, epilogue));
  }
  return std::unique_ptr<Kernel>(std::make_unique<ConvKernel<double>>(plan, epilogue));
}

}  // namespace

Status inferConv(NodeContext& ctx) {
  DS_ASSIGN_OR_RETURN(ConvPlan plan, planConv(ctx, 0, 1, 2));
  DS_RETURN_IF_ERROR(checkFloatInputs(ctx, 3));
  ctx.outputs[0] = ValueDesc{ctx.inputs[0].dtype, plan.out, Layout::kPlain};
  return Status::ok();
}

Result<std::unique_ptr<Kernel>> makeRefConv(const NodeContext& ctx, std::string* why_not) {
  if (widen::needsWidening(ctx)) return widen::widened(ctx, why_not, &makeRefConv);
  return makeFloatConv(ctx, why_not, Epilogue{});
}

Status inferFusedConv(NodeContext& ctx) {
  DS_ASSIGN_OR_RETURN(ConvPlan plan, planConv(ctx, 0, 1, 2));
  DS_RETURN_IF_ERROR(checkFloatInputs(ctx, 4));
  DS_RETURN_IF_ERROR(parseEpilogue(ctx).status());
  if (ctx.hasInput(3) && ctx.inputs[3].shape != plan.out) {
    return ctx.error("Sum (input 3) " + shapeToString(ctx.inputs[3].shape) +
                     " must have the output's shape " + shapeToString(plan.out));
  }
  ctx.outputs[0] = ValueDesc{ctx.inputs[0].dtype, plan.out, Layout::kPlain};
  return Status::ok();
}

Result<std::unique_ptr<Kernel>> makeRefFusedConv(const NodeContext& ctx, std::string* why_not) {
  if (widen::needsWidening(ctx)) return widen::widened(ctx, why_not, &makeRefFusedConv);
  DS_ASSIGN_OR_RETURN(Epilogue epilogue, parseEpilogue(ctx));
  return makeFloatConv(ctx, why_not, epilogue);
}

// ---- ConvTranspose -------------------------------------------------------------------------

namespace {

// ConvTranspose geometry: X [N, C, ...], W [C, M / group, k...] -> Y [N, M, ...]. In geo, `in`
// is X's size and `out` Y's; pad_begin crops the start of the full transposed output.
Result<ConvPlan> planConvTranspose(const NodeContext& ctx) {
  DS_ASSIGN_OR_RETURN(size_t rank, spatialRank(ctx, 0, 1));
  const Shape& x = ctx.inputs[0].shape;
  const Shape& w = ctx.inputs[1].shape;
  ConvPlan p;
  p.batch = x[0];
  p.in_channels = x[1];
  p.groups = ctx.node->intOr("group", 1);
  if (p.groups < 1 || p.in_channels % p.groups != 0) {
    return ctx.error("group " + std::to_string(p.groups) + " does not divide the " +
                     std::to_string(p.in_channels) + " input channels");
  }
  if (w[0] != p.in_channels) {
    return ctx.error("W " + shapeToString(w) + " must have X's " + std::to_string(p.in_channels) +
                     " input channels first");
  }
  p.in_per_group = p.in_channels / p.groups;
  p.out_per_group = w[1];
  p.out_channels = w[1] * p.groups;
  DS_RETURN_IF_ERROR(checkBias(ctx, 2, p.out_channels));
  DS_ASSIGN_OR_RETURN(
      std::vector<int64_t> kernel,
      spatial::kernelShape(ctx, rank, std::vector<int64_t>(w.begin() + 2, w.end())));
  DS_ASSIGN_OR_RETURN(spatial::AutoPad auto_pad, spatial::parseAutoPad(ctx));
  DS_ASSIGN_OR_RETURN(std::vector<int64_t> strides,
                      spatial::perAxisAttr(ctx, "strides", rank, 1, 1));
  DS_ASSIGN_OR_RETURN(std::vector<int64_t> dilations,
                      spatial::perAxisAttr(ctx, "dilations", rank, 1, 1));
  DS_ASSIGN_OR_RETURN(std::vector<int64_t> output_padding,
                      spatial::perAxisAttr(ctx, "output_padding", rank, 0, 0));
  DS_ASSIGN_OR_RETURN(std::vector<int64_t> pads, spatial::padsAttr(ctx, rank));
  std::vector<int64_t> output_shape = ctx.node->intsOr("output_shape", {});
  if (!output_shape.empty()) {
    // Some exporters write N and C too; the spatial dims are the last `rank`.
    if (output_shape.size() == rank + 2)
      output_shape.erase(output_shape.begin(), output_shape.begin() + 2);
    if (output_shape.size() != rank) {
      return ctx.error("output_shape has " + std::to_string(output_shape.size()) + " values for " +
                       std::to_string(rank) + " spatial dims");
    }
  }
  std::vector<WindowAxis> axes(rank);
  for (size_t i = 0; i < rank; ++i) {
    WindowAxis& a = axes[i];
    a.in = x[i + 2];
    a.kernel = kernel[i];
    a.stride = strides[i];
    a.dilation = dilations[i];
    const int64_t full = a.stride * (a.in - 1) + output_padding[i] + a.span();
    const bool same =
        auto_pad == spatial::AutoPad::kSameUpper || auto_pad == spatial::AutoPad::kSameLower;
    if (!output_shape.empty() || same) {
      // The spec's rule: pads follow from the requested size; SAME_UPPER puts the smaller half
      // first, everything else the larger half. A requested size beyond the full output gets
      // the extra positions at the end (they hold only the bias), as onnxruntime does.
      a.out = !output_shape.empty() ? output_shape[i] : a.in * a.stride;
      const int64_t total = std::max<int64_t>(0, full - a.out);
      a.pad_begin = auto_pad == spatial::AutoPad::kSameUpper ? total / 2 : total - total / 2;
      a.pad_end = full - a.out - a.pad_begin;
    } else if (auto_pad == spatial::AutoPad::kValid) {
      a.out = full;
    } else {
      a.pad_begin = pads[i];
      a.pad_end = pads[i + rank];
      a.out = full - a.pad_begin - a.pad_end;
    }
    if (a.out < 0) {
      return ctx.error("pads leave spatial axis " + std::to_string(i) + " with a negative size");
    }
  }
  p.geo = spatial::toGeometry3(axes);
  p.out = {p.batch, p.out_channels};
  for (const WindowAxis& a : axes) p.out.push_back(a.out);
  return p;
}

// The input positions i in [*lo, *hi) that a tap at `offset` scatters inside the output:
// 0 <= i * stride - pad_begin + offset < out.
void scatterRange(const WindowAxis& a, int64_t offset, int64_t* lo, int64_t* hi) {
  *lo = std::max<int64_t>(0, spatial::ceilDiv(a.pad_begin - offset, a.stride));
  *hi = std::min<int64_t>(a.in, spatial::floorDiv(a.out - 1 + a.pad_begin - offset, a.stride) + 1);
  if (*hi < *lo) *hi = *lo;
}

// dst[i * stride + offset] += w * src[i] for one (input channel, output channel) pair.
template <class T>
void scatterChannel(const Geometry3& g, const T* src, const T* wei, T* dst) {
  const WindowAxis& ad = g[0];
  const WindowAxis& ah = g[1];
  const WindowAxis& aw = g[2];
  int64_t tap = 0;
  for (int64_t kd = 0; kd < ad.kernel; ++kd) {
    int64_t d_lo, d_hi;
    scatterRange(ad, kd * ad.dilation, &d_lo, &d_hi);
    for (int64_t kh = 0; kh < ah.kernel; ++kh) {
      int64_t h_lo, h_hi;
      scatterRange(ah, kh * ah.dilation, &h_lo, &h_hi);
      for (int64_t kw = 0; kw < aw.kernel; ++kw, ++tap) {
        const T w = wei[tap];
        int64_t w_lo, w_hi;
        scatterRange(aw, kw * aw.dilation, &w_lo, &w_hi);
        const int64_t w_offset = kw * aw.dilation - aw.pad_begin;
        for (int64_t id = d_lo; id < d_hi; ++id) {
          const int64_t od = id * ad.stride - ad.pad_begin + kd * ad.dilation;
          for (int64_t ih = h_lo; ih < h_hi; ++ih) {
            const int64_t oh = ih * ah.stride - ah.pad_begin + kh * ah.dilation;
            const T* srow = src + (id * ah.in + ih) * aw.in;
            T* drow = dst + (od * ah.out + oh) * aw.out;
            for (int64_t iw = w_lo; iw < w_hi; ++iw)
              drow[iw * aw.stride + w_offset] += w * srow[iw];
          }
        }
      }
    }
  }
}

template <class T>
class ConvTransposeKernel final : public Kernel {
 public:
  explicit ConvTransposeKernel(ConvPlan plan) : p_(plan) {}

  void run(const KernelArgs& args) override {
    const T* x = static_cast<const T*>(args.inputs[0]);
    const T* w = static_cast<const T*>(args.inputs[1]);
    const T* b = args.inputs.size() > 2 ? static_cast<const T*>(args.inputs[2]) : nullptr;
    T* y = static_cast<T*>(args.outputs[0]);
    const int64_t in_plane = p_.inPlane();
    const int64_t out_plane = p_.outPlane();
    const int64_t kvol = p_.kernelVolume();
    for (int64_t n = 0; n < p_.batch; ++n) {
      for (int64_t m = 0; m < p_.out_channels; ++m) {
        const int64_t g = m / p_.out_per_group;
        const int64_t oc = m % p_.out_per_group;
        T* dst = y + (n * p_.out_channels + m) * out_plane;
        std::fill_n(dst, out_plane, b ? b[m] : T(0));
        for (int64_t ic = 0; ic < p_.in_per_group; ++ic) {
          const int64_t c = g * p_.in_per_group + ic;
          scatterChannel<T>(p_.geo, x + (n * p_.in_channels + c) * in_plane,
                            w + (c * p_.out_per_group + oc) * kvol, dst);
        }
      }
    }
  }

 private:
  ConvPlan p_;
};

}  // namespace

Status inferConvTranspose(NodeContext& ctx) {
  DS_ASSIGN_OR_RETURN(ConvPlan plan, planConvTranspose(ctx));
  DS_RETURN_IF_ERROR(checkFloatInputs(ctx, 3));
  ctx.outputs[0] = ValueDesc{ctx.inputs[0].dtype, plan.out, Layout::kPlain};
  return Status::ok();
}

Result<std::unique_ptr<Kernel>> makeRefConvTranspose(const NodeContext& ctx, std::string* why_not) {
  if (widen::needsWidening(ctx)) return widen::widened(ctx, why_not, &makeRefConvTranspose);
  const DType dtype = ctx.inputs[0].dtype;
  if (!isFloatConv(dtype)) {
    *why_not =
        "the reference ConvTranspose computes float32, float64, float16 and bfloat16 only, not " +
        dtypeStr(dtype);
    return std::unique_ptr<Kernel>();
  }
  DS_ASSIGN_OR_RETURN(ConvPlan plan, planConvTranspose(ctx));
  if (dtype == DType::kFloat32) {
    return std::unique_ptr<Kernel>(std::make_unique<ConvTransposeKernel<float>>(plan));
  }
  return std::unique_ptr<Kernel>(std::make_unique<ConvTransposeKernel<double>>(plan));
}

// ---- ConvInteger / QLinearConv -------------------------------------------------------------

namespace {

// Where the integer convolutions find their inputs.
struct IntConvInputs {
  size_t x = 0;
  size_t x_zp = 0;
  size_t w = 0;
  size_t w_zp = 0;
  size_t bias = 0;  // int32 bias (QLinearConv), or kNoInput
};

// An input index no node has: ConvInteger takes no bias.
constexpr size_t kNoInput = std::numeric_limits<size_t>::max();

constexpr IntConvInputs kConvIntegerInputs{0, 2, 1, 3, kNoInput};
constexpr IntConvInputs kQLinearConvInputs{0, 2, 3, 5, 8};

// A zero point or scale that is one value or one per output channel.
Status checkPerChannel(const NodeContext& ctx, size_t index, const char* name, DType dtype,
                       int64_t out_channels, bool allow_per_channel) {
  if (!ctx.hasInput(index)) return Status::ok();
  const ValueDesc& v = ctx.inputs[index];
  if (v.dtype != dtype) {
    return ctx.error(std::string(name) + " (input " + std::to_string(index) + ") is " +
                     dtypeStr(v.dtype) + ", expected " + dtypeStr(dtype));
  }
  const bool scalar = v.numel() == 1 && v.shape.size() <= 1;
  const bool per_channel = allow_per_channel && v.shape.size() == 1 && v.shape[0] == out_channels;
  if (!scalar && !per_channel) {
    return ctx.error(std::string(name) + " " + shapeToString(v.shape) + " must be a scalar" +
                     (allow_per_channel ? " or [" + std::to_string(out_channels) + "]" : ""));
  }
  return Status::ok();
}

Result<ConvPlan> planIntConv(const NodeContext& ctx, const IntConvInputs& in) {
  DS_ASSIGN_OR_RETURN(ConvPlan plan, planConv(ctx, in.x, in.w, in.bias));
  const DType xt = ctx.inputs[in.x].dtype;
  const DType wt = ctx.inputs[in.w].dtype;
  if (!isInt8Like(xt) || !isInt8Like(wt)) {
    return ctx.error("X and W must be uint8 or int8, they are " + dtypeStr(xt) + " and " +
                     dtypeStr(wt));
  }
  DS_RETURN_IF_ERROR(checkPerChannel(ctx, in.x_zp, "x_zero_point", xt, plan.out_channels, false));
  DS_RETURN_IF_ERROR(checkPerChannel(ctx, in.w_zp, "w_zero_point", wt, plan.out_channels, true));
  return plan;
}

// Accumulates the int32 convolution of image n, output channel m into acc (bias preset).
template <class TX, class TW>
void intConvChannel(const ConvPlan& p, const TX* x, int32_t x_zp, const TW* w, int32_t w_zp,
                    int64_t n, int64_t m, int32_t* acc) {
  const int64_t g = m / p.out_per_group;
  const int64_t kvol = p.kernelVolume();
  for (int64_t ic = 0; ic < p.in_per_group; ++ic) {
    const TX* src = x + (n * p.in_channels + g * p.in_per_group + ic) * p.inPlane();
    // Padding holds x_zero_point, which contributes nothing after the subtraction: skipping
    // padded taps is exact.
    accumulateChannel<int32_t, TX, TW, true>(p.geo, src, x_zp, w + (m * p.in_per_group + ic) * kvol,
                                             w_zp, acc);
  }
}

template <class T>
int32_t zeroPointAt(const void* zp, bool per_channel, int64_t m) {
  return zp ? static_cast<int32_t>(static_cast<const T*>(zp)[per_channel ? m : 0]) : 0;
}

template <class TX, class TW>
class ConvIntegerKernel final : public Kernel {
 public:
  ConvIntegerKernel(ConvPlan plan, bool w_zp_per_channel)
      : p_(plan), w_zp_per_channel_(w_zp_per_channel) {}

  void run(const KernelArgs& args) override {
    const auto* x = static_cast<const TX*>(args.inputs[0]);
    const auto* w = static_cast<const TW*>(args.inputs[1]);
    const void* x_zp = args.inputs.size() > 2 ? args.inputs[2] : nullptr;
    const void* w_zp = args.inputs.size() > 3 ? args.inputs[3] : nullptr;
    auto* y = static_cast<int32_t*>(args.outputs[0]);
    const int64_t out_plane = p_.outPlane();
    for (int64_t n = 0; n < p_.batch; ++n) {
      for (int64_t m = 0; m < p_.out_channels; ++m) {
        int32_t* acc = y + (n * p_.out_channels + m) * out_plane;
        std::fill_n(acc, out_plane, 0);
        intConvChannel(p_, x, zeroPointAt<TX>(x_zp, false, m), w,
                       zeroPointAt<TW>(w_zp, w_zp_per_channel_, m), n, m, acc);
      }
    }
  }

 private:
  ConvPlan p_;
  bool w_zp_per_channel_;
};

template <class TX, class TW, class TY>
class QLinearConvKernel final : public Kernel {
 public:
  QLinearConvKernel(ConvPlan plan, bool w_scale_per_channel, bool w_zp_per_channel)
      : p_(plan), w_scale_per_channel_(w_scale_per_channel), w_zp_per_channel_(w_zp_per_channel) {}

  size_t scratchBytes() const override {
    return static_cast<size_t>(p_.outPlane()) * sizeof(int32_t);
  }

  void run(const KernelArgs& args) override {
    const auto* x = static_cast<const TX*>(args.inputs[0]);
    const float x_scale = *static_cast<const float*>(args.inputs[1]);
    const void* x_zp = args.inputs[2];
    const auto* w = static_cast<const TW*>(args.inputs[3]);
    const auto* w_scale = static_cast<const float*>(args.inputs[4]);
    const void* w_zp = args.inputs[5];
    const float y_scale = *static_cast<const float*>(args.inputs[6]);
    const void* y_zp = args.inputs[7];
    const auto* bias =
        args.inputs.size() > 8 ? static_cast<const int32_t*>(args.inputs[8]) : nullptr;
    auto* y = static_cast<TY*>(args.outputs[0]);
    auto* acc = static_cast<int32_t*>(args.scratch);
    const int64_t out_plane = p_.outPlane();
    const double lo = std::numeric_limits<TY>::min();
    const double hi = std::numeric_limits<TY>::max();
    const double y_zero = zeroPointAt<TY>(y_zp, false, 0);
    for (int64_t n = 0; n < p_.batch; ++n) {
      for (int64_t m = 0; m < p_.out_channels; ++m) {
        std::fill_n(acc, out_plane, bias ? bias[m] : 0);
        intConvChannel(p_, x, zeroPointAt<TX>(x_zp, false, m), w,
                       zeroPointAt<TW>(w_zp, w_zp_per_channel_, m), n, m, acc);
        // Requantise in double as the ONNX reference does (numpy promotes int32 * float32),
        // rounding half to even.
        const double scale = static_cast<double>(x_scale) *
                             static_cast<double>(w_scale[w_scale_per_channel_ ? m : 0]) /
                             static_cast<double>(y_scale);
        TY* dst = y + (n * p_.out_channels + m) * out_plane;
        for (int64_t i = 0; i < out_plane; ++i) {
          const double q = std::nearbyint(static_cast<double>(acc[i]) * scale) + y_zero;
          dst[i] = static_cast<TY>(std::clamp(q, lo, hi));
        }
      }
    }
  }

 private:
  ConvPlan p_;
  bool w_scale_per_channel_;
  bool w_zp_per_channel_;
};

bool isPerChannel(const NodeContext& ctx, size_t index) {
  return ctx.hasInput(index) && ctx.inputs[index].numel() > 1;
}

// Instantiates Kernel<TX, TW, Extra...> for the runtime X and W dtypes (uint8 / int8 each).
template <template <class, class, class...> class K, class... Extra, class... Args>
std::unique_ptr<Kernel> dispatchInt8(DType xt, DType wt, Args&&... args) {
  if (xt == DType::kUInt8) {
    if (wt == DType::kUInt8) return std::make_unique<K<uint8_t, uint8_t, Extra...>>(args...);
    return std::make_unique<K<uint8_t, int8_t, Extra...>>(args...);
  }
  if (wt == DType::kUInt8) return std::make_unique<K<int8_t, uint8_t, Extra...>>(args...);
  return std::make_unique<K<int8_t, int8_t, Extra...>>(args...);
}

}  // namespace

Status inferConvInteger(NodeContext& ctx) {
  DS_ASSIGN_OR_RETURN(ConvPlan plan, planIntConv(ctx, kConvIntegerInputs));
  ctx.outputs[0] = ValueDesc{DType::kInt32, plan.out, Layout::kPlain};
  return Status::ok();
}

Result<std::unique_ptr<Kernel>> makeRefConvInteger(const NodeContext& ctx,
                                                   std::string* /*why_not*/) {
  DS_ASSIGN_OR_RETURN(ConvPlan plan, planIntConv(ctx, kConvIntegerInputs));
  return dispatchInt8<ConvIntegerKernel>(ctx.inputs[0].dtype, ctx.inputs[1].dtype, plan,
                                         isPerChannel(ctx, kConvIntegerInputs.w_zp));
}

namespace {

Result<ConvPlan> planQLinearConv(const NodeContext& ctx) {
  for (size_t i : {1, 2, 4, 5, 6, 7}) {
    if (!ctx.hasInput(i)) return ctx.error("input " + std::to_string(i) + " is required");
  }
  DS_ASSIGN_OR_RETURN(ConvPlan plan, planIntConv(ctx, kQLinearConvInputs));
  const int64_t m = plan.out_channels;
  DS_RETURN_IF_ERROR(checkPerChannel(ctx, 1, "x_scale", DType::kFloat32, m, false));
  DS_RETURN_IF_ERROR(checkPerChannel(ctx, 4, "w_scale", DType::kFloat32, m, true));
  DS_RETURN_IF_ERROR(checkPerChannel(ctx, 6, "y_scale", DType::kFloat32, m, false));
  const DType yt = ctx.inputs[7].dtype;
  if (!isInt8Like(yt)) return ctx.error("y_zero_point must be uint8 or int8, not " + dtypeStr(yt));
  DS_RETURN_IF_ERROR(checkPerChannel(ctx, 7, "y_zero_point", yt, m, false));
  if (ctx.hasInput(8) && ctx.inputs[8].dtype != DType::kInt32) {
    return ctx.error("bias (input 8) must be int32, not " + dtypeStr(ctx.inputs[8].dtype));
  }
  return plan;
}

}  // namespace

Status inferQLinearConv(NodeContext& ctx) {
  DS_ASSIGN_OR_RETURN(ConvPlan plan, planQLinearConv(ctx));
  ctx.outputs[0] = ValueDesc{ctx.inputs[7].dtype, plan.out, Layout::kPlain};
  return Status::ok();
}

Result<std::unique_ptr<Kernel>> makeRefQLinearConv(const NodeContext& ctx,
                                                   std::string* /*why_not*/) {
  DS_ASSIGN_OR_RETURN(ConvPlan plan, planQLinearConv(ctx));
  const DType xt = ctx.inputs[0].dtype;
  const DType wt = ctx.inputs[3].dtype;
  const bool scale_per_channel = isPerChannel(ctx, 4);
  const bool zp_per_channel = isPerChannel(ctx, 5);
  if (ctx.inputs[7].dtype == DType::kUInt8) {
    return dispatchInt8<QLinearConvKernel, uint8_t>(xt, wt, plan, scale_per_channel,
                                                    zp_per_channel);
  }
  return dispatchInt8<QLinearConvKernel, int8_t>(xt, wt, plan, scale_per_channel, zp_per_channel);
}

}  // namespace detslim
