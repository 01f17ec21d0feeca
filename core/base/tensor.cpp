#include "core/base/tensor.h"

#include <algorithm>
#include <cstring>
#include <new>

namespace detslim {

int64_t shapeNumel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= std::max<int64_t>(d, 0);
  return n;
}

std::string shapeToString(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

namespace {

std::shared_ptr<std::byte[]> allocateAligned(size_t bytes) {
  // Round up so vector kernels may read a full cache line past the last element.
  const size_t padded = (bytes + Tensor::kAlignment - 1) / Tensor::kAlignment * Tensor::kAlignment;
  auto* p = static_cast<std::byte*>(
      ::operator new[](std::max<size_t>(padded, Tensor::kAlignment), std::align_val_t{Tensor::kAlignment}));
  std::memset(p, 0, std::max<size_t>(padded, Tensor::kAlignment));
  return std::shared_ptr<std::byte[]>(
      p, [](std::byte* q) { ::operator delete[](q, std::align_val_t{Tensor::kAlignment}); });
}

}  // namespace

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  if (dtype_ == DType::kString) {
    strings_.resize(static_cast<size_t>(numel()));
    return;
  }
  bytes_ = static_cast<size_t>(numel()) * dtypeSize(dtype_);
  data_ = allocateAligned(bytes_);
}

Tensor Tensor::clone() const {
  Tensor t;
  t.dtype_ = dtype_;
  t.shape_ = shape_;
  t.bytes_ = bytes_;
  t.strings_ = strings_;
  if (data_) {
    t.data_ = allocateAligned(bytes_);
    std::memcpy(t.data_.get(), data_.get(), bytes_);
  }
  return t;
}

bool Tensor::reshapeInPlace(Shape shape) {
  if (shapeNumel(shape) != numel()) return false;
  shape_ = std::move(shape);
  return true;
}

double Tensor::elementAsDouble(int64_t i) const {
  const auto* p = static_cast<const std::byte*>(raw());
  switch (dtype_) {
    case DType::kFloat32: return reinterpret_cast<const float*>(p)[i];
    case DType::kFloat64: return reinterpret_cast<const double*>(p)[i];
    case DType::kFloat16: return halfToFloat(reinterpret_cast<const uint16_t*>(p)[i]);
    case DType::kBFloat16: return bfloat16ToFloat(reinterpret_cast<const uint16_t*>(p)[i]);
    case DType::kInt8: return reinterpret_cast<const int8_t*>(p)[i];
    case DType::kUInt8: return reinterpret_cast<const uint8_t*>(p)[i];
    case DType::kBool: return reinterpret_cast<const uint8_t*>(p)[i] != 0 ? 1.0 : 0.0;
    case DType::kInt16: return reinterpret_cast<const int16_t*>(p)[i];
    case DType::kUInt16: return reinterpret_cast<const uint16_t*>(p)[i];
    case DType::kInt32: return reinterpret_cast<const int32_t*>(p)[i];
    case DType::kUInt32: return reinterpret_cast<const uint32_t*>(p)[i];
    case DType::kInt64: return static_cast<double>(reinterpret_cast<const int64_t*>(p)[i]);
    case DType::kUInt64: return static_cast<double>(reinterpret_cast<const uint64_t*>(p)[i]);
    default: return 0.0;
  }
}

int64_t Tensor::elementAsInt64(int64_t i) const {
  const auto* p = static_cast<const std::byte*>(raw());
  switch (dtype_) {
    case DType::kInt64: return reinterpret_cast<const int64_t*>(p)[i];
    case DType::kUInt64: return static_cast<int64_t>(reinterpret_cast<const uint64_t*>(p)[i]);
    case DType::kInt32: return reinterpret_cast<const int32_t*>(p)[i];
    case DType::kUInt32: return reinterpret_cast<const uint32_t*>(p)[i];
    default: return static_cast<int64_t>(elementAsDouble(i));
  }
}

std::vector<int64_t> Tensor::toInt64Vector() const {
  std::vector<int64_t> v(static_cast<size_t>(numel()));
  for (int64_t i = 0; i < numel(); ++i) v[static_cast<size_t>(i)] = elementAsInt64(i);
  return v;
}

std::vector<float> Tensor::toFloatVector() const {
  std::vector<float> v(static_cast<size_t>(numel()));
  for (int64_t i = 0; i < numel(); ++i) v[static_cast<size_t>(i)] = static_cast<float>(elementAsDouble(i));
  return v;
}

bool Tensor::bitwiseEqual(const Tensor& other) const {
  if (dtype_ != other.dtype_ || shape_ != other.shape_ || bytes_ != other.bytes_) return false;
  if (dtype_ == DType::kString) return strings_ == other.strings_;
  return bytes_ == 0 || std::memcmp(raw(), other.raw(), bytes_) == 0;
}

int64_t Tensor::countZeros() const {
  if (dtype_ == DType::kString || !data_) return 0;
  const int64_t n = numel();
  int64_t zeros = 0;
  if (dtype_ == DType::kFloat32) {
    for (float v : span<float>()) zeros += (v == 0.0f);
    return zeros;
  }
  for (int64_t i = 0; i < n; ++i) zeros += (elementAsDouble(i) == 0.0);
  return zeros;
}

}  // namespace detslim
