// Optimised own kernels for the non-convolution ops that profiles of YOLO-family detectors show:
// the Detect-head decode (Sigmoid, Mul/Add with broadcasting, Pow by a constant, Transpose,
// Split, Concat) and the neck (Resize nearest, Concat, elementwise ops) — with the engine's
// activation layout (NHWC) accepted where the op is layout-agnostic, so no reorder is needed.
// The pure data-movement kernels (Concat, Split, nearest Resize) move bytes: they are registered
// for float32 and, as x16_* / x8_*, for float16 / bfloat16 and uint8 / int8 (a QDQ model's
// integer activations, docs/quant.md).
//
// Vector code is compiled per function with target attributes and chosen at kernel creation from
// ctx.cpu (AVX-512 F/BW/VL/DQ, else AVX2 + FMA); a CPU with neither gets the reference kernels.
// Every kernel here is tested against its reference twin (tests/core/kernels/opt/test_fast_ops.cpp).

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/kernels/opt/opt_kernels.h"
#include "core/kernels/opt/simd_math.h"
#include "core/kernels/ref/broadcast.h"

namespace detslim {

namespace {

// Below this many elements a kernel stays on one thread: forking costs more than it saves.
constexpr int64_t kParallelElements = 1 << 15;

enum class Isa { kAvx512, kAvx2 };

bool pickIsa(const NodeContext& ctx, Isa* isa, std::string* why_not) {
  if (ctx.cpu.hasAvx512Core()) {
    *isa = Isa::kAvx512;
    return true;
  }
  if (ctx.cpu.avx2 && ctx.cpu.fma) {
    *isa = Isa::kAvx2;
    return true;
  }
  *why_not = "needs AVX2+FMA or AVX-512";
  return false;
}

bool firstFloat(const NodeContext& ctx, std::string* why_not) {
  if (ctx.inputs.empty() || ctx.inputs[0].dtype != DType::kFloat32) {
    *why_not = "float32 only";
    return false;
  }
  return true;
}

bool allFloat(const NodeContext& ctx, std::string* why_not) {
  for (const ValueDesc& d : ctx.inputs) {
    if (d.present() && d.dtype != DType::kFloat32) {
      *why_not = "float32 only";
      return false;
    }
  }
  return true;
}

// Logical [N,C,H,W] of an NHWC buffer viewed as a plain [N,H,W,C] shape.
Shape physicalShape(const ValueDesc& d) {
  if (d.layout == Layout::kNhwc && d.shape.size() == 4) return {d.shape[0], d.shape[2], d.shape[3], d.shape[1]};
  return d.shape;
}
// The physical axis of logical axis `axis` for a layout.
int64_t physicalAxis(Layout layout, int64_t axis, size_t rank) {
  if (layout != Layout::kNhwc || rank != 4) return axis;
  static const int64_t kMap[4] = {0, 3, 1, 2};
  return kMap[axis];
}

// Splits [0, n) into chunks of whole cache lines across threads.
template <class Fn>
void parallelChunks(int64_t n, int threads, Fn&& fn) {
  if (n < kParallelElements || threads <= 1) {
    fn(0, n);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    const int nt = omp_get_num_threads();
    const int64_t per = (n + nt - 1) / nt;
    const int64_t begin = std::min<int64_t>(n, (per + 15) / 16 * 16 * t);
    const int64_t end = std::min<int64_t>(n, (per + 15) / 16 * 16 * (t + 1));
    if (begin < end) fn(begin, end);
  }
}

// Copies n bytes. Movement kernels copy many short runs (a pixel's 16-64 channels in NHWC):
// inline 64-byte vector moves beat a memcpy call per run there.
__attribute__((target("avx512f,avx512bw"))) inline void copyBytesAvx512(std::byte* dst, const std::byte* src, int64_t n) {
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) _mm512_storeu_si512(dst + i, _mm512_loadu_si512(src + i));
  if (i < n) {
    const __mmask64 m = (1ull << (n - i)) - 1ull;  // n - i < 64
    _mm512_mask_storeu_epi8(dst + i, m, _mm512_maskz_loadu_epi8(m, src + i));
  }
}

// Runs up to this many bytes are copied inline; longer ones by memcpy.
constexpr int64_t kInlineCopyBytes = 1024;

inline void copyBytes(void* dst, const void* src, int64_t n, bool avx512) {
  if (avx512 && n <= kInlineCopyBytes) {
    copyBytesAvx512(static_cast<std::byte*>(dst), static_cast<const std::byte*>(src), n);
  } else {
    std::memcpy(dst, src, static_cast<size_t>(n));
  }
}

// `count` runs of `bytes`, the k-th from src + k * src_stride to dst + k * dst_stride. The common
// run sizes are copies of a compile-time size (inlined as vector moves), the others copyBytes.
template <int64_t kBytes>
inline void copyFixedRuns(std::byte* dst, int64_t dst_stride, const std::byte* src, int64_t src_stride,
                          int64_t count) {
  for (int64_t k = 0; k < count; ++k) std::memcpy(dst + k * dst_stride, src + k * src_stride, kBytes);
}

inline void copyRuns(std::byte* dst, int64_t dst_stride, const std::byte* src, int64_t src_stride, int64_t bytes,
                     int64_t count, bool avx512) {
  switch (bytes) {
    case 4: return copyFixedRuns<4>(dst, dst_stride, src, src_stride, count);
    case 8: return copyFixedRuns<8>(dst, dst_stride, src, src_stride, count);
    case 16: return copyFixedRuns<16>(dst, dst_stride, src, src_stride, count);
    case 32: return copyFixedRuns<32>(dst, dst_stride, src, src_stride, count);
    case 64: return copyFixedRuns<64>(dst, dst_stride, src, src_stride, count);
    case 128: return copyFixedRuns<128>(dst, dst_stride, src, src_stride, count);
    case 256: return copyFixedRuns<256>(dst, dst_stride, src, src_stride, count);
    default:
      if (dst_stride == bytes && src_stride == bytes) return copyBytes(dst, src, bytes * count, avx512);
      for (int64_t k = 0; k < count; ++k) copyBytes(dst + k * dst_stride, src + k * src_stride, bytes, avx512);
  }
}

// Slices per block of the run-copying kernels.
constexpr int64_t kSliceBlock = 64;

class SigmoidKernel final : public Kernel {
 public:
  SigmoidKernel(int64_t n, Isa isa, Layout layout, int threads) : n_(n), isa_(isa), layout_(layout), threads_(threads) {}
  void run(const KernelArgs& args) override {
    const float* src = static_cast<const float*>(args.inputs[0]);
    float* dst = static_cast<float*>(args.outputs[0]);
    parallelChunks(n_, threads_, [&](int64_t b, int64_t e) {
      if (isa_ == Isa::kAvx512) simd::sigmoidAvx512(src + b, dst + b, e - b);
      else simd::sigmoidAvx2(src + b, dst + b, e - b);
    });
  }
  Layout inputLayout(size_t) const override { return layout_; }
  Layout outputLayout(size_t) const override { return layout_; }
  int inPlaceInput() const override { return 0; }

