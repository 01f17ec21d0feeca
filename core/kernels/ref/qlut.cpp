// detslim::QLut, the reference: Y_q[i] = table[byte(X_q[i])] (ops.inc). The table is what the
// QDQ fusion computed by running DQ -> chain -> Q on the 256 codes with the reference kernels,
// so this kernel and the unfused reference graph agree bit for bit.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/kernels/ref/ref_ops.h"

namespace detslim {

namespace {

class RefQLutKernel final : public Kernel {
 public:
  RefQLutKernel(std::vector<uint8_t> table, int64_t numel) : table_(std::move(table)), numel_(numel) {}
  void run(const KernelArgs& args) override {
    const auto* src = static_cast<const uint8_t*>(args.inputs[0]);
    auto* dst = static_cast<uint8_t*>(args.outputs[0]);
    for (int64_t i = 0; i < numel_; ++i) dst[i] = table_[src[i]];
  }
  int inPlaceInput() const override { return 0; }

 private:
  std::vector<uint8_t> table_;
  int64_t numel_;
};

}  // namespace

Result<std::vector<uint8_t>> parseQLutTable(const NodeContext& ctx) {
  const Node& n = *ctx.node;
  const int64_t y_type = n.intOr("y_type", 2);
  if (y_type != 2 && y_type != 3) {
    return ctx.error("y_type " + std::to_string(y_type) + " is not 2 (uint8) or 3 (int8)");
  }
  const Attribute* a = n.attr("table");
  if (!a || a->kind != Attribute::Kind::kInts || a->ints.size() != 256) {
    return ctx.error("attribute table must hold 256 ints");
  }
  const int64_t lo = y_type == 2 ? 0 : -128;
  const int64_t hi = y_type == 2 ? 255 : 127;
  std::vector<uint8_t> table(256);
  for (size_t i = 0; i < 256; ++i) {
    const int64_t v = a->ints[i];
    if (v < lo || v > hi) {
      return ctx.error("table[" + std::to_string(i) + "] = " + std::to_string(v) + " is outside " +
                       (y_type == 2 ? "uint8" : "int8"));
    }
    table[i] = static_cast<uint8_t>(v & 0xff);  // int8: the two's-complement byte
  }
  return table;
}

Status inferQLut(NodeContext& ctx) {
  if (ctx.inputs.size() != 1 || !ctx.inputs[0].present()) return ctx.error("expects exactly one input");
  if (ctx.outputs.size() != 1) return ctx.error("expects exactly one output");
  const DType x = ctx.inputs[0].dtype;
  if (x != DType::kUInt8 && x != DType::kInt8) {
    return ctx.error("input is " + std::string(dtypeName(x)) + ", expected uint8 or int8");
  }
  DS_ASSIGN_OR_RETURN(std::vector<uint8_t> table, parseQLutTable(ctx));
  (void)table;
  const DType y = ctx.node->intOr("y_type", 2) == 2 ? DType::kUInt8 : DType::kInt8;
  ctx.outputs[0] = ValueDesc{y, ctx.inputs[0].shape};
  return Status::ok();
}

Result<std::unique_ptr<Kernel>> makeRefQLut(const NodeContext& ctx, std::string* /*why_not*/) {
  DS_ASSIGN_OR_RETURN(std::vector<uint8_t> table, parseQLutTable(ctx));
  return std::unique_ptr<Kernel>(std::make_unique<RefQLutKernel>(std::move(table), ctx.inputs[0].numel()));
}

}  // namespace detslim
