// rtoss: R-TOSS semi-structured kernel-pattern pruning (seed 001, Sec. IV; docs/prune.md says
// how each step of the paper is read here).
//  - Patterns (Sec. IV-B): every k-of-9 mask of a 3x3 kernel whose cells are connected.
//  - 3x3 kernels (Algorithm 2): the pattern keeping the most L2 energy wins. With share=group the
//    parent-child groups of Algorithm 1 share one pattern per coupled channel.
//  - 1x1 kernels (Algorithm 3): the layer's weights flattened, cut into 3x3 blocks of nine,
//    pattern-pruned like 3x3 kernels, written back; a tail shorter than nine is zeroed.
//  - pattern=patdnn: PatDNN's 4-entry patterns (centre kept) on 3x3 kernels plus connectivity
//    pruning (whole kernels of smallest norm), the paper's baseline.

#include "core/prune/rtoss.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <numeric>
#include <random>
#include <set>
#include <unordered_map>

#include "core/prune/methods.h"

namespace detslim::prune {

namespace {

bool connected(uint16_t mask, int adjacency) {
  if (mask == 0) return false;
  const int start = std::countr_zero(mask);
  uint16_t seen = static_cast<uint16_t>(1u << start);
  std::vector<int> stack{start};
  while (!stack.empty()) {
    const int cell = stack.back();
    stack.pop_back();
    const int r = cell / 3, c = cell % 3;
    for (int dr = -1; dr <= 1; ++dr) {
      for (int dc = -1; dc <= 1; ++dc) {
        if ((dr == 0 && dc == 0) || (adjacency == 4 && dr != 0 && dc != 0)) continue;
        const int rr = r + dr, cc = c + dc;
        if (rr < 0 || rr > 2 || cc < 0 || cc > 2) continue;
        const int next = rr * 3 + cc;
        if ((mask >> next & 1u) && !(seen >> next & 1u)) {
          seen = static_cast<uint16_t>(seen | (1u << next));
          stack.push_back(next);
        }
      }
    }
  }
  return seen == mask;
}

}  // namespace

std::vector<uint16_t> rtossPatterns(int entries, int adjacency) {
  std::vector<uint16_t> patterns;
  if (entries < 1 || entries > 9) return patterns;
  for (uint16_t mask = 1; mask < 512; ++mask) {
    if (std::popcount(mask) == entries && connected(mask, adjacency)) patterns.push_back(mask);
  }
  return patterns;
}

std::vector<uint16_t> patdnnPatterns() {
  constexpr uint16_t kCentre = 1u << 4;
  std::vector<uint16_t> patterns;
  for (uint16_t p : rtossPatterns(4, 4)) {
    if (p & kCentre) patterns.push_back(p);
  }
  return patterns;
}

size_t bestPattern(const std::array<double, 9>& energy, const std::vector<uint16_t>& patterns) {
  size_t best = 0;
  double best_energy = -1.0;
  for (size_t i = 0; i < patterns.size(); ++i) {
    double e = 0.0;
    for (int cell = 0; cell < 9; ++cell) {
      if (patterns[i] >> cell & 1u) e += energy[static_cast<size_t>(cell)];
    }
    if (e > best_energy) {
      best_energy = e;
      best = i;
    }
  }
  return best;
}

namespace detail {

namespace {

constexpr uint32_t kPatternSelectionSeed = 7767517;
constexpr int kPatternSelectionKernels = 100000;

// Criterion 2 of Sec. IV-B: the patterns chosen most often for kernels drawn uniformly from
// [-1, 1], ties in count to the lower mask. Fixed seed, so the set is reproducible.
std::vector<uint16_t> mostUsedPatterns(const std::vector<uint16_t>& patterns, size_t keep) {
  if (keep == 0 || keep >= patterns.size()) return patterns;
  std::mt19937 rng(kPatternSelectionSeed);
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  std::vector<int64_t> uses(patterns.size(), 0);
  std::array<double, 9> energy{};
  for (int k = 0; k < kPatternSelectionKernels; ++k) {
    for (double& e : energy) {
      const double w = dist(rng);
      e = w * w;
    }
    ++uses[bestPattern(energy, patterns)];
  }
  std::vector<size_t> order(patterns.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return uses[a] > uses[b]; });
  std::vector<uint16_t> kept;
  for (size_t i = 0; i < keep; ++i) kept.push_back(patterns[order[i]]);
  std::sort(kept.begin(), kept.end());
  return kept;
}

std::array<double, 9> energyOf(const std::vector<float>& values, int64_t offset) {
  std::array<double, 9> e{};
  for (int i = 0; i < 9; ++i) {
    const double v = values[static_cast<size_t>(offset + i)];
    e[static_cast<size_t>(i)] = std::isnan(v) ? INFINITY : v * v;
  }
  return e;
}

void maskOutside(std::vector<uint8_t>& mask, int64_t offset, uint16_t pattern) {
  for (int cell = 0; cell < 9; ++cell) {
    if (!(pattern >> cell & 1u)) mask[static_cast<size_t>(offset + cell)] = 1;
  }
}

// Channel-preserving ops a parent-child coupling may pass through (Algorithm 1's DFS over the
// computational graph, restricted to one-to-one channel mappings).
bool passesChannels(const Graph& graph, const GraphIndex& index, const Node& node,
                    std::string& next) {
  static const std::set<std::string> kUnary = {"Relu",
                                               "LeakyRelu",
                                               "PRelu",
                                               "Elu",
                                               "Selu",
                                               "HardSwish",
                                               "HardSigmoid",
                                               "Sigmoid",
                                               "Tanh",
                                               "Identity",
                                               "Dropout",
                                               "Clip",
                                               "MaxPool",
                                               "AveragePool",
                                               "Resize",
                                               "Upsample",
                                               "BatchNormalization"};
  if (!(node.domain.empty() || node.domain == "ai.onnx")) return false;
  if (kUnary.count(node.op_type)) {
    next = node.input(0);
    return true;
  }
  if (node.op_type == "Mul" && node.inputs.size() == 2) {  // SiLU: x * sigmoid(x)
    for (int side = 0; side < 2; ++side) {
      const std::string& x = node.inputs[static_cast<size_t>(side)];
      const auto p = index.producer(node.inputs[static_cast<size_t>(1 - side)]);
      if (p && graph.nodes[*p].op_type == "Sigmoid" && graph.nodes[*p].input(0) == x) {
        next = x;
        return true;
      }
    }
  }
  return false;
}

// The conv whose output channels feed `conv`'s input channels one to one, if any.
std::optional<size_t> parentConv(const Graph& graph, const GraphIndex& index, const Node& conv) {
  std::string value = conv.input(0);
  for (size_t steps = 0; steps < graph.nodes.size(); ++steps) {
    const auto p = index.producer(value);
    if (!p) return std::nullopt;
    const Node& node = graph.nodes[*p];
    if (node.op_type == "Conv") return p;
    std::string next;
    if (!passesChannels(graph, index, node, next)) return std::nullopt;
    value = next;
  }
  return std::nullopt;
}

struct ConvInfo {
  const WeightLayer* layer = nullptr;  // null when this conv may not be written
  int64_t c_out = 0, c_in = 0;         // c_in: all input channels (C_in / group * group)
};

}  // namespace

Status pruneRtoss(MethodContext& ctx) {
  const Graph& graph = ctx.graph;
  const std::string style = opt(ctx.options, "pattern", "rtoss");
  const bool patdnn = style == "patdnn";
  const int entries =
      patdnn ? 4 : static_cast<int>(parseInt(opt(ctx.options, "entries", "3")).value_or(3));
  const int adjacency = static_cast<int>(parseInt(opt(ctx.options, "adjacency", "4")).value_or(4));
  const std::string share = patdnn ? "kernel" : opt(ctx.options, "share", "group");
  const std::string tail = opt(ctx.options, "tail", "zero");
  const size_t top = static_cast<size_t>(parseInt(opt(ctx.options, "patterns", "0")).value_or(0));
  const double connectivity = parseNumber(opt(ctx.options, "connectivity", "0")).value_or(0.0);

  std::vector<uint16_t> patterns = patdnn ? patdnnPatterns() : rtossPatterns(entries, adjacency);
  patterns = mostUsedPatterns(patterns, top);
  ctx.resolved["pattern"] = style;
  ctx.resolved["entries"] = entries;
  ctx.resolved["adjacency"] = patdnn ? 4 : adjacency;
  ctx.resolved["share"] = share;
  ctx.resolved["tail"] = tail;
  ctx.resolved["patterns"] = patterns.size();
  if (patdnn) ctx.resolved["connectivity"] = connectivity;
  if (ctx.options.sparsity != 0.0) {
    ctx.warnings.push_back("rtoss ignores --sparsity: " + std::to_string(entries) +
                           " entries per 3x3 kernel fix how much is pruned");
  }

  const std::vector<WeightLayer> layers = findWeightLayers(graph, {"Conv"}, ctx.ignore, ctx.notes);
  std::vector<const WeightLayer*> k3, k1;
  for (const WeightLayer& l : layers) {
    const Shape& w = l.weight_shape;
    const bool rank2d = w.size() == 4;
    if (rank2d && w[2] == 3 && w[3] == 3) {
      k3.push_back(&l);
    } else if (rank2d && w[2] == 1 && w[3] == 1 && !patdnn) {
      k1.push_back(&l);
    } else {
      std::string kernel;
      for (size_t d = 2; d < w.size(); ++d)
        kernel += (kernel.empty() ? "" : "x") + std::to_string(w[d]);
      ctx.notes[l.name] = "skipped: kernel " + kernel +
                          (patdnn ? " (PatDNN prunes 3x3 kernels only)"
                                  : " (R-TOSS prunes 3x3 and 1x1 kernels only)");
    }
  }
  if (k3.empty() && k1.empty()) {
    return invalidArgument(
        std::string(patdnn ? "rtoss (pattern=patdnn)" : "rtoss") +
        ": nothing to prune: no Conv with " + (patdnn ? "3x3 kernels" : "3x3 or 1x1 kernels") +
        " and a float initializer weight is left once ignored nodes are taken out");
  }

  std::unordered_map<size_t, const WeightLayer*> by_node;
  for (const WeightLayer* l : k3) by_node[l->node_index] = l;

  // 3x3 kernels. assignment[layer][kernel] = pattern index, kernel = o * C_in_per_group + j.
  std::unordered_map<const WeightLayer*, std::vector<uint16_t>> assignment;
  std::unordered_map<const WeightLayer*, std::vector<float>> values;
  for (const WeightLayer* l : k3) values[l] = weightValues(graph, l->weight);
  if (share == "group") {
    // Algorithm 1: in topological order, a conv whose parent heads a group joins it as a child;
    // every other conv heads a new group. A group shares one pattern per coupled channel: the
    // head's output channel c, which its children read as input channel c.
    const GraphIndex index(graph);
    std::vector<size_t> order;
    if (auto sorted = graph.topologicalOrder(); sorted) order = std::move(sorted).value();
    std::unordered_map<size_t, size_t> head_of;  // conv -> its group's head
    std::unordered_map<size_t, std::vector<size_t>> children;
    for (size_t i : order) {
      const Node& node = graph.nodes[i];
      if (node.op_type != "Conv") continue;
      const std::optional<size_t> parent = parentConv(graph, index, node);
      bool joined = false;
      if (parent && head_of.count(*parent) && head_of[*parent] == *parent) {
        const Tensor* pw = graph.initializer(graph.nodes[*parent].input(1));
        const Tensor* cw = graph.initializer(node.input(1));
        const int64_t group = std::max<int64_t>(1, node.intOr("group", 1));
        if (pw && cw && pw->rank() >= 1 && cw->rank() >= 2 &&
            pw->shape()[0] == cw->shape()[1] * group) {
          head_of[i] = *parent;
          children[*parent].push_back(i);
          joined = true;
        }
      }
      if (!joined) head_of[i] = i;
    }
    int groups_used = 0;
    for (size_t i : order) {
      if (!head_of.count(i) || head_of[i] != i) continue;
      // Members whose 3x3 kernels this prune may write.
      const WeightLayer* head = by_node.count(i) ? by_node[i] : nullptr;
      std::vector<const WeightLayer*> kids;
      for (size_t c : children[i]) {
        if (by_node.count(c)) kids.push_back(by_node[c]);
      }
      if (!head && kids.empty()) continue;
      const Tensor* hw = graph.initializer(graph.nodes[i].input(1));
      if (hw == nullptr || hw->rank() < 1) continue;
      const int64_t channels = hw->shape()[0];
      std::vector<std::array<double, 9>> energy(static_cast<size_t>(channels),
                                                std::array<double, 9>{});
      auto accumulate = [&](const WeightLayer* l, bool by_output) {
        const Shape& w = l->weight_shape;
        const std::vector<float>& v = values[l];
        for (int64_t o = 0; o < w[0]; ++o) {
          for (int64_t j = 0; j < w[1]; ++j) {
            const int64_t c = by_output ? o : convInputChannel(o, j, w[0], w[1], l->group);
            const std::array<double, 9> e = energyOf(v, (o * w[1] + j) * 9);
            for (size_t cell = 0; cell < 9; ++cell) energy[static_cast<size_t>(c)][cell] += e[cell];
          }
        }
      };
      if (head) accumulate(head, true);
      for (const WeightLayer* k : kids) accumulate(k, false);
      std::vector<uint16_t> channel_pattern(static_cast<size_t>(channels));
      for (int64_t c = 0; c < channels; ++c) {
        channel_pattern[static_cast<size_t>(c)] =
            static_cast<uint16_t>(bestPattern(energy[static_cast<size_t>(c)], patterns));
      }
      auto assign = [&](const WeightLayer* l, bool by_output) {
        const Shape& w = l->weight_shape;
        std::vector<uint16_t>& a = assignment[l];
        a.resize(static_cast<size_t>(w[0] * w[1]));
        for (int64_t o = 0; o < w[0]; ++o) {
          for (int64_t j = 0; j < w[1]; ++j) {
            const int64_t c = by_output ? o : convInputChannel(o, j, w[0], w[1], l->group);
            a[static_cast<size_t>(o * w[1] + j)] = channel_pattern[static_cast<size_t>(c)];
          }
        }
        ctx.notes[l->name] = std::to_string(entries) + "-entry patterns, one per " +
                             (by_output ? "output" : "input") + " channel, shared with group '" +
                             layerName(graph.nodes[i]) + "' (" +
                             std::to_string(1 + children[i].size()) +
                             (children[i].empty() ? " conv)" : " convs)");
      };
      if (head) assign(head, true);
      for (const WeightLayer* k : kids) assign(k, false);
      ++groups_used;
    }
    ctx.resolved["groups"] = groups_used;
  } else {
    for (const WeightLayer* l : k3) {
      const Shape& w = l->weight_shape;
      std::vector<uint16_t>& a = assignment[l];
      a.resize(static_cast<size_t>(w[0] * w[1]));
      for (int64_t kernel = 0; kernel < w[0] * w[1]; ++kernel) {
        a[static_cast<size_t>(kernel)] =
            static_cast<uint16_t>(bestPattern(energyOf(values[l], kernel * 9), patterns));
      }
      ctx.notes[l->name] = std::to_string(entries) + "-entry pattern per kernel (Algorithm 2)";
    }
  }
  for (const WeightLayer* l : k3) {
    const std::vector<uint16_t>& a = assignment[l];
    const std::vector<float>& v = values[l];
    std::vector<uint8_t>& mask = ctx.masks.of(graph, l->weight);
    const int64_t kernels = static_cast<int64_t>(a.size());
    for (int64_t kernel = 0; kernel < kernels; ++kernel) {
      maskOutside(mask, kernel * 9, patterns[a[static_cast<size_t>(kernel)]]);
    }
    if (patdnn && connectivity > 0.0) {
      // Connectivity pruning: the kernels keeping the least L2 norm after patterning go whole.
      std::vector<double> kept_norm(static_cast<size_t>(kernels), 0.0);
      for (int64_t kernel = 0; kernel < kernels; ++kernel) {
        for (int cell = 0; cell < 9; ++cell) {
          const size_t at = static_cast<size_t>(kernel * 9 + cell);
          if (!mask[at])
            kept_norm[static_cast<size_t>(kernel)] += static_cast<double>(v[at]) * v[at];
        }
      }
      const int64_t drop =
          std::min<int64_t>(kernels - 1, std::llround(connectivity * static_cast<double>(kernels)));
      std::vector<int64_t> order(static_cast<size_t>(kernels));
      std::iota(order.begin(), order.end(), int64_t{0});
      std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) {
        return kept_norm[static_cast<size_t>(x)] < kept_norm[static_cast<size_t>(y)];
      });
      for (int64_t d = 0; d < drop; ++d)
        std::fill_n(mask.begin() + order[static_cast<size_t>(d)] * 9, 9, uint8_t{1});
      ctx.notes[l->name] += "; connectivity pruning removed " + std::to_string(drop) + " of " +
                            std::to_string(kernels) + " kernels";
    }
  }

  // 1x1 kernels, Algorithm 3: flatten, nine at a time into a temporary 3x3, pattern, write back.
  for (const WeightLayer* l : k1) {
    const std::vector<float> v = weightValues(graph, l->weight);
    std::vector<uint8_t>& mask = ctx.masks.of(graph, l->weight);
    const int64_t n = static_cast<int64_t>(v.size());
    const int64_t blocks = n / 9;
    for (int64_t b = 0; b < blocks; ++b) {
      maskOutside(mask, b * 9, patterns[bestPattern(energyOf(v, b * 9), patterns)]);
    }
    const int64_t rest = n - blocks * 9;
    if (rest > 0) {
      if (tail == "zero") {
        std::fill(mask.begin() + blocks * 9, mask.end(), uint8_t{1});
      } else {
        std::array<double, 9> e{};
        for (int64_t i = 0; i < rest; ++i) {
          const double w = v[static_cast<size_t>(blocks * 9 + i)];
          e[static_cast<size_t>(i)] = w * w;
        }
        const uint16_t p = patterns[bestPattern(e, patterns)];
        for (int64_t i = 0; i < rest; ++i) {
          if (!(p >> i & 1u)) mask[static_cast<size_t>(blocks * 9 + i)] = 1;
        }
      }
    }
    ctx.notes[l->name] =
        "1x1 kernels in " + std::to_string(blocks) + " blocks of nine, " + std::to_string(entries) +
        "-entry patterns (Algorithm 3)" +
        (rest ? "; the last " + std::to_string(rest) + " weights " +
                    (tail == "zero" ? "zeroed" : "pattern-pruned as a padded block")
              : std::string());
  }
  return Status::ok();
}

}  // namespace detail

}  // namespace detslim::prune
