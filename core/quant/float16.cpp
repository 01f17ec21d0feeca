#include "core/quant/float16.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "core/engine/float16_lowering.h"
#include "core/onnx/onnx_io.h"

namespace detslim::quant {

namespace {

constexpr float kHalfMax = 65504.0f;  // the largest finite float16

bool isDefaultDomain(const std::string& domain) { return domain.empty() || domain == "ai.onnx"; }

// Ops ONNX defines without float16 (Range) or with float32-only float operands (quantization):
// they stay float32, with casts around them.
bool needsFloat32(const Node& node) {
  if (!isDefaultDomain(node.domain)) return false;
  static const std::unordered_set<std::string> kFloat32Ops = {
      "Range", "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear"};
  return kFloat32Ops.count(node.op_type) > 0;
}

// Inputs ONNX types as float32 whatever the data type T: Resize's roi and scales, Upsample's
// scales.
bool float32Operand(const Node& node, size_t input) {
  if (!isDefaultDomain(node.domain)) return false;
  if (node.op_type == "Resize") return input == 1 || input == 2;
  if (node.op_type == "Upsample") return input == 1;
  return false;
}

Tensor toHalf(const Tensor& t) {
  Tensor h(DType::kFloat16, t.shape());
  const float* src = t.data<float>();
  uint16_t* dst = h.mutableData<uint16_t>();
  for (int64_t i = 0; i < t.numel(); ++i) {
    const float v = src[i];
    dst[i] = floatToHalf(std::isfinite(v) ? std::clamp(v, -kHalfMax, kHalfMax) : v);
  }
  return h;
}

Node makeCast(std::string name, std::string input, std::string output, DType to) {
  Node n;
  n.name = std::move(name);
  n.op_type = "Cast";
  n.inputs = {std::move(input)};
  n.outputs = {std::move(output)};
  n.setAttr(Attribute::makeInt("to", static_cast<int64_t>(to)));
  return n;
}

}  // namespace

Result<Model> convertToFloat16(const Model& fp32, const Float16Options& options) {
  Model model = fp32;
  Graph& g = model.graph;
  const std::unordered_map<std::string, DType> types = inferElementTypes(g);
  auto isFloat32 = [&](const std::string& name) {
    auto it = types.find(name);
    return !name.empty() && it != types.end() && it->second == DType::kFloat32;
  };

  std::unordered_set<std::string> kept_names(options.keep_fp32.begin(), options.keep_fp32.end());
  for (const std::string& name : options.keep_fp32) {
    if (std::none_of(g.nodes.begin(), g.nodes.end(), [&](const Node& n) { return n.name == name; })) {
      return invalidArgument("keep_fp32 names node '" + name + "', which is not in the graph");
    }
  }
  auto isKept = [&](const Node& n) { return needsFloat32(n) || (!n.name.empty() && kept_names.count(n.name)); };

  std::unordered_set<std::string> graph_inputs;
  for (const ValueInfo& in : g.inputs) graph_inputs.insert(in.name);
  // Producer kind of each float32 value.
  std::unordered_map<std::string, const Node*> producer;
  for (const Node& n : g.nodes) {
    for (const std::string& o : n.outputs) {
      if (!o.empty()) producer[o] = &n;
    }
  }
  // Which readers want float16: a non-kept node at an ordinary operand.
  std::unordered_map<std::string, bool> read_as_half;  // value -> some reader wants float16
  for (const Node& n : g.nodes) {
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      if (!isFloat32(n.inputs[i])) continue;
      const bool wants_half = !isKept(n) && !float32Operand(n, i);
      read_as_half[n.inputs[i]] = read_as_half[n.inputs[i]] || wants_half;
    }
  }
  std::unordered_set<std::string> graph_outputs;
  for (const ValueInfo& out : g.outputs) graph_outputs.insert(out.name);

  // Values stored as float16.
  std::unordered_set<std::string> half;
  for (const auto& [name, dtype] : types) {
    if (dtype != DType::kFloat32) continue;
    const bool is_input = graph_inputs.count(name) && !g.isInitializer(name);
    if (is_input) {
      if (!options.keep_io_types) half.insert(name);
      continue;
    }
    auto p = producer.find(name);
    if (p != producer.end()) {
      if (!isKept(*p->second)) half.insert(name);
      continue;
    }
    if (g.isInitializer(name)) {
      // Constants read only where float32 is required stay float32 (no cast needed).
      auto r = read_as_half.find(name);
      if ((r != read_as_half.end() && r->second) || graph_outputs.count(name)) half.insert(name);
    }
  }
  // A Constant node read only at float32 operands stays float32 too.
  for (const Node& n : g.nodes) {
    if (!isDefaultDomain(n.domain) || n.op_type != "Constant" || n.outputs.size() != 1) continue;
    const std::string& out = n.outputs[0];
    auto r = read_as_half.find(out);
    if (half.count(out) && !(r != read_as_half.end() && r->second) && !graph_outputs.count(out)) {
      half.erase(out);
    }
  }

