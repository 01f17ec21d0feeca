// The kernels a QDQ model's integer path needs, against their reference twins on seeded data
// with odd sizes: per-tensor QuantizeLinear / DequantizeLinear (core/kernels/opt/fast_quant.cpp,
// AVX-512 and AVX2), the byte-moving Concat / Split / nearest Resize on 1- and 2-byte elements
// (fast_ops.cpp), MaxPool on uint8 / int8 (oneDNN, dnnl_pool.cpp), and layout reorders of
// uint8 / int8 / bfloat16 / float16 values (reorder.cpp).

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include <gtest/gtest.h>

#include "core/kernels/registry.h"
#include "core/kernels/reorder.h"

namespace detslim {
namespace {

Tensor randomFloats(const Shape& shape, uint32_t seed, float lo, float hi) {
  Tensor t(DType::kFloat32, shape);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.mutableData<float>()[i] = dist(rng);
  return t;
}

// Random bytes: every bit pattern of a 1- or 2-byte element is a valid value to move.
Tensor randomBytes(DType dtype, const Shape& shape, uint32_t seed) {
  Tensor t(dtype, shape);
  std::mt19937 rng(seed);
  auto* p = static_cast<uint8_t*>(t.rawMutable());
  for (size_t i = 0; i < t.bytes(); ++i) p[i] = static_cast<uint8_t>(rng());
  if (dtype == DType::kFloat16 || dtype == DType::kBFloat16) {
    // Keep halves finite: clear the top exponent bit of each element (NaN payloads would still
    // compare by bytes, but a reference kernel may canonicalise them).
    for (size_t i = 1; i < t.bytes(); i += 2) p[i] &= 0x3f;
  }
  return t;
}

// Plain NCHW <-> NHWC storage of the same logical [N, C, H, W] tensor, any element size.
Tensor convertLayout(const Tensor& t, bool to_nhwc) {
  const Shape& s = t.shape();
  Tensor out(t.dtype(), s);
  const size_t e = dtypeSize(t.dtype());
  const int64_t n = s[0], c = s[1], h = s[2], w = s[3];
  const auto* src = static_cast<const uint8_t*>(t.raw());
  auto* dst = static_cast<uint8_t*>(out.rawMutable());
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t y = 0; y < h; ++y)
        for (int64_t x = 0; x < w; ++x) {
          const int64_t nchw = ((b * c + ch) * h + y) * w + x;
          const int64_t nhwc = ((b * h + y) * w + x) * c + ch;
          std::memcpy(dst + static_cast<size_t>(to_nhwc ? nhwc : nchw) * e,
                      src + static_cast<size_t>(to_nhwc ? nchw : nhwc) * e, e);
        }
  return out;
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

CpuFeatures avx2Only() {
  CpuFeatures cpu = CpuFeatures::host();
  cpu.avx512f = cpu.avx512bw = cpu.avx512vl = cpu.avx512dq = false;
  return cpu;
}

// Runs the first implementation that accepts (inputs [0, layouts.size()) are run-time values in
// those layouts, the rest compile-time constants) and checks its outputs byte for byte against
// the reference kernel. Returns the implementation name.
std::string expectBitwiseLikeReference(const Node& node, int64_t opset, const std::vector<Tensor>& inputs,
                                       const std::vector<Layout>& layouts, const CpuFeatures& cpu) {
  Result<std::vector<Tensor>> ref = runNode(node, opset, inputs, /*reference_only=*/true);
  EXPECT_TRUE(ref.isOk()) << ref.status().message();
  if (!ref.isOk()) return {};
  NodeContext ctx;
  ctx.node = &node;
  ctx.opset = opset;
  ctx.num_threads = 2;
  ctx.cpu = cpu;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const bool runtime = i < layouts.size();
    ctx.inputs.push_back(inputs[i].defined() ? ValueDesc{inputs[i].dtype(), inputs[i].shape(), runtime ? layouts[i] : Layout::kPlain}
                                             : ValueDesc{});
    ctx.constants.push_back(runtime || !inputs[i].defined() ? nullptr : &inputs[i]);
  }
  Result<KernelChoice> choice = createKernel(ctx);
  EXPECT_TRUE(choice.isOk()) << choice.status().message();
  if (!choice.isOk()) return {};
  std::vector<Tensor> fed;
  std::vector<const void*> in_ptrs;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const bool nhwc = inputs[i].defined() && choice->kernel->inputLayout(i) == Layout::kNhwc && inputs[i].rank() == 4;
    fed.push_back(nhwc ? convertLayout(inputs[i], true) : inputs[i]);
  }
  for (const Tensor& t : fed) in_ptrs.push_back(t.defined() ? t.raw() : nullptr);
  std::vector<Tensor> outs;
  std::vector<void*> out_ptrs;
  for (const ValueDesc& d : ctx.outputs) outs.emplace_back(d.dtype, d.shape);
  for (Tensor& t : outs) out_ptrs.push_back(t.rawMutable());
  std::vector<std::byte> scratch(choice->kernel->scratchBytes() + 64);
  void* aligned = scratch.data();
  size_t space = scratch.size();
  std::align(64, choice->kernel->scratchBytes(), aligned, space);
  choice->kernel->run(KernelArgs{in_ptrs, out_ptrs, aligned});
  EXPECT_EQ(outs.size(), ref->size());
  for (size_t o = 0; o < std::min(outs.size(), ref->size()); ++o) {
    const bool nhwc = choice->kernel->outputLayout(o) == Layout::kNhwc && outs[o].rank() == 4;
    const Tensor got = nhwc ? convertLayout(outs[o], false) : outs[o];
    EXPECT_EQ(got.dtype(), (*ref)[o].dtype());
    EXPECT_TRUE(got.bitwiseEqual((*ref)[o])) << node.op_type << " output " << o << " (" << choice->impl_name << ")";
  }
  return choice->impl_name;
}

