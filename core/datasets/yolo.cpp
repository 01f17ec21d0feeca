// YOLO txt (Ultralytics / darknet): images/... + labels/... with one "class cx cy w h" line per
// object, normalised to the image size. Labels are found as Ultralytics does: the last `images`
// path component of the image path becomes `labels` and the extension becomes .txt.

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "core/datasets/reader_util.h"

namespace detslim::datasets::internal {

namespace {

// Tolerance for normalised coordinates written with rounding (e.g. 1.0000001).
constexpr float kNormalisedSlack = 1e-3f;

// Replaces the last `images` component with `labels`; the path itself when there is none
// (darknet-style folders keep labels beside the images).
fs::path swapImagesForLabels(const fs::path& path) {
  std::vector<fs::path> parts(path.begin(), path.end());
  for (size_t i = parts.size(); i-- > 0;) {
    if (parts[i] == "images") {
      parts[i] = "labels";
      fs::path out;
      for (const fs::path& part : parts) out /= part;
      return out;
    }
  }
  return path;
}

// The folder above the last `images` component: where Ultralytics keeps data yaml / names.
fs::path datasetRootOf(const fs::path& image_dir) {
  fs::path probe = image_dir;
  while (!probe.empty() && probe.has_relative_path()) {
    if (probe.filename() == "images") return probe.parent_path();
    probe = probe.parent_path();
  }
  return image_dir;
}

std::string trim(std::string_view text) {
  size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return "";
  size_t end = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(begin, end - begin + 1));
}

std::string unquote(std::string_view text) {
  std::string out = trim(text);
  if (out.size() >= 2 && (out.front() == '\'' || out.front() == '"') && out.back() == out.front()) {
    out = out.substr(1, out.size() - 2);
  }
  return out;
}

// Drops a YAML comment that starts outside quotes.
std::string stripComment(std::string_view line) {
  char quote = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '#' && (i == 0 || std::isspace(static_cast<unsigned char>(line[i - 1])))) {
      return std::string(line.substr(0, i));
    }
  }
  return std::string(line);
}

std::vector<std::string> splitFlow(std::string_view body) {
  std::vector<std::string> items;
  std::string current;
  char quote = 0;
  for (char c : body) {
    if (quote) {
      if (c == quote) quote = 0;
      current += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
      current += c;
    } else if (c == ',') {
      items.push_back(current);
      current.clear();
    } else {
      current += c;
    }
  }
  if (!trim(current).empty()) items.push_back(current);
  return items;
}

// Parses the `names:` entry of an Ultralytics data yaml: a flow list ['a', 'b'], a flow dict
// {0: a}, a block list (- a) or a block dict (0: a). Only this key is read, so no YAML
// library is needed.
Result<std::vector<std::string>> parseYamlNames(const fs::path& file, const std::string& text) {
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    lines.push_back(stripComment(std::string_view(text).substr(pos, end - pos)));
    pos = end + 1;
  }
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].rfind("names:", 0) != 0) continue;
    std::string rest = trim(lines[i].substr(6));
    std::map<long long, std::string> by_index;
    std::vector<std::string> list;
    auto addEntry = [&](const std::string& entry, size_t line_no) -> Status {
      size_t colon = entry.find(':');
      long long index = 0;
      if (colon != std::string::npos && parseInt(trim(entry.substr(0, colon)), &index)) {
        if (index < 0) return parseError(where(file, line_no) + ": negative class index");
        by_index[index] = unquote(entry.substr(colon + 1));
      } else {
        list.push_back(unquote(entry));
      }
      return Status::ok();
    };
    if (!rest.empty() && (rest.front() == '[' || rest.front() == '{')) {
      const char close = rest.front() == '[' ? ']' : '}';
      std::string body = rest.substr(1);
      size_t j = i;
      while (body.find(close) == std::string::npos && ++j < lines.size()) body += " " + lines[j];
      size_t close_pos = body.find(close);
      if (close_pos == std::string::npos) {
        return parseError(where(file, i + 1) + ": 'names:' list is not closed");
      }
      for (const std::string& item : splitFlow(body.substr(0, close_pos))) {
        DS_RETURN_IF_ERROR(addEntry(trim(item), i + 1));
      }
    } else if (rest.empty()) {
      for (size_t j = i + 1; j < lines.size(); ++j) {
        const std::string& line = lines[j];
        if (trim(line).empty()) continue;
        if (!std::isspace(static_cast<unsigned char>(line[0])) && line[0] != '-') break;
        std::string item = trim(line);
        if (item.front() == '-') {
          list.push_back(unquote(item.substr(1)));
        } else {
          DS_RETURN_IF_ERROR(addEntry(item, j + 1));
        }
      }
    } else {
      return parseError(where(file, i + 1) + ": cannot read 'names: " + rest + "'");
    }
    if (!by_index.empty()) {
      if (!list.empty()) return parseError(where(file, i + 1) + ": 'names:' mixes list and dict");
      std::vector<std::string> names(static_cast<size_t>(by_index.rbegin()->first) + 1);
      for (auto& [index, name] : by_index) names[static_cast<size_t>(index)] = name;
      for (size_t k = 0; k < names.size(); ++k) {
        if (names[k].empty()) {
          return parseError(where(file, i + 1) + ": 'names:' has no entry for class " +
                            std::to_string(k));
        }
      }
      return names;
    }
    if (list.empty()) return parseError(where(file, i + 1) + ": 'names:' is empty");
    return list;
  }
  return parseError(file.string() + ": no 'names:' entry");
}

