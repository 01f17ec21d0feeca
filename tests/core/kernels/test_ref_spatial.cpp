// Reference Conv, FusedConv, ConvTranspose, ConvInteger, QLinearConv and pooling kernels:
// hand-computed cases, and odd-sized random cases (13 channels, 7 x 9 images) against direct
// transcriptions of the ONNX definitions written with per-tap bounds checks, in double.

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/kernels/ref_test_util.h"

namespace detslim {
namespace {

using testing::floats;
using testing::kKernelTestSeed;
using testing::makeNode;
using testing::makeTensor;
using testing::randomFloats;
using testing::runOk;
using testing::runStatus;
using testing::values;

constexpr int64_t kOpset = 17;

// Hand-computed cases have small integer values that float32 sums exactly.
constexpr float kExact = 0.0f;
// The kernel accumulates float32 products of values in [-1, 1]; the oracle sums in double. With
// up to 13 * 27 = 351 terms the rounding error grows like sqrt(n) * 6e-8 * |partial sums| (a few
// 1e-6); 1e-4 leaves a wide margin yet catches any wrong or missing tap (>= 1e-3 here).
constexpr double kConvTolerance = 1e-4;
// FusedConv runs the same convolution as Conv (bit-identical pre-activation values), then float32
// exp / tanh; the test applies the activation in double: a few ulps of outputs below ~20.
constexpr double kActivationTolerance = 1e-5;

Attribute ints(const char* name, std::vector<int64_t> v) {
  return Attribute::makeInts(name, std::move(v));
}

// ---- Oracles ---------------------------------------------------------------------------------

// Spatial dims of a N x C x ... shape right-aligned into three (leading 1s).
std::array<int64_t, 3> spatial3(const Shape& s) {
  std::array<int64_t, 3> d{1, 1, 1};
  for (size_t i = 2; i < s.size(); ++i) d[3 - (s.size() - i)] = s[i];
  return d;
}

std::array<int64_t, 3> attr3(const std::vector<int64_t>& v, size_t offset, size_t rank,
                             int64_t def) {
  std::array<int64_t, 3> a{def, def, def};
  for (size_t i = 0; i < rank; ++i) a[3 - rank + i] = v.empty() ? def : v[offset + i];
  return a;
}

struct ConvAttrs {
  int64_t group = 1;
  std::vector<int64_t> strides;    // empty: 1
  std::vector<int64_t> dilations;  // empty: 1
  std::vector<int64_t> pads;       // begin..., end...; empty: 0
};

std::vector<Attribute> convAttributes(const ConvAttrs& a) {
  std::vector<Attribute> attrs{Attribute::makeInt("group", a.group)};
  if (!a.strides.empty()) attrs.push_back(ints("strides", a.strides));
  if (!a.dilations.empty()) attrs.push_back(ints("dilations", a.dilations));
  if (!a.pads.empty()) attrs.push_back(ints("pads", a.pads));
  return attrs;
}

// ONNX Conv by definition: y[n, m, o] = b[m] + sum over c, k of x[n, c, o * s - p + k * d] * w.
std::vector<double> naiveConv(const Tensor& x, const Tensor& w, const Tensor* b, const ConvAttrs& a,
                              const Shape& y_shape) {
  const size_t rank = x.shape().size() - 2;
  const auto in = spatial3(x.shape());
  const auto out = spatial3(y_shape);
  const auto ker = spatial3(w.shape());
  const auto s = attr3(a.strides, 0, rank, 1);
  const auto d = attr3(a.dilations, 0, rank, 1);
  const auto p = attr3(a.pads, 0, rank, 0);
  const int64_t channels = x.shape()[1];
  const int64_t maps = w.shape()[0];
  const int64_t cg = channels / a.group;
  const int64_t mg = maps / a.group;
  std::vector<double> y;
  for (int64_t n = 0; n < x.shape()[0]; ++n) {
    for (int64_t m = 0; m < maps; ++m) {
      for (int64_t o0 = 0; o0 < out[0]; ++o0) {
        for (int64_t o1 = 0; o1 < out[1]; ++o1) {
          for (int64_t o2 = 0; o2 < out[2]; ++o2) {
            double sum = b ? b->data<float>()[m] : 0.0;
            for (int64_t c = 0; c < cg; ++c) {
              for (int64_t k0 = 0; k0 < ker[0]; ++k0) {
                for (int64_t k1 = 0; k1 < ker[1]; ++k1) {
                  for (int64_t k2 = 0; k2 < ker[2]; ++k2) {
                    const int64_t i0 = o0 * s[0] - p[0] + k0 * d[0];
                    const int64_t i1 = o1 * s[1] - p[1] + k1 * d[1];
                    const int64_t i2 = o2 * s[2] - p[2] + k2 * d[2];
                    if (i0 < 0 || i0 >= in[0] || i1 < 0 || i1 >= in[1] || i2 < 0 || i2 >= in[2]) {
                      continue;
                    }
                    const int64_t xc = (m / mg) * cg + c;
                    const float xv =
                        x.data<float>()[(((n * channels + xc) * in[0] + i0) * in[1] + i1) * in[2] +
                                        i2];
                    const float wv =
                        w.data<float>()[(((m * cg + c) * ker[0] + k0) * ker[1] + k1) * ker[2] + k2];
                    sum += static_cast<double>(xv) * wv;
                  }
                }
              }
            }
            y.push_back(sum);
          }
        }
      }
    }
  }
  return y;
}

void expectNear(const Tensor& actual, const std::vector<double>& expected, double tolerance) {
  ASSERT_EQ(static_cast<size_t>(actual.numel()), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    ASSERT_NEAR(actual.elementAsDouble(static_cast<int64_t>(i)), expected[i], tolerance)
        << "at flat index " << i;
  }
}

// Runs Conv and compares it with the oracle; returns the output.
Tensor checkConv(const Shape& x_shape, const Shape& w_shape, bool bias, const ConvAttrs& a,
                 const Shape& want_shape) {
  std::mt19937 rng(kKernelTestSeed);
  const Tensor x = randomFloats(x_shape, rng, -1.0f, 1.0f);
  const Tensor w = randomFloats(w_shape, rng, -1.0f, 1.0f);
  const Tensor b = randomFloats({w_shape[0]}, rng, -1.0f, 1.0f);
  std::vector<Tensor> inputs{x, w};
  if (bias) inputs.push_back(b);
  const std::vector<Tensor> out =
      runOk(makeNode("Conv", inputs.size(), 1, convAttributes(a)), kOpset, inputs);
  if (out.empty()) return {};
  EXPECT_EQ(out[0].shape(), want_shape);
  if (out[0].shape() == want_shape) {
    expectNear(out[0], naiveConv(x, w, bias ? &b : nullptr, a, want_shape), kConvTolerance);
  }
  return out[0];
}

// ---- Conv --------------------------------------------------------------------------------------

TEST(RefConv, MatchesTheOnnxDocumentationExample) {
  // ONNX's Conv example: 5x5 input 0..24, 3x3 kernel of ones, pads 1 -> 5x5 window sums.
  std::vector<float> x_values(25);
  for (int i = 0; i < 25; ++i) x_values[static_cast<size_t>(i)] = static_cast<float>(i);
  const Tensor x = floats({1, 1, 5, 5}, x_values);
  const Tensor w = floats({1, 1, 3, 3}, std::vector<float>(9, 1.0f));
  const Tensor b = floats({1}, {0.5f});
  const std::vector<Tensor> padded =
      runOk(makeNode("Conv", 3, 1, {ints("pads", {1, 1, 1, 1})}), kOpset, {x, w, b});
  ASSERT_EQ(padded.size(), 1u);
  const std::vector<float> want = {12,  21, 27, 33,  24,  33,  54,  63, 72,  51,  63,  99, 108,
                                   117, 81, 93, 144, 153, 162, 111, 72, 111, 117, 123, 84};
  ASSERT_EQ(padded[0].shape(), (Shape{1, 1, 5, 5}));
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_NEAR(padded[0].data<float>()[i], want[i] + 0.5f, kExact) << i;
  }
  // Strides 2 keep every other window: rows / columns 0, 2, 4 of the result above.
  const std::vector<Tensor> strided =
      runOk(makeNode("Conv", 2, 1, {ints("pads", {1, 1, 1, 1}), ints("strides", {2, 2})}), kOpset,
            {x, w});
  ASSERT_EQ(strided.size(), 1u);
  EXPECT_EQ(values<float>(strided[0]), (std::vector<float>{12, 27, 24, 63, 108, 81, 72, 117, 84}));
}

TEST(RefConv, AsymmetricPadsByHand) {
  // 1x1x3x3 input 1..9, 2x2 kernel [[1, 2], [3, 4]], pads top 1, left 0, bottom 0, right 1:
  // the padded image is [[0 0 0 0], [1 2 3 0], [4 5 6 0], [7 8 9 0]] -> 3x3 output.
  const Tensor x = floats({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  const Tensor w = floats({1, 1, 2, 2}, {1, 2, 3, 4});
  const std::vector<Tensor> out =
      runOk(makeNode("Conv", 2, 1, {ints("pads", {1, 0, 0, 1})}), kOpset, {x, w});
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].shape(), (Shape{1, 1, 3, 3}));
  // Row 0 sees padding above: 3*1 + 4*2 = 11, 3*2 + 4*3 = 18, 3*3 + 4*0 = 9.
  // Row 1: 1*1 + 2*2 + 3*4 + 4*5 = 37, 47, 1*3 + 3*6 = 21. Row 2: 67, 77, 33.
  EXPECT_EQ(values<float>(out[0]), (std::vector<float>{11, 18, 9, 37, 47, 21, 67, 77, 33}));
}

TEST(RefConv, OddSizesWithStridesDilationsAndAsymmetricPads) {
  ConvAttrs a;
  a.strides = {2, 1};
  a.dilations = {1, 2};
  a.pads = {0, 2, 1, 1};
  // H: (7 + 0 + 1 - 3) / 2 + 1 = 3; W: (9 + 2 + 1 - 5) / 1 + 1 = 8.
  checkConv({2, 13, 7, 9}, {5, 13, 3, 3}, true, a, {2, 5, 3, 8});
}

TEST(RefConv, DepthwiseThirteenChannels) {
  ConvAttrs a;
  a.group = 13;
  a.pads = {1, 1, 1, 1};
  checkConv({1, 13, 7, 9}, {13, 1, 3, 3}, true, a, {1, 13, 7, 9});
}

TEST(RefConv, GroupedWithSeveralMapsPerGroup) {
  // 26 input channels in 13 groups of 2, 39 maps (3 per group), stride 2.
  ConvAttrs a;
  a.group = 13;
  a.strides = {2, 2};
  a.pads = {1, 0, 1, 0};
  checkConv({1, 26, 7, 9}, {39, 2, 3, 2}, true, a, {1, 39, 4, 4});
}

TEST(RefConv, OneAndThreeSpatialDims) {
  ConvAttrs one;
  one.strides = {3};
  one.pads = {2, 1};
  checkConv({2, 13, 23}, {4, 13, 5}, true, one, {2, 4, 8});
  ConvAttrs three;
  three.pads = {1, 0, 1, 0, 1, 1};
  three.dilations = {2, 1, 1};
  checkConv({1, 3, 5, 7, 9}, {2, 3, 2, 3, 3}, false, three, {1, 2, 4, 6, 9});
}

TEST(RefConv, AutoPadSameUpperAndLowerPlaceTheOddPad) {
  // 7x9, kernel 4, stride 2: out 4x5, total pad (4-1)*2 + 4 - 7 = 3 rows, (5-1)*2 + 4 - 9 = 3
  // columns. SAME_UPPER pads 1 before / 2 after, SAME_LOWER 2 before / 1 after.
  for (const char* mode : {"SAME_UPPER", "SAME_LOWER"}) {
    std::mt19937 rng(kKernelTestSeed);
    const Tensor x = randomFloats({1, 13, 7, 9}, rng, -1.0f, 1.0f);
    const Tensor w = randomFloats({3, 13, 4, 4}, rng, -1.0f, 1.0f);
    const std::vector<Tensor> out = runOk(
        makeNode("Conv", 2, 1, {Attribute::makeString("auto_pad", mode), ints("strides", {2, 2})}),
        kOpset, {x, w});
    ASSERT_EQ(out.size(), 1u);
    ASSERT_EQ(out[0].shape(), (Shape{1, 3, 4, 5})) << mode;
    ConvAttrs explicit_pads;
    explicit_pads.strides = {2, 2};
    explicit_pads.pads = std::string(mode) == "SAME_UPPER" ? std::vector<int64_t>{1, 1, 2, 2}
                                                           : std::vector<int64_t>{2, 2, 1, 1};
    expectNear(out[0], naiveConv(x, w, nullptr, explicit_pads, {1, 3, 4, 5}), kConvTolerance);
  }
}

TEST(RefConv, RefusesBadShapesAndNonFloat) {
  std::mt19937 rng(kKernelTestSeed);
  const Tensor x = randomFloats({1, 13, 7, 9}, rng, -1.0f, 1.0f);
  const Tensor w = randomFloats({4, 5, 3, 3}, rng, -1.0f, 1.0f);
  EXPECT_EQ(runStatus(makeNode("Conv", 2), kOpset, {x, w}).code(), ErrorCode::kInvalidArgument);
  const Tensor xi(DType::kInt32, {1, 1, 3, 3});
  const Tensor wi(DType::kInt32, {1, 1, 1, 1});
  const Status s = runStatus(makeNode("Conv", 2), kOpset, {xi, wi});
  EXPECT_EQ(s.code(), ErrorCode::kUnsupported);
  EXPECT_NE(s.message().find("float32"), std::string::npos) << s.message();
}

TEST(RefConv, Float16AndBFloat16ComputeInFloat32AndRoundOnce) {
  std::mt19937 rng(kKernelTestSeed);
  const Tensor x = randomFloats({1, 13, 7, 9}, rng, -1.0f, 1.0f);
  const Tensor w = randomFloats({4, 13, 3, 3}, rng, -1.0f, 1.0f);
  const Node conv = makeNode("Conv", 2, 1, {ints("pads", {1, 0, 1, 2})});
  for (DType narrow : {DType::kFloat16, DType::kBFloat16}) {
    auto toNarrow = [&](const Tensor& t) {
      Tensor n(narrow, t.shape());
      for (int64_t i = 0; i < t.numel(); ++i) {
        const float v = t.data<float>()[i];
        n.mutableData<uint16_t>()[i] =
            narrow == DType::kFloat16 ? floatToHalf(v) : floatToBFloat16(v);
      }
      return n;
    };
    auto toFloat = [&](const Tensor& n) {
      Tensor t(DType::kFloat32, n.shape());
      for (int64_t i = 0; i < n.numel(); ++i) {
        t.mutableData<float>()[i] = static_cast<float>(n.elementAsDouble(i));
      }
      return t;
    };
    const Tensor xn = toNarrow(x);
    const Tensor wn = toNarrow(w);
    // float32 Conv of exactly the narrow values.
    const std::vector<Tensor> wide = runOk(conv, kOpset, {toFloat(xn), toFloat(wn)});
    const std::vector<Tensor> out = runOk(conv, kOpset, {xn, wn});
    ASSERT_EQ(wide.size(), 1u);
    ASSERT_EQ(out.size(), 1u);
    ASSERT_EQ(out[0].dtype(), narrow);
    // The same float32 convolution, rounded once: bit-identical to rounding the float32 result.
    EXPECT_TRUE(out[0].bitwiseEqual(toNarrow(wide[0]))) << dtypeName(narrow);
  }
}

// ---- FusedConv ---------------------------------------------------------------------------------

double activationOracle(const std::string& act, double x, double alpha, double beta) {
  if (act == "relu") return std::max(x, 0.0);
  if (act == "leaky_relu") return x >= 0 ? x : alpha * x;
  if (act == "sigmoid") return 1.0 / (1.0 + std::exp(-x));
  if (act == "swish") return x / (1.0 + std::exp(-alpha * x));
  if (act == "hardswish") return x * std::clamp(x / 6.0 + 0.5, 0.0, 1.0);
  if (act == "hardsigmoid") return std::clamp(alpha * x + beta, 0.0, 1.0);
  if (act == "clip") return std::clamp(x, alpha, beta);
  if (act == "tanh") return std::tanh(x);
  return x;
}

TEST(RefFusedConv, EachActivationAndBothSumOrdersMatchConvThenOps) {
  struct Case {
    const char* act;
    float alpha;  // NaN: leave the attribute out (the op's default)
    float beta;
    double default_alpha;
    double default_beta;
  };
  const float kUnset = std::numeric_limits<float>::quiet_NaN();
  const Case cases[] = {
      {"", kUnset, kUnset, 0, 0},          {"relu", kUnset, kUnset, 0, 0},
      {"leaky_relu", 0.1f, kUnset, 0, 0},  {"leaky_relu", kUnset, kUnset, 0.01, 0},
      {"sigmoid", kUnset, kUnset, 0, 0},   {"swish", kUnset, kUnset, 1.0, 0},
      {"hardswish", kUnset, kUnset, 0, 0}, {"hardsigmoid", 0.25f, 0.4f, 0, 0},
      {"clip", 0.0f, 6.0f, 0, 0},          {"tanh", kUnset, kUnset, 0, 0},
  };
  std::mt19937 rng(kKernelTestSeed);
  // Inputs in [-2, 2] give pre-activations of about +-10: both sides of relu / clip bounds.
  const Tensor x = randomFloats({1, 13, 7, 9}, rng, -2.0f, 2.0f);
  const Tensor w = randomFloats({5, 13, 3, 3}, rng, -0.5f, 0.5f);
  const Tensor b = randomFloats({5}, rng, -1.0f, 1.0f);
  const Tensor sum = randomFloats({1, 5, 7, 9}, rng, -3.0f, 3.0f);
  const std::vector<Attribute> conv_attrs = {ints("pads", {1, 1, 1, 1})};
  const std::vector<Tensor> conv = runOk(makeNode("Conv", 3, 1, conv_attrs), kOpset, {x, w, b});
  ASSERT_EQ(conv.size(), 1u);
  for (const Case& c : cases) {
    for (int variant = 0; variant < 3; ++variant) {  // no Sum, sum_first 0, sum_first 1
      const bool with_sum = variant > 0;
      const bool sum_first = variant == 2;
      std::vector<Attribute> attrs = conv_attrs;
      attrs.push_back(Attribute::makeString("activation", c.act));
      if (!std::isnan(c.alpha)) attrs.push_back(Attribute::makeFloat("activation_alpha", c.alpha));
      if (!std::isnan(c.beta)) attrs.push_back(Attribute::makeFloat("activation_beta", c.beta));
      attrs.push_back(Attribute::makeInt("sum_first", sum_first ? 1 : 0));
      Node node = makeNode("FusedConv", with_sum ? 4 : 3, 1, attrs);
      node.domain = "detslim";
      std::vector<Tensor> inputs{x, w, b};
      if (with_sum) inputs.push_back(sum);
      const std::vector<Tensor> fused = runOk(node, 1, inputs);
      ASSERT_EQ(fused.size(), 1u) << c.act;
      const double alpha = std::isnan(c.alpha) ? c.default_alpha : c.alpha;
      const double beta = std::isnan(c.beta) ? c.default_beta : c.beta;
      for (int64_t i = 0; i < conv[0].numel(); ++i) {
        const double y = conv[0].data<float>()[i];
        const double s = with_sum ? sum.data<float>()[i] : 0.0;
        const double want = sum_first ? activationOracle(c.act, y + s, alpha, beta)
                                      : activationOracle(c.act, y, alpha, beta) + s;
        ASSERT_NEAR(fused[0].data<float>()[i], want, kActivationTolerance)
            << "activation '" << c.act << "', variant " << variant << ", index " << i;
      }
    }
  }
}

TEST(RefFusedConv, RefusesUnknownActivationAndMismatchedSum) {
  const Tensor x(DType::kFloat32, {1, 2, 3, 3});
  const Tensor w(DType::kFloat32, {4, 2, 1, 1});
  Node node = makeNode("FusedConv", 2, 1, {Attribute::makeString("activation", "gelu")});
  node.domain = "detslim";
  EXPECT_EQ(runStatus(node, 1, {x, w}).code(), ErrorCode::kInvalidArgument);
  Node with_sum = makeNode("FusedConv", 4);
  with_sum.domain = "detslim";
  with_sum.inputs[2] = "";
  const Tensor wrong_sum(DType::kFloat32, {1, 4, 3, 1});
  EXPECT_EQ(runStatus(with_sum, 1, {x, w, Tensor(), wrong_sum}).code(),
            ErrorCode::kInvalidArgument);
}

// ---- ConvTranspose -----------------------------------------------------------------------------

// ONNX ConvTranspose by definition: every x[n, c, i] * w[c, m, k] lands on o = i*s - p + k*d.
std::vector<double> naiveConvTranspose(const Tensor& x, const Tensor& w, int64_t group,
                                       const std::vector<int64_t>& strides,
                                       const std::vector<int64_t>& dilations,
                                       const std::vector<int64_t>& pads, const Shape& y_shape) {
  const size_t rank = x.shape().size() - 2;
  const auto in = spatial3(x.shape());
  const auto out = spatial3(y_shape);
  const auto ker = spatial3(w.shape());
  const auto s = attr3(strides, 0, rank, 1);
  const auto d = attr3(dilations, 0, rank, 1);
  const auto p = attr3(pads, 0, rank, 0);
  const int64_t channels = x.shape()[1];
  const int64_t mg = w.shape()[1];
  const int64_t cg = channels / group;
  const int64_t maps = mg * group;
  std::vector<double> y(static_cast<size_t>(shapeNumel(y_shape)), 0.0);
  for (int64_t n = 0; n < x.shape()[0]; ++n) {
    for (int64_t c = 0; c < channels; ++c) {
      for (int64_t i0 = 0; i0 < in[0]; ++i0) {
        for (int64_t i1 = 0; i1 < in[1]; ++i1) {
          for (int64_t i2 = 0; i2 < in[2]; ++i2) {
            const float xv =
                x.data<float>()[(((n * channels + c) * in[0] + i0) * in[1] + i1) * in[2] + i2];
            for (int64_t mm = 0; mm < mg; ++mm) {
              const int64_t m = (c / cg) * mg + mm;
              for (int64_t k0 = 0; k0 < ker[0]; ++k0) {
                for (int64_t k1 = 0; k1 < ker[1]; ++k1) {
                  for (int64_t k2 = 0; k2 < ker[2]; ++k2) {
                    const int64_t o0 = i0 * s[0] - p[0] + k0 * d[0];
                    const int64_t o1 = i1 * s[1] - p[1] + k1 * d[1];
                    const int64_t o2 = i2 * s[2] - p[2] + k2 * d[2];
                    if (o0 < 0 || o0 >= out[0] || o1 < 0 || o1 >= out[1] || o2 < 0 ||
                        o2 >= out[2]) {
                      continue;
                    }
                    const float wv =
                        w.data<float>()[(((c * mg + mm) * ker[0] + k0) * ker[1] + k1) * ker[2] +
                                        k2];
                    y[static_cast<size_t>((((n * maps + m) * out[0] + o0) * out[1] + o1) * out[2] +
                                          o2)] += static_cast<double>(xv) * wv;
                  }
                }
              }
            }
          }
        }
      }
    }
  }
  return y;
}

TEST(RefConvTranspose, GroupsStridesDilationsPadsAndOutputPadding) {
  std::mt19937 rng(kKernelTestSeed);
  const Tensor x = randomFloats({2, 6, 7, 9}, rng, -1.0f, 1.0f);
  const Tensor w = randomFloats({6, 2, 3, 4}, rng, -1.0f, 1.0f);  // group 3: 6 output maps
  const std::vector<int64_t> strides{2, 3};
  const std::vector<int64_t> dilations{2, 1};
  const std::vector<int64_t> pads{1, 0, 2, 1};
  // H: 2 * 6 + 1 + (3 - 1) * 2 + 1 - 1 - 2 = 15; W: 3 * 8 + 0 + 4 - 0 - 1 = 27.
  const std::vector<Tensor> out = runOk(
      makeNode("ConvTranspose", 2, 1,
               {Attribute::makeInt("group", 3), ints("strides", strides),
                ints("dilations", dilations), ints("pads", pads), ints("output_padding", {1, 0})}),
      kOpset, {x, w});
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].shape(), (Shape{2, 6, 15, 27}));
  expectNear(out[0], naiveConvTranspose(x, w, 3, strides, dilations, pads, {2, 6, 15, 27}),
             kConvTolerance);
}

