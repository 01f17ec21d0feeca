// QDQ models on the engine's integer path (docs/quant.md, "Engine execution of a QDQ model"):
// hand-built QDQ graphs compiled with fusion (QConv, integer Concat / MaxPool / Resize / Split,
// fast Q / DQ kernels) against the same graph on reference kernels unfused (the truth), the
// plan's structure (which convs became QConv, which stayed float32, which Q / DQ are left), and
// a QDQ yolov5n made by core/quant from a scale table of a few random runs.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>

#include <gtest/gtest.h>

#include "core/engine/engine.h"
#include "core/engine/qdq_fusion.h"
#include "core/graph/builder.h"
#include "core/kernels/opt/opt_kernels.h"
#include "core/kernels/registry.h"
#include "core/onnx/onnx_io.h"
#include "core/quant/observe.h"
#include "core/quant/qdq.h"
#include "core/quant/scale_table.h"
#include "tests/test_data.h"

namespace detslim {
namespace {

Tensor randomTensor(Shape shape, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  Tensor t(DType::kFloat32, std::move(shape));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.mutableData<float>()[i] = dist(rng);
  return t;
}

float maxAbsDiff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  float m = 0.0f;
  for (int64_t i = 0; i < std::min(a.numel(), b.numel()); ++i) {
    m = std::max(m, std::fabs(a.data<float>()[i] - b.data<float>()[i]));
  }
  return m;
}

// Builds QDQ graphs the way core/quant writes them: per-tensor u8 activations, per-channel
// symmetric int8 weights, int32 biases at s_x * s_w[o].
class QdqBuilder {
 public:
  explicit QdqBuilder(GraphBuilder& b) : b_(b) {}

  // T -> Q -> DQ; returns the DQ output.
  std::string qdq(const std::string& t, float scale, uint8_t zero_point) {
    const std::string s = b_.constant(t + "_scale", Tensor::fromVector<float>(DType::kFloat32, {}, {scale}));
    const std::string zp = b_.constant(t + "_zp", Tensor::fromVector<uint8_t>(DType::kUInt8, {}, {zero_point}));
    const std::string q = b_.node("QuantizeLinear", {t, s, zp}, {}, t + "_q");
    return b_.node("DequantizeLinear", {q, s, zp}, {}, t + "_dq");
  }

  // Conv with DQ(int8) weights and DQ(int32) bias reading `x_dq` (quantized with x_scale);
  // records the L1 norm of its largest weight row (for the error bound of float outputs).
  std::string conv(const std::string& x_dq, float x_scale, int64_t cin, int64_t cout, int64_t k, uint32_t seed,
                   int64_t stride = 1) {
    const std::string tag = "c" + std::to_string(seed);
    const Tensor w = randomTensor({cout, cin, k, k}, seed, -0.4f, 0.4f);
    const Tensor bias = randomTensor({cout}, seed + 1000, -0.5f, 0.5f);
    const int64_t per = cin * k * k;
    Tensor w_q(DType::kInt8, {cout, cin, k, k});
    Tensor s_w(DType::kFloat32, {cout});
    Tensor b_q(DType::kInt32, {cout});
    Tensor s_b(DType::kFloat32, {cout});
    float max_row = 0.0f;
    for (int64_t o = 0; o < cout; ++o) {
      float m = 0.0f, row = 0.0f;
      for (int64_t i = 0; i < per; ++i) m = std::max(m, std::fabs(w.data<float>()[o * per + i]));
      const float s = m / 127.0f;
      s_w.mutableData<float>()[o] = s;
      for (int64_t i = 0; i < per; ++i) {
        const float q = std::nearbyint(w.data<float>()[o * per + i] / s);
        w_q.mutableData<int8_t>()[o * per + i] = static_cast<int8_t>(q);
        row += std::fabs(q * s);
      }
      max_row = std::max(max_row, row);
      s_b.mutableData<float>()[o] = x_scale * s;
      b_q.mutableData<int32_t>()[o] = static_cast<int32_t>(std::nearbyint(bias.data<float>()[o] / (x_scale * s)));
    }
    weight_row_l1_[tag] = max_row;
    Tensor zp_w(DType::kInt8, {cout});
    Tensor zp_b(DType::kInt32, {cout});
    const Attribute axis0 = Attribute::makeInt("axis", 0);
    const std::string wdq = b_.node("DequantizeLinear", {b_.constant(tag + "_wq", w_q), b_.constant(tag + "_ws", s_w),
                                                         b_.constant(tag + "_wzp", zp_w)}, {axis0});
    const std::string bdq = b_.node("DequantizeLinear", {b_.constant(tag + "_bq", b_q), b_.constant(tag + "_bs", s_b),
                                                         b_.constant(tag + "_bzp", zp_b)}, {axis0});
    return b_.node("Conv", {x_dq, wdq, bdq},
                   {Attribute::makeInts("kernel_shape", {k, k}), Attribute::makeInts("pads", {k / 2, k / 2, k / 2, k / 2}),
                    Attribute::makeInts("strides", {stride, stride})},
                   tag);
  }

