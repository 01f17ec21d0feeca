#include "core/datasets/class_map.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "core/datasets/reader_util.h"
#include "detslim_default_class_maps.h"

namespace detslim::datasets {

Result<ClassMap> parseClassMap(const std::string& json_text, const std::string& origin) {
  nlohmann::json root;
  try {  // nlohmann reports syntax errors by exception only; keep it inside the library
    root = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception& error) {
    return parseError(origin + ": invalid class map JSON: " + error.what());
  }
  if (!root.is_object()) return parseError(origin + ": a class map must be a JSON object");
  const nlohmann::json& entries = root.contains("map") ? root["map"] : root;
  if (!entries.is_object()) return parseError(origin + ": 'map' must be an object");
  ClassMap map;
  map.origin = origin;
  for (const auto& [key, value] : entries.items()) {
    // A bare map may still carry the descriptive keys of the shipped files.
    if (!root.contains("map") && (key == "source" || key == "target" || key == "notes")) continue;
    if (value.is_null()) {
      map.entries[key] = std::nullopt;
    } else if (value.is_string()) {
      map.entries[key] = value.get<std::string>();
    } else {
      return parseError(origin + ": class '" + key + "' must map to a class name or null");
    }
  }
  if (map.entries.empty()) return parseError(origin + ": class map is empty");
  return map;
}

Result<ClassMap> loadClassMap(const std::filesystem::path& path) {
  DS_ASSIGN_OR_RETURN(std::string text, internal::readText(path));
  return parseClassMap(text, path.string());
}

Result<ClassMap> defaultClassMap(Format format) {
  switch (format) {
    case Format::kKitti:
      return parseClassMap(generated::kKittiToCoco80Json, "built-in kitti_to_coco80.json");
    case Format::kBdd100k:
      return parseClassMap(generated::kBdd100kToCoco80Json, "built-in bdd100k_to_coco80.json");
    case Format::kVoc:
      return parseClassMap(generated::kVocToCoco80Json, "built-in voc_to_coco80.json");
    default:
      return notFound(std::string("no default class map for ") + formatName(format) +
                      " (its classes are the model's own)");
  }
}

Result<ClassMapReport> applyClassMap(Dataset* dataset, const ClassMap& map,
                                     const std::vector<std::string>& model_classes) {
  std::vector<std::string> targets = model_classes;
  if (targets.empty()) {
    for (const auto& [source, target] : map.entries) {
      if (target && std::find(targets.begin(), targets.end(), *target) == targets.end()) {
        targets.push_back(*target);
      }
    }
  }
  auto targetIndex = [&](const std::string& name) {
    auto it = std::find(targets.begin(), targets.end(), name);
    return it == targets.end() ? -1 : static_cast<int>(it - targets.begin());
  };
  // Check the whole map first, so a wrong target is reported before the dataset changes.
  for (const auto& [source, target] : map.entries) {
    if (target && targetIndex(*target) < 0) {
      return invalidArgument(map.origin + ": class '" + source + "' maps to '" + *target +
                             "', which is not a model class");
    }
  }

  ClassMapReport report;
  for (Sample& sample : dataset->samples) {
    for (GtBox& box : sample.boxes) {
      if (box.unmapped) continue;  // a map applied twice leaves earlier decisions alone
      auto it = map.entries.find(box.class_name);
      if (it == map.entries.end() || !it->second) {
        box.unmapped = true;
        box.ignore = true;
        box.class_index = -1;
        ++report.unmapped[box.class_name];
        ++report.unmapped_boxes;
        continue;
      }
      box.class_name = *it->second;
      box.class_index = targetIndex(box.class_name);
      ++report.mapped_boxes;
    }
  }
  dataset->class_names = std::move(targets);
  dataset->category_ids.clear();  // the dataset's ids no longer describe the new classes
  for (const auto& [name, count] : report.unmapped) {
    const bool listed = map.entries.count(name) > 0;
    dataset->warnings.push_back(map.origin + ": class '" + name + "' (" + std::to_string(count) +
                                " boxes) " + (listed ? "is mapped to null" : "is not in the map") +
                                "; left out of evaluation");
  }
  return report;
}

const std::vector<std::string>& coco80ClassNames() {
  static const std::vector<std::string> kNames = {
      "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
      "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
      "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
      "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
      "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
      "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich",
      "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
      "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote",
      "keyboard", "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "book",
      "clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush",
  };
  return kNames;
}

const std::vector<int64_t>& coco80CategoryIds() {
  static const std::vector<int64_t> kIds = {
      1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 27,
      28, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 46, 47, 48, 49, 50, 51, 52, 53,
      54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 67, 70, 72, 73, 74, 75, 76, 77, 78, 79, 80,
      81, 82, 84, 85, 86, 87, 88, 89, 90,
  };
  return kIds;
}

}  // namespace detslim::datasets
