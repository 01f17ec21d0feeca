// The eval job end to end on real models and datasets (core/workbench/eval_job.h), plus the
// ground-truth conversion rules on hand-made data.

#include <fstream>

#include <gtest/gtest.h>

#include "core/eval/coco_json.h"
#include "core/workbench/eval_job.h"
#include "test_data.h"

namespace detslim {
namespace {

namespace fs = std::filesystem;

// Figures of yolov5n_fp32 on the 128 shared val2017 images, measured with this pipeline and
// checked against an independent OpenCV-DNN + numpy pipeline (tools/reference). A change in
// preprocessing, decoding, NMS or matching moves them by far more than this.
constexpr double kStatTol = 5e-4;
constexpr double kYolov5nMap = 0.3398;
constexpr double kYolov5nMap50 = 0.5216;
constexpr size_t kVal2017Images = 128;
constexpr size_t kVal2017Boxes = 898;  // lines in coco/labels/val2017/*.txt

fs::path model(const std::string& name) { return testing::testDataDir() / "models" / name; }

EvalOptions options(const std::string& model_name, const fs::path& data) {
  EvalOptions o;
  o.model = model(model_name);
  o.data = data;
  return o;
}

TEST(EvalJob, Yolov5nOnCocoVal2017MatchesReferenceFigures) {
  DETSLIM_REQUIRE_TEST_DATA();
  const fs::path out = fs::temp_directory_path() / "detslim_eval_job_dets.json";
  EvalOptions o = options("yolov5n_fp32.onnx", testing::testDataDir() / "coco/images/val2017");
  o.save_dets = out;
  int64_t last_done = 0;
  JobControl control;
  control.progress = [&](const JobProgress& p) {
    EXPECT_EQ(p.done, last_done + 1);
    EXPECT_EQ(p.total, static_cast<int64_t>(kVal2017Images));
    last_done = p.done;
  };
  Result<EvalReport> r = runEval(o, control);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(last_done, static_cast<int64_t>(kVal2017Images));
  EXPECT_EQ(r->format, "yolo");
  EXPECT_EQ(r->family, "yolov5");
  EXPECT_EQ(r->images, kVal2017Images);
  EXPECT_EQ(r->boxes, kVal2017Boxes);
  EXPECT_NEAR(r->coco.stats[0], kYolov5nMap, kStatTol);
  EXPECT_NEAR(r->coco.stats[1], kYolov5nMap50, kStatTol);
  // Person is the most frequent class: 350 boxes.
  auto person = std::find_if(r->classes.begin(), r->classes.end(),
                             [](const EvalClassResult& c) { return c.name == "person"; });
  ASSERT_NE(person, r->classes.end());
  EXPECT_EQ(person->num_gt, 350);
  EXPECT_GT(person->ap, r->coco.stats[0]);

  // The saved results, scored by the stand-alone COCO evaluator against the job's own ground
  // truth, give the same 12 numbers; image ids are the numeric file stems, as Ultralytics writes.
  Result<std::vector<EvalDetection>> saved = readCocoResults(out, &r->ground_truth);
  ASSERT_TRUE(saved.isOk()) << saved.status().message();
  EXPECT_EQ(saved->size(), r->detections.size());
  Result<CocoEvalResult> rescored = evaluateCoco(r->ground_truth, *saved);
  ASSERT_TRUE(rescored.isOk());
  for (int i = 0; i < kCocoStatCount; ++i) EXPECT_NEAR(rescored->stats[i], r->coco.stats[i], 1e-6);
  EXPECT_NE(std::find(r->ground_truth.image_ids.begin(), r->ground_truth.image_ids.end(), 139),
            r->ground_truth.image_ids.end());
  fs::remove(out);
}

TEST(EvalJob, CocoJsonResultsCarryCocoCategoryIdsAndMatchTheInstancesFile) {
  DETSLIM_REQUIRE_TEST_DATA();
  const fs::path out = fs::temp_directory_path() / "detslim_eval_job_coco.json";
  EvalOptions o = options("yolox_nano.onnx", testing::testDataDir() / "coco");
  o.limit = 24;
  o.save_dets = out;
  Result<EvalReport> r = runEval(o);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->format, "coco");
  EXPECT_EQ(r->images, 24u);
  // Scoring the saved file against the original instances JSON (COCO ids 1..90, COCO's segment
  // areas) reproduces the job's statistics: category ids were translated back correctly.
  const fs::path instances = testing::testDataDir() / "coco/annotations/instances_train2017.json";
  Result<EvalGroundTruth> gt = readCocoGroundTruth(instances);
  ASSERT_TRUE(gt.isOk()) << gt.status().message();
  gt->image_ids = r->ground_truth.image_ids;  // the 24 evaluated images
  Result<std::vector<EvalDetection>> saved = readCocoResults(out, &*gt);
  ASSERT_TRUE(saved.isOk()) << saved.status().message();
  bool any_gap_id = false;
  for (const EvalDetection& d : *saved) {
    EXPECT_GE(d.category_id, 1);
    EXPECT_LE(d.category_id, 90);
    any_gap_id = any_gap_id || d.category_id > 80;
  }
  EXPECT_TRUE(any_gap_id) << "COCO ids above 80 exist only after the 91-id translation";
  Result<CocoEvalResult> rescored = evaluateCoco(*gt, *saved);
  ASSERT_TRUE(rescored.isOk());
  for (int i = 0; i < kCocoStatCount; ++i) EXPECT_NEAR(rescored->stats[i], r->coco.stats[i], 1e-6);
  fs::remove(out);
}

TEST(EvalJob, KittiUsesTheShippedClassMapAndIgnoresDontCare) {
  DETSLIM_REQUIRE_TEST_DATA();
  Result<EvalReport> r = runEval(options("yolox_nano.onnx", testing::testDataDir() / "kitti"));
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->format, "kitti");
  EXPECT_EQ(r->class_map, "built-in kitti_to_coco80.json");
  EXPECT_EQ(r->images, 31u);
  EXPECT_EQ(r->boxes, 94u);  // Car/Van/Truck/Pedestrian/Person_sitting/Cyclist/Tram
  EXPECT_EQ(r->unmapped.at("DontCare"), 96u);
  EXPECT_EQ(r->unmapped.at("Misc"), 2u);
  EXPECT_GT(r->coco.stats[1], 0.2);  // a COCO model finds KITTI's cars
}

