// Reference Gemm, MatMul and MatMulInteger: numpy broadcasting and 1-D operands, Gemm's
// transposes and C broadcasting, per-row / per-column zero points, against double oracles.

#include <gtest/gtest.h>

#include <random>
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
// float32 dot products of up to 13 terms in [-1, 1] against a double oracle: the rounding
// error stays below 13 * 6e-8 * 13 = 1e-5; 1e-5 holds with room (alpha / beta scale it ~2x).
constexpr double kDotTolerance = 2e-5;

// C = A * B for row-major A [m, k], B [k, n], in double.
std::vector<double> matmul(const float* a, const float* b, int64_t m, int64_t k, int64_t n) {
  std::vector<double> c(static_cast<size_t>(m * n), 0.0);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double s = 0.0;
      for (int64_t p = 0; p < k; ++p) s += static_cast<double>(a[i * k + p]) * b[p * n + j];
      c[static_cast<size_t>(i * n + j)] = s;
    }
  }
  return c;
}

TEST(RefMatMul, BroadcastsBatchDims) {
  // [2, 1, 3, 13] x [5, 13, 7] -> [2, 5, 3, 7]: A repeats over B's 5, B over A's 2.
  std::mt19937 rng(kKernelTestSeed);
  const Tensor a = randomFloats({2, 1, 3, 13}, rng, -1.0f, 1.0f);
  const Tensor b = randomFloats({5, 13, 7}, rng, -1.0f, 1.0f);
  const std::vector<Tensor> out = runOk(makeNode("MatMul", 2), kOpset, {a, b});
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].shape(), (Shape{2, 5, 3, 7}));
  for (int64_t i = 0; i < 2; ++i) {
    for (int64_t j = 0; j < 5; ++j) {
      const std::vector<double> want =
          matmul(a.data<float>() + i * 39, b.data<float>() + j * 91, 3, 13, 7);
      for (size_t e = 0; e < want.size(); ++e) {
        EXPECT_NEAR(out[0].data<float>()[(i * 5 + j) * 21 + static_cast<int64_t>(e)], want[e],
                    kDotTolerance);
      }
    }
  }
}

TEST(RefMatMul, OneDimensionalOperandsDropTheirDim) {
  const Tensor v = floats({3}, {1, 2, 3});
  const Tensor m = floats({2, 3, 2}, {1, 0, 0, 1, 1, 1,  //
                                      2, 0, 0, 2, 0, 0});
  // [3] x [3] -> scalar 1 + 4 + 9.
  std::vector<Tensor> out = runOk(makeNode("MatMul", 2), kOpset, {v, v});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].shape(), Shape{});
  EXPECT_EQ(values<float>(out[0]), (std::vector<float>{14}));
  // [3] x [2, 3, 2] -> [2, 2]: v as a row vector against each matrix.
  out = runOk(makeNode("MatMul", 2), kOpset, {v, m});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].shape(), (Shape{2, 2}));
  EXPECT_EQ(values<float>(out[0]), (std::vector<float>{4, 5, 2, 4}));
  // [2, 2, 3] x [3] -> [2, 2]: v as a column vector.
  const Tensor m2 = floats({2, 2, 3}, {1, 0, 0, 0, 1, 0, 1, 1, 1, 0, 0, 2});
  out = runOk(makeNode("MatMul", 2), kOpset, {m2, v});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].shape(), (Shape{2, 2}));
  EXPECT_EQ(values<float>(out[0]), (std::vector<float>{1, 2, 6, 6}));
}

