// Edge cases of Softmax, the Reduce ops, TopK and ArgMax reference kernels beyond ONNX's
// conformance data: ties, NaN, both Softmax semantics, every axes form, empty reductions.

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "ref_test_util.h"

namespace detslim {
namespace {

using testing::floats;
using testing::int64s;
using testing::kKernelTestSeed;
using testing::makeNode;
using testing::makeTensor;
using testing::runOk;
using testing::runStatus;
using testing::values;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// Softmax in the kernel accumulates in double and rounds once to float32; against a double
// formula only that last rounding remains (half an ulp of values <= 1).
constexpr float kSoftmaxTolerance = 1e-7f;
// Sums of 13 * 7 values in [-1, 1) accumulated in double and rounded once to float32, compared
// with a float32 rounding of the double sum: equal up to one ulp of values below 100.
constexpr float kReduceTolerance = 1e-5f;

TEST(RefReduce, TopKTiesComeOutLowerIndexFirst) {
  const Tensor x = floats({1, 6}, {3, 1, 3, 2, 3, 1});
  Node largest = makeNode("TopK", 2, 2);
  const std::vector<Tensor> top = runOk(largest, 11, {x, int64s({1}, {3})});
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(values<float>(top[0]), (std::vector<float>{3, 3, 3}));
  EXPECT_EQ(values<int64_t>(top[1]), (std::vector<int64_t>{0, 2, 4}));

  Node smallest = makeNode("TopK", 2, 2, {Attribute::makeInt("largest", 0)});
  const std::vector<Tensor> bottom = runOk(smallest, 11, {x, int64s({1}, {3})});
  ASSERT_EQ(bottom.size(), 2u);
  EXPECT_EQ(values<float>(bottom[0]), (std::vector<float>{1, 1, 2}));
  EXPECT_EQ(values<int64_t>(bottom[1]), (std::vector<int64_t>{1, 5, 3}));
}

TEST(RefReduce, TopKAlongAMiddleAxisAndNaNAsLargest) {
  // [2, 3, 2], axis 1, k = 2; NaN ranks above every number (numpy's sort order).
  const Tensor x = floats({2, 3, 2}, {1, 6, kNaN, 5, 3, 4, 0, 0, 0, 0, -1, 0});
  Node node = makeNode("TopK", 2, 2, {Attribute::makeInt("axis", 1)});
  const std::vector<Tensor> out = runOk(node, 11, {x, int64s({1}, {2})});
  ASSERT_EQ(out.size(), 2u);
  ASSERT_EQ(out[0].shape(), (Shape{2, 2, 2}));
  const std::vector<float> v = values<float>(out[0]);
  EXPECT_TRUE(std::isnan(v[0]));
  EXPECT_EQ(v[1], 6.0f);
  EXPECT_EQ(v[2], 3.0f);
  EXPECT_EQ(v[3], 5.0f);
  EXPECT_EQ(values<int64_t>(out[1]), (std::vector<int64_t>{1, 0, 2, 1, 0, 0, 1, 1}));
}

TEST(RefReduce, TopKRefusesKBeyondTheAxis) {
  const Status s =
      runStatus(makeNode("TopK", 2, 2), 11, {floats({3}, {1, 2, 3}), int64s({1}, {4})});
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(s.message().find("k = 4"), std::string::npos) << s.message();
}

// The output shapes of TopK and of ReduceSum-13 depend on input values; when those are not
// compile-time constants the shape function must refuse as unsupported, not guess.
TEST(RefReduce, ShapeFromValuesUnknownAtCompileTimeIsUnsupported) {
  const Node topk = makeNode("TopK", 2, 2);
  NodeContext topk_ctx;
  topk_ctx.node = &topk;
  topk_ctx.opset = 11;
  topk_ctx.inputs = {ValueDesc{DType::kFloat32, {4}}, ValueDesc{DType::kInt64, {1}}};
  topk_ctx.constants = {nullptr, nullptr};
  EXPECT_EQ(createKernel(topk_ctx, /*reference_only=*/true).status().code(),
            ErrorCode::kUnsupported);

  const Node sum = makeNode("ReduceSum", 2);
  NodeContext sum_ctx;
  sum_ctx.node = &sum;
  sum_ctx.opset = 13;
  sum_ctx.inputs = {ValueDesc{DType::kFloat32, {2, 3}}, ValueDesc{DType::kInt64, {1}}};
  sum_ctx.constants = {nullptr, nullptr};
  EXPECT_EQ(createKernel(sum_ctx, /*reference_only=*/true).status().code(),
            ErrorCode::kUnsupported);
}

TEST(RefReduce, ArgMaxSelectsFirstOrLastOfEqualMaxima) {
  const Tensor x = floats({2, 4}, {1, 7, 7, 0, kNaN, 2, kNaN, 9});
  const std::vector<Tensor> first =
      runOk(makeNode("ArgMax", 1, 1, {Attribute::makeInt("axis", 1)}), 13, {x});
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].shape(), (Shape{2, 1}));
  // The first NaN wins, as in numpy's argmax.
  EXPECT_EQ(values<int64_t>(first[0]), (std::vector<int64_t>{1, 0}));

