#pragma once
// Calibration maths for INT8 post-training static quantization (docs/quant.md): the options, the
// per-tensor statistics an observer accumulates, the calibrators that turn them into a range, and
// the (scale, zero point) of a range.
//
// Statistics: min, max and two magnitude histograms of kHistogramBins bins, one for the values
// >= 0 and one for the values < 0. Each side covers [0, R) with R a power of two >= its largest
// magnitude; when a larger value arrives R doubles (as often as needed) and bin pairs merge, which
// is exact (no interpolation), so memory stays constant and the histogram equals the one a single
// pass at the final R would have built. The symmetric |x| histogram is the two sides merged at
// the larger R. (ONNX Runtime's HistogramCollector instead adds bins as the range grows.)
//
// Calibrators (chooseRange):
//   minmax      the observed range.
//   percentile  s8: the p-th percentile of |x|; u8: the (100-p)-th .. p-th percentiles of x.
//               Linear interpolation inside a bin, never beyond the observed extreme.
//   entropy     TensorRT's KL-divergence threshold search (MXNet / ONNX Runtime formulation):
//               thresholds i * bin_width for i = 128 .. last used bin, the reference P with the
//               clipped mass folded into its last bin, Q quantized to 128 levels and expanded
//               over P's non-empty bins, both smoothed (eps 1e-4), argmin KL(P || Q).
//               s8: on the |x| histogram. u8: on each side's magnitude histogram separately;
//               a side whose extent is at most kSmallSideFraction of the other side's threshold
//               (SiLU's negative tail down to -0.28 beside positives up to ~10) keeps its observed
//               extent: clipping it would free under 10 % of the levels and distort it the most.
//   mse         the range minimizing the expected squared error over the histogram: every value
//               inside costs step^2 / 12 (uniform rounding error), every value outside its
//               squared distance to the range (bin centres). s8: step = t / 127 over thresholds
//               t at bin edges; u8: step = (a + b) / 255 over every pair of negative / positive
//               thresholds (a, b) at bin edges.
// Every range contains 0 (so zero is exact) and a range of zero width gets kMinScale.

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/dtype.h"
#include "core/base/status.h"

namespace detslim::quant {

enum class ActivationType { kU8Asymmetric, kS8Symmetric };       // "u8" / "s8"
enum class Calibrator { kMinMax, kPercentile, kEntropy, kMse };  // "minmax" "percentile" "entropy" "mse"

// Parses "minmax" / "percentile" / "entropy" / "mse"; refuses anything else, listing the names.
Result<Calibrator> parseCalibrator(std::string_view name);
std::string_view calibratorName(Calibrator calibrator);
// Parses "u8" / "s8"; refuses anything else, listing the names.
Result<ActivationType> parseActivationType(std::string_view name);
std::string_view activationTypeName(ActivationType type);
// kUInt8 for u8, kInt8 for s8.
DType activationDType(ActivationType type);

struct QuantOptions {
  ActivationType activations = ActivationType::kU8Asymmetric;
  Calibrator calibrator = Calibrator::kMse;  // the measured best (docs/quant.md)
  double percentile = 99.99;  // the percentile calibrator's p, in (50, 100]
  // Conv node names kept in f32: the complete list (callers wanting the default higher-precision
  // layers put defaultKeepFp32(model) here). An unnamed Conv is named by its output.
  std::vector<std::string> keep_fp32;
  // Quantize Conv outputs before their SiLU / sigmoid / tanh too (QuantizationPlan::
  // pre_activations): the activation runs as a table on integers (docs/quant.md).
  bool pre_activations = true;
};

constexpr int kHistogramBins = 2048;
constexpr int kEntropyQuantizedBins = 128;   // TensorRT's levels per side for the KL search
constexpr double kSmallSideFraction = 0.1;  // entropy, u8: see the header comment
// The smallest scale ever written: a tensor that was always zero still gets a usable, finite
// quantizer (x / scale stays finite for any float32 x it will meet).
constexpr float kMinScale = 1e-8f;

// A magnitude histogram over [0, range): bin b counts |x| in [b, b + 1) * range / kHistogramBins
// (the largest magnitude, equal to range at most, lands in the last bin). range is 0 while the
// side has seen nothing but zeros.
struct MagnitudeHistogram {
  double range = 0.0;
  double max_magnitude = 0.0;  // the largest |x| seen on this side
  std::vector<int64_t> counts = std::vector<int64_t>(kHistogramBins, 0);

