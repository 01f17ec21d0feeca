// Engine on graphs built in code: the optimised plan, the reference-only plan and the reference
// interpreter agree; fusion happens where it should and not where it must not; memory is reused;
// bad graphs and bad inputs are refused with the node or input named.

#include <cmath>
#include <limits>
#include <random>

#include <gtest/gtest.h>

#include "core/engine/engine.h"
#include "core/engine/plan_impl.h"
#include "core/graph/builder.h"
#include "core/kernels/registry.h"

namespace detslim {
namespace {

// Fused oneDNN convolutions accumulate in another order than the reference loops; over a few
// hundred products of O(1) values the float32 difference stays far below this.
constexpr float kConvTolerance = 2e-4f;

Tensor randomTensor(Shape shape, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  Tensor t(DType::kFloat32, std::move(shape));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.mutableData<float>()[i] = dist(rng);
  return t;
}

float maxAbsDiff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  float m = 0.0f;
  for (int64_t i = 0; i < std::min(a.numel(), b.numel()); ++i) {
    m = std::max(m, std::fabs(a.data<float>()[i] - b.data<float>()[i]));
  }
  return m;
}

// x -> Conv(13->16, 3x3) -> SiLU -> Conv(16->16, 1x1) -> SiLU -> Add(x1) -> Conv(16->7) ->
// Sigmoid -> Reshape -> output: a YOLOv5 bottleneck with odd channel counts and a non-square image.
Model bottleneckModel() {
  GraphBuilder b("bottleneck", 17);
  const std::string x = b.input("x", DType::kFloat32, {1, 13, 9, 7});
  auto conv = [&](const std::string& in, int64_t cin, int64_t cout, int64_t k, uint32_t seed) {
    const std::string w = b.constant("w" + std::to_string(seed), randomTensor({cout, cin, k, k}, seed, -0.3f, 0.3f));
    const std::string bias = b.constant("b" + std::to_string(seed), randomTensor({cout}, seed + 100));
    return b.node("Conv", {in, w, bias}, {Attribute::makeInts("kernel_shape", {k, k}),
                                          Attribute::makeInts("pads", {k / 2, k / 2, k / 2, k / 2})});
  };
  auto silu = [&](const std::string& in) { return b.node("Mul", {in, b.node("Sigmoid", {in})}); };
  const std::string x1 = silu(conv(x, 13, 16, 3, 1));
  const std::string x2 = silu(conv(x1, 16, 16, 1, 2));
  const std::string sum = b.node("Add", {x1, x2});
  const std::string head = b.node("Sigmoid", {conv(sum, 16, 7, 1, 3)});
  const std::string shape = b.constant("shape", Tensor::fromVector<int64_t>(DType::kInt64, {2}, {7, 63}));
  b.output(b.node("Reshape", {head, shape}, {}, "y"));
  return b.build();
}

TEST(Engine, BottleneckAgreesWithReferenceAndFuses) {
  const Model m = bottleneckModel();
  const Tensor x = randomTensor({1, 13, 9, 7}, 7767517);
  Result<std::vector<Tensor>> ref = runReference(m, {{"x", x}});
  ASSERT_TRUE(ref.isOk()) << ref.status().message();

  Result<Plan> fast = Engine::compile(m);
  ASSERT_TRUE(fast.isOk()) << fast.status().message();
  ASSERT_TRUE(fast->run(std::vector<Tensor>{x}).isOk());
  EXPECT_LE(maxAbsDiff(fast->output(0), (*ref)[0]), kConvTolerance);

  // Conv+SiLU, Conv+SiLU+Add and Conv+Sigmoid: three fused convolutions, no loose Sigmoid/Mul/Add.
  int fused = 0;
  for (const StepInfo& s : fast->steps()) {
    if (s.op_type == "FusedConv") ++fused;
    EXPECT_NE(s.op_type, "Mul");
    EXPECT_NE(s.op_type, "Add");
  }
  EXPECT_EQ(fused, 3);
  bool saw_residual = false;
  for (const StepInfo& s : fast->steps()) saw_residual |= s.fused == "Conv+Sigmoid+Mul+Add";
  EXPECT_TRUE(saw_residual);

  EngineOptions plain;
  plain.reference_only = true;
  plain.fuse = false;
  Result<Plan> slow = Engine::compile(m, plain);
  ASSERT_TRUE(slow.isOk()) << slow.status().message();
  ASSERT_TRUE(slow->run(std::vector<Tensor>{x}).isOk());
  // Reference kernels in the same order: bit-identical to the interpreter.
  EXPECT_EQ(maxAbsDiff(slow->output(0), (*ref)[0]), 0.0f);
  for (const StepInfo& s : slow->steps()) EXPECT_EQ(s.kernel, "ref") << s.name;
}

TEST(Engine, RepeatedRunsGiveTheSameOutputAndReuseMemory) {
  const Model m = bottleneckModel();
  Result<Plan> plan = Engine::compile(m);
  ASSERT_TRUE(plan.isOk()) << plan.status().message();
  const Tensor x = randomTensor({1, 13, 9, 7}, 1);
  ASSERT_TRUE(plan->run(std::vector<Tensor>{x}).isOk());
  const Tensor first = plan->output(0).clone();
  ASSERT_TRUE(plan->run(std::vector<Tensor>{randomTensor({1, 13, 9, 7}, 2)}).isOk());
  ASSERT_TRUE(plan->run(std::vector<Tensor>{x}).isOk());
  EXPECT_TRUE(plan->output(0).bitwiseEqual(first));
  EXPECT_GT(plan->activationBytes(), 0u);
  EXPECT_LT(plan->activationBytes(), plan->activationBytesWithoutReuse());
}

TEST(Engine, NoFusionWhenAnIntermediateHasAnotherReader) {
  GraphBuilder b("branch", 17);
  const std::string x = b.input("x", DType::kFloat32, {1, 3, 5, 5});
  const std::string w = b.constant("w", randomTensor({4, 3, 1, 1}, 3));
  const std::string c = b.node("Conv", {x, w});
  const std::string r = b.node("Relu", {c});
  b.output(r);
  b.output(c);  // the conv output is also a graph output: Relu cannot be folded into it
  Result<Plan> plan = Engine::compile(b.build());
  ASSERT_TRUE(plan.isOk()) << plan.status().message();
  for (const StepInfo& s : plan->steps()) EXPECT_NE(s.op_type, "FusedConv");
  const Tensor x_val = randomTensor({1, 3, 5, 5}, 4);
  ASSERT_TRUE(plan->run(std::vector<Tensor>{x_val}).isOk());
  auto ref = runReference(b.build(), {{"x", x_val}});
  ASSERT_TRUE(ref.isOk());
  EXPECT_LE(maxAbsDiff(plan->output(0), (*ref)[0]), kConvTolerance);
  EXPECT_LE(maxAbsDiff(plan->output(1), (*ref)[1]), kConvTolerance);
}

TEST(Engine, AViewOfAGraphOutputReadsThatOutput) {
  // A Concat that is a graph output and also read by a Reshape (an observer adding a watched
  // tensor as an output does this): the Reshape view must live in the output's own buffer.
  GraphBuilder b("view_of_output", 17);
  const std::string x = b.input("x", DType::kFloat32, {1, 4, 3, 3});
  const std::string w = b.constant("w", randomTensor({4, 4, 1, 1}, 5));
  const std::string c = b.node("Conv", {x, w});
  const std::string cat = b.node("Concat", {x, c}, {Attribute::makeInt("axis", 1)});
  const std::string target = b.constant("t", Tensor::fromVector<int64_t>(DType::kInt64, {2}, {1, -1}));
  const std::string flat = b.node("Reshape", {cat, target});
  b.output(b.node("Sigmoid", {flat}));
  b.output(cat);
  Result<Plan> plan = Engine::compile(b.build());
  ASSERT_TRUE(plan.isOk()) << plan.status().message();
  const Tensor x_val = randomTensor({1, 4, 3, 3}, 6);
  ASSERT_TRUE(plan->run(std::vector<Tensor>{x_val}).isOk());
  auto ref = runReference(b.build(), {{"x", x_val}});
  ASSERT_TRUE(ref.isOk());
  EXPECT_LE(maxAbsDiff(plan->output(0), (*ref)[0]), kConvTolerance);
  EXPECT_LE(maxAbsDiff(plan->output(1), (*ref)[1]), kConvTolerance);
}

TEST(Engine, ShapeChainsAreConstantAtCompileTime) {
  // Reshape(x, Concat(Gather(Shape(x), 0), [-1])): flatten all but the batch, as exporters write it.
  GraphBuilder b("shape_chain", 13);
  const std::string x = b.input("x", DType::kFloat32, {2, 3, 4});
  const std::string shape = b.node("Shape", {x});
  const std::string idx = b.constant("idx", Tensor::fromVector<int64_t>(DType::kInt64, {1}, {0}));
  const std::string batch = b.node("Gather", {shape, idx}, {Attribute::makeInt("axis", 0)});
  const std::string minus1 = b.constant("m1", Tensor::fromVector<int64_t>(DType::kInt64, {1}, {-1}));
  const std::string target = b.node("Concat", {batch, minus1}, {Attribute::makeInt("axis", 0)});
  b.output(b.node("Reshape", {x, target}, {}, "y"));
  Result<Plan> plan = Engine::compile(b.build());
  ASSERT_TRUE(plan.isOk()) << plan.status().message();
  ASSERT_EQ(plan->steps().size(), 1u) << "Shape, Gather and Concat run at compile time";
  EXPECT_EQ(plan->steps()[0].op_type, "Reshape");
  const Tensor in = randomTensor({2, 3, 4}, 5);
  ASSERT_TRUE(plan->run(std::vector<Tensor>{in}).isOk());
  EXPECT_EQ(plan->output(0).shape(), (Shape{2, 12}));
  EXPECT_EQ(maxAbsDiff(plan->output(0), [&] { Tensor t = in.clone(); t.reshapeInPlace({2, 12}); return t; }()), 0.0f);
}

TEST(Engine, UnsupportedOpIsRefusedBeforeRunningNamingTheNode) {
  GraphBuilder b("bad", 17);
  const std::string x = b.input("x", DType::kFloat32, {1, 4});
  b.output(b.node("NonMaxSuppression", {x}, {}, "y"));
  Model m = b.build();
  m.graph.nodes[0].name = "nms_node";
  Result<Plan> plan = Engine::compile(m);
  ASSERT_FALSE(plan.isOk());
  EXPECT_EQ(plan.status().code(), ErrorCode::kUnsupported);
  EXPECT_NE(plan.status().message().find("nms_node"), std::string::npos) << plan.status().message();
  EXPECT_NE(plan.status().message().find("NonMaxSuppression"), std::string::npos);
}

TEST(Engine, BadAttributeIsRefusedNamingTheNode) {
  GraphBuilder b("bad_attr", 17);
  const std::string x = b.input("x", DType::kFloat32, {1, 3, 8, 8});
  const std::string w = b.constant("w", randomTensor({4, 3, 3, 3}, 1));
  b.output(b.node("Conv", {x, w}, {Attribute::makeInts("strides", {0, 0})}, "y"));
  Model m = b.build();
  m.graph.nodes[0].name = "bad_conv";
  Result<Plan> plan = Engine::compile(m);
  ASSERT_FALSE(plan.isOk());
  EXPECT_NE(plan.status().message().find("bad_conv"), std::string::npos) << plan.status().message();
}

TEST(Engine, WrongInputShapeOrDtypeIsRefused) {
  Result<Plan> plan = Engine::compile(bottleneckModel());
  ASSERT_TRUE(plan.isOk());
  Status wrong_shape = plan->run(std::vector<Tensor>{randomTensor({1, 13, 9, 8}, 1)});
  EXPECT_FALSE(wrong_shape.isOk());
  EXPECT_NE(wrong_shape.message().find("'x'"), std::string::npos) << wrong_shape.message();
  EXPECT_NE(wrong_shape.message().find("[1, 13, 9, 7]"), std::string::npos) << wrong_shape.message();
  Status wrong_dtype = plan->run(std::vector<Tensor>{Tensor(DType::kFloat16, {1, 13, 9, 7})});
  EXPECT_FALSE(wrong_dtype.isOk());
  EXPECT_FALSE(plan->run(std::vector<Tensor>{}).isOk());
}

TEST(Engine, DynamicInputNeedsAShapeAndBatchWorks) {
  GraphBuilder b("dyn", 17);
  const std::string x = b.input("x", DType::kFloat32, std::vector<Dim>{{-1, "batch"}, {3, ""}, {-1, "h"}, {-1, "w"}});
  const std::string w = b.constant("w", randomTensor({2, 3, 3, 3}, 9));
  b.output(b.node("Conv", {x, w}, {Attribute::makeInts("pads", {1, 1, 1, 1})}, "y"));
  const Model m = b.build();
  Result<Plan> refused = Engine::compile(m);
  ASSERT_FALSE(refused.isOk());
  EXPECT_NE(refused.status().message().find("batch"), std::string::npos) << refused.status().message();
  for (const Shape& s : {Shape{1, 3, 16, 16}, Shape{3, 3, 11, 5}}) {
    EngineOptions o;
    o.input_shapes = {{"x", s}};
    Result<Plan> plan = Engine::compile(m, o);
    ASSERT_TRUE(plan.isOk()) << plan.status().message();
    const Tensor in = randomTensor(s, 11);
    ASSERT_TRUE(plan->run(std::vector<Tensor>{in}).isOk());
    auto ref = runReference(m, {{"x", in}});
    ASSERT_TRUE(ref.isOk()) << ref.status().message();
    EXPECT_EQ(plan->output(0).shape(), (Shape{s[0], 2, s[2], s[3]}));
    EXPECT_LE(maxAbsDiff(plan->output(0), (*ref)[0]), kConvTolerance);
  }
}

TEST(Engine, ThreadCountIsHonoured) {
  EngineOptions o;
  o.num_threads = 1;
  Result<Plan> plan = Engine::compile(bottleneckModel(), o);
  ASSERT_TRUE(plan.isOk());
  EXPECT_EQ(plan->numThreads(), 1);
}

}  // namespace
}  // namespace detslim

