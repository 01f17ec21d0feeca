// The precision step's configuration: parameters of --precision (int8 calibrator, activations,
// keep, calibration images), the sweep's calibrator dimension, and where calibration images come
// from (a folder, or the evaluation set's unused images; refusals name the fix).

#include <filesystem>

#include <gtest/gtest.h>

#include "core/workbench/quantize_job.h"
#include "core/workbench/run_job.h"
#include "temp_files.h"
#include "test_data.h"

namespace fs = std::filesystem;
using namespace detslim;
using detslim::testing::TempDir;
using detslim::testing::testDataDir;

TEST(PrecisionParams, Int8ParametersParseAndBadOnesAreNamed) {
  auto p = precisionFromParams("int8", {{"calibrator", "mse"}, {"activations", "s8"}, {"keep", "default;auto"},
                                        {"calib_count", "16"}, {"max_map_drop", "1.5"}});
  ASSERT_TRUE(p.isOk()) << p.status().message();
  EXPECT_EQ(p->quant.calibrator, quant::Calibrator::kMse);
  EXPECT_EQ(p->quant.activations, quant::ActivationType::kS8Symmetric);
  EXPECT_EQ(p->keep, (std::vector<std::string>{"default", "auto"}));
  EXPECT_EQ(p->calib_count, 16);
  EXPECT_DOUBLE_EQ(p->max_map_drop, 1.5);
  EXPECT_TRUE(p->quant.pre_activations);
  // Without a calibrator the documented default (mse, docs/quant.md).
  auto d = precisionFromParams("int8", {});
  ASSERT_TRUE(d.isOk());
  EXPECT_EQ(d->quant.calibrator, defaultCalibrator());
  EXPECT_EQ(defaultCalibrator(), quant::Calibrator::kMse);
  auto f32_silu = precisionFromParams("int8", {{"pre_activation", "f32"}});
  ASSERT_TRUE(f32_silu.isOk()) << f32_silu.status().message();
  EXPECT_FALSE(f32_silu->quant.pre_activations);

  auto bad = precisionFromParams("int8", {{"calibrater", "mse"}});
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(bad.status().message().find("calibrater"), std::string::npos);
  bad = precisionFromParams("int8", {{"calib_count", "2.5"}});
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(bad.status().message().find("calib_count"), std::string::npos);
  bad = precisionFromParams("int8", {{"pre_activation", "fp16"}});
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(bad.status().message().find("pre_activation=fp16 must be int8 or f32"), std::string::npos)
      << bad.status().message();
  bad = precisionFromParams("fp16", {{"calibrator", "mse"}});
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(bad.status().message().find("fp16"), std::string::npos);
  bad = precisionFromParams("int4", {});
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(bad.status().message().find("int4"), std::string::npos);
}

TEST(PrecisionParams, RunConfigHashesFp32AsBeforeAndInt8WithItsParameters) {
  RunConfig fp32;
  EXPECT_FALSE(fp32.toJson().contains("precision_params"));
  RunConfig int8;
  int8.precision = "int8";
  int8.precision_params = {{"calibrator", "entropy"}};
  EXPECT_EQ(int8.toJson()["precision_params"]["calibrator"], "entropy");
  EXPECT_EQ(int8.label(), "none int8:calibrator=entropy");
  EXPECT_TRUE(validateConfig(int8).isOk());
  int8.precision_params["calibrator"] = "median";
  EXPECT_FALSE(validateConfig(int8).isOk());
}

TEST(PrecisionParams, SweepRunsInt8OncePerCalibratorAndOtherPrecisionsOnce) {
  SweepOptions o;
  o.precisions = {"fp32", "bf16", "int8"};
  o.calibrators = {"minmax", "entropy"};
  o.base.config.precision_params = {{"calib", "/x"}};
  const std::vector<RunConfig> configs = expandSweep(o);
  ASSERT_EQ(configs.size(), 4u);
  EXPECT_TRUE(configs[0].precision_params.empty());
  EXPECT_TRUE(configs[1].precision_params.empty());
  EXPECT_EQ(configs[2].precision_params.at("calibrator"), "minmax");
  EXPECT_EQ(configs[3].precision_params.at("calibrator"), "entropy");
  EXPECT_EQ(configs[3].precision_params.at("calib"), "/x");
}

TEST(CalibrationSet, UnusedEvaluationImagesOrARefusalNamingTheFix) {
  DETSLIM_REQUIRE_TEST_DATA();
  const fs::path val = testDataDir() / "coco/images/val2017";
  PrecisionOptions o;
  o.precision = "int8";
  o.calib_count = 10;
  auto set = chooseCalibrationSet(o, val, datasets::Format::kAuto, 100, {});
  ASSERT_TRUE(set.isOk()) << set.status().message();
  EXPECT_EQ(set->images.size(), 10u);
  ASSERT_TRUE(set->labelled.has_value());
  EXPECT_EQ(set->labelled->skip, 100u);
  EXPECT_NE(set->origin.find("does not use (images 101..110"), std::string::npos) << set->origin;
  // 128 images, 120 evaluated: 8 left, fewer than asked -> a warning, not an error.
  set = chooseCalibrationSet(o, val, datasets::Format::kAuto, 120, {});
  ASSERT_TRUE(set.isOk());
  EXPECT_EQ(set->images.size(), 8u);
  ASSERT_EQ(set->warnings.size(), 1u);
  EXPECT_NE(set->warnings[0].find("found 8"), std::string::npos);
  // Every image evaluated: nothing to calibrate on.
  auto none = chooseCalibrationSet(o, val, datasets::Format::kAuto, 0, {});
  ASSERT_FALSE(none.isOk());
  EXPECT_NE(none.status().message().find("--calib"), std::string::npos);
  // Calibration and evaluation images never overlap.
  auto first = chooseCalibrationSet(o, val, datasets::Format::kAuto, 64, {});
  ASSERT_TRUE(first.isOk());
  datasets::ReadOptions read;
  read.limit = 64;
  auto evaluated = datasets::readDataset(val, read);
  ASSERT_TRUE(evaluated.isOk());
  ASSERT_EQ(evaluated->samples.size(), 64u);
  for (const datasets::Sample& s : evaluated->samples) {
    for (const fs::path& p : first->images) EXPECT_NE(p, s.image_path);
  }
}

TEST(CalibrationSet, AFolderOfImagesEmptyOrNot) {
  TempDir dir;
  PrecisionOptions o;
  o.calib = dir.path();
  auto empty = chooseCalibrationSet(o, {}, datasets::Format::kAuto, 0, {});
  ASSERT_FALSE(empty.isOk());
  EXPECT_NE(empty.status().message().find(dir.path().string()), std::string::npos);
  EXPECT_NE(empty.status().message().find("no images"), std::string::npos);
  o.calib = dir.path() / "missing";
  auto missing = chooseCalibrationSet(o, {}, datasets::Format::kAuto, 0, {});
  ASSERT_FALSE(missing.isOk());
  EXPECT_NE(missing.status().message().find("missing"), std::string::npos);
}
