#pragma once
// GraphBuilder: builds Models in code (tests, passes, synthetic benchmarks).
//
//   GraphBuilder b("tiny", /*opset=*/17);
//   auto x = b.input("x", DType::kFloat32, {1, 3, 8, 8});
//   auto w = b.constant("w", Tensor(DType::kFloat32, {4, 3, 3, 3}));
//   auto y = b.node("Conv", {x, w}, {Attribute::makeInts("pads", {1, 1, 1, 1})});
//   b.output(y);
//   Model m = b.build();

#include <initializer_list>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/graph/graph.h"

namespace detslim {

class GraphBuilder {
 public:
  explicit GraphBuilder(std::string graph_name = "graph", int64_t opset = 17);

  // Declares a graph input; dims < 0 are unknown. Returns the value name.
  std::string input(std::string name, DType dtype, Shape shape);
  // Braced static dims ({1, 3, 640, 640}, and {4}, which alone would be ambiguous between the
  // Shape and Dim forms).
  std::string input(std::string name, DType dtype, std::initializer_list<int64_t> shape) {
    return input(std::move(name), dtype, Shape(shape));
  }
  // Declares a graph input with symbolic dims ("batch").
  std::string input(std::string name, DType dtype, std::vector<Dim> dims);
  // Adds an initializer. Returns the value name.
  std::string constant(std::string name, Tensor tensor);
  // Adds a node with one output and returns its name ("<op>_<n>" unless given).
  std::string node(std::string op_type, std::vector<std::string> inputs,
                   std::vector<Attribute> attributes = {}, std::string output_name = {});
  // Adds a node with several outputs; returns their names.
  std::vector<std::string> nodeMulti(std::string op_type, std::vector<std::string> inputs,
                                     size_t output_count, std::vector<Attribute> attributes = {},
                                     std::string node_name = {});
  // Marks a value as graph output; the type is optional (undefined when unknown).
  void output(const std::string& value_name, DType dtype = DType::kUndefined, Shape shape = {},
              bool has_shape = false);
  void setOpset(std::string domain, int64_t version);
  void addMetadata(std::string key, std::string value);

  Graph& graph() { return model_.graph; }
  Model& model() { return model_; }
  Model build() const { return model_; }

 private:
  // A "<stem>_<n>" name that no builder-made value or node uses yet.
  std::string freshName(const std::string& stem);
  void claim(const std::string& name) { names_.insert(name); }

  Model model_;
  int counter_ = 0;
  std::unordered_set<std::string> names_;  // value and node names handed out so far
};

}  // namespace detslim
