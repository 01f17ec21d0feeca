#include "core/engine/fusion.h"

#include <unordered_map>

namespace detslim {

namespace {

struct Activation {
  std::string kind;  // FusedConv's activation attribute
  float alpha = 0.0f;
  float beta = 0.0f;
};

// The activation a single-input node applies, or nullopt-like empty kind.
Activation activationOf(const Node& n, const ConstantLookup& constant_of, int64_t /*opset*/) {
  if (!n.domain.empty()) return {};
  if (n.op_type == "Relu") return {"relu"};
  if (n.op_type == "LeakyRelu") return {"leaky_relu", n.floatOr("alpha", 0.01f)};
  if (n.op_type == "Sigmoid") return {"sigmoid"};
  if (n.op_type == "Tanh") return {"tanh"};
  if (n.op_type == "HardSwish") return {"hardswish"};
  if (n.op_type == "HardSigmoid") return {"hardsigmoid", n.floatOr("alpha", 0.2f), n.floatOr("beta", 0.5f)};
  if (n.op_type == "Clip") {
    float lo = n.floatOr("min", -3.402823466e38f);
    float hi = n.floatOr("max", 3.402823466e38f);
    for (size_t i = 1; i < 3 && i < n.inputs.size(); ++i) {
      if (n.inputs[i].empty()) continue;
      const Tensor* t = constant_of(n.inputs[i]);
      if (!t || t->numel() != 1 || t->dtype() != DType::kFloat32) return {};
      (i == 1 ? lo : hi) = t->data<float>()[0];
    }
    return {"clip", lo, hi};
  }
  return {};
}

}  // namespace

int fuseConvActivations(FusionInput io, const DescLookup& desc_of, const ConstantLookup& constant_of,
                        const OutputCheck& is_graph_output) {
  std::vector<Node>& nodes = io.nodes;
  std::unordered_map<std::string, std::vector<size_t>> readers;
  std::unordered_map<std::string, size_t> producer;
  for (size_t i = 0; i < nodes.size(); ++i) {
    for (const std::string& in : nodes[i].inputs) {
      if (!in.empty()) readers[in].push_back(i);
    }
    for (const std::string& out : nodes[i].outputs) {
      if (!out.empty()) producer[out] = i;
    }
  }
  auto onlyReaders = [&](const std::string& value) -> const std::vector<size_t>& {
    static const std::vector<size_t> kNone;
    auto it = readers.find(value);
    return it == readers.end() ? kNone : it->second;
  };
  auto isFloat = [&](const std::string& value) {
    const ValueDesc* d = desc_of(value);
    return d && d->dtype == DType::kFloat32;
  };
  std::vector<bool> removed(nodes.size(), false);
  int fused_count = 0;
  for (size_t c = 0; c < nodes.size(); ++c) {
    Node& conv = nodes[c];
    if (conv.op_type != "Conv" || !conv.domain.empty() || conv.outputs.size() != 1) continue;
    if (!isFloat(conv.outputs[0]) || constant_of(conv.input(1)) == nullptr) continue;
    std::string y = conv.outputs[0];
    std::string chain = "Conv";
    std::vector<size_t> absorbed;
    Activation act;
    std::string sum;
    int sum_first = 0;

    auto tryActivation = [&](const std::string& value) -> bool {
      if (is_graph_output(value)) return false;
      const std::vector<size_t>& r = onlyReaders(value);
      if (r.size() == 1) {
        const Node& n = nodes[r[0]];
        if (n.inputs.empty() || n.inputs[0] != value || n.outputs.size() != 1) return false;
        Activation a = activationOf(n, constant_of, 0);
        if (a.kind.empty()) return false;
        act = a;
        absorbed.push_back(r[0]);
        chain += "+" + n.op_type;
        y = n.outputs[0];
        return true;
      }
      if (r.size() == 2) {  // SiLU: Sigmoid(v) and Mul(v, sigmoid) in either order
        size_t s = r[0], m = r[1];
        if (nodes[s].op_type != "Sigmoid") std::swap(s, m);
        const Node& sig = nodes[s];
        const Node& mul = nodes[m];
        if (sig.op_type != "Sigmoid" || mul.op_type != "Mul" || !sig.domain.empty() || !mul.domain.empty()) return false;
        if (sig.outputs.size() != 1 || mul.inputs.size() != 2 || mul.outputs.size() != 1) return false;
        const std::string& sv = sig.outputs[0];
        const bool wired = (mul.inputs[0] == value && mul.inputs[1] == sv) || (mul.inputs[1] == value && mul.inputs[0] == sv);
        if (!wired || onlyReaders(sv).size() != 1 || is_graph_output(sv)) return false;
        act = {"swish", 1.0f};
        absorbed.push_back(s);
        absorbed.push_back(m);
        chain += "+Sigmoid+Mul";
        y = mul.outputs[0];
        return true;
      }
      return false;
    };
    auto trySum = [&](const std::string& value) -> bool {
      if (is_graph_output(value)) return false;
      const std::vector<size_t>& r = onlyReaders(value);
      if (r.size() != 1) return false;
      const Node& add = nodes[r[0]];
      if (add.op_type != "Add" || !add.domain.empty() || add.inputs.size() != 2 || add.outputs.size() != 1) return false;
      const std::string& other = add.inputs[0] == value ? add.inputs[1] : add.inputs[0];
      if (other == value) return false;
      const ValueDesc* a = desc_of(value);
      const ValueDesc* b = desc_of(other);
      if (!a || !b || a->shape != b->shape || a->dtype != b->dtype) return false;
      // The residual must exist when the fused Conv runs (at the Conv's position).
      auto p = producer.find(other);
      if (p != producer.end() && (p->second >= c || removed[p->second])) return false;
      sum = other;
      absorbed.push_back(r[0]);
      chain += "+Add";
      y = add.outputs[0];
      return true;
    };

    if (tryActivation(y)) {
      if (trySum(y)) sum_first = 0;
    } else if (trySum(y)) {
      sum_first = 1;
      tryActivation(y);
    }
    if (absorbed.empty()) continue;
    Node fused;
    fused.name = conv.name;
    fused.domain = "detslim";
    fused.op_type = "FusedConv";
    fused.inputs = {conv.input(0), conv.input(1), conv.input(2)};
    if (!sum.empty()) fused.inputs.push_back(sum);
    fused.outputs = {y};
    fused.attributes = conv.attributes;
    if (!act.kind.empty()) {
      fused.setAttr(Attribute::makeString("activation", act.kind));
      fused.setAttr(Attribute::makeFloat("activation_alpha", act.alpha));
      fused.setAttr(Attribute::makeFloat("activation_beta", act.beta));
    }
    if (!sum.empty()) fused.setAttr(Attribute::makeInt("sum_first", sum_first));
    for (size_t a : absorbed) removed[a] = true;
    conv = std::move(fused);
    io.fused[c] = chain;
    // Readers of the fused output now read from the Conv's position.
    producer[y] = c;
    ++fused_count;
  }
  size_t w = 0;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (removed[i]) continue;
    if (w != i) {
      nodes[w] = std::move(nodes[i]);
      io.fused[w] = std::move(io.fused[i]);
    }
    ++w;
  }
  nodes.resize(w);
  io.fused.resize(w);
  return fused_count;
}

}  // namespace detslim
