// COCO instances JSON: images[] {id, file_name, width, height}, annotations[] {image_id,
// category_id, bbox [x, y, w, h], iscrowd}, categories[] {id, name} with ids that need not be
// contiguous. Images without annotations are kept: they are where false positives show.

#include <algorithm>
#include <map>
#include <string>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "core/datasets/reader_util.h"

namespace detslim::datasets::internal {

namespace {

using nlohmann::json;

bool isJson(const fs::path& path) {
  return lower(path.extension().string()) == ".json";
}

Result<fs::path> findAnnotationFile(const fs::path& path, const ReadOptions& options) {
  std::error_code ec;
  if (!options.annotation_file.empty()) return options.annotation_file;
  if (fs::is_regular_file(path, ec)) return path;
  for (const fs::path& dir : {path / "annotations", path}) {
    std::vector<fs::path> files = listFiles(dir, isJson);
    std::vector<fs::path> instances;
    for (const fs::path& file : files) {
      if (file.filename().string().rfind("instances", 0) == 0) instances.push_back(file);
    }
    if (instances.empty()) instances = files;
    if (instances.size() == 1) return instances.front();
    if (instances.size() > 1) {
      std::string list;
      for (const fs::path& file : instances) list += " " + file.filename().string();
      return invalidArgument(dir.string() + ": several COCO JSON files (" + list.substr(1) +
                             "); pass the one to read");
    }
  }
  return notFound(path.string() +
                  ": no COCO instances JSON (looked in annotations/ and the "
                  "folder itself)");
}

// Where the images of `json_file` live: the official layout (train2017/ beside annotations/),
// the Ultralytics one (images/train2017/), or next to the JSON.
std::vector<fs::path> imageDirCandidates(const fs::path& json_file) {
  std::string split = json_file.stem().string();
  if (split.rfind("instances_", 0) == 0) split = split.substr(10);
  const fs::path json_dir = json_file.parent_path();
  const fs::path root = json_dir.parent_path();
  return {root / "images" / split, root / split, root / "images",
          json_dir / "images",     json_dir,     json_dir / split};
}

// Reads a required member; the message names file, array entry and field.
template <class T>
Status getField(const json& object, const char* key, const std::string& entry, T* value) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    return parseError(entry + ": missing required field '" + key + "'");
  }
  if constexpr (std::is_same_v<T, std::string>) {
    if (!it->is_string()) return parseError(entry + ": field '" + key + "' is not a string");
  } else {
    if (!it->is_number()) return parseError(entry + ": field '" + key + "' is not a number");
  }
  *value = it->get<T>();
  return Status::ok();
}

// iscrowd / ignore are 0/1 in COCO files but booleans in some converters' output.
bool flagField(const json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end()) return false;
  if (it->is_boolean()) return it->get<bool>();
  if (it->is_number()) return it->get<double>() != 0;
  return false;
}

}  // namespace

Result<json> readJsonFile(const fs::path& file) {
  DS_ASSIGN_OR_RETURN(std::string text, readText(file));
  // nlohmann reports the byte offset only through its exception; it stays inside this function.
  try {
    return json::parse(text);
  } catch (const json::exception& error) {
    return parseError(file.string() + ": invalid JSON: " + error.what());
  }
}

