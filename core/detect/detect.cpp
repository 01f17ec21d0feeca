#include "core/detect/detect.h"

#include <algorithm>
#include <cmath>
#include <optional>

namespace detslim::detect {
namespace {

using datasets::modelFamilyName;

constexpr int kYoloStrides[] = {8, 16, 32};
// NanoDet levels may go beyond stride 32 (e.g. NanoDet-Plus adds 64).
constexpr int kNanodetStrides[] = {8, 16, 32, 64, 128};
constexpr int64_t kBoxChannels = 4;  // cx,cy,w,h or x1,y1,x2,y2
constexpr int kSides = 4;            // NanoDet distances: left, top, right, bottom
// SSD boxes whose coordinates all stay below this are normalised to [0,1] (a little slack for
// boxes that reach past the edge); larger ones are already in input pixels.
constexpr float kNormalisedCoordLimit = 1.5f;

// A float view of an output: zero-copy for float32, converted otherwise (FP16 models).
class FloatView {
 public:
  explicit FloatView(const Tensor& t) {
    if (t.dtype() == DType::kFloat32) {
      data_ = t.data<float>();
    } else {
      converted_ = t.toFloatVector();
      data_ = converted_.data();
    }
  }
  const float* data() const { return data_; }

 private:
  const float* data_ = nullptr;
  std::vector<float> converted_;
};

std::string shapesToString(std::span<const Tensor> outputs) {
  std::string s;
  for (const Tensor& t : outputs) s += (s.empty() ? "" : ", ") + shapeToString(t.shape());
  return s;
}

Detection fromCenter(float cx, float cy, float w, float h, float score, int cls) {
  return {cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, score, cls};
}

// Adds the candidates of one anchor: obj × cls[c] (obj = 1 when the head has none).
void addCandidates(const Detection& box, float obj, const float* cls, int64_t num_classes,
                   int64_t cls_stride, const DecodeOptions& options,
                   std::vector<Detection>& out) {
  if (options.multi_label) {
    for (int64_t c = 0; c < num_classes; ++c) {
      const float score = obj * cls[c * cls_stride];
      if (score > options.conf_threshold) {
        Detection d = box;
        d.score = score;
        d.class_id = static_cast<int>(c);
        out.push_back(d);
      }
    }
    return;
  }
  int64_t best = 0;
  for (int64_t c = 1; c < num_classes; ++c) {
    if (cls[c * cls_stride] > cls[best * cls_stride]) best = c;
  }
  const float score = obj * cls[best * cls_stride];
  if (score > options.conf_threshold) {
    Detection d = box;
    d.score = score;
    d.class_id = static_cast<int>(best);
    out.push_back(d);
  }
}

Status requireRank3(const Tensor& t, int64_t batch, const char* family) {
  if (t.rank() != 3) {
    return invalidArgument(std::string(family) + " output must be [N,?,?], got " +
                           shapeToString(t.shape()));
  }
  if (batch < 0 || batch >= t.shape()[0]) {
    return invalidArgument("batch index " + std::to_string(batch) + " outside " +
                           shapeToString(t.shape()));
  }
  return Status::ok();
}

// [N,A,5+C]: cx,cy,w,h,obj,cls...; YOLOX first decodes the raw grid predictions.
Status decodeAnchorMajor(const Tensor& out, const DecodeContext& ctx, const DecodeOptions& o,
                         int64_t batch, bool yolox, std::vector<Detection>& dst) {
  DS_RETURN_IF_ERROR(requireRank3(out, batch, yolox ? "YOLOX" : "YOLOv5"));
  const int64_t anchors = out.shape()[1];
  const int64_t channels = out.shape()[2];
  if (channels <= kBoxChannels + 1) {
    return invalidArgument("YOLO output needs more than 5 channels, got " +
                           shapeToString(out.shape()));
  }
  const int64_t num_classes = channels - kBoxChannels - 1;
  FloatView view(out);
  const float* base = view.data() + batch * anchors * channels;

  // YOLOX: anchor a lies on level l at cell (gx, gy), levels in stride order, rows x-fastest.
  std::vector<float> grid_x;
  std::vector<float> grid_y;
  std::vector<float> strides;
  if (yolox) {
    for (int s : kYoloStrides) {
      const int gw = (ctx.input_width + s - 1) / s;
      const int gh = (ctx.input_height + s - 1) / s;
      for (int gy = 0; gy < gh; ++gy) {
        for (int gx = 0; gx < gw; ++gx) {
          grid_x.push_back(static_cast<float>(gx));
          grid_y.push_back(static_cast<float>(gy));
          strides.push_back(static_cast<float>(s));
        }
      }
    }
    if (static_cast<int64_t>(strides.size()) != anchors) {
      return invalidArgument("YOLOX output has " + std::to_string(anchors) +
                             " anchors but a " + std::to_string(ctx.input_width) + "x" +
                             std::to_string(ctx.input_height) + " input has " +
                             std::to_string(strides.size()) + " grid cells at strides 8/16/32");
    }
  }
  for (int64_t a = 0; a < anchors; ++a) {
    const float* p = base + a * channels;
    const float obj = p[4];
    // Objectness bounds every class score (cls ≤ 1), so most anchors stop here.
    if (obj <= o.conf_threshold) continue;
    float cx = p[0];
    float cy = p[1];
    float w = p[2];
    float h = p[3];
    if (yolox) {
      const float s = strides[a];
      cx = (cx + grid_x[a]) * s;
      cy = (cy + grid_y[a]) * s;
      w = std::exp(w) * s;
      h = std::exp(h) * s;
    }
    addCandidates(fromCenter(cx, cy, w, h, 0.0f, 0), obj, p + kBoxChannels + 1, num_classes, 1,
                  o, dst);
  }
  return Status::ok();
}

// [N,4+C,A]: channel-major, no objectness.
Status decodeYoloV8(const Tensor& out, const DecodeOptions& o, int64_t batch,
                    std::vector<Detection>& dst) {
  DS_RETURN_IF_ERROR(requireRank3(out, batch, "YOLOv8"));
  const int64_t channels = out.shape()[1];
  const int64_t anchors = out.shape()[2];
  if (channels <= kBoxChannels) {
    return invalidArgument("YOLOv8 output needs more than 4 channels, got " +
                           shapeToString(out.shape()));
  }
  const int64_t num_classes = channels - kBoxChannels;
  FloatView view(out);
  const float* base = view.data() + batch * anchors * channels;
  for (int64_t a = 0; a < anchors; ++a) {
    const float* p = base + a;
    const Detection box = fromCenter(p[0], p[anchors], p[2 * anchors], p[3 * anchors], 0.0f, 0);
    addCandidates(box, 1.0f, p + kBoxChannels * anchors, num_classes, anchors, o, dst);
  }
  return Status::ok();
}

std::optional<int> nanodetStride(int64_t anchors, const DecodeContext& ctx) {
  for (int s : kNanodetStrides) {
    const int64_t gw = (ctx.input_width + s - 1) / s;
    const int64_t gh = (ctx.input_height + s - 1) / s;
    if (gw * gh == anchors) return s;
  }
  return std::nullopt;
}

Status decodeNanodet(std::span<const Tensor> outputs, const DecodeContext& ctx,
                     const DecodeOptions& o, int64_t batch, std::vector<Detection>& dst) {
  const int64_t bins = o.nanodet_reg_max + 1;
  const int64_t dist_channels = kSides * bins;
  // Pair each distribution output with the score output of the same level (same anchor count).
  std::vector<const Tensor*> scores;
  std::vector<const Tensor*> dists;
  for (const Tensor& t : outputs) {
    DS_RETURN_IF_ERROR(requireRank3(t, batch, "NanoDet"));
    (t.shape()[2] == dist_channels ? dists : scores).push_back(&t);
  }
  // 32 classes would look like distributions: the first output of each level is then the score.
  if (scores.empty() && !dists.empty()) {
    for (size_t i = 0; i < dists.size();) {
      auto partner = std::find_if(dists.begin() + i + 1, dists.end(), [&](const Tensor* t) {
        return t->shape()[1] == dists[i]->shape()[1];
      });
      if (partner == dists.end()) break;
      scores.push_back(dists[i]);
      dists.erase(partner);  // erase the later one first so index i stays valid
      dists.erase(dists.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
  if (scores.size() != dists.size() || scores.empty()) {
    return invalidArgument("NanoDet outputs must pair class scores with " +
                           std::to_string(dist_channels) + "-channel distributions (reg_max " +
                           std::to_string(o.nanodet_reg_max) + "), got " +
                           shapesToString(outputs));
  }
  std::vector<float> probs(bins);
  for (const Tensor* score_t : scores) {
    const int64_t anchors = score_t->shape()[1];
    auto dist_it = std::find_if(dists.begin(), dists.end(),
                                [&](const Tensor* t) { return t->shape()[1] == anchors; });
    if (dist_it == dists.end()) {
      return invalidArgument("NanoDet: no distribution output with " + std::to_string(anchors) +
                             " anchors among " + shapesToString(outputs));
    }
    const std::optional<int> stride = nanodetStride(anchors, ctx);
    if (!stride) {
      return invalidArgument("NanoDet: " + std::to_string(anchors) +
                             " anchors match no stride for a " + std::to_string(ctx.input_width) +
                             "x" + std::to_string(ctx.input_height) + " input");
    }
    const int64_t num_classes = score_t->shape()[2];
    const int grid_w = (ctx.input_width + *stride - 1) / *stride;
    FloatView score_view(*score_t);
    FloatView dist_view(**dist_it);
    const float* score_base = score_view.data() + batch * anchors * num_classes;
    const float* dist_base = dist_view.data() + batch * anchors * dist_channels;
    const float s = static_cast<float>(*stride);
    const float half = (s - 1.0f) / 2.0f;  // NanoDet's centre offset (MANIFEST)
    for (int64_t a = 0; a < anchors; ++a) {
      const float* cls = score_base + a * num_classes;
      // The max score bounds every candidate: skip the softmax for hopeless anchors.
      if (*std::max_element(cls, cls + num_classes) <= o.conf_threshold) continue;
      const float cx = static_cast<float>(a % grid_w) * s + half;
      const float cy = static_cast<float>(a / grid_w) * s + half;
      float dist[kSides];
      for (int side = 0; side < kSides; ++side) {
        const float* logits = dist_base + a * dist_channels + side * bins;
        const float top = *std::max_element(logits, logits + bins);
        float sum = 0.0f;
        for (int64_t k = 0; k < bins; ++k) sum += probs[k] = std::exp(logits[k] - top);
        float expect = 0.0f;
        for (int64_t k = 0; k < bins; ++k) expect += probs[k] * static_cast<float>(k);
        dist[side] = expect / sum * s;
      }
      const float in_w = static_cast<float>(ctx.input_width);
      const float in_h = static_cast<float>(ctx.input_height);
      // NanoDet clips its boxes to the input before NMS.
      const Detection box{std::clamp(cx - dist[0], 0.0f, in_w),
                          std::clamp(cy - dist[1], 0.0f, in_h),
                          std::clamp(cx + dist[2], 0.0f, in_w),
                          std::clamp(cy + dist[3], 0.0f, in_h), 0.0f, 0};
      addCandidates(box, 1.0f, cls, num_classes, 1, o, dst);
    }
  }
  return Status::ok();
}

Status decodeSsd(std::span<const Tensor> outputs, const DecodeContext& ctx,
                 const DecodeOptions& o, int64_t batch, std::vector<Detection>& dst) {
  if (outputs.size() != 2) {
    return invalidArgument("SSD needs two outputs (boxes, scores), got " +
                           shapesToString(outputs));
  }
  // The boxes output ends in 4; when both do (4 classes), the first is the boxes.
  const bool first_is_boxes = outputs[0].shape().back() == kBoxChannels;
  const Tensor& boxes_t = first_is_boxes ? outputs[0] : outputs[1];
  const Tensor& scores_t = first_is_boxes ? outputs[1] : outputs[0];
  if (boxes_t.rank() < 3 || scores_t.rank() != 3 || boxes_t.shape()[1] != scores_t.shape()[1] ||
      boxes_t.shape().back() != kBoxChannels || batch >= scores_t.shape()[0]) {
    return invalidArgument("SSD outputs must be boxes [N,A,(1,)4] and scores [N,A,C], got " +
                           shapesToString(outputs));
  }
  const int64_t anchors = scores_t.shape()[1];
  const int64_t num_classes = scores_t.shape()[2];
  FloatView box_view(boxes_t);
  FloatView score_view(scores_t);
  const float* boxes = box_view.data() + batch * anchors * kBoxChannels;
  const float* scores = score_view.data() + batch * anchors * num_classes;
  float max_coord = 0.0f;
  for (int64_t i = 0; i < anchors * kBoxChannels; ++i) max_coord = std::max(max_coord, boxes[i]);
  const bool normalised = max_coord <= kNormalisedCoordLimit;
  const float sx = normalised ? static_cast<float>(ctx.input_width) : 1.0f;
  const float sy = normalised ? static_cast<float>(ctx.input_height) : 1.0f;
  const int bg = o.ssd_background_class;
  std::vector<Detection> level;
  for (int64_t a = 0; a < anchors; ++a) {
    const float* b = boxes + a * kBoxChannels;
    const Detection box{b[0] * sx, b[1] * sy, b[2] * sx, b[3] * sy, 0.0f, 0};
    level.clear();
    // Background is not a class: zero it in a copy so best-class picks a real one.
    std::vector<float> cls(scores + a * num_classes, scores + (a + 1) * num_classes);
    if (bg >= 0 && bg < num_classes) cls[bg] = 0.0f;
    addCandidates(box, 1.0f, cls.data(), num_classes, 1, o, level);
    for (Detection& d : level) {
      if (bg >= 0 && d.class_id > bg) --d.class_id;
      dst.push_back(d);
    }
  }
  return Status::ok();
}

}  // namespace

Result<ModelFamily> resolveFamily(std::span<const Tensor> outputs, const DecodeContext& context,
                                  const DecodeOptions& options) {
  if (options.family != ModelFamily::kUnknown) return options.family;
  std::vector<Shape> shapes;
  for (const Tensor& t : outputs) shapes.push_back(t.shape());
  const ModelFamily family = datasets::guessModelFamily(context.model, context.input_width,
                                                        context.input_height, shapes);
  if (family == ModelFamily::kUnknown) {
    return unsupported("cannot tell the detector family from outputs " +
                       shapesToString(outputs) +
                       "; choose a decoder (yolov5, yolov8, yolox, nanodet, ssd)");
  }
  return family;
}

Result<int64_t> numClasses(std::span<const Shape> output_shapes, ModelFamily family,
                           const DecodeOptions& options) {
  auto refuse = [&]() -> Status {
    std::string shapes;
    for (const Shape& s : output_shapes) shapes += (shapes.empty() ? "" : ", ") + shapeToString(s);
    return invalidArgument(std::string(modelFamilyName(family)) +
                           ": cannot read the class count from outputs " + shapes);
  };
  if (output_shapes.empty()) return refuse();
  const Shape& first = output_shapes[0];
  int64_t count = 0;
  switch (family) {
    case ModelFamily::kYoloV5:
    case ModelFamily::kYolox:
      if (first.size() == 3) count = first[2] - kBoxChannels - 1;
      break;
    case ModelFamily::kYoloV8:
      if (first.size() == 3) count = first[1] - kBoxChannels;
      break;
    case ModelFamily::kNanodet: {
      const int64_t dist_channels = kSides * (options.nanodet_reg_max + 1);
      for (const Shape& s : output_shapes) {
        if (s.size() != 3) return refuse();
        if (s[2] != dist_channels) count = s[2];
      }
      if (count == 0) count = dist_channels;  // every output has 4·(reg_max+1) channels
      break;
    }
    case ModelFamily::kSsd: {
      if (output_shapes.size() != 2) return refuse();
      const Shape& scores = first.back() == kBoxChannels ? output_shapes[1] : output_shapes[0];
      if (scores.size() != 3) return refuse();
      count = scores[2] - (options.ssd_background_class >= 0 ? 1 : 0);
      break;
    }
    case ModelFamily::kUnknown:
      break;
  }
  if (count <= 0) return refuse();
  return count;
}

Result<std::vector<Detection>> decodeCandidates(std::span<const Tensor> outputs,
                                                const DecodeContext& context,
                                                const DecodeOptions& options, int64_t batch) {
  if (outputs.empty()) return invalidArgument("decode: no outputs");
  if (context.input_width <= 0 || context.input_height <= 0) {
    return invalidArgument("decode: the network input size must be positive");
  }
  for (const Tensor& t : outputs) {
    if (!t.defined() || t.rank() == 0 || !isFloatingPoint(t.dtype())) {
      return invalidArgument("decode: outputs must be floating-point tensors, got " +
                             shapesToString(outputs));
    }
  }
  DS_ASSIGN_OR_RETURN(ModelFamily family, resolveFamily(outputs, context, options));
  std::vector<Detection> candidates;
  Status status;
  switch (family) {
    case ModelFamily::kYoloV5:
    case ModelFamily::kYolox:
      if (outputs.size() != 1) {
        return invalidArgument(std::string(modelFamilyName(family)) +
                               " expects one output, got " + shapesToString(outputs));
      }
      status = decodeAnchorMajor(outputs[0], context, options, batch,
                                 family == ModelFamily::kYolox, candidates);
      break;
    case ModelFamily::kYoloV8:
      if (outputs.size() != 1) {
        return invalidArgument("yolov8 expects one output, got " + shapesToString(outputs));
      }
      status = decodeYoloV8(outputs[0], options, batch, candidates);
      break;
    case ModelFamily::kNanodet:
      status = decodeNanodet(outputs, context, options, batch, candidates);
      break;
    case ModelFamily::kSsd:
      status = decodeSsd(outputs, context, options, batch, candidates);
      break;
    case ModelFamily::kUnknown:
      return internalError("decode: unresolved family");
  }
  if (!status.isOk()) return status.withContext(std::string("decode ") + modelFamilyName(family));
  return candidates;
}

Result<std::vector<Detection>> decode(std::span<const Tensor> outputs,
                                      const DecodeContext& context, const DecodeOptions& options,
                                      int64_t batch) {
  DS_ASSIGN_OR_RETURN(std::vector<Detection> candidates,
                      decodeCandidates(outputs, context, options, batch));
  if (options.max_candidates > 0 &&
      candidates.size() > static_cast<size_t>(options.max_candidates)) {
    std::stable_sort(candidates.begin(), candidates.end(),
                     [](const Detection& a, const Detection& b) { return a.score > b.score; });
    candidates.resize(options.max_candidates);
  }
  std::vector<Detection> kept = nms(std::move(candidates), options.iou_threshold,
                                    options.class_agnostic, options.max_detections);
  const ImageTransform& t = context.transform;
  const float max_x = static_cast<float>(t.image_width > 0 ? t.image_width : context.input_width);
  const float max_y =
      static_cast<float>(t.image_height > 0 ? t.image_height : context.input_height);
  for (Detection& d : kept) {
    d.x1 = std::clamp(t.toImageX(d.x1), 0.0f, max_x);
    d.x2 = std::clamp(t.toImageX(d.x2), 0.0f, max_x);
    d.y1 = std::clamp(t.toImageY(d.y1), 0.0f, max_y);
    d.y2 = std::clamp(t.toImageY(d.y2), 0.0f, max_y);
  }
  return kept;
}

}  // namespace detslim::detect
