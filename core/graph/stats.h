#pragma once
// Per-layer and whole-model statistics: parameters, MACs, sparsity, weight bytes per dtype.
// Counting rules (docs/metrics.md):
//  - params: elements of every initializer (Constant nodes are not parameters).
//  - macs: multiply-accumulates of Conv, ConvInteger, QLinearConv (grouped, depthwise),
//    ConvTranspose, Gemm, MatMul, MatMulInteger, QLinearMatMul. Nothing else.
//  - macs_ptflops: the count ptflops reports for the same network (the figure papers quote):
//    macs + one add per output element of a Conv/Gemm bias + input elements of MaxPool /
//    AveragePool / GlobalAveragePool / GlobalMaxPool + output elements of Resize / Upsample +
//    output elements of Relu / LeakyRelu / PRelu / Elu / Clip + 2 x input elements of
//    BatchNormalization. (QLinearConv's bias, input 8, counts like a Conv bias.)
//  - Only default-domain (ai.onnx) ops are counted; shapes come from Graph::staticShapeOf, and a
//    layer whose needed shape is unknown counts 0 and is listed in unknown_mac_layers.
//  - weight totals and params count an initializer read by several nodes once.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/graph/graph.h"

namespace detslim {

struct LayerStats {
  size_t node_index = 0;
  std::string name;  // the node's name, or its first output's when the node has none
  std::string op_type;
  std::vector<std::string> input_shapes;  // TensorType::toString() of each input ("" if omitted)
  std::vector<std::string> output_shapes;
  int64_t params = 0;           // elements of initializers this node reads
  int64_t weight_elements = 0;  // elements of the weight input (Conv/Gemm/MatMul input 1)
  int64_t weight_zeros = 0;     // zeros among them
  double sparsity = 0.0;        // weight_zeros / weight_elements (0 when no weight)
  int64_t macs = 0;             // as in the header comment; 0 when shapes are unknown
  int64_t macs_ptflops = 0;
  bool macs_known = true;    // false when a needed shape was unknown
  std::string weight_dtype;  // dtypeName of the weight, "" when none
};

struct ModelStats {
  int64_t params = 0;
  int64_t macs = 0;
  int64_t macs_ptflops = 0;
  int64_t weight_bytes = 0;
  std::map<std::string, int64_t> weight_bytes_by_dtype;  // dtypeName -> bytes
  std::map<std::string, int64_t> params_by_dtype;
  std::map<std::string, int> op_counts;  // op_type ("domain::op_type" outside ai.onnx)
  int64_t weight_zeros = 0;              // over Conv/Gemm/MatMul weights
  int64_t weight_elements = 0;
  int nodes = 0;
  int initializers = 0;
  std::vector<std::string> nan_inf_initializers;  // initializers holding NaN or Inf
  std::vector<std::string> unknown_mac_layers;    // compute layers whose shapes were unknown
  std::vector<LayerStats> layers;                 // one per node, in topological order
};

// Statistics of a graph whose value types are known (run shape inference first).
ModelStats computeStats(const Graph& graph);

// MAC counts of one node given its input / output shapes (exposed for tests).
struct MacCount {
  int64_t macs = 0;
  int64_t macs_ptflops = 0;
  bool known = true;
};
MacCount countNodeMacs(const Node& node, const Graph& graph);

}  // namespace detslim
