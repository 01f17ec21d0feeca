#pragma once
// Tensor: dtype + static shape + 64-byte aligned storage. Copies share storage (weights of a
// 30 MB model are not duplicated when a Graph is copied); call clone() before writing to data
// that another Tensor may share.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/base/dtype.h"

namespace detslim {

using Shape = std::vector<int64_t>;

// Number of elements of a shape; 1 for a scalar (empty shape). Negative dims count as 0.
int64_t shapeNumel(const Shape& shape);
// "[1, 3, 640, 640]"
std::string shapeToString(const Shape& shape);

class Tensor {
 public:
  static constexpr size_t kAlignment = 64;

  Tensor() = default;
  // Zero-filled tensor. Strings get numel empty strings.
  Tensor(DType dtype, Shape shape);

  template <class T>
  static Tensor fromVector(DType dtype, Shape shape, const std::vector<T>& values) {
    Tensor t(dtype, std::move(shape));
    if (!values.empty()) std::memcpy(t.rawMutable(), values.data(), std::min(t.bytes(), values.size() * sizeof(T)));
    return t;
  }

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t rank() const { return static_cast<int64_t>(shape_.size()); }
  int64_t numel() const { return shapeNumel(shape_); }
  // Storage bytes (0 for string tensors).
  size_t bytes() const { return bytes_; }
  bool empty() const { return numel() == 0; }
  bool defined() const { return dtype_ != DType::kUndefined; }

  const void* raw() const { return data_.get(); }
  void* rawMutable() { return data_.get(); }
  template <class T>
  const T* data() const { return static_cast<const T*>(raw()); }
  template <class T>
  T* mutableData() { return static_cast<T*>(rawMutable()); }
  template <class T>
  std::span<const T> span() const { return {data<T>(), static_cast<size_t>(numel())}; }
  std::span<const std::byte> byteSpan() const { return {static_cast<const std::byte*>(raw()), bytes_}; }

  std::vector<std::string>& strings() { return strings_; }
  const std::vector<std::string>& strings() const { return strings_; }

  // Deep copy with its own storage.
  Tensor clone() const;
  // Same storage, another shape with the same element count; refuses a count mismatch.
  bool reshapeInPlace(Shape shape);
  // True when two tensors share storage (a clone does not).
  bool sharesStorageWith(const Tensor& other) const { return data_ && data_ == other.data_; }

  // Element i as double / int64, whatever the dtype (for constant folding, stats, printing).
  double elementAsDouble(int64_t i) const;
  int64_t elementAsInt64(int64_t i) const;
  // All elements as int64 (shape tensors, axes, pads). Float dtypes are truncated.
  std::vector<int64_t> toInt64Vector() const;
  std::vector<float> toFloatVector() const;
  // Bitwise equality of dtype, shape and bytes (strings compared by value).
  bool bitwiseEqual(const Tensor& other) const;
  // Count of elements equal to zero (for sparsity); -0.0 counts as zero.
  int64_t countZeros() const;

 private:
  DType dtype_ = DType::kUndefined;
  Shape shape_;
  size_t bytes_ = 0;
  std::shared_ptr<std::byte[]> data_;
  std::vector<std::string> strings_;
};

}  // namespace detslim
