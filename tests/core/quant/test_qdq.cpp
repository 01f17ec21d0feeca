// Quantization plans and QDQ models (core/quant/qdq.h): which tensors are quantized, the exact
// QDQ structure of docs/quant.md, and whole detectors that pass the checker, reload, compile and
// run close to f32.

#include "core/quant/qdq.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <set>
#include <unordered_map>

#include <gtest/gtest.h>

#include "core/engine/engine.h"
#include "core/graph/builder.h"
#include "core/onnx/onnx_io.h"
#include "core/quant/observe.h"
#include "core/quant/scale_table.h"
#include "temp_files.h"
#include "test_data.h"

namespace detslim::quant {
namespace {

using detslim::testing::TempDir;
using detslim::testing::testDataDir;

Tensor seeded(Shape shape, uint32_t seed, float lo, float hi) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  Tensor t(DType::kFloat32, std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i) t.mutableData<float>()[i] = dist(rng);
  return t;
}

// x[1,4,8,8] -> conv_a (3x3) -> Relu -> r; r -> MaxPool(3, s1, p1) -> mp; Concat(r, mp) -> c;
// c -> conv_b (1x1) -> b; b -> nearest Resize x2 -> up; up -> conv_head (1x1) -> y (output).
Model smallDetector() {
  GraphBuilder g("small", 17);
  const std::string x = g.input("x", DType::kFloat32, {1, 4, 8, 8});
  const std::string wa = g.constant("wa", seeded({8, 4, 3, 3}, 1, -0.5f, 0.5f));
  const std::string ba = g.constant("ba", seeded({8}, 2, -0.2f, 0.2f));
  const std::string wb = g.constant("wb", seeded({8, 16, 1, 1}, 3, -0.5f, 0.5f));
  const std::string bb = g.constant("bb", seeded({8}, 4, -0.2f, 0.2f));
  const std::string wh = g.constant("wh", seeded({6, 8, 1, 1}, 5, -0.5f, 0.5f));
  const std::string bh = g.constant("bh", seeded({6}, 6, -0.2f, 0.2f));
  const std::string scales = g.constant("scales", Tensor::fromVector(DType::kFloat32, {4}, std::vector<float>{1, 1, 2, 2}));
  const std::string a = g.node("Conv", {x, wa, ba}, {Attribute::makeInts("pads", {1, 1, 1, 1})}, "a");
  const std::string r = g.node("Relu", {a}, {}, "r");
  const std::string mp = g.node("MaxPool", {r},
                                {Attribute::makeInts("kernel_shape", {3, 3}), Attribute::makeInts("pads", {1, 1, 1, 1})},
                                "mp");
  const std::string c = g.node("Concat", {r, mp}, {Attribute::makeInt("axis", 1)}, "c");
  const std::string b = g.node("Conv", {c, wb, bb}, {}, "b");
  const std::string up = g.node("Resize", {b, "", scales}, {Attribute::makeString("mode", "nearest")}, "up");
  const std::string y = g.node("Conv", {up, wh, bh}, {}, "y");
  g.output(y, DType::kFloat32, {1, 6, 16, 16}, true);
  Model m = g.build();
  for (Node& n : m.graph.nodes) {
    if (n.op_type == "Conv") n.name = "conv_" + n.outputs[0];
  }
  return m;
}

// A table from `images` seeded uniform inputs observed on the model.
ScaleTable calibrate(const Model& m, const QuantizationPlan& plan, const QuantOptions& o, int images,
                     Shape shape) {
  Result<ActivationObserver> obs = ActivationObserver::create(m, plan.tensors(), {});
  EXPECT_TRUE(obs.isOk()) << obs.status().message();
  for (int i = 0; i < images; ++i) {
    const Tensor in = seeded(shape, 100 + static_cast<uint32_t>(i), 0.0f, 1.0f);
    EXPECT_TRUE(obs->observe({&in, 1}).isOk());
  }
  Result<ScaleTable> t = buildScaleTable(*obs, plan, o);
  EXPECT_TRUE(t.isOk()) << t.status().message();
  return *t;
}

const Node* producerOf(const Graph& g, const std::string& v) {
  for (const Node& n : g.nodes) {
    if (std::find(n.outputs.begin(), n.outputs.end(), v) != n.outputs.end()) return &n;
  }
  return nullptr;
}

std::vector<const Node*> readersOf(const Graph& g, const std::string& v) {
  std::vector<const Node*> r;
  for (const Node& n : g.nodes) {
    if (std::find(n.inputs.begin(), n.inputs.end(), v) != n.inputs.end()) r.push_back(&n);
  }
  return r;
}

// Checks the docs/quant.md structure: one Q -> DQ pair per planned tensor, every former reader
// of T reads T's DQ, quantized Convs read DQ(int8, axis 0) weights and DQ(int32, axis 0) biases
// sized [O], kept Convs read f32 initializers, graph inputs and outputs stay f32.
void expectQdqStructure(const Model& q, const QuantizationPlan& plan, const ScaleTable& table) {
  const Graph& g = q.graph;
  EXPECT_GE(q.opsetVersion(""), 13);
  for (const std::string& t : plan.tensors()) {
    const std::vector<const Node*> readers = readersOf(g, t);
    int quantizers = 0;
    for (const Node* n : readers) {
      if (n->op_type == "QuantizeLinear") ++quantizers;
      else ADD_FAILURE() << t << " is still read by " << n->describe();
    }
    ASSERT_EQ(quantizers, 1) << t;
    const Node* qn = readers.front();
    const ScaleEntry& e = *table.find(t);
    EXPECT_EQ(g.initializer(qn->inputs[1])->data<float>()[0], e.scale) << t;
    EXPECT_EQ(g.initializer(qn->inputs[2])->dtype(), e.dtype) << t;
    EXPECT_EQ(g.initializer(qn->inputs[2])->shape(), Shape{}) << t;
    const std::vector<const Node*> dq = readersOf(g, qn->outputs[0]);
    ASSERT_EQ(dq.size(), 1u) << t;
    EXPECT_EQ(dq[0]->op_type, "DequantizeLinear") << t;
    EXPECT_EQ(dq[0]->inputs[1], qn->inputs[1]) << t;
    EXPECT_EQ(dq[0]->inputs[2], qn->inputs[2]) << t;
  }
  const std::set<std::string> kept(plan.kept_convs.begin(), plan.kept_convs.end());
  for (const Node& n : g.nodes) {
    if (n.op_type != "Conv") continue;
    if (kept.count(n.name)) {
      ASSERT_NE(g.initializer(n.inputs[1]), nullptr) << n.name;
      EXPECT_EQ(g.initializer(n.inputs[1])->dtype(), DType::kFloat32) << n.name;
      continue;
    }
    const Node* x = producerOf(g, n.inputs[0]);
    ASSERT_NE(x, nullptr) << n.name;
    EXPECT_EQ(x->op_type, "DequantizeLinear") << n.name;
    const Node* w = producerOf(g, n.inputs[1]);
    ASSERT_NE(w, nullptr) << n.name;
    ASSERT_EQ(w->op_type, "DequantizeLinear") << n.name;
    EXPECT_EQ(w->intOr("axis", 1), 0) << n.name;
    const Tensor& wq = *g.initializer(w->inputs[0]);
    EXPECT_EQ(wq.dtype(), DType::kInt8) << n.name;
    const Tensor& ws = *g.initializer(w->inputs[1]);
    EXPECT_EQ(ws.shape(), Shape{wq.shape()[0]}) << n.name;
    EXPECT_EQ(g.initializer(w->inputs[2])->dtype(), DType::kInt8) << n.name;
    EXPECT_EQ(g.initializer(w->inputs[2])->countZeros(), wq.shape()[0]) << n.name;
    // Symmetric per channel: the largest |W_q| of a channel is 127 (unless the bias widened it).
    const int64_t per = wq.numel() / wq.shape()[0];
    for (int64_t o = 0; o < wq.shape()[0]; ++o) {
      int m = 0;
      for (int64_t k = 0; k < per; ++k) m = std::max(m, std::abs(static_cast<int>(wq.data<int8_t>()[o * per + k])));
      EXPECT_LE(m, 127) << n.name;
    }
    if (n.input(2).empty()) continue;
    const Node* b = producerOf(g, n.inputs[2]);
    ASSERT_NE(b, nullptr) << n.name;
    ASSERT_EQ(b->op_type, "DequantizeLinear") << n.name;
    EXPECT_EQ(b->intOr("axis", 1), 0) << n.name;
    EXPECT_EQ(g.initializer(b->inputs[0])->dtype(), DType::kInt32) << n.name;
    EXPECT_EQ(g.initializer(b->inputs[2])->dtype(), DType::kInt32) << n.name;
    // Bias scale = s_x * s_w[o].
    const float sx = g.initializer(x->inputs[1])->data<float>()[0];
    const Tensor& bs = *g.initializer(b->inputs[1]);
    for (int64_t o = 0; o < bs.numel(); ++o) EXPECT_EQ(bs.data<float>()[o], sx * ws.data<float>()[o]) << n.name;
  }
  for (const ValueInfo& v : g.inputs) {
    if (!g.isInitializer(v.name)) {
      EXPECT_EQ(v.type.dtype, DType::kFloat32) << v.name;
    }
  }
  for (const ValueInfo& v : g.outputs) {
    const Node* p = producerOf(g, v.name);
    ASSERT_NE(p, nullptr);
    EXPECT_NE(p->op_type, "QuantizeLinear") << v.name;
  }
}

// mean |a - b| / mean |b| over one output.
double relativeMeanError(const Tensor& a, const Tensor& b) {
  double diff = 0, ref = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    diff += std::fabs(static_cast<double>(a.data<float>()[i]) - b.data<float>()[i]);
    ref += std::fabs(static_cast<double>(b.data<float>()[i]));
  }
  return diff / std::max(ref, 1e-30);
}

