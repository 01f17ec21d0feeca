#pragma once
// Peer engines measured beside DetSlim in the same run (`detslim bench --vs ort|opencv`):
// ONNX Runtime in a Node.js child process (tools/peers/ort_peer.js), OpenCV DNN in process.

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/base/tensor.h"
#include "core/graph/graph.h"

namespace detslim {

class PeerEngine {
 public:
  virtual ~PeerEngine() = default;
  virtual std::string name() const = 0;     // "onnxruntime 1.30.0", "opencv-dnn 4.6.0"
  // One inference on the input given at creation; returns the time the peer measured (ms).
  virtual Result<double> runOnce() = 0;
  // One inference; output 0 as float32 (for agreement checks).
  virtual Result<Tensor> output() = 0;
};

// Starts tools/peers/ort_peer.js (found beside the executable's source tree or through
// $DETSLIM_PEERS_DIR) on `model_path` with one float32 input.
Result<std::unique_ptr<PeerEngine>> startOrtPeer(const std::filesystem::path& model_path,
                                                 const std::string& input_name, const Tensor& input,
                                                 int threads);

// OpenCV DNN 4.6 on the model (converted in memory where 4.6 cannot read it: see
// makeOpenCvCompatible), with one float32 input.
Result<std::unique_ptr<PeerEngine>> startOpenCvPeer(const Model& model, const Tensor& input, int threads);

// A copy of `model` that OpenCV DNN 4.6 can read: Split sizes given as an input become the
// `split` attribute, Reshape's allowzero is dropped, Resize gets an empty roi input, opset 12.
// Refuses a model it cannot convert, naming the node.
Result<Model> makeOpenCvCompatible(const Model& model);

// Where tools/peers lives: $DETSLIM_PEERS_DIR, else the source tree this build came from.
std::filesystem::path peersDir();

}  // namespace detslim