  // Initializers and node attributes.
  std::vector<std::pair<std::string, Tensor>> converted;
  for (const NamedTensor& init : g.initializers()) {
    if (init.tensor.dtype() == DType::kFloat32 && half.count(init.name)) {
      converted.emplace_back(init.name, toHalf(init.tensor));
    }
  }
  for (auto& [name, t] : converted) g.setInitializer(name, std::move(t));
  for (Node& n : g.nodes) {
    if (!isDefaultDomain(n.domain) || n.outputs.empty() || !half.count(n.outputs[0])) continue;
    if (n.op_type == "Constant") {
      for (Attribute& a : n.attributes) {
        if (a.kind == Attribute::Kind::kTensor && a.t.dtype() == DType::kFloat32) a.t = toHalf(a.t);
      }
      if (const Attribute* f = n.attr("value_float")) {
        Tensor t = Tensor::fromVector<float>(DType::kFloat32, {}, {f->f});
        n.removeAttr("value_float");
        n.setAttr(Attribute::makeTensor("value", toHalf(t)));
      } else if (const Attribute* fs = n.attr("value_floats")) {
        Tensor t = Tensor::fromVector<float>(DType::kFloat32, {static_cast<int64_t>(fs->floats.size())}, fs->floats);
        n.removeAttr("value_floats");
        n.setAttr(Attribute::makeTensor("value", toHalf(t)));
      }
    } else if (n.op_type == "ConstantOfShape") {
      const Attribute* v = n.attr("value");
      if (v && v->kind == Attribute::Kind::kTensor) {
        Tensor t = toHalf(v->t);
        n.setAttr(Attribute::makeTensor("value", std::move(t)));
      } else {
        n.setAttr(Attribute::makeTensor("value", toHalf(Tensor::fromVector<float>(DType::kFloat32, {1}, {0.0f}))));
      }
    } else if (n.op_type == "Cast") {
      n.setAttr(Attribute::makeInt("to", static_cast<int64_t>(DType::kFloat16)));
    }
  }

  // Casts where a reader wants the other type (one per value and direction).
  std::map<std::pair<std::string, DType>, std::string> casts;
  std::vector<Node> new_casts;
  auto castOf = [&](const std::string& value, DType to) -> std::string {
    auto key = std::make_pair(value, to);
    if (auto it = casts.find(key); it != casts.end()) return it->second;
    const std::string suffix = to == DType::kFloat16 ? "_f16" : "_f32";
    const std::string out = g.uniqueName(value + suffix);
    Node cast = makeCast(g.uniqueName(value + suffix + "_cast"), value, out, to);
    g.nodes.push_back(cast);  // visible to uniqueName at once; reordered below
    casts.emplace(key, out);
    return out;
  };
  const size_t original_nodes = g.nodes.size();
  for (size_t k = 0; k < original_nodes; ++k) {
    for (size_t i = 0; i < g.nodes[k].inputs.size(); ++i) {
      const std::string name = g.nodes[k].inputs[i];
      if (!isFloat32(name)) continue;
      const bool wants_half = !isKept(g.nodes[k]) && !float32Operand(g.nodes[k], i);
      const bool is_half = half.count(name) > 0;
      if (wants_half != is_half) {
        const std::string cast = castOf(name, wants_half ? DType::kFloat16 : DType::kFloat32);
        g.nodes[k].inputs[i] = cast;
      }
    }
  }
  // Graph outputs keep float32 with keep_io_types: the float16 value is cast up under the
  // output's name.
  if (options.keep_io_types) {
    for (const ValueInfo& out : g.outputs) {
      if (!isFloat32(out.name) || !half.count(out.name)) continue;
      const std::string narrow = g.uniqueName(out.name + "_f16");
      for (Node& n : g.nodes) {
        std::replace(n.outputs.begin(), n.outputs.end(), out.name, narrow);
        std::replace(n.inputs.begin(), n.inputs.end(), out.name, narrow);
      }
      if (const Tensor* init = g.initializer(out.name)) {
        g.setInitializer(narrow, *init);
        g.removeInitializer(out.name);
      }
      g.nodes.push_back(makeCast(g.uniqueName(out.name + "_to_f32"), narrow, out.name, DType::kFloat32));
      half.erase(out.name);
    }
  }

  // Declared types follow; inferred ones are recomputed.
  auto retype = [&](std::vector<ValueInfo>& values) {
    for (ValueInfo& v : values) {
      if (v.type.dtype == DType::kFloat32 && half.count(v.name)) v.type.dtype = DType::kFloat16;
    }
  };
  retype(g.inputs);
  retype(g.outputs);
  retype(g.value_info);
  g.inferred_types.clear();
  DS_RETURN_IF_ERROR(g.sortTopologically());
  std::string note;
  if (Status s = checkModel(model, &note); !s.isOk()) {
    return s.withContext("the float16 model fails the ONNX checker");
  }
  std::vector<std::string> warnings;
  (void)inferShapes(model, /*strict=*/false, &warnings);
  return model;
}

}  // namespace detslim::quant
