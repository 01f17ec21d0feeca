// The masking methods on small hand-built graphs whose right answer can be counted by hand.

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

#include <gtest/gtest.h>

#include "core/engine/engine.h"
#include "core/graph/builder.h"
#include "core/prune/prune.h"
#include "core/prune/rtoss.h"
#include "prune_test_util.h"

namespace detslim::prune {
namespace {

using testing::randomWeights;
using testing::twoConvSilu;
using testing::values;
using testing::zerosOf;

PruneOptions options(const std::string& method, double sparsity,
                     std::map<std::string, std::string> opts = {}, bool protect = false) {
  PruneOptions o;
  o.method = method;
  o.sparsity = sparsity;
  o.opts = std::move(opts);
  o.protect_detect_head = protect;
  return o;
}

// A weight whose |w| are 1..n in a scrambled order, with alternating signs.
Tensor rankedWeights(Shape shape, float scale, uint32_t seed) {
  Tensor t(DType::kFloat32, std::move(shape));
  std::vector<int> order(static_cast<size_t>(t.numel()));
  std::iota(order.begin(), order.end(), 1);
  std::shuffle(order.begin(), order.end(), std::mt19937(seed));
  for (int64_t i = 0; i < t.numel(); ++i) {
    t.mutableData<float>()[i] =
        scale * static_cast<float>(order[static_cast<size_t>(i)]) * (i % 2 ? -1.0f : 1.0f);
  }
  return t;
}

// ---- magnitude ----

TEST(Magnitude, LocalZeroesExactlyRoundedShareOfEachLayer) {
  Model m = twoConvSilu(4, 8, 6, 3, 11);
  m.graph.setInitializer("w1", rankedWeights({8, 4, 3, 3}, 1.0f, 1));   // 288 weights
  m.graph.setInitializer("w2", rankedWeights({6, 8, 3, 3}, 0.01f, 2));  // 432 weights
  const Model original = m;
  ASSERT_TRUE(pruneModel(m, options("magnitude", 0.3)).isOk());
  EXPECT_EQ(zerosOf(m, "w1"), std::llround(0.3 * 288));  // 86
  EXPECT_EQ(zerosOf(m, "w2"), std::llround(0.3 * 432));  // 130
  // The zeroed ones are the smallest |w|: |w| in 1..86 went, 87.. stayed.
  const std::vector<float> before = values(original, "w1");
  const std::vector<float> after = values(m, "w1");
  for (size_t i = 0; i < before.size(); ++i) {
    EXPECT_EQ(after[i] == 0.0f, std::fabs(before[i]) <= 86.0f) << i;
  }
  EXPECT_EQ(zerosOf(m, "b1"), 0);  // biases are not pruned
}

TEST(Magnitude, GlobalUsesOneThresholdOverAllLayers) {
  Model m = twoConvSilu(4, 8, 6, 3, 12);
  m.graph.setInitializer("w1", rankedWeights({8, 4, 3, 3}, 1.0f, 3));    // |w| 1..288
  m.graph.setInitializer("w2", rankedWeights({6, 8, 3, 3}, 0.001f, 4));  // |w| 0.001..0.432
  ASSERT_TRUE(pruneModel(m, options("magnitude", 0.5, {{"scope", "global"}})).isOk());
  const int64_t k = std::llround(0.5 * (288 + 432));  // 360
  EXPECT_EQ(zerosOf(m, "w1") + zerosOf(m, "w2"), k);
  // Every |w| of w2 is below every |w| of w1, so all 360 come out of w2 (local would take 144
  // from w1).
  EXPECT_EQ(zerosOf(m, "w2"), 360);
  EXPECT_EQ(zerosOf(m, "w1"), 0);
}

TEST(Magnitude, TiesAreBrokenByPositionDeterministically) {
  Model m = twoConvSilu(4, 8, 6, 3, 13);
  Tensor flat(DType::kFloat32, {8, 4, 3, 3});
  for (int64_t i = 0; i < flat.numel(); ++i) flat.mutableData<float>()[i] = (i % 2) ? 0.5f : -0.5f;
  m.graph.setInitializer("w1", flat);
  Model again = m;
  ASSERT_TRUE(pruneModel(m, options("magnitude", 0.25)).isOk());
  ASSERT_TRUE(pruneModel(again, options("magnitude", 0.25)).isOk());
  EXPECT_EQ(zerosOf(m, "w1"), 72);
  const std::vector<float> w = values(m, "w1");
  for (size_t i = 0; i < w.size(); ++i)
    EXPECT_EQ(w[i] == 0.0f, i < 72) << i;  // lowest positions first
  EXPECT_TRUE(m.graph.initializer("w1")->bitwiseEqual(*again.graph.initializer("w1")));
}

TEST(Magnitude, Float16Weights) {
  GraphBuilder b("fp16", 17);
  const std::string x = b.input("x", DType::kFloat16, {1, 4, 6, 6});
  Tensor w(DType::kFloat16, {8, 4, 1, 1});
  for (int64_t i = 0; i < w.numel(); ++i) {
    w.mutableData<uint16_t>()[i] = floatToHalf(static_cast<float>(i + 1) / 32.0f);
  }
  const std::string y = b.node("Conv", {x, b.constant("w", w)});
  const std::string z = b.node("Relu", {y});
  b.output(z);
  Model m = b.build();
  Result<PruneReport> r = pruneModel(m, options("magnitude", 0.5));
  ASSERT_TRUE(r.isOk()) << r.status().message();
  const Tensor* pruned = m.graph.initializer("w");
  EXPECT_EQ(pruned->dtype(), DType::kFloat16);
  EXPECT_EQ(pruned->countZeros(), 16);
  for (int64_t i = 0; i < 16; ++i) EXPECT_EQ(pruned->data<uint16_t>()[i], 0) << i;
  EXPECT_NE(pruned->data<uint16_t>()[16], 0);
}

// ---- nm ----

TEST(Nm, EveryRunOfFourKeepsItsTwoLargest) {
  Model m = twoConvSilu(8, 12, 4, 3, 21);
  const Model original = m;
  Result<PruneReport> r = pruneModel(m, options("nm", 0.5));
  ASSERT_TRUE(r.isOk()) << r.status().message();
  for (const char* name : {"w1", "w2"}) {
    const Tensor& wt = *m.graph.initializer(name);
    const int64_t c_out = wt.shape()[0], c_in = wt.shape()[1], spatial = 9;
    const std::vector<float> before = values(original, name);
    const std::vector<float> after = values(m, name);
    for (int64_t o = 0; o < c_out; ++o) {
      for (int64_t p = 0; p < spatial; ++p) {
        for (int64_t g = 0; g < c_in; g += 4) {
          std::vector<float> kept_mag, gone_mag;
          for (int64_t c = g; c < g + 4; ++c) {
            const size_t i = static_cast<size_t>((o * c_in + c) * spatial + p);
            (after[i] == 0.0f ? gone_mag : kept_mag).push_back(std::fabs(before[i]));
            if (after[i] != 0.0f) {
              EXPECT_EQ(after[i], before[i]);
            }
          }
          ASSERT_GE(gone_mag.size(), 2u) << name;
          ASSERT_EQ(kept_mag.size(), 2u) << name;
          EXPECT_GE(*std::min_element(kept_mag.begin(), kept_mag.end()),
                    *std::max_element(gone_mag.begin(), gone_mag.end()));
        }
      }
    }
  }
}

TEST(Nm, OneOfEightAndLayersThatDoNotDivideAreSkipped) {
  Model m = twoConvSilu(3, 8, 4, 1, 22);  // conv1 reads 3 channels: no multiple of 8
  const Tensor w1 = m.graph.initializer("w1")->clone();
  Result<PruneReport> r = pruneModel(m, options("nm", 0.0, {{"n", "1"}, {"m", "8"}}));
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_TRUE(m.graph.initializer("w1")->bitwiseEqual(w1));
  EXPECT_NE(r->layers[0].note.find("multiple of m = 8"), std::string::npos) << r->layers[0].note;
  EXPECT_EQ(zerosOf(m, "w2"), 4 * 8 * 7 / 8);
}

TEST(Nm, GemmWithTransposedWeightRunsAlongK) {
  GraphBuilder b("gemm", 17);
  const std::string x = b.input("x", DType::kFloat32, {2, 8});
  const std::string w = b.constant("w", randomWeights({3, 8}, 23));  // [N, K] with transB
  const std::string y = b.node("Gemm", {x, w}, {Attribute::makeInt("transB", 1)});
  b.output(y);
  Model m = b.build();
  const std::vector<float> before = values(m, "w");
  ASSERT_TRUE(pruneModel(m, options("nm", 0.5)).isOk());
  const std::vector<float> after = values(m, "w");
  for (int n = 0; n < 3; ++n) {
    for (int g = 0; g < 8; g += 4) {
      int zeros = 0;
      for (int k = g; k < g + 4; ++k) zeros += after[static_cast<size_t>(n * 8 + k)] == 0.0f;
      EXPECT_EQ(zeros, 2);
    }
  }
  EXPECT_NE(before, after);
}

// ---- soft-channel ----

// Filter c of w1 scaled so its L2 norm ranks as `rank[c]` (0 = smallest).
void setFilterNorms(Model& m, const std::vector<float>& scale) {
  Tensor w = m.graph.initializer("w1")->clone();
  const int64_t per = w.numel() / w.shape()[0];
  for (int64_t c = 0; c < w.shape()[0]; ++c) {
    for (int64_t i = 0; i < per; ++i)
      w.mutableData<float>()[c * per + i] = scale[static_cast<size_t>(c)] * (i % 3 ? 1.0f : -1.0f);
  }
  m.graph.setInitializer("w1", w);
}

TEST(SoftChannel, ZeroesFilterBiasAndTheConsumersInputChannels) {
  Model m = twoConvSilu(4, 8, 6, 3, 31);
  setFilterNorms(m, {5, 0.1f, 7, 3, 0.2f, 8, 6, 4});  // smallest: channels 1 and 4
  const Model original = m;
  Result<PruneReport> r = pruneModel(m, options("soft-channel", 0.25));
  ASSERT_TRUE(r.isOk()) << r.status().message();
  const std::set<int64_t> gone = {1, 4};
  const std::vector<float> w1 = values(m, "w1"), b1 = values(m, "b1"), w2 = values(m, "w2");
  const std::vector<float> w2_before = values(original, "w2");
  // conv2 is pruned as a layer too: round(0.25 * 6) = 2 of its filters go whole.
  std::set<int64_t> own;
  for (int64_t o = 0; o < 6; ++o) {
    bool all_zero = true;
    for (int64_t i = 0; i < 72; ++i) all_zero &= w2[static_cast<size_t>(o * 72 + i)] == 0.0f;
    if (all_zero) own.insert(o);
  }
  EXPECT_EQ(own.size(), 2u);
  EXPECT_EQ(zerosOf(m, "b2"), 2);
  for (int64_t c = 0; c < 8; ++c) {
    const bool zeroed = gone.count(c) > 0;
    for (int64_t i = 0; i < 36; ++i) EXPECT_EQ(w1[static_cast<size_t>(c * 36 + i)] == 0.0f, zeroed);
    EXPECT_EQ(b1[static_cast<size_t>(c)] == 0.0f, zeroed);
    for (int64_t o = 0; o < 6; ++o) {
      if (own.count(o)) continue;
      for (int64_t p = 0; p < 9; ++p) {
        const size_t i = static_cast<size_t>((o * 8 + c) * 9 + p);
        EXPECT_EQ(w2[i], zeroed ? 0.0f : w2_before[i]);
      }
    }
  }
  EXPECT_EQ(m.graph.initializer("w2")->shape(), (Shape{6, 8, 3, 3}));
  EXPECT_EQ(r->params_after, r->params_before);
  EXPECT_NE(r->layers[1].note.find("input channels zeroed"), std::string::npos)
      << r->layers[1].note;
}

TEST(SoftChannel, StopsAtConcatAndOnlyZeroesTheProducer) {
  GraphBuilder b("concat", 17);
  const std::string x = b.input("x", DType::kFloat32, {1, 4, 8, 8});
  const std::string h = b.node("Conv", {x, b.constant("w1", randomWeights({4, 4, 1, 1}, 32))});
  const std::string cat = b.node("Concat", {h, x}, {Attribute::makeInt("axis", 1)});
  const std::string y = b.node("Conv", {cat, b.constant("w2", randomWeights({2, 8, 1, 1}, 33))});
  const std::string z = b.node("Relu", {y});
  b.output(z);
  Model m = b.build();
  m.graph.nodes[0].name = "producer";
  PruneOptions o = options("soft-channel", 0.5, {}, /*protect=*/true);  // conv2 is the head
  Result<PruneReport> r = pruneModel(m, o);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(zerosOf(m, "w1"), 2 * 4);
  EXPECT_EQ(zerosOf(m, "w2"), 0);
  EXPECT_NE(r->layers[0].note.find("Concat"), std::string::npos) << r->layers[0].note;
}

// ---- soft-channel bias compensation (compensate.h) ----

// Output 0 of `m` on `input` (reference kernels).
Tensor runOnce(const Model& m, const Tensor& input) {
  EngineOptions eo;
  eo.reference_only = true;
  Result<Plan> plan = Engine::compile(m, eo);
  EXPECT_TRUE(plan.isOk()) << plan.status().message();
  if (!plan) return {};
  EXPECT_TRUE(plan->run(std::vector<Tensor>{input}).isOk());
  return plan->output(0).clone();
}

// max |a - b| / max(1, max |a|) of output 0.
double outputDifference(const Model& a, const Model& b, const Tensor& input) {
  const Tensor x = runOnce(a, input), y = runOnce(b, input);
  if (x.shape() != y.shape() || x.numel() == 0) return 1e30;
  double diff = 0.0, range = 1.0;
  for (int64_t k = 0; k < x.numel(); ++k) {
    diff = std::max(diff, std::fabs(static_cast<double>(x.data<float>()[k]) - y.data<float>()[k]));
    range = std::max(range, std::fabs(static_cast<double>(x.data<float>()[k])));
  }
  return diff / range;
}

// Filters `channels` of initializer `w` all zero (their bias stays: a BN-folded channel whose
// filter is negligible carries its bias as a constant).
void zeroFilters(Model& m, const std::string& w, const std::vector<int64_t>& channels) {
  Tensor t = m.graph.initializer(w)->clone();
  const int64_t per = t.numel() / t.shape()[0];
  for (int64_t c : channels) std::fill_n(t.mutableData<float>() + c * per, per, 0.0f);
  m.graph.setInitializer(w, t);
}

TEST(SoftChannel, CompensationKeepsConstantChannelsExactly) {
  Model m = twoConvSilu(4, 8, 6, 1, 41);  // 1x1 convs: compensation is exact everywhere
  zeroFilters(m, "w1", {1, 4});           // channels 1 and 4 carry SiLU(b1[c]) != 0
  const Tensor input = randomWeights({1, 4, 8, 8}, 42);
  // conv2 is the Detect head (protected): only conv1 loses channels, conv2 its input columns.
  Model on = m;
  Result<PruneReport> r = pruneModel(on, options("soft-channel", 0.25, {}, /*protect=*/true));
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(zerosOf(on, "b1"), 2);
  EXPECT_EQ(r->options["opts"]["compensated_inputs"], 2) << r->options.dump();
  EXPECT_LE(outputDifference(m, on, input), 1e-5);
  Model off = m;
  ASSERT_TRUE(
      pruneModel(off, options("soft-channel", 0.25, {{"compensate", "false"}}, true)).isOk());
  EXPECT_EQ(zerosOf(off, "b1"), 2);
  EXPECT_GT(outputDifference(m, off, input), 1e-2);
}

TEST(SoftChannel, CompensationFollowsConcat) {
  GraphBuilder b("concat", 17);
  const std::string x = b.input("x", DType::kFloat32, {1, 4, 8, 8});
  Tensor w1 = randomWeights({4, 4, 1, 1}, 51);
  std::fill_n(w1.mutableData<float>() + 1 * 4, 4, 0.0f);  // channel 1: only its bias
  const std::string h =
      b.node("Conv", {x, b.constant("w1", w1), b.constant("b1", randomWeights({4}, 52))});
  const std::string a = b.node("Mul", {h, b.node("Sigmoid", {h})});
  const std::string cat = b.node("Concat", {x, a}, {Attribute::makeInt("axis", 1)});
  const std::string y = b.node("Conv", {cat, b.constant("w2", randomWeights({3, 8, 1, 1}, 53))});
  b.output(y, DType::kFloat32, {1, 3, 8, 8}, true);
  const Model m = b.build();
  const Tensor input = randomWeights({1, 4, 8, 8}, 54);
  Model on = m;
  Result<PruneReport> r = pruneModel(on, options("soft-channel", 0.25, {}, /*protect=*/true));
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(zerosOf(on, "w2"), 0);  // the walk stops at the Concat: no column is zeroed
  EXPECT_EQ(on.graph.nodes.back().inputs.size(), 3u);  // a bias was created for the consumer
  EXPECT_LE(outputDifference(m, on, input), 1e-5);
  Model off = m;
  ASSERT_TRUE(
      pruneModel(off, options("soft-channel", 0.25, {{"compensate", "false"}}, true)).isOk());
  EXPECT_GT(outputDifference(m, off, input), 1e-2);
}

TEST(SoftChannel, CompensateOptionIsValidatedForChannelMethods) {
  for (const char* method : {"soft-channel", "group", "bn-slim"}) {
    SCOPED_TRACE(method);
    EXPECT_TRUE(validateOptions(options(method, 0.2, {{"compensate", "false"}})).isOk());
    EXPECT_TRUE(validateOptions(options(method, 0.2, {{"compensate", "true"}})).isOk());
    EXPECT_FALSE(validateOptions(options(method, 0.2, {{"compensate", "maybe"}})).isOk());
  }
  EXPECT_FALSE(validateOptions(options("magnitude", 0.2, {{"compensate", "true"}})).isOk());
}

TEST(SoftChannel, FollowsBatchNormByZeroingItsScaleAndShift) {
  GraphBuilder b("bn", 17);
  const std::string x = b.input("x", DType::kFloat32, {1, 3, 8, 8});
  const std::string h = b.node("Conv", {x, b.constant("w1", randomWeights({4, 3, 3, 3}, 34))},
                               {Attribute::makeInts("pads", {1, 1, 1, 1})});
  const std::string n = b.node(
      "BatchNormalization",
      {h, b.constant("scale", randomWeights({4}, 35)), b.constant("shift", randomWeights({4}, 36)),
       b.constant("mean", randomWeights({4}, 37)),
       b.constant("var",
                  Tensor::fromVector(DType::kFloat32, {4}, std::vector<float>{1, 1, 1, 1}))});
  const std::string a = b.node("Relu", {n});
  const std::string y = b.node("Conv", {a, b.constant("w2", randomWeights({2, 4, 1, 1}, 38))});
  b.output(y);
  Model m = b.build();
  ASSERT_TRUE(pruneModel(m, options("soft-channel", 0.5)).isOk());
  EXPECT_EQ(zerosOf(m, "scale"), 2);
  EXPECT_EQ(zerosOf(m, "shift"), 2);
  EXPECT_EQ(zerosOf(m, "mean"), 0);
  // conv2 loses 1 of its 2 filters (0.5 * 2) and, of the rest, the 2 input channels.
  EXPECT_EQ(zerosOf(m, "w2"), 4 + 2);
}

// ---- rtoss ----

TEST(RtossPatterns, ConnectedSubsetsOfTheThreeByThreeGrid) {
  EXPECT_EQ(rtossPatterns(2).size(), 12u);  // the grid's 12 edges
  EXPECT_EQ(rtossPatterns(3).size(), 22u);  // 6 straight + 16 L trominoes
  EXPECT_EQ(rtossPatterns(4).size(), 36u);
  EXPECT_EQ(rtossPatterns(5).size(), 49u);
  EXPECT_EQ(rtossPatterns(2, 8).size(), 20u);  // plus 8 diagonal pairs
  EXPECT_EQ(patdnnPatterns().size(), 28u);
  for (uint16_t p : patdnnPatterns()) EXPECT_TRUE(p & (1u << 4));
  for (int k = 2; k <= 5; ++k) {
    for (uint16_t p : rtossPatterns(k)) EXPECT_EQ(__builtin_popcount(p), k);
  }
  // A diagonal pair is not 4-connected; a row is.
  const std::vector<uint16_t> two = rtossPatterns(2);
  EXPECT_EQ(std::count(two.begin(), two.end(), uint16_t{0b000010001}), 0);
  const std::vector<uint16_t> three = rtossPatterns(3);
  EXPECT_EQ(std::count(three.begin(), three.end(), uint16_t{0b000000111}), 1);
}

TEST(RtossPatterns, BestPatternKeepsTheMostEnergy) {
  std::array<double, 9> e{};
  e[0] = 1;
  e[4] = 5;
  e[5] = 4;
  e[8] = 9;  // 8 and 4 are not adjacent; 5-8 (9 + 4 = 13) beats 4-5 (9)
  const std::vector<uint16_t> p = rtossPatterns(2);
  EXPECT_EQ(p[bestPattern(e, p)], uint16_t{(1u << 5) | (1u << 8)});
}

// Checks every 3x3 kernel of `name` keeps exactly `k` weights on an allowed pattern and the
// kept values are the originals.
void expectPatterned(const Model& before, const Model& after, const std::string& name, int k,
                     const std::vector<uint16_t>& allowed) {
  const std::vector<float> b = values(before, name), a = values(after, name);
  for (size_t kernel = 0; kernel < a.size() / 9; ++kernel) {
    uint16_t mask = 0;
    for (int cell = 0; cell < 9; ++cell) {
      const size_t i = kernel * 9 + static_cast<size_t>(cell);
      if (a[i] != 0.0f) {
        mask = static_cast<uint16_t>(mask | (1u << cell));
        EXPECT_EQ(a[i], b[i]);
      }
    }
    EXPECT_EQ(__builtin_popcount(mask), k) << name << " kernel " << kernel;
    EXPECT_NE(std::find(allowed.begin(), allowed.end(), mask), allowed.end())
        << name << " kernel " << kernel;
  }
}

TEST(Rtoss, PerKernelPatternsAreTheBestFit) {
  for (int k = 2; k <= 5; ++k) {
    Model m = twoConvSilu(4, 8, 6, 3, 40 + k);
    const Model original = m;
    Result<PruneReport> r =
        pruneModel(m, options("rtoss", 0.0, {{"entries", std::to_string(k)}, {"share", "kernel"}}));
    ASSERT_TRUE(r.isOk()) << r.status().message();
    const std::vector<uint16_t> allowed = rtossPatterns(k);
    expectPatterned(original, m, "w1", k, allowed);
    expectPatterned(original, m, "w2", k, allowed);
    // Each kernel's pattern is the argmax of kept energy.
    const std::vector<float> b = values(original, "w1"), a = values(m, "w1");
    for (size_t kernel = 0; kernel < a.size() / 9; ++kernel) {
      std::array<double, 9> e{};
      uint16_t mask = 0;
      for (int cell = 0; cell < 9; ++cell) {
        const size_t i = kernel * 9 + static_cast<size_t>(cell);
        e[static_cast<size_t>(cell)] = static_cast<double>(b[i]) * b[i];
        if (a[i] != 0.0f) mask = static_cast<uint16_t>(mask | (1u << cell));
      }
      EXPECT_EQ(mask, allowed[bestPattern(e, allowed)]);
    }
    EXPECT_NEAR(r->compression_ratio, 734.0 / (k * (32 + 48) + 14), 1e-12);
  }
}

TEST(Rtoss, GroupSharesOnePatternPerCoupledChannel) {
  Model m = twoConvSilu(4, 8, 6, 3, 50);
  const Model original = m;
  Result<PruneReport> r = pruneModel(m, options("rtoss", 0.0, {{"entries", "3"}}));
  ASSERT_TRUE(r.isOk()) << r.status().message();
  expectPatterned(original, m, "w1", 3, rtossPatterns(3));
  expectPatterned(original, m, "w2", 3, rtossPatterns(3));
  auto maskAt = [&](const std::string& name, int64_t kernel) {
    const std::vector<float> a = values(m, name);
    uint16_t mask = 0;
    for (int cell = 0; cell < 9; ++cell) {
      if (a[static_cast<size_t>(kernel * 9 + cell)] != 0.0f)
        mask = static_cast<uint16_t>(mask | (1u << cell));
    }
    return mask;
  };
  // conv1 heads the group, conv2 is its child: conv1's output channel c and conv2's input
  // channel c carry one pattern.
  for (int64_t c = 0; c < 8; ++c) {
    const uint16_t p = maskAt("w1", c * 4);
    for (int64_t j = 0; j < 4; ++j) EXPECT_EQ(maskAt("w1", c * 4 + j), p);
    for (int64_t o = 0; o < 6; ++o) EXPECT_EQ(maskAt("w2", o * 8 + c), p) << o << "," << c;
  }
  EXPECT_EQ(r->options["opts"]["groups"], 1);
}

TEST(Rtoss, OneByOneKernelsInBlocksOfNineTailZeroed) {
  Model m = twoConvSilu(4, 5, 7, 1, 60);  // w1: 20 weights = 2 blocks + 2; w2: 35 = 3 blocks + 8
  const Model original = m;
  ASSERT_TRUE(pruneModel(m, options("rtoss", 0.0, {{"entries", "2"}})).isOk());
  for (const auto& [name, n] : std::vector<std::pair<std::string, int>>{{"w1", 20}, {"w2", 35}}) {
    const std::vector<float> a = values(m, name);
    const int blocks = n / 9;
    for (int blk = 0; blk < blocks; ++blk) {
      uint16_t mask = 0;
      for (int cell = 0; cell < 9; ++cell) {
        if (a[static_cast<size_t>(blk * 9 + cell)] != 0.0f)
          mask = static_cast<uint16_t>(mask | (1u << cell));
      }
      const std::vector<uint16_t> allowed = rtossPatterns(2);
      EXPECT_NE(std::find(allowed.begin(), allowed.end(), mask), allowed.end())
          << name << " " << blk;
    }
    for (int i = blocks * 9; i < n; ++i)
      EXPECT_EQ(a[static_cast<size_t>(i)], 0.0f) << name << " tail " << i;
  }
}

TEST(Rtoss, PatternsOptionKeepsTheMostUsedOnes) {
  Model m = twoConvSilu(8, 16, 8, 3, 90);
  const Model original = m;
  Result<PruneReport> r = pruneModel(
      m, options("rtoss", 0.0, {{"entries", "3"}, {"patterns", "8"}, {"share", "kernel"}}));
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->options["opts"]["patterns"], 8);
  std::set<uint16_t> used;
  const std::vector<float> a = values(m, "w1");
  for (size_t kernel = 0; kernel < a.size() / 9; ++kernel) {
    uint16_t mask = 0;
    for (int cell = 0; cell < 9; ++cell) {
      if (a[kernel * 9 + static_cast<size_t>(cell)] != 0.0f)
        mask = static_cast<uint16_t>(mask | (1u << cell));
    }
    used.insert(mask);
  }
  EXPECT_LE(used.size(), 8u);
  expectPatterned(original, m, "w1", 3, rtossPatterns(3));
}

TEST(Rtoss, NothingToPruneSaysWhy) {
  Model m = twoConvSilu(4, 8, 6, 5, 70);  // 5x5 kernels only
  Result<PruneReport> r = pruneModel(m, options("rtoss", 0.0));
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("3x3 or 1x1"), std::string::npos) << r.status().message();
}

TEST(Rtoss, PatDnnKeepsTheCentreAndDropsWholeKernels) {
  Model m = twoConvSilu(4, 8, 6, 3, 80);
  const Model original = m;
  Result<PruneReport> r =
      pruneModel(m, options("rtoss", 0.0, {{"pattern", "patdnn"}, {"connectivity", "0.25"}}));
  ASSERT_TRUE(r.isOk()) << r.status().message();
  const std::vector<float> a = values(m, "w1");
  int empty = 0;
  for (size_t kernel = 0; kernel < a.size() / 9; ++kernel) {
    int nz = 0;
    for (int cell = 0; cell < 9; ++cell) nz += a[kernel * 9 + static_cast<size_t>(cell)] != 0.0f;
    if (nz == 0) {
      ++empty;
    } else {
      EXPECT_EQ(nz, 4);
      EXPECT_NE(a[kernel * 9 + 4], 0.0f);
    }
  }
  EXPECT_EQ(empty, 8);  // 0.25 * 32 kernels
}

}  // namespace
}  // namespace detslim::prune
