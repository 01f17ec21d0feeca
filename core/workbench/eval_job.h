#pragma once
// The `eval` job: read a dataset, map its classes onto the model's, run the detector on every
// image with DetSlim's engine, and score the detections with the pycocotools-exact evaluator
// (plus Pascal VOC AP and precision / recall at a confidence). Used by `detslim eval`, by the
// `run` job and by the GUI.

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/base/status.h"
#include "core/datasets/class_map.h"
#include "core/datasets/dataset.h"
#include "core/eval/coco_eval.h"
#include "core/workbench/detector.h"
#include "core/workbench/job.h"

namespace detslim {

struct EvalOptions {
  std::filesystem::path model;
  std::filesystem::path data;           // dataset folder or JSON file
  datasets::Format format = datasets::Format::kAuto;
  size_t limit = 0;                     // first N images in file-name order; 0: all
  size_t skip = 0;                      // leave out the first `skip` images (then take `limit`)
  bool strict = false;                  // recoverable dataset problems become errors
  std::filesystem::path class_map;      // user map; empty: the shipped default or by name
  std::filesystem::path names_file;     // YOLO names when the model has none
  std::filesystem::path save_dets;      // write COCO results JSON here when set
  DetectorOptions detector;             // threads, size, preprocessing, decoder thresholds
  double pr_confidence = 0.25;          // precision / recall are reported at this score
  double pr_iou = 0.5;
};

struct EvalClassResult {
  int class_index = 0;          // model class
  std::string name;
  int64_t category_id = 0;      // id in the saved results (the dataset's COCO id when it has one)
  int64_t num_gt = 0;           // non-ignored ground truth boxes
  int64_t num_dets = 0;
  double ap = -1, ap50 = -1, ap75 = -1;  // COCO, area all, maxDets 100; -1: no ground truth
  double precision = 0, recall = 0;      // at EvalOptions::pr_confidence, IoU pr_iou
};

struct EvalReport {
  std::string model;
  std::string data;
  std::string format;
  std::string family;
  std::string preprocess;       // profile name
  int input_width = 0;
  int input_height = 0;
  int threads = 1;
  size_t images = 0;            // evaluated
  size_t boxes = 0;             // ground-truth boxes taken into account (mapped classes)
  size_t ignored_boxes = 0;     // crowd, DontCare and unmapped boxes (ignore regions)
  std::string class_map;        // origin of the class map used, "by name" when none
  std::map<std::string, size_t> unmapped;  // dataset class -> boxes left out of mAP
  std::string class_names_origin;
  std::vector<std::string> warnings;

  CocoEvalResult coco;          // stats in pycocotools order
  double voc_ap50 = -1;         // Pascal VOC all-point AP at IoU 0.5, mean over classes
  double voc07_ap50 = -1;       // VOC2007 11-point
  double pr_confidence = 0.25;
  double precision = 0;         // micro-averaged at pr_confidence
  double recall = 0;
  std::vector<EvalClassResult> classes;  // classes with ground truth or detections

  // Per evaluated image: preprocess + inference + decode/NMS (end-to-end latency samples).
  std::vector<double> image_ms;
  double preprocess_ms = 0;     // mean per image
  double inference_ms = 0;
  double decode_ms = 0;
  double wall_s = 0;            // the whole job

  EvalGroundTruth ground_truth;            // what was scored (model class index = category)
  std::vector<EvalDetection> detections;   // category = model class index
};

// Runs the job. Refuses (naming file and field): an unreadable model or dataset, an empty
// dataset, a class map whose target the model does not have. An image that cannot be decoded
// is left out with a warning (an error with `strict`). Cancelled via control.cancel.
Result<EvalReport> runEval(const EvalOptions& options, const JobControl& control = {});
// The same with a detector built by the caller (e.g. from a pruned in-memory model);
// options.model is then only the name reported, options.detector is ignored.
Result<EvalReport> runEval(const EvalOptions& options, Detector& detector,
                           const JobControl& control = {});

// Converts a dataset whose classes were mapped onto the model's (class_index = model class)
// into evaluation ground truth: category = model class index; crowd boxes stay crowds; boxes
// of no model class (KITTI DontCare, unmapped classes) become crowd-like ignore regions in every
// category, so a detection lying mostly inside one counts neither way (KITTI devkit semantics).
EvalGroundTruth toEvalGroundTruth(const datasets::Dataset& dataset,
                                  const std::vector<std::string>& model_classes);

// The class map eval applies: options.class_map when set, else the shipped map of the dataset's
// format when the model has all its target classes, else by name. Refuses an unreadable map file.
Result<datasets::ClassMap> chooseClassMap(const EvalOptions& options,
                                          const datasets::Dataset& dataset,
                                          const std::vector<std::string>& model_classes);

// {"stats": [12], "per_category": {...}, "precision", "recall", "voc_ap50", ...}
nlohmann::json evalToJson(const EvalReport& report);

}  // namespace detslim