// max |a - b| / max |b| over one output.
double relativeMaxError(const Tensor& a, const Tensor& b) {
  double diff = 0, ref = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    diff = std::max(diff, std::fabs(static_cast<double>(a.data<float>()[i]) - b.data<float>()[i]));
    ref = std::max(ref, std::fabs(static_cast<double>(b.data<float>()[i])));
  }
  return diff / std::max(ref, 1e-30);
}

TEST(Qdq, DefaultKeepIsFirstConvAndHeadConvs) {
  EXPECT_EQ(defaultKeepFp32(smallDetector()), (std::vector<std::string>{"conv_a", "conv_y"}));
}

TEST(Qdq, PlanJoinsScalePreservingOps) {
  const Model m = smallDetector();
  Result<QuantizationPlan> def = planQuantization(m, defaultKeepFp32(m));
  ASSERT_TRUE(def.isOk()) << def.status().message();
  EXPECT_EQ(def->quantized_convs, std::vector<std::string>{"conv_b"});
  EXPECT_EQ(def->kept_convs, (std::vector<std::string>{"conv_a", "conv_y"}));
  // conv_b reads c = Concat(r, MaxPool(r)): one group. The Resize after conv_b feeds only the
  // kept head conv: not quantized.
  ASSERT_EQ(def->tensor_groups.size(), 1u);
  EXPECT_EQ(def->tensor_groups[0], (std::vector<std::string>{"r", "mp", "c"}));

  Result<QuantizationPlan> all = planQuantization(m, {});
  ASSERT_TRUE(all.isOk());
  EXPECT_EQ(all->quantized_convs.size(), 3u);
  EXPECT_TRUE(all->kept_convs.empty());
  EXPECT_EQ(all->tensor_groups, (std::vector<std::vector<std::string>>{{"x"}, {"r", "mp", "c"}, {"b", "up"}}));
  EXPECT_EQ(all->tensors(), (std::vector<std::string>{"x", "r", "mp", "c", "b", "up"}));

  Result<QuantizationPlan> bad = planQuantization(m, {"conv_a", "conv_zz"});
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(bad.status().message().find("'conv_zz'"), std::string::npos) << bad.status().message();
}

