// End-to-end: `detslim eval-coco` on the pycocotools reference case and on bad input.

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "run_command.h"
#include "test_data.h"

namespace {

using detslim::testing::runCommand;
namespace fs = std::filesystem;

// Same bound as the library test: the issue's 1e-4 against pycocotools.
constexpr double kReferenceTolerance = 1e-4;

fs::path caseDir() { return detslim::testing::testDataDir() / "map_reference" / "case_public"; }

std::string readText(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

fs::path writeTemp(const std::string& name, const std::string& text) {
  const fs::path p = fs::temp_directory_path() / ("detslim-evalcoco-" +
                                                  std::to_string(::getpid()) + "-" + name);
  std::ofstream(p) << text;
  return p;
}

TEST(CliEvalCoco, JsonMatchesReference) {
  DETSLIM_REQUIRE_TEST_DATA();
  const auto r = runCommand({DETSLIM_CLI, "eval-coco", "--gt", (caseDir() / "gt.json").string(),
                             "--dt", (caseDir() / "dt.json").string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json got = nlohmann::json::parse(r.out);
  const nlohmann::json want = nlohmann::json::parse(readText(caseDir() / "expected.json"));
  ASSERT_EQ(got["stats"].size(), 12u);
  for (size_t i = 0; i < 12; ++i) {
    EXPECT_NEAR(got["stats"][i].get<double>(), want["stats"][i].get<double>(),
                kReferenceTolerance);
  }
  ASSERT_EQ(got["per_category"].size(), want["per_category"].size());
  for (const auto& [id, w] : want["per_category"].items()) {
    ASSERT_TRUE(got["per_category"].contains(id)) << id;
    EXPECT_NEAR(got["per_category"][id]["ap"].get<double>(), w["ap"].get<double>(),
                kReferenceTolerance);
    EXPECT_NEAR(got["per_category"][id]["ap50"].get<double>(), w["ap50"].get<double>(),
                kReferenceTolerance);
  }
}

TEST(CliEvalCoco, HumanOutputHasSummarizeLines) {
  DETSLIM_REQUIRE_TEST_DATA();
  const auto r = runCommand({DETSLIM_CLI, "eval-coco", "--gt", (caseDir() / "gt.json").string(),
                             "--dt", (caseDir() / "dt.json").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(
                " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.153"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find(
                " Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = 0.416"),
            std::string::npos)
      << r.out;
}

TEST(CliEvalCoco, BadInputExitsTwoNamingFileAndField) {
  const fs::path gt = writeTemp("gt.json", R"({"images": [{"id": 1}], "categories": [{"id": 1}],
    "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5]}]})");
  const fs::path dt = writeTemp(
      "dt.json", R"([{"image_id": 1, "category_id": 1, "bbox": [0, 0, 5], "score": 1}])");
  const fs::path bad_gt = writeTemp("badgt.json", R"({"images": [{"id": 1}]})");
  const fs::path unknown = writeTemp(
      "unk.json", R"([{"image_id": 3, "category_id": 1, "bbox": [0, 0, 5, 5], "score": 1}])");
  auto r = runCommand({DETSLIM_CLI, "eval-coco", "--gt", gt.string(), "--dt", dt.string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(dt.string()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("[0].bbox"), std::string::npos) << r.err;
  r = runCommand({DETSLIM_CLI, "eval-coco", "--gt", bad_gt.string(), "--dt", dt.string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("'categories'"), std::string::npos) << r.err;
  r = runCommand({DETSLIM_CLI, "eval-coco", "--gt", gt.string(), "--dt", unknown.string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("[0].image_id"), std::string::npos) << r.err;
  r = runCommand({DETSLIM_CLI, "eval-coco", "--gt", "/nonexistent.json", "--dt", dt.string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("/nonexistent.json"), std::string::npos) << r.err;
  for (const fs::path& p : {gt, dt, bad_gt, unknown}) fs::remove(p);
}

}  // namespace
