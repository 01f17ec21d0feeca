// The Detect-head decode fusion (core/engine/detect_fusion.h) and the detslim::YoloDecode kernels:
// hand-built YOLOv5-style heads compiled with fusion (one f32_yolo_decode_simd step reading the
// convolution's NHWC output) against the same graph unfused on reference kernels (the truth),
// heads that must not fuse, and the real yolov5n export (three heads fuse).

#include <algorithm>
#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "core/engine/engine.h"
#include "core/graph/builder.h"
#include "core/onnx/onnx_io.h"
#include "tests/test_data.h"

namespace detslim {
namespace {

// The fused kernel's sigmoid is a polynomial e^x (< 2 ulp) and the chain scales it by up to
// stride * grid ~ 64; relative 1e-5 of the value plus 1e-5 absolute covers both.
constexpr float kRelTolerance = 1e-5f;
constexpr float kAbsTolerance = 1e-5f;

Tensor randomTensor(Shape shape, uint32_t seed, float lo, float hi) {
  Tensor t(DType::kFloat32, std::move(shape));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.mutableData<float>()[i] = dist(rng);
  return t;
}

Tensor scalar(float v) { return Tensor::fromVector<float>(DType::kFloat32, {}, {v}); }

struct HeadSpec {
  int64_t batch = 1, anchors = 3, outputs = 9, height = 8, width = 8;
  bool from_conv = true;          // X made by a Conv (NHWC) or a graph input (plain)
  bool odd_chains = false;        // Sub / Div / Pow(1.5) with constants first
  bool sigmoid_is_output = false;  // an intermediate also a graph output: must not fuse
};

Model buildHead(const HeadSpec& s) {
  GraphBuilder b("head", 13);
  const int64_t A = s.anchors, K = s.outputs, H = s.height, W = s.width, N = s.batch;
  std::string x;
  if (s.from_conv) {
    const std::string img = b.input("images", DType::kFloat32, {N, 5, H, W});
    const std::string w = b.constant("w", randomTensor({A * K, 5, 1, 1}, 11, -1.0f, 1.0f));
    const std::string bias = b.constant("b", randomTensor({A * K}, 12, -1.0f, 1.0f));
    x = b.node("Conv", {img, w, bias}, {}, "head_conv");
  } else {
    x = b.input("x", DType::kFloat32, {N, A * K, H, W});
  }
  const std::string r1 = b.node("Reshape", {x, b.constant("s1", Tensor::fromVector<int64_t>(DType::kInt64, {5}, {N, A, K, H, W}))});
  const std::string tr = b.node("Transpose", {r1}, {Attribute::makeInts("perm", {0, 1, 3, 4, 2})});
  const std::string sg = b.node("Sigmoid", {tr}, {}, "decode_sigmoid");
  const std::vector<std::string> parts = b.nodeMulti(
      "Split", {sg, b.constant("split", Tensor::fromVector<int64_t>(DType::kInt64, {3}, {2, 2, K - 4}))}, 3,
      {Attribute::makeInt("axis", 4)});
  const std::string grid = b.constant("grid", randomTensor({1, A, H, W, 2}, 21, -0.5f, 8.0f));
  const std::string anchor = b.constant("anchor", randomTensor({1, A, 1, 1, 2}, 22, 4.0f, 40.0f));
  std::string xy, wh;
  if (!s.odd_chains) {
    xy = b.node("Mul", {parts[0], b.constant("two", scalar(2.0f))});
    xy = b.node("Add", {xy, grid});
    xy = b.node("Mul", {xy, b.constant("stride", scalar(8.0f))});
    wh = b.node("Mul", {parts[1], b.constant("two_b", scalar(2.0f))});
    wh = b.node("Pow", {wh, b.constant("p", scalar(2.0f))});
    wh = b.node("Mul", {wh, anchor});
  } else {
    xy = b.node("Sub", {b.constant("one", scalar(1.0f)), parts[0]});
    xy = b.node("Div", {grid, xy});
    wh = b.node("Pow", {parts[1], b.constant("p", scalar(1.5f))});
    wh = b.node("Div", {b.constant("three", scalar(3.0f)), wh});
    wh = b.node("Add", {anchor, wh});
  }
  const std::string cat = b.node("Concat", {xy, wh, parts[2]}, {Attribute::makeInt("axis", -1)});
  const std::string y = b.node("Reshape", {cat, b.constant("s2", Tensor::fromVector<int64_t>(DType::kInt64, {3}, {N, A * H * W, K}))});
  b.output(y);
  if (s.sigmoid_is_output) b.output(sg);
  return b.build();
}

int countSteps(const Plan& plan, const std::string& op_type) {
  const auto& steps = plan.steps();
  return static_cast<int>(std::count_if(steps.begin(), steps.end(), [&](const StepInfo& i) { return i.op_type == op_type; }));
}

// Compiles fused and reference-only, runs both on one random input, compares output 0.
void expectFusedMatchesReference(const HeadSpec& spec, int expected_decodes) {
  const Model model = buildHead(spec);
  EngineOptions fast_options;
  fast_options.num_threads = 2;
  EngineOptions ref_options;
  ref_options.reference_only = true;
  Result<Plan> fast = Engine::compile(model, fast_options);
  Result<Plan> ref = Engine::compile(model, ref_options);
  ASSERT_TRUE(fast.isOk()) << fast.status().message();
  ASSERT_TRUE(ref.isOk()) << ref.status().message();
  EXPECT_EQ(countSteps(*fast, "YoloDecode"), expected_decodes);
  EXPECT_EQ(countSteps(*ref, "YoloDecode"), 0);
  if (expected_decodes > 0) {
    for (const StepInfo& s : fast->steps()) {
      if (s.op_type == "YoloDecode") EXPECT_EQ(s.kernel, "f32_yolo_decode_simd");
      // The head conv writes NHWC for the decode instead of plain + Transpose.
      if (s.op_type == "Conv") EXPECT_EQ(s.output_layouts.at(0), "nhwc");
    }
    EXPECT_EQ(countSteps(*fast, "Transpose"), 0);
  }
  const Tensor input = randomTensor(fast->inputDescs()[0].shape, 31, -6.0f, 6.0f);
  ASSERT_TRUE(fast->run(std::vector<Tensor>{input}).isOk());
  ASSERT_TRUE(ref->run(std::vector<Tensor>{input}).isOk());
  const Tensor& a = fast->output(0);
  const Tensor& r = ref->output(0);
  ASSERT_EQ(a.shape(), r.shape());
  ASSERT_EQ(a.shape(), (Shape{spec.batch, spec.anchors * spec.height * spec.width, spec.outputs}));
  int64_t bad = 0;
  for (int64_t i = 0; i < r.numel(); ++i) {
    const float want = r.data<float>()[i];
    const float got = a.data<float>()[i];
    if (!(std::fabs(got - want) <= kAbsTolerance + kRelTolerance * std::fabs(want))) {
      if (++bad <= 5) ADD_FAILURE() << "element " << i << ": fused " << got << ", reference " << want;
    }
  }
  EXPECT_EQ(bad, 0);
}

TEST(DetectFusion, Yolov5HeadFusesIntoOneDecodeMatchingTheReference) {
  expectFusedMatchesReference(HeadSpec{}, 1);
}

TEST(DetectFusion, OddSizesBatchAndPlainInput) {
  HeadSpec s;
  s.batch = 2;
  s.anchors = 2;
  s.outputs = 7;
  s.height = 5;
  s.width = 3;
  s.from_conv = false;
  expectFusedMatchesReference(s, 1);
}

TEST(DetectFusion, NonCommutativeStepsWithConstantsFirst) {
  HeadSpec s;
  s.odd_chains = true;
  s.outputs = 85;  // 80 classes: the sigmoid runs 5 full vectors and a tail per anchor
  s.height = 4;
  s.width = 6;
  expectFusedMatchesReference(s, 1);
}

TEST(DetectFusion, AnIntermediateGraphOutputKeepsTheChainUnfused) {
  HeadSpec s;
  s.sigmoid_is_output = true;
  expectFusedMatchesReference(s, 0);
}

TEST(DetectFusion, Yolov5nHasThreeFusedHeads) {
  DETSLIM_REQUIRE_TEST_DATA();
  Result<Model> model = loadModel(testing::testDataDir() / "models/yolov5n_fp32.onnx");
  ASSERT_TRUE(model.isOk()) << model.status().message();
  EngineOptions options;
  options.num_threads = 2;
  Result<Plan> plan = Engine::compile(*model, options);
  ASSERT_TRUE(plan.isOk()) << plan.status().message();
  EXPECT_EQ(countSteps(*plan, "YoloDecode"), 3);
  EXPECT_EQ(countSteps(*plan, "Transpose"), 0);
  EXPECT_EQ(countSteps(*plan, "Sigmoid"), 0);
  EXPECT_EQ(countSteps(*plan, "Pow"), 0);
}

}  // namespace
}  // namespace detslim