TEST(RefMatMul, RefusesMismatchedInnerAndBatchDims) {
  const Tensor a(DType::kFloat32, {2, 3, 4});
  EXPECT_EQ(runStatus(makeNode("MatMul", 2), kOpset, {a, Tensor(DType::kFloat32, {5, 6})}).code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(
      runStatus(makeNode("MatMul", 2), kOpset, {a, Tensor(DType::kFloat32, {3, 4, 6})}).code(),
      ErrorCode::kInvalidArgument);
}

TEST(RefGemm, TransposesAlphaBetaAndBroadcastC) {
  std::mt19937 rng(kKernelTestSeed);
  const int64_t m = 7, k = 13, n = 9;
  const Tensor at = randomFloats({k, m}, rng, -1.0f, 1.0f);  // A transposed
  const Tensor bt = randomFloats({n, k}, rng, -1.0f, 1.0f);  // B transposed
  // A and B in plain layout for the oracle.
  std::vector<float> a(static_cast<size_t>(m * k)), b(static_cast<size_t>(k * n));
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t p = 0; p < k; ++p) a[static_cast<size_t>(i * k + p)] = at.data<float>()[p * m + i];
  }
  for (int64_t p = 0; p < k; ++p) {
    for (int64_t j = 0; j < n; ++j) b[static_cast<size_t>(p * n + j)] = bt.data<float>()[j * k + p];
  }
  const std::vector<double> ab = matmul(a.data(), b.data(), m, k, n);
  const float alpha = 0.75f, beta = -1.5f;
  struct CCase {
    Shape shape;
    int64_t stride_m;  // element strides of C seen as [m, n]
    int64_t stride_n;
  };
  for (const CCase& cc : {CCase{{n}, 0, 1}, CCase{{m, 1}, 1, 0}, CCase{{}, 0, 0},
                          CCase{{m, n}, n, 1}, CCase{{1, 1}, 0, 0}}) {
    const Tensor c = randomFloats(cc.shape, rng, -1.0f, 1.0f);
    const std::vector<Tensor> out =
        runOk(makeNode("Gemm", 3, 1,
                       {Attribute::makeInt("transA", 1), Attribute::makeInt("transB", 1),
                        Attribute::makeFloat("alpha", alpha), Attribute::makeFloat("beta", beta)}),
              kOpset, {at, bt, c});
    ASSERT_EQ(out.size(), 1u);
    ASSERT_EQ(out[0].shape(), (Shape{m, n}));
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        const double want = alpha * ab[static_cast<size_t>(i * n + j)] +
                            beta * c.data<float>()[i * cc.stride_m + j * cc.stride_n];
        EXPECT_NEAR(out[0].data<float>()[i * n + j], want, kDotTolerance)
            << "C " << shapeToString(cc.shape) << " at " << i << ", " << j;
      }
    }
  }
  // Without C, plain layouts.
  const std::vector<Tensor> plain =
      runOk(makeNode("Gemm", 2), kOpset, {floats({m, k}, a), floats({k, n}, b)});
  ASSERT_EQ(plain.size(), 1u);
  for (size_t e = 0; e < ab.size(); ++e) {
    EXPECT_NEAR(plain[0].data<float>()[e], ab[e], kDotTolerance);
  }
}

TEST(RefGemm, RefusesCThatDoesNotBroadcast) {
  const Tensor a(DType::kFloat32, {2, 3});
  const Tensor b(DType::kFloat32, {3, 4});
  EXPECT_EQ(runStatus(makeNode("Gemm", 3), kOpset, {a, b, Tensor(DType::kFloat32, {3})}).code(),
            ErrorCode::kInvalidArgument);
}

TEST(RefMatMulInteger, PerRowAndPerColumnZeroPoints) {
  std::mt19937 rng(kKernelTestSeed);
  std::uniform_int_distribution<int> u8(0, 255);
  std::uniform_int_distribution<int> i8(-128, 127);
  const int64_t m = 5, k = 13, n = 7;
  Tensor a(DType::kUInt8, {2, m, k});
  for (int64_t i = 0; i < a.numel(); ++i)
    a.mutableData<uint8_t>()[i] = static_cast<uint8_t>(u8(rng));
  Tensor b(DType::kInt8, {k, n});
  for (int64_t i = 0; i < b.numel(); ++i) b.mutableData<int8_t>()[i] = static_cast<int8_t>(i8(rng));
  const Tensor a_zp = makeTensor<uint8_t>(DType::kUInt8, {m}, {0, 1, 128, 200, 255});
  const Tensor b_zp = makeTensor<int8_t>(DType::kInt8, {n}, {0, -1, 5, -128, 127, 3, -7});
  for (int variant = 0; variant < 3; ++variant) {  // per row / column, scalar, none
    std::vector<Tensor> inputs{a, b};
    Tensor a_zero = a_zp, b_zero = b_zp;
    if (variant == 1) {
      a_zero = makeTensor<uint8_t>(DType::kUInt8, {}, {17});
      b_zero = makeTensor<int8_t>(DType::kInt8, {}, {-3});
    }
    if (variant < 2) {
      inputs.push_back(a_zero);
      inputs.push_back(b_zero);
    }
    const std::vector<Tensor> out = runOk(makeNode("MatMulInteger", inputs.size()), 10, inputs);
    ASSERT_EQ(out.size(), 1u);
    ASSERT_EQ(out[0].dtype(), DType::kInt32);
    ASSERT_EQ(out[0].shape(), (Shape{2, m, n}));
    for (int64_t batch = 0; batch < 2; ++batch) {
      for (int64_t i = 0; i < m; ++i) {
        for (int64_t j = 0; j < n; ++j) {
          int64_t want = 0;
          for (int64_t p = 0; p < k; ++p) {
            const int64_t av = a.data<uint8_t>()[(batch * m + i) * k + p];
            const int64_t bv = b.data<int8_t>()[p * n + j];
            const int64_t azp = variant == 2 ? 0 : a_zero.elementAsInt64(variant == 0 ? i : 0);
            const int64_t bzp = variant == 2 ? 0 : b_zero.elementAsInt64(variant == 0 ? j : 0);
            want += (av - azp) * (bv - bzp);
          }
          EXPECT_EQ(out[0].data<int32_t>()[(batch * m + i) * n + j], want)
              << "variant " << variant << " at " << batch << ", " << i << ", " << j;
        }
      }
    }
  }
}

}  // namespace
}  // namespace detslim
