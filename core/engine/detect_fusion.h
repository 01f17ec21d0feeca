#pragma once
// Detect-head decode fusion on the engine's runtime node list. YOLOv5 (v6+) exports decode each
// head as
//   X [N, A*K, H, W] -> Reshape [N, A, K, H, W] -> Transpose (0, 1, 3, 4, 2) -> Sigmoid
//     -> Split (2, 2, K-4) on the last axis -> xy: Mul / Add / ... by constants
//                                           -> wh: Mul / Pow / ... by constants
//     -> Concat (xy, wh, rest) on the last axis -> Reshape [N, A*H*W, K]
// — eleven passes over the head's output where one suffices. The chain becomes one
// detslim::YoloDecode node (ops.inc) reading X, which the convolution then writes in NHWC.
// Every intermediate value must have that one reader and must not be a graph output; a chain
// step is Add, Sub, Mul, Div or Pow with one operand constant and the other the chain's value.
// Then a Concat (axis 1) of such decodes with the same chains becomes one YoloDecode with one X
// per head, which writes every head's rows into the concatenated output directly.

#include "core/engine/fusion.h"

namespace detslim {

// Returns how many heads were fused.
int fuseYoloDecode(FusionInput io, const DescLookup& desc_of, const ConstantLookup& constant_of,
                   const OutputCheck& is_graph_output);

}  // namespace detslim