  std::string silu(const std::string& t) { return b_.node("Mul", {t, b_.node("Sigmoid", {t})}); }
  float rowL1(uint32_t seed) const { return weight_row_l1_.at("c" + std::to_string(seed)); }

 private:
  GraphBuilder& b_;
  std::map<std::string, float> weight_row_l1_;
};

// Scales of the hand-built graph's quantized tensors (u8, zero point 128 / 0 after SiLU-ish data).
constexpr float kSx = 2.0f / 255.0f;
constexpr float kS1 = 0.02f;
constexpr float kS2 = 0.025f;
constexpr float kS3 = 0.04f;
constexpr float kS4 = 0.03f;
constexpr float kS5 = 0.05f;

// x -> Q/DQ -> Conv1+SiLU -> Q/DQ -> { Conv2+SiLU, Conv3+SiLU (stride 1) } -> Q/DQ (shared scale)
// -> Concat -> Q/DQ -> MaxPool -> Q/DQ -> Resize 2x -> Q/DQ -> Conv4+SiLU+Add(residual) -> Q/DQ
//   -> Conv5 -> y_head (float graph output)
//   -> Conv6 -> { Q/DQ -> Conv7 -> Q -> DQ -> y_int (graph output behind a DQ), Sigmoid -> y_mixed }
// Plans name steps by node; the builder names nodes "<op>_<n>": give Convs their output's name.
Model namedConvs(Model m) {
  for (Node& n : m.graph.nodes) {
    if (n.op_type == "Conv") n.name = n.outputs[0];
  }
  return m;
}

struct QdqGraph {
  Model model;
  float head_bound = 0.0f;   // one step of Conv5's input through its largest weight row
  float mixed_bound = 0.0f;  // same for Conv6 (Sigmoid's slope is at most 1/4; kept as is)
};

QdqGraph buildQdqGraph() {
  GraphBuilder b("qdq", 17);
  QdqBuilder q(b);
  const std::string x = b.input("x", DType::kFloat32, {1, 5, 12, 10});
  const std::string a = q.silu(q.conv(q.qdq(x, kSx, 128), kSx, 5, 16, 3, 1));
  const std::string a_dq = q.qdq(a, kS1, 20);
  const std::string b1 = q.qdq(q.silu(q.conv(a_dq, kS1, 16, 8, 1, 2)), kS2, 15);
  const std::string b2 = q.qdq(q.silu(q.conv(a_dq, kS1, 16, 9, 3, 3)), kS2, 15);
  const std::string cat = q.qdq(b.node("Concat", {b1, b2}, {Attribute::makeInt("axis", 1)}), kS2, 15);
  const std::string pool = q.qdq(b.node("MaxPool", {cat}, {Attribute::makeInts("kernel_shape", {3, 3}),
                                                           Attribute::makeInts("pads", {1, 1, 1, 1})}),
                                 kS2, 15);
  const std::string scales = b.constant("up_scales", Tensor::fromVector<float>(DType::kFloat32, {4}, {1, 1, 2, 2}));
  const std::string up = q.qdq(b.node("Resize", {pool, "", scales}, {Attribute::makeString("mode", "nearest")}), kS2, 15);
  const std::string res = b.node("Add", {q.silu(q.conv(up, kS2, 17, 17, 3, 4)), up});
  const std::string res_dq = q.qdq(res, kS3, 30);
  b.output(b.node("Identity", {q.conv(res_dq, kS3, 17, 7, 1, 5)}, {}, "y_head"));
  const std::string c6 = q.conv(res_dq, kS3, 17, 4, 1, 6);
  const std::string c7 = q.conv(q.qdq(c6, kS4, 100), kS4, 4, 3, 3, 7);
  const std::string s5 = b.constant("y_scale", Tensor::fromVector<float>(DType::kFloat32, {}, {kS5}));
  const std::string z5 = b.constant("y_zp", Tensor::fromVector<uint8_t>(DType::kUInt8, {}, {128}));
  b.output(b.node("DequantizeLinear", {b.node("QuantizeLinear", {c7, s5, z5}), s5, z5}, {}, "y_int"));
  b.output(b.node("Sigmoid", {c6}, {}, "y_mixed"));
  QdqGraph g;
  g.model = namedConvs(b.build());
  g.head_bound = kS3 * q.rowL1(5);
  g.mixed_bound = kS3 * q.rowL1(6);
  return g;
}

struct Compared {
  Plan fast;
  std::vector<Tensor> fast_out, ref_out;
};

Result<Compared> compileAndCompare(const Model& m, const std::vector<Tensor>& inputs, int threads = 2) {
  EngineOptions fast_options;
  fast_options.num_threads = threads;
  DS_ASSIGN_OR_RETURN(Plan fast, Engine::compile(m, fast_options));
  EngineOptions ref_options;
  ref_options.reference_only = true;
  ref_options.num_threads = 1;
  DS_ASSIGN_OR_RETURN(Plan ref, Engine::compile(m, ref_options));
  DS_RETURN_IF_ERROR(fast.run(inputs));
  DS_RETURN_IF_ERROR(ref.run(inputs));
  Compared c;
  for (size_t i = 0; i < fast.numOutputs(); ++i) {
    c.fast_out.push_back(fast.output(i).clone());
    c.ref_out.push_back(ref.output(i).clone());
  }
  c.fast = std::move(fast);
  return c;
}

TEST(QdqFusion, HandBuiltGraphRunsOnIntegersAndAgreesWithTheQdqReference) {
  const QdqGraph g = buildQdqGraph();
  float max_int_steps = 0.0f, max_head = 0.0f, max_mixed = 0.0f;
  for (uint32_t seed : {1u, 2u, 3u}) {
    const Tensor x = randomTensor({1, 5, 12, 10}, seed);
    Result<Compared> c = compileAndCompare(g.model, {x});
    ASSERT_TRUE(c.isOk()) << c.status().message();
    // y_int is integer-valued (a DQ of u8): within one quantization step of the truth.
    const float d_int = maxAbsDiff(c->fast_out[1], c->ref_out[1]);
    EXPECT_LE(d_int, kS5 * 1.001f);
    max_int_steps = std::max(max_int_steps, d_int / kS5);
    // Float outputs read integer inputs: one step of every input through the largest weight row.
    max_head = std::max(max_head, maxAbsDiff(c->fast_out[0], c->ref_out[0]));
    max_mixed = std::max(max_mixed, maxAbsDiff(c->fast_out[2], c->ref_out[2]));
    EXPECT_LE(max_head, g.head_bound);
    EXPECT_LE(max_mixed, g.mixed_bound);
  }
  std::printf("[ measured ] y_int max %.2f steps; y_head max %.3g (bound %.3g); y_mixed max %.3g (bound %.3g)\n",
              max_int_steps, max_head, g.head_bound, max_mixed, g.mixed_bound);

  Result<Compared> c = compileAndCompare(g.model, {randomTensor({1, 5, 12, 10}, 9)});
  ASSERT_TRUE(c.isOk()) << c.status().message();
  const std::vector<StepInfo>& steps = c->fast.steps();
  auto find = [&](const std::string& name) -> const StepInfo* {
    for (const StepInfo& s : steps) {
      if (s.name == name) return &s;
    }
    return nullptr;
  };
  // Every conv is quantized; none runs in float32.
  for (const char* name : {"c1", "c2", "c3", "c4", "c5", "c6", "c7"}) {
    const StepInfo* s = find(name);
    ASSERT_NE(s, nullptr) << name;
    EXPECT_EQ(s->op_type, "QConv") << name;
    ASSERT_FALSE(s->output_dtypes.empty());
    // c5 feeds a graph output, c6 also a float Sigmoid: float32; the others write uint8.
    const bool float_out = std::string(name) == "c5" || std::string(name) == "c6";
    EXPECT_EQ(s->output_dtypes[0], float_out ? DType::kFloat32 : DType::kUInt8) << name;
  }
  EXPECT_EQ(find("c4")->fused, "DQ+Conv+Sigmoid+Mul+Add(DQ)+Q");
  int concat = 0, pool = 0, resize = 0, quantize = 0, dequantize = 0;
  for (const StepInfo& s : steps) {
    EXPECT_NE(s.op_type, "Conv") << s.name;
    EXPECT_NE(s.op_type, "FusedConv") << s.name;
    const bool u8 = !s.output_dtypes.empty() && s.output_dtypes[0] == DType::kUInt8;
    if (s.op_type == "Concat") concat += u8 && s.kernel == "x8_concat_runs";
    if (s.op_type == "MaxPool") pool += u8 && s.kernel == "x8_maxpool_dnnl";
    if (s.op_type == "Resize") resize += u8 && s.kernel == "x8_resize_nearest_int";
    if (s.op_type == "QuantizeLinear") {
      ++quantize;
      EXPECT_EQ(s.kernel, "f32_to_x8_quantize_simd");
    }
    if (s.op_type == "DequantizeLinear") {
      ++dequantize;
      EXPECT_EQ(s.kernel, "x8_to_f32_dequantize_simd");
    }
  }
  EXPECT_EQ(concat, 1);
  EXPECT_EQ(pool, 1);
  EXPECT_EQ(resize, 1);
  // Left: the input's Q, c6's Q (c6 also feeds a float op), and y_int's DQ (a graph output).
  EXPECT_EQ(quantize, 2);
  EXPECT_EQ(dequantize, 1);
  const QdqPlanSummary summary = summarizeQdq(steps);
  EXPECT_EQ(summary.qconv_steps, 7);
  EXPECT_EQ(summary.qconv_integer_output, 5);
  EXPECT_TRUE(summary.float_convs.empty());
  EXPECT_EQ(summary.integer_steps, 3);
}

TEST(QdqFusion, SplitAndMismatchedScales) {
  // Split of a quantized tensor into two quantized halves (integers move); a Concat of inputs
  // with different scales (floats move, the Q / DQ kernels run); a kept float32 conv.
  GraphBuilder b("qdq_split", 17);
  QdqBuilder q(b);
  const std::string x = b.input("x", DType::kFloat32, {1, 6, 9, 11});
  const std::string x_dq = q.qdq(x, kSx, 128);
  const std::string y = q.qdq(q.silu(q.conv(x_dq, kSx, 6, 10, 3, 11)), kS1, 20);
  const std::vector<std::string> halves = b.nodeMulti("Split", {y, b.constant("sizes", Tensor::fromVector<int64_t>(DType::kInt64, {2}, {4, 6}))},
                                                      2, {Attribute::makeInt("axis", 1)}, "split");
  const std::string h0 = q.qdq(halves[0], kS1, 20);
  const std::string h1 = q.qdq(halves[1], kS1, 20);
  const std::string c0 = q.qdq(q.conv(h0, kS1, 4, 5, 1, 12), kS2, 10);
  const std::string c1 = q.qdq(q.conv(h1, kS1, 6, 5, 1, 13), kS3, 10);  // another scale
  const std::string cat = q.qdq(b.node("Concat", {c0, c1}, {Attribute::makeInt("axis", 1)}, "cat"), kS2, 10);
  // A kept (float32) conv: float weights.
  const std::string w = b.constant("w_kept", randomTensor({3, 10, 1, 1}, 14, -0.3f, 0.3f));
  b.output(b.node("Conv", {cat, w}, {Attribute::makeInts("kernel_shape", {1, 1})}, "kept"));
  const Model m = namedConvs(b.build());
  Result<Compared> c = compileAndCompare(m, {randomTensor({1, 6, 9, 11}, 5)});
  ASSERT_TRUE(c.isOk()) << c.status().message();
  // Two steps of the Concat output (one kS3 step of c13 requantized at kS2) through a weight row
  // of at most 10 * 0.3.
  EXPECT_LE(maxAbsDiff(c->fast_out[0], c->ref_out[0]), 2 * kS3 * 10 * 0.3f);
  int split_u8 = 0, concat_f32 = 0;
  for (const StepInfo& s : c->fast.steps()) {
    if (s.op_type == "Split") split_u8 += s.output_dtypes.size() == 2 && s.output_dtypes[0] == DType::kUInt8 && s.kernel == "x8_split_runs";
    if (s.op_type == "Concat") concat_f32 += s.output_dtypes[0] == DType::kFloat32;
  }
  EXPECT_EQ(split_u8, 1);
  EXPECT_EQ(concat_f32, 1);
  const QdqPlanSummary summary = summarizeQdq(c->fast.steps());
  EXPECT_EQ(summary.qconv_steps, 3);
  ASSERT_EQ(summary.float_convs.size(), 1u);
  EXPECT_EQ(summary.float_convs[0], "kept");
}

TEST(QdqFusion, ReferenceOnlyAndUnfusedPlansKeepTheQdqGraph) {
  const QdqGraph g = buildQdqGraph();
  for (bool reference_only : {true, false}) {
    EngineOptions o;
    o.reference_only = reference_only;
    o.fuse = reference_only;  // reference_only alone, then fuse = false alone
    Result<Plan> plan = Engine::compile(g.model, o);
    ASSERT_TRUE(plan.isOk()) << plan.status().message();
    for (const StepInfo& s : plan->steps()) EXPECT_NE(s.op_type, "QConv") << s.name;
  }
}

// Q -> DQ -> elementwise chain -> Q -> DQ for u8 and s8 codes: each chain between a DQ and its
// Q becomes one QLut whose table the reference kernels computed, so the fused plan's integers
// equal the unfused reference graph's exactly, for every one of the 256 codes.
TEST(QdqFusion, ActivationChainsBetweenDequantizeAndQuantizeBecomeTables) {
  GraphBuilder b("tables", 17);
  const std::string x = b.input("x", DType::kFloat32, {1, 6, 9, 11});
  auto scalar = [&](const std::string& name, float v) {
    return b.constant(name, Tensor::fromVector<float>(DType::kFloat32, {}, {v}));
  };
  auto qdq = [&](const std::string& t, float scale, int zp, bool s8) {
    const std::string s = scalar(t + "_s", scale);
    const std::string z = s8 ? b.constant(t + "_z", Tensor::fromVector<int8_t>(DType::kInt8, {}, {static_cast<int8_t>(zp)}))
                             : b.constant(t + "_z", Tensor::fromVector<uint8_t>(DType::kUInt8, {}, {static_cast<uint8_t>(zp)}));
    return b.node("DequantizeLinear", {b.node("QuantizeLinear", {t, s, z}), s, z}, {}, t + "_dq");
  };
  const std::string a = qdq(x, 8.0f / 255.0f, 128, false);
  // SiLU (u8 -> u8), HardSwish written out with scalar constants (u8 -> u8), Tanh on s8 codes.
  b.output(qdq(b.node("Mul", {a, b.node("Sigmoid", {a})}, {}, "silu"), 0.021f, 13, false));
  const std::string clip = b.node("Clip", {b.node("Add", {a, scalar("three", 3.0f)}), scalar("zero", 0.0f), scalar("six", 6.0f)});
  b.output(qdq(b.node("Div", {b.node("Mul", {a, clip}), scalar("six2", 6.0f)}, {}, "hswish"), 0.017f, 20, false));
  const std::string a8 = qdq(b.node("Identity", {x}, {}, "x8"), 6.0f / 127.0f, 0, true);
  b.output(qdq(b.node("Tanh", {a8}, {}, "tanh"), 1.0f / 127.0f, 0, true));
  // Not tables: a chain whose Sigmoid is also a graph output, and one read by a float op.
  const std::string sig = b.node("Sigmoid", {a}, {}, "sig_out");
  b.output(sig);
  b.output(qdq(b.node("Mul", {a, sig}, {}, "leaky_silu"), 0.021f, 13, false));
  b.output(b.node("Exp", {a}, {}, "exp_out"));
  const Model m = b.build();

  // Every u8 code appears (x spans the u8 range and beyond), and s8 codes -105..105.
  Tensor in(DType::kFloat32, {1, 6, 9, 11});
  for (int64_t i = 0; i < in.numel(); ++i) {
    in.mutableData<float>()[i] = -5.0f + 10.0f * static_cast<float>(i % 300) / 299.0f;
  }
  Result<Compared> c = compileAndCompare(m, {in});
  ASSERT_TRUE(c.isOk()) << c.status().message();
  for (size_t i = 0; i < c->fast_out.size(); ++i) {
    const std::string& name = c->fast.outputNames()[i];
    // The dequantized outputs exactly; the float ones (Sigmoid, Exp on fast float kernels) within
    // a few ulps.
    const float bound = name.ends_with("_dq") ? 0.0f : 1e-6f;
    EXPECT_LE(maxAbsDiff(c->fast_out[i], c->ref_out[i]), bound) << name;
  }
  std::vector<std::string> tables;
  for (const StepInfo& s : c->fast.steps()) {
    if (s.op_type != "QLut") continue;
    tables.push_back(s.fused);
    EXPECT_EQ(s.kernel, "x8_table_lookup") << s.name;
  }
  EXPECT_EQ(tables, (std::vector<std::string>{"DQ+Sigmoid+Mul+Q", "DQ+Add+Clip+Mul+Div+Q", "DQ+Tanh+Q"}));
  EXPECT_EQ(summarizeQdq(c->fast.steps()).table_steps, 3);
}

// The table kernel on the AVX-512 VBMI path and the scalar path (a CPU without VBMI), in place,
// at lengths around the 64-byte vector and the parallel threshold, for u8 and s8 tables.
TEST(QdqFusion, TableKernelMatchesTheReferenceOnEveryPath) {
  for (int64_t y_type : {2, 3}) {
    std::vector<int64_t> table(256);
    for (int i = 0; i < 256; ++i) table[static_cast<size_t>(i)] = y_type == 2 ? (i * 37 + 11) % 256 : (i * 53 + 7) % 256 - 128;
    Node node;
    node.name = "lut";
    node.domain = "detslim";
    node.op_type = "QLut";
    node.setAttr(Attribute::makeInts("table", table));
    node.setAttr(Attribute::makeInt("y_type", y_type));
    const DType out = y_type == 2 ? DType::kUInt8 : DType::kInt8;
    for (int64_t n : {1, 63, 64, 65, 200, 70001}) {
      for (bool vbmi : {true, false}) {
        CpuFeatures cpu = CpuFeatures::host();
        if (vbmi && !cpu.avx512_vbmi) continue;
        cpu.avx512_vbmi = vbmi;
        NodeContext ctx;
        ctx.node = &node;
        ctx.inputs = {ValueDesc{DType::kUInt8, {n}}};
        ctx.outputs = {ValueDesc{out, {n}}};
        ctx.constants = {nullptr};
        ctx.cpu = cpu;
        ctx.num_threads = 2;
        std::string why_not;
        Result<std::unique_ptr<Kernel>> k = makeFastQLut(ctx, &why_not);
        ASSERT_TRUE(k.isOk() && *k) << why_not;
        EXPECT_EQ((*k)->detail(), vbmi ? "avx512_vbmi" : "scalar");
        EXPECT_EQ((*k)->inPlaceInput(), 0);
        std::vector<uint8_t> data(static_cast<size_t>(n));
        std::mt19937 rng(static_cast<uint32_t>(n));
        for (uint8_t& v : data) v = static_cast<uint8_t>(rng());
        const std::vector<uint8_t> original = data;
        const void* ins[] = {data.data()};
        void* outs[] = {data.data()};  // in place
        (*k)->run(KernelArgs{{ins, 1}, {outs, 1}, nullptr});
        for (int64_t i = 0; i < n; ++i) {
          ASSERT_EQ(data[static_cast<size_t>(i)], static_cast<uint8_t>(table[original[static_cast<size_t>(i)]] & 0xff))
              << "n " << n << " i " << i << (vbmi ? " vbmi" : " scalar");
        }
      }
    }
  }
}

// yolov5n made a QDQ model by core/quant (scale table from two random inputs, min-max), then
// run on the integer path against the same QDQ model on reference kernels.
TEST(QdqFusion, Yolov5nQdqModelFromCoreQuant) {
  DETSLIM_REQUIRE_TEST_DATA();
  const auto path = testing::testDataDir() / "models" / "yolov5n_fp32.onnx";
  Result<Model> fp32 = loadModel(path);
  ASSERT_TRUE(fp32.isOk()) << fp32.status().message();
  quant::QuantOptions options;
  options.calibrator = quant::Calibrator::kMinMax;
  options.keep_fp32 = quant::defaultKeepFp32(*fp32);
  Result<quant::QuantizationPlan> plan = quant::planQuantization(*fp32, options.keep_fp32);
  ASSERT_TRUE(plan.isOk()) << plan.status().message();
  Result<quant::ActivationObserver> observer = quant::ActivationObserver::create(*fp32, plan->tensors(), EngineOptions{});
  ASSERT_TRUE(observer.isOk()) << observer.status().message();
  const Shape input_shape = {1, 3, 640, 640};
  for (uint32_t seed : {1u, 2u}) {
    ASSERT_TRUE(observer->observe(std::vector<Tensor>{randomTensor(input_shape, seed, 0.0f, 1.0f)}).isOk());
  }
  Result<quant::ScaleTable> table = quant::buildScaleTable(*observer, *plan, options);
  ASSERT_TRUE(table.isOk()) << table.status().message();
  Result<quant::QuantizedModel> qdq = quant::quantizeModel(*fp32, *table, options);
  ASSERT_TRUE(qdq.isOk()) << qdq.status().message();

  const Tensor input = randomTensor(input_shape, 3, 0.0f, 1.0f);
  Result<Compared> c = compileAndCompare(qdq->model, {input});
  ASSERT_TRUE(c.isOk()) << c.status().message();
  Result<Plan> float_plan = Engine::compile(*fp32);
  ASSERT_TRUE(float_plan.isOk()) << float_plan.status().message();
  ASSERT_TRUE(float_plan->run(std::vector<Tensor>{input}).isOk());
  const Tensor& f32_out = float_plan->output(0);
  const QdqPlanSummary summary = summarizeQdq(c->fast.steps());
  EXPECT_EQ(summary.qconv_steps, static_cast<int>(plan->quantized_convs.size()));
  EXPECT_EQ(summary.float_convs.size(), plan->kept_convs.size());
  // The 48 SiLUs after a quantized pre-activation run as tables.
  EXPECT_EQ(summary.table_steps, static_cast<int>(plan->pre_activations.size()));
  EXPECT_EQ(summary.table_steps, 48);
  // The Detect output (boxes in pixels, objectness and class scores in [0, 1]): integer rounding
  // flips of single activations move decoded boxes by a few pixels at most; scores stay close.
  const Tensor& fast = c->fast_out[0];
  const Tensor& ref = c->ref_out[0];
  ASSERT_EQ(fast.shape(), ref.shape());
  const int64_t fields = fast.shape().back();
  std::vector<float> box_diffs, score_diffs;
  double fast_vs_f32 = 0.0, ref_vs_f32 = 0.0;  // mean box error of either against the fp32 model
  for (int64_t i = 0; i < fast.numel(); ++i) {
    const float d = std::fabs(fast.data<float>()[i] - ref.data<float>()[i]);
    (i % fields < 4 ? box_diffs : score_diffs).push_back(d);
    if (i % fields < 4) {
      fast_vs_f32 += std::fabs(fast.data<float>()[i] - f32_out.data<float>()[i]);
      ref_vs_f32 += std::fabs(ref.data<float>()[i] - f32_out.data<float>()[i]);
    }
  }
  fast_vs_f32 /= static_cast<double>(box_diffs.size());
  ref_vs_f32 /= static_cast<double>(box_diffs.size());
  auto quantile = [](std::vector<float> v, double q) {
    std::sort(v.begin(), v.end());
    return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1))];
  };
  double box_mean = 0.0;
  for (float d : box_diffs) box_mean += d;
  box_mean /= static_cast<double>(box_diffs.size());
  const float box_p999 = quantile(box_diffs, 0.999), box_max = quantile(box_diffs, 1.0);
  const float score_p999 = quantile(score_diffs, 0.999), score_max = quantile(score_diffs, 1.0);
  std::printf("[ measured ] yolov5n QDQ: %d QConv (%d integer output), %zu f32 conv, %d Q + %d DQ left; "
              "|fast - ref| box mean %.3g / p99.9 %.3g / max %.3g px, score p99.9 %.3g / max %.3g; "
              "mean box error vs fp32: fast %.3g, ref %.3g px\n",
              summary.qconv_steps, summary.qconv_integer_output, summary.float_convs.size(), summary.quantize_steps,
              summary.dequantize_steps, box_mean, box_p999, box_max, score_p999, score_max, fast_vs_f32, ref_vs_f32);
  // Integer rounding flips (the reference rounds float sums, QConv exact integer sums) move single
  // activations by one step; through ~50 layers and the box decode (wh = (2 sigmoid)^2 anchor)
  // they move boxes by 0.37 px on average, a few by up to 18 px (measured). The integer path is
  // as close to the fp32 model as the QDQ reference is (0.668 px both); a wrong scale, zero point
  // or wiring would move every box.
  EXPECT_LE(box_mean, 1.0);
  EXPECT_LE(box_p999, 16.0f);
  EXPECT_LE(box_max, 40.0f);
  EXPECT_LE(score_p999, 0.03f);
  EXPECT_LE(fast_vs_f32, 1.2 * ref_vs_f32 + 0.05);
  EXPECT_LE(score_max, 0.1f);
}

}  // namespace
}  // namespace detslim
