// Tests of core/detect (decoders, NMS) and core/datasets/preprocess: hand-made boxes, synthetic
// head outputs with known answers, and the shipped detectors on samples/bus.jpg.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include <gtest/gtest.h>
#include <opencv2/core.hpp>

#include "core/datasets/preprocess.h"
#include "core/detect/detect.h"
#include "core/engine/engine.h"
#include "core/onnx/onnx_io.h"
#include "test_data.h"

namespace detslim::detect {
namespace {

using datasets::ModelFamily;
using datasets::PreprocessProfile;

// Box arithmetic on exactly representable values: only float rounding separates the answers.
constexpr float kBoxTol = 1e-3f;
// COCO-80 class ids.
constexpr int kPerson = 0;
constexpr int kBus = 5;

Detection box(float x1, float y1, float x2, float y2, float score, int cls = 0) {
  return {x1, y1, x2, y2, score, cls};
}

// ---------------------------------------------------------------- NMS

TEST(Nms, SuppressesOverlapsAboveThreshold) {
  // IoU(a, b) = 81/119 ≈ 0.68; c is far away.
  std::vector<Detection> in = {box(0, 0, 10, 10, 0.9f), box(1, 1, 11, 11, 0.8f),
                               box(50, 50, 60, 60, 0.7f)};
  std::vector<Detection> out = nms(in, 0.5f, false, 0);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_FLOAT_EQ(out[0].score, 0.9f);
  EXPECT_FLOAT_EQ(out[1].score, 0.7f);
  // Above the overlap, nothing is suppressed.
  EXPECT_EQ(nms(in, 0.7f, false, 0).size(), 3u);
}

TEST(Nms, ClassWiseVersusAgnostic) {
  std::vector<Detection> in = {box(0, 0, 10, 10, 0.9f, 1), box(0, 0, 10, 10, 0.8f, 2)};
  EXPECT_EQ(nms(in, 0.5f, false, 0).size(), 2u);
  std::vector<Detection> agnostic = nms(in, 0.5f, true, 0);
  ASSERT_EQ(agnostic.size(), 1u);
  EXPECT_EQ(agnostic[0].class_id, 1);
}

TEST(Nms, MaxDetectionsKeepsHighestScores) {
  std::vector<Detection> in;
  for (int i = 0; i < 10; ++i) {
    in.push_back(box(i * 20.0f, 0, i * 20.0f + 10, 10, 0.1f * static_cast<float>(i + 1)));
  }
  std::vector<Detection> out = nms(in, 0.5f, false, 3);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_FLOAT_EQ(out[0].score, 1.0f);
  EXPECT_FLOAT_EQ(out[2].score, 0.8f);
}

TEST(Nms, TiesKeepInputOrder) {
  // Equal scores: the stable sort keeps the first, which suppresses the second.
  std::vector<Detection> in = {box(0, 0, 10, 10, 0.5f), box(0, 0, 10, 9, 0.5f)};
  std::vector<Detection> out = nms(in, 0.5f, false, 0);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FLOAT_EQ(out[0].y2, 10.0f);
}

TEST(Nms, IouOfDisjointAndIdentical) {
  EXPECT_FLOAT_EQ(iou(box(0, 0, 1, 1, 1), box(2, 2, 3, 3, 1)), 0.0f);
  EXPECT_FLOAT_EQ(iou(box(0, 0, 4, 4, 1), box(0, 0, 4, 4, 1)), 1.0f);
  EXPECT_NEAR(iou(box(0, 0, 2, 2, 1), box(1, 0, 3, 2, 1)), 1.0f / 3.0f, kBoxTol);
}

// ---------------------------------------------------------------- decoders

DecodeContext context(int w, int h) {
  DecodeContext c;
  c.input_width = w;
  c.input_height = h;
  c.transform.image_width = w;
  c.transform.image_height = h;
  return c;
}

TEST(Decode, YoloV5ScoreIsObjTimesClass) {
  // Two anchors, 3 classes: anchor 0 obj 0.8 cls [0.1,0.9,0.5]; anchor 1 obj 0.01.
  std::vector<float> v = {50, 40, 20, 10, 0.8f, 0.1f, 0.9f, 0.5f,
                          10, 10, 4,  4,  0.01f, 1.0f, 1.0f, 1.0f};
  Tensor t = Tensor::fromVector(DType::kFloat32, {1, 2, 8}, v);
  DecodeOptions o;
  o.family = ModelFamily::kYoloV5;
  o.conf_threshold = 0.3f;
  Result<std::vector<Detection>> multi = decode({&t, 1}, context(100, 100), o);
  ASSERT_TRUE(multi.isOk()) << multi.status().message();
  ASSERT_EQ(multi->size(), 2u);  // classes 1 (0.72) and 2 (0.40)
  EXPECT_EQ((*multi)[0].class_id, 1);
  EXPECT_NEAR((*multi)[0].score, 0.72f, kBoxTol);
  EXPECT_NEAR((*multi)[0].x1, 40.0f, kBoxTol);
  EXPECT_NEAR((*multi)[0].y1, 35.0f, kBoxTol);
  EXPECT_NEAR((*multi)[0].x2, 60.0f, kBoxTol);
  EXPECT_NEAR((*multi)[0].y2, 45.0f, kBoxTol);
  EXPECT_EQ((*multi)[1].class_id, 2);
  o.multi_label = false;
  Result<std::vector<Detection>> best = decode({&t, 1}, context(100, 100), o);
  ASSERT_TRUE(best.isOk());
  ASSERT_EQ(best->size(), 1u);
  EXPECT_EQ((*best)[0].class_id, 1);
}

TEST(Decode, YoloV8ChannelMajor) {
  // [1, 4+2, 3]: anchor 2 has class 1 at 0.7; the others are below threshold.
  std::vector<float> v = {
      10, 20, 30,   // cx
      10, 20, 30,   // cy
      2,  2,  8,    // w
      2,  2,  4,    // h
      0.1f, 0.0f, 0.2f,  // class 0
      0.0f, 0.2f, 0.7f,  // class 1
  };
  Tensor t = Tensor::fromVector(DType::kFloat32, {1, 6, 3}, v);
  DecodeOptions o;
  o.family = ModelFamily::kYoloV8;  // 3 anchors < 6 channels: too small to auto-detect
  o.conf_threshold = 0.25f;
  Result<std::vector<Detection>> r = decode({&t, 1}, context(64, 64), o);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].class_id, 1);
  EXPECT_NEAR((*r)[0].score, 0.7f, kBoxTol);
  EXPECT_NEAR((*r)[0].x1, 26.0f, kBoxTol);
  EXPECT_NEAR((*r)[0].y2, 32.0f, kBoxTol);
}

