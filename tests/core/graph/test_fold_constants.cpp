#include <cmath>
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
using testing::floatTensor;
using testing::int64Tensor;

// Float32 results of + - * / on small exact-ish inputs are compared to the float32 result of
// the same operation; folding computes in double and rounds once, which for a single + - * /
// is the correctly rounded float32 value, so the comparison can be exact.
constexpr float kExact = 0.0f;

std::vector<int64_t> initializerInts(const Model& m, const std::string& name) {
  const Tensor* t = m.graph.initializer(name);
  return t ? t->toInt64Vector() : std::vector<int64_t>{};
}

// Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), Unsqueeze(Gather(Shape(x), 1)), [-1])) as
// exporters write `x.view(x.shape[0], x.shape[1], -1)`.
Model shapeChainModel(int64_t opset) {
  GraphBuilder b("shape_chain", opset);
  auto x = b.input("x", DType::kFloat32, {2, 3, 4, 5});
  auto shape = b.node("Shape", {x});
  auto i0 = b.constant("i0", int64Tensor({}, {0}));
  auto i1 = b.constant("i1", int64Tensor({}, {1}));
  auto d0 = b.node("Gather", {shape, i0}, {Attribute::makeInt("axis", 0)});
  auto d1 = b.node("Gather", {shape, i1}, {Attribute::makeInt("axis", 0)});
  std::string u0;
  std::string u1;
  if (opset >= 13) {
    // Axes as an input, produced by a Constant node as PyTorch exports it.
    auto axes = b.node("Constant", {}, {Attribute::makeTensor("value", int64Tensor({1}, {0}))});
    u0 = b.node("Unsqueeze", {d0, axes});
    u1 = b.node("Unsqueeze", {d1, axes});
  } else {
    u0 = b.node("Unsqueeze", {d0}, {Attribute::makeInts("axes", {0})});
    u1 = b.node("Unsqueeze", {d1}, {Attribute::makeInts("axes", {0})});
  }
  auto minus_one = b.constant("minus_one", int64Tensor({1}, {-1}));
  auto target = b.node("Concat", {u0, u1, minus_one}, {Attribute::makeInt("axis", 0)});
  auto y = b.node("Reshape", {x, target}, {}, "y");
  b.output(y);
  return b.build();
}

void expectShapeChainFolded(Model& m) {
  auto report = foldConstants(m);
  ASSERT_TRUE(report.isOk()) << report.status().message();
  ASSERT_EQ(m.graph.nodes.size(), 1u);
  const Node& reshape = m.graph.nodes[0];
  EXPECT_EQ(reshape.op_type, "Reshape");
  EXPECT_EQ(reshape.inputs[0], "x");
  const Tensor* shape = m.graph.initializer(reshape.inputs[1]);
  ASSERT_NE(shape, nullptr) << "the Reshape's shape input is not an initializer";
  EXPECT_EQ(shape->dtype(), DType::kInt64);
  EXPECT_EQ(shape->shape(), (Shape{3}));
  EXPECT_EQ(shape->toInt64Vector(), (std::vector<int64_t>{2, 3, -1}));
  // Only the folded shape remains: the indices and -1 were read by folded nodes alone.
  EXPECT_EQ(m.graph.initializers().size(), 1u);
  EXPECT_FALSE(report->notes.empty());
}

TEST(FoldConstants, FoldsShapeGatherUnsqueezeConcatChainAtOpset13) {
  Model m = shapeChainModel(13);
  const size_t before = m.graph.nodes.size();
  expectShapeChainFolded(m);
  EXPECT_EQ(before, 8u);  // Shape, 2 Gather, Constant, 2 Unsqueeze, Concat, Reshape
}

TEST(FoldConstants, FoldsShapeChainAtOpset11WithAxesAttributes) {
  Model m = shapeChainModel(11);
  auto report = foldConstants(m);
  ASSERT_TRUE(report.isOk());
  ASSERT_EQ(m.graph.nodes.size(), 1u);
  EXPECT_EQ(report->nodes_removed, 6);  // Shape, 2 Gather, 2 Unsqueeze, Concat
  EXPECT_EQ(initializerInts(m, m.graph.nodes[0].inputs[1]), (std::vector<int64_t>{2, 3, -1}));
}

