// Activation observation (core/quant/observe.h): statistics of watched tensors, refusals, and
// the cost of observing one 640x640 image of YOLOv5n.

#include "core/quant/observe.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>

#include <gtest/gtest.h>

#include "core/graph/builder.h"
#include "core/onnx/onnx_io.h"
#include "core/quant/qdq.h"
#include "test_data.h"

namespace detslim::quant {
namespace {

using detslim::testing::testDataDir;

Tensor seededInput(Shape shape, uint32_t seed, float lo, float hi) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  Tensor t(DType::kFloat32, std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i) t.mutableData<float>()[i] = dist(rng);
  return t;
}

// x[1,3,5,7] -> Log -> l -> Conv(1x1) -> y. Log turns negative inputs into NaN.
Model logConv() {
  GraphBuilder b("log_conv", 17);
  const std::string x = b.input("x", DType::kFloat32, {1, 3, 5, 7});
  const std::string l = b.node("Log", {x}, {}, "l");
  Tensor w(DType::kFloat32, {2, 3, 1, 1});
  for (int64_t i = 0; i < w.numel(); ++i) w.mutableData<float>()[i] = 0.25f * static_cast<float>(i + 1);
  const std::string wn = b.constant("w", w);
  const std::string y = b.node("Conv", {l, wn}, {}, "y");
  b.output(y, DType::kFloat32, {1, 2, 5, 7}, true);
  return b.build();
}

TEST(Observe, StatisticsOfWatchedTensors) {
  Result<ActivationObserver> obs = ActivationObserver::create(logConv(), {"x", "l", "y"}, {});
  ASSERT_TRUE(obs.isOk()) << obs.status().message();
  const Tensor in = seededInput({1, 3, 5, 7}, 3, 0.5f, 4.0f);
  ASSERT_TRUE(obs->observe({&in, 1}).isOk());
  const Tensor in2 = seededInput({1, 3, 5, 7}, 4, 0.25f, 2.0f);
  ASSERT_TRUE(obs->observe({&in2, 1}).isOk());
  EXPECT_EQ(obs->count(), 2);
  float lo = INFINITY, hi = -INFINITY;
  for (const Tensor* t : {&in, &in2}) {
    for (float v : t->span<float>()) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  const TensorStats* x = obs->stats("x");
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->count, 2 * 105);
  EXPECT_EQ(x->min, lo);
  EXPECT_EQ(x->max, hi);
  EXPECT_EQ(x->positive.total(), 210);
  const TensorStats* l = obs->stats("l");
  ASSERT_NE(l, nullptr);
  EXPECT_NEAR(l->min, std::log(lo), 1e-6);
  EXPECT_NEAR(l->max, std::log(hi), 1e-6);
  EXPECT_EQ(l->positive.total() + l->negative.total(), 210);
  EXPECT_EQ(obs->stats("w"), nullptr);
}

TEST(Observe, NanIsRefusedNamingTensorAndObservation) {
  Result<ActivationObserver> obs = ActivationObserver::create(logConv(), {"l", "y"}, {});
  ASSERT_TRUE(obs.isOk()) << obs.status().message();
  const Tensor good = seededInput({1, 3, 5, 7}, 5, 0.5f, 1.5f);
  ASSERT_TRUE(obs->observe({&good, 1}).isOk());
  Tensor bad = good.clone();
  bad.mutableData<float>()[17] = -1.0f;  // log(-1) = NaN
  Status s = obs->observe({&bad, 1});
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("'l'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("NaN"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("observation 1"), std::string::npos) << s.message();
  // The refused observation added nothing, not even to 'l' or 'y' alone.
  EXPECT_EQ(obs->count(), 1);
  EXPECT_EQ(obs->stats("l")->count, 105);
  EXPECT_EQ(obs->stats("y")->count, 70);
}

TEST(Observe, UnknownTensorsAreRefused) {
  Result<ActivationObserver> obs = ActivationObserver::create(logConv(), {"l", "nope"}, {});
  ASSERT_FALSE(obs.isOk());
  EXPECT_NE(obs.status().message().find("'nope'"), std::string::npos);
  Result<ActivationObserver> w = ActivationObserver::create(logConv(), {"w"}, {});
  ASSERT_FALSE(w.isOk());
  EXPECT_NE(w.status().message().find("constant"), std::string::npos);
}

// How long observing one 640x640 image takes on YOLOv5n (engine run with the planned tensors as
// extra outputs, plus the statistics), against a plain run. Printed, not asserted: timings
// depend on the machine.
TEST(Observe, Yolov5nObservationCost) {
  DETSLIM_REQUIRE_TEST_DATA();
  Result<Model> m = loadModel(testDataDir() / "models" / "yolov5n_fp32.onnx");
  ASSERT_TRUE(m.isOk()) << m.status().message();
  Result<QuantizationPlan> plan = planQuantization(*m, defaultKeepFp32(*m));
  ASSERT_TRUE(plan.isOk()) << plan.status().message();
  // One thread: on a shared two-core machine OpenMP barriers make two-thread timings erratic.
  EngineOptions one;
  one.num_threads = 1;
  Result<ActivationObserver> obs = ActivationObserver::create(*m, plan->tensors(), one);
  ASSERT_TRUE(obs.isOk()) << obs.status().message();
  Result<Plan> plain = Engine::compile(*m, one);
  ASSERT_TRUE(plain.isOk()) << plain.status().message();
  const Tensor image = seededInput({1, 3, 640, 640}, 11, 0.0f, 1.0f);
  ASSERT_TRUE(obs->observe({&image, 1}).isOk());  // warm
  ASSERT_TRUE(plain->run({&image, 1}).isOk());
  constexpr int kRuns = 5;
  using Clock = std::chrono::steady_clock;
  auto t0 = Clock::now();
  for (int i = 0; i < kRuns; ++i) ASSERT_TRUE(obs->observe({&image, 1}).isOk());
  auto t1 = Clock::now();
  for (int i = 0; i < kRuns; ++i) ASSERT_TRUE(plain->run({&image, 1}).isOk());
  auto t2 = Clock::now();
  const double observe_ms = std::chrono::duration<double, std::milli>(t1 - t0).count() / kRuns;
  const double run_ms = std::chrono::duration<double, std::milli>(t2 - t1).count() / kRuns;
  int64_t values = 0;
  for (const std::string& t : plan->tensors()) values += obs->stats(t)->count / obs->count();
  std::printf("yolov5n 640x640: observe %.1f ms per image (%zu tensors, %lld values), plain run %.1f ms\n",
              observe_ms, plan->tensors().size(), static_cast<long long>(values), run_ms);
  RecordProperty("observe_ms", std::to_string(observe_ms));
  EXPECT_EQ(obs->count(), kRuns + 1);
}

}  // namespace
}  // namespace detslim::quant
