// Quantization plan and QDQ model builder (docs/quant.md, "The QDQ format DetSlim writes and runs").

#include "core/quant/qdq.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <numeric>
#include <optional>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "core/engine/engine.h"
#include "core/graph/elementwise_chain.h"
#include "core/graph/passes.h"
#include "core/onnx/onnx_io.h"
#include "core/quant/scale_table.h"

namespace detslim::quant {

namespace {

constexpr int64_t kQdqOpset = 13;         // per-axis DequantizeLinear (weights, biases)
constexpr int64_t kMinUpgradableOpset = 11;
constexpr int64_t kIrForOpset13 = 7;      // ONNX 1.8 shipped IR 7 with opset 13
constexpr float kWeightLevels = 127.0f;   // symmetric int8 weights in [-127, 127]
// |B_q| stays below this: a bias that would need more widens its channel's weight scale instead
// (ONNX Runtime's _adjust_weight_scale_for_int32_bias), and half of int32 leaves the integer
// accumulation of the engine room before it could overflow.
constexpr double kBiasLimit = 1073741823.0;

bool isDefaultDomain(const std::string& d) { return d.empty() || d == "ai.onnx"; }

bool isConv(const Node& n) { return n.op_type == "Conv" && isDefaultDomain(n.domain); }

// A Conv's name as plans and keep lists use it: the node name, or its output for unnamed nodes.
std::string convName(const Node& n) { return n.name.empty() && !n.outputs.empty() ? n.outputs[0] : n.name; }

// Names not yet used in a graph, handed out in order.
class NameAllocator {
 public:
  explicit NameAllocator(const Graph& g) {
    for (const ValueInfo& v : g.inputs) taken_.insert(v.name);
    for (const ValueInfo& v : g.outputs) taken_.insert(v.name);
    for (const ValueInfo& v : g.value_info) taken_.insert(v.name);
    for (const NamedTensor& t : g.initializers()) taken_.insert(t.name);
    for (const Node& n : g.nodes) {
      taken_.insert(n.name);
      for (const std::string& s : n.inputs) taken_.insert(s);
      for (const std::string& s : n.outputs) taken_.insert(s);
    }
  }
  std::string fresh(const std::string& stem) {
    std::string name = stem;
    for (int k = 1; taken_.count(name); ++k) name = stem + "_" + std::to_string(k);
    taken_.insert(name);
    return name;
  }

 private:
  std::unordered_set<std::string> taken_;
};

// Union-find over value names.
class ValueSets {
 public:
  size_t id(const std::string& v) {
    auto [it, inserted] = ids_.emplace(v, parent_.size());
    if (inserted) parent_.push_back(parent_.size());
    return it->second;
  }
  size_t root(size_t i) {
    while (parent_[i] != i) i = parent_[i] = parent_[parent_[i]];
    return i;
  }
  void join(const std::string& a, const std::string& b) {
    const size_t ra = root(id(a)), rb = root(id(b));
    if (ra != rb) parent_[std::max(ra, rb)] = std::min(ra, rb);
  }
  std::optional<size_t> rootOf(const std::string& v) {
    auto it = ids_.find(v);
    if (it == ids_.end()) return std::nullopt;
    return root(it->second);
  }

