#include "core/graph/graph.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <queue>
#include <sstream>
#include <unordered_set>

namespace detslim {

std::optional<Shape> TensorType::staticShape() const {
  if (!has_shape) return std::nullopt;
  Shape s;
  s.reserve(dims.size());
  for (const Dim& d : dims) {
    if (!d.isStatic()) return std::nullopt;
    s.push_back(d.value);
  }
  return s;
}

std::string TensorType::toString() const {
  std::string s(dtypeName(dtype));
  if (!has_shape) return s + "[?]";
  s += "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) s += ",";
    if (dims[i].isStatic()) s += std::to_string(dims[i].value);
    else if (!dims[i].param.empty()) s += dims[i].param;
    else s += "?";
  }
  return s + "]";
}

// ---- Attribute --------------------------------------------------------------------------

Attribute Attribute::makeFloat(std::string name, float v) {
  Attribute a;
  a.name = std::move(name);
  a.kind = Kind::kFloat;
  a.f = v;
  return a;
}
Attribute Attribute::makeInt(std::string name, int64_t v) {
  Attribute a;
  a.name = std::move(name);
  a.kind = Kind::kInt;
  a.i = v;
  return a;
}
Attribute Attribute::makeString(std::string name, std::string v) {
  Attribute a;
  a.name = std::move(name);
  a.kind = Kind::kString;
  a.s = std::move(v);
  return a;
}
Attribute Attribute::makeTensor(std::string name, Tensor v) {
  Attribute a;
  a.name = std::move(name);
  a.kind = Kind::kTensor;
  a.t = std::move(v);
  return a;
}
Attribute Attribute::makeFloats(std::string name, std::vector<float> v) {
  Attribute a;
  a.name = std::move(name);
  a.kind = Kind::kFloats;
  a.floats = std::move(v);
  return a;
}
Attribute Attribute::makeInts(std::string name, std::vector<int64_t> v) {
  Attribute a;
  a.name = std::move(name);
  a.kind = Kind::kInts;
  a.ints = std::move(v);
  return a;
}
Attribute Attribute::makeStrings(std::string name, std::vector<std::string> v) {
  Attribute a;
  a.name = std::move(name);
  a.kind = Kind::kStrings;
  a.strings = std::move(v);
  return a;
}
Attribute Attribute::makeGraph(std::string name, Graph v) {
  Attribute a;
  a.name = std::move(name);
  a.kind = Kind::kGraph;
  a.g = std::make_shared<Graph>(std::move(v));
  return a;
}

std::string_view attributeKindName(Attribute::Kind kind) {
  switch (kind) {
    case Attribute::Kind::kUndefined: return "undefined";
    case Attribute::Kind::kFloat: return "float";
    case Attribute::Kind::kInt: return "int";
    case Attribute::Kind::kString: return "string";
    case Attribute::Kind::kTensor: return "tensor";
    case Attribute::Kind::kGraph: return "graph";
    case Attribute::Kind::kFloats: return "floats";
    case Attribute::Kind::kInts: return "ints";
    case Attribute::Kind::kStrings: return "strings";
    case Attribute::Kind::kTensors: return "tensors";
    case Attribute::Kind::kGraphs: return "graphs";
    case Attribute::Kind::kOpaque: return "opaque";
  }
  return "undefined";
}

// ---- Node -------------------------------------------------------------------------------

const Attribute* Node::attr(std::string_view attr_name) const {
  for (const Attribute& a : attributes) {
    if (a.name == attr_name) return &a;
  }
  return nullptr;
}

