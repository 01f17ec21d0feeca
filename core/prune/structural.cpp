#include "core/prune/structural.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>
#include <sstream>
#include <unordered_map>

#include "core/onnx/onnx_io.h"
#include "core/prune/channel_graph.h"
#include "core/prune/compensate.h"
#include "core/prune/ignore.h"

namespace detslim::prune {

namespace {

constexpr double kMaxSparsity = 0.99;
constexpr double kDefaultMaxRatio = 0.9;
// Guards floor(channels * (1 - sparsity)) against 0.8 * 40 = 31.999999...
constexpr double kRoundingSlack = 1e-9;

struct StructuralSettings {
  std::string method;
  std::string mode = "channel";  // bn-slim: channel | layer
  std::string scope;             // local | global
  int64_t round = 1;
  double max_ratio = kDefaultMaxRatio;
  bool compensate = true;  // fold removed channels' constants into consumer biases
};

Result<StructuralSettings> parseSettings(const PruneOptions& options) {
  StructuralSettings s;
  s.method = options.method;
  if (s.method != "group" && s.method != "bn-slim") {
    return invalidArgument("structural pruning: method '" + s.method + "' is not group or bn-slim");
  }
  if (!(options.sparsity >= 0.0 && options.sparsity <= kMaxSparsity)) {
    return invalidArgument("structural pruning: sparsity " + std::to_string(options.sparsity) +
                           " is outside [0, 0.99]");
  }
  s.scope = s.method == "group" ? "local" : "global";
  const std::vector<std::string>& known = structuralOptionNames(s.method);
  for (const auto& [key, value] : options.opts) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      std::string list;
      for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
      return invalidArgument(s.method + ": unknown option '" + key + "' (known: " + list + ")");
    }
    if (key == "scope") {
      if (value != "local" && value != "global") {
        return invalidArgument(s.method + ": scope=" + value + " (expected local or global)");
      }
      s.scope = value;
    } else if (key == "mode") {
      if (value != "channel" && value != "layer") {
        return invalidArgument(s.method + ": mode=" + value + " (expected channel or layer)");
      }
      s.mode = value;
    } else if (key == "round") {
      char* end = nullptr;
      const long long r = std::strtoll(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || r < 1 || r > 1024) {
        return invalidArgument(s.method + ": round=" + value + " (expected an integer in 1..1024)");
      }
      s.round = r;
    } else if (key == "compensate") {
      if (value != "true" && value != "false") {
        return invalidArgument(s.method + ": compensate=" + value + " (expected true or false)");
      }
      s.compensate = value == "true";
    } else if (key == "max_ratio") {
      char* end = nullptr;
      const double r = std::strtod(value.c_str(), &end);
      if (value.empty() || *end != '\0' || !(r > 0.0 && r < 1.0)) {
        return invalidArgument(s.method + ": max_ratio=" + value +
                               " (expected a number in (0, 1))");
      }
      s.max_ratio = r;
    }
  }
  return s;
}

// Per output channel L2 norm of a Conv's weight, and the filter size.
struct FilterNorms {
  std::vector<double> l2;
  int64_t filter_size = 1;
};

FilterNorms filterNorms(const Graph& graph, const Node& conv) {
  FilterNorms f;
  std::optional<Tensor> w = constantValue(graph, conv.input(1));
  if (!w || w->rank() < 1) return f;
  const int64_t cout = w->shape()[0];
  f.filter_size = cout > 0 ? w->numel() / cout : 1;
  f.l2.assign(static_cast<size_t>(cout), 0.0);
  for (int64_t o = 0; o < cout; ++o) {
    double sum = 0.0;
    for (int64_t i = 0; i < f.filter_size; ++i) {
      const double v = w->elementAsDouble(o * f.filter_size + i);
      sum += v * v;
    }
    f.l2[static_cast<size_t>(o)] = std::sqrt(sum);
  }
  return f;
}

// Importance of every class and what it was computed from.
struct Importance {
  std::vector<double> score;
  std::string source;
  // |gamma| is comparable across layers (Network Slimming's global threshold); filter norms
  // are not: global scope divides them by their group's mean.
  bool comparable_across_groups = false;
};

