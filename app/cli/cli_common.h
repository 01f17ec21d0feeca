#pragma once
// Shared helpers of the `detslim` subcommands: exit codes, error printing, number formatting.

#include <cstdint>
#include <string>

#include "core/base/status.h"
#include "core/workbench/job.h"

namespace detslim::cli {

// Exit codes: 0 success, 1 a DetSlim bug, 2 bad input or a refused operation (the message says
// which file, node or field), 130 interrupted.
inline constexpr int kExitOk = 0;
inline constexpr int kExitInternal = 1;
inline constexpr int kExitBadInput = 2;
inline constexpr int kExitInterrupted = 130;

// Prints "detslim: error: <message>" to stderr and returns the exit code for the status.
int reportError(const Status& status);

// 0.34 -> "0.340" (digits after the point)
std::string fixed(double value, int digits = 3);
// 1234567 -> "1,234,567"
std::string groupDigits(int64_t value);
// 8216780800 -> "8.217 G"; 1867405 -> "1.867 M"
std::string humanCount(double value);
// 7918388 -> "7.55 MiB"
std::string humanBytes(double bytes);

// Ctrl-C (SIGINT) and SIGTERM cancel `token` instead of killing the process, so a job stops
// between units and keeps what it finished; a second Ctrl-C exits at once.
void cancelOnInterrupt(const CancelToken& token);

// A progress callback for the terminal: a line rewritten in place ("[ 37/128] 29%  2.1 s  eta
// 5.2 s") when stderr is a terminal; otherwise one line per quarter, so logs stay short.
ProgressCallback terminalProgress(const std::string& unit);
// Ends the in-place progress line (prints the newline) if one was drawn.
void finishProgress();

}  // namespace detslim::cli
