#include "core/prune/ignore.h"

#include <regex>
#include <unordered_set>

namespace detslim::prune {

std::string layerName(const Node& node) {
  if (!node.name.empty()) return node.name;
  return node.outputs.empty() ? node.op_type : node.outputs[0];
}

std::vector<std::string> IgnoreSet::describe(const Graph& graph) const {
  std::vector<std::string> lines;
  for (const auto& [index, why] : reasons) {
    if (index < graph.nodes.size()) lines.push_back(layerName(graph.nodes[index]) + ": " + why);
  }
  return lines;
}

std::vector<size_t> detectHeadConvs(const Graph& graph) {
  // Walk back from the graph outputs; a Conv met on the way is a head conv and ends that path,
  // so the convs before it (reaching the outputs only through it) are not.
  const GraphIndex index(graph);
  std::vector<bool> head(graph.nodes.size(), false);
  std::vector<bool> visited(graph.nodes.size(), false);
  std::vector<std::string> stack;
  for (const ValueInfo& out : graph.outputs) stack.push_back(out.name);
  while (!stack.empty()) {
    const std::string value = std::move(stack.back());
    stack.pop_back();
    const std::optional<size_t> producer = index.producer(value);
    if (!producer || visited[*producer]) continue;
    visited[*producer] = true;
    const Node& node = graph.nodes[*producer];
    if (node.op_type == "Conv") {
      head[*producer] = true;
      continue;
    }
    for (const std::string& in : node.inputs) {
      if (!in.empty()) stack.push_back(in);
    }
  }
  std::vector<size_t> heads;
  for (size_t i = 0; i < head.size(); ++i) {
    if (head[i]) heads.push_back(i);
  }
  return heads;
}

Result<IgnoreSet> resolveIgnores(const Graph& graph, const std::vector<std::string>& patterns,
                                 bool protect_detect_head) {
  IgnoreSet set;
  auto add = [&](size_t i, const std::string& why) {
    auto [it, inserted] = set.reasons.emplace(i, why);
    if (!inserted) it->second += "; " + why;
  };
  if (protect_detect_head) {
    for (size_t i : detectHeadConvs(graph)) {
      add(i, "Detect head (last conv before a graph output; --no-protect-head prunes it)");
    }
  }
  for (const std::string& pattern : patterns) {
    if (pattern.empty()) return invalidArgument("ignore pattern is empty");
    const std::string why = "ignore pattern '" + pattern + "'";
    std::vector<size_t> matched;
    if (pattern.rfind("op:", 0) == 0) {
      const std::string op = pattern.substr(3);
      if (op.empty()) return invalidArgument("ignore pattern 'op:' names no op type");
      for (size_t i = 0; i < graph.nodes.size(); ++i) {
        if (graph.nodes[i].op_type == op) matched.push_back(i);
      }
    } else {
      for (size_t i = 0; i < graph.nodes.size(); ++i) {
        if (layerName(graph.nodes[i]) == pattern) matched.push_back(i);
      }
      if (matched.empty()) {
        std::regex re;
        try {
          re = std::regex(pattern, std::regex::ECMAScript);
        } catch (const std::regex_error& e) {
          return invalidArgument("ignore pattern '" + pattern +
                                 "' is neither a node name nor a valid regex: " + e.what());
        }
        for (size_t i = 0; i < graph.nodes.size(); ++i) {
          if (std::regex_search(layerName(graph.nodes[i]), re)) matched.push_back(i);
        }
      }
    }
    if (matched.empty()) {
      set.warnings.push_back("ignore pattern '" + pattern + "' matches no node");
    }
    for (size_t i : matched) add(i, why);
  }
  return set;
}

}  // namespace detslim::prune
