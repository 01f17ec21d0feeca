// Reference Resize and Upsample on small cases computed by hand from the ONNX formulas: each
// coordinate transformation mode with nearest and linear interpolation, each nearest_mode,
// tf_crop_and_resize extrapolation, sizes vs scales, the opset 7 / 9 / 10 forms, refusals.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/kernels/ref_test_util.h"

namespace detslim {
namespace {

using testing::floats;
using testing::int64s;
using testing::makeNode;
using testing::makeTensor;
using testing::runOk;
using testing::runStatus;
using testing::values;

constexpr int64_t kOpset = 13;
// Expected values are exact decimal fractions (multiples of 1/4) or 1 + 3x/7; the kernel
// interpolates in double and rounds once to float32: half an ulp of values below 16.
constexpr float kInterpTolerance = 1e-6f;

const std::vector<float> kRow = {1, 2, 3, 4};

Attribute str(const char* name, const char* value) {
  return Attribute::makeString(name, value);
}

// Resizes the row [1, 2, 3, 4] (shape 1x1x1x4) along W by `scale` (or to `size` when > 0).
std::vector<float> resizeRow(std::vector<Attribute> attrs, float scale, int64_t size = 0,
                             const std::vector<float>& roi = {}, int64_t opset = kOpset) {
  Node node = makeNode("Resize", 4, 1, std::move(attrs));
  const Tensor x = floats({1, 1, 1, 4}, kRow);
  std::vector<Tensor> inputs{x, Tensor(), Tensor(), Tensor()};
  if (!roi.empty()) {
    inputs[1] = floats({8}, roi);
  } else {
    node.inputs[1] = "";
  }
  if (size > 0) {
    node.inputs[2] = "";
    inputs[3] = int64s({4}, {1, 1, 1, size});
  } else {
    node.inputs.resize(3);
    inputs.resize(3);
    inputs[2] = floats({4}, {1, 1, 1, scale});
  }
  const std::vector<Tensor> out = runOk(node, opset, inputs);
  EXPECT_EQ(out.size(), 1u);
  return out.empty() ? std::vector<float>{} : values<float>(out[0]);
}

void expectRow(const std::vector<float>& actual, const std::vector<float>& want,
               const std::string& what) {
  ASSERT_EQ(actual.size(), want.size()) << what;
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_NEAR(actual[i], want[i], kInterpTolerance) << what << " at " << i;
  }
}

TEST(RefResize, NearestModesOnExactHalves) {
  // asymmetric, scale 2: x_original = x / 2 = 0, .5, 1, 1.5, 2, 2.5, 3, 3.5 (3.5 clamps to 3).
  const auto nearest = [](const char* mode) {
    return resizeRow({str("mode", "nearest"), str("coordinate_transformation_mode", "asymmetric"),
                      str("nearest_mode", mode)},
                     2.0f);
  };
  expectRow(nearest("round_prefer_floor"), {1, 1, 2, 2, 3, 3, 4, 4}, "round_prefer_floor");
  expectRow(nearest("round_prefer_ceil"), {1, 2, 2, 3, 3, 4, 4, 4}, "round_prefer_ceil");
  expectRow(nearest("floor"), {1, 1, 2, 2, 3, 3, 4, 4}, "floor");
  expectRow(nearest("ceil"), {1, 2, 2, 3, 3, 4, 4, 4}, "ceil");
}

TEST(RefResize, NearestInEachCoordinateMode) {
  const auto nearest = [](const char* coord, float scale) {
    return resizeRow({str("mode", "nearest"), str("coordinate_transformation_mode", coord)}, scale);
  };
  // half_pixel: (x + .5) / 2 - .5 = -.25, .25, .75, ... -> rounds to 0 0 1 1 2 2 3 3.
  expectRow(nearest("half_pixel", 2.0f), {1, 1, 2, 2, 3, 3, 4, 4}, "half_pixel");
  // tf_half_pixel_for_nn: (x + .5) / 2 = .25, .75, 1.25, ... -> 0 1 1 2 2 3 3 3(4 clamped).
  expectRow(nearest("tf_half_pixel_for_nn", 2.0f), {1, 2, 2, 3, 3, 4, 4, 4},
            "tf_half_pixel_for_nn");
  // align_corners, 4 -> 3 (scale .75): x * 3 / 2 = 0, 1.5, 3 -> 0, 1 (prefer floor), 3.
  expectRow(nearest("align_corners", 0.75f), {1, 2, 4}, "align_corners");
  // asymmetric, 4 -> 2: x / .5 = 0, 2.
  expectRow(nearest("asymmetric", 0.5f), {1, 3}, "asymmetric");
  // pytorch_half_pixel equals half_pixel while the output has more than one element:
  // (x + .5) / .5 - .5 = .5, 2.5 -> 0, 2 (ties round down).
  expectRow(nearest("pytorch_half_pixel", 0.5f), {1, 3}, "pytorch_half_pixel");
}

TEST(RefResize, LinearInEachCoordinateMode) {
  const auto linear = [](const char* coord, float scale, int64_t size = 0) {
    return resizeRow({str("mode", "linear"), str("coordinate_transformation_mode", coord)}, scale,
                     size);
  };
  // half_pixel: -.25 (edge: 1), .25 -> 1.25, .75 -> 1.75, ..., 3.25 (edge: 4).
  expectRow(linear("half_pixel", 2.0f), {1, 1.25f, 1.75f, 2.25f, 2.75f, 3.25f, 3.75f, 4},
            "half_pixel");
  expectRow(linear("asymmetric", 2.0f), {1, 1.5f, 2, 2.5f, 3, 3.5f, 4, 4}, "asymmetric");
  // align_corners to 8: x * 3 / 7 -> 1 + 3x / 7.
  std::vector<float> corners;
  for (int x = 0; x < 8; ++x) corners.push_back(1.0f + 3.0f * static_cast<float>(x) / 7.0f);
  expectRow(linear("align_corners", 2.0f), corners, "align_corners");
  // One output element: pytorch_half_pixel takes x_original = -0.5 (edge value 1); half_pixel
  // maps it to (0 + .5) * 4 - .5 = 1.5 -> 2.5.
  expectRow(linear("pytorch_half_pixel", 0.0f, 1), {1}, "pytorch_half_pixel");
  expectRow(linear("half_pixel", 0.0f, 1), {2.5f}, "half_pixel size 1");
}

TEST(RefResize, HalfPixelSymmetricCentresTheRoundedOutput) {
  // Opset 19. Scale .6 on 4: 2 outputs for a "width" of 2.4. half_pixel maps x to
  // (x + .5) / .6 - .5 = 1/3, 2; half_pixel_symmetric shifts by 2 * (1 - 2 / 2.4) = 1/3.
  const auto linear = [](const char* coord) {
    return resizeRow({str("mode", "linear"), str("coordinate_transformation_mode", coord)}, 0.6f, 0,
                     {}, 19);
  };
  // Expected values carry the float32 rounding of 0.6 (|error| < 1e-7 here).
  expectRow(linear("half_pixel"), {1 + 1.0f / 3.0f, 3}, "half_pixel");
  expectRow(linear("half_pixel_symmetric"), {1 + 2.0f / 3.0f, 3 + 1.0f / 3.0f},
            "half_pixel_symmetric");
}

TEST(RefResize, TfCropAndResizeExtrapolates) {
  // roi on W from -0.5 to 1.5, 5 outputs: x_original = x * 2 * 3 / 4 - 1.5 = -1.5, 0, 1.5, 3,
  // 4.5; the outer two lie outside [0, 3] and take extrapolation_value.
  const std::vector<float> roi = {0, 0, 0, -0.5f, 1, 1, 1, 1.5f};
  expectRow(
      resizeRow({str("mode", "linear"), str("coordinate_transformation_mode", "tf_crop_and_resize"),
                 Attribute::makeFloat("extrapolation_value", 10.0f)},
                0.0f, 5, roi),
      {10, 1, 2.5f, 4, 10}, "tf_crop_and_resize");
}

TEST(RefResize, BilinearTwoByTwoToFourByFour) {
  // ONNX's resize_upsample_scales_linear example.
  Node node = makeNode("Resize", 3, 1, {str("mode", "linear")});
  node.inputs[1] = "";
  const std::vector<Tensor> out = runOk(
      node, kOpset, {floats({1, 1, 2, 2}, {1, 2, 3, 4}), Tensor(), floats({4}, {1, 1, 2, 2})});
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].shape(), (Shape{1, 1, 4, 4}));
  expectRow(
      values<float>(out[0]),
      {1, 1.25f, 1.75f, 2, 1.5f, 1.75f, 2.25f, 2.5f, 2.5f, 2.75f, 3.25f, 3.5f, 3, 3.25f, 3.75f, 4},
      "bilinear");
}

