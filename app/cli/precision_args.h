#pragma once
// The precision options `run`, `sweep` and `quantize` share: --precision fp32|fp16|bf16|int8
// (optionally with ":k=v,..." parameters), and the int8 calibration flags, all turned into the
// precision parameters of RunConfig (core/workbench/quantize_job.h precisionFromParams).

#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "core/base/status.h"

namespace detslim::cli {

struct PrecisionArgs {
  std::string calib;
  int calib_count = 0;          // 0: not given
  std::string calibrator;
  std::string activations;
  double percentile = 0;        // 0: not given
  std::vector<std::string> keep;
  double max_map_drop = -1;     // < 0: not given
  std::string scales_in;
  std::string pre_activation;   // "": not given
};

// Registers --calib, --calib-count, --calibrator (unless `calibrator` is false: sweep has
// --calibrators), --activations, --percentile, --keep-fp32, --max-map-drop, --scales-in,
// --pre-activation.
void addPrecisionOptions(CLI::App* cmd, PrecisionArgs& a, bool calibrator = true);

// The flags as precision parameters, merged into `params` (a key given both ways is refused).
Status mergePrecisionParams(const PrecisionArgs& a, std::map<std::string, std::string>* params);

}  // namespace detslim::cli
