// External data: weights in a file beside the model, found through location / offset / length,
// and the refusals (missing file, file too short, paths leaving the model's folder).

#include <gtest/gtest.h>

#include <cstring>

#include "core/onnx/onnx_io.h"
#include "onnx_proto_util.h"

namespace detslim {
namespace {

using testing::TempDir;

const std::vector<float> kW = {1.0f, -2.0f, 3.5f, 4.25f, -0.5f, 6.0f};
const std::vector<int64_t> kB = {7, -8, 9};

std::string bytesOf(const void* p, size_t n) {
  return std::string(static_cast<const char*>(p), n);
}

// w: float[2,3] at offset 0, b: int64[3] at offset 64 (ONNX aligns external tensors), one file.
onnx::ModelProto externalModel(const std::string& location) {
  onnx::ModelProto m = testing::baseModelProto();
  testing::setExternal(testing::addInitializer(m, "w", onnx::TensorProto::FLOAT, {2, 3}), location,
                       0, 24);
  testing::setExternal(testing::addInitializer(m, "b", onnx::TensorProto::INT64, {3}), location, 64,
                       24);
  return m;
}

std::string externalBytes() {
  std::string data = bytesOf(kW.data(), kW.size() * sizeof(float));
  data.resize(64, '\0');
  return data + bytesOf(kB.data(), kB.size() * sizeof(int64_t));
}

TEST(OnnxExternalData, LoadsValuesFromTheFileBesideTheModel) {
  TempDir dir;
  testing::writeBytes(dir / "weights.bin", externalBytes());
  testing::writeProto(dir / "m.onnx", externalModel("weights.bin"));
  LoadReport report;
  Result<Model> model = loadModel(dir / "m.onnx", {}, &report);
  ASSERT_TRUE(model.isOk()) << model.status().message();
  EXPECT_TRUE(report.checker_passed);
  const Tensor* w = model->graph.initializer("w");
  const Tensor* b = model->graph.initializer("b");
  ASSERT_TRUE(w && b);
  EXPECT_EQ(w->toFloatVector(), kW);
  EXPECT_EQ(b->toInt64Vector(), kB);
}

TEST(OnnxExternalData, SubfolderLocationAndMissingLengthWork) {
  TempDir dir;
  std::filesystem::create_directory(dir / "data");
  testing::writeBytes(dir / "data" / "w.bin", bytesOf(kW.data(), kW.size() * sizeof(float)));
  onnx::ModelProto m = testing::baseModelProto();
  testing::setExternal(testing::addInitializer(m, "w", onnx::TensorProto::FLOAT, {2, 3}),
                       "data/w.bin");
  testing::writeProto(dir / "m.onnx", m);
  Result<Model> model = loadModel(dir / "m.onnx");
  ASSERT_TRUE(model.isOk()) << model.status().message();
  EXPECT_EQ(model->graph.initializer("w")->toFloatVector(), kW);
}

TEST(OnnxExternalData, SavingInlinesTheWeights) {
  TempDir dir;
  TempDir elsewhere;
  testing::writeBytes(dir / "weights.bin", externalBytes());
  testing::writeProto(dir / "m.onnx", externalModel("weights.bin"));
  Result<Model> a = loadModel(dir / "m.onnx");
  ASSERT_TRUE(a.isOk()) << a.status().message();
  ASSERT_TRUE(saveModel(*a, elsewhere / "copy.onnx").isOk());
  Result<Model> b = loadModel(elsewhere / "copy.onnx");  // no weights.bin there
  ASSERT_TRUE(b.isOk()) << b.status().message();
  EXPECT_EQ(diffModels(*a, *b), "");
}

TEST(OnnxExternalData, MissingFileIsNamed) {
  TempDir dir;
  testing::writeProto(dir / "m.onnx", externalModel("weights.bin"));
  Result<Model> model = loadModel(dir / "m.onnx");
  ASSERT_FALSE(model.isOk());
  EXPECT_EQ(model.status().code(), ErrorCode::kNotFound);
  const std::string& msg = model.status().message();
  EXPECT_EQ(msg.rfind((dir / "m.onnx").string(), 0), 0u) << msg;
  EXPECT_NE(msg.find("'weights.bin' not found"), std::string::npos) << msg;
  EXPECT_NE(msg.find("initializer 'w'"), std::string::npos) << msg;
}

TEST(OnnxExternalData, FileTooShortIsRefused) {
  TempDir dir;
  testing::writeBytes(dir / "weights.bin", externalBytes().substr(0, 70));
  testing::writeProto(dir / "m.onnx", externalModel("weights.bin"));
  Result<Model> model = loadModel(dir / "m.onnx");
  ASSERT_FALSE(model.isOk());
  const std::string& msg = model.status().message();
  EXPECT_NE(msg.find("initializer 'b'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("too short"), std::string::npos) << msg;
  EXPECT_NE(msg.find("needs 24 bytes at offset 64, the file has 70 bytes"), std::string::npos)
      << msg;
}

TEST(OnnxExternalData, LengthDisagreeingWithDimsIsRefused) {
  TempDir dir;
  testing::writeBytes(dir / "weights.bin", externalBytes());
  onnx::ModelProto m = testing::baseModelProto();
  testing::setExternal(testing::addInitializer(m, "w", onnx::TensorProto::FLOAT, {2, 3}),
                       "weights.bin", 0, 20);
  testing::writeProto(dir / "m.onnx", m);
  Result<Model> model = loadModel(dir / "m.onnx");
  ASSERT_FALSE(model.isOk());
  EXPECT_NE(model.status().message().find("length is 20 bytes"), std::string::npos)
      << model.status().message();
}

TEST(OnnxExternalData, LocationsLeavingTheFolderAreRefused) {
  TempDir root;
  std::filesystem::create_directory(root / "model");
  testing::writeBytes(root / "outside.bin", externalBytes());
  std::filesystem::create_symlink(root / "outside.bin", root / "model" / "link.bin");
  const struct {
    std::string location;
    std::string expect;
  } cases[] = {
      {"../outside.bin", "escapes the model's folder"},
      {"sub/../../outside.bin", "escapes the model's folder"},
      {(root / "outside.bin").string(), "is an absolute path"},
      {"link.bin", "symbolic link"},
  };
  for (const auto& c : cases) {
    testing::writeProto(root / "model" / "m.onnx", externalModel(c.location));
    Result<Model> model = loadModel(root / "model" / "m.onnx");
    ASSERT_FALSE(model.isOk()) << c.location;
    EXPECT_EQ(model.status().code(), ErrorCode::kInvalidArgument) << c.location;
    EXPECT_NE(model.status().message().find(c.expect), std::string::npos)
        << c.location << ": " << model.status().message();
  }
}

TEST(OnnxExternalData, FromBytesWithoutFolderIsRefused) {
  const std::string bytes = externalModel("weights.bin").SerializeAsString();
  Result<Model> model = loadModelFromBytes(bytes, "memory.onnx", {});
  ASSERT_FALSE(model.isOk());
  EXPECT_EQ(model.status().message().rfind("memory.onnx: ", 0), 0u);
  EXPECT_NE(model.status().message().find("no folder"), std::string::npos)
      << model.status().message();
}

TEST(OnnxExternalData, NonRegularFileIsRefusedWithoutBlocking) {
  TempDir dir;
  std::filesystem::create_directory(dir / "weights.bin");  // a folder where the data should be
  testing::writeProto(dir / "m.onnx", externalModel("weights.bin"));
  Result<Model> model = loadModel(dir / "m.onnx");
  ASSERT_FALSE(model.isOk());
  EXPECT_NE(model.status().message().find("not a regular file"), std::string::npos)
      << model.status().message();
}

}  // namespace
}  // namespace detslim
