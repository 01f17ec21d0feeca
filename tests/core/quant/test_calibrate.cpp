// Calibration statistics, calibrators and quantizer maths on distributions whose answers are
// known by hand (core/quant/calibrate.h).

#include "core/quant/calibrate.h"

#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace detslim::quant {
namespace {

// A histogram bin of a [0, 1) side is 1 / 2048: interpolated quantiles and bin-edge thresholds
// land within two bins of the exact value.
constexpr double kTwoBins = 2.0 / kHistogramBins;

// N values evenly spread over [lo, hi): bin counts differ by at most one from a true uniform.
std::vector<float> uniformGrid(double lo, double hi, int n) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) v[static_cast<size_t>(i)] = static_cast<float>(lo + (hi - lo) * (i + 0.5) / n);
  return v;
}

TensorStats statsOf(const std::vector<float>& values) {
  TensorStats s;
  EXPECT_TRUE(s.add(values));
  return s;
}

QuantOptions opts(Calibrator c, ActivationType a, double percentile = 99.99) {
  QuantOptions o;
  o.calibrator = c;
  o.activations = a;
  o.percentile = percentile;
  return o;
}

// 200000 values of N(0, 1) and `outliers` values at +50 and as many at -50.
std::vector<float> gaussianWithOutliers(int outliers) {
  std::mt19937 rng(7767517);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(200000);
  for (float& x : v) x = normal(rng);
  for (int i = 0; i < outliers; ++i) {
    v.push_back(50.0f);
    v.push_back(-50.0f);
  }
  return v;
}

TEST(Calibrate, NamesParseBack) {
  for (Calibrator c : {Calibrator::kMinMax, Calibrator::kPercentile, Calibrator::kEntropy, Calibrator::kMse}) {
    ASSERT_TRUE(parseCalibrator(calibratorName(c)).isOk());
    EXPECT_EQ(*parseCalibrator(calibratorName(c)), c);
  }
  for (ActivationType a : {ActivationType::kU8Asymmetric, ActivationType::kS8Symmetric}) {
    EXPECT_EQ(*parseActivationType(activationTypeName(a)), a);
  }
  Result<Calibrator> bad = parseCalibrator("kl");
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(bad.status().message().find("'kl'"), std::string::npos);
  EXPECT_NE(bad.status().message().find("entropy"), std::string::npos);
  EXPECT_FALSE(parseActivationType("int8").isOk());
}

TEST(Calibrate, HistogramRangeIsAPowerOfTwoAndGrowsExactly) {
  TensorStats s;
  ASSERT_TRUE(s.add(std::vector<float>{0.75f, 0.1f}));
  EXPECT_EQ(s.positive.range, 1.0);
  EXPECT_EQ(s.positive.counts[1536], 1);  // 0.75 * 2048
  ASSERT_TRUE(s.add(std::vector<float>{1.0f}));
  EXPECT_EQ(s.positive.range, 1.0);  // 1.0 fits in the last bin
  EXPECT_EQ(s.positive.counts[2047], 1);
  ASSERT_TRUE(s.add(std::vector<float>{3.0f, -0.25f}));
  EXPECT_EQ(s.positive.range, 4.0);
  EXPECT_EQ(s.negative.range, 0.25);
  EXPECT_EQ(s.positive.counts[384], 1);  // 0.75 after two doublings: 1536 / 4
  EXPECT_EQ(s.positive.counts[1536], 1);  // 3.0
  EXPECT_EQ(s.count, 5);
  EXPECT_EQ(s.min, -0.25);
  EXPECT_EQ(s.max, 3.0);

  // Growing in steps gives the histogram one pass at the final range gives.
  const std::vector<float> small = uniformGrid(-0.3, 0.3, 5001);
  const std::vector<float> large = uniformGrid(-5.0, 7.0, 7001);
  TensorStats stepwise;
  ASSERT_TRUE(stepwise.add(small));
  ASSERT_TRUE(stepwise.add(large));
  std::vector<float> all = small;
  all.insert(all.end(), large.begin(), large.end());
  const TensorStats once = statsOf(all);
  EXPECT_EQ(stepwise.positive.range, once.positive.range);
  EXPECT_EQ(stepwise.positive.counts, once.positive.counts);
  EXPECT_EQ(stepwise.negative.counts, once.negative.counts);
  EXPECT_EQ(stepwise.positive.total() + stepwise.negative.total(), 12002);
}