 private:
  int64_t n_;
  Isa isa_;
  Layout layout_;
  int threads_;
};

// ---- binary elementwise with broadcasting ----------------------------------------------------

enum class BinOp { kAdd, kSub, kMul, kDiv };

// One contiguous run: dst[i] = a[i*sa] op b[i*sb] with sa, sb in {0, 1}. Written for the compiler
// to vectorise (each of the four stride cases is a separate loop).
template <BinOp op>
inline float apply(float x, float y) {
  if constexpr (op == BinOp::kAdd) return x + y;
  if constexpr (op == BinOp::kSub) return x - y;
  if constexpr (op == BinOp::kMul) return x * y;
  return x / y;
}

template <BinOp op>
__attribute__((target("avx2,fma"))) void binaryRun(const float* __restrict a, int64_t sa, const float* __restrict b,
                                                 int64_t sb, float* __restrict dst, int64_t n) {
  if (sa && sb) {
    for (int64_t i = 0; i < n; ++i) dst[i] = apply<op>(a[i], b[i]);
  } else if (sa) {
    const float y = b[0];
    for (int64_t i = 0; i < n; ++i) dst[i] = apply<op>(a[i], y);
  } else if (sb) {
    const float x = a[0];
    for (int64_t i = 0; i < n; ++i) dst[i] = apply<op>(x, b[i]);
  } else {
    const float v = apply<op>(a[0], b[0]);
    for (int64_t i = 0; i < n; ++i) dst[i] = v;
  }
}

// Broadcast iteration collapsed to (outer index -> offsets) x (inner contiguous run).
struct BroadcastPlan {
  Shape out;                         // collapsed output shape
  std::vector<int64_t> sa, sb;       // element strides per collapsed dim (0: broadcast)
  int64_t inner = 1;                 // length of the innermost run
  int64_t inner_sa = 1, inner_sb = 1;
};

BroadcastPlan planBroadcast(const Shape& a, const Shape& b, const Shape& out) {
  std::vector<int64_t> sa = broadcastStrides(a, out), sb = broadcastStrides(b, out);
  // Merge adjacent dims whose strides continue each other for both operands.
  BroadcastPlan p;
  for (size_t d = 0; d < out.size(); ++d) {
    if (out[d] == 1) continue;
    if (!p.out.empty()) {
      const size_t k = p.out.size() - 1;
      const bool a_cont = p.sa[k] == sa[d] * out[d] || (p.sa[k] == 0 && sa[d] == 0);
      const bool b_cont = p.sb[k] == sb[d] * out[d] || (p.sb[k] == 0 && sb[d] == 0);
      if (a_cont && b_cont) {
        p.out[k] *= out[d];
        p.sa[k] = sa[d];
        p.sb[k] = sb[d];
        continue;
      }
    }
    p.out.push_back(out[d]);
    p.sa.push_back(sa[d]);
    p.sb.push_back(sb[d]);
  }
  if (p.out.empty()) {
    p.out = {1};
    p.sa = {1};
    p.sb = {1};
  }
  p.inner = p.out.back();
  p.inner_sa = p.sa.back();
  p.inner_sb = p.sb.back();
  return p;
}

class BinaryKernel final : public Kernel {
 public:
  BinaryKernel(BinOp op, BroadcastPlan plan, Layout layout, int threads)
      : op_(op), plan_(std::move(plan)), layout_(layout), threads_(threads) {}