TEST(Qdq, SmallModelStructureAndAccuracy) {
  const Model m = smallDetector();
  for (ActivationType a : {ActivationType::kU8Asymmetric, ActivationType::kS8Symmetric}) {
    QuantOptions o;
    o.activations = a;
    o.calibrator = Calibrator::kMinMax;
    Result<QuantizationPlan> plan = planQuantization(m, o.keep_fp32);
    ASSERT_TRUE(plan.isOk());
    const ScaleTable table = calibrate(m, *plan, o, 3, {1, 4, 8, 8});
    // The group shares one entry: r, mp, c have the same parameters (the union of ranges).
    EXPECT_EQ(table.find("r")->scale, table.find("c")->scale);
    EXPECT_EQ(table.find("mp")->zero_point, table.find("c")->zero_point);
    Result<QuantizedModel> q = quantizeModel(m, table, o);
    ASSERT_TRUE(q.isOk()) << q.status().message();
    expectQdqStructure(q->model, *plan, table);
    EXPECT_EQ(q->report.quantized_tensors, 6);
    int quantize = 0, dequantize = 0;
    for (const Node& n : q->model.graph.nodes) {
      quantize += n.op_type == "QuantizeLinear";
      dequantize += n.op_type == "DequantizeLinear";
    }
    EXPECT_EQ(quantize, 6);
    EXPECT_EQ(dequantize, 6 + 3 + 3);  // activations, weights, biases
    // Weight bytes: int8 weights and int32 biases instead of f32 (plus scales).
    EXPECT_LT(q->report.weight_bytes_after, q->report.weight_bytes_before / 2);

    EngineOptions ref;
    ref.reference_only = true;
    Result<Plan> fp = Engine::compile(m, ref);
    Result<Plan> qp = Engine::compile(q->model, ref);
    ASSERT_TRUE(fp.isOk() && qp.isOk()) << qp.status().message();
    const Tensor in = seeded({1, 4, 8, 8}, 100, 0.0f, 1.0f);  // an input calibration saw
    ASSERT_TRUE(fp->run({&in, 1}).isOk());
    ASSERT_TRUE(qp->run({&in, 1}).isOk());
    // Three 8-bit layers with minmax ranges on the calibration input itself: a few steps.
    constexpr double kSmallModelRelError = 0.03;
    EXPECT_LT(relativeMaxError(qp->output(0), fp->output(0)), kSmallModelRelError) << activationTypeName(a);
  }
}

