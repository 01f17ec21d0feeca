#include "core/workbench/run_job.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <set>
#include <sstream>
#include <type_traits>

#include "core/engine/batch.h"
#include "core/graph/stats.h"
#include "core/onnx/onnx_io.h"
#include "core/perf/host.h"
#include "core/perf/latency.h"
#include "core/prune/prune.h"
#include "core/workbench/quantize_job.h"

extern char** environ;

namespace detslim {

namespace fs = std::filesystem;

namespace {

constexpr double kMaxSparsity = 0.99;
constexpr int kHistogramBuckets = 20;
// Throughput at batch > 1: time at least this many runs, and keep going up to this long.
constexpr int kThroughputMinRuns = 3;
// Untimed runs first: the first runs of a fresh plan touch its arena pages for the first time
// and warm oneDNN's kernels; one run was not enough at batch 8 / 32 (measured 113 vs 172 img/s).
constexpr int kThroughputWarmup = 3;
constexpr double kThroughputMinSeconds = 1.0;
constexpr int kProfiledRuns = 5;  // per-layer time: mean over these runs
constexpr int kProbeTimeoutS = 300;

std::string fmtNumber(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

double msSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

store::LatencyRecord latencyRecord(const std::string& kind, const std::vector<double>& samples,
                                   double deadline_ms) {
  store::LatencyRecord r;
  r.kind = kind;
  r.summary = summarizeLatency(samples);
  r.deadline_ms = deadline_ms;
  if (!samples.empty()) {
    const auto misses = std::count_if(samples.begin(), samples.end(),
                                      [&](double ms) { return ms > deadline_ms; });
    r.deadline_miss_rate = static_cast<double>(misses) / static_cast<double>(samples.size());
    // Equal-width buckets from min to max: the shape of the jitter.
    const double lo = r.summary.min_ms;
    const double hi = r.summary.max_ms > lo ? r.summary.max_ms : lo + 1e-3;
    const double width = (hi - lo) / kHistogramBuckets;
    r.histogram_counts.assign(kHistogramBuckets, 0);
    for (int b = 0; b <= kHistogramBuckets; ++b) r.histogram_edges_ms.push_back(lo + b * width);
    for (double ms : samples) {
      const int b = std::min(kHistogramBuckets - 1, static_cast<int>((ms - lo) / width));
      ++r.histogram_counts[std::max(0, b)];
    }
  }
  return r;
}

// Runs `exe args...`, returns its stdout; refuses a failed spawn, a non-zero exit or a timeout.
Result<std::string> runChild(const fs::path& exe, const std::vector<std::string>& args,
                             int timeout_s) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return internalError("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  std::vector<std::string> argv_storage = {exe.string()};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  if (spawned != 0) {
    ::close(pipe_fds[0]);
    return notFound(exe.string() + ": cannot start the memory probe (" +
                    std::string(std::strerror(spawned)) + ")");
  }
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  char buf[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      ::close(pipe_fds[0]);
      return internalError(exe.string() + ": memory probe timed out");
    }
    pollfd pfd{pipe_fds[0], POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left, 1000))) <= 0) continue;
    const ssize_t n = ::read(pipe_fds[0], buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return internalError(exe.string() + ": memory probe failed (status " +
                         std::to_string(status) + ")");
  }
  return out;
}

int64_t fileSize(const fs::path& p) {
  std::error_code ec;
  const auto size = fs::file_size(p, ec);
  return ec ? -1 : static_cast<int64_t>(size);
}

}  // namespace

// ---- configuration ----

double RunConfig::sparsity() const {
  for (const char* key : {"sparsity", "ratio"}) {
    auto it = prune_params.find(key);
    if (it == prune_params.end()) continue;
    char* end = nullptr;
    const double v = std::strtod(it->second.c_str(), &end);
    if (end && *end == '\0') return v;
  }
  return 0.0;
}

nlohmann::json RunConfig::toJson() const {
  nlohmann::json params = nlohmann::json::object();
  for (const auto& [k, v] : prune_params) params[k] = v;
  nlohmann::json j = {{"prune", {{"method", prune_method}, {"params", params}}},
          {"precision", precision},
          {"backend", "detslim"},
          {"threads", threads},
          {"input_size", size},
          {"batch", 1},
          {"limit", limit},
          {"timed_runs", timed_runs},
          {"warmup", warmup},
          {"deadline_ms", deadline_ms},
          {"throughput_batches", throughput_batches},
          {"decode",
           {{"conf", decode.conf_threshold},
            {"iou", decode.iou_threshold},
            {"max_det", decode.max_detections},
            {"multi_label", decode.multi_label},
            {"agnostic", decode.class_agnostic},
            {"family", decode.family == detect::ModelFamily::kUnknown
                           ? "auto"
                           : datasets::modelFamilyName(decode.family)}}}};
  // Only when set, so fp32 configurations hash as they did before precisions had parameters.
  if (!precision_params.empty()) {
    nlohmann::json pp = nlohmann::json::object();
    for (const auto& [k, v] : precision_params) pp[k] = v;
    j["precision_params"] = pp;
  }
  return j;
}