TEST(EvalJob, CancelStopsBetweenImages) {
  DETSLIM_REQUIRE_TEST_DATA();
  JobControl control;
  control.progress = [&](const JobProgress& p) {
    if (p.done == 3) control.cancel.cancel();
  };
  Result<EvalReport> r =
      runEval(options("yolox_nano.onnx", testing::testDataDir() / "coco/images/val2017"), control);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), ErrorCode::kCancelled);
  EXPECT_NE(r.status().message().find("after 3 of 128"), std::string::npos)
      << r.status().message();
}

// A YOLO dataset of two real images and one file that only looks like an image.
fs::path makeYoloDatasetWithBrokenImage() {
  const fs::path root = fs::temp_directory_path() / "detslim_eval_broken";
  fs::remove_all(root);
  fs::create_directories(root / "images");
  fs::create_directories(root / "labels");
  const fs::path src = testing::testDataDir() / "coco";
  for (const char* stem : {"000000000139", "000000000285"}) {
    fs::copy_file(src / "images/val2017" / (std::string(stem) + ".jpg"),
                  root / "images" / (std::string(stem) + ".jpg"));
    fs::copy_file(src / "labels/val2017" / (std::string(stem) + ".txt"),
                  root / "labels" / (std::string(stem) + ".txt"));
  }
  // A PNG signature and IHDR that pass the size probe, then no image data: decoding must fail.
  const unsigned char png_head[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13,
                                    'I', 'H', 'D', 'R', 0, 0, 0, 64, 0, 0, 0, 48, 8, 2, 0, 0, 0,
                                    0, 0, 0, 0};
  std::ofstream(root / "images/000000000632.png", std::ios::binary)
      .write(reinterpret_cast<const char*>(png_head), sizeof png_head)
      << "not image data";
  fs::copy_file(src / "labels/val2017/000000000632.txt", root / "labels/000000000632.txt");
  return root;
}

