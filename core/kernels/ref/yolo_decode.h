#pragma once
// What the detslim::YoloDecode op computes (ops.inc), shared by its reference kernel, its fast
// kernel (core/kernels/opt/fast_decode.cpp) and the fusion that makes it
// (core/engine/detect_fusion.cpp): the attributes parsed and checked once, and one chain step.

#include <cmath>
#include <cstdint>
#include <vector>

#include "core/kernels/kernel.h"

namespace detslim::yolo_decode {

enum class StepOp : int64_t { kAdd = 0, kSub = 1, kMul = 2, kDiv = 3, kPow = 4 };

struct Step {
  StepOp op = StepOp::kMul;
  bool const_first = false;  // c op v instead of v op c
};

struct Head {
  int64_t height = 0, width = 0;
  int64_t first_row = 0;  // the output row of this head's first (anchor 0, y 0, x 0) box
};

struct Spec {
  int64_t batch = 0, anchors = 0, outputs = 0;  // N, A, K
  std::vector<Head> heads;                      // in output order
  std::vector<Step> xy, wh;                     // the same chains for every head
  int64_t rows = 0;                             // sum of A * H * W over heads
  // The shape every step constant of head h broadcasts to: [N, A, H, W, 2].
  Shape pairShape(size_t h) const { return {batch, anchors, heads[h].height, heads[h].width, 2}; }
  size_t steps() const { return xy.size() + wh.size(); }
  // The node input holding step `step` (xy steps first) of head h.
  size_t constantInput(size_t h, size_t step) const { return heads.size() + h * steps() + step; }
};

// Reads and checks the node: `heads` inputs X float32 [N, A*K, H_h, W_h] (K >= 5, one N, A, K),
// then per head one float32 input per step, each broadcastable to [N, A, H_h, W_h, 2] without
// growing it; refuses anything else naming the node.
Result<Spec> parseSpec(const NodeContext& ctx);

// The op code of an ONNX binary op ("Add", "Sub", "Mul", "Div", "Pow"); false for others.
bool stepOpOf(const std::string& op_type, StepOp* op);

inline float applyStep(const Step& step, float v, float c) {
  const float a = step.const_first ? c : v;
  const float b = step.const_first ? v : c;
  switch (step.op) {
    case StepOp::kAdd: return a + b;
    case StepOp::kSub: return a - b;
    case StepOp::kMul: return a * b;
    case StepOp::kDiv: return a / b;
    case StepOp::kPow: return std::pow(a, b);
  }
  return v;
}

}  // namespace detslim::yolo_decode
