#pragma once
// Helpers shared by the dataset readers; not part of the public API.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/base/status.h"
#include "core/datasets/dataset.h"

namespace detslim::datasets::internal {

namespace fs = std::filesystem;

// Collects recoverable problems. Lenient mode keeps them as warnings and the reader skips the
// offending line / box / sample; strict mode turns the first one into the reader's error.
class Diagnostics {
 public:
  Diagnostics(bool strict, std::vector<std::string>* warnings)
      : strict_(strict), warnings_(warnings) {}
  // OK after recording a warning in lenient mode; the problem as a parse error in strict mode.
  Status problem(std::string message);

 private:
  bool strict_;
  std::vector<std::string>* warnings_;
};

// "file:line" for messages.
std::string where(const fs::path& file, size_t line);

bool isImageFile(const fs::path& path);
// Regular files directly in `dir` whose extension passes `accept`, sorted by name.
std::vector<fs::path> listFiles(const fs::path& dir, bool (*accept)(const fs::path&),
                                bool recursive = false);
Result<std::string> readText(const fs::path& path);
// Parses a JSON file; a syntax error comes back as a parse error naming the file and offset.
Result<nlohmann::json> readJsonFile(const fs::path& path);
std::vector<std::string_view> splitWhitespace(std::string_view line);
bool parseFloat(std::string_view text, float* value);
bool parseInt(std::string_view text, long long* value);
std::string lower(std::string_view text);

// Appends `box` to `sample` unless its size is zero, negative or not finite, which is reported
// at `location` ("file:line" or "file: object N").
Status addBox(Sample* sample, GtBox box, const std::string& location, Diagnostics* diag);

// Fills sample->width / height from the image header; reports an unreadable image.
// Returns false (after reporting) when the sample must be dropped.
Result<bool> fillImageSize(Sample* sample, Diagnostics* diag);

Result<Dataset> readKitti(const fs::path& root, const ReadOptions& options);
Result<Dataset> readCoco(const fs::path& path, const ReadOptions& options);
Result<Dataset> readYolo(const fs::path& path, const ReadOptions& options);
Result<Dataset> readBdd100k(const fs::path& path, const ReadOptions& options);
Result<Dataset> readVoc(const fs::path& root, const ReadOptions& options);

}  // namespace detslim::datasets::internal
