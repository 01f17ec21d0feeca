// `detslim results [--db PATH] [--filter EXPR] [--csv | --json]`: lists stored runs.

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "app/cli/cli_common.h"
#include "app/cli/commands.h"
#include "core/store/store.h"

namespace detslim::cli {

namespace {

struct ResultsArgs {
  std::string db;
  std::string filter;
  bool csv = false;
  bool json = false;
};

void printTable(const std::vector<store::RunRecord>& runs, std::ostream& out) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "%5s  %-22s %-10s %5s %-5s %-6s %7s %7s %9s %9s  %s\n", "id",
                "model", "method", "spars", "prec", "status", "mAP", "mAP50", "median_ms",
                "b1_img/s", "finished");
  out << buf;
  for (const store::RunRecord& r : runs) {
    double median = -1, ips = -1;
    for (const auto& l : r.latency) {
      if (l.kind == store::kLatencyInference) median = l.summary.median_ms;
    }
    for (const auto& t : r.throughput) {
      if (t.batch == 1) ips = t.images_per_s;
    }
    auto num = [](double v, const char* fmt) {
      char b[32];
      std::snprintf(b, sizeof b, fmt, v);
      return std::string(v < 0 ? "-" : b);
    };
    std::snprintf(buf, sizeof buf, "%5lld  %-22.22s %-10.10s %5.2f %-5s %-6s %7s %7s %9s %9s  %s\n",
                  static_cast<long long>(r.id), r.model.name.c_str(), r.prune_method.c_str(),
                  r.sparsity, r.precision.c_str(), r.status.c_str(),
                  num(r.has_metrics ? r.stats[0] : -1, "%.4f").c_str(),
                  num(r.has_metrics ? r.stats[1] : -1, "%.4f").c_str(),
                  num(median, "%.2f").c_str(), num(ips, "%.1f").c_str(), r.finished_at.c_str());
    out << buf;
  }
  out << runs.size() << " run(s)\n";
}

}  // namespace

CommandRunner registerResults(CLI::App& app) {
  auto a = std::make_shared<ResultsArgs>();
  CLI::App* cmd = app.add_subcommand("results", "List stored runs (filter, CSV or JSON export)");
  cmd->add_option("--db", a->db, "Results store (default: $XDG_DATA_HOME/detslim/results.sqlite)");
  cmd->add_option("--filter", a->filter,
                  "e.g. \"method == magnitude and map50 >= 0.4 or precision ~ int\" (fields in "
                  "docs/store.md)");
  auto* csv = cmd->add_flag("--csv", a->csv, "Print CSV (one row per run)");
  cmd->add_flag("--json", a->json, "Print a JSON array of full records")->excludes(csv);
  return [a, cmd]() -> int {
    if (!cmd->parsed()) return -1;
    store::OpenOptions options;
    options.create = false;  // listing never creates a store
    const std::filesystem::path path =
        a->db.empty() ? store::Store::defaultPath() : std::filesystem::path(a->db);
    Result<store::Store> db = store::Store::open(path, options);
    if (!db) return reportError(db.status());
    Result<std::vector<store::RunRecord>> runs = db->listRuns(a->filter);
    if (!runs) return reportError(runs.status());
    if (a->csv) {
      std::cout << store::runsToCsv(*runs);
    } else if (a->json) {
      std::cout << store::runsToJson(*runs).dump(2) << "\n";
    } else {
      printTable(*runs, std::cout);
    }
    return kExitOk;
  };
}

}  // namespace detslim::cli
