#pragma once
// What every long-running job (eval, run, sweep) shares with its front end: a cancel token the
// GUI's Stop button or the CLI's Ctrl-C sets, and progress reports with an ETA. Jobs check the
// token between images / configurations and return kCancelled, keeping what was finished.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace detslim {

// Shared flag: copies observe the same cancellation.
class CancelToken {
 public:
  CancelToken() : flag_(std::make_shared<std::atomic<bool>>(false)) {}
  void cancel() const { flag_->store(true, std::memory_order_relaxed); }
  bool cancelled() const { return flag_->load(std::memory_order_relaxed); }

 private:
  std::shared_ptr<std::atomic<bool>> flag_;
};

struct JobProgress {
  std::string stage;       // "evaluating", "sweep 3/8: magnitude 0.5 fp32", ...
  int64_t done = 0;        // units finished (images, configurations)
  int64_t total = 0;       // 0 when unknown
  double elapsed_s = 0.0;  // since the stage started
  double eta_s = -1.0;     // remaining, extrapolated from the mean so far; -1 when unknown
};

using ProgressCallback = std::function<void(const JobProgress&)>;

struct JobControl {
  ProgressCallback progress;  // may be empty; called on the job's thread
  CancelToken cancel;
};

// Times a stage and turns (done, total) into JobProgress with an ETA.
class ProgressMeter {
 public:
  ProgressMeter(const JobControl& control, std::string stage, int64_t total)
      : control_(control), stage_(std::move(stage)), total_(total),
        start_(std::chrono::steady_clock::now()) {}

  void report(int64_t done) const {
    if (!control_.progress) return;
    JobProgress p;
    p.stage = stage_;
    p.done = done;
    p.total = total_;
    p.elapsed_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    if (done > 0 && total_ > 0) p.eta_s = p.elapsed_s / done * (total_ - done);
    control_.progress(p);
  }
  double elapsedSeconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  const JobControl& control_;
  std::string stage_;
  int64_t total_ = 0;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace detslim
