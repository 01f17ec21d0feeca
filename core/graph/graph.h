#pragma once
// The graph IR: a Model holds one Graph of Nodes wired by value names (as ONNX is), initializers
// as Tensors, declared and inferred value types, opset imports and metadata. Whatever the IR does
// not model (sparse initializers, non-tensor attribute kinds, model-local functions, training
// info) is kept as opaque serialized bytes so a load -> save round trip loses nothing.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/base/status.h"
#include "core/base/tensor.h"

namespace detslim {

// One dimension of a declared shape: a value (>= 0), a symbolic name, or unknown (-1, "").
struct Dim {
  int64_t value = -1;
  std::string param;
  bool isStatic() const { return value >= 0; }
  bool operator==(const Dim&) const = default;
};

struct TensorType {
  DType dtype = DType::kUndefined;
  bool has_shape = false;  // false: rank unknown
  std::vector<Dim> dims;
  // The static shape, or nullopt when the rank or any dim is unknown.
  std::optional<Shape> staticShape() const;
  // "float32[1,3,640,640]", "float32[batch,3,?,?]", "float32[?]" for unknown rank.
  std::string toString() const;
  bool operator==(const TensorType&) const = default;
};

struct ValueInfo {
  std::string name;
  TensorType type;
  // Serialized ONNX TypeProto when the value is not a plain tensor (sequence, map, optional,
  // sparse tensor); empty for tensors.
  std::string opaque_type;
  std::string doc_string;
  bool operator==(const ValueInfo&) const = default;
};

class Graph;

struct Attribute {
  enum class Kind {
    kUndefined, kFloat, kInt, kString, kTensor, kGraph,
    kFloats, kInts, kStrings, kTensors, kGraphs,
    kOpaque,  // sparse tensors, type protos: kept as a serialized AttributeProto
  };

  std::string name;
  Kind kind = Kind::kUndefined;
  float f = 0.0f;
  int64_t i = 0;
  std::string s;
  Tensor t;
  std::shared_ptr<Graph> g;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  std::vector<Tensor> tensors;
  std::vector<std::shared_ptr<Graph>> graphs;
  std::string opaque;         // serialized AttributeProto for kOpaque
  std::string ref_attr_name;  // set inside function bodies
  std::string doc_string;

  static Attribute makeFloat(std::string name, float v);
  static Attribute makeInt(std::string name, int64_t v);
  static Attribute makeString(std::string name, std::string v);
  static Attribute makeTensor(std::string name, Tensor v);
  static Attribute makeFloats(std::string name, std::vector<float> v);
  static Attribute makeInts(std::string name, std::vector<int64_t> v);
  static Attribute makeStrings(std::string name, std::vector<std::string> v);
  static Attribute makeGraph(std::string name, Graph v);
};

std::string_view attributeKindName(Attribute::Kind kind);

struct Node {
  std::string name;
  std::string op_type;
  std::string domain;  // "" is the default ai.onnx domain
  std::vector<std::string> inputs;  // "" marks an omitted optional input
  std::vector<std::string> outputs;
  std::vector<Attribute> attributes;
  std::string doc_string;

  const Attribute* attr(std::string_view attr_name) const;
  bool hasAttr(std::string_view attr_name) const { return attr(attr_name) != nullptr; }
  // Typed access. The *Or forms return the default when the attribute is absent; the Result
  // forms refuse an absent attribute or one of another kind, naming node and attribute.
  int64_t intOr(std::string_view attr_name, int64_t def) const;
  float floatOr(std::string_view attr_name, float def) const;
  std::string stringOr(std::string_view attr_name, std::string def) const;
  std::vector<int64_t> intsOr(std::string_view attr_name, std::vector<int64_t> def) const;
  std::vector<float> floatsOr(std::string_view attr_name, std::vector<float> def) const;
  Result<int64_t> getInt(std::string_view attr_name) const;
  Result<float> getFloat(std::string_view attr_name) const;
  Result<std::string> getString(std::string_view attr_name) const;
  Result<std::vector<int64_t>> getInts(std::string_view attr_name) const;
  Result<Tensor> getTensor(std::string_view attr_name) const;
  void setAttr(Attribute a);  // replaces an attribute of the same name
  bool removeAttr(std::string_view attr_name);
  // Input i, or "" when the node has fewer inputs (optional inputs left out).
  const std::string& input(size_t i) const;
  // "Conv 'model.0/conv/Conv'" for messages.
  std::string describe() const;
};

struct NamedTensor {
  std::string name;
  Tensor tensor;
  std::string doc_string;
};

class Graph {
 public:
  std::string name;
  std::string doc_string;
  std::vector<ValueInfo> inputs;
  std::vector<ValueInfo> outputs;
  std::vector<ValueInfo> value_info;  // as declared in the file; saved back unchanged
  std::vector<Node> nodes;            // in file order; see topologicalOrder()
  std::vector<std::string> opaque_sparse_initializers;  // serialized SparseTensorProto
  // Types found by shape inference (or a pass), by value name. Not written back to files.
  std::unordered_map<std::string, TensorType> inferred_types;