TEST(Decode, YoloxGridDecode) {
  // A 32x32 input has 16 + 4 + 1 = 21 cells at strides 8/16/32. Anchor 17 is on the stride-16
  // level at cell (1, 0): centre = (0.5 + 1) * 16 = 24, (0.25 + 0) * 16 = 4; size = e^0 * 16.
  const int64_t anchors = 21;
  const int64_t channels = 5 + 2;
  std::vector<float> v(anchors * channels, 0.0f);
  float* p = v.data() + 17 * channels;
  p[0] = 0.5f;
  p[1] = 0.25f;
  p[4] = 0.9f;
  p[6] = 0.5f;
  Tensor t = Tensor::fromVector(DType::kFloat32, {1, anchors, channels}, v);
  DecodeContext c = context(32, 32);
  DecodeOptions o;
  ASSERT_EQ(*resolveFamily({&t, 1}, c, o), ModelFamily::kYolox);
  Result<std::vector<Detection>> r = decodeCandidates({&t, 1}, c, o);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].class_id, 1);
  EXPECT_NEAR((*r)[0].score, 0.45f, kBoxTol);
  EXPECT_NEAR((*r)[0].x1, 16.0f, kBoxTol);
  EXPECT_NEAR((*r)[0].y1, -4.0f, kBoxTol);
  EXPECT_NEAR((*r)[0].x2, 32.0f, kBoxTol);
  EXPECT_NEAR((*r)[0].y2, 12.0f, kBoxTol);
}

