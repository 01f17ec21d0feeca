// Every kernel of core/kernels/opt/fast_ops.cpp against the reference kernel of the same op, on
// seeded random data with odd sizes, in plain and (where the kernel takes it) NHWC layout.

#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "core/kernels/registry.h"

namespace detslim {
namespace {

// The vector exp is a degree-6 polynomial after range reduction: a few ulp of float32.
constexpr float kSigmoidTolerance = 2e-6f;
// Add/Sub/Mul/Div/Pow(2)/movement compute exactly what the reference computes.
constexpr float kExact = 0.0f;

Tensor randomTensor(const Shape& shape, uint32_t seed, float lo = -4.0f, float hi = 4.0f) {
  Tensor t(DType::kFloat32, shape);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.mutableData<float>()[i] = dist(rng);
  return t;
}

// Converts between plain NCHW and NHWC storage of the same logical [N, C, H, W] tensor.
Tensor convertLayout(const Tensor& t, bool to_nhwc) {
  const Shape& s = t.shape();
  Tensor out(DType::kFloat32, s);
  const int64_t n = s[0], c = s[1], h = s[2], w = s[3];
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t y = 0; y < h; ++y)
        for (int64_t x = 0; x < w; ++x) {
          const int64_t nchw = ((b * c + ch) * h + y) * w + x;
          const int64_t nhwc = ((b * h + y) * w + x) * c + ch;
          out.mutableData<float>()[to_nhwc ? nhwc : nchw] = t.data<float>()[to_nhwc ? nchw : nhwc];
        }
  return out;
}

struct FastRun {
  std::string impl;
  std::vector<Tensor> outputs;  // plain layout
};

// Creates the optimised kernel with the given input layouts, feeds it data in the layouts it asks
// for, and returns its outputs converted back to plain.
FastRun runFast(const Node& node, int64_t opset, const std::vector<Tensor>& inputs, const std::vector<Layout>& layouts) {
  NodeContext ctx;
  ctx.node = &node;
  ctx.opset = opset;
  ctx.num_threads = 2;
  ctx.cpu = CpuFeatures::host();
  for (size_t i = 0; i < inputs.size(); ++i) {
    ctx.inputs.push_back(ValueDesc{inputs[i].dtype(), inputs[i].shape(), i < layouts.size() ? layouts[i] : Layout::kPlain});
    ctx.constants.push_back(i < layouts.size() ? nullptr : &inputs[i]);
  }
  Result<KernelChoice> choice = createKernel(ctx);
  EXPECT_TRUE(choice.isOk()) << choice.status().message();
  FastRun r;
  if (!choice.isOk()) return r;
  r.impl = choice->impl_name;
  std::vector<Tensor> fed;
  std::vector<const void*> in_ptrs;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const bool nhwc = choice->kernel->inputLayout(i) == Layout::kNhwc && inputs[i].rank() == 4;
    fed.push_back(nhwc ? convertLayout(inputs[i], true) : inputs[i]);
  }
  for (const Tensor& t : fed) in_ptrs.push_back(t.raw());
  std::vector<Tensor> outs;
  std::vector<void*> out_ptrs;
  for (const ValueDesc& d : ctx.outputs) outs.emplace_back(d.dtype, d.shape);
  for (Tensor& t : outs) out_ptrs.push_back(t.rawMutable());
  std::vector<std::byte> scratch(choice->kernel->scratchBytes() + 64);
  choice->kernel->run(KernelArgs{in_ptrs, out_ptrs, scratch.data()});
  for (size_t i = 0; i < outs.size(); ++i) {
    const bool nhwc = choice->kernel->outputLayout(i) == Layout::kNhwc && outs[i].rank() == 4;
    r.outputs.push_back(nhwc ? convertLayout(outs[i], false) : outs[i]);
  }
  return r;
}

