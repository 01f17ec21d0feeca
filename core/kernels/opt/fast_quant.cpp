// Per-tensor QuantizeLinear (float32 -> uint8 / int8) and DequantizeLinear (uint8 / int8 ->
// float32): what is left of a QDQ model's Q / DQ pairs after the engine's QDQ fusion
// (core/engine/qdq_fusion.cpp, docs/quant.md). They compute exactly what the reference kernels
// (core/kernels/ref/quant.cpp) compute:
//   Q:  y = saturate(round_half_even(x / scale) + zero_point)   (NaN -> zero_point)
//   DQ: y = (float(x) - zero_point) * scale
// Per tensor the op is elementwise, so the kernels take the producer's layout (plain or NHWC)
// and write the same. Scale and zero point are read from their buffers at every run (they need
// not be compile-time constants). AVX-512 with an AVX2 fallback, chosen from ctx.cpu as in
// fast_ops.cpp; tests: tests/core/kernels/fast/test_fast_quant.cpp.
// detslim::QLut (a 256-entry table applied to an integer tensor, in place) is here too: 64 bytes
// per three byte permutes with AVX-512 VBMI, else a scalar loop over the table.

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>

#include "core/kernels/opt/opt_kernels.h"
#include "core/kernels/ref/ref_ops.h"

namespace detslim {

namespace {

// Below this many elements a kernel stays on one thread: forking costs more than it saves.
constexpr int64_t kParallelElements = 1 << 15;
constexpr size_t kScaleInput = 1;
constexpr size_t kZeroPointInput = 2;

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

bool isInt8(DType d) { return d == DType::kUInt8 || d == DType::kInt8; }

// Splits [0, n) into chunks of whole 64-element blocks across threads.
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
    const int64_t step = (per + 63) / 64 * 64;
    const int64_t begin = std::min<int64_t>(n, step * t);
    const int64_t end = std::min<int64_t>(n, step * (t + 1));
    if (begin < end) fn(begin, end);
  }
}

// The reference's scalar rule (tails of the vector loops).
template <class TQ>
inline TQ quantizeScalar(float x, float scale, float zero_point) {
  float q = std::nearbyint(x / scale);
  if (std::isnan(q)) q = 0.0f;
  q = std::clamp(q + zero_point, static_cast<float>(std::numeric_limits<TQ>::lowest()),
                 static_cast<float>(std::numeric_limits<TQ>::max()));
  return static_cast<TQ>(q);
}

// ---- QuantizeLinear ---------------------------------------------------------------------------

// 16 floats -> 16 quantized bytes (in range after the clamp, so the truncating pack is exact).
// Lambdas would not inherit the target attribute: helpers are functions.
__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq"))) inline __m128i quantize16(
    __m512 x, __m512 vs, __m512 vzp, __m512 lo, __m512 hi) {
  __m512 q = _mm512_roundscale_ps(_mm512_div_ps(x, vs), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  q = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(q, q, _CMP_ORD_Q), q);  // NaN -> 0
  q = _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(q, vzp), lo), hi);
  return _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(q));
}

template <class TQ>
__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq"))) void quantizeAvx512(
    const float* src, TQ* dst, int64_t n, float scale, float zero_point) {
  const __m512 vs = _mm512_set1_ps(scale);
  const __m512 vzp = _mm512_set1_ps(zero_point);
  const __m512 lo = _mm512_set1_ps(static_cast<float>(std::numeric_limits<TQ>::lowest()));
  const __m512 hi = _mm512_set1_ps(static_cast<float>(std::numeric_limits<TQ>::max()));
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), quantize16(_mm512_loadu_ps(src + i), vs, vzp, lo, hi));
  }
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1u);
    _mm_mask_storeu_epi8(dst + i, m, quantize16(_mm512_maskz_loadu_ps(m, src + i), vs, vzp, lo, hi));
  }
}

// 8 floats -> 8 in-range int32.
__attribute__((target("avx2,fma"))) inline __m256i quantize8(__m256 x, __m256 vs, __m256 vzp, __m256 lo, __m256 hi) {
  __m256 q = _mm256_round_ps(_mm256_div_ps(x, vs), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  q = _mm256_and_ps(q, _mm256_cmp_ps(q, q, _CMP_ORD_Q));  // NaN -> 0
  q = _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(q, vzp), lo), hi);
  return _mm256_cvtps_epi32(q);
}

