// float16 storage kernels: detslim::RoundToHalf (f32 -> nearest f16 -> f32, in place) and Cast
// between float32 and float16, on the F16C conversions vcvtps2ph / vcvtph2ps — 16 lanes with
// AVX-512 F (+ BW / VL for masked tails), else 8 lanes with F16C + AVX. Round to nearest even
// (imm8 = _MM_FROUND_TO_NEAREST_INT), overflow to +-inf, subnormals kept, NaN stays NaN: the
// same results as core/base/dtype.h's floatToHalf / halfToFloat, bit for bit (tests/core/kernels/
// fast/test_fast_half.cpp). Elementwise, so every layout is taken as it comes (a blocked
// layout's zero padding stays zero).

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>

#include "core/kernels/opt/opt_kernels.h"

namespace detslim {

namespace {

// Below this many elements a kernel stays on one thread: forking costs more than it saves.
constexpr int64_t kParallelElements = 1 << 15;
constexpr int kRound = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;

enum class Isa { kAvx512, kF16c };

enum class Conversion { kRoundToHalf, kFloatToHalf, kHalfToFloat };

__attribute__((target("avx512f,avx512bw,avx512vl"))) void roundAvx512(const float* src, float* dst,
                                                                       int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256i h = _mm512_cvtps_ph(_mm512_loadu_ps(src + i), kRound);
    _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(h));
  }
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1u);
    const __m256i h = _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, src + i), kRound);
    _mm512_mask_storeu_ps(dst + i, m, _mm512_cvtph_ps(h));
  }
}

__attribute__((target("avx512f,avx512bw,avx512vl"))) void toHalfAvx512(const float* src,
                                                                        uint16_t* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i),
                        _mm512_cvtps_ph(_mm512_loadu_ps(src + i), kRound));
  }
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1u);
    _mm256_mask_storeu_epi16(dst + i, m, _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, src + i), kRound));
  }
}

__attribute__((target("avx512f,avx512bw,avx512vl"))) void toFloatAvx512(const uint16_t* src,
                                                                         float* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i));
    _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(h));
  }
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1u);
    _mm512_mask_storeu_ps(dst + i, m, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, src + i)));
  }
}

// 8 lanes; the tail goes through the scalar conversions, which give the same bits.
__attribute__((target("avx,f16c"))) void roundF16c(const float* src, float* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_loadu_ps(src + i), kRound)));
  }
  for (; i < n; ++i) dst[i] = halfToFloat(floatToHalf(src[i]));
}

__attribute__((target("avx,f16c"))) void toHalfF16c(const float* src, uint16_t* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), _mm256_cvtps_ph(_mm256_loadu_ps(src + i), kRound));
  }
  for (; i < n; ++i) dst[i] = floatToHalf(src[i]);
}

__attribute__((target("avx,f16c"))) void toFloatF16c(const uint16_t* src, float* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))));
  }
  for (; i < n; ++i) dst[i] = halfToFloat(src[i]);
}

class HalfConversionKernel final : public Kernel {
 public:
  HalfConversionKernel(Conversion conversion, int64_t n, Isa isa, Layout layout, int threads)
      : conversion_(conversion), n_(n), isa_(isa), layout_(layout), threads_(threads) {}

  void run(const KernelArgs& args) override {
    if (n_ < kParallelElements || threads_ <= 1) {
      convert(args, 0, n_);
      return;
    }
#pragma omp parallel num_threads(threads_)
    {
      const int64_t t = omp_get_thread_num();
      const int64_t nt = omp_get_num_threads();
      // Chunks of whole 64-byte lines of the float side.
      const int64_t per = ((n_ + nt - 1) / nt + 15) / 16 * 16;
      const int64_t begin = std::min(n_, per * t);
      const int64_t end = std::min(n_, per * (t + 1));
      if (begin < end) convert(args, begin, end);
    }
  }
  Layout inputLayout(size_t) const override { return layout_; }
  Layout outputLayout(size_t) const override { return layout_; }
  int inPlaceInput() const override { return conversion_ == Conversion::kRoundToHalf ? 0 : -1; }

