#pragma once
// What a prune did, model-wide and layer by layer, and the helpers every pruning method (the
// masking methods in this folder, physical channel removal in structural.cpp) fills it with, so
// every method counts the same way.
//
// Counting rules (docs/prune.md):
//  - params: elements of every initializer, as computeStats counts them. A layer's params are
//    the elements of the initializers it reads (weight and bias).
//  - nonzero: elements that are not 0 among those (-0.0 counts as zero).
//  - macs: computeStats' Conv / ConvTranspose / Gemm / MatMul multiply-accumulates; they need
//    inferred value types (a layer of unknown shape counts 0).
//  - effective MACs of a layer: macs * nonzero weights / weight elements, the weight input only
//    (not the bias); a layer without an initializer weight counts its full macs.
//  - compression_ratio: params before / nonzero params after (the dense model over what a
//    sparse format must store; R-TOSS's "reduction ratio").

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/graph/graph.h"

namespace detslim::prune {

struct LayerPruneReport {
  std::string name;  // node name, or its first output when the node has none
  std::string op_type;
  // Empty when the weight is no initializer.
  std::vector<int64_t> weight_shape_before, weight_shape_after;
  int64_t params_before = 0, params_after = 0;
  int64_t nonzero_before = 0, nonzero_after = 0;  // among the layer's params
  int64_t macs_before = 0, macs_after = 0;
  int64_t effective_macs_before = 0, effective_macs_after = 0;
  double sparsity_before = 0, sparsity_after = 0;  // zeros / elements of the weight input
  bool pruned = false;  // the weight's shape or its non-zero count changed
  std::string note;     // what the method did, or why it left the layer alone
};

struct PruneReport {
  std::string method;
  double sparsity = 0;
  nlohmann::json options;  // the options as resolved (defaults filled in), ignore list, flags
  int64_t params_before = 0, params_after = 0;
  int64_t nonzero_params_before = 0, nonzero_params_after = 0;
  int64_t macs_before = 0, macs_after = 0;
  int64_t effective_macs_before = 0, effective_macs_after = 0;
  double compression_ratio = 1;  // dense params before / nonzero params after
  std::vector<LayerPruneReport> layers;
  std::vector<std::string> warnings;
  std::vector<std::string> ignored;  // nodes left alone and why: "<name>: <reason>"
};

// One compute layer at one moment.
struct LayerSnapshot {
  size_t node_index = 0;
  std::string name;
  std::string op_type;
  std::vector<int64_t> weight_shape;  // empty when the weight is no initializer
  int64_t params = 0;
  int64_t nonzero = 0;
  int64_t weight_elements = 0;
  int64_t weight_nonzero = 0;
  int64_t macs = 0;
  int64_t effective_macs = 0;
};

// Whole-model statistics at one moment, for a before / after comparison.
struct ModelSnapshot {
  int64_t params = 0;
  int64_t nonzero_params = 0;
  int64_t macs = 0;
  int64_t effective_macs = 0;
  // Nodes with a weight or MACs (Conv, ConvTranspose, Gemm, MatMul and their integer forms),
  // in topological order.
  std::vector<LayerSnapshot> layers;
  // The layer of that name, or nullptr.
  const LayerSnapshot* find(const std::string& layer_name) const;
};

// Statistics of `graph` as it is now (reads only). MACs are 0 where value types are unknown:
// run inferShapes first (pruneModel does when the graph has no inferred types).
ModelSnapshot snapshotGraph(const Graph& graph);

// macs * nonzero / total rounded to nearest; macs when total is 0.
int64_t effectiveMacs(int64_t macs, int64_t nonzero, int64_t total);

// Fills the totals, compression_ratio and layers[] of `report`: one entry per layer of
// `before`, matched by name in `after` (a layer gone after counts 0 there). `notes` (layer
// name -> text) become the layers' notes. Leaves method, sparsity, options, warnings and
// ignored as they are.
void fillReport(const ModelSnapshot& before, const ModelSnapshot& after,
                const std::map<std::string, std::string>& notes, PruneReport& report);

// Appends a warning for each layer whose weight was not all zero before and is all zero after
// (the layer's output no longer depends on its input).
void warnFullyZeroedLayers(PruneReport& report);

// The report as JSON: method, sparsity, options, params / nonzero_params / macs /
// effective_macs as {"before", "after"}, compression_ratio, layers[], warnings, ignored
// (keys in docs/prune.md).
nlohmann::json reportToJson(const PruneReport& report);

}  // namespace detslim::prune