TEST(FoldConstants, ReportsCounts) {
  Model m = shapeChainModel(13);
  auto report = foldConstants(m);
  ASSERT_TRUE(report.isOk());
  EXPECT_EQ(report->pass, "fold-constants");
  EXPECT_EQ(report->nodes_removed, 7);       // all but the Reshape
  EXPECT_EQ(report->initializers_added, 7);  // one per folded value
  // i0, i1, minus_one and the six intermediate results are read by folded nodes only.
  EXPECT_EQ(report->initializers_removed, 9);
  EXPECT_EQ(report->nodes_added, 0);
}

TEST(FoldConstants, LeavesValuesWithDynamicDimsAlone) {
  GraphBuilder b("dynamic", 13);
  auto x = b.input("x", DType::kFloat32, std::vector<Dim>{{-1, "batch"}, {3, ""}});
  auto shape = b.node("Shape", {x});
  auto i0 = b.constant("i0", int64Tensor({}, {0}));
  auto d0 = b.node("Gather", {shape, i0});
  auto y = b.node("Cast", {d0}, {Attribute::makeInt("to", static_cast<int>(DType::kFloat32))});
  b.output(y);
  Model m = b.build();
  const Model before = m;
  auto report = foldConstants(m);
  ASSERT_TRUE(report.isOk());
  EXPECT_EQ(report->nodes_removed, 0);
  EXPECT_EQ(diffModels(before, m), "");
}

TEST(FoldConstants, MovesConstantNodesIntoInitializers) {
  GraphBuilder b;
  auto x = b.input("x", DType::kFloat32, {3});
  auto c_float = b.node("Constant", {}, {Attribute::makeFloat("value_float", 2.5f)}, "c_float");
  auto c_ints = b.node("Constant", {}, {Attribute::makeInts("value_ints", {4, 5})}, "c_ints");
  auto c_tensor =
      b.node("Constant", {}, {Attribute::makeTensor("value", floatTensor({3}, {1, 2, 3}))}, "c_t");
  auto y = b.node("Mul", {x, c_float});
  auto z = b.node("Add", {y, c_tensor});
  auto r = b.node("Reshape", {z, c_ints});
  b.output(r);
  Model m = b.build();
  auto report = foldConstants(m);
  ASSERT_TRUE(report.isOk());
  EXPECT_EQ(countOps(m.graph, "Constant"), 0);
  EXPECT_EQ(m.graph.nodes.size(), 3u);  // Mul, Add, Reshape read the graph input
  const Tensor* f = m.graph.initializer(c_float);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->dtype(), DType::kFloat32);
  EXPECT_EQ(f->rank(), 0);
  EXPECT_EQ(f->data<float>()[0], 2.5f);
  const Tensor* ints = m.graph.initializer(c_ints);
  ASSERT_NE(ints, nullptr);
  EXPECT_EQ(ints->dtype(), DType::kInt64);
  EXPECT_EQ(ints->toInt64Vector(), (std::vector<int64_t>{4, 5}));
  ASSERT_NE(m.graph.initializer(c_tensor), nullptr);
  EXPECT_EQ(m.graph.initializer(c_tensor)->toFloatVector(), (std::vector<float>{1, 2, 3}));
  EXPECT_EQ(report->nodes_removed, 3);
  EXPECT_NE(report->notes[0].find("3 Constant"), std::string::npos) << report->notes[0];
}

