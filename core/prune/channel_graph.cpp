#include "core/prune/channel_graph.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <functional>
#include <limits>
#include <numeric>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "core/graph/const_eval.h"

namespace detslim::prune {

namespace {

bool isDefaultDomain(const Node& n) {
  return n.domain.empty() || n.domain == "ai.onnx";
}

// Ops that map channel c of input 0 to channel c of output 0 and touch no other channel.
const std::unordered_set<std::string>& channelwiseUnaryOps() {
  static const std::unordered_set<std::string> ops = {"Relu",
                                                      "LeakyRelu",
                                                      "Sigmoid",
                                                      "Tanh",
                                                      "HardSigmoid",
                                                      "HardSwish",
                                                      "Elu",
                                                      "Selu",
                                                      "Celu",
                                                      "Clip",
                                                      "Identity",
                                                      "Neg",
                                                      "Abs",
                                                      "Exp",
                                                      "Softplus",
                                                      "Softsign",
                                                      "Mish",
                                                      "Erf",
                                                      "Sqrt",
                                                      "Reciprocal",
                                                      "Dropout",
                                                      "MaxPool",
                                                      "AveragePool",
                                                      "LpPool",
                                                      "GlobalAveragePool",
                                                      "GlobalMaxPool",
                                                      "GlobalLpPool",
                                                      "Resize",
                                                      "Upsample",
                                                      "Pad",
                                                      "ThresholdedRelu",
                                                      "Gelu"};
  return ops;
}

// Elementwise ops with numpy broadcasting over all inputs.
const std::unordered_set<std::string>& broadcastOps() {
  static const std::unordered_set<std::string> ops = {"Add", "Sub", "Mul", "Div",  "Pow",
                                                      "Max", "Min", "Sum", "Mean", "PRelu"};
  return ops;
}

int64_t normaliseAxis(int64_t axis, int64_t rank) {
  return axis < 0 ? axis + rank : axis;
}

struct FrozenRange {
  size_t value = 0;
  int64_t begin = 0, end = 0;
  std::string reason;
};

class Analyzer {
 public:
  Analyzer(const Graph& graph, const ChannelGraphOptions& options)
      : g_(graph), index_(graph), options_(options), processed_(graph.nodes.size(), false) {
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      const Node& n = g_.nodes[i];
      if (n.op_type == "Constant" && isDefaultDomain(n) && !n.outputs.empty()) {
        constant_nodes_[n.outputs[0]] = i;
      }
    }
  }

  Status run(std::vector<ChannelValue>& values, std::vector<NodeEdit>& edits,
             std::vector<FrozenRange>& frozen, std::vector<int64_t>& parent,
             std::unordered_map<size_t, size_t>& source_of_value) {
    values_ = &values;
    edits_ = &edits;
    DS_ASSIGN_OR_RETURN(std::vector<size_t> order, g_.topologicalOrder());
    for (size_t i : order) {
      const Node& n = g_.nodes[i];
      if (isDefaultDomain(n) && n.op_type == "Conv") process(i, std::nullopt);
    }
    while (!queue_.empty()) {
      const size_t v = queue_.front();
      queue_.pop_front();
      const std::string name = values[v].name;
      if (index_.isGraphOutput(name)) freeze(v, "graph output '" + name + "'");
      if (std::optional<size_t> p = index_.producer(name)) {
        process(*p, v);
      } else if (isConstant(name)) {
        freeze(v, "constant '" + name + "' carries these channels");
      } else {
        freeze(v, "graph input '" + name + "'");
      }
      for (size_t c : index_.consumers(name)) process(c, v);
    }
    for (const auto& [node, reason] : options_.frozen_nodes) {
      if (node >= g_.nodes.size()) continue;
      const Node& n = g_.nodes[node];
      for (const std::string& o : n.outputs) {
        auto it = value_index_.find(o);
        if (it != value_index_.end()) freeze(it->second, "'" + n.name + "': " + reason);
      }
    }
    frozen = std::move(frozen_);
    parent = std::move(parent_);
    source_of_value = std::move(source_of_value_);
    return Status::ok();
  }

  const std::unordered_map<std::string, size_t>& valueIndex() const { return value_index_; }

 private:
  // Initializers count as constants even when also listed as graph inputs (exports before IR 4
  // list every weight as an input; nobody feeds them, and the engine reads the initializer).
  bool isConstant(const std::string& name) const {
    if (name.empty()) return false;
    return g_.isInitializer(name) || constant_nodes_.count(name);
  }

  std::optional<Shape> constantShape(const std::string& name) const {
    if (const Tensor* t = g_.initializer(name)) return t->shape();
    auto it = constant_nodes_.find(name);
    if (it == constant_nodes_.end()) return std::nullopt;
    Result<Tensor> t = constantNodeValue(g_.nodes[it->second]);
    if (!t) return std::nullopt;
    return t->shape();
  }

  std::optional<Tensor> constant(const std::string& name) const {
    if (!isConstant(name)) return std::nullopt;
    return constantValue(g_, name);
  }

  // Rank and dims of a value as far as known.
  const TensorType* type(const std::string& name) const {
    const TensorType* t = g_.typeOf(name);
    return (t && t->has_shape) ? t : nullptr;
  }

  std::optional<size_t> reg(const std::string& name) {
    if (name.empty()) return std::nullopt;
    if (auto it = value_index_.find(name); it != value_index_.end()) return it->second;
    if (isConstant(name)) return std::nullopt;
    const TensorType* t = type(name);
    if (!t || t->dims.size() < 2 || !t->dims[1].isStatic() || t->dims[1].value <= 0)
      return std::nullopt;
    ChannelValue v;
    v.name = name;
    v.channels = t->dims[1].value;
    v.first_slot = static_cast<int64_t>(parent_.size());
    v.producer = index_.producer(name);
    const size_t idx = values_->size();
    values_->push_back(v);
    value_index_[name] = idx;
    parent_.resize(parent_.size() + static_cast<size_t>(v.channels));
    for (int64_t s = v.first_slot; s < v.first_slot + v.channels; ++s)
      parent_[static_cast<size_t>(s)] = s;
    queue_.push_back(idx);
    return idx;
  }

