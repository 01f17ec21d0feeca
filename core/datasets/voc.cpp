// Pascal VOC: <year>/Annotations/*.xml + <year>/JPEGImages/*.jpg. The root may be one year
// folder or a VOCdevkit-style folder holding several (VOC2007/, VOC2012/).

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "core/datasets/reader_util.h"

namespace detslim::datasets::internal {

namespace {

const std::vector<std::string>& vocClasses() {
  static const std::vector<std::string> kClasses = {
      "aeroplane", "bicycle",     "bird",  "boat",        "bottle", "bus",      "car",
      "cat",       "chair",       "cow",   "diningtable", "dog",    "horse",    "motorbike",
      "person",    "pottedplant", "sheep", "sofa",        "train",  "tvmonitor"};
  return kClasses;
}

bool isXml(const fs::path& path) {
  return lower(path.extension().string()) == ".xml";
}

// The text of the first <tag>...</tag> in `xml`. VOC annotations are flat and machine-written,
// so a tag scan is enough and avoids an XML library dependency. The object's own <name> and
// <bndbox> precede those of its <part> children, so "first" is the object's.
std::optional<std::string_view> firstTag(std::string_view xml, std::string_view tag,
                                         size_t* after = nullptr) {
  const std::string open = "<" + std::string(tag) + ">";
  const std::string close = "</" + std::string(tag) + ">";
  size_t begin = xml.find(open);
  if (begin == std::string_view::npos) return std::nullopt;
  begin += open.size();
  size_t end = xml.find(close, begin);
  if (end == std::string_view::npos) return std::nullopt;
  if (after) *after = end + close.size();
  std::string_view text = xml.substr(begin, end - begin);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

// 1-based line of byte `offset`, for messages.
size_t lineOf(std::string_view text, size_t offset) {
  return 1 + static_cast<size_t>(std::count(text.begin(), text.begin() + offset, '\n'));
}

std::vector<fs::path> yearFolders(const fs::path& root) {
  std::error_code ec;
  if (fs::is_directory(root / "Annotations", ec)) return {root};
  std::vector<fs::path> years;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_directory(ec) && fs::is_directory(it->path() / "Annotations", ec)) {
      years.push_back(it->path());
    }
  }
  std::sort(years.begin(), years.end());
  return years;
}

Status parseAnnotation(const fs::path& xml_path, const std::string& text, Sample* sample,
                       const Dataset& dataset, Diagnostics* diag) {
  std::string_view xml(text);
  size_t cursor = 0;
  while (true) {
    size_t object_start = xml.find("<object>", cursor);
    if (object_start == std::string_view::npos) break;
    size_t object_end = xml.find("</object>", object_start);
    if (object_end == std::string_view::npos) {
      return diag->problem(where(xml_path, lineOf(xml, object_start)) +
                           ": <object> is not closed; rest of file skipped");
    }
    std::string_view object = xml.substr(object_start, object_end - object_start);
    cursor = object_end;
    const std::string location = where(xml_path, lineOf(xml, object_start));

    auto name = firstTag(object, "name");
    auto bndbox = firstTag(object, "bndbox");
    if (!name || !bndbox) {
      DS_RETURN_IF_ERROR(diag->problem(location + ": <object> without <name> or <bndbox>; "
                                                  "skipped"));
      continue;
    }
    GtBox box;
    box.class_name = std::string(*name);
    box.class_index = dataset.classIndex(box.class_name);
    if (box.class_index < 0) {
      DS_RETURN_IF_ERROR(
          diag->problem(location + ": unknown VOC class '" + box.class_name + "'; skipped"));
      continue;
    }
    bool ok = true;
    float* targets[] = {&box.x1, &box.y1, &box.x2, &box.y2};
    const char* tags[] = {"xmin", "ymin", "xmax", "ymax"};
    for (int i = 0; i < 4 && ok; ++i) {
      auto value = firstTag(*bndbox, tags[i]);
      ok = value && parseFloat(*value, targets[i]);
    }
    if (!ok) {
      DS_RETURN_IF_ERROR(diag->problem(location + ": <bndbox> needs numeric xmin, ymin, xmax, "
                                                  "ymax; skipped"));
      continue;
    }
    auto flag = [&](std::string_view tag) {
      auto value = firstTag(object, tag);
      return value && *value != "0" && !value->empty();
    };
    box.difficult = flag("difficult");
    box.truncated = flag("truncated") ? 1.0f : 0.0f;
    box.occluded = flag("occluded") ? 1 : 0;
    DS_RETURN_IF_ERROR(addBox(sample, std::move(box), location, diag));
  }
  return Status::ok();
}

}  // namespace

Result<Dataset> readVoc(const fs::path& root, const ReadOptions& options) {
  const std::vector<fs::path> years = yearFolders(root);
  if (years.empty()) {
    return notFound(root.string() + ": no Annotations/ folder (nor VOC20xx/Annotations/)");
  }
  Dataset dataset;
  dataset.class_names = vocClasses();
  Diagnostics diag(options.strict, &dataset.warnings);
  std::error_code ec;

  for (const fs::path& year : years) {
    const fs::path image_dir = year / "JPEGImages";
    std::set<fs::path> used_images;
    const std::vector<fs::path> xml_files = listFiles(year / "Annotations", isXml);
    for (const fs::path& xml_path : xml_files) {
      if (options.limit && dataset.samples.size() >= options.limit) break;
      DS_ASSIGN_OR_RETURN(std::string text, readText(xml_path));
      // <filename> names the image; fall back to the annotation's stem, as VOC tools do.
      auto file_name = firstTag(text, "filename");
      fs::path image =
          image_dir / (file_name && !file_name->empty() ? fs::path(std::string(*file_name))
                                                        : xml_path.stem().concat(".jpg"));
      if (!fs::is_regular_file(image, ec)) {
        DS_RETURN_IF_ERROR(
            diag.problem(xml_path.string() + ": image " + image.string() + " not found; skipped"));
        continue;
      }
      used_images.insert(image);
      Sample sample;
      sample.image_path = image;
      sample.label_path = xml_path;
      sample.image_id = static_cast<int64_t>(dataset.samples.size());
      DS_ASSIGN_OR_RETURN(bool usable, fillImageSize(&sample, &diag));
      if (!usable) continue;
      DS_RETURN_IF_ERROR(parseAnnotation(xml_path, text, &sample, dataset, &diag));
      dataset.samples.push_back(std::move(sample));
    }
    if (!options.limit) {
      for (const fs::path& image : listFiles(image_dir, isImageFile)) {
        if (!used_images.count(image)) {
          DS_RETURN_IF_ERROR(diag.problem(image.string() + ": image has no annotation in " +
                                          (year / "Annotations").string() + "; skipped"));
        }
      }
    }
  }
  return dataset;
}

}  // namespace detslim::datasets::internal