int64_t Node::intOr(std::string_view attr_name, int64_t def) const {
  const Attribute* a = attr(attr_name);
  return a && a->kind == Attribute::Kind::kInt ? a->i : def;
}
float Node::floatOr(std::string_view attr_name, float def) const {
  const Attribute* a = attr(attr_name);
  return a && a->kind == Attribute::Kind::kFloat ? a->f : def;
}
std::string Node::stringOr(std::string_view attr_name, std::string def) const {
  const Attribute* a = attr(attr_name);
  return a && a->kind == Attribute::Kind::kString ? a->s : def;
}
std::vector<int64_t> Node::intsOr(std::string_view attr_name, std::vector<int64_t> def) const {
  const Attribute* a = attr(attr_name);
  return a && a->kind == Attribute::Kind::kInts ? a->ints : def;
}
std::vector<float> Node::floatsOr(std::string_view attr_name, std::vector<float> def) const {
  const Attribute* a = attr(attr_name);
  return a && a->kind == Attribute::Kind::kFloats ? a->floats : def;
}

namespace {

Status attrError(const Node& node, std::string_view attr_name, const Attribute* a,
                 Attribute::Kind want) {
  if (!a) return notFound(node.describe() + ": attribute '" + std::string(attr_name) + "' is missing");
  return invalidArgument(node.describe() + ": attribute '" + std::string(attr_name) + "' is " +
                         std::string(attributeKindName(a->kind)) + ", expected " +
                         std::string(attributeKindName(want)));
}

}  // namespace

Result<int64_t> Node::getInt(std::string_view attr_name) const {
  const Attribute* a = attr(attr_name);
  if (!a || a->kind != Attribute::Kind::kInt) return attrError(*this, attr_name, a, Attribute::Kind::kInt);
  return a->i;
}
Result<float> Node::getFloat(std::string_view attr_name) const {
  const Attribute* a = attr(attr_name);
  if (!a || a->kind != Attribute::Kind::kFloat) return attrError(*this, attr_name, a, Attribute::Kind::kFloat);
  return a->f;
}
Result<std::string> Node::getString(std::string_view attr_name) const {
  const Attribute* a = attr(attr_name);
  if (!a || a->kind != Attribute::Kind::kString) return attrError(*this, attr_name, a, Attribute::Kind::kString);
  return a->s;
}
Result<std::vector<int64_t>> Node::getInts(std::string_view attr_name) const {
  const Attribute* a = attr(attr_name);
  if (!a || a->kind != Attribute::Kind::kInts) return attrError(*this, attr_name, a, Attribute::Kind::kInts);
  return a->ints;
}
Result<Tensor> Node::getTensor(std::string_view attr_name) const {
  const Attribute* a = attr(attr_name);
  if (!a || a->kind != Attribute::Kind::kTensor) return attrError(*this, attr_name, a, Attribute::Kind::kTensor);
  return a->t;
}

void Node::setAttr(Attribute a) {
  for (Attribute& existing : attributes) {
    if (existing.name == a.name) {
      existing = std::move(a);
      return;
    }
  }
  attributes.push_back(std::move(a));
}

bool Node::removeAttr(std::string_view attr_name) {
  auto it = std::find_if(attributes.begin(), attributes.end(),
                         [&](const Attribute& a) { return a.name == attr_name; });
  if (it == attributes.end()) return false;
  attributes.erase(it);
  return true;
}

const std::string& Node::input(size_t i) const {
  static const std::string kEmpty;
  return i < inputs.size() ? inputs[i] : kEmpty;
}

std::string Node::describe() const {
  std::string op = domain.empty() ? op_type : domain + "::" + op_type;
  return op + " '" + (name.empty() ? (outputs.empty() ? std::string("?") : "-> " + outputs[0]) : name) + "'";
}

// ---- Graph ------------------------------------------------------------------------------

const Tensor* Graph::initializer(std::string_view value_name) const {
  auto it = initializer_index_.find(std::string(value_name));
  return it == initializer_index_.end() ? nullptr : &initializers_[it->second].tensor;
}