Result<std::vector<std::string>> loadNames(const fs::path& file) {
  DS_ASSIGN_OR_RETURN(std::string text, readText(file));
  const std::string ext = lower(file.extension().string());
  if (ext == ".yaml" || ext == ".yml") return parseYamlNames(file, text);
  std::vector<std::string> names;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string name = trim(std::string_view(text).substr(pos, end - pos));
    if (!name.empty()) names.push_back(name);
    pos = end + 1;
  }
  if (names.empty()) return parseError(file.string() + ": names file holds no class names");
  return names;
}

// data.yaml / *.yaml / *.names / classes.txt in the dataset root, in that order.
fs::path findNamesFile(const fs::path& root) {
  std::error_code ec;
  for (const char* name : {"data.yaml", "dataset.yaml", "classes.names", "classes.txt"}) {
    if (fs::is_regular_file(root / name, ec)) return root / name;
  }
  for (const fs::path& file : listFiles(root, [](const fs::path& p) {
         const std::string ext = lower(p.extension().string());
         return ext == ".yaml" || ext == ".yml" || ext == ".names";
       })) {
    return file;
  }
  return {};
}

bool isTxt(const fs::path& path) {
  return path.extension() == ".txt";
}

Status parseLabelFile(const fs::path& label_path, Sample* sample, Dataset* dataset,
                      bool names_known, Diagnostics* diag) {
  DS_ASSIGN_OR_RETURN(std::string text, readText(label_path));
  const auto width = static_cast<float>(sample->width);
  const auto height = static_cast<float>(sample->height);
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::vector<std::string_view> fields =
        splitWhitespace(std::string_view(text).substr(pos, end - pos));
    pos = end + 1;
    ++line_no;
    if (fields.empty()) continue;
    const std::string location = where(label_path, line_no);
    // 5 fields: a box; 7+ with an even number of coordinates: an Ultralytics segment polygon,
    // whose bounding box is the object's box.
    const bool polygon = fields.size() >= 7 && fields.size() % 2 == 1;
    if (fields.size() != 5 && !polygon) {
      DS_RETURN_IF_ERROR(diag->problem(location +
                                       ": malformed YOLO line: expected 'class cx cy "
                                       "w h', got " +
                                       std::to_string(fields.size()) + " fields; skipped"));
      continue;
    }
    long long class_id = 0;
    std::vector<float> values(fields.size() - 1);
    bool ok = parseInt(fields[0], &class_id);
    for (size_t i = 1; ok && i < fields.size(); ++i) ok = parseFloat(fields[i], &values[i - 1]);
    if (!ok) {
      DS_RETURN_IF_ERROR(diag->problem(location + ": malformed YOLO line: not numbers; skipped"));
      continue;
    }
    const bool in_range = std::all_of(values.begin(), values.end(), [](float v) {
      return v >= -kNormalisedSlack && v <= 1 + kNormalisedSlack;
    });
    if (!in_range) {
      DS_RETURN_IF_ERROR(diag->problem(location + ": YOLO coordinates are not normalised to "
                                                  "[0, 1]; skipped"));
      continue;
    }
    if (class_id < 0 ||
        (names_known && class_id >= static_cast<long long>(dataset->class_names.size()))) {
      DS_RETURN_IF_ERROR(diag->problem(
          location + ": unknown class id " + std::to_string(class_id) + " (the names list has " +
          std::to_string(dataset->class_names.size()) + " classes); skipped"));
      continue;
    }
    if (!names_known) {
      while (dataset->class_names.size() <= static_cast<size_t>(class_id)) {
        dataset->class_names.push_back(std::to_string(dataset->class_names.size()));
      }
    }
    GtBox box;
    box.class_index = static_cast<int>(class_id);
    box.class_name = dataset->class_names[box.class_index];
    if (polygon) {
      float min_x = 1, min_y = 1, max_x = 0, max_y = 0;
      for (size_t i = 0; i + 1 < values.size(); i += 2) {
        min_x = std::min(min_x, values[i]);
        max_x = std::max(max_x, values[i]);
        min_y = std::min(min_y, values[i + 1]);
        max_y = std::max(max_y, values[i + 1]);
      }
      box.x1 = min_x * width;
      box.y1 = min_y * height;
      box.x2 = max_x * width;
      box.y2 = max_y * height;
    } else {
      box.x1 = (values[0] - values[2] / 2) * width;
      box.y1 = (values[1] - values[3] / 2) * height;
      box.x2 = (values[0] + values[2] / 2) * width;
      box.y2 = (values[1] + values[3] / 2) * height;
    }
    box.x1 = std::clamp(box.x1, 0.0f, width);
    box.x2 = std::clamp(box.x2, 0.0f, width);
    box.y1 = std::clamp(box.y1, 0.0f, height);
    box.y2 = std::clamp(box.y2, 0.0f, height);
    DS_RETURN_IF_ERROR(addBox(sample, std::move(box), location, diag));
  }
  return Status::ok();
}

}  // namespace

