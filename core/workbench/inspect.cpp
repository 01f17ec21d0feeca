#include "core/workbench/inspect.h"

#include <map>
#include <system_error>

#include <nlohmann/json.hpp>

#include "core/kernels/registry.h"

namespace detslim {

namespace {

nlohmann::json valueInfoJson(const ValueInfo& v, const Graph& graph) {
  const TensorType* type = graph.typeOf(v.name);
  nlohmann::json shape = nlohmann::json::array();
  nlohmann::json j{{"name", v.name}};
  if (type) {
    j["dtype"] = std::string(dtypeName(type->dtype));
    if (type->has_shape) {
      for (const Dim& d : type->dims) {
        if (d.isStatic()) shape.push_back(d.value);
        else if (!d.param.empty()) shape.push_back(d.param);
        else shape.push_back(nullptr);
      }
      j["shape"] = shape;
    } else {
      j["shape"] = nullptr;
    }
  } else {
    j["dtype"] = "undefined";
    j["shape"] = nullptr;
  }
  return j;
}

}  // namespace

std::vector<UnsupportedOp> findUnsupportedOps(const Graph& graph) {
  std::map<std::pair<std::string, std::string>, UnsupportedOp> by_op;
  for (const Node& node : graph.nodes) {
    if (findOp(node.domain, node.op_type)) continue;
    UnsupportedOp& entry = by_op[{node.domain, node.op_type}];
    entry.domain = node.domain;
    entry.op_type = node.op_type;
    entry.nodes.push_back(node.name.empty() && !node.outputs.empty() ? "-> " + node.outputs[0]
                                                                      : node.name);
  }
  std::vector<UnsupportedOp> out;
  for (auto& [key, entry] : by_op) out.push_back(std::move(entry));
  return out;
}

Result<ModelInspection> inspectModel(const std::filesystem::path& path,
                                     const InspectOptions& options) {
  LoadOptions load;
  load.run_checker = options.run_checker;
  ModelInspection result;
  result.path = path;
  if (options.input_size > 0) {
    // Read once without inference to learn the image inputs, then reload with the override.
    LoadOptions probe = load;
    probe.infer_shapes = false;
    probe.run_checker = false;
    DS_ASSIGN_OR_RETURN(Model probe_model, loadModel(path, probe));
    for (const ValueInfo& in : probe_model.graph.inputs) {
      if (probe_model.graph.isInitializer(in.name)) continue;
      const TensorType& t = in.type;
      if (t.has_shape && t.dims.size() == 4) {
        Shape s{t.dims[0].isStatic() ? t.dims[0].value : 1, t.dims[1].isStatic() ? t.dims[1].value : 3,
                options.input_size, options.input_size};
        load.input_shapes.emplace_back(in.name, s);
      }
    }
    if (load.input_shapes.empty()) {
      return invalidArgument(path.string() + ": --size " + std::to_string(options.input_size) +
                             " given, but the model has no 4-D image input to resize");
    }
  }
  DS_ASSIGN_OR_RETURN(result.model, loadModel(path, load, &result.report));
  result.stats = computeStats(result.model.graph);
  result.unsupported_ops = findUnsupportedOps(result.model.graph);
  result.class_names = result.model.classNames();
  return result;
}

nlohmann::json inspectionToJson(const ModelInspection& in, bool include_layers) {
  using nlohmann::json;
  const Model& m = in.model;
  const ModelStats& s = in.stats;
  json j;
  j["path"] = in.path.string();
  j["file_bytes"] = in.report.file_bytes;
  j["ir_version"] = m.ir_version;
  json opset = json::object();
  for (const OpsetImport& o : m.opset_imports) opset[o.domain.empty() ? "ai.onnx" : o.domain] = o.version;
  j["opset"] = opset;
  j["producer"] = m.producer_name + (m.producer_version.empty() ? "" : " " + m.producer_version);
  j["graph_name"] = m.graph.name;
  json metadata = json::object();
  for (const auto& [k, v] : m.metadata) metadata[k] = v;
  j["metadata"] = metadata;
  j["class_names"] = in.class_names;
  json inputs = json::array();
  for (const ValueInfo& v : m.graph.inputs) {
    if (!m.graph.isInitializer(v.name)) inputs.push_back(valueInfoJson(v, m.graph));
  }
  j["inputs"] = inputs;
  json outputs = json::array();
  for (const ValueInfo& v : m.graph.outputs) outputs.push_back(valueInfoJson(v, m.graph));
  j["outputs"] = outputs;
  j["params"] = s.params;
  j["macs"] = s.macs;
  j["macs_ptflops"] = s.macs_ptflops;
  j["weight_bytes"] = s.weight_bytes;
  j["weight_bytes_by_dtype"] = s.weight_bytes_by_dtype;
  j["params_by_dtype"] = s.params_by_dtype;
  j["weight_sparsity"] = s.weight_elements ? static_cast<double>(s.weight_zeros) / static_cast<double>(s.weight_elements) : 0.0;
  j["nodes"] = s.nodes;
  j["initializers"] = s.initializers;
  j["op_counts"] = s.op_counts;
  j["nan_inf_initializers"] = s.nan_inf_initializers;
  j["unknown_mac_layers"] = s.unknown_mac_layers;
  j["checker"] = {{"ran", in.report.checker_ran},
                  {"passed", in.report.checker_passed},
                  {"note", in.report.checker_note}};
  j["shapes_inferred"] = in.report.shapes_inferred;
  j["warnings"] = in.report.warnings;
  json unsupported = json::array();
  for (const UnsupportedOp& u : in.unsupported_ops) {
    unsupported.push_back({{"domain", u.domain.empty() ? "ai.onnx" : u.domain},
                           {"op_type", u.op_type},
                           {"nodes", u.nodes}});
  }
  j["unsupported_ops"] = unsupported;
  json layers = json::array();
  if (include_layers) {
    for (const LayerStats& l : s.layers) {
      layers.push_back({{"name", l.name},
                        {"op_type", l.op_type},
                        {"input_shapes", l.input_shapes},
                        {"output_shapes", l.output_shapes},
                        {"params", l.params},
                        {"macs", l.macs},
                        {"macs_ptflops", l.macs_ptflops},
                        {"macs_known", l.macs_known},
                        {"weight_dtype", l.weight_dtype},
                        {"weight_elements", l.weight_elements},
                        {"weight_zeros", l.weight_zeros},
                        {"sparsity", l.sparsity}});
    }
  }
  j["layers"] = layers;
  return j;
}

}  // namespace detslim
