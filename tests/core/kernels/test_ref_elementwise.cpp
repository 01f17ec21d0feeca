// Edge cases of the elementwise and activation reference kernels that ONNX's conformance data
// does not cover: odd broadcast shapes, NaN propagation, integer wrap and division, mixed-type
// Pow, Cast's float -> int rules, Clip's two forms, refusals.

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "core/base/dtype.h"
#include "ref_test_util.h"

namespace detslim {
namespace {

using testing::floats;
using testing::int64s;
using testing::kKernelTestSeed;
using testing::makeNode;
using testing::makeTensor;
using testing::runOk;
using testing::runStatus;
using testing::values;

constexpr int64_t kOpset = 17;
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// Add / Mul of floats computed in float32 on both sides: the kernel must be bit-exact.
constexpr float kExactTolerance = 0.0f;
// Activations in float32 vs a double-precision formula on inputs in [-8, 8]: two float32 ulps
// of the largest output (ulp(8) = 9.5e-7).
constexpr float kTranscendentalTolerance = 2e-6f;

TEST(RefElementwise, AddBroadcastsOddShapes) {
  // 13x1x7 + 1x5x1 -> 13x5x7: both inputs broadcast, along different dims.
  std::mt19937 rng(kKernelTestSeed);
  const Tensor a = testing::randomFloats({13, 1, 7}, rng, -1.0f, 1.0f);
  const Tensor b = testing::randomFloats({1, 5, 1}, rng, -1.0f, 1.0f);
  const std::vector<Tensor> out = runOk(makeNode("Add", 2), kOpset, {a, b});
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].shape(), (Shape{13, 5, 7}));
  for (int64_t i = 0; i < 13; ++i) {
    for (int64_t j = 0; j < 5; ++j) {
      for (int64_t k = 0; k < 7; ++k) {
        const float expected = a.data<float>()[i * 7 + k] + b.data<float>()[j];
        EXPECT_NEAR(out[0].data<float>()[(i * 5 + j) * 7 + k], expected, kExactTolerance);
      }
    }
  }
}

TEST(RefElementwise, WhereBroadcastsThreeWays) {
  // cond 1x5x1, x 13x1x7, y scalar -> 13x5x7.
  std::mt19937 rng(kKernelTestSeed);
  std::vector<uint8_t> cond_values = {1, 0, 0, 1, 1};
  const Tensor cond = makeTensor(DType::kBool, {1, 5, 1}, cond_values);
  const Tensor x = testing::randomFloats({13, 1, 7}, rng, -1.0f, 1.0f);
  const Tensor y = floats({}, {42.0f});
  const std::vector<Tensor> out = runOk(makeNode("Where", 3), kOpset, {cond, x, y});
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].shape(), (Shape{13, 5, 7}));
  for (int64_t i = 0; i < 13; ++i) {
    for (int64_t j = 0; j < 5; ++j) {
      for (int64_t k = 0; k < 7; ++k) {
        const float expected = cond_values[j] ? x.data<float>()[i * 7 + k] : 42.0f;
        EXPECT_EQ(out[0].data<float>()[(i * 5 + j) * 7 + k], expected);
      }
    }
  }
}

TEST(RefElementwise, IncompatibleShapesAreRefusedWithTheShapes) {
  const Status s = runStatus(makeNode("Mul", 2), kOpset,
                             {floats({2, 3}, {1, 2, 3, 4, 5, 6}), floats({2}, {1, 2})});
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(s.message().find("[2, 3]"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("test_Mul"), std::string::npos) << s.message();
}

TEST(RefElementwise, MaxMinPropagateNaN) {
  // numpy maximum / minimum semantics: a NaN on either side wins.
  const Tensor a = floats({4}, {1.0f, kNaN, 3.0f, -kInf});
  const Tensor b = floats({4}, {kNaN, 2.0f, 1.0f, 0.0f});
  const std::vector<Tensor> max = runOk(makeNode("Max", 2), kOpset, {a, b});
  const std::vector<Tensor> min = runOk(makeNode("Min", 2), kOpset, {a, b});
  ASSERT_EQ(max.size(), 1u);
  ASSERT_EQ(min.size(), 1u);
  const std::vector<float> mx = values<float>(max[0]);
  const std::vector<float> mn = values<float>(min[0]);
  EXPECT_TRUE(std::isnan(mx[0]));
  EXPECT_TRUE(std::isnan(mx[1]));
  EXPECT_EQ(mx[2], 3.0f);
  EXPECT_EQ(mx[3], 0.0f);
  EXPECT_TRUE(std::isnan(mn[0]));
  EXPECT_TRUE(std::isnan(mn[1]));
  EXPECT_EQ(mn[2], 1.0f);
  EXPECT_EQ(mn[3], -kInf);
}

TEST(RefElementwise, MaxIsVariadicWithBroadcasting) {
  const Tensor a = floats({2, 1}, {1.0f, 5.0f});
  const Tensor b = floats({3}, {0.0f, 2.0f, 9.0f});
  const Tensor c = floats({}, {4.0f});
  const std::vector<Tensor> out = runOk(makeNode("Max", 3), kOpset, {a, b, c});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].shape(), (Shape{2, 3}));
  EXPECT_EQ(values<float>(out[0]), (std::vector<float>{4, 4, 9, 5, 5, 9}));
}