  void run(const KernelArgs& args) override {
    const float* a = static_cast<const float*>(args.inputs[0]);
    const float* b = static_cast<const float*>(args.inputs[1]);
    float* dst = static_cast<float*>(args.outputs[0]);
    const int64_t outer = shapeNumel(plan_.out) / plan_.inner;
    const size_t rank = plan_.out.size();
    auto rows = [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        int64_t rem = r, oa = 0, ob = 0;
        for (size_t d = rank - 1; d-- > 0;) {
          const int64_t idx = rem % plan_.out[d];
          rem /= plan_.out[d];
          oa += idx * plan_.sa[d];
          ob += idx * plan_.sb[d];
        }
        runRow(a + oa, b + ob, dst + r * plan_.inner);
      }
    };
    if (outer * plan_.inner >= kParallelElements && threads_ > 1 && outer > 1) {
#pragma omp parallel for num_threads(threads_) schedule(static)
      for (int64_t r = 0; r < outer; ++r) rows(r, r + 1);
    } else if (outer == 1) {
      parallelChunks(plan_.inner, threads_, [&](int64_t b0, int64_t e0) {
        binaryDispatch(a + b0 * plan_.inner_sa, b + b0 * plan_.inner_sb, dst + b0, e0 - b0);
      });
    } else {
      rows(0, outer);
    }
  }
  Layout inputLayout(size_t) const override { return layout_; }
  Layout outputLayout(size_t) const override { return layout_; }

 private:
  void runRow(const float* a, const float* b, float* dst) const { binaryDispatch(a, b, dst, plan_.inner); }
  void binaryDispatch(const float* a, const float* b, float* dst, int64_t n) const {
    switch (op_) {
      case BinOp::kAdd: binaryRun<BinOp::kAdd>(a, plan_.inner_sa, b, plan_.inner_sb, dst, n); break;
      case BinOp::kSub: binaryRun<BinOp::kSub>(a, plan_.inner_sa, b, plan_.inner_sb, dst, n); break;
      case BinOp::kMul: binaryRun<BinOp::kMul>(a, plan_.inner_sa, b, plan_.inner_sb, dst, n); break;
      case BinOp::kDiv: binaryRun<BinOp::kDiv>(a, plan_.inner_sa, b, plan_.inner_sb, dst, n); break;
    }
  }
  BinOp op_;
  BroadcastPlan plan_;
  Layout layout_;
  int threads_;
};

Result<std::unique_ptr<Kernel>> makeBinary(const NodeContext& ctx, std::string* why_not, BinOp op) {
  Isa isa;
  if (!pickIsa(ctx, &isa, why_not) || !allFloat(ctx, why_not)) return std::unique_ptr<Kernel>();
  if (ctx.inputs.size() != 2 || !ctx.hasInput(0) || !ctx.hasInput(1)) {
    *why_not = "two inputs expected";
    return std::unique_ptr<Kernel>();
  }
  const ValueDesc& a = ctx.inputs[0];
  const ValueDesc& b = ctx.inputs[1];
  Layout layout = Layout::kPlain;
  // Same-shape operands (or a scalar) may stay in the activation layout: the op is elementwise.
  const bool a_scalar = a.numel() == 1, b_scalar = b.numel() == 1;
  if ((a.layout == Layout::kNhwc && (b_scalar || (b.layout == Layout::kNhwc && a.shape == b.shape))) ||
      (b.layout == Layout::kNhwc && a_scalar)) {
    layout = Layout::kNhwc;
  }
  Shape sa = a.shape, sb = b.shape, out = ctx.outputs[0].shape;
  if (layout == Layout::kNhwc) {
    ValueDesc o = ctx.outputs[0];
    o.layout = Layout::kNhwc;
    out = physicalShape(o);
    sa = a_scalar ? Shape{} : out;
    sb = b_scalar ? Shape{} : out;
  }
  return std::unique_ptr<Kernel>(std::make_unique<BinaryKernel>(op, planBroadcast(sa, sb, out), layout, ctx.num_threads));
}

