#include "core/datasets/preprocess.h"

#include <algorithm>
#include <cmath>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace detslim::datasets {
namespace {

// YOLO-family heads predict at these strides; the number of anchor points of a raw grid output
// is the number of cells summed over them.
constexpr int kYoloStrides[] = {8, 16, 32};
// Ultralytics YOLOv5 has 3 anchors per cell.
constexpr int64_t kYoloV5AnchorsPerCell = 3;
// Channels of a box: cx, cy, w, h (+ objectness for v5 / YOLOX).
constexpr int64_t kBoxChannels = 4;

// NanoDet per-level output pairs (scores + distributions) for 3 strides.
constexpr size_t kNanodetOutputs = 6;

// NanoDet's training mean/std (BGR order, 0-255 pixels).
constexpr std::array<float, 3> kNanodetMean = {103.53f, 116.28f, 123.675f};
constexpr std::array<float, 3> kNanodetStd = {57.375f, 57.12f, 58.395f};
// Letterbox fill used by Ultralytics and YOLOX.
constexpr float kYoloPadValue = 114.0f;
// Ultralytics rounds the two half-paddings with ±0.1 so an odd total padding puts the extra
// pixel on the bottom/right; reproduced exactly so boxes map back like theirs.
constexpr double kUltralyticsPadRounding = 0.1;

int64_t gridCells(int width, int height) {
  int64_t cells = 0;
  for (int stride : kYoloStrides) {
    cells += static_cast<int64_t>((width + stride - 1) / stride) * ((height + stride - 1) / stride);
  }
  return cells;
}

bool hasUltralyticsMetadata(const Model* model) {
  if (model == nullptr) return false;
  if (model->metadataValue("stride") != nullptr) return true;
  const std::string* author = model->metadataValue("author");
  return author != nullptr && author->find("Ultralytics") != std::string::npos;
}

}  // namespace

const char* modelFamilyName(ModelFamily family) {
  switch (family) {
    case ModelFamily::kYoloV5: return "yolov5";
    case ModelFamily::kYoloV8: return "yolov8";
    case ModelFamily::kYolox: return "yolox";
    case ModelFamily::kNanodet: return "nanodet";
    case ModelFamily::kSsd: return "ssd";
    case ModelFamily::kUnknown: break;
  }
  return "unknown";
}

Result<ModelFamily> parseModelFamily(const std::string& name) {
  for (ModelFamily f : {ModelFamily::kYoloV5, ModelFamily::kYoloV8, ModelFamily::kYolox,
                        ModelFamily::kNanodet, ModelFamily::kSsd}) {
    if (name == modelFamilyName(f)) return f;
  }
  return invalidArgument("unknown decoder '" + name +
                         "' (expected yolov5, yolov8, yolox, nanodet or ssd)");
}

ModelFamily guessModelFamily(const Model* model, int input_width, int input_height,
                             std::span<const Shape> output_shapes) {
  const int64_t cells = gridCells(input_width, input_height);
  if (output_shapes.size() == kNanodetOutputs) {
    // Every output is [N,A_l,K]; distributions have K divisible by 4, scores the class count.
    bool all_rank3 = std::all_of(output_shapes.begin(), output_shapes.end(),
                                 [](const Shape& s) { return s.size() == 3; });
    if (all_rank3) return ModelFamily::kNanodet;
  }
  if (output_shapes.size() == 2) {
    const Shape& a = output_shapes[0];
    const Shape& b = output_shapes[1];
    const bool a_boxes = !a.empty() && a.back() == kBoxChannels;
    const bool b_boxes = !b.empty() && b.back() == kBoxChannels;
    if ((a_boxes || b_boxes) && a.size() >= 3 && b.size() >= 3) return ModelFamily::kSsd;
  }
  if (output_shapes.size() != 1 || output_shapes[0].size() != 3) return ModelFamily::kUnknown;
  const Shape& s = output_shapes[0];
  const int64_t d1 = s[1];
  const int64_t d2 = s[2];
  // [N,4+C,A]: the channel axis is the short one (84 vs 8400).
  if (d1 < d2 && d1 > kBoxChannels) return ModelFamily::kYoloV8;
  if (d2 > kBoxChannels + 1) {
    if (d1 == cells && !hasUltralyticsMetadata(model)) return ModelFamily::kYolox;
    return ModelFamily::kYoloV5;
  }
  return ModelFamily::kUnknown;
}

PreprocessProfile profileForFamily(ModelFamily family, int width, int height) {
  PreprocessProfile p;
  p.width = width;
  p.height = height;
  switch (family) {
    case ModelFamily::kYolox:
      p.name = "yolox";
      p.centred = false;
      p.rgb = false;
      p.scale = 1.0f;
      p.pad_value = kYoloPadValue;
      break;
    case ModelFamily::kNanodet:
      p.name = "nanodet";
      p.resize = ResizeMode::kStretch;
      p.rgb = false;
      p.scale = 1.0f;
      p.mean = kNanodetMean;
      p.std = kNanodetStd;
      break;
    case ModelFamily::kSsd:
      // torchvision/ONNX-zoo MobileNet-SSD style: RGB, (x - 127.5) / 127.5.
      p.name = "ssd";
      p.resize = ResizeMode::kStretch;
      p.scale = 1.0f;
      p.mean = {127.5f, 127.5f, 127.5f};
      p.std = {127.5f, 127.5f, 127.5f};
      break;
    case ModelFamily::kYoloV5:
    case ModelFamily::kYoloV8:
    case ModelFamily::kUnknown:
      p.name = "ultralytics";
      p.pad_value = kYoloPadValue;
      break;
  }
  return p;
}

