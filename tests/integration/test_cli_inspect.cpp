// `detslim inspect` end to end: the figures the foundation issue names, on the shared models, and
// clean refusals of bad input (exit code 2, the message names the file).

#include <filesystem>
#include <fstream>
#include <random>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "run_command.h"
#include "temp_files.h"
#include "test_data.h"

namespace fs = std::filesystem;
using detslim::testing::runCommand;
using detslim::testing::readBytes;
using detslim::testing::TempDir;
using detslim::testing::testDataDir;
using nlohmann::json;

namespace {

json inspectJson(const fs::path& model, std::vector<std::string> extra = {}) {
  std::vector<std::string> argv{DETSLIM_CLI, "inspect", model.string(), "--json"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  const auto r = runCommand(argv);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return json::parse(r.out);
}

}  // namespace

TEST(CliInspect, Yolov5nFigures) {
  DETSLIM_REQUIRE_TEST_DATA();
  const json j = inspectJson(testDataDir() / "models/yolov5n_fp32.onnx");
  EXPECT_EQ(j["params"], 1867405);
  // Conv-only MACs at 640 as MANIFEST.md derives them for the 60 Conv nodes.
  EXPECT_EQ(j["macs"], 2234060800LL);
  EXPECT_EQ(j["file_bytes"], 7918388);
  EXPECT_EQ(j["opset"]["ai.onnx"], 17);
  EXPECT_EQ(j["ir_version"], 8);
  ASSERT_EQ(j["inputs"].size(), 1u);
  EXPECT_EQ(j["inputs"][0]["name"], "images");
  EXPECT_EQ(j["inputs"][0]["shape"], json::array({1, 3, 640, 640}));
  EXPECT_EQ(j["outputs"][0]["shape"], json::array({1, 25200, 85}));
  EXPECT_EQ(j["layers"].size(), 263u);
  EXPECT_EQ(j["class_names"].size(), 80u);
  EXPECT_EQ(j["class_names"][0], "person");
  EXPECT_EQ(j["metadata"]["stride"], "32");
  EXPECT_TRUE(j["checker"]["passed"].get<bool>());
  // The engine runs every op of the model.
  EXPECT_EQ(j["unsupported_ops"], json::array());
}

TEST(CliInspect, Yolov5sMatchesSeedPaper) {
  DETSLIM_REQUIRE_TEST_DATA();
  const json j = inspectJson(testDataDir() / "models/yolov5s_untrained.onnx");
  EXPECT_EQ(j["params"], 7225885);
  EXPECT_EQ(j["macs"], 8216780800LL);
  // Seed paper 000, Table V: 8.244113 G MACs for YOLOv5s (ptflops' count).
  EXPECT_EQ(j["macs_ptflops"], 8244113200LL);
}

TEST(CliInspect, SizeOverrideScalesMacs) {
  DETSLIM_REQUIRE_TEST_DATA();
  const json j = inspectJson(testDataDir() / "models/yolov5n_fp32.onnx", {"--size", "320"});
  // Every conv output plane is a quarter of the 640 one.
  EXPECT_EQ(j["macs"], 2234060800LL / 4);
  EXPECT_EQ(j["inputs"][0]["shape"], json::array({1, 3, 320, 320}));
  // yolov5n's exported Detect head reshapes to constants made for 640: at 320 the element
  // counts disagree and inspect must say so rather than print a silently wrong output shape.
  bool reshape_warning = false;
  for (const auto& w : j["warnings"]) {
    reshape_warning |= w.get<std::string>().find("Reshape") != std::string::npos;
  }
  EXPECT_TRUE(reshape_warning) << j["warnings"].dump();
}

TEST(CliInspect, OtherSharedModels) {
  DETSLIM_REQUIRE_TEST_DATA();
  EXPECT_EQ(inspectJson(testDataDir() / "models/yolox_nano.onnx")["params"], 904463);
  EXPECT_EQ(inspectJson(testDataDir() / "models/nanodet_m.onnx")["params"], 941863);
  const json fp16 = inspectJson(testDataDir() / "models/yolov5n.onnx");
  EXPECT_EQ(fp16["params"], 1867405);
  EXPECT_EQ(fp16["weight_bytes_by_dtype"]["float16"], 2 * 1867405);
  // IR 9: loads although onnx 1.12's checker predates it; the note says how it was checked.
  const json int8 = inspectJson(testDataDir() / "models/yolov8n_int8.onnx");
  EXPECT_EQ(int8["ir_version"], 9);
  EXPECT_EQ(int8["params"], 3194314);
  EXPECT_EQ(int8["params_by_dtype"]["uint8"], 3146240);
  EXPECT_NE(int8["checker"]["note"].get<std::string>().find("IR"), std::string::npos);
  EXPECT_GT(int8["macs"].get<int64_t>(), 0);
  for (const char* m : {"yolox_nano.onnx", "nanodet_m.onnx", "yolov5n.onnx", "yolov8n_int8.onnx", "yolov5s_untrained.onnx"}) {
    EXPECT_EQ(inspectJson(testDataDir() / "models" / m)["unsupported_ops"], json::array()) << m;
  }
}

TEST(CliInspect, HumanOutputAndLayers) {
  DETSLIM_REQUIRE_TEST_DATA();
  const auto r = runCommand({DETSLIM_CLI, "inspect", (testDataDir() / "models/yolov5n_fp32.onnx").string(), "--layers"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("1,867,405"), std::string::npos);
  EXPECT_NE(r.out.find("2,234,060,800"), std::string::npos);
  EXPECT_NE(r.out.find("images  float32[1,3,640,640]"), std::string::npos);
  EXPECT_NE(r.out.find("person"), std::string::npos);
  EXPECT_NE(r.out.find("model.0/conv/Conv"), std::string::npos);
}

TEST(CliInspect, ModelFileIsNotModified) {
  DETSLIM_REQUIRE_TEST_DATA();
  TempDir tmp;
  const fs::path copy = tmp.path() / "yolov8n_int8.onnx";
  fs::copy_file(testDataDir() / "models/yolov8n_int8.onnx", copy);
  const std::string before = readBytes(copy);
  const auto mtime = fs::last_write_time(copy);
  inspectJson(copy);
  EXPECT_EQ(readBytes(copy), before);
  EXPECT_EQ(fs::last_write_time(copy), mtime);
}

TEST(CliInspect, BadInputExitsTwoNamingTheFile) {
  TempDir tmp;
  const fs::path missing = tmp.path() / "missing.onnx";
  const fs::path empty = tmp.path() / "empty.onnx";
  const fs::path garbage = tmp.path() / "garbage.onnx";
  std::ofstream(empty).close();
  {
    std::ofstream out(garbage, std::ios::binary);
    std::mt19937 rng(7767517);
    for (int i = 0; i < 4096; ++i) out.put(static_cast<char>(rng() & 0xFF));
  }
  for (const fs::path& p : {missing, empty, garbage, tmp.path()}) {
    const auto r = runCommand({DETSLIM_CLI, "inspect", p.string()});
    EXPECT_EQ(r.exit_code, 2) << p << ": " << r.out;
    EXPECT_NE(r.err.find(p.string()), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("internal error"), std::string::npos) << r.err;
  }
}

TEST(CliInspect, UsageErrorsExitTwo) {
  EXPECT_EQ(runCommand({DETSLIM_CLI, "inspect"}).exit_code, 2);
  EXPECT_EQ(runCommand({DETSLIM_CLI, "no-such-command"}).exit_code, 2);
  const auto v = runCommand({DETSLIM_CLI, "--version"});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_NE(v.out.find("detslim "), std::string::npos);
}
