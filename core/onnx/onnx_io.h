#pragma once
// ONNX <-> IR. The only part of DetSlim that includes onnx headers (they stay in the .cpp).
//
// What the loader checks (docs/onnx.md): protobuf well-formedness, that the file is a model
// (ir_version, a graph, opset imports), every initializer's byte count against its dims and
// dtype, external data files (present, inside the model's folder, long enough), node domains
// DetSlim knows, the ONNX 1.12 checker on the in-memory proto (never the path form, which
// rewrites the file), then ONNX shape inference on a copy. IR 9+ files: onnx 1.12's checker
// refuses IR > 8, so DetSlim checks an in-memory copy with ir_version lowered to 8 and says so
// in the LoadReport; IR-9-only features (float8 types) are then checked by DetSlim alone.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"
#include "core/base/tensor.h"
#include "core/graph/graph.h"

namespace detslim {

struct LoadOptions {
  bool run_checker = true;
  bool infer_shapes = true;
  // Shape inference errors fail the load (default: they become warnings).
  bool strict_shape_inference = false;
  // Replace graph input dims before shape inference, by input name (e.g. {"images", {1,3,320,320}}).
  std::vector<std::pair<std::string, Shape>> input_shapes;
};

struct LoadReport {
  std::string path;
  int64_t file_bytes = 0;
  bool checker_ran = false;
  bool checker_passed = false;
  std::string checker_note;       // e.g. "IR 9 checked as IR 8: onnx 1.12's checker knows IR <= 8"
  bool shapes_inferred = false;
  std::vector<std::string> warnings;
};

// Loads an .onnx file. Refuses (kNotFound / kParse / kInvalidArgument / kUnsupported) with a
// message that starts with the path and names the field, node or initializer at fault.
Result<Model> loadModel(const std::filesystem::path& path, const LoadOptions& options = {},
                        LoadReport* report = nullptr);

// Same from bytes in memory; `display_name` is used in messages, external data is resolved
// against `base_dir` (empty: external data is refused).
Result<Model> loadModelFromBytes(std::string_view bytes, const std::string& display_name,
                                 const std::filesystem::path& base_dir,
                                 const LoadOptions& options = {}, LoadReport* report = nullptr);

struct SaveOptions {
  bool run_checker = true;  // refuse to write a model the checker rejects
};

// Serializes the IR (weights as raw_data, declared value_info kept). Writes to a temporary file
// beside `path` and renames it, so a failed save never leaves a half file.
Status saveModel(const Model& model, const std::filesystem::path& path, const SaveOptions& options = {});
Result<std::string> serializeModel(const Model& model);

// Runs the ONNX checker on the IR (converted to a proto in memory). `note` receives what was
// checked when the IR version had to be lowered.
Status checkModel(const Model& model, std::string* note = nullptr);

// Runs ONNX shape inference on a copy of the model and stores every inferred value type in
// model.graph.inferred_types (declared types are kept as they are).
Status inferShapes(Model& model, bool strict = false, std::vector<std::string>* warnings = nullptr);

// Reads a serialized TensorProto (.pb files of ONNX test data).
Result<Tensor> loadTensorFile(const std::filesystem::path& path);
// Name stored in a serialized TensorProto file ("" when none).
Result<std::string> tensorFileName(const std::filesystem::path& path);

}  // namespace detslim
