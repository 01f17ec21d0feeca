// magnitude: unstructured pruning of the smallest |w| (seeds 002 and 003), per layer or with one
// threshold over every prunable weight.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>

#include "core/prune/methods.h"

namespace detslim::prune::detail {

namespace {

// |w|, with NaN ranked above everything so it is never the one "pruned away" silently.
float magnitudeKey(float w) {
  return std::isnan(w) ? std::numeric_limits<float>::infinity() : std::fabs(w);
}

std::string zeroedNote(const std::string& scope, int64_t k, int64_t n) {
  char pct[32];
  std::snprintf(pct, sizeof pct, "%.1f",
                n ? 100.0 * static_cast<double>(k) / static_cast<double>(n) : 0.0);
  return scope + ": the " + std::to_string(k) + " smallest |w| of " + std::to_string(n) +
         " set to zero (" + pct + " %)";
}

// Indices of the k smallest keys; ties go to the lower index, so the choice is deterministic.
std::vector<uint32_t> smallest(const std::vector<float>& keys, int64_t k) {
  std::vector<uint32_t> idx(keys.size());
  std::iota(idx.begin(), idx.end(), 0u);
  if (k <= 0) return {};
  if (k < static_cast<int64_t>(idx.size())) {
    std::nth_element(idx.begin(), idx.begin() + k, idx.end(), [&](uint32_t a, uint32_t b) {
      return keys[a] < keys[b] || (keys[a] == keys[b] && a < b);
    });
    idx.resize(static_cast<size_t>(k));
  }
  return idx;
}

}  // namespace

Status pruneMagnitude(MethodContext& ctx) {
  const std::string scope = opt(ctx.options, "scope", "local");
  ctx.resolved["scope"] = scope;
  const std::vector<WeightLayer> layers = findWeightLayers(
      ctx.graph, {"Conv", "ConvTranspose", "Gemm", "MatMul"}, ctx.ignore, ctx.notes);
  if (layers.empty()) {
    return invalidArgument(
        "magnitude: nothing to prune: no Conv / ConvTranspose / Gemm / MatMul node with a float "
        "initializer weight is left once ignored nodes are taken out");
  }
  const double sparsity = ctx.options.sparsity;
  if (scope == "local") {
    for (const WeightLayer& layer : layers) {
      std::vector<float> keys = weightValues(ctx.graph, layer.weight);
      for (float& v : keys) v = magnitudeKey(v);
      const int64_t n = static_cast<int64_t>(keys.size());
      const int64_t k = std::llround(sparsity * static_cast<double>(n));
      std::vector<uint8_t>& mask = ctx.masks.of(ctx.graph, layer.weight);
      for (uint32_t i : smallest(keys, k)) mask[i] = 1;
      ctx.notes[layer.name] = zeroedNote("local", k, n);
    }
    return Status::ok();
  }
  // global: one ranking over the concatenation of every prunable weight.
  std::vector<float> keys;
  std::vector<size_t> offsets;
  for (const WeightLayer& layer : layers) {
    offsets.push_back(keys.size());
    for (float v : weightValues(ctx.graph, layer.weight)) keys.push_back(magnitudeKey(v));
  }
  offsets.push_back(keys.size());
  if (keys.size() >= std::numeric_limits<uint32_t>::max()) {
    return unsupported("magnitude: scope=global over more than 4 G weights is not supported");
  }
  const int64_t total = static_cast<int64_t>(keys.size());
  const int64_t k = std::llround(sparsity * static_cast<double>(total));
  std::vector<uint32_t> chosen = smallest(keys, k);
  std::sort(chosen.begin(), chosen.end());
  float threshold = 0.0f;
  for (uint32_t i : chosen) threshold = std::max(threshold, keys[i]);
  ctx.resolved["threshold"] = k > 0 ? threshold : 0.0f;
  size_t next = 0;
  for (size_t l = 0; l < layers.size(); ++l) {
    std::vector<uint8_t>& mask = ctx.masks.of(ctx.graph, layers[l].weight);
    int64_t zeroed = 0;
    while (next < chosen.size() && chosen[next] < offsets[l + 1]) {
      mask[chosen[next] - offsets[l]] = 1;
      ++zeroed;
      ++next;
    }
    ctx.notes[layers[l].name] =
        zeroedNote("global", zeroed, static_cast<int64_t>(offsets[l + 1] - offsets[l]));
  }
  return Status::ok();
}

}  // namespace detslim::prune::detail