TEST(EvalJob, UndecodableImageIsLeftOutWithAWarningOrRefusedWhenStrict) {
  DETSLIM_REQUIRE_TEST_DATA();
  const fs::path root = makeYoloDatasetWithBrokenImage();
  EvalOptions o = options("yolox_nano.onnx", root / "images");
  Result<EvalReport> r = runEval(o);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->images, 2u);
  ASSERT_FALSE(r->warnings.empty());
  bool named = false;
  for (const std::string& w : r->warnings) {
    named = named || (w.find("000000000632.png") != std::string::npos &&
                      w.find("left out") != std::string::npos);
  }
  EXPECT_TRUE(named);
  o.strict = true;
  Result<EvalReport> strict = runEval(o);
  ASSERT_FALSE(strict.isOk());
  EXPECT_NE(strict.status().message().find("000000000632.png"), std::string::npos)
      << strict.status().message();
  fs::remove_all(root);
}

TEST(EvalJob, RefusesBadInputNamingIt) {
  DETSLIM_REQUIRE_TEST_DATA();
  Result<EvalReport> no_model = runEval(options("missing.onnx", testing::testDataDir() / "kitti"));
  ASSERT_FALSE(no_model.isOk());
  EXPECT_NE(no_model.status().message().find("missing.onnx"), std::string::npos);

  Result<EvalReport> no_data = runEval(options("yolox_nano.onnx", "/no/such/dataset"));
  ASSERT_FALSE(no_data.isOk());
  EXPECT_NE(no_data.status().message().find("/no/such/dataset"), std::string::npos);

  // A class map naming a class the model does not have.
  const fs::path map = fs::temp_directory_path() / "detslim_bad_map.json";
  std::ofstream(map) << R"({"map": {"Car": "automobile"}})";
  EvalOptions o = options("yolox_nano.onnx", testing::testDataDir() / "kitti");
  o.class_map = map;
  Result<EvalReport> bad_map = runEval(o);
  ASSERT_FALSE(bad_map.isOk());
  EXPECT_NE(bad_map.status().message().find("automobile"), std::string::npos)
      << bad_map.status().message();
  fs::remove(map);
}

// ---- ground-truth conversion on hand-made data ----

TEST(EvalGroundTruthConversion, RegionsWithoutModelClassIgnoreDetectionsOfEveryClass) {
  datasets::Dataset d;
  datasets::Sample s;
  s.image_id = 5;
  s.width = 200;
  s.height = 100;
  datasets::GtBox car{10, 10, 50, 40, "car", 1};
  datasets::GtBox dontcare{100, 0, 200, 100, "DontCare", -1};
  dontcare.ignore = dontcare.unmapped = true;
  s.boxes = {car, dontcare};
  d.samples.push_back(s);
  const std::vector<std::string> classes = {"person", "car"};
  EvalGroundTruth gt = toEvalGroundTruth(d, classes);
  ASSERT_EQ(gt.boxes.size(), 3u);  // the car, and the region once per class
  EXPECT_EQ(gt.boxes[0].id, 1);    // pycocotools reads id 0 as "no match"
  EXPECT_EQ(gt.boxes[0].category_id, 1);
  EXPECT_DOUBLE_EQ(gt.boxes[0].area, 40.0 * 30.0);
  // The car found, plus a person and a car detection inside the DontCare region: neither
  // detection is a false positive, so AP is perfect for both classes with ground truth.
  std::vector<EvalDetection> dets = {{5, 1, 10, 10, 40, 30, 0.9},
                                     {5, 0, 120, 20, 30, 60, 0.95},
                                     {5, 1, 150, 10, 20, 20, 0.99}};
  Result<CocoEvalResult> r = evaluateCoco(gt, dets);
  ASSERT_TRUE(r.isOk());
  EXPECT_DOUBLE_EQ(r->stats[1], 1.0);
  // Without the region the car class has a higher-scored false positive: AP50 drops.
  d.samples[0].boxes.pop_back();
  Result<CocoEvalResult> without = evaluateCoco(toEvalGroundTruth(d, classes), dets);
  ASSERT_TRUE(without.isOk());
  EXPECT_LT(without->stats[1], 0.9);
}

}  // namespace
}  // namespace detslim