  int64_t channels(size_t v) const { return (*values_)[v].channels; }

  int64_t find(int64_t s) {
    while (parent_[static_cast<size_t>(s)] != s) {
      parent_[static_cast<size_t>(s)] =
          parent_[static_cast<size_t>(parent_[static_cast<size_t>(s)])];
      s = parent_[static_cast<size_t>(s)];
    }
    return s;
  }
  void unite(size_t va, int64_t ca, size_t vb, int64_t cb) {
    const int64_t a = find((*values_)[va].first_slot + ca);
    const int64_t b = find((*values_)[vb].first_slot + cb);
    if (a != b) parent_[static_cast<size_t>(std::max(a, b))] = std::min(a, b);
  }
  void uniteAll(size_t va, size_t vb) {
    for (int64_t c = 0; c < channels(va); ++c) unite(va, c, vb, c);
  }

  void freezeRange(size_t v, int64_t begin, int64_t end, std::string reason) {
    frozen_.push_back({v, begin, end, std::move(reason)});
  }
  void freeze(size_t v, const std::string& why) { freezeRange(v, 0, channels(v), why); }

  // The node cannot be handled: the value that reached it keeps all its channels.
  void refuse(size_t n, std::optional<size_t> via, const std::string& why) {
    if (!via) return;
    const Node& node = g_.nodes[n];
    const std::string& name = (*values_)[*via].name;
    const bool produced =
        std::find(node.outputs.begin(), node.outputs.end(), name) != node.outputs.end();
    freeze(*via, std::string(produced ? "produced by " : "read by ") + node.op_type + " '" +
                     node.name + "' (" + why + ")");
  }

  bool outputUsed(const std::string& name) const {
    return !name.empty() && (!index_.consumers(name).empty() || index_.isGraphOutput(name));
  }

  // True when `name` is read by `node` only at an input that is not a channel-carrying operand
  // (a Conv weight, Split sizes, Resize scales, Clip bounds...).
  static bool readsAsParameter(const Node& node, const std::string& name) {
    const bool all_data = broadcastOps().count(node.op_type) || node.op_type == "Concat";
    bool as_data = false, as_param = false;
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      if (node.inputs[i] != name) continue;
      (all_data || i == 0 ? as_data : as_param) = true;
    }
    return as_param && !as_data;
  }

  void process(size_t n, std::optional<size_t> via) {
    const Node& node = g_.nodes[n];
    if (via && readsAsParameter(node, (*values_)[*via].name)) {
      return freeze(*via, "read by " + node.op_type + " '" + node.name + "' as a parameter");
    }
    if (processed_[n]) return;
    if (!isDefaultDomain(node)) return refuse(n, via, "custom domain op");
    const std::string& op = node.op_type;
    if (op == "Conv") return processConv(n);
    if (op == "BatchNormalization" || op == "InstanceNormalization") return processNorm(n, via);
    if (channelwiseUnaryOps().count(op)) return processUnary(n, via);
    if (broadcastOps().count(op)) return processBroadcast(n, via);
    if (op == "Concat") return processConcat(n, via);
    if (op == "Split") return processSplit(n, via);
    if (op == "Slice") return processSlice(n, via);
    return refuse(n, via, "channel layout not tracked through this op");
  }

  // A Conv is processed whatever reached it: its outputs are sources, its input a consumer.
  void processConv(size_t n) {
    const Node& node = g_.nodes[n];
    processed_[n] = true;
    std::optional<size_t> x = reg(node.input(0));
    std::optional<size_t> y = reg(node.outputs.empty() ? std::string() : node.outputs[0]);
    auto freezeBoth = [&](const std::string& why) {
      const std::string r = "Conv '" + node.name + "': " + why;
      if (x) freeze(*x, r);
      if (y) freeze(*y, r);
    };
    std::optional<Shape> w = constantShape(node.input(1));
    if (!isConstant(node.input(1)) || !w || w->size() < 3)
      return freezeBoth("weight is not a constant");
    const std::string& bias = node.input(2);
    if (!bias.empty() && !isConstant(bias)) return freezeBoth("bias is not a constant");
    if (!y) return freezeBoth("output channel count unknown");
    const int64_t group = node.intOr("group", 1);
    if ((*w)[0] != channels(*y)) return freezeBoth("weight and output channel counts differ");
    if (group == 1) {
      source_of_value_[*y] = n;
      NodeEdit e;
      e.node = n;
      e.kind = NodeEdit::Kind::kParams;
      e.params.push_back({1, 0, *y});
      if (x) {
        if ((*w)[1] != channels(*x)) return freezeBoth("weight and input channel counts differ");
        e.params.push_back({1, 1, *x});
      }
      if (!bias.empty()) e.params.push_back({2, 0, *y});
      edits_->push_back(std::move(e));
      return;
    }
    if (x && group == channels(*x) && (*w)[0] == group && (*w)[1] == 1) {
      // Depthwise: channel c in, channel c out, filter c; removing c keeps `group == channels`.
      source_of_value_[*y] = n;
      uniteAll(*x, *y);
      NodeEdit e;
      e.node = n;
      e.kind = NodeEdit::Kind::kDepthwiseConv;
      e.params.push_back({1, 0, *y});
      if (!bias.empty()) e.params.push_back({2, 0, *y});
      e.in_value = *x;
      e.out_values = {*y};
      edits_->push_back(std::move(e));
      return;
    }
    freezeBoth("grouped Conv (group=" + std::to_string(group) + ") that is not depthwise");
  }

