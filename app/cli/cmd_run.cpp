// `detslim run` (one configuration end to end -> one stored run), `detslim sweep` (the cross
// product of configurations, resumable) and the hidden `_probe-rss` (the child process that
// measures peak memory honestly, away from the parent's earlier allocations).

#include <cstdio>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "app/cli/cli_common.h"
#include "app/cli/commands.h"
#include "app/cli/precision_args.h"
#include "core/store/store.h"
#include "core/workbench/run_job.h"

namespace detslim::cli {

namespace {

namespace fs = std::filesystem;

// Options `run` and `sweep` share.
struct RunArgs {
  std::string model;
  std::string data;
  std::string format = "auto";
  std::string classes;
  std::string names;
  std::string db;
  size_t limit = 0;
  int threads = 0;
  int64_t size = 0;
  int runs = RunConfig{}.timed_runs;
  int warmup = RunConfig{}.warmup;
  double deadline_ms = RunConfig{}.deadline_ms;
  std::vector<int> batches = RunConfig{}.throughput_batches;
  bool json = false;
  bool no_rss = false;
  PrecisionArgs precision;
};

void addRunOptions(CLI::App* cmd, RunArgs& a) {
  cmd->add_option("--model", a.model, "ONNX detector")->required();
  cmd->add_option("--data", a.data, "Dataset folder or JSON (KITTI, COCO, YOLO, BDD100K, VOC)")
      ->required();
  cmd->add_option("--format", a.format, "auto, kitti, coco, yolo, bdd100k, voc");
  cmd->add_option("--classes", a.classes, "Class map JSON (default: shipped map or by name)");
  cmd->add_option("--names", a.names, "YOLO class names file or data yaml");
  cmd->add_option("--db", a.db, "Results store (default: $XDG_DATA_HOME/detslim/results.sqlite)");
  cmd->add_option("--limit", a.limit, "Evaluate the first N images");
  cmd->add_option("--size", a.size, "Square network input size (default: the model's)");
  cmd->add_option("--runs", a.runs, "Timed inference runs (default 50)");
  cmd->add_option("--warmup", a.warmup, "Untimed warm-up runs (default 5)");
  cmd->add_option("--deadline-ms", a.deadline_ms, "Frame deadline for the miss rate (33.3)");
  cmd->add_option("--throughput-batches", a.batches, "Batches for throughput (default 1,8,32)")
      ->delimiter(',');
  cmd->add_flag("--no-rss", a.no_rss, "Skip the peak-RSS child process");
}

Result<RunOptions> toRunOptions(const RunArgs& a) {
  RunOptions o;
  o.model = a.model;
  o.data = a.data;
  DS_ASSIGN_OR_RETURN(o.format, datasets::parseFormat(a.format));
  o.class_map = a.classes;
  o.names_file = a.names;
  o.config.limit = a.limit;
  o.config.threads = a.threads;
  o.config.size = a.size;
  o.config.timed_runs = a.runs;
  o.config.warmup = a.warmup;
  o.config.deadline_ms = a.deadline_ms;
  o.config.throughput_batches = a.batches;
  if (!a.no_rss) {
    std::error_code ec;
    o.rss_probe = fs::read_symlink("/proc/self/exe", ec);
  }
  return o;
}

Result<store::Store> openStore(const std::string& db) {
  return store::Store::open(db.empty() ? store::Store::defaultPath() : fs::path(db));
}

void printRun(const RunResult& r, const fs::path& db, std::ostream& out) {
  const store::RunRecord& rec = r.record;
  out << "Run " << rec.id << " stored in " << db.string() << "\n";
  out << "Config    prune " << rec.prune_method << (rec.sparsity > 0 ? " " + fixed(rec.sparsity, 2) : "")
      << ", precision " << rec.precision << ", threads " << rec.config.value("threads_used", 0)
      << ", input " << r.eval.input_width << "x" << r.eval.input_height << "  (hash "
      << rec.config_hash.substr(0, 12) << ")\n";
  out << "Data      " << rec.dataset.path << " (" << rec.dataset.format << ", " << r.eval.images
      << " images, " << r.eval.boxes << " boxes)\n";
  out << "Accuracy  mAP50-95 " << fixed(rec.stats[0]) << "  mAP50 " << fixed(rec.stats[1]) << "  AP75 "
      << fixed(rec.stats[2]) << "  P " << fixed(rec.precision_at_conf) << "  R " << fixed(rec.recall_at_conf)
      << " (conf " << fixed(rec.pr_confidence, 2) << ")\n";
  for (const store::LatencyRecord& l : rec.latency) {
    out << (l.kind == store::kLatencyInference ? "Inference " : "End2end   ") << "median "
        << fixed(l.summary.median_ms, 2) << " ms  p90 " << fixed(l.summary.p90_ms, 2) << "  p99 "
        << fixed(l.summary.p99_ms, 2) << "  mean " << fixed(l.summary.mean_ms, 2) << "  std "
        << fixed(l.summary.std_ms, 2) << "  misses " << fixed(100.0 * l.deadline_miss_rate, 1)
        << "% of " << fixed(l.deadline_ms, 1) << " ms  (" << l.summary.runs << " "
        << (l.kind == store::kLatencyInference ? "runs" : "images") << ")\n";
  }
  out << "Throughput";
  for (const store::ThroughputRecord& t : rec.throughput) {
    out << "  batch " << t.batch << ": " << fixed(t.images_per_s, 1) << " img/s";
  }
  out << "\n";
  if (rec.memory) {
    out << "Memory    weights " << humanBytes(static_cast<double>(rec.memory->weights_bytes))
        << ", activations " << humanBytes(static_cast<double>(rec.memory->activations_bytes))
        << ", file " << humanBytes(static_cast<double>(rec.memory->model_file_bytes))
        << ", peak RSS "
        << (rec.memory->peak_rss_bytes >= 0
                ? humanBytes(static_cast<double>(rec.memory->peak_rss_bytes)) + " (process " +
                      humanBytes(static_cast<double>(r.baseline_rss_bytes)) + " before loading)"
                : std::string("not measured"))
        << "\n";
  }
  for (const std::string& note : r.notes) out << "Note      " << note << "\n";
}

struct SweepArgs {
  RunArgs run;
  std::vector<std::string> methods = {"none"};
  std::vector<double> sparsity = {0.0};
  std::vector<std::string> precision = {"fp32"};
  std::vector<std::string> calibrators;
  std::vector<int> threads;
  std::vector<int64_t> sizes;
};

struct ProbeArgs {
  std::string model;
  int64_t size = 0;
  int threads = 0;
  std::string compute = "fp32";
};

}  // namespace

CommandRunner registerRun(CLI::App& app) {
  auto a = std::make_shared<RunArgs>();
  auto prune = std::make_shared<std::string>("none");
  auto precision = std::make_shared<std::string>("fp32");
  CLI::App* cmd = app.add_subcommand(
      "run", "Measure one configuration end to end (accuracy, latency, throughput, memory) and "
             "store it");
  addRunOptions(cmd, *a);
  cmd->add_option("--prune", *prune, "none, magnitude, soft-channel, group, bn-slim, rtoss, nm [:k=v,...] e.g. magnitude:sparsity=0.5,scope=global");
  cmd->add_option("--precision", *precision,
                  "fp32, fp16, bf16 or int8 [:k=v,...] e.g. int8:calibrator=mse,activations=s8");
  addPrecisionOptions(cmd, a->precision);
  cmd->add_option("--threads", a->threads, "Engine threads (0: all cores)");
  cmd->add_flag("--json", a->json, "Print one JSON object");
  return [a, prune, precision, cmd]() -> int {
    if (!cmd->parsed()) return -1;
    Result<RunOptions> options = toRunOptions(*a);
    if (!options) return reportError(options.status());
    auto spec = parsePruneSpec(*prune);
    if (!spec) return reportError(spec.status());
    options->config.prune_method = spec->first;
    options->config.prune_params = spec->second;
    auto pspec = parsePruneSpec(*precision, "--precision");
    if (!pspec) return reportError(pspec.status());
    options->config.precision = pspec->first;
    options->config.precision_params = pspec->second;
    Status merged = mergePrecisionParams(a->precision, &options->config.precision_params);
    if (!merged.isOk()) return reportError(merged);
    Status valid = validateConfig(options->config);
    if (!valid.isOk()) return reportError(valid);
    // Open the store first: a bad --db should fail before minutes of measuring.
    Result<store::Store> db = openStore(a->db);
    if (!db) return reportError(db.status());
    JobControl control;
    cancelOnInterrupt(control.cancel);
    control.progress = terminalProgress("");
    Result<RunResult> result = executeRun(*options, control);
    finishProgress();
    if (!result) return reportError(result.status());
    Result<int64_t> id = db->insertRun(result->record);
    if (!id) return reportError(id.status());
    result->record.id = *id;
    if (a->json) {
      std::cout << runResultToJson(*result).dump(2) << "\n";
    } else {
      printRun(*result, db->path(), std::cout);
    }
    return kExitOk;
  };
}

CommandRunner registerSweep(CLI::App& app) {
  auto a = std::make_shared<SweepArgs>();
  CLI::App* cmd = app.add_subcommand(
      "sweep", "Run the cross product of configurations; skip those already stored");
  addRunOptions(cmd, a->run);
  cmd->add_option("--methods", a->methods, "Pruning methods, comma-separated (none, magnitude, soft-channel, group, bn-slim, rtoss, nm)")
      ->delimiter(',');
  cmd->add_option("--sparsity", a->sparsity, "Sparsities for methods other than none")
      ->delimiter(',');
  cmd->add_option("--precision", a->precision, "Precisions, comma-separated (fp32, fp16, bf16, int8)")
      ->delimiter(',');
  cmd->add_option("--calibrators", a->calibrators,
                  "int8 once per calibrator, comma-separated (minmax, percentile, entropy, mse)")
      ->delimiter(',');
  addPrecisionOptions(cmd, a->run.precision, /*calibrator=*/false);
  cmd->add_option("--threads", a->threads, "Thread counts, comma-separated (default: all cores)")
      ->delimiter(',');
  cmd->add_option("--sizes", a->sizes, "Input sizes, comma-separated (default: the model's)")
      ->delimiter(',');
  return [a, cmd]() -> int {
    if (!cmd->parsed()) return -1;
    Result<RunOptions> base = toRunOptions(a->run);
    if (!base) return reportError(base.status());
    SweepOptions o;
    o.base = *base;
    o.methods = a->methods;
    o.sparsities = a->sparsity;
    o.precisions = a->precision;
    o.calibrators = a->calibrators;
    Status merged = mergePrecisionParams(a->run.precision, &o.base.config.precision_params);
    if (!merged.isOk()) return reportError(merged);
    o.threads = a->threads;
    o.sizes = a->sizes;
    Result<store::Store> db = openStore(a->run.db);
    if (!db) return reportError(db.status());
    JobControl control;
    cancelOnInterrupt(control.cancel);
    control.progress = terminalProgress("");
    const size_t total = expandSweep(o).size();
    std::cerr << "sweep: " << total << " configurations into " << db->path().string() << "\n";
    Result<SweepReport> report = runSweep(o, *db, control, [](const std::string& line) {
      finishProgress();
      std::cout << line << std::endl;
    });
    finishProgress();
    if (!report) return reportError(report.status());
    std::cout << "sweep: " << report->stored << " stored, " << report->skipped
              << " already stored, " << report->failed << " failed, of " << report->total
              << (report->cancelled ? " (interrupted; finished runs are kept, run the same "
                                      "command again to resume)"
                                    : "")
              << "\n";
    if (report->cancelled) return kExitInterrupted;
    return report->failed > 0 ? kExitBadInput : kExitOk;
  };
}

CommandRunner registerProbeRss(CLI::App& app) {
  auto a = std::make_shared<ProbeArgs>();
  CLI::App* cmd = app.add_subcommand("_probe-rss", "");
  cmd->group("");  // hidden: the child process `run` starts to measure peak memory
  cmd->add_option("--model", a->model)->required();
  cmd->add_option("--size", a->size);
  cmd->add_option("--threads", a->threads);
  cmd->add_option("--compute", a->compute);
  return [a, cmd]() -> int {
    if (!cmd->parsed()) return -1;
    Result<nlohmann::json> j = runRssProbe(a->model, a->size, a->threads, a->compute);
    if (!j) return reportError(j.status());
    std::cout << j->dump() << "\n";
    return kExitOk;
  };
}

}  // namespace detslim::cli
