// Structural pruning (group, bn-slim): the channel dependency rules on small hand-built graphs,
// and (label integration) whole YOLOv5 models against seed 000's Table V.
//
// The rule tests are differential: the channels the pruner should pick get all-zero filters
// and biases, so removing them must leave the network's output unchanged (SiLU(0) = 0, a zero
// input channel adds nothing to the next Conv). A wrong coupling, offset or slice shows up as
// a shape error in the checker / engine or as a changed output.
//
// One source, two binaries: DETSLIM_STRUCTURAL_MODELS selects the integration part.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/engine/engine.h"
#include "core/graph/builder.h"
#include "core/graph/stats.h"
#include "core/onnx/onnx_io.h"
#include "core/prune/channel_graph.h"
#include "core/prune/structural.h"

#ifdef DETSLIM_STRUCTURAL_MODELS
#include "core/perf/peer.h"
#include "core/workbench/detector.h"
#include "core/workbench/eval_job.h"
#include "test_data.h"
#endif

namespace detslim::prune {
namespace {

constexpr uint32_t kSeed = 7767517;
// Removing zero channels changes only the order of float additions in the next Conv (and
// oneDNN may pick another blocking for the new channel count): a few ulp per accumulation over
// at most 8 * 9 products of values <= 1 stays far below 1e-4 of the output range, while a wrong
// channel (a removed non-zero filter, a shifted Concat / Slice offset) moves it by > 1e-2.
constexpr double kSameOutput = 1e-4;

#ifndef DETSLIM_STRUCTURAL_MODELS

// Builds small conv nets with random weights; the listed output channels get zero filters.
class Net {
 public:
  explicit Net(int64_t opset = 17) : b_("net", opset), rng_(kSeed) {}

  std::string input(Shape shape) { return b_.input("x", DType::kFloat32, std::move(shape)); }

  // keep_bias: the zero filters keep their (non-zero) bias, as a BN-folded channel whose
  // filter is negligible: the channel then carries the constant bias.
  std::string conv(const std::string& x, int64_t cin, int64_t cout, int64_t k,
                   const std::vector<int64_t>& zero_out = {}, int64_t group = 1,
                   bool keep_bias = false) {
    Tensor w = random({cout, cin / group, k, k});
    Tensor bias = random({cout});
    const int64_t filter = cin / group * k * k;
    for (int64_t o : zero_out) {
      std::fill_n(w.mutableData<float>() + o * filter, filter, 0.0f);
      if (keep_bias) bias.mutableData<float>()[o] = 1.5f + 0.25f * static_cast<float>(o);
      else bias.mutableData<float>()[o] = 0.0f;
    }
    const std::string wn = b_.constant(fresh("w"), w);
    const std::string bn = b_.constant(fresh("b"), bias);
    std::vector<Attribute> attrs = {Attribute::makeInts("pads", {k / 2, k / 2, k / 2, k / 2})};
    if (group != 1) attrs.push_back(Attribute::makeInt("group", group));
    return b_.node("Conv", {x, wn, bn}, attrs);
  }

  std::string silu(const std::string& x) { return b_.node("Mul", {x, b_.node("Sigmoid", {x})}); }

  GraphBuilder& builder() { return b_; }
  std::mt19937& rng() { return rng_; }

  // Outputs are declared with their rank only (the checker wants a shape); inference fills dims.
  Model finish(const std::vector<std::string>& outputs, int64_t rank = 4) {
    for (const std::string& o : outputs)
      b_.output(o, DType::kFloat32, Shape(static_cast<size_t>(rank), -1), true);
    Model m = b_.build();
    Status st = inferShapes(m, true);
    EXPECT_TRUE(st.isOk()) << st.message();
    return m;
  }

  Tensor random(Shape shape) {
    Tensor t(DType::kFloat32, std::move(shape));
    std::uniform_real_distribution<float> dist(-0.5f, 0.5f);
    for (int64_t i = 0; i < t.numel(); ++i) t.mutableData<float>()[i] = dist(rng_);
    return t;
  }

 private:
  std::string fresh(const std::string& stem) { return stem + std::to_string(counter_++); }
  GraphBuilder b_;
  std::mt19937 rng_;
  int counter_ = 0;
};

// Engine::compile refuses a Split whose sizes come as an input (opset 13+) when its 4-D data is
// in NHWC ("value 'sizes' ([2], plain) cannot be reordered to nhwc", the dense model too): the
// Split tests run on the reference kernels, which keep every value plain.
enum class Kernels { kFast, kReference };

std::vector<Tensor> runModel(const Model& model, const Tensor& input, Kernels kernels) {
  EngineOptions engine_options;
  engine_options.reference_only = kernels == Kernels::kReference;
  Result<Plan> plan = Engine::compile(model, engine_options);
  EXPECT_TRUE(plan.isOk()) << plan.status().message();
  if (!plan) return {};
  Status st = plan->run(std::vector<Tensor>{input});
  EXPECT_TRUE(st.isOk()) << st.message();
  std::vector<Tensor> outs;
  for (size_t i = 0; i < plan->numOutputs(); ++i) outs.push_back(plan->output(i).clone());
  return outs;
}

// max |a - b| / max |a| over each output.
void expectSameOutputs(const Model& original, const Model& pruned, const Tensor& input,
                       Kernels kernels = Kernels::kFast) {
  const std::vector<Tensor> a = runModel(original, input, kernels);
  const std::vector<Tensor> b = runModel(pruned, input, kernels);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].shape(), b[i].shape()) << "output " << i;
    double diff = 0.0, range = 0.0;
    for (int64_t k = 0; k < a[i].numel(); ++k) {
      diff = std::max(
          diff, std::fabs(static_cast<double>(a[i].data<float>()[k]) - b[i].data<float>()[k]));
      range = std::max(range, std::fabs(static_cast<double>(a[i].data<float>()[k])));
    }
    EXPECT_LE(diff, kSameOutput * std::max(range, 1.0)) << "output " << i;
  }
}

const Node* producerOf(const Graph& g, const std::string& value) {
  for (const Node& n : g.nodes) {
    if (std::find(n.outputs.begin(), n.outputs.end(), value) != n.outputs.end()) return &n;
  }
  return nullptr;
}

Shape weightShape(const Model& m, const std::string& conv_output) {
  const Node* n = producerOf(m.graph, conv_output);
  EXPECT_NE(n, nullptr) << conv_output;
  if (!n) return {};
  const Tensor* w = m.graph.initializer(n->inputs[1]);
  EXPECT_NE(w, nullptr) << conv_output;
  return w ? w->shape() : Shape{};
}