// Values that stress rounding: exact ties k + 0.5 (round half to even), saturation on both
// sides, NaN and infinities, then seeded random values.
Tensor quantizeInput(const Shape& shape, float scale, uint32_t seed) {
  Tensor t = randomFloats(shape, seed, -300.0f * scale, 300.0f * scale);
  float* p = t.mutableData<float>();
  const float specials[] = {0.5f * scale, 1.5f * scale, 2.5f * scale, -0.5f * scale, -1.5f * scale,
                            -2.5f * scale, 127.5f * scale, -128.5f * scale, 254.5f * scale,
                            std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(), 1e30f, -1e30f, 0.0f, -0.0f};
  for (size_t i = 0; i < std::size(specials) && static_cast<int64_t>(i * 7) < t.numel(); ++i) p[i * 7] = specials[i];
  return t;
}

TEST(FastQuant, QuantizeLinearMatchesReferenceBitwise) {
  // Scale 0.25 makes k + 0.5 steps exact float ties; 13*7*9 = 819 leaves masked / scalar tails.
  const float scale = 0.25f;
  const Tensor s = Tensor::fromVector<float>(DType::kFloat32, {}, {scale});
  const Tensor zp_u8 = Tensor::fromVector<uint8_t>(DType::kUInt8, {}, {117});
  const Tensor zp_s8 = Tensor::fromVector<int8_t>(DType::kInt8, {}, {-3});
  const Node q = makeNode("QuantizeLinear", 3, 1);
  for (const CpuFeatures& cpu : {CpuFeatures::host(), avx2Only()}) {
    for (const Tensor* zp : {&zp_u8, &zp_s8}) {
      for (Layout layout : {Layout::kPlain, Layout::kNhwc}) {
        EXPECT_EQ(expectBitwiseLikeReference(q, 13, {quantizeInput({1, 13, 7, 9}, scale, 1), s, *zp}, {layout}, cpu),
                  "f32_to_x8_quantize_simd");
      }
      // Big enough for two threads.
      EXPECT_EQ(expectBitwiseLikeReference(q, 13, {quantizeInput({1, 3, 97, 131}, scale, 2), s, *zp}, {Layout::kPlain}, cpu),
                "f32_to_x8_quantize_simd");
    }
    // No zero point: uint8 with zero point 0.
    const Node q2 = makeNode("QuantizeLinear", 2, 1);
    EXPECT_EQ(expectBitwiseLikeReference(q2, 13, {quantizeInput({5, 37}, 0.1f, 3), Tensor::fromVector<float>(DType::kFloat32, {1}, {0.1f})},
                                         {Layout::kPlain}, cpu),
              "f32_to_x8_quantize_simd");
  }
}

