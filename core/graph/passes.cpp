// foldBatchNorm and eliminateDeadNodes (foldConstants lives in passes_fold_constants.cpp).

#include "core/graph/passes.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/graph/pass_util.h"

namespace detslim {

namespace {

constexpr float kDefaultBatchNormEpsilon = 1e-5f;  // the ONNX default of `epsilon`

std::string valueOrNodeName(const Node& node) {
  return node.name.empty() && !node.outputs.empty() ? node.outputs[0] : node.name;
}

// One BN to fold: everything read from the graph before anything is written. The pointers are
// into the graph's initializer list and stay valid only until it changes; apply() is done with
// them before its first setInitializer().
struct BatchNormFold {
  size_t conv_index = 0;
  size_t bn_index = 0;
  const Tensor* weight = nullptr;
  const Tensor* bias = nullptr;  // nullptr when the Conv has none
  const Tensor* scale = nullptr;
  const Tensor* beta = nullptr;
  const Tensor* mean = nullptr;
  const Tensor* var = nullptr;
  float epsilon = kDefaultBatchNormEpsilon;
};

class BatchNormFolder {
 public:
  explicit BatchNormFolder(Graph& graph)
      : graph_(graph), graph_inputs_(pass_util::valueNames(graph.inputs)) {}

  // One round over the graph; returns how many BNs were folded. Rounds repeat because a fold
  // renames a Conv output, which the GraphIndex of the round does not see.
  int runRound(PassReport& report) {
    const GraphIndex index(graph_);
    std::vector<bool> remove(graph_.nodes.size(), false);
    std::vector<std::string> touched;
    int folded = 0;
    for (size_t i = 0; i < graph_.nodes.size(); ++i) {
      const Node& bn = graph_.nodes[i];
      if (bn.op_type != "BatchNormalization" || !pass_util::isDefaultDomain(bn.domain)) continue;
      std::string why_not;
      std::optional<BatchNormFold> plan = planFold(index, i, remove, why_not);
      if (!plan) {
        const std::string note = "kept " + bn.describe() + ": " + why_not;
        if (!why_not.empty() && reported_.insert(note).second) {
          report.notes.push_back(note);
        }
        continue;
      }
      apply(*plan, index, touched, report);
      remove[plan->bn_index] = true;
      ++folded;
    }
    if (folded == 0) return 0;
    std::vector<Node> kept;
    kept.reserve(graph_.nodes.size());
    for (size_t i = 0; i < graph_.nodes.size(); ++i) {
      if (!remove[i]) kept.push_back(std::move(graph_.nodes[i]));
    }
    graph_.nodes = std::move(kept);
    report.nodes_removed += folded;
    report.initializers_removed += pass_util::removeUnreadInitializers(graph_, touched);
    return folded;
  }

 private:
  // A float32 initializer no graph input overrides, or nullptr.
  const Tensor* constantF32(const std::string& name) const {
    if (name.empty() || graph_inputs_.count(name)) return nullptr;
    const Tensor* t = graph_.initializer(name);
    return t && t->dtype() == DType::kFloat32 ? t : nullptr;
  }

  // Whether `name` may be overwritten in place: an initializer only `reader` reads.
  bool ownedBy(const GraphIndex& index, const std::string& name, size_t reader) const {
    const std::vector<size_t>& readers = index.consumers(name);
    return readers.size() == 1 && readers[0] == reader && !index.isGraphOutput(name) &&
           !graph_inputs_.count(name);
  }