TEST(FoldConstants, ElementwiseOpsBroadcastNumerically) {
  const std::vector<float> a = {1.5f, -2.0f, 3.25f, 0.1f, 7.0f, -0.3f};  // [2, 3]
  const std::vector<float> c = {0.5f, 4.0f, -1.25f};                     // [3]
  GraphBuilder b;
  auto ta = b.constant("a", floatTensor({2, 3}, a));
  auto tc = b.constant("c", floatTensor({3}, c));
  auto add = b.node("Add", {ta, tc}, {}, "add");
  auto sub = b.node("Sub", {ta, tc}, {}, "sub");
  auto mul = b.node("Mul", {ta, tc}, {}, "mul");
  auto div = b.node("Div", {ta, tc}, {}, "div");
  auto neg = b.node("Neg", {ta}, {}, "neg");
  auto all = b.node("Concat", {add, sub, mul, div, neg}, {Attribute::makeInt("axis", 0)}, "all");
  auto x = b.input("x", DType::kFloat32, {10, 3});
  b.output(b.node("Add", {x, all}));
  Model m = b.build();
  ASSERT_TRUE(foldConstants(m).isOk());
  ASSERT_EQ(m.graph.nodes.size(), 1u);
  const Tensor* folded = m.graph.initializer("all");
  ASSERT_NE(folded, nullptr);
  ASSERT_EQ(folded->shape(), (Shape{10, 3}));
  const float* v = folded->data<float>();
  for (int r = 0; r < 2; ++r) {
    for (int k = 0; k < 3; ++k) {
      const float x_rk = a[static_cast<size_t>(r * 3 + k)];
      const float c_k = c[static_cast<size_t>(k)];
      EXPECT_NEAR(v[(0 + r) * 3 + k], x_rk + c_k, kExact);
      EXPECT_NEAR(v[(2 + r) * 3 + k], x_rk - c_k, kExact);
      EXPECT_NEAR(v[(4 + r) * 3 + k], x_rk * c_k, kExact);
      EXPECT_NEAR(v[(6 + r) * 3 + k], x_rk / c_k, kExact);
      EXPECT_NEAR(v[(8 + r) * 3 + k], -x_rk, kExact);
    }
  }
}

TEST(FoldConstants, BroadcastsBothWaysAndDividesIntegersTowardZero) {
  GraphBuilder b;
  auto col = b.constant("col", int64Tensor({2, 1}, {-7, 7}));
  auto row = b.constant("row", int64Tensor({1, 3}, {2, -2, 3}));
  auto div = b.node("Div", {col, row}, {}, "div");
  auto mul = b.node("Mul", {col, row}, {}, "mul");
  auto x = b.input("x", DType::kInt64, {2, 3});
  b.output(b.node("Add", {x, div}));
  b.output(b.node("Add", {x, mul}));
  Model m = b.build();
  ASSERT_TRUE(foldConstants(m).isOk());
  // C++ / onnxruntime truncate toward zero: -7 / 2 = -3 (numpy's floor division would be -4).
  EXPECT_EQ(initializerInts(m, "div"), (std::vector<int64_t>{-3, 3, -2, 3, -3, 2}));
  EXPECT_EQ(initializerInts(m, "mul"), (std::vector<int64_t>{-14, 14, -21, 14, -14, 21}));
  EXPECT_EQ(m.graph.initializer("div")->shape(), (Shape{2, 3}));
}

TEST(FoldConstants, LeavesIntegerDivisionByZero) {
  GraphBuilder b;
  auto n = b.constant("n", int64Tensor({1}, {5}));
  auto d = b.constant("d", int64Tensor({1}, {0}));
  b.output(b.node("Div", {n, d}));
  Model m = b.build();
  ASSERT_TRUE(foldConstants(m).isOk());
  EXPECT_EQ(countOps(m.graph, "Div"), 1);
}

Model unsqueezeSqueezeModel(int64_t opset) {
  GraphBuilder b("squeeze", opset);
  auto data = b.constant("data", floatTensor({3}, {1, 2, 3}));
  std::string u;
  std::string s;
  if (opset >= 13) {
    auto axes = b.constant("axes", int64Tensor({2}, {0, -1}));
    u = b.node("Unsqueeze", {data, axes}, {}, "u");
    auto sq_axes = b.constant("sq_axes", int64Tensor({1}, {-1}));
    s = b.node("Squeeze", {u, sq_axes}, {}, "s");
  } else {
    u = b.node("Unsqueeze", {data}, {Attribute::makeInts("axes", {0, -1})}, "u");
    s = b.node("Squeeze", {u}, {Attribute::makeInts("axes", {-1})}, "s");
  }
  auto all = b.node("Squeeze", {u}, {}, "all");  // no axes: every 1-dim goes
  auto x = b.input("x", DType::kFloat32, {1, 3});
  b.output(b.node("Add", {x, s}));
  b.output(b.node("Add", {x, all}));
  return b.build();
}