TEST(RefResize, NearestMovesAnyDtype) {
  // uint8 image, 2x nearest along H and W (yolov5's upsampling of quantised tensors).
  Node node = makeNode("Resize", 3, 1, {str("mode", "nearest")});
  node.inputs[1] = "";
  const Tensor x = makeTensor<uint8_t>(DType::kUInt8, {1, 1, 2, 2}, {10, 20, 30, 40});
  const std::vector<Tensor> out = runOk(node, kOpset, {x, Tensor(), floats({4}, {1, 1, 2, 2})});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(values<uint8_t>(out[0]), (std::vector<uint8_t>{10, 10, 20, 20, 10, 10, 20, 20,  //
                                                           30, 30, 40, 40, 30, 30, 40, 40}));
}

TEST(RefResize, OlderOpsetsAndUpsample) {
  const Tensor x = floats({1, 1, 1, 4}, kRow);
  const Tensor scales = floats({4}, {1, 1, 1, 2});
  // Resize-10 and Upsample-9: scales input, asymmetric coordinates.
  for (const char* op : {"Resize", "Upsample"}) {
    std::vector<Tensor> out =
        runOk(makeNode(op, 2, 1, {str("mode", "linear")}), op[0] == 'R' ? 10 : 9, {x, scales});
    ASSERT_EQ(out.size(), 1u) << op;
    expectRow(values<float>(out[0]), {1, 1.5f, 2, 2.5f, 3, 3.5f, 4, 4}, op);
  }
  // Upsample-7: scales attribute, nearest repeats.
  const std::vector<Tensor> out =
      runOk(makeNode("Upsample", 1, 1, {Attribute::makeFloats("scales", {1, 1, 1, 3})}), 7, {x});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(values<float>(out[0]), (std::vector<float>{1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4}));
}