TEST(Calibrate, NonFiniteValuesAreRefusedAndChangeNothing) {
  TensorStats s;
  ASSERT_TRUE(s.add(std::vector<float>{1.0f, 2.0f}));
  int64_t bad = -1;
  EXPECT_FALSE(s.add(std::vector<float>{0.5f, 3.0f, std::nanf(""), 9.0f}, &bad));
  EXPECT_EQ(bad, 2);
  EXPECT_FALSE(s.add(std::vector<float>{-INFINITY}, &bad));
  EXPECT_EQ(bad, 0);
  EXPECT_EQ(s.count, 2);
  EXPECT_EQ(s.max, 2.0);
  EXPECT_EQ(s.positive.range, 2.0);
}

TEST(Calibrate, MinMaxIsTheObservedRangeWithZero) {
  const TensorStats s = statsOf({-1.0f, 0.5f, 3.0f});
  TensorRange u = chooseRange(s, opts(Calibrator::kMinMax, ActivationType::kU8Asymmetric));
  EXPECT_EQ(u.lo, -1.0);
  EXPECT_EQ(u.hi, 3.0);
  TensorRange sym = chooseRange(s, opts(Calibrator::kMinMax, ActivationType::kS8Symmetric));
  EXPECT_EQ(sym.lo, -3.0);
  EXPECT_EQ(sym.hi, 3.0);
  // All positive: the range is widened down to 0.
  TensorRange pos = chooseRange(statsOf({0.5f, 2.0f}), opts(Calibrator::kMinMax, ActivationType::kU8Asymmetric));
  EXPECT_EQ(pos.lo, 0.0);
  EXPECT_EQ(pos.hi, 2.0);
  // Nothing observed: [0, 0].
  TensorRange none = chooseRange(TensorStats{}, opts(Calibrator::kEntropy, ActivationType::kU8Asymmetric));
  EXPECT_EQ(none.lo, 0.0);
  EXPECT_EQ(none.hi, 0.0);
}

TEST(Calibrate, PercentileOfUniformDistributions) {
  // |x| uniform on [0, 1): its 99th percentile is 0.99.
  const TensorStats s = statsOf(uniformGrid(-1.0, 1.0, 1000000));
  TensorRange sym = chooseRange(s, opts(Calibrator::kPercentile, ActivationType::kS8Symmetric, 99.0));
  EXPECT_NEAR(sym.hi, 0.99, kTwoBins);
  EXPECT_EQ(sym.lo, -sym.hi);
  // x uniform on [-1, 1): 1 % of all values lie below -0.98 and 1 % above 0.98.
  TensorRange asym = chooseRange(s, opts(Calibrator::kPercentile, ActivationType::kU8Asymmetric, 99.0));
  EXPECT_NEAR(asym.lo, -0.98, kTwoBins);
  EXPECT_NEAR(asym.hi, 0.98, kTwoBins);
  // p = 100 is minmax.
  TensorRange all = chooseRange(s, opts(Calibrator::kPercentile, ActivationType::kU8Asymmetric, 100.0));
  EXPECT_EQ(all.lo, s.min);
  EXPECT_EQ(all.hi, s.max);
  // Only positives, u8: the low end stays at 0, the high end is the 99th percentile of x.
  const TensorStats p = statsOf(uniformGrid(0.0, 1.0, 1000000));
  TensorRange pr = chooseRange(p, opts(Calibrator::kPercentile, ActivationType::kU8Asymmetric, 99.0));
  EXPECT_EQ(pr.lo, 0.0);
  EXPECT_NEAR(pr.hi, 0.99, kTwoBins);
}

TEST(Calibrate, MseOfUniformDistributionsIsTheClosedForm) {
  // x uniform on [0, 1), threshold t, L levels: error t^3 / (12 L^2) + (1 - t)^3 / 3, minimal at
  // t = 2L / (2L + 1): 254 / 255 for s8 (L = 127), 510 / 511 for u8 (L = 255, no negatives).
  const TensorStats s = statsOf(uniformGrid(0.0, 1.0, 1000000));
  TensorRange sym = chooseRange(s, opts(Calibrator::kMse, ActivationType::kS8Symmetric));
  EXPECT_NEAR(sym.hi, 254.0 / 255.0, kTwoBins);
  TensorRange asym = chooseRange(s, opts(Calibrator::kMse, ActivationType::kU8Asymmetric));
  EXPECT_EQ(asym.lo, 0.0);
  EXPECT_NEAR(asym.hi, 510.0 / 511.0, kTwoBins);
}

