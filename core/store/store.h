#pragma once
// The results store: every benchmark / evaluation run DetSlim makes, kept in one SQLite file so
// the CLI and the GUI can list, filter, compare and export runs, and a sweep can skip the
// configurations it already finished. Schema, migrations, filter grammar, concurrency and fault
// behaviour: docs/store.md. Every error message names the database path; nothing throws.

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/base/status.h"
#include "core/perf/latency.h"

struct sqlite3;

namespace detslim::store {

// The 12 COCO summary statistics in pycocotools' order; also the metrics column names, the JSON
// keys and the CSV headers.
inline constexpr std::array<const char*, 12> kCocoStatNames = {
    "ap",  "ap50", "ap75",  "ap_small", "ap_medium", "ap_large",
    "ar1", "ar10", "ar100", "ar_small", "ar_medium", "ar_large"};

inline constexpr const char* kLatencyInference = "inference";
inline constexpr const char* kLatencyEndToEnd = "end_to_end";
inline constexpr const char* kStatusOk = "ok";
inline constexpr const char* kStatusFailed = "failed";

// A model file. Runs share one row per sha256 (of the file bytes); path and name follow the
// latest run that saved it.
struct ModelInfo {
  std::string sha256, path, name;
  int64_t params = 0, macs = 0, file_bytes = 0, weight_bytes = 0;
};

// A dataset as evaluated. An empty path means the run used no dataset (a latency-only bench).
struct DatasetInfo {
  std::string path, format;
  int64_t image_count = 0, box_count = 0;
  std::string class_map;  // as the dataset reader states it (JSON text, or empty)
};

struct ClassAp {
  std::string class_name;
  int64_t category_id = 0;
  double ap = -1, ap50 = -1, ap75 = -1;  // -1: no ground truth, as pycocotools reports it
  int64_t num_gt = 0;
};

struct LatencyRecord {
  std::string kind;  // kLatencyInference or kLatencyEndToEnd
  LatencySummary summary;
  double deadline_ms = 0, deadline_miss_rate = 0;  // deadline_ms 0: no deadline was set
  std::vector<double> histogram_edges_ms;          // counts.size() + 1 edges, or both empty
  std::vector<int64_t> histogram_counts;
};

struct ThroughputRecord {
  int batch = 1;
  double images_per_s = 0;
};

struct MemoryRecord {
  int64_t weights_bytes = 0;
  std::vector<std::pair<std::string, int64_t>> weights_by_dtype;  // order kept
  int64_t activations_bytes = 0, model_file_bytes = 0, peak_rss_bytes = 0;
};

struct LayerRecord {
  std::string name, op_type;
  int64_t params = 0;
  double sparsity = 0;
  int64_t macs = 0;
  double time_ms = 0;
};

struct RunRecord {
  int64_t id = 0;  // set by insertRun / read back
  ModelInfo model;
  DatasetInfo dataset;
  nlohmann::json config = nlohmann::json::object();  // the full configuration (docs/store.md)
  std::string config_hash;                           // configHash() of the above if empty
  std::string status = kStatusOk;                    // kStatusOk or kStatusFailed
  std::string error;                                 // why a failed run failed
  std::string started_at, finished_at;  // ISO-8601 UTC "2024-05-01T12:00:00Z"; now if empty
  nlohmann::json host = nlohmann::json::object();  // CPU, cores used, ISA, OS, version, engine
  std::string prune_method = "none";
  double sparsity = 0;
  std::string precision = "fp32";
  std::string notes;
  std::array<double, 12> stats{};  // kCocoStatNames order; meaningful when has_metrics
  bool has_metrics = false;
  double precision_at_conf = 0, recall_at_conf = 0, pr_confidence = 0, voc_ap50 = -1;
  std::vector<ClassAp> class_ap;
  std::vector<LatencyRecord> latency;
  std::vector<ThroughputRecord> throughput;
  std::optional<MemoryRecord> memory;
  std::vector<LayerRecord> layers;
};

// Lowercase hex SHA-256 (FIPS 180-4).
std::string sha256Hex(std::string_view bytes);
// SHA-256 of a file's bytes, read in chunks; refuses a path it cannot read, naming it.
Result<std::string> sha256OfFile(const std::filesystem::path& path);

// What makes a sweep resumable: the SHA-256 of a canonical JSON document holding the
// configuration (keys sorted, so key order does not matter; 1 and 1.0 differ), the model's
// sha256 and the dataset's path, format, image count and class map. Model path/name and the
// dataset's box count do not enter it. The exact document is in docs/store.md.
std::string configHash(const nlohmann::json& config, const ModelInfo& model,
                       const DatasetInfo& dataset);

// The current time as ISO-8601 UTC with milliseconds, e.g. "2024-05-01T12:00:00.123Z".
std::string utcNowIso8601();

struct OpenOptions {
  int busy_timeout_ms = 10000;  // how long a write waits for another process's transaction
  bool create = true;           // create the file (and its directory) if missing
  bool read_only = false;       // never write; refuses a file that would need a migration
  int64_t max_page_count = 0;   // 0: no cap. A cap makes writes fail as on a full disk
};

// One connection to a results file. Movable, not copyable (a moved-from Store may only be
// assigned to or destroyed); use one Store per thread.
class Store {
 public:
  static constexpr int kSchemaVersion = 1;
  // PRAGMA application_id of a DetSlim results file ("DSrs"): tells our files from other
  // SQLite databases.
  static constexpr int32_t kApplicationId = 0x44537273;