namespace detslim {
namespace {

TEST(Engine, NanWeightsStillRun) {
  // inspect reports NaN / Inf weights; the engine must still run such a model (the NaN stays in
  // the channel it poisons, the others are untouched).
  GraphBuilder b("nan", 17);
  const std::string x = b.input("x", DType::kFloat32, {1, 2, 4, 4});
  Tensor w = randomTensor({3, 2, 1, 1}, 1);
  w.mutableData<float>()[0] = std::numeric_limits<float>::quiet_NaN();
  b.output(b.node("Conv", {x, b.constant("w", w)}, {}, "y"));
  Result<Plan> plan = Engine::compile(b.build());
  ASSERT_TRUE(plan.isOk()) << plan.status().message();
  ASSERT_TRUE(plan->run(std::vector<Tensor>{randomTensor({1, 2, 4, 4}, 2)}).isOk());
  const Tensor& y = plan->output(0);
  for (int64_t i = 0; i < 16; ++i) EXPECT_TRUE(std::isnan(y.data<float>()[i]));
  for (int64_t i = 16; i < 48; ++i) EXPECT_TRUE(std::isfinite(y.data<float>()[i]));
}

}  // namespace
}  // namespace detslim

namespace detslim {
namespace {

TEST(Engine, ResidualOfTheConvInputIsNotOverwrittenWhileRead) {
  // y = x + SiLU(conv(x)): the fused conv's Sum input is its own X. Writing the output over the
  // Sum buffer would corrupt X while the convolution still reads it.
  GraphBuilder b("self_residual", 17);
  const std::string x0 = b.input("x", DType::kFloat32, {1, 16, 41, 43});
  // x comes from a convolution: it lives in the arena (graph inputs are never overwritten) and
  // in NHWC, which the fused conv reads directly instead of staging it through scratch.
  const std::string x = b.node("Conv", {x0, b.constant("w0", randomTensor({16, 16, 1, 1}, 4, -0.3f, 0.3f))});
  const std::string w = b.constant("w", randomTensor({16, 16, 3, 3}, 5, -0.2f, 0.2f));
  const std::string c = b.node("Conv", {x, w}, {Attribute::makeInts("pads", {1, 1, 1, 1})});
  const std::string act = b.node("Mul", {c, b.node("Sigmoid", {c})});
  // One more node after the Add keeps the fused output in the arena, where aliasing could happen.
  b.output(b.node("Relu", {b.node("Add", {x, act})}, {}, "y"));
  const Model m = b.build();
  const Tensor in = randomTensor({1, 16, 41, 43}, 6);
  Result<Plan> plan = Engine::compile(m);
  ASSERT_TRUE(plan.isOk()) << plan.status().message();
  bool fused = false;
  const Plan::Impl& steps = plan->internals();
  for (size_t i = 0; i < steps.steps.size(); ++i) {
    if (steps.infos[i].fused != "Conv+Sigmoid+Mul+Add") continue;
    fused = true;
    // The planner's decision itself, whatever oneDNN happens to do with overlapping buffers.
    EXPECT_NE(steps.steps[i].outputs[0], steps.steps[i].inputs[0]) << "output overwrites X";
  }
  EXPECT_TRUE(fused);
  ASSERT_TRUE(plan->run(std::vector<Tensor>{in}).isOk());
  auto ref = runReference(m, {{"x", in}});
  ASSERT_TRUE(ref.isOk());
  EXPECT_LE(maxAbsDiff(plan->output(0), (*ref)[0]), kConvTolerance);
}

}  // namespace
}  // namespace detslim