  void processNorm(size_t n, std::optional<size_t> via) {
    const Node& node = g_.nodes[n];
    for (size_t o = 1; o < node.outputs.size(); ++o) {
      if (outputUsed(node.outputs[o])) return refuse(n, via, "training-mode outputs are used");
    }
    std::optional<size_t> x = reg(node.input(0));
    std::optional<size_t> y = reg(node.outputs[0]);
    if (!x || !y || channels(*x) != channels(*y)) return refuse(n, via, "channel count unknown");
    const size_t param_count = node.op_type == "BatchNormalization" ? 4 : 2;
    NodeEdit e;
    e.node = n;
    for (size_t i = 1; i <= param_count; ++i) {
      std::optional<Shape> s = constantShape(node.input(i));
      if (!isConstant(node.input(i)) || !s || s->size() != 1 || (*s)[0] != channels(*y)) {
        return refuse(
            n, via, "parameter '" + node.input(i) + "' is not a constant of one entry per channel");
      }
      e.params.push_back({i, 0, *y});
    }
    processed_[n] = true;
    uniteAll(*x, *y);
    edits_->push_back(std::move(e));
  }

  void processUnary(size_t n, std::optional<size_t> via) {
    const Node& node = g_.nodes[n];
    const std::string& op = node.op_type;
    for (size_t o = 1; o < node.outputs.size(); ++o) {
      if (outputUsed(node.outputs[o])) return refuse(n, via, "its second output is used");
    }
    std::optional<size_t> x = reg(node.input(0));
    std::optional<size_t> y = reg(node.outputs.empty() ? std::string() : node.outputs[0]);
    if (!x || !y) return refuse(n, via, "channel count unknown");
    if (channels(*x) != channels(*y)) return refuse(n, via, "changes the channel count");
    std::optional<NodeEdit> edit;
    if (op == "Clip") {
      for (size_t i = 1; i < node.inputs.size(); ++i) {
        if (node.inputs[i].empty()) continue;
        const TensorType* t = type(node.inputs[i]);
        if (!t || !t->staticShape() || shapeNumel(*t->staticShape()) != 1) {
          return refuse(n, via, "min / max is not a scalar");
        }
      }
    } else if (op == "Resize" || op == "Upsample") {
      const std::string& scales = node.input(op == "Resize" ? 2 : 1);
      if (!scales.empty()) {
        std::optional<Tensor> s = constant(scales);
        if (!s) return refuse(n, via, "scales are not constant");
        if (s->numel() > 0 && (s->numel() < 2 || s->elementAsDouble(1) != 1.0)) {
          return refuse(n, via, "scales resize the channel axis");
        }
      }
      const std::string& sizes = op == "Resize" ? node.input(3) : std::string();
      if (!sizes.empty()) {
        std::optional<Tensor> s = constant(sizes);
        if (!s || s->numel() < 2 || s->elementAsInt64(1) != channels(*x) || node.hasAttr("axes")) {
          return refuse(n, via, "sizes are not a constant holding the channel count at index 1");
        }
        NodeEdit e;
        e.node = n;
        e.kind = NodeEdit::Kind::kResizeSizes;
        e.in_value = *x;
        e.out_values = {*y};
        edit = std::move(e);
      }
    } else if (op == "Pad") {
      const int64_t rank = static_cast<int64_t>(type(node.input(0))->dims.size());
      std::vector<int64_t> pads;
      if (node.hasAttr("pads")) {
        pads = node.intsOr("pads", {});
      } else {
        std::optional<Tensor> p = constant(node.input(1));
        if (!p) return refuse(n, via, "pads are not constant");
        pads = p->toInt64Vector();
      }
      if (!node.input(3).empty()) return refuse(n, via, "pads with an axes input");
      if (static_cast<int64_t>(pads.size()) != 2 * rank || pads[1] != 0 ||
          pads[static_cast<size_t>(rank + 1)] != 0) {
        return refuse(n, via, "pads the channel axis");
      }
    }
    processed_[n] = true;
    uniteAll(*x, *y);
    if (edit) edits_->push_back(std::move(*edit));
  }

