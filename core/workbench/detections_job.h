#pragma once
// What the detection viewer and `detslim detect` share: the detector of a configuration (a
// stored run's, or one given on the command line) rebuilt the way `run` built it, a dataset's
// ground truth in the model's classes the way `eval` maps it, and one image's detections
// compared with its ground truth and with another configuration's detections.
//
// The comparison uses core/eval's VOC matching (the rule of precision / recall at a confidence),
// so the counts on one image add up to what `run` stores as P / R at that confidence.

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/datasets/dataset.h"
#include "core/detect/detect.h"
#include "core/store/store.h"
#include "core/workbench/detector.h"
#include "core/workbench/job.h"
#include "core/workbench/run_job.h"

namespace detslim {

// A detector to rebuild: a model file and the configuration applied to it.
struct DetectorSpec {
  std::filesystem::path model;
  RunConfig config;
  std::string label;  // for display: "yolov5n_fp32.onnx", "run 12: magnitude:sparsity=0.6 fp32"
  // The dataset the configuration was evaluated on. int8 calibration without a stored `calib`
  // folder takes the images of this dataset the evaluation left unused, as `run` did; empty:
  // the dataset given to buildDetector.
  std::filesystem::path data;
  datasets::Format format = datasets::Format::kAuto;
  int64_t run_id = 0;        // 0: not a stored run
  std::string model_sha256;  // a stored run's model hash; a different file gives a note
};

// A stored run as a spec. Refuses a run whose model file is gone (naming the file and the run)
// and a configuration runConfigFromJson refuses (naming the run and the field).
Result<DetectorSpec> detectorSpecFromRun(const store::RunRecord& run);
// Opens `db` read-only and reads run `run_id`; refuses a missing store and an unknown id,
// naming them.
Result<DetectorSpec> detectorSpecFromStore(const std::filesystem::path& db, int64_t run_id);

struct BuiltDetector {
  Detector detector;
  std::string summary;             // "magnitude:sparsity=0.6 fp32 (...precision summary)"
  std::vector<std::string> notes;  // calibration origin, a model file changed since its run
};

// Loads spec.model, applies the configuration's pruning and precision steps (applyPruning and
// applyPrecision, as executeRun does) and compiles the detector with the configuration's input
// size, threads, decode thresholds and compute precision. int8 without stored scales or calib
// folder calibrates on spec.data, else on `data`; refuses when both are empty. Refuses a
// missing model file naming it (and the run). Progress and cancel through `control`.
Result<BuiltDetector> buildDetector(const DetectorSpec& spec,
                                    const std::filesystem::path& data = {},
                                    datasets::Format format = datasets::Format::kAuto,
                                    const JobControl& control = {});

struct GroundTruthOptions {
  datasets::Format format = datasets::Format::kAuto;
  size_t limit = 0;                  // first N images in file-name order; 0: all
  std::filesystem::path class_map;   // user map; empty: the shipped default or by name
  std::filesystem::path names_file;  // YOLO names when the model has none
};

// Reads `data` and maps its classes onto `model_classes` as `eval` does (class_index = model
// class; classes without a model class become ignore regions). Empty `model_classes`: the
// dataset's own classes, unmapped. Refuses what readDataset refuses and a bad class map.
Result<datasets::Dataset> readGroundTruth(const std::filesystem::path& data,
                                          const std::vector<std::string>& model_classes,
                                          const GroundTruthOptions& options = {});

// ---- one image compared ----

enum class DetectionMark {
  kBelowConfidence,  // score < conf: not shown, not counted
  kTruePositive,
  kFalsePositive,
  kIgnored,  // lies on a crowd / ignore / difficult GT: neither TP nor FP
};

struct SideComparison {
  std::vector<DetectionMark> marks;  // per detection, in input order
  std::vector<int> matched_gt;       // per detection: the GT a TP (or kIgnored) took, else -1
  std::vector<bool> gt_found;        // per GT box: a TP of this side took it
  int tp = 0, fp = 0, fn = 0;
  int ignored = 0;
};

struct ImageComparison {
  double iou = 0.5;
  double conf = 0.25;
  // Per GT box: counts as a target (false for crowd, ignore, difficult and unmapped boxes,
  // which are neither found nor missed).
  std::vector<bool> gt_counted;
  SideComparison a;  // the baseline
  std::optional<SideComparison> b;
  std::vector<int> lost;    // GT indices found by A, missed by B
  std::vector<int> gained;  // GT indices found by B, missed by A ("new" finds)
  // Per detection of B: above conf and no detection of A above conf with the same class and
  // IoU >= iou ("new" detections).
  std::vector<bool> b_new;
  int newDetections() const;
};

// Marks each GT box found / missed per side and each detection TP / FP / ignored: detections
// with score >= conf, greedy by score, same class, the best-IoU GT taken when its IoU > iou
// (strict, as core/eval's VOC matching and the devkit), crowd / ignore / difficult GT neither
// TP nor FP, a GT taken at most once. `b`, when given, is compared with `a` (lost / new).
// GT class_index must be the detections' class ids (readGroundTruth); class -1 boxes are
// ignore regions for every class.
ImageComparison compareImage(const std::vector<datasets::GtBox>& gt,
                             const std::vector<detect::Detection>& a,
                             const std::vector<detect::Detection>* b = nullptr, double iou = 0.5,
                             double conf = 0.25);

// A fixed colour per class (RGB), shared by the viewer and `detect --draw` so a class looks
// the same in both.
std::array<uint8_t, 3> classColor(int class_id);

struct DrawnSide {
  std::string label;
  const std::vector<detect::Detection>* detections = nullptr;
  const SideComparison* marks = nullptr;
};

// Writes `image` with the ground truth (missed boxes orange, found ones white, ignore regions
// grey) and each side's detections (class colour; label green for TP, red for FP), sides next
// to each other; on a second side lost GT are magenta and new detections carry "new". The
// format follows the extension of `out` (.jpg / .png). Refuses an image OpenCV cannot decode
// and a file it cannot write, naming them.
Status drawComparison(const std::filesystem::path& image, const std::vector<datasets::GtBox>& gt,
                      const std::vector<DrawnSide>& sides, const ImageComparison& comparison,
                      const std::vector<std::string>& class_names,
                      const std::filesystem::path& out);

}  // namespace detslim