// ---- Pow by a constant scalar exponent ------------------------------------------------------

class PowKernel final : public Kernel {
 public:
  PowKernel(int64_t n, float exponent, Layout layout, int threads)
      : n_(n), exponent_(exponent), layout_(layout), threads_(threads) {}
  __attribute__((target("avx2,fma"))) void run(const KernelArgs& args) override {
    const float* src = static_cast<const float*>(args.inputs[0]);
    float* dst = static_cast<float*>(args.outputs[0]);
    const float e = exponent_;
    parallelChunks(n_, threads_, [&](int64_t b, int64_t end) {
      if (e == 2.0f) {
        for (int64_t i = b; i < end; ++i) dst[i] = src[i] * src[i];
      } else if (e == 3.0f) {
        for (int64_t i = b; i < end; ++i) dst[i] = src[i] * src[i] * src[i];
      } else if (e == 0.5f) {
        for (int64_t i = b; i < end; ++i) dst[i] = std::sqrt(src[i]);
      } else if (e == 1.0f) {
        for (int64_t i = b; i < end; ++i) dst[i] = src[i];
      } else {
        for (int64_t i = b; i < end; ++i) dst[i] = std::pow(src[i], e);
      }
    });
  }
  Layout inputLayout(size_t i) const override { return i == 0 ? layout_ : Layout::kPlain; }
  Layout outputLayout(size_t) const override { return layout_; }
  int inPlaceInput() const override { return 0; }

 private:
  int64_t n_;
  float exponent_;
  Layout layout_;
  int threads_;
};

// ---- data movement --------------------------------------------------------------------------

// Concat and Split along one axis: `outer` slices, each the concatenation of one contiguous run
// per part. Concat gathers the parts (inputs) into the whole (output 0); Split scatters the whole
// (input 0) into the parts (outputs; an omitted output is skipped). Pure data movement: runs are
// counted in bytes, so any element size works.
class AxisRunsKernel final : public Kernel {
 public:
  AxisRunsKernel(bool gather, int64_t outer, std::vector<int64_t> runs, size_t element_bytes, Layout layout,
                 int threads, bool avx512)
      : gather_(gather), outer_(outer), layout_(layout), threads_(threads), avx512_(avx512) {
    for (int64_t r : runs) run_bytes_.push_back(r * static_cast<int64_t>(element_bytes));
    for (int64_t r : run_bytes_) total_bytes_ += r;
    elements_ = outer_ * total_bytes_ / static_cast<int64_t>(element_bytes);
  }
  void run(const KernelArgs& args) override {
    // Blocks of slices, part by part: one part's runs in a block are one strided copy of a fixed
    // size (a u8 NHWC channel concat moves 16-64-byte runs: a call per run cost more than the
    // copy), and the block's output stays in L1 between the parts.
    auto span = [&](int64_t begin, int64_t end) {
      for (int64_t b = begin; b < end; b += kSliceBlock) {
        const int64_t count = std::min(end, b + kSliceBlock) - b;
        int64_t offset = 0;
        for (size_t i = 0; i < run_bytes_.size(); ++i) {
          const int64_t rb = run_bytes_[i];
          if (gather_) {
            copyRuns(static_cast<std::byte*>(args.outputs[0]) + b * total_bytes_ + offset, total_bytes_,
                     static_cast<const std::byte*>(args.inputs[i]) + b * rb, rb, rb, count, avx512_);
          } else if (args.outputs[i]) {
            copyRuns(static_cast<std::byte*>(args.outputs[i]) + b * rb, rb,
                     static_cast<const std::byte*>(args.inputs[0]) + b * total_bytes_ + offset, total_bytes_, rb,
                     count, avx512_);
          }
          offset += rb;
        }
      }
    };
    if (elements_ >= kParallelElements && threads_ > 1 && outer_ > 1) {
#pragma omp parallel num_threads(threads_)
      {
        const int64_t t = omp_get_thread_num();
        const int64_t nt = omp_get_num_threads();
        const int64_t per = (outer_ + nt - 1) / nt;
        const int64_t begin = std::min(outer_, per * t);
        const int64_t end = std::min(outer_, per * (t + 1));
        if (begin < end) span(begin, end);
      }
    } else {
      span(0, outer_);
    }
  }
  // Split's other input (the sizes) is a plain 1-D tensor.
  Layout inputLayout(size_t i) const override { return gather_ || i == 0 ? layout_ : Layout::kPlain; }
  Layout outputLayout(size_t) const override { return layout_; }

 private:
  bool gather_;
  int64_t outer_;
  std::vector<int64_t> run_bytes_;
  int64_t total_bytes_ = 0;
  int64_t elements_ = 0;
  Layout layout_;
  int threads_;
  bool avx512_;
};

