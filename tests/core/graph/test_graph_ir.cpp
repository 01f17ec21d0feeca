#include <algorithm>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include <gtest/gtest.h>

#include "core/graph/builder.h"
#include "core/graph/graph.h"
#include "graph_test_util.h"

namespace detslim {
namespace {

constexpr uint32_t kShuffleSeed = 7767517;

// x -> Relu -> Sigmoid -> {Add(a, b), Mul(a, b)} -> Concat; enough fan-in to make order matter.
Model diamondModel() {
  GraphBuilder b("diamond");
  auto x = b.input("x", DType::kFloat32, {1, 4});
  auto r = b.node("Relu", {x});
  auto s = b.node("Sigmoid", {r});
  auto add = b.node("Add", {r, s});
  auto mul = b.node("Mul", {s, add});
  auto cat = b.node("Concat", {add, mul, r}, {Attribute::makeInt("axis", 1)});
  b.output(cat);
  return b.build();
}

// True when every node comes after the producers of its inputs.
bool isTopological(const Graph& g, const std::vector<size_t>& order) {
  std::unordered_map<std::string, size_t> position_of_producer;
  for (size_t pos = 0; pos < order.size(); ++pos) {
    for (const std::string& o : g.nodes[order[pos]].outputs) position_of_producer[o] = pos;
  }
  for (size_t pos = 0; pos < order.size(); ++pos) {
    for (const std::string& in : g.nodes[order[pos]].inputs) {
      auto it = position_of_producer.find(in);
      if (it != position_of_producer.end() && it->second >= pos) return false;
    }
  }
  return true;
}

TEST(TopologicalOrder, KeepsSortedGraphsAsTheyAre) {
  Model m = diamondModel();
  auto order = m.graph.topologicalOrder();
  ASSERT_TRUE(order.isOk()) << order.status().message();
  EXPECT_EQ(*order, (std::vector<size_t>{0, 1, 2, 3, 4}));
}

TEST(TopologicalOrder, SortsShuffledNodes) {
  std::mt19937 rng(kShuffleSeed);
  for (int trial = 0; trial < 20; ++trial) {
    Model m = diamondModel();
    std::shuffle(m.graph.nodes.begin(), m.graph.nodes.end(), rng);
    auto order = m.graph.topologicalOrder();
    ASSERT_TRUE(order.isOk()) << order.status().message();
    EXPECT_EQ(order->size(), m.graph.nodes.size());
    EXPECT_TRUE(isTopological(m.graph, *order)) << "trial " << trial;

    ASSERT_TRUE(m.graph.sortTopologically().isOk());
    std::vector<size_t> identity(m.graph.nodes.size());
    for (size_t i = 0; i < identity.size(); ++i) identity[i] = i;
    EXPECT_TRUE(isTopological(m.graph, identity));
    EXPECT_EQ(m.graph.nodes.front().op_type, "Relu");
    EXPECT_EQ(m.graph.nodes.back().op_type, "Concat");
  }
}

TEST(TopologicalOrder, RefusesACycleNamingANode) {
  Graph g;
  g.name = "loop";
  g.inputs.push_back(ValueInfo{"x", {}, {}, {}});
  g.nodes.push_back(Node{"first", "Add", "", {"x", "b"}, {"a"}, {}, {}});
  g.nodes.push_back(Node{"second", "Relu", "", {"a"}, {"b"}, {}, {}});
  auto order = g.topologicalOrder();
  ASSERT_FALSE(order.isOk());
  EXPECT_EQ(order.status().code(), ErrorCode::kInvalidArgument);
  const std::string& msg = order.status().message();
  EXPECT_NE(msg.find("cycle"), std::string::npos) << msg;
  EXPECT_TRUE(msg.find("'first'") != std::string::npos || msg.find("'second'") != std::string::npos)
      << msg;
  EXPECT_FALSE(g.sortTopologically().isOk());
}

TEST(TopologicalOrder, RefusesANodeReadingItsOwnOutput) {
  Graph g;
  g.nodes.push_back(Node{"self", "Add", "", {"y", "y"}, {"y"}, {}, {}});
  auto order = g.topologicalOrder();
  ASSERT_FALSE(order.isOk());
  EXPECT_NE(order.status().message().find("'self'"), std::string::npos);
}

TEST(GraphIndex, ProducersAndConsumers) {
  Model m = diamondModel();
  const Graph& g = m.graph;
  GraphIndex index(g);
  const std::string relu_out = g.nodes[0].outputs[0];
  const std::string sigmoid_out = g.nodes[1].outputs[0];
  EXPECT_EQ(index.producer(relu_out), 0u);
  EXPECT_EQ(index.producer("x"), std::nullopt);  // graph inputs have no producer
  EXPECT_EQ(index.producer("nothing"), std::nullopt);
  EXPECT_EQ(index.consumers(relu_out), (std::vector<size_t>{1, 2, 4}));
  EXPECT_EQ(index.consumers(sigmoid_out), (std::vector<size_t>{2, 3}));
  EXPECT_TRUE(index.consumers("nothing").empty());
  EXPECT_TRUE(index.isGraphOutput(g.nodes[4].outputs[0]));
  EXPECT_FALSE(index.isGraphOutput(relu_out));
}

TEST(GraphIndex, ListsANodeReadingAValueTwiceOnceAndCountsSubgraphCaptures) {
  GraphBuilder b;
  auto x = b.input("x", DType::kFloat32, {2});
  auto sq = b.node("Mul", {x, x});
  Graph branch;
  branch.name = "then";
  branch.nodes.push_back(Node{"inner", "Identity", "", {sq}, {"inner_out"}, {}, {}});
  branch.outputs.push_back(ValueInfo{"inner_out", {}, {}, {}});
  auto cond = b.constant("cond", Tensor(DType::kBool, {}));
  b.node("If", {cond}, {Attribute::makeGraph("then_branch", branch)}, "if_out");
  GraphIndex index(b.graph());
  EXPECT_EQ(index.consumers(x), (std::vector<size_t>{0}));
  EXPECT_EQ(index.consumers(sq), (std::vector<size_t>{1}));  // read inside the If's branch
}

TEST(Node, TypedAttributeAccess) {
  Node n{"conv1", "Conv", "", {"x", "w"}, {"y"}, {}, {}};
  n.setAttr(Attribute::makeInt("group", 2));
  n.setAttr(Attribute::makeInts("pads", {1, 1, 1, 1}));
  n.setAttr(Attribute::makeFloat("alpha", 0.5f));
  n.setAttr(Attribute::makeString("auto_pad", "NOTSET"));

  EXPECT_EQ(n.intOr("group", 1), 2);
  EXPECT_EQ(n.intOr("missing", 7), 7);
  EXPECT_EQ(n.intOr("alpha", 7), 7);  // another kind: the default
  EXPECT_EQ(n.floatOr("alpha", 0.0f), 0.5f);
  EXPECT_EQ(n.stringOr("auto_pad", ""), "NOTSET");
  EXPECT_EQ(n.intsOr("pads", {}), (std::vector<int64_t>{1, 1, 1, 1}));
  EXPECT_EQ(*n.getInt("group"), 2);
  EXPECT_EQ(*n.getInts("pads"), (std::vector<int64_t>{1, 1, 1, 1}));

  n.setAttr(Attribute::makeInt("group", 3));  // replaces, does not duplicate
  EXPECT_EQ(n.intOr("group", 1), 3);
  EXPECT_EQ(n.attributes.size(), 4u);
  EXPECT_TRUE(n.removeAttr("group"));
  EXPECT_FALSE(n.removeAttr("group"));
  EXPECT_FALSE(n.hasAttr("group"));

  EXPECT_EQ(n.input(1), "w");
  EXPECT_EQ(n.input(2), "");  // omitted optional input
}

TEST(Node, AttributeErrorsNameNodeAndAttribute) {
  Node n{"conv1", "Conv", "", {"x"}, {"y"}, {}, {}};
  n.setAttr(Attribute::makeFloat("alpha", 0.5f));
  auto missing = n.getInt("group");
  ASSERT_FALSE(missing.isOk());
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "Conv 'conv1': attribute 'group' is missing");
  auto wrong_kind = n.getInt("alpha");
  ASSERT_FALSE(wrong_kind.isOk());
  EXPECT_EQ(wrong_kind.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(wrong_kind.status().message(),
            "Conv 'conv1': attribute 'alpha' is float, expected int");
  EXPECT_FALSE(n.getTensor("alpha").isOk());
  EXPECT_FALSE(n.getString("alpha").isOk());
}

TEST(Node, DescribeNamesDomainAndFallsBackToOutput) {
  Node named{"n1", "Relu", "", {}, {"y"}, {}, {}};
  EXPECT_EQ(named.describe(), "Relu 'n1'");
  Node custom{"n2", "FusedConv", "com.microsoft", {}, {"y"}, {}, {}};
  EXPECT_EQ(custom.describe(), "com.microsoft::FusedConv 'n2'");
  Node anonymous{"", "Relu", "", {}, {"y"}, {}, {}};
  EXPECT_EQ(anonymous.describe(), "Relu '-> y'");
}

TEST(Model, ClassNamesFromUltralyticsDict) {
  Model m;
  m.metadata.emplace_back("names", "{0: 'person', 1: 'bicycle', 2: 'traffic light'}");
  EXPECT_EQ(m.classNames(), (std::vector<std::string>{"person", "bicycle", "traffic light"}));
}

TEST(Model, ClassNamesFromListsAndUnorderedKeys) {
  Model list;
  list.metadata.emplace_back("names", "['car', \"truck\"]");
  EXPECT_EQ(list.classNames(), (std::vector<std::string>{"car", "truck"}));
  Model unordered;
  unordered.metadata.emplace_back("names", "{1: 'b', 0: 'a'}");
  EXPECT_EQ(unordered.classNames(), (std::vector<std::string>{"a", "b"}));
  Model none;
  EXPECT_TRUE(none.classNames().empty());
  Model broken;
  broken.metadata.emplace_back("names", "{0: 'unterminated");
  EXPECT_TRUE(broken.classNames().empty());
}

TEST(Model, OpsetVersionTreatsAiOnnxAsDefault) {
  Model m;
  m.opset_imports = {{"ai.onnx", 13}, {"com.microsoft", 1}};
  EXPECT_EQ(m.opsetVersion(), 13);
  EXPECT_EQ(m.opsetVersion("ai.onnx"), 13);
  EXPECT_EQ(m.opsetVersion("com.microsoft"), 1);
  EXPECT_EQ(m.opsetVersion("ai.onnx.ml"), 0);
}

TEST(Graph, UniqueNameAvoidsEveryNameInUse) {
  Model m = diamondModel();
  Graph& g = m.graph;
  g.setInitializer("w", Tensor(DType::kFloat32, {1}));
  EXPECT_EQ(g.uniqueName("fresh"), "fresh");
  EXPECT_EQ(g.uniqueName("w"), "w_1");
  EXPECT_EQ(g.uniqueName("x"), "x_1");
  g.setInitializer("w_1", Tensor(DType::kFloat32, {1}));
  EXPECT_EQ(g.uniqueName("w"), "w_2");
  EXPECT_NE(g.uniqueName(g.nodes[0].name), g.nodes[0].name);
}

TEST(Graph, TypeOfPrefersInferredThenDeclaredThenInitializer) {
  GraphBuilder b;
  auto x = b.input("x", DType::kFloat32, std::vector<Dim>{{-1, "batch"}, {3, ""}});
  EXPECT_EQ(b.graph().typeOf(x)->toString(), "float32[batch,3]");
  EXPECT_EQ(b.graph().staticShapeOf(x), std::nullopt);
  testing::setInferredType(b.graph(), x, {2, 3});
  EXPECT_EQ(b.graph().typeOf(x)->toString(), "float32[2,3]");
  EXPECT_EQ(b.graph().staticShapeOf(x), (Shape{2, 3}));
  b.constant("w", Tensor(DType::kInt8, {4, 5}));
  EXPECT_EQ(b.graph().typeOf("w")->toString(), "int8[4,5]");
  EXPECT_EQ(b.graph().typeOf("unknown"), nullptr);
  TensorType unranked{DType::kFloat16, false, {}};
  EXPECT_EQ(unranked.toString(), "float16[?]");
}

class DiffGraphsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    GraphBuilder b("g");
    auto x = b.input("x", DType::kFloat32, {1, 3});
    auto w = b.constant("w", testing::floatTensor({3}, {1, 2, 3}));
    auto y = b.node("Mul", {x, w});
    auto z = b.node("LeakyRelu", {y}, {Attribute::makeFloat("alpha", 0.1f)});
    b.output(z, DType::kFloat32, {1, 3}, true);
    base_ = b.build().graph;
  }
  Graph base_;
};