TEST(RefConvTranspose, OutputShapeDerivesThePads) {
  // Full output 3 * (4 - 1) + 3 = 12 per axis; output_shape 10 crops 2: 1 before, 1 after
  // (NOTSET puts the larger half first, equal here).
  std::mt19937 rng(kKernelTestSeed);
  const Tensor x = randomFloats({1, 13, 4, 4}, rng, -1.0f, 1.0f);
  const Tensor w = randomFloats({13, 2, 3, 3}, rng, -1.0f, 1.0f);
  const std::vector<Tensor> out = runOk(
      makeNode("ConvTranspose", 2, 1, {ints("strides", {3, 3}), ints("output_shape", {10, 11})}),
      kOpset, {x, w});
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].shape(), (Shape{1, 2, 10, 11}));
  // W: total crop 1, NOTSET puts it at the start.
  expectNear(out[0], naiveConvTranspose(x, w, 1, {3, 3}, {}, {1, 1, 1, 0}, {1, 2, 10, 11}),
             kConvTolerance);
}

// ---- ConvInteger / QLinearConv -----------------------------------------------------------------

TEST(RefConvInteger, PerChannelWeightZeroPointsAndPadding) {
  // uint8 x with zero point 3 (padding behaves as 3, contributing 0), int8 w with one zero point
  // per output map.
  std::mt19937 rng(kKernelTestSeed);
  std::uniform_int_distribution<int> u8(0, 255);
  std::uniform_int_distribution<int> i8(-128, 127);
  Tensor x(DType::kUInt8, {1, 3, 5, 7});
  for (int64_t i = 0; i < x.numel(); ++i)
    x.mutableData<uint8_t>()[i] = static_cast<uint8_t>(u8(rng));
  Tensor w(DType::kInt8, {2, 3, 3, 3});
  for (int64_t i = 0; i < w.numel(); ++i) w.mutableData<int8_t>()[i] = static_cast<int8_t>(i8(rng));
  const Tensor x_zp = makeTensor<uint8_t>(DType::kUInt8, {}, {3});
  const Tensor w_zp = makeTensor<int8_t>(DType::kInt8, {2}, {-5, 7});
  const std::vector<Tensor> out = runOk(makeNode("ConvInteger", 4, 1, {ints("pads", {1, 1, 1, 1})}),
                                        kOpset, {x, w, x_zp, w_zp});
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].dtype(), DType::kInt32);
  ASSERT_EQ(out[0].shape(), (Shape{1, 2, 5, 7}));
  for (int64_t m = 0; m < 2; ++m) {
    for (int64_t oh = 0; oh < 5; ++oh) {
      for (int64_t ow = 0; ow < 7; ++ow) {
        int64_t sum = 0;
        for (int64_t c = 0; c < 3; ++c) {
          for (int64_t kh = 0; kh < 3; ++kh) {
            for (int64_t kw = 0; kw < 3; ++kw) {
              const int64_t ih = oh - 1 + kh;
              const int64_t iw = ow - 1 + kw;
              const int64_t xv = (ih < 0 || ih >= 5 || iw < 0 || iw >= 7)
                                     ? 3
                                     : x.data<uint8_t>()[(c * 5 + ih) * 7 + iw];
              const int64_t wv = w.data<int8_t>()[((m * 3 + c) * 3 + kh) * 3 + kw];
              sum += (xv - 3) * (wv - w_zp.data<int8_t>()[m]);
            }
          }
        }
        EXPECT_EQ(out[0].data<int32_t>()[(m * 5 + oh) * 7 + ow], sum)
            << m << " " << oh << " " << ow;
      }
    }
  }
}