// Transpose of a plain tensor: dims merged where the permutation keeps them adjacent, then either
// contiguous runs (innermost dim kept) or 8x8 tiles of a 2-D transpose for the innermost pair.
class TransposeKernel final : public Kernel {
 public:
  TransposeKernel(Shape in_shape, std::vector<int64_t> perm, int threads)
      : in_(std::move(in_shape)), perm_(std::move(perm)), threads_(threads) {
    const size_t rank = in_.size();
    in_strides_.assign(rank, 1);
    for (size_t d = rank - 1; d-- > 0;) in_strides_[d] = in_strides_[d + 1] * in_[d + 1];
    for (int64_t p : perm_) out_shape_.push_back(in_[static_cast<size_t>(p)]);
  }
  void run(const KernelArgs& args) override {
    const float* src = static_cast<const float*>(args.inputs[0]);
    float* dst = static_cast<float*>(args.outputs[0]);
    const size_t rank = out_shape_.size();
    const int64_t last = perm_.back();
    if (last == static_cast<int64_t>(rank) - 1) {  // innermost dim kept: copy runs
      const int64_t run = in_.back();
      const int64_t rows = shapeNumel(out_shape_) / run;
#pragma omp parallel for num_threads(threads_) schedule(static) if (rows * run >= kParallelElements)
      for (int64_t r = 0; r < rows; ++r) {
        std::memcpy(dst + r * run, src + sourceOffset(r, rank - 1), static_cast<size_t>(run) * sizeof(float));
      }
      return;
    }
    // Innermost output dim j = perm.back() has input stride S; the innermost input dim (stride 1)
    // sits at output position q. Tile over (output dim q, output dim rank-1).
    const size_t q = static_cast<size_t>(std::find(perm_.begin(), perm_.end(), static_cast<int64_t>(rank) - 1) - perm_.begin());
    const int64_t n_inner = out_shape_[rank - 1];   // along input stride S
    const int64_t n_q = out_shape_[q];              // along input stride 1
    const int64_t s_inner = in_strides_[static_cast<size_t>(last)];
    int64_t out_q_stride = 1;
    for (size_t d = rank - 1; d > q; --d) out_q_stride *= out_shape_[d];
    // Outer iteration over every output dim except q and rank-1.
    Shape outer_dims;
    std::vector<size_t> outer_axes;
    for (size_t d = 0; d + 1 < rank; ++d) {
      if (d != q) {
        outer_dims.push_back(out_shape_[d]);
        outer_axes.push_back(d);
      }
    }
    const int64_t outer = shapeNumel(outer_dims);
    std::vector<int64_t> out_strides(rank, 1);
    for (size_t d = rank - 1; d-- > 0;) out_strides[d] = out_strides[d + 1] * out_shape_[d + 1];
    constexpr int64_t kTile = 16;
#pragma omp parallel for num_threads(threads_) schedule(static) if (shapeNumel(out_shape_) >= kParallelElements)
    for (int64_t o = 0; o < outer; ++o) {
      int64_t rem = o, src_base = 0, dst_base = 0;
      for (size_t k = outer_axes.size(); k-- > 0;) {
        const size_t d = outer_axes[k];
        const int64_t idx = rem % out_shape_[d];
        rem /= out_shape_[d];
        src_base += idx * in_strides_[static_cast<size_t>(perm_[d])];
        dst_base += idx * out_strides[d];
      }
      for (int64_t i0 = 0; i0 < n_q; i0 += kTile) {
        const int64_t i1 = std::min(n_q, i0 + kTile);
        for (int64_t j0 = 0; j0 < n_inner; j0 += kTile) {
          const int64_t j1 = std::min(n_inner, j0 + kTile);
          for (int64_t i = i0; i < i1; ++i) {
            float* d = dst + dst_base + i * out_q_stride;
            const float* s = src + src_base + i;
            for (int64_t j = j0; j < j1; ++j) d[j] = s[j * s_inner];
          }
        }
      }
    }
  }

 private:
  // Input offset of output row r (all output dims but the last `keep` ones flattened).
  int64_t sourceOffset(int64_t r, size_t outer_rank) const {
    int64_t off = 0;
    for (size_t d = outer_rank; d-- > 0;) {
      const int64_t idx = r % out_shape_[d];
      r /= out_shape_[d];
      off += idx * in_strides_[static_cast<size_t>(perm_[d])];
    }
    return off;
  }
  Shape in_;
  std::vector<int64_t> perm_;
  std::vector<int64_t> in_strides_;
  Shape out_shape_;
  int threads_;
};

