#include "core/datasets/dataset.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <system_error>

#include <opencv2/imgcodecs.hpp>

#include "core/datasets/reader_util.h"

namespace detslim::datasets {

namespace fs = std::filesystem;

const char* formatName(Format format) {
  switch (format) {
    case Format::kAuto:
      return "auto";
    case Format::kKitti:
      return "kitti";
    case Format::kCoco:
      return "coco";
    case Format::kYolo:
      return "yolo";
    case Format::kBdd100k:
      return "bdd100k";
    case Format::kVoc:
      return "voc";
  }
  return "?";
}

Result<Format> parseFormat(const std::string& name) {
  const std::string key = internal::lower(name);
  if (key == "auto" || key.empty()) return Format::kAuto;
  if (key == "kitti") return Format::kKitti;
  if (key == "coco") return Format::kCoco;
  if (key == "yolo") return Format::kYolo;
  if (key == "bdd100k" || key == "bdd") return Format::kBdd100k;
  if (key == "voc") return Format::kVoc;
  return invalidArgument("unknown dataset format '" + name +
                         "' (expected auto, kitti, coco, yolo, bdd100k or voc)");
}

size_t Dataset::boxCount() const {
  size_t count = 0;
  for (const Sample& sample : samples) count += sample.boxes.size();
  return count;
}

int Dataset::classIndex(const std::string& name) const {
  auto it = std::find(class_names.begin(), class_names.end(), name);
  return it == class_names.end() ? -1 : static_cast<int>(it - class_names.begin());
}

namespace {

bool isDir(const fs::path& path) {
  std::error_code ec;
  return fs::is_directory(path, ec);
}

bool hasFileWithExt(const fs::path& dir, const std::string& ext) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec) && internal::lower(it->path().extension().string()) == ext) {
      return true;
    }
  }
  return false;
}

// First non-blank character of a JSON file: '{' is a COCO instances object (or a per-image
// BDD100K frame, told apart by its keys), '[' a BDD100K frame list.
Result<Format> detectJsonFile(const fs::path& file) {
  DS_ASSIGN_OR_RETURN(std::string text, internal::readText(file));
  size_t pos = text.find_first_not_of(" \t\r\n");
  if (pos != std::string::npos && text[pos] == '[') return Format::kBdd100k;
  if (text.find("\"annotations\"") != std::string::npos &&
      text.find("\"images\"") != std::string::npos) {
    return Format::kCoco;
  }
  if (text.find("\"labels\"") != std::string::npos) return Format::kBdd100k;
  return notFound(file.string() +
                  ": JSON is neither COCO instances (no 'images' and "
                  "'annotations') nor BDD100K (no frame list or 'labels')");
}

bool hasImagesComponent(const fs::path& path) {
  for (const auto& part : path) {
    if (part == "images") return true;
  }
  return false;
}

}  // namespace

Result<Format> detectFormat(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return notFound(path.string() + ": no such file or folder");
  if (fs::is_regular_file(path, ec)) {
    if (internal::lower(path.extension().string()) == ".json") return detectJsonFile(path);
    return notFound(path.string() +
                    ": cannot tell the dataset format of a single file; pass a "
                    "folder, a COCO / BDD100K JSON, or --format");
  }
  // The most specific layouts first: their folder names are unambiguous.
  if (isDir(path / "label_2") || isDir(path / "image_2")) return Format::kKitti;
  if (isDir(path / "Annotations")) return Format::kVoc;
  for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_directory(ec) && isDir(it->path() / "Annotations") &&
        isDir(it->path() / "JPEGImages")) {
      return Format::kVoc;  // a VOCdevkit-style root holding VOC2007/, VOC2012/ ...
    }
  }
  // A COCO root: annotations/instances_*.json beside the image folders.
  if (isDir(path / "annotations") && hasFileWithExt(path / "annotations", ".json")) {
    return Format::kCoco;
  }
  if (isDir(path / "labels") && hasFileWithExt(path / "labels", ".json")) return Format::kBdd100k;
  if (hasImagesComponent(path) || isDir(path / "images") || isDir(path / "labels")) {
    return Format::kYolo;
  }
  // A folder of datasets (e.g. bdd100k/ with detect/ and track/): name the ones inside.
  std::string inside;
  for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_directory(ec)) continue;
    const fs::path& child = it->path();
    if (isDir(child / "label_2") || isDir(child / "Annotations") ||
        (isDir(child / "labels") && isDir(child / "images"))) {
      inside += " " + child.filename().string();
    }
  }
  std::string hint = inside.empty() ? "" : "; it holds datasets in:" + inside;
  return notFound(path.string() +
                  ": no known dataset layout (expected KITTI image_2/+label_2/, "
                  "VOC Annotations/+JPEGImages/, COCO annotations/*.json, BDD100K labels/*.json, "
                  "or YOLO images/+labels/); pass --format to force one" +
                  hint);
}