TEST(FastQuant, DequantizeLinearMatchesReferenceBitwise) {
  const Tensor s = Tensor::fromVector<float>(DType::kFloat32, {}, {0.0371f});
  const Node dq = makeNode("DequantizeLinear", 3, 1);
  for (const CpuFeatures& cpu : {CpuFeatures::host(), avx2Only()}) {
    for (DType d : {DType::kUInt8, DType::kInt8}) {
      const Tensor zp = d == DType::kUInt8 ? Tensor::fromVector<uint8_t>(d, {}, {131}) : Tensor::fromVector<int8_t>(d, {}, {-7});
      for (Layout layout : {Layout::kPlain, Layout::kNhwc}) {
        EXPECT_EQ(expectBitwiseLikeReference(dq, 13, {randomBytes(d, {2, 13, 7, 9}, 4), s, zp}, {layout}, cpu),
                  "x8_to_f32_dequantize_simd");
      }
      EXPECT_EQ(expectBitwiseLikeReference(dq, 13, {randomBytes(d, {1, 5, 131, 97}, 5), s, zp}, {Layout::kPlain}, cpu),
                "x8_to_f32_dequantize_simd");
    }
  }
}

TEST(FastQuant, PerAxisQuantizationStaysOnTheReference) {
  const Node dq = makeNode("DequantizeLinear", 3, 1, {Attribute::makeInt("axis", 1)});
  const Tensor s = randomFloats({13}, 6, 0.01f, 0.1f);
  Tensor zp(DType::kUInt8, {13});
  EXPECT_EQ(expectBitwiseLikeReference(dq, 13, {randomBytes(DType::kUInt8, {1, 13, 7, 9}, 7), s, zp}, {Layout::kPlain},
                                       CpuFeatures::host()),
            "ref");
}

TEST(FastQuant, MovementOnOneAndTwoByteElements) {
  struct Kind {
    DType dtype;
    const char* prefix;
  };
  const Kind kinds[] = {{DType::kUInt8, "x8"}, {DType::kInt8, "x8"}, {DType::kFloat16, "x16"}, {DType::kBFloat16, "x16"}};
  uint32_t seed = 100;
  for (const Kind& k : kinds) {
    const std::string pre = k.prefix;
    for (const CpuFeatures& cpu : {CpuFeatures::host(), avx2Only()}) {
      // Concat on every axis (plain) and on channels in NHWC, three inputs; one case above the
      // threading threshold with runs longer than the inline copy (> 1024 bytes).
      for (int64_t axis : {0, 1, 2, 3}) {
        Shape b{2, 5, 7, 3};
        b[static_cast<size_t>(axis)] = 4;
        const Node cat = makeNode("Concat", 2, 1, {Attribute::makeInt("axis", axis)});
        EXPECT_EQ(expectBitwiseLikeReference(cat, 13, {randomBytes(k.dtype, {2, 5, 7, 3}, seed++), randomBytes(k.dtype, b, seed++)},
                                             {Layout::kPlain, Layout::kPlain}, cpu),
                  pre + "_concat_runs");
      }
      const Node cat3 = makeNode("Concat", 3, 1, {Attribute::makeInt("axis", 1)});
      EXPECT_EQ(expectBitwiseLikeReference(cat3, 13, {randomBytes(k.dtype, {1, 13, 7, 9}, seed++), randomBytes(k.dtype, {1, 64, 7, 9}, seed++),
                                                       randomBytes(k.dtype, {1, 3, 7, 9}, seed++)},
                                           {Layout::kNhwc, Layout::kNhwc, Layout::kNhwc}, cpu),
                pre + "_concat_runs");
      EXPECT_EQ(expectBitwiseLikeReference(cat3, 13, {randomBytes(k.dtype, {1, 13, 67, 71}, seed++), randomBytes(k.dtype, {1, 16, 67, 71}, seed++),
                                                       randomBytes(k.dtype, {1, 3, 67, 71}, seed++)},
                                           {Layout::kPlain, Layout::kPlain, Layout::kPlain}, cpu),
                pre + "_concat_runs");
      // Split on channels (NHWC) and on the last axis (plain).
      Node split = makeNode("Split", 2, 2, {Attribute::makeInt("axis", 1)});
      EXPECT_EQ(expectBitwiseLikeReference(split, 13, {randomBytes(k.dtype, {1, 13, 7, 9}, seed++), Tensor::fromVector<int64_t>(DType::kInt64, {2}, {5, 8})},
                                           {Layout::kNhwc}, cpu),
                pre + "_split_runs");
      Node split3 = makeNode("Split", 2, 3, {Attribute::makeInt("axis", 3)});
      EXPECT_EQ(expectBitwiseLikeReference(split3, 13, {randomBytes(k.dtype, {1, 3, 5, 85}, seed++), Tensor::fromVector<int64_t>(DType::kInt64, {3}, {2, 2, 81})},
                                           {Layout::kPlain}, cpu),
                pre + "_split_runs");
      // Nearest 2x resize, plain and NHWC.
      for (Layout layout : {Layout::kPlain, Layout::kNhwc}) {
        Node resize = makeNode("Resize", 3, 1, {Attribute::makeString("mode", "nearest"),
                                                Attribute::makeString("coordinate_transformation_mode", "asymmetric"),
                                                Attribute::makeString("nearest_mode", "floor")});
        resize.inputs[1] = "";
        const Tensor scales = Tensor::fromVector<float>(DType::kFloat32, {4}, {1.0f, 1.0f, 2.0f, 2.0f});
        EXPECT_EQ(expectBitwiseLikeReference(resize, 13, {randomBytes(k.dtype, {1, 13, 7, 9}, seed++), Tensor(), scales}, {layout}, cpu),
                  pre + "_resize_nearest_int");
      }
    }
  }
}

