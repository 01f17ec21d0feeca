#pragma once
// The masking methods, called by pruneModel (prune.cpp). Each reads the graph, records what to
// zero in ctx.masks and why in ctx.notes / ctx.warnings, and returns an error naming the reason
// when it finds nothing it may prune. None of them writes to the graph.

#include <map>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/graph/graph.h"
#include "core/prune/ignore.h"
#include "core/prune/prune.h"
#include "core/prune/weights.h"

namespace detslim::prune::detail {

struct MethodContext {
  const Graph& graph;
  const PruneOptions& options;
  const IgnoreSet& ignore;
  MaskSet masks;
  std::map<std::string, std::string> notes;  // layer name -> what happened to it
  std::vector<std::string> warnings;
  nlohmann::json resolved;  // method options with defaults filled in
  // soft-channel: node index -> output channels zeroed (filter and bias), for compensation.
  std::map<size_t, std::vector<int64_t>> zeroed_outputs;
};

// Option value or default.
inline std::string opt(const PruneOptions& o, const std::string& key, const std::string& def) {
  auto it = o.opts.find(key);
  return it == o.opts.end() ? def : it->second;
}

Status pruneMagnitude(MethodContext& ctx);
Status pruneNm(MethodContext& ctx);
Status pruneSoftChannel(MethodContext& ctx);
Status pruneRtoss(MethodContext& ctx);

// soft-channel with compensate=true (the default), after ctx.masks went into `pruned` (a copy of
// ctx.graph): the constant each zeroed channel would carry with only its filter zeroed (its bias
// through the following activations) minus what it carries now goes into the biases of the
// Convs reading it (compensate.h). Notes and warnings go to ctx.
Status compensateSoftChannel(MethodContext& ctx, Graph& pruned);

}  // namespace detslim::prune::detail
