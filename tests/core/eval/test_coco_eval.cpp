// COCO bbox evaluation against pycocotools: the shared reference case, plus small cases whose
// numbers are worked out by hand in the comments.

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/eval/coco_eval.h"
#include "core/eval/coco_json.h"
#include "test_data.h"

namespace detslim {
namespace {

// pycocotools' numbers are the reference; the issue asks for agreement to 1e-4.
constexpr double kReferenceTolerance = 1e-4;
// Hand-worked cases are exact fractions; only rounding of sums separates us from them.
constexpr double kExact = 1e-12;

EvalGtBox gtBox(int64_t id, int64_t image, int64_t cat, double x, double y, double w, double h,
                bool crowd = false) {
  EvalGtBox b;
  b.id = id;
  b.image_id = image;
  b.category_id = cat;
  b.x = x;
  b.y = y;
  b.w = w;
  b.h = h;
  b.area = w * h;
  b.iscrowd = crowd;
  return b;
}

EvalDetection det(int64_t image, int64_t cat, double x, double y, double w, double h,
                  double score) {
  EvalDetection d;
  d.image_id = image;
  d.category_id = cat;
  d.x = x;
  d.y = y;
  d.w = w;
  d.h = h;
  d.score = score;
  return d;
}

EvalGroundTruth groundTruth(std::vector<int64_t> images, std::vector<int64_t> cats,
                            std::vector<EvalGtBox> boxes) {
  EvalGroundTruth gt;
  gt.image_ids = std::move(images);
  gt.category_ids = std::move(cats);
  gt.boxes = std::move(boxes);
  return gt;
}

CocoEvalResult evaluate(const EvalGroundTruth& gt, const std::vector<EvalDetection>& dets) {
  Result<CocoEvalResult> r = evaluateCoco(gt, dets);
  EXPECT_TRUE(r.isOk()) << r.status().message();
  return r.isOk() ? *r : CocoEvalResult{};
}

enum Stat { kAP, kAP50, kAP75, kAPs, kAPm, kAPl, kAR1, kAR10, kAR100, kARs, kARm, kARl };

std::string readText(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(CocoEvalReference, PublicCaseMatchesPycocotools) {
  DETSLIM_REQUIRE_TEST_DATA();
  const auto dir = testing::testDataDir() / "map_reference" / "case_public";
  Result<EvalGroundTruth> gt = readCocoGroundTruth(dir / "gt.json");
  ASSERT_TRUE(gt.isOk()) << gt.status().message();
  Result<std::vector<EvalDetection>> dets = readCocoResults(dir / "dt.json", &*gt);
  ASSERT_TRUE(dets.isOk()) << dets.status().message();
  Result<CocoEvalResult> r = evaluateCoco(*gt, *dets);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  const nlohmann::json expected = nlohmann::json::parse(readText(dir / "expected.json"));
  double max_diff = 0;
  ASSERT_EQ(expected["stats"].size(), static_cast<size_t>(kCocoStatCount));
  for (size_t i = 0; i < expected["stats"].size(); ++i) {
    const double want = expected["stats"][i].get<double>();
    EXPECT_NEAR(r->stats[i], want, kReferenceTolerance) << "stat " << i;
    max_diff = std::max(max_diff, std::fabs(r->stats[i] - want));
  }
  ASSERT_EQ(r->per_category.size(), expected["per_category"].size());
  for (const CocoCategoryResult& c : r->per_category) {
    const nlohmann::json& want = expected["per_category"].at(std::to_string(c.category_id));
    EXPECT_NEAR(c.ap, want["ap"].get<double>(), kReferenceTolerance) << c.category_id;
    EXPECT_NEAR(c.ap50, want["ap50"].get<double>(), kReferenceTolerance) << c.category_id;
    max_diff = std::max(max_diff, std::fabs(c.ap - want["ap"].get<double>()));
    max_diff = std::max(max_diff, std::fabs(c.ap50 - want["ap50"].get<double>()));
  }
  std::cout << "reference case max abs difference: " << max_diff << "\n";
}

TEST(CocoEval, OnePerfectDetection) {
  // One small GT (area 400 < 32^2), found exactly: AP and AR are 1 where the GT counts and -1
  // for the medium and large ranges, which hold no GT.
  const auto gt = groundTruth({1}, {3}, {gtBox(1, 1, 3, 10, 10, 20, 20)});
  const CocoEvalResult r = evaluate(gt, {det(1, 3, 10, 10, 20, 20, 0.9)});
  const std::array<double, kCocoStatCount> want = {1, 1, 1, 1, -1, -1, 1, 1, 1, 1, -1, -1};
  for (int i = 0; i < kCocoStatCount; ++i) EXPECT_NEAR(r.stats[i], want[i], kExact) << i;
  ASSERT_EQ(r.per_category.size(), 1u);
  EXPECT_NEAR(r.per_category[0].ap, 1.0, kExact);
  EXPECT_NEAR(r.per_category[0].ap50, 1.0, kExact);
}

TEST(CocoEval, NoDetectionsGiveZeroAndCategoriesWithoutGtGiveMinusOne) {
  const auto gt = groundTruth({1, 2}, {1, 2}, {gtBox(1, 1, 1, 0, 0, 50, 50)});
  const CocoEvalResult r = evaluate(gt, {});
  EXPECT_NEAR(r.stats[kAP], 0.0, kExact);
  EXPECT_NEAR(r.stats[kAR100], 0.0, kExact);
  ASSERT_EQ(r.per_category.size(), 2u);
  EXPECT_NEAR(r.per_category[0].ap, 0.0, kExact);
  EXPECT_EQ(r.per_category[1].ap, -1.0);  // category 2 has no GT
}

TEST(CocoEval, DetectionOnCrowdIsIgnored) {
  // GT: a real box A and a crowd region C. The 0.95 detection lies inside C: crowd IoU is
  // intersection / detection area = 1, so it matches C and is ignored rather than an FP that
  // would halve precision. AP is 1.
  const auto gt = groundTruth({1}, {1}, {gtBox(1, 1, 1, 0, 0, 10, 10),
                                         gtBox(2, 1, 1, 100, 100, 50, 50, /*crowd=*/true)});
  const CocoEvalResult r = evaluate(gt, {det(1, 1, 0, 0, 10, 10, 0.9),
                                         det(1, 1, 110, 110, 20, 20, 0.95)});
  EXPECT_NEAR(r.stats[kAP], 1.0, kExact);
  EXPECT_NEAR(r.stats[kAR100], 1.0, kExact);

  // Without the crowd flag C is an ordinary GT the detection misses (IoU 400 / 2500): an FP
  // ranked first and a second positive never found. rc [0 .5], pr [0 .5]: recall points
  // 0 ... .50 (51 of 101) get precision .5, the rest 0.
  auto plain = gt;
  plain.boxes[1].iscrowd = false;
  EXPECT_NEAR(evaluate(plain, {det(1, 1, 0, 0, 10, 10, 0.9),
                               det(1, 1, 110, 110, 20, 20, 0.95)})
                  .stats[kAP],
              51 * 0.5 / 101, kExact);
}

TEST(CocoEval, CrowdOnlyCategoryHasNoAp) {
  // Crowd GT never count as positives: with nothing else, AP is -1 (no GT), not 0.
  const auto gt = groundTruth({1}, {1}, {gtBox(1, 1, 1, 0, 0, 40, 40, true)});
  const CocoEvalResult r = evaluate(gt, {det(1, 1, 0, 0, 40, 40, 0.9)});
  EXPECT_EQ(r.stats[kAP], -1.0);
}

TEST(CocoEval, SecondDetectionOnTakenGtIsFalsePositive) {
  // d1 (0.9) takes the GT; d2 (0.8) overlaps the same GT but it is taken: rc = [1, 1],
  // pr = [1, 0.5] -> envelope 1 at every recall: AP 1, but AR is still 1.
  const auto gt = groundTruth({1}, {1}, {gtBox(1, 1, 1, 0, 0, 40, 40)});
  const CocoEvalResult r =
      evaluate(gt, {det(1, 1, 0, 0, 40, 40, 0.9), det(1, 1, 1, 1, 40, 40, 0.8)});
  EXPECT_NEAR(r.stats[kAP], 1.0, kExact);
  // Scores swapped: the shifted box now matches first.
  const CocoEvalResult r2 =
      evaluate(gt, {det(1, 1, 0, 0, 40, 40, 0.8), det(1, 1, 1, 1, 40, 40, 0.9)});
  // d2 (IoU 39*39/(2*1600-1521) = 0.906) is a TP at thresholds .50-.90 and an FP at .95,
  // where the exact box then matches (rc [0 1], pr [0 .5]): AP = (9 * 1 + 1 * 0.5) / 10.
  EXPECT_NEAR(r2.stats[kAP], 0.95, kExact);
}

TEST(CocoEval, AreaRanges) {
  // Small GT (10x10 = 100) and large GT (100x100 = 10000), each found exactly, plus an
  // unmatched medium detection (50x50 = 2500) ranked first.
  // all: FP, TP, TP -> rc [0, .5, 1], pr [0, .5, .667] -> envelope 2/3 everywhere: AP 2/3.
  // small: the medium FP is outside the range and unmatched -> ignored; the large detection
  //        matches a GT that is ignored here -> ignored. AP 1. Same for large. medium: -1.
  const auto gt = groundTruth({1}, {1}, {gtBox(1, 1, 1, 0, 0, 10, 10),
                                         gtBox(2, 1, 1, 200, 200, 100, 100)});
  const CocoEvalResult r = evaluate(gt, {det(1, 1, 0, 0, 10, 10, 0.8),
                                         det(1, 1, 200, 200, 100, 100, 0.7),
                                         det(1, 1, 400, 400, 50, 50, 0.99)});
  EXPECT_NEAR(r.stats[kAP], 2.0 / 3.0, kExact);
  EXPECT_NEAR(r.stats[kAPs], 1.0, kExact);
  EXPECT_EQ(r.stats[kAPm], -1.0);
  EXPECT_NEAR(r.stats[kAPl], 1.0, kExact);
  EXPECT_NEAR(r.stats[kARs], 1.0, kExact);
  EXPECT_EQ(r.stats[kARm], -1.0);
}

TEST(CocoEval, GtAreaFieldDecidesTheRangeNotTheBox) {
  // A 10x10 box whose 'area' says 2000 (a segment area) counts as medium, as in pycocotools.
  auto box = gtBox(1, 1, 1, 0, 0, 10, 10);
  box.area = 2000;
  const CocoEvalResult r = evaluate(groundTruth({1}, {1}, {box}),
                                    {det(1, 1, 0, 0, 10, 10, 0.9)});
  EXPECT_EQ(r.stats[kAPs], -1.0);
  EXPECT_NEAR(r.stats[kAPm], 1.0, kExact);
}

TEST(CocoEval, MaxDetsCut) {
  // Three GT found exactly with scores .9 .8 .7: one detection recalls 1/3, ten recall all.
  const auto gt = groundTruth({1}, {1}, {gtBox(1, 1, 1, 0, 0, 20, 20),
                                         gtBox(2, 1, 1, 100, 0, 20, 20),
                                         gtBox(3, 1, 1, 200, 0, 20, 20)});
  const CocoEvalResult r = evaluate(gt, {det(1, 1, 0, 0, 20, 20, 0.9),
                                         det(1, 1, 100, 0, 20, 20, 0.8),
                                         det(1, 1, 200, 0, 20, 20, 0.7)});
  EXPECT_NEAR(r.stats[kAR1], 1.0 / 3.0, kExact);
  EXPECT_NEAR(r.stats[kAR10], 1.0, kExact);
  EXPECT_NEAR(r.stats[kAP], 1.0, kExact);
}

TEST(CocoEval, DetectionsBeyondHundredPerImageAreDropped) {
  const auto gt = groundTruth({1}, {1}, {gtBox(1, 1, 1, 0, 0, 20, 20)});
  std::vector<EvalDetection> dets;
  for (int i = 0; i < 99; ++i) dets.push_back(det(1, 1, 500, 500, 20, 20, 0.9));
  dets.push_back(det(1, 1, 0, 0, 20, 20, 0.5));
  // 100th detection is the TP: recall 1, precision 1/100 at every recall point.
  EXPECT_NEAR(evaluate(gt, dets).stats[kAP], 0.01, kExact);
  // One more FP above it pushes the TP past maxDets = 100: nothing is found.
  dets.push_back(det(1, 1, 500, 500, 20, 20, 0.9));
  const CocoEvalResult r = evaluate(gt, dets);
  EXPECT_NEAR(r.stats[kAP], 0.0, kExact);
  EXPECT_NEAR(r.stats[kAR100], 0.0, kExact);
}

TEST(CocoEval, EqualScoresKeepFileOrderWithinAnImage) {
  // GT g1, g2. d1 .9 on g1; d2 .8 FP; d3 .8 on g2. Order d1 d2 d3: rc [.5 .5 1],
  // pr [1 .5 .667] -> envelope [1 .667 .667]: recall points 0..0.50 (51) get 1, the other 50
  // get 2/3. Swapping d2 and d3 in the file gives AP 1.
  const auto gt = groundTruth({1}, {1}, {gtBox(1, 1, 1, 0, 0, 20, 20),
                                         gtBox(2, 1, 1, 100, 0, 20, 20)});
  const EvalDetection d1 = det(1, 1, 0, 0, 20, 20, 0.9);
  const EvalDetection d2 = det(1, 1, 300, 0, 20, 20, 0.8);
  const EvalDetection d3 = det(1, 1, 100, 0, 20, 20, 0.8);
  const double tie_ap = (51.0 + 50.0 * (2.0 / 3.0)) / 101.0;
  EXPECT_NEAR(evaluate(gt, {d1, d2, d3}).stats[kAP], tie_ap, kExact);
  EXPECT_NEAR(evaluate(gt, {d1, d3, d2}).stats[kAP], 1.0, kExact);
}

TEST(CocoEval, EqualScoresAcrossImagesFollowImageIdOrder) {
  // The same tie split over images: accumulate() concatenates images by sorted id, so the TP
  // on image 1 comes before the FP on image 2 whatever the file order: AP 1.
  const auto gt = groundTruth({2, 1}, {1}, {gtBox(1, 1, 1, 0, 0, 20, 20),
                                            gtBox(2, 1, 1, 100, 0, 20, 20)});
  const EvalDetection d1 = det(1, 1, 0, 0, 20, 20, 0.9);
  const EvalDetection fp_img2 = det(2, 1, 300, 0, 20, 20, 0.8);
  const EvalDetection tp_img1 = det(1, 1, 100, 0, 20, 20, 0.8);
  EXPECT_NEAR(evaluate(gt, {d1, fp_img2, tp_img1}).stats[kAP], 1.0, kExact);
  // With the FP on image 0 it sorts first: the tie AP of the previous test.
  auto gt0 = gt;
  gt0.image_ids.push_back(0);
  const EvalDetection fp_img0 = det(0, 1, 300, 0, 20, 20, 0.8);
  EXPECT_NEAR(evaluate(gt0, {d1, tp_img1, fp_img0}).stats[kAP],
              (51.0 + 50.0 * (2.0 / 3.0)) / 101.0, kExact);
}

TEST(CocoEval, UnknownImageRefused) {
  const auto gt = groundTruth({1}, {1}, {gtBox(1, 1, 1, 0, 0, 20, 20)});
  Result<CocoEvalResult> r = evaluateCoco(gt, {det(7, 1, 0, 0, 20, 20, 0.9)});
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("image_id 7"), std::string::npos);
}

TEST(CocoEval, SummaryLinesUsePycocotoolsFormat) {
  const auto gt = groundTruth({1}, {3}, {gtBox(1, 1, 3, 10, 10, 20, 20)});
  const auto lines = cocoSummaryLines(evaluate(gt, {det(1, 3, 10, 10, 20, 20, 0.9)}));
  ASSERT_EQ(lines.size(), 12u);
  EXPECT_EQ(lines[0],
            " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 1.000");
  EXPECT_EQ(lines[4],
            " Average Precision  (AP) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = -1.000");
  EXPECT_EQ(lines[6],
            " Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ] = 1.000");
}

// ---- Pascal VOC ----

class VocEvalTest : public ::testing::Test {
 protected:
  // Three GT and one difficult GT of class 1. d1 .9 on g1 (TP), d2 .8 nowhere (FP), d3 .7 on
  // g2 (TP), d4 .6 on the difficult box (neither); g3 is missed.
  // rec = [1/3 1/3 2/3 2/3], prec = [1 .5 2/3 2/3].
  void SetUp() override {
    auto difficult = gtBox(4, 1, 1, 300, 0, 20, 20);
    difficult.difficult = true;
    gt_ = groundTruth({1}, {1}, {gtBox(1, 1, 1, 0, 0, 20, 20), gtBox(2, 1, 1, 100, 0, 20, 20),
                                 gtBox(3, 1, 1, 200, 0, 20, 20), difficult});
    dets_ = {det(1, 1, 0, 0, 20, 20, 0.9), det(1, 1, 500, 500, 20, 20, 0.8),
             det(1, 1, 100, 0, 20, 20, 0.7), det(1, 1, 300, 0, 20, 20, 0.6)};
  }
  EvalGroundTruth gt_;
  std::vector<EvalDetection> dets_;
};

TEST_F(VocEvalTest, ElevenPoint) {
  // Recall >= 0, .1, .2, .3 -> max precision 1 (4 points); .4, .5, .6 -> 2/3 (3 points);
  // .7 ... 1 -> 0. AP = (4 + 3 * 2/3) / 11 = 6/11.
  VocEvalOptions o;
  o.method = VocApMethod::kElevenPoint;
  const VocEvalResult r = evaluateVoc(gt_, dets_, o);
  ASSERT_EQ(r.per_class.size(), 1u);
  EXPECT_EQ(r.per_class[0].num_gt, 3);
  EXPECT_NEAR(r.per_class[0].ap, 6.0 / 11.0, kExact);
  EXPECT_NEAR(r.map, 6.0 / 11.0, kExact);
}

TEST_F(VocEvalTest, AllPoint) {
  // Envelope over [0, rec, 1]: 1/3 * 1 + 1/3 * 2/3 + 1/3 * 0 = 5/9, not the 11-point 6/11.
  VocEvalOptions o;
  o.method = VocApMethod::kAllPoint;
  const VocEvalResult r = evaluateVoc(gt_, dets_, o);
  EXPECT_NEAR(r.per_class[0].ap, 5.0 / 9.0, kExact);
}

TEST_F(VocEvalTest, DifficultMatchCountsOnlyWhenNotDifficult) {
  // Without the difficult flag, d4 is a fourth TP: rec [1/4 1/4 1/2 3/4], prec [1 .5 2/3 3/4]
  // -> all-point: 1/4 * 1 + 1/4 * 3/4 + 1/4 * 3/4 = 5/8.
  gt_.boxes[3].difficult = false;
  EXPECT_NEAR(evaluateVoc(gt_, dets_).per_class[0].ap, 5.0 / 8.0, kExact);
}

TEST_F(VocEvalTest, PrecisionRecallAtConfidence) {
  // Score >= .75 keeps d1 (TP) and d2 (FP): P = 1/2, R = 1/3.
  const PrAtConfidence pr = precisionRecallAt(gt_, dets_, 0.75);
  ASSERT_EQ(pr.per_class.size(), 1u);
  EXPECT_EQ(pr.per_class[0].tp, 1);
  EXPECT_EQ(pr.per_class[0].fp, 1);
  EXPECT_NEAR(pr.total.precision, 0.5, kExact);
  EXPECT_NEAR(pr.total.recall, 1.0 / 3.0, kExact);
  // Score >= .5 keeps all: TP 2, FP 1 (the difficult match is neither).
  const PrAtConfidence all = precisionRecallAt(gt_, dets_, 0.5);
  EXPECT_NEAR(all.total.precision, 2.0 / 3.0, kExact);
  EXPECT_NEAR(all.total.recall, 2.0 / 3.0, kExact);
}

TEST(CocoEval, PerCategoryAp75) {
  // A box with IoU 0.72 to its GT counts at .50-.70 (5 of 10 thresholds): AP50 1, AP75 0.
  // 20x20 GT, detection shifted sideways: IoU = 20 w / (800 - 20 w) gives w = 40 * .72 / 1.72.
  const double w = 40.0 * 0.72 / 1.72;
  const auto gt = groundTruth({1}, {1}, {gtBox(1, 1, 1, 0, 0, 20, 20)});
  const CocoEvalResult r = evaluate(gt, {det(1, 1, 20 - w, 0, 20, 20, 0.9)});
  ASSERT_EQ(r.per_category.size(), 1u);
  EXPECT_NEAR(r.per_category[0].ap50, 1.0, kExact);
  EXPECT_NEAR(r.per_category[0].ap75, 0.0, kExact);
  EXPECT_NEAR(r.per_category[0].ap, 0.5, kExact);
}

}  // namespace
}  // namespace detslim