std::string RunConfig::label() const {
  std::string s = prune_method;
  if (!prune_params.empty()) {
    s += ":";
    bool first = true;
    for (const auto& [k, v] : prune_params) {
      s += (first ? "" : ",") + k + "=" + v;
      first = false;
    }
  }
  s += " " + precision;
  bool first_param = true;
  for (const auto& [k, v] : precision_params) {
    s += (first_param ? ":" : ",") + k + "=" + v;
    first_param = false;
  }
  if (threads > 0) s += " t" + std::to_string(threads);
  if (size > 0) s += " " + std::to_string(size);
  return s;
}

namespace {

// Reads j[key] into `out` when present; a value of another JSON type is refused, naming
// `path.key`. Integers accept only integral numbers; doubles accept any number.
template <class T>
Status readField(const nlohmann::json& j, const char* key, const std::string& path, T* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return Status::ok();
  const std::string name = path + "." + key;
  bool ok = false;
  if constexpr (std::is_same_v<T, bool>) {
    ok = it->is_boolean();
  } else if constexpr (std::is_integral_v<T>) {
    ok = it->is_number_integer() || it->is_number_unsigned();
    if (ok && std::is_unsigned_v<T> && it->is_number_integer() && it->get<int64_t>() < 0) {
      return invalidArgument(name + ": " + it->dump() + " must be >= 0");
    }
  } else if constexpr (std::is_floating_point_v<T>) {
    ok = it->is_number();
  } else {
    ok = it->is_string();
  }
  if (!ok) return invalidArgument(name + ": unexpected value " + it->dump());
  *out = it->get<T>();
  return Status::ok();
}

// {"k": "v", ...} -> map; values must be strings (as toJson writes them).
Status readStringMap(const nlohmann::json& j, const char* key, const std::string& path,
                     std::map<std::string, std::string>* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return Status::ok();
  const std::string name = path + "." + key;
  if (!it->is_object()) return invalidArgument(name + ": expected an object, got " + it->dump());
  out->clear();
  for (const auto& [k, v] : it->items()) {
    if (!v.is_string()) {
      return invalidArgument(name + "." + k + ": expected a string, got " + v.dump());
    }
    (*out)[k] = v.get<std::string>();
  }
  return Status::ok();
}

}  // namespace