template <class TQ>
__attribute__((target("avx2,fma"))) void quantizeAvx2(const float* src, TQ* dst, int64_t n, float scale,
                                                    float zero_point) {
  const __m256 vs = _mm256_set1_ps(scale);
  const __m256 vzp = _mm256_set1_ps(zero_point);
  const __m256 lo = _mm256_set1_ps(static_cast<float>(std::numeric_limits<TQ>::lowest()));
  const __m256 hi = _mm256_set1_ps(static_cast<float>(std::numeric_limits<TQ>::max()));
  // Packs 16 in-range int32 into 16 bytes: the packs work per 128-bit lane, the permute puts
  // the lanes' dwords back in order.
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256i a = quantize8(_mm256_loadu_ps(src + i), vs, vzp, lo, hi);
    const __m256i b = quantize8(_mm256_loadu_ps(src + i + 8), vs, vzp, lo, hi);
    const __m256i words = _mm256_packs_epi32(a, b);
    const __m256i bytes = std::is_signed_v<TQ> ? _mm256_packs_epi16(words, words) : _mm256_packus_epi16(words, words);
    const __m256i ordered = _mm256_permutevar8x32_epi32(bytes, order);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), _mm256_castsi256_si128(ordered));
  }
  for (; i < n; ++i) dst[i] = quantizeScalar<TQ>(src[i], scale, zero_point);
}

class QuantizeKernel final : public Kernel {
 public:
  QuantizeKernel(int64_t n, DType out, bool has_zero_point, Isa isa, Layout layout, int threads)
      : n_(n), out_(out), has_zero_point_(has_zero_point), isa_(isa), layout_(layout), threads_(threads) {}
  void run(const KernelArgs& args) override {
    const float* src = static_cast<const float*>(args.inputs[0]);
    const float scale = *static_cast<const float*>(args.inputs[kScaleInput]);
    if (out_ == DType::kUInt8) {
      const float zp = has_zero_point_ ? static_cast<float>(*static_cast<const uint8_t*>(args.inputs[kZeroPointInput])) : 0.0f;
      body(src, static_cast<uint8_t*>(args.outputs[0]), scale, zp);
    } else {
      const float zp = has_zero_point_ ? static_cast<float>(*static_cast<const int8_t*>(args.inputs[kZeroPointInput])) : 0.0f;
      body(src, static_cast<int8_t*>(args.outputs[0]), scale, zp);
    }
  }
  Layout inputLayout(size_t i) const override { return i == 0 ? layout_ : Layout::kPlain; }
  Layout outputLayout(size_t) const override { return layout_; }

 private:
  template <class TQ>
  void body(const float* src, TQ* dst, float scale, float zp) const {
    parallelChunks(n_, threads_, [&](int64_t b, int64_t e) {
      if (isa_ == Isa::kAvx512) quantizeAvx512<TQ>(src + b, dst + b, e - b, scale, zp);
      else quantizeAvx2<TQ>(src + b, dst + b, e - b, scale, zp);
    });
  }
  int64_t n_;
  DType out_;
  bool has_zero_point_;
  Isa isa_;
  Layout layout_;
  int threads_;
};

// ---- DequantizeLinear -------------------------------------------------------------------------

template <class TQ>
__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq"))) inline __m512 dequantize16(__m128i bytes, __m512 vs,
                                                                                    __m512 vzp) {
  const __m512i wide = std::is_signed_v<TQ> ? _mm512_cvtepi8_epi32(bytes) : _mm512_cvtepu8_epi32(bytes);
  return _mm512_mul_ps(_mm512_sub_ps(_mm512_cvtepi32_ps(wide), vzp), vs);
}

template <class TQ>
__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq"))) void dequantizeAvx512(
    const TQ* src, float* dst, int64_t n, float scale, float zero_point) {
  const __m512 vs = _mm512_set1_ps(scale);
  const __m512 vzp = _mm512_set1_ps(zero_point);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm512_storeu_ps(dst + i, dequantize16<TQ>(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i)), vs, vzp));
  }
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1u);
    _mm512_mask_storeu_ps(dst + i, m, dequantize16<TQ>(_mm_maskz_loadu_epi8(m, src + i), vs, vzp));
  }
}

