// `detslim run`, `detslim sweep` and `detslim results` end to end on real data and a real SQLite
// file: the JSON contract, resumable sweeps, Ctrl-C and kill -9 in the middle of a sweep, and
// bad input (exit 2, message naming the culprit, nothing stored lost).

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/store/store.h"
#include "run_command.h"
#include "test_data.h"

extern char** environ;

namespace fs = std::filesystem;
using detslim::testing::CommandResult;
using detslim::testing::runCommand;
using detslim::testing::testDataDir;
using nlohmann::json;

namespace {

constexpr int kExitBadInput = 2;
constexpr int kExitInterrupted = 130;
constexpr int64_t kYoloxNanoParams = 904463;

fs::path freshDb(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("detslim_cli_run_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir / "results.sqlite";
}

std::string model(const char* name) { return (testDataDir() / "models" / name).string(); }
std::string val2017() { return (testDataDir() / "coco/images/val2017").string(); }

// Fast settings: few images and runs, small batches.
std::vector<std::string> quick(const fs::path& db) {
  return {"--limit", "4", "--runs", "5", "--warmup", "1", "--throughput-batches", "1,2",
          "--threads", "1", "--db", db.string()};
}

CommandResult cli(std::vector<std::string> args) {
  args.insert(args.begin(), DETSLIM_CLI);
  return runCommand(args);
}

std::string integrityCheck(const fs::path& db) {
  sqlite3* handle = nullptr;
  if (sqlite3_open_v2(db.c_str(), &handle, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(handle);
    return "cannot open";
  }
  std::string result;
  sqlite3_exec(
      handle, "PRAGMA integrity_check",
      [](void* out, int, char** values, char**) {
        *static_cast<std::string*>(out) += values[0] ? values[0] : "";
        return 0;
      },
      &result, nullptr);
  sqlite3_close(handle);
  return result;
}

// Every stored run is complete: metrics, both latency kinds, memory, per-layer rows.
void expectCompleteRuns(const fs::path& db, size_t min_runs) {
  detslim::store::OpenOptions read_only;
  read_only.read_only = true;
  auto store = detslim::store::Store::open(db, read_only);
  ASSERT_TRUE(store.isOk()) << store.status().message();
  auto runs = store->listRuns();
  ASSERT_TRUE(runs.isOk()) << runs.status().message();
  EXPECT_GE(runs->size(), min_runs);
  for (const auto& r : *runs) {
    EXPECT_EQ(r.status, "ok") << r.id;
    EXPECT_TRUE(r.has_metrics) << r.id;
    EXPECT_EQ(r.latency.size(), 2u) << r.id;
    EXPECT_TRUE(r.memory.has_value()) << r.id;
    EXPECT_FALSE(r.layers.empty()) << r.id;
    EXPECT_FALSE(r.class_ap.empty()) << r.id;
  }
}

int64_t countRuns(const fs::path& db) {
  detslim::store::OpenOptions read_only;
  read_only.read_only = true;
  read_only.busy_timeout_ms = 2000;
  auto store = detslim::store::Store::open(db, read_only);
  if (!store.isOk()) return 0;
  auto n = store->countRuns();
  return n.isOk() ? *n : 0;
}

// A sweep of six input sizes, started in the background.
pid_t startSweep(const fs::path& db, const fs::path& log) {
  std::vector<std::string> args = {DETSLIM_CLI, "sweep",  "--model", model("yolox_nano.onnx"),
                                   "--data",    val2017(), "--sizes", "256,288,320,352,384,416"};
  for (const std::string& a : quick(db)) args.push_back(a);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  EXPECT_EQ(posix_spawn(&pid, DETSLIM_CLI, &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

bool waitForRuns(const fs::path& db, int64_t n) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline) {
    if (fs::exists(db) && countRuns(db) >= n) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

}  // namespace

TEST(CliRun, JsonContractAndTheStoredRecordAgree) {
  DETSLIM_REQUIRE_TEST_DATA();
  const fs::path db = freshDb("json");
  std::vector<std::string> args = {"run", "--model", model("yolox_nano.onnx"), "--data",
                                   val2017(), "--json"};
  for (const std::string& a : quick(db)) args.push_back(a);
  const CommandResult r = cli(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["run_id"], 1);
  EXPECT_EQ(j["config"]["prune"]["method"], "none");
  EXPECT_EQ(j["config"]["precision"], "fp32");
  EXPECT_EQ(j["config"]["threads_used"], 1);
  ASSERT_EQ(j["stats"].size(), 12u);
  for (const char* key : {"median", "p90", "p99", "mean", "std"}) {
    EXPECT_TRUE(j["latency_ms"].contains(key)) << key;
  }
  EXPECT_GT(j["latency_ms"]["median"].get<double>(), 0.0);
  EXPECT_LE(j["latency_ms"]["median"].get<double>(), j["latency_ms"]["p99"].get<double>());
  EXPECT_GE(j["deadline_miss_rate"].get<double>(), 0.0);
  EXPECT_LE(j["deadline_miss_rate"].get<double>(), 1.0);
  EXPECT_GT(j["throughput_ips"].get<double>(), 0.0);
  EXPECT_TRUE(j["throughput_ips_by_batch"].contains("2"));
  EXPECT_EQ(j["memory"]["weights_bytes"], kYoloxNanoParams * 4);
  EXPECT_GT(j["memory"]["activations_bytes"].get<int64_t>(), 0);
  // The child process loaded the model and its weights: its peak is above where it started.
  EXPECT_GT(j["memory"]["peak_rss_bytes"].get<int64_t>(),
            j["memory"]["baseline_rss_bytes"].get<int64_t>() + kYoloxNanoParams * 4);

  // Same pipeline as `eval`: identical statistics on the same images.
  const CommandResult ev = cli({"eval", "--model", model("yolox_nano.onnx"), "--data",
                                    val2017(), "--limit", "4", "--threads", "1", "--json"});
  ASSERT_EQ(ev.exit_code, 0) << ev.err;
  EXPECT_EQ(json::parse(ev.out)["stats"], j["stats"]);

  // What `results` reads back from the file is what `run` printed.
  const CommandResult listed = cli({"results", "--db", db.string(), "--json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  const json runs = json::parse(listed.out);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0]["id"], 1);
  const CommandResult csv = cli({"results", "--db", db.string(), "--csv"});
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  EXPECT_EQ(csv.out.rfind("id,model,dataset,method,sparsity,precision,status", 0), 0u) << csv.out;
  EXPECT_EQ(integrityCheck(db), "ok");
}

TEST(CliSweep, SecondSweepSkipsStoredConfigurations) {
  DETSLIM_REQUIRE_TEST_DATA();
  const fs::path db = freshDb("resume");
  std::vector<std::string> args = {"sweep", "--model", model("yolox_nano.onnx"), "--data",
                                   val2017(), "--sizes", "320,416"};
  for (const std::string& a : quick(db)) args.push_back(a);
  const CommandResult first = cli(args);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.out.find("2 stored, 0 already stored"), std::string::npos) << first.out;
  const CommandResult second = cli(args);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.out.find("0 stored, 2 already stored"), std::string::npos) << second.out;
  EXPECT_NE(second.out.find("already stored as run 1, skipped"), std::string::npos);
  EXPECT_EQ(countRuns(db), 2);
  const CommandResult filtered =
      cli({"results", "--db", db.string(), "--filter", "size == 320", "--json"});
  ASSERT_EQ(filtered.exit_code, 0) << filtered.err;
  ASSERT_EQ(json::parse(filtered.out).size(), 1u);
}

TEST(CliSweep, KillNineMidSweepLeavesOnlyCompleteRunsAndTheSweepResumes) {
  DETSLIM_REQUIRE_TEST_DATA();
  const fs::path db = freshDb("kill");
  const fs::path log = db.parent_path() / "sweep.log";
  const pid_t pid = startSweep(db, log);
  ASSERT_TRUE(waitForRuns(db, 2)) << "the sweep stored nothing in time";
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(integrityCheck(db), "ok");
  const int64_t kept = countRuns(db);
  EXPECT_GE(kept, 2);
  EXPECT_LT(kept, 6);
  expectCompleteRuns(db, static_cast<size_t>(kept));
  // Running the same sweep again finishes the grid without redoing what was kept.
  std::vector<std::string> args = {"sweep", "--model", model("yolox_nano.onnx"), "--data",
                                   val2017(), "--sizes", "256,288,320,352,384,416"};
  for (const std::string& a : quick(db)) args.push_back(a);
  const CommandResult resumed = cli(args);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.out.find(std::to_string(kept) + " already stored"), std::string::npos)
      << resumed.out;
  EXPECT_EQ(countRuns(db), 6);
  expectCompleteRuns(db, 6);
}

TEST(CliSweep, CtrlCStopsCleanlyAndKeepsFinishedRuns) {
  DETSLIM_REQUIRE_TEST_DATA();
  const fs::path db = freshDb("sigint");
  const fs::path log = db.parent_path() / "sweep.log";
  const pid_t pid = startSweep(db, log);
  ASSERT_TRUE(waitForRuns(db, 1)) << "the sweep stored nothing in time";
  ::kill(pid, SIGINT);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), kExitInterrupted);
  std::ifstream in(log);
  const std::string out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(out.find("interrupted"), std::string::npos) << out;
  EXPECT_EQ(integrityCheck(db), "ok");
  const int64_t kept = countRuns(db);
  EXPECT_GE(kept, 1);
  EXPECT_LT(kept, 6);
  expectCompleteRuns(db, static_cast<size_t>(kept));
}

TEST(CliRun, BadInputExitsTwoAndKeepsTheStore) {
  DETSLIM_REQUIRE_TEST_DATA();
  const fs::path db = freshDb("bad");
  // One good run first: nothing below may lose it.
  std::vector<std::string> good = {"run", "--model", model("yolox_nano.onnx"), "--data",
                                   val2017()};
  for (const std::string& a : quick(db)) good.push_back(a);
  ASSERT_EQ(cli(good).exit_code, 0);
  const fs::path text_file = db.parent_path() / "notes.txt";
  std::ofstream(text_file) << "not a database\n";
  struct Case {
    std::vector<std::string> args;
    std::string expected;
  };
  const std::string m = model("yolox_nano.onnx");
  const std::vector<Case> cases = {
      {{"run", "--model", m, "--data", val2017(), "--prune", "pixie:sparsity=0.5", "--db",
        db.string()},
       "pixie"},
      {{"run", "--model", m, "--data", val2017(), "--prune", "magnitude:sparsity=1.5", "--db",
        db.string()},
       "sparsity"},
      {{"run", "--model", m, "--data", val2017(), "--prune", "rtoss:entries=7", "--db",
        db.string()},
       "entries"},
      {{"run", "--model", m, "--data", val2017(), "--prune", "magnitude:sparsity", "--db",
        db.string()},
       "key=value"},
      {{"run", "--model", m, "--data", val2017(), "--precision", "int9", "--db", db.string()},
       "int9"},
      {{"run", "--model", model("yolov5n.onnx"), "--data", val2017(), "--limit", "1", "--db",
        db.string()},
       "float16"},
      {{"run", "--model", m, "--data", "/no/such/data", "--db", db.string()}, "/no/such/data"},
      {{"run", "--model", m, "--data", val2017(), "--db", "/proc/detslim/results.sqlite"},
       "/proc/detslim/results.sqlite"},
      {{"run", "--model", m, "--data", val2017(), "--db", text_file.string()}, "notes.txt"},
      {{"sweep", "--model", m, "--data", val2017(), "--precision", "fp32,int9", "--db",
        db.string()},
       "int9"},
      // int8 with every image evaluated and no --calib: nothing left to calibrate on.
      {{"run", "--model", m, "--data", val2017(), "--precision", "int8", "--db", db.string()},
       "--calib"},
      {{"results", "--db", (db.parent_path() / "missing.sqlite").string()}, "missing.sqlite"},
      {{"results", "--db", db.string(), "--filter", "mapp > 0.3"}, "mapp"},
  };
  for (const Case& c : cases) {
    const CommandResult r = cli(c.args);
    EXPECT_EQ(r.exit_code, kExitBadInput) << c.expected << "\n" << r.err;
    EXPECT_NE(r.err.find(c.expected), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("internal error"), std::string::npos) << r.err;
  }
  EXPECT_EQ(countRuns(db), 1);
  EXPECT_EQ(integrityCheck(db), "ok");
  std::ifstream in(text_file);
  std::string text;
  std::getline(in, text);
  EXPECT_EQ(text, "not a database");
  EXPECT_FALSE(fs::exists(db.parent_path() / "missing.sqlite"));
}

TEST(CliSweep, PruningGridIsStoredWithItsSteps) {
  DETSLIM_REQUIRE_TEST_DATA();
  const fs::path db = freshDb("prune");
  std::vector<std::string> args = {"sweep", "--model", model("yolox_nano.onnx"), "--data",
                                   val2017(), "--methods", "none,magnitude", "--sparsity",
                                   "0.2,0.5", "--no-rss"};
  for (const std::string& a : quick(db)) args.push_back(a);
  const CommandResult r = cli(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("3 stored"), std::string::npos) << r.out;  // none once, magnitude twice
  const CommandResult listed =
      cli({"results", "--db", db.string(), "--filter", "method == magnitude", "--json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  const json runs = json::parse(listed.out);
  ASSERT_EQ(runs.size(), 2u);
  for (const json& run : runs) {
    const double sparsity = run["sparsity"].get<double>();
    EXPECT_TRUE(sparsity == 0.2 || sparsity == 0.5) << sparsity;
    const json& step = run["config"]["steps"][0];
    EXPECT_EQ(step["step"], "prune");
    EXPECT_GT(step["compression_ratio"].get<double>(), 1.0);
    // The stored per-layer rows show the zeros: some conv is pruned to about the sparsity.
    double max_layer_sparsity = 0.0;
    for (const json& layer : run["layers"]) {
      max_layer_sparsity = std::max(max_layer_sparsity, layer["sparsity"].get<double>());
    }
    EXPECT_NEAR(max_layer_sparsity, sparsity, 0.02);
  }
}
