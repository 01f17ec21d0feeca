// Files that are not (valid) models: each is refused with a message that starts with the path
// and names the fault, and the right error code. Every file is generated here in a temp dir.

#include <gtest/gtest.h>

#include <random>

#include "core/onnx/onnx_io.h"
#include "onnx_proto_util.h"
#include "test_data.h"

namespace detslim {
namespace {

using testing::TempDir;

// Loads `path` and checks: refused, `code`, message starts with the path and holds `words`.
void expectRefused(const std::filesystem::path& path, ErrorCode code,
                   const std::vector<std::string>& words, const LoadOptions& options = {}) {
  Result<Model> model = loadModel(path, options);
  ASSERT_FALSE(model.isOk()) << path;
  const std::string& msg = model.status().message();
  EXPECT_EQ(model.status().code(), code) << msg;
  EXPECT_EQ(msg.rfind(path.string() + ": ", 0), 0u) << "message must start with the path: " << msg;
  for (const std::string& w : words)
    EXPECT_NE(msg.find(w), std::string::npos) << w << " in: " << msg;
}

// A valid model with one 4 KiB initializer: its graph field covers most of the file, so any cut
// in the middle leaves a length-delimited field unfinished.
std::string modelWithWeights() {
  onnx::ModelProto m = testing::baseModelProto();
  auto* t = testing::addInitializer(m, "w", onnx::TensorProto::FLOAT, {32, 32});
  t->set_raw_data(std::string(32 * 32 * 4, '\x01'));
  return m.SerializeAsString();
}

TEST(OnnxBadInput, MissingFile) {
  TempDir dir;
  expectRefused(dir / "nope.onnx", ErrorCode::kNotFound, {"file not found"});
}

TEST(OnnxBadInput, Directory) {
  TempDir dir;
  std::filesystem::create_directory(dir / "folder.onnx");
  expectRefused(dir / "folder.onnx", ErrorCode::kInvalidArgument, {"is a directory"});
}

TEST(OnnxBadInput, EmptyFile) {
  TempDir dir;
  testing::writeBytes(dir / "empty.onnx", "");
  expectRefused(dir / "empty.onnx", ErrorCode::kParse, {"empty", "0 bytes"});
}

TEST(OnnxBadInput, TruncatedModel) {
  TempDir dir;
  const std::string full = modelWithWeights();
  testing::writeBytes(dir / "half.onnx", full.substr(0, full.size() / 2));
  expectRefused(dir / "half.onnx", ErrorCode::kParse,
                {"not a valid ONNX protobuf (truncated or corrupt file)"});
  // A real conformance model cut in half, too.
  const auto conv = ::detslim::testing::onnxTestDataDir() / "node" /
                    "test_conv_with_strides_padding" / "model.onnx";
  if (std::filesystem::exists(conv)) {
    const std::string real = testing::readBytes(conv);
    testing::writeBytes(dir / "half_conv.onnx", real.substr(0, real.size() / 2));
    expectRefused(dir / "half_conv.onnx", ErrorCode::kParse, {"not a valid ONNX protobuf"});
  }
}

TEST(OnnxBadInput, RandomBytes) {
  TempDir dir;
  std::mt19937 rng(7767517);
  std::string noise(4096, '\0');
  for (char& c : noise) c = static_cast<char>(rng());
  testing::writeBytes(dir / "noise.onnx", noise);
  expectRefused(dir / "noise.onnx", ErrorCode::kParse, {"not a valid ONNX protobuf"});
}

TEST(OnnxBadInput, TensorProtoIsNotAModel) {
  TempDir dir;
  onnx::TensorProto t;
  t.set_data_type(onnx::TensorProto::FLOAT);
  t.add_dims(3);
  t.set_raw_data(std::string(12, '\0'));
  testing::writeProto(dir / "tensor.onnx", t);
  expectRefused(dir / "tensor.onnx", ErrorCode::kInvalidArgument,
                {"parsed as protobuf but is not an ONNX model", "no graph", "no opset_import",
                 "TensorProto"});
}

TEST(OnnxBadInput, ModelWithoutOpsetImport) {
  TempDir dir;
  onnx::ModelProto m = testing::baseModelProto();
  m.clear_opset_import();
  m.set_ir_version(0);
  testing::writeProto(dir / "m.onnx", m);
  expectRefused(dir / "m.onnx", ErrorCode::kInvalidArgument,
                {"not an ONNX model", "no ir_version", "no opset_import"});
}

TEST(OnnxBadInput, CheckerRefusesUndefinedInput) {
  TempDir dir;
  onnx::ModelProto m = testing::baseModelProto();
  m.mutable_graph()->mutable_node(0)->set_input(0, "ghost");
  testing::writeProto(dir / "m.onnx", m);
  expectRefused(dir / "m.onnx", ErrorCode::kInvalidArgument, {"ONNX checker", "ghost"});
}

TEST(OnnxBadInput, CheckerRefusesDuplicateOutput) {
  TempDir dir;
  onnx::ModelProto m = testing::baseModelProto();
  auto* second = m.mutable_graph()->add_node();
  second->set_op_type("Relu");
  second->set_name("relu2");
  second->add_input("x");
  second->add_output("y");
  testing::writeProto(dir / "m.onnx", m);
  expectRefused(dir / "m.onnx", ErrorCode::kInvalidArgument,
                {"ONNX checker", "single static assignment"});
}

TEST(OnnxBadInput, UnknownDomainIsUnsupported) {
  TempDir dir;
  onnx::ModelProto m = testing::baseModelProto();
  auto* op = m.add_opset_import();
  op->set_domain("com.example");
  op->set_version(1);
  m.mutable_graph()->mutable_node(0)->set_domain("com.example");
  m.mutable_graph()->mutable_node(0)->set_op_type("FancyRelu");
  testing::writeProto(dir / "m.onnx", m);
  expectRefused(dir / "m.onnx", ErrorCode::kUnsupported,
                {"node 'relu'", "op 'FancyRelu'", "domain 'com.example'"});
}

TEST(OnnxBadInput, DomainWithoutOpsetImport) {
  TempDir dir;
  onnx::ModelProto m = testing::baseModelProto();
  m.mutable_graph()->mutable_node(0)->set_domain("ai.onnx.ml");
  testing::writeProto(dir / "m.onnx", m);
  expectRefused(dir / "m.onnx", ErrorCode::kInvalidArgument,
                {"node 'relu'", "ai.onnx.ml", "no opset_import"});
}

TEST(OnnxBadInput, UnusedUnknownDomainIsOnlyAWarning) {
  TempDir dir;
  onnx::ModelProto m = testing::baseModelProto();
  auto* op = m.add_opset_import();
  op->set_domain("com.example");
  op->set_version(3);
  testing::writeProto(dir / "m.onnx", m);
  LoadReport report;
  Result<Model> model = loadModel(dir / "m.onnx", {}, &report);
  ASSERT_TRUE(model.isOk()) << model.status().message();
  ASSERT_EQ(report.warnings.size(), 1u);
  EXPECT_NE(report.warnings[0].find("com.example"), std::string::npos) << report.warnings[0];
}

TEST(OnnxBadInput, RawSizeDisagreeingWithDims) {
  TempDir dir;
  onnx::ModelProto m = testing::baseModelProto();
  testing::addInitializer(m, "conv.weight", onnx::TensorProto::FLOAT, {2, 3})
      ->set_raw_data(std::string(20, '\0'));
  testing::writeProto(dir / "m.onnx", m);
  expectRefused(dir / "m.onnx", ErrorCode::kInvalidArgument,
                {"initializer 'conv.weight'", "float32", "[2, 3]", "20 bytes", "need 24"});
}

TEST(OnnxBadInput, HugeDimsAreRefusedBeforeAllocating) {
  TempDir dir;
  onnx::ModelProto m = testing::baseModelProto();
  // 2^62 elements claimed, 4 bytes present: must fail on the size check, not on allocation.
  testing::addInitializer(m, "big", onnx::TensorProto::FLOAT, {1ll << 31, 1ll << 31})
      ->set_raw_data(std::string(4, '\0'));
  testing::addInitializer(m, "overflow", onnx::TensorProto::FLOAT, {1ll << 40, 1ll << 40, 0});
  testing::writeProto(dir / "m.onnx", m);
  expectRefused(dir / "m.onnx", ErrorCode::kInvalidArgument, {"initializer 'big'", "overflows"});
  m.mutable_graph()->mutable_initializer(0)->set_dims(0, 1ll << 20);
  testing::writeProto(dir / "m.onnx", m);
  expectRefused(dir / "m.onnx", ErrorCode::kInvalidArgument,
                {"initializer 'big'", "raw_data holds 4 bytes"});
  m.mutable_graph()->mutable_initializer()->DeleteSubrange(0, 1);
  testing::writeProto(dir / "m.onnx", m);
  expectRefused(dir / "m.onnx", ErrorCode::kInvalidArgument,
                {"initializer 'overflow'", "overflows"});
}

TEST(OnnxBadInput, NegativeDims) {
  TempDir dir;
  onnx::ModelProto m = testing::baseModelProto();
  testing::addInitializer(m, "w", onnx::TensorProto::FLOAT, {2, -3});
  testing::writeProto(dir / "m.onnx", m);
  expectRefused(dir / "m.onnx", ErrorCode::kInvalidArgument, {"initializer 'w'", "negative dim"});
}

TEST(OnnxBadInput, SegmentedTensor) {
  TempDir dir;
  onnx::ModelProto m = testing::baseModelProto();
  auto* t = testing::addInitializer(m, "w", onnx::TensorProto::FLOAT, {2});
  t->mutable_segment()->set_begin(0);
  t->mutable_segment()->set_end(2);
  t->add_float_data(1.0f);
  t->add_float_data(2.0f);
  testing::writeProto(dir / "m.onnx", m);
  expectRefused(dir / "m.onnx", ErrorCode::kUnsupported, {"initializer 'w'", "segment"});
}

TEST(OnnxBadInput, DuplicateInitializer) {
  TempDir dir;
  onnx::ModelProto m = testing::baseModelProto();
  testing::addInitializer(m, "w", onnx::TensorProto::FLOAT, {1})->add_float_data(1.0f);
  testing::addInitializer(m, "w", onnx::TensorProto::FLOAT, {1})->add_float_data(2.0f);
  testing::writeProto(dir / "m.onnx", m);
  expectRefused(dir / "m.onnx", ErrorCode::kInvalidArgument, {"initializer 'w'", "twice"});
}

TEST(OnnxBadInput, UnknownElementType) {
  TempDir dir;
  onnx::ModelProto m = testing::baseModelProto();
  testing::addInitializer(m, "w", 99, {1})->set_raw_data("x");
  testing::writeProto(dir / "m.onnx", m);
  expectRefused(dir / "m.onnx", ErrorCode::kUnsupported, {"initializer 'w'", "element type 99"});
}

TEST(OnnxBadInput, RecursiveFunctionIsRefused) {
  TempDir dir;
  onnx::ModelProto m = testing::baseModelProto();
  auto* f = m.add_functions();
  f->set_name("Loopy");
  f->set_domain("local");
  f->add_input("a");
  f->add_output("b");
  auto* op = f->add_opset_import();
  op->set_domain("local");
  op->set_version(1);
  auto* call = f->add_node();
  call->set_op_type("Loopy");
  call->set_domain("local");
  call->add_input("a");
  call->add_output("b");
  testing::writeProto(dir / "m.onnx", m);
  expectRefused(dir / "m.onnx", ErrorCode::kInvalidArgument, {"local:Loopy", "calls itself"});
}

TEST(OnnxBadInput, LoadedFileIsNotModified) {
  TempDir dir;
  // A model whose IR version the checker must lower and whose shapes inference adds: both
  // happen in memory only.
  onnx::ModelProto m = testing::baseModelProto();
  m.set_ir_version(9);
  testing::writeProto(dir / "m.onnx", m);
  const std::filesystem::path path = dir / "m.onnx";
  const uint64_t before = testing::fileHash(path);
  const auto mtime = std::filesystem::last_write_time(path);
  LoadReport report;
  Result<Model> model = loadModel(path, {}, &report);
  ASSERT_TRUE(model.isOk()) << model.status().message();
  EXPECT_TRUE(report.checker_passed);
  EXPECT_EQ(testing::fileHash(path), before);
  EXPECT_EQ(std::filesystem::last_write_time(path), mtime);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()),
                          std::filesystem::directory_iterator()),
            1);
}

TEST(OnnxBadInput, FromBytesMessagesUseTheDisplayName) {
  Result<Model> model = loadModelFromBytes("\x0f\x0f\x0f", "upload.onnx", {});
  ASSERT_FALSE(model.isOk());
  EXPECT_EQ(model.status().code(), ErrorCode::kParse);
  EXPECT_EQ(model.status().message().rfind("upload.onnx: ", 0), 0u) << model.status().message();
  Result<Model> empty = loadModelFromBytes("", "upload.onnx", {});
  ASSERT_FALSE(empty.isOk());
  EXPECT_EQ(empty.status().message().rfind("upload.onnx: ", 0), 0u);
}

}  // namespace
}  // namespace detslim