TEST(RefQLinearConv, RequantisesHalfToEvenAndSaturates) {
  // A 1x1 convolution with w = 1 and zero points 0 makes each accumulator x + bias; the
  // multiplier is x_scale * w_scale / y_scale.
  const Tensor x = makeTensor<uint8_t>(DType::kUInt8, {1, 1, 1, 5}, {1, 3, 5, 0, 255});
  const Tensor w = makeTensor<int8_t>(DType::kInt8, {1, 1, 1, 1}, {1});
  const Tensor x_zp = makeTensor<uint8_t>(DType::kUInt8, {}, {0});
  const Tensor w_zp = makeTensor<int8_t>(DType::kInt8, {}, {0});
  const Tensor y_zp = makeTensor<uint8_t>(DType::kUInt8, {}, {10});
  auto run = [&](float y_scale, int32_t bias) {
    const std::vector<Tensor> inputs{x,
                                     floats({}, {1.0f}),
                                     x_zp,
                                     w,
                                     floats({}, {0.5f}),
                                     w_zp,
                                     floats({}, {y_scale}),
                                     y_zp,
                                     makeTensor<int32_t>(DType::kInt32, {1}, {bias})};
    const std::vector<Tensor> out = runOk(makeNode("QLinearConv", 9), kOpset, inputs);
    EXPECT_EQ(out.size(), 1u);
    return out.empty() ? std::vector<uint8_t>{} : values<uint8_t>(out[0]);
  };
  // Multiplier 0.5: ties 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, 127.5 -> 128 (half to even), plus 10.
  EXPECT_EQ(run(1.0f, 0), (std::vector<uint8_t>{10, 12, 12, 10, 138}));
  // Bias -3: -2, 0, 2, -3, 252 -> -1, 0, 1, -1.5 -> -2, 126; plus 10.
  EXPECT_EQ(run(1.0f, -3), (std::vector<uint8_t>{9, 10, 11, 8, 136}));
  // Multiplier 2: -4, 0, 4, -6, 504 plus 10; 514 saturates to 255.
  EXPECT_EQ(run(0.25f, -3), (std::vector<uint8_t>{6, 10, 14, 4, 255}));
}