 private:
  std::unordered_map<std::string, size_t> ids_;
  std::vector<size_t> parent_;
};

// The data tensors a scale-preserving op moves unchanged (inputs and outputs together), or empty
// when the op is none.
std::vector<std::string> scalePreservingTensors(const Node& n) {
  if (!isDefaultDomain(n.domain) || n.outputs.empty()) return {};
  std::vector<std::string> data;
  if (n.op_type == "Concat") {
    data = n.inputs;
    data.push_back(n.outputs[0]);
  } else if (n.op_type == "MaxPool" || n.op_type == "Slice" ||
             (n.op_type == "Resize" && n.stringOr("mode", "nearest") == "nearest")) {
    data = {n.input(0), n.outputs[0]};
  } else if (n.op_type == "Split") {
    data = {n.input(0)};
    data.insert(data.end(), n.outputs.begin(), n.outputs.end());
  }
  data.erase(std::remove(data.begin(), data.end(), std::string()), data.end());
  return data;
}

// Why a Conv cannot be quantized ("" when it can).
std::string whyNotQuantizable(const Graph& g, const Node& conv, const std::unordered_set<std::string>& constants) {
  const Tensor* w = g.initializer(conv.input(1));
  if (!w) return "its weight is not an initializer";
  if (w->dtype() != DType::kFloat32) return "its weight is " + std::string(dtypeName(w->dtype())) + ", not float32";
  if (w->rank() < 3) return "its weight has rank " + std::to_string(w->rank());
  if (!conv.input(2).empty()) {
    const Tensor* b = g.initializer(conv.input(2));
    if (!b) return "its bias is not an initializer";
    if (b->dtype() != DType::kFloat32 || b->numel() != w->shape()[0]) return "its bias is not float32 [out channels]";
  }
  if (conv.input(0).empty() || constants.count(conv.input(0))) return "its input is a constant";
  if (const TensorType* t = g.typeOf(conv.input(0)); t && t->dtype != DType::kUndefined && t->dtype != DType::kFloat32) {
    return "its input is " + std::string(dtypeName(t->dtype));
  }
  return "";
}

// Values fixed before anything runs: initializers and Constant outputs.
std::unordered_set<std::string> constantValues(const Graph& g) {
  std::unordered_set<std::string> c;
  for (const NamedTensor& t : g.initializers()) c.insert(t.name);
  for (const Node& n : g.nodes) {
    if (n.op_type == "Constant" && isDefaultDomain(n.domain)) c.insert(n.outputs.begin(), n.outputs.end());
  }
  return c;
}

Tensor scalarTensor(DType dtype, double value) {
  Tensor t(dtype, {});
  switch (dtype) {
    case DType::kFloat32: *t.mutableData<float>() = static_cast<float>(value); break;
    case DType::kUInt8: *t.mutableData<uint8_t>() = static_cast<uint8_t>(value); break;
    case DType::kInt8: *t.mutableData<int8_t>() = static_cast<int8_t>(value); break;
    default: break;
  }
  return t;
}

int64_t initializerBytes(const Graph& g) {
  int64_t bytes = 0;
  for (const NamedTensor& t : g.initializers()) bytes += static_cast<int64_t>(t.tensor.bytes());
  return bytes;
}

// ---- opset upgrade (11 / 12 -> 13) ----------------------------------------------------------

// Moves an ints attribute to a new int64 initializer read as input `index`.
void attributeToInput(Graph& g, Node& n, const std::string& attr, size_t index, NameAllocator& names) {
  const Attribute* a = n.attr(attr);
  if (!a) return;
  const std::vector<int64_t> values = a->ints;
  const std::string name = names.fresh((n.name.empty() ? n.outputs[0] : n.name) + "_" + attr);
  g.setInitializer(name, Tensor::fromVector(DType::kInt64, {static_cast<int64_t>(values.size())}, values));
  if (n.inputs.size() < index + 1) n.inputs.resize(index + 1);
  n.inputs[index] = name;
  n.removeAttr(attr);
}

Status upgradeGraph(Graph& g, std::vector<std::string>& notes) {
  NameAllocator names(g);
  int moved = 0;
  for (Node& n : g.nodes) {
    for (Attribute& a : n.attributes) {
      if (a.kind == Attribute::Kind::kGraph && a.g) {
        a.g = std::make_shared<Graph>(*a.g);  // the caller's model shares the subgraph
        DS_RETURN_IF_ERROR(upgradeGraph(*a.g, notes));
      } else if (a.kind == Attribute::Kind::kGraphs) {
        for (auto& sub : a.graphs) {
          sub = std::make_shared<Graph>(*sub);
          DS_RETURN_IF_ERROR(upgradeGraph(*sub, notes));
        }
      }
    }
    if (!isDefaultDomain(n.domain)) continue;
    if (n.op_type == "Split" && n.hasAttr("split")) {
      attributeToInput(g, n, "split", 1, names);
      ++moved;
    } else if ((n.op_type == "Squeeze" || n.op_type == "Unsqueeze" || n.op_type == "ReduceSum") && n.hasAttr("axes")) {
      attributeToInput(g, n, "axes", 1, names);
      ++moved;
    } else if (n.op_type == "Dropout") {
      n.removeAttr("ratio");  // an input since opset 12; inference ignores it
    } else if (n.op_type == "Softmax" || n.op_type == "LogSoftmax" || n.op_type == "Hardmax") {
      // Before 13 the op flattens to 2-D at `axis` (default 1); from 13 it works along `axis`
      // (default -1). The same only when axis is the last dimension.
      const TensorType* t = g.typeOf(n.input(0));
      const int64_t axis = n.intOr("axis", 1);
      const auto rank = t && t->has_shape ? static_cast<int64_t>(t->dims.size()) : -1;
      if (rank < 0 || (axis != -1 && axis != rank - 1)) {
        return unsupported(n.describe() + " (axis " + std::to_string(axis) +
                           ") changes meaning from opset 13 on, which per-axis DequantizeLinear needs; "
                           "export the model at opset 13 or later");
      }
      n.setAttr(Attribute::makeInt("axis", axis));
    } else if (n.op_type == "Resize" && n.stringOr("coordinate_transformation_mode", "") == "tf_half_pixel_for_nn") {
      return unsupported(n.describe() + " uses coordinate_transformation_mode tf_half_pixel_for_nn, which "
                         "opset 13 (needed for per-axis DequantizeLinear) no longer has");
    }
  }
  if (moved > 0) {
    notes.push_back(std::to_string(moved) + " Split / Squeeze / Unsqueeze / ReduceSum attribute(s) moved to inputs");
  }
  return Status::ok();
}

}  // namespace

// ---- plan ---------------------------------------------------------------------------------------

std::vector<std::string> QuantizationPlan::tensors() const {
  std::vector<std::string> all;
  for (const auto& g : tensor_groups) all.insert(all.end(), g.begin(), g.end());
  return all;
}

std::vector<std::string> QuantizationPlan::preActivationTensors() const {
  std::vector<std::string> all;
  for (const PreActivation& p : pre_activations) all.push_back(p.tensor);
  return all;
}

std::vector<std::string> defaultKeepFp32(const Model& model) {
  const Graph& g = model.graph;
  std::unordered_set<size_t> keep;
  // First Convs: forward from the graph inputs through non-Conv nodes (Shape / Size carry no data).
  std::unordered_set<std::string> reached;
  for (const ValueInfo& v : g.inputs) {
    if (!g.isInitializer(v.name)) reached.insert(v.name);
  }
  Result<std::vector<size_t>> order = g.topologicalOrder();
  std::vector<size_t> nodes(g.nodes.size());
  std::iota(nodes.begin(), nodes.end(), size_t{0});
  if (order) nodes = *order;
  for (size_t i : nodes) {
    const Node& n = g.nodes[i];
    if (isConv(n)) {
      if (reached.count(n.input(0))) keep.insert(i);
      continue;
    }
    if (n.op_type == "Shape" || n.op_type == "Size") continue;
    const bool any = std::any_of(n.inputs.begin(), n.inputs.end(), [&](const std::string& s) { return reached.count(s) > 0; });
    if (any) reached.insert(n.outputs.begin(), n.outputs.end());
  }
  // Head Convs: backward from the graph outputs through non-Conv nodes.
  const GraphIndex index(g);
  std::vector<std::string> stack;
  std::unordered_set<std::string> visited;
  for (const ValueInfo& v : g.outputs) stack.push_back(v.name);
  while (!stack.empty()) {
    const std::string v = stack.back();
    stack.pop_back();
    if (!visited.insert(v).second) continue;
    const std::optional<size_t> p = index.producer(v);
    if (!p) continue;
    if (isConv(g.nodes[*p])) {
      keep.insert(*p);
      continue;
    }
    for (const std::string& in : g.nodes[*p].inputs) {
      if (!in.empty()) stack.push_back(in);
    }
  }
  std::vector<std::string> names;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (keep.count(i)) names.push_back(convName(g.nodes[i]));
  }
  return names;
}

