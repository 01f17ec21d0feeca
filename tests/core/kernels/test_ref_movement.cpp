// Reference shape and data-movement ops beyond ONNX's conformance data: Slice with negative
// steps and clamping, Split's three ways of sizing, Pad modes and cropping, views (isView),
// dtypes moved as bytes, and the refusal of shape inputs unknown at plan compilation.

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "core/kernels/ref_test_util.h"

namespace detslim {
namespace {

using testing::floats;
using testing::int64s;
using testing::makeNode;
using testing::makeTensor;
using testing::runOk;
using testing::runStatus;
using testing::values;

constexpr int64_t kOpset = 17;
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

// 0, 1, 2, ... as float32 in `shape`.
Tensor iota(Shape shape) {
  std::vector<float> v(static_cast<size_t>(shapeNumel(shape)));
  std::iota(v.begin(), v.end(), 0.0f);
  return floats(std::move(shape), v);
}

// Creates the node's kernel from a context in which input i is known only by type and shape
// (not a constant), as in a compiled plan whose input arrives at run time.
Result<KernelChoice> createWithRuntimeInput(const Node& node, const std::vector<Tensor>& inputs,
                                            size_t runtime_input, int64_t opset = kOpset) {
  NodeContext ctx;
  ctx.node = &node;
  ctx.opset = opset;
  for (size_t i = 0; i < inputs.size(); ++i) {
    ctx.inputs.push_back(ValueDesc{inputs[i].dtype(), inputs[i].shape(), Layout::kPlain});
    ctx.constants.push_back(i == runtime_input ? nullptr : &inputs[i]);
  }
  return createKernel(ctx, /*reference_only=*/true);
}

// ---- Slice ---------------------------------------------------------------------------------

std::vector<float> slice1d(const Tensor& data, int64_t start, int64_t end, int64_t step) {
  const std::vector<Tensor> out = runOk(
      makeNode("Slice", 5), kOpset,
      {data, int64s({1}, {start}), int64s({1}, {end}), int64s({1}, {0}), int64s({1}, {step})});
  EXPECT_EQ(out.size(), 1u);
  return out.empty() ? std::vector<float>{} : values<float>(out[0]);
}

TEST(RefSlice, NegativeStepsAndClamping) {
  const Tensor d = iota({7});
  // The full reversal idiom: start -1, end INT64_MIN, step -1.
  EXPECT_EQ(slice1d(d, -1, kMin, -1), (std::vector<float>{6, 5, 4, 3, 2, 1, 0}));
  // Start past the end clamps to the last element for negative steps.
  EXPECT_EQ(slice1d(d, 100, 1, -2), (std::vector<float>{6, 4, 2}));
  // End -8 (before the start after adding 7) clamps to -1: element 0 is included.
  EXPECT_EQ(slice1d(d, 5, -8, -3), (std::vector<float>{5, 2}));
  // Empty when start <= end with a negative step; INT64_MAX end for positive steps.
  EXPECT_EQ(slice1d(d, 2, 4, -1), (std::vector<float>{}));
  EXPECT_EQ(slice1d(d, -3, kMax, 2), (std::vector<float>{4, 6}));
}

TEST(RefSlice, NegativeStepOnAnInnerAxisOfOddShape) {
  // [3, 5, 7]: axis -1 reversed with step -3 from 6 -> columns 6, 3, 0; axis 0 rows 1..2.
  const Tensor d = iota({3, 5, 7});
  const std::vector<Tensor> out = runOk(
      makeNode("Slice", 5), kOpset,
      {d, int64s({2}, {6, 1}), int64s({2}, {kMin, 3}), int64s({2}, {-1, 0}), int64s({2}, {-3, 1})});
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].shape(), (Shape{2, 5, 3}));
  for (int64_t i = 0; i < 2; ++i) {
    for (int64_t j = 0; j < 5; ++j) {
      for (int64_t k = 0; k < 3; ++k) {
        EXPECT_EQ(out[0].data<float>()[(i * 5 + j) * 3 + k],
                  static_cast<float>(((i + 1) * 5 + j) * 7 + (6 - 3 * k)));
      }
    }
  }
}

