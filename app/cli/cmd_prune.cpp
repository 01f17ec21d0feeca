// `detslim prune MODEL --method M [--sparsity S] [--opt k=v ...] [--ignore P ...]
//  [--no-protect-head] [--dry-run] -o OUT.onnx [--report R.json] [--json] [--layers]`

#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "app/cli/cli_common.h"
#include "app/cli/commands.h"
#include "core/onnx/onnx_io.h"
#include "core/prune/prune.h"

namespace detslim::cli {

namespace {

namespace fs = std::filesystem;

struct PruneArgs {
  std::string model;
  std::string method;
  double sparsity = -1.0;  // < 0: not given
  std::vector<std::string> opts;
  std::vector<std::string> ignore;
  bool no_protect_head = false;
  bool dry_run = false;
  std::string output;
  std::string report;
  bool json = false;
  bool layers = false;
};

// True when `a` and `b` name the same file (existing or not).
bool samePath(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  if (fs::exists(a, ec) && fs::exists(b, ec)) return fs::equivalent(a, b, ec);
  return fs::weakly_canonical(a, ec) == fs::weakly_canonical(b, ec);
}

std::string shapeText(const std::vector<int64_t>& shape) {
  std::string s;
  for (int64_t d : shape) s += (s.empty() ? "" : "x") + std::to_string(d);
  return s.empty() ? "-" : s;
}

std::string percent(double fraction) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(1) << 100.0 * fraction << "%";
  return out.str();
}

void printHuman(const PruneArgs& args, const prune::PruneReport& r, std::ostream& out) {
  auto arrow = [](const std::string& a, const std::string& b) { return a + " -> " + b; };
  out << "Model        " << args.model << "\n";
  out << "Method       " << r.method;
  // Masking methods put their options under "opts"; structural ones keep them at the top.
  const nlohmann::json& shown = r.options.contains("opts") ? r.options["opts"] : r.options;
  std::string opts;
  for (const auto& [key, value] : shown.items()) {
    if (!value.is_primitive() || key == "dry_run" || key == "protect_detect_head") continue;
    const std::string text = value.is_string() ? value.get<std::string>() : value.dump();
    if (text.size() > 40) continue;  // long explanations stay in --json
    opts += (opts.empty() ? "" : ", ") + key + "=" + text;
  }
  if (!opts.empty()) out << " (" << opts << ")";
  if (r.method != "rtoss" && r.method != "nm") out << ", sparsity " << r.sparsity;
  out << "\n";
  out << "Params       " << arrow(groupDigits(r.params_before), groupDigits(r.params_after))
      << "\n";
  out << "Non-zero     "
      << arrow(groupDigits(r.nonzero_params_before), groupDigits(r.nonzero_params_after)) << "\n";
  out << "MACs         "
      << arrow(humanCount(static_cast<double>(r.macs_before)),
               humanCount(static_cast<double>(r.macs_after)))
      << "\n";
  out << "Effective    "
      << arrow(humanCount(static_cast<double>(r.effective_macs_before)),
               humanCount(static_cast<double>(r.effective_macs_after)))
      << " MACs (non-zero weights only)\n";
  out << "Compression  " << std::fixed << std::setprecision(2) << r.compression_ratio
      << "x (dense params / non-zero params)\n";
  int pruned = 0;
  for (const prune::LayerPruneReport& l : r.layers) pruned += l.pruned;
  out << "Layers       " << pruned << " of " << r.layers.size() << " changed, " << r.ignored.size()
      << " nodes left alone\n";
  for (const std::string& why : r.ignored) out << "Left alone   " << why << "\n";
  for (const std::string& w : r.warnings) out << "Warning      " << w << "\n";
  if (!args.layers) return;
  out << "\n"
      << std::left << std::setw(40) << "layer" << std::setw(8) << "op" << std::setw(14) << "weight"
      << std::right << std::setw(22) << "non-zero" << std::setw(10) << "sparsity" << std::setw(14)
      << "eff. MACs"
      << "  note\n";
  for (const prune::LayerPruneReport& l : r.layers) {
    const std::string name =
        l.name.size() > 38 ? "..." + l.name.substr(l.name.size() - 35) : l.name;
    out << std::left << std::setw(40) << name << std::setw(8) << l.op_type << std::setw(14)
        << shapeText(l.weight_shape_after) << std::right << std::setw(22)
        << arrow(groupDigits(l.nonzero_before), groupDigits(l.nonzero_after)) << std::setw(10)
        << percent(l.sparsity_after) << std::setw(14)
        << humanCount(static_cast<double>(l.effective_macs_after)) << "  " << l.note << "\n";
  }
}

int badInput(const std::string& message) {
  return reportError(invalidArgument(message));
}

}  // namespace

