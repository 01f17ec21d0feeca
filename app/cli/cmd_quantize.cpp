// `detslim quantize MODEL --precision int8|fp16 -o OUT.onnx [--calib DIR] [--calib-count N]
//  [--calibrator C] [--activations u8|s8] [--keep-fp32 default|none|auto|NODES]
//  [--max-map-drop X] [--pre-activation int8|f32] [--data D --limit N] [--scales OUT.json]
//  [--scales-in T.json] [--json]`
//
// int8 writes a QDQ ONNX model (QuantizeLinear / DequantizeLinear pairs, int8 weights) that
// DetSlim runs on int8 kernels and ONNX Runtime / TensorRT load, plus the scale table (JSON).
// fp16 writes an FP16 ONNX model. docs/quant.md.

#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "app/cli/cli_common.h"
#include "app/cli/commands.h"
#include "app/cli/precision_args.h"
#include "core/datasets/dataset.h"
#include "core/onnx/onnx_io.h"
#include "core/workbench/quantize_job.h"

namespace detslim::cli {

namespace {

namespace fs = std::filesystem;

struct QuantizeArgs {
  std::string model;
  std::string precision = "int8";
  std::string output;
  std::string scales_out;
  std::string data;
  std::string format = "auto";
  size_t limit = 0;
  int64_t size = 0;
  int threads = 0;
  bool json = false;
  PrecisionArgs p;
};

int64_t weightBytes(const Model& m) {
  int64_t b = 0;
  for (const NamedTensor& t : m.graph.initializers()) b += static_cast<int64_t>(t.tensor.bytes());
  return b;
}

void printHuman(const QuantizeArgs& a, const PrecisionResult& r, int64_t before, int64_t after,
                std::ostream& out) {
  out << "Model        " << a.model << "\n";
  out << "Precision    " << r.summary << "\n";
  out << "Weights      " << humanBytes(static_cast<double>(before)) << " -> "
      << humanBytes(static_cast<double>(after)) << "\n";
  for (const std::string& note : r.notes) out << "Note         " << note << "\n";
  if (r.quant_report) {
    out << "Kept in f32  " << (r.quant_report->kept_convs.empty() ? "(none)" : "");
    for (size_t i = 0; i < r.quant_report->kept_convs.size(); ++i) {
      out << (i ? ", " : "") << r.quant_report->kept_convs[i];
    }
    out << "\n";
  }
  if (!r.sensitivity.empty()) {
    out << "Sensitivity  (output error with only that conv int8, worst first)\n";
    for (size_t i = 0; i < r.sensitivity.size() && i < 10; ++i) {
      out << "  " << fixed(r.sensitivity[i].output_error, 4) << "  " << r.sensitivity[i].conv << "\n";
    }
  }
  if (r.fallback) {
    const FallbackReport& f = *r.fallback;
    out << "Execution    " << f.int8_steps << " int8 steps " << fixed(f.int8_ms, 2) << " ms, "
        << f.entries.size() << " f32 steps " << fixed(f.f32_ms, 2) << " ms (profiled, per run)\n";
    std::vector<FallbackEntry> sorted = f.entries;
    std::sort(sorted.begin(), sorted.end(), [](const FallbackEntry& x, const FallbackEntry& y) { return x.ms > y.ms; });
    for (size_t i = 0; i < sorted.size() && i < 12; ++i) {
      out << "  " << fixed(sorted[i].ms, 3) << " ms  " << sorted[i].op_type << " " << sorted[i].node
          << "  (" << sorted[i].reason << ")\n";
    }
    if (sorted.size() > 12) out << "  ... " << sorted.size() - 12 << " more in --json\n";
  }
  out << "Wrote        " << a.output;
  if (!a.scales_out.empty()) out << " and " << a.scales_out;
  out << "\n";
}

}  // namespace

CommandRunner registerQuantize(CLI::App& app) {
  auto a = std::make_shared<QuantizeArgs>();
  CLI::App* cmd = app.add_subcommand(
      "quantize", "Post-training quantization (int8, with calibration) or FP16 conversion");
  cmd->add_option("model", a->model, "ONNX detector (FP32)")->required();
  cmd->add_option("--precision", a->precision, "int8 (default) or fp16; bf16 is a compile option (run / bench --precision bf16)");
  cmd->add_option("-o,--output", a->output, "Output ONNX model")->required();
  cmd->add_option("--scales", a->scales_out, "int8: write the scale table (JSON) here");
  cmd->add_option("--data", a->data,
                  "int8 without --calib: calibrate on the images of this dataset that an "
                  "evaluation of its first --limit images does not use");
  cmd->add_option("--format", a->format, "Dataset format of --data (auto, kitti, coco, yolo, bdd100k, voc)");
  cmd->add_option("--limit", a->limit, "Images of --data kept for evaluation");
  cmd->add_option("--size", a->size, "Square network input size (default: the model's)");
  cmd->add_option("--threads", a->threads, "Engine threads (0: all cores)");
  cmd->add_flag("--json", a->json, "Print one JSON object");
  addPrecisionOptions(cmd, a->p);
  return [a, cmd]() -> int {
    if (!cmd->parsed()) return -1;
    if (a->precision == "bf16") {
      return reportError(invalidArgument(
          "bf16 has no model file: it is how the engine compiles an FP32 model (detslim run / bench "
          "--precision bf16)"));
    }
    if (a->precision != "int8" && a->precision != "fp16") {
      return reportError(invalidArgument("--precision must be int8 or fp16, not '" + a->precision + "'"));
    }
    std::map<std::string, std::string> params;
    Status merged = mergePrecisionParams(a->p, &params);
    if (!merged.isOk()) return reportError(merged);
    if (a->precision == "fp16" && !params.empty()) {
      return reportError(invalidArgument("--precision fp16 takes no calibration options"));
    }
    Result<PrecisionOptions> options = precisionFromParams(a->precision, params);
    if (!options) return reportError(options.status());
    if (!a->scales_out.empty() && a->precision != "int8") {
      return reportError(invalidArgument("--scales is for int8"));
    }
    Result<Model> model = loadModel(a->model);
    if (!model) return reportError(model.status());
    Result<datasets::Format> format = datasets::parseFormat(a->format);
    if (!format) return reportError(format.status());

    JobControl control;
    cancelOnInterrupt(control.cancel);
    control.progress = terminalProgress("");
    std::optional<CalibrationSet> calib;
    if (a->precision == "int8" && options->scales.empty()) {
      if (options->calib.empty() && a->data.empty()) {
        return reportError(invalidArgument(
            "int8 needs calibration images: --calib DIR (a folder of images or a dataset), or "
            "--data D with --limit N (the images after the first N calibrate), or --scales-in T.json"));
      }
      Result<CalibrationSet> set = chooseCalibrationSet(*options, a->data, *format, a->limit,
                                                         model->classNames());
      if (!set) return reportError(set.status());
      calib = std::move(*set);
      for (const std::string& w : calib->warnings) std::cerr << "detslim: warning: " << w << "\n";
    }
    DetectorOptions detector;
    detector.threads = a->threads;
    detector.size = a->size;
    Result<PrecisionResult> result =
        applyPrecision(*model, *options, calib ? &*calib : nullptr, detector, control);
    finishProgress();
    if (!result) return reportError(result.status());
    Status saved = saveModel(result->model, a->output);
    if (!saved.isOk()) return reportError(saved);
    if (!a->scales_out.empty() && result->table) {
      Status s = quant::saveScaleTable(*result->table, a->scales_out);
      if (!s.isOk()) return reportError(s);
    }
    const int64_t before = weightBytes(*model);
    const int64_t after = weightBytes(result->model);
    if (a->json) {
      nlohmann::json j;
      j["model"] = a->model;
      j["output"] = a->output;
      j["precision"] = a->precision;
      j["summary"] = result->summary;
      j["weight_bytes_before"] = before;
      j["weight_bytes_after"] = after;
      j["notes"] = result->notes;
      j["step"] = result->report;
      if (result->quant_report) {
        j["quantized_convs"] = result->quant_report->quantized_convs;
        j["kept_convs"] = result->quant_report->kept_convs;
        j["quantized_tensors"] = result->quant_report->quantized_tensors;
      }
      if (result->table) j["calibration_images"] = result->table->images;
      if (!a->scales_out.empty()) j["scales"] = a->scales_out;
      nlohmann::json sens = nlohmann::json::array();
      for (const LayerSensitivity& s : result->sensitivity) sens.push_back({{"conv", s.conv}, {"output_error", s.output_error}});
      j["sensitivity"] = sens;
      if (result->fallback) j["fallback"] = fallbackToJson(*result->fallback);
      std::cout << j.dump(2) << "\n";
    } else {
      printHuman(*a, *result, before, after, std::cout);
    }
    return kExitOk;
  };
}

}  // namespace detslim::cli