// Resize, nearest, integer upscale on H and W (the YOLO neck's 2x), plain or NHWC. Pure data
// movement: any element size of 1, 2 or 4 bytes.
class ResizeNearestKernel final : public Kernel {
 public:
  ResizeNearestKernel(Shape in_phys, Shape out_phys, size_t element_bytes, bool nhwc, int threads, bool avx512)
      : in_(std::move(in_phys)), out_(std::move(out_phys)), element_bytes_(element_bytes), nhwc_(nhwc),
        threads_(threads), avx512_(avx512) {}
  void run(const KernelArgs& args) override {
    if (nhwc_) {
      runNhwc(static_cast<const std::byte*>(args.inputs[0]), static_cast<std::byte*>(args.outputs[0]));
    } else if (element_bytes_ == 1) {
      runPlain(static_cast<const uint8_t*>(args.inputs[0]), static_cast<uint8_t*>(args.outputs[0]));
    } else if (element_bytes_ == 2) {
      runPlain(static_cast<const uint16_t*>(args.inputs[0]), static_cast<uint16_t*>(args.outputs[0]));
    } else {
      runPlain(static_cast<const uint32_t*>(args.inputs[0]), static_cast<uint32_t*>(args.outputs[0]));
    }
  }
  Layout inputLayout(size_t i) const override { return i == 0 && nhwc_ ? Layout::kNhwc : Layout::kPlain; }
  Layout outputLayout(size_t) const override { return nhwc_ ? Layout::kNhwc : Layout::kPlain; }

 private:
  // [N, H, W, C]: every output pixel is one run of C elements.
  void runNhwc(const std::byte* src, std::byte* dst) const {
    const int64_t n = out_[0], oh = out_[1], ow = out_[2];
    const int64_t c_bytes = out_[3] * static_cast<int64_t>(element_bytes_);
    const int64_t sh = oh / in_[1], sw = ow / in_[2];
#pragma omp parallel for num_threads(threads_) schedule(static) if (shapeNumel(out_) >= kParallelElements)
    for (int64_t row = 0; row < n * oh; ++row) {
      const int64_t b = row / oh, y = row % oh;
      const std::byte* s = src + (b * in_[1] + y / sh) * in_[2] * c_bytes;
      std::byte* d = dst + row * ow * c_bytes;
      for (int64_t x = 0; x < ow; ++x) copyBytes(d + x * c_bytes, s + (x / sw) * c_bytes, c_bytes, avx512_);
    }
  }
  // [N, C, H, W]
  template <class T>
  void runPlain(const T* src, T* dst) const {
    const int64_t planes = out_[0] * out_[1], oh = out_[2], ow = out_[3];
    const int64_t ih = in_[2], iw = in_[3], sh = oh / ih, sw = ow / iw;
#pragma omp parallel for num_threads(threads_) schedule(static) if (shapeNumel(out_) >= kParallelElements)
    for (int64_t p = 0; p < planes; ++p) {
      for (int64_t y = 0; y < oh; ++y) {
        const T* s = src + (p * ih + y / sh) * iw;
        T* d = dst + (p * oh + y) * ow;
        for (int64_t x = 0; x < ow; ++x) d[x] = s[x / sw];
      }
    }
  }
  Shape in_, out_;
  size_t element_bytes_;
  bool nhwc_;
  int threads_;
  bool avx512_;
};

int64_t normalizeAxis(int64_t axis, size_t rank) { return axis < 0 ? axis + static_cast<int64_t>(rank) : axis; }

// The layout a movement op works in: NHWC when the (first) input arrives in it and the op is
// rank 4, else plain.
Layout movementLayout(const NodeContext& ctx) {
  for (const ValueDesc& d : ctx.inputs) {
    if (d.present() && d.layout == Layout::kNhwc && d.shape.size() == 4) return Layout::kNhwc;
  }
  return Layout::kPlain;
}

}  // namespace

Result<std::unique_ptr<Kernel>> makeFastSigmoid(const NodeContext& ctx, std::string* why_not) {
  Isa isa;
  if (!pickIsa(ctx, &isa, why_not) || !allFloat(ctx, why_not)) return std::unique_ptr<Kernel>();
  const Layout layout = ctx.inputs[0].layout == Layout::kNhwc ? Layout::kNhwc : Layout::kPlain;
  return std::unique_ptr<Kernel>(std::make_unique<SigmoidKernel>(ctx.inputs[0].numel(), isa, layout, ctx.num_threads));
}

Result<std::unique_ptr<Kernel>> makeFastAdd(const NodeContext& ctx, std::string* why_not) {
  return makeBinary(ctx, why_not, BinOp::kAdd);
}
Result<std::unique_ptr<Kernel>> makeFastSub(const NodeContext& ctx, std::string* why_not) {
  return makeBinary(ctx, why_not, BinOp::kSub);
}
Result<std::unique_ptr<Kernel>> makeFastMul(const NodeContext& ctx, std::string* why_not) {
  return makeBinary(ctx, why_not, BinOp::kMul);
}
Result<std::unique_ptr<Kernel>> makeFastDiv(const NodeContext& ctx, std::string* why_not) {
  return makeBinary(ctx, why_not, BinOp::kDiv);
}

