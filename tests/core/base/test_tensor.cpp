#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include "core/base/tensor.h"

namespace detslim {
namespace {

TEST(Shape, NumelAndString) {
  EXPECT_EQ(shapeNumel({}), 1);  // a scalar
  EXPECT_EQ(shapeNumel({2, 3, 4}), 24);
  EXPECT_EQ(shapeNumel({2, 0, 4}), 0);
  EXPECT_EQ(shapeNumel({2, -1}), 0);  // unknown dims count as 0
  EXPECT_EQ(shapeToString({1, 3, 640, 640}), "[1, 3, 640, 640]");
  EXPECT_EQ(shapeToString({}), "[]");
}

TEST(Tensor, ConstructsZeroFilledAndAligned) {
  Tensor t(DType::kFloat32, {3, 5});
  EXPECT_EQ(t.numel(), 15);
  EXPECT_EQ(t.bytes(), 60u);
  EXPECT_EQ(t.rank(), 2);
  EXPECT_TRUE(t.defined());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw()) % Tensor::kAlignment, 0u);
  for (float v : t.span<float>()) EXPECT_EQ(v, 0.0f);
  EXPECT_EQ(t.countZeros(), 15);

  Tensor scalar(DType::kInt64, {});
  EXPECT_EQ(scalar.numel(), 1);
  EXPECT_FALSE(scalar.empty());
  Tensor empty(DType::kInt64, {0, 4});
  EXPECT_TRUE(empty.empty());
  EXPECT_FALSE(Tensor().defined());
}

TEST(Tensor, CopiesShareStorageAndClonesDoNot) {
  Tensor a = Tensor::fromVector<float>(DType::kFloat32, {4}, {1, 2, 3, 4});
  Tensor shared = a;
  Tensor deep = a.clone();
  EXPECT_TRUE(shared.sharesStorageWith(a));
  EXPECT_FALSE(deep.sharesStorageWith(a));
  EXPECT_TRUE(deep.bitwiseEqual(a));

  deep.mutableData<float>()[0] = 42.0f;
  EXPECT_EQ(a.data<float>()[0], 1.0f);  // the clone's write stays in the clone
  shared.mutableData<float>()[1] = 7.0f;
  EXPECT_EQ(a.data<float>()[1], 7.0f);  // a shared copy writes through
}

TEST(Tensor, ReshapeInPlaceKeepsStorageAndRefusesCountMismatch) {
  Tensor a(DType::kInt32, {2, 6});
  Tensor b = a;
  EXPECT_TRUE(b.reshapeInPlace({3, 4}));
  EXPECT_EQ(b.shape(), (Shape{3, 4}));
  EXPECT_EQ(a.shape(), (Shape{2, 6}));  // shape is per object, storage is shared
  EXPECT_TRUE(b.sharesStorageWith(a));
  EXPECT_FALSE(b.reshapeInPlace({5}));
  EXPECT_EQ(b.shape(), (Shape{3, 4}));
}

TEST(Tensor, ElementAccessAcrossDtypes) {
  Tensor i8 = Tensor::fromVector<int8_t>(DType::kInt8, {3}, {-3, 0, 7});
  EXPECT_EQ(i8.elementAsInt64(0), -3);
  EXPECT_EQ(i8.elementAsDouble(2), 7.0);
  Tensor u8 = Tensor::fromVector<uint8_t>(DType::kUInt8, {1}, {250});
  EXPECT_EQ(u8.elementAsInt64(0), 250);
  Tensor f = Tensor::fromVector<float>(DType::kFloat32, {3}, {-1.75f, 2.5f, 3.0f});
  EXPECT_EQ(f.toInt64Vector(), (std::vector<int64_t>{-1, 2, 3}));  // truncation
  Tensor h = Tensor::fromVector<uint16_t>(DType::kFloat16, {2}, {0x3C00, 0xC000});
  EXPECT_EQ(h.toFloatVector(), (std::vector<float>{1.0f, -2.0f}));
  Tensor i64 =
      Tensor::fromVector<int64_t>(DType::kInt64, {1}, {std::numeric_limits<int64_t>::max()});
  EXPECT_EQ(i64.elementAsInt64(0), std::numeric_limits<int64_t>::max());
  Tensor b = Tensor::fromVector<uint8_t>(DType::kBool, {2}, {0, 5});
  EXPECT_EQ(b.elementAsDouble(1), 1.0);
}

TEST(Tensor, CountZerosIncludesNegativeZero) {
  Tensor f = Tensor::fromVector<float>(DType::kFloat32, {5}, {0.0f, -0.0f, 1.0f, 1e-30f, 0.0f});
  EXPECT_EQ(f.countZeros(), 3);
  Tensor h = Tensor::fromVector<uint16_t>(DType::kFloat16, {3}, {0x0000, 0x8000, 0x0001});
  EXPECT_EQ(h.countZeros(), 2);
  Tensor i = Tensor::fromVector<int32_t>(DType::kInt32, {4}, {0, 1, 0, -1});
  EXPECT_EQ(i.countZeros(), 2);
  EXPECT_EQ(Tensor().countZeros(), 0);
}

TEST(Tensor, BitwiseEqualComparesDtypeShapeAndBytes) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Tensor a = Tensor::fromVector<float>(DType::kFloat32, {2}, {nan, 1.0f});
  EXPECT_TRUE(a.bitwiseEqual(a.clone()));  // NaN equals itself bit for bit
  Tensor pos = Tensor::fromVector<float>(DType::kFloat32, {1}, {0.0f});
  Tensor neg = Tensor::fromVector<float>(DType::kFloat32, {1}, {-0.0f});
  EXPECT_FALSE(pos.bitwiseEqual(neg));
  Tensor as_int = Tensor::fromVector<int32_t>(DType::kInt32, {1}, {0});
  EXPECT_FALSE(pos.bitwiseEqual(as_int));  // same bytes, other dtype
  Tensor reshaped = Tensor::fromVector<float>(DType::kFloat32, {1, 1}, {0.0f});
  EXPECT_FALSE(pos.bitwiseEqual(reshaped));

  Tensor s1(DType::kString, {2});
  s1.strings() = {"a", "b"};
  Tensor s2(DType::kString, {2});
  s2.strings() = {"a", "b"};
  EXPECT_TRUE(s1.bitwiseEqual(s2));
  s2.strings()[1] = "c";
  EXPECT_FALSE(s1.bitwiseEqual(s2));
}

}  // namespace
}  // namespace detslim
