#include "core/workbench/quantize_job.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

#include "core/onnx/onnx_io.h"
#include "core/quant/float16.h"
#include "core/quant/observe.h"
#include "core/store/store.h"
#include "core/workbench/eval_job.h"

namespace detslim {

namespace fs = std::filesystem;

namespace {

constexpr int kFallbackRuns = 5;

std::string joined(const std::vector<std::string>& items, const std::string& sep = ", ") {
  std::string s;
  for (const std::string& i : items) s += (s.empty() ? "" : sep) + i;
  return s;
}

bool isImagePath(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp" || ext == ".webp" ||
         ext == ".tif" || ext == ".tiff";
}

Result<double> parseNumber(const std::string& key, const std::string& text) {
  try {
    size_t used = 0;
    const double v = std::stod(text, &used);
    if (used != text.size() || !std::isfinite(v)) throw std::invalid_argument(text);
    return v;
  } catch (const std::exception&) {
    return invalidArgument("precision parameter " + key + "='" + text + "' is not a number");
  }
}

// Names of the kept convs after resolving "default" / "none" / "auto" / names; *auto_mode set by
// "auto" (which starts from the default list). "none" stands alone.
Result<std::vector<std::string>> resolveKeep(const Model& model, const std::vector<std::string>& keep,
                                             bool* auto_mode) {
  *auto_mode = false;
  if (std::find(keep.begin(), keep.end(), "none") != keep.end()) {
    if (keep.size() > 1) return invalidArgument("--keep-fp32: 'none' cannot be combined with other entries");
    return std::vector<std::string>{};
  }
  std::set<std::string> conv_names;
  for (const Node& n : model.graph.nodes) {
    if (n.op_type == "Conv" && n.domain.empty()) conv_names.insert(n.name);
  }
  std::set<std::string> names;
  for (const std::string& k : keep) {
    if (k.empty()) continue;
    if (k == "default" || k == "auto") {
      *auto_mode = *auto_mode || k == "auto";
      for (const std::string& d : quant::defaultKeepFp32(model)) names.insert(d);
    } else if (!conv_names.count(k)) {
      return invalidArgument("--keep-fp32: the model has no Conv node named '" + k + "'");
    } else {
      names.insert(k);
    }
  }
  return std::vector<std::string>(names.begin(), names.end());
}

// Relative L2 distance of two output sets.
double relativeError(const std::vector<Tensor>& ref, const Plan& plan) {
  double num = 0, den = 0;
  for (size_t o = 0; o < ref.size() && o < plan.numOutputs(); ++o) {
    const Tensor& a = ref[o];
    const Tensor& b = plan.output(o);
    if (a.dtype() != DType::kFloat32 || b.dtype() != DType::kFloat32 || a.numel() != b.numel()) continue;
    const float* x = a.data<float>();
    const float* y = b.data<float>();
    for (int64_t i = 0; i < a.numel(); ++i) {
      const double d = static_cast<double>(y[i]) - x[i];
      num += d * d;
      den += static_cast<double>(x[i]) * x[i];
    }
  }
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

std::vector<Tensor> copyOutputs(const Plan& plan) {
  std::vector<Tensor> out;
  for (size_t o = 0; o < plan.numOutputs(); ++o) out.push_back(plan.output(o).clone());
  return out;
}

EngineOptions engineOptionsFor(Detector& detector, int threads) {
  EngineOptions e;
  e.num_threads = threads;
  const Plan& plan = detector.plan();
  e.input_shapes.emplace_back(plan.inputNames().front(), plan.inputDescs().front().shape);
  return e;
}

}  // namespace

quant::Calibrator defaultCalibrator() { return quant::Calibrator::kMse; }

const std::vector<std::string>& availablePrecisionNames() {
  static const std::vector<std::string> kNames = {"fp32", "fp16", "bf16", "int8"};
  return kNames;
}

Result<PrecisionOptions> precisionFromParams(const std::string& precision,
                                             const std::map<std::string, std::string>& params) {
  PrecisionOptions o;
  const auto& names = availablePrecisionNames();
  if (std::find(names.begin(), names.end(), precision) == names.end()) {
    return invalidArgument("precision '" + precision + "' is not one of " + joined(names));
  }
  o.precision = precision;
  o.quant.calibrator = defaultCalibrator();
  for (const auto& [key, value] : params) {
    if (precision != "int8" && precision != "bf16") {
      return invalidArgument("precision " + precision + " takes no parameters (got '" + key + "')");
    }
    if (precision == "bf16" && key != "keep") {
      return invalidArgument("precision bf16 takes only keep=... (got '" + key + "')");
    }
    if (key == "calibrator") {
      DS_ASSIGN_OR_RETURN(o.quant.calibrator, quant::parseCalibrator(value));
    } else if (key == "activations") {
      DS_ASSIGN_OR_RETURN(o.quant.activations, quant::parseActivationType(value));
    } else if (key == "percentile") {
      DS_ASSIGN_OR_RETURN(o.quant.percentile, parseNumber(key, value));
      if (!(o.quant.percentile > 50.0 && o.quant.percentile <= 100.0)) {
        return invalidArgument("precision parameter percentile=" + value + " must be in (50, 100]");
      }
    } else if (key == "keep") {
      o.keep.clear();
      std::stringstream in(value);
      std::string item;
      while (std::getline(in, item, ';')) {
        if (!item.empty()) o.keep.push_back(item);
      }
    } else if (key == "calib") {
      o.calib = value;
    } else if (key == "calib_count") {
      DS_ASSIGN_OR_RETURN(double n, parseNumber(key, value));
      if (n < 1 || n != std::floor(n)) return invalidArgument("precision parameter calib_count=" + value + " must be a positive integer");
      o.calib_count = static_cast<int>(n);
    } else if (key == "max_map_drop") {
      DS_ASSIGN_OR_RETURN(o.max_map_drop, parseNumber(key, value));
      if (o.max_map_drop < 0) return invalidArgument("precision parameter max_map_drop must be >= 0");
    } else if (key == "scales") {
      o.scales = value;
    } else if (key == "pre_activation") {
      if (value != "int8" && value != "f32") {
        return invalidArgument("precision parameter pre_activation=" + value + " must be int8 or f32");
      }
      o.quant.pre_activations = value == "int8";
    } else {
      return invalidArgument("unknown int8 parameter '" + key +
                             "' (known: calibrator, activations, percentile, keep, calib, "
                             "calib_count, max_map_drop, scales, pre_activation)");
    }
  }
  return o;
}

Result<CalibrationSet> chooseCalibrationSet(const PrecisionOptions& options,
                                            const fs::path& eval_data,
                                            datasets::Format eval_format, size_t eval_limit,
                                            const std::vector<std::string>& class_names) {
  CalibrationSet set;
  const size_t want = static_cast<size_t>(std::max(1, options.calib_count));
  if (!options.calib.empty()) {
    const fs::path& dir = options.calib;
    std::error_code ec;
    if (!fs::exists(dir, ec)) return notFound("calibration folder " + dir.string() + " does not exist");
    // A labelled dataset (auto mode can then measure mAP on it), else a plain image folder.
    datasets::ReadOptions read;
    read.class_names = class_names;
    Result<datasets::Dataset> labelled = datasets::readDataset(dir, read);
    if (labelled && !labelled->samples.empty()) {
      for (const datasets::Sample& s : labelled->samples) {
        if (set.images.size() >= want) break;
        set.images.push_back(s.image_path);
      }
      CalibrationSet::Labelled l;
      l.data = dir;
      l.format = labelled->format;
      l.skip = 0;
      l.count = set.images.size();
      set.labelled = l;
    } else {
      if (!fs::is_directory(dir, ec)) {
        return invalidArgument("calibration path " + dir.string() +
                               " is neither a folder of images nor a dataset");
      }
      std::vector<fs::path> files;
      fs::directory_iterator it(dir, ec);
      if (ec) return invalidArgument("calibration folder " + dir.string() + " cannot be read: " + ec.message());
      for (const fs::directory_entry& e : it) {
        if (e.is_regular_file(ec) && isImagePath(e.path())) files.push_back(e.path());
      }
      std::sort(files.begin(), files.end());
      if (files.empty()) {
        return invalidArgument("calibration folder " + dir.string() +
                               " holds no images (.jpg, .jpeg, .png, .bmp, .webp, .tif)");
      }
      for (const fs::path& f : files) {
        if (set.images.size() >= want) break;
        set.images.push_back(f);
      }
    }
    set.origin = std::to_string(set.images.size()) + " images of " + dir.string();
  } else {
    datasets::ReadOptions read;
    read.format = eval_format;
    read.class_names = class_names;
    DS_ASSIGN_OR_RETURN(datasets::Dataset all, datasets::readDataset(eval_data, read));
    const size_t used = eval_limit == 0 ? all.samples.size() : std::min(eval_limit, all.samples.size());
    if (used >= all.samples.size()) {
      return invalidArgument(
          "int8 needs calibration images: the evaluation uses all " + std::to_string(all.samples.size()) +
          " images of " + eval_data.string() +
          "; give a calibration folder (--calib DIR, e.g. a training split) or evaluate fewer "
          "images (--limit N) so the rest calibrate");
    }
    for (size_t i = used; i < all.samples.size() && set.images.size() < want; ++i) {
      set.images.push_back(all.samples[i].image_path);
    }
    CalibrationSet::Labelled l;
    l.data = eval_data;
    l.format = all.format;
    l.skip = used;
    l.count = set.images.size();
    set.labelled = l;
    set.origin = std::to_string(set.images.size()) + " images of " + eval_data.string() +
                 " that the evaluation does not use (images " + std::to_string(used + 1) + ".." +
                 std::to_string(used + set.images.size()) + " in file-name order)";
  }
  if (set.images.size() < want) {
    set.warnings.push_back("asked for " + std::to_string(want) + " calibration images, found " +
                           std::to_string(set.images.size()) + ": using " +
                           std::to_string(set.images.size()));
  }
  return set;
}

Result<FallbackReport> fallbackReport(const Model& qdq_model, const std::vector<std::string>& kept,
                                      const Tensor& input, int threads) {
  EngineOptions e;
  e.num_threads = threads;
  e.profile = true;
  Result<Plan> compiled = Engine::compile(qdq_model, e);
  if (!compiled) {
    // Try with the input's shape (a dynamic model).
    EngineOptions with_shape = e;
    with_shape.input_shapes.emplace_back(qdq_model.graph.inputs.front().name, input.shape());
    compiled = Engine::compile(qdq_model, with_shape);
  }
  if (!compiled) return compiled.status();
  Plan& plan = *compiled;
  DS_RETURN_IF_ERROR(plan.run({&input, 1}));
  plan.resetTimings();
  for (int i = 0; i < kFallbackRuns; ++i) DS_RETURN_IF_ERROR(plan.run({&input, 1}));
  const std::set<std::string> kept_set(kept.begin(), kept.end());
  FallbackReport r;
  const auto& steps = plan.steps();
  const auto& timings = plan.timings();
  for (size_t i = 0; i < steps.size(); ++i) {
    const StepInfo& s = steps[i];
    const double ms = i < timings.size() && timings[i].runs > 0 ? timings[i].total_ms / timings[i].runs : 0.0;
    bool integer_out = !s.output_dtypes.empty();
    for (DType d : s.output_dtypes) {
      if (d != DType::kUInt8 && d != DType::kInt8) integer_out = false;
    }
    const bool integer_step = s.op_type == "QConv" || (integer_out && s.op_type != "QuantizeLinear");
    if (integer_step) {
      r.int8_ms += ms;
      ++r.int8_steps;
      continue;
    }
    FallbackEntry entry;
    entry.node = s.name;
    entry.op_type = s.op_type;
    entry.ms = ms;
    const bool conv = s.op_type == "Conv" || s.op_type == "FusedConv";
    if (conv && kept_set.count(s.name)) {
      entry.reason = "kept in f32 (higher-precision layer)";
    } else if (conv) {
      entry.reason = "conv not quantized (no int8 kernel took it)";
    } else if (s.op_type == "QuantizeLinear" || s.op_type == "DequantizeLinear") {
      entry.reason = "f32 <-> int8 conversion";
    } else if (s.op_type == "Reorder") {
      entry.reason = "layout reorder";
    } else {
      entry.reason = "f32 op (no int8 kernel)";
    }
    r.f32_ms += ms;
    r.entries.push_back(std::move(entry));
  }
  return r;
}

nlohmann::json fallbackToJson(const FallbackReport& report) {
  nlohmann::json entries = nlohmann::json::array();
  for (const FallbackEntry& e : report.entries) {
    entries.push_back({{"node", e.node}, {"op", e.op_type}, {"reason", e.reason}, {"ms", e.ms}});
  }
  return {{"int8_steps", report.int8_steps},
          {"int8_ms", report.int8_ms},
          {"f32_ms", report.f32_ms},
          {"f32_steps", entries}};
}

Result<PrecisionResult> applyPrecision(const Model& model, const PrecisionOptions& options,
                                       const CalibrationSet* calib,
                                       const DetectorOptions& detector_options,
                                       const JobControl& control) {
  PrecisionResult result;
  result.report = {{"step", "precision"}, {"precision", options.precision}};
  bool has_reduced_weights = false;
  for (const NamedTensor& init : model.graph.initializers()) {
    const DType d = init.tensor.dtype();
    if (d == DType::kFloat16 || d == DType::kBFloat16) has_reduced_weights = true;
  }
  const std::string& p = options.precision;
  if (p != "fp16" && has_reduced_weights) {
    return unsupported("precision " + p + ": the model stores float16 / bfloat16 weights; pick an "
                       "FP32 export, or precision fp16 to run it as stored");
  }
  if (p == "fp32") {
    result.model = model;
    result.summary = "fp32";
    result.report["changed"] = false;
    return result;
  }
  if (p == "fp16") {
    if (has_reduced_weights) {
      result.model = model;
      result.notes.push_back("the model is already FP16: run as stored");
      result.report["changed"] = false;
    } else {
      DS_ASSIGN_OR_RETURN(result.model, quant::convertToFloat16(model));
      result.report["changed"] = true;
    }
    result.summary = "fp16 storage, fp32 compute (this CPU has no FP16 arithmetic)";
    result.report["compute"] = "fp16 storage, fp32 compute";
    return result;
  }
  bool auto_mode = false;
  DS_ASSIGN_OR_RETURN(std::vector<std::string> kept, resolveKeep(model, options.keep, &auto_mode));
  if (p == "bf16") {
    if (auto_mode) return invalidArgument("precision bf16: keep=auto is for int8 only");
    result.model = model;
    result.compute = ComputePrecision::kBFloat16;
    result.keep_fp32_nodes = kept;
    result.summary = "bf16 (oneDNN bf16 convolutions, f32 accumulation; " + std::to_string(kept.size()) +
                     " convs f32)";
    result.report["changed"] = true;
    result.report["compute"] = "bf16";
    result.report["kept_fp32"] = kept;
    return result;
  }

  // ---- int8 ----
  quant::QuantOptions qo = options.quant;
  qo.keep_fp32 = kept;
  DS_ASSIGN_OR_RETURN(quant::QuantizationPlan plan, quant::planQuantization(model, kept, qo.pre_activations));
  // The fp32 detector: preprocessing for calibration images and the reference outputs.
  DS_ASSIGN_OR_RETURN(Detector fp32, Detector::create(model, detector_options));
  const int threads = detector_options.threads;
  quant::ScaleTable table;
  if (!options.scales.empty()) {
    DS_ASSIGN_OR_RETURN(table, quant::loadScaleTable(options.scales.string()));
    const std::string dropped = quant::dropUncalibratedPreActivations(plan, table);
    if (!dropped.empty()) result.notes.push_back(dropped);
    Status fits = quant::checkScaleTable(table, plan);
    if (!fits.isOk()) return fits.withContext(options.scales.string());
    result.notes.push_back("scales from " + options.scales.string() + " (calibrated with " +
                           table.calibrator + " on " + std::to_string(table.images) + " images)");
  } else {
    if (!calib || calib->images.empty()) {
      return invalidArgument("int8 needs calibration images (--calib DIR) or a scale table (--scales)");
    }
    EngineOptions engine = engineOptionsFor(fp32, threads);
    DS_ASSIGN_OR_RETURN(quant::ActivationObserver observer,
                        quant::ActivationObserver::create(model, plan.tensors(), engine));
    ProgressMeter meter(control, "calibrating", static_cast<int64_t>(calib->images.size()));
    std::vector<std::string> used;
    for (size_t i = 0; i < calib->images.size(); ++i) {
      if (control.cancel.cancelled()) return cancelled("calibration cancelled");
      const fs::path& image = calib->images[i];
      Result<Tensor> input = fp32.prepareInput(image);
      if (!input) {
        result.notes.push_back("calibration image left out: " + input.status().message());
        continue;
      }
      Status observed = observer.observe({&*input, 1});
      if (!observed.isOk()) return observed.withContext("calibration image " + image.string());
      used.push_back(image.string());
      meter.report(static_cast<int64_t>(i + 1));
    }
    if (used.empty()) return invalidArgument("no calibration image could be read (" + calib->origin + ")");
    DS_ASSIGN_OR_RETURN(table, quant::buildScaleTable(observer, plan, qo));
    table.image_files = used;
    table.images = static_cast<int64_t>(used.size());
    result.notes.push_back("calibrated on " + calib->origin);
    for (const std::string& w : calib->warnings) result.notes.push_back(w);
  }
  DS_ASSIGN_OR_RETURN(std::string fp32_bytes, serializeModel(model));
  table.model_sha256 = store::sha256Hex(fp32_bytes);
  if (table.model_name.empty()) table.model_name = model.graph.name;

  // Reference inputs / outputs for sensitivity and the fallback report.
  std::vector<Tensor> inputs;
  std::vector<std::vector<Tensor>> reference;
  if (calib) {
    const size_t n = std::min<size_t>(calib->images.size(), static_cast<size_t>(std::max(1, options.sensitivity_images)));
    for (size_t i = 0; i < n; ++i) {
      Result<Tensor> input = fp32.prepareInput(calib->images[i]);
      if (!input) continue;
      DS_RETURN_IF_ERROR(fp32.plan().run({&*input, 1}));
      reference.push_back(copyOutputs(fp32.plan()));
      inputs.push_back(std::move(*input));
    }
  }

  if (auto_mode) {
    if (!calib || !calib->labelled) {
      return invalidArgument("--keep-fp32 auto measures mAP on the calibration images and needs "
                             "them labelled (a dataset, or the evaluation set's unused images)");
    }
    if (inputs.empty()) return invalidArgument("--keep-fp32 auto: no calibration image could be read");
    // 1. Sensitivity: output error with only one conv int8.
    std::vector<std::string> all_convs = plan.quantized_convs;
    all_convs.insert(all_convs.end(), plan.kept_convs.begin(), plan.kept_convs.end());
    ProgressMeter meter(control, "layer sensitivity", static_cast<int64_t>(plan.quantized_convs.size()));
    const EngineOptions engine = engineOptionsFor(fp32, threads);
    for (size_t c = 0; c < plan.quantized_convs.size(); ++c) {
      if (control.cancel.cancelled()) return cancelled("sensitivity measurement cancelled");
      const std::string& conv = plan.quantized_convs[c];
      quant::QuantOptions single = qo;
      single.keep_fp32.clear();
      for (const std::string& other : all_convs) {
        if (other != conv) single.keep_fp32.push_back(other);
      }
      DS_ASSIGN_OR_RETURN(quant::QuantizedModel q, quant::quantizeModel(model, table, single));
      Result<Plan> compiled = Engine::compile(q.model, engine);
      if (!compiled) return compiled.status().withContext("sensitivity of " + conv);
      double err = 0;
      for (size_t i = 0; i < inputs.size(); ++i) {
        DS_RETURN_IF_ERROR(compiled->run({&inputs[i], 1}));
        err += relativeError(reference[i], *compiled);
      }
      result.sensitivity.push_back({conv, err / static_cast<double>(inputs.size())});
      meter.report(static_cast<int64_t>(c + 1));
    }
    std::sort(result.sensitivity.begin(), result.sensitivity.end(),
              [](const LayerSensitivity& a, const LayerSensitivity& b) { return a.output_error > b.output_error; });
    // 2. The fewest worst layers kept in f32 for which the mAP50 drop holds.
    const CalibrationSet::Labelled& l = *calib->labelled;
    EvalOptions eval;
    eval.data = l.data;
    eval.format = l.format;
    eval.skip = l.skip;
    eval.limit = l.count;
    eval.model = "calibration check";
    DS_ASSIGN_OR_RETURN(EvalReport base, runEval(eval, fp32, control));
    const double base_map50 = base.coco.stats[1];
    auto dropWith = [&](size_t k) -> Result<double> {
      quant::QuantOptions o = qo;
      for (size_t i = 0; i < k && i < result.sensitivity.size(); ++i) o.keep_fp32.push_back(result.sensitivity[i].conv);
      DS_ASSIGN_OR_RETURN(quant::QuantizedModel q, quant::quantizeModel(model, table, o));
      DS_ASSIGN_OR_RETURN(Detector d, Detector::create(std::move(q.model), detector_options));
      DS_ASSIGN_OR_RETURN(EvalReport r, runEval(eval, d, control));
      const double drop = 100.0 * (base_map50 - r.coco.stats[1]);
      result.notes.push_back("auto: " + std::to_string(k) + " most sensitive convs kept in f32 -> mAP50 " +
                             std::to_string(r.coco.stats[1]) + " (f32 " + std::to_string(base_map50) +
                             ", drop " + std::to_string(drop) + " points)");
      return drop;
    };
    size_t lo = 0, hi = result.sensitivity.size();
    DS_ASSIGN_OR_RETURN(double drop0, dropWith(0));
    size_t chosen = 0;
    if (drop0 > options.max_map_drop) {
      // Binary search for the smallest k whose drop holds (drop assumed to shrink as k grows;
      // k = all convs is f32 everywhere, drop 0).
      lo = 1;
      chosen = hi;
      while (lo < hi) {
        const size_t mid = (lo + hi) / 2;
        DS_ASSIGN_OR_RETURN(double drop, dropWith(mid));
        if (drop <= options.max_map_drop) {
          chosen = mid;
          hi = mid;
        } else {
          lo = mid + 1;
        }
      }
      chosen = std::min(chosen, lo);
    }
    for (size_t i = 0; i < chosen; ++i) qo.keep_fp32.push_back(result.sensitivity[i].conv);
    result.notes.push_back("auto: kept " + std::to_string(chosen) + " more convs in f32 for a mAP50 drop budget of " +
                           std::to_string(options.max_map_drop) + " points on " + std::to_string(l.count) +
                           " labelled calibration images");
  }

  DS_ASSIGN_OR_RETURN(quant::QuantizedModel q, quant::quantizeModel(model, table, qo));
  result.model = std::move(q.model);
  result.quant_report = q.report;
  result.table = table;
  if (!inputs.empty()) {
    Result<FallbackReport> fb = fallbackReport(result.model, q.report.kept_convs, inputs.front(), threads);
    if (fb) result.fallback = *fb;
    else result.notes.push_back("fallback report not measured: " + fb.status().message());
  }
  std::ostringstream s;
  s << "int8 (" << quant::calibratorName(qo.calibrator) << ", "
    << quant::activationTypeName(qo.activations) << " activations, "
    << q.report.quantized_convs.size() << " convs int8, " << q.report.kept_convs.size() << " f32, "
    << q.report.pre_activation_tensors << " activations as integer tables)";
  result.summary = s.str();
  result.report["changed"] = true;
  result.report["calibrator"] = std::string(quant::calibratorName(qo.calibrator));
  result.report["activations"] = std::string(quant::activationTypeName(qo.activations));
  result.report["calibration"] = table.images;
  result.report["quantized_convs"] = q.report.quantized_convs.size();
  result.report["kept_fp32"] = q.report.kept_convs;
  result.report["activation_tables"] = q.report.pre_activation_tensors;
  if (result.fallback) {
    result.report["int8_ms"] = result.fallback->int8_ms;
    result.report["f32_ms"] = result.fallback->f32_ms;
  }
  return result;
}

}  // namespace detslim