TEST(Qdq, BatchNormIsFoldedFirst) {
  GraphBuilder g("bn", 17);
  const std::string x = g.input("x", DType::kFloat32, {1, 3, 6, 6});
  const std::string w1 = g.constant("w1", seeded({4, 3, 3, 3}, 7, -1, 1));
  const std::string w2 = g.constant("w2", seeded({2, 4, 1, 1}, 8, -1, 1));
  const std::string sc = g.constant("bn_scale", seeded({4}, 9, 0.5f, 1.5f));
  const std::string bi = g.constant("bn_bias", seeded({4}, 10, -0.5f, 0.5f));
  const std::string mu = g.constant("bn_mean", seeded({4}, 11, -0.5f, 0.5f));
  const std::string va = g.constant("bn_var", seeded({4}, 12, 0.5f, 1.5f));
  const std::string h = g.node("Conv", {x, w1}, {}, "h");
  const std::string n = g.node("BatchNormalization", {h, sc, bi, mu, va}, {}, "n");
  const std::string s = g.node("Relu", {n}, {}, "s");
  const std::string y = g.node("Conv", {s, w2}, {}, "y");
  g.output(y, DType::kFloat32, {1, 2, 4, 4}, true);
  Model m = g.build();
  QuantOptions o;
  Result<QuantizationPlan> plan = planQuantization(m, {});
  ASSERT_TRUE(plan.isOk()) << plan.status().message();
  EXPECT_EQ(plan->tensors(), (std::vector<std::string>{"x", "s"}));
  const ScaleTable table = calibrate(m, *plan, o, 2, {1, 3, 6, 6});
  Result<QuantizedModel> q = quantizeModel(m, table, o);
  ASSERT_TRUE(q.isOk()) << q.status().message();
  for (const Node& node : q->model.graph.nodes) EXPECT_NE(node.op_type, "BatchNormalization");
  // The folded conv got a bias, quantized to int32.
  expectQdqStructure(q->model, *plan, table);
  Result<Plan> run = Engine::compile(q->model, {});
  ASSERT_TRUE(run.isOk()) << run.status().message();
}