TEST(FastQuant, MaxPoolOnIntegersViaOneDnn) {
  for (DType d : {DType::kUInt8, DType::kInt8}) {
    // SPPF's 5x5 stride-1 pad-2 pool, and a 3x3 stride-2 one with ceil_mode, plain and NHWC.
    const Node sppf = makeNode("MaxPool", 1, 1, {Attribute::makeInts("kernel_shape", {5, 5}),
                                                 Attribute::makeInts("pads", {2, 2, 2, 2}),
                                                 Attribute::makeInts("strides", {1, 1})});
    const Node strided = makeNode("MaxPool", 1, 1, {Attribute::makeInts("kernel_shape", {3, 3}),
                                                    Attribute::makeInts("strides", {2, 2}),
                                                    Attribute::makeInt("ceil_mode", 1)});
    for (Layout layout : {Layout::kNhwc, Layout::kPlain}) {
      EXPECT_EQ(expectBitwiseLikeReference(sppf, 13, {randomBytes(d, {1, 19, 13, 11}, 200)}, {layout}, CpuFeatures::host()),
                "x8_maxpool_dnnl");
      EXPECT_EQ(expectBitwiseLikeReference(strided, 13, {randomBytes(d, {2, 7, 14, 9}, 201)}, {layout}, CpuFeatures::host()),
                "x8_maxpool_dnnl");
    }
  }
  // float32 keeps its own implementation.
  const Node pool = makeNode("MaxPool", 1, 1, {Attribute::makeInts("kernel_shape", {2, 2})});
  Tensor x = randomFloats({1, 3, 6, 6}, 202, -1.0f, 1.0f);
  EXPECT_EQ(expectBitwiseLikeReference(pool, 13, {x}, {Layout::kNhwc}, CpuFeatures::host()), "f32_maxpool_dnnl");
}

TEST(FastQuant, ReorderOfNarrowDtypesBetweenPlainAndNhwc) {
  for (DType d : {DType::kUInt8, DType::kInt8, DType::kBFloat16, DType::kFloat16}) {
    const Tensor plain = randomBytes(d, {2, 13, 7, 9}, 300);
    const Tensor nhwc = convertLayout(plain, true);
    for (bool to_nhwc : {true, false}) {
      const ValueDesc src{d, plain.shape(), to_nhwc ? Layout::kPlain : Layout::kNhwc};
      std::unique_ptr<Kernel> k = makeReorderKernel(src, to_nhwc ? Layout::kNhwc : Layout::kPlain, 2);
      ASSERT_TRUE(k) << dtypeName(d);
      Tensor out(d, plain.shape());
      const void* in_ptr = to_nhwc ? plain.raw() : nhwc.raw();
      void* out_ptr = out.rawMutable();
      k->run(KernelArgs{std::span<const void* const>(&in_ptr, 1), std::span<void* const>(&out_ptr, 1), nullptr});
      EXPECT_TRUE(out.bitwiseEqual(to_nhwc ? nhwc : plain)) << dtypeName(d) << (to_nhwc ? " to nhwc" : " to plain");
    }
  }
}

}  // namespace
}  // namespace detslim