void expectMatchesReference(const Node& node, int64_t opset, const std::vector<Tensor>& inputs,
                            const std::vector<Layout>& layouts, const std::string& expected_impl,
                            float tolerance) {
  Result<std::vector<Tensor>> ref = runNode(node, opset, inputs, /*reference_only=*/true);
  ASSERT_TRUE(ref.isOk()) << ref.status().message();
  FastRun fast = runFast(node, opset, inputs, layouts);
  EXPECT_EQ(fast.impl, expected_impl) << node.op_type;
  ASSERT_EQ(fast.outputs.size(), ref->size());
  for (size_t o = 0; o < ref->size(); ++o) {
    ASSERT_EQ(fast.outputs[o].shape(), (*ref)[o].shape());
    for (int64_t i = 0; i < (*ref)[o].numel(); ++i) {
      const float want = (*ref)[o].data<float>()[i];
      const float got = fast.outputs[o].data<float>()[i];
      ASSERT_LE(std::fabs(got - want), tolerance * std::max(1.0f, std::fabs(want)))
          << node.op_type << " output " << o << " element " << i;
    }
  }
}

Node makeNode(const std::string& op, size_t inputs, size_t outputs, std::vector<Attribute> attrs = {}) {
  Node n;
  n.op_type = op;
  n.name = op + "_under_test";
  for (size_t i = 0; i < inputs; ++i) n.inputs.push_back("in" + std::to_string(i));
  for (size_t i = 0; i < outputs; ++i) n.outputs.push_back("out" + std::to_string(i));
  n.attributes = std::move(attrs);
  return n;
}

TEST(FastOps, SigmoidPlainAndNhwcWithTails) {
  const Node n = makeNode("Sigmoid", 1, 1);
  // 13*7*9 = 819 elements: not a multiple of 16 or 8, so the masked tail runs. Wide range covers
  // the clamp of exp's argument.
  expectMatchesReference(n, 13, {randomTensor({1, 13, 7, 9}, 7767517, -100.0f, 100.0f)}, {Layout::kPlain},
                         "f32_sigmoid_simd", kSigmoidTolerance);
  expectMatchesReference(n, 13, {randomTensor({2, 13, 7, 9}, 1)}, {Layout::kNhwc}, "f32_sigmoid_simd", kSigmoidTolerance);
  // Large enough to run on two threads.
  expectMatchesReference(n, 13, {randomTensor({1, 3, 97, 131}, 2)}, {Layout::kPlain}, "f32_sigmoid_simd", kSigmoidTolerance);
}

TEST(FastOps, BinaryBroadcastCases) {
  struct Case {
    const char* op;
    Shape a, b;
  };
  const Case cases[] = {
      {"Add", {1, 13, 7, 9}, {1, 13, 7, 9}},     // same shape
      {"Mul", {13, 1, 7}, {1, 5, 1}},            // both sides broadcast
      {"Sub", {1, 3, 11, 11, 2}, {1, 3, 11, 11, 2}},
      {"Mul", {1, 3, 11, 11, 2}, {1, 3, 1, 1, 2}},  // anchor grid style
      {"Add", {1, 3, 11, 11, 2}, {1}},           // scalar
      {"Div", {5, 7}, {7}},
      {"Mul", {1}, {4, 3, 2}},
  };
  uint32_t seed = 10;
  for (const Case& c : cases) {
    const Node n = makeNode(c.op, 2, 1);
    Tensor b = randomTensor(c.b, seed++, 0.5f, 2.0f);  // away from zero for Div
    expectMatchesReference(n, 14, {randomTensor(c.a, seed++), b}, {Layout::kPlain, Layout::kPlain},
                           std::string("f32_") + (c.op == std::string("Add") ? "add" : c.op == std::string("Sub") ? "sub"
                                                                                 : c.op == std::string("Mul") ? "mul" : "div") + "_bcast_simd",
                           kExact);
  }
}

