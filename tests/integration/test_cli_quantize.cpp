// `detslim quantize` and the precision step of `run` end to end on the shared YOLOv5n: the QDQ
// model and scale table it writes, reuse of a stored scale table, the fallback report, FP16
// conversion, and bad input (exit 2, the message names the folder, file or option).

#include <filesystem>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/onnx/onnx_io.h"
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

std::string model(const char* name) { return (testDataDir() / "models" / name).string(); }
std::string train2017() { return (testDataDir() / "coco/images/train2017").string(); }
std::string val2017() { return (testDataDir() / "coco/images/val2017").string(); }

CommandResult cli(std::vector<std::string> args) {
  args.insert(args.begin(), DETSLIM_CLI);
  return runCommand(args);
}

int countOps(const detslim::Model& m, const std::string& op) {
  int n = 0;
  for (const detslim::Node& node : m.graph.nodes) n += node.op_type == op ? 1 : 0;
  return n;
}

// One int8 quantization shared by the tests below (calibration takes a few seconds).
struct Quantized {
  TempDir dir;
  fs::path qdq, scales;
  CommandResult result;
  json j;
};

Quantized& int8Once() {
  static Quantized* q = [] {
    auto* r = new Quantized;
    r->qdq = r->dir.path() / "int8.onnx";
    r->scales = r->dir.path() / "int8.scales.json";
    r->result = cli({"quantize", model("yolov5n_fp32.onnx"), "--calib", train2017(), "--calib-count",
                     "6", "--calibrator", "minmax", "-o", r->qdq.string(), "--scales",
                     r->scales.string(), "--threads", "2", "--json"});
    if (r->result.exit_code == 0) r->j = json::parse(r->result.out);
    return r;
  }();
  return *q;
}

}  // namespace

TEST(CliQuantize, Int8WritesAQdqModelAndAScaleTable) {
  DETSLIM_REQUIRE_TEST_DATA();
  Quantized& q = int8Once();
  ASSERT_EQ(q.result.exit_code, 0) << q.result.err;
  const json& j = q.j;
  EXPECT_EQ(j["precision"], "int8");
  EXPECT_EQ(j["calibration_images"], 6);
  // The default higher-precision layers: the first conv and the three Detect output convs.
  const auto kept = j["kept_convs"].get<std::vector<std::string>>();
  EXPECT_EQ(kept.size(), 4u);
  EXPECT_TRUE(std::count(kept.begin(), kept.end(), "/model.0/conv/Conv") == 1) << j["kept_convs"].dump();
  EXPECT_GT(j["quantized_convs"].size(), 50u);
  // int8 weights: about a quarter of the f32 bytes (the kept convs and biases stay wider).
  const double ratio = j["weight_bytes_after"].get<double>() / j["weight_bytes_before"].get<double>();
  EXPECT_LT(ratio, 0.35);
  EXPECT_GT(ratio, 0.24);
  bool said_origin = false;
  for (const auto& note : j["notes"]) {
    if (note.get<std::string>().find("6 images of") != std::string::npos) said_origin = true;
  }
  EXPECT_TRUE(said_origin) << j["notes"].dump();

  auto loaded = detslim::loadModel(q.qdq);
  ASSERT_TRUE(loaded.isOk()) << loaded.status().message();
  EXPECT_GT(countOps(*loaded, "QuantizeLinear"), 40);
  EXPECT_GT(countOps(*loaded, "DequantizeLinear"), 100);

  const json table = json::parse(readBytes(q.scales));
  EXPECT_EQ(table["calibration"]["calibrator"], "minmax");
  EXPECT_EQ(table["calibration"]["images"], 6);
  EXPECT_GT(table["tensors"].size(), 40u);
}

TEST(CliQuantize, FallbackReportListsExactlyTheKeptConvs) {
  DETSLIM_REQUIRE_TEST_DATA();
  Quantized& q = int8Once();
  ASSERT_EQ(q.result.exit_code, 0) << q.result.err;
  std::set<std::string> f32_convs;
  for (const auto& e : q.j["fallback"]["f32_steps"]) {
    const std::string op = e["op"];
    if (op == "Conv" || op == "FusedConv" || op == "QConv") f32_convs.insert(e["node"]);
  }
  const auto kept = q.j["kept_convs"].get<std::vector<std::string>>();
  EXPECT_EQ(f32_convs, std::set<std::string>(kept.begin(), kept.end())) << q.j["fallback"].dump();
  EXPECT_GT(q.j["fallback"]["int8_steps"].get<int>(), 50);
}

