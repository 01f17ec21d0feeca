// The detection viewer's core: one image's detections compared with its ground truth and with
// another configuration's (hand-made boxes with exact TP / FP / FN / lost / new), a stored run's
// configuration read back from JSON, and a stored run's detector rebuilt (real model).

#include <filesystem>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/datasets/class_map.h"
#include "core/workbench/detections_job.h"
#include "temp_files.h"
#include "test_data.h"

namespace fs = std::filesystem;
using namespace detslim;
using detslim::testing::TempDir;
using detslim::testing::testDataDir;

namespace {

constexpr int kPerson = 0;
constexpr int kCar = 1;
constexpr int kDog = 2;

datasets::GtBox gtBox(float x1, float y1, float x2, float y2, int cls) {
  datasets::GtBox g;
  g.x1 = x1;
  g.y1 = y1;
  g.x2 = x2;
  g.y2 = y2;
  g.class_index = cls;
  return g;
}

detect::Detection det(float x1, float y1, float x2, float y2, float score, int cls) {
  return {x1, y1, x2, y2, score, cls};
}

// g0 person, g1 person, g2 car, g3 a person crowd, g4 a box of no model class (ignore region).
std::vector<datasets::GtBox> handMadeGt() {
  std::vector<datasets::GtBox> gt = {gtBox(0, 0, 10, 10, kPerson), gtBox(20, 0, 30, 10, kPerson),
                                     gtBox(0, 20, 10, 30, kCar), gtBox(40, 40, 60, 60, kPerson),
                                     gtBox(70, 70, 90, 90, -1)};
  gt[3].crowd = true;
  gt[3].ignore = true;
  gt[4].ignore = true;
  gt[4].unmapped = true;
  return gt;
}

std::vector<detect::Detection> baselineDets() {
  return {det(0, 0, 10, 10, 0.9f, kPerson),    // a0: TP on g0
          det(1, 0, 11, 10, 0.8f, kPerson),    // a1: best GT g0 already taken -> FP
          det(0, 20, 10, 30, 0.7f, kCar),      // a2: TP on g2
          det(41, 41, 59, 59, 0.6f, kPerson),  // a3: on the crowd -> ignored
          det(20, 0, 30, 10, 0.1f, kPerson),   // a4: below conf 0.25 -> g1 missed
          det(71, 71, 89, 89, 0.5f, kDog)};    // a5: inside the ignore region -> ignored
}

std::vector<detect::Detection> compressedDets() {
  return {det(20, 0, 30, 10, 0.9f, kPerson),  // b0: TP on g1 (A missed it); a4 is below conf
          det(50, 20, 60, 30, 0.8f, kCar),    // b1: FP, no counterpart in A -> new
          det(0, 0, 10, 5, 0.7f, kPerson),    // b2: IoU with g0 exactly 0.5 -> FP (strict >)
          det(0, 20, 10, 30, 0.3f, kCar)};    // b3: TP on g2, a2 is its counterpart
}

}  // namespace

TEST(CompareImage, OneSideMarksEveryBoxExactly) {
  const auto gt = handMadeGt();
  const auto a = baselineDets();
  const ImageComparison c = compareImage(gt, a, nullptr, 0.5, 0.25);
  EXPECT_EQ(c.gt_counted, (std::vector<bool>{true, true, true, false, false}));
  EXPECT_EQ(c.a.tp, 2);
  EXPECT_EQ(c.a.fp, 1);
  EXPECT_EQ(c.a.fn, 1);
  EXPECT_EQ(c.a.ignored, 2);
  using M = DetectionMark;
  EXPECT_EQ(c.a.marks, (std::vector<M>{M::kTruePositive, M::kFalsePositive, M::kTruePositive,
                                       M::kIgnored, M::kBelowConfidence, M::kIgnored}));
  EXPECT_EQ(c.a.matched_gt, (std::vector<int>{0, -1, 2, 3, -1, 4}));
  EXPECT_EQ(c.a.gt_found, (std::vector<bool>{true, false, true, false, false}));
  EXPECT_FALSE(c.b.has_value());
  EXPECT_TRUE(c.lost.empty());
  EXPECT_EQ(c.newDetections(), 0);

  // A lower confidence lets a4 find g1.
  const ImageComparison low = compareImage(gt, a, nullptr, 0.5, 0.05);
  EXPECT_EQ(low.a.tp, 3);
  EXPECT_EQ(low.a.fn, 0);
  EXPECT_EQ(low.a.marks[4], M::kTruePositive);
}