TEST(RefSlice, OpsetOneAttributes) {
  const std::vector<Tensor> out =
      runOk(makeNode("Slice", 1, 1,
                     {Attribute::makeInts("starts", {1, -2}), Attribute::makeInts("ends", {3, 100}),
                      Attribute::makeInts("axes", {0, 1})}),
            1, {iota({4, 5})});
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].shape(), (Shape{2, 2}));
  EXPECT_EQ(values<float>(out[0]), (std::vector<float>{8, 9, 13, 14}));
}

TEST(RefSlice, RefusesStartsUnknownAtCompileTime) {
  const Node node = makeNode("Slice", 3);
  const Result<KernelChoice> r =
      createWithRuntimeInput(node, {iota({4}), int64s({1}, {1}), int64s({1}, {3})}, 1);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), ErrorCode::kUnsupported);
  EXPECT_NE(r.status().message().find("starts (input 1) must be known when the plan is compiled"),
            std::string::npos)
      << r.status().message();
}

// ---- Split ---------------------------------------------------------------------------------

TEST(RefSplit, AttributeInputNumOutputsAndEqualParts) {
  const Tensor d = iota({2, 7});
  // Opset 11: `split` attribute.
  std::vector<Tensor> out =
      runOk(makeNode("Split", 1, 2,
                     {Attribute::makeInt("axis", 1), Attribute::makeInts("split", {3, 4})}),
            11, {d});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(values<float>(out[0]), (std::vector<float>{0, 1, 2, 7, 8, 9}));
  EXPECT_EQ(values<float>(out[1]), (std::vector<float>{3, 4, 5, 6, 10, 11, 12, 13}));
  // Opset 13: `split` input, a zero-size part included.
  out = runOk(makeNode("Split", 2, 3, {Attribute::makeInt("axis", -1)}), 13,
              {d, int64s({3}, {5, 0, 2})});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[1].shape(), (Shape{2, 0}));
  EXPECT_EQ(values<float>(out[2]), (std::vector<float>{5, 6, 12, 13}));
  // Opset 18: num_outputs 3 over 7 -> 3, 3, 1.
  out = runOk(makeNode("Split", 1, 3,
                       {Attribute::makeInt("axis", 1), Attribute::makeInt("num_outputs", 3)}),
              18, {d});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].shape(), (Shape{2, 3}));
  EXPECT_EQ(out[2].shape(), (Shape{2, 1}));
  EXPECT_EQ(values<float>(out[2]), (std::vector<float>{6, 13}));
  // No sizes: equal parts, which 7 cannot make for 2 outputs.
  EXPECT_EQ(runStatus(makeNode("Split", 1, 2, {Attribute::makeInt("axis", 1)}), 13, {d}).code(),
            ErrorCode::kInvalidArgument);
  out = runOk(makeNode("Split", 1, 2), 13, {d});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(values<float>(out[1]), (std::vector<float>{7, 8, 9, 10, 11, 12, 13}));
}

// ---- Views ---------------------------------------------------------------------------------

TEST(RefViews, ReshapeFlattenSqueezeUnsqueezeIdentityAreViews) {
  const Tensor d = iota({2, 1, 3});
  struct Case {
    Node node;
    int64_t opset;
    std::vector<Tensor> inputs;
    Shape want;
  };
  const std::vector<Case> cases = {
      {makeNode("Reshape", 2), 13, {d, int64s({2}, {0, -1})}, {2, 3}},
      {makeNode("Reshape", 2, 1, {Attribute::makeInt("allowzero", 1)}),
       14,
       {d, int64s({3}, {3, 1, 2})},
       {3, 1, 2}},
      {makeNode("Flatten", 1, 1, {Attribute::makeInt("axis", -1)}), 13, {d}, {2, 3}},
      {makeNode("Squeeze", 1), 13, {d}, {2, 3}},
      {makeNode("Squeeze", 1, 1, {Attribute::makeInts("axes", {1})}), 11, {d}, {2, 3}},
      {makeNode("Unsqueeze", 2), 13, {d, int64s({2}, {-1, 0})}, {1, 2, 1, 3, 1}},
      {makeNode("Unsqueeze", 1, 1, {Attribute::makeInts("axes", {3})}), 11, {d}, {2, 1, 3, 1}},
      {makeNode("Identity", 1), 13, {d}, {2, 1, 3}},
  };
  for (const Case& c : cases) {
    const std::vector<Tensor> out = runOk(c.node, c.opset, c.inputs);
    ASSERT_EQ(out.size(), 1u) << c.node.op_type;
    EXPECT_EQ(out[0].shape(), c.want) << c.node.op_type;
    EXPECT_EQ(values<float>(out[0]), values<float>(d)) << c.node.op_type;
    const Result<KernelChoice> k = createWithRuntimeInput(c.node, c.inputs, 0, c.opset);
    ASSERT_TRUE(k.isOk()) << k.status().message();
    EXPECT_TRUE(k->kernel->isView()) << c.node.op_type;
  }
}