  void processBroadcast(size_t n, std::optional<size_t> via) {
    const Node& node = g_.nodes[n];
    std::optional<size_t> y = reg(node.outputs.empty() ? std::string() : node.outputs[0]);
    const TensorType* yt = y ? type(node.outputs[0]) : nullptr;
    if (!y || !yt) return refuse(n, via, "output channel count unknown");
    const int64_t rank = static_cast<int64_t>(yt->dims.size());
    const int64_t c = channels(*y);
    std::vector<size_t> coupled;
    NodeEdit e;
    e.node = n;
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      const std::string& in = node.inputs[i];
      if (in.empty()) continue;
      if (isConstant(in)) {
        std::optional<Shape> s = constantShape(in);
        if (!s) return refuse(n, via, "constant operand unreadable");
        const int64_t axis = 1 - (rank - static_cast<int64_t>(s->size()));
        if (axis < 0 || (*s)[static_cast<size_t>(axis)] == 1) continue;
        if ((*s)[static_cast<size_t>(axis)] != c)
          return refuse(n, via, "constant operand does not broadcast per channel");
        e.params.push_back({i, axis, *y});
        continue;
      }
      const TensorType* t = type(in);
      if (!t) return refuse(n, via, "operand shape unknown");
      const int64_t axis = 1 - (rank - static_cast<int64_t>(t->dims.size()));
      if (axis < 0) continue;
      const Dim& d = t->dims[static_cast<size_t>(axis)];
      if (d.isStatic() && d.value == 1 && c != 1) continue;  // broadcast over channels
      if (axis != 1 || !d.isStatic() || d.value != c)
        return refuse(n, via, "operand channels do not line up");
      std::optional<size_t> v = reg(in);
      if (!v) return refuse(n, via, "operand channel count unknown");
      coupled.push_back(*v);
    }
    processed_[n] = true;
    for (size_t v : coupled) uniteAll(v, *y);
    if (!e.params.empty()) edits_->push_back(std::move(e));
  }

  void processConcat(size_t n, std::optional<size_t> via) {
    const Node& node = g_.nodes[n];
    std::optional<size_t> y = reg(node.outputs.empty() ? std::string() : node.outputs[0]);
    const TensorType* yt = y ? type(node.outputs[0]) : nullptr;
    if (!y || !yt) return refuse(n, via, "output channel count unknown");
    const int64_t axis =
        normaliseAxis(node.intOr("axis", 0), static_cast<int64_t>(yt->dims.size()));
    std::vector<size_t> ins;
    for (const std::string& in : node.inputs) {
      if (in.empty()) continue;
      if (isConstant(in)) return refuse(n, via, "constant input '" + in + "'");
      std::optional<size_t> v = reg(in);
      if (!v) return refuse(n, via, "input channel count unknown");
      ins.push_back(*v);
    }
    if (axis == 1) {
      int64_t total = 0;
      for (size_t v : ins) total += channels(v);
      if (total != channels(*y))
        return refuse(n, via, "input channels do not add up to the output's");
      processed_[n] = true;
      int64_t offset = 0;
      for (size_t v : ins) {
        for (int64_t ch = 0; ch < channels(v); ++ch) unite(v, ch, *y, offset + ch);
        offset += channels(v);
      }
      return;
    }
    for (size_t v : ins) {
      if (channels(v) != channels(*y)) return refuse(n, via, "channel counts differ");
    }
    processed_[n] = true;
    for (size_t v : ins) uniteAll(v, *y);
  }

  void processSplit(size_t n, std::optional<size_t> via) {
    const Node& node = g_.nodes[n];
    std::optional<size_t> x = reg(node.input(0));
    const TensorType* xt = x ? type(node.input(0)) : nullptr;
    if (!x || !xt) return refuse(n, via, "input channel count unknown");
    const int64_t axis =
        normaliseAxis(node.intOr("axis", 0), static_cast<int64_t>(xt->dims.size()));
    std::vector<size_t> outs;
    for (const std::string& o : node.outputs) {
      std::optional<size_t> v = reg(o);
      if (!v) return refuse(n, via, "output channel count unknown");
      outs.push_back(*v);
    }
    if (axis != 1) {
      for (size_t v : outs) {
        if (channels(v) != channels(*x)) return refuse(n, via, "channel counts differ");
      }
      processed_[n] = true;
      for (size_t v : outs) uniteAll(*x, v);
      return;
    }
    if (!node.input(1).empty() && !constant(node.input(1)))
      return refuse(n, via, "split sizes are not constant");
    int64_t total = 0;
    for (size_t v : outs) total += channels(v);
    if (total != channels(*x))
      return refuse(n, via, "output channels do not add up to the input's");
    processed_[n] = true;
    int64_t offset = 0;
    for (size_t v : outs) {
      for (int64_t ch = 0; ch < channels(v); ++ch) unite(*x, offset + ch, v, ch);
      offset += channels(v);
    }
    NodeEdit e;
    e.node = n;
    e.kind = NodeEdit::Kind::kSplit;
    e.in_value = *x;
    e.out_values = outs;
    edits_->push_back(std::move(e));
  }

  void processSlice(size_t n, std::optional<size_t> via) {
    const Node& node = g_.nodes[n];
    std::optional<size_t> x = reg(node.input(0));
    std::optional<size_t> y = reg(node.outputs.empty() ? std::string() : node.outputs[0]);
    const TensorType* xt = x ? type(node.input(0)) : nullptr;
    if (!x || !y || !xt) return refuse(n, via, "channel count unknown");
    const int64_t rank = static_cast<int64_t>(xt->dims.size());
    std::vector<int64_t> starts, ends, axes, steps;
    if (node.hasAttr("starts")) {
      starts = node.intsOr("starts", {});
      ends = node.intsOr("ends", {});
      axes = node.intsOr("axes", {});
    } else {
      std::optional<Tensor> s = constant(node.input(1)), e = constant(node.input(2));
      if (!s || !e) return refuse(n, via, "starts / ends are not constant");
      starts = s->toInt64Vector();
      ends = e->toInt64Vector();
      if (!node.input(3).empty()) {
        std::optional<Tensor> a = constant(node.input(3));
        if (!a) return refuse(n, via, "axes are not constant");
        axes = a->toInt64Vector();
      }
      if (!node.input(4).empty()) {
        std::optional<Tensor> st = constant(node.input(4));
        if (!st) return refuse(n, via, "steps are not constant");
        steps = st->toInt64Vector();
      }
    }
    if (axes.empty()) {
      axes.resize(starts.size());
      std::iota(axes.begin(), axes.end(), 0);
    }
    if (starts.size() != ends.size() || axes.size() != starts.size())
      return refuse(n, via, "malformed starts / ends / axes");
    int64_t entry = -1;
    for (size_t k = 0; k < axes.size(); ++k) {
      if (normaliseAxis(axes[k], rank) == 1) entry = static_cast<int64_t>(k);
    }
    if (entry < 0) {
      if (channels(*x) != channels(*y)) return refuse(n, via, "channel counts differ");
      processed_[n] = true;
      uniteAll(*x, *y);
      return;
    }
    const size_t k = static_cast<size_t>(entry);
    if (!steps.empty() && steps[k] != 1) return refuse(n, via, "strided slice of the channel axis");
    const int64_t cx = channels(*x);
    auto clampIndex = [cx](int64_t i) {
      if (i < 0) i += cx;
      return std::clamp<int64_t>(i, 0, cx);
    };
    const int64_t start = clampIndex(starts[k]);
    const int64_t end = clampIndex(ends[k]);
    if (end - start != channels(*y))
      return refuse(n, via, "slice range does not match the output's channels");
    processed_[n] = true;
    for (int64_t ch = 0; ch < channels(*y); ++ch) unite(*x, start + ch, *y, ch);
    NodeEdit e;
    e.node = n;
    e.kind = NodeEdit::Kind::kSlice;
    e.in_value = *x;
    e.out_values = {*y};
    e.axis_entry = entry;
    e.slice_start = start;
    edits_->push_back(std::move(e));
  }

  const Graph& g_;
  GraphIndex index_;
  const ChannelGraphOptions& options_;
  std::vector<bool> processed_;
  std::unordered_map<std::string, size_t> constant_nodes_;
  std::vector<ChannelValue>* values_ = nullptr;
  std::vector<NodeEdit>* edits_ = nullptr;
  std::unordered_map<std::string, size_t> value_index_;
  std::vector<int64_t> parent_;
  std::deque<size_t> queue_;
  std::vector<FrozenRange> frozen_;
  std::unordered_map<size_t, size_t> source_of_value_;
};