  int64_t total() const;
  double binWidth() const { return range / kHistogramBins; }
  // Grows the range (doubling, bin pairs merged) until it covers `magnitude`.
  void cover(double magnitude);
  void add(double magnitude);
  // This histogram rebinned to a larger power-of-two range (exact pair merges).
  MagnitudeHistogram rebinnedTo(double larger_range) const;
};

// Everything a calibrator needs about one tensor, in constant memory.
struct TensorStats {
  int64_t count = 0;  // values seen
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  MagnitudeHistogram positive;  // values >= 0
  MagnitudeHistogram negative;  // values < 0, as magnitudes

  // Adds values. Refuses (returns false, adds nothing) when one is NaN or infinite; `bad_index`
  // then receives its index.
  bool add(std::span<const float> values, int64_t* bad_index = nullptr);
  // The two halves of add(), for callers that must check many tensors before adding any:
  // scan() finds the extremes (false, with the index, at the first NaN or infinity);
  // addScanned() adds values whose extremes scan() returned.
  static bool scan(std::span<const float> values, float& lo, float& hi, int64_t* bad_index = nullptr);
  void addScanned(std::span<const float> values, float lo, float hi);
  // The |x| histogram: both sides merged at the larger range.
  MagnitudeHistogram magnitudes() const;
};

struct TensorRange {
  double lo = 0;
  double hi = 0;
};

// The calibrator's range for one tensor (contains 0; [0, 0] for a tensor never observed).
TensorRange chooseRange(const TensorStats& stats, const QuantOptions& options);

// One-sided threshold searches on a magnitude histogram, used by chooseRange (public for tests).
// Each returns a magnitude within [0, max_magnitude]; 0 for an empty histogram.
// The q-quantile (q in [0, 1]) of the magnitudes, interpolated linearly inside its bin.
double quantileMagnitude(const MagnitudeHistogram& h, double q);
// The magnitude below which the histogram holds `below` values (interpolated inside its bin).
double magnitudeAtCount(const MagnitudeHistogram& h, double below);
// TensorRT's KL threshold with `quantized_bins` levels.
double entropyThreshold(const MagnitudeHistogram& h, int quantized_bins = kEntropyQuantizedBins);
// The threshold t minimizing N_in * (t / levels)^2 / 12 + sum over clipped values (|x| - t)^2.
double mseThreshold(const MagnitudeHistogram& h, int levels);

// A quantizer: x_q = saturate(round_half_even(x / scale) + zero_point), x = (x_q - zp) * scale.
struct QuantParams {
  float scale = 1.0f;
  int32_t zero_point = 0;
  DType dtype = DType::kUInt8;  // kUInt8 or kInt8
};

// u8: scale = (hi - lo) / 255, zero_point = round(-lo / scale) clamped to [0, 255];
// s8: scale = max(|lo|, |hi|) / 127, zero_point 0. Widens the range to contain 0 first; a
// zero-width range gets kMinScale.
QuantParams quantParams(TensorRange range, ActivationType type);
// What QuantizeLinear then DequantizeLinear make of x (float32 arithmetic, as the ONNX reference).
float fakeQuantize(float x, const QuantParams& params);
// The integer QuantizeLinear writes for x.
int32_t quantizeValue(float x, const QuantParams& params);

}  // namespace detslim::quant
