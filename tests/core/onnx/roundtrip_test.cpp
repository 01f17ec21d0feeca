// Load -> save -> load over every model of ONNX's own conformance data (Debian libonnx-testdata):
// the reloaded model must equal the first (diffModels == "", initializers bitwise equal) and the
// saved file must pass the checker. Files the onnx 1.12 checker itself rejects are listed, with
// the reason, in roundtrip_skip.txt; a listed file that loads is reported so the list stays short.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/onnx/onnx_io.h"
#include "onnx_test_util.h"
#include "test_data.h"

namespace detslim {
namespace {

namespace fs = std::filesystem;

// path relative to the data folder -> reason
std::map<std::string, std::string> readSkipList() {
  std::map<std::string, std::string> skip;
  std::ifstream in(DETSLIM_ONNX_SKIP_LIST);
  std::string line;
  while (std::getline(in, line)) {
    const size_t hash = line.find('#');
    std::string reason = hash == std::string::npos ? "" : line.substr(hash + 1);
    std::string path = line.substr(0, hash);
    path.erase(path.find_last_not_of(" \t") + 1);
    path.erase(0, path.find_first_not_of(" \t"));
    if (!path.empty()) skip[path] = reason;
  }
  return skip;
}

std::vector<fs::path> conformanceModels() {
  std::vector<fs::path> models;
  const fs::path root = testing::onnxTestDataDir();
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_regular_file() && it->path().filename() == "model.onnx")
      models.push_back(it->path());
  }
  std::sort(models.begin(), models.end());
  return models;
}

// "" when the two models' initializers are bitwise the same, else which one differs.
std::string initializerDifference(const Model& a, const Model& b) {
  const auto& ia = a.graph.initializers();
  const auto& ib = b.graph.initializers();
  if (ia.size() != ib.size()) return "initializer count differs";
  for (size_t i = 0; i < ia.size(); ++i) {
    if (ia[i].name != ib[i].name || !ia[i].tensor.bitwiseEqual(ib[i].tensor)) {
      return "initializer '" + ia[i].name + "' differs";
    }
  }
  return {};
}

TEST(OnnxRoundTrip, EveryConformanceModelIsLossless) {
  const std::vector<fs::path> models = conformanceModels();
  if (models.empty()) GTEST_SKIP() << "no models under " << testing::onnxTestDataDir();
  ASSERT_GT(models.size(), 1000u) << "libonnx-testdata looks incomplete";
  const std::map<std::string, std::string> skip = readSkipList();
  testing::TempDir tmp;
  ASSERT_FALSE(tmp.path().empty());

  const auto start = std::chrono::steady_clock::now();
  std::vector<std::string> failures;
  size_t passed = 0;
  size_t skipped = 0;
  for (const fs::path& path : models) {
    const std::string rel = path.lexically_relative(testing::onnxTestDataDir()).string();
    const bool listed = skip.count(rel) > 0;
    LoadReport report;
    Result<Model> a = loadModel(path, {}, &report);
    if (!a.isOk()) {
      if (listed) {
        ++skipped;
      } else {
        failures.push_back(rel + ": load: " + a.status().message());
      }
      continue;
    }
    if (listed) {
      failures.push_back(rel + ": listed in roundtrip_skip.txt but loads; remove the entry");
      continue;
    }
    const fs::path out = tmp / "saved.onnx";
    if (Status s = saveModel(*a, out); !s.isOk()) {
      failures.push_back(rel + ": save: " + s.message());
      continue;
    }
    Result<Model> b = loadModel(out);
    if (!b.isOk()) {
      failures.push_back(rel + ": reload: " + b.status().message());
      continue;
    }
    if (std::string d = diffModels(*a, *b); !d.empty()) {
      failures.push_back(rel + ": round trip differs: " + d);
      continue;
    }
    if (std::string d = initializerDifference(*a, *b); !d.empty()) {
      failures.push_back(rel + ": " + d);
      continue;
    }
    if (Status s = checkModel(*b); !s.isOk()) {
      failures.push_back(rel + ": saved model fails checkModel: " + s.message());
      continue;
    }
    ++passed;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::ostringstream summary;
  summary << models.size() << " models: " << passed << " round-tripped, " << skipped
          << " skipped (roundtrip_skip.txt), " << failures.size() << " failed, in " << seconds
          << " s";
  std::cout << "[ round trip ] " << summary.str() << "\n";
  std::ostringstream all;
  for (const std::string& f : failures) all << "\n  " << f.substr(0, 600);
  EXPECT_TRUE(failures.empty()) << summary.str() << all.str();
  EXPECT_EQ(passed + skipped, models.size());
}

}  // namespace
}  // namespace detslim
