// The scale table: built from observations, saved / loaded as JSON, checked against a plan.

#include "core/quant/scale_table.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include <nlohmann/json.hpp>

namespace detslim::quant {

namespace {

using nlohmann::json;

constexpr const char* kFormatName = "detslim-scale-table";
constexpr size_t kNamesInMessage = 5;  // names listed before "and N more"

// "a, b, c (and 4 more)"
std::string listNames(const std::vector<std::string>& names) {
  std::string s;
  for (size_t i = 0; i < names.size() && i < kNamesInMessage; ++i) {
    if (i) s += ", ";
    s += "'" + names[i] + "'";
  }
  if (names.size() > kNamesInMessage) s += " (and " + std::to_string(names.size() - kNamesInMessage) + " more)";
  return s;
}

std::string dtypeKey(DType dtype) { return dtype == DType::kInt8 ? "int8" : "uint8"; }

// Typed access to JSON fields; every error names the file and the field's path.
class FieldReader {
 public:
  explicit FieldReader(std::string file) : file_(std::move(file)) {}

  Status error(const std::string& field, const std::string& what) const {
    return parseError(file_ + ": field '" + field + "': " + what);
  }

  Result<const json*> member(const json& obj, const std::string& key, const std::string& path) const {
    if (!obj.is_object()) return error(path, "expected an object");
    auto it = obj.find(key);
    if (it == obj.end()) return error(join(path, key), "missing");
    return &*it;
  }
  Result<double> number(const json& obj, const std::string& key, const std::string& path) const {
    DS_ASSIGN_OR_RETURN(const json* v, member(obj, key, path));
    if (!v->is_number()) return error(join(path, key), "expected a number, found " + std::string(v->type_name()));
    const double d = v->get<double>();
    if (!std::isfinite(d)) return error(join(path, key), "not a finite number");
    return d;
  }
  Result<int64_t> integer(const json& obj, const std::string& key, const std::string& path) const {
    DS_ASSIGN_OR_RETURN(const json* v, member(obj, key, path));
    if (!v->is_number_integer()) {
      return error(join(path, key), "expected an integer, found " + std::string(v->type_name()));
    }
    return v->get<int64_t>();
  }
  Result<std::string> string(const json& obj, const std::string& key, const std::string& path) const {
    DS_ASSIGN_OR_RETURN(const json* v, member(obj, key, path));
    if (!v->is_string()) return error(join(path, key), "expected a string, found " + std::string(v->type_name()));
    return v->get<std::string>();
  }
  // A [lo, hi] pair of numbers with lo <= hi.
  Result<std::pair<double, double>> pair(const json& obj, const std::string& key, const std::string& path) const {
    DS_ASSIGN_OR_RETURN(const json* v, member(obj, key, path));
    const std::string field = join(path, key);
    if (!v->is_array() || v->size() != 2 || !(*v)[0].is_number() || !(*v)[1].is_number()) {
      return error(field, "expected [low, high] (two numbers)");
    }
    const double lo = (*v)[0].get<double>(), hi = (*v)[1].get<double>();
    if (!std::isfinite(lo) || !std::isfinite(hi) || lo > hi) return error(field, "expected finite low <= high");
    return std::make_pair(lo, hi);
  }

  static std::string join(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }

