#include "core/engine/float16_lowering.h"

#include <algorithm>
#include <string_view>

namespace detslim {

namespace {

bool isDefaultDomain(const std::string& domain) { return domain.empty() || domain == "ai.onnx"; }

DType attrTensorType(const Node& node, const char* name, DType def) {
  const Attribute* a = node.attr(name);
  return a && a->kind == Attribute::Kind::kTensor ? a->t.dtype() : def;
}

DType constantType(const Node& node) {
  for (const Attribute& a : node.attributes) {
    if (a.name == "value" && a.kind == Attribute::Kind::kTensor) return a.t.dtype();
    if (a.name == "value_float" || a.name == "value_floats") return DType::kFloat32;
    if (a.name == "value_int" || a.name == "value_ints") return DType::kInt64;
    if (a.name == "value_string" || a.name == "value_strings") return DType::kString;
  }
  return DType::kUndefined;
}

// Output `out` of `node` by the op's type rule; kUndefined when no rule applies.
DType outputType(const Node& node, size_t out,
                 const std::function<DType(size_t)>& input_type) {
  if (!isDefaultDomain(node.domain)) return node.domain == "detslim" ? input_type(0) : DType::kUndefined;
  const std::string& op = node.op_type;
  if (op == "Cast") {
    const Attribute* to = node.attr("to");
    if (to && to->kind == Attribute::Kind::kInt && isKnownDType(static_cast<int32_t>(to->i))) {
      return static_cast<DType>(to->i);
    }
    return DType::kUndefined;
  }
  if (op == "Shape" || op == "ArgMax" || op == "ArgMin" || op == "NonZero") return DType::kInt64;
  if ((op == "MaxPool" || op == "TopK") && out == 1) return DType::kInt64;
  if (op == "Equal" || op == "Greater" || op == "Less" || op == "Not" || op == "And" || op == "Or") {
    return DType::kBool;
  }
  if (op == "Where") return input_type(1);
  if (op == "Constant") return constantType(node);
  if (op == "ConstantOfShape") return attrTensorType(node, "value", DType::kFloat32);
  if (op == "QuantizeLinear") {
    const DType zp = node.inputs.size() > 2 && !node.inputs[2].empty() ? input_type(2) : DType::kUndefined;
    return zp == DType::kUndefined ? DType::kUInt8 : zp;
  }
  if (op == "DequantizeLinear") return input_type(1);
  if (op == "DynamicQuantizeLinear") return out == 1 ? DType::kFloat32 : DType::kUInt8;
  if (op == "ConvInteger" || op == "MatMulInteger") return DType::kInt32;
  if (op == "QLinearConv") return input_type(7);
  return input_type(0);
}

void convertTensorToFloat(Tensor& t) {
  if (t.dtype() != DType::kFloat16) return;
  Tensor f(DType::kFloat32, t.shape());
  const uint16_t* src = t.data<uint16_t>();
  float* dst = f.mutableData<float>();
  for (int64_t i = 0; i < t.numel(); ++i) dst[i] = halfToFloat(src[i]);
  t = std::move(f);
}

void renameInputs(std::vector<Node>& nodes, const std::string& from, const std::string& to) {
  for (Node& n : nodes) {
    std::replace(n.inputs.begin(), n.inputs.end(), from, to);
  }
}

Node makeNode(std::string name, std::string domain, std::string op, std::vector<std::string> inputs,
              std::vector<std::string> outputs) {
  Node n;
  n.name = std::move(name);
  n.domain = std::move(domain);
  n.op_type = std::move(op);
  n.inputs = std::move(inputs);
  n.outputs = std::move(outputs);
  return n;
}

Node makeCast(std::string name, std::string input, std::string output, DType to) {
  Node n = makeNode(std::move(name), "", "Cast", {std::move(input)}, {std::move(output)});
  n.setAttr(Attribute::makeInt("to", static_cast<int64_t>(to)));
  return n;
}

}  // namespace

std::unordered_map<std::string, DType> inferElementTypes(const Graph& graph) {
  std::unordered_map<std::string, DType> types;
  for (const NamedTensor& init : graph.initializers()) types[init.name] = init.tensor.dtype();
  for (const ValueInfo& in : graph.inputs) {
    if (!types.count(in.name) && in.type.dtype != DType::kUndefined) types[in.name] = in.type.dtype;
  }
  Result<std::vector<size_t>> order = graph.topologicalOrder();
  std::vector<size_t> indices;
  if (order.isOk()) {
    indices = std::move(order.value());
  } else {
    for (size_t i = 0; i < graph.nodes.size(); ++i) indices.push_back(i);
  }
  for (size_t index : indices) {
    const Node& node = graph.nodes[index];
    auto input_type = [&](size_t i) {
      if (i >= node.inputs.size() || node.inputs[i].empty()) return DType::kUndefined;
      auto it = types.find(node.inputs[i]);
      return it == types.end() ? DType::kUndefined : it->second;
    };
    for (size_t o = 0; o < node.outputs.size(); ++o) {
      if (node.outputs[o].empty()) continue;
      DType t = outputType(node, o, input_type);
      if (t == DType::kUndefined) {
        if (const TensorType* declared = graph.typeOf(node.outputs[o])) t = declared->dtype;
      }
      if (t != DType::kUndefined) types[node.outputs[o]] = t;
    }
  }
  return types;
}

bool keepsHalfValues(const Node& node) {
  if (!isDefaultDomain(node.domain)) return false;
  static const std::unordered_set<std::string_view> kKeeping = {
      "Concat",  "Split", "Slice", "Reshape", "Transpose", "Flatten", "Squeeze", "Unsqueeze",
      "Expand",  "Tile",  "Gather", "Identity", "Pad",     "MaxPool", "Max",     "Min",
      "Relu",    "Where", "Abs",    "Neg",      "Clip",    "ReduceMax", "TopK",  "Constant",
      "ConstantOfShape"};
  const std::string& op = node.op_type;
  if (op == "Resize" || op == "Upsample") return node.stringOr("mode", "nearest") == "nearest";
  // Bounds / fill values given as float32 attributes (Clip-6, Pad-2) need not be float16 values.
  if (op == "Clip" && (node.hasAttr("min") || node.hasAttr("max"))) return false;
  if (op == "Pad" && node.hasAttr("value")) return false;
  return kKeeping.count(op) > 0;
}

Result<Float16Lowering> lowerFloat16(Model& model) {
  Float16Lowering result;
  Graph& g = model.graph;
  const std::unordered_map<std::string, DType> types = inferElementTypes(g);
  auto typeOf = [&](const std::string& name) {
    auto it = types.find(name);
    return it == types.end() ? DType::kUndefined : it->second;
  };
  bool any = false;
  for (const auto& [name, t] : types) any = any || t == DType::kFloat16;
  if (!any) return result;
  result.applied = true;

  std::unordered_set<std::string> io_half;  // graph inputs / outputs declared float16
  // Values the graph writes as outputs and inputs: renamed below, so remember them first.
  std::vector<std::string> half_inputs;
  std::vector<std::string> half_outputs;
  for (const ValueInfo& in : g.inputs) {
    if (!g.isInitializer(in.name) && typeOf(in.name) == DType::kFloat16) half_inputs.push_back(in.name);
  }
  for (const ValueInfo& out : g.outputs) {
    if (typeOf(out.name) == DType::kFloat16) half_outputs.push_back(out.name);
  }

  // Initializers and constants: float16 -> float32 (exact).
  std::vector<std::pair<std::string, Tensor>> converted;
  for (const NamedTensor& init : g.initializers()) {
    if (init.tensor.dtype() != DType::kFloat16) continue;
    Tensor t = init.tensor;
    convertTensorToFloat(t);
    converted.emplace_back(init.name, std::move(t));
  }
  for (auto& [name, t] : converted) g.setInitializer(name, std::move(t));

  std::vector<Node> lowered;
  lowered.reserve(g.nodes.size());
  for (Node& node : g.nodes) {
    const bool default_domain = isDefaultDomain(node.domain);
    if (default_domain && (node.op_type == "Constant" || node.op_type == "ConstantOfShape")) {
      for (Attribute& a : node.attributes) {
        if (a.kind == Attribute::Kind::kTensor) convertTensorToFloat(a.t);
      }
    }
    if (default_domain && node.op_type == "Cast" && node.inputs.size() == 1 && node.outputs.size() == 1) {
      const DType from = typeOf(node.inputs[0]);
      const DType to = typeOf(node.outputs[0]);
      const bool from_half = from == DType::kFloat16;
      if (to == DType::kFloat16 || (to == DType::kFloat32 && from_half)) {
        if (from_half || from == DType::kFloat32) {
          // f16 -> f16 and f16 -> f32 keep the value; f32 -> f16 rounds.
          const bool rounds = !from_half;
          Node rewritten = makeNode(node.name, rounds ? "detslim" : "", rounds ? "RoundToHalf" : "Identity",
                                    node.inputs, node.outputs);
          lowered.push_back(std::move(rewritten));
        } else {
          // Another type to float16: to float32, then round.
          const std::string wide = g.uniqueName(node.outputs[0] + "_f32");
          lowered.push_back(makeCast(node.name, node.inputs[0], wide, DType::kFloat32));
          lowered.push_back(makeNode(node.name + "_round", "detslim", "RoundToHalf", {wide}, node.outputs));
        }
        continue;
      }
    }
    if (!keepsHalfValues(node)) {
      for (const std::string& out : node.outputs) {
        if (!out.empty() && typeOf(out) == DType::kFloat16) result.round_values.insert(out);
      }
    }
    lowered.push_back(std::move(node));
  }
  g.nodes = std::move(lowered);

  // float16 graph inputs: read through Cast(to=float).
  std::vector<Node> input_casts;
  for (const std::string& name : half_inputs) {
    const std::string wide = g.uniqueName(name + "_f32");
    renameInputs(g.nodes, name, wide);
    input_casts.push_back(makeCast(g.uniqueName(name + "_to_f32"), name, wide, DType::kFloat32));
    io_half.insert(name);
  }
  g.nodes.insert(g.nodes.begin(), input_casts.begin(), input_casts.end());

  // float16 graph outputs: the producer writes a float32 value, Cast(to=float16) the output.
  for (const std::string& name : half_outputs) {
    io_half.insert(name);
    if (std::find(half_inputs.begin(), half_inputs.end(), name) != half_inputs.end()) continue;
    const std::string wide = g.uniqueName(name + "_f32");
    bool produced = false;
    int other_readers = 0;
    for (Node& n : g.nodes) {
      for (std::string& o : n.outputs) {
        if (o == name) {
          o = wide;
          produced = true;
        }
      }
      for (std::string& i : n.inputs) {
        if (i == name) {
          i = wide;
          ++other_readers;
        }
      }
    }
    if (!produced) {
      if (const Tensor* init = g.initializer(name)) {
        g.setInitializer(wide, *init);
        g.removeInitializer(name);
      } else {
        return invalidArgument("float16 graph output '" + name + "' is produced by no node or initializer");
      }
    }
    if (result.round_values.erase(name) && other_readers > 0) result.round_values.insert(wide);
    g.nodes.push_back(makeCast(g.uniqueName(name + "_to_f16"), wide, name, DType::kFloat16));
  }

  // Declared and inferred types follow (graph inputs / outputs keep float16).
  for (ValueInfo& v : g.value_info) {
    if (v.type.dtype == DType::kFloat16 && !io_half.count(v.name)) v.type.dtype = DType::kFloat32;
  }
  for (auto& [name, t] : g.inferred_types) {
    if (t.dtype == DType::kFloat16 && !io_half.count(name)) t.dtype = DType::kFloat32;
  }
  return result;
}

int insertHalfRounding(std::vector<Node>& nodes, std::vector<std::string>& fused,
                       const Float16Lowering& lowering,
                       const std::function<std::string(const std::string&)>& add_value) {
  if (lowering.round_values.empty()) return 0;
  std::vector<Node> out_nodes;
  std::vector<std::string> out_fused;
  out_nodes.reserve(nodes.size() * 2);
  int inserted = 0;
  for (size_t i = 0; i < nodes.size(); ++i) {
    Node node = std::move(nodes[i]);
    std::vector<Node> rounding;
    for (std::string& out : node.outputs) {
      if (out.empty() || !lowering.round_values.count(out)) continue;
      const std::string wide = add_value(out);
      rounding.push_back(makeNode((node.name.empty() ? out : node.name) + "/round_f16", "detslim",
                                  "RoundToHalf", {wide}, {out}));
      out = wide;
    }
    out_nodes.push_back(std::move(node));
    out_fused.push_back(i < fused.size() ? std::move(fused[i]) : std::string());
    for (Node& r : rounding) {
      out_nodes.push_back(std::move(r));
      out_fused.emplace_back();
      ++inserted;
    }
  }
  nodes = std::move(out_nodes);
  fused = std::move(out_fused);
  return inserted;
}

Tensor roundTensorToHalf(const Tensor& t) {
  Tensor r(DType::kFloat32, t.shape());
  const float* src = t.data<float>();
  float* dst = r.mutableData<float>();
  for (int64_t i = 0; i < t.numel(); ++i) dst[i] = halfToFloat(floatToHalf(src[i]));
  return r;
}

}  // namespace detslim
