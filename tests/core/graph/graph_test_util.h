#pragma once
// Helpers shared by the core/graph tests.

#include <random>
#include <string>
#include <vector>

#include "core/graph/graph.h"

namespace detslim::testing {

// Records a value's type as shape inference would (the builder does not infer types).
inline void setInferredType(Graph& graph, const std::string& value_name, const Shape& shape,
                            DType dtype = DType::kFloat32) {
  TensorType type;
  type.dtype = dtype;
  type.has_shape = true;
  for (int64_t d : shape) type.dims.push_back(Dim{d, {}});
  graph.inferred_types[value_name] = type;
}

inline Tensor floatTensor(Shape shape, const std::vector<float>& values) {
  return Tensor::fromVector(DType::kFloat32, std::move(shape), values);
}

inline Tensor int64Tensor(Shape shape, const std::vector<int64_t>& values) {
  return Tensor::fromVector(DType::kInt64, std::move(shape), values);
}

// Uniform values in [lo, hi) from the caller's seeded generator.
inline Tensor randomFloatTensor(Shape shape, std::mt19937& rng, float lo, float hi) {
  Tensor t(DType::kFloat32, std::move(shape));
  std::uniform_real_distribution<float> dist(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.mutableData<float>()[i] = dist(rng);
  return t;
}

inline const Node* findNode(const Graph& graph, const std::string& op_type) {
  for (const Node& n : graph.nodes) {
    if (n.op_type == op_type) return &n;
  }
  return nullptr;
}

inline int countOps(const Graph& graph, const std::string& op_type) {
  int count = 0;
  for (const Node& n : graph.nodes) count += n.op_type == op_type;
  return count;
}

}  // namespace detslim::testing
