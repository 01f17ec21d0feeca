// `detslim inspect MODEL [--layers] [--layer NAME] [--json] [--size S]`

#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "app/cli/cli_common.h"
#include "app/cli/commands.h"
#include "core/prune/patterns.h"
#include "core/workbench/inspect.h"

namespace detslim::cli {

namespace {

struct InspectArgs {
  std::string model;
  bool layers = false;
  bool json = false;
  int64_t size = 0;
  bool no_check = false;
  std::string layer;  // --layer: zero map statistics and kernel patterns of this conv
};

// What `--layer NAME` reports: the zero map statistics of one conv weight and, for 3x3
// kernels, the pattern histogram (core/prune/patterns.h).
struct LayerReport {
  prune::ConvWeightLayer layer;
  prune::LayerWeightMap map;
  bool has_patterns = false;  // false: the kernels are not 3x3
  std::vector<prune::PatternCount> patterns;
};

Result<LayerReport> layerReport(const Graph& graph, const std::string& name) {
  LayerReport r;
  DS_ASSIGN_OR_RETURN(r.layer, prune::findConvWeightLayer(graph, name));
  DS_ASSIGN_OR_RETURN(r.map, prune::layerWeightMap(*r.layer.tensor));
  if (auto patterns = prune::kernelPatternHistogram(*r.layer.tensor); patterns) {
    r.has_patterns = true;
    r.patterns = std::move(patterns).value();
  }
  return r;
}

int64_t kernelCount(const prune::LayerWeightMap& m) {
  return m.kernel_cells ? m.total / m.kernel_cells : 0;
}

nlohmann::json layerJson(const LayerReport& r) {
  const prune::LayerWeightMap& m = r.map;
  nlohmann::json patterns = nullptr;
  if (r.has_patterns) {
    patterns = nlohmann::json::array();
    for (const prune::PatternCount& p : r.patterns) {
      patterns.push_back(
          {{"mask", p.mask}, {"count", p.count}, {"glyph", prune::patternGlyph(p.mask)}});
    }
  }
  return {{"name", r.layer.name},
          {"op_type", r.layer.op_type},
          {"weight", r.layer.weight},
          {"dtype", std::string(dtypeName(r.layer.tensor->dtype()))},
          {"weight_shape", m.shape},
          {"total", m.total},
          {"zeros", m.zeros},
          {"sparsity", m.sparsity},
          {"output_channels", m.rows},
          {"zero_output_channels", m.zero_rows},
          {"input_channels", m.shape.size() > 1 ? m.shape[1] : 0},
          {"zero_input_channels", m.zero_input_channels},
          {"kernels", kernelCount(m)},
          {"zero_kernels", m.zero_kernels},
          {"patterns", patterns}};
}

void printLayer(const LayerReport& r, std::ostream& out) {
  const prune::LayerWeightMap& m = r.map;
  out << "\nLayer       " << r.layer.name << "  (" << r.layer.op_type << ", weight "
      << r.layer.weight << " " << dtypeName(r.layer.tensor->dtype()) << shapeToString(m.shape)
      << ")\n";
  out << "Zeros       " << groupDigits(m.zeros) << " of " << groupDigits(m.total) << " ("
      << std::fixed << std::setprecision(2) << 100.0 * m.sparsity << " %)\n";
  out << "All zero    " << groupDigits(m.zero_rows) << " of " << groupDigits(m.rows)
      << " output channels, " << groupDigits(m.zero_input_channels) << " of "
      << groupDigits(m.shape.size() > 1 ? m.shape[1] : 0) << " input channels, "
      << groupDigits(m.zero_kernels) << " of " << groupDigits(kernelCount(m)) << " kernels\n";
  if (!r.has_patterns) {
    out << "Patterns    counted for 3x3 kernels only\n";
    return;
  }
  const int64_t kernels = kernelCount(m);
  out << "Patterns    " << r.patterns.size() << " distinct 3x3 patterns in " << groupDigits(kernels)
      << " kernels (mask bit r*3+c; # non-zero)\n";
  constexpr size_t kShown = 16;  // as many as the GUI's layer inspector draws
  for (size_t i = 0; i < r.patterns.size() && i < kShown; ++i) {
    const prune::PatternCount& p = r.patterns[i];
    out << "            " << prune::patternGlyph(p.mask) << "  0x" << std::hex << std::setw(3)
        << std::setfill('0') << p.mask << std::dec << std::setfill(' ') << std::right
        << std::setw(12) << groupDigits(p.count) << "  " << std::setw(5) << std::setprecision(1)
        << (kernels ? 100.0 * static_cast<double>(p.count) / static_cast<double>(kernels) : 0.0)
        << " %\n";
  }
  if (r.patterns.size() > kShown) {
    out << "            ... " << r.patterns.size() - kShown << " more\n";
  }
}

std::string valueLine(const ValueInfo& v, const Graph& g) {
  const TensorType* t = g.typeOf(v.name);
  return v.name + "  " + (t ? t->toString() : std::string("(type unknown)"));
}

void printHuman(const ModelInspection& in, bool with_layers, std::ostream& out) {
  const Model& m = in.model;
  const ModelStats& s = in.stats;
  out << "Model       " << in.path.string() << "  (" << groupDigits(in.report.file_bytes)
      << " bytes)\n";
  out << "Format      ONNX IR " << m.ir_version << ", opset";
  for (const OpsetImport& o : m.opset_imports) {
    out << " " << (o.domain.empty() ? "ai.onnx" : o.domain) << " " << o.version;
  }
  out << ", producer " << (m.producer_name.empty() ? "(none)" : m.producer_name)
      << (m.producer_version.empty() ? "" : " " + m.producer_version) << "\n";
  out << "Checker     "
      << (!in.report.checker_ran ? "not run" : in.report.checker_passed ? "passed" : "failed");
  if (!in.report.checker_note.empty()) out << " (" << in.report.checker_note << ")";
  out << "\n";
  for (const ValueInfo& v : m.graph.inputs) {
    if (!m.graph.isInitializer(v.name)) out << "Input       " << valueLine(v, m.graph) << "\n";
  }
  for (const ValueInfo& v : m.graph.outputs) out << "Output      " << valueLine(v, m.graph) << "\n";
  if (!in.class_names.empty()) {
    out << "Classes     " << in.class_names.size() << " (";
    for (size_t i = 0; i < in.class_names.size() && i < 6; ++i) out << (i ? ", " : "") << in.class_names[i];
    out << (in.class_names.size() > 6 ? ", ...)" : ")") << "\n";
  }
  for (const auto& [key, value] : m.metadata) {
    if (key == "names") continue;
    out << "Metadata    " << key << " = " << (value.size() > 80 ? value.substr(0, 77) + "..." : value) << "\n";
  }
  out << "Params      " << groupDigits(s.params) << " (" << humanCount(static_cast<double>(s.params)) << ")";
  for (const auto& [dtype, n] : s.params_by_dtype) out << "  " << dtype << " " << groupDigits(n);
  out << "\n";
  out << "Weights     " << groupDigits(s.weight_bytes) << " bytes (" << humanBytes(static_cast<double>(s.weight_bytes)) << ")";
  for (const auto& [dtype, n] : s.weight_bytes_by_dtype) out << "  " << dtype << " " << groupDigits(n);
  out << "\n";
  out << "MACs        " << groupDigits(s.macs) << " (" << humanCount(static_cast<double>(s.macs))
      << ", Conv/Gemm/MatMul)\n";
  out << "MACs (pt)   " << groupDigits(s.macs_ptflops) << " (" << humanCount(static_cast<double>(s.macs_ptflops))
      << ", ptflops style: + bias, pooling, resize, activations)\n";
  if (!s.unknown_mac_layers.empty()) {
    out << "            MACs unknown for " << s.unknown_mac_layers.size()
        << " layers (shapes not inferred): " << s.unknown_mac_layers.front()
        << (s.unknown_mac_layers.size() > 1 ? ", ..." : "") << "\n";
  }
  const double sparsity = s.weight_elements ? 100.0 * static_cast<double>(s.weight_zeros) / static_cast<double>(s.weight_elements) : 0.0;
  out << "Sparsity    " << std::fixed << std::setprecision(2) << sparsity
      << " % of Conv/Gemm/MatMul weights are zero\n";
  out << "Nodes       " << s.nodes << ":";
  for (const auto& [op, n] : s.op_counts) out << " " << op << " " << n;
  out << "\n";
  if (!s.nan_inf_initializers.empty()) {
    out << "WARNING     NaN or Inf in " << s.nan_inf_initializers.size() << " initializers:";
    for (const std::string& n : s.nan_inf_initializers) out << " " << n;
    out << "\n";
  }
  for (const std::string& w : in.report.warnings) out << "Warning     " << w << "\n";
  if (in.unsupported_ops.empty()) {
    out << "Engine      every op is supported\n";
  } else {
    out << "Engine      not supported yet (" << in.unsupported_ops.size() << " op types):\n";
    for (const UnsupportedOp& u : in.unsupported_ops) {
      out << "              " << (u.domain.empty() ? "" : u.domain + "::") << u.op_type << " x"
          << u.nodes.size() << ": " << u.nodes.front();
      if (u.nodes.size() > 1) out << ", " << u.nodes[1];
      if (u.nodes.size() > 2) out << ", ...";
      out << "\n";
    }
  }
  if (!with_layers) return;
  out << "\n" << std::left << std::setw(4) << "#" << std::setw(34) << "name" << std::setw(20) << "op"
      << std::setw(30) << "output" << std::right << std::setw(12) << "params" << std::setw(16) << "MACs"
      << std::setw(10) << "sparsity" << "  dtype\n";
  int index = 0;
  for (const LayerStats& l : s.layers) {
    std::string name = l.name.size() > 32 ? "..." + l.name.substr(l.name.size() - 29) : l.name;
    std::string shape = l.output_shapes.empty() ? "" : l.output_shapes.front();
    if (shape.size() > 28) shape = shape.substr(0, 25) + "...";
    std::ostringstream sp;
    if (l.weight_elements) sp << std::fixed << std::setprecision(1) << 100.0 * l.sparsity << "%";
    out << std::left << std::setw(4) << index++ << std::setw(34) << name << std::setw(20) << l.op_type
        << std::setw(30) << shape << std::right << std::setw(12) << groupDigits(l.params)
        << std::setw(16) << (l.macs_known ? groupDigits(l.macs) : "?") << std::setw(10) << sp.str()
        << "  " << l.weight_dtype << "\n";
  }
}

}  // namespace

CommandRunner registerInspect(CLI::App& app) {
  auto args = std::make_shared<InspectArgs>();
  CLI::App* cmd = app.add_subcommand("inspect", "Open a model and print what is in it");
  cmd->add_option("model", args->model, "ONNX model file")->required();
  cmd->add_flag("--layers", args->layers, "Add the per-layer table");
  cmd->add_flag("--json", args->json, "Print one JSON object (keys in docs/cli.md)");
  cmd->add_option("--size", args->size, "Square input size to count MACs at (e.g. 320)")
      ->check(CLI::Range(int64_t{1}, int64_t{16384}));
  cmd->add_flag("--no-check", args->no_check, "Skip the ONNX checker");
  cmd->add_option("--layer", args->layer,
                  "Zero map statistics and 3x3 kernel patterns of this conv layer (node name)");
  return [args, cmd]() -> int {
    if (!cmd->parsed()) return -1;
    InspectOptions options;
    options.input_size = args->size;
    options.run_checker = !args->no_check;
    Result<ModelInspection> inspection = inspectModel(args->model, options);
    if (!inspection) return reportError(inspection.status());
    std::optional<LayerReport> layer;
    if (!args->layer.empty()) {
      Result<LayerReport> report = layerReport(inspection->model.graph, args->layer);
      if (!report) {
        return reportError(report.status().withContext(inspection->path.string()));
      }
      layer = std::move(report).value();
    }
    if (args->json) {
      nlohmann::json j = inspectionToJson(*inspection, true);
      if (layer) j["layer"] = layerJson(*layer);
      std::cout << j.dump(2) << "\n";
    } else {
      printHuman(*inspection, args->layers, std::cout);
      if (layer) printLayer(*layer, std::cout);
    }
    return kExitOk;
  };
}

}  // namespace detslim::cli
