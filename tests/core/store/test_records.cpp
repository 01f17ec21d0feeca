// The database-free parts of the store: SHA-256, the configuration hash that makes sweeps
// resumable, timestamps, the default path and the CSV / JSON exports.

#include <cstdlib>
#include <regex>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "core/store/store.h"
#include "store_test_util.h"

namespace detslim::store {
namespace {

using nlohmann::json;
using testing::TempDir;

// FIPS 180-4 / NIST example vectors.
TEST(StoreSha256, MatchesNistVectors) {
  EXPECT_EQ(sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // 56 bytes: the padding spills into a second block.
  EXPECT_EQ(sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256Hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(StoreSha256, FileHashEqualsBytesHashAcrossChunks) {
  TempDir dir;
  // Larger than the 1 MiB read chunk and not a multiple of the 64-byte block.
  std::string bytes(3 * (1 << 20) + 77, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>((i * 131) % 251);
  testing::writeBytes(dir / "model.onnx", bytes);
  Result<std::string> hash = sha256OfFile(dir / "model.onnx");
  ASSERT_TRUE(hash.isOk()) << hash.status().message();
  EXPECT_EQ(*hash, sha256Hex(bytes));
}

TEST(StoreSha256, FileErrorsNameThePath) {
  TempDir dir;
  Result<std::string> missing = sha256OfFile(dir / "absent.onnx");
  ASSERT_FALSE(missing.isOk());
  EXPECT_NE(missing.status().message().find("absent.onnx"), std::string::npos);
  Result<std::string> directory = sha256OfFile(dir.path());
  ASSERT_FALSE(directory.isOk());
  EXPECT_NE(directory.status().message().find("is a directory"), std::string::npos);
}

struct HashInputs {
  json config = {
      {"threads", 4}, {"prune", {{"method", "l1"}, {"sparsity", 0.5}}}, {"precision", "int8"}};
  ModelInfo model{"", "/m/a.onnx", "a"};
  DatasetInfo dataset{"/data/coco", "coco", 500, 36781, ""};
  HashInputs() {
    model.sha256.clear();
    for (int i = 0; i < 32; ++i) model.sha256 += "ab";
  }
  std::string hash() const { return configHash(config, model, dataset); }
};

// The golden value was computed independently with Python's hashlib over the document
// json.dumps(doc, sort_keys=True, separators=(',', ':')). A change here makes every stored run
// look new to a resuming sweep, so it must be deliberate (and bump the scheme name).
TEST(StoreConfigHash, MatchesTheDocumentedCanonicalForm) {
  const HashInputs in;
  const std::string canonical =
      R"({"config":{"precision":"int8","prune":{"method":"l1","sparsity":0.5},"threads":4},)"
      R"("dataset":{"class_map":"","format":"coco","image_count":500,"path":"/data/coco"},)"
      R"("model_sha256":")" +
      in.model.sha256 + R"(","scheme":"detslim-config-hash/1"})";
  EXPECT_EQ(in.hash(), sha256Hex(canonical));
  EXPECT_EQ(in.hash(), "e939c80013a3438ab2af0bb71d6ca41a4d76f60cab98d02f7cabaeb38a377492");
}

TEST(StoreConfigHash, IgnoresKeyOrderAndDescriptiveFields) {
  const HashInputs in;
  HashInputs reordered;
  reordered.config = json::object();
  reordered.config["precision"] = "int8";
  reordered.config["prune"]["sparsity"] = 0.5;
  reordered.config["prune"]["method"] = "l1";
  reordered.config["threads"] = 4;
  EXPECT_EQ(reordered.hash(), in.hash());
  HashInputs renamed;
  renamed.model.path = "/elsewhere/copy.onnx";
  renamed.model.name = "copy";
  renamed.model.params = 99;
  renamed.dataset.box_count = 1;
  EXPECT_EQ(renamed.hash(), in.hash());
}

TEST(StoreConfigHash, ChangesWithEachInput) {
  const std::string base = HashInputs().hash();
  std::vector<std::pair<std::string, HashInputs>> variants(8);
  variants[0].first = "config value";
  variants[0].second.config["threads"] = 8;
  variants[1].first = "nested config value";
  variants[1].second.config["prune"]["sparsity"] = 0.75;
  variants[2].first = "integer vs float";
  variants[2].second.config["threads"] = 4.0;
  variants[3].first = "model sha256";
  variants[3].second.model.sha256[0] = 'c';
  variants[4].first = "dataset path";
  variants[4].second.dataset.path = "/data/coco2";
  variants[5].first = "dataset format";
  variants[5].second.dataset.format = "voc";
  variants[6].first = "image count";
  variants[6].second.dataset.image_count = 499;
  variants[7].first = "class map";
  variants[7].second.dataset.class_map = R"({"0":"person"})";
  std::set<std::string> seen = {base};
  for (const auto& [what, inputs] : variants) {
    const std::string hash = inputs.hash();
    EXPECT_NE(hash, base) << what;
    EXPECT_TRUE(seen.insert(hash).second) << what << " collides with another variant";
  }
}

TEST(StoreTime, UtcNowIsIso8601WithMilliseconds) {
  const std::string now = utcNowIso8601();
  EXPECT_TRUE(std::regex_match(now, std::regex(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)")))
      << now;
  EXPECT_GE(now, "2024-01-01T00:00:00Z");
}

// setenv / unsetenv for the duration of a test.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    const char* old = std::getenv(name);
    if (old != nullptr) old_ = old;
    had_ = old != nullptr;
    if (value != nullptr) {
      setenv(name, value, 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (had_) {
      setenv(name_, old_.c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::string old_;
  bool had_ = false;
};

TEST(StoreDefaultPath, FollowsXdgDataHomeThenHome) {
  {
    ScopedEnv xdg("XDG_DATA_HOME", "/xdg/data");
    ScopedEnv home("HOME", "/home/u");
    EXPECT_EQ(Store::defaultPath(), "/xdg/data/detslim/results.sqlite");
  }
  {
    ScopedEnv xdg("XDG_DATA_HOME", nullptr);
    ScopedEnv home("HOME", "/home/u");
    EXPECT_EQ(Store::defaultPath(), "/home/u/.local/share/detslim/results.sqlite");
  }
  {
    // The XDG spec: a relative value is invalid and ignored.
    ScopedEnv xdg("XDG_DATA_HOME", "relative/data");
    ScopedEnv home("HOME", "/home/u");
    EXPECT_EQ(Store::defaultPath(), "/home/u/.local/share/detslim/results.sqlite");
  }
}

constexpr const char* kCsvHeader =
    "id,model,dataset,method,sparsity,precision,status,error,"
    "ap,ap50,ap75,ap_small,ap_medium,ap_large,ar1,ar10,ar100,ar_small,ar_medium,ar_large,"
    "precision_at_conf,recall_at_conf,pr_confidence,voc_ap50,"
    "inference_median_ms,inference_p90_ms,inference_p99_ms,inference_mean_ms,inference_std_ms,"
    "inference_deadline_ms,inference_deadline_miss_rate,"
    "end_to_end_median_ms,end_to_end_p90_ms,end_to_end_p99_ms,end_to_end_mean_ms,"
    "end_to_end_std_ms,end_to_end_deadline_ms,end_to_end_deadline_miss_rate,"
    "throughput_b1,throughput_b8,throughput_b32,"
    "weights_bytes,activations_bytes,model_file_bytes,peak_rss_bytes,"
    "started_at,finished_at,config_hash,config_json\r\n";

TEST(StoreCsv, HeaderIsExact) {
  EXPECT_EQ(runsToCsv({}), kCsvHeader);
}

TEST(StoreCsv, RowHoldsValuesAndQuotesSpecialCharacters) {
  RunRecord run = testing::fullRun();
  run.id = 7;
  run.model.name = "yolo, \"tiny\"\nv2";
  run.config = {{"a", 1}};
  run.config_hash = "h";
  const std::string csv = runsToCsv({run});
  ASSERT_EQ(csv.rfind(kCsvHeader, 0), 0u);
  const std::string row = csv.substr(std::string(kCsvHeader).size());
  const std::string expected =
      "7,\"yolo, \"\"tiny\"\"\nv2\",/data/coco/val2017,l1,0.5,int8,ok,,"
      "0.371,0.528,0.402,0.184,0.409,0.533,0.311,0.515,0.566,0.331,0.627,0.745,"
      "0.71234,0.60987,0.25,0.55555,"
      "12.25,13.75,15.125,12.5,0.875,15,0.015,"
      "20.25,22.5,25,20.5,1.5,,,"
      "81.5,190.25,230.125,"
      "12628800,52428800,12650000,412000000,"
      "2024-05-01T12:00:00.125Z,2024-05-01T12:03:07Z,h,\"{\"\"a\"\":1}\"\r\n";
  EXPECT_EQ(row, expected);
}

TEST(StoreCsv, MissingPartsAreEmptyCells) {
  RunRecord run;
  run.id = 3;
  run.model.name = "m";
  run.status = kStatusFailed;
  run.error = "engine: unsupported op";
  const std::string csv = runsToCsv({run});
  const std::string row = csv.substr(std::string(kCsvHeader).size());
  // 49 columns: the first 8, then 40 empty ones, then the config.
  EXPECT_EQ(row,
            "3,m,,none,0,fp32,failed,engine: unsupported op," + std::string(40, ',') + "{}\r\n");
}

TEST(StoreJson, HoldsEveryPart) {
  RunRecord run = testing::fullRun();
  run.id = 11;
  const json j = runToJson(run);
  EXPECT_EQ(j["id"], 11);
  EXPECT_EQ(j["model"]["name"], "yolov8n");
  EXPECT_EQ(j["dataset"]["image_count"], 5000);
  EXPECT_EQ(j["config"]["prune"]["method"], "l1");
  EXPECT_EQ(j["metrics"]["ar_large"], run.stats[11]);
  EXPECT_EQ(j["metrics"]["precision"], 0.71234);
  EXPECT_EQ(j["class_ap"][2]["class_name"], "toaster");
  EXPECT_EQ(j["latency"][0]["histogram"]["counts"], json({40, 120, 40}));
  EXPECT_EQ(j["throughput"][2]["batch"], 32);
  EXPECT_EQ(j["memory"]["weights_by_dtype"]["int8"], 3157200);
  EXPECT_EQ(j["layers"][4]["op_type"], "Conv");
  const json list = runsToJson({run, RunRecord{}});
  ASSERT_EQ(list.size(), 2u);
  EXPECT_TRUE(list[1]["metrics"].is_null());
  EXPECT_TRUE(list[1]["memory"].is_null());
  EXPECT_TRUE(list[1]["dataset"].is_null());
}

}  // namespace
}  // namespace detslim::store