TEST(CompareImage, TwoSidesGiveLostAndNew) {
  const auto gt = handMadeGt();
  const auto a = baselineDets();
  const auto b = compressedDets();
  const ImageComparison c = compareImage(gt, a, &b, 0.5, 0.25);
  ASSERT_TRUE(c.b.has_value());
  EXPECT_EQ(c.a.tp, 2);
  EXPECT_EQ(c.b->tp, 2);
  EXPECT_EQ(c.b->fp, 2);
  EXPECT_EQ(c.b->fn, 1);
  using M = DetectionMark;
  EXPECT_EQ(c.b->marks, (std::vector<M>{M::kTruePositive, M::kFalsePositive, M::kFalsePositive,
                                        M::kTruePositive}));
  EXPECT_EQ(c.lost, std::vector<int>{0});    // g0: found by A, missed by B
  EXPECT_EQ(c.gained, std::vector<int>{1});  // g1: found by B only
  // b0: its only counterpart in A is below conf; b1: nothing near it; b2 overlaps a0 with IoU
  // 0.5 (counterparts need IoU >= 0.5); b3 has a2.
  EXPECT_EQ(c.b_new, (std::vector<bool>{true, true, false, false}));
  EXPECT_EQ(c.newDetections(), 2);

  // The same side on both: nothing lost, nothing new.
  const ImageComparison same = compareImage(gt, a, &a, 0.5, 0.25);
  EXPECT_TRUE(same.lost.empty());
  EXPECT_TRUE(same.gained.empty());
  EXPECT_EQ(same.newDetections(), 0);
  EXPECT_EQ(same.b->tp, same.a.tp);
}

TEST(CompareImage, DifficultAndNoGroundTruth) {
  std::vector<datasets::GtBox> gt = {gtBox(0, 0, 10, 10, kCar)};
  gt[0].difficult = true;
  const std::vector<detect::Detection> a = {det(0, 0, 10, 10, 0.9f, kCar)};
  const ImageComparison c = compareImage(gt, a);
  EXPECT_EQ(c.a.tp, 0);
  EXPECT_EQ(c.a.fp, 0);
  EXPECT_EQ(c.a.fn, 0);
  EXPECT_EQ(c.a.ignored, 1);
  // Without ground truth every detection above conf is a false positive.
  const ImageComparison none = compareImage({}, a);
  EXPECT_EQ(none.a.fp, 1);
  EXPECT_EQ(none.a.fn, 0);
}

TEST(RunConfigJson, RoundTripKeepsEveryField) {
  RunConfig c;
  c.prune_method = "magnitude";
  c.prune_params = {{"sparsity", "0.6"}, {"scope", "global"}};
  c.precision = "int8";
  c.precision_params = {{"calibrator", "mse"}, {"calib_count", "16"}};
  c.threads = 2;
  c.size = 320;
  c.limit = 10;
  c.timed_runs = 7;
  c.warmup = 1;
  c.deadline_ms = 20.5;
  c.throughput_batches = {1, 4};
  c.decode.conf_threshold = 0.01f;
  c.decode.iou_threshold = 0.5f;
  c.decode.max_detections = 100;
  c.decode.multi_label = false;
  c.decode.class_agnostic = true;
  c.decode.family = detect::ModelFamily::kYoloV5;
  nlohmann::json stored = c.toJson();
  stored["steps"] = nlohmann::json::array();  // what executeRun adds before storing
  Result<RunConfig> back = runConfigFromJson(stored);
  ASSERT_TRUE(back.isOk()) << back.status().message();
  EXPECT_EQ(back->toJson(), c.toJson());
  EXPECT_EQ(back->prune_params.at("scope"), "global");
  EXPECT_EQ(back->size, 320);
  EXPECT_FLOAT_EQ(back->decode.conf_threshold, 0.01f);
  EXPECT_EQ(back->decode.family, detect::ModelFamily::kYoloV5);
  EXPECT_EQ(back->label(), c.label());
  // Defaults survive an almost empty object (older stored runs).
  Result<RunConfig> defaults = runConfigFromJson({{"precision", "fp32"}});
  ASSERT_TRUE(defaults.isOk());
  EXPECT_EQ(defaults->toJson(), RunConfig{}.toJson());
}

TEST(RunConfigJson, BadFieldsAreRefusedByName) {
  nlohmann::json j = RunConfig{}.toJson();
  j["threads"] = "two";
  Result<RunConfig> r = runConfigFromJson(j);
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("config.threads"), std::string::npos) << r.status().message();

  j = RunConfig{}.toJson();
  j["decode"]["conf"] = 1.5;
  r = runConfigFromJson(j);
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("config.decode.conf"), std::string::npos)
      << r.status().message();

  j = RunConfig{}.toJson();
  j["prune"]["method"] = "magnitud";
  r = runConfigFromJson(j);
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("magnitud"), std::string::npos) << r.status().message();

  j = RunConfig{}.toJson();
  j["prune"]["params"] = {{"sparsity", 0.5}};  // toJson writes strings
  r = runConfigFromJson(j);
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("config.prune.params.sparsity"), std::string::npos)
      << r.status().message();

  EXPECT_FALSE(runConfigFromJson(nlohmann::json::array()).isOk());
}

