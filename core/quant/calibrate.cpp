// Calibration statistics and calibrators. The maths is explained in calibrate.h.

#include "core/quant/calibrate.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace detslim::quant {

namespace {

constexpr int32_t kU8Levels = 255;  // u8 steps between the range ends
constexpr int32_t kS8Levels = 127;  // s8 steps between 0 and the threshold
constexpr double kKlSmoothingEpsilon = 1e-4;  // MXNet's _smooth_distribution eps

// The smallest power of two >= m (m > 0).
double powerOfTwoAtLeast(double m) {
  int exponent = 0;
  const double fraction = std::frexp(m, &exponent);  // m = fraction * 2^exponent, fraction in [0.5, 1)
  return fraction == 0.5 ? std::ldexp(1.0, exponent - 1) : std::ldexp(1.0, exponent);
}

// Index one past the last non-empty bin (0 for an empty histogram).
int usedBins(const MagnitudeHistogram& h) {
  for (int b = kHistogramBins - 1; b >= 0; --b) {
    if (h.counts[static_cast<size_t>(b)] != 0) return b + 1;
  }
  return 0;
}

// Prefix sums over bins of count, count * centre and count * centre^2: the clipping error of a
// threshold t at a bin edge is S2 - 2 t S1 + t^2 S0 over the bins above it.
struct BinMoments {
  std::vector<double> s0, s1, s2;  // s_k[i]: sum over bins < i

  explicit BinMoments(const MagnitudeHistogram& h) : s0(kHistogramBins + 1), s1(kHistogramBins + 1), s2(kHistogramBins + 1) {
    const double w = h.binWidth();
    for (int b = 0; b < kHistogramBins; ++b) {
      const auto n = static_cast<double>(h.counts[static_cast<size_t>(b)]);
      const double c = (b + 0.5) * w;
      s0[static_cast<size_t>(b) + 1] = s0[static_cast<size_t>(b)] + n;
      s1[static_cast<size_t>(b) + 1] = s1[static_cast<size_t>(b)] + n * c;
      s2[static_cast<size_t>(b) + 1] = s2[static_cast<size_t>(b)] + n * c * c;
    }
  }
  double inside(int i) const { return s0[static_cast<size_t>(i)]; }
  // Squared distance to t of every value in the bins >= i (t = i * bin width).
  double clipError(int i, double t) const {
    const size_t k = static_cast<size_t>(i);
    const double n = s0.back() - s0[k];
    const double m1 = s1.back() - s1[k];
    const double m2 = s2.back() - s2[k];
    return std::max(0.0, m2 - 2.0 * t * m1 + t * t * n);
  }
};

// MXNet's _smooth_distribution: moves eps of mass into every empty bin, taken evenly from the
// others. False when it cannot (no non-empty bin, or a bin would go negative).
bool smooth(std::vector<double>& dist) {
  size_t zeros = 0;
  for (double v : dist) zeros += v == 0.0 ? 1 : 0;
  const size_t nonzeros = dist.size() - zeros;
  if (nonzeros == 0) return false;
  const double eps1 = kKlSmoothingEpsilon * static_cast<double>(zeros) / static_cast<double>(nonzeros);
  for (double& v : dist) {
    v = v == 0.0 ? kKlSmoothingEpsilon : v - eps1;
    if (v <= 0.0) return false;
  }
  return true;
}

// KL(P || Q) of two positive, not yet normalized distributions.
double klDivergence(const std::vector<double>& p, const std::vector<double>& q) {
  double sp = 0.0, sq = 0.0;
  for (size_t j = 0; j < p.size(); ++j) {
    sp += p[j];
    sq += q[j];
  }
  double kl = 0.0;
  for (size_t j = 0; j < p.size(); ++j) {
    const double pj = p[j] / sp;
    kl += pj * std::log(pj / (q[j] / sq));
  }
  return kl;
}

// u8 MSE: the pair (a, b) of negative / positive thresholds at bin edges minimizing
// (N_in) * ((a + b) / 255)^2 / 12 + clipping error of both sides.
TensorRange mseRangeAsymmetric(const TensorStats& stats) {
  const MagnitudeHistogram& pos = stats.positive;
  const MagnitudeHistogram& neg = stats.negative;
  const BinMoments mp(pos), mn(neg);
  const int np = usedBins(pos), nn = usedBins(neg);
  const double wp = pos.binWidth(), wn = neg.binWidth();
  double best = std::numeric_limits<double>::infinity();
  int best_i = np, best_j = nn;
  for (int j = 0; j <= nn; ++j) {
    const double a = j * wn;
    const double clip_n = mn.clipError(j, a);
    const double in_n = mn.inside(j);
    for (int i = 0; i <= np; ++i) {
      const double b = i * wp;
      const double step = (a + b) / kU8Levels;
      const double err = (in_n + mp.inside(i)) * step * step / 12.0 + clip_n + mp.clipError(i, b);
      if (err < best) {
        best = err;
        best_i = i;
        best_j = j;
      }
    }
  }
  return {-std::min(best_j * wn, neg.max_magnitude), std::min(best_i * wp, pos.max_magnitude)};
}

}  // namespace

