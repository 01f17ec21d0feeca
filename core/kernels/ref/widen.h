#pragma once
// float16 / bfloat16 support for the reference kernels that compute in float32 (Conv,
// FusedConv, ConvTranspose, pooling, Gemm, MatMul, Resize): the node's float16 / bfloat16
// inputs are widened to float32 in scratch, the float32 kernel runs, and its outputs are
// rounded back once (round to nearest even). Computing in float32 and rounding once is at least
// as accurate as computing in the narrow type, which is what an oracle wants.
// Private to core/kernels/ref.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/kernels/kernel.h"

namespace detslim::widen {

inline bool isNarrowFloat(DType d) {
  return d == DType::kFloat16 || d == DType::kBFloat16;
}

// True when any input or output of the node is float16 / bfloat16.
inline bool needsWidening(const NodeContext& ctx) {
  for (const ValueDesc& v : ctx.inputs) {
    if (isNarrowFloat(v.dtype)) return true;
  }
  for (const ValueDesc& v : ctx.outputs) {
    if (isNarrowFloat(v.dtype)) return true;
  }
  return false;
}

class WidenKernel final : public Kernel {
 public:
  // `narrow_in` / `narrow_out`: the dtype of each input / output, kUndefined where the value is
  // passed through unchanged.
  WidenKernel(std::unique_ptr<Kernel> inner, std::vector<DType> narrow_in,
              std::vector<int64_t> in_numel, std::vector<DType> narrow_out,
              std::vector<int64_t> out_numel)
      : inner_(std::move(inner)),
        narrow_in_(std::move(narrow_in)),
        in_numel_(std::move(in_numel)),
        narrow_out_(std::move(narrow_out)),
        out_numel_(std::move(out_numel)) {
    // Scratch: input pointers, output pointers, widened inputs, float outputs, inner scratch;
    // each region 64-byte aligned.
    size_t offset = align((narrow_in_.size() + narrow_out_.size()) * sizeof(void*));
    for (size_t i = 0; i < narrow_in_.size(); ++i) {
      in_offset_.push_back(offset);
      if (narrow_in_[i] != DType::kUndefined) {
        offset += align(static_cast<size_t>(in_numel_[i]) * sizeof(float));
      }
    }
    for (size_t i = 0; i < narrow_out_.size(); ++i) {
      out_offset_.push_back(offset);
      if (narrow_out_[i] != DType::kUndefined) {
        offset += align(static_cast<size_t>(out_numel_[i]) * sizeof(float));
      }
    }
    inner_offset_ = offset;
    scratch_bytes_ = offset + inner_->scratchBytes();
  }

  size_t scratchBytes() const override { return scratch_bytes_; }

  void run(const KernelArgs& args) override {
    auto* base = static_cast<unsigned char*>(args.scratch);
    // The pointer arrays live in scratch so that run() neither allocates nor shares state.
    auto* in_ptrs = reinterpret_cast<const void**>(base);
    auto* out_ptrs = reinterpret_cast<void**>(base + narrow_in_.size() * sizeof(void*));
    for (size_t i = 0; i < narrow_in_.size(); ++i) {
      const void* src = i < args.inputs.size() ? args.inputs[i] : nullptr;
      if (src && narrow_in_[i] != DType::kUndefined) {
        auto* dst = reinterpret_cast<float*>(base + in_offset_[i]);
        const auto* bits = static_cast<const uint16_t*>(src);
        const bool half = narrow_in_[i] == DType::kFloat16;
        for (int64_t e = 0; e < in_numel_[i]; ++e) {
          dst[e] = half ? halfToFloat(bits[e]) : bfloat16ToFloat(bits[e]);
        }
        src = dst;
      }
      in_ptrs[i] = src;
    }
    for (size_t i = 0; i < narrow_out_.size(); ++i) {
      void* dst = i < args.outputs.size() ? args.outputs[i] : nullptr;
      out_ptrs[i] = dst && narrow_out_[i] != DType::kUndefined ? base + out_offset_[i] : dst;
    }
    inner_->run(KernelArgs{std::span<const void* const>(in_ptrs, narrow_in_.size()),
                           std::span<void* const>(out_ptrs, narrow_out_.size()),
                           base + inner_offset_});
    for (size_t i = 0; i < narrow_out_.size(); ++i) {
      void* dst = i < args.outputs.size() ? args.outputs[i] : nullptr;
      if (!dst || narrow_out_[i] == DType::kUndefined) continue;
      const auto* src = static_cast<const float*>(out_ptrs[i]);
      auto* bits = static_cast<uint16_t*>(dst);
      const bool half = narrow_out_[i] == DType::kFloat16;
      for (int64_t e = 0; e < out_numel_[i]; ++e) {
        bits[e] = half ? floatToHalf(src[e]) : floatToBFloat16(src[e]);
      }
    }
  }

 private:
  static size_t align(size_t bytes) { return (bytes + 63) / 64 * 64; }

  std::unique_ptr<Kernel> inner_;
  std::vector<DType> narrow_in_;
  std::vector<int64_t> in_numel_;
  std::vector<DType> narrow_out_;
  std::vector<int64_t> out_numel_;
  std::vector<size_t> in_offset_;
  std::vector<size_t> out_offset_;
  size_t inner_offset_ = 0;
  size_t scratch_bytes_ = 0;
};

// Creates `float_factory`'s kernel for the node seen with float16 / bfloat16 values as float32,
// wrapped so that it reads and writes the narrow types. Compile-time constants keep their own
// dtype (factories read them through Tensor's dtype-aware accessors).
inline Result<std::unique_ptr<Kernel>> widened(const NodeContext& ctx, std::string* why_not,
                                               KernelFactory float_factory) {
  NodeContext wide = ctx;
  std::vector<DType> narrow_in(ctx.inputs.size(), DType::kUndefined);
  std::vector<int64_t> in_numel(ctx.inputs.size(), 0);
  for (size_t i = 0; i < ctx.inputs.size(); ++i) {
    if (!isNarrowFloat(ctx.inputs[i].dtype)) continue;
    narrow_in[i] = ctx.inputs[i].dtype;
    in_numel[i] = ctx.inputs[i].numel();
    wide.inputs[i].dtype = DType::kFloat32;
  }
  std::vector<DType> narrow_out(ctx.outputs.size(), DType::kUndefined);
  std::vector<int64_t> out_numel(ctx.outputs.size(), 0);
  for (size_t i = 0; i < ctx.outputs.size(); ++i) {
    if (!isNarrowFloat(ctx.outputs[i].dtype)) continue;
    narrow_out[i] = ctx.outputs[i].dtype;
    out_numel[i] = ctx.outputs[i].numel();
    wide.outputs[i].dtype = DType::kFloat32;
  }
  DS_ASSIGN_OR_RETURN(std::unique_ptr<Kernel> inner, float_factory(wide, why_not));
  if (!inner) return inner;
  return std::unique_ptr<Kernel>(
      std::make_unique<WidenKernel>(std::move(inner), std::move(narrow_in), std::move(in_numel),
                                    std::move(narrow_out), std::move(out_numel)));
}

}  // namespace detslim::widen
