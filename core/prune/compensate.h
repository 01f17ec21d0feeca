#pragma once
// Bias compensation for channel pruning (soft-channel, group, bn-slim; docs/prune.md).
//
// In a BatchNorm-folded network a pruned output channel c of a Conv P was not zero: with its
// filter treated as zero it carries the constant f(b_c), P's bias passed through the
// elementwise ops after P (SiLU, Relu, ...). A consumer Conv Q that read that channel as its
// input channel c' relied on that constant; it is folded into Q's bias instead:
//   Q.bias[o] += v * sum_{kh,kw} W_Q[o, c', kh, kw]
// (for grouped Q only the outputs of c's group). Exact for 1x1 convs and for interior pixels;
// at the border zero padding makes a k x k conv see fewer taps of the constant.
//
// The constants are followed forward from the pruned channels through channel-preserving ops
// (activations, BatchNormalization, MaxPool / AveragePool / Resize / Identity), Concat / Split /
// Slice on the channel axis (offsets), depthwise Convs (b + v * sum W), and elementwise Add /
// Sub / Mul / Div when every operand of that channel is constant (SiLU = x * sigmoid(x), a
// residual x + f(x) whose both sides lost the channel). Anything else stops the constant
// (listed in ConstantFlow::stops).

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/graph/graph.h"

namespace detslim::prune {

// value name -> (channel -> constant the whole channel carries)
using ChannelConstants = std::map<std::string, std::map<int64_t, double>>;

// A constant input channel of a (non-depthwise) Conv.
struct ConvInputConstant {
  size_t node = 0;
  int64_t channel = 0;
  double value = 0.0;
};

struct ConstantFlow {
  ChannelConstants values;               // seeds and everything derived from them
  std::vector<ConvInputConstant> convs;  // constants reaching a Conv's input 0
  std::set<std::string> stops;           // nodes where a constant channel was lost
};

// Follows the `seeds` forward through `graph` (value types must be known for Concat / Split /
// Slice / broadcasting). Seeds are never overwritten by derived values.
ConstantFlow propagateConstantChannels(const Graph& graph, const ChannelConstants& seeds);

// Adds value * sum W[o, j, ...] to delta[o] for every output o of Conv `node` reading input
// channel `channel` (delta has C_out entries; resized when empty). False when the weight is not
// a constant Conv weight of rank >= 3 or the channel is out of range.
bool addConvInputConstant(const Graph& graph, size_t node, int64_t channel, double value,
                          std::vector<double>& delta);

// Adds `delta` (one entry per output channel) to the bias of Conv `node`, creating a zero bias
// when it has none. The new bias is a fresh tensor (shared storage is never written); a bias
// initializer read by another node is left alone and the node gets a new one. Refuses a weight
// dtype other than float32 / float64 or a size mismatch.
Status addToConvBias(Graph& graph, size_t node, const std::vector<double>& delta);

}  // namespace detslim::prune