PruneOptions options(const std::string& method, double sparsity,
                     std::map<std::string, std::string> opts = {}) {
  PruneOptions o;
  o.method = method;
  o.sparsity = sparsity;
  o.opts = std::move(opts);
  return o;
}

// Prunes a copy, checks it with the ONNX checker, returns it.
Model pruned(const Model& m, const PruneOptions& o, PruneReport* report = nullptr) {
  Model copy = m;
  PruneReport local;
  Status st = pruneStructural(copy, o, report ? report : &local);
  EXPECT_TRUE(st.isOk()) << st.message();
  Status checked = checkModel(copy);
  EXPECT_TRUE(checked.isOk()) << checked.message();
  return copy;
}

bool anyContains(const std::vector<std::string>& lines, const std::string& a,
                 const std::string& b = {}) {
  return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) {
    return l.find(a) != std::string::npos && (b.empty() || l.find(b) != std::string::npos);
  });
}

TEST(StructuralRules, ConvSiluConvRemovesTheSameChannelsOnBothSides) {
  Net net;
  const std::string x = net.input({1, 3, 9, 7});
  const std::string c1 = net.conv(x, 3, 8, 3, {2, 5});
  const std::string c2 = net.conv(net.silu(c1), 8, 6, 1);
  const Model m = net.finish({c2});
  PruneReport report;
  const Model p = pruned(m, options("group", 0.25), &report);
  EXPECT_EQ(weightShape(p, c1), (Shape{6, 3, 3, 3}));
  EXPECT_EQ(weightShape(p, c2), (Shape{6, 6, 1, 1}));  // the head conv keeps its 6 outputs
  EXPECT_LT(report.params_after, report.params_before);
  EXPECT_LT(report.macs_after, report.macs_before);
  EXPECT_TRUE(anyContains(report.ignored, producerOf(m.graph, c2)->name, "Detect head"));
  expectSameOutputs(m, p, net.random({1, 3, 9, 7}));
}

// Largest |a - b| over output 0, relative to max(1, max |a|).
double outputDifference(const Model& a, const Model& b, const Tensor& input) {
  const std::vector<Tensor> x = runModel(a, input, Kernels::kReference);
  const std::vector<Tensor> y = runModel(b, input, Kernels::kReference);
  EXPECT_FALSE(x.empty() || y.empty());
  if (x.empty() || y.empty() || x[0].shape() != y[0].shape()) return 1e30;
  double diff = 0.0, range = 1.0;
  for (int64_t k = 0; k < x[0].numel(); ++k) {
    const double u = x[0].data<float>()[k], v = y[0].data<float>()[k];
    diff = std::max(diff, std::fabs(u - v));
    range = std::max(range, std::fabs(u));
  }
  return diff / range;
}

// Bias compensation (compensate.h): channels 2 and 5 have zero filters but a non-zero bias, so
// after SiLU they carry the constant SiLU(b); removing them loses that input of the 1x1 consumer
// unless it goes into the consumer's bias.
TEST(StructuralRules, CompensationKeepsConstantChannelsExactly) {
  Net net;
  const std::string x = net.input({1, 3, 9, 7});
  const std::string c1 = net.conv(x, 3, 8, 3, {2, 5}, 1, /*keep_bias=*/true);
  const std::string c2 = net.conv(net.silu(c1), 8, 6, 1);
  const Model m = net.finish({c2});
  const Tensor input = net.random({1, 3, 9, 7});
  for (const char* method : {"group", "bn-slim"}) {
    SCOPED_TRACE(method);
    PruneReport report;
    const Model p = pruned(m, options(method, 0.25, {{"scope", "local"}}), &report);
    EXPECT_EQ(weightShape(p, c1), (Shape{6, 3, 3, 3}));
    EXPECT_EQ(report.options["compensation"]["input_channels"], 2) << report.options.dump();
    EXPECT_LE(outputDifference(m, p, input), 1e-5);
    const Model off = pruned(m, options(method, 0.25, {{"scope", "local"}, {"compensate", "false"}}));
    EXPECT_EQ(weightShape(off, c1), (Shape{6, 3, 3, 3}));
    EXPECT_GT(outputDifference(m, off, input), 1e-2);
  }
}

// The same through a Concat (offsets) and a MaxPool (a constant stays constant): the second
// input's channel 3 lands at channel 7 of the consumer.
TEST(StructuralRules, CompensationFollowsConcatOffsets) {
  Net net;
  const std::string x = net.input({1, 3, 8, 8});
  const std::string a = net.silu(net.conv(x, 3, 4, 3, {1}, 1, /*keep_bias=*/true));
  const std::string b = net.silu(net.conv(x, 3, 4, 1, {3}, 1, /*keep_bias=*/true));
  const std::string cat = net.builder().node("Concat", {a, b}, {Attribute::makeInt("axis", 1)});
  const std::string pool = net.builder().node(
      "MaxPool", {cat},
      {Attribute::makeInts("kernel_shape", {2, 2}), Attribute::makeInts("strides", {2, 2})});
  const std::string y = net.conv(pool, 8, 5, 1);
  const Model m = net.finish({y});
  const Tensor input = net.random({1, 3, 8, 8});
  PruneReport report;
  const Model p = pruned(m, options("group", 0.25), &report);
  EXPECT_EQ(weightShape(p, y), (Shape{5, 6, 1, 1}));
  EXPECT_EQ(report.options["compensation"]["input_channels"], 2) << report.options.dump();
  EXPECT_LE(outputDifference(m, p, input), 1e-5);
  const Model off = pruned(m, options("group", 0.25, {{"compensate", "false"}}));
  EXPECT_GT(outputDifference(m, off, input), 1e-2);
}

// A residual x + f(x) whose both sides lose the channel: the constants add up.
TEST(StructuralRules, CompensationAddsResidualConstants) {
  Net net;
  const std::string x = net.input({1, 3, 8, 8});
  const std::string a0 = net.silu(net.conv(x, 3, 4, 1, {2}, 1, /*keep_bias=*/true));
  const std::string a1 = net.silu(net.conv(a0, 4, 4, 1, {2}, 1, /*keep_bias=*/true));
  const std::string sum = net.builder().node("Add", {a0, a1});
  const std::string y = net.conv(sum, 4, 3, 1);
  const Model m = net.finish({y});
  // Channel 2 (zero filters on both sides) ranks lowest and goes; y and the second conv get
  // SiLU(b0) + SiLU(b1) and SiLU(b0) folded into their biases.
  PruneReport report;
  const Model p = pruned(m, options("group", 0.25), &report);
  const Tensor input = net.random({1, 3, 8, 8});
  EXPECT_EQ(weightShape(p, y), (Shape{3, 3, 1, 1}));
  EXPECT_LE(outputDifference(m, p, input), 1e-5) << report.options.dump();
  const Model off = pruned(m, options("group", 0.25, {{"compensate", "false"}}));
  EXPECT_GT(outputDifference(m, off, input), 1e-2);
}