TEST(BuildDetector, MissingModelAndInt8WithoutImagesAreRefused) {
  DetectorSpec spec;
  spec.model = "/nonexistent/gone.onnx";
  spec.run_id = 12;
  Result<BuiltDetector> r = buildDetector(spec);
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("/nonexistent/gone.onnx"), std::string::npos);
  EXPECT_NE(r.status().message().find("run 12"), std::string::npos);
}

TEST(BuildDetector, StoredRunWhoseModelMovedIsRefusedNamingIt) {
  TempDir dir;
  const fs::path db = dir.path() / "results.sqlite";
  int64_t id = 0;
  {
    Result<store::Store> s = store::Store::open(db);
    ASSERT_TRUE(s.isOk()) << s.status().message();
    store::RunRecord run;
    run.model.sha256 = std::string(64, 'a');
    run.model.path = (dir.path() / "moved.onnx").string();
    run.model.name = "moved.onnx";
    run.config = RunConfig{}.toJson();
    Result<int64_t> inserted = s->insertRun(run);
    ASSERT_TRUE(inserted.isOk()) << inserted.status().message();
    id = *inserted;
  }
  Result<DetectorSpec> spec = detectorSpecFromStore(db, id);
  ASSERT_FALSE(spec.isOk());
  EXPECT_NE(spec.status().message().find("moved.onnx"), std::string::npos);
  EXPECT_NE(spec.status().message().find("run " + std::to_string(id)), std::string::npos);
  Result<DetectorSpec> unknown = detectorSpecFromStore(db, id + 100);
  ASSERT_FALSE(unknown.isOk());
  EXPECT_NE(unknown.status().message().find(std::to_string(id + 100)), std::string::npos);
}

TEST(BuildDetector, RebuildsAPrunedConfigurationLikeTheRun) {
  DETSLIM_REQUIRE_TEST_DATA();
  DetectorSpec spec;
  spec.model = testDataDir() / "models/yolov5n_fp32.onnx";
  spec.config.prune_method = "magnitude";
  spec.config.prune_params = {{"sparsity", "0.6"}};
  spec.config.threads = 2;
  spec.config.decode.conf_threshold = 0.05f;
  spec.label = "pruned";
  Result<BuiltDetector> built = buildDetector(spec);
  ASSERT_TRUE(built.isOk()) << built.status().message();
  Detector& d = built->detector;
  EXPECT_EQ(d.inputWidth(), 640);  // the model's own (its Detect head is traced at 640)
  EXPECT_EQ(d.plan().numThreads(), 2);
  EXPECT_FLOAT_EQ(d.decodeOptions().conf_threshold, 0.05f);
  EXPECT_EQ(d.classNames().size(), 80u);
  // Pruning changed the weights: the detector's model has many zero conv weights.
  int64_t zeros = 0, total = 0;
  for (const NamedTensor& init : d.model().graph.initializers()) {
    const Tensor& t = init.tensor;
    if (t.dtype() != DType::kFloat32 || t.shape().size() != 4) continue;
    for (float w : t.span<float>()) zeros += w == 0.0f ? 1 : 0;
    total += t.numel();
  }
  ASSERT_GT(total, 0);
  EXPECT_GT(static_cast<double>(zeros) / static_cast<double>(total), 0.4);

  // int8 without a calib folder and without any dataset cannot calibrate.
  DetectorSpec int8 = spec;
  int8.config.prune_method = "none";
  int8.config.prune_params.clear();
  int8.config.precision = "int8";
  Result<BuiltDetector> refused = buildDetector(int8);
  ASSERT_FALSE(refused.isOk());
  EXPECT_NE(refused.status().message().find("calibration"), std::string::npos)
      << refused.status().message();
}

TEST(ReadGroundTruth, CocoValInModelClasses) {
  DETSLIM_REQUIRE_TEST_DATA();
  GroundTruthOptions options;
  options.limit = 3;
  Result<datasets::Dataset> ds =
      readGroundTruth(testDataDir() / "coco/images/val2017", datasets::coco80ClassNames(), options);
  ASSERT_TRUE(ds.isOk()) << ds.status().message();
  ASSERT_EQ(ds->samples.size(), 3u);
  size_t boxes = 0;
  for (const datasets::Sample& s : ds->samples) {
    for (const datasets::GtBox& g : s.boxes) {
      EXPECT_GE(g.class_index, 0);
      EXPECT_LT(g.class_index, 80);
      ++boxes;
    }
  }
  EXPECT_GT(boxes, 0u);
}
