// detslim::RoundToHalf, the reference: Y = float(half(X)) element by element, with the same
// conversions the float16 tensors of every other reference kernel use (core/base/dtype.h: round
// to nearest even, overflow to +-inf, subnormals kept, NaN stays NaN).

#include <memory>
#include <string>

#include "core/kernels/ref/ref_ops.h"

namespace detslim {

namespace {

class RefRoundToHalfKernel final : public Kernel {
 public:
  explicit RefRoundToHalfKernel(int64_t numel) : numel_(numel) {}
  void run(const KernelArgs& args) override {
    const auto* src = static_cast<const float*>(args.inputs[0]);
    auto* dst = static_cast<float*>(args.outputs[0]);
    for (int64_t i = 0; i < numel_; ++i) dst[i] = halfToFloat(floatToHalf(src[i]));
  }
  int inPlaceInput() const override { return 0; }

 private:
  int64_t numel_;
};

}  // namespace

Status inferRoundToHalf(NodeContext& ctx) {
  if (ctx.inputs.size() != 1 || !ctx.inputs[0].present()) return ctx.error("expects exactly one input");
  if (ctx.outputs.size() != 1) return ctx.error("expects exactly one output");
  if (ctx.inputs[0].dtype != DType::kFloat32) {
    return ctx.error("input is " + std::string(dtypeName(ctx.inputs[0].dtype)) + ", expected float32");
  }
  ctx.outputs[0] = ValueDesc{DType::kFloat32, ctx.inputs[0].shape};
  return Status::ok();
}

Result<std::unique_ptr<Kernel>> makeRefRoundToHalf(const NodeContext& ctx, std::string* /*why_not*/) {
  return std::unique_ptr<Kernel>(std::make_unique<RefRoundToHalfKernel>(ctx.inputs[0].numel()));
}

}  // namespace detslim