 private:
  void convert(const KernelArgs& args, int64_t begin, int64_t end) const {
    const int64_t n = end - begin;
    const bool avx512 = isa_ == Isa::kAvx512;
    switch (conversion_) {
      case Conversion::kRoundToHalf: {
        const float* src = static_cast<const float*>(args.inputs[0]) + begin;
        float* dst = static_cast<float*>(args.outputs[0]) + begin;
        avx512 ? roundAvx512(src, dst, n) : roundF16c(src, dst, n);
        break;
      }
      case Conversion::kFloatToHalf: {
        const float* src = static_cast<const float*>(args.inputs[0]) + begin;
        uint16_t* dst = static_cast<uint16_t*>(args.outputs[0]) + begin;
        avx512 ? toHalfAvx512(src, dst, n) : toHalfF16c(src, dst, n);
        break;
      }
      case Conversion::kHalfToFloat: {
        const uint16_t* src = static_cast<const uint16_t*>(args.inputs[0]) + begin;
        float* dst = static_cast<float*>(args.outputs[0]) + begin;
        avx512 ? toFloatAvx512(src, dst, n) : toFloatF16c(src, dst, n);
        break;
      }
    }
  }

  Conversion conversion_;
  int64_t n_;
  Isa isa_;
  Layout layout_;
  int threads_;
};

bool pickIsa(const NodeContext& ctx, Isa* isa, std::string* why_not) {
  if (ctx.cpu.avx512f && ctx.cpu.avx512bw && ctx.cpu.avx512vl) {
    *isa = Isa::kAvx512;
    return true;
  }
  if (ctx.cpu.avx && ctx.cpu.f16c) {
    *isa = Isa::kF16c;
    return true;
  }
  *why_not = "needs F16C (with AVX) or AVX-512";
  return false;
}

// Elements of the buffer: a blocked layout's padded lanes are converted too (zeros stay zeros).
int64_t bufferElements(const ValueDesc& d) {
  return static_cast<int64_t>(d.bytes() / dtypeSize(d.dtype));
}

}  // namespace

Result<std::unique_ptr<Kernel>> makeFastRoundToHalf(const NodeContext& ctx, std::string* why_not) {
  Isa isa;
  if (!pickIsa(ctx, &isa, why_not)) return std::unique_ptr<Kernel>();
  if (ctx.inputs[0].dtype != DType::kFloat32) {
    *why_not = "float32 only";
    return std::unique_ptr<Kernel>();
  }
  return std::unique_ptr<Kernel>(std::make_unique<HalfConversionKernel>(
      Conversion::kRoundToHalf, bufferElements(ctx.inputs[0]), isa, ctx.inputs[0].layout,
      ctx.num_threads));
}

Result<std::unique_ptr<Kernel>> makeFastCastHalf(const NodeContext& ctx, std::string* why_not) {
  Isa isa;
  if (!pickIsa(ctx, &isa, why_not)) return std::unique_ptr<Kernel>();
  const DType from = ctx.inputs[0].dtype;
  const DType to = ctx.outputs[0].dtype;
  Conversion conversion;
  if (from == DType::kFloat32 && to == DType::kFloat16) {
    conversion = Conversion::kFloatToHalf;
  } else if (from == DType::kFloat16 && to == DType::kFloat32) {
    conversion = Conversion::kHalfToFloat;
  } else {
    *why_not = "only float32 <-> float16";
    return std::unique_ptr<Kernel>();
  }
  return std::unique_ptr<Kernel>(std::make_unique<HalfConversionKernel>(
      conversion, bufferElements(ctx.inputs[0]), isa, ctx.inputs[0].layout, ctx.num_threads));
}

}  // namespace detslim