TEST(Decode, NanodetDistributions) {
  // 16x16 input, strides 8/16/32 → 4, 1, 1 anchors; 2 classes; reg_max 7.
  const int64_t bins = 8;
  std::vector<Tensor> outs;
  const int64_t level_anchors[] = {4, 1, 1};
  for (int64_t a : level_anchors) {
    std::vector<float> scores(a * 2, 0.0f);
    if (a == 4) scores[3 * 2 + 0] = 0.8f;  // anchor 3 = cell (1,1), class 0
    outs.push_back(Tensor::fromVector(DType::kFloat32, {1, a, 2}, scores));
  }
  for (int64_t a : level_anchors) {
    // Very peaked logits: left/top at bin 1, right/bottom at bin 2 (softmax ≈ one-hot).
    std::vector<float> d(a * 4 * bins, 0.0f);
    for (int64_t i = 0; i < a; ++i) {
      for (int side = 0; side < 4; ++side) d[(i * 4 + side) * bins + (side < 2 ? 1 : 2)] = 50.0f;
    }
    outs.push_back(Tensor::fromVector(DType::kFloat32, {1, a, 4 * bins}, d));
  }
  DecodeContext c = context(16, 16);
  DecodeOptions o;
  o.conf_threshold = 0.5f;
  ASSERT_EQ(*resolveFamily(outs, c, o), ModelFamily::kNanodet);
  Result<std::vector<Detection>> r = decodeCandidates(outs, c, o);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  ASSERT_EQ(r->size(), 1u);
  // centre = 1·8 + 3.5 = 11.5; left/top = 1·8, right/bottom = 2·8 → clipped to 16.
  EXPECT_NEAR((*r)[0].x1, 3.5f, kBoxTol);
  EXPECT_NEAR((*r)[0].y1, 3.5f, kBoxTol);
  EXPECT_NEAR((*r)[0].x2, 16.0f, kBoxTol);
  EXPECT_NEAR((*r)[0].score, 0.8f, kBoxTol);
}

TEST(Decode, SsdBoxesAndScores) {
  // Normalised corners; class 0 is background.
  Tensor boxes = Tensor::fromVector(DType::kFloat32, {1, 2, 4},
                                    std::vector<float>{0.1f, 0.2f, 0.5f, 0.6f, 0, 0, 1, 1});
  Tensor scores = Tensor::fromVector(DType::kFloat32, {1, 2, 3},
                                     std::vector<float>{0.1f, 0.2f, 0.7f, 0.9f, 0.05f, 0.05f});
  std::vector<Tensor> outs = {boxes, scores};
  DecodeOptions o;
  o.conf_threshold = 0.3f;
  DecodeContext c = context(100, 200);
  ASSERT_EQ(*resolveFamily(outs, c, o), ModelFamily::kSsd);
  Result<std::vector<Detection>> r = decode(outs, c, o);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  ASSERT_EQ(r->size(), 1u);  // the 0.9 background does not count
  EXPECT_EQ((*r)[0].class_id, 1);
  EXPECT_NEAR((*r)[0].x1, 10.0f, kBoxTol);
  EXPECT_NEAR((*r)[0].y1, 40.0f, kBoxTol);
  EXPECT_NEAR((*r)[0].y2, 120.0f, kBoxTol);
}

