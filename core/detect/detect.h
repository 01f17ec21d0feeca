#pragma once
// Detection decoding and NMS: turns a detector's raw outputs into boxes in original image
// pixels. Decoders for YOLOv5 ([N,A,5+C]), YOLOv8 ([N,4+C,A]), YOLOX raw grids, NanoDet
// (per-level scores + distributions) and SSD (boxes + scores); the family is auto-detected from
// the output shapes and model metadata (datasets::guessModelFamily) unless forced.

#include <span>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/base/tensor.h"
#include "core/datasets/preprocess.h"
#include "core/graph/graph.h"

namespace detslim::detect {

using datasets::ImageTransform;
using datasets::ModelFamily;

struct Detection {
  float x1 = 0.0f;  // original image pixels, clipped to the image
  float y1 = 0.0f;
  float x2 = 0.0f;
  float y2 = 0.0f;
  float score = 0.0f;
  int class_id = 0;
};

struct DecodeOptions {
  ModelFamily family = ModelFamily::kUnknown;  // kUnknown: auto-detect
  float conf_threshold = 0.001f;  // candidates need score > this (YOLOv5 val uses >)
  float iou_threshold = 0.65f;    // NMS suppresses overlaps with IoU > this
  int max_detections = 300;       // kept after NMS (≤ 0: no limit)
  // Highest-scoring candidates fed to NMS (YOLOv5's max_nms); bounds the quadratic NMS when the
  // threshold is low.
  int max_candidates = 30000;
  bool class_agnostic = false;  // one NMS over all classes instead of one per class
  // Every class whose score passes gives a candidate (YOLOv5 val); false: best class only.
  bool multi_label = true;
  int nanodet_reg_max = 7;  // NanoDet distribution bins per side minus one
  // SSD: index of the background class in the scores (skipped; later ids shift down by one);
  // -1 when there is none.
  int ssd_background_class = 0;

  // conf 0.001, IoU 0.65, 300, multi-label: what mAP is measured with.
  static DecodeOptions evaluation() { return {}; }
  // conf 0.25, IoU 0.45, best class only: what is drawn for a user.
  static DecodeOptions display() {
    DecodeOptions o;
    o.conf_threshold = kDisplayConfThreshold;
    o.iou_threshold = kDisplayIouThreshold;
    o.multi_label = false;
    return o;
  }
  static constexpr float kDisplayConfThreshold = 0.25f;
  static constexpr float kDisplayIouThreshold = 0.45f;
};

// What the decoder needs to know about the network input and the preprocessing.
struct DecodeContext {
  int input_width = 0;  // network input size (the decoded boxes are in these pixels)
  int input_height = 0;
  ImageTransform transform;  // network pixels -> original image pixels, and the image size
  const Model* model = nullptr;  // optional: metadata helps tell YOLOv5 from YOLOX
};

float iou(const Detection& a, const Detection& b);

// Greedy NMS: candidates sorted by score (descending, stable, so equal scores keep their input
// order); a box is dropped when its IoU with a kept box of the same class (any class when
// `class_agnostic`) is > `iou_threshold`. At most `max_detections` (≤ 0: all) are returned.
std::vector<Detection> nms(std::vector<Detection> candidates, float iou_threshold,
                           bool class_agnostic, int max_detections);

// The family the decoder will use for these outputs (options.family when set).
Result<ModelFamily> resolveFamily(std::span<const Tensor> outputs, const DecodeContext& context,
                                  const DecodeOptions& options);

// Number of classes the detector predicts, read from its output shapes (as the decoder of
// `family` reads them: YOLOv5/YOLOX [N,A,5+C], YOLOv8 [N,4+C,A], NanoDet scores [N,A,C], SSD
// scores [N,A,C] less the background class). Refuses shapes the family cannot decode.
Result<int64_t> numClasses(std::span<const Shape> output_shapes, ModelFamily family,
                           const DecodeOptions& options = {});

// Candidates before NMS, in network input pixels (batch item `batch`).
Result<std::vector<Detection>> decodeCandidates(std::span<const Tensor> outputs,
                                                const DecodeContext& context,
                                                const DecodeOptions& options, int64_t batch = 0);

// Decode + NMS + map back through context.transform + clip to the image.
Result<std::vector<Detection>> decode(std::span<const Tensor> outputs,
                                      const DecodeContext& context, const DecodeOptions& options,
                                      int64_t batch = 0);

}  // namespace detslim::detect
