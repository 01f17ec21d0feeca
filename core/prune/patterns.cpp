#include "core/prune/patterns.h"

#include <algorithm>
#include <array>

namespace detslim::prune {

namespace {

bool staticNonNegative(const Shape& shape) {
  return std::all_of(shape.begin(), shape.end(), [](int64_t d) { return d >= 0; });
}

// Weight input of the conv kinds a zero map makes sense for; -1 for every other op.
int convWeightInput(const Node& node) {
  if (!node.domain.empty() && node.domain != "ai.onnx") return -1;
  if (node.op_type == "Conv" || node.op_type == "ConvTranspose" || node.op_type == "ConvInteger") {
    return 1;
  }
  if (node.op_type == "QLinearConv") return 3;
  return -1;
}

std::string nodeLayerName(const Node& node) {
  if (!node.name.empty()) return node.name;
  return node.outputs.empty() ? node.op_type : node.outputs[0];
}

}  // namespace

Result<LayerWeightMap> layerWeightMap(const Tensor& weight) {
  const Shape& shape = weight.shape();
  if (!weight.defined() || weight.dtype() == DType::kString || shape.size() < 2 ||
      !staticNonNegative(shape)) {
    return invalidArgument("zero map: needs a numeric weight of rank >= 2, got " +
                           std::string(dtypeName(weight.dtype())) + shapeToString(shape));
  }
  LayerWeightMap map;
  map.shape = shape;
  map.rows = shape[0];
  map.total = weight.numel();
  map.cols = map.rows ? map.total / map.rows : 0;
  map.kernel_cells = 1;
  for (size_t i = 2; i < shape.size(); ++i) map.kernel_cells *= shape[i];
  map.nonzero.assign(static_cast<size_t>(map.total), 0);
  // elementAsDouble for every dtype so fp16 / bf16 / int8 weights read as countZeros reads them.
  if (weight.dtype() == DType::kFloat32) {
    const float* src = weight.data<float>();
    for (int64_t i = 0; i < map.total; ++i) map.nonzero[static_cast<size_t>(i)] = src[i] != 0.0f;
  } else {
    for (int64_t i = 0; i < map.total; ++i) {
      map.nonzero[static_cast<size_t>(i)] = weight.elementAsDouble(i) != 0.0;
    }
  }
  const int64_t in_slots = shape[1];
  std::vector<uint8_t> input_used(static_cast<size_t>(in_slots), 0);
  for (int64_t r = 0; r < map.rows; ++r) {
    const uint8_t* row = map.nonzero.data() + r * map.cols;
    bool row_zero = true;
    for (int64_t j = 0; j < in_slots; ++j) {
      const uint8_t* kernel = row + j * map.kernel_cells;
      bool kernel_zero = true;
      for (int64_t k = 0; k < map.kernel_cells; ++k) {
        if (kernel[k]) {
          kernel_zero = false;
          break;
        }
      }
      if (kernel_zero) {
        ++map.zero_kernels;
      } else {
        row_zero = false;
        input_used[static_cast<size_t>(j)] = 1;
      }
    }
    for (int64_t c = 0; c < map.cols; ++c) map.zeros += row[c] == 0;
    map.zero_rows += row_zero;
  }
  if (map.rows > 0) {
    map.zero_input_channels = std::count(input_used.begin(), input_used.end(), uint8_t{0});
  }
  map.sparsity = map.total ? static_cast<double>(map.zeros) / static_cast<double>(map.total) : 0.0;
  return map;
}

Result<std::vector<PatternCount>> kernelPatternHistogram(const Tensor& weight) {
  const Shape& shape = weight.shape();
  if (shape.size() != 4 || shape[2] != 3 || shape[3] != 3 || shape[0] < 0 || shape[1] < 0) {
    return invalidArgument("kernel patterns: needs a [C_out, C_in, 3, 3] weight, got " +
                           shapeToString(shape));
  }
  DS_ASSIGN_OR_RETURN(const LayerWeightMap map, layerWeightMap(weight));
  std::array<int64_t, 512> counts{};
  const int64_t kernels = map.total / 9;
  for (int64_t k = 0; k < kernels; ++k) {
    const uint8_t* cells = map.nonzero.data() + k * 9;
    uint16_t mask = 0;
    for (int bit = 0; bit < 9; ++bit) mask |= static_cast<uint16_t>(cells[bit] ? 1u << bit : 0u);
    ++counts[mask];
  }
  std::vector<PatternCount> histogram;
  for (uint16_t mask = 0; mask < 512; ++mask) {
    if (counts[mask]) histogram.push_back({mask, counts[mask]});
  }
  std::stable_sort(histogram.begin(), histogram.end(),
                   [](const PatternCount& a, const PatternCount& b) { return a.count > b.count; });
  return histogram;
}

std::string patternGlyph(uint16_t mask) {
  std::string glyph;
  for (int r = 0; r < 3; ++r) {
    if (r) glyph += '/';
    for (int c = 0; c < 3; ++c) glyph += (mask >> (r * 3 + c)) & 1u ? '#' : '.';
  }
  return glyph;
}

std::vector<ConvWeightLayer> convWeightLayers(const Graph& graph) {
  std::vector<ConvWeightLayer> layers;
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const Node& node = graph.nodes[i];
    const int input = convWeightInput(node);
    if (input < 0) continue;
    const std::string& weight = node.input(static_cast<size_t>(input));
    const Tensor* tensor = weight.empty() ? nullptr : graph.initializer(weight);
    if (!tensor || tensor->rank() < 3 || tensor->dtype() == DType::kString) continue;
    layers.push_back({i, nodeLayerName(node), node.op_type, weight, tensor});
  }
  return layers;
}

Result<ConvWeightLayer> findConvWeightLayer(const Graph& graph, std::string_view name) {
  for (const ConvWeightLayer& layer : convWeightLayers(graph)) {
    if (layer.name == name) return layer;
  }
  for (const Node& node : graph.nodes) {
    if (nodeLayerName(node) == name) {
      return invalidArgument("layer '" + std::string(name) + "' (" + node.op_type +
                             ") has no constant convolution weight to map");
    }
  }
  return notFound("no layer named '" + std::string(name) + "' in graph '" + graph.name + "'");
}

}  // namespace detslim::prune
