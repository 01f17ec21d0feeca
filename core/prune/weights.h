#pragma once
// Internals shared by the masking methods: finding the layers whose weights may be written,
// and masks that zero initializer elements without touching shared storage.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/graph/graph.h"
#include "core/prune/ignore.h"

namespace detslim::prune::detail {

// A node whose weight (input 1) is a floating-point initializer that this prune may write.
struct WeightLayer {
  size_t node_index = 0;
  std::string name;  // layerName()
  std::string op_type;
  std::string weight;  // initializer name
  std::string bias;    // Conv / Gemm input 2 when it is an initializer, else ""
  Shape weight_shape;
  int64_t group = 1;  // Conv's group attribute
};

// The layers among nodes of `op_types` (default domain) whose weight may be written. Nodes left
// out get a note saying why (ignored, weight not an initializer, not floating point, weight
// shared with a node that is ignored or of another kind). An initializer also listed as a graph
// input (IR < 4 style exports) counts as a weight, as every runtime treats it.
std::vector<WeightLayer> findWeightLayers(const Graph& graph,
                                          const std::vector<std::string>& op_types,
                                          const IgnoreSet& ignore,
                                          std::map<std::string, std::string>& notes);

// The initializer's elements as float (float32 / float16 / bfloat16 / float64).
std::vector<float> weightValues(const Graph& graph, const std::string& initializer);

// Per-initializer "set to zero" masks; OR-ed when several rules mark the same tensor.
class MaskSet {
 public:
  // The mask of `initializer` (one byte per element, 1 = zero it), created on first use.
  std::vector<uint8_t>& of(const Graph& graph, const std::string& initializer);
  bool empty() const { return masks_.empty(); }
  // Writes the zeros into `graph`: each masked initializer is cloned first (its storage may be
  // shared with another Model), then replaced. Refuses a non-floating-point initializer.
  Status apply(Graph& graph) const;

 private:
  std::map<std::string, std::vector<uint8_t>> masks_;
};

// Conv helper: the input channel (of the full C_in) that weight slot (o, j) reads, for a weight
// [C_out, C_in / group, ...].
inline int64_t convInputChannel(int64_t o, int64_t j, int64_t c_out, int64_t c_in_per_group,
                                int64_t group) {
  const int64_t c_out_per_group = c_out / group;
  return (o / c_out_per_group) * c_in_per_group + j;
}

// Elements per output channel of a Conv weight (C_in / group * prod(kernel)).
inline int64_t perFilter(const Shape& w) {
  int64_t n = 1;
  for (size_t i = 1; i < w.size(); ++i) n *= w[i];
  return n;
}

// Parses a whole-string integer / number option value; nullopt when it is not one.
std::optional<int64_t> parseInt(const std::string& text);
std::optional<double> parseNumber(const std::string& text);

}  // namespace detslim::prune::detail