Result<RunConfig> runConfigFromJson(const nlohmann::json& j) {
  if (!j.is_object()) return invalidArgument("config: expected an object, got " + j.dump());
  RunConfig c;
  const std::string root = "config";
  if (auto prune = j.find("prune"); prune != j.end()) {
    if (!prune->is_object()) {
      return invalidArgument("config.prune: expected an object, got " + prune->dump());
    }
    DS_RETURN_IF_ERROR(readField(*prune, "method", root + ".prune", &c.prune_method));
    DS_RETURN_IF_ERROR(readStringMap(*prune, "params", root + ".prune", &c.prune_params));
  }
  DS_RETURN_IF_ERROR(readField(j, "precision", root, &c.precision));
  DS_RETURN_IF_ERROR(readStringMap(j, "precision_params", root, &c.precision_params));
  std::string backend = "detslim";
  DS_RETURN_IF_ERROR(readField(j, "backend", root, &backend));
  if (backend != "detslim") {
    return unsupported("config.backend: '" + backend + "' is not DetSlim's engine");
  }
  DS_RETURN_IF_ERROR(readField(j, "threads", root, &c.threads));
  DS_RETURN_IF_ERROR(readField(j, "input_size", root, &c.size));
  DS_RETURN_IF_ERROR(readField(j, "limit", root, &c.limit));
  DS_RETURN_IF_ERROR(readField(j, "timed_runs", root, &c.timed_runs));
  DS_RETURN_IF_ERROR(readField(j, "warmup", root, &c.warmup));
  DS_RETURN_IF_ERROR(readField(j, "deadline_ms", root, &c.deadline_ms));
  if (auto batches = j.find("throughput_batches"); batches != j.end()) {
    if (!batches->is_array()) {
      return invalidArgument("config.throughput_batches: expected a list, got " + batches->dump());
    }
    c.throughput_batches.clear();
    for (const nlohmann::json& b : *batches) {
      if (!b.is_number_integer()) {
        return invalidArgument("config.throughput_batches: " + b.dump() + " is not an integer");
      }
      c.throughput_batches.push_back(b.get<int>());
    }
  }
  if (auto decode = j.find("decode"); decode != j.end()) {
    if (!decode->is_object()) {
      return invalidArgument("config.decode: expected an object, got " + decode->dump());
    }
    const std::string path = root + ".decode";
    DS_RETURN_IF_ERROR(readField(*decode, "conf", path, &c.decode.conf_threshold));
    DS_RETURN_IF_ERROR(readField(*decode, "iou", path, &c.decode.iou_threshold));
    DS_RETURN_IF_ERROR(readField(*decode, "max_det", path, &c.decode.max_detections));
    DS_RETURN_IF_ERROR(readField(*decode, "multi_label", path, &c.decode.multi_label));
    DS_RETURN_IF_ERROR(readField(*decode, "agnostic", path, &c.decode.class_agnostic));
    std::string family = "auto";
    DS_RETURN_IF_ERROR(readField(*decode, "family", path, &family));
    if (family != "auto") {
      Result<detect::ModelFamily> parsed = datasets::parseModelFamily(family);
      if (!parsed) return parsed.status().withContext("config.decode.family");
      c.decode.family = *parsed;
    }
    if (!(c.decode.conf_threshold >= 0.0f && c.decode.conf_threshold < 1.0f)) {
      return invalidArgument("config.decode.conf: " + fmtNumber(c.decode.conf_threshold) +
                             " is outside [0, 1)");
    }
    if (!(c.decode.iou_threshold > 0.0f && c.decode.iou_threshold <= 1.0f)) {
      return invalidArgument("config.decode.iou: " + fmtNumber(c.decode.iou_threshold) +
                             " is outside (0, 1]");
    }
  }
  Status valid = validateConfig(c);
  if (!valid.isOk()) return valid.withContext("config");
  return c;
}

Result<std::pair<std::string, std::map<std::string, std::string>>> parsePruneSpec(
    const std::string& spec, const std::string& what) {
  const size_t colon = spec.find(':');
  std::string method = spec.substr(0, colon);
  if (method.empty()) return invalidArgument(what + ": empty name in '" + spec + "'");
  std::map<std::string, std::string> params;
  if (colon != std::string::npos) {
    std::stringstream rest(spec.substr(colon + 1));
    std::string item;
    while (std::getline(rest, item, ',')) {
      const size_t eq = item.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == item.size()) {
        return invalidArgument(what + ": '" + item + "' in '" + spec + "' is not key=value");
      }
      if (!params.emplace(item.substr(0, eq), item.substr(eq + 1)).second) {
        return invalidArgument(what + ": '" + item.substr(0, eq) + "' given twice in '" + spec +
                               "'");
      }
    }
  }
  return std::make_pair(method, params);
}

const std::vector<std::string>& availablePruneMethods() {
  static const std::vector<std::string> kMethods = [] {
    std::vector<std::string> methods = {"none"};
    for (const std::string& m : prune::methodNames()) methods.push_back(m);
    return methods;
  }();
  return kMethods;
}

prune::PruneOptions pruneOptions(const RunConfig& config) {
  prune::PruneOptions options;
  options.method = config.prune_method;
  options.sparsity = config.sparsity();
  for (const auto& [key, value] : config.prune_params) {
    if (key == "sparsity" || key == "ratio") continue;
    if (key == "ignore") {
      // Several patterns separated by ';' (',' separates the parameters themselves).
      std::stringstream patterns(value);
      std::string p;
      while (std::getline(patterns, p, ';')) options.ignore.push_back(p);
    } else if (key == "protect_head") {
      options.protect_detect_head = value != "false" && value != "0" && value != "no";
    } else {
      options.opts[key] = value;
    }
  }
  return options;
}

const std::vector<std::string>& availablePrecisions() { return availablePrecisionNames(); }

namespace {

std::string joined(const std::vector<std::string>& items) {
  std::string s;
  for (const std::string& i : items) s += (s.empty() ? "" : ", ") + i;
  return s;
}

}  // namespace

