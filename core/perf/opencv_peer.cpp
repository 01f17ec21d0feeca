// OpenCV DNN 4.6 peer (in process) and the conversion of opset-13+ models it cannot read.

#include <opencv2/core.hpp>
#include <opencv2/core/utility.hpp>
#include <opencv2/dnn.hpp>

#include <chrono>
#include <cstring>

#include "core/graph/passes.h"
#include "core/onnx/onnx_io.h"
#include "core/perf/peer.h"

namespace detslim {

Result<Model> makeOpenCvCompatible(const Model& model) {
  Model m = model;
  DS_ASSIGN_OR_RETURN(PassReport folded, foldConstants(m));
  (void)folded;
  Graph& g = m.graph;
  auto constantInts = [&](const std::string& name, const Node& n) -> Result<std::vector<int64_t>> {
    const Tensor* t = g.initializer(name);
    if (!t) return unsupported(n.describe() + ": input '" + name + "' is not a constant, OpenCV 4.6 needs it as an attribute");
    return t->toInt64Vector();
  };
  for (Node& n : g.nodes) {
    if (!n.domain.empty()) continue;
    if ((n.op_type == "Split" || n.op_type == "Squeeze" || n.op_type == "Unsqueeze" ||
         n.op_type == "ReduceSum") && n.inputs.size() >= 2 && !n.inputs[1].empty()) {
      DS_ASSIGN_OR_RETURN(std::vector<int64_t> values, constantInts(n.inputs[1], n));
      n.setAttr(Attribute::makeInts(n.op_type == "Split" ? "split" : "axes", values));
      n.inputs.resize(1);
    } else if (n.op_type == "Reshape") {
      n.removeAttr("allowzero");
    } else if (n.op_type == "Resize" && (n.inputs.size() < 2 || n.inputs[1].empty())) {
      const std::string roi = g.uniqueName(n.name + "_roi");
      g.setInitializer(roi, Tensor(DType::kFloat32, {0}));
      if (n.inputs.size() < 2) n.inputs.resize(2);
      n.inputs[1] = roi;
    }
  }
  for (OpsetImport& o : m.opset_imports) {
    if (o.domain.empty() || o.domain == "ai.onnx") o.version = std::min<int64_t>(o.version, 12);
  }
  if (m.ir_version > 7) m.ir_version = 7;
  g.inferred_types.clear();
  return m;
}

namespace {

class OpenCvPeer final : public PeerEngine {
 public:
  OpenCvPeer(cv::dnn::Net net, const Tensor& input) : net_(std::move(net)) {
    std::vector<int> dims(input.shape().begin(), input.shape().end());
    blob_ = cv::Mat(static_cast<int>(dims.size()), dims.data(), CV_32F);
    std::memcpy(blob_.data, input.raw(), input.bytes());
  }
  std::string name() const override { return std::string("opencv-dnn ") + CV_VERSION; }
  Result<double> runOnce() override {
    const auto t0 = std::chrono::steady_clock::now();
    net_.setInput(blob_);
    cv::Mat out = net_.forward();
    const auto t1 = std::chrono::steady_clock::now();
    last_ = out;
    return std::chrono::duration<double, std::milli>(t1 - t0).count();
  }
  Result<Tensor> output() override {
    try {
      net_.setInput(blob_);
      cv::Mat out = net_.forward();
      Shape shape;
      for (int i = 0; i < out.dims; ++i) shape.push_back(out.size[i]);
      Tensor t(DType::kFloat32, shape);
      std::memcpy(t.rawMutable(), out.ptr<float>(), t.bytes());
      return t;
    } catch (const cv::Exception& e) {
      return unsupported(std::string("OpenCV DNN forward failed: ") + e.what());
    }
  }

 private:
  cv::dnn::Net net_;
  cv::Mat blob_;
  cv::Mat last_;
};

}  // namespace

Result<std::unique_ptr<PeerEngine>> startOpenCvPeer(const Model& model, const Tensor& input, int threads) {
  if (input.dtype() != DType::kFloat32) return unsupported("the OpenCV DNN peer takes float32 inputs only");
  DS_ASSIGN_OR_RETURN(Model converted, makeOpenCvCompatible(model));
  SaveOptions no_check;
  DS_ASSIGN_OR_RETURN(std::string bytes, serializeModel(converted));
  try {
    cv::setNumThreads(threads);
    cv::dnn::Net net = cv::dnn::readNetFromONNX(bytes.data(), bytes.size());
    net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    return std::unique_ptr<PeerEngine>(std::make_unique<OpenCvPeer>(std::move(net), input));
  } catch (const cv::Exception& e) {
    return unsupported(std::string("OpenCV DNN 4.6 cannot read the model: ") + e.what());
  }
}

}  // namespace detslim
