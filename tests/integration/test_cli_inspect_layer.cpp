// `detslim inspect MODEL --layer NAME`: zero map statistics and the 3x3 kernel pattern histogram
// of one conv, in text and JSON. On a model pruned by `detslim prune --method rtoss --opt
// entries=2` every 3x3 kernel keeps one of the 12 two-cell patterns; bad layer names exit 2.

#include <bit>
#include <filesystem>
#include <random>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/graph/builder.h"
#include "core/onnx/onnx_io.h"
#include "run_command.h"
#include "temp_files.h"
#include "test_data.h"

namespace fs = std::filesystem;
using detslim::testing::runCommand;
using detslim::testing::TempDir;
using detslim::testing::testDataDir;
using nlohmann::json;

namespace {

// conv1: 8 x 4 x 3 x 3 with output channel 5 zeroed whole and cell (0, 0) of every other kernel
// zeroed; conv2: 4 x 8 x 1 x 1, dense.
void writeModel(const fs::path& path) {
  using namespace detslim;
  GraphBuilder b("tiny", 17);
  std::mt19937 rng(7767517);
  std::uniform_real_distribution<float> dist(0.1f, 1.0f);
  Tensor w1(DType::kFloat32, {8, 4, 3, 3});
  for (int64_t i = 0; i < w1.numel(); ++i) {
    const int64_t out_channel = i / 36;
    const bool zero = out_channel == 5 || i % 9 == 0;
    w1.mutableData<float>()[i] = zero ? 0.0f : dist(rng);
  }
  Tensor w2(DType::kFloat32, {4, 8, 1, 1});
  for (int64_t i = 0; i < w2.numel(); ++i) w2.mutableData<float>()[i] = dist(rng);
  const std::string x = b.input("x", DType::kFloat32, {1, 4, 8, 8});
  const std::string h =
      b.node("Conv", {x, b.constant("w1", w1)}, {Attribute::makeInts("pads", {1, 1, 1, 1})}, "h");
  const std::string a = b.node("Relu", {h}, {}, "a");
  const std::string y = b.node("Conv", {a, b.constant("w2", w2)}, {}, "y");
  b.output(y, DType::kFloat32, {1, 4, 8, 8}, true);
  Model m = b.build();
  m.graph.nodes[0].name = "conv1";
  m.graph.nodes[1].name = "relu";
  m.graph.nodes[2].name = "conv2";
  ASSERT_TRUE(saveModel(m, path).isOk());
}

json layerJson(const fs::path& model, const std::string& layer) {
  const auto r = runCommand({DETSLIM_CLI, "inspect", model.string(), "--layer", layer, "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  if (r.exit_code != 0) return json::object();
  const json j = json::parse(r.out);
  EXPECT_TRUE(j.contains("params"));  // the whole inspection is still there
  return j.at("layer");
}

}  // namespace

TEST(CliInspectLayer, CountsZerosAndPatternsOfAHandMadeWeight) {
  TempDir dir;
  const fs::path model = dir.path() / "tiny.onnx";
  writeModel(model);
  const json l = layerJson(model, "conv1");
  EXPECT_EQ(l["op_type"], "Conv");
  EXPECT_EQ(l["weight"], "w1");
  EXPECT_EQ(l["weight_shape"], json::array({8, 4, 3, 3}));
  EXPECT_EQ(l["total"], 288);
  // Channel 5: 36 zeros; the other 7 x 4 kernels: one zero each.
  EXPECT_EQ(l["zeros"], 36 + 28);
  EXPECT_EQ(l["zero_output_channels"], 1);
  EXPECT_EQ(l["zero_input_channels"], 0);
  EXPECT_EQ(l["kernels"], 32);
  EXPECT_EQ(l["zero_kernels"], 4);
  ASSERT_EQ(l["patterns"].size(), 2u);
  EXPECT_EQ(l["patterns"][0]["mask"], 0x1fe);  // all but cell (0, 0)
  EXPECT_EQ(l["patterns"][0]["count"], 28);
  EXPECT_EQ(l["patterns"][0]["glyph"], ".##/###/###");
  EXPECT_EQ(l["patterns"][1]["mask"], 0);
  EXPECT_EQ(l["patterns"][1]["count"], 4);

  // 1x1 kernels: statistics, no patterns.
  const json l2 = layerJson(model, "conv2");
  EXPECT_EQ(l2["zeros"], 0);
  EXPECT_TRUE(l2["patterns"].is_null());

  const auto text = runCommand({DETSLIM_CLI, "inspect", model.string(), "--layer", "conv1"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("Zeros       64 of 288 (22.22 %)"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("2 distinct 3x3 patterns in 32 kernels"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find(".##/###/###  0x1fe"), std::string::npos) << text.out;
}

TEST(CliInspectLayer, RefusesUnknownAndWeightlessLayers) {
  TempDir dir;
  const fs::path model = dir.path() / "tiny.onnx";
  writeModel(model);
  const auto missing = runCommand({DETSLIM_CLI, "inspect", model.string(), "--layer", "nope"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("'nope'"), std::string::npos) << missing.err;
  EXPECT_NE(missing.err.find(model.string()), std::string::npos) << missing.err;
  const auto relu = runCommand({DETSLIM_CLI, "inspect", model.string(), "--layer", "relu"});
  EXPECT_EQ(relu.exit_code, 2);
  EXPECT_NE(relu.err.find("no constant convolution weight"), std::string::npos) << relu.err;
}

TEST(CliInspectLayer, RtossPrunedYolov5nShowsFewPatterns) {
  DETSLIM_REQUIRE_TEST_DATA();
  TempDir dir;
  const fs::path original = testDataDir() / "models/yolov5n_fp32.onnx";
  const fs::path pruned = dir.path() / "yolov5n_rtoss2.onnx";
  const auto prune = runCommand({DETSLIM_CLI, "prune", original.string(), "--method", "rtoss",
                                 "--opt", "entries=2", "-o", pruned.string()});
  ASSERT_EQ(prune.exit_code, 0) << prune.err;
  // model.2's first bottleneck 3x3 conv: 16 x 16 x 3 x 3 (yolov5n's C3 at width 0.25).
  const std::string layer = "/model.2/m/m.0/cv2/conv/Conv";

  const json before = layerJson(original, layer);
  ASSERT_FALSE(before.empty());
  EXPECT_EQ(before["weight_shape"], json::array({16, 16, 3, 3}));
  EXPECT_EQ(before["kernels"], 256);
  // Trained dense weights: almost every kernel keeps all nine cells.
  EXPECT_EQ(before["patterns"][0]["mask"], 0x1ff);
  EXPECT_GT(before["patterns"][0]["count"].get<int>(), 250);

  const json after = layerJson(pruned, layer);
  ASSERT_FALSE(after.empty());
  EXPECT_EQ(after["kernels"], 256);
  // R-TOSS 2EP keeps one of the 12 two-cell 4-connected patterns per kernel.
  ASSERT_FALSE(after["patterns"].empty());
  EXPECT_LE(after["patterns"].size(), 12u);
  int64_t kernels = 0;
  for (const json& p : after["patterns"]) {
    EXPECT_EQ(std::popcount(p["mask"].get<unsigned>()), 2) << p.dump();
    kernels += p["count"].get<int64_t>();
  }
  EXPECT_EQ(kernels, 256);
  EXPECT_EQ(after["zeros"], 256 * 7);
  EXPECT_NEAR(after["sparsity"].get<double>(), 7.0 / 9.0, 1e-12);
}
