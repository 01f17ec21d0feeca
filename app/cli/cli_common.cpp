#include "app/cli/cli_common.h"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>

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

namespace {

CancelToken* g_interrupt_token = nullptr;  // set once; read by the signal handler
std::atomic<int> g_interrupts{0};
bool g_progress_line_open = false;

extern "C" void onInterrupt(int signal) {
  if (g_interrupts.fetch_add(1) > 0) {
    std::signal(signal, SIG_DFL);
    std::raise(signal);
    return;
  }
  if (g_interrupt_token) g_interrupt_token->cancel();  // an atomic store: signal-safe
  static const char kMessage[] = "\ndetslim: interrupted; stopping after the current step "
                                 "(Ctrl-C again to quit now)\n";
  [[maybe_unused]] ssize_t written = ::write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
}

std::string seconds(double s) {
  char buf[32];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%.1f s", s);
  } else {
    std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  }
  return buf;
}

}  // namespace

void cancelOnInterrupt(const CancelToken& token) {
  static CancelToken kept;  // the handler needs a token that lives as long as the process
  kept = token;
  g_interrupt_token = &kept;
  std::signal(SIGINT, onInterrupt);
  std::signal(SIGTERM, onInterrupt);
}

ProgressCallback terminalProgress(const std::string& unit) {
  const bool tty = ::isatty(STDERR_FILENO) == 1;
  auto last_quarter = std::make_shared<int64_t>(-1);
  return [tty, unit, last_quarter](const JobProgress& p) {
    char head[64];
    if (p.total > 0) {
      const int width = static_cast<int>(std::to_string(p.total).size());
      std::snprintf(head, sizeof head, "[%*lld/%lld%s%s] %3d%%", width,
                    static_cast<long long>(p.done), static_cast<long long>(p.total),
                    unit.empty() ? "" : " ", unit.c_str(),
                    static_cast<int>(100 * p.done / p.total));
    } else {
      std::snprintf(head, sizeof head, "[%lld %s]", static_cast<long long>(p.done),
                    unit.c_str());
    }
    std::string line = std::string(head) + "  " + seconds(p.elapsed_s);
    if (p.eta_s >= 0 && p.done < p.total) line += "  eta " + seconds(p.eta_s);
    line += "  " + p.stage;
    if (tty) {
      std::cerr << "\r\033[K" << line << std::flush;
      g_progress_line_open = true;
      return;
    }
    const int64_t quarter = p.total > 0 ? 4 * p.done / p.total : p.done;
    if (quarter != *last_quarter) {
      *last_quarter = quarter;
      std::cerr << line << "\n";
    }
  };
}

void finishProgress() {
  if (g_progress_line_open) std::cerr << "\n";
  g_progress_line_open = false;
}

std::string fixed(double value, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, value);
  return buf;
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
