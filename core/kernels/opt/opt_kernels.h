#pragma once
// Declarations of the optimised kernel factories listed in impls.inc.

#include <memory>
#include <string>

#include "core/kernels/kernel.h"

namespace detslim {

#define DETSLIM_KERNEL(op, name, factory) \
  Result<std::unique_ptr<Kernel>> factory(const NodeContext& ctx, std::string* why_not);
#include "core/kernels/impls.inc"
#undef DETSLIM_KERNEL

}  // namespace detslim