TEST(FoldConstants, UnsqueezeAndSqueezeTakeAxesAsAttributeBeforeOpset13) {
  for (int64_t opset : {11, 13}) {
    SCOPED_TRACE("opset " + std::to_string(opset));
    Model m = unsqueezeSqueezeModel(opset);
    ASSERT_TRUE(foldConstants(m).isOk());
    EXPECT_EQ(countOps(m.graph, "Unsqueeze"), 0);
    EXPECT_EQ(countOps(m.graph, "Squeeze"), 0);
    ASSERT_NE(m.graph.initializer("s"), nullptr);
    EXPECT_EQ(m.graph.initializer("s")->shape(), (Shape{1, 3}));
    EXPECT_EQ(m.graph.initializer("all")->shape(), (Shape{3}));
    EXPECT_EQ(m.graph.initializer("all")->toFloatVector(), (std::vector<float>{1, 2, 3}));
  }
}

TEST(FoldConstants, OpsetDecidesTheAxesForm) {
  // At opset 13 an `axes` attribute is not the axes: the node is left alone.
  GraphBuilder b("wrong_form", 13);
  auto data = b.constant("data", floatTensor({3}, {1, 2, 3}));
  b.output(b.node("Unsqueeze", {data}, {Attribute::makeInts("axes", {0})}));
  Model m = b.build();
  ASSERT_TRUE(foldConstants(m).isOk());
  EXPECT_EQ(countOps(m.graph, "Unsqueeze"), 1);
}

TEST(FoldConstants, GatherTakesNegativeIndicesOnAnyAxis) {
  GraphBuilder b;
  // data[r][c] = 10 * r + c, shape [3, 4]
  auto data = b.constant("data", int64Tensor({3, 4}, {0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23}));
  auto idx = b.constant("idx", int64Tensor({2}, {-1, 0}));
  auto cols = b.node("Gather", {data, idx}, {Attribute::makeInt("axis", -1)}, "cols");
  auto rows = b.node("Gather", {data, idx}, {Attribute::makeInt("axis", 0)}, "rows");
  auto scalar_idx = b.constant("scalar_idx", int64Tensor({}, {-2}));
  auto col = b.node("Gather", {data, scalar_idx}, {Attribute::makeInt("axis", 1)}, "col");
  auto x = b.input("x", DType::kInt64, {3, 2});
  b.output(b.node("Add", {x, cols}));
  b.output(b.node("Add", {x, rows}));
  b.output(b.node("Add", {x, col}));
  Model m = b.build();
  ASSERT_TRUE(foldConstants(m).isOk());
  EXPECT_EQ(m.graph.initializer("cols")->shape(), (Shape{3, 2}));
  EXPECT_EQ(initializerInts(m, "cols"), (std::vector<int64_t>{3, 0, 13, 10, 23, 20}));
  EXPECT_EQ(m.graph.initializer("rows")->shape(), (Shape{2, 4}));
  EXPECT_EQ(initializerInts(m, "rows"), (std::vector<int64_t>{20, 21, 22, 23, 0, 1, 2, 3}));
  EXPECT_EQ(m.graph.initializer("col")->shape(), (Shape{3}));
  EXPECT_EQ(initializerInts(m, "col"), (std::vector<int64_t>{2, 12, 22}));
}

TEST(FoldConstants, LeavesOutOfRangeGatherIndices) {
  GraphBuilder b;
  auto data = b.constant("data", int64Tensor({3}, {1, 2, 3}));
  auto idx = b.constant("idx", int64Tensor({1}, {-4}));
  b.output(b.node("Gather", {data, idx}));
  Model m = b.build();
  ASSERT_TRUE(foldConstants(m).isOk());
  EXPECT_EQ(countOps(m.graph, "Gather"), 1);
}

