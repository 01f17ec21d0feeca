// `detslim prune` end to end: refusals of bad input (exit 2, the message names the option, file
// or node), the JSON keys, the written model, and an input file left byte for byte as it was.
// Built from tests/core/prune/CMakeLists.txt.

#include <unistd.h>

#include <filesystem>
#include <fstream>
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
using detslim::testing::readBytes;
using detslim::testing::TempDir;
using detslim::testing::testDataDir;
using nlohmann::json;

namespace {

// conv1 (3x3) -> Relu -> conv2 (1x1) -> y, saved to `path`.
void writeTinyModel(const fs::path& path) {
  using namespace detslim;
  GraphBuilder b("tiny", 17);
  std::mt19937 rng(7767517);
  std::uniform_real_distribution<float> dist(0.1f, 1.0f);
  auto weights = [&](Shape shape) {
    Tensor t(DType::kFloat32, std::move(shape));
    for (int64_t i = 0; i < t.numel(); ++i) t.mutableData<float>()[i] = dist(rng);
    return t;
  };
  const std::string x = b.input("x", DType::kFloat32, {1, 4, 8, 8});
  const std::string h = b.node("Conv", {x, b.constant("w1", weights({8, 4, 3, 3}))},
                               {Attribute::makeInts("pads", {1, 1, 1, 1})}, "h");
  const std::string a = b.node("Relu", {h}, {}, "a");
  const std::string y = b.node("Conv", {a, b.constant("w2", weights({4, 8, 1, 1}))}, {}, "y");
  b.output(y, DType::kFloat32, {1, 4, 8, 8}, true);
  Model m = b.build();
  m.graph.nodes[0].name = "conv1";
  m.graph.nodes[2].name = "conv2";
  ASSERT_TRUE(saveModel(m, path).isOk());
}

struct Cli {
  fs::path model;
  TempDir dir;
  Cli() {
    model = dir.path() / "tiny.onnx";
    writeTinyModel(model);
  }
  detslim::testing::CommandResult run(std::vector<std::string> args) {
    std::vector<std::string> argv{DETSLIM_CLI, "prune"};
    argv.insert(argv.end(), args.begin(), args.end());
    return runCommand(argv);
  }
};

void expectBadInput(const detslim::testing::CommandResult& r, const std::string& named) {
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find(named), std::string::npos) << "expected '" << named << "' in: " << r.err;
  EXPECT_EQ(r.err.find("internal error"), std::string::npos) << r.err;
}

}  // namespace

TEST(CliPrune, BadInputExitsTwoNamingIt) {
  Cli cli;
  const std::string in = cli.model.string();
  const std::string out = (cli.dir.path() / "out.onnx").string();
  expectBadInput(cli.run({in, "--method", "magnitude", "--sparsity", "0.5"}), "-o");
  expectBadInput(cli.run({in, "--method", "magnitude", "--sparsity", "0.5", "-o", in}),
                 "input model");
  expectBadInput(cli.run({in, "--method", "magnitude", "--sparsity", "1.5", "-o", out}),
                 "sparsity");
  expectBadInput(cli.run({in, "--method", "magnitude", "-o", out}), "--sparsity");
  expectBadInput(cli.run({in, "--method", "shrink", "--sparsity", "0.5", "-o", out}), "shrink");
  expectBadInput(cli.run({in, "--method", "rtoss", "--opt", "entries=7", "-o", out}), "entries");
  expectBadInput(cli.run({in, "--method", "rtoss", "--opt", "entires=2", "-o", out}), "entires");
  expectBadInput(cli.run({in, "--method", "nm", "--opt", "n4", "-o", out}), "n4");
  expectBadInput(
      cli.run({in, "--method", "magnitude", "--sparsity", "0.5", "--ignore", "conv[", "-o", out}),
      "conv[");
  expectBadInput(cli.run({in, "--method", "rtoss", "--ignore", "op:Conv", "-o", out}),
                 "nothing to prune");
  const std::string missing = (cli.dir.path() / "missing.onnx").string();
  expectBadInput(cli.run({missing, "--method", "nm", "-o", out}), missing);
  EXPECT_FALSE(fs::exists(out));
  EXPECT_EQ(runCommand({DETSLIM_CLI, "prune"}).exit_code, 2);
}

