#include "core/store/store.h"

#include <pwd.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <limits>

#include "core/store/filter.h"
#include "core/store/schema.h"
#include "core/store/sqlite_util.h"

namespace detslim::store {

namespace fs = std::filesystem;
using detail::Conn;
using detail::Stmt;
using detail::Transaction;
using nlohmann::json;

namespace {

// The SQLite file header (https://www.sqlite.org/fileformat.html): read directly, so a file
// that is not ours or is too new is refused before SQLite opens it for writing.
constexpr size_t kHeaderBytes = 100;
constexpr std::string_view kHeaderMagic{"SQLite format 3\0", 16};
constexpr size_t kUserVersionOffset = 60;
constexpr size_t kApplicationIdOffset = 68;

constexpr double kNoValue = std::numeric_limits<double>::quiet_NaN();

int32_t readBigEndian32(const unsigned char* bytes) {
  return static_cast<int32_t>((uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) |
                              (uint32_t{bytes[2]} << 8) | uint32_t{bytes[3]});
}

std::string hex32(int64_t value) {
  char text[16];
  std::snprintf(text, sizeof(text), "0x%08x", static_cast<uint32_t>(value));
  return text;
}

Status newerSchema(const std::string& path, int64_t version) {
  return unsupported(path + ": schema version " + std::to_string(version) +
                     " is newer than this DetSlim build knows (" +
                     std::to_string(Store::kSchemaVersion) +
                     "); use a newer DetSlim. The file was not changed");
}

Status foreignDatabase(const std::string& path, const std::string& why) {
  return parseError(path + ": not a DetSlim results database (" + why + "); refusing to change it");
}

// Checks an existing non-empty file's header without SQLite.
Status checkHeader(const fs::path& path, uintmax_t size) {
  const std::string name = path.string();
  if (size < kHeaderBytes) return foreignDatabase(name, "too short for an SQLite file");
  std::ifstream in(path, std::ios::binary);
  unsigned char header[kHeaderBytes];
  if (!in.read(reinterpret_cast<char*>(header), kHeaderBytes)) {
    return ioError(name + ": cannot read the file header: " + std::strerror(errno));
  }
  if (std::string_view(reinterpret_cast<const char*>(header), kHeaderMagic.size()) !=
      kHeaderMagic) {
    return foreignDatabase(name, "not an SQLite file");
  }
  const int32_t version = readBigEndian32(header + kUserVersionOffset);
  if (version > Store::kSchemaVersion) return newerSchema(name, version);
  return Status::ok();
}

// Switching to WAL needs every other connection gone for a moment and SQLite does not wait for
// that by itself; a file already in WAL mode answers at once.
Status enableWal(const Conn& conn) {
  std::string mode;
  const int rc = conn.retryWhileLocked([&] {
    Result<Stmt> stmt = conn.prepare("PRAGMA journal_mode = WAL", "cannot enable WAL");
    if (!stmt.isOk()) return sqlite3_errcode(conn.db());
    const int step_rc = stmt->step();
    if (step_rc != SQLITE_ROW) return step_rc;
    mode = stmt->text(0);
    return SQLITE_OK;
  });
  if (detail::isLockContention(rc)) return conn.lockedError();
  if (rc != SQLITE_OK) return conn.error(rc, "cannot enable WAL");
  if (mode != "wal") {
    return ioError(conn.path() + ": cannot enable the WAL journal (the file system kept '" + mode +
                   "')");
  }
  return Status::ok();
}

// "2024-05-01T12:00:00Z" with optional fractional seconds: the only form stored, so that the
// `started` filter compares times as strings.
bool isIsoUtc(std::string_view text) {
  constexpr std::string_view kPattern = "dddd-dd-ddTdd:dd:dd";
  if (text.size() < kPattern.size() + 1 || text.back() != 'Z') return false;
  for (size_t i = 0; i < kPattern.size(); ++i) {
    const bool digit = std::isdigit(static_cast<unsigned char>(text[i])) != 0;
    if (kPattern[i] == 'd' ? !digit : text[i] != kPattern[i]) return false;
  }
  std::string_view rest = text.substr(kPattern.size(), text.size() - kPattern.size() - 1);
  if (rest.empty()) return true;
  if (rest.size() < 2 || rest[0] != '.') return false;
  for (char c : rest.substr(1)) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

std::string dumpJson(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<json> parseStoredJson(const std::string& text, const std::string& where) {
  json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return parseError(where + ": stored JSON is malformed");
  return value;
}

// Runs the body and turns any exception (bad_alloc, a JSON type error we did not foresee) into
// a Status: nothing throws across the store's API.
template <class Body>
auto guarded(const fs::path& path, Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const std::exception& e) {
    return internalError(path.string() + ": unexpected error: " + e.what());
  }
}

Status validate(const std::string& path, RunRecord& run) {
  const std::string where = path + ": run of model '" + run.model.name + "'";
  if (run.model.sha256.empty()) return invalidArgument(where + ": model.sha256 is empty");
  if (run.status != kStatusOk && run.status != kStatusFailed) {
    return invalidArgument(where + ": status must be 'ok' or 'failed', got '" + run.status + "'");
  }
  if (run.config.is_null()) run.config = json::object();
  if (run.host.is_null()) run.host = json::object();
  if (!run.config.is_object()) return invalidArgument(where + ": config must be a JSON object");
  if (!run.host.is_object()) return invalidArgument(where + ": host must be a JSON object");
  const std::string now = utcNowIso8601();
  if (run.started_at.empty()) run.started_at = now;
  if (run.finished_at.empty()) run.finished_at = now;
  for (const auto& [field, value] :
       {std::pair<const char*, const std::string*>{"started_at", &run.started_at},
        {"finished_at", &run.finished_at}}) {
    if (!isIsoUtc(*value)) {
      return invalidArgument(where + ": " + field + " '" + *value +
                             "' is not ISO-8601 UTC like 2024-05-01T12:00:00Z");
    }
  }
  for (size_t i = 0; i < run.latency.size(); ++i) {
    const LatencyRecord& record = run.latency[i];
    const std::string item = where + ": latency[" + std::to_string(i) + "]";
    if (record.kind != kLatencyInference && record.kind != kLatencyEndToEnd) {
      return invalidArgument(item + ": kind must be 'inference' or 'end_to_end', got '" +
                             record.kind + "'");
    }
    const bool no_histogram = record.histogram_edges_ms.empty() && record.histogram_counts.empty();
    if (!no_histogram && record.histogram_edges_ms.size() != record.histogram_counts.size() + 1) {
      return invalidArgument(item + ": histogram has " +
                             std::to_string(record.histogram_edges_ms.size()) + " edges for " +
                             std::to_string(record.histogram_counts.size()) +
                             " counts; expected counts + 1");
    }
  }
  if (run.config_hash.empty()) run.config_hash = configHash(run.config, run.model, run.dataset);
  return Status::ok();
}

// The statements of insertRun, each naming what it saves for the error message.
class RunWriter {
 public:
  RunWriter(const Conn& conn, const RunRecord& run)
      : conn_(conn), run_(run), what_("cannot save the run of model '" + run.model.name + "'") {}

  Result<int64_t> write() {
    DS_ASSIGN_OR_RETURN(const int64_t model_id, upsertModel());
    std::optional<int64_t> dataset_id;
    if (!run_.dataset.path.empty()) {
      DS_ASSIGN_OR_RETURN(dataset_id, upsertDataset());
    }
    DS_ASSIGN_OR_RETURN(const int64_t run_id, insertRunRow(model_id, dataset_id));
    DS_RETURN_IF_ERROR(insertMetrics(run_id));
    DS_RETURN_IF_ERROR(insertClassAp(run_id));
    DS_RETURN_IF_ERROR(insertLatency(run_id));
    DS_RETURN_IF_ERROR(insertThroughput(run_id));
    DS_RETURN_IF_ERROR(insertMemory(run_id));
    DS_RETURN_IF_ERROR(insertLayers(run_id));
    return run_id;
  }

 private:
  std::string context(const std::string& item) const { return what_ + ": " + item; }

  Result<Stmt> prepare(const char* sql, const std::string& item) const {
    return conn_.prepare(sql, context(item));
  }

  // Steps a statement that returns its id (RETURNING) or nothing.
  Status stepDone(Stmt& stmt, const std::string& item) const {
    const int rc = stmt.step();
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return conn_.error(rc, context(item));
    return Status::ok();
  }

  Result<int64_t> stepId(Stmt& stmt, const std::string& item) const {
    const int rc = stmt.step();
    if (rc != SQLITE_ROW) return conn_.error(rc, context(item));
    return stmt.int64(0);
  }

  // One row per file content; a zero statistic does not overwrite a known one, so a caller that
  // skipped counting MACs does not erase them.
  Result<int64_t> upsertModel() {
    const ModelInfo& m = run_.model;
    DS_ASSIGN_OR_RETURN(Stmt stmt, prepare(R"sql(
      INSERT INTO models (sha256, path, name, params, macs, file_bytes, weight_bytes)
      VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
      ON CONFLICT (sha256) DO UPDATE SET
        path = excluded.path, name = excluded.name,
        params = COALESCE(NULLIF(excluded.params, 0), params),
        macs = COALESCE(NULLIF(excluded.macs, 0), macs),
        file_bytes = COALESCE(NULLIF(excluded.file_bytes, 0), file_bytes),
        weight_bytes = COALESCE(NULLIF(excluded.weight_bytes, 0), weight_bytes)
      RETURNING id)sql",
                                           "model"));
    stmt.bind(1, m.sha256);
    stmt.bind(2, m.path);
    stmt.bind(3, m.name);
    stmt.bind(4, m.params);
    stmt.bind(5, m.macs);
    stmt.bind(6, m.file_bytes);
    stmt.bind(7, m.weight_bytes);
    return stepId(stmt, "model " + m.sha256);
  }

  Result<int64_t> upsertDataset() {
    const DatasetInfo& d = run_.dataset;
    DS_ASSIGN_OR_RETURN(Stmt stmt, prepare(R"sql(
      INSERT INTO datasets (path, format, image_count, box_count, class_map)
      VALUES (?1, ?2, ?3, ?4, ?5)
      ON CONFLICT (path, format, image_count, class_map)
        DO UPDATE SET box_count = excluded.box_count
      RETURNING id)sql",
                                           "dataset"));
    stmt.bind(1, d.path);
    stmt.bind(2, d.format);
    stmt.bind(3, d.image_count);
    stmt.bind(4, d.box_count);
    stmt.bind(5, d.class_map);
    return stepId(stmt, "dataset " + d.path);
  }

