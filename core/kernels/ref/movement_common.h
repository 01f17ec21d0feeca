#pragma once
// Helpers shared by the reference shape / data-movement kernels (shape_ops.cpp, movement.cpp,
// resize.cpp, matmul.cpp): axis normalisation, compile-time constant inputs, and a strided copy
// that moves elements of any storable dtype without looking at their values.
// Private to core/kernels/ref.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "core/kernels/kernel.h"

namespace detslim::movement {

// True when values of the dtype live in a flat buffer the engine can move (not strings).
inline bool isStorable(DType dtype) {
  return dtypeSize(dtype) > 0;
}

// Sets why_not and returns false for dtypes the engine cannot hold in buffers.
inline bool acceptStorable(DType dtype, std::string* why_not) {
  if (isStorable(dtype)) return true;
  if (why_not) {
    *why_not = "dtype " + std::string(dtypeName(dtype)) + " has no fixed-size buffer layout";
  }
  return false;
}

// Maps an axis in [-rank, rank) to [0, rank); refuses others naming the attribute or input.
inline Result<int64_t> normalizeAxis(const NodeContext& ctx, int64_t axis, int64_t rank,
                                     const std::string& what) {
  if (axis < -rank || axis >= rank) {
    return ctx.error(what + " " + std::to_string(axis) + " is out of range for rank " +
                     std::to_string(rank));
  }
  return axis < 0 ? axis + rank : axis;
}

// Elements of input i, which must be known when the plan is compiled (it determines an output
// shape or a precomputed table). `what` names it in messages, e.g. "the target shape (input 1)".
inline Result<std::vector<int64_t>> constantInts(const NodeContext& ctx, size_t i,
                                                 const std::string& what) {
  const Tensor* t = ctx.constant(i);
  if (!t) return ctx.unsupportedError(what + " must be known when the plan is compiled");
  if (t->dtype() != DType::kInt64 && t->dtype() != DType::kInt32) {
    return ctx.error(what + " has dtype " + std::string(dtypeName(t->dtype())) +
                     ", expected int64 or int32");
  }
  return t->toInt64Vector();
}

// Row-major element strides of a shape.
inline std::vector<int64_t> contiguousStrides(const Shape& shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (size_t i = shape.size(); i-- > 1;) strides[i - 1] = strides[i] * shape[i];
  return strides;
}

// Copies dst[i0, i1, ...] = src[offset + i0 * s0 + i1 * s1 + ...] for every index of `dims`,
// writing dst contiguously. Serves Slice, Transpose, Expand (zero strides), Tile and Split.
// Built at kernel creation (dims of size 1 dropped, mergeable dims merged); run() does not
// allocate.
class StridedCopy {
 public:
  StridedCopy() = default;
  StridedCopy(const Shape& dims, const std::vector<int64_t>& src_strides, int64_t src_offset,
              size_t elem_bytes)
      : src_offset_(src_offset), elem_bytes_(elem_bytes) {
    for (size_t i = 0; i < dims.size(); ++i) {
      if (dims[i] == 0) empty_ = true;
      if (dims[i] == 1) continue;
      if (!dims_.empty() && strides_.back() == src_strides[i] * dims[i]) {
        // The previous dim steps exactly over this one: one longer dim.
        dims_.back() *= dims[i];
        strides_.back() = src_strides[i];
        continue;
      }
      dims_.push_back(dims[i]);
      strides_.push_back(src_strides[i]);
    }
  }

  void run(const void* src, void* dst) const {
    if (empty_) return;
    switch (elem_bytes_) {
      case 1:
        return copy<uint8_t>(src, dst);
      case 2:
        return copy<uint16_t>(src, dst);
      case 4:
        return copy<uint32_t>(src, dst);
      case 8:
        return copy<uint64_t>(src, dst);
      case 16:
        return copy<Bytes16>(src, dst);
      default:
        return;
    }
  }

 private:
  struct Bytes16 {
    unsigned char b[16];
  };

  template <class E>
  void copy(const void* src, void* dst) const {
    E* out = static_cast<E*>(dst);
    const E* in = static_cast<const E*>(src) + src_offset_;
    if (dims_.empty()) {
      *out = *in;
      return;
    }
    copyDim(in, out, 0);
  }

  // Recursion over dims instead of an index vector keeps run() free of allocation.
  template <class E>
  void copyDim(const E* in, E*& out, size_t d) const {
    const int64_t n = dims_[d];
    const int64_t stride = strides_[d];
    if (d + 1 == dims_.size()) {
      if (stride == 1) {
        std::memcpy(out, in, static_cast<size_t>(n) * sizeof(E));
        out += n;
      } else {
        for (int64_t i = 0; i < n; ++i) *out++ = in[i * stride];
      }
      return;
    }
    for (int64_t i = 0; i < n; ++i) copyDim(in + i * stride, out, d + 1);
  }

  std::vector<int64_t> dims_;
  std::vector<int64_t> strides_;
  int64_t src_offset_ = 0;
  size_t elem_bytes_ = 0;
  bool empty_ = false;
};

// Output 0 = input 0 byte for byte: Identity, Reshape, Flatten, Squeeze, Unsqueeze. The engine
// aliases the buffers (isView); run() copies for callers that do not.
class ViewKernel final : public Kernel {
 public:
  explicit ViewKernel(size_t bytes) : bytes_(bytes) {}
  void run(const KernelArgs& args) override {
    if (bytes_ && args.outputs[0] != args.inputs[0]) {
      std::memcpy(args.outputs[0], args.inputs[0], bytes_);
    }
  }
  bool isView() const override { return true; }

 private:
  size_t bytes_;
};

}  // namespace detslim::movement