  // Initializers keep their file order.
  const std::vector<NamedTensor>& initializers() const { return initializers_; }
  const Tensor* initializer(std::string_view value_name) const;
  bool isInitializer(std::string_view value_name) const { return initializer(value_name) != nullptr; }
  // Adds or replaces.
  void setInitializer(std::string value_name, Tensor tensor, std::string doc_string = {});
  bool removeInitializer(std::string_view value_name);
  void clearInitializers();

  // The best known type of a value: inferred, then declared (inputs, outputs, value_info), then
  // an initializer's. nullptr when nothing is known.
  const TensorType* typeOf(std::string_view value_name) const;
  std::optional<Shape> staticShapeOf(std::string_view value_name) const;

  // Node indices such that producers come before consumers; refuses a cycle, naming a node on it.
  // Graph inputs, initializers and values captured from an outer scope count as available.
  Result<std::vector<size_t>> topologicalOrder() const;
  // Reorders `nodes` topologically (stable for graphs already sorted).
  Status sortTopologically();
  // Every value name a node or subgraph reads from this graph's scope (subgraph captures too).
  std::vector<std::string> usedValueNames() const;
  // A name not used by any value or node in the graph, built from `stem`.
  std::string uniqueName(std::string_view stem) const;

 private:
  std::vector<NamedTensor> initializers_;
  std::unordered_map<std::string, size_t> initializer_index_;
  std::unordered_map<std::string, TensorType> initializer_types_;
};

// Producer / consumer queries over a graph. Built once; invalid after the graph's nodes change.
class GraphIndex {
 public:
  explicit GraphIndex(const Graph& graph);
  // Index of the node producing `value_name`, or nullopt for inputs, initializers and unknowns.
  std::optional<size_t> producer(std::string_view value_name) const;
  // Indices of nodes reading `value_name` (a node reading it twice is listed once).
  const std::vector<size_t>& consumers(std::string_view value_name) const;
  bool isGraphOutput(std::string_view value_name) const;

 private:
  std::unordered_map<std::string, size_t> producer_;
  std::unordered_map<std::string, std::vector<size_t>> consumers_;
  std::unordered_map<std::string, bool> graph_outputs_;
};

struct OpsetImport {
  std::string domain;  // "" = ai.onnx
  int64_t version = 0;
  bool operator==(const OpsetImport&) const = default;
};

struct Model {
  int64_t ir_version = 8;
  std::vector<OpsetImport> opset_imports;
  std::string producer_name;
  std::string producer_version;
  std::string domain;
  int64_t model_version = 0;
  std::string doc_string;
  std::vector<std::pair<std::string, std::string>> metadata;  // in file order
  Graph graph;
  std::vector<std::string> opaque_functions;      // serialized FunctionProto
  std::vector<std::string> opaque_training_info;  // serialized TrainingInfoProto

  // Opset version imported for a domain ("" and "ai.onnx" are the same), or 0 when absent.
  int64_t opsetVersion(std::string_view domain_name = "") const;
  const std::string* metadataValue(std::string_view key) const;
  // Class names from Ultralytics-style metadata `names` ("{0: 'person', 1: 'bicycle'}" or a
  // list); empty when absent or unreadable.
  std::vector<std::string> classNames() const;
};

// Human-readable difference between two graphs (structure, attributes, types, initializer bytes),
// or "" when they are the same. Used by round-trip tests and by `detslim` to explain changes.
std::string diffGraphs(const Graph& a, const Graph& b);
std::string diffModels(const Model& a, const Model& b);

}  // namespace detslim
