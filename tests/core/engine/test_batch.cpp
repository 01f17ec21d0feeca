// compileForBatch: rebatching Reshape targets baked at batch 1, and the per-item check that
// refuses a rewrite that would mix batch items.

#include <gtest/gtest.h>

#include "core/engine/batch.h"
#include "core/graph/builder.h"
#include "core/onnx/onnx_io.h"
#include "test_data.h"

namespace detslim {
namespace {

Tensor int64s(std::vector<int64_t> v) {
  return Tensor::fromVector(DType::kInt64, {static_cast<int64_t>(v.size())}, v);
}

Tensor ramp(Shape shape) {
  Tensor t(DType::kFloat32, std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i) t.mutableData<float>()[i] = 0.25f + 0.5f * i;
  return t;
}

// x [1,2,3] -> Relu -> Reshape [1,6]: the leading 1 is the batch; rebatching is right.
TEST(CompileForBatch, RebatchesALeadingBatchOfOneAndChecksItems) {
  GraphBuilder b("flatten", 17);
  auto x = b.input("x", DType::kFloat32, {1, 2, 3});
  auto r = b.node("Relu", {x});
  auto y = b.node("Reshape", {r, b.constant("shape", int64s({1, 6}))});
  b.output(y);
  const Model model = b.build();
  EXPECT_FALSE(Engine::compile(model, {.input_shapes = {{"x", {4, 2, 3}}}}).isOk());
  Result<BatchPlan> plan = compileForBatch(model, "x", ramp({1, 2, 3}), 4, {});
  ASSERT_TRUE(plan.isOk()) << plan.status().message();
  EXPECT_TRUE(plan->rebatched);
  Tensor in = ramp({4, 2, 3});
  ASSERT_TRUE(plan->plan.run({&in, 1}).isOk());
  EXPECT_EQ(plan->plan.output(0).shape(), (Shape{4, 6}));
  EXPECT_FLOAT_EQ(plan->plan.output(0).data<float>()[23], 0.25f + 0.5f * 23);
}

// x [1,2,2] -> Transpose(1,0,2) -> Reshape [1,4]: at batch 2 the rewritten Reshape gives rows
// that mix both items, so the check must refuse it.
TEST(CompileForBatch, RefusesARewriteThatMixesItems) {
  GraphBuilder b("mixing", 17);
  auto x = b.input("x", DType::kFloat32, {1, 2, 2});
  auto t = b.node("Transpose", {x}, {Attribute::makeInts("perm", {1, 0, 2})});
  auto y = b.node("Reshape", {t, b.constant("shape", int64s({1, 4}))});
  b.output(y);
  Result<BatchPlan> plan = compileForBatch(b.build(), "x", ramp({1, 2, 2}), 2, {});
  ASSERT_FALSE(plan.isOk());
  EXPECT_NE(plan.status().message().find("differs from a batch-1 run"), std::string::npos)
      << plan.status().message();
}

TEST(CompileForBatch, Yolov5nDetectHeadRunsAtBatchEight) {
  DETSLIM_REQUIRE_TEST_DATA();
  Result<Model> model = loadModel(testing::testDataDir() / "models/yolov5n_fp32.onnx");
  ASSERT_TRUE(model.isOk());
  Tensor item(DType::kFloat32, {1, 3, 640, 640});
  for (int64_t i = 0; i < item.numel(); ++i) item.mutableData<float>()[i] = (i % 251) / 251.0f;
  Result<BatchPlan> plan = compileForBatch(*model, "images", item, 8, {});
  ASSERT_TRUE(plan.isOk()) << plan.status().message();
  EXPECT_TRUE(plan->rebatched);
  EXPECT_NE(plan->note.find("6 Reshape"), std::string::npos) << plan->note;
}

}  // namespace
}  // namespace detslim
