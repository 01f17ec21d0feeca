#include "core/prune/report.h"

#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include "core/graph/stats.h"
#include "core/prune/ignore.h"

namespace detslim::prune {

namespace {

bool isComputeOp(const std::string& op) {
  return op == "Conv" || op == "ConvTranspose" || op == "Gemm" || op == "MatMul" ||
         op == "ConvInteger" || op == "MatMulInteger" || op == "QLinearConv" ||
         op == "QLinearMatMul";
}

size_t weightInput(const std::string& op) {
  return (op == "QLinearConv" || op == "QLinearMatMul") ? 3 : 1;
}

int64_t nonzeroOf(const Tensor& t) {
  if (t.dtype() == DType::kString) return t.numel();
  return t.numel() - t.countZeros();
}

double ratio(int64_t num, int64_t den) {
  return den > 0 ? static_cast<double>(num) / static_cast<double>(den) : 0.0;
}

nlohmann::json beforeAfter(int64_t before, int64_t after) {
  return {{"before", before}, {"after", after}};
}

}  // namespace

const LayerSnapshot* ModelSnapshot::find(const std::string& layer_name) const {
  for (const LayerSnapshot& l : layers) {
    if (l.name == layer_name) return &l;
  }
  return nullptr;
}

int64_t effectiveMacs(int64_t macs, int64_t nonzero, int64_t total) {
  if (total <= 0) return macs;
  return std::llround(static_cast<double>(macs) * static_cast<double>(nonzero) /
                      static_cast<double>(total));
}

ModelSnapshot snapshotGraph(const Graph& graph) {
  ModelSnapshot snap;
  const ModelStats stats = computeStats(graph);
  snap.params = stats.params;
  snap.macs = stats.macs;
  std::unordered_map<std::string, int64_t> nonzero;  // per initializer, counted once
  for (const NamedTensor& init : graph.initializers()) {
    const int64_t n = nonzeroOf(init.tensor);
    nonzero.emplace(init.name, n);
    snap.nonzero_params += n;
  }
  for (const LayerStats& l : stats.layers) {
    const int64_t weight_nonzero = l.weight_elements - l.weight_zeros;
    const int64_t effective =
        l.weight_elements > 0 ? effectiveMacs(l.macs, weight_nonzero, l.weight_elements) : l.macs;
    snap.effective_macs += effective;
    const Node& node = graph.nodes[l.node_index];
    if (!isComputeOp(node.op_type) && l.weight_elements == 0 && l.macs == 0) continue;
    LayerSnapshot layer;
    layer.node_index = l.node_index;
    layer.name = layerName(node);
    layer.op_type = node.op_type;
    if (const Tensor* w = graph.initializer(node.input(weightInput(node.op_type)))) {
      layer.weight_shape = w->shape();
    }
    layer.params = l.params;
    std::unordered_set<std::string> read;
    for (const std::string& in : node.inputs) {
      auto it = nonzero.find(in);
      if (it != nonzero.end() && read.insert(in).second) layer.nonzero += it->second;
    }
    layer.weight_elements = l.weight_elements;
    layer.weight_nonzero = weight_nonzero;
    layer.macs = l.macs;
    layer.effective_macs = effective;
    snap.layers.push_back(std::move(layer));
  }
  return snap;
}

void fillReport(const ModelSnapshot& before, const ModelSnapshot& after,
                const std::map<std::string, std::string>& notes, PruneReport& report) {
  report.params_before = before.params;
  report.params_after = after.params;
  report.nonzero_params_before = before.nonzero_params;
  report.nonzero_params_after = after.nonzero_params;
  report.macs_before = before.macs;
  report.macs_after = after.macs;
  report.effective_macs_before = before.effective_macs;
  report.effective_macs_after = after.effective_macs;
  report.compression_ratio =
      after.nonzero_params > 0 ? ratio(before.params, after.nonzero_params) : 0.0;
  report.layers.clear();
  for (const LayerSnapshot& b : before.layers) {
    LayerPruneReport layer;
    layer.name = b.name;
    layer.op_type = b.op_type;
    layer.weight_shape_before = b.weight_shape;
    layer.params_before = b.params;
    layer.nonzero_before = b.nonzero;
    layer.macs_before = b.macs;
    layer.effective_macs_before = b.effective_macs;
    layer.sparsity_before =
        1.0 - (b.weight_elements ? ratio(b.weight_nonzero, b.weight_elements) : 1.0);
    if (const LayerSnapshot* a = after.find(b.name)) {
      layer.weight_shape_after = a->weight_shape;
      layer.params_after = a->params;
      layer.nonzero_after = a->nonzero;
      layer.macs_after = a->macs;
      layer.effective_macs_after = a->effective_macs;
      layer.sparsity_after =
          1.0 - (a->weight_elements ? ratio(a->weight_nonzero, a->weight_elements) : 1.0);
      layer.pruned = a->weight_shape != b.weight_shape || a->weight_nonzero != b.weight_nonzero ||
                     a->nonzero != b.nonzero;
    } else {
      layer.pruned = true;
    }
    if (auto it = notes.find(b.name); it != notes.end()) layer.note = it->second;
    report.layers.push_back(std::move(layer));
  }
}

void warnFullyZeroedLayers(PruneReport& report) {
  for (const LayerPruneReport& l : report.layers) {
    if (l.pruned && l.sparsity_before < 1.0 && l.sparsity_after >= 1.0 &&
        !l.weight_shape_after.empty()) {
      report.warnings.push_back("every weight of " + l.op_type + " '" + l.name +
                                "' is zero now: its output no longer depends on its input");
    }
  }
}

nlohmann::json reportToJson(const PruneReport& report) {
  nlohmann::json j;
  j["method"] = report.method;
  j["sparsity"] = report.sparsity;
  j["options"] = report.options.is_null() ? nlohmann::json::object() : report.options;
  j["params"] = beforeAfter(report.params_before, report.params_after);
  j["nonzero_params"] = beforeAfter(report.nonzero_params_before, report.nonzero_params_after);
  j["macs"] = beforeAfter(report.macs_before, report.macs_after);
  j["effective_macs"] = beforeAfter(report.effective_macs_before, report.effective_macs_after);
  j["compression_ratio"] = report.compression_ratio;
  int pruned = 0;
  nlohmann::json layers = nlohmann::json::array();
  for (const LayerPruneReport& l : report.layers) {
    pruned += l.pruned;
    layers.push_back({
        {"name", l.name},
        {"op_type", l.op_type},
        {"pruned", l.pruned},
        {"note", l.note},
        {"weight_shape", {{"before", l.weight_shape_before}, {"after", l.weight_shape_after}}},
        {"params", beforeAfter(l.params_before, l.params_after)},
        {"nonzero", beforeAfter(l.nonzero_before, l.nonzero_after)},
        {"macs", beforeAfter(l.macs_before, l.macs_after)},
        {"effective_macs", beforeAfter(l.effective_macs_before, l.effective_macs_after)},
        {"sparsity", {{"before", l.sparsity_before}, {"after", l.sparsity_after}}},
    });
  }
  j["layers_pruned"] = pruned;
  j["layers"] = std::move(layers);
  j["warnings"] = report.warnings;
  j["ignored"] = report.ignored;
  return j;
}

}  // namespace detslim::prune