 private:
  std::string file_;
};

Result<ScaleEntry> readEntry(const FieldReader& r, const json& e, const std::string& path) {
  ScaleEntry entry;
  DS_ASSIGN_OR_RETURN(entry.tensor, r.string(e, "name", path));
  if (entry.tensor.empty()) return r.error(path + ".name", "empty tensor name");
  DS_ASSIGN_OR_RETURN(std::string dtype, r.string(e, "dtype", path));
  if (dtype == "uint8") {
    entry.dtype = DType::kUInt8;
  } else if (dtype == "int8") {
    entry.dtype = DType::kInt8;
  } else {
    return r.error(path + ".dtype", "'" + dtype + "' is not uint8 or int8");
  }
  DS_ASSIGN_OR_RETURN(double scale, r.number(e, "scale", path));
  if (!(scale > 0.0) || scale > std::numeric_limits<float>::max()) {
    return r.error(path + ".scale", "must be a positive float32 value, is " + std::to_string(scale));
  }
  entry.scale = static_cast<float>(scale);
  DS_ASSIGN_OR_RETURN(int64_t zp, r.integer(e, "zero_point", path));
  const int64_t zp_lo = entry.dtype == DType::kInt8 ? -128 : 0;
  const int64_t zp_hi = entry.dtype == DType::kInt8 ? 127 : 255;
  if (zp < zp_lo || zp > zp_hi) {
    return r.error(path + ".zero_point", std::to_string(zp) + " is outside " + dtype + "'s [" +
                                             std::to_string(zp_lo) + ", " + std::to_string(zp_hi) + "]");
  }
  entry.zero_point = static_cast<int32_t>(zp);
  DS_ASSIGN_OR_RETURN(auto range, r.pair(e, "range", path));
  entry.lo = range.first;
  entry.hi = range.second;
  DS_ASSIGN_OR_RETURN(auto observed, r.pair(e, "observed", path));
  entry.observed_min = observed.first;
  entry.observed_max = observed.second;
  return entry;
}

}  // namespace

const ScaleEntry* ScaleTable::find(const std::string& tensor) const {
  for (const ScaleEntry& e : entries) {
    if (e.tensor == tensor) return &e;
  }
  return nullptr;
}

ScaleEntry* ScaleTable::find(const std::string& tensor) {
  return const_cast<ScaleEntry*>(std::as_const(*this).find(tensor));
}

Result<ScaleTable> buildScaleTable(const ActivationObserver& observer, const QuantizationPlan& plan,
                                   const QuantOptions& options) {
  if (observer.count() == 0) return invalidArgument("no observation yet: calibrate on at least one input");
  ScaleTable table;
  table.calibrator = std::string(calibratorName(options.calibrator));
  table.percentile = options.percentile;
  table.activations = std::string(activationTypeName(options.activations));
  table.images = observer.count();
  for (const std::vector<std::string>& group : plan.tensor_groups) {
    TensorRange shared{0.0, 0.0};
    for (const std::string& t : group) {
      const TensorStats* s = observer.stats(t);
      if (!s) return notFound("planned tensor '" + t + "' is not watched by the observer");
      if (s->count == 0) return invalidArgument("planned tensor '" + t + "' holds no values in any observation");
      const TensorRange r = chooseRange(*s, options);
      shared.lo = std::min(shared.lo, r.lo);
      shared.hi = std::max(shared.hi, r.hi);
    }
    const QuantParams q = quantParams(shared, options.activations);
    for (const std::string& t : group) {
      const TensorStats* s = observer.stats(t);
      ScaleEntry e;
      e.tensor = t;
      e.scale = q.scale;
      e.zero_point = q.zero_point;
      e.dtype = q.dtype;
      e.lo = shared.lo;
      e.hi = shared.hi;
      e.observed_min = s->min;
      e.observed_max = s->max;
      table.entries.push_back(std::move(e));
    }
  }
  DS_RETURN_IF_ERROR(narrowPreActivationRanges(plan, options.activations, table));
  return table;
}

std::string scaleTableToJson(const ScaleTable& table) {
  json j;
  j["format"] = kFormatName;
  j["version"] = table.version;
  j["model"] = {{"name", table.model_name}, {"sha256", table.model_sha256}};
  j["calibration"] = {{"calibrator", table.calibrator},
                      {"percentile", table.percentile},
                      {"activations", table.activations},
                      {"images", table.images},
                      {"image_files", table.image_files}};
  json tensors = json::array();
  for (const ScaleEntry& e : table.entries) {
    json t;
    t["name"] = e.tensor;
    t["dtype"] = dtypeKey(e.dtype);
    // float -> double is exact and nlohmann prints doubles round-trip exact: the scale reloads
    // bit for bit.
    t["scale"] = static_cast<double>(e.scale);
    t["zero_point"] = e.zero_point;
    t["range"] = {e.lo, e.hi};
    t["observed"] = {e.observed_min, e.observed_max};
    tensors.push_back(std::move(t));
  }
  j["tensors"] = std::move(tensors);
  return j.dump(2) + "\n";
}

Status saveScaleTable(const ScaleTable& table, const std::string& path) {
  const std::string text = scaleTableToJson(table);
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return ioError(path + ": cannot write the scale table (cannot create " + tmp + ")");
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      return ioError(path + ": writing the scale table failed");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return ioError(path + ": cannot move the scale table into place");
  }
  return Status::ok();
}

