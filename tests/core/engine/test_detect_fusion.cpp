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

struct HeadValues {
  std::string decoded;  // [N, A*H*W, K]
  std::string sigmoid;  // an intermediate
};

// Adds one head reading `img` (directly, or through a Conv when s.from_conv).
HeadValues addHead(GraphBuilder& b, const HeadSpec& s, const std::string& img, const std::string& tag) {
  const int64_t A = s.anchors, K = s.outputs, H = s.height, W = s.width, N = s.batch;
  std::string x;
  if (s.from_conv) {
    const std::string w = b.constant(tag + "w", randomTensor({A * K, 5, 1, 1}, 11, -1.0f, 1.0f));
    const std::string bias = b.constant(tag + "b", randomTensor({A * K}, 12, -1.0f, 1.0f));
    x = b.node("Conv", {img, w, bias}, {}, tag + "head_conv");
  } else {
    x = img;
  }
  auto i64 = [&](const char* name, std::vector<int64_t> v) {
    const int64_t n = static_cast<int64_t>(v.size());
    return b.constant(tag + name, Tensor::fromVector<int64_t>(DType::kInt64, {n}, std::move(v)));
  };
  auto f32 = [&](const char* name, float v) { return b.constant(tag + name, scalar(v)); };
  const std::string r1 = b.node("Reshape", {x, i64("s1", {N, A, K, H, W})});
  const std::string tr = b.node("Transpose", {r1}, {Attribute::makeInts("perm", {0, 1, 3, 4, 2})});
  const std::string sg = b.node("Sigmoid", {tr}, {}, tag + "decode_sigmoid");
  const std::vector<std::string> parts =
      b.nodeMulti("Split", {sg, i64("split", {2, 2, K - 4})}, 3, {Attribute::makeInt("axis", 4)});
  const std::string grid = b.constant(tag + "grid", randomTensor({1, A, H, W, 2}, 21, -0.5f, 8.0f));
  const std::string anchor = b.constant(tag + "anchor", randomTensor({1, A, 1, 1, 2}, 22, 4.0f, 40.0f));
  std::string xy, wh;
  if (!s.odd_chains) {
    xy = b.node("Mul", {parts[0], f32("two", 2.0f)});
    xy = b.node("Add", {xy, grid});
    xy = b.node("Mul", {xy, f32("stride", 8.0f)});
    wh = b.node("Mul", {parts[1], f32("two_b", 2.0f)});
    wh = b.node("Pow", {wh, f32("p", 2.0f)});
    wh = b.node("Mul", {wh, anchor});
  } else {
    // 2 - s stays in [1, 2]: the quotient is well conditioned, so the tolerance holds.
    xy = b.node("Sub", {f32("two", 2.0f), parts[0]});
    xy = b.node("Div", {grid, xy});
    wh = b.node("Pow", {parts[1], f32("p", 1.5f)});
    wh = b.node("Div", {f32("three", 3.0f), wh});
    wh = b.node("Add", {anchor, wh});
  }
  const std::string cat = b.node("Concat", {xy, wh, parts[2]}, {Attribute::makeInt("axis", -1)});
  return {b.node("Reshape", {cat, i64("s2", {N, A * H * W, K})}), sg};
}

Model buildHead(const HeadSpec& s) {
  GraphBuilder b("head", 13);
  const std::string img = s.from_conv ? b.input("images", DType::kFloat32, {s.batch, 5, s.height, s.width})
                                      : b.input("x", DType::kFloat32, {s.batch, s.anchors * s.outputs, s.height, s.width});
  const HeadValues head = addHead(b, s, img, "");
  b.output(head.decoded);
  if (s.sigmoid_is_output) b.output(head.sigmoid);
  return b.build();
}

// Elements of `fused` outside the tolerance of `reference` (the first five reported).
int64_t countMismatches(const Tensor& fused, const Tensor& reference) {
  int64_t bad = 0;
  for (int64_t i = 0; i < reference.numel(); ++i) {
    const float want = reference.data<float>()[i];
    const float got = fused.data<float>()[i];
    if (!(std::fabs(got - want) <= kAbsTolerance + kRelTolerance * std::fabs(want))) {
      if (++bad <= 5) ADD_FAILURE() << "element " << i << ": fused " << got << ", reference " << want;
    }
  }
  return bad;
}