Importance classImportance(const Graph& graph, const ChannelGraph& cg, const std::string& method) {
  Importance imp;
  imp.score.assign(cg.classes().size(), 0.0);
  std::unordered_map<size_t, FilterNorms> norms;
  auto normsOf = [&](size_t node) -> const FilterNorms& {
    auto it = norms.find(node);
    if (it == norms.end()) it = norms.emplace(node, filterNorms(graph, graph.nodes[node])).first;
    return it->second;
  };
  auto producerOp = [&](size_t v) -> std::string {
    const auto& p = cg.values()[v].producer;
    return p ? graph.nodes[*p].op_type : std::string();
  };
  // bn-slim reads |gamma| when every prunable class has a BatchNormalization on it.
  bool use_gamma = method == "bn-slim";
  bool any_prunable = false;
  if (use_gamma) {
    for (const ChannelClass& cls : cg.classes()) {
      if (cls.frozen) continue;
      any_prunable = true;
      const bool has_bn = std::any_of(
          cls.slots.begin(), cls.slots.end(),
          [&](const ChannelSlot& s) { return producerOp(s.value) == "BatchNormalization"; });
      if (!has_bn) {
        use_gamma = false;
        break;
      }
    }
    if (!any_prunable) use_gamma = false;
  }
  std::unordered_map<size_t, std::vector<float>> gammas;
  for (size_t k = 0; k < cg.classes().size(); ++k) {
    const ChannelClass& cls = cg.classes()[k];
    double sum = 0.0;
    int count = 0;
    for (const ChannelSlot& s : cls.slots) {
      const auto& p = cg.values()[s.value].producer;
      if (!p) continue;
      const Node& n = graph.nodes[*p];
      if (n.outputs.empty() || n.outputs[0] != cg.values()[s.value].name) continue;
      if (use_gamma) {
        if (n.op_type != "BatchNormalization") continue;
        auto it = gammas.find(*p);
        if (it == gammas.end()) {
          std::optional<Tensor> g = constantValue(graph, n.input(1));
          it = gammas.emplace(*p, g ? g->toFloatVector() : std::vector<float>()).first;
        }
        if (static_cast<size_t>(s.channel) < it->second.size()) {
          sum += std::fabs(it->second[static_cast<size_t>(s.channel)]);
          ++count;
        }
      } else if (n.op_type == "Conv") {
        const FilterNorms& f = normsOf(*p);
        if (static_cast<size_t>(s.channel) >= f.l2.size()) continue;
        const double l2 = f.l2[static_cast<size_t>(s.channel)];
        // group sums the L2 norms of the group's filters; bn-slim without BN compares single
        // channels across layers, so it uses the per-element RMS, mean over the filters.
        sum += method == "group" ? l2 : l2 / std::sqrt(static_cast<double>(f.filter_size));
        ++count;
      }
    }
    imp.score[k] = (method == "group" || count == 0) ? sum : sum / count;
  }
  imp.comparable_across_groups = use_gamma;
  if (method == "group") {
    imp.source = "group-summed L2 norm of each channel's output filters";
  } else if (use_gamma) {
    imp.source = "BatchNormalization |gamma| (mean over the BNs on a coupled channel)";
  } else {
    imp.source =
        "no BatchNormalization on every prunable channel (folded into the Conv): "
        "per-channel RMS of the Conv filter (L2 / sqrt(size)), mean over coupled Convs "
        "(global scope: divided by the group's mean)";
  }
  return imp;
}

int64_t roundUp(int64_t keep, int64_t multiple, int64_t channels) {
  if (multiple <= 1) return keep;
  return std::min(channels, (keep + multiple - 1) / multiple * multiple);
}