TEST(FoldConstants, SliceWithInputsNegativeStepsAndClamping) {
  GraphBuilder b("slice", 13);
  auto data = b.constant("data", int64Tensor({2, 5}, {0, 1, 2, 3, 4, 10, 11, 12, 13, 14}));
  auto starts = b.constant("starts", int64Tensor({2}, {-1, 1}));
  auto ends = b.constant("ends", int64Tensor({2}, {-1000, INT64_MAX}));
  auto axes = b.constant("axes", int64Tensor({2}, {1, 0}));
  auto steps = b.constant("steps", int64Tensor({2}, {-2, 1}));
  auto s = b.node("Slice", {data, starts, ends, axes, steps}, {}, "s");
  auto s2_starts = b.constant("s2_starts", int64Tensor({1}, {1}));
  auto s2_ends = b.constant("s2_ends", int64Tensor({1}, {-1}));
  auto s2 = b.node("Slice", {data, s2_starts, s2_ends}, {}, "s2");  // axes default to 0..
  auto x = b.input("x", DType::kInt64, {1, 3});
  b.output(b.node("Add", {x, s}));
  b.output(b.node("Add", {x, s2}));
  Model m = b.build();
  ASSERT_TRUE(foldConstants(m).isOk());
  // Row 1 only; columns 4, 2, 0 (from the last column backwards in steps of 2).
  EXPECT_EQ(m.graph.initializer("s")->shape(), (Shape{1, 3}));
  EXPECT_EQ(initializerInts(m, "s"), (std::vector<int64_t>{14, 12, 10}));
  // starts 1, ends -1 on axis 0 of size 2: rows [1, 1) -> empty.
  EXPECT_EQ(m.graph.initializer("s2")->shape(), (Shape{0, 5}));
}

TEST(FoldConstants, SliceTakesAttributesBeforeOpset10) {
  GraphBuilder b("slice9", 9);
  auto data = b.constant("data", int64Tensor({6}, {0, 1, 2, 3, 4, 5}));
  auto s = b.node("Slice", {data},
                  {Attribute::makeInts("starts", {1}), Attribute::makeInts("ends", {-1}),
                   Attribute::makeInts("axes", {0})},
                  "s");
  b.output(b.node("Identity", {s}));
  Model m = b.build();
  ASSERT_TRUE(foldConstants(m).isOk());
  EXPECT_EQ(initializerInts(m, "s"), (std::vector<int64_t>{1, 2, 3, 4}));
}

TEST(FoldConstants, CastConvertsBetweenNumericTypes) {
  GraphBuilder b;
  auto f = b.constant("f", floatTensor({4}, {-1.75f, 2.5f, 0.0f, 3.99f}));
  auto to_int =
      b.node("Cast", {f}, {Attribute::makeInt("to", static_cast<int>(DType::kInt64))}, "to_int");
  auto to_half =
      b.node("Cast", {f}, {Attribute::makeInt("to", static_cast<int>(DType::kFloat16))}, "to_half");
  auto to_bool =
      b.node("Cast", {f}, {Attribute::makeInt("to", static_cast<int>(DType::kBool))}, "to_bool");
  auto back = b.node("Cast", {to_int},
                     {Attribute::makeInt("to", static_cast<int>(DType::kFloat32))}, "back");
  for (const auto& v : {to_int, to_half, to_bool, back}) b.output(b.node("Identity", {v}));
  Model m = b.build();
  ASSERT_TRUE(foldConstants(m).isOk());
  EXPECT_EQ(initializerInts(m, "to_int"), (std::vector<int64_t>{-1, 2, 0, 3}));  // truncation
  const Tensor* half = m.graph.initializer("to_half");
  ASSERT_NE(half, nullptr);
  EXPECT_EQ(half->dtype(), DType::kFloat16);
  EXPECT_EQ(half->elementAsDouble(1), 2.5);
  EXPECT_EQ(m.graph.initializer("to_bool")->toInt64Vector(), (std::vector<int64_t>{1, 1, 0, 1}));
  EXPECT_EQ(m.graph.initializer("back")->toFloatVector(), (std::vector<float>{-1, 2, 0, 3}));
}