// Number of reads of each value by nodes of the main graph (a node reading twice counts twice).
std::unordered_map<std::string, int> readCounts(const Graph& graph) {
  std::unordered_map<std::string, int> counts;
  for (const Node& n : graph.nodes) {
    for (const std::string& in : n.inputs) {
      if (!in.empty()) ++counts[in];
    }
    for (const Attribute& a : n.attributes) {
      if (a.kind == Attribute::Kind::kGraph || a.kind == Attribute::Kind::kGraphs) {
        // A subgraph may capture anything: count every name it reads as shared.
        Graph one;
        one.nodes.push_back(n);
        for (const std::string& r : one.usedValueNames()) counts[r] += 2;
      }
    }
  }
  for (const ValueInfo& v : graph.outputs) counts[v.name] += 2;
  return counts;
}

// Writes `tensor` as input `input` of node `node`: in place when that input is an initializer
// only this node reads, else as a new initializer the node is rewired to. `replaced` collects
// the names that may have become unread.
void writeConstantInput(Graph& graph, size_t node, size_t input, Tensor tensor,
                        const std::unordered_map<std::string, int>& reads,
                        std::vector<std::string>& replaced) {
  Node& n = graph.nodes[node];
  if (n.inputs.size() <= input) n.inputs.resize(input + 1);
  const std::string old = n.inputs[input];
  auto it = reads.find(old);
  if (!old.empty() && graph.isInitializer(old) && it != reads.end() && it->second == 1) {
    // An initializer also declared as a graph input (IR < 4 exports) keeps its declaration in
    // step with the new shape.
    for (ValueInfo& v : graph.inputs) {
      if (v.name != old || !v.type.has_shape) continue;
      v.type.dims.clear();
      for (int64_t d : tensor.shape()) v.type.dims.push_back(Dim{d, {}});
    }
    graph.setInitializer(old, std::move(tensor));
    return;
  }
  const std::string stem = old.empty() ? n.name + "_" + std::to_string(input) : old;
  const std::string fresh = graph.uniqueName(stem + "_pruned");
  graph.setInitializer(fresh, std::move(tensor));
  graph.nodes[node].inputs[input] = fresh;
  if (!old.empty()) replaced.push_back(old);
}

// Drops initializers among `names` nothing reads, and Constant nodes whose output nothing reads.
void dropUnread(Graph& graph, const std::vector<std::string>& names) {
  if (names.empty()) return;
  const std::vector<std::string> used_list = graph.usedValueNames();
  const std::unordered_set<std::string> used(used_list.begin(), used_list.end());
  const std::unordered_set<std::string> candidates(names.begin(), names.end());
  for (const std::string& name : candidates) {
    if (used.count(name) || !graph.isInitializer(name)) continue;
    graph.removeInitializer(name);
    // An initializer-backed graph input (IR < 4 style) goes with its initializer.
    std::erase_if(graph.inputs, [&](const ValueInfo& v) { return v.name == name; });
  }
  std::vector<Node> kept;
  kept.reserve(graph.nodes.size());
  for (Node& n : graph.nodes) {
    const bool dead_constant = n.op_type == "Constant" && n.outputs.size() == 1 &&
                               candidates.count(n.outputs[0]) && !used.count(n.outputs[0]);
    if (!dead_constant) kept.push_back(std::move(n));
  }
  graph.nodes = std::move(kept);
}

}  // namespace

std::optional<Tensor> constantValue(const Graph& graph, const std::string& value_name) {
  if (value_name.empty()) return std::nullopt;
  if (const Tensor* t = graph.initializer(value_name)) return *t;
  for (const Node& n : graph.nodes) {
    if (n.op_type == "Constant" && n.outputs.size() == 1 && n.outputs[0] == value_name) {
      Result<Tensor> t = constantNodeValue(n);
      if (!t) return std::nullopt;
      return std::move(t).value();
    }
  }
  return std::nullopt;
}