TEST(Decode, AutoDetectsFamiliesFromShapes) {
  using datasets::guessModelFamily;
  const Shape v5[] = {{1, 25200, 85}};
  const Shape v8[] = {{1, 84, 8400}};
  const Shape yolox[] = {{1, 3549, 85}};
  const Shape ssd[] = {{1, 3000, 4}, {1, 3000, 91}};
  EXPECT_EQ(guessModelFamily(nullptr, 640, 640, v5), ModelFamily::kYoloV5);
  EXPECT_EQ(guessModelFamily(nullptr, 640, 640, v8), ModelFamily::kYoloV8);
  EXPECT_EQ(guessModelFamily(nullptr, 416, 416, yolox), ModelFamily::kYolox);
  EXPECT_EQ(guessModelFamily(nullptr, 300, 300, ssd), ModelFamily::kSsd);
}

TEST(Decode, RefusesUnknownLayouts) {
  Tensor t = Tensor::fromVector(DType::kFloat32, {1, 4}, std::vector<float>{0, 0, 0, 0});
  Result<std::vector<Detection>> r = decode({&t, 1}, context(32, 32), DecodeOptions{});
  EXPECT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), ErrorCode::kUnsupported);
  EXPECT_FALSE(datasets::parseModelFamily("yolov9000").isOk());
}

TEST(Decode, DefaultsMatchTheIssue) {
  DecodeOptions eval = DecodeOptions::evaluation();
  EXPECT_FLOAT_EQ(eval.conf_threshold, 0.001f);
  EXPECT_FLOAT_EQ(eval.iou_threshold, 0.65f);
  EXPECT_EQ(eval.max_detections, 300);
  EXPECT_TRUE(eval.multi_label);
  EXPECT_FLOAT_EQ(DecodeOptions::display().conf_threshold, 0.25f);
}

// ---------------------------------------------------------------- preprocessing

TEST(Preprocess, CentredLetterboxRoundTrip) {
  cv::Mat image(300, 500, CV_8UC3, cv::Scalar(10, 20, 30));  // B,G,R
  Result<PreprocessProfile> p = datasets::profileByName("ultralytics", 640, 640);
  ASSERT_TRUE(p.isOk());
  Result<datasets::PreprocessedImage> pre = datasets::preprocess(image, *p);
  ASSERT_TRUE(pre.isOk()) << pre.status().message();
  const datasets::ImageTransform& t = pre->transform;
  EXPECT_NEAR(t.scale_x, 640.0f / 500.0f, kBoxTol);
  EXPECT_FLOAT_EQ(t.pad_x, 0.0f);
  EXPECT_FLOAT_EQ(t.pad_y, 128.0f);  // 640 - 384 = 256, split evenly
  // Forward and back.
  const float x = 123.0f;
  const float y = 45.0f;
  EXPECT_NEAR(t.toImageX(t.toInputX(x)), x, kBoxTol);
  EXPECT_NEAR(t.toImageY(t.toInputY(y)), y, kBoxTol);
  // A decoded box at the image's mapped position comes back to the image box.
  const float in_x1 = t.toInputX(100);
  const float in_y1 = t.toInputY(50);
  const float in_x2 = t.toInputX(200);
  const float in_y2 = t.toInputY(250);
  std::vector<float> v = {(in_x1 + in_x2) / 2, (in_y1 + in_y2) / 2, in_x2 - in_x1, in_y2 - in_y1,
                          1.0f, 1.0f};
  Tensor out = Tensor::fromVector(DType::kFloat32, {1, 1, 6}, v);
  DecodeContext c;
  c.input_width = 640;
  c.input_height = 640;
  c.transform = t;
  DecodeOptions o;
  o.family = ModelFamily::kYoloV5;
  Result<std::vector<Detection>> r = decode({&out, 1}, c, o);
  ASSERT_TRUE(r.isOk());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_NEAR((*r)[0].x1, 100.0f, kBoxTol);
  EXPECT_NEAR((*r)[0].y1, 50.0f, kBoxTol);
  EXPECT_NEAR((*r)[0].x2, 200.0f, kBoxTol);
  EXPECT_NEAR((*r)[0].y2, 250.0f, kBoxTol);
  // Pixel values: RGB order, /255; the pad is 114/255.
  const float* d = pre->tensor.data<float>();
  const size_t plane = 640 * 640;
  const size_t inside = 320 * 640 + 320;
  EXPECT_NEAR(d[inside], 30.0f / 255.0f, kBoxTol);              // R
  EXPECT_NEAR(d[2 * plane + inside], 10.0f / 255.0f, kBoxTol);  // B
  EXPECT_NEAR(d[0], 114.0f / 255.0f, kBoxTol);
}

