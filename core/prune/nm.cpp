// nm: N:M semi-structured sparsity along the reduction (input-channel) axis: in every run of m
// consecutive input-channel weights of one output channel and kernel position, the n largest
// |w| stay. 2:4 is what sparse tensor cores and oneDNN's sparse paths accelerate.

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/prune/methods.h"

namespace detslim::prune::detail {

namespace {

// The weight as lines along the reduction axis: element r of line l is at base[l] + r * stride.
struct Lines {
  std::vector<int64_t> bases;
  int64_t stride = 1;
  int64_t length = 0;  // the reduction length (C_in / group for a Conv)
};

std::optional<Lines> reductionLines(const Graph& graph, const WeightLayer& layer,
                                    std::string& why) {
  const Shape& w = layer.weight_shape;
  const Node& node = graph.nodes[layer.node_index];
  Lines lines;
  if (layer.op_type == "Conv") {
    if (w.size() < 3) {
      why = "weight rank " + std::to_string(w.size()) + " is not a convolution weight";
      return std::nullopt;
    }
    int64_t spatial = 1;
    for (size_t i = 2; i < w.size(); ++i) spatial *= w[i];
    lines.length = w[1];
    lines.stride = spatial;
    for (int64_t o = 0; o < w[0]; ++o) {
      for (int64_t p = 0; p < spatial; ++p) lines.bases.push_back(o * w[1] * spatial + p);
    }
    return lines;
  }
  if (w.size() != 2) {
    why = "weight rank " + std::to_string(w.size()) + " (only 2-D Gemm / MatMul weights)";
    return std::nullopt;
  }
  const bool transposed = layer.op_type == "Gemm" && node.intOr("transB", 0) != 0;
  // B is [K, N], or [N, K] with transB: K is the reduction axis.
  const int64_t k = transposed ? w[1] : w[0];
  const int64_t n = transposed ? w[0] : w[1];
  lines.length = k;
  lines.stride = transposed ? 1 : n;
  for (int64_t j = 0; j < n; ++j) lines.bases.push_back(transposed ? j * k : j);
  return lines;
}

}  // namespace

Status pruneNm(MethodContext& ctx) {
  const int64_t n = parseInt(opt(ctx.options, "n", "2")).value_or(2);
  const int64_t m = parseInt(opt(ctx.options, "m", "4")).value_or(4);
  ctx.resolved["n"] = n;
  ctx.resolved["m"] = m;
  const double implied = 1.0 - static_cast<double>(n) / static_cast<double>(m);
  constexpr double kSparsityMatch = 1e-9;  // a user-typed fraction equal to 1 - n/m
  if (ctx.options.sparsity != 0.0 && std::fabs(ctx.options.sparsity - implied) > kSparsityMatch) {
    ctx.warnings.push_back("nm: " + std::to_string(n) + ":" + std::to_string(m) +
                           " fixes the sparsity at 1 - n/m = " + std::to_string(implied) +
                           "; --sparsity " + std::to_string(ctx.options.sparsity) + " is ignored");
  }
  const std::vector<WeightLayer> layers =
      findWeightLayers(ctx.graph, {"Conv", "Gemm", "MatMul"}, ctx.ignore, ctx.notes);
  int pruned_layers = 0;
  for (const WeightLayer& layer : layers) {
    std::string why;
    const std::optional<Lines> lines = reductionLines(ctx.graph, layer, why);
    if (!lines) {
      ctx.notes[layer.name] = "skipped: " + why;
      continue;
    }
    if (lines->length % m != 0) {
      ctx.notes[layer.name] =
          "skipped: " + std::to_string(lines->length) +
          " input channels per group is no multiple of m = " + std::to_string(m);
      continue;
    }
    const std::vector<float> values = weightValues(ctx.graph, layer.weight);
    std::vector<uint8_t>& mask = ctx.masks.of(ctx.graph, layer.weight);
    std::vector<int64_t> run(static_cast<size_t>(m));
    for (int64_t base : lines->bases) {
      for (int64_t start = 0; start < lines->length; start += m) {
        for (int64_t r = 0; r < m; ++r) run[r] = base + (start + r) * lines->stride;
        // Largest |w| first, ties to the lower index; NaN counts as largest (kept).
        auto key = [&](int64_t i) {
          const float v = values[static_cast<size_t>(i)];
          return std::isnan(v) ? std::numeric_limits<float>::infinity() : std::fabs(v);
        };
        std::sort(run.begin(), run.end(), [&](int64_t a, int64_t b) {
          return key(a) > key(b) || (key(a) == key(b) && a < b);
        });
        for (int64_t r = n; r < m; ++r) mask[static_cast<size_t>(run[r])] = 1;
      }
    }
    ++pruned_layers;
    ctx.notes[layer.name] = std::to_string(n) + ":" + std::to_string(m) +
                            " along input channels (" + std::to_string(lines->length) +
                            " per output and kernel position)";
  }
  if (pruned_layers == 0) {
    return invalidArgument(
        "nm: nothing to prune: no Conv / Gemm / MatMul layer with a float "
        "initializer weight whose input channels are a multiple of m = " +
        std::to_string(m) + " is left once ignored nodes are taken out");
  }
  return Status::ok();
}

}  // namespace detslim::prune::detail
