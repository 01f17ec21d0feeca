// The detectors in $DETSLIM_TEST_DATA/models (shared/data/MANIFEST.md): all load with the checker,
// the IR-9 model is checked as IR 8 with a note, metadata and inferred shapes are there, and the
// round trip is lossless. Skipped when DETSLIM_TEST_DATA is unset.

#include <gtest/gtest.h>

#include <algorithm>

#include "core/onnx/onnx_io.h"
#include "onnx_test_util.h"
#include "test_data.h"

namespace detslim {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> sharedModels() {
  std::vector<fs::path> models;
  for (const auto& e : fs::directory_iterator(::detslim::testing::testDataDir() / "models")) {
    if (e.path().extension() == ".onnx") models.push_back(e.path());
  }
  std::sort(models.begin(), models.end());
  return models;
}

TEST(OnnxRealModels, AllLoadWithTheCheckerAndRoundTrip) {
  DETSLIM_REQUIRE_TEST_DATA();
  const std::vector<fs::path> models = sharedModels();
  ASSERT_FALSE(models.empty());
  testing::TempDir tmp;
  for (const fs::path& path : models) {
    SCOPED_TRACE(path.filename().string());
    LoadReport report;
    Result<Model> a = loadModel(path, {}, &report);
    ASSERT_TRUE(a.isOk()) << a.status().message();
    EXPECT_TRUE(report.checker_ran);
    EXPECT_TRUE(report.checker_passed);
    EXPECT_TRUE(report.shapes_inferred) << (report.warnings.empty() ? "" : report.warnings[0]);
    EXPECT_EQ(report.file_bytes, static_cast<int64_t>(fs::file_size(path)));
    const fs::path out = tmp / path.filename().string();
    ASSERT_TRUE(saveModel(*a, out).isOk());
    Result<Model> b = loadModel(out);
    ASSERT_TRUE(b.isOk()) << b.status().message();
    EXPECT_EQ(diffModels(*a, *b), "");
    ASSERT_EQ(a->graph.initializers().size(), b->graph.initializers().size());
    for (size_t i = 0; i < a->graph.initializers().size(); ++i) {
      EXPECT_TRUE(a->graph.initializers()[i].tensor.bitwiseEqual(b->graph.initializers()[i].tensor))
          << a->graph.initializers()[i].name;
    }
  }
}

TEST(OnnxRealModels, Yolov8nInt8IsIr9AndCheckedAsIr8) {
  DETSLIM_REQUIRE_TEST_DATA();
  // A copy, so that the byte-for-byte check cannot be fooled by a read-only original.
  testing::TempDir tmp;
  const fs::path copy = tmp / "yolov8n_int8.onnx";
  fs::copy_file(::detslim::testing::testDataDir() / "models" / "yolov8n_int8.onnx", copy);
  const uint64_t before = testing::fileHash(copy);
  LoadReport report;
  Result<Model> m = loadModel(copy, {}, &report);
  ASSERT_TRUE(m.isOk()) << m.status().message();
  EXPECT_EQ(m->ir_version, 9);
  EXPECT_TRUE(report.checker_passed);
  EXPECT_NE(report.checker_note.find("IR 9 checked as IR 8"), std::string::npos)
      << report.checker_note;
  EXPECT_EQ(testing::fileHash(copy), before) << "loading must never write the model file";
  ASSERT_NE(m->graph.typeOf("output0"), nullptr);
  EXPECT_EQ(m->graph.typeOf("output0")->toString(), "float32[1,84,8400]");
}

TEST(OnnxRealModels, Yolov5nFp32MetadataAndInferredOutput) {
  DETSLIM_REQUIRE_TEST_DATA();
  Result<Model> m = loadModel(::detslim::testing::testDataDir() / "models" / "yolov5n_fp32.onnx");
  ASSERT_TRUE(m.isOk()) << m.status().message();
  ASSERT_NE(m->metadataValue("stride"), nullptr);
  EXPECT_EQ(*m->metadataValue("stride"), "32");
  ASSERT_NE(m->metadataValue("names"), nullptr);
  EXPECT_EQ(m->classNames().size(), 80u);
  ASSERT_TRUE(m->graph.inferred_types.count("output0"));
  EXPECT_EQ(m->graph.inferred_types.at("output0").staticShape(), (Shape{1, 25200, 85}));
  EXPECT_EQ(m->graph.inferred_types.at("output0").dtype, DType::kFloat32);
}

}  // namespace
}  // namespace detslim