// QuantizationPlan::pre_activations (see planQuantization).
void addPreActivations(const Graph& g, int64_t model_opset, const std::unordered_set<std::string>& constants,
                       QuantizationPlan& plan) {
  const GraphIndex index(g);
  std::unordered_set<std::string> quantized;
  for (const std::vector<std::string>& group : plan.tensor_groups) quantized.insert(group.begin(), group.end());
  auto isFloat = [&](const std::string& v) {
    const TensorType* t = g.typeOf(v);
    return !t || t->dtype == DType::kUndefined || t->dtype == DType::kFloat32;
  };
  ChainLookups lookups;
  lookups.readers = [&](const std::string& v) { return index.consumers(v); };
  lookups.is_scalar_constant = [&](const std::string& v) {
    const std::optional<Shape> shape = g.staticShapeOf(v);
    return constants.count(v) && isFloat(v) && shape && shapeNumel(*shape) == 1;
  };
  lookups.is_graph_output = [&](const std::string& v) { return index.isGraphOutput(v); };
  const std::unordered_set<std::string> convs(plan.quantized_convs.begin(), plan.quantized_convs.end());
  for (const Node& conv : g.nodes) {
    if (!isConv(conv) || !convs.count(convName(conv))) continue;
    const std::string& t = conv.outputs[0];
    if (t.empty() || quantized.count(t) || index.isGraphOutput(t)) continue;
    const std::optional<Shape> shape = g.staticShapeOf(t);
    lookups.same_shape_float = [&](const std::string& v) {
      const std::optional<Shape> s = g.staticShapeOf(v);
      return isFloat(v) && (!shape || !s || *s == *shape);
    };
    // One chain, holding every reader of the conv output (another reader would read it quantized).
    const std::vector<ElementwiseChain> chains = elementwiseChainsFrom(t, g.nodes, lookups);
    if (chains.size() != 1) continue;
    const ElementwiseChain& chain = chains[0];
    if (!chain.transcendental || !quantized.count(chain.result)) continue;
    const std::vector<size_t>& readers = index.consumers(t);
    if (!std::all_of(readers.begin(), readers.end(), [&](size_t r) {
          return std::find(chain.nodes.begin(), chain.nodes.end(), r) != chain.nodes.end();
        })) {
      continue;
    }
    std::vector<Node> nodes;
    for (size_t c : chain.nodes) nodes.push_back(g.nodes[c]);
    Result<Model> m = subgraphModel(nodes, t, DType::kFloat32, chain.result, DType::kFloat32,
                                    [&](const std::string& v) { return g.initializer(v); }, model_opset);
    if (!m.isOk()) continue;  // a scalar that is a Constant node's output: left in the convolution
    plan.tensor_groups.push_back({t});
    plan.pre_activations.push_back({t, chain.result, std::move(*m)});
  }
}

