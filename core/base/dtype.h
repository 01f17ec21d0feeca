#pragma once
// Element types. The numeric values equal ONNX's TensorProto.DataType so files map 1:1,
// but nothing here depends on ONNX.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

namespace detslim {

enum class DType : int32_t {
  kUndefined = 0,
  kFloat32 = 1,
  kUInt8 = 2,
  kInt8 = 3,
  kUInt16 = 4,
  kInt16 = 5,
  kInt32 = 6,
  kInt64 = 7,
  kString = 8,
  kBool = 9,
  kFloat16 = 10,
  kFloat64 = 11,
  kUInt32 = 12,
  kUInt64 = 13,
  kComplex64 = 14,
  kComplex128 = 15,
  kBFloat16 = 16,
  kFloat8E4M3FN = 17,
  kFloat8E4M3FNUZ = 18,
  kFloat8E5M2 = 19,
  kFloat8E5M2FNUZ = 20,
};

// Bytes per element; 0 for kUndefined and kString (strings have no fixed size).
size_t dtypeSize(DType dtype);
// Lower-case short name as users see it: "float32", "float16", "bfloat16", "int8", ...
std::string_view dtypeName(DType dtype);
// Parses dtypeName() output and common aliases ("fp32", "fp16", "bf16", "f32").
std::optional<DType> parseDType(std::string_view name);
// True when the code is one of the enum's values.
bool isKnownDType(int32_t code);
bool isFloatingPoint(DType dtype);

// IEEE 754 binary16 <-> binary32. Exact for every half value; float -> half rounds to nearest even.
float halfToFloat(uint16_t h);
uint16_t floatToHalf(float f);
// bfloat16 <-> binary32. float -> bf16 rounds to nearest even; NaN stays NaN.
inline float bfloat16ToFloat(uint16_t b) {
  uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}
uint16_t floatToBFloat16(float f);

}  // namespace detslim
