#pragma once
// Latency statistics over timed runs.

#include <vector>

namespace detslim {

struct LatencySummary {
  int runs = 0;
  double mean_ms = 0.0;
  double median_ms = 0.0;
  double p90_ms = 0.0;
  double p99_ms = 0.0;
  double min_ms = 0.0;
  double max_ms = 0.0;
  double std_ms = 0.0;  // population standard deviation: the jitter
};

// Percentiles by linear interpolation between closest ranks (numpy's default), so p50 of an
// even count is the mean of the two middle samples.
LatencySummary summarizeLatency(std::vector<double> samples_ms);
double percentile(const std::vector<double>& sorted_ms, double p);

}  // namespace detslim
