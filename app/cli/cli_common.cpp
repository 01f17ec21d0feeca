#include "app/cli/cli_common.h"

#include <cmath>
#include <cstdio>
#include <iostream>

namespace detslim::cli {

int reportError(const Status& status) {
  std::cerr << "detslim: error: " << status.message() << "\n";
  switch (status.code()) {
    case ErrorCode::kOk: return kExitOk;
    case ErrorCode::kInternal: return kExitInternal;
    case ErrorCode::kCancelled: return kExitInterrupted;
    default: return kExitBadInput;
  }
}

std::string groupDigits(int64_t value) {
  std::string digits = std::to_string(value < 0 ? -value : value);
  std::string out;
  int count = 0;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    if (count && count % 3 == 0) out.insert(out.begin(), ',');
    out.insert(out.begin(), *it);
    ++count;
  }
  return value < 0 ? "-" + out : out;
}

std::string humanCount(double value) {
  const char* units[] = {"", " K", " M", " G", " T"};
  int u = 0;
  while (std::fabs(value) >= 1000.0 && u < 4) {
    value /= 1000.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u ? "%.3f%s" : "%.0f%s", value, units[u]);
  return buf;
}

std::string humanBytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024.0 && u < 4) {
    bytes /= 1024.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u ? "%.2f %s" : "%.0f %s", bytes, units[u]);
  return buf;
}

}  // namespace detslim::cli
