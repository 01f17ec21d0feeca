#pragma once
// Layout conversion kernels the engine inserts between producers and consumers that disagree on
// a value's layout (core/kernels/kernel.h Layout).

#include <memory>

#include "core/kernels/kernel.h"

namespace detslim {

// A kernel copying a value of `src` layout into `dst_layout` (same dtype and logical shape);
// nullptr when the conversion is not supported (e.g. a blocked layout of a non-4-D value).
// oneDNN fixes a primitive's thread split when it is created: pass the plan's thread count.
std::unique_ptr<Kernel> makeReorderKernel(const ValueDesc& src, Layout dst_layout, int num_threads);

}  // namespace detslim
