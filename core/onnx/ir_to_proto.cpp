// IR -> ModelProto. Weights are always written inline as raw_data (strings as string_data); the
// opaque parts the loader kept as bytes are parsed back so they come out exactly as they went in.

#include <onnx/onnx_pb.h>

#include "core/onnx/proto_convert.h"

namespace detslim::onnx_detail {

namespace {

Status graphToProto(const Graph& graph, onnx::GraphProto* proto);

template <class Proto>
Status parseOpaque(const std::string& bytes, Proto* proto, const std::string& what) {
  if (!proto->ParseFromString(bytes)) {
    return invalidArgument(what + " holds " + std::to_string(bytes.size()) +
                           " bytes that are not a serialized " + proto->GetTypeName());
  }
  return Status::ok();
}

Status valueInfoToProto(const ValueInfo& v, onnx::ValueInfoProto* proto) {
  proto->set_name(v.name);
  if (!v.doc_string.empty()) proto->set_doc_string(v.doc_string);
  if (!v.opaque_type.empty()) {
    return parseOpaque(v.opaque_type, proto->mutable_type(), "value '" + v.name + "' type");
  }
  // A default TensorType stands for "no type" (subgraph values often have none).
  if (v.type.dtype == DType::kUndefined && !v.type.has_shape) return Status::ok();
  auto* tensor = proto->mutable_type()->mutable_tensor_type();
  // Written even when 0: the checker wants the field present on main-graph values, and a file
  // that passed it with an explicit 0 must pass it again after a save.
  tensor->set_elem_type(static_cast<int32_t>(v.type.dtype));
  if (!v.type.has_shape) return Status::ok();
  auto* shape = tensor->mutable_shape();
  for (const Dim& d : v.type.dims) {
    auto* dim = shape->add_dim();
    if (d.value >= 0)
      dim->set_dim_value(d.value);
    else if (!d.param.empty())
      dim->set_dim_param(d.param);
  }
  return Status::ok();
}

Status attributeToProto(const Attribute& a, onnx::AttributeProto* proto) {
  using AP = onnx::AttributeProto;
  const std::string label = "attribute '" + a.name + "'";
  if (a.kind == Attribute::Kind::kOpaque) {
    DS_RETURN_IF_ERROR(parseOpaque(a.opaque, proto, label));
    if (!a.name.empty()) proto->set_name(a.name);
    return Status::ok();
  }
  proto->set_name(a.name);
  if (!a.ref_attr_name.empty()) proto->set_ref_attr_name(a.ref_attr_name);
  if (!a.doc_string.empty()) proto->set_doc_string(a.doc_string);
  switch (a.kind) {
    case Attribute::Kind::kUndefined:
      break;
    case Attribute::Kind::kFloat:
      proto->set_type(AP::FLOAT);
      proto->set_f(a.f);
      break;
    case Attribute::Kind::kInt:
      proto->set_type(AP::INT);
      proto->set_i(a.i);
      break;
    case Attribute::Kind::kString:
      proto->set_type(AP::STRING);
      proto->set_s(a.s);
      break;
    case Attribute::Kind::kTensor:
      proto->set_type(AP::TENSOR);
      if (a.t.defined()) {
        Status s = tensorToProto(a.t, proto->mutable_t());
        if (!s.isOk()) return s.withContext(label);
      }
      break;
    case Attribute::Kind::kGraph: {
      proto->set_type(AP::GRAPH);
      if (!a.g) return invalidArgument(label + " is a graph attribute without a graph");
      Status s = graphToProto(*a.g, proto->mutable_g());
      if (!s.isOk()) return s.withContext(label);
      break;
    }
    case Attribute::Kind::kFloats:
      proto->set_type(AP::FLOATS);
      proto->mutable_floats()->Add(a.floats.begin(), a.floats.end());
      break;
    case Attribute::Kind::kInts:
      proto->set_type(AP::INTS);
      proto->mutable_ints()->Add(a.ints.begin(), a.ints.end());
      break;
    case Attribute::Kind::kStrings:
      proto->set_type(AP::STRINGS);
      for (const std::string& s : a.strings) proto->add_strings(s);
      break;
    case Attribute::Kind::kTensors:
      proto->set_type(AP::TENSORS);
      for (size_t i = 0; i < a.tensors.size(); ++i) {
        Status s = tensorToProto(a.tensors[i], proto->add_tensors());
        if (!s.isOk()) return s.withContext(label + " tensor " + std::to_string(i));
      }
      break;
    case Attribute::Kind::kGraphs:
      proto->set_type(AP::GRAPHS);
      for (size_t i = 0; i < a.graphs.size(); ++i) {
        if (!a.graphs[i]) {
          return invalidArgument(label + " graph " + std::to_string(i) + " is missing");
        }
        Status s = graphToProto(*a.graphs[i], proto->add_graphs());
        if (!s.isOk()) return s.withContext(label + " graph " + std::to_string(i));
      }
      break;
    case Attribute::Kind::kOpaque:
      break;  // handled above
  }
  return Status::ok();
}

Status nodeToProto(const Node& n, onnx::NodeProto* proto) {
  for (const std::string& i : n.inputs) proto->add_input(i);
  for (const std::string& o : n.outputs) proto->add_output(o);
  if (!n.name.empty()) proto->set_name(n.name);
  proto->set_op_type(n.op_type);
  if (!n.domain.empty()) proto->set_domain(n.domain);
  for (const Attribute& a : n.attributes) {
    Status s = attributeToProto(a, proto->add_attribute());
    if (!s.isOk()) return s.withContext("node " + n.describe());
  }
  if (!n.doc_string.empty()) proto->set_doc_string(n.doc_string);
  return Status::ok();
}

Status graphToProto(const Graph& graph, onnx::GraphProto* proto) {
  proto->mutable_node()->Reserve(static_cast<int>(graph.nodes.size()));
  for (const Node& n : graph.nodes) DS_RETURN_IF_ERROR(nodeToProto(n, proto->add_node()));
  proto->set_name(graph.name);
  for (const NamedTensor& nt : graph.initializers()) {
    onnx::TensorProto* tp = proto->add_initializer();
    Status s = tensorToProto(nt.tensor, tp);
    if (!s.isOk()) return s.withContext("initializer '" + nt.name + "'");
    tp->set_name(nt.name);
    if (!nt.doc_string.empty()) tp->set_doc_string(nt.doc_string);
  }
  for (size_t i = 0; i < graph.opaque_sparse_initializers.size(); ++i) {
    DS_RETURN_IF_ERROR(parseOpaque(graph.opaque_sparse_initializers[i],
                                   proto->add_sparse_initializer(),
                                   "sparse initializer " + std::to_string(i)));
  }
  if (!graph.doc_string.empty()) proto->set_doc_string(graph.doc_string);
  for (const ValueInfo& v : graph.inputs)
    DS_RETURN_IF_ERROR(valueInfoToProto(v, proto->add_input()));
  for (const ValueInfo& v : graph.outputs)
    DS_RETURN_IF_ERROR(valueInfoToProto(v, proto->add_output()));
  for (const ValueInfo& v : graph.value_info) {
    DS_RETURN_IF_ERROR(valueInfoToProto(v, proto->add_value_info()));
  }
  return Status::ok();
}

}  // namespace

Status modelToProto(const Model& model, onnx::ModelProto* proto) {
  proto->set_ir_version(model.ir_version);
  for (const OpsetImport& o : model.opset_imports) {
    auto* op = proto->add_opset_import();
    op->set_domain(o.domain);
    op->set_version(o.version);
  }
  if (!model.producer_name.empty()) proto->set_producer_name(model.producer_name);
  if (!model.producer_version.empty()) proto->set_producer_version(model.producer_version);
  if (!model.domain.empty()) proto->set_domain(model.domain);
  if (model.model_version != 0) proto->set_model_version(model.model_version);
  if (!model.doc_string.empty()) proto->set_doc_string(model.doc_string);
  DS_RETURN_IF_ERROR(graphToProto(model.graph, proto->mutable_graph()));
  for (const auto& [key, value] : model.metadata) {
    auto* kv = proto->add_metadata_props();
    kv->set_key(key);
    kv->set_value(value);
  }
  for (size_t i = 0; i < model.opaque_training_info.size(); ++i) {
    DS_RETURN_IF_ERROR(parseOpaque(model.opaque_training_info[i], proto->add_training_info(),
                                   "training_info " + std::to_string(i)));
  }
  for (size_t i = 0; i < model.opaque_functions.size(); ++i) {
    DS_RETURN_IF_ERROR(parseOpaque(model.opaque_functions[i], proto->add_functions(),
                                   "function " + std::to_string(i)));
  }
  return Status::ok();
}

}  // namespace detslim::onnx_detail
