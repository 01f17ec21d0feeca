#pragma once
// Small hand-built graphs for the pruning tests.

#include <random>
#include <string>
#include <vector>

#include "core/graph/builder.h"
#include "core/graph/graph.h"

namespace detslim::testing {

// Uniform values in [-1, 1) without exact zeros (a kernel's non-zero count is then its pattern's).
inline Tensor randomWeights(Shape shape, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  Tensor t(DType::kFloat32, std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i) {
    float v = dist(rng);
    while (v == 0.0f) v = dist(rng);
    t.mutableData<float>()[i] = v;
  }
  return t;
}

inline std::vector<float> values(const Model& m, const std::string& initializer) {
  return m.graph.initializer(initializer)->toFloatVector();
}

inline int64_t zerosOf(const Model& m, const std::string& initializer) {
  return m.graph.initializer(initializer)->countZeros();
}

// x[1, c_in, 8, 8] -> Conv(w1, b1, k x k) -> SiLU (Sigmoid + Mul) -> Conv(w2, b2, k x k) -> y.
// Node names "conv1", "conv2"; initializers "w1", "b1", "w2", "b2".
inline Model twoConvSilu(int64_t c_in, int64_t c_mid, int64_t c_out, int64_t k, uint32_t seed) {
  GraphBuilder b("two_conv", 17);
  const std::string x = b.input("x", DType::kFloat32, {1, c_in, 8, 8});
  const std::string w1 = b.constant("w1", randomWeights({c_mid, c_in, k, k}, seed));
  const std::string b1 = b.constant("b1", randomWeights({c_mid}, seed + 1));
  const std::string w2 = b.constant("w2", randomWeights({c_out, c_mid, k, k}, seed + 2));
  const std::string b2 = b.constant("b2", randomWeights({c_out}, seed + 3));
  const int64_t pad = k / 2;
  const std::vector<Attribute> attrs = {Attribute::makeInts("pads", {pad, pad, pad, pad})};
  const std::string h = b.node("Conv", {x, w1, b1}, attrs, "h");
  const std::string s = b.node("Sigmoid", {h}, {}, "s");
  const std::string a = b.node("Mul", {h, s}, {}, "a");
  const std::string y = b.node("Conv", {a, w2, b2}, attrs, "y");
  b.output(y, DType::kFloat32, {1, c_out, 8, 8}, /*has_shape=*/true);
  Model m = b.build();
  m.graph.nodes[0].name = "conv1";
  m.graph.nodes[3].name = "conv2";
  return m;
}

}  // namespace detslim::testing