// ---- names ----------------------------------------------------------------------------------

Result<Calibrator> parseCalibrator(std::string_view name) {
  for (Calibrator c : {Calibrator::kMinMax, Calibrator::kPercentile, Calibrator::kEntropy, Calibrator::kMse}) {
    if (name == calibratorName(c)) return c;
  }
  return invalidArgument("unknown calibrator '" + std::string(name) +
                         "' (known: minmax, percentile, entropy, mse)");
}

std::string_view calibratorName(Calibrator calibrator) {
  switch (calibrator) {
    case Calibrator::kMinMax: return "minmax";
    case Calibrator::kPercentile: return "percentile";
    case Calibrator::kEntropy: return "entropy";
    case Calibrator::kMse: return "mse";
  }
  return "?";
}

Result<ActivationType> parseActivationType(std::string_view name) {
  if (name == "u8") return ActivationType::kU8Asymmetric;
  if (name == "s8") return ActivationType::kS8Symmetric;
  return invalidArgument("unknown activation type '" + std::string(name) +
                         "' (known: u8 = asymmetric uint8, s8 = symmetric int8)");
}

std::string_view activationTypeName(ActivationType type) {
  return type == ActivationType::kU8Asymmetric ? "u8" : "s8";
}

DType activationDType(ActivationType type) {
  return type == ActivationType::kU8Asymmetric ? DType::kUInt8 : DType::kInt8;
}

// ---- statistics -----------------------------------------------------------------------------

int64_t MagnitudeHistogram::total() const {
  int64_t n = 0;
  for (int64_t c : counts) n += c;
  return n;
}

void MagnitudeHistogram::cover(double magnitude) {
  if (magnitude <= range) return;
  if (range == 0.0) {
    // Everything so far was zero and sits in bin 0, which stays bin 0 at any range.
    range = powerOfTwoAtLeast(magnitude);
    return;
  }
  while (range < magnitude) {
    for (int k = 0; k < kHistogramBins / 2; ++k) {
      counts[static_cast<size_t>(k)] = counts[2 * static_cast<size_t>(k)] + counts[2 * static_cast<size_t>(k) + 1];
    }
    std::fill(counts.begin() + kHistogramBins / 2, counts.end(), 0);
    range *= 2.0;
  }
}

void MagnitudeHistogram::add(double magnitude) {
  cover(magnitude);
  max_magnitude = std::max(max_magnitude, magnitude);
  int bin = 0;
  if (range > 0.0) bin = std::min(static_cast<int>(magnitude / range * kHistogramBins), kHistogramBins - 1);
  ++counts[static_cast<size_t>(bin)];
}

MagnitudeHistogram MagnitudeHistogram::rebinnedTo(double larger_range) const {
  MagnitudeHistogram out = *this;
  out.cover(larger_range);
  return out;
}