Status validateConfig(const RunConfig& c) {
  const auto& methods = availablePruneMethods();
  if (std::find(methods.begin(), methods.end(), c.prune_method) == methods.end()) {
    return unsupported("prune method '" + c.prune_method + "' is not available in this build " +
                       "(available: " + joined(methods) + ")");
  }
  if (c.prune_method == "none" && !c.prune_params.empty()) {
    return invalidArgument("prune method 'none' takes no parameters");
  }
  if (c.prune_method != "none") {
    Status valid = prune::validateOptions(pruneOptions(c));
    if (!valid.isOk()) return valid.withContext("--prune " + c.prune_method);
  }
  const double s = c.sparsity();
  if (!(s >= 0.0 && s <= kMaxSparsity)) {
    return invalidArgument("sparsity " + fmtNumber(s) + " is outside [0, 0.99]");
  }
  const auto& precisions = availablePrecisions();
  if (std::find(precisions.begin(), precisions.end(), c.precision) == precisions.end()) {
    return unsupported("precision '" + c.precision + "' is not available in this build " +
                       "(available: " + joined(precisions) + ")");
  }
  if (Result<PrecisionOptions> p = precisionFromParams(c.precision, c.precision_params); !p) {
    return p.status();
  }
  if (c.threads < 0) return invalidArgument("threads must be >= 0");
  if (c.size < 0) return invalidArgument("input size must be >= 0");
  if (c.timed_runs < 1 || c.warmup < 0) {
    return invalidArgument("timed runs must be >= 1 and warm-up runs >= 0");
  }
  if (!(c.deadline_ms > 0)) return invalidArgument("deadline must be > 0 ms");
  for (int b : c.throughput_batches) {
    if (b < 1) return invalidArgument("throughput batch " + std::to_string(b) + " must be >= 1");
  }
  return Status::ok();
}

Result<Model> applyPruning(Model model, const RunConfig& config, nlohmann::json* step_out) {
  DS_RETURN_IF_ERROR(validateConfig(config));
  nlohmann::json step = {{"step", "prune"}, {"method", "none"}, {"changed", false}};
  if (config.prune_method != "none") {
    Result<prune::PruneReport> pruned = prune::pruneModel(model, pruneOptions(config));
    if (!pruned) return pruned.status().withContext("--prune " + config.prune_method);
    step = prune::reportToJson(*pruned);
    step.erase("layers");  // per-layer figures are stored as the run's layer rows
    step["step"] = "prune";
    step["changed"] = true;
  }
  if (step_out) *step_out = step;
  return model;
}

// ---- inputs ----

Result<RunInputs> describeRunInputs(const RunOptions& options) {
  RunInputs in;
  DS_ASSIGN_OR_RETURN(in.model.sha256, store::sha256OfFile(options.model));
  in.model.path = fs::absolute(options.model).lexically_normal().string();
  in.model.name = options.model.filename().string();
  in.model.file_bytes = fileSize(options.model);
  DS_ASSIGN_OR_RETURN(in.loaded, loadModel(options.model));
  Model typed = in.loaded;
  DS_RETURN_IF_ERROR(inferShapes(typed));
  const ModelStats stats = computeStats(typed.graph);
  in.model.params = stats.params;
  in.model.macs = stats.macs;
  in.model.weight_bytes = stats.weight_bytes;

  datasets::ReadOptions read;
  read.format = options.format;
  read.limit = options.config.limit;
  read.names_file = options.names_file;
  read.class_names = in.loaded.classNames();
  DS_ASSIGN_OR_RETURN(datasets::Dataset dataset, datasets::readDataset(options.data, read));
  in.first_image = dataset.samples.front().image_path;
  in.dataset.path = fs::absolute(options.data).lexically_normal().string();
  in.dataset.format = datasets::formatName(dataset.format);
  in.dataset.image_count = static_cast<int64_t>(dataset.samples.size());
  in.dataset.box_count = static_cast<int64_t>(dataset.boxCount());
  in.dataset.class_map = options.class_map.empty()
                             ? "default"
                             : fs::absolute(options.class_map).lexically_normal().string();
  in.config_hash = store::configHash(options.config.toJson(), in.model, in.dataset);
  return in;
}

// ---- one run ----

Result<CompressedModel> compressModel(const Model& loaded, const RunConfig& config,
                                      const fs::path& data, datasets::Format format,
                                      const JobControl& control) {
  CompressedModel out;
  // A copy shares the tensors' storage; the steps clone what they change.
  DS_ASSIGN_OR_RETURN(Model pruned, applyPruning(loaded, config, &out.prune_step));
  if (control.cancel.cancelled()) return cancelled("cancelled after pruning");
  out.detector.threads = config.threads;
  out.detector.size = config.size;
  out.detector.decode = config.decode;
  DS_ASSIGN_OR_RETURN(PrecisionOptions precision,
                      precisionFromParams(config.precision, config.precision_params));
  std::optional<CalibrationSet> calib;
  if (precision.precision == "int8" && precision.scales.empty()) {
    if (precision.calib.empty() && data.empty()) {
      return invalidArgument("int8 needs calibration images: give a calib folder or a dataset");
    }
    DS_ASSIGN_OR_RETURN(calib, chooseCalibrationSet(precision, data, format, config.limit,
                                                    loaded.classNames()));
  }
  DS_ASSIGN_OR_RETURN(out.precise, applyPrecision(pruned, precision, calib ? &*calib : nullptr,
                                                  out.detector, control));
  out.detector.compute = out.precise.compute;
  out.detector.keep_fp32_nodes = out.precise.keep_fp32_nodes;
  return out;
}

