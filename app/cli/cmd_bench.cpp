// `detslim bench MODEL [--threads N] [--batch B] [--size S] [--runs R] [--warmup W]
//                      [--vs ort|opencv] [--profile] [--json]`

#include <unistd.h>

#include <cstdio>
#include <iomanip>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "app/cli/cli_common.h"
#include "app/cli/commands.h"
#include "core/workbench/bench.h"

namespace detslim::cli {

namespace {

std::string latencyLine(const LatencySummary& s) {
  return "median " + fixed(s.median_ms, 2) + " ms  p90 " + fixed(s.p90_ms, 2) + "  p99 " + fixed(s.p99_ms, 2) +
         "  mean " + fixed(s.mean_ms, 2) + "  std " + fixed(s.std_ms, 2) + "  min " + fixed(s.min_ms, 2) + "  (" +
         std::to_string(s.runs) + " runs)";
}

void printHuman(const BenchReport& r, std::ostream& out) {
  std::string shape;
  for (size_t i = 0; i < r.input_shape.size(); ++i) shape += (i ? "x" : "") + std::to_string(r.input_shape[i]);
  out << "Model       " << r.model << "  input " << shape << "  threads " << r.threads << "\n";
  out << "DetSlim     " << latencyLine(r.latency) << "\n";
  out << "Throughput  " << fixed(r.throughput_ips, 1) << " images/s (batch " << r.batch << ", from the median)\n";
  if (!r.peer_name.empty()) {
    out << "Peer        " << r.peer_name << ": " << latencyLine(r.peer_latency) << "\n";
    out << "Ratio       DetSlim / " << r.peer_name << " = " << fixed(r.ratio_median, 3)
        << " (medians; runs alternated one by one in this process)\n";
    if (r.max_abs_diff >= 0) {
      char buf[96];
      std::snprintf(buf, sizeof buf, "max |diff| %.3g (%.3g of the peer's max |output|)", r.max_abs_diff, r.max_rel_diff);
      out << "Agreement   output 0: " << buf << "\n";
    }
  }
  out << "Memory      activations " << humanBytes(static_cast<double>(r.activation_bytes)) << " planned ("
      << humanBytes(static_cast<double>(r.activation_bytes_without_reuse)) << " without reuse), weights "
      << humanBytes(static_cast<double>(r.weight_bytes)) << "\n";
  out << "Compute     " << humanCount(static_cast<double>(r.macs)) << "MACs per inference ("
      << fixed(2.0 * static_cast<double>(r.macs) / (r.latency.median_ms * 1e6), 1) << " GFLOP/s at the median)\n";
  out << "Kernels    ";
  for (const auto& [k, n] : r.kernels) out << " " << k << " x" << n;
  out << "\n";
  if (r.nodes.empty()) return;
  out << "\nTime by op (mean per run)\n";
  for (const OpTypeProfile& o : r.op_types) {
    out << "  " << std::left << std::setw(36) << o.op_type << std::right << std::setw(5) << o.count << "  "
        << std::setw(9) << fixed(o.total_ms, 3) << " ms  " << std::setw(5) << fixed(100 * o.share, 1) << " %\n";
  }
  out << "\nNodes (mean per run)\n";
  out << "  " << std::left << std::setw(40) << "name" << std::setw(26) << "op" << std::setw(54) << "kernel"
      << std::setw(18) << "output" << std::right << std::setw(10) << "ms" << std::setw(8) << "%"
      << std::setw(9) << "GFLOP/s" << "\n";
  for (const NodeProfile& n : r.nodes) {
    std::string name = n.name.size() > 38 ? "..." + n.name.substr(n.name.size() - 35) : n.name;
    std::string op = n.fused.empty() ? n.op_type : n.fused;
    if (op.size() > 24) op = op.substr(0, 24);
    std::string kernel = n.kernel_detail.empty() ? n.kernel : n.kernel + " " + n.kernel_detail;
    if (kernel.size() > 52) kernel = kernel.substr(0, 52);
    out << "  " << std::left << std::setw(40) << name << std::setw(26) << op << std::setw(54) << kernel
        << std::setw(18) << n.output_shape << std::right << std::setw(10) << fixed(n.mean_ms, 3) << std::setw(8)
        << fixed(100 * n.share, 1) << std::setw(9) << (n.gflops > 0 ? fixed(n.gflops, 1) : "") << "\n";
  }
}

}  // namespace

CommandRunner registerBench(CLI::App& app) {
  auto opts = std::make_shared<BenchOptions>();
  auto json = std::make_shared<bool>(false);
  auto model = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("bench", "Time the engine on a model (optionally against a peer engine)");
  cmd->add_option("model", *model, "ONNX model file")->required();
  cmd->add_option("--threads", opts->threads, "Threads (default: all cores)")->check(CLI::Range(0, 1024));
  cmd->add_option("--batch", opts->batch, "Batch size of the image input")->check(CLI::Range(int64_t{1}, int64_t{4096}));
  cmd->add_option("--size", opts->size, "Square input size (e.g. 320, 640)")->check(CLI::Range(int64_t{1}, int64_t{16384}));
  cmd->add_option("--runs", opts->runs, "Timed runs (default 100)")->check(CLI::Range(1, 1000000));
  cmd->add_option("--warmup", opts->warmup, "Untimed warm-up runs (default 10)")->check(CLI::Range(0, 100000));
  cmd->add_option("--vs", opts->peer, "Also time a peer engine, alternating run by run: ort | opencv")
      ->check(CLI::IsMember({"ort", "opencv"}));
  cmd->add_option("--settle-ms", opts->settle_ms,
                  "Untimed pause before each engine's run with --vs, so the other engine's spinning "
                  "worker threads park (default 3)")
      ->check(CLI::Range(0.0, 1000.0));
  cmd->add_flag("--profile", opts->profile, "Per-node and per-op time, kernel chosen, output shape");
  cmd->add_flag("--reference", opts->reference_only, "Reference kernels only (slow; for checking)");
  auto precision = std::make_shared<std::string>("fp32");
  cmd->add_option("--precision", *precision,
                  "Convolution / matmul compute precision: fp32 | bf16 (bf16: oneDNN bf16 kernels, "
                  "needs AVX-512 BF16; a float16 model runs as it is stored)")
      ->check(CLI::IsMember({"fp32", "bf16"}));
  cmd->add_flag("--json", *json, "Print one JSON object");
  return [opts, json, model, precision, cmd]() -> int {
    if (!cmd->parsed()) return -1;
    opts->model = *model;
    opts->compute = *precision == "bf16" ? ComputePrecision::kBFloat16 : ComputePrecision::kFloat32;
    const bool show_progress = !*json && isatty(fileno(stderr));
    if (show_progress) {
      opts->progress = [](int done, int total) {
        if (done == total || done % 10 == 0) std::fprintf(stderr, "\rbench: %d / %d runs", done, total);
        if (done == total) std::fprintf(stderr, "\n");
        return true;
      };
    }
    Result<BenchReport> report = runBench(*opts);
    if (!report) return reportError(report.status());
    if (*json) std::cout << benchToJson(*report).dump(2) << "\n";
    else printHuman(*report, std::cout);
    return kExitOk;
  };
}

}  // namespace detslim::cli
