// soft-channel: seed 000's P_S "soft pruning". Per Conv, the output channels with the smallest
// filter norm get their filter and bias set to zero; where that channel provably stays zero on
// its way to the next convs (zero-preserving, channel-preserving ops only), those convs' weights
// reading it are zeroed too. Shapes never change. A channel that reaches a Concat, Add or any op
// not known to keep zeros is followed no further: the producing filter alone is zeroed.

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <unordered_map>

#include "core/prune/compensate.h"
#include "core/prune/channel_graph.h"
#include "core/prune/methods.h"

namespace detslim::prune::detail {

namespace {

// Ops that map an all-zero channel to an all-zero channel with the same channel index.
bool keepsZeroChannels(const Graph& graph, const Node& node) {
  static const std::set<std::string> kUnary = {"Relu",
                                               "LeakyRelu",
                                               "PRelu",
                                               "Elu",
                                               "Selu",
                                               "HardSwish",
                                               "Tanh",
                                               "Identity",
                                               "Dropout",
                                               "MaxPool",
                                               "AveragePool",
                                               "GlobalMaxPool",
                                               "GlobalAveragePool",
                                               "Resize",
                                               "Upsample"};
  if (!(node.domain.empty() || node.domain == "ai.onnx")) return false;
  if (kUnary.count(node.op_type)) {
    if (node.op_type == "Resize" || node.op_type == "Upsample") {
      // Channel-preserving unless the scales / sizes change dim 1 (checked when shapes are known).
      const auto in = graph.staticShapeOf(node.input(0));
      const auto out = node.outputs.empty() ? std::nullopt : graph.staticShapeOf(node.outputs[0]);
      if (in && out && (in->size() < 2 || out->size() < 2 || (*in)[1] != (*out)[1])) return false;
    }
    return true;
  }
  if (node.op_type == "Clip") {
    // Clip keeps 0 when min <= 0 <= max (absent bounds are infinite).
    auto bound = [&](size_t input, const char* attr, double def) -> std::optional<double> {
      if (!node.input(input).empty()) {
        const Tensor* t = graph.initializer(node.input(input));
        if (t == nullptr || t->numel() != 1) return std::nullopt;
        return t->elementAsDouble(0);
      }
      return static_cast<double>(node.floatOr(attr, static_cast<float>(def)));
    };
    const auto lo = bound(1, "min", -INFINITY);
    const auto hi = bound(2, "max", INFINITY);
    return lo && hi && *lo <= 0.0 && *hi >= 0.0;
  }
  return false;
}

// Where a zeroed channel of `value` goes.
struct Downstream {
  std::vector<size_t> convs;       // Conv nodes reading it as input 0
  std::vector<size_t> batchnorms;  // BatchNormalization nodes on the way (zeroed too)
  std::set<std::string> stops;     // nodes the walk did not pass ("Concat 'x'")
};

bool isSigmoidOf(const Graph& graph, const GraphIndex& index, const std::string& sig_out,
                 const std::string& x) {
  const auto p = index.producer(sig_out);
  return p && graph.nodes[*p].op_type == "Sigmoid" && graph.nodes[*p].input(0) == x;
}

void walk(const Graph& graph, const GraphIndex& index, const std::string& value, Downstream& out,
          std::set<std::string>& visited) {
  if (!visited.insert(value).second) return;
  for (size_t c : index.consumers(value)) {
    const Node& node = graph.nodes[c];
    const bool on_input0 = node.input(0) == value;
    if (node.op_type == "Conv" && on_input0) {
      out.convs.push_back(c);
    } else if (on_input0 && keepsZeroChannels(graph, node) &&
               std::count(node.inputs.begin(), node.inputs.end(), value) == 1) {
      walk(graph, index, node.outputs[0], out, visited);
    } else if (node.op_type == "Sigmoid" && on_input0) {
      // Half of SiLU: fine when every reader of sigmoid(x) is a Mul(x, sigmoid(x)); sigmoid(0)
      // is 0.5, so any other reader sees a changed value and the walk says where it stopped.
      for (size_t m : index.consumers(node.outputs[0])) {
        const Node& mul = graph.nodes[m];
        const bool silu = mul.op_type == "Mul" && mul.inputs.size() == 2 &&
                          ((mul.inputs[0] == value && mul.inputs[1] == node.outputs[0]) ||
                           (mul.inputs[1] == value && mul.inputs[0] == node.outputs[0]));
        if (!silu) out.stops.insert(mul.describe() + " (reads sigmoid of the channel)");
      }
    } else if (node.op_type == "Mul" && node.inputs.size() == 2 &&
               ((node.inputs[0] == value && isSigmoidOf(graph, index, node.inputs[1], value)) ||
                (node.inputs[1] == value && isSigmoidOf(graph, index, node.inputs[0], value)))) {
      walk(graph, index, node.outputs[0], out, visited);  // SiLU: x * sigmoid(x), 0 -> 0
    } else if (node.op_type == "BatchNormalization" && on_input0) {
      out.batchnorms.push_back(c);
      walk(graph, index, node.outputs[0], out, visited);
    } else {
      out.stops.insert(node.describe());
    }
  }
}

std::string joinNames(const std::set<std::string>& names) {
  std::string s;
  for (const std::string& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

}  // namespace

Status pruneSoftChannel(MethodContext& ctx) {
  const std::string norm = opt(ctx.options, "norm", "l2");
  ctx.resolved["norm"] = norm;
  const Graph& graph = ctx.graph;
  const std::vector<WeightLayer> layers = findWeightLayers(graph, {"Conv"}, ctx.ignore, ctx.notes);
  if (layers.empty()) {
    return invalidArgument(
        "soft-channel: nothing to prune: no Conv with a float initializer "
        "weight is left once ignored nodes are taken out");
  }
  std::unordered_map<size_t, const WeightLayer*> by_node;
  for (const WeightLayer& l : layers) by_node[l.node_index] = &l;
  const GraphIndex index(graph);
  std::map<std::string, std::string> own_notes;
  std::map<std::string, std::set<std::string>>
      fed_by;  // consumer layer -> producers zeroing its inputs
  std::map<std::string, int64_t> inputs_zeroed;
  const double sparsity = ctx.options.sparsity;

  for (const WeightLayer& layer : layers) {
    const Shape& w = layer.weight_shape;
    if (w.size() < 3 || w[0] <= 0) {
      own_notes[layer.name] = "skipped: weight shape " + shapeToString(w) + " is not a Conv weight";
      continue;
    }
    const int64_t c_out = w[0];
    const int64_t per = perFilter(w);
    const std::vector<float> values = weightValues(graph, layer.weight);
    // Importance from the weights as loaded: earlier layers' masks do not change the ranking.
    std::vector<double> importance(static_cast<size_t>(c_out), 0.0);
    for (int64_t c = 0; c < c_out; ++c) {
      double acc = 0.0;
      for (int64_t i = 0; i < per; ++i) {
        const double v = values[static_cast<size_t>(c * per + i)];
        acc += norm == "l1" ? std::fabs(v) : v * v;
      }
      importance[static_cast<size_t>(c)] = norm == "l1" ? acc : std::sqrt(acc);
    }
    int64_t k = std::llround(sparsity * static_cast<double>(c_out));
    std::string capped;
    if (k >= c_out) {
      k = c_out - 1;
      capped = " (capped: one channel is kept)";
    }
    std::vector<int64_t> order(static_cast<size_t>(c_out));
    std::iota(order.begin(), order.end(), int64_t{0});
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return importance[static_cast<size_t>(a)] < importance[static_cast<size_t>(b)];
    });
    std::vector<int64_t> chosen(order.begin(), order.begin() + k);
    std::sort(chosen.begin(), chosen.end());
    own_notes[layer.name] = std::to_string(k) + " of " + std::to_string(c_out) +
                            " output channels zeroed (smallest " + norm + " filter norm)" + capped;
    if (k == 0) continue;
    ctx.zeroed_outputs[layer.node_index] = chosen;

    std::vector<uint8_t>& wmask = ctx.masks.of(graph, layer.weight);
    for (int64_t c : chosen) std::fill_n(wmask.begin() + c * per, per, uint8_t{1});
    if (!layer.bias.empty()) {
      std::vector<uint8_t>& bmask = ctx.masks.of(graph, layer.bias);
      for (int64_t c : chosen) {
        if (c < static_cast<int64_t>(bmask.size())) bmask[static_cast<size_t>(c)] = 1;
      }
    }

    const Node& node = graph.nodes[layer.node_index];
    Downstream down;
    std::set<std::string> visited;
    walk(graph, index, node.outputs[0], down, visited);
    // BatchNormalization between the conv and its readers: scale and B of the channel to 0,
    // so the normalised channel is 0 too (seed 000: "BN weight/bias" set to zero).
    bool bn_ok = true;
    for (size_t b : down.batchnorms) {
      const Node& bn = graph.nodes[b];
      const Tensor* scale = graph.initializer(bn.input(1));
      const Tensor* shift = graph.initializer(bn.input(2));
      if (ctx.ignore.contains(b) || scale == nullptr || shift == nullptr ||
          scale->numel() != c_out || shift->numel() != c_out || !isFloatingPoint(scale->dtype()) ||
          !isFloatingPoint(shift->dtype())) {
        bn_ok = false;
        down.stops.insert(bn.describe() + " (its scale / B cannot be zeroed)");
        continue;
      }
      for (const std::string& param : {bn.input(1), bn.input(2)}) {
        std::vector<uint8_t>& m = ctx.masks.of(graph, param);
        for (int64_t c : chosen) m[static_cast<size_t>(c)] = 1;
      }
    }
    std::set<std::string> followed;
    if (bn_ok) {
      for (size_t ci : down.convs) {
        auto it = by_node.find(ci);
        if (it == by_node.end()) {
          down.stops.insert(graph.nodes[ci].describe() + " (left alone)");
          continue;
        }
        const WeightLayer& consumer = *it->second;
        const Shape& cw = consumer.weight_shape;
        if (cw.size() < 3 || cw[1] * consumer.group != c_out || cw[0] % consumer.group != 0) {
          down.stops.insert(graph.nodes[ci].describe() + " (channel count differs)");
          continue;
        }
        const int64_t c_in_g = cw[1];
        const int64_t c_out_g = cw[0] / consumer.group;
        int64_t spatial = 1;
        for (size_t d = 2; d < cw.size(); ++d) spatial *= cw[d];
        std::vector<uint8_t>& cmask = ctx.masks.of(graph, consumer.weight);
        for (int64_t c : chosen) {
          const int64_t g = c / c_in_g;
          const int64_t j = c % c_in_g;
          for (int64_t o = g * c_out_g; o < (g + 1) * c_out_g; ++o) {
            std::fill_n(cmask.begin() + (o * c_in_g + j) * spatial, spatial, uint8_t{1});
          }
        }
        followed.insert(consumer.name);
        fed_by[consumer.name].insert(layer.name);
        inputs_zeroed[consumer.name] += k;
      }
    }
    if (!followed.empty())
      own_notes[layer.name] += "; matching input channels zeroed in " + joinNames(followed);
    if (!down.stops.empty()) {
      own_notes[layer.name] += "; not followed past " + joinNames(down.stops);
    }
  }
  for (const auto& [name, text] : own_notes) ctx.notes[name] = text;
  for (const auto& [name, producers] : fed_by) {
    std::string& note = ctx.notes[name];
    note += (note.empty() ? "" : "; ") + std::to_string(inputs_zeroed[name]) +
            " input channels zeroed (zeroed outputs of " + joinNames(producers) + ")";
  }
  return Status::ok();
}

Status compensateSoftChannel(MethodContext& ctx, Graph& pruned) {
  const bool on = opt(ctx.options, "compensate", "true") == "true";
  ctx.resolved["compensate"] = on ? "true" : "false";
  if (!on || ctx.zeroed_outputs.empty()) return Status::ok();
  const Graph& graph = ctx.graph;
  // target: the channel with its filter zeroed and its bias kept; now: as masked (bias 0).
  ChannelConstants target, now;
  for (const auto& [node, channels] : ctx.zeroed_outputs) {
    const Node& p = graph.nodes[node];
    if (p.outputs.empty()) continue;
    const std::optional<Tensor> b0 =
        p.input(2).empty() ? std::nullopt : constantValue(graph, p.input(2));
    const std::optional<Tensor> b1 =
        pruned.nodes[node].input(2).empty() ? std::nullopt
                                            : constantValue(pruned, pruned.nodes[node].input(2));
    for (int64_t c : channels) {
      target[p.outputs[0]][c] = b0 && c < b0->numel() ? b0->elementAsDouble(c) : 0.0;
      now[p.outputs[0]][c] = b1 && c < b1->numel() ? b1->elementAsDouble(c) : 0.0;
    }
  }
  const ConstantFlow want = propagateConstantChannels(graph, target);
  const ConstantFlow have = propagateConstantChannels(pruned, now);
  std::map<std::pair<size_t, int64_t>, double> have_at;
  for (const ConvInputConstant& h : have.convs) have_at[{h.node, h.channel}] = h.value;
  const std::vector<size_t> heads = detectHeadConvs(graph);
  std::map<size_t, std::vector<double>> delta;
  std::map<size_t, int64_t> count;
  std::set<std::string> lost = want.stops;
  for (const ConvInputConstant& h : want.convs) {
    const Node& q = graph.nodes[h.node];
    // Ignored convs are never written; the protected Detect head gets its bias compensated (its
    // weights stay), or the head would lose every constant its inputs carried.
    if (ctx.ignore.contains(h.node) &&
        std::find(heads.begin(), heads.end(), h.node) == heads.end()) {
      lost.insert(q.describe() + " (ignored)");
      continue;
    }
    auto it = have_at.find({h.node, h.channel});
    if (it == have_at.end()) {
      lost.insert(q.describe());
      continue;
    }
    std::vector<double>& d = delta[h.node];
    if (!addConvInputConstant(graph, h.node, h.channel, h.value, d) ||
        !addConvInputConstant(pruned, h.node, h.channel, -it->second, d)) {
      lost.insert(q.describe() + " (weight)");
      continue;
    }
    ++count[h.node];
  }
  int64_t inputs = 0, convs = 0;
  for (auto& [node, d] : delta) {
    if (d.empty()) continue;
    if (auto z = ctx.zeroed_outputs.find(node); z != ctx.zeroed_outputs.end()) {
      for (int64_t c : z->second) {
        if (c < static_cast<int64_t>(d.size())) d[static_cast<size_t>(c)] = 0.0;  // stays zero
      }
    }
    if (std::all_of(d.begin(), d.end(), [](double v) { return v == 0.0; })) continue;
    const std::string name = layerName(pruned.nodes[node]);
    if (Status st = addToConvBias(pruned, node, d); !st) {
      ctx.warnings.push_back("soft-channel: bias of " + name + " not compensated: " + st.message());
      continue;
    }
    ++convs;
    inputs += count[node];
    std::string& note = ctx.notes[name];
    note += (note.empty() ? "" : "; ") + std::string("bias compensated for ") +
            std::to_string(count[node]) + " zeroed input channels";
  }
  ctx.resolved["compensated_convs"] = convs;
  ctx.resolved["compensated_inputs"] = inputs;
  if (!lost.empty()) {
    std::string where;
    size_t shown = 0;
    for (const std::string& n : lost) {
      if (shown++ == 4) {
        where += ", ...";
        break;
      }
      where += (where.empty() ? "" : ", ") + n;
    }
    ctx.warnings.push_back("soft-channel: the constant of some zeroed channels is not compensated "
                           "past " + std::to_string(lost.size()) + " nodes: " + where);
  }
  return Status::ok();
}

}  // namespace detslim::prune::detail
