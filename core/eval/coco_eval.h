#pragma once
// Detection accuracy: COCO bbox evaluation that reproduces pycocotools COCOeval number for
// number, Pascal VOC AP (2007 11-point and all-point), and precision / recall at a confidence.
// Plain structs in and out; JSON lives in coco_json.h so the algorithm can be fed from any
// dataset reader. Rules and their pycocotools origin are listed in docs/eval.md.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/base/status.h"

namespace detslim {

// One ground-truth box. Box is x, y, w, h in pixels (COCO convention).
struct EvalGtBox {
  int64_t id = 0;  // annotation id; pycocotools treats id 0 as "no match" (kept for exactness)
  int64_t image_id = 0;
  int64_t category_id = 0;
  double x = 0, y = 0, w = 0, h = 0;
  double area = 0;       // COCO 'area' (the JSON value, not w*h); decides the area range
  bool iscrowd = false;  // crowd: IoU is intersection / detection area, may match many
  bool ignore = false;   // ignore region that is not a crowd (e.g. KITTI DontCare)
  bool difficult = false;  // Pascal VOC 'difficult'; only VOC AP looks at it
};

// One detection. Its area is w*h, as pycocotools loadRes computes it.
struct EvalDetection {
  int64_t image_id = 0;
  int64_t category_id = 0;
  double x = 0, y = 0, w = 0, h = 0;
  double score = 0;
};

// What evaluation runs over: every image and category counts even without boxes.
struct EvalGroundTruth {
  std::vector<int64_t> image_ids;
  std::vector<int64_t> category_ids;
  std::vector<std::string> category_names;  // parallel to category_ids; may be empty
  std::vector<EvalGtBox> boxes;
};

// COCOeval Params() for iouType 'bbox'.
struct CocoEvalParams {
  std::vector<double> iou_thresholds;     // .50:.05:.95, built as np.linspace builds them
  std::vector<double> recall_thresholds;  // 0:.01:1 (101 points)
  std::vector<int> max_dets = {1, 10, 100};
  // all, small, medium, large; both ends inclusive as in pycocotools
  std::vector<std::array<double, 2>> area_ranges;

  static CocoEvalParams defaults();
};

inline constexpr int kCocoStatCount = 12;

struct CocoCategoryResult {
  int64_t category_id = 0;
  std::string name;
  double ap = -1;    // AP@[.5:.95], area all, maxDets 100 (-1: no GT of this category)
  double ap50 = -1;
  double ap75 = -1;
  double recall = -1;  // AR@[.5:.95], area all, maxDets 100
};

struct CocoEvalResult {
  // AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl (summarize() order).
  std::array<double, kCocoStatCount> stats{};
  std::vector<CocoCategoryResult> per_category;  // in sorted category id order
  CocoEvalParams params;
  // eval['precision'] flattened as [T][R][K][A][M] and eval['recall'] as [T][K][A][M].
  std::vector<double> precision;
  std::vector<double> recall;
  size_t num_categories = 0;

  double precisionAt(size_t t, size_t r, size_t k, size_t a, size_t m) const;
  double recallAt(size_t t, size_t k, size_t a, size_t m) const;
};

// Runs evaluate() + accumulate() + summarize(). GT boxes whose image or category is not listed
// are left out (pycocotools never loads them); detections on an unknown image are refused
// (pycocotools asserts), detections of an unknown category are left out.
Result<CocoEvalResult> evaluateCoco(const EvalGroundTruth& gt,
                                    const std::vector<EvalDetection>& dets,
                                    const CocoEvalParams& params = CocoEvalParams::defaults());

// The 12 lines of COCOeval.summarize(), e.g.
// " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.153".
std::vector<std::string> cocoSummaryLines(const CocoEvalResult& result);

// ---- Pascal VOC ----

enum class VocApMethod {
  kElevenPoint,  // VOC2007: mean of the max precision at recall >= 0, .1, ..., 1
  kAllPoint,     // VOC2010+: area under the monotone precision envelope
};

struct VocEvalOptions {
  double iou_threshold = 0.5;
  VocApMethod method = VocApMethod::kAllPoint;
  // The devkit counts pixels inclusively (w = x2 - x1 + 1); off by default because DetSlim
  // boxes are continuous coordinates.
  bool pixel_inclusive = false;
  // Detections below this score are dropped before AP (0 keeps all).
  double min_score = 0.0;
};

struct VocClassResult {
  int64_t category_id = 0;
  double ap = -1;  // -1 when the class has no non-difficult GT (the devkit would give NaN)
  int64_t num_gt = 0;  // non-difficult
  int64_t num_dets = 0;
};

struct VocEvalResult {
  std::vector<VocClassResult> per_class;
  double map = -1;  // mean over classes with GT
};

// VOC matching: detections by descending score (stable), each takes the best-IoU GT of its
// image and class; IoU > threshold on an unmatched non-difficult GT is a TP, on a difficult GT
// it is neither TP nor FP, anything else is an FP. Crowd / ignore GT count as difficult.
VocEvalResult evaluateVoc(const EvalGroundTruth& gt, const std::vector<EvalDetection>& dets,
                          const VocEvalOptions& options = {});

// One detection's outcome under the VOC matching above.
struct VocDetectionMatch {
  bool considered = false;  // false: left out (score below min_score, category not in gt)
  int outcome = -1;       // +1 TP, -1 FP, 0 matched a difficult / crowd / ignore GT (neither)
  int64_t gt_index = -1;  // index into gt.boxes of the GT taken (outcome +1 or 0), else -1
};

// The VOC matching of evaluateVoc / precisionRecallAt, per detection (in the order of `dets`),
// for callers that draw or list hits and misses rather than score them.
std::vector<VocDetectionMatch> matchVoc(const EvalGroundTruth& gt,
                                        const std::vector<EvalDetection>& dets,
                                        const VocEvalOptions& options = {});

// ---- Precision / recall at a confidence threshold ----

struct PrCounts {
  int64_t category_id = 0;  // -1 for the total over all classes
  int64_t tp = 0, fp = 0, num_gt = 0;
  double precision = 0;  // tp / (tp + fp), 0 when there are no detections
  double recall = 0;     // tp / num_gt, 0 when there is no GT
};

struct PrAtConfidence {
  double confidence = 0;
  std::vector<PrCounts> per_class;
  PrCounts total;  // micro average: counts summed over classes
};

// Keeps detections with score >= confidence and matches them as evaluateVoc does (IoU
// threshold in options; crowd / ignore / difficult GT neither count nor penalise).
PrAtConfidence precisionRecallAt(const EvalGroundTruth& gt,
                                 const std::vector<EvalDetection>& dets, double confidence,
                                 const VocEvalOptions& options = {});

}  // namespace detslim
