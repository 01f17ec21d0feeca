#pragma once
// Which nodes a prune leaves alone, and why: the user's ignore list plus the default Detect-head
// protection. Every pruning method asks the same IgnoreSet, so "ignored" means the same thing
// for all of them: the node's initializers are never written.

#include <map>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/graph/graph.h"

namespace detslim::prune {

struct IgnoreSet {
  std::map<size_t, std::string> reasons;  // node index -> why it is left alone
  std::vector<std::string> warnings;      // e.g. an ignore pattern that matches no node

  bool contains(size_t node_index) const { return reasons.count(node_index) != 0; }
  // "<layer name>: <reason>" for PruneReport::ignored, in node order.
  std::vector<std::string> describe(const Graph& graph) const;
};

// The name reports use for a node: its name, or its first output when it has none.
std::string layerName(const Node& node);

// The Detect output convs: Conv nodes from whose output a graph output is reachable through no
// other Conv node (the last conv on each path into the decode). Node indices, ascending.
std::vector<size_t> detectHeadConvs(const Graph& graph);

// Resolves `patterns` against the graph's nodes. A pattern is
//  - "op:<OpType>": every node of that op type (default domain or not);
//  - a layer name (node name, or first output for unnamed nodes) equal to it;
//  - otherwise an ECMAScript regex, searched anywhere in the layer name ("^...$" to anchor).
// With protect_detect_head the detectHeadConvs are added. Refuses an empty pattern or an invalid
// regex, naming it; a pattern that matches no node becomes a warning.
Result<IgnoreSet> resolveIgnores(const Graph& graph, const std::vector<std::string>& patterns,
                                 bool protect_detect_head);

}  // namespace detslim::prune
