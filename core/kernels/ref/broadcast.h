#pragma once
// ONNX (numpy) multidirectional broadcasting helpers shared by reference kernels.

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/base/tensor.h"
#include "core/graph/const_eval.h"  // broadcastShapes: one definition for graph and kernels

namespace detslim {

// Element strides of `shape` seen through `out_shape` (0 along broadcast dims), right-aligned.
inline std::vector<int64_t> broadcastStrides(const Shape& shape, const Shape& out_shape) {
  std::vector<int64_t> strides(out_shape.size(), 0);
  int64_t stride = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    const size_t o = out_shape.size() - shape.size() + i;
    strides[o] = shape[i] == 1 ? 0 : stride;
    stride *= shape[i];
  }
  return strides;
}

// Calls fn(out_index, in_offsets...) for every element of out_shape, with the input offsets
// computed from broadcast strides. Fast path for inputs that equal out_shape is up to callers.
template <size_t N, class Fn>
void forEachBroadcast(const Shape& out_shape, const std::vector<int64_t> (&strides)[N], Fn&& fn) {
  const size_t rank = out_shape.size();
  const int64_t total = shapeNumel(out_shape);
  std::vector<int64_t> index(rank, 0);
  int64_t offsets[N] = {};
  for (int64_t i = 0; i < total; ++i) {
    fn(i, offsets);
    for (size_t d = rank; d-- > 0;) {
      ++index[d];
      for (size_t k = 0; k < N; ++k) offsets[k] += strides[k][d];
      if (index[d] < out_shape[d]) break;
      for (size_t k = 0; k < N; ++k) offsets[k] -= strides[k][d] * out_shape[d];
      index[d] = 0;
    }
  }
}

}  // namespace detslim
