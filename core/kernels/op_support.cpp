#include "core/kernels/op_support.h"

#include <algorithm>

namespace detslim {

const std::vector<OpName>& engineOps() {
  static const std::vector<OpName> kOps = {
#define DETSLIM_OP(domain, op_type) OpName{domain, op_type},
#include "core/kernels/ops.inc"
#undef DETSLIM_OP
  };
  return kOps;
}

bool engineSupportsOp(std::string_view domain, std::string_view op_type) {
  const std::string_view wanted = domain == "ai.onnx" ? std::string_view{} : domain;
  const auto& ops = engineOps();
  return std::any_of(ops.begin(), ops.end(), [&](const OpName& op) {
    return op.op_type == op_type && op.domain == wanted;
  });
}

}  // namespace detslim
