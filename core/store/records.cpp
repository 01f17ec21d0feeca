// The parts of the store that need no database: the configuration hash, timestamps, and the
// CSV / JSON exports of run records.

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "core/store/store.h"

namespace detslim::store {

namespace {

using nlohmann::json;

// Names the canonical document's layout; bump it only together with a documented change of
// what enters the hash (it would make every stored run look new to a resuming sweep).
constexpr const char* kConfigHashScheme = "detslim-config-hash/1";

// Throughput batches that get their own CSV column; the JSON export has all of them.
constexpr std::array<int, 3> kCsvThroughputBatches = {1, 8, 32};

// Every dump of user-provided JSON replaces invalid UTF-8 instead of throwing.
std::string dumpJson(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

// The shortest text that reads back as the same double; NaN / inf (no measurement) are empty.
std::string formatDouble(double value) {
  if (!std::isfinite(value)) return {};
  char text[64];
  const auto [end, ec] = std::to_chars(text, text + sizeof(text), value);
  if (ec != std::errc()) return {};
  return std::string(text, end);
}

std::string csvField(std::string_view value) {
  if (value.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(value);
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

const LatencyRecord* findLatency(const RunRecord& run, std::string_view kind) {
  for (const LatencyRecord& record : run.latency) {
    if (record.kind == kind) return &record;
  }
  return nullptr;
}

json modelJson(const ModelInfo& model) {
  return {{"sha256", model.sha256},
          {"path", model.path},
          {"name", model.name},
          {"params", model.params},
          {"macs", model.macs},
          {"file_bytes", model.file_bytes},
          {"weight_bytes", model.weight_bytes}};
}

json datasetJson(const DatasetInfo& dataset) {
  if (dataset.path.empty()) return nullptr;
  return {{"path", dataset.path},
          {"format", dataset.format},
          {"image_count", dataset.image_count},
          {"box_count", dataset.box_count},
          {"class_map", dataset.class_map}};
}

json latencyJson(const LatencyRecord& record) {
  const LatencySummary& s = record.summary;
  return {{"kind", record.kind},
          {"runs", s.runs},
          {"mean_ms", s.mean_ms},
          {"median_ms", s.median_ms},
          {"p90_ms", s.p90_ms},
          {"p99_ms", s.p99_ms},
          {"min_ms", s.min_ms},
          {"max_ms", s.max_ms},
          {"std_ms", s.std_ms},
          {"deadline_ms", record.deadline_ms},
          {"deadline_miss_rate", record.deadline_miss_rate},
          {"histogram",
           {{"edges_ms", record.histogram_edges_ms}, {"counts", record.histogram_counts}}}};
}

}  // namespace

std::string configHash(const json& config, const ModelInfo& model, const DatasetInfo& dataset) {
  // nlohmann::json keeps object keys sorted, so dump() is canonical for any key order.
  const json canonical = {{"scheme", kConfigHashScheme},
                          {"config", config},
                          {"model_sha256", model.sha256},
                          {"dataset",
                           {{"path", dataset.path},
                            {"format", dataset.format},
                            {"image_count", dataset.image_count},
                            {"class_map", dataset.class_map}}}};
  return sha256Hex(dumpJson(canonical));
}

std::string utcNowIso8601() {
  using std::chrono::system_clock;
  constexpr int kMsPerSecond = 1000;
  const system_clock::time_point now = system_clock::now();
  const std::time_t seconds = system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() %
      kMsPerSecond;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[64];  // room for any int the compiler can imagine in each field
  std::snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(ms));
  return text;
}

json runToJson(const RunRecord& run) {
  json out = {{"id", run.id},
              {"model", modelJson(run.model)},
              {"dataset", datasetJson(run.dataset)},
              {"config", run.config},
              {"config_hash", run.config_hash},
              {"status", run.status},
              {"error", run.error},
              {"started_at", run.started_at},
              {"finished_at", run.finished_at},
              {"host", run.host},
              {"prune_method", run.prune_method},
              {"sparsity", run.sparsity},
              {"precision", run.precision},
              {"notes", run.notes}};
  json metrics = nullptr;
  if (run.has_metrics) {
    metrics = json::object();
    for (size_t i = 0; i < kCocoStatNames.size(); ++i) metrics[kCocoStatNames[i]] = run.stats[i];
    metrics["precision"] = run.precision_at_conf;
    metrics["recall"] = run.recall_at_conf;
    metrics["pr_confidence"] = run.pr_confidence;
    metrics["voc_ap50"] = run.voc_ap50;
  }
  out["metrics"] = std::move(metrics);
  json class_ap = json::array();
  for (const ClassAp& c : run.class_ap) {
    class_ap.push_back({{"class_name", c.class_name},
                        {"category_id", c.category_id},
                        {"ap", c.ap},
                        {"ap50", c.ap50},
                        {"ap75", c.ap75},
                        {"num_gt", c.num_gt}});
  }
  out["class_ap"] = std::move(class_ap);
  json latency = json::array();
  for (const LatencyRecord& record : run.latency) latency.push_back(latencyJson(record));
  out["latency"] = std::move(latency);
  json throughput = json::array();
  for (const ThroughputRecord& t : run.throughput) {
    throughput.push_back({{"batch", t.batch}, {"images_per_s", t.images_per_s}});
  }
  out["throughput"] = std::move(throughput);
  json memory = nullptr;
  if (run.memory) {
    json by_dtype = json::object();
    for (const auto& [dtype, bytes] : run.memory->weights_by_dtype) by_dtype[dtype] = bytes;
    memory = {{"weights_bytes", run.memory->weights_bytes},
              {"weights_by_dtype", std::move(by_dtype)},
              {"activations_bytes", run.memory->activations_bytes},
              {"model_file_bytes", run.memory->model_file_bytes},
              {"peak_rss_bytes", run.memory->peak_rss_bytes}};
  }
  out["memory"] = std::move(memory);
  json layers = json::array();
  for (const LayerRecord& layer : run.layers) {
    layers.push_back({{"name", layer.name},
                      {"op_type", layer.op_type},
                      {"params", layer.params},
                      {"sparsity", layer.sparsity},
                      {"macs", layer.macs},
                      {"time_ms", layer.time_ms}});
  }
  out["layers"] = std::move(layers);
  return out;
}

json runsToJson(const std::vector<RunRecord>& runs) {
  json out = json::array();
  for (const RunRecord& run : runs) out.push_back(runToJson(run));
  return out;
}

std::string runsToCsv(const std::vector<RunRecord>& runs) {
  constexpr const char* kLineEnd = "\r\n";  // RFC 4180
  static constexpr std::array<const char*, 2> kKinds = {kLatencyInference, kLatencyEndToEnd};
  static constexpr std::array<const char*, 4> kMemoryColumns = {
      "weights_bytes", "activations_bytes", "model_file_bytes", "peak_rss_bytes"};
  static constexpr std::array<const char*, 7> kLatencyColumns = {
      "median_ms", "p90_ms", "p99_ms", "mean_ms", "std_ms", "deadline_ms", "deadline_miss_rate"};

  std::vector<std::string> header = {"id",       "model",     "dataset", "method",
                                     "sparsity", "precision", "status",  "error"};
  for (const char* name : kCocoStatNames) header.emplace_back(name);
  for (const char* name : {"precision_at_conf", "recall_at_conf", "pr_confidence", "voc_ap50"}) {
    header.emplace_back(name);
  }
  for (const char* kind : kKinds) {
    for (const char* column : kLatencyColumns) header.push_back(std::string(kind) + "_" + column);
  }
  for (int batch : kCsvThroughputBatches) header.push_back("throughput_b" + std::to_string(batch));
  header.insert(header.end(), kMemoryColumns.begin(), kMemoryColumns.end());
  for (const char* name : {"started_at", "finished_at", "config_hash", "config_json"}) {
    header.emplace_back(name);
  }

  std::string out;
  auto writeRow = [&out, kLineEnd](const std::vector<std::string>& cells) {
    for (size_t i = 0; i < cells.size(); ++i) {
      if (i > 0) out += ',';
      out += csvField(cells[i]);
    }
    out += kLineEnd;
  };
  writeRow(header);

  for (const RunRecord& run : runs) {
    std::vector<std::string> row = {
        std::to_string(run.id),     run.model.name, run.dataset.path, run.prune_method,
        formatDouble(run.sparsity), run.precision,  run.status,       run.error};
    for (size_t i = 0; i < kCocoStatNames.size(); ++i) {
      row.push_back(run.has_metrics ? formatDouble(run.stats[i]) : "");
    }
    for (double value :
         {run.precision_at_conf, run.recall_at_conf, run.pr_confidence, run.voc_ap50}) {
      row.push_back(run.has_metrics ? formatDouble(value) : "");
    }
    for (const char* kind : kKinds) {
      const LatencyRecord* record = findLatency(run, kind);
      if (record == nullptr) {
        row.insert(row.end(), kLatencyColumns.size(), "");
        continue;
      }
      const LatencySummary& s = record->summary;
      const bool has_deadline = record->deadline_ms > 0;
      for (double value : {s.median_ms, s.p90_ms, s.p99_ms, s.mean_ms, s.std_ms}) {
        row.push_back(formatDouble(value));
      }
      row.push_back(has_deadline ? formatDouble(record->deadline_ms) : "");
      row.push_back(has_deadline ? formatDouble(record->deadline_miss_rate) : "");
    }
    for (int batch : kCsvThroughputBatches) {
      std::string cell;
      for (const ThroughputRecord& t : run.throughput) {
        if (t.batch == batch) cell = formatDouble(t.images_per_s);
      }
      row.push_back(cell);
    }
    if (run.memory) {
      for (int64_t value : {run.memory->weights_bytes, run.memory->activations_bytes,
                            run.memory->model_file_bytes, run.memory->peak_rss_bytes}) {
        row.push_back(std::to_string(value));
      }
    } else {
      row.insert(row.end(), kMemoryColumns.size(), "");
    }
    row.push_back(run.started_at);
    row.push_back(run.finished_at);
    row.push_back(run.config_hash);
    row.push_back(dumpJson(run.config));
    writeRow(row);
  }
  return out;
}

}  // namespace detslim::store
