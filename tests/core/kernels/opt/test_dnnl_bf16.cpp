// bf16 compute of the oneDNN Conv / FusedConv / MatMul / Gemm kernels (EngineOptions::compute =
// kBFloat16) against the float32 reference kernels. Bound: src and weights are each rounded to
// bf16 (8 significant bits, relative error <= 2^-9), so every product carries a relative error
// <= 2^-8 (+ 2^-18), and the f32 accumulation adds nothing comparable: for each output
// |bf16 - f32| <= 2^-8 * sum |x| |w| — computed exactly as the reference convolution / product of
// |X| and |W|. An activation that is 1.1-Lipschitz (swish) scales the bound by 1.1.

#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "core/kernels/opt/dnnl_common.h"
#include "core/kernels/registry.h"

namespace detslim {
namespace {

constexpr float kBf16ProductError = 1.0f / 256.0f * (1.0f + 1.0f / 512.0f);
constexpr float kSwishLipschitz = 1.1f;
constexpr float kAbsSlack = 1e-6f;  // f32 accumulation order

Tensor randomTensor(const Shape& shape, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  Tensor t(DType::kFloat32, shape);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.mutableData<float>()[i] = dist(rng);
  return t;
}

Tensor absTensor(const Tensor& t) {
  Tensor a(DType::kFloat32, t.shape());
  for (int64_t i = 0; i < t.numel(); ++i) a.mutableData<float>()[i] = std::fabs(t.data<float>()[i]);
  return a;
}

Tensor nchwNhwc(const Tensor& t, bool to_nhwc) {
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

struct KernelRun {
  std::string impl;
  std::string detail;
  Tensor output;  // plain
};

// Creates the node's kernel with compute `precision`; inputs [0] (and [3] for a Sum) are runtime
// values, the rest constants.
KernelRun runWith(const Node& node, const std::vector<Tensor>& inputs, ComputePrecision precision) {
  NodeContext ctx;
  ctx.node = &node;
  ctx.opset = 17;
  ctx.num_threads = 2;
  ctx.cpu = CpuFeatures::host();
  ctx.compute = precision;
  for (size_t i = 0; i < inputs.size(); ++i) {
    ctx.inputs.push_back(ValueDesc{inputs[i].dtype(), inputs[i].shape(), Layout::kPlain});
    const bool runtime = i == 0 || i == 3;
    ctx.constants.push_back(runtime ? nullptr : &inputs[i]);
  }
  Result<KernelChoice> choice = createKernel(ctx);
  EXPECT_TRUE(choice.isOk()) << choice.status().message();
  KernelRun r;
  if (!choice.isOk()) return r;
  r.impl = choice->impl_name;
  r.detail = choice->kernel->detail();
  std::vector<Tensor> fed;
  std::vector<const void*> in_ptrs;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const bool nhwc = choice->kernel->inputLayout(i) == Layout::kNhwc && inputs[i].rank() == 4;
    fed.push_back(nhwc ? nchwNhwc(inputs[i], true) : inputs[i]);
  }
  for (const Tensor& t : fed) in_ptrs.push_back(t.raw());
  Tensor y(DType::kFloat32, ctx.outputs[0].shape);
  void* out_ptrs[] = {y.rawMutable()};
  std::vector<std::byte> storage(choice->kernel->scratchBytes() + 64);
  void* scratch = storage.data();
  size_t space = storage.size();
  std::align(64, choice->kernel->scratchBytes(), scratch, space);
  choice->kernel->run(KernelArgs{in_ptrs, out_ptrs, scratch});
  const bool nhwc_out = choice->kernel->outputLayout(0) == Layout::kNhwc && y.rank() == 4;
  r.output = nhwc_out ? nchwNhwc(y, false) : y;
  return r;
}

// Checks |bf16 - ref| <= factor * 2^-8 * magnitude per element, and that bf16 really rounded
// (some element differs from the f32 reference).
void expectBf16Bound(const Tensor& got, const Tensor& ref, const Tensor& magnitude, float factor) {
  ASSERT_EQ(got.shape(), ref.shape());
  float max_diff = 0.0f;
  for (int64_t i = 0; i < ref.numel(); ++i) {
    const float diff = std::fabs(got.data<float>()[i] - ref.data<float>()[i]);
    max_diff = std::max(max_diff, diff);
    ASSERT_LE(diff, factor * kBf16ProductError * magnitude.data<float>()[i] + kAbsSlack) << "element " << i;
  }
  EXPECT_GT(max_diff, 0.0f) << "no element differs from float32: bf16 did not run";
}

bool hasBf16() {
  const CpuFeatures& cpu = CpuFeatures::host();
  return cpu.avx512_bf16 && cpu.hasAvx512Core();
}

Node convNode(const std::string& op, size_t inputs, std::vector<Attribute> attrs) {
  Node n;
  n.name = op + "_under_test";
  n.op_type = op;
  n.domain = op == "FusedConv" ? "detslim" : "";
  for (size_t i = 0; i < inputs; ++i) n.inputs.push_back("in" + std::to_string(i));
  n.outputs = {"y"};
  n.attributes = std::move(attrs);
  return n;
}

TEST(DnnlBf16, ConvWithinBf16BoundOfFloat32Reference) {
  if (!hasBf16()) GTEST_SKIP() << "the CPU has no AVX-512 BF16";
  // Odd sizes: 37 input and 45 output channels, 23 x 29 pixels, stride 2, asymmetric-friendly pads.
  const Node conv = convNode("Conv", 3, {Attribute::makeInts("pads", {1, 1, 1, 1}),
                                         Attribute::makeInts("strides", {2, 2})});
  const Tensor x = randomTensor({1, 37, 23, 29}, 7767517);
  const Tensor w = randomTensor({45, 37, 3, 3}, 1);
  const Tensor b = randomTensor({45}, 2);
  Result<std::vector<Tensor>> ref = runNode(conv, 17, {x, w, b}, true);
  ASSERT_TRUE(ref.isOk()) << ref.status().message();
  const Node conv_nobias = convNode("Conv", 2, conv.attributes);
  Result<std::vector<Tensor>> mag = runNode(conv_nobias, 17, {absTensor(x), absTensor(w)}, true);
  ASSERT_TRUE(mag.isOk()) << mag.status().message();
  const KernelRun bf16 = runWith(conv, {x, w, b}, ComputePrecision::kBFloat16);
  EXPECT_EQ(bf16.impl, "bf16_conv_dnnl");
  EXPECT_EQ(bf16.detail.rfind("bf16 ", 0), 0u) << bf16.detail;
  expectBf16Bound(bf16.output, (*ref)[0], (*mag)[0], 1.0f);
  // Float32 compute of the same node stays float32.
  const KernelRun f32 = runWith(conv, {x, w, b}, ComputePrecision::kFloat32);
  EXPECT_EQ(f32.impl, "f32_conv_dnnl");
}

TEST(DnnlBf16, FusedConvSwishWithResidualWithinBound) {
  if (!hasBf16()) GTEST_SKIP() << "the CPU has no AVX-512 BF16";
  const std::vector<Attribute> attrs = {Attribute::makeInts("pads", {1, 1, 1, 1}),
                                        Attribute::makeString("activation", "swish"),
                                        Attribute::makeFloat("activation_alpha", 1.0f),
                                        Attribute::makeInt("sum_first", 0)};
  const Node fused = convNode("FusedConv", 4, attrs);
  const Tensor x = randomTensor({1, 19, 17, 21}, 11);
  const Tensor w = randomTensor({19, 19, 3, 3}, 12);
  const Tensor b = randomTensor({19}, 13);
  const Tensor sum = randomTensor({1, 19, 17, 21}, 14);
  Result<std::vector<Tensor>> ref = runNode(fused, 17, {x, w, b, sum}, true);
  ASSERT_TRUE(ref.isOk()) << ref.status().message();
  const Node conv_nobias = convNode("Conv", 2, {Attribute::makeInts("pads", {1, 1, 1, 1})});
  Result<std::vector<Tensor>> mag = runNode(conv_nobias, 17, {absTensor(x), absTensor(w)}, true);
  ASSERT_TRUE(mag.isOk()) << mag.status().message();
  const KernelRun bf16 = runWith(fused, {x, w, b, sum}, ComputePrecision::kBFloat16);
  EXPECT_EQ(bf16.impl, "bf16_fusedconv_dnnl");
  expectBf16Bound(bf16.output, (*ref)[0], (*mag)[0], kSwishLipschitz);
}

TEST(DnnlBf16, MatMulAndGemmWithinBound) {
  if (!hasBf16()) GTEST_SKIP() << "the CPU has no AVX-512 BF16";
  Node matmul;
  matmul.name = "matmul_under_test";
  matmul.op_type = "MatMul";
  matmul.inputs = {"a", "b"};
  matmul.outputs = {"y"};
  const Tensor a = randomTensor({37, 53}, 21);
  const Tensor b = randomTensor({53, 29}, 22);
  Result<std::vector<Tensor>> ref = runNode(matmul, 17, {a, b}, true);
  ASSERT_TRUE(ref.isOk()) << ref.status().message();
  Result<std::vector<Tensor>> mag = runNode(matmul, 17, {absTensor(a), absTensor(b)}, true);
  ASSERT_TRUE(mag.isOk()) << mag.status().message();
  const KernelRun bf16 = runWith(matmul, {a, b}, ComputePrecision::kBFloat16);
  EXPECT_EQ(bf16.impl, "bf16_matmul_dnnl");
  expectBf16Bound(bf16.output, (*ref)[0], (*mag)[0], 1.0f);

  // Gemm with transA (A read through strides), alpha, and a one-row C as bias.
  Node gemm;
  gemm.name = "gemm_under_test";
  gemm.op_type = "Gemm";
  gemm.inputs = {"a", "b", "c"};
  gemm.outputs = {"y"};
  gemm.setAttr(Attribute::makeInt("transA", 1));
  const Tensor at = randomTensor({53, 37}, 23);
  const Tensor c = randomTensor({29}, 24);
  Result<std::vector<Tensor>> gref = runNode(gemm, 17, {at, b, c}, true);
  ASSERT_TRUE(gref.isOk()) << gref.status().message();
  Node gemm_nobias = gemm;
  gemm_nobias.inputs = {"a", "b"};
  Result<std::vector<Tensor>> gmag = runNode(gemm_nobias, 17, {absTensor(at), absTensor(b)}, true);
  ASSERT_TRUE(gmag.isOk()) << gmag.status().message();
  const KernelRun gbf16 = runWith(gemm, {at, b, c}, ComputePrecision::kBFloat16);
  EXPECT_EQ(gbf16.impl, "bf16_gemm_dnnl");
  expectBf16Bound(gbf16.output, (*gref)[0], (*gmag)[0], 1.0f);
}

TEST(DnnlBf16, CpuWithoutBf16FallsBackToFloat32) {
  const Node conv = convNode("Conv", 2, {});
  const Tensor x = randomTensor({1, 8, 9, 9}, 31);
  const Tensor w = randomTensor({8, 8, 3, 3}, 32);
  NodeContext ctx;
  ctx.node = &conv;
  ctx.opset = 17;
  ctx.cpu = CpuFeatures::host();
  ctx.cpu.avx512_bf16 = false;
  ctx.compute = ComputePrecision::kBFloat16;
  ctx.inputs = {ValueDesc{DType::kFloat32, x.shape()}, ValueDesc{DType::kFloat32, w.shape()}};
  ctx.constants = {nullptr, &w};
  Result<KernelChoice> choice = createKernel(ctx);
  ASSERT_TRUE(choice.isOk()) << choice.status().message();
  if (!CpuFeatures::host().avx2) GTEST_SKIP() << "no AVX2: the reference runs";
  EXPECT_EQ(choice->impl_name, "f32_conv_dnnl");
  ASSERT_FALSE(choice->rejections.empty());
  EXPECT_NE(choice->rejections[0].find("AVX-512 BF16"), std::string::npos) << choice->rejections[0];
}

}  // namespace
}  // namespace detslim
