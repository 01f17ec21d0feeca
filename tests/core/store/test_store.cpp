// The schema and records: a new file is migrated to the current version, an existing one
// reopens, a fully populated run reads back field for field, and a run is saved whole or not
// at all.

#include <cmath>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "core/store/store.h"
#include "store_test_util.h"

namespace detslim::store {
namespace {

using nlohmann::json;
using testing::RawDb;
using testing::TempDir;

constexpr const char* kChildTables[] = {"metrics",    "class_ap", "latency",
                                        "throughput", "memory",   "layers"};

Store openOrDie(const std::filesystem::path& path, const OpenOptions& options = {}) {
  Result<Store> store = Store::open(path, options);
  EXPECT_TRUE(store.isOk()) << store.status().message();
  if (!store.isOk()) std::abort();
  return std::move(store).value();
}

void expectSameLatency(const LatencyRecord& a, const LatencyRecord& b) {
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.summary.runs, b.summary.runs);
  EXPECT_EQ(a.summary.mean_ms, b.summary.mean_ms);
  EXPECT_EQ(a.summary.median_ms, b.summary.median_ms);
  EXPECT_EQ(a.summary.p90_ms, b.summary.p90_ms);
  EXPECT_EQ(a.summary.p99_ms, b.summary.p99_ms);
  EXPECT_EQ(a.summary.min_ms, b.summary.min_ms);
  EXPECT_EQ(a.summary.max_ms, b.summary.max_ms);
  EXPECT_EQ(a.summary.std_ms, b.summary.std_ms);
  EXPECT_EQ(a.deadline_ms, b.deadline_ms);
  EXPECT_EQ(a.deadline_miss_rate, b.deadline_miss_rate);
  EXPECT_EQ(a.histogram_edges_ms, b.histogram_edges_ms);
  EXPECT_EQ(a.histogram_counts, b.histogram_counts);
}

// Every field, exactly: SQLite REAL is a 64-bit double, so nothing may drift.
void expectSameRun(const RunRecord& a, const RunRecord& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.model.sha256, b.model.sha256);
  EXPECT_EQ(a.model.path, b.model.path);
  EXPECT_EQ(a.model.name, b.model.name);
  EXPECT_EQ(a.model.params, b.model.params);
  EXPECT_EQ(a.model.macs, b.model.macs);
  EXPECT_EQ(a.model.file_bytes, b.model.file_bytes);
  EXPECT_EQ(a.model.weight_bytes, b.model.weight_bytes);
  EXPECT_EQ(a.dataset.path, b.dataset.path);
  EXPECT_EQ(a.dataset.format, b.dataset.format);
  EXPECT_EQ(a.dataset.image_count, b.dataset.image_count);
  EXPECT_EQ(a.dataset.box_count, b.dataset.box_count);
  EXPECT_EQ(a.dataset.class_map, b.dataset.class_map);
  EXPECT_EQ(a.config, b.config);
  EXPECT_EQ(a.config_hash, b.config_hash);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.error, b.error);
  EXPECT_EQ(a.started_at, b.started_at);
  EXPECT_EQ(a.finished_at, b.finished_at);
  EXPECT_EQ(a.host, b.host);
  EXPECT_EQ(a.prune_method, b.prune_method);
  EXPECT_EQ(a.sparsity, b.sparsity);
  EXPECT_EQ(a.precision, b.precision);
  EXPECT_EQ(a.notes, b.notes);
  EXPECT_EQ(a.has_metrics, b.has_metrics);
  EXPECT_EQ(a.stats, b.stats);
  EXPECT_EQ(a.precision_at_conf, b.precision_at_conf);
  EXPECT_EQ(a.recall_at_conf, b.recall_at_conf);
  EXPECT_EQ(a.pr_confidence, b.pr_confidence);
  EXPECT_EQ(a.voc_ap50, b.voc_ap50);
  ASSERT_EQ(a.class_ap.size(), b.class_ap.size());
  for (size_t i = 0; i < a.class_ap.size(); ++i) {
    SCOPED_TRACE("class_ap " + std::to_string(i));
    EXPECT_EQ(a.class_ap[i].class_name, b.class_ap[i].class_name);
    EXPECT_EQ(a.class_ap[i].category_id, b.class_ap[i].category_id);
    EXPECT_EQ(a.class_ap[i].ap, b.class_ap[i].ap);
    EXPECT_EQ(a.class_ap[i].ap50, b.class_ap[i].ap50);
    EXPECT_EQ(a.class_ap[i].ap75, b.class_ap[i].ap75);
    EXPECT_EQ(a.class_ap[i].num_gt, b.class_ap[i].num_gt);
  }
  ASSERT_EQ(a.latency.size(), b.latency.size());
  for (size_t i = 0; i < a.latency.size(); ++i) expectSameLatency(a.latency[i], b.latency[i]);
  ASSERT_EQ(a.throughput.size(), b.throughput.size());
  for (size_t i = 0; i < a.throughput.size(); ++i) {
    EXPECT_EQ(a.throughput[i].batch, b.throughput[i].batch);
    EXPECT_EQ(a.throughput[i].images_per_s, b.throughput[i].images_per_s);
  }
  ASSERT_EQ(a.memory.has_value(), b.memory.has_value());
  if (a.memory) {
    EXPECT_EQ(a.memory->weights_bytes, b.memory->weights_bytes);
    EXPECT_EQ(a.memory->weights_by_dtype, b.memory->weights_by_dtype);
    EXPECT_EQ(a.memory->activations_bytes, b.memory->activations_bytes);
    EXPECT_EQ(a.memory->model_file_bytes, b.memory->model_file_bytes);
    EXPECT_EQ(a.memory->peak_rss_bytes, b.memory->peak_rss_bytes);
  }
  ASSERT_EQ(a.layers.size(), b.layers.size());
  for (size_t i = 0; i < a.layers.size(); ++i) {
    SCOPED_TRACE("layer " + std::to_string(i));
    EXPECT_EQ(a.layers[i].name, b.layers[i].name);
    EXPECT_EQ(a.layers[i].op_type, b.layers[i].op_type);
    EXPECT_EQ(a.layers[i].params, b.layers[i].params);
    EXPECT_EQ(a.layers[i].sparsity, b.layers[i].sparsity);
    EXPECT_EQ(a.layers[i].macs, b.layers[i].macs);
    EXPECT_EQ(a.layers[i].time_ms, b.layers[i].time_ms);
  }
}

