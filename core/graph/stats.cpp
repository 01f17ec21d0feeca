#include "core/graph/stats.h"

#include <cmath>
#include <numeric>
#include <optional>
#include <unordered_set>

#include "core/graph/const_eval.h"
#include "core/graph/pass_util.h"

namespace detslim {

namespace {

int64_t productFrom(const Shape& shape, size_t begin) {
  int64_t p = 1;
  for (size_t i = begin; i < shape.size(); ++i) p *= shape[i];
  return p;
}

// Input index of the weight whose sparsity and dtype a layer reports, for the ops that have one.
std::optional<size_t> weightInputIndex(const Node& node) {
  if (!pass_util::isDefaultDomain(node.domain)) return std::nullopt;
  const std::string& op = node.op_type;
  if (op == "Conv" || op == "ConvTranspose" || op == "Gemm" || op == "MatMul" ||
      op == "ConvInteger" || op == "MatMulInteger") {
    return 1;
  }
  if (op == "QLinearConv" || op == "QLinearMatMul") return 3;
  return std::nullopt;
}

std::string layerName(const Node& node) {
  if (!node.name.empty()) return node.name;
  return node.outputs.empty() ? node.op_type : node.outputs[0];
}

std::string opKey(const Node& node) {
  return pass_util::isDefaultDomain(node.domain) ? node.op_type : node.domain + "::" + node.op_type;
}

std::string typeString(const Graph& graph, const std::string& value_name) {
  if (value_name.empty()) return {};
  const TensorType* type = graph.typeOf(value_name);
  return type ? type->toString() : "?";
}

int64_t tensorBytes(const Tensor& t) {
  if (t.dtype() != DType::kString) return static_cast<int64_t>(t.bytes());
  int64_t bytes = 0;
  for (const std::string& s : t.strings()) bytes += static_cast<int64_t>(s.size());
  return bytes;
}

bool hasNanOrInf(const Tensor& t) {
  switch (t.dtype()) {
    case DType::kFloat32:
      for (float v : t.span<float>()) {
        if (!std::isfinite(v)) return true;
      }
      return false;
    case DType::kFloat64:
    case DType::kFloat16:
    case DType::kBFloat16:
      for (int64_t i = 0; i < t.numel(); ++i) {
        if (!std::isfinite(t.elementAsDouble(i))) return true;
      }
      return false;
    default:
      return false;  // integers cannot hold NaN; float8 has no decoder in core/base
  }
}

MacCount unknownMacs() {
  MacCount c;
  c.known = false;
  return c;
}

// batch * M * N * K of numpy matmul; 1-D operands are promoted as numpy does (and the added
// dim removed again, which does not change the count).
MacCount matMulMacs(const std::optional<Shape>& a, const std::optional<Shape>& b) {
  if (!a || !b || a->empty() || b->empty()) return unknownMacs();
  const bool a_vec = a->size() == 1;
  const bool b_vec = b->size() == 1;
  const int64_t m = a_vec ? 1 : (*a)[a->size() - 2];
  const int64_t k = a->back();
  const int64_t n = b_vec ? 1 : b->back();
  const Shape a_batch(a->begin(), a->end() - (a_vec ? 1 : 2));
  const Shape b_batch(b->begin(), b->end() - (b_vec ? 1 : 2));
  const std::optional<Shape> batch = broadcastShapes({a_batch, b_batch});
  if (!batch) return unknownMacs();
  MacCount c;
  c.macs = shapeNumel(*batch) * m * n * k;
  c.macs_ptflops = c.macs;
  return c;
}

}  // namespace

MacCount countNodeMacs(const Node& node, const Graph& graph) {
  MacCount c;
  if (!pass_util::isDefaultDomain(node.domain)) return c;
  auto shapeOf = [&](const std::string& name) -> std::optional<Shape> {
    if (name.empty()) return std::nullopt;
    return graph.staticShapeOf(name);
  };
  auto outputShape = [&]() -> std::optional<Shape> {
    return node.outputs.empty() ? std::nullopt : shapeOf(node.outputs[0]);
  };
  const std::string& op = node.op_type;

  if (op == "Conv" || op == "ConvInteger" || op == "QLinearConv") {
    // numel(Y) * W[1] * prod(kernel) = N * C_out * prod(out spatial) * (C_in / group) * prod(k);
    // W[1] is C_in / group whatever the group count, so depthwise needs no special case.
    const std::optional<Shape> w = shapeOf(node.input(op == "QLinearConv" ? 3 : 1));
    const std::optional<Shape> y = outputShape();
    if (!w || !y || w->size() < 2 || y->size() < 2) return unknownMacs();
    c.macs = shapeNumel(*y) * productFrom(*w, 1);
    c.macs_ptflops = c.macs;
    // ConvInteger has no bias; QLinearConv's (int32, already scaled) is input 8.
    const bool has_bias =
        (op == "Conv" && !node.input(2).empty()) || (op == "QLinearConv" && !node.input(8).empty());
    if (has_bias) c.macs_ptflops += shapeNumel(*y);
    return c;
  }
  if (op == "ConvTranspose") {
    // Every input element is multiplied into C_out / group * prod(k) outputs.
    const std::optional<Shape> x = shapeOf(node.input(0));
    const std::optional<Shape> w = shapeOf(node.input(1));
    if (!x || !w || x->size() < 2 || w->size() < 2) return unknownMacs();
    c.macs = shapeNumel(*x) * productFrom(*w, 1);
    c.macs_ptflops = c.macs;
    if (!node.input(2).empty()) {
      const std::optional<Shape> y = outputShape();
      if (!y) return unknownMacs();
      c.macs_ptflops += shapeNumel(*y);
    }
    return c;
  }
  if (op == "Gemm") {
    const std::optional<Shape> a = shapeOf(node.input(0));
    const std::optional<Shape> b = shapeOf(node.input(1));
    if (!a || !b || a->size() != 2 || b->size() != 2) return unknownMacs();
    const bool trans_a = node.intOr("transA", 0) != 0;
    const bool trans_b = node.intOr("transB", 0) != 0;
    const int64_t m = trans_a ? (*a)[1] : (*a)[0];
    const int64_t k = trans_a ? (*a)[0] : (*a)[1];
    const int64_t n = trans_b ? (*b)[0] : (*b)[1];
    c.macs = m * n * k;
    c.macs_ptflops = c.macs + (node.input(2).empty() ? 0 : m * n);
    return c;
  }
  if (op == "MatMul" || op == "MatMulInteger") {
    return matMulMacs(shapeOf(node.input(0)), shapeOf(node.input(1)));
  }
  if (op == "QLinearMatMul") return matMulMacs(shapeOf(node.input(0)), shapeOf(node.input(3)));

  // ptflops-only terms: no multiply-accumulates, but ptflops counts them.
  if (op == "MaxPool" || op == "AveragePool" || op == "GlobalAveragePool" ||
      op == "GlobalMaxPool") {
    const std::optional<Shape> x = shapeOf(node.input(0));
    if (!x) return unknownMacs();
    c.macs_ptflops = shapeNumel(*x);
    return c;
  }
  if (op == "Resize" || op == "Upsample") {
    const std::optional<Shape> y = outputShape();
    if (!y) return unknownMacs();
    c.macs_ptflops = shapeNumel(*y);
    return c;
  }
  if (op == "Relu" || op == "LeakyRelu" || op == "PRelu" || op == "Elu" || op == "Clip") {
    // Elementwise with the input's shape (PRelu's slope broadcasts into X), so the input's
    // shape stands in when the output's was not inferred.
    std::optional<Shape> y = outputShape();
    if (!y) y = shapeOf(node.input(0));
    if (!y) return unknownMacs();
    c.macs_ptflops = shapeNumel(*y);
    return c;
  }
  if (op == "BatchNormalization") {
    const std::optional<Shape> x = shapeOf(node.input(0));
    if (!x) return unknownMacs();
    c.macs_ptflops = 2 * shapeNumel(*x);
    return c;
  }
  return c;
}

ModelStats computeStats(const Graph& graph) {
  ModelStats stats;
  stats.nodes = static_cast<int>(graph.nodes.size());
  stats.initializers = static_cast<int>(graph.initializers().size());
  for (const NamedTensor& init : graph.initializers()) {
    const std::string dtype(dtypeName(init.tensor.dtype()));
    const int64_t bytes = tensorBytes(init.tensor);
    stats.params += init.tensor.numel();
    stats.params_by_dtype[dtype] += init.tensor.numel();
    stats.weight_bytes += bytes;
    stats.weight_bytes_by_dtype[dtype] += bytes;
    if (hasNanOrInf(init.tensor)) stats.nan_inf_initializers.push_back(init.name);
  }

  std::vector<size_t> order;
  if (auto sorted = graph.topologicalOrder(); sorted) {
    order = std::move(sorted).value();
  } else {
    order.resize(graph.nodes.size());
    std::iota(order.begin(), order.end(), size_t{0});
  }

  // A weight shared by several layers counts once in the totals, as params do.
  std::unordered_set<std::string> counted_weights;
  stats.layers.reserve(order.size());
  for (size_t index : order) {
    const Node& node = graph.nodes[index];
    LayerStats layer;
    layer.node_index = index;
    layer.name = layerName(node);
    layer.op_type = node.op_type;
    for (const std::string& in : node.inputs) layer.input_shapes.push_back(typeString(graph, in));
    for (const std::string& out : node.outputs) {
      layer.output_shapes.push_back(typeString(graph, out));
    }
    std::unordered_set<std::string> read;
    for (const std::string& in : node.inputs) {
      const Tensor* t = graph.initializer(in);
      if (t && read.insert(in).second) layer.params += t->numel();
    }
    if (const std::optional<size_t> w = weightInputIndex(node)) {
      const std::string& name = node.input(*w);
      if (const Tensor* t = name.empty() ? nullptr : graph.initializer(name)) {
        layer.weight_elements = t->numel();
        layer.weight_zeros = t->countZeros();
        layer.weight_dtype = std::string(dtypeName(t->dtype()));
        if (layer.weight_elements > 0) {
          layer.sparsity =
              static_cast<double>(layer.weight_zeros) / static_cast<double>(layer.weight_elements);
        }
        if (counted_weights.insert(name).second) {
          stats.weight_elements += layer.weight_elements;
          stats.weight_zeros += layer.weight_zeros;
        }
      }
    }
    const MacCount macs = countNodeMacs(node, graph);
    layer.macs = macs.macs;
    layer.macs_ptflops = macs.macs_ptflops;
    layer.macs_known = macs.known;
    if (!macs.known) stats.unknown_mac_layers.push_back(layer.name);
    stats.macs += layer.macs;
    stats.macs_ptflops += layer.macs_ptflops;
    ++stats.op_counts[opKey(node)];
    stats.layers.push_back(std::move(layer));
  }
  return stats;
}

}  // namespace detslim