TEST(CliQuantize, AStoredScaleTableReproducesTheModel) {
  DETSLIM_REQUIRE_TEST_DATA();
  Quantized& q = int8Once();
  ASSERT_EQ(q.result.exit_code, 0) << q.result.err;
  const fs::path again = q.dir.path() / "again.onnx";
  CommandResult r = cli({"quantize", model("yolov5n_fp32.onnx"), "--scales-in", q.scales.string(),
                         "-o", again.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(readBytes(again), readBytes(q.qdq));
  EXPECT_NE(r.out.find("scales from"), std::string::npos) << r.out;
}

TEST(CliQuantize, AScaleTableOfAnotherModelIsRefused) {
  DETSLIM_REQUIRE_TEST_DATA();
  Quantized& q = int8Once();
  ASSERT_EQ(q.result.exit_code, 0) << q.result.err;
  TempDir dir;
  CommandResult r = cli({"quantize", model("yolox_nano.onnx"), "--scales-in", q.scales.string(),
                         "-o", (dir.path() / "x.onnx").string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find(q.scales.string()), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir.path() / "x.onnx"));
}

TEST(CliQuantize, Fp16HalvesTheWeightBytes) {
  DETSLIM_REQUIRE_TEST_DATA();
  TempDir dir;
  const fs::path out = dir.path() / "fp16.onnx";
  CommandResult r = cli({"quantize", model("yolov5n_fp32.onnx"), "--precision", "fp16", "-o",
                         out.string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  const double ratio = j["weight_bytes_after"].get<double>() / j["weight_bytes_before"].get<double>();
  EXPECT_NEAR(ratio, 0.5, 0.01);
  EXPECT_NE(j["summary"].get<std::string>().find("fp16 storage, fp32 compute"), std::string::npos);
  auto loaded = detslim::loadModel(out);
  ASSERT_TRUE(loaded.isOk()) << loaded.status().message();
  size_t f16 = 0;
  for (const auto& init : loaded->graph.initializers()) f16 += init.tensor.dtype() == detslim::DType::kFloat16;
  EXPECT_GT(f16, 50u);
}

TEST(CliQuantize, BadInputExitsTwoNamingTheProblem) {
  DETSLIM_REQUIRE_TEST_DATA();
  TempDir dir;
  const fs::path out = dir.path() / "q.onnx";
  const fs::path empty = dir.path() / "empty";
  fs::create_directories(empty);
  CommandResult r = cli({"quantize", model("yolov5n_fp32.onnx"), "--calib", empty.string(), "-o", out.string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(empty.string()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("no images"), std::string::npos) << r.err;

  r = cli({"quantize", model("yolov5n_fp32.onnx"), "--calib", (dir.path() / "missing").string(), "-o", out.string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("missing"), std::string::npos) << r.err;

  r = cli({"quantize", model("yolov5n_fp32.onnx"), "-o", out.string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--calib"), std::string::npos) << r.err;

  r = cli({"quantize", model("yolov5n_fp32.onnx"), "--calib", train2017(), "--calibrator", "median", "-o", out.string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("median"), std::string::npos) << r.err;

  r = cli({"quantize", model("yolov5n_fp32.onnx"), "--calib", train2017(), "--keep-fp32", "no_such_conv", "-o", out.string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no_such_conv"), std::string::npos) << r.err;

  r = cli({"quantize", model("yolov5n_fp32.onnx"), "--calib", train2017(), "--keep-fp32", "none,default", "-o", out.string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("'none' cannot be combined"), std::string::npos) << r.err;

  r = cli({"quantize", model("yolov5n_fp32.onnx"), "--precision", "bf16", "-o", out.string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("bf16"), std::string::npos) << r.err;

  // The evaluation set with no --limit leaves nothing to calibrate on.
  r = cli({"quantize", model("yolov5n_fp32.onnx"), "--data", val2017(), "-o", out.string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--limit"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));
}

TEST(CliQuantize, FewerImagesThanAskedWarnsAndUsesThem) {
  DETSLIM_REQUIRE_TEST_DATA();
  TempDir dir;
  const fs::path few = dir.path() / "few";
  fs::create_directories(few);
  int copied = 0;
  for (const auto& e : fs::directory_iterator(train2017())) {
    if (copied == 2) break;
    fs::copy_file(e.path(), few / e.path().filename());
    ++copied;
  }
  const fs::path out = dir.path() / "q.onnx";
  CommandResult r = cli({"quantize", model("yolov5n_fp32.onnx"), "--calib", few.string(), "--calib-count", "5",
                         "-o", out.string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("asked for 5 calibration images, found 2"), std::string::npos) << r.err;
  EXPECT_EQ(json::parse(r.out)["calibration_images"], 2);
}

TEST(CliRunPrecision, Int8RunCalibratesOnImagesTheEvaluationDoesNotUse) {
  DETSLIM_REQUIRE_TEST_DATA();
  TempDir dir;
  CommandResult r = cli({"run", "--model", model("yolov5n_fp32.onnx"), "--data", val2017(), "--limit", "4",
                         "--precision", "int8", "--calib-count", "4", "--runs", "3", "--warmup", "1",
                         "--throughput-batches", "1", "--threads", "2", "--no-rss", "--db",
                         (dir.path() / "r.sqlite").string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["config"]["precision"], "int8");
  EXPECT_EQ(j["config"]["steps"][1]["precision"], "int8");
  EXPECT_EQ(j["config"]["steps"][1]["calibration"], 4);
  bool said = false;
  for (const auto& n : j["notes"]) {
    if (n.get<std::string>().find("that the evaluation does not use (images 5..8") != std::string::npos) said = true;
  }
  EXPECT_TRUE(said) << j["notes"].dump();
  EXPECT_GT(j["stats"][1].get<double>(), 0.2);  // mAP50 on 4 images: far from collapsed
}
