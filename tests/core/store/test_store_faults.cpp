// Faults and hostile files: every refusal names the database path, files that are not ours or
// are too new stay byte-for-byte untouched, a lock held elsewhere ends in a clear error after
// the timeout, and neither a full disk nor a killed writer leaves half a run behind.

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "core/store/store.h"
#include "store_test_util.h"

namespace detslim::store {
namespace {

using testing::RawDb;
using testing::TempDir;
using Clock = std::chrono::steady_clock;

constexpr int kShortBusyTimeoutMs = 200;
// Longer than the time a released lock takes to be seen; far shorter than the default timeout.
constexpr auto kLockHoldTime = std::chrono::milliseconds(300);

template <class T>
void expectRefused(const Result<T>& result, ErrorCode code,
                   std::initializer_list<std::string> fragments) {
  ASSERT_FALSE(result.isOk());
  EXPECT_EQ(result.status().code(), code) << result.status().message();
  for (const std::string& fragment : fragments) {
    EXPECT_NE(result.status().message().find(fragment), std::string::npos)
        << "'" << fragment << "' not in: " << result.status().message();
  }
}

// Asserts that opening `path` is refused and leaves the file exactly as it was.
void expectRefusedUntouched(const std::filesystem::path& path, ErrorCode code,
                            std::initializer_list<std::string> fragments) {
  const std::string bytes = testing::readBytes(path);
  const timespec mtime = testing::modifiedAt(path);
  expectRefused(Store::open(path), code, fragments);
  EXPECT_EQ(testing::readBytes(path), bytes);
  const timespec after = testing::modifiedAt(path);
  EXPECT_EQ(after.tv_sec, mtime.tv_sec);
  EXPECT_EQ(after.tv_nsec, mtime.tv_nsec);
  EXPECT_FALSE(std::filesystem::exists(path.string() + "-wal"));
}

TEST(StoreFaults, PathUnderARegularFileIsRefused) {
  TempDir dir;
  testing::writeBytes(dir / "file.txt", "not a directory\n");
  const auto path = dir / "file.txt" / "x.sqlite";
  expectRefused(
      Store::open(path), ErrorCode::kIo,
      {path.string() + ": cannot create the directory '" + (dir / "file.txt").string() + "'"});
  EXPECT_EQ(testing::readBytes(dir / "file.txt"), "not a directory\n");
}

TEST(StoreFaults, DirectoryIsRefused) {
  TempDir dir;
  expectRefused(Store::open(dir.path()), ErrorCode::kInvalidArgument,
                {dir.path().string() + ": is a directory"});
}

TEST(StoreFaults, TextFileIsRefusedUntouched) {
  TempDir dir;
  const auto short_file = dir / "notes.txt";
  testing::writeBytes(short_file, "hello, this is not a database\n");
  expectRefusedUntouched(short_file, ErrorCode::kParse,
                         {short_file.string() + ": not a DetSlim results database"});
  const auto long_file = dir / "long.txt";
  testing::writeBytes(long_file, std::string(4096, 'x'));
  expectRefusedUntouched(
      long_file, ErrorCode::kParse,
      {long_file.string() + ": not a DetSlim results database", "not an SQLite file"});
}

TEST(StoreFaults, NewerSchemaIsRefusedUntouched) {
  TempDir dir;
  const auto path = dir / "future.sqlite";
  {
    RawDb raw(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    raw.exec("CREATE TABLE runs (id INTEGER PRIMARY KEY, future_column TEXT)");
    raw.exec("PRAGMA application_id = " + std::to_string(Store::kApplicationId));
    raw.exec("PRAGMA user_version = 99");
  }
  expectRefusedUntouched(path, ErrorCode::kUnsupported,
                         {path.string() + ": schema version 99 is newer than this DetSlim build "
                                          "knows (1)"});
}

// The file header still says version 1 while a newer build's migration sits in the WAL: the
// check through SQLite must catch it before anything is written.
TEST(StoreFaults, NewerSchemaOnlyInTheWalIsRefused) {
  TempDir dir;
  const auto path = dir / "results.sqlite";
  { Store store = std::move(Store::open(path)).value(); }
  RawDb newer(path);
  newer.exec("PRAGMA wal_autocheckpoint = 0");
  newer.exec("PRAGMA user_version = 2");
  const std::string bytes = testing::readBytes(path);
  expectRefused(Store::open(path), ErrorCode::kUnsupported, {"schema version 2 is newer"});
  EXPECT_EQ(testing::readBytes(path), bytes);
}

TEST(StoreFaults, OtherApplicationsDatabasesAreRefusedUntouched) {
  TempDir dir;
  const auto plain = dir / "app.db";
  {
    RawDb raw(plain, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    raw.exec("CREATE TABLE contacts (name TEXT)");
  }
  expectRefusedUntouched(plain, ErrorCode::kParse,
                         {plain.string() + ": not a DetSlim results database",
                          "has tables but no DetSlim schema version"});
  const auto tagged = dir / "tagged.db";
  {
    RawDb raw(tagged, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    raw.exec("PRAGMA application_id = 1234");
  }
  expectRefusedUntouched(tagged, ErrorCode::kParse, {"application_id 0x000004d2"});
}

TEST(StoreFaults, WriteLockHeldByAnotherConnectionTimesOutClearly) {
  TempDir dir;
  const auto path = dir / "results.sqlite";
  Store store = std::move(Store::open(path, {.busy_timeout_ms = kShortBusyTimeoutMs})).value();
  RawDb other(path);
  other.exec("BEGIN IMMEDIATE");
  other.exec("INSERT INTO models (sha256, path, name) VALUES ('x', 'x', 'x')");
  const Clock::time_point start = Clock::now();
  Result<int64_t> refused = store.insertRun(testing::fullRun());
  const auto waited = Clock::now() - start;
  ASSERT_FALSE(refused.isOk());
  EXPECT_EQ(refused.status().message(),
            path.string() + ": database is locked by another process (waited 0.2 s)");
  EXPECT_GE(waited, std::chrono::milliseconds(kShortBusyTimeoutMs));
  other.exec("ROLLBACK");
  Result<int64_t> saved = store.insertRun(testing::fullRun());
  ASSERT_TRUE(saved.isOk()) << saved.status().message();
}

TEST(StoreFaults, WriterWaitsForALockReleasedWithinTheTimeout) {
  TempDir dir;
  const auto path = dir / "results.sqlite";
  Store store = std::move(Store::open(path)).value();
  RawDb other(path);
  other.exec("BEGIN IMMEDIATE");
  std::thread releaser([&other] {
    std::this_thread::sleep_for(kLockHoldTime);
    other.exec("COMMIT");
  });
  const Clock::time_point start = Clock::now();
  Result<int64_t> saved = store.insertRun(testing::fullRun());
  const auto waited = Clock::now() - start;
  releaser.join();
  ASSERT_TRUE(saved.isOk()) << saved.status().message();
  EXPECT_GE(waited, kLockHoldTime / 2);
}

TEST(StoreFaults, WriteLockHeldByAnotherProcessTimesOutClearly) {
  TempDir dir;
  const auto path = dir / "results.sqlite";
  { Store created = std::move(Store::open(path)).value(); }
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    sqlite3* db = nullptr;
    if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) _exit(2);
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) _exit(3);
    const char byte = 1;
    if (write(ready[1], &byte, 1) != 1) _exit(4);
    pause();  // holds the lock until killed
    _exit(0);
  }
  close(ready[1]);
  char byte = 0;
  ASSERT_EQ(read(ready[0], &byte, 1), 1) << "the child could not take the lock";
  close(ready[0]);
  Store store = std::move(Store::open(path, {.busy_timeout_ms = kShortBusyTimeoutMs})).value();
  Result<int64_t> refused = store.insertRun(testing::fullRun());
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  ASSERT_FALSE(refused.isOk());
  EXPECT_EQ(refused.status().message(),
            path.string() + ": database is locked by another process (waited 0.2 s)");
  Result<int64_t> saved = store.insertRun(testing::fullRun());
  ASSERT_TRUE(saved.isOk()) << saved.status().message();
}

// The GUI and the CLI (here: four processes) create, migrate and write one new file at once:
// every run lands, and the schema is created once.
TEST(StoreFaults, ConcurrentWritersOfANewFileAllSucceed) {
  TempDir dir;
  const auto path = dir / "new" / "results.sqlite";
  constexpr int kWriters = 4;
  constexpr int kRunsPerWriter = 10;
  std::vector<pid_t> children;
  for (int w = 0; w < kWriters; ++w) {
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      // Failures go to stderr, where ctest's output shows them.
      Result<Store> store = Store::open(path);
      if (!store.isOk()) {
        std::fprintf(stderr, "writer %d: %s\n", w, store.status().message().c_str());
        _exit(2);
      }
      for (int i = 0; i < kRunsPerWriter; ++i) {
        Result<int64_t> id = store->insertRun(testing::fullRun("writer-" + std::to_string(w), i));
        if (!id.isOk()) {
          std::fprintf(stderr, "writer %d: %s\n", w, id.status().message().c_str());
          _exit(3);
        }
      }
      _exit(0);
    }
    children.push_back(child);
  }
  for (pid_t child : children) {
    int status = 0;
    waitpid(child, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "a writer failed (exit " << WEXITSTATUS(status) << ")";
  }
  RawDb raw(path);
  EXPECT_EQ(raw.integer("PRAGMA user_version"), Store::kSchemaVersion);
  EXPECT_EQ(raw.integer("SELECT count(*) FROM runs"), kWriters * kRunsPerWriter);
  EXPECT_EQ(raw.integer("SELECT count(*) FROM models"), kWriters);
  EXPECT_EQ(raw.text("PRAGMA integrity_check"), "ok");
}

// A run big enough to need many new pages.
RunRecord bigRun(const std::string& name, int layers) {
  RunRecord run = testing::fullRun(name);
  run.layers.clear();
  for (int i = 0; i < layers; ++i) {
    run.layers.push_back(
        {"/backbone/stage/block/conv_" + std::to_string(i), "Conv", i, 0.5, i, 0.25});
  }
  return run;
}

void expectEarlierRunsIntact(const std::filesystem::path& path) {
  Store store = std::move(Store::open(path)).value();
  Result<int64_t> count = store.countRuns();
  ASSERT_TRUE(count.isOk());
  EXPECT_EQ(*count, 2);
  for (int64_t id : {1, 2}) {
    Result<RunRecord> run = store.getRun(id);
    ASSERT_TRUE(run.isOk()) << run.status().message();
    const RunRecord expected = testing::fullRun(id == 1 ? "first" : "second");
    EXPECT_EQ(run->model.name, expected.model.name);
    EXPECT_EQ(run->class_ap.size(), expected.class_ap.size());
    EXPECT_EQ(run->layers.size(), expected.layers.size());
    EXPECT_EQ(run->stats, expected.stats);
  }
  RawDb raw(path);
  EXPECT_EQ(raw.text("PRAGMA integrity_check"), "ok");
  EXPECT_EQ(raw.integer("SELECT count(*) FROM layers WHERE run_id > 2"), 0);
  EXPECT_EQ(raw.integer("SELECT count(*) FROM models"), 2);
}

void insertTwoRuns(const std::filesystem::path& path) {
  Store store = std::move(Store::open(path)).value();
  ASSERT_TRUE(store.insertRun(testing::fullRun("first")).isOk());
  ASSERT_TRUE(store.insertRun(testing::fullRun("second")).isOk());
}

TEST(StoreFaults, FullDatabaseFailsTheInsertAndKeepsEarlierRuns) {
  TempDir dir;
  const auto path = dir / "results.sqlite";
  insertTwoRuns(path);
  {
    // SQLite raises a cap below the current size to the current size: no room to grow.
    Store full = std::move(Store::open(path, {.max_page_count = 1})).value();
    Result<int64_t> refused = full.insertRun(bigRun("third", 3000));
    expectRefused(
        refused, ErrorCode::kIo,
        {path.string() + ": cannot save the run of model 'third'", "database or disk is full"});
  }
  expectEarlierRunsIntact(path);
  Store store = std::move(Store::open(path)).value();
  EXPECT_TRUE(store.insertRun(bigRun("third", 3000)).isOk());
}

// The operating system refuses the write (a file-size limit stands in for a full disk) in a
// child process, so the limit and its signal stay out of the test runner.
TEST(StoreFaults, FailedFileWriteKeepsEarlierRuns) {
  TempDir dir;
  const auto path = dir / "results.sqlite";
  insertTwoRuns(path);
  // Room for the 32 KiB shared-memory index, not for the WAL frames of a 3000-layer run.
  constexpr rlim_t kFileSizeLimit = 64 * 1024;
  int report[2];
  ASSERT_EQ(pipe(report), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(report[0]);
    signal(SIGXFSZ, SIG_IGN);
    const rlimit limit{kFileSizeLimit, kFileSizeLimit};
    setrlimit(RLIMIT_FSIZE, &limit);
    Result<Store> store = Store::open(path);
    const std::string message = !store.isOk() ? "open: " + store.status().message() : [&] {
      Result<int64_t> id = store->insertRun(bigRun("third", 3000));
      return id.isOk() ? std::string("saved") : id.status().message();
    }();
    if (write(report[1], message.data(), message.size()) < 0) _exit(3);
    _exit(0);
  }
  close(report[1]);
  std::string message;
  char buffer[512];
  for (ssize_t got; (got = read(report[0], buffer, sizeof(buffer))) > 0;) {
    message.append(buffer, static_cast<size_t>(got));
  }
  close(report[0]);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(message.rfind(path.string() + ": cannot ", 0), 0u) << message;
  EXPECT_NE(message.find("model 'third'"), std::string::npos) << message;
  expectEarlierRunsIntact(path);
}

// What the crash test's writer inserts as run number `i`: the counts vary with i so a run cut
// short cannot pass for a complete one of another size.
constexpr int kCrashBaseClasses = 60;
constexpr int kCrashBaseLayers = 300;
constexpr int kCrashCountSpread = 7;

RunRecord crashRun(int i) {
  RunRecord run = testing::fullRun("model-" + std::to_string(i % 3), i);
  run.notes = std::to_string(i);
  run.class_ap.clear();
  for (int c = 0; c < kCrashBaseClasses + i % kCrashCountSpread; ++c) {
    run.class_ap.push_back({"class " + std::to_string(c), c, 0.5, 0.6, 0.7, c});
  }
  run.layers.clear();
  for (int l = 0; l < kCrashBaseLayers + i % kCrashCountSpread; ++l) {
    run.layers.push_back({"layer " + std::to_string(l), "Conv", l, 0.1, l, 0.2});
  }
  return run;
}

TEST(StoreFaults, KilledWriterLeavesNoHalfRun) {
  TempDir dir;
  const auto path = dir / "results.sqlite";
  { Store created = std::move(Store::open(path)).value(); }
  constexpr int kRounds = 3;
  constexpr auto kRunTime = std::chrono::milliseconds(300);
  constexpr auto kStartTimeout = std::chrono::seconds(20);
  int next_index = 0;
  for (int round = 0; round < kRounds; ++round) {
    const int first_index = next_index;
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      Result<Store> store = Store::open(path);
      if (!store.isOk()) _exit(2);
      for (int i = first_index;; ++i) {
        if (!store->insertRun(crashRun(i)).isOk()) _exit(3);
      }
    }
    // Kill it once it is writing steadily, at a point unrelated to its commits.
    RawDb watcher(path);
    const Clock::time_point deadline = Clock::now() + kStartTimeout;
    while (watcher.integer("SELECT count(*) FROM runs") <= first_index && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::this_thread::sleep_for(kRunTime + std::chrono::milliseconds(37 * round));
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "the writer stopped on its own (exit " << WEXITSTATUS(status) << ")";

    RawDb raw(path);
    ASSERT_EQ(raw.text("PRAGMA integrity_check"), "ok");
    Store store = std::move(Store::open(path)).value();
    Result<std::vector<RunRecord>> runs = store.listRuns();
    ASSERT_TRUE(runs.isOk()) << runs.status().message();
    ASSERT_GT(runs->size(), static_cast<size_t>(first_index)) << "round " << round;
    for (const RunRecord& run : *runs) {
      const int i = std::stoi(run.notes);
      const RunRecord expected = crashRun(i);
      SCOPED_TRACE("run " + std::to_string(run.id) + " (index " + run.notes + ")");
      EXPECT_EQ(run.class_ap.size(), expected.class_ap.size());
      EXPECT_EQ(run.layers.size(), expected.layers.size());
      EXPECT_EQ(run.latency.size(), expected.latency.size());
      EXPECT_EQ(run.throughput.size(), expected.throughput.size());
      EXPECT_TRUE(run.has_metrics);
      EXPECT_TRUE(run.memory.has_value());
    }
    // Indexes are consecutive: the runs present are exactly the ones committed.
    for (size_t k = 0; k < runs->size(); ++k) {
      EXPECT_EQ(std::stoi((*runs)[k].notes), static_cast<int>(k));
    }
    next_index = static_cast<int>(runs->size());
  }
  EXPECT_GT(next_index, kRounds);
}

}  // namespace
}  // namespace detslim::store
