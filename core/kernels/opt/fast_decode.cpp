// f32_yolo_decode_simd: detslim::YoloDecode reading the head convolution's NHWC output, where one
// pixel's A*K channels are contiguous — so each anchor's K outputs are one vector sigmoid from
// src to dst and the Transpose of the unfused decode becomes nothing. Step constants are
// expanded at creation to [A, H, W, 2] (or kept as one scalar), so run() indexes them directly.
// Several heads (attribute heads) write their rows into one output: the Concat of the heads.

#include <omp.h>

#include <memory>
#include <string>

#include "core/kernels/opt/opt_kernels.h"
#include "core/kernels/opt/simd_math.h"
#include "core/kernels/ref/broadcast.h"
#include "core/kernels/ref/yolo_decode.h"

namespace detslim {

namespace {

// Below this many outputs the decode stays on one thread.
constexpr int64_t kParallelOutputs = 1 << 15;

struct ExpandedStep {
  yolo_decode::Step step;
  bool scalar = false;
  float value = 0.0f;        // when scalar
  std::vector<float> table;  // [A, H, W, 2] of its head otherwise
};

class FastYoloDecodeKernel final : public Kernel {
 public:
  // steps: per head, spec.steps() entries (xy first).
  FastYoloDecodeKernel(yolo_decode::Spec spec, std::vector<ExpandedStep> steps, bool avx512, int threads)
      : spec_(std::move(spec)), steps_(std::move(steps)), avx512_(avx512), threads_(threads) {}

  void run(const KernelArgs& args) override {
    auto* dst = static_cast<float*>(args.outputs[0]);
    for (size_t h = 0; h < spec_.heads.size(); ++h) {
      const auto* src = static_cast<const float*>(args.inputs[h]);
      const int64_t rows = spec_.batch * spec_.heads[h].height;
      const int64_t total = rows * spec_.heads[h].width * spec_.anchors * spec_.outputs;
      const int threads = total < kParallelOutputs ? 1 : threads_;
#pragma omp parallel for num_threads(threads) schedule(static)
      for (int64_t r = 0; r < rows; ++r) decodeRow(h, src, dst, r);
    }
  }
  Layout inputLayout(size_t i) const override { return i < spec_.heads.size() ? Layout::kNhwc : Layout::kPlain; }

 private:
  void decodeRow(size_t h, const float* src, float* dst, int64_t row) const {
    const int64_t A = spec_.anchors, K = spec_.outputs;
    const int64_t H = spec_.heads[h].height, W = spec_.heads[h].width;
    const int64_t n = row / H, y = row % H;
    const size_t nxy = spec_.xy.size();
    const ExpandedStep* steps = steps_.data() + h * spec_.steps();
    for (int64_t x = 0; x < W; ++x) {
      const float* pixel = src + (row * W + x) * A * K;
      for (int64_t a = 0; a < A; ++a) {
        float* out = dst + (n * spec_.rows + spec_.heads[h].first_row + (a * H + y) * W + x) * K;
        if (avx512_) simd::sigmoidAvx512(pixel + a * K, out, K);
        else simd::sigmoidAvx2(pixel + a * K, out, K);
        const int64_t cell = ((a * H + y) * W + x) * 2;
        for (int64_t j = 0; j < 2; ++j) {
          float v = out[j];
          for (size_t i = 0; i < nxy; ++i) v = apply(steps[i], v, cell + j);
          out[j] = v;
          float w = out[2 + j];
          for (size_t i = nxy; i < spec_.steps(); ++i) w = apply(steps[i], w, cell + j);
          out[2 + j] = w;
        }
      }
    }
  }

  static float apply(const ExpandedStep& s, float v, int64_t index) {
    const float c = s.scalar ? s.value : s.table[static_cast<size_t>(index)];
    // x ** 2 as a product, as the fast Pow kernel computes it.
    if (s.step.op == yolo_decode::StepOp::kPow && !s.step.const_first && c == 2.0f) return v * v;
    return yolo_decode::applyStep(s.step, v, c);
  }

  yolo_decode::Spec spec_;
  std::vector<ExpandedStep> steps_;
  bool avx512_;
  int threads_;
};

}  // namespace

Result<std::unique_ptr<Kernel>> makeFastYoloDecode(const NodeContext& ctx, std::string* why_not) {
  const bool avx512 = ctx.cpu.hasAvx512Core();
  if (!avx512 && !(ctx.cpu.avx2 && ctx.cpu.fma)) {
    *why_not = "needs AVX2+FMA or AVX-512";
    return std::unique_ptr<Kernel>();
  }
  DS_ASSIGN_OR_RETURN(yolo_decode::Spec spec, yolo_decode::parseSpec(ctx));
  std::vector<ExpandedStep> steps;
  for (size_t h = 0; h < spec.heads.size(); ++h) {
    const Shape pair = spec.pairShape(h);
    const int64_t H = spec.heads[h].height, W = spec.heads[h].width;
    for (size_t i = 0; i < spec.steps(); ++i) {
      ExpandedStep e;
      e.step = i < spec.xy.size() ? spec.xy[i] : spec.wh[i - spec.xy.size()];
      const Tensor* c = ctx.constant(spec.constantInput(h, i));
      if (!c) {
        *why_not = "step constants must be known at compile time";
        return std::unique_ptr<Kernel>();
      }
      const std::vector<int64_t> strides = broadcastStrides(c->shape(), pair);
      if (spec.batch > 1 && strides[0] != 0) {
        *why_not = "a step constant varies with the batch";
        return std::unique_ptr<Kernel>();
      }
      const float* values = c->data<float>();
      if (c->numel() == 1) {
        e.scalar = true;
        e.value = values[0];
      } else {
        e.table.resize(static_cast<size_t>(spec.anchors * H * W * 2));
        size_t t = 0;
        for (int64_t a = 0; a < spec.anchors; ++a) {
          for (int64_t y = 0; y < H; ++y) {
            for (int64_t x = 0; x < W; ++x) {
              for (int64_t j = 0; j < 2; ++j) {
                e.table[t++] = values[a * strides[1] + y * strides[2] + x * strides[3] + j * strides[4]];
              }
            }
          }
        }
      }
      steps.push_back(std::move(e));
    }
  }
  return std::unique_ptr<Kernel>(
      std::make_unique<FastYoloDecodeKernel>(std::move(spec), std::move(steps), avx512, ctx.num_threads));
}

}  // namespace detslim
