#pragma once
// Helpers shared by the store tests: fully populated run records, and raw
// SQLite access to check what the store wrote behind its API.

#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "core/store/store.h"
#include "temp_files.h"

namespace detslim::store::testing {

using detslim::testing::readBytes;
using detslim::testing::TempDir;
using detslim::testing::writeBytes;

// Modification time with nanoseconds: the refusal tests need "not touched", not "same second".
inline timespec modifiedAt(const std::filesystem::path& path) {
  struct stat st {};
  stat(path.c_str(), &st);
  return st.st_mtim;
}

// A raw connection for checks the Store API does not offer.
class RawDb {
 public:
  explicit RawDb(const std::filesystem::path& path, int flags = SQLITE_OPEN_READWRITE) {
    if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << "cannot open " << path << ": " << sqlite3_errmsg(db_);
    }
    sqlite3_busy_timeout(db_, 5000);
  }
  ~RawDb() { sqlite3_close_v2(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  sqlite3* get() const { return db_; }

  void exec(const std::string& sql) {
    char* message = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << (message != nullptr ? message : "?");
    }
    sqlite3_free(message);
  }

  // The first column of the first row as text ("" when there is no row).
  std::string text(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db_);
      return out;
    }
    if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    return out;
  }

  int64_t integer(const std::string& sql) {
    const std::string value = text(sql);
    return value.empty() ? -1 : std::stoll(value);
  }

 private:
  sqlite3* db_ = nullptr;
};

// A record with every field set to a distinct, non-default value, so a field that is dropped or
// swapped on the way through the database shows up.
inline RunRecord fullRun(const std::string& model_name = "yolov8n", int variant = 0) {
  RunRecord run;
  run.model = {sha256Hex(model_name),
               "/models/" + model_name + ".onnx",
               model_name,
               3157200 + variant,
               4370000000LL + variant,
               12650000,
               12628800};
  run.dataset = {"/data/coco/val2017", "coco", 5000, 36781, R"({"0":"person","1":"bicycle"})"};
  run.config = {{"prune", {{"method", "l1"}, {"sparsity", 0.5}}},
                {"precision", "int8"},
                {"calibration", {{"images", 128}, {"method", "minmax"}}},
                {"backend", "detslim"},
                {"threads", 4},
                {"batch", 1},
                {"input_size", {640, 640}},
                {"limit", 500 + variant},
                {"decode", {{"conf", 0.001}, {"iou", 0.65}}}};
  run.status = kStatusOk;
  run.error = "";
  run.started_at = "2024-05-01T12:00:00.125Z";
  run.finished_at = "2024-05-01T12:03:07Z";
  run.host = {{"cpu", "Intel(R) Xeon(R) Platinum 8480+"},
              {"cores_used", 4},
              {"isa", {"avx2", "avx512f", "amx"}},
              {"os", "Debian 12"},
              {"detslim_version", "0.1.0"}};
  run.prune_method = "l1";
  run.sparsity = 0.5;
  run.precision = "int8";
  run.notes = "first sweep";
  run.stats = {0.371, 0.528, 0.402, 0.184, 0.409, 0.533, 0.311, 0.515, 0.566, 0.331, 0.627, 0.745};
  run.has_metrics = true;
  run.precision_at_conf = 0.71234;
  run.recall_at_conf = 0.60987;
  run.pr_confidence = 0.25;
  run.voc_ap50 = 0.55555;
  run.class_ap = {{"person", 1, 0.512, 0.801, 0.533, 11004},
                  {"bicycle", 2, 0.301, 0.502, 0.299, 316},
                  {"toaster", 80, -1, -1, -1, 0}};
  LatencyRecord inference;
  inference.kind = kLatencyInference;
  inference.summary = {200, 12.5, 12.25, 13.75, 15.125, 11.0, 16.5, 0.875};
  inference.deadline_ms = 15;
  inference.deadline_miss_rate = 0.015;
  inference.histogram_edges_ms = {11.0, 12.0, 13.0, 17.0};
  inference.histogram_counts = {40, 120, 40};
  LatencyRecord end_to_end;
  end_to_end.kind = kLatencyEndToEnd;
  end_to_end.summary = {200, 20.5, 20.25, 22.5, 25.0, 19.0, 27.5, 1.5};
  run.latency = {inference, end_to_end};
  run.throughput = {{1, 81.5}, {8, 190.25}, {32, 230.125}};
  run.memory = MemoryRecord{
      12628800, {{"int8", 3157200}, {"float32", 9471600}}, 52428800, 12650000, 412000000};
  for (int i = 0; i < 5; ++i) {
    run.layers.push_back({"/model.0/conv" + std::to_string(i), i % 2 == 0 ? "Conv" : "Mul",
                          int64_t{1000} * i, 0.1 * i, int64_t{2000000} * i, 0.05 * i + 0.01});
  }
  return run;
}

}  // namespace detslim::store::testing
