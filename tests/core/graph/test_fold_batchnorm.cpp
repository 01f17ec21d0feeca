#include <algorithm>
#include <cmath>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/graph/builder.h"
#include "core/graph/passes.h"
#include "graph_test_util.h"

namespace detslim {
namespace {

using testing::countOps;
using testing::findNode;
using testing::randomFloatTensor;

constexpr uint32_t kSeed = 7767517;
constexpr float kEpsilon = 1e-3f;  // not the default, so the test sees the attribute is read
// Folded weights are float32 roundings of exact products (<= 2^-24 relative each). With at most
// 27 products per output, |x| <= 1, |w| <= 1 and gamma / sqrt(var + eps) <= ~4.7, the folded
// conv differs from Conv + BN by < 1e-5; 1e-4 keeps margin while any formula error (a missing
// mean, a wrong epsilon) shows up as 1e-3 or more.
constexpr double kFoldTolerance = 1e-4;
constexpr int64_t kHeight = 7;
constexpr int64_t kWidth = 9;
constexpr int64_t kKernel = 3;
constexpr int64_t kPad = 1;

// Reference NCHW convolution, stride 1, dilation 1, symmetric padding, in double.
std::vector<double> naiveConv(const Tensor& x, const Tensor& w, const Tensor* bias, int64_t group) {
  const int64_t n = x.shape()[0], c_in = x.shape()[1], h = x.shape()[2], wd = x.shape()[3];
  const int64_t c_out = w.shape()[0], k = w.shape()[2];
  const int64_t h_out = h + 2 * kPad - k + 1, w_out = wd + 2 * kPad - k + 1;
  const int64_t in_per_group = c_in / group, out_per_group = c_out / group;
  std::vector<double> y(static_cast<size_t>(n * c_out * h_out * w_out), 0.0);
  const float* xd = x.data<float>();
  const float* wdat = w.data<float>();
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t o = 0; o < c_out; ++o) {
      const int64_t g = o / out_per_group;
      for (int64_t i = 0; i < h_out; ++i) {
        for (int64_t j = 0; j < w_out; ++j) {
          double acc = bias ? bias->data<float>()[o] : 0.0;
          for (int64_t ci = 0; ci < in_per_group; ++ci) {
            const int64_t c = g * in_per_group + ci;
            for (int64_t ki = 0; ki < k; ++ki) {
              for (int64_t kj = 0; kj < k; ++kj) {
                const int64_t yi = i + ki - kPad, xj = j + kj - kPad;
                if (yi < 0 || yi >= h || xj < 0 || xj >= wd) continue;
                acc += static_cast<double>(wdat[((o * in_per_group + ci) * k + ki) * k + kj]) *
                       xd[((b * c_in + c) * h + yi) * wd + xj];
              }
            }
          }
          y[static_cast<size_t>(((b * c_out + o) * h_out + i) * w_out + j)] = acc;
        }
      }
    }
  }
  return y;
}

struct BatchNormParams {
  Tensor scale, beta, mean, var;
};

void applyBatchNorm(std::vector<double>& y, const BatchNormParams& bn, int64_t channels) {
  const size_t plane = y.size() / static_cast<size_t>(channels);  // batch 1
  for (int64_t c = 0; c < channels; ++c) {
    const double inv = bn.scale.data<float>()[c] /
                       std::sqrt(static_cast<double>(bn.var.data<float>()[c]) + kEpsilon);
    for (size_t e = 0; e < plane; ++e) {
      double& v = y[static_cast<size_t>(c) * plane + e];
      v = (v - bn.mean.data<float>()[c]) * inv + bn.beta.data<float>()[c];
    }
  }
}

struct ConvCase {
  const char* label;
  int64_t c_in;
  int64_t c_out;
  int64_t group;
  bool bias;
};

// Shown by gtest in place of the struct's bytes.
void PrintTo(const ConvCase& c, std::ostream* os) {
  *os << c.label;
}

class FoldBatchNormNumeric : public ::testing::TestWithParam<ConvCase> {};

