#pragma once
// The `inspect` job: load a model, check it, infer shapes, count params / MACs / sparsity, and
// list the operators the engine cannot run yet. Shared by `detslim inspect` and the GUI's
// model panel.

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/graph/stats.h"
#include "core/onnx/onnx_io.h"

namespace detslim {

struct InspectOptions {
  // Square input size override for every 4-D image input (0 keeps the file's size).
  int64_t input_size = 0;
  bool run_checker = true;
};

struct UnsupportedOp {
  std::string domain;
  std::string op_type;
  std::vector<std::string> nodes;  // node names (or "-> output" when unnamed)
};

struct ModelInspection {
  std::filesystem::path path;
  Model model;
  LoadReport report;
  ModelStats stats;
  std::vector<UnsupportedOp> unsupported_ops;
  std::vector<std::string> class_names;
};

// Refuses what loadModel refuses; never modifies the file.
Result<ModelInspection> inspectModel(const std::filesystem::path& path,
                                     const InspectOptions& options = {});

// The operators of `graph` the engine's op list (core/kernels/ops.inc) does not hold.
std::vector<UnsupportedOp> findUnsupportedOps(const Graph& graph);

// The JSON form `detslim inspect --json` prints (keys documented in docs/cli.md).
nlohmann::json inspectionToJson(const ModelInspection& inspection, bool include_layers = true);

}  // namespace detslim
