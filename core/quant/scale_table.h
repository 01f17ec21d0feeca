#pragma once
// The scale table: calibration's artefact, conversion's input (ncnn's ncnn2table -> ncnn2int8).
// One (scale, zero point) per quantized activation tensor plus how it was obtained, stored as
// JSON so it can be inspected, diffed and reused:
//
//   {"format": "detslim-scale-table", "version": 1,
//    "model": {"name": "...", "sha256": "..."},
//    "calibration": {"calibrator": "entropy", "percentile": 99.99, "activations": "u8",
//                    "images": 64, "image_files": ["..."]},
//    "tensors": [{"name": "...", "dtype": "uint8", "scale": 0.0123, "zero_point": 21,
//                 "range": [lo, hi], "observed": [min, max]}, ...]}
//
// `range` is the calibrated range after the group union; `observed` the tensor's own extremes.

#include <cstdint>
#include <string>
#include <vector>

#include "core/base/dtype.h"
#include "core/base/status.h"
#include "core/quant/calibrate.h"
#include "core/quant/observe.h"
#include "core/quant/qdq.h"

namespace detslim::quant {

constexpr int kScaleTableVersion = 1;

struct ScaleEntry {
  std::string tensor;
  float scale = 1.0f;
  int32_t zero_point = 0;
  DType dtype = DType::kUInt8;  // kUInt8 (u8 asymmetric) or kInt8 (s8 symmetric)
  double lo = 0, hi = 0;        // the calibrated range (shared by the tensor's group)
  double observed_min = 0, observed_max = 0;

  QuantParams params() const { return {scale, zero_point, dtype}; }
};

struct ScaleTable {
  int version = kScaleTableVersion;
  std::string model_name;
  std::string model_sha256;  // of the f32 model's bytes; filled by the caller
  std::string calibrator;    // calibratorName()
  double percentile = 99.99;
  std::string activations;   // activationTypeName()
  int64_t images = 0;        // observations the table comes from
  std::vector<std::string> image_files;  // filled by the caller
  std::vector<ScaleEntry> entries;

  // The entry of a tensor, or nullptr.
  const ScaleEntry* find(const std::string& tensor) const;
  ScaleEntry* find(const std::string& tensor);
};

// One entry per planned tensor: each tensor's range from the calibrator, one range per group (the
// union of its members' ranges), then the (scale, zero point) of that range; pre-activation
// ranges are then narrowed to where their activation's output changes
// (narrowPreActivationRanges). Refuses a planned tensor the observer does not watch or never saw
// (no observation yet), naming it.
Result<ScaleTable> buildScaleTable(const ActivationObserver& observer, const QuantizationPlan& plan,
                                   const QuantOptions& options);

// Writes the JSON (a temporary file renamed into place). Errors name the file.
Status saveScaleTable(const ScaleTable& table, const std::string& path);
// Reads and validates: errors name the file and the JSON field ("tensors[3].scale: ...").
Result<ScaleTable> loadScaleTable(const std::string& path);
// Same from JSON text; `display_name` stands for the file in messages.
Result<ScaleTable> parseScaleTable(const std::string& json_text, const std::string& display_name);
std::string scaleTableToJson(const ScaleTable& table);

// Refuses a table that lacks planned tensors (naming them, and the table's entries the plan does
// not use, which hint at another model) or whose entries within one plan group differ. Entries the
// plan does not use are allowed alone: a table calibrated with fewer Convs kept in f32 serves a
// plan that keeps more.
Status checkScaleTable(const ScaleTable& table, const QuantizationPlan& plan);

}  // namespace detslim::quant
