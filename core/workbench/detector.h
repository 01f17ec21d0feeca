#pragma once
// A detector ready to run on images: a model compiled by DetSlim's engine, the preprocessing
// profile of its family, its decoder and its class names. The eval and run jobs, the GUI's
// detection view and `detslim detect` all go through it, so an image is always treated alike.

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/datasets/preprocess.h"
#include "core/detect/detect.h"
#include "core/engine/engine.h"
#include "core/graph/graph.h"

namespace detslim {

struct DetectorOptions {
  int threads = 0;                 // engine threads; 0: every core
  int64_t size = 0;                // square network input; 0: the model's (640 when dynamic)
  std::string preprocess;          // profile name ("ultralytics", "yolox", "nanodet"); "": auto
  detect::DecodeOptions decode = detect::DecodeOptions::evaluation();  // family kUnknown: auto
  bool reference_only = false;     // reference kernels only (the oracle)
  ComputePrecision compute = ComputePrecision::kFloat32;  // bf16: oneDNN bf16 convolutions
  std::vector<std::string> keep_fp32_nodes;               // convs left in f32 under bf16
};

struct ImageDetections {
  std::vector<detect::Detection> detections;  // original image pixels
  int image_width = 0;
  int image_height = 0;
  double preprocess_ms = 0.0;  // read + decode + resize + normalise
  double inference_ms = 0.0;   // the engine's run()
  double decode_ms = 0.0;      // decode + NMS + mapping back
};

class Detector {
 public:
  // Compiles `model`, runs it once on a blank image to learn the output shapes, and resolves
  // the family, the class count and the class names (the file's `names` metadata, COCO-80 for
  // an 80-class model without names, else "class0".."classN-1"). Refuses a model without one
  // 4-D image input, an input size that is not positive, or outputs no decoder understands.
  static Result<Detector> create(Model model, const DetectorOptions& options = {});
  static Result<Detector> load(const std::filesystem::path& path,
                               const DetectorOptions& options = {});

  Detector(Detector&&) noexcept;
  Detector& operator=(Detector&&) noexcept;
  ~Detector();

  // Runs one image file. Refuses a file OpenCV cannot decode, naming it.
  Result<ImageDetections> detect(const std::filesystem::path& image_path);

  // The network input for one image (preprocessed, in the plan's input dtype).
  Result<Tensor> prepareInput(const std::filesystem::path& image_path);

  const Model& model() const;
  Plan& plan();
  const datasets::PreprocessProfile& profile() const;
  detect::ModelFamily family() const;
  const std::vector<std::string>& classNames() const;
  // Where the class names came from: "model metadata", "COCO-80 (80 classes, no names in the
  // file)" or "numbered (no names in the file)".
  const std::string& classNamesOrigin() const;
  const detect::DecodeOptions& decodeOptions() const;
  void setDecodeOptions(const detect::DecodeOptions& options);  // e.g. display thresholds
  int inputWidth() const;
  int inputHeight() const;

 private:
  struct State;
  explicit Detector(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace detslim
