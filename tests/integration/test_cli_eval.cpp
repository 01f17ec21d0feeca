// `detslim eval` end to end: JSON layout, human report, saved results, and bad input (exit 2
// with a message naming the file and line at fault).

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "run_command.h"
#include "test_data.h"

namespace fs = std::filesystem;
using detslim::testing::CommandResult;
using detslim::testing::runCommand;
using detslim::testing::testDataDir;
using nlohmann::json;

namespace {

constexpr int kExitBadInput = 2;

CommandResult eval(std::vector<std::string> args) {
  std::vector<std::string> argv{DETSLIM_CLI, "eval"};
  argv.insert(argv.end(), args.begin(), args.end());
  return runCommand(argv);
}

std::string model(const char* name) { return (testDataDir() / "models" / name).string(); }
std::string val2017() { return (testDataDir() / "coco/images/val2017").string(); }

// Two labelled images from val2017 in a fresh YOLO layout; `bad_line` is appended to the first
// label file.
fs::path yoloCopy(const std::string& bad_line) {
  const fs::path root = fs::temp_directory_path() / "detslim_cli_eval_yolo";
  fs::remove_all(root);
  fs::create_directories(root / "images");
  fs::create_directories(root / "labels");
  for (const char* stem : {"000000000139", "000000000285"}) {
    fs::copy_file(testDataDir() / "coco/images/val2017" / (std::string(stem) + ".jpg"),
                  root / "images" / (std::string(stem) + ".jpg"));
    fs::copy_file(testDataDir() / "coco/labels/val2017" / (std::string(stem) + ".txt"),
                  root / "labels" / (std::string(stem) + ".txt"));
  }
  std::ofstream(root / "labels/000000000139.txt", std::ios::app) << bad_line << "\n";
  return root;
}

}  // namespace

TEST(CliEval, JsonHasStatsInPycocotoolsOrderAndPerClassResults) {
  DETSLIM_REQUIRE_TEST_DATA();
  const fs::path dets = fs::temp_directory_path() / "detslim_cli_eval_dets.json";
  const CommandResult r = eval({"--model", model("yolox_nano.onnx"), "--data", val2017(),
                                "--limit", "8", "--json", "--save-dets", dets.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  ASSERT_EQ(j["stats"].size(), 12u);
  EXPECT_EQ(j["images"], 8);
  EXPECT_EQ(j["format"], "yolo");
  EXPECT_EQ(j["family"], "yolox");
  EXPECT_DOUBLE_EQ(j["stats"][0].get<double>(), j["stats_named"]["AP"].get<double>());
  EXPECT_DOUBLE_EQ(j["stats"][8].get<double>(), j["stats_named"]["AR100"].get<double>());
  EXPECT_FALSE(j["classes"].empty());
  EXPECT_TRUE(j["per_category"].contains("0"));  // person, in every one of these images
  // The saved file is a COCO results list that `eval-coco` reads.
  const json saved = json::parse(std::ifstream(dets));
  ASSERT_TRUE(saved.is_array());
  ASSERT_FALSE(saved.empty());
  EXPECT_TRUE(saved[0].contains("image_id") && saved[0].contains("bbox") &&
              saved[0].contains("score") && saved[0].contains("category_id"));
  fs::remove(dets);
}

TEST(CliEval, HumanReportPrintsCocoSummaryAndClassTable) {
  DETSLIM_REQUIRE_TEST_DATA();
  const CommandResult r =
      eval({"--model", model("yolox_nano.onnx"), "--data", val2017(), "--limit", "4"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(" Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("mAP50-95 "), std::string::npos);
  EXPECT_NE(r.out.find("person"), std::string::npos);
  // Progress goes to stderr, never into the report.
  EXPECT_NE(r.err.find("[4/4 images] 100%"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("images] "), std::string::npos);
}

TEST(CliEval, MalformedLabelLineWarnsWithFileAndLineOrFailsWhenStrict) {
  DETSLIM_REQUIRE_TEST_DATA();
  const fs::path root = yoloCopy("0 0.5 zero 0.1 0.1");
  const CommandResult lenient = eval({"--model", model("yolox_nano.onnx"), "--data",
                                      (root / "images").string(), "--json"});
  ASSERT_EQ(lenient.exit_code, 0) << lenient.err;
  EXPECT_NE(lenient.err.find("000000000139.txt:"), std::string::npos) << lenient.err;
  EXPECT_EQ(json::parse(lenient.out)["images"], 2);
  const CommandResult strict = eval({"--model", model("yolox_nano.onnx"), "--data",
                                     (root / "images").string(), "--strict"});
  EXPECT_EQ(strict.exit_code, kExitBadInput);
  EXPECT_NE(strict.err.find("000000000139.txt:"), std::string::npos) << strict.err;
  fs::remove_all(root);
}

TEST(CliEval, BadInputExitsTwoNamingTheCulprit) {
  DETSLIM_REQUIRE_TEST_DATA();
  struct Case {
    std::vector<std::string> args;
    std::string expected;
  };
  const fs::path bad_map = fs::temp_directory_path() / "detslim_cli_eval_map.json";
  std::ofstream(bad_map) << "{\"map\": {\"Car\": 7}}";
  const std::vector<Case> cases = {
      {{"--model", model("yolox_nano.onnx"), "--data", "/no/such/folder"}, "/no/such/folder"},
      {{"--model", "/no/model.onnx", "--data", val2017()}, "/no/model.onnx"},
      {{"--model", model("yolox_nano.onnx"), "--data", val2017(), "--format", "pascal"},
       "pascal"},
      {{"--model", model("yolox_nano.onnx"), "--data", val2017(), "--decoder", "rcnn"}, "rcnn"},
      {{"--model", model("yolox_nano.onnx"), "--data", (testDataDir() / "kitti").string(),
        "--classes", bad_map.string()},
       "Car"},
      {{"--model", model("yolox_nano.onnx"), "--data", val2017(), "--limit", "1", "--save-dets",
        "/proc/detslim/dets.json"},
       "/proc/detslim/dets.json"},
      {{"--model", model("yolox_nano.onnx"), "--data", val2017(), "--conf", "1.5"}, "--conf"},
  };
  for (const Case& c : cases) {
    const CommandResult r = eval(c.args);
    EXPECT_EQ(r.exit_code, kExitBadInput) << c.expected << "\n" << r.err;
    EXPECT_NE(r.err.find(c.expected), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("internal error"), std::string::npos) << r.err;
  }
  fs::remove(bad_map);
}