Result<RunResult> executeRun(const RunOptions& options, const JobControl& control,
                             const RunInputs* known) {
  const RunConfig& config = options.config;
  DS_RETURN_IF_ERROR(validateConfig(config));
  RunResult result;
  store::RunRecord& rec = result.record;
  rec.started_at = store::utcNowIso8601();
  RunInputs described;
  if (!known) {
    DS_ASSIGN_OR_RETURN(described, describeRunInputs(options));
    known = &described;
  }
  const RunInputs& inputs = *known;
  rec.model = inputs.model;
  rec.dataset = inputs.dataset;
  rec.config = config.toJson();
  rec.config_hash = store::configHash(rec.config, inputs.model, inputs.dataset);
  rec.prune_method = config.prune_method;
  rec.sparsity = config.sparsity();
  rec.precision = config.precision;

  // Compression steps: pruning, then precision (which may calibrate on images).
  DS_ASSIGN_OR_RETURN(CompressedModel compressed,
                      compressModel(inputs.loaded, config, options.data, options.format, control));
  const nlohmann::json& prune_step = compressed.prune_step;
  PrecisionResult& precise = compressed.precise;
  DetectorOptions& detector_options = compressed.detector;
  for (const std::string& note : precise.notes) result.notes.push_back(note);
  nlohmann::json steps = nlohmann::json::array({prune_step, precise.report});
  if (precise.fallback) steps[1]["fallback"] = fallbackToJson(*precise.fallback);
  rec.config["steps"] = steps;
  // The model file differs from the input (bf16 only changes how it is compiled).
  const bool changed = prune_step.value("changed", false) ||
                       (precise.report.value("changed", false) &&
                        precise.compute == ComputePrecision::kFloat32);
  Model model = std::move(precise.model);
  Model model_for_stats = model;  // shape-inferred copy for per-layer statistics

  // Accuracy (and end-to-end latency per image).
  DS_ASSIGN_OR_RETURN(Detector detector, Detector::create(std::move(model), detector_options));
  EvalOptions eval;
  eval.model = options.model;
  eval.data = options.data;
  eval.format = options.format;
  eval.limit = config.limit;
  eval.class_map = options.class_map;
  eval.names_file = options.names_file;
  DS_ASSIGN_OR_RETURN(result.eval, runEval(eval, detector, control));
  const EvalReport& ev = result.eval;
  rec.has_metrics = true;
  rec.stats = ev.coco.stats;
  rec.precision_at_conf = ev.precision;
  rec.recall_at_conf = ev.recall;
  rec.pr_confidence = ev.pr_confidence;
  rec.voc_ap50 = ev.voc_ap50;
  for (const EvalClassResult& c : ev.classes) {
    rec.class_ap.push_back({c.name, c.category_id, c.ap, c.ap50, c.ap75, c.num_gt});
  }

  // Inference latency on the first image of the dataset.
  DS_ASSIGN_OR_RETURN(Tensor input, detector.prepareInput(inputs.first_image));
  Plan& plan = detector.plan();
  std::vector<double> inference_ms;
  ProgressMeter timing(control, "timing inference", config.warmup + config.timed_runs);
  for (int i = 0; i < config.warmup + config.timed_runs; ++i) {
    if (control.cancel.cancelled()) return cancelled("run cancelled while timing");
    const auto start = std::chrono::steady_clock::now();
    DS_RETURN_IF_ERROR(plan.run({&input, 1}));
    if (i >= config.warmup) inference_ms.push_back(msSince(start));
    timing.report(i + 1);
  }
  rec.latency.push_back(latencyRecord(store::kLatencyInference, inference_ms, config.deadline_ms));
  rec.latency.push_back(latencyRecord(store::kLatencyEndToEnd, ev.image_ms, config.deadline_ms));

  // Throughput per batch: batch 1 from the latency median, larger batches compiled apart.
  const std::string input_name = plan.inputNames().front();
  const Shape input_shape = plan.inputDescs().front().shape;
  for (int batch : config.throughput_batches) {
    if (control.cancel.cancelled()) return cancelled("run cancelled while timing throughput");
    if (batch == 1) {
      rec.throughput.push_back({1, 1000.0 / rec.latency.front().summary.median_ms});
      continue;
    }
    EngineOptions engine;
    engine.num_threads = config.threads;
    engine.compute = precise.compute;
    engine.keep_fp32_nodes = precise.keep_fp32_nodes;
    Shape shape = input_shape;
    shape[0] = batch;
    Result<BatchPlan> compiled = compileForBatch(detector.model(), input_name, input, batch, engine);
    if (!compiled) {
      result.notes.push_back("throughput at batch " + std::to_string(batch) +
                             " not measured: " + compiled.status().message());
      continue;
    }
    if (compiled->rebatched) result.notes.push_back(compiled->note);
    Plan* batched = &compiled->plan;
    Tensor batch_input(input.dtype(), shape);
    for (int b = 0; b < batch; ++b) {
      std::memcpy(static_cast<std::byte*>(batch_input.rawMutable()) + b * input.bytes(),
                  input.raw(), input.bytes());
    }
    for (int w = 0; w < kThroughputWarmup; ++w) DS_RETURN_IF_ERROR(batched->run({&batch_input, 1}));
    std::vector<double> ms;
    const auto start = std::chrono::steady_clock::now();
    while (static_cast<int>(ms.size()) < kThroughputMinRuns ||
           msSince(start) < kThroughputMinSeconds * 1000.0) {
      if (control.cancel.cancelled()) return cancelled("run cancelled while timing throughput");
      const auto t = std::chrono::steady_clock::now();
      DS_RETURN_IF_ERROR(batched->run({&batch_input, 1}));
      ms.push_back(msSince(t));
    }
    rec.throughput.push_back({batch, 1000.0 * batch / summarizeLatency(ms).median_ms});
  }

  // Memory.
  store::MemoryRecord memory;
  memory.weights_bytes = static_cast<int64_t>(plan.weightBytes());
  for (const auto& [dtype, bytes] : plan.weightBytesByDtype()) {
    memory.weights_by_dtype.emplace_back(dtype, static_cast<int64_t>(bytes));
  }
  memory.activations_bytes = static_cast<int64_t>(plan.activationBytes());
  memory.model_file_bytes = inputs.model.file_bytes;
  fs::path probe_model = options.model;
  fs::path temp_model;
  if (changed) {
    DS_ASSIGN_OR_RETURN(std::string bytes, serializeModel(detector.model()));
    memory.model_file_bytes = static_cast<int64_t>(bytes.size());
    temp_model = fs::temp_directory_path() /
                 ("detslim-run-" + std::to_string(::getpid()) + "-" + rec.config_hash.substr(0, 12) +
                  ".onnx");
    DS_RETURN_IF_ERROR(saveModel(detector.model(), temp_model));
    probe_model = temp_model;
  }
  memory.peak_rss_bytes = -1;
  if (!options.rss_probe.empty()) {
    Result<std::string> out = runChild(
        options.rss_probe,
        {"_probe-rss", "--model", probe_model.string(), "--size",
         std::to_string(detector.inputWidth()), "--threads", std::to_string(config.threads),
         "--compute", precise.compute == ComputePrecision::kBFloat16 ? "bf16" : "fp32"},
        kProbeTimeoutS);
    if (out) {
      try {
        const nlohmann::json j = nlohmann::json::parse(*out);
        memory.peak_rss_bytes = j.at("peak_rss_bytes").get<int64_t>();
        result.baseline_rss_bytes = j.at("baseline_rss_bytes").get<int64_t>();
      } catch (const std::exception& e) {
        result.notes.push_back(std::string("peak RSS not measured: probe printed ") + e.what());
      }
    } else {
      result.notes.push_back("peak RSS not measured: " + out.status().message());
    }
  }
  if (!temp_model.empty()) fs::remove(temp_model);
  rec.memory = memory;

  // Per-layer statistics, with time from a few profiled runs.
  DS_RETURN_IF_ERROR(inferShapes(model_for_stats));
  const ModelStats stats = computeStats(model_for_stats.graph);
  std::map<std::string, double> layer_ms;
  {
    EngineOptions engine;
    engine.num_threads = config.threads;
    engine.compute = precise.compute;
    engine.keep_fp32_nodes = precise.keep_fp32_nodes;
    engine.profile = true;
    engine.input_shapes.emplace_back(input_name, input_shape);
    Result<Plan> profiled = Engine::compile(detector.model(), engine);
    if (profiled) {
      for (int i = 0; i < kProfiledRuns; ++i) DS_RETURN_IF_ERROR(profiled->run({&input, 1}));
      const auto& step_infos = profiled->steps();
      const auto& timings = profiled->timings();
      for (size_t i = 0; i < step_infos.size() && i < timings.size(); ++i) {
        if (timings[i].runs > 0) {
          layer_ms[step_infos[i].name] += timings[i].total_ms / timings[i].runs;
        }
      }
    }
  }
  for (const LayerStats& l : stats.layers) {
    store::LayerRecord layer{l.name, l.op_type, l.params, l.sparsity, l.macs, 0.0};
    auto t = layer_ms.find(l.name);
    if (t != layer_ms.end()) layer.time_ms = t->second;
    rec.layers.push_back(layer);
  }

  rec.host = hostToJson(hostInfo(), plan.numThreads());
  rec.config["threads_used"] = plan.numThreads();
  rec.status = store::kStatusOk;
  rec.finished_at = store::utcNowIso8601();
  return result;
}