TEST(RefElementwise, IntegerDivTruncatesTowardZero) {
  const int32_t lowest = std::numeric_limits<int32_t>::lowest();
  const Tensor a = makeTensor<int32_t>(DType::kInt32, {5}, {-7, 7, 7, 5, lowest});
  const Tensor b = makeTensor<int32_t>(DType::kInt32, {5}, {2, -2, 2, 0, -1});
  const std::vector<Tensor> out = runOk(makeNode("Div", 2), kOpset, {a, b});
  ASSERT_EQ(out.size(), 1u);
  // x / 0 is numpy's 0; lowest / -1 wraps to lowest instead of trapping.
  EXPECT_EQ(values<int32_t>(out[0]), (std::vector<int32_t>{-3, -3, 3, 0, lowest}));
}

TEST(RefElementwise, SmallIntegerArithmeticWraps) {
  const Tensor a = makeTensor<int8_t>(DType::kInt8, {3}, {127, -128, 100});
  const Tensor b = makeTensor<int8_t>(DType::kInt8, {3}, {1, 1, 2});
  const std::vector<Tensor> sum = runOk(makeNode("Add", 2), kOpset, {a, b});
  const std::vector<Tensor> diff = runOk(makeNode("Sub", 2), kOpset, {a, b});
  const std::vector<Tensor> prod = runOk(makeNode("Mul", 2), kOpset, {a, b});
  ASSERT_EQ(sum.size(), 1u);
  EXPECT_EQ(values<int8_t>(sum[0]), (std::vector<int8_t>{-128, -127, 102}));
  EXPECT_EQ(values<int8_t>(diff[0]), (std::vector<int8_t>{126, 127, 98}));
  EXPECT_EQ(values<int8_t>(prod[0]), (std::vector<int8_t>{127, -128, -56}));
}

TEST(RefElementwise, PowTakesAnExponentOfAnotherType) {
  const Tensor base = floats({3}, {2.0f, 4.0f, -2.0f});
  const Tensor exponent = int64s({3}, {3, -1, 2});
  const std::vector<Tensor> out = runOk(makeNode("Pow", 2), kOpset, {base, exponent});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].dtype(), DType::kFloat32);
  EXPECT_EQ(values<float>(out[0]), (std::vector<float>{8.0f, 0.25f, 4.0f}));

  // An integer base keeps its dtype; a fractional result truncates (numpy's astype).
  const Tensor int_base = makeTensor<int32_t>(DType::kInt32, {3}, {2, 3, 10});
  const Tensor float_exponent = floats({3}, {0.5f, 2.0f, -1.0f});
  const std::vector<Tensor> mixed = runOk(makeNode("Pow", 2), kOpset, {int_base, float_exponent});
  ASSERT_EQ(mixed.size(), 1u);
  EXPECT_EQ(mixed[0].dtype(), DType::kInt32);
  EXPECT_EQ(values<int32_t>(mixed[0]), (std::vector<int32_t>{1, 9, 0}));

  // Integer ^ integer is exact beyond float precision.
  const Tensor big = int64s({1}, {3});
  const std::vector<Tensor> exact = runOk(makeNode("Pow", 2), kOpset, {big, int64s({1}, {39})});
  ASSERT_EQ(exact.size(), 1u);
  EXPECT_EQ(values<int64_t>(exact[0])[0], 4052555153018976267LL);
}

TEST(RefElementwise, CastFloatToIntTruncatesTowardZeroAndSaturates) {
  const Tensor x = floats({6}, {2.7f, -2.7f, kNaN, 1e20f, -1e20f, -0.5f});
  Node cast =
      makeNode("Cast", 1, 1, {Attribute::makeInt("to", static_cast<int64_t>(DType::kInt32))});
  const std::vector<Tensor> out = runOk(cast, kOpset, {x});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].dtype(), DType::kInt32);
  // NaN and out-of-range values are undefined in ONNX; the reference pins them: NaN -> 0,
  // saturation at the type's limits.
  EXPECT_EQ(values<int32_t>(out[0]),
            (std::vector<int32_t>{2, -2, 0, std::numeric_limits<int32_t>::max(),
                                  std::numeric_limits<int32_t>::lowest(), 0}));
}