Tensor sliceAxis(const Tensor& tensor, int64_t axis, const std::vector<int64_t>& keep) {
  const Shape& shape = tensor.shape();
  const size_t elem = dtypeSize(tensor.dtype());
  int64_t outer = 1, inner = 1;
  for (int64_t a = 0; a < axis; ++a) outer *= shape[static_cast<size_t>(a)];
  for (size_t a = static_cast<size_t>(axis) + 1; a < shape.size(); ++a) inner *= shape[a];
  const int64_t dim = shape[static_cast<size_t>(axis)];
  Shape out_shape = shape;
  out_shape[static_cast<size_t>(axis)] = static_cast<int64_t>(keep.size());
  Tensor out(tensor.dtype(), out_shape);
  const auto* src = static_cast<const std::byte*>(tensor.raw());
  auto* dst = static_cast<std::byte*>(out.rawMutable());
  const size_t row = static_cast<size_t>(inner) * elem;
  size_t pos = 0;
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t k : keep) {
      std::memcpy(dst + pos, src + (static_cast<size_t>(o * dim + k)) * row, row);
      pos += row;
    }
  }
  return out;
}

std::string ChannelGroup::describe(const Graph& graph) const {
  std::string s;
  for (size_t i = 0; i < sources.size(); ++i) {
    if (i) s += " + ";
    s += graph.nodes[sources[i]].name;
  }
  return s.empty() ? std::string("(no Conv)") : s;
}

std::optional<size_t> ChannelGraph::valueIndex(const std::string& value_name) const {
  auto it = value_index_.find(value_name);
  if (it == value_index_.end()) return std::nullopt;
  return it->second;
}

size_t ChannelGraph::classOf(size_t value, int64_t channel) const {
  return static_cast<size_t>(slot_class_[static_cast<size_t>(values_[value].first_slot + channel)]);
}

Result<ChannelGraph> ChannelGraph::build(const Graph& graph, const ChannelGraphOptions& options) {
  ChannelGraph cg;
  Analyzer analyzer(graph, options);
  std::vector<FrozenRange> frozen;
  std::vector<int64_t> parent;
  std::unordered_map<size_t, size_t> source_of_value;
  DS_RETURN_IF_ERROR(analyzer.run(cg.values_, cg.edits_, frozen, parent, source_of_value));
  for (const auto& [name, idx] : analyzer.valueIndex()) cg.value_index_[name] = idx;

  // Union-find roots -> classes, numbered in slot order.
  auto find = [&](int64_t s) {
    while (parent[static_cast<size_t>(s)] != s) s = parent[static_cast<size_t>(s)];
    return s;
  };
  cg.slot_class_.assign(parent.size(), -1);
  std::unordered_map<int64_t, size_t> class_of_root;
  for (size_t v = 0; v < cg.values_.size(); ++v) {
    const ChannelValue& val = cg.values_[v];
    for (int64_t c = 0; c < val.channels; ++c) {
      const int64_t slot = val.first_slot + c;
      const int64_t root = find(slot);
      auto [it, fresh] = class_of_root.try_emplace(root, cg.classes_.size());
      if (fresh) cg.classes_.emplace_back();
      cg.slot_class_[static_cast<size_t>(slot)] = static_cast<int64_t>(it->second);
      ChannelClass& cls = cg.classes_[it->second];
      cls.slots.push_back({v, c});
      if (auto src = source_of_value.find(v); src != source_of_value.end())
        cls.sources.push_back(src->second);
    }
  }
  std::vector<std::set<std::string>> class_reasons(cg.classes_.size());
  for (const FrozenRange& f : frozen) {
    for (int64_t c = f.begin; c < f.end; ++c) {
      const size_t k = cg.classOf(f.value, c);
      cg.classes_[k].frozen = true;
      if (class_reasons[k].size() < 4) class_reasons[k].insert(f.reason);
    }
  }
  std::map<std::vector<size_t>, size_t> group_of_sources;
  for (size_t k = 0; k < cg.classes_.size(); ++k) {
    ChannelClass& cls = cg.classes_[k];
    std::sort(cls.sources.begin(), cls.sources.end());
    cls.sources.erase(std::unique(cls.sources.begin(), cls.sources.end()), cls.sources.end());
    if (cls.sources.empty() && !cls.frozen) {
      cls.frozen = true;
      class_reasons[k].insert("no Conv produces these channels");
    }
    auto [it, fresh] = group_of_sources.try_emplace(cls.sources, cg.groups_.size());
    if (fresh) {
      cg.groups_.emplace_back();
      cg.groups_.back().sources = cls.sources;
    }
    cls.group = it->second;
    ChannelGroup& grp = cg.groups_[it->second];
    grp.classes.push_back(k);
    if (cls.frozen) {
      grp.frozen = true;
      for (const std::string& r : class_reasons[k]) {
        if (std::find(grp.reasons.begin(), grp.reasons.end(), r) == grp.reasons.end() &&
            grp.reasons.size() < 6) {
          grp.reasons.push_back(r);
        }
      }
    }
  }
  for (ChannelGroup& grp : cg.groups_) {
    if (!grp.frozen) continue;
    for (size_t k : grp.classes) cg.classes_[k].frozen = true;
  }
  return cg;
}

std::vector<std::vector<int64_t>> ChannelGraph::keptChannels(
    const std::vector<bool>& remove) const {
  std::vector<std::vector<int64_t>> keep(values_.size());
  for (size_t v = 0; v < values_.size(); ++v) {
    for (int64_t c = 0; c < values_[v].channels; ++c) {
      const size_t k = classOf(v, c);
      if (k >= remove.size() || !remove[k]) keep[v].push_back(c);
    }
  }
  return keep;
}