TEST(Preprocess, TopLeftLetterboxAndStretch) {
  cv::Mat image(100, 200, CV_8UC3, cv::Scalar(1, 2, 3));
  Result<PreprocessProfile> yolox = datasets::profileByName("yolox", 416, 416);
  ASSERT_TRUE(yolox.isOk());
  Result<datasets::PreprocessedImage> a = datasets::preprocess(image, *yolox);
  ASSERT_TRUE(a.isOk());
  EXPECT_FLOAT_EQ(a->transform.pad_x, 0.0f);
  EXPECT_FLOAT_EQ(a->transform.pad_y, 0.0f);
  EXPECT_NEAR(a->transform.scale_x, 2.08f, kBoxTol);
  EXPECT_FLOAT_EQ(a->tensor.data<float>()[0], 1.0f);  // BGR, 0-255: channel 0 is blue
  Result<PreprocessProfile> nanodet = datasets::profileByName("nanodet", 416, 416);
  ASSERT_TRUE(nanodet.isOk());
  Result<datasets::PreprocessedImage> b = datasets::preprocess(image, *nanodet);
  ASSERT_TRUE(b.isOk());
  EXPECT_NEAR(b->transform.scale_x, 2.08f, kBoxTol);
  EXPECT_NEAR(b->transform.scale_y, 4.16f, kBoxTol);
  EXPECT_NEAR(b->tensor.data<float>()[0], (1.0f - 103.53f) / 57.375f, kBoxTol);
  EXPECT_FALSE(datasets::preprocess(std::filesystem::path("/no/such.jpg"), *nanodet).isOk());
}

// ---------------------------------------------------------------- real models

// Scores of the same network may differ from OpenCV's by preprocessing and kernel rounding.
constexpr float kScoreTol = 0.05f;
// Boxes of the same object from two implementations overlap at least this much.
constexpr float kSameBoxIou = 0.9f;

struct RealRun {
  std::vector<Detection> dets;
  ModelFamily family = ModelFamily::kUnknown;
};

RealRun runModel(const std::string& model_file, DecodeOptions options) {
  RealRun run;
  const std::filesystem::path dir = testing::testDataDir();
  Result<Model> model = loadModel(dir / "models" / model_file);
  EXPECT_TRUE(model.isOk()) << model.status().message();
  if (!model.isOk()) return run;
  Result<Plan> plan = Engine::compile(*model);
  EXPECT_TRUE(plan.isOk()) << plan.status().message();
  if (!plan.isOk()) return run;
  const Shape input = plan->inputDescs()[0].shape;
  Result<PreprocessProfile> profile = datasets::profileForModel(*model, input);
  EXPECT_TRUE(profile.isOk()) << profile.status().message();
  Result<datasets::PreprocessedImage> pre =
      datasets::preprocess(dir / "samples" / "bus.jpg", *profile);
  EXPECT_TRUE(pre.isOk()) << pre.status().message();
  if (!pre.isOk()) return run;
  Status st = plan->run({&pre->tensor, 1});
  EXPECT_TRUE(st.isOk()) << st.message();
  std::vector<Tensor> outs;
  for (size_t i = 0; i < plan->numOutputs(); ++i) outs.push_back(plan->output(i));
  DecodeContext c;
  c.input_width = static_cast<int>(input[3]);
  c.input_height = static_cast<int>(input[2]);
  c.transform = pre->transform;
  c.model = &*model;
  run.family = *resolveFamily(outs, c, options);
  Result<std::vector<Detection>> dets = decode(outs, c, options);
  EXPECT_TRUE(dets.isOk()) << dets.status().message();
  if (dets.isOk()) run.dets = *dets;
  for (const Detection& d : run.dets) {
    std::printf("  %s class %d score %.3f [%.0f,%.0f,%.0f,%.0f]\n", model_file.c_str(),
                d.class_id, d.score, d.x1, d.y1, d.x2, d.y2);
  }
  return run;
}

