#include "core/perf/latency.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace detslim {

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0.0;
  const double rank = p / 100.0 * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(rank));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  const double frac = rank - static_cast<double>(lo);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * frac;
}

LatencySummary summarizeLatency(std::vector<double> samples) {
  LatencySummary s;
  if (samples.empty()) return s;
  std::sort(samples.begin(), samples.end());
  s.runs = static_cast<int>(samples.size());
  s.mean_ms = std::accumulate(samples.begin(), samples.end(), 0.0) / static_cast<double>(samples.size());
  s.median_ms = percentile(samples, 50);
  s.p90_ms = percentile(samples, 90);
  s.p99_ms = percentile(samples, 99);
  s.min_ms = samples.front();
  s.max_ms = samples.back();
  double var = 0.0;
  for (double v : samples) var += (v - s.mean_ms) * (v - s.mean_ms);
  s.std_ms = std::sqrt(var / static_cast<double>(samples.size()));
  return s;
}

}  // namespace detslim