Status ChannelGraph::apply(Graph& graph, const std::vector<bool>& remove, int64_t opset) const {
  if (remove.size() != classes_.size()) {
    return invalidArgument("channel removal: " + std::to_string(remove.size()) + " flags for " +
                           std::to_string(classes_.size()) + " channel classes");
  }
  for (size_t k = 0; k < remove.size(); ++k) {
    if (remove[k] && classes_[k].frozen) {
      return invalidArgument("channel removal: class " + std::to_string(k) + " of '" +
                             values_[classes_[k].slots[0].value].name + "' is frozen");
    }
  }
  const std::vector<std::vector<int64_t>> keep = keptChannels(remove);
  for (size_t v = 0; v < values_.size(); ++v) {
    if (keep[v].empty()) {
      return invalidArgument("channel removal would leave '" + values_[v].name +
                             "' with no channel");
    }
  }
  auto changed = [&](size_t v) {
    return static_cast<int64_t>(keep[v].size()) != values_[v].channels;
  };

  Graph work = graph;
  const std::unordered_map<std::string, int> reads = readCounts(work);
  std::vector<std::string> replaced;
  for (const NodeEdit& e : edits_) {
    if (e.node >= work.nodes.size())
      return internalError("channel removal: node index out of range");
    // Slices grouped by input, applied in order (a Conv weight loses output and input channels).
    std::map<size_t, std::vector<const ParamSlice*>> by_input;
    for (const ParamSlice& p : e.params) {
      if (changed(p.value)) by_input[p.input].push_back(&p);
    }
    for (const auto& [input, slices] : by_input) {
      const Node& n = work.nodes[e.node];
      std::optional<Tensor> t = constantValue(work, n.input(input));
      if (!t)
        return internalError(n.describe() + ": input " + std::to_string(input) +
                             " is no longer constant");
      Tensor cur = *t;
      for (const ParamSlice* p : slices) {
        if (p->axis >= cur.rank() ||
            cur.shape()[static_cast<size_t>(p->axis)] != values_[p->value].channels) {
          return internalError(n.describe() + ": input " + std::to_string(input) + " axis " +
                               std::to_string(p->axis) + " does not hold " +
                               std::to_string(values_[p->value].channels) + " channels");
        }
        cur = sliceAxis(cur, p->axis, keep[p->value]);
      }
      writeConstantInput(work, e.node, input, std::move(cur), reads, replaced);
    }
    Node& n = work.nodes[e.node];
    switch (e.kind) {
      case NodeEdit::Kind::kParams:
        break;
      case NodeEdit::Kind::kDepthwiseConv:
        if (changed(e.in_value))
          n.setAttr(Attribute::makeInt("group", static_cast<int64_t>(keep[e.in_value].size())));
        break;
      case NodeEdit::Kind::kSplit: {
        bool any = false;
        std::vector<int64_t> sizes;
        for (size_t v : e.out_values) {
          sizes.push_back(static_cast<int64_t>(keep[v].size()));
          any = any || changed(v);
        }
        if (!any) break;
        if (n.hasAttr("split")) {
          n.setAttr(Attribute::makeInts("split", sizes));
        } else if (!n.input(1).empty() || opset >= 13) {
          n.removeAttr("num_outputs");
          writeConstantInput(
              work, e.node, 1,
              Tensor::fromVector(DType::kInt64, {static_cast<int64_t>(sizes.size())}, sizes), reads,
              replaced);
        } else {
          n.setAttr(Attribute::makeInts("split", sizes));
        }
        break;
      }
      case NodeEdit::Kind::kSlice: {
        const size_t y = e.out_values[0];
        if (!changed(e.in_value) && !changed(y)) break;
        const std::vector<int64_t>& kx = keep[e.in_value];
        const int64_t new_start =
            std::lower_bound(kx.begin(), kx.end(), e.slice_start) - kx.begin();
        const int64_t new_end = new_start + static_cast<int64_t>(keep[y].size());
        const size_t k = static_cast<size_t>(e.axis_entry);
        if (n.hasAttr("starts")) {
          std::vector<int64_t> s = n.intsOr("starts", {}), en = n.intsOr("ends", {});
          s[k] = new_start;
          en[k] = new_end;
          n.setAttr(Attribute::makeInts("starts", s));
          n.setAttr(Attribute::makeInts("ends", en));
        } else {
          for (size_t input : {size_t{1}, size_t{2}}) {
            std::optional<Tensor> t = constantValue(work, work.nodes[e.node].input(input));
            if (!t) return internalError(n.describe() + ": starts / ends are no longer constant");
            std::vector<int64_t> vals = t->toInt64Vector();
            vals[k] = input == 1 ? new_start : new_end;
            Tensor nt(t->dtype(), t->shape());
            for (size_t i = 0; i < vals.size(); ++i) {
              if (t->dtype() == DType::kInt32)
                nt.mutableData<int32_t>()[i] = static_cast<int32_t>(vals[i]);
              else
                nt.mutableData<int64_t>()[i] = vals[i];
            }
            writeConstantInput(work, e.node, input, std::move(nt), reads, replaced);
          }
        }
        break;
      }
      case NodeEdit::Kind::kResizeSizes: {
        if (!changed(e.in_value)) break;
        std::optional<Tensor> t = constantValue(work, n.input(3));
        if (!t) return internalError(n.describe() + ": sizes are no longer constant");
        Tensor nt = t->clone();
        nt.mutableData<int64_t>()[1] = static_cast<int64_t>(keep[e.in_value].size());
        writeConstantInput(work, e.node, 3, std::move(nt), reads, replaced);
        break;
      }
    }
  }
  for (ValueInfo& vi : work.value_info) {
    auto it = value_index_.find(vi.name);
    if (it == value_index_.end() || !changed(it->second)) continue;
    if (vi.type.has_shape && vi.type.dims.size() > 1) {
      vi.type.dims[1] = Dim{static_cast<int64_t>(keep[it->second].size()), {}};
    }
  }
  work.inferred_types.clear();
  dropUnread(work, replaced);
  graph = std::move(work);
  return Status::ok();
}