bool TensorStats::scan(std::span<const float> values, float& lo, float& hi, int64_t* bad_index) {
  lo = values.empty() ? 0.0f : values[0];
  hi = lo;
  bool finite = true;
  for (float v : values) {
    finite &= std::isfinite(v);
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  if (finite) return true;
  if (bad_index) {
    for (size_t i = 0; i < values.size(); ++i) {
      if (!std::isfinite(values[i])) {
        *bad_index = static_cast<int64_t>(i);
        break;
      }
    }
  }
  return false;
}

bool TensorStats::add(std::span<const float> values, int64_t* bad_index) {
  float lo = 0.0f, hi = 0.0f;
  if (!scan(values, lo, hi, bad_index)) return false;
  addScanned(values, lo, hi);
  return true;
}

void TensorStats::addScanned(std::span<const float> values, float lo, float hi) {
  if (values.empty()) return;
  if (hi > 0.0f) positive.cover(hi);
  if (lo < 0.0f) negative.cover(-static_cast<double>(lo));
  positive.max_magnitude = std::max(positive.max_magnitude, static_cast<double>(std::max(hi, 0.0f)));
  if (lo < 0.0f) negative.max_magnitude = std::max(negative.max_magnitude, -static_cast<double>(lo));
  // Ranges are powers of two, so |x| * (bins / range) is exact in float.
  const float pos_scale = positive.range > 0.0 ? static_cast<float>(kHistogramBins / positive.range) : 0.0f;
  const float neg_scale = negative.range > 0.0 ? static_cast<float>(kHistogramBins / negative.range) : 0.0f;
  int64_t* pos_counts = positive.counts.data();
  int64_t* neg_counts = negative.counts.data();
  constexpr int kLastBin = kHistogramBins - 1;
  for (float v : values) {
    if (v >= 0.0f) {
      ++pos_counts[std::min(static_cast<int>(v * pos_scale), kLastBin)];
    } else {
      ++neg_counts[std::min(static_cast<int>(-v * neg_scale), kLastBin)];
    }
  }
  count += static_cast<int64_t>(values.size());
  min = std::min(min, static_cast<double>(lo));
  max = std::max(max, static_cast<double>(hi));
}

MagnitudeHistogram TensorStats::magnitudes() const {
  const double r = std::max(positive.range, negative.range);
  MagnitudeHistogram merged = positive.rebinnedTo(r);
  const MagnitudeHistogram n = negative.rebinnedTo(r);
  for (size_t b = 0; b < merged.counts.size(); ++b) merged.counts[b] += n.counts[b];
  merged.max_magnitude = std::max(positive.max_magnitude, negative.max_magnitude);
  return merged;
}

// ---- one-sided searches -----------------------------------------------------------------------

double magnitudeAtCount(const MagnitudeHistogram& h, double below) {
  const auto total = static_cast<double>(h.total());
  if (total == 0.0 || h.range == 0.0) return 0.0;
  if (below >= total) return h.max_magnitude;
  below = std::max(below, 0.0);
  const double w = h.binWidth();
  double cum = 0.0;
  for (int b = 0; b < kHistogramBins; ++b) {
    const auto n = static_cast<double>(h.counts[static_cast<size_t>(b)]);
    if (n > 0.0 && cum + n >= below) {
      return std::min((b + (below - cum) / n) * w, h.max_magnitude);
    }
    cum += n;
  }
  return h.max_magnitude;
}

double quantileMagnitude(const MagnitudeHistogram& h, double q) {
  return magnitudeAtCount(h, std::clamp(q, 0.0, 1.0) * static_cast<double>(h.total()));
}

double entropyThreshold(const MagnitudeHistogram& h, int quantized_bins) {
  const int used = usedBins(h);
  if (used == 0 || h.range == 0.0) return 0.0;
  if (used <= quantized_bins) return h.max_magnitude;  // nothing to gain by clipping
  const std::vector<int64_t>& hist = h.counts;
  // Suffix sums: the mass a threshold at bin i clips.
  std::vector<double> above(kHistogramBins + 1, 0.0);
  for (int b = kHistogramBins - 1; b >= 0; --b) {
    above[static_cast<size_t>(b)] = above[static_cast<size_t>(b) + 1] + static_cast<double>(hist[static_cast<size_t>(b)]);
  }
  double best_kl = std::numeric_limits<double>::infinity();
  int best_i = used;
  std::vector<double> p, q, levels(static_cast<size_t>(quantized_bins));
  for (int i = quantized_bins; i <= used; ++i) {
    const auto n = static_cast<size_t>(i);
    p.assign(hist.begin(), hist.begin() + i);
    p[n - 1] += above[n];  // the clipped values land in the last kept bin
    // Q: the kept bins (without the clipped mass) merged into `quantized_bins` levels, the
    // remainder joining the last level, then spread evenly over P's non-empty bins.
    const size_t merged = n / static_cast<size_t>(quantized_bins);
    std::fill(levels.begin(), levels.end(), 0.0);
    for (size_t j = 0; j < n; ++j) {
      levels[std::min(j / merged, levels.size() - 1)] += static_cast<double>(hist[j]);
    }
    q.assign(n, 0.0);
    for (size_t l = 0; l < levels.size(); ++l) {
      const size_t start = l * merged;
      const size_t stop = l + 1 == levels.size() ? n : start + merged;
      size_t nonzero = 0;
      for (size_t j = start; j < stop; ++j) nonzero += p[j] != 0.0 ? 1 : 0;
      if (nonzero == 0) continue;
      const double share = levels[l] / static_cast<double>(nonzero);
      for (size_t j = start; j < stop; ++j) q[j] = p[j] != 0.0 ? share : 0.0;
    }
    if (!smooth(p) || !smooth(q)) continue;
    const double kl = klDivergence(p, q);
    if (kl < best_kl) {
      best_kl = kl;
      best_i = i;
    }
  }
  return std::min(best_i * h.binWidth(), h.max_magnitude);
}

double mseThreshold(const MagnitudeHistogram& h, int levels) {
  const int used = usedBins(h);
  if (used == 0 || h.range == 0.0) return 0.0;
  const BinMoments m(h);
  const double w = h.binWidth();
  double best = std::numeric_limits<double>::infinity();
  int best_i = used;
  for (int i = 1; i <= used; ++i) {
    const double t = i * w;
    const double step = t / levels;
    const double err = m.inside(i) * step * step / 12.0 + m.clipError(i, t);
    if (err < best) {
      best = err;
      best_i = i;
    }
  }
  return std::min(best_i * w, h.max_magnitude);
}

// ---- calibrators ------------------------------------------------------------------------------

TensorRange chooseRange(const TensorStats& stats, const QuantOptions& options) {
  if (stats.count == 0) return {};
  const bool symmetric = options.activations == ActivationType::kS8Symmetric;
  const double observed_lo = std::min(stats.min, 0.0);
  const double observed_hi = std::max(stats.max, 0.0);
  auto symmetricRange = [](double t) { return TensorRange{-t, t}; };
  switch (options.calibrator) {
    case Calibrator::kMinMax:
      if (symmetric) return symmetricRange(std::max(-observed_lo, observed_hi));
      return {observed_lo, observed_hi};
    case Calibrator::kPercentile: {
      const double p = std::clamp(options.percentile, 0.0, 100.0) / 100.0;
      if (symmetric) return symmetricRange(quantileMagnitude(stats.magnitudes(), p));
      // The lowest / highest (1 - p) of all values are clipped, on each side of the sorted data.
      const double tail = (1.0 - p) * static_cast<double>(stats.count);
      const auto n_pos = static_cast<double>(stats.positive.total());
      const auto n_neg = static_cast<double>(stats.negative.total());
      const double hi = tail < n_pos ? magnitudeAtCount(stats.positive, n_pos - tail) : 0.0;
      const double lo = tail < n_neg ? -magnitudeAtCount(stats.negative, n_neg - tail) : 0.0;
      return {lo, hi};
    }
    case Calibrator::kEntropy: {
      if (symmetric) return symmetricRange(entropyThreshold(stats.magnitudes()));
      double b = entropyThreshold(stats.positive);
      double a = entropyThreshold(stats.negative);
      if (stats.negative.max_magnitude <= kSmallSideFraction * b) a = stats.negative.max_magnitude;
      if (stats.positive.max_magnitude <= kSmallSideFraction * a) b = stats.positive.max_magnitude;
      return {-a, b};
    }
    case Calibrator::kMse:
      if (symmetric) return symmetricRange(mseThreshold(stats.magnitudes(), kS8Levels));
      return mseRangeAsymmetric(stats);
  }
  return {observed_lo, observed_hi};
}

// ---- quantizer --------------------------------------------------------------------------------

QuantParams quantParams(TensorRange range, ActivationType type) {
  const double lo = std::min(range.lo, 0.0);
  const double hi = std::max(range.hi, 0.0);
  QuantParams q;
  if (type == ActivationType::kS8Symmetric) {
    q.dtype = DType::kInt8;
    q.scale = static_cast<float>(std::max(-lo, hi) / kS8Levels);
    if (!(q.scale >= kMinScale)) q.scale = kMinScale;  // also catches NaN
    q.zero_point = 0;
    return q;
  }
  q.dtype = DType::kUInt8;
  q.scale = static_cast<float>((hi - lo) / kU8Levels);
  if (!(q.scale >= kMinScale)) q.scale = kMinScale;
  const double zp = std::nearbyint(-lo / static_cast<double>(q.scale));
  q.zero_point = static_cast<int32_t>(std::clamp(zp, 0.0, static_cast<double>(kU8Levels)));
  return q;
}

int32_t quantizeValue(float x, const QuantParams& params) {
  float v = std::nearbyint(x / params.scale);
  if (std::isnan(v)) v = 0.0f;
  const float lowest = params.dtype == DType::kInt8 ? -128.0f : 0.0f;
  const float highest = params.dtype == DType::kInt8 ? 127.0f : 255.0f;
  return static_cast<int32_t>(std::clamp(v + static_cast<float>(params.zero_point), lowest, highest));
}

float fakeQuantize(float x, const QuantParams& params) {
  return static_cast<float>(quantizeValue(x, params) - params.zero_point) * params.scale;
}

}  // namespace detslim::quant
