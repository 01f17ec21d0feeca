#pragma once
// Helpers of the reference kernel tests: build one node, run it with runNode (reference only),
// make and read tensors of any dtype.

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "core/graph/graph.h"
#include "core/kernels/registry.h"

namespace detslim::testing {

// The seed every kernel test draws its data from (ncnn's), so failures reproduce.
constexpr uint32_t kKernelTestSeed = 7767517;

// A node with inputs "in0".."in{n-1}" ("" where `omitted` says so) and outputs "out0"...
inline Node makeNode(std::string op_type, size_t num_inputs, size_t num_outputs = 1,
                     std::vector<Attribute> attributes = {}) {
  Node node;
  node.name = "test_" + op_type;
  node.op_type = std::move(op_type);
  for (size_t i = 0; i < num_inputs; ++i) node.inputs.push_back("in" + std::to_string(i));
  for (size_t i = 0; i < num_outputs; ++i) node.outputs.push_back("out" + std::to_string(i));
  node.attributes = std::move(attributes);
  return node;
}

// Runs the node's reference kernel; fails the test (and returns {}) when it refuses.
inline std::vector<Tensor> runOk(const Node& node, int64_t opset,
                                 const std::vector<Tensor>& inputs) {
  Result<std::vector<Tensor>> out = runNode(node, opset, inputs, /*reference_only=*/true);
  EXPECT_TRUE(out.isOk()) << out.status().message();
  return out.isOk() ? std::move(out).value() : std::vector<Tensor>{};
}

// The status of running the node (for refusals).
inline Status runStatus(const Node& node, int64_t opset, const std::vector<Tensor>& inputs) {
  Result<std::vector<Tensor>> out = runNode(node, opset, inputs, /*reference_only=*/true);
  return out.status();
}

template <class T>
Tensor makeTensor(DType dtype, Shape shape, const std::vector<T>& values) {
  // Tensor::fromVector would memcpy from an empty vector's null data(), which UBSan flags.
  Tensor t = values.empty() ? Tensor(dtype, std::move(shape))
                            : Tensor::fromVector(dtype, std::move(shape), values);
  EXPECT_EQ(static_cast<size_t>(t.numel()), values.size()) << "value count vs shape";
  return t;
}

inline Tensor floats(Shape shape, const std::vector<float>& values) {
  return makeTensor(DType::kFloat32, std::move(shape), values);
}

inline Tensor int64s(Shape shape, const std::vector<int64_t>& values) {
  return makeTensor(DType::kInt64, std::move(shape), values);
}

inline Tensor randomFloats(Shape shape, std::mt19937& rng, float lo, float hi) {
  Tensor t(DType::kFloat32, std::move(shape));
  std::uniform_real_distribution<float> dist(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.mutableData<float>()[i] = dist(rng);
  return t;
}

template <class T>
std::vector<T> values(const Tensor& t) {
  const T* p = t.data<T>();
  return std::vector<T>(p, p + t.numel());
}

// Row-major flat index of `index` in `shape`.
inline int64_t flatIndex(const Shape& shape, const std::vector<int64_t>& index) {
  int64_t flat = 0;
  for (size_t d = 0; d < shape.size(); ++d) flat = flat * shape[d] + index[d];
  return flat;
}

}  // namespace detslim::testing