  Result<int64_t> insertRunRow(int64_t model_id, std::optional<int64_t> dataset_id) {
    DS_ASSIGN_OR_RETURN(Stmt stmt, prepare(R"sql(
      INSERT INTO runs (model_id, dataset_id, config_json, config_hash, status, error,
                        started_at, finished_at, host_json, prune_method, sparsity, precision,
                        notes)
      VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
      RETURNING id)sql",
                                           "runs"));
    stmt.bind(1, model_id);
    if (dataset_id) {
      stmt.bind(2, *dataset_id);
    } else {
      stmt.bindNull(2);
    }
    stmt.bind(3, dumpJson(run_.config));
    stmt.bind(4, run_.config_hash);
    stmt.bind(5, run_.status);
    stmt.bind(6, run_.error);
    stmt.bind(7, run_.started_at);
    stmt.bind(8, run_.finished_at);
    stmt.bind(9, dumpJson(run_.host));
    stmt.bind(10, run_.prune_method);
    stmt.bind(11, run_.sparsity);
    stmt.bind(12, run_.precision);
    stmt.bind(13, run_.notes);
    return stepId(stmt, "runs row");
  }

  Status insertMetrics(int64_t run_id) {
    if (!run_.has_metrics) return Status::ok();
    DS_ASSIGN_OR_RETURN(Stmt stmt, prepare(R"sql(
      INSERT INTO metrics (run_id, ap, ap50, ap75, ap_small, ap_medium, ap_large,
                           ar1, ar10, ar100, ar_small, ar_medium, ar_large,
                           precision, recall, pr_confidence, voc_ap50)
      VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17))sql",
                                           "metrics"));
    int index = 1;
    stmt.bind(index++, run_id);
    for (double stat : run_.stats) stmt.bind(index++, stat);
    stmt.bind(index++, run_.precision_at_conf);
    stmt.bind(index++, run_.recall_at_conf);
    stmt.bind(index++, run_.pr_confidence);
    stmt.bind(index++, run_.voc_ap50);
    return stepDone(stmt, "metrics");
  }

  Status insertClassAp(int64_t run_id) {
    if (run_.class_ap.empty()) return Status::ok();
    DS_ASSIGN_OR_RETURN(Stmt stmt, prepare(R"sql(
      INSERT INTO class_ap (run_id, class_name, category_id, ap, ap50, ap75, num_gt)
      VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7))sql",
                                           "class_ap"));
    for (size_t i = 0; i < run_.class_ap.size(); ++i) {
      const ClassAp& c = run_.class_ap[i];
      stmt.reset();
      stmt.bind(1, run_id);
      stmt.bind(2, c.class_name);
      stmt.bind(3, c.category_id);
      stmt.bind(4, c.ap);
      stmt.bind(5, c.ap50);
      stmt.bind(6, c.ap75);
      stmt.bind(7, c.num_gt);
      DS_RETURN_IF_ERROR(stepDone(stmt, "class_ap[" + std::to_string(i) + "] (category " +
                                            std::to_string(c.category_id) + " '" + c.class_name +
                                            "')"));
    }
    return Status::ok();
  }

  Status insertLatency(int64_t run_id) {
    if (run_.latency.empty()) return Status::ok();
    DS_ASSIGN_OR_RETURN(Stmt stmt, prepare(R"sql(
      INSERT INTO latency (run_id, kind, runs, mean_ms, median_ms, p90_ms, p99_ms, min_ms,
                           max_ms, std_ms, deadline_ms, deadline_miss_rate, histogram_json)
      VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13))sql",
                                           "latency"));
    for (size_t i = 0; i < run_.latency.size(); ++i) {
      const LatencyRecord& record = run_.latency[i];
      const LatencySummary& s = record.summary;
      const json histogram = {{"edges_ms", record.histogram_edges_ms},
                              {"counts", record.histogram_counts}};
      stmt.reset();
      stmt.bind(1, run_id);
      stmt.bind(2, record.kind);
      stmt.bind(3, s.runs);
      stmt.bind(4, s.mean_ms);
      stmt.bind(5, s.median_ms);
      stmt.bind(6, s.p90_ms);
      stmt.bind(7, s.p99_ms);
      stmt.bind(8, s.min_ms);
      stmt.bind(9, s.max_ms);
      stmt.bind(10, s.std_ms);
      stmt.bind(11, record.deadline_ms);
      stmt.bind(12, record.deadline_miss_rate);
      stmt.bind(13, dumpJson(histogram));
      DS_RETURN_IF_ERROR(
          stepDone(stmt, "latency[" + std::to_string(i) + "] (" + record.kind + ")"));
    }
    return Status::ok();
  }

  Status insertThroughput(int64_t run_id) {
    if (run_.throughput.empty()) return Status::ok();
    DS_ASSIGN_OR_RETURN(Stmt stmt, prepare(R"sql(
      INSERT INTO throughput (run_id, batch, images_per_s) VALUES (?1, ?2, ?3))sql",
                                           "throughput"));
    for (size_t i = 0; i < run_.throughput.size(); ++i) {
      const ThroughputRecord& t = run_.throughput[i];
      stmt.reset();
      stmt.bind(1, run_id);
      stmt.bind(2, t.batch);
      stmt.bind(3, t.images_per_s);
      DS_RETURN_IF_ERROR(stepDone(
          stmt, "throughput[" + std::to_string(i) + "] (batch " + std::to_string(t.batch) + ")"));
    }
    return Status::ok();
  }

  Status insertMemory(int64_t run_id) {
    if (!run_.memory) return Status::ok();
    const MemoryRecord& m = *run_.memory;
    // ordered_json keeps the caller's dtype order through the round trip.
    nlohmann::ordered_json by_dtype = nlohmann::ordered_json::object();
    for (const auto& [dtype, bytes] : m.weights_by_dtype) by_dtype[dtype] = bytes;
    DS_ASSIGN_OR_RETURN(Stmt stmt, prepare(R"sql(
      INSERT INTO memory (run_id, weights_bytes, weights_by_dtype_json, activations_bytes,
                          model_file_bytes, peak_rss_bytes)
      VALUES (?1, ?2, ?3, ?4, ?5, ?6))sql",
                                           "memory"));
    stmt.bind(1, run_id);
    stmt.bind(2, m.weights_bytes);
    stmt.bind(3, by_dtype.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
    stmt.bind(4, m.activations_bytes);
    stmt.bind(5, m.model_file_bytes);
    stmt.bind(6, m.peak_rss_bytes);
    return stepDone(stmt, "memory");
  }

  Status insertLayers(int64_t run_id) {
    if (run_.layers.empty()) return Status::ok();
    DS_ASSIGN_OR_RETURN(Stmt stmt, prepare(R"sql(
      INSERT INTO layers (run_id, idx, name, op_type, params, sparsity, macs, time_ms)
      VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8))sql",
                                           "layers"));
    for (size_t i = 0; i < run_.layers.size(); ++i) {
      const LayerRecord& layer = run_.layers[i];
      stmt.reset();
      stmt.bind(1, run_id);
      stmt.bind(2, static_cast<int64_t>(i));
      stmt.bind(3, layer.name);
      stmt.bind(4, layer.op_type);
      stmt.bind(5, layer.params);
      stmt.bind(6, layer.sparsity);
      stmt.bind(7, layer.macs);
      stmt.bind(8, layer.time_ms);
      DS_RETURN_IF_ERROR(
          stepDone(stmt, "layers[" + std::to_string(i) + "] ('" + layer.name + "')"));
    }
    return Status::ok();
  }

  const Conn& conn_;
  const RunRecord& run_;
  std::string what_;
};