Result<std::unique_ptr<Kernel>> makeFastPow(const NodeContext& ctx, std::string* why_not) {
  Isa isa;
  if (!pickIsa(ctx, &isa, why_not) || !allFloat(ctx, why_not)) return std::unique_ptr<Kernel>();
  const Tensor* e = ctx.constant(1);
  if (!e || e->numel() != 1 || e->dtype() != DType::kFloat32) {
    *why_not = "exponent must be a float32 scalar known at compile time";
    return std::unique_ptr<Kernel>();
  }
  if (ctx.outputs[0].shape != ctx.inputs[0].shape) {
    *why_not = "the exponent must not broadcast the base";
    return std::unique_ptr<Kernel>();
  }
  const Layout layout = ctx.inputs[0].layout == Layout::kNhwc ? Layout::kNhwc : Layout::kPlain;
  return std::unique_ptr<Kernel>(std::make_unique<PowKernel>(ctx.inputs[0].numel(), e->data<float>()[0], layout, ctx.num_threads));
}

namespace {

// Concat and Split along one axis, seen physically: `outer` slices, each the concatenation of one
// contiguous run per part (the parts are the Concat's inputs or the Split's outputs).
struct AxisRuns {
  Layout layout = Layout::kPlain;
  int64_t outer = 1;
  std::vector<int64_t> runs;
};

AxisRuns axisRuns(const NodeContext& ctx, const ValueDesc& whole, const std::vector<ValueDesc>& parts) {
  AxisRuns r;
  const size_t rank = whole.shape.size();
  r.layout = movementLayout(ctx);
  const int64_t axis = physicalAxis(r.layout, normalizeAxis(ctx.node->intOr("axis", 0), rank), rank);
  ValueDesc w = whole;
  w.layout = r.layout;
  const Shape phys = physicalShape(w);
  for (int64_t d = 0; d < axis; ++d) r.outer *= phys[static_cast<size_t>(d)];
  for (const ValueDesc& part : parts) {
    ValueDesc v = part;
    v.layout = r.layout;
    const Shape p = physicalShape(v);
    int64_t run = 1;
    for (size_t d = static_cast<size_t>(axis); d < p.size(); ++d) run *= p[d];
    r.runs.push_back(run);
  }
  return r;
}

}  // namespace

namespace {

// The element types the movement kernels are registered for, one implementation name each
// (f32_*, x16_* for float16 / bfloat16, x8_* for uint8 / int8): the kernels only move bytes.
enum class Elements { kF32, kX16, kX8 };

// Element size of input 0 when its dtype belongs to `elements` (the shape functions have already
// checked that the other data inputs / outputs share it); 0 and why_not otherwise.
size_t movementElementBytes(const NodeContext& ctx, Elements elements, std::string* why_not) {
  const DType d = ctx.hasInput(0) ? ctx.inputs[0].dtype : DType::kUndefined;
  switch (elements) {
    case Elements::kF32:
      if (d == DType::kFloat32) return 4;
      *why_not = "float32 only";
      return 0;
    case Elements::kX16:
      if (d == DType::kFloat16 || d == DType::kBFloat16) return 2;
      *why_not = "float16 / bfloat16 only";
      return 0;
    case Elements::kX8:
      if (d == DType::kUInt8 || d == DType::kInt8) return 1;
      *why_not = "uint8 / int8 only";
      return 0;
  }
  return 0;
}

Result<std::unique_ptr<Kernel>> makeConcatRuns(const NodeContext& ctx, std::string* why_not, Elements elements) {
  const size_t element_bytes = movementElementBytes(ctx, elements, why_not);
  if (element_bytes == 0) return std::unique_ptr<Kernel>();
  for (const ValueDesc& d : ctx.inputs) {
    if (!d.present() || d.dtype != ctx.inputs[0].dtype) {
      *why_not = "every input must be present and of one dtype";
      return std::unique_ptr<Kernel>();
    }
  }
  AxisRuns r = axisRuns(ctx, ctx.outputs[0], ctx.inputs);
  return std::unique_ptr<Kernel>(std::make_unique<AxisRunsKernel>(true, r.outer, std::move(r.runs), element_bytes,
                                                                r.layout, ctx.num_threads, ctx.cpu.hasAvx512Core()));
}

Result<std::unique_ptr<Kernel>> makeSplitRuns(const NodeContext& ctx, std::string* why_not, Elements elements) {
  const size_t element_bytes = movementElementBytes(ctx, elements, why_not);
  if (element_bytes == 0) return std::unique_ptr<Kernel>();
  AxisRuns r = axisRuns(ctx, ctx.inputs[0], ctx.outputs);
  return std::unique_ptr<Kernel>(std::make_unique<AxisRunsKernel>(false, r.outer, std::move(r.runs), element_bytes,
                                                               r.layout, ctx.num_threads, ctx.cpu.hasAvx512Core()));
}

Result<std::unique_ptr<Kernel>> makeResizeNearest(const NodeContext& ctx, std::string* why_not, Elements elements) {
  const size_t element_bytes = movementElementBytes(ctx, elements, why_not);
  if (element_bytes == 0) return std::unique_ptr<Kernel>();
  const Node& n = *ctx.node;
  const std::string mode = n.stringOr("mode", "nearest");
  const std::string coord = n.stringOr("coordinate_transformation_mode", "half_pixel");
  const std::string nearest = n.stringOr("nearest_mode", "round_prefer_floor");
  const Shape& in = ctx.inputs[0].shape;
  const Shape& out = ctx.outputs[0].shape;
  if (mode != "nearest" || in.size() != 4 || ctx.opset < 11 || out[0] != in[0] || out[1] != in[1]) {
    *why_not = "4-D nearest resize of H and W only (opset >= 11)";
    return std::unique_ptr<Kernel>();
  }
  const bool integer = out[2] % in[2] == 0 && out[3] % in[3] == 0 && out[2] >= in[2] && out[3] >= in[3];
  // With an integer upscale s, these modes all pick source floor(y / s) (ONNX's formulas).
  const bool floor_like = (coord == "asymmetric" && nearest == "floor") ||
                          ((coord == "half_pixel" || coord == "pytorch_half_pixel") &&
                           (nearest == "round_prefer_floor" || nearest == "round_prefer_ceil") &&
                           out[2] / in[2] == 2 && out[3] / in[3] == 2);
  if (!integer || !floor_like) {
    *why_not = "integer upscale with a floor-equivalent coordinate mode only";
    return std::unique_ptr<Kernel>();
  }
  const bool nhwc = ctx.inputs[0].layout == Layout::kNhwc;
  ValueDesc i = ctx.inputs[0], o = ctx.outputs[0];
  o.layout = i.layout = nhwc ? Layout::kNhwc : Layout::kPlain;
  return std::unique_ptr<Kernel>(std::make_unique<ResizeNearestKernel>(
      physicalShape(i), physicalShape(o), element_bytes, nhwc, ctx.num_threads, ctx.cpu.hasAvx512Core()));
}

}  // namespace

