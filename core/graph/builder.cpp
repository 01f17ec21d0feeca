#include "core/graph/builder.h"

#include <utility>

namespace detslim {

GraphBuilder::GraphBuilder(std::string graph_name, int64_t opset) {
  model_.graph.name = std::move(graph_name);
  model_.opset_imports.push_back(OpsetImport{"", opset});
}

std::string GraphBuilder::freshName(const std::string& stem) {
  // The counter is shared by all ops so names also tell the order nodes were added in.
  std::string candidate;
  do {
    candidate = stem + "_" + std::to_string(counter_++);
  } while (names_.count(candidate) > 0);
  claim(candidate);
  return candidate;
}

std::string GraphBuilder::input(std::string name, DType dtype, Shape shape) {
  std::vector<Dim> dims;
  dims.reserve(shape.size());
  for (int64_t d : shape) dims.push_back(Dim{d >= 0 ? d : -1, {}});
  return input(std::move(name), dtype, std::move(dims));
}

std::string GraphBuilder::input(std::string name, DType dtype, std::vector<Dim> dims) {
  ValueInfo info;
  info.name = name;
  info.type.dtype = dtype;
  info.type.has_shape = true;
  info.type.dims = std::move(dims);
  model_.graph.inputs.push_back(std::move(info));
  claim(name);
  return name;
}

std::string GraphBuilder::constant(std::string name, Tensor tensor) {
  claim(name);
  model_.graph.setInitializer(name, std::move(tensor));
  return name;
}

std::string GraphBuilder::node(std::string op_type, std::vector<std::string> inputs,
                               std::vector<Attribute> attributes, std::string output_name) {
  Node n;
  n.name = freshName(op_type);
  n.op_type = std::move(op_type);
  n.inputs = std::move(inputs);
  n.attributes = std::move(attributes);
  if (output_name.empty()) {
    output_name = n.name;
  } else {
    claim(output_name);
  }
  n.outputs.push_back(output_name);
  model_.graph.nodes.push_back(std::move(n));
  return output_name;
}

std::vector<std::string> GraphBuilder::nodeMulti(std::string op_type,
                                                 std::vector<std::string> inputs,
                                                 size_t output_count,
                                                 std::vector<Attribute> attributes,
                                                 std::string node_name) {
  Node n;
  if (node_name.empty()) {
    node_name = freshName(op_type);
  } else {
    claim(node_name);
  }
  n.name = node_name;
  n.op_type = std::move(op_type);
  n.inputs = std::move(inputs);
  n.attributes = std::move(attributes);
  for (size_t i = 0; i < output_count; ++i) {
    std::string out = node_name + "_out" + std::to_string(i);
    while (names_.count(out) > 0) out += "_";
    claim(out);
    n.outputs.push_back(std::move(out));
  }
  std::vector<std::string> outputs = n.outputs;
  model_.graph.nodes.push_back(std::move(n));
  return outputs;
}

void GraphBuilder::output(const std::string& value_name, DType dtype, Shape shape, bool has_shape) {
  ValueInfo info;
  info.name = value_name;
  info.type.dtype = dtype;
  info.type.has_shape = has_shape;
  if (has_shape) {
    for (int64_t d : shape) info.type.dims.push_back(Dim{d >= 0 ? d : -1, {}});
  }
  model_.graph.outputs.push_back(std::move(info));
}

void GraphBuilder::setOpset(std::string domain, int64_t version) {
  const bool is_default = domain.empty() || domain == "ai.onnx";
  for (OpsetImport& o : model_.opset_imports) {
    const bool o_default = o.domain.empty() || o.domain == "ai.onnx";
    if ((is_default && o_default) || (!is_default && o.domain == domain)) {
      o.version = version;
      return;
    }
  }
  model_.opset_imports.push_back(OpsetImport{std::move(domain), version});
}

void GraphBuilder::addMetadata(std::string key, std::string value) {
  model_.metadata.emplace_back(std::move(key), std::move(value));
}

}  // namespace detslim