TEST(StructuralRules, ResidualAddCouplesBothProducers) {
  Net net;
  const std::string x = net.input({1, 3, 8, 8});
  const std::string c0 = net.conv(x, 3, 8, 3, {1, 4});
  const std::string a0 = net.silu(c0);
  const std::string c1 = net.conv(a0, 8, 8, 1, {0, 7});  // its own group
  const std::string c2 = net.conv(net.silu(c1), 8, 8, 3, {1, 4});
  const std::string sum = net.builder().node("Add", {a0, net.silu(c2)});
  const std::string c3 = net.conv(sum, 8, 5, 1);
  const Model m = net.finish({c3});

  Result<ChannelGraph> cg = ChannelGraph::build(m.graph);
  ASSERT_TRUE(cg.isOk()) << cg.status().message();
  const size_t v0 = *cg->valueIndex(c0), v2 = *cg->valueIndex(c2);
  for (int64_t c = 0; c < 8; ++c)
    EXPECT_EQ(cg->classOf(v0, c), cg->classOf(v2, c)) << "channel " << c;
  EXPECT_NE(cg->classOf(v0, 0), cg->classOf(*cg->valueIndex(c1), 0));

  const Model p = pruned(m, options("group", 0.25));
  EXPECT_EQ(weightShape(p, c0), (Shape{6, 3, 3, 3}));
  EXPECT_EQ(weightShape(p, c1), (Shape{6, 6, 1, 1}));
  EXPECT_EQ(weightShape(p, c2), (Shape{6, 6, 3, 3}));
  EXPECT_EQ(weightShape(p, c3), (Shape{5, 6, 1, 1}));
  expectSameOutputs(m, p, net.random({1, 3, 8, 8}));
}

TEST(StructuralRules, ConcatMapsOffsetsToItsInputs) {
  Net net;
  const std::string x = net.input({1, 3, 6, 6});
  const std::string a = net.conv(x, 3, 4, 3, {0, 3});
  const std::string b = net.conv(x, 3, 6, 1, {1, 2, 5});
  const std::string cat =
      net.builder().node("Concat", {net.silu(a), net.silu(b)}, {Attribute::makeInt("axis", 1)});
  const std::string pooled =
      net.builder().node("MaxPool", {cat}, {Attribute::makeInts("kernel_shape", {2, 2})});
  const std::string head = net.conv(pooled, 10, 5, 1);
  const Model m = net.finish({head});
  const Model p = pruned(m, options("group", 0.5));
  EXPECT_EQ(weightShape(p, a), (Shape{2, 3, 3, 3}));
  EXPECT_EQ(weightShape(p, b), (Shape{3, 3, 1, 1}));
  EXPECT_EQ(weightShape(p, head), (Shape{5, 5, 1, 1}));
  expectSameOutputs(m, p, net.random({1, 3, 6, 6}));
}

