// float16 storage kernels (core/kernels/opt/fast_half.cpp): detslim::RoundToHalf and Cast
// float32 <-> float16 against their reference twins, bit for bit, on odd sizes (masked / scalar
// tails), values at every float16 boundary (overflow, subnormals, ties), and any layout.

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include <gtest/gtest.h>

#include "core/kernels/registry.h"

namespace detslim {
namespace {

// Values where float16 rounding is delicate: the largest finite half and the first value that
// overflows, ties to even, subnormals and the smallest one, signed zero, infinities, NaN.
std::vector<float> edgeValues() {
  const float inf = std::numeric_limits<float>::infinity();
  return {0.0f,      -0.0f,      1.0f,         1.0f + 1.0f / 2048.0f, 1.0f + 3.0f / 2048.0f,
          65504.0f,  65519.99f,  65520.0f,     -65520.0f,             1e9f,
          5.96e-8f,  2.98e-8f,   2.99e-8f,     6.1e-5f,               -3.3e-6f,
          1e-30f,    inf,        -inf,         std::numeric_limits<float>::quiet_NaN(),
          0.1f,      -2.7182817f, 3.1415927f,  1234.567f};
}

Tensor testTensor(const Shape& shape, uint32_t seed) {
  Tensor t(DType::kFloat32, shape);
  std::mt19937 rng(seed);
  // Log-uniform magnitudes across the whole float16 range and beyond.
  std::uniform_real_distribution<float> exponent(-30.0f, 18.0f);
  std::bernoulli_distribution negative(0.5);
  const std::vector<float> edges = edgeValues();
  float* p = t.mutableData<float>();
  for (int64_t i = 0; i < t.numel(); ++i) {
    p[i] = i < static_cast<int64_t>(edges.size()) ? edges[static_cast<size_t>(i)]
                                                  : (negative(rng) ? -1.0f : 1.0f) * std::exp2(exponent(rng));
  }
  return t;
}

Node makeNode(const std::string& domain, const std::string& op, int64_t to = 0) {
  Node n;
  n.name = op + "_under_test";
  n.domain = domain;
  n.op_type = op;
  n.inputs = {"x"};
  n.outputs = {"y"};
  if (to != 0) n.setAttr(Attribute::makeInt("to", to));
  return n;
}

// Runs the optimised kernel with the input in `layout` (elementwise: the bytes are the same) and
// returns its output and implementation name.
std::pair<Tensor, std::string> runFast(const Node& node, const Tensor& x, Layout layout, int threads) {
  NodeContext ctx;
  ctx.node = &node;
  ctx.opset = 17;
  ctx.num_threads = threads;
  ctx.cpu = CpuFeatures::host();
  ctx.inputs.push_back(ValueDesc{x.dtype(), x.shape(), layout});
  ctx.constants.push_back(nullptr);
  Result<KernelChoice> choice = createKernel(ctx);
  EXPECT_TRUE(choice.isOk()) << choice.status().message();
  if (!choice.isOk()) return {};
  EXPECT_EQ(choice->kernel->inputLayout(0), layout);
  EXPECT_EQ(choice->kernel->outputLayout(0), layout);
  Tensor y(ctx.outputs[0].dtype, ctx.outputs[0].shape);
  const void* in[] = {x.raw()};
  void* out[] = {y.rawMutable()};
  std::vector<std::byte> scratch(choice->kernel->scratchBytes() + 64);
  choice->kernel->run(KernelArgs{in, out, scratch.data()});
  return {y, choice->impl_name};
}

void expectSameBits(const Tensor& got, const Tensor& want, const std::string& what) {
  ASSERT_EQ(got.bytes(), want.bytes()) << what;
  const auto* g = static_cast<const unsigned char*>(got.raw());
  const auto* w = static_cast<const unsigned char*>(want.raw());
  const size_t elem = dtypeSize(got.dtype());
  for (size_t i = 0; i < got.bytes(); i += elem) {
    ASSERT_EQ(std::memcmp(g + i, w + i, elem), 0) << what << ": element " << i / elem;
  }
}

TEST(FastHalf, RoundToHalfMatchesReferenceBitForBit) {
  if (!CpuFeatures::host().f16c && !CpuFeatures::host().avx512f) GTEST_SKIP() << "no F16C on this CPU";
  const Node node = makeNode("detslim", "RoundToHalf");
  // 1, 15, 17 and 37 exercise the masked / scalar tails; 13*17*19*11 the multi-threaded path.
  for (const Shape& shape : std::vector<Shape>{{1}, {15}, {17}, {37}, {1, 13, 17, 19}, {2, 13, 17, 19 * 11}}) {
    const Tensor x = testTensor(shape, 7767517);
    Result<std::vector<Tensor>> ref = runNode(node, 17, {x}, /*reference_only=*/true);
    ASSERT_TRUE(ref.isOk()) << ref.status().message();
    for (Layout layout : {Layout::kPlain, Layout::kNhwc}) {
      if (layout == Layout::kNhwc && shape.size() != 4) continue;
      auto [y, impl] = runFast(node, x, layout, 2);
      EXPECT_EQ(impl, "f32_round_half_f16c");
      expectSameBits(y, (*ref)[0], "RoundToHalf " + shapeToString(shape));
    }
  }
}

TEST(FastHalf, RoundToHalfValues) {
  // The reference against known float16 facts.
  const Node node = makeNode("detslim", "RoundToHalf");
  const Tensor x = Tensor::fromVector<float>(DType::kFloat32, {6},
                                             {65519.0f, 65520.0f, 1.0f + 1.0f / 2048.0f, 1.0f + 3.0f / 2048.0f,
                                              2.98023224e-8f, 0.1f});
  Result<std::vector<Tensor>> ref = runNode(node, 17, {x}, /*reference_only=*/true);
  ASSERT_TRUE(ref.isOk()) << ref.status().message();
  const float* y = (*ref)[0].data<float>();
  EXPECT_EQ(y[0], 65504.0f);                                // below the overflow tie
  EXPECT_TRUE(std::isinf(y[1]) && y[1] > 0);                // the tie rounds to even: infinity
  EXPECT_EQ(y[2], 1.0f);                                    // tie -> even mantissa
  EXPECT_EQ(y[3], 1.0f + 4.0f / 2048.0f);                   // tie -> even mantissa (up)
  EXPECT_EQ(y[4], 0.0f);                                    // half the smallest subnormal: to even (0)
  EXPECT_EQ(y[5], 0.0999755859375f);                        // nearest float16 to 0.1
}

TEST(FastHalf, CastFloatHalfBothWaysMatchesReference) {
  if (!CpuFeatures::host().f16c && !CpuFeatures::host().avx512f) GTEST_SKIP() << "no F16C on this CPU";
  for (const Shape& shape : std::vector<Shape>{{37}, {2, 13, 17, 19 * 11}}) {
    const Tensor x = testTensor(shape, 20240517);
    const Node to_half = makeNode("", "Cast", static_cast<int64_t>(DType::kFloat16));
    Result<std::vector<Tensor>> ref_half = runNode(to_half, 17, {x}, true);
    ASSERT_TRUE(ref_half.isOk()) << ref_half.status().message();
    auto [h, impl_h] = runFast(to_half, x, Layout::kPlain, 2);
    EXPECT_EQ(impl_h, "f16_cast_f16c");
    expectSameBits(h, (*ref_half)[0], "Cast to float16");

    const Node to_float = makeNode("", "Cast", static_cast<int64_t>(DType::kFloat32));
    Result<std::vector<Tensor>> ref_float = runNode(to_float, 17, {(*ref_half)[0]}, true);
    ASSERT_TRUE(ref_float.isOk()) << ref_float.status().message();
    auto [f, impl_f] = runFast(to_float, (*ref_half)[0], Layout::kPlain, 2);
    EXPECT_EQ(impl_f, "f16_cast_f16c");
    expectSameBits(f, (*ref_float)[0], "Cast to float");
  }
}

}  // namespace
}  // namespace detslim