nlohmann::json runResultToJson(const RunResult& result) {
  const store::RunRecord& r = result.record;
  nlohmann::json j;
  j["run_id"] = r.id;
  j["config"] = r.config;
  j["config_hash"] = r.config_hash;
  j["model"] = r.model.path;
  j["dataset"] = {{"path", r.dataset.path},
                  {"format", r.dataset.format},
                  {"images", r.dataset.image_count},
                  {"boxes", r.dataset.box_count}};
  j["stats"] = r.stats;
  j["precision"] = r.precision_at_conf;
  j["recall"] = r.recall_at_conf;
  j["voc_ap50"] = r.voc_ap50;
  for (const store::LatencyRecord& l : r.latency) {
    const nlohmann::json summary = {{"median", l.summary.median_ms}, {"p90", l.summary.p90_ms},
                                    {"p99", l.summary.p99_ms},       {"mean", l.summary.mean_ms},
                                    {"std", l.summary.std_ms},       {"min", l.summary.min_ms},
                                    {"max", l.summary.max_ms},       {"runs", l.summary.runs}};
    if (l.kind == store::kLatencyInference) {
      j["latency_ms"] = summary;
      j["inference_deadline_miss_rate"] = l.deadline_miss_rate;
    } else {
      j["end_to_end_latency_ms"] = summary;
      j["deadline_miss_rate"] = l.deadline_miss_rate;
      j["deadline_ms"] = l.deadline_ms;
    }
  }
  nlohmann::json per_batch = nlohmann::json::object();
  for (const store::ThroughputRecord& t : r.throughput) {
    per_batch[std::to_string(t.batch)] = t.images_per_s;
    if (t.batch == 1) j["throughput_ips"] = t.images_per_s;
  }
  j["throughput_ips_by_batch"] = per_batch;
  if (r.memory) {
    j["memory"] = {{"weights_bytes", r.memory->weights_bytes},
                   {"activations_bytes", r.memory->activations_bytes},
                   {"model_file_bytes", r.memory->model_file_bytes},
                   {"peak_rss_bytes", r.memory->peak_rss_bytes},
                   {"baseline_rss_bytes", result.baseline_rss_bytes}};
  }
  j["host"] = r.host;
  j["started_at"] = r.started_at;
  j["finished_at"] = r.finished_at;
  j["notes"] = result.notes;
  return j;
}

