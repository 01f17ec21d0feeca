#pragma once
// Declarations of every op's shape function and reference kernel factory (see ops.inc).

#include <memory>
#include <string>

#include "core/kernels/kernel.h"

namespace detslim {

#define DETSLIM_OP(domain, op)                                                        \
  Status infer##op(NodeContext& ctx);                                                 \
  Result<std::unique_ptr<Kernel>> makeRef##op(const NodeContext& ctx, std::string* why_not);
#include "core/kernels/ops.inc"
#undef DETSLIM_OP

}  // namespace detslim