  // Returns the fold, or nullopt with `why_not` set when the BN follows a Conv but cannot be
  // folded (left empty when the BN does not follow a Conv at all: nothing to explain).
  std::optional<BatchNormFold> planFold(const GraphIndex& index, size_t bn_index,
                                        const std::vector<bool>& removed,
                                        std::string& why_not) const {
    const Node& bn = graph_.nodes[bn_index];
    const std::string& x = bn.input(0);
    const std::optional<size_t> producer = index.producer(x);
    if (!producer || removed[*producer]) return std::nullopt;
    const Node& conv = graph_.nodes[*producer];
    if (conv.op_type != "Conv" || !pass_util::isDefaultDomain(conv.domain)) return std::nullopt;

    for (size_t o = 1; o < bn.outputs.size(); ++o) {
      if (!bn.outputs[o].empty()) {
        why_not = "it has training outputs (running mean / variance)";
        return std::nullopt;
      }
    }
    if (bn.outputs.empty() || bn.outputs[0].empty() || bn.intOr("training_mode", 0) != 0) {
      why_not = "it is in training mode";
      return std::nullopt;
    }
    if (bn.intOr("spatial", 1) != 1) {
      why_not = "spatial=0 (per-element statistics) is not folded";
      return std::nullopt;
    }
    if (index.consumers(x).size() != 1 || index.isGraphOutput(x)) {
      why_not = "the Conv output '" + x + "' has other readers";
      return std::nullopt;
    }
    BatchNormFold plan;
    plan.conv_index = *producer;
    plan.bn_index = bn_index;
    plan.epsilon = bn.floatOr("epsilon", kDefaultBatchNormEpsilon);
    plan.weight = constantF32(conv.input(1));
    if (!plan.weight || plan.weight->rank() < 3) {
      why_not = "the Conv weight is not a float32 initializer";
      return std::nullopt;
    }
    const int64_t channels = plan.weight->shape()[0];
    auto per_channel = [&](const std::string& name) -> const Tensor* {
      const Tensor* t = constantF32(name);
      return t && t->shape() == Shape{channels} ? t : nullptr;
    };
    if (!conv.input(2).empty()) {
      plan.bias = per_channel(conv.input(2));
      if (!plan.bias) {
        why_not = "the Conv bias is not a float32 initializer of " + std::to_string(channels) +
                  " elements";
        return std::nullopt;
      }
    }
    plan.scale = per_channel(bn.input(1));
    plan.beta = per_channel(bn.input(2));
    plan.mean = per_channel(bn.input(3));
    plan.var = per_channel(bn.input(4));
    if (!plan.scale || !plan.beta || !plan.mean || !plan.var) {
      why_not = "scale, B, mean and var must be float32 initializers of " +
                std::to_string(channels) + " elements";
      return std::nullopt;
    }
    return plan;
  }

  void apply(const BatchNormFold& plan, const GraphIndex& index, std::vector<std::string>& touched,
             PassReport& report) {
    Node& conv = graph_.nodes[plan.conv_index];
    const Node& bn = graph_.nodes[plan.bn_index];
    const int64_t channels = plan.weight->shape()[0];
    const int64_t per_channel = plan.weight->numel() / std::max<int64_t>(channels, 1);

    // Tensors may share storage with the caller's model: write only to clones.
    Tensor weight = plan.weight->clone();
    Tensor bias(DType::kFloat32, {channels});
    float* w = weight.mutableData<float>();
    float* b = bias.mutableData<float>();
    for (int64_t o = 0; o < channels; ++o) {
      // Double intermediates: the folded weights are then the float32 rounding of the exact
      // product, so folding adds at most half an ulp per weight.
      const double inv_std =
          static_cast<double>(plan.scale->data<float>()[o]) /
          std::sqrt(static_cast<double>(plan.var->data<float>()[o]) + plan.epsilon);
      for (int64_t e = 0; e < per_channel; ++e) {
        float& v = w[o * per_channel + e];
        v = static_cast<float>(static_cast<double>(v) * inv_std);
      }
      const double old_bias = plan.bias ? plan.bias->data<float>()[o] : 0.0;
      b[o] = static_cast<float>((old_bias - plan.mean->data<float>()[o]) * inv_std +
                                plan.beta->data<float>()[o]);
    }

    const std::string weight_name = conv.input(1);
    const std::string bias_name = conv.input(2);
    std::string new_weight = weight_name;
    if (!ownedBy(index, weight_name, plan.conv_index)) {
      new_weight = graph_.uniqueName(weight_name + "_bn_folded");
      ++report.initializers_added;
    }
    std::string new_bias = bias_name;
    if (bias_name.empty() || !ownedBy(index, bias_name, plan.conv_index)) {
      new_bias = graph_.uniqueName(bias_name.empty() ? valueOrNodeName(conv) + ".bias"
                                                     : bias_name + "_bn_folded");
      ++report.initializers_added;
    }
    graph_.setInitializer(new_weight, std::move(weight));
    graph_.setInitializer(new_bias, std::move(bias));

    const std::string old_output = conv.outputs[0];
    conv.inputs.resize(std::max<size_t>(conv.inputs.size(), 3));
    conv.inputs[1] = new_weight;
    conv.inputs[2] = new_bias;
    conv.outputs[0] = bn.outputs[0];
    report.notes.push_back("folded " + bn.describe() + " into " + conv.describe());

    // The Conv's old output no longer exists; drop what was declared or inferred about it.
    graph_.inferred_types.erase(old_output);
    std::erase_if(graph_.value_info, [&](const ValueInfo& v) { return v.name == old_output; });

    touched.push_back(weight_name);
    if (!bias_name.empty()) touched.push_back(bias_name);
    for (size_t k = 1; k <= 4; ++k) touched.push_back(bn.input(k));
  }