Result<ScaleTable> parseScaleTable(const std::string& json_text, const std::string& display_name) {
  json j;
  try {
    j = json::parse(json_text);
  } catch (const json::parse_error& e) {
    return parseError(display_name + ": not valid JSON: " + e.what());
  }
  const FieldReader r(display_name);
  if (!j.is_object()) return parseError(display_name + ": a scale table is a JSON object");
  DS_ASSIGN_OR_RETURN(std::string format, r.string(j, "format", ""));
  if (format != kFormatName) return r.error("format", "'" + format + "' is not '" + kFormatName + "'");
  DS_ASSIGN_OR_RETURN(int64_t version, r.integer(j, "version", ""));
  if (version != kScaleTableVersion) {
    return unsupported(display_name + ": field 'version': scale table version " + std::to_string(version) +
                       " is not supported (this DetSlim reads version " + std::to_string(kScaleTableVersion) + ")");
  }
  ScaleTable t;
  t.version = static_cast<int>(version);
  DS_ASSIGN_OR_RETURN(const json* model, r.member(j, "model", ""));
  DS_ASSIGN_OR_RETURN(t.model_name, r.string(*model, "name", "model"));
  DS_ASSIGN_OR_RETURN(t.model_sha256, r.string(*model, "sha256", "model"));
  DS_ASSIGN_OR_RETURN(const json* calib, r.member(j, "calibration", ""));
  DS_ASSIGN_OR_RETURN(t.calibrator, r.string(*calib, "calibrator", "calibration"));
  if (!parseCalibrator(t.calibrator)) {
    return r.error("calibration.calibrator", parseCalibrator(t.calibrator).status().message());
  }
  DS_ASSIGN_OR_RETURN(t.percentile, r.number(*calib, "percentile", "calibration"));
  DS_ASSIGN_OR_RETURN(t.activations, r.string(*calib, "activations", "calibration"));
  if (!parseActivationType(t.activations)) {
    return r.error("calibration.activations", parseActivationType(t.activations).status().message());
  }
  DS_ASSIGN_OR_RETURN(t.images, r.integer(*calib, "images", "calibration"));
  if (t.images < 0) return r.error("calibration.images", "negative");
  DS_ASSIGN_OR_RETURN(const json* files, r.member(*calib, "image_files", "calibration"));
  if (!files->is_array()) return r.error("calibration.image_files", "expected an array of strings");
  for (size_t i = 0; i < files->size(); ++i) {
    if (!(*files)[i].is_string()) {
      return r.error("calibration.image_files[" + std::to_string(i) + "]", "expected a string");
    }
    t.image_files.push_back((*files)[i].get<std::string>());
  }
  DS_ASSIGN_OR_RETURN(const json* tensors, r.member(j, "tensors", ""));
  if (!tensors->is_array()) return r.error("tensors", "expected an array");
  std::unordered_set<std::string> names;
  for (size_t i = 0; i < tensors->size(); ++i) {
    const std::string path = "tensors[" + std::to_string(i) + "]";
    DS_ASSIGN_OR_RETURN(ScaleEntry e, readEntry(r, (*tensors)[i], path));
    if (!names.insert(e.tensor).second) return r.error(path + ".name", "tensor '" + e.tensor + "' is listed twice");
    t.entries.push_back(std::move(e));
  }
  return t;
}

Result<ScaleTable> loadScaleTable(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return notFound(path + ": cannot open the scale table");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return ioError(path + ": reading the scale table failed");
  return parseScaleTable(text.str(), path);
}

Status checkScaleTable(const ScaleTable& table, const QuantizationPlan& plan) {
  std::unordered_map<std::string, const ScaleEntry*> by_name;
  for (const ScaleEntry& e : table.entries) by_name.emplace(e.tensor, &e);
  std::vector<std::string> missing;
  std::unordered_set<std::string> planned;
  for (const std::string& t : plan.tensors()) {
    planned.insert(t);
    if (!by_name.count(t)) missing.push_back(t);
  }
  if (!missing.empty()) {
    std::vector<std::string> extra;
    for (const ScaleEntry& e : table.entries) {
      if (!planned.count(e.tensor)) extra.push_back(e.tensor);
    }
    std::string msg = "the scale table lacks " + std::to_string(missing.size()) + " of the " +
                      std::to_string(planned.size()) + " tensors the plan quantizes: " + listNames(missing);
    if (!extra.empty()) {
      msg += "; it holds " + std::to_string(extra.size()) + " tensor(s) the plan does not quantize: " +
             listNames(extra) + " (was it calibrated for another model?)";
    } else {
      msg += " (was it calibrated with more Convs kept in f32?)";
    }
    return invalidArgument(msg);
  }
  for (const std::vector<std::string>& group : plan.tensor_groups) {
    if (group.size() < 2) continue;
    const ScaleEntry& first = *by_name.at(group.front());
    for (size_t i = 1; i < group.size(); ++i) {
      const ScaleEntry& e = *by_name.at(group[i]);
      if (e.scale != first.scale || e.zero_point != first.zero_point || e.dtype != first.dtype) {
        std::ostringstream s;
        s << "the scale table gives '" << first.tensor << "' (scale " << first.scale << ", zero point "
          << first.zero_point << ", " << dtypeKey(first.dtype) << ") and '" << e.tensor << "' (scale " << e.scale
          << ", zero point " << e.zero_point << ", " << dtypeKey(e.dtype)
          << ") different parameters, but they meet at a Concat / MaxPool / Resize / Split / Slice and "
             "must share one";
        return invalidArgument(s.str());
      }
    }
  }
  return Status::ok();
}

}  // namespace detslim::quant