TEST(Calibrate, OutliersAreClippedByAllButMinMax) {
  // 10 outliers per side. MSE: see MseBalancesRoundingAgainstClippingOutliers.
  const TensorStats s = statsOf(gaussianWithOutliers(10));
  for (ActivationType a : {ActivationType::kS8Symmetric, ActivationType::kU8Asymmetric}) {
    const std::string label(activationTypeName(a));
    const TensorRange mm = chooseRange(s, opts(Calibrator::kMinMax, a));
    EXPECT_EQ(mm.hi, 50.0) << label;
    EXPECT_EQ(mm.lo, -50.0) << label;
    // The 0.01 % tail is 20 values: the outliers. What is left ends at the Gaussian's extremes
    // (|x| < 5 for 200000 draws).
    const TensorRange pc = chooseRange(s, opts(Calibrator::kPercentile, a));
    EXPECT_GT(pc.hi, 3.4) << label;
    EXPECT_LT(pc.hi, 5.0) << label;
    EXPECT_LT(pc.lo, -3.4) << label;
    EXPECT_GT(pc.lo, -5.0) << label;
    // Entropy: clipped well below the outliers, yet wider than +-2 sigma.
    const TensorRange en = chooseRange(s, opts(Calibrator::kEntropy, a));
    EXPECT_LT(en.hi, 12.0) << label;
    EXPECT_GT(en.hi, 2.0) << label;
    EXPECT_GT(en.lo, -12.0) << label;
    EXPECT_LT(en.lo, -2.0) << label;
  }
}

TEST(Calibrate, MseBalancesRoundingAgainstClippingOutliers) {
  // N values, k outliers at 50, L levels: for thresholds between the bulk's extreme and 50 the
  // error is N (t / L)^2 / 12 + k (50 - t)^2, minimal at t = 100 k / (N / (6 L^2) + 2 k).
  // The range is histogram bins of 64 / 2048 here: two bins of tolerance.
  constexpr double kTolerance = 2 * 64.0 / kHistogramBins;
  // s8: 200000 Gaussian values and one outlier at each of +-50 (k = 2 on |x|): t = 32.97.
  const TensorStats s = statsOf(gaussianWithOutliers(1));
  const double n = static_cast<double>(s.count);
  const TensorRange sym = chooseRange(s, opts(Calibrator::kMse, ActivationType::kS8Symmetric));
  EXPECT_NEAR(sym.hi, 200.0 / (n / (6.0 * 127 * 127) + 4.0), kTolerance);
  // u8: 1e6 values of |N(0, 1)| and one at 50 (k = 1, L = 255): t = 21.92.
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(1000000);
  for (float& x : v) x = std::fabs(normal(rng));
  v.push_back(50.0f);
  const TensorRange asym = chooseRange(statsOf(v), opts(Calibrator::kMse, ActivationType::kU8Asymmetric));
  EXPECT_EQ(asym.lo, 0.0);
  EXPECT_NEAR(asym.hi, 100.0 / (1000001.0 / (6.0 * 255 * 255) + 2.0), kTolerance);
}

TEST(Calibrate, EntropyMatchesTheMxnetFormulation) {
  // A clipped Gaussian bell over [0, 6) with 5 outliers at bins 1500 and 1900. The expected
  // threshold comes from a straight Python port of MXNet's _get_optimal_threshold (one-sided, 128
  // quantized bins): best i = 1229, threshold 1229 * 8 / 2048 = 4.80078125.
  MagnitudeHistogram h;
  h.range = 8.0;
  const double w = h.binWidth();
  for (int b = 0; b < kHistogramBins; ++b) {
    const double c = (b + 0.5) * w;
    if (c < 6.0) h.counts[static_cast<size_t>(b)] = static_cast<int64_t>(100000 * std::exp(-c * c / 2));
  }
  h.counts[1500] += 3;
  h.counts[1900] += 2;
  h.max_magnitude = 1900.5 * w;
  EXPECT_DOUBLE_EQ(entropyThreshold(h), 4.80078125);

  // Nothing to gain when every value fits in 128 bins: the observed maximum.
  MagnitudeHistogram narrow;
  narrow.range = 1.0;
  for (int b = 0; b < 100; ++b) narrow.counts[static_cast<size_t>(b)] = 10 + b;
  narrow.max_magnitude = 0.0485;
  EXPECT_EQ(entropyThreshold(narrow), 0.0485);
  EXPECT_EQ(entropyThreshold(MagnitudeHistogram{}), 0.0);
}