  Graph& graph_;
  const std::unordered_set<std::string> graph_inputs_;
  std::unordered_set<std::string> reported_;  // notes already given (rounds repeat them)
};

}  // namespace

Result<PassReport> foldBatchNorm(Model& model) {
  Model work = model;  // shares tensor storage; folded tensors are fresh clones
  PassReport report;
  report.pass = "fold-batchnorm";
  BatchNormFolder folder(work.graph);
  // Each round folds at least one BN or ends the loop, so it runs at most #BN + 1 times.
  while (folder.runRound(report) > 0) {
  }
  model = std::move(work);
  return report;
}

Result<PassReport> eliminateDeadNodes(Model& model) {
  Model work = model;
  Graph& graph = work.graph;
  PassReport report;
  report.pass = "eliminate-dead-nodes";

  // Liveness flows backwards from the graph outputs. Reverse file order settles a sorted graph
  // in one sweep; the loop covers unsorted ones.
  std::unordered_set<std::string> live_values;
  for (const ValueInfo& v : graph.outputs) live_values.insert(v.name);
  std::vector<std::vector<std::string>> reads(graph.nodes.size());
  for (size_t i = 0; i < graph.nodes.size(); ++i) reads[i] = pass_util::nodeReads(graph.nodes[i]);
  std::vector<bool> live(graph.nodes.size(), false);
  bool changed = true;
  while (changed) {
    changed = false;
    for (size_t i = graph.nodes.size(); i-- > 0;) {
      if (live[i]) continue;
      for (const std::string& out : graph.nodes[i].outputs) {
        if (!out.empty() && live_values.count(out)) {
          live[i] = true;
          break;
        }
      }
      if (!live[i]) continue;
      live_values.insert(reads[i].begin(), reads[i].end());
      changed = true;
    }
  }

  std::map<std::string, int> removed_by_op;
  std::unordered_set<std::string> removed_values;
  std::vector<Node> kept;
  kept.reserve(graph.nodes.size());
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    if (live[i]) {
      kept.push_back(std::move(graph.nodes[i]));
      continue;
    }
    ++removed_by_op[graph.nodes[i].op_type];
    for (const std::string& out : graph.nodes[i].outputs) removed_values.insert(out);
  }
  report.nodes_removed = static_cast<int>(graph.nodes.size() - kept.size());
  graph.nodes = std::move(kept);
  for (const std::string& v : removed_values) graph.inferred_types.erase(v);
  std::erase_if(graph.value_info,
                [&](const ValueInfo& v) { return removed_values.count(v.name) > 0; });

  std::vector<std::string> all_initializers;
  for (const NamedTensor& t : graph.initializers()) all_initializers.push_back(t.name);
  report.initializers_removed = pass_util::removeUnreadInitializers(graph, all_initializers);

  if (report.nodes_removed > 0) {
    std::string detail;
    for (const auto& [op, count] : removed_by_op) {
      detail += (detail.empty() ? "" : ", ") + op + " x" + std::to_string(count);
    }
    report.notes.push_back("removed " + std::to_string(report.nodes_removed) +
                           " node(s) whose outputs reach no graph output (" + detail + ")");
  }
  if (report.initializers_removed > 0) {
    report.notes.push_back("removed " + std::to_string(report.initializers_removed) +
                           " initializer(s) nothing reads");
  }
  model = std::move(work);
  return report;
}

}  // namespace detslim

namespace detslim {

Result<PassReport> rebatchReshapes(Model& model, int64_t from_batch, int64_t to_batch) {
  PassReport report;
  report.pass = "rebatchReshapes";
  if (from_batch <= 0 || to_batch <= 0) {
    return invalidArgument("rebatchReshapes: batches must be positive");
  }
  Graph& g = model.graph;
  const GraphIndex index(g);
  for (Node& node : g.nodes) {
    if (node.op_type != "Reshape" || !node.domain.empty() || node.inputs.size() < 2) continue;
    const Tensor* shape = g.initializer(node.inputs[1]);
    if (!shape || shape->dtype() != DType::kInt64 || shape->rank() != 1 || shape->numel() < 1 ||
        shape->data<int64_t>()[0] != from_batch) {
      continue;
    }
    Tensor rebatched = shape->clone();
    rebatched.mutableData<int64_t>()[0] = to_batch;
    std::string name = node.inputs[1];
    if (index.consumers(name).size() > 1 || index.isGraphOutput(name)) {
      name = g.uniqueName(name + "_rebatched");
      ++report.initializers_added;
    }
    g.setInitializer(name, std::move(rebatched));
    node.inputs[1] = name;
    report.notes.push_back("Reshape '" + node.name + "': leading " + std::to_string(from_batch) +
                           " -> " + std::to_string(to_batch));
  }
  return report;
}

}  // namespace detslim