// Picks the classes to remove.
std::vector<bool> selectChannels(const ChannelGraph& cg, const Importance& imp,
                                 const StructuralSettings& s, double sparsity) {
  const auto& classes = cg.classes();
  const auto& groups = cg.groups();
  std::vector<bool> remove(classes.size(), false);
  auto byImportance = [&](size_t a, size_t b) {
    return imp.score[a] != imp.score[b] ? imp.score[a] < imp.score[b] : a < b;
  };
  if (s.scope == "local") {
    for (const ChannelGroup& g : groups) {
      if (g.frozen) continue;
      const int64_t c = static_cast<int64_t>(g.classes.size());
      int64_t keep = std::max<int64_t>(
          1, static_cast<int64_t>(std::floor(c * (1.0 - sparsity) + kRoundingSlack)));
      keep = roundUp(keep, s.round, c);
      std::vector<size_t> order = g.classes;
      std::sort(order.begin(), order.end(), byImportance);
      for (int64_t i = 0; i < c - keep; ++i) remove[order[static_cast<size_t>(i)]] = true;
    }
  } else {
    // One ranking over every prunable class. Filter norms are divided by their group's mean
    // (Torch-Pruning's normalizer for global pruning): groups of many or wide filters would
    // otherwise win by size alone, and layers of large fan-in lose by it.
    std::vector<double> score = imp.score;
    std::vector<size_t> candidates;
    std::vector<int64_t> budget(groups.size(), 0);
    for (size_t gi = 0; gi < groups.size(); ++gi) {
      const ChannelGroup& g = groups[gi];
      if (g.frozen) continue;
      const int64_t c = static_cast<int64_t>(g.classes.size());
      const int64_t min_keep = std::max<int64_t>(
          1, static_cast<int64_t>(std::ceil(c * (1.0 - s.max_ratio) - kRoundingSlack)));
      budget[gi] = c - min_keep;
      double mean = 0.0;
      for (size_t k : g.classes) mean += imp.score[k];
      mean /= static_cast<double>(c);
      for (size_t k : g.classes) {
        if (!imp.comparable_across_groups && mean > 0.0) score[k] = imp.score[k] / mean;
        candidates.push_back(k);
      }
    }
    const int64_t target = static_cast<int64_t>(
        std::floor(static_cast<double>(candidates.size()) * sparsity + kRoundingSlack));
    std::sort(candidates.begin(), candidates.end(), [&](size_t a, size_t b) {
      return score[a] != score[b] ? score[a] < score[b] : a < b;
    });
    int64_t removed = 0;
    for (size_t k : candidates) {
      if (removed >= target) break;
      const size_t gi = classes[k].group;
      if (budget[gi] <= 0) continue;
      --budget[gi];
      remove[k] = true;
      ++removed;
    }
    if (s.round > 1) {
      for (const ChannelGroup& g : groups) {
        if (g.frozen) continue;
        const int64_t c = static_cast<int64_t>(g.classes.size());
        std::vector<size_t> gone;
        for (size_t k : g.classes) {
          if (remove[k]) gone.push_back(k);
        }
        const int64_t keep = c - static_cast<int64_t>(gone.size());
        const int64_t restore = roundUp(keep, s.round, c) - keep;
        std::sort(gone.begin(), gone.end(), byImportance);
        for (int64_t i = 0; i < restore; ++i)
          remove[gone[gone.size() - 1 - static_cast<size_t>(i)]] = false;
      }
    }
  }
  // A value fed by parts of several groups (a Split output, a Slice) must keep one channel.
  for (bool again = true; again;) {
    again = false;
    const std::vector<std::vector<int64_t>> keep = cg.keptChannels(remove);
    for (size_t v = 0; v < keep.size(); ++v) {
      if (!keep[v].empty()) continue;
      size_t best = cg.classOf(v, 0);
      for (int64_t c = 0; c < cg.values()[v].channels; ++c) {
        const size_t k = cg.classOf(v, c);
        if (imp.score[k] > imp.score[best]) best = k;
      }
      remove[best] = false;
      again = true;
    }
  }
  return remove;
}

std::string joinReasons(const std::vector<std::string>& reasons) {
  std::string s;
  for (const std::string& r : reasons) s += (s.empty() ? "" : "; ") + r;
  return s;
}

// A frozen group's reasons without the "'<conv>': " prefix when that conv is the group's own
// source (the report line starts with the source names already).
std::vector<std::string> withoutSourcePrefix(const Graph& graph, const ChannelGroup& g) {
  std::vector<std::string> out;
  for (const std::string& r : g.reasons) {
    std::string line = r;
    for (size_t src : g.sources) {
      const std::string prefix = "'" + graph.nodes[src].name + "': ";
      if (line.rfind(prefix, 0) == 0) line = line.substr(prefix.size());
    }
    out.push_back(line);
  }
  return out;
}

