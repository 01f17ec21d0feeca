#include "app/cli/precision_args.h"

#include <sstream>

namespace detslim::cli {

void addPrecisionOptions(CLI::App* cmd, PrecisionArgs& a, bool calibrator) {
  cmd->add_option("--calib", a.calib,
                  "int8: calibration images (a folder, or a labelled dataset); default: images of "
                  "--data the evaluation does not use");
  cmd->add_option("--calib-count", a.calib_count, "int8: calibration images to use (default 64)");
  if (calibrator) {
    cmd->add_option("--calibrator", a.calibrator,
                    "int8: minmax, percentile, entropy or mse (default: mse, docs/quant.md)");
  }
  cmd->add_option("--activations", a.activations,
                  "int8: u8 (asymmetric, default) or s8 (symmetric) activations");
  cmd->add_option("--percentile", a.percentile, "int8 percentile calibrator: percentile (99.99)");
  cmd->add_option("--keep-fp32", a.keep,
                  "Convs kept in f32: default (first conv + Detect head), none, auto, or node "
                  "names (comma-separated)")
      ->delimiter(',');
  cmd->add_option("--max-map-drop", a.max_map_drop,
                  "int8 --keep-fp32 auto: allowed mAP50 drop in points (default 2)");
  cmd->add_option("--scales-in", a.scales_in, "int8: reuse this scale table instead of calibrating");
  cmd->add_option("--pre-activation", a.pre_activation,
                  "int8: int8 (default) also quantizes a conv's output before its SiLU / sigmoid / "
                  "tanh, which then runs as a 256-entry table on the integers (faster); f32 applies "
                  "it in float inside the int8 convolution (one rounding fewer)")
      ->check(CLI::IsMember({"int8", "f32"}));
}

Status mergePrecisionParams(const PrecisionArgs& a, std::map<std::string, std::string>* params) {
  auto put = [&](const std::string& key, const std::string& value) -> Status {
    if (!params->emplace(key, value).second) {
      return invalidArgument("precision parameter '" + key + "' given twice (in --precision and as a flag)");
    }
    return Status::ok();
  };
  auto number = [](double v) {
    std::ostringstream s;
    s << v;
    return s.str();
  };
  if (!a.calib.empty()) DS_RETURN_IF_ERROR(put("calib", a.calib));
  if (a.calib_count != 0) {
    if (a.calib_count < 0) return invalidArgument("--calib-count must be positive");
    DS_RETURN_IF_ERROR(put("calib_count", std::to_string(a.calib_count)));
  }
  if (!a.calibrator.empty()) DS_RETURN_IF_ERROR(put("calibrator", a.calibrator));
  if (!a.activations.empty()) DS_RETURN_IF_ERROR(put("activations", a.activations));
  if (a.percentile != 0) DS_RETURN_IF_ERROR(put("percentile", number(a.percentile)));
  if (!a.keep.empty()) {
    std::string keep;
    for (const std::string& k : a.keep) keep += (keep.empty() ? "" : ";") + k;
    DS_RETURN_IF_ERROR(put("keep", keep));
  }
  if (a.max_map_drop >= 0) DS_RETURN_IF_ERROR(put("max_map_drop", number(a.max_map_drop)));
  if (!a.scales_in.empty()) DS_RETURN_IF_ERROR(put("scales", a.scales_in));
  if (!a.pre_activation.empty()) DS_RETURN_IF_ERROR(put("pre_activation", a.pre_activation));
  return Status::ok();
}

}  // namespace detslim::cli
