#pragma once
// Graph-to-graph passes. Each returns what it changed (for logs and tests) or refuses with a
// message naming the node at fault; a refused pass leaves the graph as it was.

#include <string>
#include <vector>

#include "core/graph/graph.h"

namespace detslim {

struct PassReport {
  std::string pass;
  int nodes_removed = 0;
  int nodes_added = 0;
  int initializers_added = 0;
  int initializers_removed = 0;
  std::vector<std::string> notes;  // one line per change worth telling a user
};

// Turns Constant nodes into initializers and evaluates sub-graphs whose inputs are all constant,
// among them Shape -> Gather -> Unsqueeze -> Concat chains over values whose shape is static.
// Supported evaluation: Constant, Shape, Size, Gather, Concat, Unsqueeze, Squeeze, Slice, Cast,
// Identity, Reshape, Add, Sub, Mul, Div, Neg, ConstantOfShape, Range, Equal, Where, Expand on
// tensors up to `max_elements` elements (bigger results stay as nodes; Constant nodes move
// whatever their size). Results become initializers named after the value they replace. A graph
// output that becomes constant keeps its name and a producer: its value is stored as initializer
// "<output>_const" and its node becomes Identity(<output>_const). Main graph only; nodes it
// cannot evaluate are left as they are. Refuses a graph with a cycle.
Result<PassReport> foldConstants(Model& model, int64_t max_elements = 1 << 16);

// Folds BatchNormalization (inference form, 1 output) that directly follows a Conv whose output
// feeds only that BN, into the Conv's weight and bias. Float32 weights only; others are left.
Result<PassReport> foldBatchNorm(Model& model);

// Removes nodes none of whose outputs reach a graph output, and initializers nothing reads.
// Values read by subgraphs (If/Loop/Scan bodies) count as read.
Result<PassReport> eliminateDeadNodes(Model& model);

}  // namespace detslim
