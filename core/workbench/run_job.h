#pragma once
// The `run` and `sweep` jobs: one configuration (compression steps + engine settings) measured
// end to end — accuracy on a dataset, latency, throughput, memory, per-layer stats — and kept as
// one record in the results store; a sweep is the cross product of configurations, resumable
// by configuration hash.
//
// Compression steps: pruning (applyPruning) then precision (applyPrecision in quantize_job.h,
// which may calibrate on images); everything else (measurement, storage, sweep) takes the
// configuration as data.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/base/status.h"
#include "core/datasets/dataset.h"
#include "core/graph/graph.h"
#include "core/prune/prune.h"
#include "core/store/store.h"
#include "core/workbench/eval_job.h"
#include "core/workbench/job.h"
#include "core/workbench/quantize_job.h"

namespace detslim {

struct RunConfig {
  std::string prune_method = "none";
  std::map<std::string, std::string> prune_params;  // e.g. {"sparsity": "0.5"}
  std::string precision = "fp32";
  // Precision parameters (int8: calibrator, activations, keep, calib, ...; quantize_job.h
  // precisionFromParams). Part of the stored configuration only when not empty.
  std::map<std::string, std::string> precision_params;
  int threads = 0;              // engine threads; 0: every core (stored as the count used)
  int64_t size = 0;             // square network input; 0: the model's
  size_t limit = 0;             // images evaluated; 0: all
  int timed_runs = 50;          // inference latency: timed runs after `warmup`
  int warmup = 5;
  double deadline_ms = 33.3;    // a frame budget at 30 FPS (seed 000's real-time metric)
  std::vector<int> throughput_batches = {1, 8, 32};
  detect::DecodeOptions decode = detect::DecodeOptions::evaluation();

