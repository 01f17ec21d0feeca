#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include <gtest/gtest.h>

#include "core/base/dtype.h"

namespace detslim {
namespace {

constexpr int kHalfValueCount = 1 << 16;

float floatFromBits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

bool isHalfNaN(uint16_t h) {
  return (h & 0x7C00u) == 0x7C00u && (h & 0x03FFu) != 0;
}
bool isBFloat16NaN(uint16_t b) {
  return (b & 0x7F80u) == 0x7F80u && (b & 0x007Fu) != 0;
}

TEST(Half, RoundTripIsIdentityForEveryNonNaNValue) {
  for (int code = 0; code < kHalfValueCount; ++code) {
    const uint16_t h = static_cast<uint16_t>(code);
    const float f = halfToFloat(h);
    if (isHalfNaN(h)) {
      EXPECT_TRUE(std::isnan(f)) << std::hex << code;
      EXPECT_TRUE(isHalfNaN(floatToHalf(f))) << std::hex << code;
    } else {
      EXPECT_EQ(floatToHalf(f), h) << "half 0x" << std::hex << code << " -> " << f;
    }
  }
}

TEST(Half, DecodesKnownValues) {
  EXPECT_EQ(halfToFloat(0x3C00), 1.0f);
  EXPECT_EQ(halfToFloat(0xC000), -2.0f);
  EXPECT_EQ(halfToFloat(0x7BFF), 65504.0f);                         // largest finite half
  EXPECT_EQ(halfToFloat(0x0400), std::ldexp(1.0f, -14));            // smallest normal
  EXPECT_EQ(halfToFloat(0x0001), std::ldexp(1.0f, -24));            // smallest subnormal
  EXPECT_EQ(halfToFloat(0x03FF), 1023.0f * std::ldexp(1.0f, -24));  // largest subnormal
  EXPECT_EQ(halfToFloat(0x7C00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(halfToFloat(0xFC00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::signbit(halfToFloat(0x8000)));
  EXPECT_EQ(halfToFloat(0x8000), 0.0f);
}

TEST(Half, RoundsToNearestEven) {
  const float ulp_at_one = std::ldexp(1.0f, -10);
  // Exactly halfway between 1.0 (even mantissa) and 1 + ulp: stays on the even one.
  EXPECT_EQ(floatToHalf(1.0f + ulp_at_one / 2), 0x3C00);
  // Halfway between 1 + ulp (odd) and 1 + 2 ulp (even): goes up to the even one.
  EXPECT_EQ(floatToHalf(1.0f + 1.5f * ulp_at_one), 0x3C02);
  // Just above halfway rounds up.
  EXPECT_EQ(floatToHalf(1.0f + ulp_at_one / 2 + std::ldexp(1.0f, -20)), 0x3C01);
  // Just below halfway rounds down.
  EXPECT_EQ(floatToHalf(1.0f + ulp_at_one / 2 - std::ldexp(1.0f, -20)), 0x3C00);
  EXPECT_EQ(floatToHalf(-1.0f - 1.5f * ulp_at_one), 0xBC02);
}

TEST(Half, OverflowAndSpecials) {
  EXPECT_EQ(floatToHalf(65504.0f), 0x7BFF);
  EXPECT_EQ(floatToHalf(65519.0f), 0x7BFF);  // below the halfway point to 65536
  EXPECT_EQ(floatToHalf(65520.0f), 0x7C00);  // halfway; 0x7BFF is odd, so up to infinity
  EXPECT_EQ(floatToHalf(1e10f), 0x7C00);
  EXPECT_EQ(floatToHalf(-1e10f), 0xFC00);
  EXPECT_EQ(floatToHalf(std::numeric_limits<float>::infinity()), 0x7C00);
  EXPECT_TRUE(isHalfNaN(floatToHalf(std::numeric_limits<float>::quiet_NaN())));
  // A NaN whose payload sits only in the low float mantissa bits must not become infinity.
  EXPECT_TRUE(isHalfNaN(floatToHalf(floatFromBits(0x7F800001u))));
  EXPECT_EQ(floatToHalf(0.0f), 0x0000);
  EXPECT_EQ(floatToHalf(-0.0f), 0x8000);
}

TEST(Half, SubnormalRounding) {
  const float step = std::ldexp(1.0f, -24);  // one half subnormal step
  EXPECT_EQ(floatToHalf(step), 0x0001);
  EXPECT_EQ(floatToHalf(3 * step), 0x0003);
  EXPECT_EQ(floatToHalf(step / 2), 0x0000);            // halfway to 0: ties to even (0)
  EXPECT_EQ(floatToHalf(step / 2 * 1.0001f), 0x0001);  // just above halfway
  EXPECT_EQ(floatToHalf(1.5f * step), 0x0002);         // halfway between 1 and 2 -> 2
  EXPECT_EQ(floatToHalf(2.5f * step), 0x0002);         // halfway between 2 and 3 -> 2
  EXPECT_EQ(floatToHalf(1023.5f * step), 0x0400);      // rounds up into the normals
  EXPECT_EQ(floatToHalf(-step), 0x8001);
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -30)), 0x0000);  // far below: signed zero
  EXPECT_EQ(floatToHalf(-std::ldexp(1.0f, -30)), 0x8000);
}

TEST(BFloat16, RoundTripIsIdentityForEveryNonNaNValue) {
  for (int code = 0; code < kHalfValueCount; ++code) {
    const uint16_t b = static_cast<uint16_t>(code);
    const float f = bfloat16ToFloat(b);
    if (isBFloat16NaN(b)) {
      EXPECT_TRUE(isBFloat16NaN(floatToBFloat16(f))) << std::hex << code;
    } else {
      EXPECT_EQ(floatToBFloat16(f), b) << std::hex << code;
    }
  }
}

TEST(BFloat16, RoundsToNearestEven) {
  EXPECT_EQ(floatToBFloat16(1.0f), 0x3F80);
  EXPECT_EQ(floatToBFloat16(floatFromBits(0x3F808000u)), 0x3F80);  // tie, even stays
  EXPECT_EQ(floatToBFloat16(floatFromBits(0x3F818000u)), 0x3F82);  // tie, odd goes up
  EXPECT_EQ(floatToBFloat16(floatFromBits(0x3F808001u)), 0x3F81);  // above the tie
  EXPECT_EQ(floatToBFloat16(floatFromBits(0x3F807FFFu)), 0x3F80);  // below the tie
  EXPECT_EQ(floatToBFloat16(floatFromBits(0x7F7FFFFFu)), 0x7F80);  // FLT_MAX rounds to inf
  EXPECT_EQ(floatToBFloat16(-2.0f), 0xC000);
  // NaN stays NaN even when its payload would be rounded away.
  EXPECT_TRUE(isBFloat16NaN(floatToBFloat16(floatFromBits(0x7F800001u))));
  EXPECT_TRUE(isBFloat16NaN(floatToBFloat16(std::numeric_limits<float>::quiet_NaN())));
}

TEST(DType, NamesRoundTripThroughParse) {
  for (int32_t code = 0; code <= static_cast<int32_t>(DType::kFloat8E5M2FNUZ); ++code) {
    const DType dtype = static_cast<DType>(code);
    ASSERT_TRUE(isKnownDType(code));
    const auto parsed = parseDType(dtypeName(dtype));
    ASSERT_TRUE(parsed.has_value()) << dtypeName(dtype);
    EXPECT_EQ(*parsed, dtype);
  }
  EXPECT_FALSE(isKnownDType(-1));
  EXPECT_FALSE(isKnownDType(21));
}

TEST(DType, ParsesAliasesAndRefusesUnknownNames) {
  EXPECT_EQ(parseDType("fp32"), DType::kFloat32);
  EXPECT_EQ(parseDType("f32"), DType::kFloat32);
  EXPECT_EQ(parseDType("fp16"), DType::kFloat16);
  EXPECT_EQ(parseDType("half"), DType::kFloat16);
  EXPECT_EQ(parseDType("bf16"), DType::kBFloat16);
  EXPECT_EQ(parseDType("double"), DType::kFloat64);
  EXPECT_EQ(parseDType("int8"), DType::kInt8);
  EXPECT_EQ(parseDType("float33"), std::nullopt);
  EXPECT_EQ(parseDType(""), std::nullopt);
  EXPECT_EQ(parseDType("FLOAT32"), std::nullopt);  // names are lower-case
}

TEST(DType, SizesAndKinds) {
  EXPECT_EQ(dtypeSize(DType::kFloat32), 4u);
  EXPECT_EQ(dtypeSize(DType::kFloat16), 2u);
  EXPECT_EQ(dtypeSize(DType::kBFloat16), 2u);
  EXPECT_EQ(dtypeSize(DType::kInt64), 8u);
  EXPECT_EQ(dtypeSize(DType::kBool), 1u);
  EXPECT_EQ(dtypeSize(DType::kComplex128), 16u);
  EXPECT_EQ(dtypeSize(DType::kString), 0u);
  EXPECT_EQ(dtypeSize(DType::kUndefined), 0u);
  EXPECT_EQ(dtypeName(DType::kFloat32), "float32");
  EXPECT_EQ(dtypeName(DType::kBFloat16), "bfloat16");
  EXPECT_TRUE(isFloatingPoint(DType::kFloat16));
  EXPECT_TRUE(isFloatingPoint(DType::kBFloat16));
  EXPECT_FALSE(isFloatingPoint(DType::kInt32));
  EXPECT_FALSE(isFloatingPoint(DType::kBool));
}

}  // namespace
}  // namespace detslim