Result<Dataset> readYolo(const fs::path& path, const ReadOptions& options) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return notFound(path.string() + ": no such folder");
  bool under_images = false;
  for (const auto& part : path) under_images |= part == "images";
  const fs::path image_dir =
      !under_images && fs::is_directory(path / "images", ec) ? path / "images" : path;
  const fs::path label_dir = swapImagesForLabels(image_dir);

  Dataset dataset;
  Diagnostics diag(options.strict, &dataset.warnings);
  bool names_known = true;
  if (!options.class_names.empty()) {
    dataset.class_names = options.class_names;
  } else {
    fs::path names_file = options.names_file;
    if (names_file.empty()) names_file = findNamesFile(datasetRootOf(image_dir));
    if (!names_file.empty()) {
      DS_ASSIGN_OR_RETURN(dataset.class_names, loadNames(names_file));
    } else {
      names_known = false;
      dataset.warnings.push_back(path.string() +
                                 ": no class names given (names file, data yaml "
                                 "or model metadata); classes are named by their index");
    }
  }

  const std::vector<fs::path> images = listFiles(image_dir, isImageFile, /*recursive=*/true);
  std::set<fs::path> expected_labels;
  for (const fs::path& image : images) {
    fs::path label = swapImagesForLabels(image);
    label.replace_extension(".txt");
    expected_labels.insert(label);
  }
  // Orphan labels only make sense to look for when labels live in their own tree.
  if (label_dir != image_dir) {
    if (!fs::is_directory(label_dir, ec)) {
      return notFound(label_dir.string() + ": no labels folder for images in " +
                      image_dir.string() +
                      " (expected the last 'images' component replaced "
                      "by 'labels')");
    }
    for (const fs::path& label : listFiles(label_dir, isTxt, /*recursive=*/true)) {
      if (!expected_labels.count(label)) {
        DS_RETURN_IF_ERROR(diag.problem(label.string() + ": label has no image in " +
                                        image_dir.string() + "; skipped"));
      }
    }
  }

  for (const fs::path& image : images) {
    if (options.limit && dataset.samples.size() >= options.limit) break;
    Sample sample;
    sample.image_path = image;
    sample.label_path = swapImagesForLabels(image);
    sample.label_path.replace_extension(".txt");
    sample.image_id = static_cast<int64_t>(dataset.samples.size());
    DS_ASSIGN_OR_RETURN(bool usable, fillImageSize(&sample, &diag));
    if (!usable) continue;
    if (fs::is_regular_file(sample.label_path, ec)) {
      DS_RETURN_IF_ERROR(parseLabelFile(sample.label_path, &sample, &dataset, names_known, &diag));
    } else {
      // Ultralytics reads an image without a label file as background; say so, since it is
      // more often a missing file than an intended negative.
      DS_RETURN_IF_ERROR(diag.problem(image.string() + ": image has no label file " +
                                      sample.label_path.string() +
                                      "; read as an image without objects"));
    }
    dataset.samples.push_back(std::move(sample));
  }
  return dataset;
}

}  // namespace detslim::datasets::internal