TEST(Calibrate, EntropyU8KeepsASmallNegativeTail) {
  // SiLU-like: positives up to ~8, negatives only down to -0.28. The negative side keeps its
  // observed extent; the positive side is searched.
  std::mt19937 rng(42);
  std::exponential_distribution<float> pos(1.0f);
  std::uniform_real_distribution<float> neg(-0.278f, 0.0f);
  std::vector<float> v;
  for (int i = 0; i < 100000; ++i) v.push_back(pos(rng));
  for (int i = 0; i < 50000; ++i) v.push_back(neg(rng));
  const TensorStats s = statsOf(v);
  const TensorRange r = chooseRange(s, opts(Calibrator::kEntropy, ActivationType::kU8Asymmetric));
  EXPECT_EQ(r.lo, s.min);
  EXPECT_GT(r.hi, 4.0);
  EXPECT_LE(r.hi, s.max);
}

TEST(Calibrate, QuantParamsU8AndS8) {
  QuantParams u = quantParams({-1.0, 3.0}, ActivationType::kU8Asymmetric);
  EXPECT_EQ(u.dtype, DType::kUInt8);
  EXPECT_FLOAT_EQ(u.scale, 4.0f / 255.0f);
  EXPECT_EQ(u.zero_point, 64);  // round(1 / (4 / 255)) = round(63.75)
  QuantParams s = quantParams({-1.0, 3.0}, ActivationType::kS8Symmetric);
  EXPECT_EQ(s.dtype, DType::kInt8);
  EXPECT_FLOAT_EQ(s.scale, 3.0f / 127.0f);
  EXPECT_EQ(s.zero_point, 0);
  // A range without 0 is widened to contain it: zero is exact.
  QuantParams pos = quantParams({2.0, 5.1}, ActivationType::kU8Asymmetric);
  EXPECT_FLOAT_EQ(pos.scale, 5.1f / 255.0f);
  EXPECT_EQ(pos.zero_point, 0);
  QuantParams negative = quantParams({-2.0, -1.0}, ActivationType::kU8Asymmetric);
  EXPECT_EQ(negative.zero_point, 255);
  for (const QuantParams& q : {u, s, pos, negative}) EXPECT_EQ(fakeQuantize(0.0f, q), 0.0f);
  // A tensor that was always zero: a tiny positive scale, never 0 or NaN.
  for (ActivationType a : {ActivationType::kU8Asymmetric, ActivationType::kS8Symmetric}) {
    const QuantParams z = quantParams({0.0, 0.0}, a);
    EXPECT_EQ(z.scale, kMinScale);
    EXPECT_EQ(z.zero_point, 0);
    EXPECT_EQ(fakeQuantize(0.0f, z), 0.0f);
    EXPECT_TRUE(std::isfinite(fakeQuantize(1e6f, z)));
  }
}

TEST(Calibrate, QuantizeDequantizeRoundTripIsWithinHalfAStep) {
  // Inside the range the error is at most scale / 2 (plus float rounding); outside, values
  // saturate to the range ends.
  constexpr float kFloatSlack = 1e-6f;
  for (ActivationType a : {ActivationType::kU8Asymmetric, ActivationType::kS8Symmetric}) {
    const TensorRange range{-0.7, 5.3};
    const QuantParams q = quantParams(range, a);
    const double lo = a == ActivationType::kS8Symmetric ? -5.3 : -0.7;
    for (const float x : uniformGrid(lo, 5.3, 10007)) {
      EXPECT_LE(std::fabs(fakeQuantize(x, q) - x), q.scale / 2 + kFloatSlack) << x;
    }
    const float top = fakeQuantize(100.0f, q);
    EXPECT_NEAR(top, 5.3f, q.scale / 2 + kFloatSlack);
    EXPECT_EQ(quantizeValue(100.0f, q), a == ActivationType::kS8Symmetric ? 127 : 255);
    EXPECT_EQ(quantizeValue(-100.0f, q), a == ActivationType::kS8Symmetric ? -128 : 0);
  }
}

}  // namespace
}  // namespace detslim::quant