void Graph::setInitializer(std::string value_name, Tensor tensor, std::string doc) {
  TensorType& type = initializer_types_[value_name];
  type.dtype = tensor.dtype();
  type.has_shape = true;
  type.dims.clear();
  for (int64_t d : tensor.shape()) type.dims.push_back(Dim{d, {}});
  auto it = initializer_index_.find(value_name);
  if (it != initializer_index_.end()) {
    initializers_[it->second].tensor = std::move(tensor);
    if (!doc.empty()) initializers_[it->second].doc_string = std::move(doc);
    return;
  }
  initializer_index_.emplace(value_name, initializers_.size());
  initializers_.push_back({std::move(value_name), std::move(tensor), std::move(doc)});
}

bool Graph::removeInitializer(std::string_view value_name) {
  auto it = initializer_index_.find(std::string(value_name));
  if (it == initializer_index_.end()) return false;
  initializers_.erase(initializers_.begin() + static_cast<std::ptrdiff_t>(it->second));
  initializer_types_.erase(std::string(value_name));
  initializer_index_.clear();
  for (size_t i = 0; i < initializers_.size(); ++i) initializer_index_.emplace(initializers_[i].name, i);
  return true;
}

void Graph::clearInitializers() {
  initializers_.clear();
  initializer_index_.clear();
  initializer_types_.clear();
}

const TensorType* Graph::typeOf(std::string_view value_name) const {
  const std::string key(value_name);
  if (auto it = inferred_types.find(key); it != inferred_types.end()) return &it->second;
  for (const auto* list : {&inputs, &outputs, &value_info}) {
    for (const ValueInfo& v : *list) {
      if (v.name == value_name && v.type.dtype != DType::kUndefined) return &v.type;
    }
  }
  if (auto it = initializer_types_.find(key); it != initializer_types_.end()) return &it->second;
  return nullptr;
}

std::optional<Shape> Graph::staticShapeOf(std::string_view value_name) const {
  if (const Tensor* t = initializer(value_name)) return t->shape();
  const TensorType* type = typeOf(value_name);
  return type ? type->staticShape() : std::nullopt;
}

namespace {

// Names a subgraph reads that it does not define itself (outer-scope captures), recursively.
void collectCaptures(const Graph& g, std::unordered_set<std::string>& out) {
  std::unordered_set<std::string> defined;
  for (const ValueInfo& v : g.inputs) defined.insert(v.name);
  for (const NamedTensor& t : g.initializers()) defined.insert(t.name);
  for (const Node& n : g.nodes) {
    for (const std::string& o : n.outputs) defined.insert(o);
  }
  auto use = [&](const std::string& name) {
    if (!name.empty() && !defined.count(name)) out.insert(name);
  };
  for (const Node& n : g.nodes) {
    for (const std::string& i : n.inputs) use(i);
    for (const Attribute& a : n.attributes) {
      std::unordered_set<std::string> inner;
      if (a.g) collectCaptures(*a.g, inner);
      for (const auto& sg : a.graphs) {
        if (sg) collectCaptures(*sg, inner);
      }
      for (const std::string& name : inner) use(name);
    }
  }
  for (const ValueInfo& v : g.outputs) use(v.name);
}

std::vector<std::string> nodeReads(const Node& n) {
  std::vector<std::string> reads;
  for (const std::string& i : n.inputs) {
    if (!i.empty()) reads.push_back(i);
  }
  for (const Attribute& a : n.attributes) {
    std::unordered_set<std::string> inner;
    if (a.g) collectCaptures(*a.g, inner);
    for (const auto& sg : a.graphs) {
      if (sg) collectCaptures(*sg, inner);
    }
    reads.insert(reads.end(), inner.begin(), inner.end());
  }
  return reads;
}

}  // namespace

