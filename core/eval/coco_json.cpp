#include "core/eval/coco_json.h"

#include <cmath>
#include <fstream>
#include <sstream>
#include <unordered_set>

#include <nlohmann/json.hpp>

namespace detslim {

namespace {

using nlohmann::json;

Result<std::string> slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return ioError(path.string() + ": cannot open for reading");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return ioError(path.string() + ": read failed");
  return ss.str();
}

Result<json> parseJson(std::string_view text, const std::string& source) {
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return parseError(source + ": not valid JSON");
  return j;
}

// Ids must be integers; a float such as 7.0 is accepted because Python writers produce them.
Result<int64_t> getId(const json& obj, const char* key, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end()) return parseError(where + ": missing field '" + key + "'");
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_number_float()) {
    const double v = it->get<double>();
    if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9.0e15) {
      return static_cast<int64_t>(v);
    }
  }
  return parseError(where + "." + key + ": expected an integer id, got " + it->dump());
}

Result<double> getNumber(const json& v, const std::string& where) {
  if (!v.is_number()) return parseError(where + ": expected a number, got " + v.dump());
  const double d = v.get<double>();
  if (!std::isfinite(d)) return parseError(where + ": not a finite number");
  return d;
}

// bbox: [x, y, w, h] with w, h >= 0.
Status getBox(const json& obj, const std::string& where, double* box) {
  auto it = obj.find("bbox");
  if (it == obj.end()) return parseError(where + ": missing field 'bbox'");
  if (!it->is_array() || it->size() != 4) {
    return parseError(where + ".bbox: expected 4 numbers [x, y, w, h], got " +
                      (it->is_array() ? std::to_string(it->size()) + " values" : it->dump()));
  }
  for (size_t i = 0; i < 4; ++i) {
    DS_ASSIGN_OR_RETURN(box[i], getNumber((*it)[i], where + ".bbox[" + std::to_string(i) + "]"));
  }
  if (box[2] < 0 || box[3] < 0) {
    return parseError(where + ".bbox: negative width or height (" + it->dump() + ")");
  }
  return Status::ok();
}

Result<const json*> getArray(const json& root, const char* key, const std::string& source,
                             bool required) {
  auto it = root.find(key);
  if (it == root.end()) {
    if (required) return parseError(source + ": missing field '" + key + "'");
    return static_cast<const json*>(nullptr);
  }
  if (!it->is_array()) return parseError(source + ": field '" + key + "' is not an array");
  return &*it;
}

}  // namespace

Result<EvalGroundTruth> parseCocoGroundTruth(std::string_view text, const std::string& source) {
  DS_ASSIGN_OR_RETURN(json root, parseJson(text, source));
  if (!root.is_object()) return parseError(source + ": expected a COCO instances object");
  DS_ASSIGN_OR_RETURN(const json* images, getArray(root, "images", source, true));
  DS_ASSIGN_OR_RETURN(const json* cats, getArray(root, "categories", source, true));
  // A file whose images have no objects may leave 'annotations' out (pycocotools accepts it).
  DS_ASSIGN_OR_RETURN(const json* anns, getArray(root, "annotations", source, false));

  EvalGroundTruth gt;
  std::unordered_set<int64_t> image_set, cat_set;
  for (size_t i = 0; i < images->size(); ++i) {
    const json& im = (*images)[i];
    const std::string where = source + ": images[" + std::to_string(i) + "]";
    if (!im.is_object()) return parseError(where + ": expected an object");
    DS_ASSIGN_OR_RETURN(int64_t id, getId(im, "id", where));
    if (image_set.insert(id).second) gt.image_ids.push_back(id);
  }
  for (size_t i = 0; i < cats->size(); ++i) {
    const json& c = (*cats)[i];
    const std::string where = source + ": categories[" + std::to_string(i) + "]";
    if (!c.is_object()) return parseError(where + ": expected an object");
    DS_ASSIGN_OR_RETURN(int64_t id, getId(c, "id", where));
    if (!cat_set.insert(id).second) return parseError(where + ": duplicate category id " +
                                                      std::to_string(id));
    gt.category_ids.push_back(id);
    auto name = c.find("name");
    gt.category_names.push_back(name != c.end() && name->is_string() ? name->get<std::string>()
                                                                     : std::string());
  }
  if (anns != nullptr) {
    gt.boxes.reserve(anns->size());
    for (size_t i = 0; i < anns->size(); ++i) {
      const json& a = (*anns)[i];
      const std::string where = source + ": annotations[" + std::to_string(i) + "]";
      if (!a.is_object()) return parseError(where + ": expected an object");
      EvalGtBox b;
      DS_ASSIGN_OR_RETURN(b.id, getId(a, "id", where));
      DS_ASSIGN_OR_RETURN(b.image_id, getId(a, "image_id", where));
      DS_ASSIGN_OR_RETURN(b.category_id, getId(a, "category_id", where));
      if (!image_set.count(b.image_id)) {
        return parseError(where + ".image_id: " + std::to_string(b.image_id) +
                          " is not in 'images'");
      }
      if (!cat_set.count(b.category_id)) {
        return parseError(where + ".category_id: " + std::to_string(b.category_id) +
                          " is not in 'categories'");
      }
      double box[4];
      DS_RETURN_IF_ERROR(getBox(a, where, box));
      b.x = box[0];
      b.y = box[1];
      b.w = box[2];
      b.h = box[3];
      // The area range test uses the file's 'area' (the segment area in real COCO), not w*h;
      // only a file without it falls back to the box area.
      if (auto it = a.find("area"); it != a.end()) {
        DS_ASSIGN_OR_RETURN(b.area, getNumber(*it, where + ".area"));
      } else {
        b.area = b.w * b.h;
      }
      if (auto it = a.find("iscrowd"); it != a.end()) {
        if (it->is_boolean()) {
          b.iscrowd = it->get<bool>();
        } else if (it->is_number()) {
          b.iscrowd = it->get<double>() != 0;
        } else {
          return parseError(where + ".iscrowd: expected 0 or 1, got " + it->dump());
        }
      }
      // An 'ignore' field is deliberately not read: COCOeval._prepare overwrites it with
      // iscrowd, so honouring it would disagree with pycocotools.
      gt.boxes.push_back(b);
    }
  }
  return gt;
}