// ---- sweep ----

std::vector<RunConfig> expandSweep(const SweepOptions& o) {
  std::vector<RunConfig> configs;
  const std::vector<int> threads =
      o.threads.empty() ? std::vector<int>{o.base.config.threads} : o.threads;
  const std::vector<int64_t> sizes =
      o.sizes.empty() ? std::vector<int64_t>{o.base.config.size} : o.sizes;
  for (const std::string& method : o.methods) {
    const std::vector<double> sparsities =
        method == "none" ? std::vector<double>{0.0} : o.sparsities;
    for (double sparsity : sparsities) {
      for (const std::string& precision : o.precisions) {
        std::vector<std::map<std::string, std::string>> variants;
        std::map<std::string, std::string> params;
        if (precision == "int8") {
          params = o.base.config.precision_params;
        } else if (precision == "bf16" && o.base.config.precision_params.count("keep")) {
          params["keep"] = o.base.config.precision_params.at("keep");
        }
        if (precision == "int8" && !o.calibrators.empty()) {
          for (const std::string& cal : o.calibrators) {
            params["calibrator"] = cal;
            variants.push_back(params);
          }
        } else {
          variants.push_back(params);
        }
        for (const auto& variant : variants) {
          for (int t : threads) {
            for (int64_t size : sizes) {
              RunConfig c = o.base.config;
              c.prune_method = method;
              c.prune_params.clear();
              if (method != "none") c.prune_params["sparsity"] = fmtNumber(sparsity);
              c.precision = precision;
              c.precision_params = variant;
              c.threads = t;
              c.size = size;
              configs.push_back(c);
            }
          }
        }
      }
    }
  }
  return configs;
}