TEST(RefViews, RefusesBadReshapesAndSqueezes) {
  const Tensor d = iota({2, 1, 3});
  EXPECT_EQ(runStatus(makeNode("Reshape", 2), 13, {d, int64s({2}, {4, -1})}).code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(runStatus(makeNode("Reshape", 2), 13, {d, int64s({2}, {-1, -1})}).code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(runStatus(makeNode("Squeeze", 2), 13, {d, int64s({1}, {2})}).code(),
            ErrorCode::kInvalidArgument);
  const Node reshape = makeNode("Reshape", 2);
  const Result<KernelChoice> r = createWithRuntimeInput(reshape, {d, int64s({1}, {6})}, 1);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), ErrorCode::kUnsupported);
  EXPECT_NE(r.status().message().find("the target shape (input 1)"), std::string::npos)
      << r.status().message();
}

// ---- Pad -----------------------------------------------------------------------------------

std::vector<float> pad1d(const std::string& mode, int64_t before, int64_t after) {
  const Tensor d = floats({4}, {1, 2, 3, 4});
  const std::vector<Tensor> out =
      runOk(makeNode("Pad", 3, 1, {Attribute::makeString("mode", mode)}), kOpset,
            {d, int64s({2}, {before, after}), floats({}, {9.0f})});
  EXPECT_EQ(out.size(), 1u);
  return out.empty() ? std::vector<float>{} : values<float>(out[0]);
}

TEST(RefPad, ModesOnOneAxis) {
  EXPECT_EQ(pad1d("constant", 2, 1), (std::vector<float>{9, 9, 1, 2, 3, 4, 9}));
  EXPECT_EQ(pad1d("edge", 2, 1), (std::vector<float>{1, 1, 1, 2, 3, 4, 4}));
  EXPECT_EQ(pad1d("reflect", 2, 1), (std::vector<float>{3, 2, 1, 2, 3, 4, 3}));
  // Reflection wider than the axis folds again (numpy's 'reflect'): period 6.
  EXPECT_EQ(pad1d("reflect", 5, 0), (std::vector<float>{2, 3, 4, 3, 2, 1, 2, 3, 4}));
  // Negative pads crop.
  EXPECT_EQ(pad1d("constant", -1, 2), (std::vector<float>{2, 3, 4, 9, 9}));
}

TEST(RefPad, TwoAxesOddShapeAndOpsetTwoAttributes) {
  // [2, 3] padded by rows (1, 0) and columns (0, 2) in edge mode.
  const Tensor d = iota({2, 3});
  std::vector<Tensor> out = runOk(makeNode("Pad", 2, 1, {Attribute::makeString("mode", "edge")}),
                                  kOpset, {d, int64s({4}, {1, 0, 0, 2})});
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].shape(), (Shape{3, 5}));
  EXPECT_EQ(values<float>(out[0]),
            (std::vector<float>{0, 1, 2, 2, 2, 0, 1, 2, 2, 2, 3, 4, 5, 5, 5}));
  // Pad-2: pads and value are attributes; an int64 tensor gets the value converted.
  const Tensor di = makeTensor<int64_t>(DType::kInt64, {2}, {7, 8});
  out = runOk(makeNode("Pad", 1, 1,
                       {Attribute::makeInts("pads", {1, 1}), Attribute::makeFloat("value", -3.0f)}),
              2, {di});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(values<int64_t>(out[0]), (std::vector<int64_t>{-3, 7, 8, -3}));
}

// ---- Other movement ops --------------------------------------------------------------------