TEST(FastOps, BinarySameShapeNhwcStaysNhwc) {
  const Node n = makeNode("Add", 2, 1);
  const Tensor a = randomTensor({2, 13, 7, 9}, 3), b = randomTensor({2, 13, 7, 9}, 4);
  expectMatchesReference(n, 14, {a, b}, {Layout::kNhwc, Layout::kNhwc}, "f32_add_bcast_simd", kExact);
  FastRun r = runFast(n, 14, {a, b}, {Layout::kNhwc, Layout::kNhwc});
  EXPECT_FALSE(r.outputs.empty());
}

TEST(FastOps, PowByConstants) {
  for (float e : {2.0f, 3.0f, 0.5f, 1.7f}) {
    const Node n = makeNode("Pow", 2, 1);
    Tensor exponent = Tensor::fromVector<float>(DType::kFloat32, {}, {e});
    Tensor base = randomTensor({1, 3, 7, 9, 2}, 5, 0.0f, 3.0f);
    Result<std::vector<Tensor>> ref = runNode(n, 15, {base, exponent}, true);
    ASSERT_TRUE(ref.isOk());
    FastRun fast = runFast(n, 15, {base, exponent}, {Layout::kPlain});  // exponent passed as constant
    EXPECT_EQ(fast.impl, "f32_pow_const_simd");
    for (int64_t i = 0; i < base.numel(); ++i) {
      const float want = (*ref)[0].data<float>()[i];
      // sqrt and powf are correctly rounded or within 1 ulp; x*x is exact like powf(x, 2).
      EXPECT_NEAR(fast.outputs[0].data<float>()[i], want, 1e-6f * std::max(1.0f, std::fabs(want))) << e;
    }
  }
}

TEST(FastOps, ConcatAndSplitEveryAxisAndNhwcChannels) {
  for (int64_t axis : {0, 1, 2, 3, -1}) {
    Shape a{2, 5, 7, 3}, b{2, 5, 7, 3};
    const size_t ax = static_cast<size_t>(axis < 0 ? axis + 4 : axis);
    b[ax] = 4;
    const Node n = makeNode("Concat", 2, 1, {Attribute::makeInt("axis", axis)});
    expectMatchesReference(n, 13, {randomTensor(a, 6), randomTensor(b, 7)}, {Layout::kPlain, Layout::kPlain},
                           "f32_concat_runs", kExact);
  }
  // Channel concat of NHWC activations (the YOLO C3 / SPPF / neck case), three inputs.
  const Node cat = makeNode("Concat", 3, 1, {Attribute::makeInt("axis", 1)});
  expectMatchesReference(cat, 13, {randomTensor({1, 13, 7, 9}, 8), randomTensor({1, 16, 7, 9}, 9), randomTensor({1, 3, 7, 9}, 10)},
                         {Layout::kNhwc, Layout::kNhwc, Layout::kNhwc}, "f32_concat_runs", kExact);
  // Runs of 4, 16, 32, 128 and 20 bytes (the fixed-size copies and the general one) over 2 x 713
  // slices (71,300 elements: two threads, blocks of 64 slices with a partial last one).
  const Node cat5 = makeNode("Concat", 5, 1, {Attribute::makeInt("axis", 1)});
  expectMatchesReference(cat5, 13,
                         {randomTensor({2, 1, 23, 31}, 30), randomTensor({2, 4, 23, 31}, 31), randomTensor({2, 8, 23, 31}, 32),
                          randomTensor({2, 32, 23, 31}, 33), randomTensor({2, 5, 23, 31}, 34)},
                         {Layout::kNhwc, Layout::kNhwc, Layout::kNhwc, Layout::kNhwc, Layout::kNhwc}, "f32_concat_runs",
                         kExact);
  // Split sizes as the opset-13 input (a compile-time constant), last axis as in the Detect head.
  Node split = makeNode("Split", 2, 3, {Attribute::makeInt("axis", 4)});
  const Tensor sizes = Tensor::fromVector<int64_t>(DType::kInt64, {3}, {2, 2, 81});
  expectMatchesReference(split, 13, {randomTensor({1, 3, 5, 7, 85}, 11), sizes}, {Layout::kPlain}, "f32_split_runs", kExact);
  Node split_c = makeNode("Split", 2, 2, {Attribute::makeInt("axis", 1)});
  const Tensor sizes_c = Tensor::fromVector<int64_t>(DType::kInt64, {2}, {5, 8});
  expectMatchesReference(split_c, 13, {randomTensor({1, 13, 7, 9}, 12), sizes_c}, {Layout::kNhwc}, "f32_split_runs", kExact);
}

