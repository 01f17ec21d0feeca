#pragma once
// The precision step — fp32, fp16, bf16 or int8 applied to a (possibly pruned) model — shared by
// `detslim quantize`, the precision step of `run` / `sweep`, and the GUI. docs/quant.md.
//
//   fp32  the model as it is (its weights must be float32)
//   fp16  convertToFloat16: an FP16 model the engine runs as fp16 storage, fp32 compute
//   bf16  the model unchanged, compiled with oneDNN bf16 convolutions / matmuls
//   int8  calibration on images -> scale table -> QDQ model the engine runs on int8 kernels;
//         mixed precision keeps chosen Convs in f32 ("default": first conv + Detect head;
//         "auto": per-layer sensitivity, then the fewest worst layers kept in f32 for which the
//         mAP50 drop on labelled calibration images stays within a budget)

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/base/status.h"
#include "core/datasets/dataset.h"
#include "core/engine/engine.h"
#include "core/graph/graph.h"
#include "core/quant/calibrate.h"
#include "core/quant/qdq.h"
#include "core/quant/scale_table.h"
#include "core/workbench/detector.h"
#include "core/workbench/job.h"

namespace detslim {

struct PrecisionOptions {
  std::string precision = "fp32";  // fp32 | fp16 | bf16 | int8
  // int8: activations, calibrator, percentile. quant.keep_fp32 is filled from `keep`.
  quant::QuantOptions quant;
  // Convs kept in higher precision: "default" (first conv + Detect head), "none", "auto", and /
  // or node names. bf16 honours it too (kept convs run f32).
  std::vector<std::string> keep = {"default"};
  double max_map_drop = 2.0;        // auto: allowed mAP50 drop in points (2.0 = 0.02)
  std::filesystem::path calib;      // images folder or labelled dataset; empty: unused eval images
  int calib_count = 64;
  std::filesystem::path scales;     // a stored scale table to reuse instead of calibrating
  int sensitivity_images = 8;       // auto: images per single-layer error measurement
};

// The calibrator a user gets without asking (chosen by measurement: docs/quant.md).
quant::Calibrator defaultCalibrator();

// "int8" + {"calibrator": "mse", "activations": "s8", "keep": "default;auto", "calib": DIR,
// "calib_count": "64", "percentile": "99.9", "max_map_drop": "2"} -> options; refuses unknown
// keys and bad values, naming them. Used by run / sweep (whose configuration stores the params).
Result<PrecisionOptions> precisionFromParams(const std::string& precision,
                                             const std::map<std::string, std::string>& params);
const std::vector<std::string>& availablePrecisionNames();

// Where calibration images come from, said in every output.
struct CalibrationSet {
  std::vector<std::filesystem::path> images;
  std::string origin;                 // "64 images of coco/images/train2017", ...
  std::vector<std::string> warnings;  // e.g. fewer images than asked
  // A labelled source of the same images (auto mode measures mAP on it), when there is one:
  // the images `skip`..`skip + count` of dataset `data` in file-name order.
  struct Labelled {
    std::filesystem::path data;
    datasets::Format format = datasets::Format::kAuto;
    size_t skip = 0;
    size_t count = 0;
  };
  std::optional<Labelled> labelled;
};

// Calibration images: `options.calib` (a folder of images, or a labelled dataset), else the
// images of `eval_data` that an evaluation of its first `eval_limit` images (0: all) does not use.
// Refuses an empty or unreadable folder and an evaluation that leaves no image unused (naming
// the fix); fewer images than asked is a warning.
Result<CalibrationSet> chooseCalibrationSet(const PrecisionOptions& options,
                                            const std::filesystem::path& eval_data,
                                            datasets::Format eval_format, size_t eval_limit,
                                            const std::vector<std::string>& class_names);

struct LayerSensitivity {
  std::string conv;       // node name
  double output_error;    // relative L2 error of the network outputs with only this conv int8
};

// A node left in f32 in an int8 plan, and what it costs.
struct FallbackEntry {
  std::string node;
  std::string op_type;    // as the plan runs it ("FusedConv", "Sigmoid", "DequantizeLinear"...)
  std::string reason;     // "kept in f32 (--keep-fp32)", "no int8 kernel", "int8 <-> f32 conversion"
  double ms = 0;          // mean per run (profiled)
};
struct FallbackReport {
  std::vector<FallbackEntry> entries;
  double int8_ms = 0;     // steps running integer kernels
  double f32_ms = 0;      // steps in f32 (the entries)
  int int8_steps = 0;
};

struct PrecisionResult {
  Model model;                                  // what the engine compiles
  ComputePrecision compute = ComputePrecision::kFloat32;
  std::vector<std::string> keep_fp32_nodes;     // bf16: convs compiled in f32
  std::optional<quant::ScaleTable> table;       // int8
  std::optional<quant::QuantReport> quant_report;
  std::vector<LayerSensitivity> sensitivity;    // auto: most sensitive first
  std::optional<FallbackReport> fallback;       // int8
  std::vector<std::string> notes;               // calibration origin, warnings, auto decisions
  std::string summary;                          // "int8 (entropy, u8 activations, 58 convs int8, 4 f32)"
  nlohmann::json report;                        // the run's precision step record
};

// Applies the precision. `calib` is required for int8 unless options.scales is given.
// `detector_options` gives size / threads / preprocessing for calibration and checks.
Result<PrecisionResult> applyPrecision(const Model& model, const PrecisionOptions& options,
                                       const CalibrationSet* calib,
                                       const DetectorOptions& detector_options,
                                       const JobControl& control = {});

// Compiles `model` (profiled) on `input`, runs it a few times and lists the steps left in f32.
Result<FallbackReport> fallbackReport(const Model& qdq_model, const std::vector<std::string>& kept,
                                      const Tensor& input, int threads);

nlohmann::json fallbackToJson(const FallbackReport& report);

}  // namespace detslim
