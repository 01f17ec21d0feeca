#include <string>

#include <gtest/gtest.h>

#include "core/graph/builder.h"
#include "core/graph/passes.h"
#include "graph_test_util.h"

namespace detslim {
namespace {

using testing::countOps;
using testing::floatTensor;

TEST(EliminateDeadNodes, RemovesADanglingBranchAndItsInitializers) {
  GraphBuilder b;
  auto x = b.input("x", DType::kFloat32, {4});
  auto unused_input = b.input("unused_input", DType::kFloat32, {4});
  auto live_w = b.constant("live_w", floatTensor({4}, {1, 2, 3, 4}));
  auto dead_w = b.constant("dead_w", floatTensor({4}, {5, 6, 7, 8}));
  b.constant("never_read", floatTensor({1}, {0}));
  auto y = b.node("Mul", {x, live_w}, {}, "y");
  auto d1 = b.node("Sigmoid", {x}, {}, "d1");
  auto d2 = b.node("Mul", {d1, dead_w}, {}, "d2");
  b.node("Relu", {d2}, {}, "d3");
  b.output(y);
  testing::setInferredType(b.graph(), "d2", {4});
  b.graph().value_info.push_back(ValueInfo{"d1", {}, {}, {}});
  Model m = b.build();

  auto report = eliminateDeadNodes(m);
  ASSERT_TRUE(report.isOk());
  EXPECT_EQ(report->pass, "eliminate-dead-nodes");
  EXPECT_EQ(report->nodes_removed, 3);
  EXPECT_EQ(report->initializers_removed, 2);  // dead_w and never_read
  ASSERT_EQ(m.graph.nodes.size(), 1u);
  EXPECT_EQ(m.graph.nodes[0].outputs[0], y);
  EXPECT_NE(m.graph.initializer("live_w"), nullptr);
  EXPECT_EQ(m.graph.initializer("dead_w"), nullptr);
  EXPECT_EQ(m.graph.initializer("never_read"), nullptr);
  ASSERT_EQ(m.graph.inputs.size(), 2u);  // inputs stay, read or not
  EXPECT_EQ(m.graph.inputs[1].name, unused_input);
  EXPECT_EQ(m.graph.inferred_types.count("d2"), 0u);
  EXPECT_TRUE(m.graph.value_info.empty());
  EXPECT_EQ(report->notes.size(), 2u);
}

TEST(EliminateDeadNodes, KeepsEverythingReachable) {
  GraphBuilder b;
  auto x = b.input("x", DType::kFloat32, {4});
  auto w = b.constant("w", floatTensor({4}, {1, 2, 3, 4}));
  auto a = b.node("Mul", {x, w});
  auto parts = b.nodeMulti("Split", {a}, 2, {Attribute::makeInt("axis", 0)});
  auto c = b.node("Add", {parts[0], parts[1]});
  b.output(c);
  b.output(w);  // an initializer that is also a graph output
  Model m = b.build();
  const Model before = m;
  auto report = eliminateDeadNodes(m);
  ASSERT_TRUE(report.isOk());
  EXPECT_EQ(report->nodes_removed, 0);
  EXPECT_EQ(report->initializers_removed, 0);
  EXPECT_TRUE(report->notes.empty());
  EXPECT_EQ(diffModels(before, m), "");
}

TEST(EliminateDeadNodes, KeepsANodeWithOneLiveOutputOfSeveral) {
  GraphBuilder b;
  auto x = b.input("x", DType::kFloat32, {4});
  auto parts = b.nodeMulti("Split", {x}, 2, {Attribute::makeInt("axis", 0)});
  b.output(parts[1]);
  Model m = b.build();
  ASSERT_TRUE(eliminateDeadNodes(m).isOk());
  EXPECT_EQ(countOps(m.graph, "Split"), 1);
}

TEST(EliminateDeadNodes, KeepsValuesCapturedByASubgraph) {
  GraphBuilder b;
  auto x = b.input("x", DType::kFloat32, {4});
  auto cond = b.input("cond", DType::kBool, {});
  auto captured = b.node("Neg", {x}, {}, "captured");
  auto captured_w = b.constant("captured_w", floatTensor({4}, {1, 1, 1, 1}));
  // The branches read `captured` and `captured_w` from the outer scope: no outer node input
  // names them, yet the If needs them.
  Graph then_branch;
  then_branch.name = "then";
  then_branch.nodes.push_back(Node{"t", "Add", "", {captured, captured_w}, {"t_out"}, {}, {}});
  then_branch.outputs.push_back(ValueInfo{"t_out", {}, {}, {}});
  Graph else_branch;
  else_branch.name = "else";
  else_branch.nodes.push_back(Node{"e", "Identity", "", {x}, {"e_out"}, {}, {}});
  else_branch.outputs.push_back(ValueInfo{"e_out", {}, {}, {}});
  auto y = b.node("If", {cond},
                  {Attribute::makeGraph("then_branch", then_branch),
                   Attribute::makeGraph("else_branch", else_branch)},
                  "y");
  b.node("Relu", {captured}, {}, "dead");
  b.output(y);
  Model m = b.build();
  auto report = eliminateDeadNodes(m);
  ASSERT_TRUE(report.isOk());
  EXPECT_EQ(report->nodes_removed, 1);  // only the Relu
  EXPECT_EQ(countOps(m.graph, "Neg"), 1);
  EXPECT_EQ(countOps(m.graph, "If"), 1);
  EXPECT_NE(m.graph.initializer("captured_w"), nullptr);
}

TEST(EliminateDeadNodes, HandlesNodesStoredOutOfOrder) {
  GraphBuilder b;
  auto x = b.input("x", DType::kFloat32, {4});
  auto a = b.node("Relu", {x});
  auto c = b.node("Neg", {a});
  auto d = b.node("Exp", {c});
  b.output(d);
  std::swap(b.graph().nodes.front(), b.graph().nodes.back());  // Exp first, Relu last
  Model m = b.build();
  auto report = eliminateDeadNodes(m);
  ASSERT_TRUE(report.isOk());
  EXPECT_EQ(report->nodes_removed, 0);
  EXPECT_EQ(m.graph.nodes.size(), 3u);
}

}  // namespace
}  // namespace detslim
