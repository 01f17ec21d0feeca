#pragma once
// Helpers shared by the core/onnx tests: temporary folders, file bytes, a tiny valid model.

#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>

#include "core/graph/graph.h"

namespace detslim::testing {

// A fresh folder under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "detslim-onnx-XXXXXX").string();
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

inline std::string readBytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void writeBytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

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