Result<SweepReport> runSweep(const SweepOptions& options, store::Store& store,
                             const JobControl& control,
                             const std::function<void(const std::string&)>& log) {
  const std::vector<RunConfig> configs = expandSweep(options);
  // Refuse the whole grid up front rather than fail halfway through.
  for (const RunConfig& c : configs) {
    Status valid = validateConfig(c);
    if (!valid.isOk()) return valid.withContext("sweep configuration '" + c.label() + "'");
  }
  // Model and dataset are the same for every configuration: hash and read them once.
  DS_ASSIGN_OR_RETURN(const RunInputs inputs, describeRunInputs(options.base));
  SweepReport report;
  report.total = static_cast<int>(configs.size());
  const auto start = std::chrono::steady_clock::now();
  int measured = 0;  // configurations run now (for the ETA)
  for (size_t i = 0; i < configs.size(); ++i) {
    const std::string head = "[" + std::to_string(i + 1) + "/" + std::to_string(configs.size()) +
                             "] " + configs[i].label();
    if (control.cancel.cancelled()) {
      report.cancelled = true;
      break;
    }
    RunOptions run = options.base;
    run.config = configs[i];
    const std::string config_hash =
        store::configHash(run.config.toJson(), inputs.model, inputs.dataset);
    DS_ASSIGN_OR_RETURN(std::optional<int64_t> existing, store.findCompletedRun(config_hash));
    if (existing) {
      ++report.skipped;
      report.run_ids.push_back(*existing);
      if (log) log(head + ": already stored as run " + std::to_string(*existing) + ", skipped");
      continue;
    }
    JobControl inner;
    inner.cancel = control.cancel;
    if (control.progress) {
      inner.progress = [&, i](const JobProgress& p) {
        JobProgress outer = p;
        outer.stage = "config " + std::to_string(i + 1) + "/" + std::to_string(configs.size()) +
                      " " + configs[i].label() + ": " + p.stage;
        control.progress(outer);
      };
    }
    Result<RunResult> result = executeRun(run, inner, &inputs);
    ++measured;
    if (!result) {
      if (result.status().code() == ErrorCode::kCancelled) {
        report.cancelled = true;
        if (log) log(head + ": interrupted, not stored");
        break;
      }
      store::RunRecord failed;
      failed.model = inputs.model;
      failed.dataset = inputs.dataset;
      failed.config = run.config.toJson();
      failed.config_hash = config_hash;
      failed.status = store::kStatusFailed;
      failed.error = result.status().message();
      failed.prune_method = run.config.prune_method;
      failed.sparsity = run.config.sparsity();
      failed.precision = run.config.precision;
      failed.host = hostToJson(hostInfo(), run.config.threads);
      DS_ASSIGN_OR_RETURN(int64_t id, store.insertRun(failed));
      ++report.failed;
      report.run_ids.push_back(id);
      if (log) log(head + ": FAILED (stored as run " + std::to_string(id) + "): " + failed.error);
      continue;
    }
    DS_ASSIGN_OR_RETURN(int64_t id, store.insertRun(result->record));
    ++report.stored;
    report.run_ids.push_back(id);
    const double elapsed_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double eta_s = elapsed_s / measured * static_cast<double>(configs.size() - i - 1);
    char line[256];
    std::snprintf(line, sizeof line,
                  ": stored as run %lld  mAP50-95 %.3f  mAP50 %.3f  median %.2f ms  (eta %.0f s)",
                  static_cast<long long>(id), result->record.stats[0], result->record.stats[1],
                  result->record.latency.front().summary.median_ms, eta_s);
    if (log) log(head + line);
  }
  return report;
}

Result<nlohmann::json> runRssProbe(const fs::path& model, int64_t size, int threads,
                                   const std::string& compute) {
  const int64_t baseline = currentRssBytes();
  DetectorOptions options;
  options.size = size;
  options.threads = threads;
  if (compute == "bf16") {
    options.compute = ComputePrecision::kBFloat16;
  } else if (compute != "fp32") {
    return invalidArgument("--compute must be fp32 or bf16, not '" + compute + "'");
  }
  DS_ASSIGN_OR_RETURN(Detector detector, Detector::load(model, options));
  return nlohmann::json{{"baseline_rss_bytes", baseline}, {"peak_rss_bytes", peakRssBytes()}};
}

}  // namespace detslim