TEST(RefElementwise, CastToAndFromBoolAndHalfTypes) {
  const Tensor x = floats({4}, {0.0f, -0.0f, kNaN, 0.25f});
  Node to_bool =
      makeNode("Cast", 1, 1, {Attribute::makeInt("to", static_cast<int64_t>(DType::kBool))});
  const std::vector<Tensor> b = runOk(to_bool, kOpset, {x});
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(values<uint8_t>(b[0]), (std::vector<uint8_t>{0, 0, 1, 1}));

  Node to_float =
      makeNode("Cast", 1, 1, {Attribute::makeInt("to", static_cast<int64_t>(DType::kFloat32))});
  const std::vector<Tensor> f = runOk(to_float, kOpset, {b[0]});
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(values<float>(f[0]), (std::vector<float>{0, 0, 1, 1}));

  // 1 + 2^-11 is halfway between two float16 values: round to even gives 1.
  const Tensor tie = floats({2}, {1.0f + 0x1p-11f, 1.0f + 3 * 0x1p-11f});
  Node to_half =
      makeNode("Cast", 1, 1, {Attribute::makeInt("to", static_cast<int64_t>(DType::kFloat16))});
  const std::vector<Tensor> h = runOk(to_half, kOpset, {tie});
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(halfToFloat(h[0].data<uint16_t>()[0]), 1.0f);
  EXPECT_EQ(halfToFloat(h[0].data<uint16_t>()[1]), 1.0f + 4 * 0x1p-11f);

  Node to_bf16 =
      makeNode("Cast", 1, 1, {Attribute::makeInt("to", static_cast<int64_t>(DType::kBFloat16))});
  const std::vector<Tensor> bf = runOk(to_bf16, kOpset, {h[0]});
  ASSERT_EQ(bf.size(), 1u);
  EXPECT_EQ(bfloat16ToFloat(bf[0].data<uint16_t>()[0]), 1.0f);
}

TEST(RefElementwise, CastToStringIsUnsupported) {
  Node cast =
      makeNode("Cast", 1, 1, {Attribute::makeInt("to", static_cast<int64_t>(DType::kString))});
  EXPECT_EQ(runStatus(cast, kOpset, {floats({1}, {1.0f})}).code(), ErrorCode::kUnsupported);
}

TEST(RefElementwise, ClipAttributeAndInputForms) {
  const Tensor x = floats({5}, {-kInf, -2.0f, 0.5f, 3.0f, kNaN});
  Node clip6 = makeNode("Clip", 1, 1,
                        {Attribute::makeFloat("min", -1.0f), Attribute::makeFloat("max", 1.0f)});
  const std::vector<Tensor> a = runOk(clip6, 6, {x});
  ASSERT_EQ(a.size(), 1u);
  const std::vector<float> av = values<float>(a[0]);
  EXPECT_EQ(av[0], -1.0f);
  EXPECT_EQ(av[1], -1.0f);
  EXPECT_EQ(av[2], 0.5f);
  EXPECT_EQ(av[3], 1.0f);
  EXPECT_TRUE(std::isnan(av[4]));

  // Opset 13, only max given: -inf is left alone (no implicit lowest() bound).
  Node clip13 = makeNode("Clip", 3);
  clip13.inputs[1] = "";
  const std::vector<Tensor> b = runOk(clip13, 13, {x, Tensor(), floats({}, {1.0f})});
  ASSERT_EQ(b.size(), 1u);
  const std::vector<float> bv = values<float>(b[0]);
  EXPECT_EQ(bv[0], -kInf);
  EXPECT_EQ(bv[1], -2.0f);
  EXPECT_EQ(bv[3], 1.0f);

  // min > max: every value becomes max (Clip-13's rule).
  const std::vector<Tensor> c =
      runOk(makeNode("Clip", 3), 13, {x, floats({}, {2.0f}), floats({}, {1.0f})});
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(values<float>(c[0])[2], 1.0f);

  // Integer Clip (opset 12+).
  const Tensor xi = makeTensor<int8_t>(DType::kInt8, {3}, {-100, 5, 100});
  const std::vector<Tensor> d = runOk(makeNode("Clip", 3), 13,
                                      {xi, makeTensor<int8_t>(DType::kInt8, {}, {-10}),
                                       makeTensor<int8_t>(DType::kInt8, {}, {10})});
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(values<int8_t>(d[0]), (std::vector<int8_t>{-10, 5, 10}));
}