TEST(FoldConstants, RangeWhereEqualExpandConstantOfShape) {
  GraphBuilder b;
  auto start = b.constant("start", int64Tensor({}, {1}));
  auto limit = b.constant("limit", int64Tensor({}, {8}));
  auto delta = b.constant("delta", int64Tensor({}, {3}));
  auto range = b.node("Range", {start, limit, delta}, {}, "range");  // 1, 4, 7
  auto four = b.constant("four", int64Tensor({}, {4}));
  auto eq = b.node("Equal", {range, four}, {}, "eq");
  auto zero = b.constant("zero", int64Tensor({}, {0}));
  auto where = b.node("Where", {eq, zero, range}, {}, "where");  // 1, 0, 7
  auto shape = b.constant("shape", int64Tensor({2}, {2, 1}));
  auto expand = b.node("Expand", {where, shape}, {}, "expand");  // [2, 3]
  auto filled = b.node("ConstantOfShape", {shape},
                       {Attribute::makeTensor("value", int64Tensor({1}, {9}))}, "filled");
  for (const auto& v : {range, eq, expand, filled}) b.output(b.node("Identity", {v}));
  Model m = b.build();
  ASSERT_TRUE(foldConstants(m).isOk());
  EXPECT_EQ(initializerInts(m, "range"), (std::vector<int64_t>{1, 4, 7}));
  EXPECT_EQ(m.graph.initializer("eq")->dtype(), DType::kBool);
  EXPECT_EQ(initializerInts(m, "eq"), (std::vector<int64_t>{0, 1, 0}));
  EXPECT_EQ(m.graph.initializer("expand")->shape(), (Shape{2, 3}));
  EXPECT_EQ(initializerInts(m, "expand"), (std::vector<int64_t>{1, 0, 7, 1, 0, 7}));
  EXPECT_EQ(m.graph.initializer("filled")->shape(), (Shape{2, 1}));
  EXPECT_EQ(initializerInts(m, "filled"), (std::vector<int64_t>{9, 9}));
}

