#pragma once
// Class maps: which model class (e.g. COCO-80) each dataset class counts as. Boxes of classes
// the map leaves out (null, or absent from the map) are kept as unmapped ignore regions so that
// evaluation neither scores them nor penalises detections on them.

#include <filesystem>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/datasets/dataset.h"

namespace detslim::datasets {

struct ClassMap {
  std::string origin;  // file or "built-in kitti_to_coco80", for messages
  // Dataset class name → model class name; nullopt = deliberately unmapped.
  std::map<std::string, std::optional<std::string>> entries;
};

// Parses {"map": {"Car": "car", "Misc": null, ...}} or the bare object {"Car": "car", ...}.
// Refuses invalid JSON and values that are neither a string nor null, naming `origin` and key.
Result<ClassMap> parseClassMap(const std::string& json_text, const std::string& origin);
Result<ClassMap> loadClassMap(const std::filesystem::path& path);

// The shipped map for `format` (data/class_maps/{kitti,bdd100k,voc}_to_coco80.json, compiled in);
// NotFound for formats that need none (COCO and YOLO use the model's own class names).
Result<ClassMap> defaultClassMap(Format format);

struct ClassMapReport {
  // Dataset classes with boxes but no model class, with their box counts.
  std::map<std::string, size_t> unmapped;
  size_t mapped_boxes = 0;
  size_t unmapped_boxes = 0;
};

// Renames every box of `dataset` to its model class; dataset.class_names becomes
// `model_classes` (or, when empty, the map's targets in first-seen order). Unmapped boxes get
// class_index -1, unmapped = ignore = true. Refuses a map whose target is not a model class.
// The unmapped classes are also added to dataset.warnings.
Result<ClassMapReport> applyClassMap(Dataset* dataset, const ClassMap& map,
                                     const std::vector<std::string>& model_classes = {});

// The 80 COCO detection classes in the order COCO-trained detectors index them (Ultralytics
// names), for models whose file carries no class names.
const std::vector<std::string>& coco80ClassNames();
// COCO's category id (1..90, with gaps) of each of the 80 classes, as Ultralytics' coco80_to_91.
const std::vector<int64_t>& coco80CategoryIds();

}  // namespace detslim::datasets