std::set<std::string> tableNames(RawDb& db) {
  std::set<std::string> names;
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db.get(),
                     "SELECT name FROM sqlite_master WHERE type = 'table' "
                     "AND name NOT LIKE 'sqlite_%'",
                     -1, &stmt, nullptr);
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    names.insert(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
  }
  sqlite3_finalize(stmt);
  return names;
}

TEST(StoreSchema, MigratesAnEmptyFileToVersion1) {
  TempDir dir;
  const auto path = dir / "results.sqlite";
  testing::writeBytes(path, "");
  {
    Store store = openOrDie(path);
    EXPECT_EQ(store.schemaVersion(), 1);
    EXPECT_EQ(store.path(), path);
  }
  RawDb raw(path);
  EXPECT_EQ(raw.integer("PRAGMA user_version"), 1);
  EXPECT_EQ(raw.integer("PRAGMA application_id"), Store::kApplicationId);
  EXPECT_EQ(raw.text("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(tableNames(raw),
            std::set<std::string>({"models", "datasets", "runs", "metrics", "class_ap", "latency",
                                   "throughput", "memory", "layers"}));
  EXPECT_EQ(raw.text("PRAGMA integrity_check"), "ok");
}

TEST(StoreSchema, CreatesTheFileAndItsDirectories) {
  TempDir dir;
  const auto path = dir / "a" / "b" / "results.sqlite";
  Store store = openOrDie(path);
  EXPECT_TRUE(std::filesystem::is_regular_file(path));
  EXPECT_EQ(store.schemaVersion(), Store::kSchemaVersion);
}

TEST(StoreSchema, ReopensAnExistingVersion1File) {
  TempDir dir;
  const auto path = dir / "results.sqlite";
  int64_t id = 0;
  {
    Store store = openOrDie(path);
    Result<int64_t> inserted = store.insertRun(testing::fullRun());
    ASSERT_TRUE(inserted.isOk()) << inserted.status().message();
    id = *inserted;
  }
  Store store = openOrDie(path);
  EXPECT_EQ(store.schemaVersion(), 1);
  Result<int64_t> count = store.countRuns();
  ASSERT_TRUE(count.isOk());
  EXPECT_EQ(*count, 1);
  Result<RunRecord> run = store.getRun(id);
  ASSERT_TRUE(run.isOk()) << run.status().message();
  EXPECT_EQ(run->model.name, "yolov8n");
  RawDb raw(path);
  EXPECT_EQ(raw.integer("PRAGMA user_version"), 1);
}

TEST(StoreSchema, OptionsAreChecked) {
  TempDir dir;
  Result<Store> missing = Store::open(dir / "absent.sqlite", {.create = false});
  ASSERT_FALSE(missing.isOk());
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
  EXPECT_NE(missing.status().message().find("absent.sqlite"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir / "absent.sqlite"));
  Result<Store> empty_path = Store::open("");
  ASSERT_FALSE(empty_path.isOk());
  EXPECT_EQ(empty_path.status().code(), ErrorCode::kInvalidArgument);
  Result<Store> negative = Store::open(dir / "x.sqlite", {.busy_timeout_ms = -1});
  ASSERT_FALSE(negative.isOk());
  EXPECT_NE(negative.status().message().find("busy_timeout_ms"), std::string::npos);
}

TEST(StoreSchema, ReadOnlyReadsButNeverWrites) {
  TempDir dir;
  const auto path = dir / "results.sqlite";
  {
    Store store = openOrDie(path);
    ASSERT_TRUE(store.insertRun(testing::fullRun()).isOk());
  }
  Store store = openOrDie(path, {.read_only = true});
  Result<std::vector<RunRecord>> runs = store.listRuns();
  ASSERT_TRUE(runs.isOk()) << runs.status().message();
  EXPECT_EQ(runs->size(), 1u);
  Result<int64_t> refused = store.insertRun(testing::fullRun());
  ASSERT_FALSE(refused.isOk());
  EXPECT_NE(refused.status().message().find("read-only"), std::string::npos);
  EXPECT_FALSE(store.deleteRun(1).isOk());
  Result<Store> absent = Store::open(dir / "absent.sqlite", {.read_only = true});
  ASSERT_FALSE(absent.isOk());
  EXPECT_FALSE(std::filesystem::exists(dir / "absent.sqlite"));
}

TEST(StoreRecords, FullyPopulatedRunRoundTrips) {
  TempDir dir;
  Store store = openOrDie(dir / "results.sqlite");
  RunRecord run = testing::fullRun();
  Result<int64_t> id = store.insertRun(run);
  ASSERT_TRUE(id.isOk()) << id.status().message();
  EXPECT_EQ(*id, 1);
  run.id = *id;
  run.config_hash = configHash(run.config, run.model, run.dataset);  // filled in by insertRun
  Result<RunRecord> back = store.getRun(*id);
  ASSERT_TRUE(back.isOk()) << back.status().message();
  expectSameRun(*back, run);
  Result<std::vector<RunRecord>> listed = store.listRuns();
  ASSERT_TRUE(listed.isOk());
  ASSERT_EQ(listed->size(), 1u);
  expectSameRun(listed->front(), run);
}

TEST(StoreRecords, SparseRunRoundTripsWithNaNsAndNoDataset) {
  TempDir dir;
  Store store = openOrDie(dir / "results.sqlite");
  RunRecord run;
  run.model = {sha256Hex("m"), "/m.onnx", "m"};
  run.status = kStatusFailed;
  run.error = "engine: op 'NonMaxSuppression' unsupported";
  run.config_hash = "given-by-caller";
  run.started_at = "2024-01-02T03:04:05Z";
  run.finished_at = "2024-01-02T03:04:06Z";
  run.layers = {{"conv", "Conv", 10, std::nan(""), 20, std::nan("")}};
  Result<int64_t> id = store.insertRun(run);
  ASSERT_TRUE(id.isOk()) << id.status().message();
  Result<RunRecord> back = store.getRun(*id);
  ASSERT_TRUE(back.isOk()) << back.status().message();
  EXPECT_TRUE(back->dataset.path.empty());
  EXPECT_FALSE(back->has_metrics);
  EXPECT_FALSE(back->memory.has_value());
  EXPECT_EQ(back->config_hash, "given-by-caller");
  EXPECT_EQ(back->error, run.error);
  ASSERT_EQ(back->layers.size(), 1u);
  EXPECT_TRUE(std::isnan(back->layers[0].sparsity));
  EXPECT_TRUE(std::isnan(back->layers[0].time_ms));
  EXPECT_EQ(back->layers[0].macs, 20);
}

TEST(StoreRecords, EmptyTimestampsAreFilledWithNow) {
  TempDir dir;
  Store store = openOrDie(dir / "results.sqlite");
  RunRecord run = testing::fullRun();
  run.started_at.clear();
  run.finished_at.clear();
  const std::string before = utcNowIso8601();
  Result<int64_t> id = store.insertRun(run);
  ASSERT_TRUE(id.isOk());
  Result<RunRecord> back = store.getRun(*id);
  ASSERT_TRUE(back.isOk());
  EXPECT_GE(back->started_at, before);
  EXPECT_GE(back->finished_at, back->started_at);
}

TEST(StoreRecords, ModelAndDatasetRowsAreShared) {
  TempDir dir;
  const auto path = dir / "results.sqlite";
  Store store = openOrDie(path);
  RunRecord first = testing::fullRun();
  ASSERT_TRUE(store.insertRun(first).isOk());
  RunRecord second = testing::fullRun();
  second.config["threads"] = 8;
  second.model.path = "/moved/yolov8n.onnx";
  second.model.macs = 0;  // not measured this time: must not erase the known value
  ASSERT_TRUE(store.insertRun(second).isOk());
  RawDb raw(path);
  EXPECT_EQ(raw.integer("SELECT count(*) FROM models"), 1);
  EXPECT_EQ(raw.integer("SELECT count(*) FROM datasets"), 1);
  Result<RunRecord> back = store.getRun(1);
  ASSERT_TRUE(back.isOk());
  EXPECT_EQ(back->model.path, "/moved/yolov8n.onnx");
  EXPECT_EQ(back->model.macs, first.model.macs);
}

TEST(StoreRecords, FindCompletedRunSkipsFailedRuns) {
  TempDir dir;
  Store store = openOrDie(dir / "results.sqlite");
  RunRecord run = testing::fullRun();
  const std::string hash = configHash(run.config, run.model, run.dataset);
  run.status = kStatusFailed;
  run.error = "out of memory";
  ASSERT_TRUE(store.insertRun(run).isOk());
  Result<std::optional<int64_t>> found = store.findCompletedRun(hash);
  ASSERT_TRUE(found.isOk()) << found.status().message();
  EXPECT_FALSE(found->has_value());
  run.status = kStatusOk;
  run.error.clear();
  ASSERT_TRUE(store.insertRun(run).isOk());
  ASSERT_TRUE(store.insertRun(run).isOk());
  found = store.findCompletedRun(hash);
  ASSERT_TRUE(found.isOk());
  EXPECT_EQ(found->value_or(0), 3);  // the newest
  found = store.findCompletedRun("0000");
  ASSERT_TRUE(found.isOk());
  EXPECT_FALSE(found->has_value());
}

TEST(StoreRecords, DeleteRemovesTheRunAndItsChildrenAndIdsAreNotReused) {
  TempDir dir;
  const auto path = dir / "results.sqlite";
  Store store = openOrDie(path);
  ASSERT_TRUE(store.insertRun(testing::fullRun()).isOk());
  ASSERT_TRUE(store.insertRun(testing::fullRun("yolov5s")).isOk());
  Status deleted = store.deleteRun(2);
  ASSERT_TRUE(deleted.isOk()) << deleted.message();
  RawDb raw(path);
  for (const char* table : kChildTables) {
    EXPECT_EQ(raw.integer(std::string("SELECT count(*) FROM ") + table + " WHERE run_id = 2"), 0)
        << table;
    EXPECT_GT(raw.integer(std::string("SELECT count(*) FROM ") + table + " WHERE run_id = 1"), 0)
        << table;
  }
  Result<RunRecord> gone = store.getRun(2);
  ASSERT_FALSE(gone.isOk());
  EXPECT_EQ(gone.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(gone.status().message(), path.string() + ": run 2 not found");
  Status again = store.deleteRun(2);
  EXPECT_EQ(again.code(), ErrorCode::kNotFound);
  Result<int64_t> next = store.insertRun(testing::fullRun("yolov5s"));
  ASSERT_TRUE(next.isOk());
  EXPECT_EQ(*next, 3);
}

TEST(StoreRecords, InsertIsAllOrNothing) {
  TempDir dir;
  const auto path = dir / "results.sqlite";
  Store store = openOrDie(path);
  ASSERT_TRUE(store.insertRun(testing::fullRun()).isOk());
  // A new model (so the model upsert inserts a row) whose last class repeats a category id:
  // the failure comes after the run, metrics and earlier class rows were written.
  RunRecord bad = testing::fullRun("new-model");
  bad.class_ap.push_back({"person again", 1, 0.1, 0.2, 0.3, 4});
  Result<int64_t> refused = store.insertRun(bad);
  ASSERT_FALSE(refused.isOk());
  EXPECT_EQ(refused.status().code(), ErrorCode::kInvalidArgument);
  const std::string& message = refused.status().message();
  EXPECT_EQ(message.rfind(path.string() + ": ", 0), 0u) << message;
  EXPECT_NE(message.find("class_ap[3] (category 1 'person again')"), std::string::npos) << message;
  EXPECT_NE(message.find("UNIQUE constraint failed"), std::string::npos) << message;

  RawDb raw(path);
  EXPECT_EQ(raw.integer("SELECT count(*) FROM runs"), 1);
  EXPECT_EQ(raw.integer("SELECT count(*) FROM models"), 1);
  for (const char* table : kChildTables) {
    EXPECT_EQ(raw.integer(std::string("SELECT count(*) FROM ") + table + " WHERE run_id <> 1"), 0)
        << table;
  }
  // The connection is usable afterwards.
  Result<int64_t> next = store.insertRun(testing::fullRun("new-model"));
  ASSERT_TRUE(next.isOk()) << next.status().message();
}

TEST(StoreRecords, InvalidRecordsAreRefusedNamingTheField) {
  TempDir dir;
  const auto path = dir / "results.sqlite";
  Store store = openOrDie(path);
  struct Case {
    const char* fragment;
    void (*spoil)(RunRecord&);
  };
  const Case cases[] = {
      {"model.sha256 is empty", [](RunRecord& r) { r.model.sha256.clear(); }},
      {"status must be 'ok' or 'failed', got 'done'", [](RunRecord& r) { r.status = "done"; }},
      {"started_at '2024-05-01 12:00' is not ISO-8601 UTC",
       [](RunRecord& r) { r.started_at = "2024-05-01 12:00"; }},
      {"finished_at '2024-05-01T12:00:00+02:00' is not ISO-8601 UTC",
       [](RunRecord& r) { r.finished_at = "2024-05-01T12:00:00+02:00"; }},
      {"config must be a JSON object", [](RunRecord& r) { r.config = json::array(); }},
      {"host must be a JSON object", [](RunRecord& r) { r.host = "x"; }},
      {"latency[1]: kind must be 'inference' or 'end_to_end', got 'e2e'",
       [](RunRecord& r) { r.latency[1].kind = "e2e"; }},
      {"latency[0]: histogram has 4 edges for 2 counts",
       [](RunRecord& r) { r.latency[0].histogram_counts.pop_back(); }},
  };
  for (const Case& c : cases) {
    RunRecord run = testing::fullRun();
    c.spoil(run);
    Result<int64_t> refused = store.insertRun(run);
    ASSERT_FALSE(refused.isOk()) << c.fragment;
    EXPECT_EQ(refused.status().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(refused.status().message().find(c.fragment), std::string::npos)
        << refused.status().message();
    EXPECT_NE(refused.status().message().find(path.string()), std::string::npos);
  }
  Result<int64_t> count = store.countRuns();
  ASSERT_TRUE(count.isOk());
  EXPECT_EQ(*count, 0);
}

TEST(StoreRecords, StoreIsMovable) {
  TempDir dir;
  Store first = openOrDie(dir / "results.sqlite");
  Store moved = std::move(first);
  ASSERT_TRUE(moved.insertRun(testing::fullRun()).isOk());
  Store assigned = openOrDie(dir / "other.sqlite");
  assigned = std::move(moved);
  Result<int64_t> count = assigned.countRuns();
  ASSERT_TRUE(count.isOk());
  EXPECT_EQ(*count, 1);
  EXPECT_EQ(assigned.path(), dir / "results.sqlite");
}

}  // namespace
}  // namespace detslim::store