// Notes per Conv: output / input channel counts before -> after, or why its outputs stayed.
std::map<std::string, std::string> channelNotes(const Graph& graph, const ChannelGraph& cg,
                                                const std::vector<bool>& remove) {
  std::map<std::string, std::string> notes;
  const std::vector<std::vector<int64_t>> keep = cg.keptChannels(remove);
  std::unordered_map<size_t, const ChannelGroup*> frozen_group_of_conv;
  for (const ChannelGroup& g : cg.groups()) {
    if (!g.frozen) continue;
    for (size_t src : g.sources) frozen_group_of_conv[src] = &g;
  }
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const Node& n = graph.nodes[i];
    if (n.op_type != "Conv") continue;
    std::string note;
    auto describe = [&](const std::string& value, const char* what) {
      std::optional<size_t> v = cg.valueIndex(value);
      if (!v) return;
      const int64_t before = cg.values()[*v].channels;
      const int64_t after = static_cast<int64_t>(keep[*v].size());
      if (before == after) return;
      note += (note.empty() ? "" : ", ") + std::string(what) + " channels " +
              std::to_string(before) + " -> " + std::to_string(after);
    };
    describe(n.outputs.empty() ? std::string() : n.outputs[0], "output");
    describe(n.input(0), "input");
    if (auto it = frozen_group_of_conv.find(i); it != frozen_group_of_conv.end()) {
      note += (note.empty() ? "" : "; ") + std::string("output channels frozen: ") +
              joinReasons(withoutSourcePrefix(graph, *it->second));
    }
    if (!note.empty()) notes[layerName(n)] = note;
  }
  return notes;
}

// Inference of value types on `model` when it has none; a failure is a warning.
void ensureTypes(Model& model, std::vector<std::string>& warnings) {
  if (!model.graph.inferred_types.empty()) return;
  std::vector<std::string> w;
  Status st = inferShapes(model, false, &w);
  if (!st) warnings.push_back("shape inference: " + st.message());
  for (const std::string& s : w) warnings.push_back("shape inference: " + s);
}

Status pruneChannels(Model& work, const StructuralSettings& s, const PruneOptions& options,
                     const IgnoreSet& ignore, PruneReport& report,
                     std::map<std::string, std::string>& notes) {
  ChannelGraphOptions cg_options;
  cg_options.frozen_nodes = ignore.reasons;
  DS_ASSIGN_OR_RETURN(ChannelGraph cg, ChannelGraph::build(work.graph, cg_options));
  size_t prunable_groups = 0, frozen_groups = 0;
  int64_t prunable_channels = 0;
  for (const ChannelGroup& g : cg.groups()) {
    if (g.sources.empty()) continue;  // graph inputs: nothing a pruner could remove
    if (g.frozen) {
      ++frozen_groups;
      report.ignored.push_back(g.describe(work.graph) + ": " +
                               joinReasons(withoutSourcePrefix(work.graph, g)));
    } else {
      ++prunable_groups;
      prunable_channels += static_cast<int64_t>(g.classes.size());
    }
  }
  if (prunable_groups == 0) {
    std::string why = report.ignored.empty() ? std::string() : report.ignored.front();
    if (why.empty()) {
      for (const ChannelGroup& g : cg.groups()) {
        if (!g.reasons.empty()) why = joinReasons(g.reasons);
        if (!why.empty()) break;
      }
    }
    return unsupported(s.method + ": no channel group can be pruned (" +
                       std::to_string(frozen_groups) + " frozen), e.g. " +
                       (why.empty() ? std::string("no Conv with constant weights") : why));
  }
  const Importance imp = classImportance(work.graph, cg, s.method);
  const std::vector<bool> remove = selectChannels(cg, imp, s, options.sparsity);
  const int64_t removed = std::count(remove.begin(), remove.end(), true);
  report.options["importance"] = imp.source;
  report.options["groups"] = {{"prunable", prunable_groups}, {"frozen", frozen_groups}};
  report.options["channels"] = {{"prunable", prunable_channels}, {"removed", removed}};
  notes = channelNotes(work.graph, cg, remove);
  if (removed == 0) {
    report.warnings.push_back(s.method + ": sparsity " + std::to_string(options.sparsity) +
                              " removes no channel");
    return Status::ok();
  }
  if (!s.compensate) return cg.apply(work.graph, remove, work.opsetVersion(""));
  // Bias compensation (compensate.h): each removed channel of a source Conv carries its bias as
  // if its filter were zero; that constant, followed to the consumer Convs, goes into their bias.
  ChannelConstants seeds;
  for (size_t k = 0; k < remove.size(); ++k) {
    if (!remove[k]) continue;
    for (const ChannelSlot& slot : cg.classes()[k].slots) {
      const ChannelValue& v = cg.values()[slot.value];
      if (!v.producer) continue;
      const Node& p = work.graph.nodes[*v.producer];
      if (p.op_type != "Conv" || p.outputs.empty() || p.outputs[0] != v.name) continue;
      std::optional<Tensor> b = p.input(2).empty() ? std::nullopt : constantValue(work.graph, p.input(2));
      seeds[v.name][slot.channel] =
          b && slot.channel < b->numel() ? b->elementAsDouble(slot.channel) : 0.0;
    }
  }
  const ConstantFlow flow = propagateConstantChannels(work.graph, seeds);
  std::map<std::string, std::vector<double>> delta;  // consumer Conv output name -> bias delta
  std::map<std::string, int64_t> compensated;        // consumer Conv output name -> inputs
  int64_t lost = 0;
  for (const ConvInputConstant& h : flow.convs) {
    const Node& q = work.graph.nodes[h.node];
    std::optional<size_t> x = cg.valueIndex(q.input(0));
    if (!x || h.channel >= cg.values()[*x].channels || !remove[cg.classOf(*x, h.channel)]) continue;
    if (q.outputs.empty()) continue;
    if (addConvInputConstant(work.graph, h.node, h.channel, h.value, delta[q.outputs[0]])) {
      ++compensated[q.outputs[0]];
    } else {
      ++lost;
    }
  }
  const std::vector<std::vector<int64_t>> keep = cg.keptChannels(remove);
  DS_RETURN_IF_ERROR(cg.apply(work.graph, remove, work.opsetVersion("")));
  int64_t inputs = 0;
  for (auto& [out, d] : delta) {
    if (d.empty()) continue;
    std::optional<size_t> node;
    for (size_t i = 0; i < work.graph.nodes.size(); ++i) {
      const Node& n = work.graph.nodes[i];
      if (n.op_type == "Conv" && !n.outputs.empty() && n.outputs[0] == out) node = i;
    }
    if (!node) return internalError(s.method + ": compensated Conv '" + out + "' disappeared");
    std::vector<double> kept_delta = d;
    if (std::optional<size_t> y = cg.valueIndex(out)) {
      kept_delta.clear();
      for (int64_t c : keep[*y]) kept_delta.push_back(d[static_cast<size_t>(c)]);
    }
    Status st = addToConvBias(work.graph, *node, kept_delta);
    const std::string name = layerName(work.graph.nodes[*node]);
    if (!st) {
      report.warnings.push_back(s.method + ": bias of " + name + " not compensated: " + st.message());
      continue;
    }
    inputs += compensated[out];
    std::string& note = notes[name];
    note += (note.empty() ? "" : "; ") + std::string("bias compensated for ") +
            std::to_string(compensated[out]) + " removed input channels";
  }
  report.options["compensation"] = {{"convs", delta.size()},
                                    {"input_channels", inputs},
                                    {"lost_at", flow.stops.size() + static_cast<size_t>(lost)}};
  if (!flow.stops.empty()) {
    std::string where;
    size_t shown = 0;
    for (const std::string& n : flow.stops) {
      if (shown++ == 4) {
        where += ", ...";
        break;
      }
      where += (where.empty() ? "" : ", ") + n;
    }
    report.warnings.push_back(s.method + ": the constant of some removed channels is not "
                              "followed past " + std::to_string(flow.stops.size()) +
                              " nodes (not compensated): " + where);
  }
  return Status::ok();
}

