#include "core/graph/elementwise_chain.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "core/graph/pass_util.h"

namespace detslim {

bool isElementwiseChainOp(const Node& n) {
  if (!pass_util::isDefaultDomain(n.domain) || n.outputs.size() != 1) return false;
  static const std::unordered_set<std::string> kOps = {
      "Sigmoid", "Tanh", "Relu", "LeakyRelu", "PRelu", "HardSigmoid", "HardSwish", "Clip", "Exp", "Log",
      "Sqrt",    "Neg",  "Abs",  "Add",       "Sub",   "Mul",         "Div",       "Pow",  "Max", "Min"};
  return kOps.count(n.op_type) > 0;
}

namespace {

bool isTranscendental(const Node& n) {
  static const std::unordered_set<std::string> kOps = {"Sigmoid", "Tanh", "Exp", "Log", "Pow", "Div", "Sqrt"};
  return kOps.count(n.op_type) > 0;
}

bool contains(const std::vector<size_t>& v, size_t x) { return std::find(v.begin(), v.end(), x) != v.end(); }

}  // namespace

std::vector<ElementwiseChain> elementwiseChainsFrom(const std::string& value, const std::vector<Node>& nodes,
                                                    const ChainLookups& l, size_t max_nodes) {
  // Every chain op hanging off `value`: a node joins once each input is `value`, a joined
  // node's output or a scalar constant (a node with two such inputs is looked at again when its
  // second one joins).
  std::vector<size_t> region;
  std::unordered_map<std::string, size_t> producer;  // joined value -> node
  std::unordered_set<std::string> values = {value};
  std::vector<std::string> work = {value};
  while (!work.empty()) {
    const std::string v = work.back();
    work.pop_back();
    for (size_t r : l.readers(v)) {
      const Node& n = nodes[r];
      if (contains(region, r) || !isElementwiseChainOp(n)) continue;
      const bool inputs_ok = std::all_of(n.inputs.begin(), n.inputs.end(), [&](const std::string& in) {
        return in.empty() || values.count(in) || l.is_scalar_constant(in);
      });
      if (!inputs_ok || !l.same_shape_float(n.outputs[0])) continue;
      region.push_back(r);
      if (region.size() > max_nodes) return {};
      values.insert(n.outputs[0]);
      producer.emplace(n.outputs[0], r);
      work.push_back(n.outputs[0]);
    }
  }
  std::sort(region.begin(), region.end());
  std::vector<ElementwiseChain> chains;
  for (size_t exit : region) {
    const std::string& result = nodes[exit].outputs[0];
    const std::vector<size_t> readers = l.readers(result);
    if (std::all_of(readers.begin(), readers.end(), [&](size_t r) { return contains(region, r); })) continue;
    if (l.is_graph_output(result)) continue;
    // The result's producers back to `value`.
    ElementwiseChain chain;
    chain.result = result;
    std::vector<size_t> stack = {exit};
    while (!stack.empty()) {
      const size_t n = stack.back();
      stack.pop_back();
      if (contains(chain.nodes, n)) continue;
      chain.nodes.push_back(n);
      for (const std::string& in : nodes[n].inputs) {
        auto it = producer.find(in);
        if (it != producer.end()) stack.push_back(it->second);
      }
    }
    std::sort(chain.nodes.begin(), chain.nodes.end());
    bool sealed = true;
    for (size_t c : chain.nodes) {
      chain.transcendental = chain.transcendental || isTranscendental(nodes[c]);
      const std::string& v = nodes[c].outputs[0];
      if (v == result) continue;
      const std::vector<size_t> r = l.readers(v);
      if (l.is_graph_output(v) ||
          !std::all_of(r.begin(), r.end(), [&](size_t x) { return contains(chain.nodes, x); })) {
        sealed = false;
      }
    }
    if (sealed) chains.push_back(std::move(chain));
  }
  return chains;
}

Result<Model> subgraphModel(const std::vector<Node>& nodes, const std::string& input, DType input_type,
                            const std::string& output, DType output_type,
                            const std::function<const Tensor*(const std::string&)>& constant_of, int64_t opset) {
  Model m;
  m.opset_imports.push_back(OpsetImport{"", opset});
  Graph& g = m.graph;
  g.name = "subgraph";
  TensorType in_type;
  in_type.dtype = input_type;
  in_type.has_shape = true;
  in_type.dims = {Dim{-1, "n"}};
  g.inputs.push_back(ValueInfo{input, in_type, {}, {}});
  std::unordered_set<std::string> produced = {input};
  for (const Node& n : nodes) {
    for (const std::string& in : n.inputs) {
      if (in.empty() || produced.count(in) || g.isInitializer(in)) continue;
      const Tensor* t = constant_of(in);
      if (!t) return invalidArgument(n.describe() + ": input '" + in + "' is neither computed by the subgraph nor a constant");
      g.setInitializer(in, *t);
    }
    for (const std::string& out : n.outputs) produced.insert(out);
  }
  TensorType out_type;
  out_type.dtype = output_type;
  g.outputs.push_back(ValueInfo{output, out_type, {}, {}});
  g.nodes = nodes;
  return m;
}

}  // namespace detslim
