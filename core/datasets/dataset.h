#pragma once
// Ground-truth datasets: every reader (KITTI, COCO, YOLO, BDD100K, Pascal VOC) produces the same
// Dataset of Samples, so evaluation never needs to know where the labels came from.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/base/status.h"

namespace detslim::datasets {

// One ground-truth object. Coordinates are absolute pixels, x2/y2 exclusive edges as in COCO
// (x2 = x + w), clipped to the image where the format says so (KITTI).
struct GtBox {
  float x1 = 0, y1 = 0, x2 = 0, y2 = 0;
  std::string class_name;
  int class_index = -1;  // index into Dataset::class_names; -1 when the class is unknown
  // Ignore regions (KITTI DontCare, COCO iscrowd, unmapped classes after a class map) must not
  // count as misses nor as false positives; evaluation matches detections against them last.
  bool ignore = false;
  bool crowd = false;      // COCO iscrowd / BDD100K crowd attribute
  bool difficult = false;  // Pascal VOC difficult
  float truncated = 0;     // KITTI: 0..1 fraction; VOC / BDD100K: 0 or 1
  int occluded = 0;        // KITTI: 0..3 level; VOC / BDD100K: 0 or 1
  // Set by applyClassMap when the class has no counterpart among the model's classes; such boxes
  // carry class_index -1 and ignore = true, so evaluation leaves them out.
  bool unmapped = false;
  int64_t source_id = -1;  // COCO annotation id when there is one
  // COCO 'area' (the segment's area, which decides COCO's small/medium/large); -1 = use w*h.
  double area = -1;
  float width() const { return x2 - x1; }
  float height() const { return y2 - y1; }
};

struct Sample {
  std::filesystem::path image_path;
  int width = 0;  // pixels, read from the image header
  int height = 0;
  int64_t image_id = -1;             // COCO image id; otherwise the sample's position
  std::filesystem::path label_path;  // the file the boxes came from (for messages)
  std::vector<GtBox> boxes;
};

enum class Format { kAuto, kKitti, kCoco, kYolo, kBdd100k, kVoc };

const char* formatName(Format format);
// Parses "kitti", "coco", "yolo", "bdd100k" (or "bdd"), "voc", "auto"; refuses anything else.
Result<Format> parseFormat(const std::string& name);

struct Dataset {
  Format format = Format::kAuto;
  std::filesystem::path root;
  std::vector<std::string> class_names;
  // COCO: the JSON category id of each class_names entry (ids need not be contiguous); empty for
  // formats without ids.
  std::vector<int64_t> category_ids;
  std::vector<Sample> samples;
  // Recoverable problems (skipped lines, images without labels ...), each naming file and line.
  std::vector<std::string> warnings;

  size_t boxCount() const;
  // Index of `name` in class_names, or -1.
  int classIndex(const std::string& name) const;
};

struct ReadOptions {
  Format format = Format::kAuto;
  // Read at most this many samples (0 = all), in sorted file-name order so runs are repeatable.
  size_t limit = 0;
  // Strict: the first recoverable problem (malformed line, unknown class, bad box, missing image
  // or label) becomes the returned error instead of a warning.
  bool strict = false;
  // YOLO: class names supplied by the caller (e.g. a model's metadata `names`); wins over files.
  std::vector<std::string> class_names;
  // YOLO: a names file (one per line) or data yaml with a `names:` list or dict.
  std::filesystem::path names_file;
  // COCO: the instances JSON when `path` is a folder holding several.
  std::filesystem::path annotation_file;
};

// Picks the format from the folder's layout (see docs/datasets.md); NotFound when nothing fits.
Result<Format> detectFormat(const std::filesystem::path& path);

// Reads the dataset at `path` (a folder, or a COCO / BDD100K JSON file). Refuses an empty
// dataset, an unreadable root, and in strict mode any recoverable problem.
Result<Dataset> readDataset(const std::filesystem::path& path, const ReadOptions& options = {});

struct ImageSize {
  int width = 0;
  int height = 0;
};
// Reads width and height from the PNG IHDR or JPEG SOF header without decoding the pixels; other
// formats fall back to a full decode. Refuses a missing, truncated or undecodable file.
Result<ImageSize> readImageSize(const std::filesystem::path& path);

}  // namespace detslim::datasets