namespace {

// Ultralytics' val writes image_id = int(stem) when the stem is numeric (COCO's
// 000000000139.jpg -> 139), so results files line up with the instances JSON. Applied only when
// every stem is numeric and unique; otherwise ids stay positions.
void useNumericStemsAsImageIds(Dataset* dataset) {
  constexpr size_t kMaxDigits = 18;  // fits int64_t
  std::vector<int64_t> ids;
  ids.reserve(dataset->samples.size());
  for (const Sample& sample : dataset->samples) {
    const std::string stem = sample.image_path.stem().string();
    if (stem.empty() || stem.size() > kMaxDigits ||
        !std::all_of(stem.begin(), stem.end(), [](unsigned char c) { return std::isdigit(c); })) {
      return;
    }
    ids.push_back(std::stoll(stem));
  }
  std::vector<int64_t> sorted = ids;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) return;
  for (size_t i = 0; i < ids.size(); ++i) dataset->samples[i].image_id = ids[i];
}

}  // namespace

Result<Dataset> readDataset(const fs::path& path, const ReadOptions& options) {
  Format format = options.format;
  if (format == Format::kAuto) {
    DS_ASSIGN_OR_RETURN(format, detectFormat(path));
  }
  Result<Dataset> dataset = [&]() -> Result<Dataset> {
    switch (format) {
      case Format::kKitti:
        return internal::readKitti(path, options);
      case Format::kCoco:
        return internal::readCoco(path, options);
      case Format::kYolo:
        return internal::readYolo(path, options);
      case Format::kBdd100k:
        return internal::readBdd100k(path, options);
      case Format::kVoc:
        return internal::readVoc(path, options);
      case Format::kAuto:
        break;
    }
    return internalError("unhandled dataset format");
  }();
  if (!dataset.isOk()) return dataset.status();
  dataset->format = format;
  dataset->root = path;
  if (format != Format::kCoco) useNumericStemsAsImageIds(&*dataset);
  if (dataset->samples.empty()) {
    return notFound(path.string() + ": empty " + formatName(format) +
                    " dataset (no image with "
                    "a usable label was found)");
  }
  return dataset;
}

// ---- image headers ---------------------------------------------------------------------------

namespace {

uint32_t bigEndian(const unsigned char* bytes, int count) {
  uint32_t value = 0;
  for (int i = 0; i < count; ++i) value = (value << 8) | bytes[i];
  return value;
}

std::optional<ImageSize> pngSize(std::ifstream& in) {
  // 8-byte signature, then the IHDR chunk: length(4) "IHDR" width(4) height(4).
  std::array<unsigned char, 24> head{};
  if (!in.read(reinterpret_cast<char*>(head.data()), head.size())) return std::nullopt;
  if (std::string_view(reinterpret_cast<const char*>(head.data()) + 12, 4) != "IHDR") {
    return std::nullopt;
  }
  return ImageSize{static_cast<int>(bigEndian(&head[16], 4)),
                   static_cast<int>(bigEndian(&head[20], 4))};
}

std::optional<ImageSize> jpegSize(std::ifstream& in) {
  // Walk the marker segments up to the first SOFn, which holds height and width.
  in.seekg(2);
  for (;;) {
    int byte = in.get();
    if (byte != 0xFF) return std::nullopt;
    int marker = in.get();
    while (marker == 0xFF) marker = in.get();  // fill bytes
    if (marker == EOF) return std::nullopt;
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) continue;  // no payload
    if (marker == 0xD9 || marker == 0xDA) return std::nullopt;  // EOI / scan before any SOF
    std::array<unsigned char, 2> len_bytes{};
    if (!in.read(reinterpret_cast<char*>(len_bytes.data()), 2)) return std::nullopt;
    const uint32_t length = bigEndian(len_bytes.data(), 2);
    if (length < 2) return std::nullopt;
    const bool is_sof =
        marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (is_sof) {
      std::array<unsigned char, 5> sof{};  // precision(1) height(2) width(2)
      if (!in.read(reinterpret_cast<char*>(sof.data()), 5)) return std::nullopt;
      return ImageSize{static_cast<int>(bigEndian(&sof[3], 2)),
                       static_cast<int>(bigEndian(&sof[1], 2))};
    }
    in.seekg(length - 2, std::ios::cur);
    if (!in) return std::nullopt;
  }
}

}  // namespace