Result<Dataset> readCoco(const fs::path& path, const ReadOptions& options) {
  DS_ASSIGN_OR_RETURN(fs::path json_file, findAnnotationFile(path, options));
  DS_ASSIGN_OR_RETURN(json root, readJsonFile(json_file));
  const std::string file = json_file.string();
  if (!root.is_object()) return parseError(file + ": COCO JSON must be an object");
  for (const char* key : {"images", "annotations", "categories"}) {
    if (!root.contains(key) || !root[key].is_array()) {
      return parseError(file + ": missing required array '" + key + "'");
    }
  }

  Dataset dataset;
  Diagnostics diag(options.strict, &dataset.warnings);

  // Categories sorted by id, so class indices follow the COCO order whatever the file order.
  std::map<int64_t, std::string> categories;
  const json& cats = root["categories"];
  for (size_t i = 0; i < cats.size(); ++i) {
    const std::string entry = file + ": categories[" + std::to_string(i) + "]";
    int64_t id = 0;
    std::string name;
    DS_RETURN_IF_ERROR(getField(cats[i], "id", entry, &id));
    DS_RETURN_IF_ERROR(getField(cats[i], "name", entry, &name));
    if (!categories.emplace(id, name).second) {
      return parseError(entry + ": duplicate category id " + std::to_string(id));
    }
  }
  if (categories.empty()) return parseError(file + ": 'categories' is empty");
  std::unordered_map<int64_t, int> class_of_category;
  for (const auto& [id, name] : categories) {
    class_of_category[id] = static_cast<int>(dataset.class_names.size());
    dataset.class_names.push_back(name);
    dataset.category_ids.push_back(id);
  }

  // Images in file-name order so `limit` picks the same ones every run.
  struct ImageEntry {
    int64_t id;
    std::string file_name;
    int width, height;
  };
  std::vector<ImageEntry> entries;
  const json& images = root["images"];
  for (size_t i = 0; i < images.size(); ++i) {
    const std::string entry = file + ": images[" + std::to_string(i) + "]";
    ImageEntry image{};
    DS_RETURN_IF_ERROR(getField(images[i], "id", entry, &image.id));
    DS_RETURN_IF_ERROR(getField(images[i], "file_name", entry, &image.file_name));
    DS_RETURN_IF_ERROR(getField(images[i], "width", entry, &image.width));
    DS_RETURN_IF_ERROR(getField(images[i], "height", entry, &image.height));
    if (image.width <= 0 || image.height <= 0) {
      return parseError(entry + ": width and height must be positive");
    }
    entries.push_back(std::move(image));
  }
  std::sort(entries.begin(), entries.end(),
            [](const ImageEntry& a, const ImageEntry& b) { return a.file_name < b.file_name; });

  const std::vector<fs::path> dirs = imageDirCandidates(json_file);
  std::unordered_map<int64_t, size_t> sample_of_image;
  std::error_code ec;
  for (const ImageEntry& image : entries) {
    if (options.limit && dataset.samples.size() >= options.limit) break;
    fs::path image_path;
    for (const fs::path& dir : dirs) {
      if (fs::is_regular_file(dir / image.file_name, ec)) {
        image_path = dir / image.file_name;
        break;
      }
    }
    if (image_path.empty()) {
      DS_RETURN_IF_ERROR(diag.problem(file + ": image id " + std::to_string(image.id) + " '" +
                                      image.file_name + "' not found (looked in " +
                                      dirs.front().string() + " and 5 more folders); skipped"));
      continue;
    }
    Sample sample;
    sample.image_path = image_path;
    sample.label_path = json_file;
    sample.image_id = image.id;
    // The JSON's size is authoritative for COCO evaluation; reading headers would only slow down
    // large sets.
    sample.width = image.width;
    sample.height = image.height;
    if (!sample_of_image.emplace(image.id, dataset.samples.size()).second) {
      return parseError(file + ": duplicate image id " + std::to_string(image.id));
    }
    dataset.samples.push_back(std::move(sample));
  }

  const json& annotations = root["annotations"];
  for (size_t i = 0; i < annotations.size(); ++i) {
    const std::string entry = file + ": annotations[" + std::to_string(i) + "]";
    const json& ann = annotations[i];
    int64_t image_id = 0, category_id = 0;
    Status fields = getField(ann, "image_id", entry, &image_id);
    if (fields.isOk()) fields = getField(ann, "category_id", entry, &category_id);
    auto bbox = ann.find("bbox");
    if (fields.isOk() &&
        (bbox == ann.end() || !bbox->is_array() || bbox->size() != 4 ||
         !std::all_of(bbox->begin(), bbox->end(), [](const json& v) { return v.is_number(); }))) {
      fields = parseError(entry + ": missing or malformed required field 'bbox' (4 numbers)");
    }
    if (!fields.isOk()) {
      DS_RETURN_IF_ERROR(diag.problem(fields.message() + "; skipped"));
      continue;
    }
    auto sample_it = sample_of_image.find(image_id);
    if (sample_it == sample_of_image.end()) {
      // Either the image was skipped (limit, missing file) or the id is dangling.
      const bool listed = std::any_of(entries.begin(), entries.end(),
                                      [&](const ImageEntry& e) { return e.id == image_id; });
      if (!listed) {
        DS_RETURN_IF_ERROR(diag.problem(entry + ": image_id " + std::to_string(image_id) +
                                        " is not in 'images'; skipped"));
      }
      continue;
    }
    auto class_it = class_of_category.find(category_id);
    if (class_it == class_of_category.end()) {
      DS_RETURN_IF_ERROR(diag.problem(entry + ": unknown category_id " +
                                      std::to_string(category_id) + "; skipped"));
      continue;
    }
    GtBox box;
    const auto x = (*bbox)[0].get<float>(), y = (*bbox)[1].get<float>();
    box.x1 = x;
    box.y1 = y;
    box.x2 = x + (*bbox)[2].get<float>();
    box.y2 = y + (*bbox)[3].get<float>();
    box.class_index = class_it->second;
    box.class_name = dataset.class_names[box.class_index];
    if (auto area = ann.find("area"); area != ann.end() && area->is_number()) {
      box.area = area->get<double>();
    }
    box.crowd = flagField(ann, "iscrowd");
    box.ignore = box.crowd || flagField(ann, "ignore");
    if (auto id = ann.find("id"); id != ann.end() && id->is_number_integer()) {
      box.source_id = id->get<int64_t>();
    }
    DS_RETURN_IF_ERROR(addBox(&dataset.samples[sample_it->second], std::move(box), entry, &diag));
  }
  return dataset;
}

}  // namespace detslim::datasets::internal