TEST(Qdq, TableMustCoverThePlan) {
  const Model m = smallDetector();
  QuantOptions o;
  o.keep_fp32 = defaultKeepFp32(m);
  Result<QuantizationPlan> plan = planQuantization(m, o.keep_fp32);
  ASSERT_TRUE(plan.isOk());
  const ScaleTable table = calibrate(m, *plan, o, 1, {1, 4, 8, 8});
  // A table made with the default keep list serves a plan that keeps more...
  QuantOptions more = o;
  more.keep_fp32.push_back("conv_b");
  Result<QuantizedModel> all_kept = quantizeModel(m, table, more);
  ASSERT_TRUE(all_kept.isOk()) << all_kept.status().message();
  EXPECT_EQ(all_kept->report.quantized_tensors, 0);
  // ...but not one that quantizes tensors it never saw.
  QuantOptions none;
  Result<QuantizedModel> q = quantizeModel(m, table, none);
  ASSERT_FALSE(q.isOk());
  EXPECT_NE(q.status().message().find("'x'"), std::string::npos) << q.status().message();
  EXPECT_NE(q.status().message().find("'up'"), std::string::npos) << q.status().message();
}

// Largest differences between the int8 and the f32 outputs of a YOLOv5 model ([1, rows, 85]).
struct HeadDiff {
  double score = 0, box_max = 0, box_mean = 0, box_ref = 0;
};

HeadDiff headDiff(const Tensor& a, const Tensor& b) {
  HeadDiff d;
  double box_sum = 0;
  const int64_t rows = a.numel() / 85;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < 85; ++c) {
      const double e = std::fabs(static_cast<double>(a.data<float>()[r * 85 + c]) - b.data<float>()[r * 85 + c]);
      if (c < 4) {
        d.box_max = std::max(d.box_max, e);
        box_sum += e;
        d.box_ref = std::max(d.box_ref, std::fabs(static_cast<double>(b.data<float>()[r * 85 + c])));
      } else {
        d.score = std::max(d.score, e);
      }
    }
  }
  d.box_mean = box_sum / static_cast<double>(rows * 4);
  return d;
}

