// foldConstants: Constant nodes become initializers, then nodes computable from initializers
// (and Shape / Size of statically shaped values) are evaluated and replaced by their results.
//
// Graph outputs keep their names and stay produced by a node: when a graph output's value
// becomes constant, the value is stored as the initializer "<output>_const" (made unique), the
// graph's own consumers read that initializer, and the producing node is rewritten in place to
// `Identity(<output>_const) -> <output>`. Such an Identity is never folded again. (ONNX runtimes
// disagree on graph outputs that are bare initializers; an Identity is accepted everywhere.)
//
// Only the main graph is folded; subgraphs (If / Loop bodies) are left as they are, but values
// they capture keep their names, so they still resolve.

#include <map>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/graph/const_eval.h"
#include "core/graph/pass_util.h"
#include "core/graph/passes.h"

namespace detslim {

namespace {

class ConstantFolder {
 public:
  ConstantFolder(Graph& graph, int64_t opset, int64_t max_elements)
      : graph_(graph),
        opset_(opset),
        max_elements_(max_elements),
        graph_inputs_(pass_util::valueNames(graph.inputs)),
        graph_outputs_(pass_util::valueNames(graph.outputs)),
        removed_(graph.nodes.size(), false) {}

  Status run(PassReport& report) {
    // Topological order makes one sweep enough for chains; the loop still repeats until a sweep
    // changes nothing, which also covers graphs stored out of order.
    DS_ASSIGN_OR_RETURN(std::vector<size_t> order, graph_.topologicalOrder());
    bool changed = true;
    while (changed) {
      changed = false;
      for (size_t index : order) {
        if (!removed_[index] && tryFold(index, report)) changed = true;
      }
    }
    std::vector<Node> kept;
    kept.reserve(graph_.nodes.size());
    for (size_t i = 0; i < graph_.nodes.size(); ++i) {
      if (!removed_[i]) kept.push_back(std::move(graph_.nodes[i]));
    }
    graph_.nodes = std::move(kept);
    report.initializers_removed += pass_util::removeUnreadInitializers(graph_, read_by_folded_);
    summarize(report);
    return Status::ok();
  }

 private:
  // A value is constant when it is an initializer that no graph input can override.
  bool isConstant(const std::string& name) const {
    return !name.empty() && graph_.isInitializer(name) && !graph_inputs_.count(name);
  }

  bool tryFold(size_t index, PassReport& report) {
    const Node& node = graph_.nodes[index];
    if (!isConstantFoldableOp(node) || node.outputs.size() != 1 || node.outputs[0].empty()) {
      return false;
    }
    const std::string& output = node.outputs[0];
    if (graph_.isInitializer(output)) return false;  // malformed: defined twice; leave it
    const bool is_graph_output = graph_outputs_.count(output) > 0;
    if (is_graph_output && node.op_type == "Identity" && isConstant(node.input(0))) {
      return false;  // already the form a constant graph output is kept in
    }

    std::vector<const Tensor*> inputs(node.inputs.size(), nullptr);
    std::optional<Shape> input0_shape;
    const bool shape_only = node.op_type == "Shape" || node.op_type == "Size";
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      const std::string& name = node.inputs[i];
      if (name.empty()) continue;
      if (shape_only && i == 0) {
        input0_shape = graph_.staticShapeOf(name);
        if (!input0_shape) return false;
        continue;
      }
      if (!isConstant(name)) return false;
      inputs[i] = graph_.initializer(name);
    }

    // Constant nodes move whatever their size: the data is already in the model.
    const bool is_constant_node = node.op_type == "Constant";
    Result<Tensor> value =
        is_constant_node ? constantNodeValue(node)
                         : evaluateConstantNode(node, inputs, input0_shape, opset_, max_elements_);
    if (!value) return false;  // cannot evaluate: the node stays as it is

    for (const std::string& name : node.inputs) {
      if (isConstant(name)) read_by_folded_.push_back(name);
    }
    if (is_constant_node) {
      ++constants_moved_;
    } else {
      ++evaluated_by_op_[node.op_type];
    }
    if (is_graph_output) {
      keepAsIdentity(index, std::move(value).value(), report);
    } else {
      graph_.setInitializer(output, std::move(value).value());
      removed_[index] = true;
      ++report.nodes_removed;
      ++report.initializers_added;
    }
    return true;
  }

  void keepAsIdentity(size_t index, Tensor value, PassReport& report) {
    Node& node = graph_.nodes[index];
    const std::string output = node.outputs[0];
    const std::string const_name = graph_.uniqueName(output + "_const");
    graph_.setInitializer(const_name, std::move(value));
    ++report.initializers_added;
    // In-graph consumers read the initializer so folding can continue past this value.
    for (size_t i = 0; i < graph_.nodes.size(); ++i) {
      if (i == index || removed_[i]) continue;
      for (std::string& in : graph_.nodes[i].inputs) {
        if (in == output) in = const_name;
      }
    }
    report.notes.push_back("graph output '" + output + "' is constant: " + node.describe() +
                           " now copies initializer '" + const_name + "'");
    node.op_type = "Identity";
    node.domain.clear();
    node.inputs = {const_name};
    node.attributes.clear();
  }

  void summarize(PassReport& report) const {
    if (constants_moved_ > 0) {
      report.notes.insert(report.notes.begin(), "moved " + std::to_string(constants_moved_) +
                                                    " Constant node(s) into initializers");
    }
    if (!evaluated_by_op_.empty()) {
      int total = 0;
      std::string detail;
      for (const auto& [op, count] : evaluated_by_op_) {
        total += count;
        detail += (detail.empty() ? "" : ", ") + op + " x" + std::to_string(count);
      }
      report.notes.push_back("evaluated " + std::to_string(total) + " node(s) on constants (" +
                             detail + ")");
    }
  }

  Graph& graph_;
  const int64_t opset_;
  const int64_t max_elements_;
  const std::unordered_set<std::string> graph_inputs_;
  const std::unordered_set<std::string> graph_outputs_;
  std::vector<bool> removed_;
  std::vector<std::string> read_by_folded_;
  int constants_moved_ = 0;
  std::map<std::string, int> evaluated_by_op_;
};

}  // namespace

Result<PassReport> foldConstants(Model& model, int64_t max_elements) {
  if (max_elements < 0) return invalidArgument("fold-constants: max_elements must be >= 0");
  // Copying a Model shares tensor storage; the pass only ever adds new tensors, so the copy is
  // cheap and the caller's model stays untouched until the swap.
  Model work = model;
  PassReport report;
  report.pass = "fold-constants";
  ConstantFolder folder(work.graph, work.opsetVersion(""), max_elements);
  Status status = folder.run(report);
  if (!status.isOk()) return status.withContext("fold-constants");
  model = std::move(work);
  return report;
}

}  // namespace detslim
