#pragma once
// JobRunner: runs one core job (eval, run, sweep, ...) off the GUI thread and reports back on it.
// The job sees core's JobControl: its progress callback, called on the worker thread, is turned
// into queued `progress` signals (the latest report wins when the GUI lags, so a fast loop cannot
// flood the event queue), and cancel() sets its CancelToken. One job at a time: a second start()
// is refused, so the caller decides whether to queue it.

#include <QFutureWatcher>
#include <QObject>
#include <QString>
#include <QThreadPool>
#include <functional>
#include <memory>

#include "core/base/status.h"
#include "core/workbench/job.h"

namespace detslim::ui {

class JobRunner : public QObject {
  Q_OBJECT

 public:
  // A core job: checks control.cancel between units of work and reports through
  // control.progress; returns why it failed (kCancelled when cancelled) or ok.
  using Job = std::function<Status(const JobControl&)>;

  explicit JobRunner(QObject* parent = nullptr);
  // Cancels the running job and waits for it: a job never outlives the objects it reports to.
  ~JobRunner() override;

  // Starts `job` on the runner's worker thread and returns true; refuses (false, nothing
  // emitted) while another job runs. `name` is only kept for messages (name()).
  bool start(Job job, const QString& name = {});
  bool isRunning() const { return m_running; }
  QString name() const { return m_name; }

  // Asks the running job to stop; it finishes at its next cancellation check.
  void cancel();
  // Blocks until the running job has returned (its finished signal is still queued).
  void waitForFinished();

  // What the last finished job returned.
  ErrorCode lastCode() const { return m_lastCode; }
  bool lastCancelled() const { return m_lastCode == ErrorCode::kCancelled; }

 signals:
  void started(const QString& name);
  // Core's JobProgress: `total` 0 when unknown, `etaSeconds` < 0 when unknown.
  void progress(const QString& stage, qint64 done, qint64 total, double etaSeconds);
  // ok: the job returned ok; otherwise `message` is core's message (or "cancelled ...").
  void finished(bool ok, const QString& message);

 private:
  struct Shared;  // state the worker thread shares with the runner (outlives either side)
  void onWatcherFinished();
  void deliverProgress();

  QThreadPool m_pool;  // one worker: jobs are long, and the global pool serves quick loads
  QFutureWatcher<Status> m_watcher;
  std::shared_ptr<Shared> m_shared;  // the running job's; a stale delivery sees another
  CancelToken m_cancel;
  bool m_running = false;
  QString m_name;
  ErrorCode m_lastCode = ErrorCode::kOk;
};

}  // namespace detslim::ui