TEST_P(FoldBatchNormNumeric, FoldedConvMatchesConvThenBatchNorm) {
  const ConvCase& p = GetParam();
  std::mt19937 rng(kSeed);
  Tensor x = randomFloatTensor({1, p.c_in, kHeight, kWidth}, rng, -1.0f, 1.0f);
  Tensor w = randomFloatTensor({p.c_out, p.c_in / p.group, kKernel, kKernel}, rng, -1.0f, 1.0f);
  Tensor b = randomFloatTensor({p.c_out}, rng, -0.5f, 0.5f);
  BatchNormParams bn{randomFloatTensor({p.c_out}, rng, 0.5f, 1.5f),
                     randomFloatTensor({p.c_out}, rng, -0.5f, 0.5f),
                     randomFloatTensor({p.c_out}, rng, -0.5f, 0.5f),
                     randomFloatTensor({p.c_out}, rng, 0.1f, 2.0f)};

  GraphBuilder builder("conv_bn");
  auto in = builder.input("x", DType::kFloat32, {1, p.c_in, kHeight, kWidth});
  std::vector<std::string> conv_inputs = {in, builder.constant("w", w)};
  if (p.bias) conv_inputs.push_back(builder.constant("b", b));
  auto conv = builder.node("Conv", conv_inputs,
                           {Attribute::makeInts("kernel_shape", {kKernel, kKernel}),
                            Attribute::makeInts("pads", {kPad, kPad, kPad, kPad}),
                            Attribute::makeInt("group", p.group)});
  auto y =
      builder.node("BatchNormalization",
                   {conv, builder.constant("gamma", bn.scale), builder.constant("beta", bn.beta),
                    builder.constant("mean", bn.mean), builder.constant("var", bn.var)},
                   {Attribute::makeFloat("epsilon", kEpsilon)}, "y");
  builder.output(y);
  Model m = builder.build();
  const Tensor w_before = w.clone();

  auto report = foldBatchNorm(m);
  ASSERT_TRUE(report.isOk()) << report.status().message();
  EXPECT_EQ(report->nodes_removed, 1);
  ASSERT_EQ(m.graph.nodes.size(), 1u);
  const Node& folded = m.graph.nodes[0];
  EXPECT_EQ(folded.op_type, "Conv");
  EXPECT_EQ(folded.outputs[0], "y");  // the Conv took over the BN's output
  EXPECT_EQ(folded.intOr("group", 1), p.group);
  const Tensor* w2 = m.graph.initializer(folded.input(1));
  const Tensor* b2 = m.graph.initializer(folded.input(2));
  ASSERT_NE(w2, nullptr);
  ASSERT_NE(b2, nullptr);
  EXPECT_EQ(w2->shape(), w.shape());
  EXPECT_EQ(b2->shape(), (Shape{p.c_out}));
  // BN parameters are gone; only the weight and the bias remain.
  EXPECT_EQ(m.graph.initializers().size(), 2u);
  // The caller's tensor was not written through shared storage.
  EXPECT_TRUE(w.bitwiseEqual(w_before));

  std::vector<double> expected = naiveConv(x, w, p.bias ? &b : nullptr, p.group);
  applyBatchNorm(expected, bn, p.c_out);
  const std::vector<double> actual = naiveConv(x, *w2, b2, p.group);
  ASSERT_EQ(actual.size(), expected.size());
  double max_error = 0.0;
  for (size_t i = 0; i < actual.size(); ++i) {
    max_error = std::max(max_error, std::abs(actual[i] - expected[i]));
  }
  EXPECT_LE(max_error, kFoldTolerance);
}

INSTANTIATE_TEST_SUITE_P(Cases, FoldBatchNormNumeric,
                         ::testing::Values(ConvCase{"dense_bias", 3, 5, 1, true},
                                           ConvCase{"dense_no_bias", 3, 5, 1, false},
                                           ConvCase{"depthwise", 5, 5, 5, true},
                                           ConvCase{"grouped", 4, 6, 2, false}),
                         [](const ::testing::TestParamInfo<ConvCase>& info) {
                           return std::string(info.param.label);
                         });

// x -> Conv(w) -> BN -> y with simple per-channel BN parameters (gamma 1, 2; beta 0, 1).
struct SmallConvBn {
  GraphBuilder b{"small"};
  std::string x, w, conv, y;
  SmallConvBn() {
    x = b.input("x", DType::kFloat32, {1, 2, 4, 4});
    w = b.constant("w", testing::floatTensor({2, 2, 1, 1}, {1, 2, 3, 4}));
    conv = b.node("Conv", {x, w}, {}, "conv_out");
    y = b.node("BatchNormalization",
               {conv, b.constant("gamma", testing::floatTensor({2}, {1, 2})),
                b.constant("beta", testing::floatTensor({2}, {0, 1})),
                b.constant("mean", testing::floatTensor({2}, {0, 0})),
                b.constant("var", testing::floatTensor({2}, {1, 1}))},
               // epsilon 0 with var 1 makes every folded value exact, so tests compare with ==.
               {Attribute::makeFloat("epsilon", 0.0f)}, "y");
  }
};