Result<EvalGroundTruth> readCocoGroundTruth(const std::filesystem::path& path) {
  DS_ASSIGN_OR_RETURN(std::string text, slurp(path));
  return parseCocoGroundTruth(text, path.string());
}

Result<std::vector<EvalDetection>> parseCocoResults(std::string_view text,
                                                    const std::string& source,
                                                    const EvalGroundTruth* gt) {
  DS_ASSIGN_OR_RETURN(json root, parseJson(text, source));
  if (!root.is_array()) {
    return parseError(source + ": expected a list of {image_id, category_id, bbox, score}");
  }
  std::unordered_set<int64_t> image_set;
  if (gt != nullptr) image_set.insert(gt->image_ids.begin(), gt->image_ids.end());
  std::vector<EvalDetection> dets;
  dets.reserve(root.size());
  for (size_t i = 0; i < root.size(); ++i) {
    const json& r = root[i];
    const std::string where = source + ": [" + std::to_string(i) + "]";
    if (!r.is_object()) return parseError(where + ": expected an object");
    EvalDetection d;
    DS_ASSIGN_OR_RETURN(d.image_id, getId(r, "image_id", where));
    DS_ASSIGN_OR_RETURN(d.category_id, getId(r, "category_id", where));
    if (gt != nullptr && !image_set.count(d.image_id)) {
      return parseError(where + ".image_id: " + std::to_string(d.image_id) +
                        " is not an image of the ground truth");
    }
    double box[4];
    DS_RETURN_IF_ERROR(getBox(r, where, box));
    d.x = box[0];
    d.y = box[1];
    d.w = box[2];
    d.h = box[3];
    auto s = r.find("score");
    if (s == r.end()) return parseError(where + ": missing field 'score'");
    DS_ASSIGN_OR_RETURN(d.score, getNumber(*s, where + ".score"));
    dets.push_back(d);
  }
  return dets;
}

Result<std::vector<EvalDetection>> readCocoResults(const std::filesystem::path& path,
                                                   const EvalGroundTruth* gt) {
  DS_ASSIGN_OR_RETURN(std::string text, slurp(path));
  return parseCocoResults(text, path.string(), gt);
}

std::string cocoResultsToJson(const std::vector<EvalDetection>& dets) {
  json out = json::array();
  for (const EvalDetection& d : dets) {
    out.push_back({{"image_id", d.image_id},
                   {"category_id", d.category_id},
                   {"bbox", {d.x, d.y, d.w, d.h}},
                   {"score", d.score}});
  }
  return out.dump();
}

Status writeCocoResults(const std::filesystem::path& path,
                        const std::vector<EvalDetection>& dets) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return ioError(path.string() + ": cannot open for writing");
  out << cocoResultsToJson(dets) << "\n";
  out.close();
  if (!out) return ioError(path.string() + ": write failed");
  return Status::ok();
}

}  // namespace detslim
