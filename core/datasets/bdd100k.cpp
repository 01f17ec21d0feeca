// BDD100K detection / tracking labels (Scalabel format): a JSON list of frames
// {"name", "videoName"?, "labels": [{"category", "box2d": {x1, y1, x2, y2}, "attributes"}]} in
// one file (det_20 "single list" form, per-video MOT files) or one frame object per file.

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "core/datasets/reader_util.h"

namespace detslim::datasets::internal {

namespace {

using nlohmann::json;

// The ten detection classes of BDD100K det_20, then the MOT classes that BDD100K's own
// evaluation ignores (boxes kept as ignore regions so detections on them are not penalised).
const std::vector<std::string>& bddClasses() {
  static const std::vector<std::string> kClasses = {
      "pedestrian",   "rider",         "car",     "truck",         "bus",
      "train",        "motorcycle",    "bicycle", "traffic light", "traffic sign",
      "other person", "other vehicle", "trailer"};
  return kClasses;
}
constexpr int kFirstIgnoredClass = 10;

// Older BDD100K releases and the MOT labels use these names for the same classes.
std::string canonicalCategory(const std::string& name) {
  static const std::map<std::string, std::string> kAliases = {
      {"person", "pedestrian"}, {"bike", "bicycle"}, {"motor", "motorcycle"}};
  auto it = kAliases.find(name);
  return it == kAliases.end() ? name : it->second;
}

bool isJson(const fs::path& path) {
  return lower(path.extension().string()) == ".json";
}

bool boolAttribute(const json& label, const char* key) {
  auto attrs = label.find("attributes");
  if (attrs == label.end() || !attrs->is_object()) return false;
  auto it = attrs->find(key);
  return it != attrs->end() && it->is_boolean() && it->get<bool>();
}

Result<float> coordinate(const json& box2d, const char* key, const std::string& entry) {
  auto it = box2d.find(key);
  if (it == box2d.end() || !it->is_number()) {
    return parseError(entry + ": box2d is missing number '" + key + "'");
  }
  return it->get<float>();
}

}  // namespace

Result<Dataset> readBdd100k(const fs::path& path, const ReadOptions& options) {
  std::error_code ec;
  std::vector<fs::path> label_files;
  fs::path image_dir;
  if (fs::is_regular_file(path, ec)) {
    label_files.push_back(path);
    image_dir = path.parent_path().parent_path() / "images";
  } else if (fs::is_directory(path, ec)) {
    const fs::path label_dir = fs::is_directory(path / "labels", ec) ? path / "labels" : path;
    label_files = listFiles(label_dir, isJson);
    image_dir = label_dir == path ? path.parent_path() / "images" : path / "images";
  } else {
    return notFound(path.string() + ": no such file or folder");
  }
  if (label_files.empty()) return notFound(path.string() + ": no BDD100K label JSON files");

  Dataset dataset;
  dataset.class_names = bddClasses();
  Diagnostics diag(options.strict, &dataset.warnings);
  std::set<fs::path> used_images;
  bool stopped = false;

  for (const fs::path& label_file : label_files) {
    if (stopped) break;
    DS_ASSIGN_OR_RETURN(json root, readJsonFile(label_file));
    const std::string file = label_file.string();
    json frames = root.is_array() ? root : json::array({root});
    for (size_t f = 0; f < frames.size(); ++f) {
      if (options.limit && dataset.samples.size() >= options.limit) {
        stopped = true;
        break;
      }
      const json& frame = frames[f];
      const std::string entry = file + ": frame[" + std::to_string(f) + "]";
      if (!frame.is_object() || !frame.contains("name") || !frame["name"].is_string()) {
        DS_RETURN_IF_ERROR(diag.problem(entry + ": missing required field 'name'; skipped"));
        continue;
      }
      const std::string name = frame["name"].get<std::string>();
      std::vector<fs::path> candidates;
      if (frame.contains("videoName") && frame["videoName"].is_string()) {
        candidates.push_back(image_dir / frame["videoName"].get<std::string>() / name);
      }
      candidates.push_back(image_dir / label_file.stem() / name);
      candidates.push_back(image_dir / name);
      Sample sample;
      for (const fs::path& candidate : candidates) {
        if (fs::is_regular_file(candidate, ec)) {
          sample.image_path = candidate;
          break;
        }
      }
      if (sample.image_path.empty()) {
        DS_RETURN_IF_ERROR(diag.problem(entry + ": image '" + name + "' not found under " +
                                        image_dir.string() + "; skipped"));
        continue;
      }
      used_images.insert(sample.image_path);
      sample.label_path = label_file;
      sample.image_id = static_cast<int64_t>(dataset.samples.size());
      DS_ASSIGN_OR_RETURN(bool usable, fillImageSize(&sample, &diag));
      if (!usable) continue;

      const json empty = json::array();
      auto labels_it = frame.find("labels");
      const json& labels = labels_it != frame.end() && labels_it->is_array() ? *labels_it : empty;
      for (size_t l = 0; l < labels.size(); ++l) {
        const json& label = labels[l];
        const std::string label_entry = entry + ".labels[" + std::to_string(l) + "]";
        // Lane markings and drivable areas carry poly2d only: not detection objects.
        if (!label.is_object() || !label.contains("box2d") || label["box2d"].is_null()) continue;
        if (!label.contains("category") || !label["category"].is_string()) {
          DS_RETURN_IF_ERROR(diag.problem(label_entry + ": missing required field 'category'; "
                                                        "skipped"));
          continue;
        }
        GtBox box;
        box.class_name = canonicalCategory(label["category"].get<std::string>());
        box.class_index = dataset.classIndex(box.class_name);
        if (box.class_index < 0) {
          DS_RETURN_IF_ERROR(diag.problem(label_entry + ": unknown BDD100K category '" +
                                          box.class_name + "'; skipped"));
          continue;
        }
        const json& box2d = label["box2d"];
        Result<float> x1 = coordinate(box2d, "x1", label_entry);
        Result<float> y1 = coordinate(box2d, "y1", label_entry);
        Result<float> x2 = coordinate(box2d, "x2", label_entry);
        Result<float> y2 = coordinate(box2d, "y2", label_entry);
        for (const Result<float>* value : {&x1, &y1, &x2, &y2}) {
          if (!value->isOk()) {
            DS_RETURN_IF_ERROR(diag.problem(value->status().message() + "; skipped"));
            break;
          }
        }
        if (!x1.isOk() || !y1.isOk() || !x2.isOk() || !y2.isOk()) continue;
        box.x1 = *x1;
        box.y1 = *y1;
        box.x2 = *x2;
        box.y2 = *y2;
        box.crowd = boolAttribute(label, "crowd");
        box.ignore = box.crowd || box.class_index >= kFirstIgnoredClass;
        box.occluded = boolAttribute(label, "occluded") ? 1 : 0;
        box.truncated = boolAttribute(label, "truncated") ? 1.0f : 0.0f;
        DS_RETURN_IF_ERROR(addBox(&sample, std::move(box), label_entry, &diag));
      }
      dataset.samples.push_back(std::move(sample));
    }
  }

  // Images without a label entry: only meaningful when every label file of the folder was read.
  if (!stopped && !options.limit && fs::is_directory(path, ec) && fs::is_directory(image_dir, ec)) {
    for (const fs::path& image : listFiles(image_dir, isImageFile, /*recursive=*/true)) {
      if (!used_images.count(image)) {
        DS_RETURN_IF_ERROR(diag.problem(image.string() + ": image has no label entry in " +
                                        path.string() + "; skipped"));
      }
    }
  }
  return dataset;
}

}  // namespace detslim::datasets::internal