TEST(FoldBatchNorm, LeavesABatchNormWhoseConvOutputHasAnotherReader) {
  SmallConvBn s;
  auto side = s.b.node("Relu", {s.conv}, {}, "side");
  s.b.output(s.y);
  s.b.output(side);
  Model m = s.b.build();
  const Model before = m;
  auto report = foldBatchNorm(m);
  ASSERT_TRUE(report.isOk());
  EXPECT_EQ(report->nodes_removed, 0);
  EXPECT_EQ(diffModels(before, m), "");
  ASSERT_EQ(report->notes.size(), 1u);
  EXPECT_NE(report->notes[0].find("other readers"), std::string::npos) << report->notes[0];
}

TEST(FoldBatchNorm, LeavesABatchNormWhoseConvOutputIsAGraphOutput) {
  SmallConvBn s;
  s.b.output(s.y);
  s.b.output(s.conv);
  Model m = s.b.build();
  auto report = foldBatchNorm(m);
  ASSERT_TRUE(report.isOk());
  EXPECT_EQ(countOps(m.graph, "BatchNormalization"), 1);
}

TEST(FoldBatchNorm, GivesASharedWeightANewNameAndLeavesTheOtherReader) {
  SmallConvBn s;
  auto other = s.b.node("Conv", {s.x, s.w}, {}, "other");
  s.b.output(s.y);
  s.b.output(other);
  Model m = s.b.build();
  const Tensor original_w = m.graph.initializer("w")->clone();
  auto report = foldBatchNorm(m);
  ASSERT_TRUE(report.isOk());
  EXPECT_EQ(countOps(m.graph, "BatchNormalization"), 0);
  const Node* folded = nullptr;
  const Node* untouched = nullptr;
  for (const Node& n : m.graph.nodes) (n.outputs[0] == "y" ? folded : untouched) = &n;
  ASSERT_NE(folded, nullptr);
  ASSERT_NE(untouched, nullptr);
  EXPECT_NE(folded->input(1), "w");
  EXPECT_EQ(untouched->input(1), "w");
  EXPECT_TRUE(m.graph.initializer("w")->bitwiseEqual(original_w));
  // Channel 1 scaled by gamma 2: weights 3, 4 -> 6, 8; bias = beta = 0, 1.
  EXPECT_EQ(m.graph.initializer(folded->input(1))->toFloatVector(),
            (std::vector<float>{1, 2, 6, 8}));
  EXPECT_EQ(m.graph.initializer(folded->input(2))->toFloatVector(), (std::vector<float>{0, 1}));
  EXPECT_EQ(report->initializers_added, 2);  // the new weight and the new bias
}

TEST(FoldBatchNorm, FoldsChainedBatchNorms) {
  SmallConvBn s;
  auto z = s.b.node("BatchNormalization",
                    {s.y, s.b.constant("g2", testing::floatTensor({2}, {2, 2})),
                     s.b.constant("b2", testing::floatTensor({2}, {1, 1})),
                     s.b.constant("m2", testing::floatTensor({2}, {0, 0})),
                     s.b.constant("v2", testing::floatTensor({2}, {1, 1}))},
                    {}, "z");
  s.b.output(z);
  Model m = s.b.build();
  auto report = foldBatchNorm(m);
  ASSERT_TRUE(report.isOk());
  ASSERT_EQ(m.graph.nodes.size(), 1u);
  EXPECT_EQ(m.graph.nodes[0].outputs[0], "z");
  EXPECT_EQ(report->nodes_removed, 2);
}

TEST(FoldBatchNorm, LeavesTrainingModeAndNonFloatWeights) {
  SmallConvBn s;
  s.b.graph().nodes[1].setAttr(Attribute::makeInt("training_mode", 1));
  s.b.output(s.y);
  Model m = s.b.build();
  ASSERT_TRUE(foldBatchNorm(m).isOk());
  EXPECT_EQ(countOps(m.graph, "BatchNormalization"), 1);

  SmallConvBn t;
  t.b.graph().setInitializer("w", Tensor(DType::kFloat16, {2, 2, 1, 1}));
  t.b.output(t.y);
  Model m2 = t.b.build();
  ASSERT_TRUE(foldBatchNorm(m2).isOk());
  EXPECT_EQ(countOps(m2.graph, "BatchNormalization"), 1);
}

}  // namespace
}  // namespace detslim