// ---- Pooling -----------------------------------------------------------------------------------

TEST(RefMaxPool, IndicesInBothStorageOrders) {
  // 1x1x3x4 input; 2x2 windows, stride 2, ceil_mode: the last row of windows is cut to 1 row.
  const Tensor x = floats({1, 1, 3, 4}, {1, 9, 2, 3,  //
                                         4, 5, 8, 7,  //
                                         6, 0, 1, 11});
  for (int64_t order : {0, 1}) {
    const std::vector<Tensor> out = runOk(
        makeNode("MaxPool", 1, 2,
                 {ints("kernel_shape", {2, 2}), ints("strides", {2, 2}),
                  Attribute::makeInt("ceil_mode", 1), Attribute::makeInt("storage_order", order)}),
        kOpset, {x});
    ASSERT_EQ(out.size(), 2u);
    ASSERT_EQ(out[0].shape(), (Shape{1, 1, 2, 2}));
    EXPECT_EQ(values<float>(out[0]), (std::vector<float>{9, 8, 6, 11}));
    // Maxima at (h, w) = (0, 1), (1, 2), (2, 0), (2, 3). Row-major h * 4 + w; column-major
    // w * 3 + h.
    const std::vector<int64_t> want =
        order == 0 ? std::vector<int64_t>{1, 6, 8, 11} : std::vector<int64_t>{3, 7, 2, 11};
    EXPECT_EQ(values<int64_t>(out[1]), want) << "storage_order " << order;
  }
}