Result<ImageSize> readImageSize(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return ioError(path.string() + ": cannot open image");
  std::array<unsigned char, 8> magic{};
  in.read(reinterpret_cast<char*>(magic.data()), magic.size());
  if (in.gcount() < 4) return parseError(path.string() + ": unreadable image (file too short)");
  std::optional<ImageSize> size;
  static constexpr std::array<unsigned char, 8> kPngMagic = {0x89, 'P',  'N',  'G',
                                                             0x0D, 0x0A, 0x1A, 0x0A};
  if (magic == kPngMagic) {
    in.seekg(0);
    size = pngSize(in);
  } else if (magic[0] == 0xFF && magic[1] == 0xD8) {
    in.clear();
    size = jpegSize(in);
  } else {
    // Other formats are rare in detection datasets; a full decode is acceptable there.
    cv::Mat image = cv::imread(path.string(), cv::IMREAD_UNCHANGED);
    if (!image.empty()) size = ImageSize{image.cols, image.rows};
  }
  if (!size || size->width <= 0 || size->height <= 0) {
    return parseError(path.string() +
                      ": unreadable image (no valid PNG/JPEG header and OpenCV "
                      "cannot decode it)");
  }
  return *size;
}

// ---- helpers shared by the readers -----------------------------------------------------------

namespace internal {

Status Diagnostics::problem(std::string message) {
  if (strict_) return parseError(std::move(message) + " (strict mode)");
  warnings_->push_back(std::move(message));
  return Status::ok();
}

std::string where(const fs::path& file, size_t line) {
  return file.string() + ":" + std::to_string(line);
}

bool isImageFile(const fs::path& path) {
  static const std::array<std::string_view, 7> kExts = {".jpg",  ".jpeg", ".png", ".bmp",
                                                        ".webp", ".tif",  ".tiff"};
  const std::string ext = lower(path.extension().string());
  return std::find(kExts.begin(), kExts.end(), ext) != kExts.end();
}

std::vector<fs::path> listFiles(const fs::path& dir, bool (*accept)(const fs::path&),
                                bool recursive) {
  std::vector<fs::path> files;
  std::error_code ec;
  auto consider = [&](const fs::directory_entry& entry) {
    if (entry.is_regular_file(ec) && accept(entry.path())) files.push_back(entry.path());
  };
  if (recursive) {
    for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      consider(*it);
    }
  } else {
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      consider(*it);
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

Result<std::string> readText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return ioError(path.string() + ": cannot open file");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return ioError(path.string() + ": read failed");
  return text.str();
}

std::vector<std::string_view> splitWhitespace(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t pos = 0;
  while (pos < line.size()) {
    while (pos < line.size() && std::isspace(static_cast<unsigned char>(line[pos]))) ++pos;
    size_t end = pos;
    while (end < line.size() && !std::isspace(static_cast<unsigned char>(line[end]))) ++end;
    if (end > pos) fields.push_back(line.substr(pos, end - pos));
    pos = end;
  }
  return fields;
}

bool parseFloat(std::string_view text, float* value) {
  // strtof accepts forms from_chars does not on every libstdc++ ("+1", hex), so use it on a copy.
  std::string copy(text);
  char* end = nullptr;
  errno = 0;
  float parsed = std::strtof(copy.c_str(), &end);
  if (copy.empty() || end != copy.c_str() + copy.size() || errno == ERANGE ||
      !std::isfinite(parsed)) {
    return false;
  }
  *value = parsed;
  return true;
}

bool parseInt(std::string_view text, long long* value) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return ec == std::errc() && ptr == text.data() + text.size();
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Status addBox(Sample* sample, GtBox box, const std::string& location, Diagnostics* diag) {
  const bool finite = std::isfinite(box.x1) && std::isfinite(box.y1) && std::isfinite(box.x2) &&
                      std::isfinite(box.y2);
  if (!finite || box.x2 <= box.x1 || box.y2 <= box.y1) {
    std::ostringstream msg;
    msg << location << ": zero or negative box [" << box.x1 << ", " << box.y1 << ", " << box.x2
        << ", " << box.y2 << "] for class '" << box.class_name << "'; skipped";
    return diag->problem(msg.str());
  }
  sample->boxes.push_back(std::move(box));
  return Status::ok();
}

Result<bool> fillImageSize(Sample* sample, Diagnostics* diag) {
  Result<ImageSize> size = readImageSize(sample->image_path);
  if (!size.isOk()) {
    DS_RETURN_IF_ERROR(diag->problem(size.status().message() + "; sample skipped"));
    return false;
  }
  sample->width = size->width;
  sample->height = size->height;
  return true;
}

}  // namespace internal
}  // namespace detslim::datasets
