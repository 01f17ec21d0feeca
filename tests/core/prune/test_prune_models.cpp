// Pruning the shared real detectors: every method's output must pass the checker, load, compile
// in the engine and run; R-TOSS's compression ratios are measured and printed (docs/prune.md).

#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <random>

#include <gtest/gtest.h>

#include "core/engine/engine.h"
#include "core/graph/builder.h"
#include "core/onnx/onnx_io.h"
#include "core/prune/ignore.h"
#include "core/prune/prune.h"
#include "core/prune/rtoss.h"
#include "temp_files.h"
#include "test_data.h"

namespace detslim::prune {
namespace {

namespace fs = std::filesystem;
using detslim::testing::testDataDir;

Model loadShared(const std::string& file) {
  Result<Model> m = loadModel(testDataDir() / "models" / file);
  EXPECT_TRUE(m.isOk()) << m.status().message();
  return m.isOk() ? std::move(m).value() : Model{};
}

PruneOptions options(const std::string& method, double sparsity,
                     std::map<std::string, std::string> opts = {}) {
  PruneOptions o;
  o.method = method;
  o.sparsity = sparsity;
  o.opts = std::move(opts);
  return o;
}

// Saves, checks, reloads, compiles and runs the model once on a seeded random image.
void expectRuns(const Model& pruned, const std::string& label) {
  ASSERT_TRUE(checkModel(pruned).isOk()) << label;
  const testing::TempDir dir("detslim-prune");
  ASSERT_TRUE(saveModel(pruned, dir / "pruned.onnx").isOk()) << label;
  Result<Model> reloaded = loadModel(dir / "pruned.onnx");
  ASSERT_TRUE(reloaded.isOk()) << label << ": " << reloaded.status().message();
  EngineOptions eo;
  Result<Plan> plan = Engine::compile(*reloaded, eo);
  ASSERT_TRUE(plan.isOk()) << label << ": " << plan.status().message();
  const ValueDesc& in = plan->inputDescs().at(0);
  Tensor image(DType::kFloat32, in.shape);
  std::mt19937 rng(7767517);
  std::uniform_real_distribution<float> dist(0.0f, 1.0f);
  for (int64_t i = 0; i < image.numel(); ++i) image.mutableData<float>()[i] = dist(rng);
  ASSERT_TRUE(plan->run(std::vector<Tensor>{image}).isOk()) << label;
  const Tensor& out = plan->output(0);
  EXPECT_GT(out.numel(), 0);
  for (float v : out.span<float>()) {
    if (!std::isfinite(v)) {
      ADD_FAILURE() << label << ": non-finite output";
      break;
    }
  }
}

// soft-channel's consumer zeroing must not change what the network computes: the weights it
// zeroes multiply channels that are already all zero. Compare against the same prune with the
// consumer's input-channel weights put back.
TEST(PruneModels, SoftChannelConsumerZeroingKeepsTheOutput) {
  GraphBuilder b("chain", 17);
  std::mt19937 rng(7767517);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  auto weights = [&](Shape shape) {
    Tensor t(DType::kFloat32, std::move(shape));
    for (int64_t i = 0; i < t.numel(); ++i) t.mutableData<float>()[i] = dist(rng);
    return t;
  };
  const std::vector<Attribute> same = {Attribute::makeInts("pads", {1, 1, 1, 1})};
  const std::string x = b.input("x", DType::kFloat32, {1, 5, 12, 12});
  const std::string h = b.node(
      "Conv", {x, b.constant("w1", weights({16, 5, 3, 3})), b.constant("b1", weights({16}))}, same);
  const std::string a = b.node("Mul", {h, b.node("Sigmoid", {h})});
  const std::string p =
      b.node("MaxPool", {a},
             {Attribute::makeInts("kernel_shape", {2, 2}), Attribute::makeInts("strides", {2, 2})});
  const std::string y = b.node(
      "Conv", {p, b.constant("w2", weights({8, 16, 3, 3})), b.constant("b2", weights({8}))}, same);
  b.output(y, DType::kFloat32, {1, 8, 6, 6}, true);
  const Model original = b.build();
  Model pruned = original;
  PruneOptions o = options("soft-channel", 0.25);
  o.protect_detect_head = false;
  Result<PruneReport> r = pruneModel(pruned, o);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  // Reference: conv1 as pruned, conv2 with its own pruned filters zero and every other weight
  // as it was, input channels of zeroed producers included.
  Model reference = pruned;
  const std::vector<float> w2_pruned = pruned.graph.initializer("w2")->toFloatVector();
  Tensor w2 = original.graph.initializer("w2")->clone();
  int own = 0;
  for (int64_t out = 0; out < 8; ++out) {
    bool own_zeroed = true;
    for (int64_t i = 0; i < 144; ++i)
      own_zeroed &= w2_pruned[static_cast<size_t>(out * 144 + i)] == 0.0f;
    if (!own_zeroed) continue;
    ++own;
    for (int64_t i = 0; i < 144; ++i) w2.mutableData<float>()[out * 144 + i] = 0.0f;
  }
  EXPECT_EQ(own, 2);                                                   // round(0.25 * 8)
  EXPECT_GT(pruned.graph.initializer("w2")->countZeros(), own * 144);  // input channels zeroed too
  reference.graph.setInitializer("w2", w2);
  Tensor image(DType::kFloat32, {1, 5, 12, 12});
  for (int64_t i = 0; i < image.numel(); ++i) image.mutableData<float>()[i] = dist(rng);
  EngineOptions eo;
  eo.reference_only = true;
  Result<Plan> plan_pruned = Engine::compile(pruned, eo);
  Result<Plan> plan_reference = Engine::compile(reference, eo);
  ASSERT_TRUE(plan_pruned.isOk() && plan_reference.isOk()) << plan_pruned.status().message();
  ASSERT_TRUE(plan_pruned->run(std::vector<Tensor>{image}).isOk());
  ASSERT_TRUE(plan_reference->run(std::vector<Tensor>{image}).isOk());
  // The zeroed weights multiply exact zeros; the sums differ only in float summation order.
  constexpr float kTolerance = 1e-5f;
  const Tensor& got = plan_pruned->output(0);
  const Tensor& want = plan_reference->output(0);
  ASSERT_EQ(got.numel(), want.numel());
  for (int64_t i = 0; i < got.numel(); ++i) {
    ASSERT_NEAR(got.data<float>()[i], want.data<float>()[i], kTolerance) << i;
  }
}

TEST(PruneModels, EveryMethodAtHalfOnYolov5nRuns) {
  DETSLIM_REQUIRE_TEST_DATA();
  const Model original = loadShared("yolov5n_fp32.onnx");
  for (const std::string& method : methodNames()) {
    Model m = original;
    Result<PruneReport> r = pruneModel(m, options(method, 0.5));
    ASSERT_TRUE(r.isOk()) << method << ": " << r.status().message();
    EXPECT_EQ(r->params_before, 1867405) << method;
    EXPECT_LT(r->nonzero_params_after, r->nonzero_params_before) << method;
    EXPECT_LT(r->effective_macs_after, r->effective_macs_before) << method;
    EXPECT_GT(r->compression_ratio, 1.0) << method;
    // The three Detect convs are left alone by default.
    EXPECT_EQ(r->ignored.size(), 3u) << method;
    std::cout << "[ prune    ] yolov5n_fp32 " << method << " 0.5: non-zero "
              << r->nonzero_params_before << " -> " << r->nonzero_params_after << ", compression "
              << std::fixed << std::setprecision(2) << r->compression_ratio << "x, effective MACs "
              << r->effective_macs_before << " -> " << r->effective_macs_after << "\n";
    expectRuns(m, method);
  }
}

TEST(PruneModels, MagnitudeCountsOnYolov5n) {
  DETSLIM_REQUIRE_TEST_DATA();
  Model m = loadShared("yolov5n_fp32.onnx");
  const std::vector<size_t> heads = detectHeadConvs(m.graph);
  ASSERT_EQ(heads.size(), 3u);
  for (size_t h : heads) EXPECT_NE(m.graph.nodes[h].name.find("/model.24/m."), std::string::npos);
  Result<PruneReport> r = pruneModel(m, options("magnitude", 0.5, {{"scope", "global"}}));
  ASSERT_TRUE(r.isOk()) << r.status().message();
  // Global: exactly round(0.5 * n) of the 57 unprotected conv weights, over all of them together.
  int64_t weights = 0, zeros = 0;
  for (const LayerPruneReport& l : r->layers) {
    if (!l.pruned) continue;
    int64_t n = 1;
    for (int64_t d : l.weight_shape_after) n *= d;
    weights += n;
    zeros += std::llround(l.sparsity_after * static_cast<double>(n));
  }
  EXPECT_EQ(zeros, std::llround(0.5 * static_cast<double>(weights)));
}

TEST(PruneModels, SoftChannelKeepsShapesOnYolov5n) {
  DETSLIM_REQUIRE_TEST_DATA();
  Model m = loadShared("yolov5n_fp32.onnx");
  const Model original = m;
  Result<PruneReport> r = pruneModel(m, options("soft-channel", 0.2));
  ASSERT_TRUE(r.isOk()) << r.status().message();
  for (const NamedTensor& init : original.graph.initializers()) {
    EXPECT_EQ(m.graph.initializer(init.name)->shape(), init.tensor.shape()) << init.name;
  }
  EXPECT_EQ(r->params_after, r->params_before);
  EXPECT_EQ(r->macs_after, r->macs_before);
  // Some consumer convs lost input channels through SiLU (not only their own filters).
  int followed = 0;
  for (const LayerPruneReport& l : r->layers)
    followed += l.note.find("input channels zeroed") != std::string::npos;
  EXPECT_GT(followed, 0);
}

// Every 3x3 kernel of the pruned convs keeps a subset of one allowed pattern, and `k` weights
// wherever the original kernel had no zeros among them.
void expectPatternedModel(const Model& before, const Model& after, const PruneReport& r, int k) {
  const std::vector<uint16_t> allowed = rtossPatterns(k);
  int64_t kernels = 0, exact = 0;
  for (const Node& node : after.graph.nodes) {
    if (node.op_type != "Conv") continue;
    const Tensor* w = after.graph.initializer(node.input(1));
    const Tensor* w0 = before.graph.initializer(node.input(1));
    if (!w || w->rank() != 4 || w->shape()[2] != 3 || w->shape()[3] != 3) continue;
    bool protected_layer = false;
    for (const std::string& why : r.ignored) protected_layer |= why.rfind(node.name + ":", 0) == 0;
    if (protected_layer) continue;
    const std::vector<float> a = w->toFloatVector(), b = w0->toFloatVector();
    for (size_t kernel = 0; kernel < a.size() / 9; ++kernel) {
      uint16_t mask = 0;
      for (int cell = 0; cell < 9; ++cell) {
        if (a[kernel * 9 + static_cast<size_t>(cell)] != 0.0f)
          mask = static_cast<uint16_t>(mask | (1u << cell));
      }
      bool fits = false;
      for (uint16_t p : allowed) fits |= (mask & ~p) == 0;
      ASSERT_TRUE(fits) << node.name << " kernel " << kernel;
      ++kernels;
      exact += __builtin_popcount(mask) == k;
    }
  }
  ASSERT_GT(kernels, 0);
  // Trained weights may hold exact zeros inside a chosen pattern; they are rare.
  EXPECT_GE(static_cast<double>(exact), 0.99 * static_cast<double>(kernels));
}

TEST(PruneModels, RtossCompressionRatios) {
  DETSLIM_REQUIRE_TEST_DATA();
  // Seed 001, Table 3 (YOLOv5s): 5EP 1.79x, 4EP 2.24x, 3EP 2.9x, 2EP 4.4x.
  for (const char* file : {"yolov5n_fp32.onnx", "yolov5s_untrained.onnx"}) {
    const Model original = loadShared(file);
    double previous = 0.0;
    for (int k = 5; k >= 2; --k) {
      Model m = original;
      Result<PruneReport> r =
          pruneModel(m, options("rtoss", 0.0, {{"entries", std::to_string(k)}}));
      ASSERT_TRUE(r.isOk()) << file << " " << k << "EP: " << r.status().message();
      std::cout << "[ R-TOSS   ] " << file << " " << k << "EP: compression " << std::fixed
                << std::setprecision(3) << r->compression_ratio << "x (" << r->params_before
                << " / " << r->nonzero_params_after << " non-zero), effective MACs "
                << r->effective_macs_after << " of " << r->effective_macs_before << "\n";
      // Below 9/k (biases, the 6x6 stem and the protected head stay dense), but not far below.
      EXPECT_LT(r->compression_ratio, 9.0 / k) << file << " " << k;
      EXPECT_GT(r->compression_ratio, 0.75 * 9.0 / k) << file << " " << k;
      EXPECT_GT(r->compression_ratio, previous) << file << ": fewer entries must compress more";
      previous = r->compression_ratio;
      expectPatternedModel(original, m, *r, k);
    }
  }
}

TEST(PruneModels, RtossPerKernelAndPatDnnOnYolov5s) {
  DETSLIM_REQUIRE_TEST_DATA();
  const Model original = loadShared("yolov5s_untrained.onnx");
  Model kernel = original;
  Result<PruneReport> per_kernel =
      pruneModel(kernel, options("rtoss", 0.0, {{"entries", "3"}, {"share", "kernel"}}));
  ASSERT_TRUE(per_kernel.isOk()) << per_kernel.status().message();
  expectPatternedModel(original, kernel, *per_kernel, 3);
  Model patdnn = original;
  Result<PruneReport> pd =
      pruneModel(patdnn, options("rtoss", 0.0, {{"pattern", "patdnn"}, {"connectivity", "0.5"}}));
  ASSERT_TRUE(pd.isOk()) << pd.status().message();
  std::cout << "[ PatDNN   ] yolov5s_untrained 4-entry + 50% connectivity: compression "
            << std::fixed << std::setprecision(3) << pd->compression_ratio << "x\n";
  EXPECT_GT(pd->compression_ratio, 1.0);
}

TEST(PruneModels, OtherDetectorsPruneToValidModels) {
  DETSLIM_REQUIRE_TEST_DATA();
  for (const char* file : {"yolox_nano.onnx", "nanodet_m.onnx"}) {
    const Model original = loadShared(file);
    for (const char* method : {"magnitude", "soft-channel", "rtoss", "nm"}) {
      Model m = original;
      Result<PruneReport> r = pruneModel(m, options(method, 0.5));
      ASSERT_TRUE(r.isOk()) << file << " " << method << ": " << r.status().message();
      EXPECT_GT(r->compression_ratio, 1.0) << file << " " << method;
      EXPECT_FALSE(r->ignored.empty()) << file;  // the head convs
      EXPECT_TRUE(checkModel(m).isOk()) << file << " " << method;
      std::cout << "[ prune    ] " << file << " " << method << ": compression " << std::fixed
                << std::setprecision(2) << r->compression_ratio << "x, " << r->ignored.size()
                << " head convs left alone\n";
    }
  }
}

}  // namespace
}  // namespace detslim::prune
