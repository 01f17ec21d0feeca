#pragma once
// Conversions between the ONNX protobuf classes and the IR, private to core/onnx. The protobuf
// classes are only forward-declared here so that no onnx header is seen outside this folder's
// .cpp files (onnx_io.h promises callers an onnx-free interface).

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/base/tensor.h"
#include "core/graph/graph.h"

namespace onnx {
class GraphProto;
class ModelProto;
class TensorProto;
class TypeProto;
}  // namespace onnx

namespace detslim::onnx_detail {

// How tensor payloads are found. External data is resolved against `base_dir`; an empty
// `base_dir` refuses external data (a model read from memory has no folder).
struct TensorSource {
  std::filesystem::path base_dir;
};

// Decodes a TensorProto (raw_data, typed fields or external data). `label` names the tensor in
// messages ("initializer 'conv.weight'"). Refuses unknown element types, negative dims, dims whose
// product overflows, segments, payloads whose size disagrees with dims x element size, and
// external files that are missing, outside `base_dir` or too short -- all before allocating.
Result<Tensor> tensorFromProto(const onnx::TensorProto& proto, const TensorSource& source,
                               const std::string& label);

// Writes dims, data_type and the payload: raw_data (little endian) for every fixed-size type,
// string_data for strings. Refuses a tensor without a dtype.
Status tensorToProto(const Tensor& tensor, onnx::TensorProto* proto);

// Tensor element type and dims of a TypeProto holding a tensor_type; nullopt for anything else
// and for element types DetSlim does not know.
std::optional<TensorType> tensorTypeFromProto(const onnx::TypeProto& type);

// Proto -> IR for a whole model. Checks node domains (known ones plus the model's own function
// domains, each with an opset_import), duplicate initializer names and recursive model-local
// functions. Messages do not start with the file name; the caller adds it. Notes that are not
// errors (unused unknown domains, fields DetSlim cannot keep) go to `warnings`.
Result<Model> modelFromProto(const onnx::ModelProto& proto, const TensorSource& source,
                             std::vector<std::string>* warnings);

// IR -> proto. Opaque parts (functions, training info, sparse initializers, non-tensor types,
// opaque attributes) are parsed back from their bytes; bytes that do not parse are refused.
Status modelToProto(const Model& model, onnx::ModelProto* proto);

// Copies every tensor type found in the graph's value_info, outputs and inputs (after ONNX shape
// inference) into graph.inferred_types, recursing into subgraphs that match the IR's structure.
void collectInferredTypes(const onnx::GraphProto& proto, Graph& graph);

// "[1, 3, 640, 640]" for messages.
std::string dimsToString(const std::vector<int64_t>& dims);

}  // namespace detslim::onnx_detail