  const std::vector<Tensor> last =
      runOk(makeNode("ArgMax", 1, 1,
                     {Attribute::makeInt("axis", -1), Attribute::makeInt("keepdims", 0),
                      Attribute::makeInt("select_last_index", 1)}),
            13, {x});
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last[0].shape(), (Shape{2}));
  EXPECT_EQ(values<int64_t>(last[0]), (std::vector<int64_t>{2, 2}));
}

// Softmax over [outer, n] rows in double.
std::vector<double> softmaxRows(const std::vector<float>& x, int64_t n) {
  std::vector<double> y(x.size());
  for (size_t row = 0; row < x.size() / static_cast<size_t>(n); ++row) {
    double max = -std::numeric_limits<double>::infinity();
    for (int64_t j = 0; j < n; ++j) max = std::max(max, static_cast<double>(x[row * n + j]));
    double sum = 0;
    for (int64_t j = 0; j < n; ++j) sum += std::exp(x[row * n + j] - max);
    for (int64_t j = 0; j < n; ++j) y[row * n + j] = std::exp(x[row * n + j] - max) / sum;
  }
  return y;
}

TEST(RefReduce, SoftmaxFlattensBeforeOpset13AndUsesOneAxisSince) {
  std::mt19937 rng(kKernelTestSeed);
  const Tensor x = testing::randomFloats({2, 3, 4}, rng, -5.0f, 5.0f);
  const std::vector<float> xv = values<float>(x);
  Node node = makeNode("Softmax", 1, 1, {Attribute::makeInt("axis", 1)});

  // Opset 11, axis 1: rows of 3 * 4 = 12 values.
  const std::vector<Tensor> old_form = runOk(node, 11, {x});
  ASSERT_EQ(old_form.size(), 1u);
  const std::vector<double> expected_old = softmaxRows(xv, 12);
  for (size_t i = 0; i < xv.size(); ++i) {
    EXPECT_NEAR(old_form[0].data<float>()[i], expected_old[i], kSoftmaxTolerance);
  }

  // Opset 13, axis 1: normalised along the 3, separately for each of the 4 trailing positions.
  const std::vector<Tensor> new_form = runOk(node, 13, {x});
  ASSERT_EQ(new_form.size(), 1u);
  for (int64_t b = 0; b < 2; ++b) {
    for (int64_t k = 0; k < 4; ++k) {
      std::vector<float> column;
      for (int64_t j = 0; j < 3; ++j) column.push_back(xv[(b * 3 + j) * 4 + k]);
      const std::vector<double> expected = softmaxRows(column, 3);
      for (int64_t j = 0; j < 3; ++j) {
        EXPECT_NEAR(new_form[0].data<float>()[(b * 3 + j) * 4 + k], expected[j], kSoftmaxTolerance);
      }
    }
  }
}

TEST(RefReduce, SoftmaxOfLargeValuesDoesNotOverflow) {
  const std::vector<Tensor> out =
      runOk(makeNode("Softmax", 1), 13, {floats({3}, {1000, 1000, -kInf})});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(values<float>(out[0]), (std::vector<float>{0.5f, 0.5f, 0.0f}));
}