Result<std::vector<size_t>> Graph::topologicalOrder() const {
  std::unordered_map<std::string, size_t> producer;
  for (size_t i = 0; i < nodes.size(); ++i) {
    for (const std::string& o : nodes[i].outputs) {
      if (!o.empty()) producer.emplace(o, i);
    }
  }
  std::vector<int> pending(nodes.size(), 0);
  std::vector<std::vector<size_t>> users(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    std::unordered_set<size_t> deps;
    for (const std::string& r : nodeReads(nodes[i])) {
      auto it = producer.find(r);
      if (it != producer.end() && it->second != i) deps.insert(it->second);
      else if (it != producer.end() && it->second == i) {
        return invalidArgument(nodes[i].describe() + " reads its own output '" + r + "'");
      }
    }
    pending[i] = static_cast<int>(deps.size());
    for (size_t d : deps) users[d].push_back(i);
  }
  // Kahn's algorithm with a min-heap on file position keeps already-sorted graphs unchanged.
  std::priority_queue<size_t, std::vector<size_t>, std::greater<>> ready;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (pending[i] == 0) ready.push(i);
  }
  std::vector<size_t> order;
  order.reserve(nodes.size());
  while (!ready.empty()) {
    size_t i = ready.top();
    ready.pop();
    order.push_back(i);
    for (size_t u : users[i]) {
      if (--pending[u] == 0) ready.push(u);
    }
  }
  if (order.size() != nodes.size()) {
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (pending[i] > 0) {
        return invalidArgument("graph '" + name + "' has a cycle through " + nodes[i].describe());
      }
    }
  }
  return order;
}

Status Graph::sortTopologically() {
  DS_ASSIGN_OR_RETURN(std::vector<size_t> order, topologicalOrder());
  std::vector<Node> sorted;
  sorted.reserve(nodes.size());
  for (size_t i : order) sorted.push_back(std::move(nodes[i]));
  nodes = std::move(sorted);
  return Status::ok();
}

std::vector<std::string> Graph::usedValueNames() const {
  std::unordered_set<std::string> used;
  for (const Node& n : nodes) {
    for (const std::string& r : nodeReads(n)) used.insert(r);
  }
  for (const ValueInfo& v : outputs) used.insert(v.name);
  std::vector<std::string> out(used.begin(), used.end());
  std::sort(out.begin(), out.end());
  return out;
}

std::string Graph::uniqueName(std::string_view stem) const {
  std::unordered_set<std::string> taken;
  for (const ValueInfo& v : inputs) taken.insert(v.name);
  for (const ValueInfo& v : outputs) taken.insert(v.name);
  for (const NamedTensor& t : initializers_) taken.insert(t.name);
  for (const Node& n : nodes) {
    taken.insert(n.name);
    for (const std::string& o : n.outputs) taken.insert(o);
    for (const std::string& i : n.inputs) taken.insert(i);
  }
  std::string base(stem);
  if (!taken.count(base)) return base;
  for (int k = 1;; ++k) {
    std::string candidate = base + "_" + std::to_string(k);
    if (!taken.count(candidate)) return candidate;
  }
}

// ---- GraphIndex -------------------------------------------------------------------------

GraphIndex::GraphIndex(const Graph& graph) {
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const Node& n = graph.nodes[i];
    for (const std::string& o : n.outputs) {
      if (!o.empty()) producer_.emplace(o, i);
    }
    std::unordered_set<std::string> seen;
    for (const std::string& r : nodeReads(n)) {
      if (seen.insert(r).second) consumers_[r].push_back(i);
    }
  }
  for (const ValueInfo& v : graph.outputs) graph_outputs_[v.name] = true;
}

std::optional<size_t> GraphIndex::producer(std::string_view value_name) const {
  auto it = producer_.find(std::string(value_name));
  if (it == producer_.end()) return std::nullopt;
  return it->second;
}

const std::vector<size_t>& GraphIndex::consumers(std::string_view value_name) const {
  static const std::vector<size_t> kNone;
  auto it = consumers_.find(std::string(value_name));
  return it == consumers_.end() ? kNone : it->second;
}

bool GraphIndex::isGraphOutput(std::string_view value_name) const {
  return graph_outputs_.count(std::string(value_name)) > 0;
}

// ---- Model ------------------------------------------------------------------------------

int64_t Model::opsetVersion(std::string_view domain_name) const {
  const bool want_default = domain_name.empty() || domain_name == "ai.onnx";
  for (const OpsetImport& o : opset_imports) {
    const bool is_default = o.domain.empty() || o.domain == "ai.onnx";
    if ((want_default && is_default) || (!want_default && o.domain == domain_name)) return o.version;
  }
  return 0;
}

