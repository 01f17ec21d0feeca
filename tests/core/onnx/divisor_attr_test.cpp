// Attribute values ONNX's shape inference divides by are refused before it runs (a Conv with a
// zero stride raised SIGFPE inside onnx 1.12's convPoolShapeInference; found by fuzzing).

#include <gtest/gtest.h>

#include "core/graph/builder.h"
#include "core/onnx/onnx_io.h"

namespace detslim {
namespace {

Model convWith(std::vector<Attribute> attrs) {
  GraphBuilder b("divisor", 17);
  const std::string x = b.input("x", DType::kFloat32, {1, 2, 5, 5});
  const std::string w = b.constant("w", Tensor(DType::kFloat32, {3, 2, 3, 3}));
  b.output(b.node("Conv", {x, w}, std::move(attrs), "y"), DType::kFloat32, {1, 3, 3, 3}, true);
  Model m = b.build();
  m.graph.nodes[0].name = "conv0";
  return m;
}

TEST(OnnxDivisorAttributes, ZeroStrideDilationKernelOrGroupIsRefusedNamingTheNode) {
  const std::vector<std::pair<std::string, Attribute>> cases = {
      {"strides", Attribute::makeInts("strides", {0, 2})},
      {"dilations", Attribute::makeInts("dilations", {1, 0})},
      {"kernel_shape", Attribute::makeInts("kernel_shape", {3, 0})},
      {"group", Attribute::makeInt("group", 0)},
  };
  for (const auto& [name, attr] : cases) {
    Model m = convWith({attr});
    Status inferred = inferShapes(m, /*strict=*/true);
    EXPECT_FALSE(inferred.isOk()) << name;
    EXPECT_NE(inferred.message().find(name), std::string::npos) << inferred.message();
    EXPECT_NE(inferred.message().find("conv0"), std::string::npos) << inferred.message();
    Result<std::string> bytes = serializeModel(m);
    if (bytes.isOk()) {
      Result<Model> loaded = loadModelFromBytes(*bytes, "divisor.onnx", {});
      ASSERT_FALSE(loaded.isOk()) << name;
      EXPECT_NE(loaded.status().message().find(name), std::string::npos) << loaded.status().message();
    }
  }
  Model ok = convWith({Attribute::makeInts("strides", {1, 1})});
  EXPECT_TRUE(inferShapes(ok, true).isOk());
}

}  // namespace
}  // namespace detslim
