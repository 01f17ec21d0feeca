// Every field of the IR survives load -> save -> load, including what the IR keeps as opaque
// bytes (functions, training info, sparse initializers, non-tensor types, sparse / type-proto
// attributes) and nested subgraphs. The conformance data has none of the opaque parts, so this
// file builds them.

#include <gtest/gtest.h>

#include "core/onnx/onnx_io.h"
#include "onnx_proto_util.h"

namespace detslim {
namespace {

using testing::TempDir;

// A model using every part of ModelProto that onnx 1.12 defines.
onnx::ModelProto everyFieldModel() {
  onnx::ModelProto m = testing::baseModelProto();
  m.set_producer_version("1.2.3");
  m.set_domain("org.detslim.test");
  m.set_model_version(42);
  m.set_doc_string("model doc");
  for (auto [k, v] : {std::pair{"names", "{0: 'person'}"}, std::pair{"stride", "32"},
                      std::pair{"author", "tests"}}) {
    auto* kv = m.add_metadata_props();
    kv->set_key(k);
    kv->set_value(v);
  }
  auto* ml = m.add_opset_import();
  ml->set_domain("ai.onnx.ml");
  ml->set_version(3);
  auto* local = m.add_opset_import();
  local->set_domain("local");
  local->set_version(1);

  // A model-local function, called from the main graph: z = DoubleRelu(y).
  auto* f = m.add_functions();
  f->set_name("DoubleRelu");
  f->set_domain("local");
  f->add_input("a");
  f->add_output("c");
  f->set_doc_string("function doc");
  auto* fop = f->add_opset_import();
  fop->set_domain("");
  fop->set_version(17);
  for (auto [in, out] : {std::pair{"a", "b"}, std::pair{"b", "c"}}) {
    auto* n = f->add_node();
    n->set_op_type("Relu");
    n->add_input(in);
    n->add_output(out);
  }

  auto* g = m.mutable_graph();
  g->set_doc_string("graph doc");
  g->mutable_input(0)->set_doc_string("input doc");
  auto* call = g->add_node();
  call->set_name("call");
  call->set_op_type("DoubleRelu");
  call->set_domain("local");
  call->add_input("y");
  call->add_output("z");
  call->set_doc_string("node doc");
  testing::setTensorType(g->add_output(), "z", onnx::TensorProto::FLOAT, {1, 4});
  testing::setTensorType(g->add_value_info(), "y", onnx::TensorProto::FLOAT, {1, 4});

  // If with two subgraphs that capture 'x' and hold their own initializer.
  auto* cond_init = testing::addInitializer(m, "cond", onnx::TensorProto::BOOL, {});
  cond_init->set_raw_data(std::string(1, '\x01'));
  cond_init->set_doc_string("initializer doc");
  auto* iff = g->add_node();
  iff->set_name("if");
  iff->set_op_type("If");
  iff->add_input("cond");
  iff->add_output("branch_out");
  for (const char* branch : {"then_branch", "else_branch"}) {
    auto* a = iff->add_attribute();
    a->set_name(branch);
    a->set_type(onnx::AttributeProto::GRAPH);
    a->set_doc_string("attribute doc");
    auto* sg = a->mutable_g();
    sg->set_name(std::string(branch) + "_graph");
    auto* k = sg->add_initializer();
    k->set_name(std::string(branch) + "_k");
    k->set_data_type(onnx::TensorProto::FLOAT);
    k->add_dims(1);
    k->add_float_data(2.0f);
    auto* mul = sg->add_node();
    mul->set_op_type("Mul");
    mul->add_input("x");
    mul->add_input(std::string(branch) + "_k");
    mul->add_output(std::string(branch) + "_out");
    testing::setTensorType(sg->add_output(), std::string(branch) + "_out", onnx::TensorProto::FLOAT,
                           {1, 4});
  }
  testing::setTensorType(g->add_output(), "branch_out", onnx::TensorProto::FLOAT, {1, 4});

  // Every plain attribute kind on one Constant-like carrier the checker accepts: a node of the
  // default domain whose schema ignores unknown attributes does not exist, so the kinds go on
  // a Constant each (value_* attributes) and on Cast/Pad for ints and strings.
  auto add_constant = [&](const std::string& out, auto&& set) {
    auto* n = g->add_node();
    n->set_op_type("Constant");
    n->add_output(out);
    set(n->add_attribute());
  };
  add_constant("c_float", [](onnx::AttributeProto* a) {
    a->set_name("value_float");
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(0.25f);
  });
  add_constant("c_floats", [](onnx::AttributeProto* a) {
    a->set_name("value_floats");
    a->set_type(onnx::AttributeProto::FLOATS);
    a->add_floats(1.0f);
    a->add_floats(-2.5f);
  });
  add_constant("c_int", [](onnx::AttributeProto* a) {
    a->set_name("value_int");
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(-7);
  });
  add_constant("c_ints", [](onnx::AttributeProto* a) {
    a->set_name("value_ints");
    a->set_type(onnx::AttributeProto::INTS);
    a->add_ints(1);
    a->add_ints(1ll << 40);
  });
  add_constant("c_string", [](onnx::AttributeProto* a) {
    a->set_name("value_string");
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s("hello");
  });
  add_constant("c_strings", [](onnx::AttributeProto* a) {
    a->set_name("value_strings");
    a->set_type(onnx::AttributeProto::STRINGS);
    a->add_strings("a");
    a->add_strings("b");
  });
  add_constant("c_tensor", [](onnx::AttributeProto* a) {
    a->set_name("value");
    a->set_type(onnx::AttributeProto::TENSOR);
    a->mutable_t()->set_data_type(onnx::TensorProto::INT64);
    a->mutable_t()->add_dims(2);
    a->mutable_t()->add_int64_data(5);
    a->mutable_t()->add_int64_data(6);
  });
  // A sparse tensor attribute: kept as an opaque AttributeProto.
  add_constant("c_sparse", [](onnx::AttributeProto* a) {
    a->set_name("sparse_value");
    a->set_type(onnx::AttributeProto::SPARSE_TENSOR);
    auto* sp = a->mutable_sparse_tensor();
    sp->add_dims(4);
    auto* values = sp->mutable_values();
    values->set_data_type(onnx::TensorProto::FLOAT);
    values->add_dims(1);
    values->add_float_data(3.0f);
    auto* indices = sp->mutable_indices();
    indices->set_data_type(onnx::TensorProto::INT64);
    indices->add_dims(1);
    indices->add_int64_data(2);
  });

  // A sparse initializer and a sequence-typed value: opaque too.
  auto* sparse = g->add_sparse_initializer();
  sparse->add_dims(3);
  sparse->mutable_values()->set_name("sparse_w");
  sparse->mutable_values()->set_data_type(onnx::TensorProto::FLOAT);
  sparse->mutable_values()->add_dims(1);
  sparse->mutable_values()->add_float_data(9.0f);
  sparse->mutable_indices()->set_name("sparse_w_idx");
  sparse->mutable_indices()->set_data_type(onnx::TensorProto::INT64);
  sparse->mutable_indices()->add_dims(1);
  sparse->mutable_indices()->add_int64_data(1);
  auto* seq = g->add_value_info();
  seq->set_name("unused_sequence");
  seq->mutable_type()
      ->mutable_sequence_type()
      ->mutable_elem_type()
      ->mutable_tensor_type()
      ->set_elem_type(onnx::TensorProto::FLOAT);

  // Training info: kept opaque.
  auto* ti = m.add_training_info();
  ti->mutable_initialization()->set_name("init");
  auto* binding = ti->add_update_binding();
  binding->set_key("cond");
  binding->set_value("cond");
  return m;
}

TEST(OnnxIrFields, EveryFieldIsReadInFileOrder) {
  TempDir dir;
  testing::writeProto(dir / "m.onnx", everyFieldModel());
  LoadReport report;
  Result<Model> m = loadModel(dir / "m.onnx", {}, &report);
  ASSERT_TRUE(m.isOk()) << m.status().message();
  EXPECT_TRUE(report.checker_passed);
  EXPECT_EQ(m->ir_version, 8);
  ASSERT_EQ(m->opset_imports.size(), 3u);
  EXPECT_EQ(m->opset_imports[1], (OpsetImport{"ai.onnx.ml", 3}));
  EXPECT_EQ(m->producer_name, "detslim-tests");
  EXPECT_EQ(m->producer_version, "1.2.3");
  EXPECT_EQ(m->domain, "org.detslim.test");
  EXPECT_EQ(m->model_version, 42);
  EXPECT_EQ(m->doc_string, "model doc");
  ASSERT_EQ(m->metadata.size(), 3u);
  EXPECT_EQ(m->metadata[0].first, "names");
  EXPECT_EQ(m->metadata[2].second, "tests");
  EXPECT_EQ(m->opaque_functions.size(), 1u);
  EXPECT_EQ(m->opaque_training_info.size(), 1u);

  const Graph& g = m->graph;
  EXPECT_EQ(g.name, "g");
  EXPECT_EQ(g.doc_string, "graph doc");
  EXPECT_EQ(g.inputs[0].doc_string, "input doc");
  ASSERT_EQ(g.outputs.size(), 3u);
  EXPECT_EQ(g.outputs[2].name, "branch_out");
  ASSERT_EQ(g.value_info.size(), 2u);
  EXPECT_TRUE(g.value_info[0].opaque_type.empty());
  EXPECT_FALSE(g.value_info[1].opaque_type.empty()) << "sequence types are kept opaque";
  EXPECT_EQ(g.opaque_sparse_initializers.size(), 1u);
  EXPECT_EQ(g.initializers()[0].doc_string, "initializer doc");

  ASSERT_EQ(g.nodes.size(), 11u);
  EXPECT_EQ(g.nodes[1].domain, "local");
  EXPECT_EQ(g.nodes[1].doc_string, "node doc");
  const Node& iff = g.nodes[2];
  ASSERT_EQ(iff.attributes.size(), 2u);
  ASSERT_EQ(iff.attributes[0].kind, Attribute::Kind::kGraph);
  EXPECT_EQ(iff.attributes[0].doc_string, "attribute doc");
  const Graph& then_g = *iff.attributes[0].g;
  EXPECT_EQ(then_g.name, "then_branch_graph");
  ASSERT_NE(then_g.initializer("then_branch_k"), nullptr);
  EXPECT_EQ(then_g.initializer("then_branch_k")->toFloatVector(), std::vector<float>{2.0f});
  EXPECT_EQ(g.nodes[3].attributes[0].f, 0.25f);
  EXPECT_EQ(g.nodes[4].attributes[0].floats, (std::vector<float>{1.0f, -2.5f}));
  EXPECT_EQ(g.nodes[5].attributes[0].i, -7);
  EXPECT_EQ(g.nodes[6].attributes[0].ints, (std::vector<int64_t>{1, 1ll << 40}));
  EXPECT_EQ(g.nodes[7].attributes[0].s, "hello");
  EXPECT_EQ(g.nodes[8].attributes[0].strings, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(g.nodes[9].attributes[0].t.toInt64Vector(), (std::vector<int64_t>{5, 6}));
  EXPECT_EQ(g.nodes[10].attributes[0].kind, Attribute::Kind::kOpaque);
  EXPECT_EQ(g.nodes[10].attributes[0].name, "sparse_value");

  // Shape inference reached the function call and the If output.
  ASSERT_TRUE(g.inferred_types.count("z"));
  EXPECT_EQ(g.inferred_types.at("z").toString(), "float32[1,4]");
}

TEST(OnnxIrFields, OpaquePartsRoundTripByteForByte) {
  TempDir dir;
  const onnx::ModelProto original = everyFieldModel();
  testing::writeProto(dir / "m.onnx", original);
  Result<Model> a = loadModel(dir / "m.onnx");
  ASSERT_TRUE(a.isOk()) << a.status().message();
  ASSERT_TRUE(saveModel(*a, dir / "saved.onnx").isOk());
  Result<Model> b = loadModel(dir / "saved.onnx");
  ASSERT_TRUE(b.isOk()) << b.status().message();
  EXPECT_EQ(diffModels(*a, *b), "");
  EXPECT_EQ(b->opaque_functions, a->opaque_functions);
  EXPECT_EQ(b->opaque_training_info, a->opaque_training_info);
  EXPECT_EQ(b->graph.opaque_sparse_initializers, a->graph.opaque_sparse_initializers);
  EXPECT_EQ(b->graph.value_info[1].opaque_type, a->graph.value_info[1].opaque_type);
  EXPECT_EQ(b->graph.nodes[10].attributes[0].opaque, a->graph.nodes[10].attributes[0].opaque);

  // The saved proto holds the same functions / training info / sparse initializer as the input.
  onnx::ModelProto saved;
  ASSERT_TRUE(saved.ParseFromString(testing::readBytes(dir / "saved.onnx")));
  EXPECT_EQ(saved.functions(0).SerializeAsString(), original.functions(0).SerializeAsString());
  EXPECT_EQ(saved.training_info(0).SerializeAsString(),
            original.training_info(0).SerializeAsString());
  EXPECT_EQ(saved.graph().sparse_initializer(0).SerializeAsString(),
            original.graph().sparse_initializer(0).SerializeAsString());
}

TEST(OnnxIrFields, RefAttrNameAndUntypedAttributesSurvive) {
  Model m = testing::tinyModel();
  Attribute ref;
  ref.name = "alpha";
  ref.ref_attr_name = "outer_alpha";
  ref.kind = Attribute::Kind::kFloat;
  m.graph.nodes[0].attributes.push_back(ref);
  Result<std::string> bytes = serializeModel(m);
  ASSERT_TRUE(bytes.isOk()) << bytes.status().message();
  Result<Model> back = loadModelFromBytes(*bytes, "mem.onnx", {}, {.run_checker = false});
  ASSERT_TRUE(back.isOk()) << back.status().message();
  ASSERT_EQ(back->graph.nodes[0].attributes.size(), 1u);
  EXPECT_EQ(back->graph.nodes[0].attributes[0].ref_attr_name, "outer_alpha");
  EXPECT_EQ(diffModels(m, *back), "");
}

TEST(OnnxIrFields, QuantizationAnnotationsAreReportedAsNotKept) {
  onnx::ModelProto m = testing::baseModelProto();
  auto* qa = m.mutable_graph()->add_quantization_annotation();
  qa->set_tensor_name("x");
  TempDir dir;
  testing::writeProto(dir / "m.onnx", m);
  LoadReport report;
  Result<Model> model = loadModel(dir / "m.onnx", {}, &report);
  ASSERT_TRUE(model.isOk()) << model.status().message();
  ASSERT_EQ(report.warnings.size(), 1u);
  EXPECT_NE(report.warnings[0].find("quantization_annotation"), std::string::npos);
}

TEST(OnnxIrFields, UnknownFieldsFromNewerOnnxAreReported) {
  onnx::ModelProto m = testing::baseModelProto();
  // NodeProto field 9 (metadata_props in IR 10) is unknown to onnx 1.12.
  m.mutable_graph()
      ->mutable_node(0)
      ->GetReflection()
      ->MutableUnknownFields(m.mutable_graph()->mutable_node(0))
      ->AddLengthDelimited(9, "k");
  TempDir dir;
  testing::writeProto(dir / "m.onnx", m);
  LoadReport report;
  Result<Model> model = loadModel(dir / "m.onnx", {}, &report);
  ASSERT_TRUE(model.isOk()) << model.status().message();
  ASSERT_EQ(report.warnings.size(), 1u);
  EXPECT_NE(report.warnings[0].find("onnx.NodeProto"), std::string::npos) << report.warnings[0];
}

}  // namespace
}  // namespace detslim
