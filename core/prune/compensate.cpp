#include "core/prune/compensate.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <optional>

#include "core/prune/channel_graph.h"

namespace detslim::prune {

namespace {

bool isDefaultDomain(const Node& n) { return n.domain.empty() || n.domain == "ai.onnx"; }

std::optional<int64_t> channelCount(const Graph& g, const std::string& name) {
  const TensorType* t = g.typeOf(name);
  if (!t || !t->has_shape || t->dims.size() < 2 || !t->dims[1].isStatic()) return std::nullopt;
  return t->dims[1].value;
}

std::optional<int64_t> rankOf(const Graph& g, const std::string& name) {
  const TensorType* t = g.typeOf(name);
  if (!t || !t->has_shape) return std::nullopt;
  return static_cast<int64_t>(t->dims.size());
}

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// Scalar bound of Clip (input or attribute), +-inf when absent.
std::optional<double> clipBound(const Graph& g, const Node& n, size_t input, const char* attr,
                                double def) {
  if (!n.input(input).empty()) {
    std::optional<Tensor> t = constantValue(g, n.input(input));
    if (!t || t->numel() != 1) return std::nullopt;
    return t->elementAsDouble(0);
  }
  return static_cast<double>(n.floatOr(attr, static_cast<float>(def)));
}

// The elementwise function of a unary op, or nullopt when it is not one we evaluate.
std::optional<std::function<double(double)>> unaryFunction(const Graph& g, const Node& n) {
  const std::string& op = n.op_type;
  if (op == "Identity" || op == "Dropout" || op == "MaxPool" || op == "AveragePool" ||
      op == "GlobalMaxPool" || op == "GlobalAveragePool" || op == "Resize" || op == "Upsample") {
    return [](double x) { return x; };
  }
  if (op == "Relu") return [](double x) { return x > 0.0 ? x : 0.0; };
  if (op == "LeakyRelu") {
    const double a = n.floatOr("alpha", 0.01f);
    return [a](double x) { return x >= 0.0 ? x : a * x; };
  }
  if (op == "Sigmoid") return [](double x) { return sigmoid(x); };
  if (op == "Tanh") return [](double x) { return std::tanh(x); };
  if (op == "HardSigmoid") {
    const double a = n.floatOr("alpha", 0.2f), b = n.floatOr("beta", 0.5f);
    return [a, b](double x) { return std::clamp(a * x + b, 0.0, 1.0); };
  }
  if (op == "HardSwish") return [](double x) { return x * std::clamp(x / 6.0 + 0.5, 0.0, 1.0); };
  if (op == "Elu") {
    const double a = n.floatOr("alpha", 1.0f);
    return [a](double x) { return x >= 0.0 ? x : a * (std::exp(x) - 1.0); };
  }
  if (op == "Softplus") return [](double x) { return std::log1p(std::exp(x)); };
  if (op == "Neg") return [](double x) { return -x; };
  if (op == "Abs") return [](double x) { return std::fabs(x); };
  if (op == "Exp") return [](double x) { return std::exp(x); };
  if (op == "Clip") {
    const auto lo = clipBound(g, n, 1, "min", -INFINITY);
    const auto hi = clipBound(g, n, 2, "max", INFINITY);
    if (!lo || !hi) return std::nullopt;
    const double l = *lo, h = *hi;
    return [l, h](double x) { return std::min(std::max(x, l), h); };
  }
  return std::nullopt;
}

// Value of operand `name` of a broadcasting op at channel c of an output of rank `rank` and `c_out`
// channels, when that is one constant over the whole channel.
std::optional<double> operandAt(const Graph& g, const ChannelConstants& known,
                                const std::string& name, int64_t c, int64_t rank, int64_t c_out) {
  if (auto it = known.find(name); it != known.end()) {
    auto ch = it->second.find(c);
    if (ch != it->second.end()) return ch->second;
    return std::nullopt;
  }
  // An initializer or a Constant node output; a dynamic value is not constant.
  std::optional<Tensor> t = constantValue(g, name);
  if (!t || t->numel() == 0) return std::nullopt;
  if (t->numel() == 1) return t->elementAsDouble(0);
  const int64_t axis = 1 - (rank - t->rank());
  if (axis < 0) return std::nullopt;
  for (int64_t d = 0; d < t->rank(); ++d) {
    if (d != axis && t->shape()[static_cast<size_t>(d)] != 1) return std::nullopt;
  }
  const int64_t n = t->shape()[static_cast<size_t>(axis)];
  if (n == 1) return t->elementAsDouble(0);
  if (n != c_out || c >= n) return std::nullopt;
  return t->elementAsDouble(c);
}

}  // namespace

ConstantFlow propagateConstantChannels(const Graph& g, const ChannelConstants& seeds) {
  ConstantFlow f;
  f.values = seeds;
  Result<std::vector<size_t>> order = g.topologicalOrder();
  if (!order) return f;
  auto merge = [&](const std::string& out, int64_t c, double v) {
    if (out.empty()) return;
    f.values[out].try_emplace(c, v);  // seeds and first values stay
  };
  for (size_t i : *order) {
    const Node& n = g.nodes[i];
    bool any = false;
    for (const std::string& in : n.inputs) any = any || (!in.empty() && f.values.count(in));
    if (!any) continue;
    const std::string out = n.outputs.empty() ? std::string() : n.outputs[0];
    const std::string& op = n.op_type;
    auto lost = [&] { f.stops.insert(n.describe()); };
    if (!isDefaultDomain(n)) {
      lost();
      continue;
    }
    const std::string& x = n.input(0);
    auto xit = f.values.find(x);
    if (op == "Conv") {
      if (xit == f.values.end()) continue;
      std::optional<Tensor> w = constantValue(g, n.input(1));
      if (!w || w->rank() < 3) {
        lost();
        continue;
      }
      const int64_t group = n.intOr("group", 1);
      const int64_t c_out = w->shape()[0];
      if (group > 1 && w->shape()[1] == 1 && c_out == group) {
        // Depthwise: channel c out = b_c + v * sum W[c].
        std::optional<Tensor> b = n.input(2).empty() ? std::nullopt : constantValue(g, n.input(2));
        const int64_t per = w->numel() / c_out;
        for (const auto& [c, v] : xit->second) {
          if (c >= c_out) continue;
          double sum = 0.0;
          for (int64_t k = 0; k < per; ++k) sum += w->elementAsDouble(c * per + k);
          const double bias = b && c < b->numel() ? b->elementAsDouble(c) : 0.0;
          merge(out, c, bias + v * sum);
        }
      } else {
        for (const auto& [c, v] : xit->second) f.convs.push_back({i, c, v});
      }
      continue;
    }
    if (xit != f.values.end()) {
      if (auto fn = unaryFunction(g, n)) {
        const auto cx = channelCount(g, x), cy = channelCount(g, out);
        if ((op == "Resize" || op == "Upsample") && (!cx || !cy || *cx != *cy)) {
          lost();
          continue;
        }
        for (const auto& [c, v] : xit->second) merge(out, c, (*fn)(v));
        continue;
      }
      if (op == "BatchNormalization") {
        std::optional<Tensor> scale = constantValue(g, n.input(1)), bias = constantValue(g, n.input(2)),
                              mean = constantValue(g, n.input(3)), var = constantValue(g, n.input(4));
        if (!scale || !bias || !mean || !var) {
          lost();
          continue;
        }
        const double eps = n.floatOr("epsilon", 1e-5f);
        for (const auto& [c, v] : xit->second) {
          if (c >= scale->numel() || c >= bias->numel() || c >= mean->numel() ||
              c >= var->numel())
            continue;
          merge(out, c,
                scale->elementAsDouble(c) * (v - mean->elementAsDouble(c)) /
                        std::sqrt(var->elementAsDouble(c) + eps) +
                    bias->elementAsDouble(c));
        }
        continue;
      }
    }
    if ((op == "Add" || op == "Sub" || op == "Mul" || op == "Div") && n.inputs.size() == 2) {
      const auto rank = rankOf(g, out);
      const auto cy = channelCount(g, out);
      if (!rank || !cy) {
        lost();
        continue;
      }
      // Channels of the output every dynamic operand of which is a constant there.
      std::set<int64_t> candidates;
      for (const std::string& in : n.inputs) {
        auto it = f.values.find(in);
        if (it == f.values.end()) continue;
        const auto cin = channelCount(g, in);
        if (!cin || *cin != *cy) continue;  // broadcast over channels: not a channel map
        for (const auto& [c, v] : it->second) candidates.insert(c);
      }
      bool all = true;
      for (int64_t c : candidates) {
        const auto a = operandAt(g, f.values, n.inputs[0], c, *rank, *cy);
        const auto b = operandAt(g, f.values, n.inputs[1], c, *rank, *cy);
        if (!a || !b) {
          all = false;
          continue;
        }
        const double r = op == "Add" ? *a + *b : op == "Sub" ? *a - *b : op == "Mul" ? *a * *b
                                                                                      : *a / *b;
        merge(out, c, r);
      }
      if (!all || candidates.empty()) lost();
      continue;
    }
    if (op == "Concat") {
      const auto rank = rankOf(g, out);
      if (!rank || (n.intOr("axis", 0) + (n.intOr("axis", 0) < 0 ? *rank : 0)) != 1) {
        lost();
        continue;
      }
      int64_t offset = 0;
      bool ok = true;
      for (const std::string& in : n.inputs) {
        const auto cin = channelCount(g, in);
        if (!cin) {
          ok = false;
          break;
        }
        if (auto it = f.values.find(in); it != f.values.end()) {
          for (const auto& [c, v] : it->second) merge(out, offset + c, v);
        }
        offset += *cin;
      }
      if (!ok) lost();
      continue;
    }
    if (op == "Split" && xit != f.values.end()) {
      const auto rank = rankOf(g, x);
      if (!rank || (n.intOr("axis", 0) + (n.intOr("axis", 0) < 0 ? *rank : 0)) != 1) {
        lost();
        continue;
      }
      int64_t offset = 0;
      for (const std::string& o : n.outputs) {
        const auto co = channelCount(g, o);
        if (!co) {
          lost();
          break;
        }
        for (const auto& [c, v] : xit->second) {
          if (c >= offset && c < offset + *co) merge(o, c - offset, v);
        }
        offset += *co;
      }
      continue;
    }
    if (op == "Slice" && xit != f.values.end()) {
      const auto rank = rankOf(g, x);
      const auto cx = channelCount(g, x), cy = channelCount(g, out);
      std::vector<int64_t> starts, axes, steps;
      std::optional<Tensor> st = constantValue(g, n.input(1));
      if (n.hasAttr("starts")) {
        starts = n.intsOr("starts", {});
        axes = n.intsOr("axes", {});
      } else if (st) {
        starts = st->toInt64Vector();
        if (!n.input(3).empty()) {
          std::optional<Tensor> a = constantValue(g, n.input(3));
          if (!a) starts.clear();
          else axes = a->toInt64Vector();
        }
        if (!n.input(4).empty()) {
          std::optional<Tensor> s = constantValue(g, n.input(4));
          if (!s) starts.clear();
          else steps = s->toInt64Vector();
        }
      }
      if (!rank || !cx || !cy || starts.empty()) {
        lost();
        continue;
      }
      if (axes.empty()) {
        axes.resize(starts.size());
        std::iota(axes.begin(), axes.end(), 0);
      }
      int64_t start = 0;
      bool ok = axes.size() == starts.size();
      for (size_t k = 0; ok && k < axes.size(); ++k) {
        const int64_t a = axes[k] < 0 ? axes[k] + *rank : axes[k];
        if (a != 1) continue;
        if (!steps.empty() && steps[k] != 1) ok = false;
        start = starts[k] < 0 ? starts[k] + *cx : starts[k];
        start = std::clamp<int64_t>(start, 0, *cx);
      }
      if (!ok) {
        lost();
        continue;
      }
      for (const auto& [c, v] : xit->second) {
        if (c >= start && c < start + *cy) merge(out, c - start, v);
      }
      continue;
    }
    lost();
  }
  return f;
}

bool addConvInputConstant(const Graph& graph, size_t node, int64_t channel, double value,
                          std::vector<double>& delta) {
  const Node& n = graph.nodes[node];
  std::optional<Tensor> w = constantValue(graph, n.input(1));
  if (!w || w->rank() < 3) return false;
  const int64_t c_out = w->shape()[0], c_in_g = w->shape()[1];
  const int64_t group = n.intOr("group", 1);
  if (group < 1 || c_out % group != 0 || channel < 0 || channel >= c_in_g * group) return false;
  int64_t spatial = 1;
  for (int64_t d = 2; d < w->rank(); ++d) spatial *= w->shape()[static_cast<size_t>(d)];
  if (delta.empty()) delta.assign(static_cast<size_t>(c_out), 0.0);
  if (static_cast<int64_t>(delta.size()) != c_out) return false;
  const int64_t g = channel / c_in_g, j = channel % c_in_g, c_out_g = c_out / group;
  for (int64_t o = g * c_out_g; o < (g + 1) * c_out_g; ++o) {
    double sum = 0.0;
    const int64_t base = (o * c_in_g + j) * spatial;
    for (int64_t k = 0; k < spatial; ++k) sum += w->elementAsDouble(base + k);
    delta[static_cast<size_t>(o)] += value * sum;
  }
  return true;
}

Status addToConvBias(Graph& graph, size_t node, const std::vector<double>& delta) {
  Node& n = graph.nodes[node];
  std::optional<Tensor> w = constantValue(graph, n.input(1));
  if (!w || w->rank() < 1) return invalidArgument(n.describe() + ": weight is not a constant");
  const DType dtype = w->dtype();
  if (dtype != DType::kFloat32 && dtype != DType::kFloat64) {
    return unsupported(n.describe() + ": bias compensation needs a float32 / float64 weight");
  }
  const int64_t c_out = w->shape()[0];
  if (static_cast<int64_t>(delta.size()) != c_out) {
    return invalidArgument(n.describe() + ": " + std::to_string(delta.size()) +
                           " compensation entries for " + std::to_string(c_out) + " outputs");
  }
  std::optional<Tensor> old = n.input(2).empty() ? std::nullopt : constantValue(graph, n.input(2));
  if (!n.input(2).empty() && (!old || old->numel() != c_out)) {
    return invalidArgument(n.describe() + ": bias is not a constant of C_out entries");
  }
  Tensor bias(dtype, {c_out});
  for (int64_t o = 0; o < c_out; ++o) {
    const double v = (old ? old->elementAsDouble(o) : 0.0) + delta[static_cast<size_t>(o)];
    if (dtype == DType::kFloat32)
      bias.mutableData<float>()[o] = static_cast<float>(v);
    else
      bias.mutableData<double>()[o] = v;
  }
  const std::string name = n.input(2);
  int readers = 0;
  if (!name.empty()) {
    for (const Node& m : graph.nodes) readers += static_cast<int>(std::count(m.inputs.begin(), m.inputs.end(), name));
    for (const ValueInfo& o : graph.outputs) readers += o.name == name ? 2 : 0;
  }
  if (!name.empty() && graph.isInitializer(name) && readers == 1) {
    graph.setInitializer(name, std::move(bias));
    return Status::ok();
  }
  const std::string stem = (n.name.empty() ? n.outputs[0] : n.name) + "_bias_compensated";
  const std::string fresh = graph.uniqueName(stem);
  graph.setInitializer(fresh, std::move(bias));
  Node& again = graph.nodes[node];
  if (again.inputs.size() < 3) again.inputs.resize(3);
  again.inputs[2] = fresh;
  return Status::ok();
}

}  // namespace detslim::prune