int countSteps(const Plan& plan, const std::string& op_type) {
  const auto& steps = plan.steps();
  return static_cast<int>(std::count_if(steps.begin(), steps.end(), [&](const StepInfo& i) { return i.op_type == op_type; }));
}

// The plans every test compares: fused on two threads, and reference kernels unfused.
Result<Plan> compileFused(const Model& model) {
  EngineOptions options;
  options.num_threads = 2;
  return Engine::compile(model, options);
}

Result<Plan> compileReference(const Model& model) {
  EngineOptions options;
  options.reference_only = true;
  return Engine::compile(model, options);
}

// Compiles fused and reference-only, runs both on one random input, compares output 0.
void expectFusedMatchesReference(const HeadSpec& spec, int expected_decodes) {
  const Model model = buildHead(spec);
  Result<Plan> fast = compileFused(model);
  Result<Plan> ref = compileReference(model);
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
  EXPECT_EQ(countMismatches(a, r), 0);
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

// Two heads of different sizes concatenated along the boxes, as a Detect layer outputs them: one
// YoloDecode with heads = 2 and no Concat step.
TEST(DetectFusion, ConcatenatedHeadsBecomeOneDecode) {
  HeadSpec big;
  big.height = 8;
  big.width = 6;
  HeadSpec small = big;
  small.height = 4;
  small.width = 3;
  GraphBuilder b("two_heads", 13);
  const std::string img_big = b.input("big", DType::kFloat32, {1, 5, 8, 6});
  const std::string img_small = b.input("small", DType::kFloat32, {1, 5, 4, 3});
  const HeadValues a = addHead(b, big, img_big, "p3_");
  const HeadValues c = addHead(b, small, img_small, "p4_");
  b.output(b.node("Concat", {a.decoded, c.decoded}, {Attribute::makeInt("axis", 1)}));
  const Model model = b.build();
  Result<Plan> fast = compileFused(model);
  Result<Plan> ref = compileReference(model);
  ASSERT_TRUE(fast.isOk()) << fast.status().message();
  ASSERT_TRUE(ref.isOk()) << ref.status().message();
  EXPECT_EQ(countSteps(*fast, "YoloDecode"), 1);
  EXPECT_EQ(countSteps(*fast, "Concat"), 0);
  const std::vector<Tensor> inputs = {randomTensor({1, 5, 8, 6}, 41, -3.0f, 3.0f),
                                      randomTensor({1, 5, 4, 3}, 42, -3.0f, 3.0f)};
  ASSERT_TRUE(fast->run(inputs).isOk());
  ASSERT_TRUE(ref->run(inputs).isOk());
  const Tensor& got = fast->output(0);
  const Tensor& want = ref->output(0);
  ASSERT_EQ(got.shape(), (Shape{1, 3 * 8 * 6 + 3 * 4 * 3, 9}));
  ASSERT_EQ(got.shape(), want.shape());
  EXPECT_EQ(countMismatches(got, want), 0);
}

TEST(DetectFusion, Yolov5nHasThreeFusedHeads) {
  DETSLIM_REQUIRE_TEST_DATA();
  Result<Model> model = loadModel(testing::testDataDir() / "models/yolov5n_fp32.onnx");
  ASSERT_TRUE(model.isOk()) << model.status().message();
  Result<Plan> plan = compileFused(*model);
  ASSERT_TRUE(plan.isOk()) << plan.status().message();
  // Three heads and their Concat: one step writing output0.
  EXPECT_EQ(countSteps(*plan, "YoloDecode"), 1);
  EXPECT_EQ(countSteps(*plan, "Transpose"), 0);
  EXPECT_EQ(countSteps(*plan, "Sigmoid"), 0);
  EXPECT_EQ(countSteps(*plan, "Pow"), 0);
}

}  // namespace
}  // namespace detslim