TEST(RefReduce, ReduceSumOverOddAxesMatchesLoops) {
  std::mt19937 rng(kKernelTestSeed);
  const Tensor x = testing::randomFloats({13, 5, 7}, rng, -1.0f, 1.0f);
  // Opset 13: axes as an input; negative axes count from the end.
  const std::vector<Tensor> out =
      runOk(makeNode("ReduceSum", 2, 1, {Attribute::makeInt("keepdims", 0)}), 13,
            {x, int64s({2}, {0, -1})});
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].shape(), (Shape{5}));
  for (int64_t j = 0; j < 5; ++j) {
    double sum = 0;
    for (int64_t i = 0; i < 13; ++i) {
      for (int64_t k = 0; k < 7; ++k) sum += x.data<float>()[(i * 5 + j) * 7 + k];
    }
    EXPECT_NEAR(out[0].data<float>()[j], sum, kReduceTolerance);
  }
}

TEST(RefReduce, ReduceAxesForms) {
  const Tensor x = floats({2, 3}, {1, 2, 3, 4, 5, 6});
  // Attribute form (ReduceMean before 18), keepdims default 1.
  const std::vector<Tensor> mean =
      runOk(makeNode("ReduceMean", 1, 1, {Attribute::makeInts("axes", {1})}), 13, {x});
  ASSERT_EQ(mean.size(), 1u);
  EXPECT_EQ(mean[0].shape(), (Shape{2, 1}));
  EXPECT_EQ(values<float>(mean[0]), (std::vector<float>{2, 5}));

  // No axes: everything is reduced.
  const std::vector<Tensor> all = runOk(makeNode("ReduceMax", 1), 13, {x});
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].shape(), (Shape{1, 1}));
  EXPECT_EQ(values<float>(all[0]), (std::vector<float>{6}));

  // Opset 18 input form with noop_with_empty_axes: the op is an identity.
  Node noop = makeNode("ReduceMax", 2, 1, {Attribute::makeInt("noop_with_empty_axes", 1)});
  const std::vector<Tensor> same = runOk(noop, 18, {x, int64s({0}, {})});
  ASSERT_EQ(same.size(), 1u);
  EXPECT_EQ(same[0].shape(), (Shape{2, 3}));
  EXPECT_EQ(values<float>(same[0]), values<float>(x));

  // An axes attribute where the opset wants an input, and a repeated axis, are refused.
  EXPECT_EQ(
      runStatus(makeNode("ReduceSum", 1, 1, {Attribute::makeInts("axes", {0})}), 13, {x}).code(),
      ErrorCode::kInvalidArgument);
  EXPECT_EQ(runStatus(makeNode("ReduceSum", 1, 1, {Attribute::makeInts("axes", {1, -1})}), 11, {x})
                .code(),
            ErrorCode::kInvalidArgument);
}

TEST(RefReduce, EmptyReductionsAndIntegerMean) {
  const Tensor empty = floats({2, 0}, {});
  Node sum = makeNode("ReduceSum", 1, 1, {Attribute::makeInts("axes", {1})});
  Node max = makeNode("ReduceMax", 1, 1, {Attribute::makeInts("axes", {1})});
  const std::vector<Tensor> s = runOk(sum, 11, {empty});
  const std::vector<Tensor> m = runOk(max, 11, {empty});
  ASSERT_EQ(s.size(), 1u);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(values<float>(s[0]), (std::vector<float>{0, 0}));
  EXPECT_EQ(values<float>(m[0]), (std::vector<float>{-kInf, -kInf}));

  // Integer mean truncates toward zero: (-3 + -4) / 2 = -3.5 -> -3.
  const Tensor xi = makeTensor<int32_t>(DType::kInt32, {2, 2}, {-3, -4, 5, 6});
  const std::vector<Tensor> mean =
      runOk(makeNode("ReduceMean", 1, 1, {Attribute::makeInts("axes", {1})}), 13, {xi});
  ASSERT_EQ(mean.size(), 1u);
  EXPECT_EQ(values<int32_t>(mean[0]), (std::vector<int32_t>{-3, 5}));
}

TEST(RefReduce, ReduceMaxPropagatesNaN) {
  const Tensor x = floats({2, 3}, {1, kNaN, 3, 4, 5, 6});
  const std::vector<Tensor> out =
      runOk(makeNode("ReduceMax", 1, 1, {Attribute::makeInts("axes", {1})}), 13, {x});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(std::isnan(out[0].data<float>()[0]));
  EXPECT_EQ(out[0].data<float>()[1], 6.0f);
}

}  // namespace
}  // namespace detslim