// YOLOv5n: the default plan, a table from random-input observations, and a QDQ model that passes
// the checker, reloads, compiles on reference kernels and stays close to f32 — with the conv
// outputs before SiLU quantized too (the default) and without.
TEST(Qdq, Yolov5nQuantizedRunsCloseToFp32) {
  DETSLIM_REQUIRE_TEST_DATA();
  Result<Model> m = loadModel(testDataDir() / "models" / "yolov5n_fp32.onnx");
  ASSERT_TRUE(m.isOk()) << m.status().message();
  QuantOptions o;
  o.keep_fp32 = defaultKeepFp32(*m);
  EXPECT_EQ(o.keep_fp32, (std::vector<std::string>{"/model.0/conv/Conv", "/model.24/m.0/Conv",
                                                   "/model.24/m.1/Conv", "/model.24/m.2/Conv"}));
  Result<QuantizationPlan> plan = planQuantization(*m, o.keep_fp32);
  ASSERT_TRUE(plan.isOk()) << plan.status().message();
  EXPECT_EQ(plan->quantized_convs.size(), 56u);
  EXPECT_EQ(plan->kept_convs.size(), 4u);
  EXPECT_TRUE(plan->notes.empty());
  size_t largest = 0;
  for (const auto& group : plan->tensor_groups) largest = std::max(largest, group.size());
  std::printf("yolov5n plan: %zu quantized tensors in %zu groups (largest %zu)\n", plan->tensors().size(),
              plan->tensor_groups.size(), largest);
  // 74 conv inputs and movement-op tensors in 44 groups, plus the outputs of the 48 quantized
  // convs whose SiLU feeds a quantized tensor (not the 7 of the residual blocks, whose SiLU feeds
  // an Add, nor model.23/cv3, read by a kept Detect conv), one group each.
  EXPECT_EQ(plan->pre_activations.size(), 48u);
  EXPECT_EQ(plan->tensors().size(), 74u + 48u);
  EXPECT_EQ(plan->tensor_groups.size(), 44u + 48u);
  const std::vector<std::string> pre = plan->preActivationTensors();
  EXPECT_NE(std::find(pre.begin(), pre.end(), "/model.1/conv/Conv_output_0"), pre.end());
  Result<QuantizationPlan> without = planQuantization(*m, o.keep_fp32, /*pre_activations=*/false);
  ASSERT_TRUE(without.isOk()) << without.status().message();
  EXPECT_TRUE(without->pre_activations.empty());
  EXPECT_EQ(without->tensors().size(), 74u);
  EXPECT_EQ(without->tensor_groups.size(), 44u);
  const ScaleTable table = calibrate(*m, *plan, o, 2, {1, 3, 640, 640});
  EXPECT_EQ(table.entries.size(), plan->tensors().size());

  EngineOptions ref;
  ref.reference_only = true;
  Result<Plan> fp = Engine::compile(*m, ref);
  ASSERT_TRUE(fp.isOk()) << fp.status().message();
  const Tensor in = seeded({1, 3, 640, 640}, 999, 0.0f, 1.0f);  // not a calibration input
  ASSERT_TRUE(fp->run({&in, 1}).isOk());
  for (bool pre : {false, true}) {
    SCOPED_TRACE(pre ? "pre-activations int8" : "pre-activations f32");
    o.pre_activations = pre;
    Result<QuantizedModel> q = quantizeModel(*m, table, o);
    ASSERT_TRUE(q.isOk()) << q.status().message();
    expectQdqStructure(q->model, pre ? *plan : *without, table);
    EXPECT_EQ(q->report.pre_activation_tensors, pre ? 48 : 0);
    EXPECT_TRUE(checkModel(q->model).isOk());
    // Weights: 56 convs int8 (a quarter), 4 kept convs f32 (118 k of 1.87 M parameters), scales.
    const double ratio = static_cast<double>(q->report.weight_bytes_after) / q->report.weight_bytes_before;
    std::printf("yolov5n weights: %lld -> %lld bytes (%.3f)\n", static_cast<long long>(q->report.weight_bytes_before),
                static_cast<long long>(q->report.weight_bytes_after), ratio);
    EXPECT_GT(ratio, 0.25);
    EXPECT_LT(ratio, 0.33);

    TempDir dir("detslim-qdq");
    ASSERT_TRUE(saveModel(q->model, dir / "yolov5n_int8.onnx").isOk());
    Result<Model> reloaded = loadModel(dir / "yolov5n_int8.onnx");
    ASSERT_TRUE(reloaded.isOk()) << reloaded.status().message();
    Result<Plan> qp = Engine::compile(*reloaded, ref);
    ASSERT_TRUE(qp.isOk()) << qp.status().message();
    ASSERT_TRUE(qp->run({&in, 1}).isOk());
    ASSERT_EQ(qp->output(0).shape(), fp->output(0).shape());
    // Columns: cx, cy, w, h (pixels), objectness and 80 class scores (sigmoids).
    const HeadDiff d = headDiff(qp->output(0), fp->output(0));
    std::printf("yolov5n int8 (reference kernels, pre-activations %s) vs f32: max |score diff| %.4f, box diff "
                "max %.2f px, mean %.3f px (max |box| %.1f)\n",
                pre ? "int8" : "f32", d.score, d.box_max, d.box_mean, d.box_ref);
    // Bounds for two random-noise calibration images and a third as input. Measured: scores 0.065,
    // boxes max 32.6 px = 4.9 % of the largest box, mean 0.71 px; with the pre-activations
    // quantized (one more rounding per SiLU layer, ranges narrowed) 0.085, 27.3 px = 4.1 %,
    // 0.81 px. Width / height pass through (2 sigmoid)^2 * anchor, which magnifies an error of the
    // head conv's input on large anchors. On real images: docs/quant.md.
    const double score_bound = pre ? 0.12 : 0.1;  // sigmoid outputs: of the [0, 1] range
    constexpr double kBoxRelBound = 0.08;         // of the largest box coordinate
    constexpr double kBoxMeanBound = 1.0;         // pixels at 640
    EXPECT_LT(d.score, score_bound);
    EXPECT_LT(d.box_max / d.box_ref, kBoxRelBound);
    EXPECT_LT(d.box_mean, kBoxMeanBound);
  }
  // A table calibrated without the pre-activations (or by a DetSlim before them) still
  // quantizes the model: those activations stay in the convolutions, and a note says so.
  ScaleTable old = table;
  std::erase_if(old.entries, [&](const ScaleEntry& e) {
    return std::find(pre.begin(), pre.end(), e.tensor) != pre.end();
  });
  ASSERT_EQ(old.entries.size(), 74u);
  o.pre_activations = true;
  Result<QuantizedModel> from_old = quantizeModel(*m, old, o);
  ASSERT_TRUE(from_old.isOk()) << from_old.status().message();
  EXPECT_EQ(from_old->report.pre_activation_tensors, 0);
  ASSERT_FALSE(from_old->report.notes.empty());
  EXPECT_NE(from_old->report.notes.back().find("no range for 48 conv output(s)"), std::string::npos)
      << from_old->report.notes.back();
}

