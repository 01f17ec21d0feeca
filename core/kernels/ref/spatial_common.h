#pragma once
// Sliding-window geometry shared by the reference Conv, ConvTranspose, ConvInteger, QLinearConv,
// FusedConv, MaxPool and AveragePool kernels: auto_pad, pads, strides, dilations, output sizes.
// Private to core/kernels/ref.

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/kernels/kernel.h"

namespace detslim::spatial {

// The reference loops are written for three spatial axes (D, H, W); 1-D and 2-D ops run with
// neutral leading axes. ONNX allows more, but no detector has them.
inline constexpr size_t kMaxSpatialRank = 3;

enum class AutoPad { kNotSet, kSameUpper, kSameLower, kValid };

// One spatial axis of a sliding-window op. For ConvTranspose `in` is the (smaller) input and
// `out` the (larger) output; pads then crop the full transposed output.
struct WindowAxis {
  int64_t in = 1;
  int64_t out = 1;
  int64_t kernel = 1;
  int64_t stride = 1;
  int64_t dilation = 1;
  int64_t pad_begin = 0;
  int64_t pad_end = 0;
  // Extent of the dilated kernel.
  int64_t span() const { return (kernel - 1) * dilation + 1; }
};

// Three axes, D H W, with neutral leading axes for 1-D / 2-D ops.
using Geometry3 = std::array<WindowAxis, kMaxSpatialRank>;

// Floor / ceil of a / b for b > 0 and any sign of a (C++ division truncates toward zero).
inline int64_t floorDiv(int64_t a, int64_t b) {
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}
inline int64_t ceilDiv(int64_t a, int64_t b) {
  return -floorDiv(-a, b);
}

inline Result<AutoPad> parseAutoPad(const NodeContext& ctx) {
  const std::string s = ctx.node->stringOr("auto_pad", "NOTSET");
  if (s == "NOTSET" || s.empty()) return AutoPad::kNotSet;
  if (s == "SAME_UPPER") return AutoPad::kSameUpper;
  if (s == "SAME_LOWER") return AutoPad::kSameLower;
  if (s == "VALID") return AutoPad::kValid;
  return ctx.error("auto_pad '" + s + "' is not NOTSET, SAME_UPPER, SAME_LOWER or VALID");
}

// An ints attribute of one value per spatial axis, `def` when absent.
inline Result<std::vector<int64_t>> perAxisAttr(const NodeContext& ctx, const char* name,
                                                size_t rank, int64_t def, int64_t min_value) {
  std::vector<int64_t> v = ctx.node->intsOr(name, std::vector<int64_t>(rank, def));
  if (v.size() != rank) {
    return ctx.error(std::string(name) + " has " + std::to_string(v.size()) + " values, expected " +
                     std::to_string(rank) + " (one per spatial axis)");
  }
  for (int64_t x : v) {
    if (x < min_value) {
      return ctx.error(std::string(name) + " value " + std::to_string(x) + " is below " +
                       std::to_string(min_value));
    }
  }
  return v;
}

// The `pads` attribute ([begin..., end...]), zeros when absent; refuses negative values.
inline Result<std::vector<int64_t>> padsAttr(const NodeContext& ctx, size_t rank) {
  std::vector<int64_t> pads = ctx.node->intsOr("pads", std::vector<int64_t>(2 * rank, 0));
  if (pads.size() != 2 * rank) {
    return ctx.error("pads has " + std::to_string(pads.size()) + " values, expected " +
                     std::to_string(2 * rank));
  }
  for (int64_t p : pads) {
    if (p < 0) return ctx.error("pads value " + std::to_string(p) + " is negative");
  }
  return pads;
}

// The kernel_shape attribute when present (checked against `from_weights` when that is not
// empty), else `from_weights`.
inline Result<std::vector<int64_t>> kernelShape(const NodeContext& ctx, size_t rank,
                                                const std::vector<int64_t>& from_weights) {
  if (!ctx.node->hasAttr("kernel_shape")) {
    if (from_weights.empty()) return ctx.error("kernel_shape is required");
    for (int64_t k : from_weights) {
      if (k < 1)
        return ctx.error("the weights' kernel " + shapeToString(from_weights) + " is empty");
    }
    return from_weights;
  }
  DS_ASSIGN_OR_RETURN(std::vector<int64_t> k, perAxisAttr(ctx, "kernel_shape", rank, 1, 1));
  if (!from_weights.empty() && k != from_weights) {
    return ctx.error("kernel_shape " + shapeToString(k) + " differs from the weights' " +
                     shapeToString(from_weights));
  }
  return k;
}

struct WindowOptions {
  bool ceil_mode = false;       // pooling: round the output size up
  bool allow_dilations = true;  // AveragePool before opset 19 has no dilations
};

// Geometry of Conv / MaxPool / AveragePool: reads strides, dilations, pads and auto_pad and
// computes the output size of each axis. Refuses windows larger than the padded input.
inline Result<std::vector<WindowAxis>> windowGeometry(const NodeContext& ctx,
                                                      const Shape& in_spatial,
                                                      const std::vector<int64_t>& kernel,
                                                      const WindowOptions& options) {
  const size_t rank = in_spatial.size();
  DS_ASSIGN_OR_RETURN(AutoPad auto_pad, parseAutoPad(ctx));
  DS_ASSIGN_OR_RETURN(std::vector<int64_t> strides, perAxisAttr(ctx, "strides", rank, 1, 1));
  std::vector<int64_t> dilations(rank, 1);
  if (options.allow_dilations) {
    DS_ASSIGN_OR_RETURN(dilations, perAxisAttr(ctx, "dilations", rank, 1, 1));
  }
  DS_ASSIGN_OR_RETURN(std::vector<int64_t> pads, padsAttr(ctx, rank));
  std::vector<WindowAxis> axes(rank);
  for (size_t i = 0; i < rank; ++i) {
    WindowAxis& a = axes[i];
    a.in = in_spatial[i];
    a.kernel = kernel[i];
    a.stride = strides[i];
    a.dilation = dilations[i];
    switch (auto_pad) {
      case AutoPad::kNotSet:
        a.pad_begin = pads[i];
        a.pad_end = pads[i + rank];
        break;
      case AutoPad::kValid:
        break;
      case AutoPad::kSameUpper:
      case AutoPad::kSameLower: {
        // SAME: out = ceil(in / stride), the padding split evenly, the odd one at the end
        // (SAME_UPPER) or the beginning (SAME_LOWER).
        const int64_t out = ceilDiv(a.in, a.stride);
        const int64_t total = std::max<int64_t>(0, (out - 1) * a.stride + a.span() - a.in);
        const int64_t small_half = total / 2;
        a.pad_begin = auto_pad == AutoPad::kSameUpper ? small_half : total - small_half;
        a.pad_end = total - a.pad_begin;
        break;
      }
    }
    const int64_t room = a.in + a.pad_begin + a.pad_end - a.span();
    if (room < 0) {
      return ctx.error("the window (" + std::to_string(a.span()) +
                       " with dilation) of spatial axis " + std::to_string(i) +
                       " is larger than the padded input (" +
                       std::to_string(a.in + a.pad_begin + a.pad_end) + ")");
    }
    if (auto_pad == AutoPad::kSameUpper || auto_pad == AutoPad::kSameLower) {
      a.out = ceilDiv(a.in, a.stride);
    } else if (options.ceil_mode) {
      a.out = ceilDiv(room, a.stride) + 1;
      // As PyTorch and onnxruntime do: the last window must start inside the input or the
      // leading padding, else it would see only trailing padding.
      if ((a.out - 1) * a.stride >= a.in + a.pad_begin) --a.out;
    } else {
      a.out = room / a.stride + 1;
    }
  }
  return axes;
}

// `axes` (1 to 3 of them) right-aligned into D H W with neutral leading axes.
inline Geometry3 toGeometry3(const std::vector<WindowAxis>& axes) {
  Geometry3 g{};
  const size_t offset = kMaxSpatialRank - axes.size();
  for (size_t i = 0; i < axes.size(); ++i) g[offset + i] = axes[i];
  return g;
}

inline int64_t inVolume(const Geometry3& g) {
  return g[0].in * g[1].in * g[2].in;
}
inline int64_t outVolume(const Geometry3& g) {
  return g[0].out * g[1].out * g[2].out;
}
inline int64_t kernelVolume(const Geometry3& g) {
  return g[0].kernel * g[1].kernel * g[2].kernel;
}

// The output positions o in [*lo, *hi) whose input position o * stride - pad_begin + offset
// lies inside [0, in): the bounds that let inner loops run without per-element checks.
inline void validOutputRange(const WindowAxis& a, int64_t offset, int64_t* lo, int64_t* hi) {
  // o * stride >= pad_begin - offset  and  o * stride <= in - 1 + pad_begin - offset
  *lo = std::max<int64_t>(0, ceilDiv(a.pad_begin - offset, a.stride));
  *hi = std::min<int64_t>(a.out, floorDiv(a.in - 1 + a.pad_begin - offset, a.stride) + 1);
  if (*hi < *lo) *hi = *lo;
}

}  // namespace detslim::spatial
