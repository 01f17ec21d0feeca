// `detslim bench` end to end on the shared models: JSON keys, the peer comparison, the profile.

#include <filesystem>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "run_command.h"
#include "test_data.h"

namespace fs = std::filesystem;
using detslim::testing::runCommand;
using detslim::testing::testDataDir;
using nlohmann::json;

namespace {

json benchJson(std::vector<std::string> args) {
  std::vector<std::string> argv{DETSLIM_CLI, "bench"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("--json");
  const auto r = runCommand(argv);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0 ? json::parse(r.out) : json();
}

}  // namespace

TEST(CliBench, LatencyThroughputMemory) {
  DETSLIM_REQUIRE_TEST_DATA();
  const json j = benchJson({(testDataDir() / "models/yolox_nano.onnx").string(), "--runs", "5", "--warmup", "1",
                            "--threads", "1"});
  ASSERT_TRUE(j.is_object());
  for (const char* key : {"median", "p90", "p99", "mean", "std"}) {
    EXPECT_GT(j["latency_ms"][key].get<double>(), key == std::string("std") ? -1.0 : 0.0) << key;
  }
  EXPECT_GT(j["throughput_ips"].get<double>(), 0.0);
  EXPECT_EQ(j["threads"], 1);
  EXPECT_GT(j["activation_bytes"].get<int64_t>(), 0);
  EXPECT_EQ(j["weight_bytes"], 904463 * 4);
  EXPECT_EQ(j["input_shape"], json::array({1, 3, 416, 416}));
}

TEST(CliBench, ProfileListsEveryStepWithItsKernel) {
  DETSLIM_REQUIRE_TEST_DATA();
  const json j = benchJson({(testDataDir() / "models/yolov5n_fp32.onnx").string(), "--runs", "2", "--warmup", "1",
                            "--profile"});
  ASSERT_TRUE(j.contains("profile"));
  const json& nodes = j["profile"]["nodes"];
  ASSERT_GT(nodes.size(), 20u);
  double share = 0.0;
  for (const json& n : nodes) {
    EXPECT_FALSE(n["kernel"].get<std::string>().empty());
    share += n["share"].get<double>();
  }
  EXPECT_NEAR(share, 1.0, 1e-6);
  EXPECT_FALSE(j["profile"]["op_types"].empty());
}

TEST(CliBench, VersusOpenCvPrintsTheRatio) {
  DETSLIM_REQUIRE_TEST_DATA();
  const json j = benchJson({(testDataDir() / "models/yolox_nano.onnx").string(), "--runs", "3", "--warmup", "1",
                            "--vs", "opencv"});
  ASSERT_TRUE(j.contains("peer"));
  EXPECT_NE(j["peer"]["name"].get<std::string>().find("opencv"), std::string::npos);
  EXPECT_GT(j["ratio_median"].get<double>(), 0.0);
  EXPECT_GT(j["peer"]["latency_ms"]["median"].get<double>(), 0.0);
  // Same input, same model: the two engines' outputs agree.
  EXPECT_LE(j["output_agreement"]["max_rel_diff"].get<double>(), 1e-4);
}

TEST(CliBench, VersusOnnxRuntime) {
  DETSLIM_REQUIRE_TEST_DATA();
  if (!fs::exists(fs::path(DETSLIM_SOURCE_DIR) / "tools/peers/node_modules/onnxruntime-node")) {
    GTEST_SKIP() << "onnxruntime-node is not installed in tools/peers (scripts/setup.sh installs it)";
  }
  const json j = benchJson({(testDataDir() / "models/yolox_nano.onnx").string(), "--runs", "3", "--warmup", "1",
                            "--vs", "ort"});
  ASSERT_TRUE(j.contains("peer"));
  EXPECT_NE(j["peer"]["name"].get<std::string>().find("onnxruntime"), std::string::npos);
  EXPECT_GT(j["ratio_median"].get<double>(), 0.0);
  EXPECT_LE(j["output_agreement"]["max_rel_diff"].get<double>(), 1e-4);
}

TEST(CliBench, BadInput) {
  EXPECT_EQ(runCommand({DETSLIM_CLI, "bench", "/nonexistent/model.onnx"}).exit_code, 2);
  DETSLIM_REQUIRE_TEST_DATA();
  const auto r = runCommand({DETSLIM_CLI, "bench", (testDataDir() / "models/yolov5n_fp32.onnx").string(),
                             "--size", "320", "--runs", "1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("Reshape"), std::string::npos) << r.err;
  EXPECT_EQ(runCommand({DETSLIM_CLI, "bench", (testDataDir() / "models/yolox_nano.onnx").string(), "--vs", "tensorrt"}).exit_code, 2);
}
