// `detslim detect` end to end on two COCO val images with the shared YOLOv5n: the per-image JSON
// agrees with itself (TP + FN = ground truth, marks add up to the counts, lost boxes are found by
// the baseline and missed by the compressed side) and with the label files, --draw writes the
// annotated images, a stored run rebuilt with --run gives the same marks as the same
// configuration given on the command line, and an unknown run id exits 2 naming it.

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/store/store.h"
#include "run_command.h"
#include "temp_files.h"
#include "test_data.h"

namespace fs = std::filesystem;
using detslim::testing::CommandResult;
using detslim::testing::readBytes;
using detslim::testing::runCommand;
using detslim::testing::TempDir;
using detslim::testing::testDataDir;
using nlohmann::json;

namespace {

constexpr const char* kPruned = "magnitude:sparsity=0.6";

std::string model() {
  return (testDataDir() / "models/yolov5n_fp32.onnx").string();
}
std::string val2017() {
  return (testDataDir() / "coco/images/val2017").string();
}

CommandResult cli(std::vector<std::string> args) {
  args.insert(args.begin(), DETSLIM_CLI);
  return runCommand(args);
}

// Boxes in the YOLO label file of a COCO val image (one line each).
int labelLines(const fs::path& image) {
  std::ifstream in(testDataDir() / "coco/labels/val2017" / (image.stem().string() + ".txt"));
  int n = 0;
  std::string line;
  while (std::getline(in, line)) n += line.find_first_not_of(" \t\r") != std::string::npos;
  return n;
}

// Checks one side of one image against itself; returns its detections by mark.
void checkSide(const json& side, int gt_counted, const json& gt, size_t side_index) {
  int tp = 0, fp = 0, ignored = 0;
  for (const json& d : side["detections"]) {
    const std::string mark = d["mark"];
    tp += mark == "tp";
    fp += mark == "fp";
    ignored += mark == "ignored";
    EXPECT_GE(d["score"].get<double>(), 0.25);
    if (mark == "tp") {
      // The GT it took is of its class and counted as found on this side.
      const json& g = gt.at(d["gt"].get<size_t>());
      EXPECT_EQ(g["class"], d["class"]);
      EXPECT_TRUE(g["found"][side_index].get<bool>());
    }
  }
  EXPECT_EQ(side["tp"].get<int>(), tp);
  EXPECT_EQ(side["fp"].get<int>(), fp);
  EXPECT_EQ(side["ignored"].get<int>(), ignored);
  EXPECT_EQ(side["count"].get<int>(), tp + fp + ignored);
  EXPECT_EQ(side["tp"].get<int>() + side["fn"].get<int>(), gt_counted);
}

struct Pruned {
  TempDir dir;
  CommandResult result;
  json j;
};

// One `detect --prune` shared by the tests below.
Pruned& prunedOnce() {
  static Pruned* p = [] {
    auto* r = new Pruned;
    r->result = cli({"detect", model(), "--data", val2017(), "--limit", "2", "--prune", kPruned,
                     "--threads", "2", "--json", "--draw", (r->dir.path() / "drawn").string()});
    if (r->result.exit_code == 0) r->j = json::parse(r->result.out);
    return r;
  }();
  return *p;
}

}  // namespace

TEST(CliDetect, PrunedAgainstBaselineCountsAddUp) {
  DETSLIM_REQUIRE_TEST_DATA();
  Pruned& p = prunedOnce();
  ASSERT_EQ(p.result.exit_code, 0) << p.result.err;
  const json& j = p.j;
  ASSERT_EQ(j["images"].size(), 2u);
  ASSERT_EQ(j["sides"].size(), 2u);
  EXPECT_EQ(j["sides"][0]["name"], "baseline");
  EXPECT_NE(j["sides"][1]["label"].get<std::string>().find("magnitude"), std::string::npos);
  int tp[2] = {0, 0}, fn[2] = {0, 0}, lost = 0, gained = 0;
  for (const json& img : j["images"]) {
    const json& gt = img["gt"];
    // COCO val2017 is read as YOLO: one GT per label line, none of them crowd.
    EXPECT_EQ(static_cast<int>(gt.size()), labelLines(img["image"].get<std::string>()));
    const int counted = img["gt_counted"];
    EXPECT_EQ(counted, static_cast<int>(gt.size()));
    checkSide(img["baseline"], counted, gt, 0);
    checkSide(img["compared"], counted, gt, 1);
    for (const json& g : img["lost"]) {
      EXPECT_TRUE(gt[g.get<size_t>()]["found"][0].get<bool>());
      EXPECT_FALSE(gt[g.get<size_t>()]["found"][1].get<bool>());
    }
    for (const json& g : img["new_found"]) {
      EXPECT_FALSE(gt[g.get<size_t>()]["found"][0].get<bool>());
      EXPECT_TRUE(gt[g.get<size_t>()]["found"][1].get<bool>());
    }
    // found by the baseline = found by both + lost; the same for the compressed side.
    int both = 0, found_a = 0, found_b = 0;
    for (const json& g : gt) {
      found_a += g["found"][0].get<bool>();
      found_b += g["found"][1].get<bool>();
      both += g["found"][0].get<bool>() && g["found"][1].get<bool>();
    }
    EXPECT_EQ(found_a, img["baseline"]["tp"].get<int>());
    EXPECT_EQ(found_a, both + static_cast<int>(img["lost"].size()));
    EXPECT_EQ(found_b, both + static_cast<int>(img["new_found"].size()));
    int new_dets = 0;
    for (const json& d : img["compared"]["detections"]) new_dets += d["new"].get<bool>();
    EXPECT_EQ(img["new_detections"].get<int>(), new_dets);
    for (int s = 0; s < 2; ++s) {
      tp[s] += img[s == 0 ? "baseline" : "compared"]["tp"].get<int>();
      fn[s] += img[s == 0 ? "baseline" : "compared"]["fn"].get<int>();
    }
    lost += static_cast<int>(img["lost"].size());
    gained += static_cast<int>(img["new_found"].size());
  }
  EXPECT_EQ(j["totals"]["images"], 2);
  EXPECT_EQ(j["totals"]["baseline"]["tp"], tp[0]);
  EXPECT_EQ(j["totals"]["compared"]["fn"], fn[1]);
  EXPECT_EQ(j["totals"]["lost"], lost);
  EXPECT_EQ(j["totals"]["new_found"], gained);
  // The trained baseline finds something on these images; 60% of its weights gone, it loses
  // more than it gains.
  EXPECT_GT(tp[0], 0);
  EXPECT_GT(lost, gained);
}