TEST(StructuralRules, SplitSizesFollowTheRemovedChannels) {
  Net net;
  const std::string x = net.input({1, 3, 6, 6});
  const std::string c = net.conv(x, 3, 8, 3, {0, 6});
  const Tensor sizes = Tensor::fromVector(DType::kInt64, {2}, std::vector<int64_t>{3, 5});
  const std::vector<std::string> parts =
      net.builder().nodeMulti("Split", {net.silu(c), net.builder().constant("sizes", sizes)}, 2,
                              {Attribute::makeInt("axis", 1)});
  const std::string h0 = net.conv(parts[0], 3, 4, 1);
  const std::string h1 = net.conv(parts[1], 5, 4, 1);
  const Model m = net.finish({h0, h1});
  const Model p = pruned(m, options("group", 0.25));
  const Node* split = producerOf(p.graph, parts[0]);
  ASSERT_NE(split, nullptr);
  std::optional<Tensor> new_sizes = constantValue(p.graph, split->inputs[1]);
  ASSERT_TRUE(new_sizes.has_value());
  EXPECT_EQ(new_sizes->toInt64Vector(), (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(weightShape(p, h0), (Shape{4, 2, 1, 1}));
  EXPECT_EQ(weightShape(p, h1), (Shape{4, 4, 1, 1}));
  expectSameOutputs(m, p, net.random({1, 3, 6, 6}), Kernels::kReference);
}

TEST(StructuralRules, EqualSplitGetsExplicitSizes) {
  Net net;
  const std::string x = net.input({1, 3, 6, 6});
  const std::string c = net.conv(x, 3, 8, 3, {1, 2});
  const std::vector<std::string> parts =
      net.builder().nodeMulti("Split", {c}, 2, {Attribute::makeInt("axis", 1)});
  const std::string sum =
      net.builder().node("Add", {net.conv(parts[0], 4, 4, 1), net.conv(parts[1], 4, 4, 1)});
  const Model m = net.finish({sum});
  const Model p = pruned(m, options("group", 0.25));
  const Node* split = producerOf(p.graph, parts[0]);
  ASSERT_NE(split, nullptr);
  ASSERT_GE(split->inputs.size(), 2u);
  std::optional<Tensor> new_sizes = constantValue(p.graph, split->inputs[1]);
  ASSERT_TRUE(new_sizes.has_value());
  EXPECT_EQ(new_sizes->toInt64Vector(), (std::vector<int64_t>{2, 4}));
  expectSameOutputs(m, p, net.random({1, 3, 6, 6}), Kernels::kReference);
}

TEST(StructuralRules, SplitAttributeAtOpset11) {
  Net net(11);
  const std::string x = net.input({1, 3, 6, 6});
  const std::string c = net.conv(x, 3, 8, 3, {4, 7});
  const std::vector<std::string> parts = net.builder().nodeMulti(
      "Split", {net.silu(c)}, 2,
      {Attribute::makeInt("axis", 1), Attribute::makeInts("split", {3, 5})});
  const std::string up = net.builder().node(
      "Resize",
      {parts[1], net.builder().constant("roi", Tensor(DType::kFloat32, {0})),
       net.builder().constant(
           "scales", Tensor::fromVector(DType::kFloat32, {4}, std::vector<float>{1, 1, 2, 2}))},
      {Attribute::makeString("mode", "nearest")});
  const std::string h0 = net.conv(parts[0], 3, 4, 1);
  const std::string h1 = net.conv(up, 5, 4, 1);
  const Model m = net.finish({h0, h1});
  const Model p = pruned(m, options("group", 0.25));
  EXPECT_EQ(producerOf(p.graph, parts[0])->intsOr("split", {}), (std::vector<int64_t>{3, 3}));
  EXPECT_EQ(weightShape(p, h1), (Shape{4, 3, 1, 1}));
  expectSameOutputs(m, p, net.random({1, 3, 6, 6}));
}

TEST(StructuralRules, SliceOnChannelsMovesItsStart) {
  Net net;
  const std::string x = net.input({1, 3, 6, 6});
  const std::string c = net.conv(x, 3, 8, 3, {0, 4});
  auto i64 = [&](const std::string& name, std::vector<int64_t> v) {
    return net.builder().constant(
        name, Tensor::fromVector(DType::kInt64, {static_cast<int64_t>(v.size())}, v));
  };
  const std::string s = net.builder().node(
      "Slice", {net.silu(c), i64("starts", {2}), i64("ends", {7}), i64("axes", {1})});
  const std::string head = net.conv(s, 5, 3, 1);
  const Model m = net.finish({head});
  const Model p = pruned(m, options("group", 0.25));
  const Node* slice = producerOf(p.graph, s);
  ASSERT_NE(slice, nullptr);
  EXPECT_EQ(constantValue(p.graph, slice->inputs[1])->toInt64Vector(), (std::vector<int64_t>{1}));
  EXPECT_EQ(constantValue(p.graph, slice->inputs[2])->toInt64Vector(), (std::vector<int64_t>{5}));
  EXPECT_EQ(weightShape(p, head), (Shape{3, 4, 1, 1}));
  expectSameOutputs(m, p, net.random({1, 3, 6, 6}));
}

TEST(StructuralRules, ResizeSizesFollowTheChannels) {
  Net net;
  const std::string x = net.input({1, 3, 6, 6});
  const std::string c = net.conv(x, 3, 8, 3, {2, 3});
  const std::string sizes = net.builder().constant(
      "sizes", Tensor::fromVector(DType::kInt64, {4}, std::vector<int64_t>{1, 8, 12, 12}));
  const std::string up = net.builder().node("Resize", {net.silu(c), "", "", sizes},
                                            {Attribute::makeString("mode", "nearest")});
  const std::string head = net.conv(up, 8, 4, 1);
  const Model m = net.finish({head});
  const Model p = pruned(m, options("group", 0.25));
  const Node* resize = producerOf(p.graph, up);
  ASSERT_NE(resize, nullptr);
  EXPECT_EQ(constantValue(p.graph, resize->inputs[3])->toInt64Vector(),
            (std::vector<int64_t>{1, 6, 12, 12}));
  EXPECT_EQ(weightShape(p, head), (Shape{4, 6, 1, 1}));
  expectSameOutputs(m, p, net.random({1, 3, 6, 6}), Kernels::kReference);
}

TEST(StructuralRules, DepthwiseConvLosesChannelsAndGroups) {
  Net net;
  const std::string x = net.input({1, 3, 8, 8});
  const std::string c1 = net.conv(x, 3, 8, 1, {3, 6});
  const std::string dw = net.conv(net.silu(c1), 8, 8, 3, {3, 6}, /*group=*/8);
  const std::string head = net.conv(net.silu(dw), 8, 4, 1);
  const Model m = net.finish({head});
  const Model p = pruned(m, options("group", 0.25));
  EXPECT_EQ(weightShape(p, c1), (Shape{6, 3, 1, 1}));
  EXPECT_EQ(weightShape(p, dw), (Shape{6, 1, 3, 3}));
  EXPECT_EQ(producerOf(p.graph, dw)->intOr("group", 0), 6);
  EXPECT_EQ(weightShape(p, head), (Shape{4, 6, 1, 1}));
  expectSameOutputs(m, p, net.random({1, 3, 8, 8}));
}

TEST(StructuralRules, ReshapeConsumerFreezesTheGroupAndNamesIt) {
  Net net;
  const std::string x = net.input({1, 3, 4, 4});
  const std::string c0 = net.conv(x, 3, 8, 3, {0, 1});
  const std::string c1 = net.conv(net.silu(c0), 8, 8, 1);
  const std::string shape = net.builder().constant(
      "shape", Tensor::fromVector(DType::kInt64, {2}, std::vector<int64_t>{1, -1}));
  const std::string flat = net.builder().node("Reshape", {c1, shape});
  const Model m = net.finish({flat}, 2);
  PruneOptions o = options("group", 0.25);
  o.protect_detect_head = false;  // the Reshape alone must freeze c1's group
  PruneReport report;
  const Model p = pruned(m, o, &report);
  const std::string c1_name = producerOf(m.graph, c1)->name;
  EXPECT_TRUE(anyContains(report.ignored, c1_name, "Reshape"))
      << ::testing::PrintToString(report.ignored);
  EXPECT_EQ(weightShape(p, c1), (Shape{8, 6, 1, 1}));
  expectSameOutputs(m, p, net.random({1, 3, 4, 4}));
}

TEST(StructuralRules, EverythingFrozenIsRefused) {
  Net net;
  const std::string x = net.input({1, 3, 4, 4});
  const std::string c0 = net.conv(x, 3, 8, 3);
  const std::string shape = net.builder().constant(
      "shape", Tensor::fromVector(DType::kInt64, {2}, std::vector<int64_t>{1, -1}));
  const Model m = net.finish({net.builder().node("Reshape", {c0, shape})}, 2);
  Model copy = m;
  PruneReport report;
  Status st = pruneStructural(copy, options("group", 0.5), &report);
  EXPECT_EQ(st.code(), ErrorCode::kUnsupported) << st.message();
  EXPECT_TRUE(diffModels(copy, m).empty());
}

TEST(StructuralRules, IgnoreListFreezesTheNodesGroup) {
  Net net;
  const std::string x = net.input({1, 3, 6, 6});
  const std::string c0 = net.conv(x, 3, 8, 3);
  const std::string c1 = net.conv(net.silu(c0), 8, 8, 3, {2, 3});
  const std::string head = net.conv(net.silu(c1), 8, 4, 1);
  const Model m = net.finish({head});
  PruneOptions o = options("group", 0.25);
  o.ignore = {producerOf(m.graph, c0)->name};
  PruneReport report;
  const Model p = pruned(m, o, &report);
  EXPECT_EQ(weightShape(p, c0), (Shape{8, 3, 3, 3}));
  EXPECT_EQ(weightShape(p, c1), (Shape{6, 8, 3, 3}));
  EXPECT_TRUE(anyContains(report.ignored, producerOf(m.graph, c0)->name, "ignore pattern"));
  expectSameOutputs(m, p, net.random({1, 3, 6, 6}));
}

TEST(StructuralRules, BnSlimRanksByGammaAndSlicesBatchNorm) {
  Net net;
  const std::string x = net.input({1, 3, 6, 6});
  const std::string c0 = net.conv(x, 3, 8, 3);
  std::vector<float> gamma = {1.0f, 0.9f, 0.0f, 1.1f, 0.8f, 0.0f, 1.2f, 0.7f};
  std::vector<float> beta = {0.1f, -0.1f, 0.0f, 0.2f, 0.0f, 0.0f, 0.1f, 0.3f};
  auto vec = [&](const std::string& name, const std::vector<float>& v) {
    return net.builder().constant(name, Tensor::fromVector(DType::kFloat32, {8}, v));
  };
  const std::string bn =
      net.builder().node("BatchNormalization", {c0, vec("gamma", gamma), vec("beta", beta),
                                                vec("mean", std::vector<float>(8, 0.05f)),
                                                vec("var", std::vector<float>(8, 1.5f))});
  const std::string head = net.conv(net.builder().node("Relu", {bn}), 8, 4, 1);
  const Model m = net.finish({head});
  PruneReport report;
  const Model p = pruned(m, options("bn-slim", 0.25), &report);
  EXPECT_EQ(weightShape(p, c0), (Shape{6, 3, 3, 3}));
  const Node* bn_node = producerOf(p.graph, bn);
  for (size_t i = 1; i <= 4; ++i)
    EXPECT_EQ(p.graph.initializer(bn_node->inputs[i])->shape(), (Shape{6}));
  EXPECT_NE(report.options["importance"].get<std::string>().find("gamma"), std::string::npos);
  expectSameOutputs(m, p, net.random({1, 3, 6, 6}));
}

// x -> three bottlenecks x + f(x) -> head. The block whose last conv is all zero adds nothing.
Model bottlenecks(Net& net, std::vector<std::string>* adds, std::string* head) {
  const std::string x = net.input({1, 3, 6, 6});
  std::string cur = net.silu(net.conv(x, 3, 8, 3));
  for (int i = 0; i < 3; ++i) {
    const std::string f1 = net.silu(net.conv(cur, 8, 8, 1));
    std::vector<int64_t> zero =
        i == 1 ? std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7} : std::vector<int64_t>{};
    const std::string f2 = net.silu(net.conv(f1, 8, 8, 3, zero));
    cur = net.builder().node("Add", {cur, f2});
    adds->push_back(cur);
  }
  *head = net.conv(cur, 8, 4, 1);
  return net.finish({*head});
}

TEST(StructuralRules, LayerModeRemovesTheWeakestResidualBlock) {
  Net net;
  std::vector<std::string> adds;
  std::string head;
  const Model m = bottlenecks(net, &adds, &head);
  EXPECT_EQ(findResidualBlocks(m.graph).size(), 3u);
  PruneReport report;
  const Model p = pruned(m, options("bn-slim", 0.34, {{"mode", "layer"}}), &report);
  EXPECT_EQ(producerOf(p.graph, adds[1]), nullptr);  // the zero block is gone
  EXPECT_NE(producerOf(p.graph, adds[0]), nullptr);
  EXPECT_NE(producerOf(p.graph, adds[2]), nullptr);
  EXPECT_LT(report.params_after, report.params_before);
  expectSameOutputs(m, p, net.random({1, 3, 6, 6}));
}

TEST(StructuralRules, RoundKeepsMultiplesAndGlobalScopeRuns) {
  Net net;
  const std::string x = net.input({1, 3, 6, 6});
  const std::string c0 = net.conv(x, 3, 10, 3);
  const std::string c1 = net.conv(net.silu(c0), 10, 16, 3);
  const std::string head = net.conv(net.silu(c1), 16, 4, 1);
  const Model m = net.finish({head});
  const Model r = pruned(m, options("group", 0.5, {{"round", "4"}}));
  EXPECT_EQ(weightShape(r, c0)[0], 8);  // keep 5 -> 8
  EXPECT_EQ(weightShape(r, c1)[0], 8);  // keep 8
  PruneReport report;
  const Model g = pruned(m, options("group", 0.5, {{"scope", "global"}}), &report);
  EXPECT_EQ(weightShape(g, c0)[0] + weightShape(g, c1)[0], 13);  // 26 prunable, 13 go
  EXPECT_EQ(report.options["channels"]["removed"].get<int64_t>(), 13);
}

TEST(StructuralRules, DryRunAndBadOptions) {
  Net net;
  const std::string x = net.input({1, 3, 6, 6});
  const std::string c0 = net.conv(x, 3, 8, 3);
  const Model m = net.finish({net.conv(net.silu(c0), 8, 4, 1)});
  Model copy = m;
  PruneOptions o = options("group", 0.5);
  o.dry_run = true;
  PruneReport report;
  ASSERT_TRUE(pruneStructural(copy, o, &report).isOk());
  EXPECT_TRUE(diffModels(copy, m).empty());
  EXPECT_LT(report.params_after, report.params_before);
  EXPECT_EQ(pruneStructural(copy, options("group", 0.5, {{"entries", "2"}}), nullptr).code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(pruneStructural(copy, options("group", 0.5, {{"round", "0"}}), nullptr).code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(pruneStructural(copy, options("magnitude", 0.5), nullptr).code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(pruneStructural(copy, options("group", 1.5), nullptr).code(),
            ErrorCode::kInvalidArgument);
}

#else  // DETSLIM_STRUCTURAL_MODELS

namespace fs = std::filesystem;
using detslim::testing::testDataDir;

// Seed 000, Table V (YOLOv5s, COCO, 640): G MACs (ptflops) and M params.
constexpr double kPaperDenseMacsG = 8.244113, kPaperDenseParamsM = 7.225885;
constexpr double kPaperGroupMacsG = 6.501188, kPaperGroupParamsM = 5.553;
constexpr double kPaperLayerMacsG = 7.600735, kPaperLayerParamsM = 6.718;
// DetSlim against OpenCV DNN on the same pruned model: the bar test_engine_models sets.
constexpr double kAgreement = 1e-4;

struct Case {
  const char* method;
  std::map<std::string, std::string> opts;
  const char* label;
};

const std::vector<Case>& cases() {
  // Seed 000's P_L ranks channels and removes those of BatchNorm layers, which bn-slim's channel
  // mode does; bn-slim's layer mode (whole bottlenecks) is compared with the same row.
  static const std::vector<Case> c = {{"group", {}, "group (P_G)"},
                                      {"bn-slim", {}, "bn-slim channel (P_L)"},
                                      {"bn-slim", {{"mode", "layer"}}, "bn-slim layer"}};
  return c;
}

Tensor blankInput() {
  Tensor t(DType::kFloat32, {1, 3, 640, 640});
  std::fill_n(t.mutableData<float>(), t.numel(), 114.0f / 255.0f);
  return t;
}

// max |DetSlim - OpenCV| / max |OpenCV| over output 0 on a fixed random image.
double openCvDisagreement(const Model& m, Plan& plan) {
  Tensor input(DType::kFloat32, {1, 3, 640, 640});
  std::mt19937 rng(kSeed);
  std::uniform_real_distribution<float> dist(0.0f, 1.0f);
  for (int64_t i = 0; i < input.numel(); ++i) input.mutableData<float>()[i] = dist(rng);
  EXPECT_TRUE(plan.run(std::vector<Tensor>{input}).isOk());
  Result<std::unique_ptr<PeerEngine> > cv = startOpenCvPeer(m, input, 0);
  EXPECT_TRUE(cv.isOk()) << cv.status().message();
  if (!cv) return 1.0;
  Result<Tensor> theirs = (*cv)->output();
  EXPECT_TRUE(theirs.isOk()) << theirs.status().message();
  if (!theirs) return 1.0;
  const Tensor& ours = plan.output(0);
  EXPECT_EQ(theirs->numel(), ours.numel());
  if (theirs->numel() != ours.numel()) return 1.0;
  double diff = 0.0, range = 0.0;
  for (int64_t i = 0; i < ours.numel(); ++i) {
    diff = std::max(
        diff, std::fabs(static_cast<double>(ours.data<float>()[i]) - theirs->data<float>()[i]));
    range = std::max(range, std::fabs(static_cast<double>(theirs->data<float>()[i])));
  }
  return range > 0 ? diff / range : diff;
}

void pruneWholeModel(const char* model_name) {
  const fs::path path = testDataDir() / "models" / model_name;
  Result<Model> loaded = loadModel(path);
  ASSERT_TRUE(loaded.isOk()) << loaded.status().message();
  const ModelStats dense = computeStats(loaded->graph);
  Result<Plan> dense_plan = Engine::compile(*loaded);
  ASSERT_TRUE(dense_plan.isOk()) << dense_plan.status().message();
  const Tensor input = blankInput();
  ASSERT_TRUE(dense_plan->run(std::vector<Tensor>{input}).isOk());
  const Shape dense_shape = dense_plan->output(0).shape();
  const double dense_err = openCvDisagreement(*loaded, *dense_plan);
  std::printf(
      "\n%s dense: params %.6f M, MACs %.6f G, ptflops MACs %.6f G (paper YOLOv5s %.6f G / %.6f "
      "M)\n",
      model_name, dense.params / 1e6, dense.macs / 1e9, dense.macs_ptflops / 1e9, kPaperDenseMacsG,
      kPaperDenseParamsM);
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.label);
    Model m = *loaded;
    PruneOptions o;
    o.method = c.method;
    o.sparsity = 0.2;
    o.opts = c.opts;
    PruneReport report;
    Status st = pruneStructural(m, o, &report);
    ASSERT_TRUE(st.isOk()) << st.message();
    ASSERT_TRUE(checkModel(m).isOk());
    const ModelStats stats = computeStats(m.graph);
    EXPECT_LT(stats.params, dense.params);
    EXPECT_LT(stats.macs, dense.macs);
    EXPECT_LT(stats.macs_ptflops, dense.macs_ptflops);
    EXPECT_EQ(report.params_after, stats.params);
    Result<Plan> plan = Engine::compile(m);
    ASSERT_TRUE(plan.isOk()) << plan.status().message();
    ASSERT_TRUE(plan->run(std::vector<Tensor>{input}).isOk());
    EXPECT_EQ(plan->output(0).shape(), dense_shape);

    const bool layer = std::string(c.method) == "bn-slim";  // the P_L row, else P_G
    std::printf("%-22s params %.6f M (%.1f %%), MACs %.6f G, ptflops MACs %.6f G (%.1f %%)",
                c.label, stats.params / 1e6, 100.0 * stats.params / dense.params, stats.macs / 1e9,
                stats.macs_ptflops / 1e9, 100.0 * stats.macs_ptflops / dense.macs_ptflops);
    std::printf("  | Table V %s: %.6f G / %.3f M (%.1f %% / %.1f %%)\n", layer ? "P_L" : "P_G",
                layer ? kPaperLayerMacsG : kPaperGroupMacsG,
                layer ? kPaperLayerParamsM : kPaperGroupParamsM,
                100.0 * (layer ? kPaperLayerMacsG : kPaperGroupMacsG) / kPaperDenseMacsG,
                100.0 * (layer ? kPaperLayerParamsM : kPaperGroupParamsM) / kPaperDenseParamsM);
    std::printf("    importance: %s; %s\n",
                report.options.value("importance", std::string()).c_str(),
                report.options.contains("channels")
                    ? report.options["channels"].dump().c_str()
                    : report.options.value("blocks", nlohmann::json()).dump().c_str());
    for (const std::string& line : report.ignored) std::printf("    frozen: %s\n", line.c_str());

    // A second runtime reads the pruned file: OpenCV DNN's output agrees with DetSlim's.
    const double err = openCvDisagreement(m, *plan);
    std::printf("    OpenCV DNN vs DetSlim on the pruned model: %.3g (dense %.3g)\n", err,
                dense_err);
    // yolov5s_untrained's random weights already part the two runtimes by ~5e-3 on the dense
    // model: pruning must not part them further than that, or than the bar for trained models.
    EXPECT_LE(err, std::max(kAgreement, dense_err));
  }
}

// The pruned model must compute what the original computes with the removed channels zeroed
// (filter and bias of every removed output channel: SiLU(0) = 0, MaxPool / Resize / Concat /
// Add keep a zero a zero, so a removed channel feeds zeros everywhere). The kept output
// channels of each Conv are found through its bias: the pruned bias is a subsequence of the
// original's. Holds for BN-folded graphs such as the exported YOLOv5s.
void expectPrunedEqualsZeroed(const char* model_name, const Case& c) {
  SCOPED_TRACE(std::string(model_name) + " " + c.label);
  Result<Model> loaded = loadModel(testDataDir() / "models" / model_name);
  ASSERT_TRUE(loaded.isOk()) << loaded.status().message();
  Model m = *loaded;
  PruneOptions o;
  o.method = c.method;
  o.sparsity = 0.2;
  o.opts = c.opts;
  o.opts["compensate"] = "false";  // the zeroed original is the uncompensated network
  ASSERT_TRUE(pruneStructural(m, o, nullptr).isOk());
  Model zeroed = *loaded;
  int64_t zeroed_channels = 0;
  for (Node& n : zeroed.graph.nodes) {
    if (n.op_type != "Conv" || n.inputs.size() < 3) continue;
    const Node* after = nullptr;
    for (const Node& p : m.graph.nodes) {
      if (p.name == n.name) after = &p;
    }
    ASSERT_NE(after, nullptr) << n.name;
    const std::vector<float> b0 = zeroed.graph.initializer(n.inputs[2])->toFloatVector();
    const std::vector<float> b1 = m.graph.initializer(after->inputs[2])->toFloatVector();
    Tensor w = zeroed.graph.initializer(n.inputs[1])->clone();
    Tensor b = zeroed.graph.initializer(n.inputs[2])->clone();
    const int64_t filter = w.numel() / w.shape()[0];
    size_t j = 0;
    for (size_t i = 0; i < b0.size(); ++i) {
      if (j < b1.size() && b1[j] == b0[i]) {
        ++j;
        continue;
      }
      std::fill_n(w.mutableData<float>() + static_cast<int64_t>(i) * filter, filter, 0.0f);
      b.mutableData<float>()[i] = 0.0f;
      ++zeroed_channels;
    }
    ASSERT_EQ(j, b1.size()) << n.name << ": pruned bias is not a subsequence of the original";
    zeroed.graph.setInitializer(n.inputs[1], w);
    zeroed.graph.setInitializer(n.inputs[2], b);
  }
  EXPECT_GT(zeroed_channels, 0);
  Tensor input(DType::kFloat32, {1, 3, 640, 640});
  std::mt19937 rng(kSeed);
  std::uniform_real_distribution<float> dist(0.0f, 1.0f);
  for (int64_t i = 0; i < input.numel(); ++i) input.mutableData<float>()[i] = dist(rng);
  Result<Plan> a = Engine::compile(zeroed);
  Result<Plan> b = Engine::compile(m);
  ASSERT_TRUE(a.isOk() && b.isOk());
  ASSERT_TRUE(a->run(std::vector<Tensor>{input}).isOk());
  ASSERT_TRUE(b->run(std::vector<Tensor>{input}).isOk());
  double diff = 0.0, range = 0.0;
  for (int64_t i = 0; i < a->output(0).numel(); ++i) {
    const double x = a->output(0).data<float>()[i], y = b->output(0).data<float>()[i];
    diff = std::max(diff, std::fabs(x - y));
    range = std::max(range, std::fabs(x));
  }
  std::printf(
      "%s %-18s pruned vs zeroed original: %.3g of the output range (%lld channels zeroed)\n",
      model_name, c.label, range > 0 ? diff / range : diff,
      static_cast<long long>(zeroed_channels));
  EXPECT_LE(diff, kAgreement * range);
}

TEST(StructuralModels, PrunedEqualsOriginalWithRemovedChannelsZeroed) {
  DETSLIM_REQUIRE_TEST_DATA();
  for (const char* model_name : {"yolov5s_untrained.onnx", "yolov5n_fp32.onnx"}) {
    expectPrunedEqualsZeroed(model_name, cases()[0]);
    expectPrunedEqualsZeroed(model_name, cases()[1]);
  }
}

TEST(StructuralModels, Yolov5sUntrainedAt20Percent) {
  DETSLIM_REQUIRE_TEST_DATA();
  pruneWholeModel("yolov5s_untrained.onnx");
}

TEST(StructuralModels, Yolov5nAt20Percent) {
  DETSLIM_REQUIRE_TEST_DATA();
  pruneWholeModel("yolov5n_fp32.onnx");
}

// The other shared detectors: what the analysis freezes differs (YOLOX's decoupled head and
// depthwise convs, NanoDet's ShuffleNet channel shuffle through Reshape / Transpose, the fp16
// yolov5n), the result must still be a valid, smaller model that runs.
TEST(StructuralModels, OtherSharedDetectorsStayValid) {
  DETSLIM_REQUIRE_TEST_DATA();
  for (const char* model_name : {"yolox_nano.onnx", "nanodet_m.onnx", "yolov5n.onnx"}) {
    SCOPED_TRACE(model_name);
    Result<Model> loaded = loadModel(testDataDir() / "models" / model_name);
    ASSERT_TRUE(loaded.isOk()) << loaded.status().message();
    const ModelStats dense = computeStats(loaded->graph);
    Result<Plan> dense_plan = Engine::compile(*loaded);
    ASSERT_TRUE(dense_plan.isOk()) << dense_plan.status().message();
    std::vector<Tensor> inputs;
    for (const ValueDesc& d : dense_plan->inputDescs()) inputs.emplace_back(d.dtype, d.shape);
    ASSERT_TRUE(dense_plan->run(inputs).isOk());
    for (const Case& c : cases()) {
      SCOPED_TRACE(c.label);
      Model m = *loaded;
      PruneOptions o;
      o.method = c.method;
      o.sparsity = 0.2;
      o.opts = c.opts;
      PruneReport report;
      Status st = pruneStructural(m, o, &report);
      if (!st) {
        std::printf("%s %-22s refused: %s\n", model_name, c.label, st.message().c_str());
        EXPECT_NE(st.code(), ErrorCode::kInternal) << st.message();
        continue;
      }
      ASSERT_TRUE(checkModel(m).isOk());
      const ModelStats stats = computeStats(m.graph);
      EXPECT_LT(stats.params, dense.params);
      EXPECT_LT(stats.macs, dense.macs);
      Result<Plan> plan = Engine::compile(m);
      ASSERT_TRUE(plan.isOk()) << plan.status().message();
      ASSERT_TRUE(plan->run(inputs).isOk());
      ASSERT_EQ(plan->numOutputs(), dense_plan->numOutputs());
      for (size_t i = 0; i < plan->numOutputs(); ++i) {
        EXPECT_EQ(plan->output(i).shape(), dense_plan->output(i).shape()) << "output " << i;
      }
      std::printf("%s %-22s params %.1f %%, MACs %.1f %%, %zu frozen groups\n", model_name, c.label,
                  100.0 * stats.params / dense.params, 100.0 * stats.macs / dense.macs,
                  report.ignored.size());
      for (const std::string& line : report.ignored) std::printf("    frozen: %s\n", line.c_str());
    }
  }
}

// What pruning without fine-tuning leaves of a trained detector, on one image. Seed 000
// fine-tunes (300 epochs) after pruning; DetSlim does not train, so this records the raw effect
// and asserts what must hold whatever the accuracy: the pruned model goes through the Detector
// (family detection, decode, NMS), and the dense model sees the people and the bus. Measured
// (yolov5n_fp32, 20 %): the channel methods leave no detection above 0.25 (nor above 0.01), one
// residual block less (layer) leaves low-confidence person boxes; see the printed lines.
TEST(StructuralModels, PrunedYolov5nOnBus) {
  DETSLIM_REQUIRE_TEST_DATA();
  Result<Model> loaded = loadModel(testDataDir() / "models" / "yolov5n_fp32.onnx");
  ASSERT_TRUE(loaded.isOk()) << loaded.status().message();
  const fs::path image = testDataDir() / "samples" / "bus.jpg";
  std::vector<Case> all = {{"", {}, "dense"}};
  all.insert(all.end(), cases().begin(), cases().end());
  constexpr float kLowConf = 0.001f;  // the evaluation threshold: the best boxes, however weak
  for (const Case& c : all) {
    SCOPED_TRACE(c.label);
    Model m = *loaded;
    if (*c.method) {
      PruneOptions o;
      o.method = c.method;
      o.sparsity = 0.2;
      o.opts = c.opts;
      ASSERT_TRUE(pruneStructural(m, o, nullptr).isOk());
    }
    DetectorOptions det_options;
    det_options.decode = detect::DecodeOptions::display();
    det_options.decode.conf_threshold = kLowConf;
    Result<Detector> det = Detector::create(std::move(m), det_options);
    ASSERT_TRUE(det.isOk()) << det.status().message();
    Result<ImageDetections> found = det->detect(image);
    ASSERT_TRUE(found.isOk()) << found.status().message();
    const std::vector<detect::Detection>& dets = found->detections;  // best first
    const auto confident = std::count_if(dets.begin(), dets.end(), [](const detect::Detection& d) {
      return d.score > detect::DecodeOptions::kDisplayConfThreshold;
    });
    std::printf("%-22s %ld detections > 0.25 on bus.jpg; best:", c.label,
                static_cast<long>(confident));
    for (size_t k = 0; k < std::min<size_t>(dets.size(), 4); ++k) {
      const size_t cls = static_cast<size_t>(dets[k].class_id);
      std::printf(" %s %.2f", cls < det->classNames().size() ? det->classNames()[cls].c_str() : "?",
                  dets[k].score);
    }
    std::printf("\n");
    if (!*c.method) {
      EXPECT_GE(confident, 3);  // three people and the bus at 0.82 / 0.82 / 0.68 / 0.53
    }
  }
}

// Bias compensation (compensate.h) on the BN-folded yolov5n: group at 20 % with and without it.
// Prints the best boxes on bus.jpg and mAP on the first 32 COCO val2017 images; asserts only
// that compensation is not worse (no fine-tuning: the absolute numbers are what they are).
TEST(StructuralModels, CompensationOnYolov5n) {
  DETSLIM_REQUIRE_TEST_DATA();
  Result<Model> loaded = loadModel(testDataDir() / "models" / "yolov5n_fp32.onnx");
  ASSERT_TRUE(loaded.isOk()) << loaded.status().message();
  const fs::path image = testDataDir() / "samples" / "bus.jpg";
  double map[2] = {0.0, 0.0}, map50[2] = {0.0, 0.0};
  for (int on = 1; on >= 0; --on) {
    SCOPED_TRACE(on ? "compensate=true" : "compensate=false");
    Model m = *loaded;
    PruneOptions o;
    o.method = "group";
    o.sparsity = 0.2;
    o.opts = {{"compensate", on ? "true" : "false"}};
    PruneReport report;
    ASSERT_TRUE(pruneStructural(m, o, &report).isOk());
    DetectorOptions display;
    display.decode = detect::DecodeOptions::display();
    Result<Detector> det = Detector::create(m, display);
    ASSERT_TRUE(det.isOk()) << det.status().message();
    Result<ImageDetections> found = det->detect(image);
    ASSERT_TRUE(found.isOk()) << found.status().message();
    std::printf("group 0.2 compensate=%s: %zu detections on bus.jpg:", on ? "true " : "false",
                found->detections.size());
    for (size_t k = 0; k < std::min<size_t>(found->detections.size(), 6); ++k) {
      const detect::Detection& d = found->detections[k];
      const size_t cls = static_cast<size_t>(d.class_id);
      std::printf(" %s %.2f", cls < det->classNames().size() ? det->classNames()[cls].c_str() : "?",
                  d.score);
    }
    std::printf("\n    compensation: %s\n", report.options.value("compensation", nlohmann::json()).dump().c_str());
    Result<Detector> eval_det = Detector::create(std::move(m));
    ASSERT_TRUE(eval_det.isOk()) << eval_det.status().message();
    EvalOptions eo;
    eo.model = "yolov5n_fp32.onnx (group 0.2)";
    eo.data = testDataDir() / "coco" / "images" / "val2017";
    eo.limit = 32;
    Result<EvalReport> ev = runEval(eo, *eval_det);
    ASSERT_TRUE(ev.isOk()) << ev.status().message();
    map[on] = ev->coco.stats[0];
    map50[on] = ev->coco.stats[1];
    std::printf("    32 val2017 images: mAP50-95 %.4f, mAP50 %.4f\n", map[on], map50[on]);
  }
  EXPECT_GE(map[1], map[0]);
  EXPECT_GE(map50[1], map50[0]);
}

#endif  // DETSLIM_STRUCTURAL_MODELS

}  // namespace
}  // namespace detslim::prune