TEST_F(DiffGraphsTest, IdenticalGraphsHaveNoDiff) {
  Graph copy = base_;
  EXPECT_EQ(diffGraphs(base_, copy), "");
}

TEST_F(DiffGraphsTest, DetectsEachKindOfDifference) {
  auto expectDiff = [&](const Graph& changed, const std::string& needle) {
    const std::string d = diffGraphs(base_, changed);
    EXPECT_NE(d.find(needle), std::string::npos) << "diff was: " << d;
  };
  Graph g = base_;
  g.name = "other";
  expectDiff(g, "graph name");

  g = base_;
  g.inputs[0].type.dims[1].value = 4;
  expectDiff(g, "inputs[0]");

  g = base_;
  g.outputs[0].type.dtype = DType::kFloat16;
  expectDiff(g, "outputs[0]");

  g = base_;
  g.value_info.push_back(ValueInfo{"extra", {}, {}, {}});
  expectDiff(g, "value_info");

  g = base_;
  g.nodes.pop_back();
  expectDiff(g, "node count");

  g = base_;
  g.nodes[0].op_type = "Add";
  expectDiff(g, "node 0");

  g = base_;
  g.nodes[1].setAttr(Attribute::makeFloat("alpha", 0.2f));
  expectDiff(g, "attribute 'alpha'");

  g = base_;
  g.nodes[1].setAttr(Attribute::makeInt("extra", 1));
  expectDiff(g, "attribute count");

  g = base_;
  g.setInitializer("w", testing::floatTensor({3}, {1, 2, 4}));
  expectDiff(g, "initializer 'w' bytes differ");

  g = base_;
  g.setInitializer("w2", testing::floatTensor({1}, {0}));
  expectDiff(g, "initializer count");

  g = base_;
  g.opaque_sparse_initializers.push_back("bytes");
  expectDiff(g, "sparse initializers");
}

TEST_F(DiffGraphsTest, DiffModelsReportsHeaderFields) {
  Model a;
  a.graph = base_;
  Model b = a;
  EXPECT_EQ(diffModels(a, b), "");
  b.opset_imports.push_back({"", 13});
  b.metadata.emplace_back("k", "v");
  const std::string d = diffModels(a, b);
  EXPECT_NE(d.find("opset"), std::string::npos);
  EXPECT_NE(d.find("metadata"), std::string::npos);
}

}  // namespace
}  // namespace detslim