template <class TQ>
__attribute__((target("avx2,fma"))) void dequantizeAvx2(const TQ* src, float* dst, int64_t n, float scale,
                                                      float zero_point) {
  const __m256 vs = _mm256_set1_ps(scale);
  const __m256 vzp = _mm256_set1_ps(zero_point);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(src + i));
    const __m256i wide = std::is_signed_v<TQ> ? _mm256_cvtepi8_epi32(bytes) : _mm256_cvtepu8_epi32(bytes);
    _mm256_storeu_ps(dst + i, _mm256_mul_ps(_mm256_sub_ps(_mm256_cvtepi32_ps(wide), vzp), vs));
  }
  for (; i < n; ++i) dst[i] = (static_cast<float>(src[i]) - zero_point) * scale;
}

class DequantizeKernel final : public Kernel {
 public:
  DequantizeKernel(int64_t n, DType in, bool has_zero_point, Isa isa, Layout layout, int threads)
      : n_(n), in_(in), has_zero_point_(has_zero_point), isa_(isa), layout_(layout), threads_(threads) {}
  void run(const KernelArgs& args) override {
    const float scale = *static_cast<const float*>(args.inputs[kScaleInput]);
    float* dst = static_cast<float*>(args.outputs[0]);
    if (in_ == DType::kUInt8) {
      const float zp = has_zero_point_ ? static_cast<float>(*static_cast<const uint8_t*>(args.inputs[kZeroPointInput])) : 0.0f;
      body(static_cast<const uint8_t*>(args.inputs[0]), dst, scale, zp);
    } else {
      const float zp = has_zero_point_ ? static_cast<float>(*static_cast<const int8_t*>(args.inputs[kZeroPointInput])) : 0.0f;
      body(static_cast<const int8_t*>(args.inputs[0]), dst, scale, zp);
    }
  }
  Layout inputLayout(size_t i) const override { return i == 0 ? layout_ : Layout::kPlain; }
  Layout outputLayout(size_t) const override { return layout_; }

 private:
  template <class TQ>
  void body(const TQ* src, float* dst, float scale, float zp) const {
    parallelChunks(n_, threads_, [&](int64_t b, int64_t e) {
      if (isa_ == Isa::kAvx512) dequantizeAvx512<TQ>(src + b, dst + b, e - b, scale, zp);
      else dequantizeAvx2<TQ>(src + b, dst + b, e - b, scale, zp);
    });
  }
  int64_t n_;
  DType in_;
  bool has_zero_point_;
  Isa isa_;
  Layout layout_;
  int threads_;
};

// ---- QLut ---------------------------------------------------------------------------------------

// 64 lookups: vpermi2b picks from 128 table bytes by an index's low 7 bits, so entries 0-127 and
// 128-255 are two permutes; the index's top bit chooses between them.
__attribute__((target("avx512f,avx512bw,avx512vbmi"))) inline __m512i lookup64(__m512i idx, const __m512i t[4]) {
  const __m512i low = _mm512_permutex2var_epi8(t[0], idx, t[1]);
  const __m512i high = _mm512_permutex2var_epi8(t[2], idx, t[3]);
  return _mm512_mask_blend_epi8(_mm512_movepi8_mask(idx), low, high);
}

__attribute__((target("avx512f,avx512bw,avx512vbmi"))) void lookupVbmi(const uint8_t* table, const uint8_t* src,
                                                                      uint8_t* dst, int64_t n) {
  __m512i t[4];
  for (int k = 0; k < 4; ++k) t[k] = _mm512_loadu_si512(table + 64 * k);
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) _mm512_storeu_si512(dst + i, lookup64(_mm512_loadu_si512(src + i), t));
  if (i < n) {
    const __mmask64 m = (~0ull) >> (64 - (n - i));
    _mm512_mask_storeu_epi8(dst + i, m, lookup64(_mm512_maskz_loadu_epi8(m, src + i), t));
  }
}

void lookupScalar(const uint8_t* table, const uint8_t* src, uint8_t* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = table[src[i]];
}

class TableKernel final : public Kernel {
 public:
  TableKernel(std::vector<uint8_t> table, int64_t n, bool vbmi, Layout layout, int threads)
      : n_(n), vbmi_(vbmi), layout_(layout), threads_(threads) {
    std::copy(table.begin(), table.end(), table_);
  }

