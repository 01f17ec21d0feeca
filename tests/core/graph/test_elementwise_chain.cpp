// elementwiseChainsFrom (core/graph/elementwise_chain.h): which elementwise chains hang off one
// value, what each one's result is, and which are refused (a leaked intermediate, a graph output,
// a non-scalar constant, an op that is not elementwise).

#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/graph/builder.h"
#include "core/graph/elementwise_chain.h"

namespace detslim {
namespace {

ChainLookups lookupsFor(const Graph& g, const GraphIndex& index) {
  ChainLookups l;
  l.readers = [&](const std::string& v) { return index.consumers(v); };
  l.is_scalar_constant = [&](const std::string& v) {
    const Tensor* t = g.initializer(v);
    return t && t->numel() == 1 && t->dtype() == DType::kFloat32;
  };
  l.same_shape_float = [](const std::string&) { return true; };
  l.is_graph_output = [&](const std::string& v) { return index.isGraphOutput(v); };
  return l;
}

std::vector<std::string> opsOf(const Graph& g, const ElementwiseChain& c) {
  std::vector<std::string> ops;
  for (size_t n : c.nodes) ops.push_back(g.nodes[n].op_type);
  return ops;
}

TEST(ElementwiseChain, FindsEachSealedChainWithItsResult) {
  GraphBuilder b;
  const std::string x = b.input("x", DType::kFloat32, {1, 4, 5, 5});
  // SiLU into a Conv-like reader (outside the chain): result is the Mul.
  const std::string silu = b.node("Mul", {x, b.node("Sigmoid", {x})}, {}, "silu");
  b.node("Identity", {silu}, {}, "silu_reader");
  // HardSwish written out with scalar constants: Add, Clip, Mul, Div.
  const std::string three = b.constant("three", Tensor::fromVector<float>(DType::kFloat32, {}, {3.0f}));
  const std::string zero = b.constant("zero", Tensor::fromVector<float>(DType::kFloat32, {}, {0.0f}));
  const std::string six = b.constant("six", Tensor::fromVector<float>(DType::kFloat32, {}, {6.0f}));
  const std::string clip = b.node("Clip", {b.node("Add", {x, three}), zero, six});
  const std::string hswish = b.node("Div", {b.node("Mul", {x, clip}), six}, {}, "hswish");
  b.node("Identity", {hswish}, {}, "hswish_reader");
  // Relu alone: a chain, but not worth a table by itself.
  b.node("Identity", {b.node("Relu", {x}, {}, "relu")}, {}, "relu_reader");
  // A chain whose intermediate is read outside: Exp feeds Neg and a reader outside.
  const std::string e = b.node("Exp", {x}, {}, "exp");
  b.node("Identity", {b.node("Neg", {e}, {}, "neg")}, {}, "neg_reader");
  b.node("Identity", {e}, {}, "exp_reader");
  // A per-channel constant makes a node no chain op of x.
  const std::string per_channel = b.constant("pc", Tensor::fromVector<float>(DType::kFloat32, {1, 4, 1, 1}, {1, 2, 3, 4}));
  b.node("Identity", {b.node("Mul", {x, per_channel}, {}, "scaled")}, {}, "scaled_reader");
  // A chain ending in a graph output gives none.
  b.output(b.node("Tanh", {x}, {}, "tanh_out"));
  const Model m = b.build();
  const GraphIndex index(m.graph);
  const std::vector<ElementwiseChain> chains = elementwiseChainsFrom(x, m.graph.nodes, lookupsFor(m.graph, index));
  std::vector<std::string> results;
  for (const ElementwiseChain& c : chains) results.push_back(c.result);
  // Exp is both an exit (read outside) and Neg's input: the chain ending in Exp is sealed (one
  // node), the one ending in Neg leaks Exp and is refused.
  EXPECT_EQ(results, (std::vector<std::string>{"silu", "hswish", "relu", "exp"}));
  ASSERT_EQ(chains.size(), 4u);
  EXPECT_EQ(opsOf(m.graph, chains[0]), (std::vector<std::string>{"Sigmoid", "Mul"}));
  EXPECT_TRUE(chains[0].transcendental);
  EXPECT_EQ(opsOf(m.graph, chains[1]), (std::vector<std::string>{"Add", "Clip", "Mul", "Div"}));
  EXPECT_TRUE(chains[1].transcendental);  // the division
  EXPECT_EQ(opsOf(m.graph, chains[2]), (std::vector<std::string>{"Relu"}));
  EXPECT_FALSE(chains[2].transcendental);
  EXPECT_EQ(opsOf(m.graph, chains[3]), (std::vector<std::string>{"Exp"}));
}

TEST(ElementwiseChain, NoneWithoutElementwiseReadersOrBeyondTheLimit) {
  GraphBuilder b;
  const std::string x = b.input("x", DType::kFloat32, {2, 3});
  b.node("Identity", {b.node("Transpose", {x})}, {}, "reader");
  Model m = b.build();
  {
    const GraphIndex index(m.graph);
    EXPECT_TRUE(elementwiseChainsFrom(x, m.graph.nodes, lookupsFor(m.graph, index)).empty());
  }
  GraphBuilder deep;
  const std::string y = deep.input("y", DType::kFloat32, {2, 3});
  std::string v = y;
  for (int i = 0; i < 5; ++i) v = deep.node("Neg", {v});
  deep.node("Identity", {v}, {}, "reader");
  m = deep.build();
  const GraphIndex index(m.graph);
  EXPECT_EQ(elementwiseChainsFrom(y, m.graph.nodes, lookupsFor(m.graph, index), 5).size(), 1u);
  EXPECT_TRUE(elementwiseChainsFrom(y, m.graph.nodes, lookupsFor(m.graph, index), 4).empty());
}

}  // namespace
}  // namespace detslim
