// KITTI 2D object detection: image_2/NNNNNN.png + label_2/NNNNNN.txt, 15 fields per object
// (16 with a score in result files): type truncated occluded alpha x1 y1 x2 y2 h w l x y z ry.

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "core/datasets/reader_util.h"

namespace detslim::datasets::internal {

namespace {

const std::vector<std::string>& kittiClasses() {
  static const std::vector<std::string> kClasses = {
      "Car", "Van", "Truck", "Pedestrian", "Person_sitting", "Cyclist", "Tram", "Misc", "DontCare"};
  return kClasses;
}

constexpr size_t kKittiFields = 15;

bool isTxt(const fs::path& path) {
  return path.extension() == ".txt";
}

Status parseLabelFile(const fs::path& label_path, Sample* sample, const Dataset& dataset,
                      Diagnostics* diag) {
  DS_ASSIGN_OR_RETURN(std::string text, readText(label_path));
  size_t line_no = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    ++line_no;
    std::vector<std::string_view> fields = splitWhitespace(line);
    if (fields.empty()) continue;
    const std::string location = where(label_path, line_no);
    if (fields.size() != kKittiFields && fields.size() != kKittiFields + 1) {
      DS_RETURN_IF_ERROR(diag->problem(location +
                                       ": malformed KITTI line: expected 15 fields, got " +
                                       std::to_string(fields.size()) + "; skipped"));
      continue;
    }
    GtBox box;
    box.class_name = std::string(fields[0]);
    box.class_index = dataset.classIndex(box.class_name);
    if (box.class_index < 0) {
      DS_RETURN_IF_ERROR(
          diag->problem(location + ": unknown KITTI class '" + box.class_name + "'; skipped"));
      continue;
    }
    float occluded = 0;
    bool ok = parseFloat(fields[1], &box.truncated) && parseFloat(fields[2], &occluded) &&
              parseFloat(fields[4], &box.x1) && parseFloat(fields[5], &box.y1) &&
              parseFloat(fields[6], &box.x2) && parseFloat(fields[7], &box.y2);
    if (!ok) {
      DS_RETURN_IF_ERROR(diag->problem(location + ": malformed KITTI line: a number field does "
                                                  "not parse; skipped"));
      continue;
    }
    box.occluded = static_cast<int>(occluded);
    box.ignore = box.class_name == "DontCare";
    // The shared frames are crops of the originals while the labels keep the original
    // coordinates, and real KITTI labels may also overhang by a pixel: clip, as KITTI's own
    // evaluation does.
    const auto width = static_cast<float>(sample->width);
    const auto height = static_cast<float>(sample->height);
    box.x1 = std::clamp(box.x1, 0.0f, width);
    box.x2 = std::clamp(box.x2, 0.0f, width);
    box.y1 = std::clamp(box.y1, 0.0f, height);
    box.y2 = std::clamp(box.y2, 0.0f, height);
    DS_RETURN_IF_ERROR(addBox(sample, std::move(box), location, diag));
  }
  return Status::ok();
}

}  // namespace

Result<Dataset> readKitti(const fs::path& root, const ReadOptions& options) {
  const fs::path image_dir = root / "image_2";
  const fs::path label_dir = root / "label_2";
  std::error_code ec;
  if (!fs::is_directory(label_dir, ec)) return notFound(label_dir.string() + ": no such folder");
  if (!fs::is_directory(image_dir, ec)) return notFound(image_dir.string() + ": no such folder");

  Dataset dataset;
  dataset.class_names = kittiClasses();
  Diagnostics diag(options.strict, &dataset.warnings);

  const std::vector<fs::path> labels = listFiles(label_dir, isTxt);
  const std::vector<fs::path> images = listFiles(image_dir, isImageFile);
  std::set<std::string> label_stems;
  for (const fs::path& label : labels) label_stems.insert(label.stem().string());
  for (const fs::path& image : images) {
    if (!label_stems.count(image.stem().string())) {
      DS_RETURN_IF_ERROR(diag.problem(image.string() + ": image has no label file " +
                                      (label_dir / image.stem()).string() + ".txt; skipped"));
    }
  }
  std::map<std::string, fs::path> image_by_stem;
  for (const fs::path& image : images) image_by_stem.emplace(image.stem().string(), image);

  for (const fs::path& label : labels) {
    if (options.limit && dataset.samples.size() >= options.limit) break;
    auto it = image_by_stem.find(label.stem().string());
    if (it == image_by_stem.end()) {
      DS_RETURN_IF_ERROR(diag.problem(label.string() + ": label has no image in " +
                                      image_dir.string() + "; skipped"));
      continue;
    }
    Sample sample;
    sample.image_path = it->second;
    sample.label_path = label;
    sample.image_id = static_cast<int64_t>(dataset.samples.size());
    DS_ASSIGN_OR_RETURN(bool usable, fillImageSize(&sample, &diag));
    if (!usable) continue;
    DS_RETURN_IF_ERROR(parseLabelFile(label, &sample, dataset, &diag));
    dataset.samples.push_back(std::move(sample));
  }
  return dataset;
}

}  // namespace detslim::datasets::internal
