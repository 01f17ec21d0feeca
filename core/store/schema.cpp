// The schema as a list of forward-only steps: kMigrations[i] takes a file from version i to
// version i + 1. A new schema version appends one step (and bumps Store::kSchemaVersion); the
// steps already shipped never change, because files in users' hands were made by them.

#include "core/store/schema.h"

#include <array>
#include <string>

#include "core/store/store.h"

namespace detslim::store::detail {

namespace {

struct Migration {
  const char* description;
  const char* sql;
};

// Version 1. Notes on the choices:
// - runs.id is AUTOINCREMENT so the id of a deleted run is never handed out again: ids appear
//   in exported CSV / JSON and in notes, and must keep meaning one run.
// - runs -> models / datasets has no cascade: model and dataset rows are shared reference data
//   and are never deleted through a run. Children of a run cascade with it.
// - Real-valued metrics may be NULL: SQLite stores NaN as NULL, and NULL never matches a
//   filter comparison.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE models (
  id INTEGER PRIMARY KEY,
  sha256 TEXT NOT NULL UNIQUE,
  path TEXT NOT NULL,
  name TEXT NOT NULL,
  params INTEGER NOT NULL DEFAULT 0,
  macs INTEGER NOT NULL DEFAULT 0,
  file_bytes INTEGER NOT NULL DEFAULT 0,
  weight_bytes INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE datasets (
  id INTEGER PRIMARY KEY,
  path TEXT NOT NULL,
  format TEXT NOT NULL,
  image_count INTEGER NOT NULL,
  box_count INTEGER NOT NULL DEFAULT 0,
  class_map TEXT NOT NULL DEFAULT '',
  UNIQUE (path, format, image_count, class_map)
);
CREATE TABLE runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  model_id INTEGER NOT NULL REFERENCES models (id),
  dataset_id INTEGER REFERENCES datasets (id),
  config_json TEXT NOT NULL,
  config_hash TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
  error TEXT NOT NULL DEFAULT '',
  started_at TEXT NOT NULL,
  finished_at TEXT NOT NULL,
  host_json TEXT NOT NULL,
  prune_method TEXT NOT NULL,
  sparsity REAL NOT NULL,
  precision TEXT NOT NULL,
  notes TEXT NOT NULL DEFAULT ''
);
CREATE INDEX runs_config_hash ON runs (config_hash, status);
CREATE INDEX runs_model ON runs (model_id);
CREATE INDEX runs_dataset ON runs (dataset_id);
CREATE TABLE metrics (
  run_id INTEGER PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
  ap REAL, ap50 REAL, ap75 REAL, ap_small REAL, ap_medium REAL, ap_large REAL,
  ar1 REAL, ar10 REAL, ar100 REAL, ar_small REAL, ar_medium REAL, ar_large REAL,
  precision REAL, recall REAL, pr_confidence REAL, voc_ap50 REAL
);
CREATE TABLE class_ap (
  run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  class_name TEXT NOT NULL,
  category_id INTEGER NOT NULL,
  ap REAL, ap50 REAL, ap75 REAL,
  num_gt INTEGER NOT NULL,
  PRIMARY KEY (run_id, category_id)
);
CREATE TABLE latency (
  run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  kind TEXT NOT NULL CHECK (kind IN ('inference', 'end_to_end')),
  runs INTEGER NOT NULL,
  mean_ms REAL, median_ms REAL, p90_ms REAL, p99_ms REAL, min_ms REAL, max_ms REAL, std_ms REAL,
  deadline_ms REAL, deadline_miss_rate REAL,
  histogram_json TEXT NOT NULL,
  PRIMARY KEY (run_id, kind)
);
CREATE TABLE throughput (
  run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  batch INTEGER NOT NULL,
  images_per_s REAL,
  PRIMARY KEY (run_id, batch)
);
CREATE TABLE memory (
  run_id INTEGER PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
  weights_bytes INTEGER NOT NULL,
  weights_by_dtype_json TEXT NOT NULL,
  activations_bytes INTEGER NOT NULL,
  model_file_bytes INTEGER NOT NULL,
  peak_rss_bytes INTEGER NOT NULL
);
CREATE TABLE layers (
  run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  idx INTEGER NOT NULL,
  name TEXT NOT NULL,
  op_type TEXT NOT NULL,
  params INTEGER NOT NULL,
  sparsity REAL,
  macs INTEGER NOT NULL,
  time_ms REAL,
  PRIMARY KEY (run_id, idx)
);
)sql";

constexpr std::array<Migration, 1> kMigrations = {{
    {"initial schema", kSchemaV1},
}};

static_assert(static_cast<int>(kMigrations.size()) == Store::kSchemaVersion,
              "one migration step per schema version: append a step when bumping it");

}  // namespace

int migrationCount() {
  return static_cast<int>(kMigrations.size());
}

Result<int> migrate(const Conn& conn) {
  DS_ASSIGN_OR_RETURN(Transaction txn, Transaction::beginWrite(conn));
  DS_ASSIGN_OR_RETURN(const int64_t found,
                      conn.queryInt("PRAGMA user_version", "cannot read the schema version"));
  if (found < 0) {
    return parseError(conn.path() + ": negative schema version " + std::to_string(found) +
                      "; not a DetSlim results database");
  }
  if (found > Store::kSchemaVersion) {
    // Another process may have upgraded the file since the check in Store::open.
    return unsupported(conn.path() + ": schema version " + std::to_string(found) +
                       " is newer than this DetSlim build knows (" +
                       std::to_string(Store::kSchemaVersion) + "); use a newer DetSlim");
  }
  for (int64_t version = found; version < Store::kSchemaVersion; ++version) {
    const Migration& step = kMigrations[static_cast<size_t>(version)];
    DS_RETURN_IF_ERROR(conn.exec(step.sql, "migration to schema version " +
                                               std::to_string(version + 1) + " (" +
                                               step.description + ") failed"));
  }
  if (found < Store::kSchemaVersion) {
    // PRAGMAs take no bound parameters; both values are compile-time integers.
    DS_RETURN_IF_ERROR(
        conn.exec("PRAGMA application_id = " + std::to_string(Store::kApplicationId) +
                      "; PRAGMA user_version = " + std::to_string(Store::kSchemaVersion),
                  "cannot record the schema version"));
  }
  DS_RETURN_IF_ERROR(txn.commit("cannot commit the schema migration"));
  return Store::kSchemaVersion;
}

}  // namespace detslim::store::detail