Result<std::unique_ptr<Kernel>> makeFastConcat(const NodeContext& ctx, std::string* why_not) {
  return makeConcatRuns(ctx, why_not, Elements::kF32);
}
Result<std::unique_ptr<Kernel>> makeFastConcatX16(const NodeContext& ctx, std::string* why_not) {
  return makeConcatRuns(ctx, why_not, Elements::kX16);
}
Result<std::unique_ptr<Kernel>> makeFastConcatX8(const NodeContext& ctx, std::string* why_not) {
  return makeConcatRuns(ctx, why_not, Elements::kX8);
}

Result<std::unique_ptr<Kernel>> makeFastSplit(const NodeContext& ctx, std::string* why_not) {
  return makeSplitRuns(ctx, why_not, Elements::kF32);
}
Result<std::unique_ptr<Kernel>> makeFastSplitX16(const NodeContext& ctx, std::string* why_not) {
  return makeSplitRuns(ctx, why_not, Elements::kX16);
}
Result<std::unique_ptr<Kernel>> makeFastSplitX8(const NodeContext& ctx, std::string* why_not) {
  return makeSplitRuns(ctx, why_not, Elements::kX8);
}

Result<std::unique_ptr<Kernel>> makeFastTranspose(const NodeContext& ctx, std::string* why_not) {
  if (!firstFloat(ctx, why_not)) return std::unique_ptr<Kernel>();
  const size_t rank = ctx.inputs[0].shape.size();
  if (rank < 2) {
    *why_not = "rank < 2";
    return std::unique_ptr<Kernel>();
  }
  std::vector<int64_t> perm = ctx.node->intsOr("perm", {});
  if (perm.empty()) {
    for (size_t d = rank; d-- > 0;) perm.push_back(static_cast<int64_t>(d));
  }
  return std::unique_ptr<Kernel>(std::make_unique<TransposeKernel>(ctx.inputs[0].shape, perm, ctx.num_threads));
}

Result<std::unique_ptr<Kernel>> makeFastResize(const NodeContext& ctx, std::string* why_not) {
  return makeResizeNearest(ctx, why_not, Elements::kF32);
}
Result<std::unique_ptr<Kernel>> makeFastResizeX16(const NodeContext& ctx, std::string* why_not) {
  return makeResizeNearest(ctx, why_not, Elements::kX16);
}
Result<std::unique_ptr<Kernel>> makeFastResizeX8(const NodeContext& ctx, std::string* why_not) {
  return makeResizeNearest(ctx, why_not, Elements::kX8);
}

}  // namespace detslim
