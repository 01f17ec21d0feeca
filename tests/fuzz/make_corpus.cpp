// Writes the seed corpus of tests/fuzz/corpus: small valid models built with the IR and
// serializeModel, covering the parts of the format the loader handles (every attribute kind,
// subgraphs, dtypes, dynamic dims, metadata, the ML domain, IR 9). Each seed is loaded back with
// the checker before it is written, so the corpus holds only models that pass it.
//
//   fuzz_make_corpus tests/fuzz/corpus

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/onnx/onnx_io.h"

namespace {

using namespace detslim;

ValueInfo tensorValue(const std::string& name, DType dtype, std::vector<Dim> dims) {
  ValueInfo v;
  v.name = name;
  v.type.dtype = dtype;
  v.type.has_shape = true;
  v.type.dims = std::move(dims);
  return v;
}

std::vector<Dim> staticDims(const Shape& shape) {
  std::vector<Dim> dims;
  for (int64_t d : shape) dims.push_back(Dim{d, {}});
  return dims;
}

Node node(const std::string& op, std::vector<std::string> in, std::vector<std::string> out,
          std::vector<Attribute> attrs = {}) {
  Node n;
  n.name = op + "_" + out.front();
  n.op_type = op;
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  n.attributes = std::move(attrs);
  return n;
}

Model baseModel(const std::string& name, int64_t opset = 17) {
  Model m;
  m.ir_version = 8;
  m.opset_imports = {{"", opset}};
  m.producer_name = "detslim fuzz_make_corpus";
  m.graph.name = name;
  return m;
}

template <class T>
Tensor tensor(DType dtype, Shape shape, std::vector<T> values) {
  return Tensor::fromVector(dtype, std::move(shape), values);
}

Model relu() {
  Model m = baseModel("relu");
  m.graph.inputs.push_back(tensorValue("x", DType::kFloat32, staticDims({1, 4})));
  m.graph.outputs.push_back(tensorValue("y", DType::kFloat32, staticDims({1, 4})));
  m.graph.nodes.push_back(node("Relu", {"x"}, {"y"}));
  return m;
}

// Conv + bias followed by SiLU (Sigmoid * x), as YOLO backbones have it.
Model convSilu() {
  Model m = baseModel("conv_silu");
  m.graph.inputs.push_back(tensorValue("x", DType::kFloat32, staticDims({1, 2, 5, 5})));
  m.graph.outputs.push_back(tensorValue("y", DType::kFloat32, staticDims({1, 3, 3, 3})));
  std::vector<float> w(3 * 2 * 3 * 3);
  for (size_t i = 0; i < w.size(); ++i) w[i] = 0.125f * static_cast<float>(i % 7) - 0.375f;
  m.graph.setInitializer("w", tensor(DType::kFloat32, {3, 2, 3, 3}, w));
  m.graph.setInitializer("b", tensor(DType::kFloat32, {3}, std::vector<float>{0.5f, -1, 2}));
  m.graph.nodes.push_back(
      node("Conv", {"x", "w", "b"}, {"c"},
           {Attribute::makeInts("kernel_shape", {3, 3}), Attribute::makeInts("strides", {2, 2}),
            Attribute::makeInts("pads", {1, 1, 1, 1}), Attribute::makeInt("group", 1)}));
  m.graph.nodes.push_back(node("Sigmoid", {"c"}, {"s"}));
  m.graph.nodes.push_back(node("Mul", {"c", "s"}, {"y"}));
  return m;
}

// The tensor plumbing of a detection head: Reshape, Transpose, Split with sizes, Concat, Resize.
Model headPlumbing() {
  Model m = baseModel("head");
  m.graph.inputs.push_back(tensorValue("x", DType::kFloat32, staticDims({1, 6, 4, 4})));
  m.graph.outputs.push_back(tensorValue("y", DType::kFloat32, staticDims({1, 32, 3})));
  m.graph.outputs.push_back(tensorValue("up", DType::kFloat32, staticDims({1, 6, 8, 8})));
  m.graph.setInitializer("shape", tensor(DType::kInt64, {3}, std::vector<int64_t>{1, 3, 32}));
  m.graph.setInitializer("sizes", tensor(DType::kInt64, {2}, std::vector<int64_t>{16, 16}));
  m.graph.setInitializer("scales", tensor(DType::kFloat32, {4}, std::vector<float>{1, 1, 2, 2}));
  m.graph.nodes.push_back(node("Reshape", {"x", "shape"}, {"r"}));
  m.graph.nodes.push_back(
      node("Split", {"r", "sizes"}, {"a", "b"}, {Attribute::makeInt("axis", 2)}));
  m.graph.nodes.push_back(node("Concat", {"a", "b"}, {"c"}, {Attribute::makeInt("axis", 2)}));
  m.graph.nodes.push_back(
      node("Transpose", {"c"}, {"y"}, {Attribute::makeInts("perm", {0, 2, 1})}));
  m.graph.nodes.push_back(
      node("Resize", {"x", "", "scales"}, {"up"}, {Attribute::makeString("mode", "nearest")}));
  return m;
}

// One unused initializer of every element type, and an Identity so the graph is not empty.
Model allDtypes() {
  Model m = relu();
  m.graph.name = "dtypes";
  Graph& g = m.graph;
  g.setInitializer("f16", tensor(DType::kFloat16, {2}, std::vector<uint16_t>{0x3C00, 0xC000}));
  g.setInitializer("bf16", tensor(DType::kBFloat16, {2}, std::vector<uint16_t>{0x3F80, 0x4000}));
  g.setInitializer("f64", tensor(DType::kFloat64, {1}, std::vector<double>{1.0 / 3.0}));
  g.setInitializer("i8", tensor(DType::kInt8, {3}, std::vector<int8_t>{-128, 0, 127}));
  g.setInitializer("u8", tensor(DType::kUInt8, {3}, std::vector<uint8_t>{0, 128, 255}));
  g.setInitializer("i16", tensor(DType::kInt16, {1}, std::vector<int16_t>{-300}));
  g.setInitializer("u16", tensor(DType::kUInt16, {1}, std::vector<uint16_t>{60000}));
  g.setInitializer("i32", tensor(DType::kInt32, {2}, std::vector<int32_t>{-1, 1 << 30}));
  g.setInitializer("i64", tensor(DType::kInt64, {1}, std::vector<int64_t>{-(1ll << 40)}));
  g.setInitializer("u32", tensor(DType::kUInt32, {1}, std::vector<uint32_t>{4000000000u}));
  g.setInitializer("u64", tensor(DType::kUInt64, {1}, std::vector<uint64_t>{1ull << 63}));
  g.setInitializer("bool", tensor(DType::kBool, {2}, std::vector<uint8_t>{1, 0}));
  g.setInitializer("c64", tensor(DType::kComplex64, {1}, std::vector<float>{1, -1}));
  g.setInitializer("empty", Tensor(DType::kFloat32, {0, 3}));
  Tensor strings(DType::kString, {2});
  strings.strings() = {"person", "bicycle"};
  g.setInitializer("names", strings);
  return m;
}

// If with two branches that capture the outer 'x' and hold their own initializers.
Model ifBranches() {
  Model m = baseModel("if");
  m.graph.inputs.push_back(tensorValue("x", DType::kFloat32, staticDims({2})));
  m.graph.inputs.push_back(tensorValue("cond", DType::kBool, staticDims({})));
  m.graph.outputs.push_back(tensorValue("y", DType::kFloat32, staticDims({2})));
  std::vector<Attribute> branches;
  for (const char* name : {"then_branch", "else_branch"}) {
    Graph g;
    g.name = std::string(name) + "_graph";
    g.setInitializer("k", tensor(DType::kFloat32, {1}, std::vector<float>{2.0f}));
    Node add = node("Add", {"x", "k"}, {std::string(name) + "_out"});
    g.nodes.push_back(add);
    g.outputs.push_back(tensorValue(std::string(name) + "_out", DType::kFloat32, staticDims({2})));
    branches.push_back(Attribute::makeGraph(name, std::move(g)));
  }
  m.graph.nodes.push_back(node("If", {"cond"}, {"y"}, std::move(branches)));
  return m;
}

// Loop summing 'x' `n` times: a body graph with iteration inputs and a carried value.
Model loopSum() {
  Model m = baseModel("loop");
  m.graph.inputs.push_back(tensorValue("x", DType::kFloat32, staticDims({3})));
  m.graph.outputs.push_back(tensorValue("acc_out", DType::kFloat32, staticDims({3})));
  m.graph.setInitializer("n", tensor(DType::kInt64, {}, std::vector<int64_t>{4}));
  m.graph.setInitializer("go", tensor(DType::kBool, {}, std::vector<uint8_t>{1}));
  m.graph.setInitializer("zero", tensor(DType::kFloat32, {3}, std::vector<float>{0, 0, 0}));
  Graph body;
  body.name = "body";
  body.inputs.push_back(tensorValue("i", DType::kInt64, staticDims({})));
  body.inputs.push_back(tensorValue("c_in", DType::kBool, staticDims({})));
  body.inputs.push_back(tensorValue("acc", DType::kFloat32, staticDims({3})));
  body.nodes.push_back(node("Identity", {"c_in"}, {"c_out"}));
  body.nodes.push_back(node("Add", {"acc", "x"}, {"acc_next"}));
  body.outputs.push_back(tensorValue("c_out", DType::kBool, staticDims({})));
  body.outputs.push_back(tensorValue("acc_next", DType::kFloat32, staticDims({3})));
  m.graph.nodes.push_back(node("Loop", {"n", "go", "zero"}, {"acc_out"},
                               {Attribute::makeGraph("body", std::move(body))}));
  return m;
}

// Dynamic batch: symbolic and unknown dims, a Shape -> Gather -> Concat -> Reshape chain that
// only data propagation resolves, Ultralytics-style metadata.
Model dynamicBatch() {
  Model m = baseModel("dynamic");
  m.metadata = {{"stride", "32"}, {"names", "{0: 'person', 1: 'bicycle'}"}};
  m.doc_string = "dynamic batch seed";
  m.graph.inputs.push_back(
      tensorValue("images", DType::kFloat32, {Dim{-1, "batch"}, Dim{3, {}}, Dim{4, {}}, Dim{}}));
  m.graph.outputs.push_back(tensorValue("flat", DType::kFloat32, {Dim{-1, "batch"}, Dim{}}));
  m.graph.setInitializer("idx", tensor(DType::kInt64, {1}, std::vector<int64_t>{0}));
  m.graph.setInitializer("minus1", tensor(DType::kInt64, {1}, std::vector<int64_t>{-1}));
  m.graph.nodes.push_back(node("Shape", {"images"}, {"shape"}));
  m.graph.nodes.push_back(
      node("Gather", {"shape", "idx"}, {"batch"}, {Attribute::makeInt("axis", 0)}));
  m.graph.nodes.push_back(
      node("Concat", {"batch", "minus1"}, {"target"}, {Attribute::makeInt("axis", 0)}));
  m.graph.nodes.push_back(node("Reshape", {"images", "target"}, {"flat"}));
  ValueInfo declared = tensorValue("shape", DType::kInt64, staticDims({4}));
  declared.doc_string = "declared value_info";
  m.graph.value_info.push_back(declared);
  return m;
}

// Constant nodes with every value_* attribute kind, and a Cast.
Model constants() {
  Model m = baseModel("constants");
  m.graph.outputs.push_back(tensorValue("cast", DType::kInt32, staticDims({2})));
  m.graph.nodes.push_back(
      node("Constant", {}, {"t"},
           {Attribute::makeTensor("value",
                                  tensor(DType::kFloat32, {2}, std::vector<float>{1.5f, -2.0f}))}));
  m.graph.nodes.push_back(
      node("Constant", {}, {"fs"}, {Attribute::makeFloats("value_floats", {1, 2})}));
  m.graph.nodes.push_back(
      node("Constant", {}, {"is"}, {Attribute::makeInts("value_ints", {3, 4})}));
  m.graph.nodes.push_back(node("Constant", {}, {"f"}, {Attribute::makeFloat("value_float", 0.5f)}));
  m.graph.nodes.push_back(node("Constant", {}, {"i"}, {Attribute::makeInt("value_int", 7)}));
  m.graph.nodes.push_back(
      node("Constant", {}, {"s"}, {Attribute::makeString("value_string", "a")}));
  m.graph.nodes.push_back(
      node("Constant", {}, {"ss"}, {Attribute::makeStrings("value_strings", {"x", "y"})}));
  m.graph.nodes.push_back(node("Cast", {"t"}, {"cast"},
                               {Attribute::makeInt("to", static_cast<int64_t>(DType::kInt32))}));
  return m;
}

// The ai.onnx.ml domain.
Model mlDomain() {
  Model m = baseModel("ml");
  m.opset_imports.push_back({"ai.onnx.ml", 3});
  m.graph.inputs.push_back(tensorValue("x", DType::kFloat32, staticDims({1, 4})));
  m.graph.outputs.push_back(tensorValue("y", DType::kFloat32, staticDims({1, 4})));
  Node n = node("Normalizer", {"x"}, {"y"}, {Attribute::makeString("norm", "L2")});
  n.domain = "ai.onnx.ml";
  m.graph.nodes.push_back(n);
  return m;
}

// IR 9 / opset 19 (newer than onnx 1.12 knows), quantize -> dequantize.
Model ir9Qdq() {
  Model m = baseModel("qdq", 19);
  m.ir_version = 9;
  m.graph.inputs.push_back(tensorValue("x", DType::kFloat32, staticDims({1, 4})));
  m.graph.outputs.push_back(tensorValue("y", DType::kFloat32, staticDims({1, 4})));
  m.graph.setInitializer("scale", tensor(DType::kFloat32, {}, std::vector<float>{0.05f}));
  m.graph.setInitializer("zp", tensor(DType::kUInt8, {}, std::vector<uint8_t>{128}));
  m.graph.nodes.push_back(node("QuantizeLinear", {"x", "scale", "zp"}, {"q"}));
  m.graph.nodes.push_back(node("DequantizeLinear", {"q", "scale", "zp"}, {"y"}));
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus folder>\n", argv[0]);
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir);
  const std::vector<std::pair<const char*, Model>> seeds = {
      {"relu", relu()},
      {"conv_silu", convSilu()},
      {"head", headPlumbing()},
      {"dtypes", allDtypes()},
      {"if", ifBranches()},
      {"loop", loopSum()},
      {"dynamic", dynamicBatch()},
      {"constants", constants()},
      {"ml", mlDomain()},
      {"ir9_qdq", ir9Qdq()},
  };
  int failures = 0;
  for (const auto& [name, model] : seeds) {
    Result<std::string> bytes = serializeModel(model);
    if (!bytes.isOk()) {
      std::fprintf(stderr, "%s: %s\n", name, bytes.status().message().c_str());
      ++failures;
      continue;
    }
    LoadReport report;
    Result<Model> back =
        loadModelFromBytes(*bytes, name, {}, {.strict_shape_inference = true}, &report);
    if (!back.isOk()) {
      std::fprintf(stderr, "%s does not load: %s\n", name, back.status().message().c_str());
      ++failures;
      continue;
    }
    const std::filesystem::path out = dir / (std::string("seed_") + name + ".onnx");
    std::ofstream(out, std::ios::binary)
        .write(bytes->data(), static_cast<std::streamsize>(bytes->size()));
    std::printf("%s: %zu bytes\n", out.string().c_str(), bytes->size());
  }
  return failures == 0 ? 0 : 1;
}