Result<PreprocessProfile> profileByName(const std::string& name, int width, int height) {
  if (width <= 0 || height <= 0) {
    return invalidArgument("input size must be positive, got " + std::to_string(width) + "x" +
                           std::to_string(height));
  }
  if (name == "ultralytics") return profileForFamily(ModelFamily::kYoloV5, width, height);
  if (name == "yolox") return profileForFamily(ModelFamily::kYolox, width, height);
  if (name == "nanodet") return profileForFamily(ModelFamily::kNanodet, width, height);
  if (name == "ssd") return profileForFamily(ModelFamily::kSsd, width, height);
  return notFound("unknown preprocessing profile '" + name +
                  "' (expected ultralytics, yolox, nanodet or ssd)");
}

Result<PreprocessProfile> profileForModel(const Model& model, const Shape& input_shape,
                                          std::span<const Shape> output_shapes) {
  if (input_shape.size() != 4 || input_shape[1] != 3 || input_shape[2] <= 0 ||
      input_shape[3] <= 0) {
    return invalidArgument("expected an image input [N,3,H,W], got " + shapeToString(input_shape));
  }
  const int height = static_cast<int>(input_shape[2]);
  const int width = static_cast<int>(input_shape[3]);
  std::vector<Shape> declared;
  if (output_shapes.empty()) {
    for (const ValueInfo& out : model.graph.outputs) {
      std::optional<Shape> s = out.type.staticShape();
      if (!s) {
        declared.clear();
        break;
      }
      declared.push_back(*s);
    }
    output_shapes = declared;
  }
  ModelFamily family = guessModelFamily(&model, width, height, output_shapes);
  return profileForFamily(family, width, height);
}

Result<PreprocessedImage> preprocess(const cv::Mat& image, const PreprocessProfile& profile) {
  if (image.empty()) return invalidArgument("preprocess: empty image");
  if (image.type() != CV_8UC3) {
    return invalidArgument("preprocess: expected an 8-bit 3-channel BGR image");
  }
  if (profile.width <= 0 || profile.height <= 0) {
    return invalidArgument("preprocess: profile size must be positive");
  }
  const int src_w = image.cols;
  const int src_h = image.rows;
  PreprocessedImage out;
  ImageTransform& t = out.transform;
  t.image_width = src_w;
  t.image_height = src_h;

  cv::Mat canvas;
  if (profile.resize == ResizeMode::kStretch) {
    cv::resize(image, canvas, cv::Size(profile.width, profile.height), 0, 0, cv::INTER_LINEAR);
    t.scale_x = static_cast<float>(profile.width) / static_cast<float>(src_w);
    t.scale_y = static_cast<float>(profile.height) / static_cast<float>(src_h);
  } else {
    const double r = std::min(static_cast<double>(profile.width) / src_w,
                              static_cast<double>(profile.height) / src_h);
    int new_w = 0;
    int new_h = 0;
    int left = 0;
    int top = 0;
    if (profile.centred) {
      // Ultralytics LetterBox: rounded unpadded size, padding split with ±0.1 rounding.
      new_w = static_cast<int>(std::lround(src_w * r));
      new_h = static_cast<int>(std::lround(src_h * r));
      const double dw = (profile.width - new_w) / 2.0;
      const double dh = (profile.height - new_h) / 2.0;
      left = static_cast<int>(std::lround(dw - kUltralyticsPadRounding));
      top = static_cast<int>(std::lround(dh - kUltralyticsPadRounding));
    } else {
      // YOLOX preproc: truncated size, image in the top-left corner.
      new_w = static_cast<int>(src_w * r);
      new_h = static_cast<int>(src_h * r);
    }
    new_w = std::clamp(new_w, 1, profile.width);
    new_h = std::clamp(new_h, 1, profile.height);
    cv::Mat resized;
    if (new_w != src_w || new_h != src_h) {
      cv::resize(image, resized, cv::Size(new_w, new_h), 0, 0, cv::INTER_LINEAR);
    } else {
      resized = image;
    }
    const cv::Scalar pad(profile.pad_value, profile.pad_value, profile.pad_value);
    canvas = cv::Mat(profile.height, profile.width, CV_8UC3, pad);
    resized.copyTo(canvas(cv::Rect(left, top, new_w, new_h)));
    t.scale_x = static_cast<float>(r);
    t.scale_y = static_cast<float>(r);
    t.pad_x = static_cast<float>(left);
    t.pad_y = static_cast<float>(top);
  }

  const int h = profile.height;
  const int w = profile.width;
  out.tensor = Tensor(DType::kFloat32, Shape{1, 3, h, w});
  float* dst = out.tensor.mutableData<float>();
  const size_t plane = static_cast<size_t>(h) * w;
  for (int c = 0; c < 3; ++c) {
    // Network channel c reads BGR channel c (BGR input) or 2-c (RGB input).
    const int src_c = profile.rgb ? 2 - c : c;
    const float mul = profile.scale / profile.std[c];
    const float add = -profile.mean[c] / profile.std[c];
    float* dst_plane = dst + c * plane;
    for (int y = 0; y < h; ++y) {
      const uint8_t* row = canvas.ptr<uint8_t>(y);
      float* dst_row = dst_plane + static_cast<size_t>(y) * w;
      for (int x = 0; x < w; ++x) dst_row[x] = row[x * 3 + src_c] * mul + add;
    }
  }
  return out;
}

Result<PreprocessedImage> preprocess(const std::filesystem::path& image_path,
                                     const PreprocessProfile& profile) {
  cv::Mat image = cv::imread(image_path.string(), cv::IMREAD_COLOR);
  if (image.empty()) return ioError("cannot read image " + image_path.string());
  return preprocess(image, profile);
}

}  // namespace detslim::datasets
