#pragma once
// Shared by the oneDNN kernel tests: creating a node's optimised kernel the way the engine does.

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

#include "core/kernels/opt/dnnl_common.h"
#include "core/kernels/registry.h"

namespace detslim::testing {

struct OptimisedKernel {
  std::unique_ptr<Kernel> kernel;
  std::string impl;    // the registry's implementation name, or "request"
  std::string detail;  // DnnlKernel::detail()
};

// Creates the kernel of ctx's node through the registry (first implementation that accepts), or
// through makeDnnlKernelWithLayouts when `request` is given (ctx.outputs inferred first). nullopt
// with the rejections in *why_not when only the reference kernel accepts; failures are reported
// to gtest.
inline std::optional<OptimisedKernel> makeOptimisedKernel(NodeContext& ctx,
                                                          const std::optional<DnnlLayoutRequest>& request,
                                                          std::string* why_not) {
  OptimisedKernel made;
  if (request) {
    ctx.outputs.assign(ctx.node->outputs.size(), ValueDesc{});
    const Status inferred = findOp(ctx.node->domain, ctx.node->op_type)->infer(ctx);
    EXPECT_TRUE(inferred.isOk()) << inferred.message();
    if (!inferred.isOk()) return std::nullopt;
    Result<std::unique_ptr<Kernel>> kernel = makeDnnlKernelWithLayouts(ctx, *request, why_not);
    EXPECT_TRUE(kernel.isOk()) << kernel.status().message();
    if (!kernel.isOk() || !kernel.value()) return std::nullopt;
    made.kernel = std::move(kernel).value();
    made.impl = "request";
  } else {
    Result<KernelChoice> choice = createKernel(ctx, /*reference_only=*/false);
    EXPECT_TRUE(choice.isOk()) << choice.status().message();
    if (!choice.isOk()) return std::nullopt;
    made.impl = choice->impl_name;
    if (made.impl == "ref") {
      for (const std::string& r : choice->rejections) *why_not += r + "; ";
      return std::nullopt;
    }
    made.kernel = std::move(choice->kernel);
  }
  const auto* dnnl_kernel = dynamic_cast<const DnnlKernel*>(made.kernel.get());
  EXPECT_NE(dnnl_kernel, nullptr) << "oneDNN kernels derive from DnnlKernel";
  if (dnnl_kernel) made.detail = dnnl_kernel->detail();
  return made;
}

}  // namespace detslim::testing