Result<QuantizationPlan> planQuantization(const Model& model, const std::vector<std::string>& keep_fp32,
                                          bool pre_activations) {
  Model work = model;
  DS_RETURN_IF_ERROR(foldBatchNorm(work).status());
  const Graph& g = work.graph;
  std::vector<size_t> convs;
  std::unordered_set<std::string> conv_names;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (isConv(g.nodes[i])) {
      convs.push_back(i);
      conv_names.insert(convName(g.nodes[i]));
    }
  }
  const std::unordered_set<std::string> keep(keep_fp32.begin(), keep_fp32.end());
  for (const std::string& k : keep_fp32) {
    if (!conv_names.count(k)) {
      std::string example = convs.empty() ? "the model has no Conv" : "e.g. '" + convName(g.nodes[convs.front()]) + "'";
      return notFound("keep in f32: the model has no Conv node named '" + k + "' (" + example + ")");
    }
  }
  const std::unordered_set<std::string> constants = constantValues(g);
  QuantizationPlan plan;
  std::vector<std::string> seeds;
  for (size_t i : convs) {
    const Node& n = g.nodes[i];
    const std::string name = convName(n);
    if (keep.count(name)) {
      plan.kept_convs.push_back(name);
      continue;
    }
    const std::string why = whyNotQuantizable(g, n, constants);
    if (!why.empty()) {
      plan.kept_convs.push_back(name);
      plan.notes.push_back("Conv '" + name + "' stays f32: " + why);
      continue;
    }
    plan.quantized_convs.push_back(name);
    seeds.push_back(n.input(0));
  }
  // Join the data tensors of scale-preserving ops whose tensors are all float activations.
  auto eligible = [&](const std::string& v) {
    if (constants.count(v)) return false;
    const TensorType* t = g.typeOf(v);
    return !t || t->dtype == DType::kUndefined || t->dtype == DType::kFloat32;
  };
  ValueSets sets;
  for (const std::string& s : seeds) sets.id(s);
  for (const Node& n : g.nodes) {
    const std::vector<std::string> data = scalePreservingTensors(n);
    if (data.size() < 2 || !std::all_of(data.begin(), data.end(), eligible)) continue;
    for (size_t k = 1; k < data.size(); ++k) sets.join(data[0], data[k]);
  }
  std::unordered_set<size_t> quantized_roots;
  for (const std::string& s : seeds) quantized_roots.insert(*sets.rootOf(s));
  // Groups in the order their first member appears (graph inputs, then node outputs in order).
  std::vector<std::string> values;
  for (const ValueInfo& v : g.inputs) values.push_back(v.name);
  DS_ASSIGN_OR_RETURN(std::vector<size_t> order, g.topologicalOrder());
  for (size_t i : order) values.insert(values.end(), g.nodes[i].outputs.begin(), g.nodes[i].outputs.end());
  std::unordered_map<size_t, size_t> group_of_root;
  std::unordered_set<std::string> listed;
  for (const std::string& v : values) {
    if (v.empty() || !listed.insert(v).second) continue;
    const std::optional<size_t> r = sets.rootOf(v);
    if (!r || !quantized_roots.count(*r)) continue;
    auto [it, inserted] = group_of_root.emplace(*r, plan.tensor_groups.size());
    if (inserted) plan.tensor_groups.emplace_back();
    plan.tensor_groups[it->second].push_back(v);
  }
  if (pre_activations) addPreActivations(g, work.opsetVersion(""), constants, plan);
  return plan;
}