// Reads one run and its children; the caller holds a read transaction so they agree.
class RunReader {
 public:
  RunReader(const Conn& conn, int64_t id)
      : conn_(conn), id_(id), what_("run " + std::to_string(id)) {}

  Result<RunRecord> read() {
    RunRecord run;
    run.id = id_;
    DS_RETURN_IF_ERROR(readRunRow(run));
    DS_RETURN_IF_ERROR(readMetrics(run));
    DS_RETURN_IF_ERROR(readClassAp(run));
    DS_RETURN_IF_ERROR(readLatency(run));
    DS_RETURN_IF_ERROR(readThroughput(run));
    DS_RETURN_IF_ERROR(readMemory(run));
    DS_RETURN_IF_ERROR(readLayers(run));
    return run;
  }

 private:
  std::string context(const char* table) const { return "cannot read " + what_ + ": " + table; }

  Result<Stmt> query(const char* sql, const char* table) const {
    DS_ASSIGN_OR_RETURN(Stmt stmt, conn_.prepare(sql, context(table)));
    stmt.bind(1, id_);
    return stmt;
  }

  // Steps over every row, calling `row` for each.
  template <class Row>
  Status eachRow(Stmt& stmt, const char* table, Row&& row) const {
    while (true) {
      const int rc = stmt.step();
      if (rc == SQLITE_DONE) return Status::ok();
      if (rc != SQLITE_ROW) return conn_.error(rc, context(table));
      DS_RETURN_IF_ERROR(row());
    }
  }

