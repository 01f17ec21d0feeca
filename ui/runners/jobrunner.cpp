#include "ui/runners/jobrunner.h"

#include <QMetaObject>
#include <QPromise>
#include <QtConcurrent/QtConcurrentRun>
#include <exception>
#include <mutex>
#include <utility>

namespace detslim::ui {

// One per job. The worker writes the latest report and posts one delivery at a time; the GUI
// thread takes whatever is latest when the delivery runs.
struct JobRunner::Shared {
  std::mutex mutex;
  JobProgress latest;
  bool pending = false;  // `latest` not delivered yet
  bool posted = false;   // a delivery is queued on the GUI thread
};

JobRunner::JobRunner(QObject* parent) : QObject(parent) {
  m_pool.setMaxThreadCount(1);
  connect(&m_watcher, &QFutureWatcher<Status>::finished, this, &JobRunner::onWatcherFinished);
}

JobRunner::~JobRunner() {
  m_watcher.disconnect(this);
  cancel();
  m_watcher.waitForFinished();
  m_pool.waitForDone();
}

bool JobRunner::start(Job job, const QString& name) {
  if (m_running || !job) return false;
  m_running = true;
  m_name = name;
  m_cancel = CancelToken();
  auto shared = std::make_shared<Shared>();
  m_shared = shared;
  JobControl control;
  control.cancel = m_cancel;
  // `this` outlives the job (the destructor waits), and a delivery queued on it is dropped
  // with it, so the worker may post to it.
  control.progress = [this, shared](const JobProgress& p) {
    bool post = false;
    {
      std::lock_guard<std::mutex> lock(shared->mutex);
      shared->latest = p;
      shared->pending = true;
      post = !shared->posted;
      shared->posted = true;
    }
    if (post) {
      QMetaObject::invokeMethod(
          this,
          [this, shared] {
            if (shared == m_shared) deliverProgress();
          },
          Qt::QueuedConnection);
    }
  };
  emit started(name);
  m_watcher.setFuture(
      QtConcurrent::run(&m_pool, [job = std::move(job), control](QPromise<Status>& promise) {
        Status status;
        // Exceptions must not cross into Qt's thread pool: they would end the process.
        try {
          status = job(control);
        } catch (const std::exception& e) {
          status = internalError(std::string("job failed: ") + e.what());
        } catch (...) {
          status = internalError("job failed with an unknown exception");
        }
        promise.addResult(status);
      }));
  return true;
}

void JobRunner::cancel() {
  if (m_running) m_cancel.cancel();
}

void JobRunner::waitForFinished() {
  m_watcher.waitForFinished();
}

void JobRunner::deliverProgress() {
  if (!m_shared) return;
  JobProgress p;
  {
    std::lock_guard<std::mutex> lock(m_shared->mutex);
    m_shared->posted = false;
    if (!m_shared->pending) return;
    m_shared->pending = false;
    p = m_shared->latest;
  }
  emit progress(QString::fromStdString(p.stage), static_cast<qint64>(p.done),
                static_cast<qint64>(p.total), p.eta_s);
}

void JobRunner::onWatcherFinished() {
  // The last report reaches listeners before `finished`, however the queue interleaved them.
  deliverProgress();
  const QFuture<Status> future = m_watcher.future();
  const Status status =
      future.resultCount() > 0 ? future.result() : internalError("the job ended without a result");
  m_shared.reset();
  m_running = false;
  m_lastCode = status.code();
  emit finished(status.isOk(), QString::fromStdString(status.message()));
}

}  // namespace detslim::ui
