#pragma once
// Image preprocessing for detectors: one PreprocessProfile per model family (letterbox or plain
// resize, pad, channel order, scale, mean/std), chosen from the model's metadata and output
// shapes, and the transform that maps boxes from network input pixels back to the image.

#include <array>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/base/tensor.h"
#include "core/graph/graph.h"

// Declared, not included: OpenCV stays a private dependency of detslim::datasets.
namespace cv {
class Mat;
}  // namespace cv

namespace detslim::datasets {

enum class ResizeMode {
  kLetterbox,  // keep the aspect ratio, pad the rest
  kStretch,    // plain resize to the input size
};

struct PreprocessProfile {
  std::string name = "ultralytics";  // family, for messages and docs
  int width = 640;                   // network input size
  int height = 640;
  ResizeMode resize = ResizeMode::kLetterbox;
  float pad_value = 114.0f;  // letterbox fill, in 0-255 pixel units (before scale/mean/std)
  bool centred = true;       // letterbox: pad both sides equally (Ultralytics) or only right/bottom
  bool rgb = true;           // channel order the network expects (images are read as BGR)
  // value = (pixel * scale - mean[c]) / std[c], c in the network's channel order.
  float scale = 1.0f / 255.0f;
  std::array<float, 3> mean = {0.0f, 0.0f, 0.0f};
  std::array<float, 3> std = {1.0f, 1.0f, 1.0f};
};

// Maps network input pixels to original image pixels: orig = (net - pad) / scale, per axis.
struct ImageTransform {
  float scale_x = 1.0f;
  float scale_y = 1.0f;
  float pad_x = 0.0f;
  float pad_y = 0.0f;
  int image_width = 0;   // original image size, for clipping
  int image_height = 0;

  float toImageX(float x) const { return (x - pad_x) / scale_x; }
  float toImageY(float y) const { return (y - pad_y) / scale_y; }
  float toInputX(float x) const { return x * scale_x + pad_x; }
  float toInputY(float y) const { return y * scale_y + pad_y; }
};

struct PreprocessedImage {
  Tensor tensor;  // float32 [1,3,H,W]
  ImageTransform transform;
};

// Detector families DetSlim knows how to preprocess and decode.
enum class ModelFamily {
  kUnknown,
  kYoloV5,  // one output [N,A,5+C], decoded in graph: cx,cy,w,h,obj,cls (Ultralytics v5)
  kYoloV8,  // one output [N,4+C,A], decoded in graph: cx,cy,w,h,cls (Ultralytics v8+)
  kYolox,   // one output [N,A,5+C] of raw grid predictions, A = Σ cells over strides 8/16/32
  kNanodet, // per level: class scores [N,A_l,C] and distributions [N,A_l,4·(reg_max+1)]
  kSsd,     // boxes [N,A,4] (x1,y1,x2,y2) + scores [N,A,C]
};

const char* modelFamilyName(ModelFamily family);
// Parses "yolov5", "yolov8", "yolox", "nanodet", "ssd"; kInvalidArgument otherwise.
Result<ModelFamily> parseModelFamily(const std::string& name);

// Infers the family from the output shapes (static [N,...] shapes, graph output order), the
// network input size and, when `model` is given, its metadata. kUnknown when nothing fits.
ModelFamily guessModelFamily(const Model* model, int input_width, int input_height,
                             std::span<const Shape> output_shapes);

// The default profile of a family at the given input size.
PreprocessProfile profileForFamily(ModelFamily family, int width, int height);

// Named profiles: "ultralytics" (YOLOv5/v8), "yolox", "nanodet". kNotFound otherwise.
Result<PreprocessProfile> profileByName(const std::string& name, int width, int height);

// The profile for `model` whose (first) input has `input_shape` [N,3,H,W]:
//  - Ultralytics metadata, or one decoded-head output [1,A,5+C] / [1,4+C,A] → "ultralytics";
//  - one output [1,A,85]-like raw grid with A = Σ (H/s·W/s) over strides 8/16/32 and no
//    Ultralytics metadata → "yolox";
//  - six outputs (class scores and 4·(reg_max+1) distributions per level) → "nanodet".
// Falls back to "ultralytics" when nothing matches (the most common family). Output shapes come
// from the graph's declared outputs; pass `output_shapes` (e.g. from a compiled plan) when the
// file leaves them dynamic.
Result<PreprocessProfile> profileForModel(const Model& model, const Shape& input_shape,
                                          std::span<const Shape> output_shapes = {});

// Resizes/pads `image` (8-bit BGR, as cv::imread gives) per `profile`.
Result<PreprocessedImage> preprocess(const cv::Mat& image, const PreprocessProfile& profile);
Result<PreprocessedImage> preprocess(const std::filesystem::path& image_path,
                                     const PreprocessProfile& profile);

}  // namespace detslim::datasets