std::vector<ResidualBlock> findResidualBlocks(const Graph& graph) {
  std::vector<ResidualBlock> blocks;
  const GraphIndex index(graph);
  Result<std::vector<size_t>> order = graph.topologicalOrder();
  if (!order) return blocks;
  std::vector<size_t> position(graph.nodes.size());
  for (size_t i = 0; i < order->size(); ++i) position[(*order)[i]] = i;
  constexpr size_t kMaxBranchNodes = 64;  // a bottleneck is a handful of nodes; bound the search
  auto isConst = [&](const std::string& v) {
    if (graph.isInitializer(v)) return true;
    std::optional<size_t> p = index.producer(v);
    return p && graph.nodes[*p].op_type == "Constant";
  };
  for (size_t a : *order) {
    const Node& add = graph.nodes[a];
    if (add.op_type != "Add" || !(add.domain.empty() || add.domain == "ai.onnx") ||
        add.inputs.size() != 2)
      continue;
    if (add.outputs.size() != 1 || index.isGraphOutput(add.outputs[0])) continue;
    std::optional<Shape> ys = graph.staticShapeOf(add.outputs[0]);
    if (!ys) continue;
    bool found = false;
    for (int swap = 0; swap < 2 && !found; ++swap) {
      const std::string& x = add.inputs[swap];
      const std::string& fx = add.inputs[1 - swap];
      if (x == fx || isConst(x) || isConst(fx)) continue;
      if (graph.staticShapeOf(x) != ys || graph.staticShapeOf(fx) != ys) continue;
      std::optional<size_t> head = index.producer(fx);
      if (!head) continue;
      std::set<size_t> branch;
      std::vector<size_t> stack = {*head};
      bool ok = true;
      while (!stack.empty() && ok) {
        const size_t m = stack.back();
        stack.pop_back();
        if (!branch.insert(m).second) continue;
        if (branch.size() > kMaxBranchNodes) {
          ok = false;
          break;
        }
        for (const std::string& in : graph.nodes[m].inputs) {
          if (in.empty() || in == x || isConst(in)) continue;
          std::optional<size_t> p = index.producer(in);
          if (!p) {
            ok = false;
            break;
          }
          stack.push_back(*p);
        }
        for (const Attribute& at : graph.nodes[m].attributes) {
          if (at.kind == Attribute::Kind::kGraph || at.kind == Attribute::Kind::kGraphs) ok = false;
        }
      }
      if (!ok) continue;
      for (size_t m : branch) {
        for (const std::string& o : graph.nodes[m].outputs) {
          if (o.empty()) continue;
          if (index.isGraphOutput(o)) ok = false;
          for (size_t c : index.consumers(o)) {
            if (!branch.count(c) && !(c == a && o == fx)) ok = false;
          }
        }
      }
      if (!ok) continue;
      ResidualBlock b;
      b.add = a;
      b.shortcut = x;
      b.branch.assign(branch.begin(), branch.end());
      std::sort(b.branch.begin(), b.branch.end(),
                [&](size_t l, size_t r) { return position[l] < position[r]; });
      for (size_t m : b.branch) {
        if (graph.nodes[m].op_type == "Conv") b.last_conv = m;
      }
      if (!b.last_conv) continue;
      blocks.push_back(std::move(b));
      found = true;
    }
  }
  std::sort(blocks.begin(), blocks.end(),
            [](const ResidualBlock& l, const ResidualBlock& r) { return l.add < r.add; });
  return blocks;
}

Status removeResidualBlocks(Graph& graph, const std::vector<ResidualBlock>& blocks) {
  if (blocks.empty()) return Status::ok();
  std::unordered_map<std::string, std::string> alias;  // removed Add output -> its shortcut
  std::vector<bool> drop(graph.nodes.size(), false);
  std::vector<std::string> candidates;
  for (const ResidualBlock& b : blocks) {
    if (b.add >= graph.nodes.size() || graph.nodes[b.add].op_type != "Add") {
      return invalidArgument("residual block: node " + std::to_string(b.add) + " is not an Add");
    }
    drop[b.add] = true;
    for (size_t m : b.branch) {
      drop[m] = true;
      for (const std::string& in : graph.nodes[m].inputs) {
        if (!in.empty()) candidates.push_back(in);
      }
    }
    alias[graph.nodes[b.add].outputs[0]] = b.shortcut;
  }
  auto resolve = [&](std::string v) {
    for (auto it = alias.find(v); it != alias.end(); it = alias.find(v)) v = it->second;
    return v;
  };
  for (const ValueInfo& o : graph.outputs) {
    if (alias.count(o.name))
      return invalidArgument("residual block: '" + o.name + "' is a graph output");
  }
  std::vector<Node> kept;
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    if (drop[i]) continue;
    Node n = std::move(graph.nodes[i]);
    for (std::string& in : n.inputs) {
      if (!in.empty()) in = resolve(in);
    }
    kept.push_back(std::move(n));
  }
  graph.nodes = std::move(kept);
  std::vector<ValueInfo> vi;
  for (ValueInfo& v : graph.value_info) {
    if (!alias.count(v.name)) vi.push_back(std::move(v));
  }
  graph.value_info = std::move(vi);
  graph.inferred_types.clear();
  dropUnread(graph, candidates);
  std::unordered_set<std::string> existing;
  for (const Node& n : graph.nodes) existing.insert(n.outputs.begin(), n.outputs.end());
  for (const ValueInfo& v : graph.inputs) existing.insert(v.name);
  for (const NamedTensor& t : graph.initializers()) existing.insert(t.name);
  std::erase_if(graph.value_info, [&](const ValueInfo& v) { return !existing.count(v.name); });
  return Status::ok();
}

}  // namespace detslim::prune
