#pragma once
// Which ONNX operators the engine can run (from core/kernels/ops.inc).

#include <string>
#include <string_view>
#include <vector>

namespace detslim {

struct OpName {
  std::string domain;  // "" = ai.onnx
  std::string op_type;
};

// Every operator in ops.inc, in list order.
const std::vector<OpName>& engineOps();
// True when ops.inc lists the operator ("" and "ai.onnx" are the same domain).
bool engineSupportsOp(std::string_view domain, std::string_view op_type);

}  // namespace detslim