TEST(RefElementwise, ActivationsMatchDoubleFormulas) {
  std::mt19937 rng(kKernelTestSeed);
  const Tensor x = testing::randomFloats({127}, rng, -8.0f, 8.0f);
  const std::vector<Tensor> sigmoid = runOk(makeNode("Sigmoid", 1), kOpset, {x});
  const std::vector<Tensor> tanh = runOk(makeNode("Tanh", 1), kOpset, {x});
  const std::vector<Tensor> hswish = runOk(makeNode("HardSwish", 1), kOpset, {x});
  Node leaky = makeNode("LeakyRelu", 1, 1, {Attribute::makeFloat("alpha", 0.1f)});
  const std::vector<Tensor> lrelu = runOk(leaky, kOpset, {x});
  ASSERT_EQ(sigmoid.size(), 1u);
  ASSERT_EQ(tanh.size(), 1u);
  ASSERT_EQ(hswish.size(), 1u);
  ASSERT_EQ(lrelu.size(), 1u);
  for (int64_t i = 0; i < x.numel(); ++i) {
    const double v = x.data<float>()[i];
    EXPECT_NEAR(sigmoid[0].data<float>()[i], 1.0 / (1.0 + std::exp(-v)), kTranscendentalTolerance);
    EXPECT_NEAR(tanh[0].data<float>()[i], std::tanh(v), kTranscendentalTolerance);
    EXPECT_NEAR(hswish[0].data<float>()[i], v * std::clamp(v / 6.0 + 0.5, 0.0, 1.0),
                kTranscendentalTolerance);
    EXPECT_NEAR(lrelu[0].data<float>()[i], v < 0 ? 0.1 * v : v, kTranscendentalTolerance);
  }
}

TEST(RefElementwise, PReluSlopeBroadcastsUnidirectionally) {
  const Tensor x = floats({2, 3}, {-1, 2, -3, 4, -5, 6});
  const Tensor slope = floats({3}, {0.5f, 1.0f, 2.0f});
  const std::vector<Tensor> out = runOk(makeNode("PRelu", 2), kOpset, {x, slope});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(values<float>(out[0]), (std::vector<float>{-0.5f, 2, -6, 4, -5, 6}));
  // A slope that would grow X is refused (broadcasting is one-way).
  EXPECT_EQ(runStatus(makeNode("PRelu", 2), kOpset, {floats({3}, {1, 2, 3}), x}).code(),
            ErrorCode::kInvalidArgument);
}

TEST(RefElementwise, Float16ArithmeticRoundsOnce) {
  auto half = [](std::vector<float> v) {
    std::vector<uint16_t> bits;
    for (float f : v) bits.push_back(floatToHalf(f));
    return makeTensor<uint16_t>(DType::kFloat16, {static_cast<int64_t>(v.size())}, bits);
  };
  // 2048 + 1 is not a float16 (spacing 2 there): computed in float, rounded to even -> 2048.
  const std::vector<Tensor> out =
      runOk(makeNode("Add", 2), kOpset, {half({2048.0f, 0.5f}), half({1.0f, 0.25f})});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].dtype(), DType::kFloat16);
  EXPECT_EQ(halfToFloat(out[0].data<uint16_t>()[0]), 2048.0f);
  EXPECT_EQ(halfToFloat(out[0].data<uint16_t>()[1]), 0.75f);
}

TEST(RefElementwise, BatchNormalizationRefusesTrainingMode) {
  const Tensor x = floats({1, 2, 1, 1}, {1.0f, 2.0f});
  const Tensor p = floats({2}, {1.0f, 1.0f});
  Node training = makeNode("BatchNormalization", 5, 1, {Attribute::makeInt("training_mode", 1)});
  const Status s = runStatus(training, 15, {x, p, p, p, p});
  EXPECT_EQ(s.code(), ErrorCode::kUnsupported);
  EXPECT_NE(s.message().find("training"), std::string::npos) << s.message();
  // Opset 9's optional outputs are training statistics too.
  EXPECT_EQ(runStatus(makeNode("BatchNormalization", 5, 3), 9, {x, p, p, p, p}).code(),
            ErrorCode::kUnsupported);
}

TEST(RefElementwise, BatchNormalizationMatchesFormula) {
  const Tensor x = floats({2, 2, 1, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  const Tensor scale = floats({2}, {2.0f, 0.5f});
  const Tensor bias = floats({2}, {1.0f, -1.0f});
  const Tensor mean = floats({2}, {1.0f, 2.0f});
  const Tensor var = floats({2}, {4.0f, 1.0f});
  Node bn = makeNode("BatchNormalization", 5, 1, {Attribute::makeFloat("epsilon", 0.0f)});
  const std::vector<Tensor> out = runOk(bn, 15, {x, scale, bias, mean, var});
  ASSERT_EQ(out.size(), 1u);
  // channel 0: (x - 1) / 2 * 2 + 1 = x; channel 1: (x - 2) * 0.5 - 1.
  EXPECT_EQ(values<float>(out[0]), (std::vector<float>{1, 2, -0.5f, 0, 5, 6, 1.5f, 2}));
}

}  // namespace
}  // namespace detslim
