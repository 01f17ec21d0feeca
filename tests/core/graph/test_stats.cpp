#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/graph/builder.h"
#include "core/graph/stats.h"
#include "graph_test_util.h"

namespace detslim {
namespace {

using testing::floatTensor;
using testing::setInferredType;

// Sparsity is a ratio of two small integers; its double value is exact up to one rounding.
constexpr double kSparsityTolerance = 1e-12;

const Node& onlyNode(const Model& m, const std::string& op) {
  const Node* n = testing::findNode(m.graph, op);
  EXPECT_NE(n, nullptr) << op;
  return *n;
}

TEST(CountNodeMacs, ConvMatchesTheHandCount) {
  GraphBuilder b;
  auto x = b.input("x", DType::kFloat32, {1, 3, 8, 8});
  auto w = b.constant("w", Tensor(DType::kFloat32, {4, 3, 3, 3}));
  auto bias = b.constant("bias", Tensor(DType::kFloat32, {4}));
  auto y = b.node("Conv", {x, w, bias}, {Attribute::makeInts("pads", {1, 1, 1, 1})});
  setInferredType(b.graph(), y, {1, 4, 8, 8});
  Model m = b.build();
  const MacCount c = countNodeMacs(onlyNode(m, "Conv"), m.graph);
  EXPECT_TRUE(c.known);
  // N * C_out * (C_in / group) * kH * kW * H_out * W_out = 1 * 4 * 3 * 3 * 3 * 8 * 8
  EXPECT_EQ(c.macs, 6912);
  EXPECT_EQ(c.macs_ptflops, 6912 + 4 * 8 * 8);  // plus one add per output for the bias
}

TEST(CountNodeMacs, GroupedAndDepthwiseConvs) {
  GraphBuilder b;
  auto x = b.input("x", DType::kFloat32, {2, 8, 10, 10});
  auto grouped =
      b.node("Conv", {x, b.constant("wg", Tensor(DType::kFloat32, {6, 4, 3, 3}))},
             {Attribute::makeInt("group", 2), Attribute::makeInts("pads", {1, 1, 1, 1})});
  setInferredType(b.graph(), grouped, {2, 6, 10, 10});
  auto depthwise = b.node("Conv", {x, b.constant("wd", Tensor(DType::kFloat32, {8, 1, 3, 3}))},
                          {Attribute::makeInt("group", 8), Attribute::makeInts("strides", {2, 2})});
  setInferredType(b.graph(), depthwise, {2, 8, 4, 4});
  Model m = b.build();
  EXPECT_EQ(countNodeMacs(m.graph.nodes[0], m.graph).macs, 2 * 6 * (8 / 2) * 9 * 100);
  EXPECT_EQ(countNodeMacs(m.graph.nodes[1], m.graph).macs, 2 * 8 * 1 * 9 * 16);
  EXPECT_EQ(countNodeMacs(m.graph.nodes[1], m.graph).macs_ptflops, 2 * 8 * 1 * 9 * 16);
}

TEST(CountNodeMacs, OneAndThreeDimensionalConvs) {
  GraphBuilder b;
  auto x1 = b.input("x1", DType::kFloat32, {1, 4, 50});
  auto y1 = b.node("Conv", {x1, b.constant("w1", Tensor(DType::kFloat32, {8, 4, 5}))});
  setInferredType(b.graph(), y1, {1, 8, 46});
  auto x3 = b.input("x3", DType::kFloat32, {1, 2, 6, 6, 6});
  auto y3 = b.node("Conv", {x3, b.constant("w3", Tensor(DType::kFloat32, {3, 2, 3, 3, 3}))});
  setInferredType(b.graph(), y3, {1, 3, 4, 4, 4});
  Model m = b.build();
  EXPECT_EQ(countNodeMacs(m.graph.nodes[0], m.graph).macs, 8 * 4 * 5 * 46);
  EXPECT_EQ(countNodeMacs(m.graph.nodes[1], m.graph).macs, 3 * 2 * 27 * 64);
}

TEST(CountNodeMacs, QuantizedConvsReadTheirWeightInput) {
  GraphBuilder b;
  auto x = b.input("x", DType::kUInt8, {1, 3, 8, 8});
  auto w = b.constant("w", Tensor(DType::kInt8, {4, 3, 3, 3}));
  auto s = b.constant("s", Tensor(DType::kFloat32, {}));
  auto zp = b.constant("zp", Tensor(DType::kUInt8, {}));
  auto wzp = b.constant("wzp", Tensor(DType::kInt8, {}));
  auto y_int = b.node("ConvInteger", {x, w, zp, wzp}, {Attribute::makeInts("pads", {1, 1, 1, 1})});
  setInferredType(b.graph(), y_int, {1, 4, 8, 8}, DType::kInt32);
  auto bias = b.constant("qbias", Tensor(DType::kInt32, {4}));
  auto y_q = b.node("QLinearConv", {x, s, zp, w, s, wzp, s, zp, bias},
                    {Attribute::makeInts("pads", {1, 1, 1, 1})});
  setInferredType(b.graph(), y_q, {1, 4, 8, 8}, DType::kUInt8);
  Model m = b.build();
  const MacCount integer = countNodeMacs(m.graph.nodes[0], m.graph);
  const MacCount qlinear = countNodeMacs(m.graph.nodes[1], m.graph);
  EXPECT_EQ(integer.macs, 6912);
  EXPECT_EQ(integer.macs_ptflops, 6912);
  EXPECT_EQ(qlinear.macs, 6912);
  EXPECT_EQ(qlinear.macs_ptflops, 6912 + 256);
}

TEST(CountNodeMacs, ConvTransposeCountsPerInputElement) {
  GraphBuilder b;
  auto x = b.input("x", DType::kFloat32, {1, 4, 5, 5});
  auto w = b.constant("w", Tensor(DType::kFloat32, {4, 3, 2, 2}));  // C_in, C_out / group, k
  auto bias = b.constant("bias", Tensor(DType::kFloat32, {3}));
  auto y = b.node("ConvTranspose", {x, w, bias}, {Attribute::makeInts("strides", {2, 2})});
  setInferredType(b.graph(), y, {1, 3, 10, 10});
  Model m = b.build();
  const MacCount c = countNodeMacs(m.graph.nodes[0], m.graph);
  // N * C_in * (C_out / group) * kH * kW * H_in * W_in
  EXPECT_EQ(c.macs, 1 * 4 * 3 * 2 * 2 * 5 * 5);
  EXPECT_EQ(c.macs_ptflops, 1200 + 3 * 10 * 10);
}

TEST(CountNodeMacs, GemmHonoursTransposes) {
  GraphBuilder b;
  auto a = b.input("a", DType::kFloat32, {2, 16});
  auto bt = b.constant("bt", Tensor(DType::kFloat32, {8, 16}));  // [N, K] with transB
  auto c = b.constant("c", Tensor(DType::kFloat32, {8}));
  b.node("Gemm", {a, bt, c}, {Attribute::makeInt("transB", 1)});
  auto at = b.input("at", DType::kFloat32, {16, 2});  // [K, M] with transA
  auto plain = b.constant("plain", Tensor(DType::kFloat32, {16, 8}));
  b.node("Gemm", {at, plain}, {Attribute::makeInt("transA", 1)});
  Model m = b.build();
  const MacCount with_c = countNodeMacs(m.graph.nodes[0], m.graph);
  EXPECT_EQ(with_c.macs, 2 * 8 * 16);
  EXPECT_EQ(with_c.macs_ptflops, 2 * 8 * 16 + 2 * 8);
  const MacCount without_c = countNodeMacs(m.graph.nodes[1], m.graph);
  EXPECT_EQ(without_c.macs, 2 * 8 * 16);
  EXPECT_EQ(without_c.macs_ptflops, 2 * 8 * 16);
}

TEST(CountNodeMacs, MatMulBroadcastsBatchesAndPromotesVectors) {
  GraphBuilder b;
  auto a4 = b.input("a4", DType::kFloat32, {2, 1, 4, 5});
  auto b3 = b.input("b3", DType::kFloat32, {3, 5, 6});
  b.node("MatMul", {a4, b3});  // batch [2, 3], M 4, K 5, N 6
  auto v = b.input("v", DType::kFloat32, {5});
  auto m2 = b.input("m2", DType::kFloat32, {5, 6});
  b.node("MatMul", {v, m2});  // [5] x [5, 6] -> [6]
  auto a3 = b.input("a3", DType::kFloat32, {2, 4, 5});
  b.node("MatMul", {a3, v});  // [2, 4, 5] x [5] -> [2, 4]
  auto ai = b.input("ai", DType::kUInt8, {7, 5});
  auto bi = b.constant("bi", Tensor(DType::kInt8, {5, 3}));
  b.node("MatMulInteger", {ai, bi});
  auto s = b.constant("s", Tensor(DType::kFloat32, {}));
  auto zp = b.constant("zp", Tensor(DType::kInt8, {}));
  b.node("QLinearMatMul", {ai, s, zp, bi, s, zp, s, zp});
  auto bad = b.input("bad", DType::kFloat32, {3, 4, 5});
  auto bad2 = b.input("bad2", DType::kFloat32, {2, 5, 6});
  b.node("MatMul", {bad, bad2});  // batches 3 and 2 do not broadcast
  Model m = b.build();
  EXPECT_EQ(countNodeMacs(m.graph.nodes[0], m.graph).macs, 2 * 3 * 4 * 6 * 5);
  EXPECT_EQ(countNodeMacs(m.graph.nodes[1], m.graph).macs, 6 * 5);
  EXPECT_EQ(countNodeMacs(m.graph.nodes[2], m.graph).macs, 2 * 4 * 5);
  EXPECT_EQ(countNodeMacs(m.graph.nodes[3], m.graph).macs, 7 * 3 * 5);
  EXPECT_EQ(countNodeMacs(m.graph.nodes[4], m.graph).macs, 7 * 3 * 5);
  EXPECT_FALSE(countNodeMacs(m.graph.nodes[5], m.graph).known);
}

TEST(CountNodeMacs, PtflopsExtrasForPoolsResizeActivationsAndBatchNorm) {
  GraphBuilder b;
  auto x = b.input("x", DType::kFloat32, {1, 4, 6, 6});
  auto pool =
      b.node("MaxPool", {x},
             {Attribute::makeInts("kernel_shape", {2, 2}), Attribute::makeInts("strides", {2, 2})});
  setInferredType(b.graph(), pool, {1, 4, 3, 3});
  b.node("AveragePool", {x}, {Attribute::makeInts("kernel_shape", {3, 3})});
  b.node("GlobalAveragePool", {x});
  b.node("GlobalMaxPool", {x});
  auto resize = b.node("Resize", {x, "", b.constant("scales", floatTensor({4}, {1, 1, 2, 2}))});
  setInferredType(b.graph(), resize, {1, 4, 12, 12});
  auto up = b.node("Upsample", {x, "scales"});
  setInferredType(b.graph(), up, {1, 4, 12, 12});
  auto relu = b.node("Relu", {x});
  setInferredType(b.graph(), relu, {1, 4, 6, 6});
  b.node("LeakyRelu", {x});  // output type unknown: the input's shape is used
  b.node("PRelu", {x, b.constant("slope", Tensor(DType::kFloat32, {4, 1, 1}))});
  b.node("Elu", {x});
  b.node("Clip", {x});
  Tensor c4(DType::kFloat32, {4});
  b.node("BatchNormalization", {x, b.constant("g", c4), b.constant("bb", c4), b.constant("mm", c4),
                                b.constant("vv", c4)});
  b.node("Sigmoid", {x});
  Model m = b.build();
  const int64_t in_elems = 4 * 6 * 6;
  const std::vector<int64_t> expected = {in_elems,    in_elems,     in_elems, in_elems, 4 * 12 * 12,
                                         4 * 12 * 12, in_elems,     in_elems, in_elems, in_elems,
                                         in_elems,    2 * in_elems, 0};
  ASSERT_EQ(m.graph.nodes.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    const MacCount c = countNodeMacs(m.graph.nodes[i], m.graph);
    EXPECT_TRUE(c.known) << m.graph.nodes[i].op_type;
    EXPECT_EQ(c.macs, 0) << m.graph.nodes[i].op_type;
    EXPECT_EQ(c.macs_ptflops, expected[i]) << m.graph.nodes[i].op_type;
  }
}

TEST(ComputeStats, ReportsUnknownShapes) {
  GraphBuilder b;
  auto x =
      b.input("x", DType::kFloat32, std::vector<Dim>{{-1, "batch"}, {3, ""}, {8, ""}, {8, ""}});
  auto y =
      b.node("Conv", {x, b.constant("w", Tensor(DType::kFloat32, {4, 3, 3, 3}))}, {}, "conv_out");
  auto r = b.node("Resize", {y});
  b.output(r);
  Model m = b.build();
  const ModelStats s = computeStats(m.graph);
  EXPECT_EQ(s.macs, 0);
  EXPECT_EQ(s.macs_ptflops, 0);
  ASSERT_EQ(s.unknown_mac_layers.size(), 2u);
  EXPECT_EQ(s.unknown_mac_layers[0], m.graph.nodes[0].name);
  ASSERT_EQ(s.layers.size(), 2u);
  EXPECT_FALSE(s.layers[0].macs_known);
  EXPECT_EQ(s.layers[0].input_shapes[0], "float32[batch,3,8,8]");
  EXPECT_EQ(s.layers[0].input_shapes[1], "float32[4,3,3,3]");
  EXPECT_EQ(s.layers[0].output_shapes[0], "?");
}

TEST(ComputeStats, SparsityOfAWeightWithKnownZeros) {
  std::vector<float> values(4 * 3 * 3 * 3, 1.0f);
  for (size_t i = 0; i < values.size(); i += 4) values[i] = (i % 8 == 0) ? 0.0f : -0.0f;
  const int64_t zeros = static_cast<int64_t>((values.size() + 3) / 4);  // 27 of 108
  GraphBuilder b;
  auto x = b.input("x", DType::kFloat32, {1, 3, 8, 8});
  auto y = b.node("Conv", {x, b.constant("w", floatTensor({4, 3, 3, 3}, values))});
  setInferredType(b.graph(), y, {1, 4, 6, 6});
  b.output(y);
  Model m = b.build();
  const ModelStats s = computeStats(m.graph);
  ASSERT_EQ(s.layers.size(), 1u);
  EXPECT_EQ(s.layers[0].weight_elements, 108);
  EXPECT_EQ(s.layers[0].weight_zeros, zeros);
  EXPECT_NEAR(s.layers[0].sparsity, 0.25, kSparsityTolerance);
  EXPECT_EQ(s.layers[0].weight_dtype, "float32");
  EXPECT_EQ(s.weight_elements, 108);
  EXPECT_EQ(s.weight_zeros, zeros);
}

TEST(ComputeStats, FlagsNaNAndInfInitializers) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  GraphBuilder b;
  b.constant("clean", floatTensor({3}, {1, 2, 3}));
  b.constant("has_nan", floatTensor({3}, {1, nan, 3}));
  b.constant("has_inf", floatTensor({2}, {-inf, 0}));
  b.constant("half_inf", Tensor::fromVector<uint16_t>(DType::kFloat16, {2}, {0x3C00, 0x7C00}));
  b.constant("ints", Tensor::fromVector<int32_t>(DType::kInt32, {1}, {-1}));
  Model m = b.build();
  const ModelStats s = computeStats(m.graph);
  EXPECT_EQ(s.nan_inf_initializers, (std::vector<std::string>{"has_nan", "has_inf", "half_inf"}));
}

TEST(ComputeStats, CountsASharedInitializerOnceInTotals) {
  GraphBuilder b;
  auto x = b.input("x", DType::kFloat32, {1, 2, 4, 4});
  auto w = b.constant("w", Tensor(DType::kFloat32, {2, 2, 1, 1}));  // 4 elements
  auto bias = b.constant("bias", Tensor(DType::kFloat32, {2}));
  auto y1 = b.node("Conv", {x, w, bias});
  auto y2 = b.node("Conv", {y1, w});
  b.constant("extra", Tensor(DType::kInt8, {10}));  // read by nothing, still a parameter
  setInferredType(b.graph(), y1, {1, 2, 4, 4});
  setInferredType(b.graph(), y2, {1, 2, 4, 4});
  b.output(y2);
  Model m = b.build();
  const ModelStats s = computeStats(m.graph);
  EXPECT_EQ(s.params, 4 + 2 + 10);
  ASSERT_EQ(s.layers.size(), 2u);
  EXPECT_EQ(s.layers[0].params, 6);
  EXPECT_EQ(s.layers[1].params, 4);
  EXPECT_EQ(s.weight_elements, 4);  // the shared weight once
  EXPECT_EQ(s.params_by_dtype.at("float32"), 6);
  EXPECT_EQ(s.params_by_dtype.at("int8"), 10);
  EXPECT_EQ(s.weight_bytes, 6 * 4 + 10);
  EXPECT_EQ(s.weight_bytes_by_dtype.at("float32"), 24);
  EXPECT_EQ(s.weight_bytes_by_dtype.at("int8"), 10);
  EXPECT_EQ(s.initializers, 3);
  EXPECT_EQ(s.nodes, 2);
  EXPECT_EQ(s.op_counts.at("Conv"), 2);
}

TEST(ComputeStats, LayersFollowTopologicalOrder) {
  GraphBuilder b;
  auto x = b.input("x", DType::kFloat32, {4});
  auto a = b.node("Relu", {x}, {}, "a");
  auto c = b.node("Neg", {a}, {}, "c");
  b.output(c);
  std::swap(b.graph().nodes[0], b.graph().nodes[1]);
  Model m = b.build();
  const ModelStats s = computeStats(m.graph);
  ASSERT_EQ(s.layers.size(), 2u);
  EXPECT_EQ(s.layers[0].op_type, "Relu");
  EXPECT_EQ(s.layers[0].node_index, 1u);
  EXPECT_EQ(s.layers[1].op_type, "Neg");
}

// A miniature YOLOv5 block: Conv(+bias) with SiLU as Sigmoid * Mul, SPPF's three MaxPools
// (k5 s1 p2), a 1x1 Conv, a nearest Resize x2 and a Concat, with shapes set as shape inference
// would. The figures are YOLOv5s' own layer sizes at the SPPF / neck scale.
TEST(ComputeStats, MiniYoloBothMacFigures) {
  GraphBuilder b("mini_yolo");
  auto x = b.input("images", DType::kFloat32, {1, 512, 20, 20});
  // cv1 of SPPF: 1x1 Conv 512 -> 256 with bias, then SiLU.
  auto cv1 = b.node("Conv", {x, b.constant("cv1.w", Tensor(DType::kFloat32, {256, 512, 1, 1})),
                             b.constant("cv1.b", Tensor(DType::kFloat32, {256}))});
  setInferredType(b.graph(), cv1, {1, 256, 20, 20});
  auto sig = b.node("Sigmoid", {cv1});
  setInferredType(b.graph(), sig, {1, 256, 20, 20});
  auto silu = b.node("Mul", {cv1, sig});
  setInferredType(b.graph(), silu, {1, 256, 20, 20});
  const std::vector<Attribute> pool_attrs = {Attribute::makeInts("kernel_shape", {5, 5}),
                                             Attribute::makeInts("strides", {1, 1}),
                                             Attribute::makeInts("pads", {2, 2, 2, 2})};
  std::string prev = silu;
  for (int i = 0; i < 3; ++i) {
    prev = b.node("MaxPool", {prev}, pool_attrs);
    setInferredType(b.graph(), prev, {1, 256, 20, 20});
  }
  // Nearest Resize x2: 256 x 20 x 20 -> 256 x 40 x 40.
  auto scales = b.constant("scales", floatTensor({4}, {1, 1, 2, 2}));
  auto up1 = b.node("Resize", {prev, "", scales}, {Attribute::makeString("mode", "nearest")});
  setInferredType(b.graph(), up1, {1, 256, 40, 40});
  // 3x3 Conv 256 -> 128 with bias, stride 1, then Resize x2 to 128 x 80 x 80.
  auto cv2 = b.node("Conv",
                    {up1, b.constant("cv2.w", Tensor(DType::kFloat32, {128, 256, 3, 3})),
                     b.constant("cv2.b", Tensor(DType::kFloat32, {128}))},
                    {Attribute::makeInts("pads", {1, 1, 1, 1})});
  setInferredType(b.graph(), cv2, {1, 128, 40, 40});
  auto up2 = b.node("Resize", {cv2, "", scales}, {Attribute::makeString("mode", "nearest")});
  setInferredType(b.graph(), up2, {1, 128, 80, 80});
  b.output(up2);
  Model m = b.build();

  const ModelStats s = computeStats(m.graph);
  const int64_t cv1_macs = 256LL * 512 * 20 * 20;      // 52,428,800
  const int64_t cv2_macs = 128LL * 256 * 9 * 40 * 40;  // 471,859,200
  const int64_t bias_adds = 256LL * 20 * 20 + 128LL * 40 * 40;
  const int64_t maxpool_inputs = 3 * 256LL * 20 * 20;                // 307,200 as in YOLOv5s' SPPF
  const int64_t resize_outputs = 256LL * 40 * 40 + 128LL * 80 * 80;  // 1,228,800 as in YOLOv5s
  EXPECT_EQ(maxpool_inputs, 307200);
  EXPECT_EQ(resize_outputs, 1228800);
  EXPECT_EQ(s.macs, cv1_macs + cv2_macs);
  EXPECT_EQ(s.macs, 524288000);
  EXPECT_EQ(s.macs_ptflops, cv1_macs + cv2_macs + bias_adds + maxpool_inputs + resize_outputs);
  EXPECT_EQ(s.macs_ptflops, 526131200);
  EXPECT_TRUE(s.unknown_mac_layers.empty());
  EXPECT_EQ(s.params, 256 * 512 + 256 + 128 * 256 * 9 + 128 + 4);
  EXPECT_EQ(s.op_counts.at("MaxPool"), 3);
  EXPECT_EQ(s.op_counts.at("Resize"), 2);
}

}  // namespace
}  // namespace detslim