// A pre-activation's range is cut to where SiLU's quantized output still changes (below about
// -6.2 every value gives the output's zero point, above about 6.0 its top code), one step short
// of those points, which cuts the output code error of a uniform spread of values by two thirds.
// A range already inside loses only the part of its end run that gives one output code.
TEST(Qdq, PreActivationRangeIsNarrowedToWhereTheActivationChanges) {
  GraphBuilder b("pre", 17);
  const std::string x = b.input("x", DType::kFloat32, {1, 2, 4, 4});
  const std::string c1 = b.node("Conv", {x, b.constant("w1", seeded({3, 2, 1, 1}, 1, -1.0f, 1.0f))}, {}, "c1");
  const std::string silu = b.node("Mul", {c1, b.node("Sigmoid", {c1})}, {}, "silu");
  b.output(b.node("Conv", {silu, b.constant("w2", seeded({2, 3, 1, 1}, 2, -1.0f, 1.0f))}, {}, "y"));
  const Model m = b.build();
  Result<QuantizationPlan> plan = planQuantization(m, {});
  ASSERT_TRUE(plan.isOk()) << plan.status().message();
  ASSERT_EQ(plan->pre_activations.size(), 1u);
  EXPECT_EQ(plan->pre_activations[0].tensor, "c1");
  EXPECT_EQ(plan->pre_activations[0].activation, "silu");

  auto entry = [](const std::string& name, double lo, double hi) {
    const QuantParams q = quantParams({lo, hi}, ActivationType::kU8Asymmetric);
    ScaleEntry e;
    e.tensor = name;
    e.scale = q.scale;
    e.zero_point = q.zero_point;
    e.dtype = q.dtype;
    e.lo = lo;
    e.hi = hi;
    return e;
  };
  for (const auto& [lo, hi] : {std::pair{-30.0, 8.0}, std::pair{-3.0, 5.0}}) {
    ScaleTable table;
    table.entries = {entry("x", -1.0, 1.0), entry("silu", -0.2785, 6.0), entry("c1", lo, hi)};
    ASSERT_TRUE(narrowPreActivationRanges(*plan, ActivationType::kU8Asymmetric, table).isOk());
    const ScaleEntry& pre = *table.find("c1");
    std::printf("pre-activation [%g, %g] -> [%.4f, %.4f]\n", lo, hi, pre.lo, pre.hi);
    const bool wide = lo == -30.0;
    if (wide) {
      EXPECT_GT(pre.lo, -6.6);
      EXPECT_LT(pre.lo, -6.2);
      EXPECT_GT(pre.hi, 6.0);
      EXPECT_LT(pre.hi, 6.1);
    } else {
      // SiLU(-3) = -0.142 shares its output code with SiLU up to about -2.82 (SiLU falls to its
      // minimum at -1.28): only that run is cut; 5 is below the top code's run.
      EXPECT_GT(pre.lo, -3.0);
      EXPECT_LT(pre.lo, -2.8);
      EXPECT_EQ(pre.hi, 5.0);
    }
    EXPECT_EQ(pre.scale, quantParams({pre.lo, pre.hi}, ActivationType::kU8Asymmetric).scale);
    const QuantParams out = table.find("silu")->params();
    const QuantParams before = entry("c1", lo, hi).params();
    auto siluOf = [](float v) { return v / (1.0f + std::exp(-v)); };
    if (wide) {
      // The narrowed range's extreme codes land in the constant runs of the calibrated ends.
      EXPECT_EQ(quantizeValue(siluOf(fakeQuantize(-1e3f, pre.params())), out),
                quantizeValue(siluOf(static_cast<float>(lo)), out));
      EXPECT_EQ(quantizeValue(siluOf(fakeQuantize(1e3f, pre.params())), out),
                quantizeValue(siluOf(static_cast<float>(hi)), out));
    }
    double err_before = 0, err_after = 0;
    for (int i = 0; i <= 20000; ++i) {
      const float v = static_cast<float>(lo + (hi - lo) * i / 20000.0);
      const int32_t truth = quantizeValue(siluOf(v), out);
      const int32_t a = quantizeValue(siluOf(fakeQuantize(v, before)), out);
      const int32_t n = quantizeValue(siluOf(fakeQuantize(v, pre.params())), out);
      err_before += std::abs(a - truth);
      err_after += std::abs(n - truth);
    }
    std::printf("mean |code error|: calibrated range %.4f, narrowed %.4f\n", err_before / 20001, err_after / 20001);
    // The wide range's error falls by two thirds; the 2 % cut moves the code grid about as much
    // as it refines it (measured 0.2136 vs 0.2117).
    EXPECT_LT(err_after, wide ? 0.5 * err_before : 1.02 * err_before);
  }
}