Status pruneLayers(Model& work, const PruneOptions& options, const IgnoreSet& ignore,
                   PruneReport& report, std::map<std::string, std::string>& notes) {
  const Graph& g = work.graph;
  std::vector<ResidualBlock> blocks;
  for (ResidualBlock& b : findResidualBlocks(g)) {
    std::optional<size_t> ignored;
    if (ignore.contains(b.add)) ignored = b.add;
    for (size_t m : b.branch) {
      if (ignore.contains(m)) ignored = m;
    }
    if (ignored) {
      report.ignored.push_back(layerName(g.nodes[b.add]) + ": residual block kept, '" +
                               layerName(g.nodes[*ignored]) + "' is ignored (" +
                               ignore.reasons.at(*ignored) + ")");
      continue;
    }
    blocks.push_back(std::move(b));
  }
  if (blocks.empty()) {
    return unsupported("bn-slim mode=layer: no removable residual block x + f(x) in the graph");
  }
  // Block importance from the branch's last Conv: mean |gamma| of the BN after it, else the
  // mean per-channel RMS of its filters.
  const GraphIndex index(g);
  std::vector<double> score(blocks.size(), 0.0);
  bool all_gamma = true;
  for (size_t i = 0; i < blocks.size(); ++i) {
    const Node& conv = g.nodes[*blocks[i].last_conv];
    std::optional<Tensor> gamma;
    for (size_t c : index.consumers(conv.outputs[0])) {
      if (g.nodes[c].op_type == "BatchNormalization") gamma = constantValue(g, g.nodes[c].input(1));
    }
    if (gamma && gamma->numel() > 0) {
      double sum = 0.0;
      for (int64_t k = 0; k < gamma->numel(); ++k) sum += std::fabs(gamma->elementAsDouble(k));
      score[i] = sum / static_cast<double>(gamma->numel());
    } else {
      all_gamma = false;
      const FilterNorms f = filterNorms(g, conv);
      double sum = 0.0;
      for (double l2 : f.l2) sum += l2 / std::sqrt(static_cast<double>(f.filter_size));
      score[i] = f.l2.empty() ? 0.0 : sum / static_cast<double>(f.l2.size());
    }
  }
  report.options["importance"] =
      all_gamma ? "mean |gamma| of the BatchNormalization after each block's last Conv"
                : "mean per-channel RMS of each block's last Conv (BN folded or absent)";
  const int64_t count = std::lround(static_cast<double>(blocks.size()) * options.sparsity);
  report.options["blocks"] = {{"removable", blocks.size()}, {"removed", count}};
  std::vector<size_t> order(blocks.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return score[a] != score[b] ? score[a] < score[b] : a < b; });
  std::vector<ResidualBlock> chosen;
  for (int64_t i = 0; i < count; ++i) {
    const ResidualBlock& b = blocks[order[static_cast<size_t>(i)]];
    for (size_t m : b.branch) {
      if (g.nodes[m].op_type == "Conv") {
        notes[layerName(g.nodes[m])] =
            "removed with residual block '" + layerName(g.nodes[b.add]) + "'";
      }
    }
    chosen.push_back(b);
  }
  if (chosen.empty()) {
    report.warnings.push_back("bn-slim mode=layer: sparsity " + std::to_string(options.sparsity) +
                              " of " + std::to_string(blocks.size()) + " blocks removes none");
    return Status::ok();
  }
  return removeResidualBlocks(work.graph, chosen);
}

}  // namespace