TEST(RefResize, RefusesRuntimeScalesAntialiasAndBothScalesAndSizes) {
  Node node = makeNode("Resize", 3, 1, {str("mode", "linear")});
  node.inputs[1] = "";
  const Tensor x = floats({1, 1, 1, 4}, kRow);
  const Tensor scales = floats({4}, {1, 1, 1, 2});
  NodeContext ctx;
  ctx.node = &node;
  ctx.opset = kOpset;
  ctx.inputs = {ValueDesc{DType::kFloat32, {1, 1, 1, 4}}, ValueDesc{},
                ValueDesc{DType::kFloat32, {4}}};
  ctx.constants = {nullptr, nullptr, nullptr};
  const Result<KernelChoice> r = createKernel(ctx, true);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), ErrorCode::kUnsupported);
  EXPECT_NE(r.status().message().find("scales (input 2)"), std::string::npos)
      << r.status().message();

  Node antialias = makeNode("Resize", 3, 1, {Attribute::makeInt("antialias", 1)});
  antialias.inputs[1] = "";
  EXPECT_EQ(runStatus(antialias, 18, {x, Tensor(), scales}).code(), ErrorCode::kUnsupported);

  Node both = makeNode("Resize", 4);
  both.inputs[1] = "";
  EXPECT_EQ(runStatus(both, kOpset, {x, Tensor(), scales, int64s({4}, {1, 1, 1, 8})}).code(),
            ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace detslim
