// ModelProto -> IR. Everything the IR models is converted field by field in file order; what it
// does not model (functions, training info, sparse initializers, non-tensor types, sparse and
// type-proto attributes) is kept as the serialized sub-message so that saving restores it.

#include <functional>
#include <map>
#include <set>
#include <unordered_set>

#include <onnx/onnx_pb.h>

#include "core/onnx/proto_convert.h"

namespace detslim::onnx_detail {

namespace {

bool isDefaultDomain(const std::string& domain) {
  return domain.empty() || domain == "ai.onnx";
}

// Domains whose operators DetSlim understands (the ONNX standard sets).
bool isKnownDomain(const std::string& domain) {
  return isDefaultDomain(domain) || domain == "ai.onnx.ml" || domain == "ai.onnx.preview.training";
}

struct ConvertState {
  TensorSource source;
  std::vector<std::string>* warnings = nullptr;
  std::set<std::string> imported_domains;  // "" stands for "" and "ai.onnx"
  std::set<std::string> function_domains;
  std::set<std::string> used_domains;
  int negative_dims_seen = 0;
  int quantization_annotations_seen = 0;

  bool imports(const std::string& domain) const {
    return imported_domains.count(isDefaultDomain(domain) ? std::string() : domain) > 0;
  }
  void warn(std::string w) const {
    if (warnings) warnings->push_back(std::move(w));
  }
};

Result<Graph> graphFromProto(const onnx::GraphProto& proto, ConvertState& st);

Result<ValueInfo> valueInfoFromProto(const onnx::ValueInfoProto& proto, ConvertState& st) {
  ValueInfo v;
  v.name = proto.name();
  v.doc_string = proto.doc_string();
  if (!proto.has_type()) return v;
  const onnx::TypeProto& type = proto.type();
  if (type.value_case() != onnx::TypeProto::kTensorType) {
    // Sequences, maps, optionals, sparse tensors and empty TypeProtos: kept byte for byte.
    v.opaque_type = type.SerializeAsString();
    return v;
  }
  const auto& tensor = type.tensor_type();
  if (!isKnownDType(tensor.elem_type())) {
    return unsupported("value '" + v.name + "' has element type " +
                       std::to_string(tensor.elem_type()) +
                       ", which DetSlim does not know (ONNX types 1-20)");
  }
  v.type.dtype = static_cast<DType>(tensor.elem_type());
  v.type.has_shape = tensor.has_shape();
  for (const auto& d : tensor.shape().dim()) {
    Dim dim;
    if (d.has_dim_value()) {
      // Some old exporters write -1 for "unknown"; that is what the IR's -1 means too.
      if (d.dim_value() < 0) ++st.negative_dims_seen;
      dim.value = d.dim_value() < 0 ? -1 : d.dim_value();
    } else if (d.has_dim_param()) {
      dim.param = d.dim_param();
    }
    v.type.dims.push_back(std::move(dim));
  }
  return v;
}

Status valueInfosFromProto(const google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>& in,
                           std::vector<ValueInfo>& out, ConvertState& st) {
  out.reserve(static_cast<size_t>(in.size()));
  for (const auto& vi : in) {
    DS_ASSIGN_OR_RETURN(ValueInfo v, valueInfoFromProto(vi, st));
    out.push_back(std::move(v));
  }
  return Status::ok();
}

// The attribute kind a proto declares, or for files that leave `type` unset (IR 1), the kind its
// single populated field implies.
onnx::AttributeProto::AttributeType effectiveType(const onnx::AttributeProto& a) {
  if (a.type() != onnx::AttributeProto::UNDEFINED) return a.type();
  if (a.has_f()) return onnx::AttributeProto::FLOAT;
  if (a.has_i()) return onnx::AttributeProto::INT;
  if (a.has_s()) return onnx::AttributeProto::STRING;
  if (a.has_t()) return onnx::AttributeProto::TENSOR;
  if (a.has_g()) return onnx::AttributeProto::GRAPH;
  if (a.has_sparse_tensor()) return onnx::AttributeProto::SPARSE_TENSOR;
  if (a.has_tp()) return onnx::AttributeProto::TYPE_PROTO;
  if (a.floats_size()) return onnx::AttributeProto::FLOATS;
  if (a.ints_size()) return onnx::AttributeProto::INTS;
  if (a.strings_size()) return onnx::AttributeProto::STRINGS;
  if (a.tensors_size()) return onnx::AttributeProto::TENSORS;
  if (a.graphs_size()) return onnx::AttributeProto::GRAPHS;
  if (a.sparse_tensors_size()) return onnx::AttributeProto::SPARSE_TENSORS;
  if (a.type_protos_size()) return onnx::AttributeProto::TYPE_PROTOS;
  return onnx::AttributeProto::UNDEFINED;
}

Result<Attribute> attributeFromProto(const onnx::AttributeProto& proto, ConvertState& st) {
  using AP = onnx::AttributeProto;
  Attribute a;
  a.name = proto.name();
  a.ref_attr_name = proto.ref_attr_name();
  a.doc_string = proto.doc_string();
  const std::string label = "attribute '" + a.name + "'";
  switch (effectiveType(proto)) {
    case AP::FLOAT:
      a.kind = Attribute::Kind::kFloat;
      a.f = proto.f();
      break;
    case AP::INT:
      a.kind = Attribute::Kind::kInt;
      a.i = proto.i();
      break;
    case AP::STRING:
      a.kind = Attribute::Kind::kString;
      a.s = proto.s();
      break;
    case AP::TENSOR:
      a.kind = Attribute::Kind::kTensor;
      if (proto.has_t()) {
        DS_ASSIGN_OR_RETURN(a.t, tensorFromProto(proto.t(), st.source, label));
      }
      break;
    case AP::GRAPH: {
      a.kind = Attribute::Kind::kGraph;
      Result<Graph> g = graphFromProto(proto.g(), st);
      if (!g.isOk()) return g.status().withContext(label);
      a.g = std::make_shared<Graph>(std::move(g).value());
      break;
    }
    case AP::FLOATS:
      a.kind = Attribute::Kind::kFloats;
      a.floats.assign(proto.floats().begin(), proto.floats().end());
      break;
    case AP::INTS:
      a.kind = Attribute::Kind::kInts;
      a.ints.assign(proto.ints().begin(), proto.ints().end());
      break;
    case AP::STRINGS:
      a.kind = Attribute::Kind::kStrings;
      a.strings.assign(proto.strings().begin(), proto.strings().end());
      break;
    case AP::TENSORS:
      a.kind = Attribute::Kind::kTensors;
      for (int i = 0; i < proto.tensors_size(); ++i) {
        DS_ASSIGN_OR_RETURN(Tensor t, tensorFromProto(proto.tensors(i), st.source,
                                                      label + " tensor " + std::to_string(i)));
        a.tensors.push_back(std::move(t));
      }
      break;
    case AP::GRAPHS:
      a.kind = Attribute::Kind::kGraphs;
      for (int i = 0; i < proto.graphs_size(); ++i) {
        Result<Graph> g = graphFromProto(proto.graphs(i), st);
        if (!g.isOk()) return g.status().withContext(label + " graph " + std::to_string(i));
        a.graphs.push_back(std::make_shared<Graph>(std::move(g).value()));
      }
      break;
    case AP::SPARSE_TENSOR:
    case AP::SPARSE_TENSORS:
    case AP::TYPE_PROTO:
    case AP::TYPE_PROTOS:
      a.kind = Attribute::Kind::kOpaque;
      a.opaque = proto.SerializeAsString();
      break;
    case AP::UNDEFINED:
      // Nothing set: a function-body reference (ref_attr_name) or an empty attribute.
      a.kind = Attribute::Kind::kUndefined;
      break;
  }
  return a;
}

Result<Node> nodeFromProto(const onnx::NodeProto& proto, ConvertState& st) {
  Node n;
  n.name = proto.name();
  n.op_type = proto.op_type();
  n.domain = proto.domain();
  n.doc_string = proto.doc_string();
  const std::string who =
      "node '" + n.name + "' (op '" + n.op_type + "', domain '" + n.domain + "')";
  if (!isKnownDomain(n.domain) && !st.function_domains.count(n.domain)) {
    return unsupported(who +
                       " uses a domain DetSlim does not support (known: '', ai.onnx, "
                       "ai.onnx.ml, ai.onnx.preview.training and the model's own functions)");
  }
  if (!st.imports(n.domain)) {
    return invalidArgument(who + " uses domain '" + n.domain +
                           "', but the model has no opset_import for it");
  }
  st.used_domains.insert(isDefaultDomain(n.domain) ? std::string() : n.domain);
  n.inputs.assign(proto.input().begin(), proto.input().end());
  n.outputs.assign(proto.output().begin(), proto.output().end());
  n.attributes.reserve(static_cast<size_t>(proto.attribute_size()));
  for (const auto& ap : proto.attribute()) {
    Result<Attribute> a = attributeFromProto(ap, st);
    if (!a.isOk()) return a.status().withContext(who);
    n.attributes.push_back(std::move(a).value());
  }
  return n;
}

Result<Graph> graphFromProto(const onnx::GraphProto& proto, ConvertState& st) {
  Graph g;
  g.name = proto.name();
  g.doc_string = proto.doc_string();
  DS_RETURN_IF_ERROR(valueInfosFromProto(proto.input(), g.inputs, st));
  DS_RETURN_IF_ERROR(valueInfosFromProto(proto.output(), g.outputs, st));
  DS_RETURN_IF_ERROR(valueInfosFromProto(proto.value_info(), g.value_info, st));

  std::unordered_set<std::string> seen;
  for (const onnx::TensorProto& tp : proto.initializer()) {
    const std::string label = "initializer '" + tp.name() + "'";
    // The IR keys initializers by name; a second one would silently replace the first.
    if (!seen.insert(tp.name()).second) {
      return invalidArgument(label + " appears twice in graph '" + g.name + "'");
    }
    DS_ASSIGN_OR_RETURN(Tensor t, tensorFromProto(tp, st.source, label));
    g.setInitializer(tp.name(), std::move(t), tp.doc_string());
  }
  for (const auto& sparse : proto.sparse_initializer()) {
    g.opaque_sparse_initializers.push_back(sparse.SerializeAsString());
  }
  st.quantization_annotations_seen += proto.quantization_annotation_size();

  g.nodes.reserve(static_cast<size_t>(proto.node_size()));
  for (const auto& np : proto.node()) {
    DS_ASSIGN_OR_RETURN(Node n, nodeFromProto(np, st));
    g.nodes.push_back(std::move(n));
  }
  return g;
}

// ONNX forbids recursive model-local functions; onnx's shape inference would expand one without
// end (stack overflow), so a cycle is refused before anything runs on the model.
Status checkFunctionRecursion(const onnx::ModelProto& proto) {
  std::map<std::string, std::vector<std::string>> calls;  // "domain:name" -> callees
  for (const auto& f : proto.functions()) calls[f.domain() + ":" + f.name()];
  for (const auto& f : proto.functions()) {
    auto& callees = calls[f.domain() + ":" + f.name()];
    for (const auto& n : f.node()) {
      std::string key = n.domain() + ":" + n.op_type();
      if (calls.count(key)) callees.push_back(std::move(key));
    }
  }
  enum class Mark { kNone, kActive, kDone };
  std::map<std::string, Mark> mark;
  std::string cycle_at;
  // Iterative DFS: the call graph comes from the file and could be deep.
  for (const auto& [root, unused] : calls) {
    if (mark[root] != Mark::kNone) continue;
    std::vector<std::pair<std::string, size_t>> stack{{root, 0}};
    mark[root] = Mark::kActive;
    while (!stack.empty()) {
      auto& [fn, next] = stack.back();
      const auto& callees = calls[fn];
      if (next == callees.size()) {
        mark[fn] = Mark::kDone;
        stack.pop_back();
        continue;
      }
      const std::string callee = callees[next++];
      if (mark[callee] == Mark::kActive) {
        return invalidArgument("model-local function '" + callee +
                               "' calls itself (directly or through other functions); ONNX "
                               "forbids recursive functions");
      }
      if (mark[callee] == Mark::kNone) {
        mark[callee] = Mark::kActive;
        stack.emplace_back(callee, 0);
      }
    }
  }
  return Status::ok();
}

}  // namespace

std::optional<TensorType> tensorTypeFromProto(const onnx::TypeProto& type) {
  if (type.value_case() != onnx::TypeProto::kTensorType) return std::nullopt;
  const auto& tensor = type.tensor_type();
  if (!isKnownDType(tensor.elem_type())) return std::nullopt;
  TensorType t;
  t.dtype = static_cast<DType>(tensor.elem_type());
  t.has_shape = tensor.has_shape();
  for (const auto& d : tensor.shape().dim()) {
    Dim dim;
    if (d.has_dim_value() && d.dim_value() >= 0)
      dim.value = d.dim_value();
    else if (d.has_dim_param())
      dim.param = d.dim_param();
    t.dims.push_back(std::move(dim));
  }
  return t;
}

Result<Model> modelFromProto(const onnx::ModelProto& proto, const TensorSource& source,
                             std::vector<std::string>* warnings) {
  ConvertState st;
  st.source = source;
  st.warnings = warnings;

  Model m;
  m.ir_version = proto.ir_version();
  for (const auto& o : proto.opset_import()) {
    m.opset_imports.push_back({o.domain(), o.version()});
    st.imported_domains.insert(isDefaultDomain(o.domain()) ? std::string() : o.domain());
  }
  m.producer_name = proto.producer_name();
  m.producer_version = proto.producer_version();
  m.domain = proto.domain();
  m.model_version = proto.model_version();
  m.doc_string = proto.doc_string();
  for (const auto& kv : proto.metadata_props()) m.metadata.emplace_back(kv.key(), kv.value());

  DS_RETURN_IF_ERROR(checkFunctionRecursion(proto));
  for (const auto& f : proto.functions()) {
    st.function_domains.insert(f.domain());
    m.opaque_functions.push_back(f.SerializeAsString());
  }
  for (const auto& t : proto.training_info())
    m.opaque_training_info.push_back(t.SerializeAsString());

  DS_ASSIGN_OR_RETURN(m.graph, graphFromProto(proto.graph(), st));

  for (const auto& o : proto.opset_import()) {
    const std::string key = isDefaultDomain(o.domain()) ? std::string() : o.domain();
    if (!isKnownDomain(o.domain()) && !st.function_domains.count(o.domain()) &&
        !st.used_domains.count(key)) {
      st.warn("opset_import imports domain '" + o.domain() + "' (version " +
              std::to_string(o.version()) + "), which no node uses and DetSlim does not know");
    }
  }
  if (st.negative_dims_seen > 0) {
    st.warn(std::to_string(st.negative_dims_seen) +
            " declared dims are negative; they are read as unknown dims");
  }
  if (st.quantization_annotations_seen > 0) {
    st.warn("the graph has " + std::to_string(st.quantization_annotations_seen) +
            " quantization_annotation entries; DetSlim does not keep them when saving");
  }
  return m;
}

namespace {

// Copies of a Model share subgraphs through shared_ptr; writing inferred types into one must not
// change the others.
void unshare(std::shared_ptr<Graph>& g) {
  if (g.use_count() > 1) g = std::make_shared<Graph>(*g);
}

}  // namespace

void collectInferredTypes(const onnx::GraphProto& proto, Graph& graph) {
  graph.inferred_types.clear();
  for (const auto* list : {&proto.value_info(), &proto.output(), &proto.input()}) {
    for (const auto& vi : *list) {
      if (!vi.has_type()) continue;
      std::optional<TensorType> t = tensorTypeFromProto(vi.type());
      if (!t || (t->dtype == DType::kUndefined && !t->has_shape)) continue;
      graph.inferred_types.emplace(vi.name(), std::move(*t));
    }
  }
  // Subgraphs: the IR was built from this proto, so nodes and attributes line up one to one.
  const size_t nodes = std::min(graph.nodes.size(), static_cast<size_t>(proto.node_size()));
  for (size_t i = 0; i < nodes; ++i) {
    Node& node = graph.nodes[i];
    const auto& np = proto.node(static_cast<int>(i));
    const size_t attrs = std::min(node.attributes.size(), static_cast<size_t>(np.attribute_size()));
    for (size_t k = 0; k < attrs; ++k) {
      Attribute& a = node.attributes[k];
      const auto& ap = np.attribute(static_cast<int>(k));
      if (a.kind == Attribute::Kind::kGraph && a.g && ap.has_g()) {
        unshare(a.g);
        collectInferredTypes(ap.g(), *a.g);
      }
      if (a.kind == Attribute::Kind::kGraphs) {
        const size_t n = std::min(a.graphs.size(), static_cast<size_t>(ap.graphs_size()));
        for (size_t j = 0; j < n; ++j) {
          if (!a.graphs[j]) continue;
          unshare(a.graphs[j]);
          collectInferredTypes(ap.graphs(static_cast<int>(j)), *a.graphs[j]);
        }
      }
    }
  }
}

}  // namespace detslim::onnx_detail