int countClass(const std::vector<Detection>& dets, int cls, float min_score) {
  return static_cast<int>(std::count_if(dets.begin(), dets.end(), [&](const Detection& d) {
    return d.class_id == cls && d.score > min_score;
  }));
}

TEST(RealModels, YoloxNanoOnBus) {
  DETSLIM_REQUIRE_TEST_DATA();
  DecodeOptions o = DecodeOptions::display();
  o.conf_threshold = 0.3f;  // MANIFEST's OpenCV run
  RealRun run = runModel("yolox_nano.onnx", o);
  EXPECT_EQ(run.family, ModelFamily::kYolox);
  auto bus = std::find_if(run.dets.begin(), run.dets.end(),
                          [](const Detection& d) { return d.class_id == kBus; });
  ASSERT_NE(bus, run.dets.end());
  EXPECT_NEAR(bus->score, 0.90f, kScoreTol);
  // MANIFEST gives OpenCV's cv::Rect (x, y, w, h): [13,231,787,501] is x1,y1,x2,y2 =
  // [13,231,800,732].
  EXPECT_GT(iou(*bus, box(13, 231, 13 + 787, 231 + 501, 1)), kSameBoxIou);
  EXPECT_GE(countClass(run.dets, kPerson, 0.3f), 3);
}

TEST(RealModels, YoloV5nFp32OnBus) {
  DETSLIM_REQUIRE_TEST_DATA();
  RealRun run = runModel("yolov5n_fp32.onnx", DecodeOptions::display());
  EXPECT_EQ(run.family, ModelFamily::kYoloV5);
  ASSERT_EQ(run.dets.size(), 4u);
  // MANIFEST (OpenCV): person 0.82, person 0.82, person 0.68, bus 0.53.
  const float expected[] = {0.82f, 0.82f, 0.68f, 0.53f};
  const int classes[] = {kPerson, kPerson, kPerson, kBus};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(run.dets[i].class_id, classes[i]) << i;
    EXPECT_NEAR(run.dets[i].score, expected[i], kScoreTol) << i;
  }
}

TEST(RealModels, NanodetMOnBus) {
  DETSLIM_REQUIRE_TEST_DATA();
  DecodeOptions o = DecodeOptions::display();
  o.conf_threshold = 0.35f;  // MANIFEST's OpenCV run
  RealRun run = runModel("nanodet_m.onnx", o);
  EXPECT_EQ(run.family, ModelFamily::kNanodet);
  ASSERT_FALSE(run.dets.empty());
  // MANIFEST: person 0.79, bus 0.63.
  float best_person = 0.0f;
  float best_bus = 0.0f;
  for (const Detection& d : run.dets) {
    if (d.class_id == kPerson) best_person = std::max(best_person, d.score);
    if (d.class_id == kBus) best_bus = std::max(best_bus, d.score);
  }
  EXPECT_NEAR(best_person, 0.79f, kScoreTol);
  EXPECT_NEAR(best_bus, 0.63f, kScoreTol);
}

TEST(RealModels, YoloV8nInt8OnBus) {
  DETSLIM_REQUIRE_TEST_DATA();
  RealRun run = runModel("yolov8n_int8.onnx", DecodeOptions::display());
  EXPECT_EQ(run.family, ModelFamily::kYoloV8);
  EXPECT_GE(countClass(run.dets, kBus, 0.25f), 1);
  EXPECT_GE(countClass(run.dets, kPerson, 0.25f), 1);
}

}  // namespace
}  // namespace detslim::detect
