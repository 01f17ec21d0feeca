#pragma once
// Channel dependency analysis on the IR, for structural pruning (group / bn-slim).
//
// Every value whose axis 1 is a channel axis that the analysis reaches gets one "slot" per
// channel. Ops that keep channels aligned (activations, BatchNormalization, pooling, Resize,
// elementwise Add / Mul with a same-shaped operand, depthwise Conv) unite slot c of their input
// with slot c of their output; Concat / Split / Slice along axis 1 unite ranges at their
// offsets. The union-find classes that result are the removable units: removing class k removes
// one channel from every value holding one of its slots, the matching output filters of the
// Conv that produces it, the BatchNormalization parameters, and the matching input channels of
// every Conv that reads it. Classes produced by the same set of Convs form a group (the unit
// Torch-Pruning's DependencyGraph calls a group); importance is ranked per group.
//
// What the analysis cannot prove safe freezes the channels that reach it (a Reshape, Transpose,
// Gemm or unknown consumer, a graph input or output, a non-depthwise grouped Conv, a Split whose
// sizes are not constant, ...): a frozen class is never removed, and a group holding one is
// frozen whole. Frozen groups carry the node and the reason, so the pruner can report them.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/graph/graph.h"

namespace detslim::prune {

// A value whose axis-1 channels take part in the analysis.
struct ChannelValue {
  std::string name;
  int64_t channels = 0;
  int64_t first_slot = 0;          // its slots are [first_slot, first_slot + channels)
  std::optional<size_t> producer;  // node index; nullopt for graph inputs and constants
};

// One slot: channel `channel` of values()[value].
struct ChannelSlot {
  size_t value = 0;
  int64_t channel = 0;
};

// A set of coupled channels: removed together or not at all.
struct ChannelClass {
  std::vector<ChannelSlot> slots;  // in slot order
  std::vector<size_t> sources;     // nodes (Conv) whose output filter is a slot, sorted
  bool frozen = false;
  size_t group = 0;  // index into groups()
};

// Classes with the same source Convs. Pruned with one ratio; frozen as a whole.
struct ChannelGroup {
  std::vector<size_t> sources;  // Conv node indices, sorted
  std::vector<size_t> classes;  // class indices, in the first source's channel order
  bool frozen = false;
  std::vector<std::string> reasons;  // "'<node>': <why>" for frozen groups, unique
  // Conv node names whose output channels are the group (for messages).
  std::string describe(const Graph& graph) const;
};

struct ChannelGraphOptions {
  // Node index -> reason: the node's outputs are frozen (ignore list, Detect head; IgnoreSet).
  std::map<size_t, std::string> frozen_nodes;
};

// What one node needs when channels are removed (filled by the analysis, used by the removal).
struct ParamSlice {
  size_t input = 0;  // node input holding a constant tensor
  int64_t axis = 0;  // tensor axis sliced
  size_t value = 0;  // the ChannelValue whose kept channels select the entries
};

struct NodeEdit {
  enum class Kind { kParams, kDepthwiseConv, kSplit, kSlice, kResizeSizes };
  size_t node = 0;
  Kind kind = Kind::kParams;
  std::vector<ParamSlice> params;
  size_t in_value = 0;             // kSplit / kSlice / kResizeSizes / kDepthwiseConv: the input
  std::vector<size_t> out_values;  // kSplit: one per output; kSlice / kDepthwiseConv: output
  int64_t axis_entry = -1;         // kSlice: index of axis 1 in starts / ends
  int64_t slice_start = 0;         // kSlice: normalised start along axis 1
};

class ChannelGraph {
 public:
  // Analyses `graph`, whose value types must be known (run inferShapes first): values whose
  // channel count is not static are frozen. Refuses a graph with a cycle.
  static Result<ChannelGraph> build(const Graph& graph, const ChannelGraphOptions& options = {});

  const std::vector<ChannelValue>& values() const { return values_; }
  const std::vector<ChannelClass>& classes() const { return classes_; }
  const std::vector<ChannelGroup>& groups() const { return groups_; }
  const std::vector<NodeEdit>& edits() const { return edits_; }
  std::optional<size_t> valueIndex(const std::string& value_name) const;
  // The class holding channel `channel` of value `value`.
  size_t classOf(size_t value, int64_t channel) const;

  // Kept channels of every value when the classes flagged in `remove` go (ascending indices).
  std::vector<std::vector<int64_t>> keptChannels(const std::vector<bool>& remove) const;

  // Removes the flagged classes from `graph` (the graph analysed, or a copy with the same nodes):
  // slices Conv / BatchNormalization / per-channel constants, updates depthwise `group`, Split
  // sizes, Slice starts / ends and Resize sizes, and the declared value_info. Refuses a removal
  // that touches a frozen class or leaves a value with no channel; the graph is then unchanged.
  // Inferred types are cleared (run inferShapes again).
  Status apply(Graph& graph, const std::vector<bool>& remove, int64_t opset) const;

 private:
  std::vector<ChannelValue> values_;
  std::vector<int64_t> slot_class_;  // slot -> class
  std::vector<ChannelClass> classes_;
  std::vector<ChannelGroup> groups_;
  std::vector<NodeEdit> edits_;
  std::map<std::string, size_t> value_index_;
};

// A residual block x + f(x): the Add, the shortcut value x, and the branch nodes computing f(x)
// from x alone (with constants), none of whose outputs is read outside the branch.
struct ResidualBlock {
  size_t add = 0;
  std::string shortcut;             // x
  std::vector<size_t> branch;       // node indices of f, topological order
  std::optional<size_t> last_conv;  // the branch's last Conv (block importance)
};

// Residual blocks whose branch holds at least one Conv; the Add's output must not be a graph
// output. Blocks are returned in graph order.
std::vector<ResidualBlock> findResidualBlocks(const Graph& graph);

// Removes blocks (x + f(x) becomes x): the Add's readers read x, the Add and the branch go, and
// initializers nothing reads any more are dropped. Inferred types are cleared.
Status removeResidualBlocks(Graph& graph, const std::vector<ResidualBlock>& blocks);

// The constant tensor behind a value: an initializer or a Constant node's output.
std::optional<Tensor> constantValue(const Graph& graph, const std::string& value_name);

// `tensor` with only the entries `keep` (ascending) along `axis`.
Tensor sliceAxis(const Tensor& tensor, int64_t axis, const std::vector<int64_t>& keep);

}  // namespace detslim::prune