TEST(CliDetect, DrawWritesOneAnnotatedImagePerImage) {
  DETSLIM_REQUIRE_TEST_DATA();
  Pruned& p = prunedOnce();
  ASSERT_EQ(p.result.exit_code, 0) << p.result.err;
  for (const json& img : p.j["images"]) {
    const fs::path source = img["image"].get<std::string>();
    const fs::path drawn = p.dir.path() / "drawn" / (source.stem().string() + ".jpg");
    ASSERT_TRUE(fs::exists(drawn)) << drawn;
    const std::string bytes = readBytes(drawn);
    ASSERT_GT(bytes.size(), 1000u);
    // A JPEG (SOI marker) of two panels side by side: its SOF0 width is twice the image's.
    EXPECT_EQ(static_cast<unsigned char>(bytes[0]), 0xFF);
    EXPECT_EQ(static_cast<unsigned char>(bytes[1]), 0xD8);
    const size_t sof = bytes.find("\xFF\xC0");
    ASSERT_NE(sof, std::string::npos);
    const int width = (static_cast<unsigned char>(bytes[sof + 7]) << 8) |
                      static_cast<unsigned char>(bytes[sof + 8]);
    EXPECT_EQ(width, 2 * img["width"].get<int>());
  }
}

TEST(CliDetect, TextOutputAndOneImage) {
  DETSLIM_REQUIRE_TEST_DATA();
  const std::string image = (testDataDir() / "coco/images/val2017/000000000139.jpg").string();
  CommandResult r = cli({"detect", model(), "--data", image, "--threads", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("000000000139.jpg"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("GT " + std::to_string(labelLines(image))), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Totals over 1 images"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("TP "), std::string::npos);
  // --image picks the same image out of the folder.
  CommandResult by_name = cli({"detect", model(), "--data", val2017(), "--image", "000000000139",
                               "--threads", "2", "--json"});
  ASSERT_EQ(by_name.exit_code, 0) << by_name.err;
  const json j = json::parse(by_name.out);
  ASSERT_EQ(j["images"].size(), 1u);
  EXPECT_EQ(static_cast<int>(j["images"][0]["gt"].size()), labelLines(image));
  EXPECT_FALSE(j["images"][0].contains("compared"));
}

TEST(CliDetect, StoredRunRebuildsTheSameDetector) {
  DETSLIM_REQUIRE_TEST_DATA();
  Pruned& p = prunedOnce();
  ASSERT_EQ(p.result.exit_code, 0) << p.result.err;
  TempDir dir;
  const std::string db = (dir.path() / "results.sqlite").string();
  CommandResult run = cli(
      {"run",   "--model",   model(), "--data", val2017(), "--limit",  "2", "--prune",
       kPruned, "--threads", "2",     "--runs", "1",       "--warmup", "0", "--throughput-batches",
       "1",     "--no-rss",  "--db",  db,       "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const int64_t id = json::parse(run.out)["run_id"].get<int64_t>();
  CommandResult r = cli({"detect", model(), "--data", val2017(), "--limit", "2", "--run",
                         std::to_string(id), "--db", db, "--threads", "2", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["sides"][1]["run_id"], id);
  EXPECT_NE(j["sides"][1]["label"].get<std::string>().find("run " + std::to_string(id)),
            std::string::npos);
  // Same model, same configuration: the same marks as --prune on the command line.
  EXPECT_EQ(j["totals"], p.j["totals"]);
  EXPECT_EQ(j["images"][1]["compared"]["detections"], p.j["images"][1]["compared"]["detections"]);
}

TEST(CliDetect, UnknownRunAndBadInputExitTwoNamingTheFault) {
  DETSLIM_REQUIRE_TEST_DATA();
  TempDir dir;
  const fs::path db = dir.path() / "results.sqlite";
  ASSERT_TRUE(detslim::store::Store::open(db).isOk());  // an empty store
  CommandResult r = cli({"detect", model(), "--data", val2017(), "--limit", "1", "--run", "4242",
                         "--db", db.string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("4242"), std::string::npos) << r.err;

  r = cli({"detect", model(), "--data", val2017(), "--vs-run", "7", "--db",
           (dir.path() / "missing.sqlite").string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("missing.sqlite"), std::string::npos) << r.err;

  r = cli({"detect", model(), "--data", val2017(), "--image", "no_such_image"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("no_such_image"), std::string::npos) << r.err;

  r = cli({"detect", model(), "--data", val2017(), "--prune", "magnitud:sparsity=0.5"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("magnitud"), std::string::npos) << r.err;
}
