#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/graph/builder.h"

namespace detslim {
namespace {

TEST(GraphBuilder, DeclaresInputsWithStaticAndSymbolicDims) {
  GraphBuilder b("net", 13);
  auto x = b.input("images", DType::kFloat32, {1, 3, 640, 640});
  auto y = b.input("dynamic", DType::kFloat16, {-1, 3});
  auto z = b.input("symbolic", DType::kInt64, std::vector<Dim>{{-1, "batch"}, {4, ""}});
  EXPECT_EQ(x, "images");
  Model m = b.build();
  ASSERT_EQ(m.graph.inputs.size(), 3u);
  EXPECT_EQ(m.graph.inputs[0].type.toString(), "float32[1,3,640,640]");
  EXPECT_EQ(m.graph.inputs[1].type.toString(), "float16[?,3]");
  EXPECT_EQ(m.graph.inputs[2].type.toString(), "int64[batch,4]");
  EXPECT_EQ(m.graph.staticShapeOf(x), (Shape{1, 3, 640, 640}));
  EXPECT_EQ(m.graph.staticShapeOf(y), std::nullopt);
  EXPECT_EQ(m.graph.staticShapeOf(z), std::nullopt);
  EXPECT_EQ(m.graph.name, "net");
}

TEST(GraphBuilder, ImportsTheDefaultDomainOpset) {
  GraphBuilder b("net", 11);
  EXPECT_EQ(b.model().opsetVersion(), 11);
  b.setOpset("", 13);
  EXPECT_EQ(b.model().opsetVersion(), 13);
  b.setOpset("com.microsoft", 1);
  EXPECT_EQ(b.model().opsetVersion("com.microsoft"), 1);
  EXPECT_EQ(b.model().opset_imports.size(), 2u);
  EXPECT_EQ(GraphBuilder().model().opsetVersion(), 17);
}

TEST(GraphBuilder, NamesNodesAndOutputsUniquely) {
  GraphBuilder b;
  auto x = b.input("x", DType::kFloat32, {4});
  auto r1 = b.node("Relu", {x});
  auto r2 = b.node("Relu", {r1});
  auto named = b.node("Add", {r1, r2}, {}, "sum");
  EXPECT_EQ(r1.rfind("Relu_", 0), 0u);
  EXPECT_EQ(r2.rfind("Relu_", 0), 0u);
  EXPECT_NE(r1, r2);
  EXPECT_EQ(named, "sum");
  auto outs = b.nodeMulti("Split", {named}, 3, {Attribute::makeInt("axis", 0)});
  ASSERT_EQ(outs.size(), 3u);

  const Graph& g = b.graph();
  std::set<std::string> node_names;
  std::set<std::string> values{x};
  for (const Node& n : g.nodes) {
    EXPECT_FALSE(n.name.empty());
    EXPECT_TRUE(node_names.insert(n.name).second) << "duplicate node name " << n.name;
    for (const std::string& o : n.outputs) {
      EXPECT_TRUE(values.insert(o).second) << "duplicate value " << o;
    }
  }
  EXPECT_EQ(g.nodes[3].op_type, "Split");
  EXPECT_EQ(g.nodes[3].outputs, outs);
  EXPECT_EQ(g.nodes[3].intOr("axis", -1), 0);
}

TEST(GraphBuilder, GeneratedNamesAvoidNamesGivenEarlier) {
  GraphBuilder b;
  auto x = b.input("Relu_0", DType::kFloat32, {4});  // collides with the first generated name
  auto r = b.node("Relu", {x});
  EXPECT_NE(r, "Relu_0");
}

TEST(GraphBuilder, ConstantsOutputsAndMetadata) {
  GraphBuilder b;
  auto x = b.input("x", DType::kFloat32, {2});
  auto w = b.constant("w", Tensor::fromVector<float>(DType::kFloat32, {2}, {1, 2}));
  auto y = b.node("Mul", {x, w});
  b.output(y, DType::kFloat32, {2}, true);
  b.output(w);
  b.addMetadata("names", "{0: 'a'}");
  Model m = b.build();
  ASSERT_NE(m.graph.initializer("w"), nullptr);
  EXPECT_EQ(m.graph.initializer("w")->numel(), 2);
  ASSERT_EQ(m.graph.outputs.size(), 2u);
  EXPECT_EQ(m.graph.outputs[0].type.toString(), "float32[2]");
  EXPECT_EQ(m.graph.outputs[1].type.dtype, DType::kUndefined);
  EXPECT_FALSE(m.graph.outputs[1].type.has_shape);
  EXPECT_EQ(m.classNames(), (std::vector<std::string>{"a"}));
  EXPECT_TRUE(m.graph.topologicalOrder().isOk());
}

}  // namespace
}  // namespace detslim