  // $XDG_DATA_HOME/detslim/results.sqlite, else $HOME/.local/share/detslim/results.sqlite.
  static std::filesystem::path defaultPath();

  // Opens (and creates or migrates) a results file. Refuses, without writing to it, a file that
  // is not SQLite, an SQLite database of another application, and a schema newer than
  // kSchemaVersion.
  static Result<Store> open(const std::filesystem::path& path, const OpenOptions& options = {});

  Store(Store&&) noexcept;
  Store& operator=(Store&&) noexcept;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  ~Store();

  int schemaVersion() const { return schema_version_; }
  const std::filesystem::path& path() const { return path_; }

  // Saves the whole record in one transaction (model and dataset rows upserted) and returns its
  // id; on any failure nothing of it is saved. Waits up to busy_timeout_ms for other writers.
  Result<int64_t> insertRun(RunRecord run);
  // The newest run with this config hash and status "ok", if any.
  Result<std::optional<int64_t>> findCompletedRun(const std::string& config_hash);
  // The full record with its children; NotFound names the id.
  Result<RunRecord> getRun(int64_t id);
  // Runs matching a filter expression (docs/store.md; empty: all), ordered by id. A bad filter
  // is InvalidArgument naming the token and its column.
  Result<std::vector<RunRecord>> listRuns(const std::string& filter_expr = "");
  Result<int64_t> countRuns();
  // Deletes a run and its children; NotFound names the id.
  Status deleteRun(int64_t id);

 private:
  struct Closer {
    void operator()(sqlite3* db) const;
  };
  Store(std::filesystem::path path, const OpenOptions& options, sqlite3* db, int version);
  Result<std::vector<int64_t>> matchingIds(const std::string& filter_expr);
  Result<RunRecord> readRun(int64_t id);

  std::filesystem::path path_;
  OpenOptions options_;
  int schema_version_ = 0;
  std::unique_ptr<sqlite3, Closer> db_;
};

// Header plus one row per run, RFC 4180 (CRLF line ends; fields with a comma, quote, CR or LF
// quoted, quotes doubled). Missing values are empty cells. Columns: docs/store.md.
std::string runsToCsv(const std::vector<RunRecord>& runs);
// Every field of the record, children included; absent metrics / memory / dataset are null.
nlohmann::json runToJson(const RunRecord& run);
nlohmann::json runsToJson(const std::vector<RunRecord>& runs);

}  // namespace detslim::store