const std::string* Model::metadataValue(std::string_view key) const {
  for (const auto& [k, v] : metadata) {
    if (k == key) return &v;
  }
  return nullptr;
}

std::vector<std::string> Model::classNames() const {
  const std::string* names = metadataValue("names");
  if (!names) return {};
  // Accepts Ultralytics' Python-dict repr {0: 'person', 1: 'bicycle'} and list reprs
  // ['person', 'bicycle'] / ["person", ...]: the quoted strings in order of appearance, placed
  // at their integer key when one precedes them.
  std::vector<std::pair<int64_t, std::string>> entries;
  const std::string& s = *names;
  int64_t next_index = 0;
  int64_t pending_key = -1;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (std::isdigit(static_cast<unsigned char>(c))) {
      size_t j = i;
      while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
      size_t k = j;
      while (k < s.size() && s[k] == ' ') ++k;
      if (k < s.size() && s[k] == ':') pending_key = std::stoll(s.substr(i, j - i));
      i = j - 1;
    } else if (c == '\'' || c == '"') {
      size_t j = s.find(c, i + 1);
      if (j == std::string::npos) return {};
      int64_t key = pending_key >= 0 ? pending_key : next_index;
      entries.emplace_back(key, s.substr(i + 1, j - i - 1));
      next_index = key + 1;
      pending_key = -1;
      i = j;
    }
  }
  int64_t max_key = -1;
  for (const auto& e : entries) max_key = std::max(max_key, e.first);
  if (max_key < 0 || max_key > 100000) return {};
  std::vector<std::string> out(static_cast<size_t>(max_key + 1));
  for (auto& e : entries) out[static_cast<size_t>(e.first)] = std::move(e.second);
  return out;
}

// ---- diff -------------------------------------------------------------------------------

namespace {

std::string diffAttribute(const Attribute& a, const Attribute& b);

void diffValueInfos(const char* what, const std::vector<ValueInfo>& a,
                    const std::vector<ValueInfo>& b, std::ostringstream& out) {
  if (a.size() != b.size()) {
    out << what << ": " << a.size() << " vs " << b.size() << " entries\n";
    return;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (!(a[i] == b[i])) {
      out << what << "[" << i << "] '" << a[i].name << "': " << a[i].type.toString() << " vs '"
          << b[i].name << "': " << b[i].type.toString() << "\n";
    }
  }
}

std::string diffAttribute(const Attribute& a, const Attribute& b) {
  if (a.name != b.name) return "name " + a.name + " vs " + b.name;
  if (a.kind != b.kind) return "kind differs";
  if (a.ref_attr_name != b.ref_attr_name) return "ref_attr_name differs";
  switch (a.kind) {
    case Attribute::Kind::kFloat: {
      if (std::memcmp(&a.f, &b.f, sizeof a.f) != 0) return "value differs";
      break;
    }
    case Attribute::Kind::kInt: if (a.i != b.i) return "value differs"; break;
    case Attribute::Kind::kString: if (a.s != b.s) return "value differs"; break;
    case Attribute::Kind::kTensor: if (!a.t.bitwiseEqual(b.t)) return "tensor differs"; break;
    case Attribute::Kind::kGraph: {
      std::string d = diffGraphs(*a.g, *b.g);
      if (!d.empty()) return "subgraph: " + d;
      break;
    }
    case Attribute::Kind::kFloats:
      if (a.floats.size() != b.floats.size() ||
          (!a.floats.empty() &&
           std::memcmp(a.floats.data(), b.floats.data(), a.floats.size() * sizeof(float)) != 0)) {
        return "values differ";
      }
      break;
    case Attribute::Kind::kInts: if (a.ints != b.ints) return "values differ"; break;
    case Attribute::Kind::kStrings: if (a.strings != b.strings) return "values differ"; break;
    case Attribute::Kind::kTensors:
      if (a.tensors.size() != b.tensors.size()) return "tensor count differs";
      for (size_t i = 0; i < a.tensors.size(); ++i) {
        if (!a.tensors[i].bitwiseEqual(b.tensors[i])) return "tensor " + std::to_string(i) + " differs";
      }
      break;
    case Attribute::Kind::kGraphs:
      if (a.graphs.size() != b.graphs.size()) return "graph count differs";
      for (size_t i = 0; i < a.graphs.size(); ++i) {
        std::string d = diffGraphs(*a.graphs[i], *b.graphs[i]);
        if (!d.empty()) return "subgraph " + std::to_string(i) + ": " + d;
      }
      break;
    case Attribute::Kind::kOpaque: if (a.opaque != b.opaque) return "opaque bytes differ"; break;
    case Attribute::Kind::kUndefined: break;
  }
  return {};
}

}  // namespace