  void run(const KernelArgs& args) override {
    const auto* src = static_cast<const uint8_t*>(args.inputs[0]);
    auto* dst = static_cast<uint8_t*>(args.outputs[0]);
    parallelChunks(n_, threads_, [&](int64_t begin, int64_t end) {
      if (vbmi_) {
        lookupVbmi(table_, src + begin, dst + begin, end - begin);
      } else {
        lookupScalar(table_, src + begin, dst + begin, end - begin);
      }
    });
  }
  Layout inputLayout(size_t) const override { return layout_; }
  Layout outputLayout(size_t) const override { return layout_; }
  int inPlaceInput() const override { return 0; }
  std::string detail() const override { return vbmi_ ? "avx512_vbmi" : "scalar"; }

 private:
  alignas(64) uint8_t table_[256];
  int64_t n_;
  bool vbmi_;
  Layout layout_;
  int threads_;
};

// Per-tensor float32 scale (and a zero point of the quantized dtype, when given); else why not.
bool perTensorParams(const NodeContext& ctx, DType quantized, std::string* why_not) {
  if (!ctx.hasInput(kScaleInput) || ctx.inputs[kScaleInput].dtype != DType::kFloat32 ||
      ctx.inputs[kScaleInput].numel() != 1) {
    *why_not = "per-tensor float32 scale only";
    return false;
  }
  if (ctx.hasInput(kZeroPointInput) &&
      (ctx.inputs[kZeroPointInput].dtype != quantized || ctx.inputs[kZeroPointInput].numel() != 1)) {
    *why_not = "per-tensor zero point of the quantized dtype only";
    return false;
  }
  return true;
}

// Per tensor the op is elementwise: keep a 4-D NHWC producer's layout.
Layout elementwiseLayout(const ValueDesc& d) {
  return d.layout == Layout::kNhwc && d.shape.size() == 4 ? Layout::kNhwc : Layout::kPlain;
}

}  // namespace

Result<std::unique_ptr<Kernel>> makeFastQuantizeLinear(const NodeContext& ctx, std::string* why_not) {
  Isa isa;
  if (!pickIsa(ctx, &isa, why_not)) return std::unique_ptr<Kernel>();
  if (!ctx.hasInput(0) || ctx.inputs[0].dtype != DType::kFloat32 || ctx.outputs.empty() ||
      !isInt8(ctx.outputs[0].dtype)) {
    *why_not = "float32 to uint8 / int8 only";
    return std::unique_ptr<Kernel>();
  }
  if (!perTensorParams(ctx, ctx.outputs[0].dtype, why_not)) return std::unique_ptr<Kernel>();
  return std::unique_ptr<Kernel>(std::make_unique<QuantizeKernel>(
      ctx.inputs[0].numel(), ctx.outputs[0].dtype, ctx.hasInput(kZeroPointInput), isa,
      elementwiseLayout(ctx.inputs[0]), ctx.num_threads));
}

Result<std::unique_ptr<Kernel>> makeFastDequantizeLinear(const NodeContext& ctx, std::string* why_not) {
  Isa isa;
  if (!pickIsa(ctx, &isa, why_not)) return std::unique_ptr<Kernel>();
  if (!ctx.hasInput(0) || !isInt8(ctx.inputs[0].dtype) || ctx.outputs.empty() ||
      ctx.outputs[0].dtype != DType::kFloat32) {
    *why_not = "uint8 / int8 to float32 only";
    return std::unique_ptr<Kernel>();
  }
  if (!perTensorParams(ctx, ctx.inputs[0].dtype, why_not)) return std::unique_ptr<Kernel>();
  return std::unique_ptr<Kernel>(std::make_unique<DequantizeKernel>(
      ctx.inputs[0].numel(), ctx.inputs[0].dtype, ctx.hasInput(kZeroPointInput), isa,
      elementwiseLayout(ctx.inputs[0]), ctx.num_threads));
}

Result<std::unique_ptr<Kernel>> makeFastQLut(const NodeContext& ctx, std::string* /*why_not*/) {
  DS_ASSIGN_OR_RETURN(std::vector<uint8_t> table, parseQLutTable(ctx));
  const CpuFeatures& cpu = ctx.cpu;
  const bool vbmi = cpu.avx512f && cpu.avx512bw && cpu.avx512_vbmi;
  return std::unique_ptr<Kernel>(std::make_unique<TableKernel>(
      std::move(table), ctx.inputs[0].numel(), vbmi, elementwiseLayout(ctx.inputs[0]), ctx.num_threads));
}

}  // namespace detslim