  Status readRunRow(RunRecord& run) const {
    DS_ASSIGN_OR_RETURN(Stmt stmt, query(R"sql(
      SELECT r.config_json, r.config_hash, r.status, r.error, r.started_at, r.finished_at,
             r.host_json, r.prune_method, r.sparsity, r.precision, r.notes,
             m.sha256, m.path, m.name, m.params, m.macs, m.file_bytes, m.weight_bytes,
             d.path, d.format, d.image_count, d.box_count, d.class_map
      FROM runs AS r JOIN models AS m ON m.id = r.model_id
      LEFT JOIN datasets AS d ON d.id = r.dataset_id
      WHERE r.id = ?1)sql",
                                         "runs"));
    const int rc = stmt.step();
    if (rc == SQLITE_DONE)
      return notFound(conn_.path() + ": run " + std::to_string(id_) + " not found");
    if (rc != SQLITE_ROW) return conn_.error(rc, context("runs"));
    const std::string where = conn_.path() + ": " + what_;
    DS_ASSIGN_OR_RETURN(run.config, parseStoredJson(stmt.text(0), where + ": config_json"));
    run.config_hash = stmt.text(1);
    run.status = stmt.text(2);
    run.error = stmt.text(3);
    run.started_at = stmt.text(4);
    run.finished_at = stmt.text(5);
    DS_ASSIGN_OR_RETURN(run.host, parseStoredJson(stmt.text(6), where + ": host_json"));
    run.prune_method = stmt.text(7);
    run.sparsity = stmt.real(8, kNoValue);
    run.precision = stmt.text(9);
    run.notes = stmt.text(10);
    run.model = {stmt.text(11),  stmt.text(12),  stmt.text(13), stmt.int64(14),
                 stmt.int64(15), stmt.int64(16), stmt.int64(17)};
    if (!stmt.isNull(18)) {
      run.dataset = {stmt.text(18), stmt.text(19), stmt.int64(20), stmt.int64(21), stmt.text(22)};
    }
    return Status::ok();
  }

  Status readMetrics(RunRecord& run) const {
    DS_ASSIGN_OR_RETURN(Stmt stmt, query(R"sql(
      SELECT ap, ap50, ap75, ap_small, ap_medium, ap_large, ar1, ar10, ar100,
             ar_small, ar_medium, ar_large, precision, recall, pr_confidence, voc_ap50
      FROM metrics WHERE run_id = ?1)sql",
                                         "metrics"));
    return eachRow(stmt, "metrics", [&] {
      run.has_metrics = true;
      int column = 0;
      for (double& stat : run.stats) stat = stmt.real(column++, kNoValue);
      run.precision_at_conf = stmt.real(column++, kNoValue);
      run.recall_at_conf = stmt.real(column++, kNoValue);
      run.pr_confidence = stmt.real(column++, kNoValue);
      run.voc_ap50 = stmt.real(column++, kNoValue);
      return Status::ok();
    });
  }

  Status readClassAp(RunRecord& run) const {
    DS_ASSIGN_OR_RETURN(Stmt stmt, query(R"sql(
      SELECT class_name, category_id, ap, ap50, ap75, num_gt
      FROM class_ap WHERE run_id = ?1 ORDER BY rowid)sql",
                                         "class_ap"));
    return eachRow(stmt, "class_ap", [&] {
      run.class_ap.push_back({stmt.text(0), stmt.int64(1), stmt.real(2, kNoValue),
                              stmt.real(3, kNoValue), stmt.real(4, kNoValue), stmt.int64(5)});
      return Status::ok();
    });
  }

  Status readLatency(RunRecord& run) const {
    DS_ASSIGN_OR_RETURN(Stmt stmt, query(R"sql(
      SELECT kind, runs, mean_ms, median_ms, p90_ms, p99_ms, min_ms, max_ms, std_ms,
             deadline_ms, deadline_miss_rate, histogram_json
      FROM latency WHERE run_id = ?1 ORDER BY rowid)sql",
                                         "latency"));
    return eachRow(stmt, "latency", [&]() -> Status {
      LatencyRecord record;
      record.kind = stmt.text(0);
      LatencySummary& s = record.summary;
      s.runs = static_cast<int>(stmt.int64(1));
      s.mean_ms = stmt.real(2, kNoValue);
      s.median_ms = stmt.real(3, kNoValue);
      s.p90_ms = stmt.real(4, kNoValue);
      s.p99_ms = stmt.real(5, kNoValue);
      s.min_ms = stmt.real(6, kNoValue);
      s.max_ms = stmt.real(7, kNoValue);
      s.std_ms = stmt.real(8, kNoValue);
      record.deadline_ms = stmt.real(9, kNoValue);
      record.deadline_miss_rate = stmt.real(10, kNoValue);
      const std::string where =
          conn_.path() + ": " + what_ + ": latency '" + record.kind + "' histogram_json";
      DS_ASSIGN_OR_RETURN(const json histogram, parseStoredJson(stmt.text(11), where));
      const json edges = histogram.value("edges_ms", json::array());
      const json counts = histogram.value("counts", json::array());
      if (!edges.is_array() || !counts.is_array()) {
        return parseError(where + ": expected {\"edges_ms\": [...], \"counts\": [...]}");
      }
      for (const json& edge : edges) {
        // NaN edges were dumped as null.
        record.histogram_edges_ms.push_back(edge.is_number() ? edge.get<double>() : kNoValue);
      }
      for (const json& count : counts) {
        if (!count.is_number_integer()) return parseError(where + ": a count is not an integer");
        record.histogram_counts.push_back(count.get<int64_t>());
      }
      run.latency.push_back(std::move(record));
      return Status::ok();
    });
  }

  Status readThroughput(RunRecord& run) const {
    DS_ASSIGN_OR_RETURN(Stmt stmt, query(R"sql(
      SELECT batch, images_per_s FROM throughput WHERE run_id = ?1 ORDER BY rowid)sql",
                                         "throughput"));
    return eachRow(stmt, "throughput", [&] {
      run.throughput.push_back({static_cast<int>(stmt.int64(0)), stmt.real(1, kNoValue)});
      return Status::ok();
    });
  }

  Status readMemory(RunRecord& run) const {
    DS_ASSIGN_OR_RETURN(Stmt stmt, query(R"sql(
      SELECT weights_bytes, weights_by_dtype_json, activations_bytes, model_file_bytes,
             peak_rss_bytes
      FROM memory WHERE run_id = ?1)sql",
                                         "memory"));
    return eachRow(stmt, "memory", [&]() -> Status {
      MemoryRecord memory;
      memory.weights_bytes = stmt.int64(0);
      const std::string where = conn_.path() + ": " + what_ + ": memory weights_by_dtype_json";
      const std::string text = stmt.text(1);
      const nlohmann::ordered_json by_dtype =
          nlohmann::ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
      if (by_dtype.is_discarded() || !by_dtype.is_object()) {
        return parseError(where + ": expected a JSON object of dtype -> bytes");
      }
      for (const auto& [dtype, bytes] : by_dtype.items()) {
        if (!bytes.is_number_integer()) return parseError(where + ": '" + dtype + "' bytes");
        memory.weights_by_dtype.emplace_back(dtype, bytes.get<int64_t>());
      }
      memory.activations_bytes = stmt.int64(2);
      memory.model_file_bytes = stmt.int64(3);
      memory.peak_rss_bytes = stmt.int64(4);
      run.memory = std::move(memory);
      return Status::ok();
    });
  }

  Status readLayers(RunRecord& run) const {
    DS_ASSIGN_OR_RETURN(Stmt stmt, query(R"sql(
      SELECT name, op_type, params, sparsity, macs, time_ms
      FROM layers WHERE run_id = ?1 ORDER BY idx)sql",
                                         "layers"));
    return eachRow(stmt, "layers", [&] {
      run.layers.push_back({stmt.text(0), stmt.text(1), stmt.int64(2), stmt.real(3, kNoValue),
                            stmt.int64(4), stmt.real(5, kNoValue)});
      return Status::ok();
    });
  }

  const Conn& conn_;
  int64_t id_;
  std::string what_;
};

}  // namespace