std::string diffGraphs(const Graph& a, const Graph& b) {
  std::ostringstream out;
  if (a.name != b.name) out << "graph name '" << a.name << "' vs '" << b.name << "'\n";
  diffValueInfos("inputs", a.inputs, b.inputs, out);
  diffValueInfos("outputs", a.outputs, b.outputs, out);
  diffValueInfos("value_info", a.value_info, b.value_info, out);
  if (a.nodes.size() != b.nodes.size()) {
    out << "node count " << a.nodes.size() << " vs " << b.nodes.size() << "\n";
  } else {
    for (size_t i = 0; i < a.nodes.size(); ++i) {
      const Node& x = a.nodes[i];
      const Node& y = b.nodes[i];
      if (x.name != y.name || x.op_type != y.op_type || x.domain != y.domain ||
          x.inputs != y.inputs || x.outputs != y.outputs) {
        out << "node " << i << ": " << x.describe() << " vs " << y.describe() << "\n";
        continue;
      }
      if (x.attributes.size() != y.attributes.size()) {
        out << "node " << x.describe() << ": attribute count differs\n";
        continue;
      }
      for (size_t k = 0; k < x.attributes.size(); ++k) {
        std::string d = diffAttribute(x.attributes[k], y.attributes[k]);
        if (!d.empty()) out << "node " << x.describe() << " attribute '" << x.attributes[k].name << "': " << d << "\n";
      }
    }
  }
  const auto& ia = a.initializers();
  const auto& ib = b.initializers();
  if (ia.size() != ib.size()) {
    out << "initializer count " << ia.size() << " vs " << ib.size() << "\n";
  } else {
    for (size_t i = 0; i < ia.size(); ++i) {
      if (ia[i].name != ib[i].name) out << "initializer " << i << " name '" << ia[i].name << "' vs '" << ib[i].name << "'\n";
      else if (!ia[i].tensor.bitwiseEqual(ib[i].tensor)) out << "initializer '" << ia[i].name << "' bytes differ\n";
    }
  }
  if (a.opaque_sparse_initializers != b.opaque_sparse_initializers) out << "sparse initializers differ\n";
  return out.str();
}

std::string diffModels(const Model& a, const Model& b) {
  std::ostringstream out;
  if (a.ir_version != b.ir_version) out << "ir_version " << a.ir_version << " vs " << b.ir_version << "\n";
  if (a.opset_imports != b.opset_imports) out << "opset imports differ\n";
  if (a.producer_name != b.producer_name || a.producer_version != b.producer_version) out << "producer differs\n";
  if (a.domain != b.domain || a.model_version != b.model_version || a.doc_string != b.doc_string) out << "model header differs\n";
  if (a.metadata != b.metadata) out << "metadata differs\n";
  if (a.opaque_functions != b.opaque_functions) out << "functions differ\n";
  if (a.opaque_training_info != b.opaque_training_info) out << "training info differs\n";
  out << diffGraphs(a.graph, b.graph);
  return out.str();
}

}  // namespace detslim