TEST(FastOps, TransposePermutations) {
  const std::vector<std::vector<int64_t>> perms = {
      {0, 1, 3, 4, 2},  // YOLOv5 Detect head
      {0, 2, 1},        // YOLOv8 output
      {1, 0},
      {0, 2, 3, 1},
      {2, 0, 1, 3},     // innermost kept: contiguous runs
      {3, 2, 1, 0},
  };
  uint32_t seed = 20;
  for (const auto& perm : perms) {
    Shape shape;
    const int64_t dims[] = {3, 5, 17, 19, 7};
    for (size_t d = 0; d < perm.size(); ++d) shape.push_back(dims[d]);
    const Node n = makeNode("Transpose", 1, 1, {Attribute::makeInts("perm", perm)});
    expectMatchesReference(n, 13, {randomTensor(shape, seed++)}, {Layout::kPlain}, "f32_transpose_tiled", kExact);
  }
}

TEST(FastOps, ResizeNearestIntegerScales) {
  struct Case {
    const char* coord;
    const char* nearest;
    float scale;
  };
  const Case cases[] = {{"asymmetric", "floor", 2.0f}, {"asymmetric", "floor", 3.0f},
                        {"half_pixel", "round_prefer_floor", 2.0f}, {"pytorch_half_pixel", "round_prefer_ceil", 2.0f}};
  for (const Case& c : cases) {
    for (Layout layout : {Layout::kPlain, Layout::kNhwc}) {
      Node n = makeNode("Resize", 3, 1, {Attribute::makeString("mode", "nearest"),
                                         Attribute::makeString("coordinate_transformation_mode", c.coord),
                                         Attribute::makeString("nearest_mode", c.nearest)});
      n.inputs[1] = "";  // no roi
      const Tensor scales = Tensor::fromVector<float>(DType::kFloat32, {4}, {1.0f, 1.0f, c.scale, c.scale});
      expectMatchesReference(n, 13, {randomTensor({1, 13, 7, 9}, 30), Tensor(), scales}, {layout, Layout::kPlain},
                             "f32_resize_nearest_int", kExact);
    }
  }
}

TEST(FastOps, RefusedWhereTheyMustBe) {
  // Not float32: the reference kernel takes it.
  const Node n = makeNode("Add", 2, 1);
  NodeContext ctx;
  ctx.node = &n;
  ctx.opset = 14;
  ctx.cpu = CpuFeatures::host();
  ctx.inputs = {ValueDesc{DType::kInt64, {3}}, ValueDesc{DType::kInt64, {3}}};
  ctx.constants = {nullptr, nullptr};
  Result<KernelChoice> c = createKernel(ctx);
  ASSERT_TRUE(c.isOk());
  EXPECT_EQ(c->impl_name, "ref");
  // A CPU without AVX2: the reference kernel.
  ctx.inputs = {ValueDesc{DType::kFloat32, {3}}, ValueDesc{DType::kFloat32, {3}}};
  ctx.cpu = CpuFeatures::baseline();
  c = createKernel(ctx);
  ASSERT_TRUE(c.isOk());
  EXPECT_EQ(c->impl_name, "ref");
  EXPECT_FALSE(c->rejections.empty());
}

}  // namespace
}  // namespace detslim
