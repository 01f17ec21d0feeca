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

// Exports that trace a model at batch 1 bake the batch into Reshape targets ([1,3,85,80,80] in
// YOLOv5's Detect head), so the graph cannot run at another batch. For every Reshape whose
// target shape is a constant (initializer, after foldConstants) with first element
// `from_batch`, writes `to_batch` there (a copy when other nodes read the same constant). This is
// a heuristic: a leading 1 that is not the batch would be rewritten too, so callers must check
// the result (engine/batch.h compares every batch item against a batch-1 run).
Result<PassReport> rebatchReshapes(Model& model, int64_t from_batch, int64_t to_batch);

}  // namespace detslim