CommandRunner registerPrune(CLI::App& app) {
  auto args = std::make_shared<PruneArgs>();
  CLI::App* cmd = app.add_subcommand("prune", "Prune a model's weights and report what it saves");
  cmd->add_option("model", args->model, "ONNX model file")->required();
  std::string methods;
  for (const std::string& m : prune::methodNames()) methods += (methods.empty() ? "" : " | ") + m;
  cmd->add_option("--method", args->method, methods)->required();
  cmd->add_option("--sparsity", args->sparsity,
                  "Fraction removed in [0, 0.99]: of weights (magnitude) or of channels "
                  "(soft-channel, group, bn-slim); rtoss and nm ignore it");
  cmd->add_option("--opt", args->opts, "Method option key=value (repeatable; docs/prune.md)");
  cmd->add_option("--ignore", args->ignore,
                  "Node name, regex or op:<OpType> to leave alone (repeatable)");
  cmd->add_flag("--no-protect-head", args->no_protect_head,
                "Also prune the Detect output convs (left alone by default)");
  cmd->add_flag("--dry-run", args->dry_run, "Report only; write no model");
  cmd->add_option("-o,--output", args->output, "Pruned model to write (.onnx)");
  cmd->add_option("--report", args->report, "Also write the report as JSON to this file");
  cmd->add_flag("--json", args->json, "Print the report as one JSON object (docs/prune.md)");
  cmd->add_flag("--layers", args->layers, "Add the per-layer table");
  return [args, cmd]() -> int {
    if (!cmd->parsed()) return -1;
    prune::PruneOptions options;
    options.method = args->method;
    options.ignore = args->ignore;
    options.protect_detect_head = !args->no_protect_head;
    options.dry_run = args->dry_run;
    for (const std::string& kv : args->opts) {
      const size_t eq = kv.find('=');
      if (eq == std::string::npos || eq == 0)
        return badInput("--opt '" + kv + "' is not key=value");
      const std::string key = kv.substr(0, eq);
      if (options.opts.count(key)) return badInput("--opt " + key + " is given twice");
      options.opts[key] = kv.substr(eq + 1);
    }
    const bool needs_sparsity = args->method == "magnitude" || args->method == "soft-channel" ||
                                args->method == "group" || args->method == "bn-slim";
    if (args->sparsity < 0.0 && args->sparsity != -1.0) {
      return badInput("--sparsity " + std::to_string(args->sparsity) + " is outside [0, 0.99]");
    }
    if (args->sparsity == -1.0) {
      if (needs_sparsity)
        return badInput("--sparsity is required for method '" + args->method + "'");
      options.sparsity = 0.0;
    } else {
      options.sparsity = args->sparsity;
    }
    if (Status valid = prune::validateOptions(options); !valid) return reportError(valid);
    if (args->output.empty() && !args->dry_run) {
      return badInput("-o OUT.onnx is required (or --dry-run to report only)");
    }
    if (!args->output.empty() && samePath(args->output, args->model)) {
      return badInput("-o " + args->output + " is the input model; refusing to overwrite it");
    }
    if (!args->report.empty() && samePath(args->report, args->model)) {
      return badInput("--report " + args->report + " is the input model; refusing to overwrite it");
    }

    Result<Model> model = loadModel(args->model);
    if (!model) return reportError(model.status());
    Result<prune::PruneReport> report = prune::pruneModel(*model, options);
    if (!report) return reportError(report.status().withContext(args->model));
    if (!args->dry_run && !args->output.empty()) {
      if (Status saved = saveModel(*model, args->output); !saved) return reportError(saved);
    }
    nlohmann::json j = prune::reportToJson(*report);
    j["model"] = args->model;
    j["output"] = args->dry_run ? nlohmann::json(nullptr) : nlohmann::json(args->output);
    if (!args->report.empty()) {
      std::ofstream out(args->report);
      out << j.dump(2) << "\n";
      if (!out) return reportError(ioError(args->report + ": cannot write the report"));
    }
    if (args->json) {
      std::cout << j.dump(2) << "\n";
    } else {
      printHuman(*args, *report, std::cout);
      if (!args->dry_run) std::cout << "Saved        " << args->output << "\n";
    }
    return kExitOk;
  };
}

}  // namespace detslim::cli