TEST(RefMovement, GatherNegativeIndicesOnAnInnerAxis) {
  const Tensor d = iota({2, 3, 4});
  const Tensor idx = int64s({2, 2}, {-1, 0, 2, -3});  // -1 -> 3, -3 -> 1
  const std::vector<Tensor> out =
      runOk(makeNode("Gather", 2, 1, {Attribute::makeInt("axis", 2)}), kOpset, {d, idx});
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].shape(), (Shape{2, 3, 2, 2}));
  for (int64_t i = 0; i < 6; ++i) {  // each (n, c) row of 4
    const std::vector<float> row(out[0].data<float>() + i * 4, out[0].data<float>() + i * 4 + 4);
    const float base = static_cast<float>(i * 4);
    EXPECT_EQ(row, (std::vector<float>{base + 3, base, base + 2, base + 1}));
  }
  EXPECT_EQ(runStatus(makeNode("Gather", 2), kOpset, {d, int64s({1}, {2})}).code(),
            ErrorCode::kInvalidArgument);
}

TEST(RefMovement, TransposeExpandTileConcatMoveAnyDtype) {
  // uint16 (float16-sized) and int8 data: the kernels move bytes without interpreting them.
  const Tensor h = makeTensor<uint16_t>(DType::kFloat16, {2, 3}, {1, 2, 3, 4, 5, 6});
  std::vector<Tensor> out = runOk(makeNode("Transpose", 1), kOpset, {h});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].dtype(), DType::kFloat16);
  EXPECT_EQ(values<uint16_t>(out[0]), (std::vector<uint16_t>{1, 4, 2, 5, 3, 6}));
  const Tensor b = makeTensor<int8_t>(DType::kInt8, {3, 1}, {-1, 0, 1});
  out = runOk(makeNode("Expand", 2), kOpset, {b, int64s({3}, {2, 1, 2})});
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].shape(), (Shape{2, 3, 2}));
  EXPECT_EQ(values<int8_t>(out[0]), (std::vector<int8_t>{-1, -1, 0, 0, 1, 1, -1, -1, 0, 0, 1, 1}));
  out = runOk(makeNode("Tile", 2), kOpset, {h, int64s({2}, {2, 2})});
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].shape(), (Shape{4, 6}));
  EXPECT_EQ(values<uint16_t>(out[0]), (std::vector<uint16_t>{1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6,
                                                             1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6}));
  const Tensor empty(DType::kFloat16, {2, 0});
  out = runOk(makeNode("Concat", 3, 1, {Attribute::makeInt("axis", 1)}), kOpset, {h, empty, h});
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].shape(), (Shape{2, 6}));
  EXPECT_EQ(values<uint16_t>(out[0]), (std::vector<uint16_t>{1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6}));
}

TEST(RefShapeOps, ShapeWindowRangeAndConstantOfShape) {
  const Tensor d(DType::kFloat32, {2, 3, 5, 7});
  std::vector<Tensor> out = runOk(
      makeNode("Shape", 1, 1, {Attribute::makeInt("start", 1), Attribute::makeInt("end", -1)}), 15,
      {d});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(values<int64_t>(out[0]), (std::vector<int64_t>{3, 5}));
  out = runOk(
      makeNode("Range", 3), kOpset,
      {makeTensor<int32_t>(DType::kInt32, {}, {10}), makeTensor<int32_t>(DType::kInt32, {}, {1}),
       makeTensor<int32_t>(DType::kInt32, {}, {-4})});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(values<int32_t>(out[0]), (std::vector<int32_t>{10, 6, 2}));
  out = runOk(
      makeNode("ConstantOfShape", 1, 1,
               {Attribute::makeTensor("value", makeTensor<int32_t>(DType::kInt32, {1}, {7}))}),
      kOpset, {int64s({2}, {2, 3})});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].dtype(), DType::kInt32);
  EXPECT_EQ(values<int32_t>(out[0]), std::vector<int32_t>(6, 7));
  const Node range = makeNode("Range", 3);
  const Result<KernelChoice> r =
      createWithRuntimeInput(range, {floats({}, {0}), floats({}, {5}), floats({}, {1})}, 1);
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("limit (input 1)"), std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace detslim
