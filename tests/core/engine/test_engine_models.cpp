// Whole-model agreement on real images from the shared data: DetSlim's FP32 outputs against
// OpenCV DNN 4.6 (yolox_nano, nanodet_m, yolov5n_fp32 — the last converted through the IR so that
// OpenCV 4.6 can read it) and against DetSlim's own reference kernels (every shared model).

#include <cmath>
#include <filesystem>

#include <gtest/gtest.h>
#include <opencv2/dnn.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/engine/engine.h"
#include "core/onnx/onnx_io.h"
#include "core/perf/peer.h"
#include "test_data.h"

namespace detslim {
namespace {

namespace fs = std::filesystem;
using detslim::testing::testDataDir;

// The bar for whole-model agreement: max |ours - theirs| over an output, relative to the
// largest |value| of that output. Relative to the range because elementwise relative error is
// meaningless for near-zero logits.
constexpr double kAgreement = 1e-4;

enum class Color { kRgb, kBgr };

// Letterbox (keep ratio, pad 114) or plain resize to size x size, then scale / mean / std.
Tensor preprocess(const fs::path& image, int size, bool letterbox, bool centred, Color color, float scale,
                  const float mean[3], const float std_dev[3]) {
  cv::Mat bgr = cv::imread(image.string(), cv::IMREAD_COLOR);
  EXPECT_FALSE(bgr.empty()) << image;
  cv::Mat canvas(size, size, CV_8UC3, cv::Scalar(114, 114, 114));
  if (letterbox) {
    const double r = std::min(static_cast<double>(size) / bgr.cols, static_cast<double>(size) / bgr.rows);
    const int w = static_cast<int>(std::round(bgr.cols * r));
    const int h = static_cast<int>(std::round(bgr.rows * r));
    cv::Mat resized;
    cv::resize(bgr, resized, cv::Size(w, h), 0, 0, cv::INTER_LINEAR);
    const int x0 = centred ? (size - w) / 2 : 0;
    const int y0 = centred ? (size - h) / 2 : 0;
    resized.copyTo(canvas(cv::Rect(x0, y0, w, h)));
  } else {
    cv::resize(bgr, canvas, cv::Size(size, size), 0, 0, cv::INTER_LINEAR);
  }
  Tensor t(DType::kFloat32, {1, 3, size, size});
  float* dst = t.mutableData<float>();
  for (int c = 0; c < 3; ++c) {
    const int src_c = color == Color::kRgb ? 2 - c : c;
    for (int y = 0; y < size; ++y) {
      for (int x = 0; x < size; ++x) {
        const float v = canvas.at<cv::Vec3b>(y, x)[src_c] * scale;
        dst[(c * size + y) * size + x] = (v - mean[c]) / std_dev[c];
      }
    }
  }
  return t;
}

double relativeError(const Tensor& ours, const cv::Mat& theirs) {
  EXPECT_EQ(static_cast<size_t>(ours.numel()), theirs.total());
  double max_abs = 0.0, max_ref = 0.0;
  const float* b = theirs.ptr<float>();
  for (int64_t i = 0; i < ours.numel(); ++i) {
    max_abs = std::max(max_abs, std::fabs(static_cast<double>(ours.data<float>()[i]) - b[i]));
    max_ref = std::max(max_ref, std::fabs(static_cast<double>(b[i])));
  }
  return max_ref > 0 ? max_abs / max_ref : max_abs;
}

void expectAgreesWithOpenCv(const char* model_name, const Tensor& input) {
  const fs::path path = testDataDir() / "models" / model_name;
  Result<Model> model = loadModel(path);
  ASSERT_TRUE(model.isOk()) << model.status().message();
  Result<Plan> plan = Engine::compile(*model);
  ASSERT_TRUE(plan.isOk()) << plan.status().message();
  ASSERT_TRUE(plan->run(std::vector<Tensor>{input}).isOk());

  Result<Model> converted = makeOpenCvCompatible(*model);
  ASSERT_TRUE(converted.isOk()) << converted.status().message();
  Result<std::string> bytes = serializeModel(*converted);
  ASSERT_TRUE(bytes.isOk()) << bytes.status().message();
  cv::dnn::Net net = cv::dnn::readNetFromONNX(bytes->data(), bytes->size());
  std::vector<int> dims(input.shape().begin(), input.shape().end());
  cv::Mat blob(static_cast<int>(dims.size()), dims.data(), CV_32F, const_cast<void*>(input.raw()));
  net.setInput(blob);
  std::vector<cv::Mat> outs;
  const std::vector<std::string>& names = plan->outputNames();
  net.forward(outs, std::vector<cv::String>(names.begin(), names.end()));
  ASSERT_EQ(outs.size(), plan->numOutputs());
  for (size_t i = 0; i < outs.size(); ++i) {
    const double err = relativeError(plan->output(i), outs[i]);
    EXPECT_LE(err, kAgreement) << model_name << " output '" << names[i] << "'";
    ::testing::Test::RecordProperty(std::string(model_name) + ":" + names[i], std::to_string(err));
  }
}

const float kZero[3] = {0, 0, 0};
const float kOne[3] = {1, 1, 1};

TEST(EngineModels, Yolov5nAgreesWithOpenCv) {
  DETSLIM_REQUIRE_TEST_DATA();
  expectAgreesWithOpenCv("yolov5n_fp32.onnx", preprocess(testDataDir() / "samples/bus.jpg", 640, true, true,
                                                         Color::kRgb, 1.0f / 255.0f, kZero, kOne));
}

TEST(EngineModels, YoloxNanoAgreesWithOpenCv) {
  DETSLIM_REQUIRE_TEST_DATA();
  expectAgreesWithOpenCv("yolox_nano.onnx", preprocess(testDataDir() / "samples/dog.jpg", 416, true, false,
                                                       Color::kBgr, 1.0f, kZero, kOne));
}

TEST(EngineModels, NanodetAgreesWithOpenCv) {
  DETSLIM_REQUIRE_TEST_DATA();
  const float mean[3] = {103.53f, 116.28f, 123.675f};
  const float std_dev[3] = {57.375f, 57.12f, 58.395f};
  expectAgreesWithOpenCv("nanodet_m.onnx", preprocess(testDataDir() / "kitti/image_2/000005.png", 416, false,
                                                      false, Color::kBgr, 1.0f, mean, std_dev));
}

// Optimised plan against the reference-only plan, for the models OpenCV cannot run.
void expectAgreesWithReference(const char* model_name, const Tensor& input) {
  Result<Model> model = loadModel(testDataDir() / "models" / model_name);
  ASSERT_TRUE(model.isOk()) << model.status().message();
  Result<Plan> fast = Engine::compile(*model);
  ASSERT_TRUE(fast.isOk()) << fast.status().message();
  EngineOptions ref_options;
  ref_options.reference_only = true;
  Result<Plan> ref = Engine::compile(*model, ref_options);
  ASSERT_TRUE(ref.isOk()) << ref.status().message();
  ASSERT_TRUE(fast->run(std::vector<Tensor>{input}).isOk());
  ASSERT_TRUE(ref->run(std::vector<Tensor>{input}).isOk());
  for (size_t i = 0; i < fast->numOutputs(); ++i) {
    const Tensor& a = fast->output(i);
    const Tensor& b = ref->output(i);
    ASSERT_EQ(a.shape(), b.shape());
    double max_abs = 0.0, max_ref = 0.0;
    for (int64_t k = 0; k < a.numel(); ++k) {
      ASSERT_TRUE(std::isfinite(a.data<float>()[k])) << model_name << " element " << k;
      max_abs = std::max(max_abs, std::fabs(static_cast<double>(a.data<float>()[k]) - b.data<float>()[k]));
      max_ref = std::max(max_ref, std::fabs(static_cast<double>(b.data<float>()[k])));
    }
    EXPECT_LE(max_abs / max_ref, kAgreement) << model_name << " output " << i;
  }
}

TEST(EngineModels, Yolov8nInt8AgreesWithReferenceKernels) {
  DETSLIM_REQUIRE_TEST_DATA();
  expectAgreesWithReference("yolov8n_int8.onnx", preprocess(testDataDir() / "samples/bus.jpg", 640, true, true,
                                                            Color::kRgb, 1.0f / 255.0f, kZero, kOne));
}

TEST(EngineModels, Yolov5nBatchAndSizeVariants) {
  DETSLIM_REQUIRE_TEST_DATA();
  Result<Model> model = loadModel(testDataDir() / "models/yolox_nano.onnx");
  ASSERT_TRUE(model.isOk());
  // yolox_nano's head has no size-specific constants: 320 and batch 2 compile and run.
  for (const Shape& s : {Shape{1, 3, 320, 320}, Shape{2, 3, 416, 416}}) {
    EngineOptions o;
    o.input_shapes = {{"images", s}};
    Result<Plan> plan = Engine::compile(*model, o);
    ASSERT_TRUE(plan.isOk()) << plan.status().message();
    Tensor in(DType::kFloat32, s);
    for (int64_t i = 0; i < in.numel(); ++i) in.mutableData<float>()[i] = static_cast<float>(i % 255);
    ASSERT_TRUE(plan->run(std::vector<Tensor>{in}).isOk());
    const int64_t cells = (s[2] / 8) * (s[3] / 8) + (s[2] / 16) * (s[3] / 16) + (s[2] / 32) * (s[3] / 32);
    EXPECT_EQ(plan->output(0).shape(), (Shape{s[0], cells, 85}));
  }
  // yolov5n's exported Detect head holds 640-specific reshape constants: 320 is refused at compile
  // time naming the node, never run into a crash.
  Result<Model> v5 = loadModel(testDataDir() / "models/yolov5n_fp32.onnx");
  ASSERT_TRUE(v5.isOk());
  EngineOptions o;
  o.input_shapes = {{"images", {1, 3, 320, 320}}};
  Result<Plan> refused = Engine::compile(*v5, o);
  ASSERT_FALSE(refused.isOk());
  EXPECT_NE(refused.status().message().find("Reshape"), std::string::npos) << refused.status().message();
}

TEST(EngineModels, Yolov5sRunsAndPlansMemory) {
  DETSLIM_REQUIRE_TEST_DATA();
  Result<Model> model = loadModel(testDataDir() / "models/yolov5s_untrained.onnx");
  ASSERT_TRUE(model.isOk());
  Result<Plan> plan = Engine::compile(*model);
  ASSERT_TRUE(plan.isOk()) << plan.status().message();
  Tensor in(DType::kFloat32, {1, 3, 640, 640});
  for (int64_t i = 0; i < in.numel(); ++i) in.mutableData<float>()[i] = static_cast<float>(i % 251) / 251.0f;
  ASSERT_TRUE(plan->run(std::vector<Tensor>{in}).isOk());
  for (int64_t i = 0; i < plan->output(0).numel(); ++i) ASSERT_TRUE(std::isfinite(plan->output(0).data<float>()[i]));
  EXPECT_LT(plan->activationBytes(), plan->activationBytesWithoutReuse() / 2);
  int64_t macs = 0;
  for (const StepInfo& s : plan->steps()) macs += s.macs;
  EXPECT_EQ(macs, 8216780800LL) << "the plan's MACs equal inspect's Conv MACs";
}

}  // namespace
}  // namespace detslim