// NanoDet-m is opset 11: the builder upgrades it to 13 (Split sizes become inputs).
TEST(Qdq, Opset11ModelIsUpgraded) {
  DETSLIM_REQUIRE_TEST_DATA();
  Result<Model> m = loadModel(testDataDir() / "models" / "nanodet_m.onnx");
  ASSERT_TRUE(m.isOk()) << m.status().message();
  ASSERT_EQ(m->opsetVersion(""), 11);
  QuantOptions o;
  o.keep_fp32 = defaultKeepFp32(*m);
  Result<QuantizationPlan> plan = planQuantization(*m, o.keep_fp32);
  ASSERT_TRUE(plan.isOk()) << plan.status().message();
  std::printf("nanodet_m plan: %zu convs int8, %zu kept, %zu tensors\n", plan->quantized_convs.size(),
              plan->kept_convs.size(), plan->tensors().size());
  const ScaleTable table = calibrate(*m, *plan, o, 1, {1, 3, 416, 416});
  Result<QuantizedModel> q = quantizeModel(*m, table, o);
  ASSERT_TRUE(q.isOk()) << q.status().message();
  EXPECT_EQ(q->model.opsetVersion(""), 13);
  for (const Node& n : q->model.graph.nodes) {
    if (n.op_type == "Split") {
      EXPECT_FALSE(n.hasAttr("split")) << n.describe();
    }
  }
  expectQdqStructure(q->model, *plan, table);
  EngineOptions ref;
  ref.reference_only = true;
  Result<Plan> fp = Engine::compile(*m, ref);
  Result<Plan> qp = Engine::compile(q->model, ref);
  ASSERT_TRUE(fp.isOk()) << fp.status().message();
  ASSERT_TRUE(qp.isOk()) << qp.status().message();
  const Tensor in = seeded({1, 3, 416, 416}, 5, 0.0f, 1.0f);
  ASSERT_TRUE(fp->run({&in, 1}).isOk());
  ASSERT_TRUE(qp->run({&in, 1}).isOk());
  ASSERT_EQ(qp->numOutputs(), fp->numOutputs());
  for (size_t i = 0; i < fp->numOutputs(); ++i) {
    const double max_err = relativeMaxError(qp->output(i), fp->output(i));
    const double mean_err = relativeMeanError(qp->output(i), fp->output(i));
    std::printf("nanodet_m output %zu: relative error max %.4f, mean %.4f\n", i, max_err, mean_err);
    // Calibrated on one noise image, run on another: measured max 0.17-0.27, mean 0.07-0.11 (a
    // ShuffleNet backbone whose shuffle Concats share one range). Broken scales or wiring give
    // errors of order 1.
    constexpr double kMaxRelBound = 0.5;
    constexpr double kMeanRelBound = 0.15;
    EXPECT_LT(max_err, kMaxRelBound) << fp->outputNames()[i];
    EXPECT_LT(mean_err, kMeanRelBound) << fp->outputNames()[i];
  }
}

}  // namespace
}  // namespace detslim::quant