TEST(FoldConstants, ShapeStartEndAndReshapeZeroAndMinusOne) {
  GraphBuilder b("opset15", 15);
  auto x = b.input("x", DType::kFloat32, {2, 3, 4, 5});
  auto tail = b.node("Shape", {x}, {Attribute::makeInt("start", -2)}, "tail");  // [4, 5]
  auto mid =
      b.node("Shape", {x}, {Attribute::makeInt("start", 1), Attribute::makeInt("end", -1)}, "mid");
  auto data = b.constant("data", Tensor(DType::kFloat32, {2, 3, 4}));
  auto spec = b.constant("spec", int64Tensor({3}, {0, -1, 2}));  // keep dim 0, infer the middle
  auto reshaped = b.node("Reshape", {data, spec}, {}, "reshaped");
  for (const auto& v : {tail, mid, reshaped}) b.output(b.node("Identity", {v}));
  Model m = b.build();
  ASSERT_TRUE(foldConstants(m).isOk());
  EXPECT_EQ(initializerInts(m, "tail"), (std::vector<int64_t>{4, 5}));
  EXPECT_EQ(initializerInts(m, "mid"), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(m.graph.initializer("reshaped")->shape(), (Shape{2, 6, 2}));
}

TEST(FoldConstants, LeavesWhatItCannotEvaluateExactly) {
  GraphBuilder b;
  // A float -> int8 cast out of range is undefined in ONNX: not folded.
  auto big = b.constant("big", floatTensor({1}, {300.0f}));
  b.output(b.node("Cast", {big}, {Attribute::makeInt("to", static_cast<int>(DType::kInt8))}));
  // Mixed dtypes are a malformed Add: not folded.
  auto f = b.constant("f", floatTensor({1}, {1.0f}));
  auto i = b.constant("i", int64Tensor({1}, {1}));
  b.output(b.node("Add", {f, i}));
  // An op the folder does not know.
  b.output(b.node("Sqrt", {f}));
  Model m = b.build();
  const Model before = m;
  auto report = foldConstants(m);
  ASSERT_TRUE(report.isOk());
  EXPECT_EQ(report->nodes_removed, 0);
  EXPECT_EQ(diffModels(before, m), "");
}

TEST(FoldConstants, RespectsMaxElements) {
  GraphBuilder b;
  auto shape = b.constant("shape", int64Tensor({2}, {100, 100}));
  auto big = b.node("ConstantOfShape", {shape}, {}, "big");
  b.output(b.node("Identity", {big}));
  Model m = b.build();
  ASSERT_TRUE(foldConstants(m, /*max_elements=*/1000).isOk());
  EXPECT_EQ(countOps(m.graph, "ConstantOfShape"), 1);
  ASSERT_TRUE(foldConstants(m, /*max_elements=*/10000).isOk());
  EXPECT_EQ(countOps(m.graph, "ConstantOfShape"), 0);
  EXPECT_EQ(m.graph.initializer("big")->dtype(), DType::kFloat32);  // the default value
}

TEST(FoldConstants, KeepsAConstantGraphOutputProducible) {
  GraphBuilder b;
  auto x = b.input("x", DType::kFloat32, {2, 3});
  auto shape = b.node("Shape", {x}, {}, "x_shape");
  auto doubled = b.node("Add", {shape, shape}, {}, "doubled");
  b.output(shape);
  b.output(doubled);
  Model m = b.build();
  auto report = foldConstants(m);
  ASSERT_TRUE(report.isOk());
  // Both outputs keep their names and a producer: an Identity of a "<name>_const" initializer.
  ASSERT_EQ(m.graph.nodes.size(), 2u);
  for (const Node& n : m.graph.nodes) {
    EXPECT_EQ(n.op_type, "Identity");
    ASSERT_EQ(n.inputs.size(), 1u);
    EXPECT_EQ(n.inputs[0], n.outputs[0] + "_const");
  }
  EXPECT_EQ(m.graph.outputs[0].name, "x_shape");
  EXPECT_EQ(m.graph.outputs[1].name, "doubled");
  EXPECT_EQ(initializerInts(m, "x_shape_const"), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(initializerInts(m, "doubled_const"), (std::vector<int64_t>{4, 6}));
  // A second run changes nothing.
  const Model once = m;
  ASSERT_TRUE(foldConstants(m).isOk());
  EXPECT_EQ(diffModels(once, m), "");
}

TEST(FoldConstants, DoesNotFoldInitializersThatGraphInputsOverride) {
  GraphBuilder b;
  auto x = b.input("x", DType::kFloat32, {2});
  b.constant("x", floatTensor({2}, {1, 2}));  // IR < 4 style default value
  auto y = b.node("Neg", {x});
  b.output(y);
  Model m = b.build();
  ASSERT_TRUE(foldConstants(m).isOk());
  EXPECT_EQ(countOps(m.graph, "Neg"), 1);
}

TEST(FoldConstants, RefusesACycleAndLeavesTheModelUnchanged) {
  GraphBuilder b;
  b.constant("c", int64Tensor({1}, {1}));
  b.node("Constant", {}, {Attribute::makeInts("value_ints", {1})}, "k");
  Node a{"a", "Add", "", {"c", "bo"}, {"ao"}, {}, {}};
  Node c{"b", "Add", "", {"ao", "k"}, {"bo"}, {}, {}};
  b.graph().nodes.push_back(a);
  b.graph().nodes.push_back(c);
  b.output("bo");
  Model m = b.build();
  const Model before = m;
  auto report = foldConstants(m);
  ASSERT_FALSE(report.isOk());
  EXPECT_NE(report.status().message().find("cycle"), std::string::npos);
  EXPECT_EQ(diffModels(before, m), "");
}

TEST(FoldConstants, FoldedModelDoesNotShareWritesWithTheOriginal) {
  Model m = shapeChainModel(13);
  const Model original = m;
  ASSERT_TRUE(foldConstants(m).isOk());
  EXPECT_EQ(original.graph.nodes.size(), 8u);
  EXPECT_NE(diffModels(original, m), "");
}

}  // namespace
}  // namespace detslim
