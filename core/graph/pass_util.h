#pragma once
// Small helpers shared by the pass implementations (internal to core/graph).

#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "core/graph/graph.h"

namespace detslim::pass_util {

inline bool isDefaultDomain(std::string_view domain) {
  return domain.empty() || domain == "ai.onnx";
}

inline std::unordered_set<std::string> valueNames(const std::vector<ValueInfo>& values) {
  std::unordered_set<std::string> names;
  for (const ValueInfo& v : values) names.insert(v.name);
  return names;
}

// Every value name `node` reads: its inputs and, through subgraph attributes, the outer values
// those subgraphs capture. Delegates to Graph::usedValueNames() on a one-node graph so the
// capture rules stay in one place (graph.cpp).
inline std::vector<std::string> nodeReads(const Node& node) {
  Graph one;
  one.nodes.push_back(node);  // attributes' subgraphs are shared_ptr: a shallow copy
  return one.usedValueNames();
}

// Removes the initializers among `candidates` that nothing in `graph` reads any more, that are
// no graph output, and that are no graph input (an initializer named like an input is that
// input's default value). Returns how many were removed.
inline int removeUnreadInitializers(Graph& graph, const std::vector<std::string>& candidates) {
  if (candidates.empty()) return 0;
  const std::vector<std::string> used_list = graph.usedValueNames();
  const std::unordered_set<std::string> used(used_list.begin(), used_list.end());
  const std::unordered_set<std::string> inputs = valueNames(graph.inputs);
  int removed = 0;
  for (const std::string& name : candidates) {
    if (used.count(name) || inputs.count(name)) continue;
    if (graph.removeInitializer(name)) ++removed;
  }
  return removed;
}

}  // namespace detslim::pass_util
