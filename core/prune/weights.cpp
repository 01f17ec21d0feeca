#include "core/prune/weights.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <unordered_set>

namespace detslim::prune::detail {

namespace {

bool isMaskableDType(DType dtype) {
  return dtype == DType::kFloat32 || dtype == DType::kFloat16 || dtype == DType::kBFloat16 ||
         dtype == DType::kFloat64;
}

bool isDefaultDomain(const std::string& domain) {
  return domain.empty() || domain == "ai.onnx";
}

std::vector<size_t> nodeOrder(const Graph& graph) {
  if (auto order = graph.topologicalOrder(); order) return std::move(order).value();
  std::vector<size_t> order(graph.nodes.size());
  std::iota(order.begin(), order.end(), size_t{0});
  return order;
}

}  // namespace

std::vector<WeightLayer> findWeightLayers(const Graph& graph,
                                          const std::vector<std::string>& op_types,
                                          const IgnoreSet& ignore,
                                          std::map<std::string, std::string>& notes) {
  auto wanted = [&](const Node& n) {
    return isDefaultDomain(n.domain) &&
           std::find(op_types.begin(), op_types.end(), n.op_type) != op_types.end();
  };
  const GraphIndex index(graph);
  std::unordered_set<std::string> seen_weights;
  std::vector<WeightLayer> layers;
  for (size_t i : nodeOrder(graph)) {
    const Node& node = graph.nodes[i];
    if (!wanted(node)) continue;
    const std::string name = layerName(node);
    if (auto it = ignore.reasons.find(i); it != ignore.reasons.end()) {
      notes[name] = "left alone: " + it->second;
      continue;
    }
    const std::string& weight = node.input(1);
    const Tensor* w = weight.empty() ? nullptr : graph.initializer(weight);
    if (w == nullptr) {
      notes[name] = "skipped: the weight is not an initializer";
      continue;
    }
    if (!isMaskableDType(w->dtype())) {
      notes[name] = "skipped: the weight is " + std::string(dtypeName(w->dtype())) +
                    " (only float32 / float16 / bfloat16 / float64 weights are pruned)";
      continue;
    }
    std::string shared_with;
    for (size_t r : index.consumers(weight)) {
      if (r == i) continue;
      const Node& other = graph.nodes[r];
      if (ignore.contains(r) || !wanted(other) || other.input(1) != weight) {
        shared_with = other.describe();
        break;
      }
    }
    if (!shared_with.empty()) {
      notes[name] = "skipped: the weight '" + weight + "' is also read by " + shared_with +
                    ", which this prune may not change";
      continue;
    }
    if (!seen_weights.insert(weight).second) {
      notes[name] = "the weight '" + weight + "' is shared with an earlier layer and pruned there";
      continue;
    }
    WeightLayer layer;
    layer.node_index = i;
    layer.name = name;
    layer.op_type = node.op_type;
    layer.weight = weight;
    layer.weight_shape = w->shape();
    const std::string& bias = node.input(2);
    if ((node.op_type == "Conv" || node.op_type == "Gemm") && !bias.empty() &&
        graph.initializer(bias) != nullptr && isMaskableDType(graph.initializer(bias)->dtype())) {
      layer.bias = bias;
    }
    layer.group = node.op_type == "Conv" ? std::max<int64_t>(1, node.intOr("group", 1)) : 1;
    layers.push_back(std::move(layer));
  }
  return layers;
}

std::vector<float> weightValues(const Graph& graph, const std::string& initializer) {
  const Tensor* t = graph.initializer(initializer);
  if (t == nullptr) return {};
  if (t->dtype() == DType::kFloat32) return {t->data<float>(), t->data<float>() + t->numel()};
  return t->toFloatVector();
}

std::vector<uint8_t>& MaskSet::of(const Graph& graph, const std::string& initializer) {
  auto it = masks_.find(initializer);
  if (it != masks_.end()) return it->second;
  const Tensor* t = graph.initializer(initializer);
  const size_t n = t ? static_cast<size_t>(t->numel()) : 0;
  return masks_.emplace(initializer, std::vector<uint8_t>(n, 0)).first->second;
}

Status MaskSet::apply(Graph& graph) const {
  for (const auto& [name, mask] : masks_) {
    const Tensor* original = graph.initializer(name);
    if (original == nullptr) return internalError("prune: initializer '" + name + "' vanished");
    if (!isMaskableDType(original->dtype())) {
      return internalError("prune: initializer '" + name + "' is " +
                           std::string(dtypeName(original->dtype())) + ", not a float type");
    }
    if (static_cast<int64_t>(mask.size()) != original->numel()) {
      return internalError("prune: mask of '" + name + "' has the wrong size");
    }
    if (std::none_of(mask.begin(), mask.end(), [](uint8_t m) { return m != 0; })) continue;
    Tensor copy = original->clone();
    const size_t element_bytes = dtypeSize(copy.dtype());
    auto* bytes = static_cast<std::byte*>(copy.rawMutable());
    // +0.0 is all-zero bits in every IEEE and bfloat16 format.
    for (size_t i = 0; i < mask.size(); ++i) {
      if (mask[i]) std::memset(bytes + i * element_bytes, 0, element_bytes);
    }
    graph.setInitializer(name, std::move(copy));
  }
  return Status::ok();
}

std::optional<int64_t> parseInt(const std::string& text) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
  return value;
}

std::optional<double> parseNumber(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

}  // namespace detslim::prune::detail
