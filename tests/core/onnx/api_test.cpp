// The rest of onnx_io.h: saving (atomic, checked), checkModel, inferShapes, input shape
// overrides, and the TensorProto files of ONNX's test data.

#include <gtest/gtest.h>

#include "core/onnx/onnx_io.h"
#include "onnx_proto_util.h"
#include "test_data.h"

namespace detslim {
namespace {

using testing::TempDir;

size_t filesIn(const std::filesystem::path& dir) {
  return static_cast<size_t>(std::distance(std::filesystem::directory_iterator(dir),
                                           std::filesystem::directory_iterator()));
}

TEST(OnnxSave, WritesAFileThatLoadsBackEqual) {
  TempDir dir;
  Model m = testing::tinyModel();
  m.graph.setInitializer("w", Tensor::fromVector(DType::kFloat32, {2}, std::vector<float>{1, 2}));
  ASSERT_TRUE(saveModel(m, dir / "m.onnx").isOk());
  EXPECT_EQ(filesIn(dir.path()), 1u) << "no temporary file may be left behind";
  Result<Model> back = loadModel(dir / "m.onnx");
  ASSERT_TRUE(back.isOk()) << back.status().message();
  EXPECT_EQ(diffModels(m, *back), "");
  Result<std::string> bytes = serializeModel(m);
  ASSERT_TRUE(bytes.isOk());
  EXPECT_EQ(*bytes, testing::readBytes(dir / "m.onnx"));
}

TEST(OnnxSave, CheckerFailureLeavesTheOldFileAlone) {
  TempDir dir;
  ASSERT_TRUE(saveModel(testing::tinyModel(), dir / "m.onnx").isOk());
  const uint64_t before = testing::fileHash(dir / "m.onnx");
  Model bad = testing::tinyModel();
  bad.graph.nodes[0].inputs = {"ghost"};
  Status s = saveModel(bad, dir / "m.onnx");
  ASSERT_FALSE(s.isOk());
  EXPECT_EQ(s.message().rfind((dir / "m.onnx").string(), 0), 0u) << s.message();
  EXPECT_NE(s.message().find("ghost"), std::string::npos) << s.message();
  EXPECT_EQ(testing::fileHash(dir / "m.onnx"), before);
  EXPECT_EQ(filesIn(dir.path()), 1u);
  // Without the checker the same model is written.
  EXPECT_TRUE(saveModel(bad, dir / "m.onnx", {.run_checker = false}).isOk());
  EXPECT_NE(testing::fileHash(dir / "m.onnx"), before);
}

TEST(OnnxSave, MissingFolderIsRefused) {
  TempDir dir;
  Status s = saveModel(testing::tinyModel(), dir / "no" / "such" / "m.onnx");
  ASSERT_FALSE(s.isOk());
  EXPECT_EQ(s.code(), ErrorCode::kNotFound);
  EXPECT_NE(s.message().find("does not exist"), std::string::npos) << s.message();
}

TEST(OnnxSave, CorruptOpaqueBytesAreRefused) {
  Model m = testing::tinyModel();
  m.opaque_functions.push_back("\xff\xff\xff");
  Result<std::string> bytes = serializeModel(m);
  ASSERT_FALSE(bytes.isOk());
  EXPECT_NE(bytes.status().message().find("function 0"), std::string::npos)
      << bytes.status().message();
}

TEST(OnnxCheck, CheckModelReportsTheCheckersText) {
  Model m = testing::tinyModel();
  EXPECT_TRUE(checkModel(m).isOk());
  m.graph.nodes[0].op_type = "NoSuchOp";
  Status s = checkModel(m);
  ASSERT_FALSE(s.isOk());
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(s.message().find("NoSuchOp"), std::string::npos) << s.message();
}

TEST(OnnxCheck, Ir9IsCheckedAsIr8WithANote) {
  Model m = testing::tinyModel();
  m.ir_version = 9;
  std::string note;
  EXPECT_TRUE(checkModel(m, &note).isOk());
  EXPECT_NE(note.find("IR 9 checked as IR 8"), std::string::npos) << note;
  m.ir_version = 8;
  EXPECT_TRUE(checkModel(m, &note).isOk());
  EXPECT_EQ(note, "");
}

TEST(OnnxShapes, InferShapesFillsInferredTypes) {
  Model m = testing::tinyModel();
  Node add;
  add.name = "add";
  add.op_type = "Add";
  add.inputs = {"y", "y"};
  add.outputs = {"sum"};
  m.graph.nodes.push_back(add);
  std::vector<std::string> warnings;
  ASSERT_TRUE(inferShapes(m, true, &warnings).isOk());
  ASSERT_TRUE(m.graph.inferred_types.count("sum"));
  EXPECT_EQ(m.graph.inferred_types.at("sum").toString(), "float32[1,4]");
  EXPECT_TRUE(warnings.empty());
}

TEST(OnnxShapes, InferenceErrorsAreWarningsUnlessStrict) {
  onnx::ModelProto p = testing::baseModelProto();
  // Add of [1,4] and [3] cannot broadcast: an inference error, not a checker error.
  auto* t = testing::addInitializer(p, "k", onnx::TensorProto::FLOAT, {3});
  for (float v : {1.0f, 2.0f, 3.0f}) t->add_float_data(v);
  auto* add = p.mutable_graph()->add_node();
  add->set_op_type("Add");
  add->add_input("y");
  add->add_input("k");
  add->add_output("bad");
  TempDir dir;
  testing::writeProto(dir / "m.onnx", p);
  LoadReport report;
  Result<Model> m = loadModel(dir / "m.onnx", {}, &report);
  ASSERT_TRUE(m.isOk()) << m.status().message();
  EXPECT_FALSE(report.shapes_inferred);
  ASSERT_FALSE(report.warnings.empty());
  EXPECT_NE(report.warnings[0].find("shape inference"), std::string::npos);
  EXPECT_TRUE(m->graph.inferred_types.count("y")) << "types before the failing node are kept";
  Result<Model> strict = loadModel(dir / "m.onnx", {.strict_shape_inference = true});
  ASSERT_FALSE(strict.isOk());
  EXPECT_NE(strict.status().message().find("shape inference failed"), std::string::npos);
}

TEST(OnnxShapes, InputShapeOverrideChangesInferredShapes) {
  TempDir dir;
  ASSERT_TRUE(saveModel(testing::tinyModel(), dir / "m.onnx").isOk());
  LoadOptions options;
  options.input_shapes = {{"x", {1, 8}}};
  Result<Model> m = loadModel(dir / "m.onnx", options);
  ASSERT_TRUE(m.isOk()) << m.status().message();
  EXPECT_EQ(m->graph.inputs[0].type.toString(), "float32[1,8]");
  EXPECT_EQ(m->graph.typeOf("y")->toString(), "float32[1,8]");
  EXPECT_EQ(m->graph.outputs[0].type.toString(), "float32[1,8]");

  options.input_shapes = {{"images", {1, 3, 320, 320}}};
  Result<Model> wrong_name = loadModel(dir / "m.onnx", options);
  ASSERT_FALSE(wrong_name.isOk());
  EXPECT_NE(wrong_name.status().message().find("'images', which is not a graph input"),
            std::string::npos);
  options.input_shapes = {{"x", {8}}};
  Result<Model> wrong_rank = loadModel(dir / "m.onnx", options);
  ASSERT_FALSE(wrong_rank.isOk());
  EXPECT_NE(wrong_rank.status().message().find("rank"), std::string::npos);
}

TEST(OnnxShapes, ReshapeTargetsForAnotherSizeAreReported) {
  // x [1,4] -> Reshape to the constant [4]: right at the exported size, wrong after an override,
  // where onnx 1.12 still infers [4] without comparing element counts.
  Model m = testing::tinyModel();
  m.graph.setInitializer("target", Tensor::fromVector(DType::kInt64, {1}, std::vector<int64_t>{4}));
  Node reshape;
  reshape.name = "flatten";
  reshape.op_type = "Reshape";
  reshape.inputs = {"y", "target"};
  reshape.outputs = {"flat"};
  m.graph.nodes.push_back(reshape);
  m.graph.outputs.push_back(testing::tensorValue("flat", DType::kFloat32, {4}));
  TempDir dir;
  ASSERT_TRUE(saveModel(m, dir / "m.onnx").isOk());
  LoadReport report;
  ASSERT_TRUE(loadModel(dir / "m.onnx", {}, &report).isOk());
  EXPECT_TRUE(report.warnings.empty());
  EXPECT_TRUE(report.shapes_inferred);

  LoadOptions options;
  options.input_shapes = {{"x", {1, 8}}};
  ASSERT_TRUE(loadModel(dir / "m.onnx", options, &report).isOk());
  EXPECT_FALSE(report.shapes_inferred);
  ASSERT_EQ(report.warnings.size(), 1u);
  EXPECT_NE(report.warnings[0].find("Reshape 'flatten' turns float32[1,8] (8 elements) into "
                                    "float32[4] (4)"),
            std::string::npos)
      << report.warnings[0];
  options.strict_shape_inference = true;
  EXPECT_FALSE(loadModel(dir / "m.onnx", options).isOk());
}

TEST(OnnxTensorFiles, ConformanceInputsLoadWithDtypeAndShape) {
  const auto data = ::detslim::testing::onnxTestDataDir() / "node";
  if (!std::filesystem::exists(data)) GTEST_SKIP() << "libonnx-testdata is not installed";
  const struct {
    const char* test;
    DType dtype;
    Shape shape;
    const char* name;
  } cases[] = {
      {"test_abs", DType::kFloat32, {3, 4, 5}, "x"},
      {"test_add_uint8", DType::kUInt8, {3, 4, 5}, "x"},
      {"test_and2d", DType::kBool, {3, 4}, "x"},
      {"test_cast_STRING_to_FLOAT", DType::kString, {3, 4}, "input"},
      {"test_cast_FLOAT16_to_FLOAT", DType::kFloat16, {3, 4}, "input"},
  };
  for (const auto& c : cases) {
    const auto path = data / c.test / "test_data_set_0" / "input_0.pb";
    Result<Tensor> t = loadTensorFile(path);
    ASSERT_TRUE(t.isOk()) << t.status().message();
    EXPECT_EQ(t->dtype(), c.dtype) << c.test;
    EXPECT_EQ(t->shape(), c.shape) << c.test;
    Result<std::string> name = tensorFileName(path);
    ASSERT_TRUE(name.isOk());
    EXPECT_EQ(*name, c.name);
  }
  // test_abs: y = |x| elementwise, which checks the values as well as the header.
  Result<Tensor> x = loadTensorFile(data / "test_abs" / "test_data_set_0" / "input_0.pb");
  Result<Tensor> y = loadTensorFile(data / "test_abs" / "test_data_set_0" / "output_0.pb");
  ASSERT_TRUE(x.isOk() && y.isOk());
  for (int64_t i = 0; i < x->numel(); ++i) {
    EXPECT_EQ(std::abs(x->data<float>()[i]), y->data<float>()[i]);
  }
}

TEST(OnnxTensorFiles, SequencesAndBrokenFilesAreRefused) {
  TempDir dir;
  testing::writeBytes(dir / "junk.pb", "\x0f\x0f\x0f");
  Result<Tensor> junk = loadTensorFile(dir / "junk.pb");
  ASSERT_FALSE(junk.isOk());
  EXPECT_EQ(junk.status().code(), ErrorCode::kParse);
  Result<Tensor> missing = loadTensorFile(dir / "missing.pb");
  ASSERT_FALSE(missing.isOk());
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
  const auto seq = ::detslim::testing::onnxTestDataDir() / "node" / "test_sequence_insert_at_back" /
                   "test_data_set_0" / "input_0.pb";
  if (std::filesystem::exists(seq)) {
    Result<Tensor> s = loadTensorFile(seq);
    ASSERT_FALSE(s.isOk());
    EXPECT_NE(s.status().message().find("SequenceProto"), std::string::npos)
        << s.status().message();
  }
}

}  // namespace
}  // namespace detslim