void Store::Closer::operator()(sqlite3* db) const {
  sqlite3_close_v2(db);
}

Store::Store(fs::path path, const OpenOptions& options, sqlite3* db, int version)
    : path_(std::move(path)), options_(options), schema_version_(version), db_(db) {}

Store::Store(Store&&) noexcept = default;
Store& Store::operator=(Store&&) noexcept = default;
Store::~Store() = default;

fs::path Store::defaultPath() {
  fs::path base;
  // The XDG spec says a relative XDG_DATA_HOME is invalid and must be ignored.
  const char* xdg = std::getenv("XDG_DATA_HOME");
  if (xdg != nullptr && *xdg != '\0' && fs::path(xdg).is_absolute()) {
    base = xdg;
  } else {
    const char* home = std::getenv("HOME");
    if (home == nullptr || *home == '\0') {
      const passwd* entry = getpwuid(getuid());
      home = entry != nullptr ? entry->pw_dir : nullptr;
    }
    base = fs::path(home != nullptr ? home : ".") / ".local" / "share";
  }
  return base / "detslim" / "results.sqlite";
}

Result<Store> Store::open(const fs::path& path, const OpenOptions& options) {
  return guarded(path, [&]() -> Result<Store> {
    const std::string name = path.string();
    if (path.empty()) return invalidArgument("results database: the path is empty");
    if (options.busy_timeout_ms < 0) {
      return invalidArgument(name + ": busy_timeout_ms must be >= 0, got " +
                             std::to_string(options.busy_timeout_ms));
    }
    std::error_code ec;
    const fs::file_status status = fs::status(path, ec);
    if (ec && status.type() != fs::file_type::not_found) {
      return ioError(name + ": cannot access: " + ec.message());
    }
    if (fs::is_directory(status)) {
      return invalidArgument(name + ": is a directory, not a results database file");
    }
    if (fs::exists(status)) {
      if (!fs::is_regular_file(status)) {
        return invalidArgument(name + ": not a regular file, so not a results database");
      }
      const uintmax_t size = fs::file_size(path, ec);
      if (ec) return ioError(name + ": cannot read the file size: " + ec.message());
      if (size > 0) DS_RETURN_IF_ERROR(checkHeader(path, size));
    } else {
      if (!options.create || options.read_only) {
        return notFound(name + ": no such results database");
      }
      const fs::path parent = path.parent_path();
      if (!parent.empty()) {
        fs::create_directories(parent, ec);
        if (ec) {
          return ioError(name + ": cannot create the directory '" + parent.string() +
                         "': " + ec.message());
        }
      }
    }

    const int flags = options.read_only
                          ? SQLITE_OPEN_READONLY
                          : SQLITE_OPEN_READWRITE | (options.create ? SQLITE_OPEN_CREATE : 0);
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(name.c_str(), &raw, flags, nullptr);
    std::unique_ptr<sqlite3, Closer> db(raw);
    if (rc != SQLITE_OK) {
      return ioError(
          name + ": cannot open: " + (raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
    }
    sqlite3_busy_timeout(db.get(), options.busy_timeout_ms);
    const Conn conn(db.get(), name, options.busy_timeout_ms);

    // Only reads until the file is known to be ours and not newer: the header check above can
    // be stale when a newer build's migration still sits in the WAL. One read transaction, so
    // the three answers agree while another process migrates the file.
    int64_t version = 0, application_id = 0, tables = 0;
    {
      DS_ASSIGN_OR_RETURN(Transaction snapshot, Transaction::beginRead(conn));
      DS_ASSIGN_OR_RETURN(version, conn.queryInt("PRAGMA user_version", "not a results database"));
      DS_ASSIGN_OR_RETURN(application_id,
                          conn.queryInt("PRAGMA application_id", "not a results database"));
      DS_ASSIGN_OR_RETURN(tables,
                          conn.queryInt("SELECT count(*) FROM sqlite_master WHERE type = 'table'",
                                        "cannot list the tables"));
      DS_RETURN_IF_ERROR(snapshot.commit("cannot end the schema check"));
    }
    if (version > kSchemaVersion) return newerSchema(name, version);
    if (version < 0) return foreignDatabase(name, "negative schema version");
    if (application_id != 0 && application_id != kApplicationId) {
      return foreignDatabase(name, "application_id " + hex32(application_id));
    }
    if (version == 0 && tables > 0) {
      return foreignDatabase(name, "it has tables but no DetSlim schema version");
    }
    if (version > 0 && application_id != kApplicationId) {
      return foreignDatabase(name, "schema version " + std::to_string(version) +
                                       " without the DetSlim application id");
    }

    if (options.read_only) {
      if (version < kSchemaVersion) {
        return unsupported(name + ": schema version " + std::to_string(version) +
                           " needs a migration to " + std::to_string(kSchemaVersion) +
                           "; open it once without read-only");
      }
      return Store(path, options, db.release(), static_cast<int>(version));
    }

    // WAL lets the GUI read while the CLI writes; only the write lock is exclusive.
    DS_RETURN_IF_ERROR(enableWal(conn));
    DS_RETURN_IF_ERROR(conn.exec("PRAGMA foreign_keys = ON", "cannot enable foreign keys"));
    if (options.max_page_count > 0) {
      DS_RETURN_IF_ERROR(
          conn.exec("PRAGMA max_page_count = " + std::to_string(options.max_page_count),
                    "cannot set max_page_count"));
    }
    int current = static_cast<int>(version);
    if (current < kSchemaVersion) {
      DS_ASSIGN_OR_RETURN(current, detail::migrate(conn));
    }
    return Store(path, options, db.release(), current);
  });
}

Result<int64_t> Store::insertRun(RunRecord run) {
  return guarded(path_, [&]() -> Result<int64_t> {
    const Conn conn(db_.get(), path_.string(), options_.busy_timeout_ms);
    DS_RETURN_IF_ERROR(validate(conn.path(), run));
    if (options_.read_only) {
      return invalidArgument(conn.path() + ": opened read-only; cannot save a run");
    }
    DS_ASSIGN_OR_RETURN(Transaction txn, Transaction::beginWrite(conn));
    DS_ASSIGN_OR_RETURN(const int64_t id, RunWriter(conn, run).write());
    DS_RETURN_IF_ERROR(txn.commit("cannot commit the run of model '" + run.model.name + "'"));
    return id;
  });
}

Result<std::optional<int64_t>> Store::findCompletedRun(const std::string& config_hash) {
  return guarded(path_, [&]() -> Result<std::optional<int64_t>> {
    const Conn conn(db_.get(), path_.string(), options_.busy_timeout_ms);
    const std::string what = "cannot look up config hash " + config_hash;
    DS_ASSIGN_OR_RETURN(Stmt stmt, conn.prepare(R"sql(
      SELECT id FROM runs WHERE config_hash = ?1 AND status = 'ok'
      ORDER BY id DESC LIMIT 1)sql",
                                                what));
    stmt.bind(1, config_hash);
    const int rc = stmt.step();
    if (rc == SQLITE_DONE) return std::optional<int64_t>();
    if (rc != SQLITE_ROW) return conn.error(rc, what);
    return std::optional<int64_t>(stmt.int64(0));
  });
}

Result<RunRecord> Store::readRun(int64_t id) {
  const Conn conn(db_.get(), path_.string(), options_.busy_timeout_ms);
  return RunReader(conn, id).read();
}

Result<RunRecord> Store::getRun(int64_t id) {
  return guarded(path_, [&]() -> Result<RunRecord> {
    const Conn conn(db_.get(), path_.string(), options_.busy_timeout_ms);
    DS_ASSIGN_OR_RETURN(Transaction txn, Transaction::beginRead(conn));
    DS_ASSIGN_OR_RETURN(RunRecord run, readRun(id));
    DS_RETURN_IF_ERROR(txn.commit("cannot end the read of run " + std::to_string(id)));
    return run;
  });
}

Result<std::vector<int64_t>> Store::matchingIds(const std::string& filter_expr) {
  const Conn conn(db_.get(), path_.string(), options_.busy_timeout_ms);
  DS_ASSIGN_OR_RETURN(const SqlFilter filter, compileFilter(filter_expr));
  std::string sql =
      "SELECT runs.id FROM runs JOIN models AS m ON m.id = runs.model_id "
      "LEFT JOIN datasets AS d ON d.id = runs.dataset_id "
      "LEFT JOIN metrics AS mt ON mt.run_id = runs.id";
  if (!filter.where.empty()) sql += " WHERE " + filter.where;
  sql += " ORDER BY runs.id";
  const std::string what = "cannot list runs";
  DS_ASSIGN_OR_RETURN(Stmt stmt, conn.prepare(sql, what));
  for (size_t i = 0; i < filter.params.size(); ++i) {
    const int index = static_cast<int>(i) + 1;
    if (const double* number = std::get_if<double>(&filter.params[i])) {
      stmt.bind(index, *number);
    } else {
      stmt.bind(index, std::get<std::string>(filter.params[i]));
    }
  }
  std::vector<int64_t> ids;
  while (true) {
    const int rc = stmt.step();
    if (rc == SQLITE_DONE) return ids;
    if (rc != SQLITE_ROW) return conn.error(rc, what);
    ids.push_back(stmt.int64(0));
  }
}

Result<std::vector<RunRecord>> Store::listRuns(const std::string& filter_expr) {
  return guarded(path_, [&]() -> Result<std::vector<RunRecord>> {
    const Conn conn(db_.get(), path_.string(), options_.busy_timeout_ms);
    // Compiled first so a bad filter is reported as such, not wrapped in a database error.
    DS_RETURN_IF_ERROR(compileFilter(filter_expr).status());
    DS_ASSIGN_OR_RETURN(Transaction txn, Transaction::beginRead(conn));
    DS_ASSIGN_OR_RETURN(const std::vector<int64_t> ids, matchingIds(filter_expr));
    std::vector<RunRecord> runs;
    runs.reserve(ids.size());
    for (int64_t id : ids) {
      DS_ASSIGN_OR_RETURN(RunRecord run, readRun(id));
      runs.push_back(std::move(run));
    }
    DS_RETURN_IF_ERROR(txn.commit("cannot end the listing"));
    return runs;
  });
}

Result<int64_t> Store::countRuns() {
  return guarded(path_, [&]() -> Result<int64_t> {
    const Conn conn(db_.get(), path_.string(), options_.busy_timeout_ms);
    return conn.queryInt("SELECT count(*) FROM runs", "cannot count runs");
  });
}

Status Store::deleteRun(int64_t id) {
  return guarded(path_, [&]() -> Status {
    const Conn conn(db_.get(), path_.string(), options_.busy_timeout_ms);
    const std::string what = "cannot delete run " + std::to_string(id);
    if (options_.read_only) return invalidArgument(conn.path() + ": opened read-only; " + what);
    DS_ASSIGN_OR_RETURN(Transaction txn, Transaction::beginWrite(conn));
    DS_ASSIGN_OR_RETURN(Stmt stmt, conn.prepare("DELETE FROM runs WHERE id = ?1", what));
    stmt.bind(1, id);
    const int rc = stmt.step();
    if (rc != SQLITE_DONE) return conn.error(rc, what);
    if (sqlite3_changes(conn.db()) == 0) {
      return notFound(conn.path() + ": run " + std::to_string(id) + " not found");
    }
    return txn.commit(what);
  });
}

}  // namespace detslim::store