std::string dropUncalibratedPreActivations(QuantizationPlan& plan, const ScaleTable& table) {
  std::vector<std::string> dropped;
  std::erase_if(plan.pre_activations, [&](const QuantizationPlan::PreActivation& p) {
    if (table.find(p.tensor)) return false;
    dropped.push_back(p.tensor);
    return true;
  });
  if (dropped.empty()) return "";
  const std::unordered_set<std::string> gone(dropped.begin(), dropped.end());
  std::erase_if(plan.tensor_groups, [&](const std::vector<std::string>& group) {
    return group.size() == 1 && gone.count(group[0]);
  });
  return "the scale table has no range for " + std::to_string(dropped.size()) +
         " conv output(s) before their activation (calibrated without pre-activations): those "
         "activations run in float inside the int8 convolutions (slower); calibrate again for the "
         "integer tables";
}

Status narrowPreActivationRanges(const QuantizationPlan& plan, ActivationType type, ScaleTable& table) {
  constexpr int64_t kPoints = 8193;
  for (const QuantizationPlan::PreActivation& p : plan.pre_activations) {
    ScaleEntry* entry = table.find(p.tensor);
    const ScaleEntry* out = table.find(p.activation);
    if (!entry || !out) return notFound("pre-activation '" + p.tensor + "': the scale table lacks it or its activation");
    if (!(entry->hi > entry->lo)) continue;
    Tensor x(DType::kFloat32, {kPoints});
    float* xs = x.mutableData<float>();
    for (int64_t i = 0; i < kPoints; ++i) {
      xs[i] = static_cast<float>(entry->lo + (entry->hi - entry->lo) * static_cast<double>(i) / (kPoints - 1));
    }
    Result<Tensor> y = evaluateReference(p.chain, x);
    if (!y.isOk()) return y.status().withContext("pre-activation '" + p.tensor + "'");
    const float* ys = y->data<float>();
    const QuantParams q = out->params();
    // The first and last runs of one output code: the range's ends move into them, one
    // pre-activation step short of their inner ends, so the extreme codes (within half a step of
    // the ends) still give the run's output code.
    auto code = [&](int64_t i) { return quantizeValue(ys[i], q); };
    int64_t first = 0;
    while (first + 1 < kPoints && code(first + 1) == code(0)) ++first;
    int64_t last = kPoints - 1;
    while (last > first && code(last - 1) == code(kPoints - 1)) --last;
    const double spacing = (entry->hi - entry->lo) / (kPoints - 1);
    const double step = (xs[last] - xs[first]) / 255.0;  // the narrowed range's step, about
    TensorRange narrowed{std::max(entry->lo, xs[first] - step), std::min(entry->hi, xs[last] + step)};
    narrowed.lo = std::min(0.0, narrowed.lo);
    narrowed.hi = std::max(0.0, narrowed.hi);
    // Check on the grid: the dequantized extreme codes give the ends' output codes.
    const QuantParams n = quantParams(narrowed, type);
    const int32_t q_lo = type == ActivationType::kU8Asymmetric ? 0 : -128;
    const int32_t q_hi = type == ActivationType::kU8Asymmetric ? 255 : 127;
    auto gridIndex = [&](double v) {
      return std::clamp<int64_t>(std::llround((v - entry->lo) / spacing), 0, kPoints - 1);
    };
    if (code(gridIndex((q_lo - n.zero_point) * static_cast<double>(n.scale))) != code(0) ||
        code(gridIndex((q_hi - n.zero_point) * static_cast<double>(n.scale))) != code(kPoints - 1)) {
      continue;  // keep the calibrated range
    }
    entry->lo = narrowed.lo;
    entry->hi = narrowed.hi;
    entry->scale = n.scale;
    entry->zero_point = n.zero_point;
  }
  return Status::ok();
}