  // Sparsity asked of the pruning step (prune_params "sparsity" or "ratio"), 0 when none.
  double sparsity() const;
  // The stored, hashed configuration: every field that changes what is measured.
  nlohmann::json toJson() const;
  // "magnitude:sparsity=0.5 int8:calibrator=entropy t2 640"
  std::string label() const;
};

// The inverse of RunConfig::toJson, e.g. on a stored run's configuration (whose extra keys,
// "steps", "threads_used"..., are left aside; absent keys keep their defaults). Refuses a field
// of the wrong type or value, naming it ("config.decode.conf"), and a configuration
// validateConfig refuses.
Result<RunConfig> runConfigFromJson(const nlohmann::json& j);

// "magnitude:sparsity=0.5,scope=global" -> method + parameters. Refuses an empty method, a
// parameter without '=' and a repeated key, naming it. The same syntax for --precision
// ("int8:calibrator=mse,activations=s8"); `what` names the option in messages.
Result<std::pair<std::string, std::map<std::string, std::string>>> parsePruneSpec(
    const std::string& spec, const std::string& what = "--prune");

// The methods and precisions this build can apply.
const std::vector<std::string>& availablePruneMethods();
const std::vector<std::string>& availablePrecisions();
// Refuses a configuration the build cannot run (unknown method or precision, sparsity outside
// [0, 0.99], a non-positive batch or run count), naming the field.
Status validateConfig(const RunConfig& config);

// The pruning step's options from the configuration: "sparsity"/"ratio" -> sparsity,
// "ignore" -> patterns separated by ';', "protect_head" -> protect_detect_head, the rest -> opts.
prune::PruneOptions pruneOptions(const RunConfig& config);

// Applies the configuration's pruning step to `model`; `step` receives what it did.
Result<Model> applyPruning(Model model, const RunConfig& config, nlohmann::json* step);

// The compression steps of a run, in executeRun's order: pruning, then precision — int8
// calibrating on images of `data` (chooseCalibrationSet) unless the configuration names a
// calibration folder or a scale table. executeRun and a stored run rebuilt for viewing
// (detections_job.h) both go through it, so what is shown is what was measured.
struct CompressedModel {
  PrecisionResult precise;    // precise.model: what the engine compiles
  nlohmann::json prune_step;  // the pruning step's record
  DetectorOptions detector;   // the configuration's threads, size, decode; the precision's compute
};
Result<CompressedModel> compressModel(const Model& loaded, const RunConfig& config,
                                      const std::filesystem::path& data, datasets::Format format,
                                      const JobControl& control = {});

struct RunOptions {
  std::filesystem::path model;
  std::filesystem::path data;
  datasets::Format format = datasets::Format::kAuto;
  std::filesystem::path class_map;
  std::filesystem::path names_file;
  RunConfig config;
  // An executable that, run as `EXE _probe-rss --model M --size S --threads T`, loads, compiles
  // and runs the model once and prints {"baseline_rss_bytes", "peak_rss_bytes"}. The CLI passes
  // itself. Empty: peak RSS is not measured (stored as -1).
  std::filesystem::path rss_probe;
};

// What identifies the inputs of a run (hashed with the configuration), and what a run reuses
// of them: the loaded model and the first image (for the inference timing).
struct RunInputs {
  store::ModelInfo model;
  store::DatasetInfo dataset;
  std::string config_hash;
  Model loaded;  // the model file as loaded (before any compression step)
  std::filesystem::path first_image;
};
// Hashes the model file and reads the dataset's size (without running anything).
Result<RunInputs> describeRunInputs(const RunOptions& options);

struct RunResult {
  store::RunRecord record;  // what is stored (id set once stored)
  EvalReport eval;
  int64_t baseline_rss_bytes = -1;  // the probe process before loading the model
  std::vector<std::string> notes;   // e.g. a throughput batch the model cannot compile for
};

// Runs one configuration end to end; does not store. Cancelled via control.cancel. `inputs`,
// when given, is describeRunInputs() of the same model and dataset (a sweep describes them once);
// its config_hash is recomputed for options.config.
Result<RunResult> executeRun(const RunOptions& options, const JobControl& control = {},
                             const RunInputs* inputs = nullptr);

// {"run_id", "config", "stats", "latency_ms": {...}, "deadline_miss_rate", "throughput_ips",
//  "memory": {...}, ...}: the `detslim run --json` object.
nlohmann::json runResultToJson(const RunResult& result);

// ---- sweep ----

struct SweepOptions {
  RunOptions base;                       // model, data, probe and the fixed config fields
  std::vector<std::string> methods = {"none"};
  std::vector<double> sparsities = {0.0};
  std::vector<std::string> precisions = {"fp32"};
  // int8 configurations once per calibrator (empty: base.config.precision_params' or the
  // default); base.config.precision_params go to int8 configurations (bf16: only "keep").
  std::vector<std::string> calibrators;
  std::vector<int> threads;              // empty: base.config.threads
  std::vector<int64_t> sizes;            // empty: base.config.size
};

// The configurations, in order: method x sparsity x precision (x calibrator) x threads x size;
// "none" takes no
// sparsity, so it appears once per precision / threads / size.
std::vector<RunConfig> expandSweep(const SweepOptions& options);

struct SweepReport {
  int total = 0;
  int stored = 0;    // run and stored now
  int skipped = 0;   // already in the store with the same configuration hash
  int failed = 0;    // run, failed, stored with status "failed"
  bool cancelled = false;
  std::vector<int64_t> run_ids;  // stored or found, in configuration order
};

// Runs every configuration not yet stored; each finished run is committed before the next
// starts, so an interruption (Ctrl-C, kill -9) loses at most the one in flight. `log` receives
// one line per configuration ("[3/8] magnitude:sparsity=0.5 fp32: stored as run 12 ...").
Result<SweepReport> runSweep(const SweepOptions& options, store::Store& store,
                             const JobControl& control,
                             const std::function<void(const std::string&)>& log);

// Probe entry point (the `_probe-rss` subcommand): loads, compiles and runs `model` once, then
// returns {"baseline_rss_bytes", "peak_rss_bytes"} of this process.
Result<nlohmann::json> runRssProbe(const std::filesystem::path& model, int64_t size,
                                   int threads, const std::string& compute = "fp32");

}  // namespace detslim
