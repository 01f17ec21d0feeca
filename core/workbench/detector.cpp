#include "core/workbench/detector.h"

#include <chrono>
#include <utility>

#include "core/datasets/class_map.h"
#include "core/onnx/onnx_io.h"

namespace detslim {

namespace {

constexpr int64_t kDefaultInputSize = 640;  // dynamic H/W: what Ultralytics exports use

double msSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

// The plan takes its input in the compiled dtype; preprocessing produces float32.
Result<Tensor> toInputDtype(Tensor src, DType dtype) {
  if (dtype == DType::kFloat32) return src;
  Tensor dst(dtype, src.shape());
  const float* in = src.data<float>();
  const int64_t n = src.numel();
  if (dtype == DType::kFloat16) {
    uint16_t* out = dst.mutableData<uint16_t>();
    for (int64_t i = 0; i < n; ++i) out[i] = floatToHalf(in[i]);
  } else if (dtype == DType::kBFloat16) {
    uint16_t* out = dst.mutableData<uint16_t>();
    for (int64_t i = 0; i < n; ++i) out[i] = floatToBFloat16(in[i]);
  } else {
    return unsupported(std::string("image input of dtype ") + std::string(dtypeName(dtype)) +
                       " (float32, float16 and bfloat16 are supported)");
  }
  return dst;
}

}  // namespace

struct Detector::State {
  std::unique_ptr<Model> model;  // stable address: DecodeContext points at it
  Plan plan;
  datasets::PreprocessProfile profile;
  detect::DecodeOptions decode;
  std::vector<std::string> class_names;
  std::string class_names_origin;
  DType input_dtype = DType::kFloat32;
  int width = 0;
  int height = 0;
};

Detector::Detector(std::unique_ptr<State> state) : state_(std::move(state)) {}
Detector::Detector(Detector&&) noexcept = default;
Detector& Detector::operator=(Detector&&) noexcept = default;
Detector::~Detector() = default;

Result<Detector> Detector::load(const std::filesystem::path& path,
                                const DetectorOptions& options) {
  DS_ASSIGN_OR_RETURN(Model model, loadModel(path));
  Result<Detector> detector = create(std::move(model), options);
  if (!detector) return detector.status().withContext(path.string());
  return detector;
}

Result<Detector> Detector::create(Model model, const DetectorOptions& options) {
  auto state = std::make_unique<State>();
  state->model = std::make_unique<Model>(std::move(model));
  const Model& m = *state->model;
  // The image input: the one 4-D graph input that is not an initializer.
  const ValueInfo* image_input = nullptr;
  int graph_inputs = 0;
  for (const ValueInfo& in : m.graph.inputs) {
    if (m.graph.isInitializer(in.name)) continue;
    ++graph_inputs;
    image_input = &in;
  }
  if (graph_inputs != 1 || !image_input->type.has_shape || image_input->type.dims.size() != 4) {
    return invalidArgument("a detector needs exactly one 4-D image input [N,3,H,W]; the model "
                           "has " + std::to_string(graph_inputs) + " graph input(s)" +
                           (image_input ? ", '" + image_input->name + "' is " +
                                              image_input->type.toString()
                                        : std::string()));
  }
  if (options.size < 0) {
    return invalidArgument("input size must be positive, got " + std::to_string(options.size));
  }
  Shape shape;
  for (const Dim& d : image_input->type.dims) shape.push_back(d.isStatic() ? d.value : -1);
  shape[0] = 1;
  if (shape[1] <= 0) shape[1] = 3;
  for (int axis : {2, 3}) {
    if (options.size > 0) {
      shape[axis] = options.size;
    } else if (shape[axis] <= 0) {
      shape[axis] = kDefaultInputSize;
    }
  }
  if (shape[1] != 3) {
    return invalidArgument("image input '" + image_input->name + "' has " +
                           std::to_string(shape[1]) + " channels; a detector takes 3");
  }
  EngineOptions engine;
  engine.num_threads = options.threads;
  engine.reference_only = options.reference_only;
  engine.compute = options.compute;
  engine.keep_fp32_nodes = options.keep_fp32_nodes;
  engine.input_shapes.emplace_back(image_input->name, shape);
  DS_ASSIGN_OR_RETURN(state->plan, Engine::compile(m, engine));
  state->input_dtype = state->plan.inputDescs()[0].dtype;
  state->height = static_cast<int>(shape[2]);
  state->width = static_cast<int>(shape[3]);

  // One run on a blank input gives the real output shapes (the file may leave them dynamic).
  DS_ASSIGN_OR_RETURN(Tensor blank, toInputDtype(Tensor(DType::kFloat32, shape),
                                                 state->input_dtype));
  DS_RETURN_IF_ERROR(state->plan.run({&blank, 1}));
  std::vector<Shape> output_shapes;
  for (size_t i = 0; i < state->plan.numOutputs(); ++i) {
    output_shapes.push_back(state->plan.output(i).shape());
  }

  if (options.preprocess.empty()) {
    DS_ASSIGN_OR_RETURN(state->profile, datasets::profileForModel(m, shape, output_shapes));
  } else {
    DS_ASSIGN_OR_RETURN(state->profile,
                        datasets::profileByName(options.preprocess, state->width, state->height));
  }
  state->decode = options.decode;
  if (state->decode.family == detect::ModelFamily::kUnknown) {
    state->decode.family =
        datasets::guessModelFamily(&m, state->width, state->height, output_shapes);
    if (state->decode.family == detect::ModelFamily::kUnknown) {
      std::string shapes;
      for (const Shape& s : output_shapes) shapes += (shapes.empty() ? "" : ", ") + shapeToString(s);
      return unsupported("cannot tell the detector family from outputs " + shapes +
                         "; choose a decoder (yolov5, yolov8, yolox, nanodet, ssd)");
    }
  }
  DS_ASSIGN_OR_RETURN(int64_t classes,
                      detect::numClasses(output_shapes, state->decode.family, state->decode));
  state->class_names = m.classNames();
  state->class_names_origin = "model metadata";
  if (static_cast<int64_t>(state->class_names.size()) != classes) {
    const auto& coco = datasets::coco80ClassNames();
    if (classes == static_cast<int64_t>(coco.size())) {
      state->class_names = coco;
      state->class_names_origin = "COCO-80 (80 classes, no names in the file)";
    } else {
      state->class_names.clear();
      for (int64_t c = 0; c < classes; ++c) state->class_names.push_back("class" + std::to_string(c));
      state->class_names_origin = "numbered (no names in the file)";
    }
  }
  return Detector(std::move(state));
}

Result<ImageDetections> Detector::detect(const std::filesystem::path& image_path) {
  State& s = *state_;
  ImageDetections result;
  auto start = std::chrono::steady_clock::now();
  DS_ASSIGN_OR_RETURN(datasets::PreprocessedImage pre, datasets::preprocess(image_path, s.profile));
  DS_ASSIGN_OR_RETURN(Tensor input, toInputDtype(std::move(pre.tensor), s.input_dtype));
  result.preprocess_ms = msSince(start);
  result.image_width = pre.transform.image_width;
  result.image_height = pre.transform.image_height;

  start = std::chrono::steady_clock::now();
  DS_RETURN_IF_ERROR(s.plan.run({&input, 1}));
  result.inference_ms = msSince(start);

  start = std::chrono::steady_clock::now();
  std::vector<Tensor> outputs;
  outputs.reserve(s.plan.numOutputs());
  for (size_t i = 0; i < s.plan.numOutputs(); ++i) outputs.push_back(s.plan.output(i));
  detect::DecodeContext context;
  context.input_width = s.width;
  context.input_height = s.height;
  context.transform = pre.transform;
  context.model = s.model.get();
  DS_ASSIGN_OR_RETURN(result.detections, detect::decode(outputs, context, s.decode));
  result.decode_ms = msSince(start);
  return result;
}

Result<Tensor> Detector::prepareInput(const std::filesystem::path& image_path) {
  DS_ASSIGN_OR_RETURN(datasets::PreprocessedImage pre,
                      datasets::preprocess(image_path, state_->profile));
  return toInputDtype(std::move(pre.tensor), state_->input_dtype);
}

const Model& Detector::model() const { return *state_->model; }
Plan& Detector::plan() { return state_->plan; }
const datasets::PreprocessProfile& Detector::profile() const { return state_->profile; }
detect::ModelFamily Detector::family() const { return state_->decode.family; }
const std::vector<std::string>& Detector::classNames() const { return state_->class_names; }
const std::string& Detector::classNamesOrigin() const { return state_->class_names_origin; }
const detect::DecodeOptions& Detector::decodeOptions() const { return state_->decode; }
void Detector::setDecodeOptions(const detect::DecodeOptions& options) {
  const detect::ModelFamily family = state_->decode.family;
  state_->decode = options;
  if (state_->decode.family == detect::ModelFamily::kUnknown) state_->decode.family = family;
}
int Detector::inputWidth() const { return state_->width; }
int Detector::inputHeight() const { return state_->height; }

}  // namespace detslim
