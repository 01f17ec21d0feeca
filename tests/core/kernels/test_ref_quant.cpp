// Edge cases of the quantization reference kernels: DynamicQuantizeLinear on one-signed and
// all-zero input, rounding ties and saturation of QuantizeLinear, per-axis parameters.

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "ref_test_util.h"

namespace detslim {
namespace {

using testing::floats;
using testing::kKernelTestSeed;
using testing::makeNode;
using testing::makeTensor;
using testing::runOk;
using testing::runStatus;
using testing::values;

constexpr int64_t kOpset = 13;
// A quantize -> dequantize round trip is off by at most half a step of the scale, plus the
// float32 rounding of x / scale and (q - zero_point) * scale (well under 0.1 % of a step).
constexpr float kRoundTripSteps = 0.5f * 1.001f;

TEST(RefQuant, DynamicQuantizeLinearOnAllNegativeInput) {
  // max(0, max x) = 0, so the zero point is the top of the range and -4 maps to 0.
  const Tensor x = floats({4}, {-1.0f, -4.0f, -3.0f, -0.5f});
  const std::vector<Tensor> out = runOk(makeNode("DynamicQuantizeLinear", 1, 3), kOpset, {x});
  ASSERT_EQ(out.size(), 3u);
  const float scale = out[1].data<float>()[0];
  EXPECT_EQ(scale, 4.0f / 255.0f);
  EXPECT_EQ(out[2].data<uint8_t>()[0], 255);
  EXPECT_EQ(out[1].shape(), Shape{});
  EXPECT_EQ(out[2].shape(), Shape{});
  // y = 255 + round(x / scale): -1 -> 255 - 64 = 191 (x / scale = -63.75), -4 -> 0,
  // -3 -> 255 - 191 = 64 (-191.25), -0.5 -> 255 - 32 = 223 (-31.875).
  EXPECT_EQ(values<uint8_t>(out[0]), (std::vector<uint8_t>{191, 0, 64, 223}));
}

TEST(RefQuant, DynamicQuantizeLinearOnAllPositiveAndAllZeroInput) {
  const std::vector<Tensor> pos =
      runOk(makeNode("DynamicQuantizeLinear", 1, 3), kOpset, {floats({3}, {0.5f, 1.0f, 2.55f})});
  ASSERT_EQ(pos.size(), 3u);
  EXPECT_EQ(pos[2].data<uint8_t>()[0], 0);
  EXPECT_EQ(pos[0].data<uint8_t>()[2], 255);

  // scale would be 0 and the zero point 0 / 0; everything is exactly 0 instead.
  const std::vector<Tensor> zero =
      runOk(makeNode("DynamicQuantizeLinear", 1, 3), kOpset, {floats({2}, {0.0f, -0.0f})});
  ASSERT_EQ(zero.size(), 3u);
  EXPECT_EQ(zero[1].data<float>()[0], 0.0f);
  EXPECT_EQ(zero[2].data<uint8_t>()[0], 0);
  EXPECT_EQ(values<uint8_t>(zero[0]), (std::vector<uint8_t>{0, 0}));
}

TEST(RefQuant, QuantizeLinearRoundsHalfToEvenAndSaturates) {
  const Tensor x = floats({7}, {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 1000.0f, -1000.0f});
  const Tensor scale = floats({}, {1.0f});
  const Tensor zp = makeTensor<int8_t>(DType::kInt8, {}, {0});
  const std::vector<Tensor> out = runOk(makeNode("QuantizeLinear", 3), kOpset, {x, scale, zp});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].dtype(), DType::kInt8);
  EXPECT_EQ(values<int8_t>(out[0]), (std::vector<int8_t>{0, 2, 2, 0, -2, 127, -128}));

  // No zero point: uint8, zero point 0, negatives saturate to 0.
  const std::vector<Tensor> u8 = runOk(makeNode("QuantizeLinear", 2), kOpset, {x, scale});
  ASSERT_EQ(u8.size(), 1u);
  EXPECT_EQ(u8[0].dtype(), DType::kUInt8);
  EXPECT_EQ(values<uint8_t>(u8[0]), (std::vector<uint8_t>{0, 2, 2, 0, 0, 255, 0}));
}

TEST(RefQuant, PerAxisRoundTripStaysWithinHalfAStep) {
  std::mt19937 rng(kKernelTestSeed);
  const Tensor x = testing::randomFloats({2, 3, 5}, rng, -1.0f, 1.0f);
  const Tensor scale = floats({3}, {0.01f, 0.02f, 0.005f});
  const Tensor zp = makeTensor<uint8_t>(DType::kUInt8, {3}, {128, 100, 160});
  const std::vector<Tensor> q = runOk(makeNode("QuantizeLinear", 3), kOpset, {x, scale, zp});
  ASSERT_EQ(q.size(), 1u);
  const std::vector<Tensor> dq = runOk(makeNode("DequantizeLinear", 3), kOpset, {q[0], scale, zp});
  ASSERT_EQ(dq.size(), 1u);
  EXPECT_EQ(dq[0].dtype(), DType::kFloat32);
  const float scales[] = {0.01f, 0.02f, 0.005f};
  const int zero_points[] = {128, 100, 160};
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int64_t c = (i / 5) % 3;
    const float v = x.data<float>()[i];
    const float lo = (0 - zero_points[c]) * scales[c];
    const float hi = (255 - zero_points[c]) * scales[c];
    if (v < lo || v > hi) continue;  // saturated: no round-trip bound
    EXPECT_NEAR(dq[0].data<float>()[i], v, kRoundTripSteps * scales[c]) << "element " << i;
  }
}

TEST(RefQuant, DequantizeLinearInt32WithoutZeroPoint) {
  const Tensor x = makeTensor<int32_t>(DType::kInt32, {3}, {-1000, 0, 123456});
  const std::vector<Tensor> out =
      runOk(makeNode("DequantizeLinear", 2), kOpset, {x, floats({}, {0.5f})});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(values<float>(out[0]), (std::vector<float>{-500.0f, 0.0f, 61728.0f}));
}

TEST(RefQuant, PerAxisScaleMustMatchTheAxis) {
  const Tensor x = floats({2, 3}, {1, 2, 3, 4, 5, 6});
  const Status s = runStatus(makeNode("QuantizeLinear", 2), kOpset, {x, floats({2}, {1, 1})});
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(s.message().find("axis"), std::string::npos) << s.message();
  // Before opset 13 only per-tensor parameters exist.
  EXPECT_EQ(runStatus(makeNode("QuantizeLinear", 2), 10, {x, floats({3}, {1, 1, 1})}).code(),
            ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace detslim