TEST(CliPrune, JsonReportAndWrittenModel) {
  Cli cli;
  const std::string before = readBytes(cli.model);
  const fs::path out = cli.dir.path() / "pruned.onnx";
  const fs::path report = cli.dir.path() / "report.json";
  const auto r = cli.run({cli.model.string(), "--method", "magnitude", "--sparsity", "0.5", "--opt",
                          "scope=global", "--no-protect-head", "-o", out.string(), "--report",
                          report.string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  for (const char* key : {"params", "macs", "nonzero_params", "effective_macs", "compression_ratio",
                          "layers", "warnings", "ignored", "method", "options"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  // 288 + 32 weights, no biases: 160 zeroed.
  EXPECT_EQ(j["params"]["before"], 320);
  EXPECT_EQ(j["nonzero_params"]["after"], 160);
  EXPECT_DOUBLE_EQ(j["compression_ratio"].get<double>(), 2.0);
  EXPECT_EQ(j["macs"]["before"], 64 * 320);
  EXPECT_EQ(j["effective_macs"]["after"], 64 * 160);
  EXPECT_EQ(j["options"]["opts"]["scope"], "global");
  EXPECT_EQ(j["layers"].size(), 2u);
  EXPECT_EQ(json::parse(readBytes(report))["compression_ratio"], j["compression_ratio"]);
  // The written model loads and holds the zeros; the input is byte for byte what it was.
  detslim::Result<detslim::Model> pruned = detslim::loadModel(out);
  ASSERT_TRUE(pruned.isOk()) << pruned.status().message();
  EXPECT_EQ(
      pruned->graph.initializer("w1")->countZeros() + pruned->graph.initializer("w2")->countZeros(),
      160);
  EXPECT_EQ(readBytes(cli.model), before);
}

TEST(CliPrune, DryRunWritesNothingAndHumanSummary) {
  Cli cli;
  const auto r = cli.run({cli.model.string(), "--method", "rtoss", "--opt", "entries=2",
                          "--dry-run", "--layers", "--ignore", "no_such_layer"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Compression"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Effective"), std::string::npos);
  EXPECT_NE(r.out.find("conv1"), std::string::npos);
  EXPECT_NE(r.out.find("no_such_layer"), std::string::npos);  // the ignore warning
  EXPECT_NE(r.out.find("conv2: Detect head"), std::string::npos);
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(cli.dir.path())) files.push_back(e.path());
  EXPECT_EQ(files.size(), 1u);  // only the input
}

TEST(CliPrune, Yolov5nRtossEndToEnd) {
  DETSLIM_REQUIRE_TEST_DATA();
  TempDir dir;
  const fs::path in = dir.path() / "yolov5n_fp32.onnx";
  fs::copy_file(testDataDir() / "models/yolov5n_fp32.onnx", in);
  const std::string before = readBytes(in);
  const fs::path out = dir.path() / "yolov5n_rtoss2.onnx";
  const auto r = runCommand({DETSLIM_CLI, "prune", in.string(), "--method", "rtoss", "--opt",
                             "entries=2", "-o", out.string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["params"]["before"], 1867405);
  EXPECT_GT(j["compression_ratio"].get<double>(), 3.0);
  EXPECT_EQ(j["ignored"].size(), 3u);
  ASSERT_TRUE(fs::exists(out));
  EXPECT_EQ(readBytes(in), before);
  const auto inspect = runCommand({DETSLIM_CLI, "inspect", out.string(), "--json"});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  EXPECT_TRUE(json::parse(inspect.out)["checker"]["passed"].get<bool>());
}