// ---- opset --------------------------------------------------------------------------------------

Result<std::vector<std::string>> upgradeOpsetTo13(Model& model) {
  const int64_t version = model.opsetVersion("");
  if (version >= kQdqOpset) return std::vector<std::string>{};
  if (version < kMinUpgradableOpset) {
    return unsupported("the model imports ai.onnx opset " + std::to_string(version) +
                       "; the QDQ format needs opset 13 (per-axis DequantizeLinear) and DetSlim upgrades only "
                       "from opset 11 or 12: re-export the model at opset 13 or later");
  }
  Model work = model;
  std::vector<std::string> notes;
  DS_RETURN_IF_ERROR(upgradeGraph(work.graph, notes));
  for (OpsetImport& o : work.opset_imports) {
    if (isDefaultDomain(o.domain)) o.version = kQdqOpset;
  }
  if (work.ir_version < kIrForOpset13) work.ir_version = kIrForOpset13;
  notes.insert(notes.begin(), "ai.onnx opset " + std::to_string(version) +
                                  " upgraded to 13 for per-axis DequantizeLinear");
  model = std::move(work);
  return notes;
}

// ---- QDQ model ----------------------------------------------------------------------------------

Result<QuantizedModel> quantizeModel(const Model& fp32, const ScaleTable& table, const QuantOptions& options) {
  Model work = fp32;
  DS_RETURN_IF_ERROR(foldBatchNorm(work).status());
  QuantizedModel out;
  QuantReport& report = out.report;
  report.weight_bytes_before = initializerBytes(work.graph);
  DS_ASSIGN_OR_RETURN(QuantizationPlan plan, planQuantization(work, options.keep_fp32, options.pre_activations));
  const std::string dropped = dropUncalibratedPreActivations(plan, table);
  DS_RETURN_IF_ERROR(checkScaleTable(table, plan));
  DS_ASSIGN_OR_RETURN(std::vector<std::string> upgrade_notes, upgradeOpsetTo13(work));
  report.notes = plan.notes;
  if (!dropped.empty()) report.notes.push_back(dropped);
  report.notes.insert(report.notes.end(), upgrade_notes.begin(), upgrade_notes.end());

  Graph& g = work.graph;
  NameAllocator names(g);
  const std::vector<std::string> tensors = plan.tensors();

  // 1. Activations: T -> Q -> T_quantized -> DQ -> T_dequantized; every reader of T reads
  // T_dequantized.
  std::unordered_map<std::string, std::string> dequantized;
  std::vector<Node> qdq_nodes;
  for (const std::string& t : tensors) {
    const ScaleEntry& e = *table.find(t);
    const std::string scale = names.fresh(t + "_scale");
    const std::string zero_point = names.fresh(t + "_zero_point");
    g.setInitializer(scale, scalarTensor(DType::kFloat32, e.scale));
    g.setInitializer(zero_point, scalarTensor(e.dtype, e.zero_point));
    Node q;
    q.name = names.fresh(t + "_QuantizeLinear");
    q.op_type = "QuantizeLinear";
    q.inputs = {t, scale, zero_point};
    q.outputs = {names.fresh(t + "_quantized")};
    Node dq;
    dq.name = names.fresh(t + "_DequantizeLinear");
    dq.op_type = "DequantizeLinear";
    dq.inputs = {q.outputs[0], scale, zero_point};
    dq.outputs = {names.fresh(t + "_dequantized")};
    dequantized.emplace(t, dq.outputs[0]);
    qdq_nodes.push_back(std::move(q));
    qdq_nodes.push_back(std::move(dq));
  }
  for (Node& n : g.nodes) {
    for (std::string& in : n.inputs) {
      auto it = dequantized.find(in);
      if (it != dequantized.end()) in = it->second;
    }
  }

  // 2. Weights and biases of the quantized Convs.
  const std::unordered_set<std::string> quantized(plan.quantized_convs.begin(), plan.quantized_convs.end());
  std::vector<std::string> replaced;  // f32 initializers that may now be unread
  int widened_channels = 0;
  for (Node& conv : g.nodes) {
    if (!isConv(conv) || !quantized.count(convName(conv))) continue;
    // Input 0 now reads X_dequantized; the scale of X is the table's.
    const std::string& x = conv.inputs[0];
    auto x_it = std::find_if(dequantized.begin(), dequantized.end(), [&](const auto& kv) { return kv.second == x; });
    if (x_it == dequantized.end()) return internalError(conv.describe() + ": its input was not quantized");
    const float x_scale = table.find(x_it->first)->scale;
    const std::string w_name = conv.inputs[1];
    // Copies (sharing storage): setInitializer below may move the graph's tensors.
    const Tensor w = *g.initializer(w_name);
    const int64_t channels = w.shape()[0];
    const int64_t per_channel = w.numel() / std::max<int64_t>(channels, 1);
    const float* wd = w.data<float>();
    const Tensor b_tensor = conv.input(2).empty() ? Tensor() : *g.initializer(conv.input(2));
    const Tensor* b = b_tensor.defined() ? &b_tensor : nullptr;
    std::vector<float> w_scale(static_cast<size_t>(channels));
    for (int64_t o = 0; o < channels; ++o) {
      float m = 0.0f;
      for (int64_t k = 0; k < per_channel; ++k) m = std::max(m, std::fabs(wd[o * per_channel + k]));
      float s = std::max(m / kWeightLevels, kMinScale);
      if (b) {
        const double need = std::fabs(static_cast<double>(b->data<float>()[o])) / (static_cast<double>(x_scale) * kBiasLimit);
        if (need > s) {
          s = static_cast<float>(need);
          ++widened_channels;
        }
      }
      w_scale[static_cast<size_t>(o)] = s;
    }
    Tensor w_q(DType::kInt8, w.shape());
    int8_t* wq = w_q.mutableData<int8_t>();
    for (int64_t o = 0; o < channels; ++o) {
      for (int64_t k = 0; k < per_channel; ++k) {
        const float v = std::nearbyint(wd[o * per_channel + k] / w_scale[static_cast<size_t>(o)]);
        wq[o * per_channel + k] = static_cast<int8_t>(std::clamp(v, -kWeightLevels, kWeightLevels));
      }
    }
    auto addDequantize = [&](const std::string& stem, Tensor q, std::vector<float> scales, DType zp_dtype) {
      const std::string q_name = names.fresh(stem + "_quantized");
      const std::string s_name = names.fresh(stem + "_scale");
      const std::string z_name = names.fresh(stem + "_zero_point");
      g.setInitializer(q_name, std::move(q));
      g.setInitializer(s_name, Tensor::fromVector(DType::kFloat32, {channels}, scales));
      g.setInitializer(z_name, Tensor(zp_dtype, {channels}));
      Node dq;
      dq.name = names.fresh(stem + "_DequantizeLinear");
      dq.op_type = "DequantizeLinear";
      dq.inputs = {q_name, s_name, z_name};
      dq.outputs = {names.fresh(stem + "_dequantized")};
      dq.attributes.push_back(Attribute::makeInt("axis", 0));
      std::string result = dq.outputs[0];
      qdq_nodes.push_back(std::move(dq));
      return result;
    };
    conv.inputs[1] = addDequantize(w_name, std::move(w_q), w_scale, DType::kInt8);
    replaced.push_back(w_name);
    if (b) {
      // ONNX Runtime's convention: B_q = round(B / (s_x * s_w)) with the product in float32.
      std::vector<float> b_scale(static_cast<size_t>(channels));
      Tensor b_q(DType::kInt32, {channels});
      for (int64_t o = 0; o < channels; ++o) {
        const float s = x_scale * w_scale[static_cast<size_t>(o)];
        b_scale[static_cast<size_t>(o)] = s;
        const double v = std::nearbyint(static_cast<double>(b->data<float>()[o]) / s);
        b_q.mutableData<int32_t>()[o] = static_cast<int32_t>(std::clamp(
            v, static_cast<double>(std::numeric_limits<int32_t>::min()), static_cast<double>(std::numeric_limits<int32_t>::max())));
      }
      const std::string b_name = conv.inputs[2];
      conv.inputs[2] = addDequantize(b_name, std::move(b_q), b_scale, DType::kInt32);
      replaced.push_back(b_name);
    }
  }
  if (widened_channels > 0) {
    report.notes.push_back(std::to_string(widened_channels) +
                           " weight channel scale(s) widened so that the int32 bias fits");
  }
  for (Node& n : qdq_nodes) g.nodes.push_back(std::move(n));

  // 3. Drop the f32 weights no node reads any more.
  std::unordered_set<std::string> read;
  for (const std::string& v : g.usedValueNames()) read.insert(v);
  for (const ValueInfo& v : g.outputs) read.insert(v.name);
  for (const ValueInfo& v : g.inputs) read.insert(v.name);
  for (const std::string& r : replaced) {
    if (!read.count(r)) g.removeInitializer(r);
  }
  DS_RETURN_IF_ERROR(g.sortTopologically());
  std::string note;
  Status checked = checkModel(work, &note);
  if (!checked.isOk()) return internalError("the QDQ model fails the ONNX checker: " + checked.message());

  report.quantized_convs = plan.quantized_convs;
  report.kept_convs = plan.kept_convs;
  report.quantized_tensors = static_cast<int64_t>(tensors.size());
  report.pre_activation_tensors = static_cast<int64_t>(plan.pre_activations.size());
  report.weight_bytes_after = initializerBytes(g);
  out.model = std::move(work);
  return out;
}

}  // namespace detslim::quant