TEST(RefMaxPool, DilationsAndSameLowerPadding) {
  // 1-D: x = 0..8 reversed-ish; kernel 2 with dilation 3 spans 4; SAME_LOWER, stride 2:
  // out = ceil(9 / 2) = 5, total pad (5 - 1) * 2 + 4 - 9 = 3 -> 2 before, 1 after.
  const Tensor x = floats({1, 1, 9}, {5, 1, 7, 3, 8, 2, 0, 6, 4});
  const std::vector<Tensor> out =
      runOk(makeNode("MaxPool", 1, 1,
                     {ints("kernel_shape", {2}), ints("dilations", {3}), ints("strides", {2}),
                      Attribute::makeString("auto_pad", "SAME_LOWER")}),
            kOpset, {x});
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].shape(), (Shape{1, 1, 5}));
  // Window o covers input positions 2o - 2 and 2o + 1: {-2, 1}, {0, 3}, {2, 5}, {4, 7}, {6, 9}.
  EXPECT_EQ(values<float>(out[0]), (std::vector<float>{1, 5, 7, 8, 0}));
}

TEST(RefAveragePool, CountIncludePadAndCeilMode) {
  const Tensor x = floats({1, 1, 3, 3}, std::vector<float>(9, 1.0f));
  const std::vector<Attribute> base = {ints("kernel_shape", {3, 3}), ints("pads", {1, 1, 1, 1})};
  std::vector<Tensor> out = runOk(makeNode("AveragePool", 1, 1, base), kOpset, {x});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(values<float>(out[0]), std::vector<float>(9, 1.0f));
  std::vector<Attribute> include = base;
  include.push_back(Attribute::makeInt("count_include_pad", 1));
  out = runOk(makeNode("AveragePool", 1, 1, include), kOpset, {x});
  ASSERT_EQ(out.size(), 1u);
  // Corners see 4 of 9 taps inside, edges 6, the centre 9; padding counts in the divisor.
  const float c = 4.0f / 9.0f, e = 6.0f / 9.0f;
  const std::vector<float> want{c, e, c, e, 1.0f, e, c, e, c};
  for (size_t i = 0; i < want.size(); ++i) EXPECT_FLOAT_EQ(out[0].data<float>()[i], want[i]);
  // ceil_mode on 1x5 with kernel 2 stride 2: windows {0,1}, {2,3}, {4} -> the last averages 1.
  const Tensor row = floats({1, 1, 5}, {1, 3, 5, 7, 10});
  out = runOk(makeNode("AveragePool", 1, 1,
                       {ints("kernel_shape", {2}), ints("strides", {2}),
                        Attribute::makeInt("ceil_mode", 1)}),
              kOpset, {row});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(values<float>(out[0]), (std::vector<float>{2, 6, 10}));
}

TEST(RefGlobalAveragePool, ThirteenChannels) {
  std::mt19937 rng(kKernelTestSeed);
  const Tensor x = randomFloats({2, 13, 7, 9}, rng, -1.0f, 1.0f);
  const std::vector<Tensor> out = runOk(makeNode("GlobalAveragePool", 1), kOpset, {x});
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].shape(), (Shape{2, 13, 1, 1}));
  for (int64_t p = 0; p < 26; ++p) {
    double sum = 0.0;
    for (int64_t i = 0; i < 63; ++i) sum += x.data<float>()[p * 63 + i];
    // Both sides sum in double; only the final float32 rounding differs.
    EXPECT_FLOAT_EQ(out[0].data<float>()[p], static_cast<float>(sum / 63.0));
  }
}

}  // namespace
}  // namespace detslim
