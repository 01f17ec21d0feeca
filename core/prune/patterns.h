#pragma once
// What a layer's weights look like after pruning: the zero / non-zero map of a convolution
// weight (rows = output channels, columns = input channels x kernel cells, seed 002 Fig. 6) and
// the histogram of 3x3 kernel patterns (9-bit masks of the non-zero cells, bit r * 3 + c as in
// rtoss.h). Pure functions over Tensors, shared by `detslim inspect --layer` and the GUI's
// layer inspector.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"
#include "core/base/tensor.h"
#include "core/graph/graph.h"

namespace detslim::prune {

struct PatternCount {
  uint16_t mask = 0;  // bit r * 3 + c set: cell (r, c) is non-zero; 0 is a kernel zeroed whole
  int64_t count = 0;  // kernels with exactly this mask
};

struct LayerWeightMap {
  Shape shape;                   // the weight's shape, [C_out, C_in / group, k...]
  int64_t rows = 0;              // output channels
  int64_t cols = 0;              // elements per output channel (C_in / group x kernel cells)
  int64_t kernel_cells = 1;      // product of the kernel dims (9 for 3x3)
  std::vector<uint8_t> nonzero;  // rows x cols, row-major, 1 = non-zero
  int64_t total = 0;
  int64_t zeros = 0;  // same rule as Tensor::countZeros: -0.0 counts as zero
  double sparsity = 0.0;
  int64_t zero_rows = 0;            // output channels whose whole filter is zero
  int64_t zero_input_channels = 0;  // input channel slots zero in every filter
  int64_t zero_kernels = 0;         // kernels (kernel_cells consecutive weights) entirely zero
};

// The map of a weight of rank >= 2 with a non-negative static shape. Refuses a string,
// undefined or rank < 2 tensor (InvalidArgument naming the shape).
Result<LayerWeightMap> layerWeightMap(const Tensor& weight);

// How many kernels of a [C_out, C_in, 3, 3] weight have each non-zero mask, most frequent first
// (ties: smaller mask first). Refuses any other shape (InvalidArgument naming it).
Result<std::vector<PatternCount>> kernelPatternHistogram(const Tensor& weight);

// "##./.#./..." : the mask's rows top to bottom, '#' non-zero, '.' zero (for text output).
std::string patternGlyph(uint16_t mask);

// A node whose weight (input 1) is a constant initializer of rank >= 3: the layers a zero map
// is drawn for (Conv, ConvTranspose, ConvInteger).
struct ConvWeightLayer {
  size_t node_index = 0;
  std::string name;  // node name, or its first output's when unnamed (LayerStats::name)
  std::string op_type;
  std::string weight;              // initializer name
  const Tensor* tensor = nullptr;  // points into the graph; valid while the graph lives
};

// Every such layer in node order.
std::vector<ConvWeightLayer> convWeightLayers(const Graph& graph);

// The layer named `name` (node name, or first output when unnamed). NotFound names the layer;
// InvalidArgument when the node exists but has no constant conv weight.
Result<ConvWeightLayer> findConvWeightLayer(const Graph& graph, std::string_view name);

}  // namespace detslim::prune
