#pragma once
// Helpers shared by the core/onnx tests: a tiny valid model (temporary folders and file bytes
// come from tests/temp_files.h).

#include <cstdint>
#include <filesystem>
#include <string>

#include "core/graph/graph.h"
#include "temp_files.h"

namespace detslim::testing {

// FNV-1a over the file's bytes: enough to notice any change to a file under test.
inline uint64_t fileHash(const std::filesystem::path& path) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : readBytes(path)) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

inline ValueInfo tensorValue(const std::string& name, DType dtype, const Shape& shape) {
  ValueInfo v;
  v.name = name;
  v.type.dtype = dtype;
  v.type.has_shape = true;
  for (int64_t d : shape) v.type.dims.push_back(Dim{d, {}});
  return v;
}

// x: float32[1, 4] -> Relu -> y, opset 17, IR 8. Passes the ONNX checker.
inline Model tinyModel() {
  Model m;
  m.ir_version = 8;
  m.opset_imports = {{"", 17}};
  m.producer_name = "detslim-tests";
  m.graph.name = "tiny";
  m.graph.inputs.push_back(tensorValue("x", DType::kFloat32, {1, 4}));
  m.graph.outputs.push_back(tensorValue("y", DType::kFloat32, {1, 4}));
  Node relu;
  relu.name = "relu";
  relu.op_type = "Relu";
  relu.inputs = {"x"};
  relu.outputs = {"y"};
  m.graph.nodes.push_back(relu);
  return m;
}

}  // namespace detslim::testing