const std::vector<std::string>& structuralOptionNames(const std::string& method) {
  static const std::vector<std::string> group = {"scope", "round", "max_ratio", "compensate"};
  static const std::vector<std::string> bn_slim = {"mode", "scope", "round", "max_ratio",
                                                   "compensate"};
  static const std::vector<std::string> none;
  if (method == "group") return group;
  if (method == "bn-slim") return bn_slim;
  return none;
}

Status pruneStructural(Model& model, const PruneOptions& options, PruneReport* report_out) {
  PruneReport local;
  PruneReport& report = report_out ? *report_out : local;
  DS_ASSIGN_OR_RETURN(StructuralSettings s, parseSettings(options));
  report.method = options.method;
  report.sparsity = options.sparsity;
  report.options = nlohmann::json::object();
  report.options["scope"] = s.scope;
  report.options["round"] = s.round;
  report.options["max_ratio"] = s.max_ratio;
  if (s.method == "bn-slim") report.options["mode"] = s.mode;
  report.options["compensate"] = s.compensate;
  report.options["ignore"] = options.ignore;
  report.options["protect_detect_head"] = options.protect_detect_head;
  report.options["dry_run"] = options.dry_run;

  Model work = model;
  ensureTypes(work, report.warnings);
  DS_ASSIGN_OR_RETURN(IgnoreSet ignore,
                      resolveIgnores(work.graph, options.ignore, options.protect_detect_head));
  for (const std::string& w : ignore.warnings) report.warnings.push_back(w);
  const ModelSnapshot before = snapshotGraph(work.graph);

  std::map<std::string, std::string> notes;
  if (s.mode == "layer") {
    DS_RETURN_IF_ERROR(pruneLayers(work, options, ignore, report, notes));
  } else {
    DS_RETURN_IF_ERROR(pruneChannels(work, s, options, ignore, report, notes));
  }
  if (work.graph.inferred_types.empty()) {
    std::vector<std::string> w;
    Status st = inferShapes(work, false, &w);
    if (!st)
      return internalError(s.method +
                           ": shape inference refuses the pruned model: " + st.message());
    for (const std::string& line : w)
      report.warnings.push_back("shape inference after pruning: " + line);
  }
  std::string note;
  if (Status st = checkModel(work, &note); !st) {
    return internalError(
        s.method + ": the pruned model fails the ONNX checker (left unchanged): " + st.message());
  }
  const ModelSnapshot after = snapshotGraph(work.graph);
  fillReport(before, after, notes, report);
  if (!options.dry_run) model = std::move(work);
  return Status::ok();
}

}  // namespace detslim::prune
