#include "core/workbench/detections_job.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/datasets/class_map.h"
#include "core/eval/coco_eval.h"
#include "core/onnx/onnx_io.h"
#include "core/workbench/eval_job.h"
#include "core/workbench/quantize_job.h"

namespace detslim {

namespace fs = std::filesystem;

namespace {

std::string runName(int64_t run_id) {
  return "run " + std::to_string(run_id);
}

std::string specContext(const DetectorSpec& spec) {
  return spec.run_id > 0 ? runName(spec.run_id) : spec.label;
}

}  // namespace

// ---- specs and detectors ----

Result<DetectorSpec> detectorSpecFromRun(const store::RunRecord& run) {
  DetectorSpec spec;
  spec.run_id = run.id;
  Result<RunConfig> config = runConfigFromJson(run.config);
  if (!config) return config.status().withContext(runName(run.id));
  spec.config = *config;
  spec.model = run.model.path;
  spec.model_sha256 = run.model.sha256;
  spec.data = run.dataset.path;
  if (!run.dataset.format.empty()) {
    Result<datasets::Format> format = datasets::parseFormat(run.dataset.format);
    if (format) spec.format = *format;
  }
  spec.label = runName(run.id) + ": " + spec.config.label();
  std::error_code ec;
  if (spec.model.empty() || !fs::is_regular_file(spec.model, ec)) {
    return notFound(spec.model.string() + ": model file of " + runName(run.id) +
                    " not found (moved or deleted since the run)");
  }
  return spec;
}

Result<DetectorSpec> detectorSpecFromStore(const fs::path& db, int64_t run_id) {
  store::OpenOptions open;
  open.read_only = true;
  open.create = false;
  DS_ASSIGN_OR_RETURN(store::Store store, store::Store::open(db, open));
  DS_ASSIGN_OR_RETURN(store::RunRecord run, store.getRun(run_id));
  return detectorSpecFromRun(run);
}

Result<BuiltDetector> buildDetector(const DetectorSpec& spec, const fs::path& data,
                                    datasets::Format format, const JobControl& control) {
  const RunConfig& config = spec.config;
  Status valid = validateConfig(config);
  if (!valid.isOk()) return valid.withContext(specContext(spec));
  std::vector<std::string> notes;
  std::error_code ec;
  if (!fs::is_regular_file(spec.model, ec)) {
    return notFound(spec.model.string() + ": model file not found" +
                    (spec.run_id > 0 ? " (" + runName(spec.run_id) + ")" : std::string()));
  }
  ProgressMeter meter(control, "building " + spec.label, 3);
  meter.report(0);
  if (!spec.model_sha256.empty()) {
    // A re-exported file under the same name builds, but what is shown is no longer the run's.
    Result<std::string> sha = store::sha256OfFile(spec.model);
    if (sha && *sha != spec.model_sha256) {
      notes.push_back(spec.model.string() + " changed since " + runName(spec.run_id) +
                      " (sha256 differs): detections may differ from the stored figures");
    }
  }
  DS_ASSIGN_OR_RETURN(Model loaded, loadModel(spec.model));
  if (control.cancel.cancelled()) return cancelled("building " + spec.label + " cancelled");
  meter.report(1);

  // The compression steps of executeRun (the same function): pruning, then precision. The run's
  // own dataset is where an int8 run without a calibration folder found its images.
  const bool own_data = !spec.data.empty();
  Result<CompressedModel> compressed = compressModel(loaded, config, own_data ? spec.data : data,
                                                     own_data ? spec.format : format, control);
  if (!compressed) return compressed.status().withContext(specContext(spec));
  meter.report(2);
  const PrecisionResult& precise = compressed->precise;
  for (const std::string& note : precise.notes) notes.push_back(note);
  std::string summary = config.label();
  if (!precise.summary.empty()) summary += " (" + precise.summary + ")";
  DS_ASSIGN_OR_RETURN(Detector detector,
                      Detector::create(std::move(compressed->precise.model), compressed->detector));
  meter.report(3);
  return BuiltDetector{std::move(detector), summary, notes};
}

Result<datasets::Dataset> readGroundTruth(const fs::path& data,
                                          const std::vector<std::string>& model_classes,
                                          const GroundTruthOptions& options) {
  datasets::ReadOptions read;
  read.format = options.format;
  read.limit = options.limit;
  read.names_file = options.names_file;
  if (options.names_file.empty()) read.class_names = model_classes;
  DS_ASSIGN_OR_RETURN(datasets::Dataset dataset, datasets::readDataset(data, read));
  if (model_classes.empty()) return dataset;
  EvalOptions eval;
  eval.class_map = options.class_map;
  DS_ASSIGN_OR_RETURN(datasets::ClassMap map, chooseClassMap(eval, dataset, model_classes));
  Result<datasets::ClassMapReport> mapped = datasets::applyClassMap(&dataset, map, model_classes);
  if (!mapped) return mapped.status().withContext(data.string());
  return dataset;
}

// ---- comparison ----

int ImageComparison::newDetections() const {
  return static_cast<int>(std::count(b_new.begin(), b_new.end(), true));
}

namespace {

bool countsAsTarget(const datasets::GtBox& g) {
  return g.class_index >= 0 && !g.ignore && !g.crowd && !g.difficult;
}

// The image's GT as core/eval ground truth. `origin[k]` is the GT index eval box k came from:
// a box of no model class becomes a crowd region in every category (as toEvalGroundTruth does),
// so one GT may give several eval boxes.
EvalGroundTruth toEval(const std::vector<datasets::GtBox>& gt,
                       const std::vector<int64_t>& categories, std::vector<int>* origin) {
  EvalGroundTruth eval;
  eval.image_ids = {0};
  eval.category_ids = categories;
  for (size_t i = 0; i < gt.size(); ++i) {
    const datasets::GtBox& box = gt[i];
    EvalGtBox g;
    g.x = box.x1;
    g.y = box.y1;
    g.w = box.x2 - box.x1;
    g.h = box.y2 - box.y1;
    g.area = g.w * g.h;
    g.difficult = box.difficult;
    if (box.class_index >= 0) {
      g.id = static_cast<int64_t>(eval.boxes.size()) + 1;
      g.category_id = box.class_index;
      g.iscrowd = box.crowd;
      g.ignore = box.ignore && !box.crowd;
      eval.boxes.push_back(g);
      origin->push_back(static_cast<int>(i));
      continue;
    }
    for (int64_t c : categories) {
      g.id = static_cast<int64_t>(eval.boxes.size()) + 1;
      g.category_id = c;
      g.iscrowd = true;
      eval.boxes.push_back(g);
      origin->push_back(static_cast<int>(i));
    }
  }
  return eval;
}

SideComparison compareSide(const std::vector<datasets::GtBox>& gt, const std::vector<bool>& counted,
                           const std::vector<detect::Detection>& dets, double iou, double conf) {
  std::set<int64_t> classes;
  for (const datasets::GtBox& g : gt) {
    if (g.class_index >= 0) classes.insert(g.class_index);
  }
  for (const detect::Detection& d : dets) classes.insert(d.class_id);
  std::vector<int> origin;
  const EvalGroundTruth eval =
      toEval(gt, std::vector<int64_t>(classes.begin(), classes.end()), &origin);
  std::vector<EvalDetection> eval_dets;
  for (const detect::Detection& d : dets) {
    eval_dets.push_back({0, d.class_id, d.x1, d.y1, d.x2 - d.x1, d.y2 - d.y1, d.score});
  }
  VocEvalOptions options;
  options.iou_threshold = iou;
  options.min_score = conf;
  const std::vector<VocDetectionMatch> matches = matchVoc(eval, eval_dets, options);

  SideComparison side;
  side.marks.assign(dets.size(), DetectionMark::kBelowConfidence);
  side.matched_gt.assign(dets.size(), -1);
  side.gt_found.assign(gt.size(), false);
  for (size_t i = 0; i < dets.size(); ++i) {
    const VocDetectionMatch& m = matches[i];
    if (!m.considered) continue;
    if (m.gt_index >= 0) side.matched_gt[i] = origin[static_cast<size_t>(m.gt_index)];
    if (m.outcome > 0) {
      side.marks[i] = DetectionMark::kTruePositive;
      side.gt_found[static_cast<size_t>(side.matched_gt[i])] = true;
      ++side.tp;
    } else if (m.outcome < 0) {
      side.marks[i] = DetectionMark::kFalsePositive;
      ++side.fp;
    } else {
      side.marks[i] = DetectionMark::kIgnored;
      ++side.ignored;
    }
  }
  for (size_t g = 0; g < gt.size(); ++g) {
    if (counted[g] && !side.gt_found[g]) ++side.fn;
  }
  return side;
}

}  // namespace

ImageComparison compareImage(const std::vector<datasets::GtBox>& gt,
                             const std::vector<detect::Detection>& a,
                             const std::vector<detect::Detection>* b, double iou, double conf) {
  ImageComparison cmp;
  cmp.iou = iou;
  cmp.conf = conf;
  for (const datasets::GtBox& g : gt) cmp.gt_counted.push_back(countsAsTarget(g));
  cmp.a = compareSide(gt, cmp.gt_counted, a, iou, conf);
  if (!b) return cmp;
  cmp.b = compareSide(gt, cmp.gt_counted, *b, iou, conf);
  for (size_t g = 0; g < gt.size(); ++g) {
    if (!cmp.gt_counted[g]) continue;
    if (cmp.a.gt_found[g] && !cmp.b->gt_found[g]) cmp.lost.push_back(static_cast<int>(g));
    if (cmp.b->gt_found[g] && !cmp.a.gt_found[g]) cmp.gained.push_back(static_cast<int>(g));
  }
  cmp.b_new.assign(b->size(), false);
  for (size_t i = 0; i < b->size(); ++i) {
    const detect::Detection& d = (*b)[i];
    if (d.score < conf) continue;
    const bool counterpart = std::any_of(a.begin(), a.end(), [&](const detect::Detection& o) {
      return o.score >= conf && o.class_id == d.class_id && detect::iou(o, d) >= iou;
    });
    cmp.b_new[i] = !counterpart;
  }
  return cmp;
}

std::array<uint8_t, 3> classColor(int class_id) {
  // Ultralytics' 20-colour palette: distinct hues that read on photographs.
  static constexpr std::array<uint32_t, 20> kPalette = {
      0xFF3838, 0xFF9D97, 0xFF701F, 0xFFB21D, 0xCFD231, 0x48F90A, 0x92CC17,
      0x3DDB86, 0x1A9334, 0x00D4BB, 0x2C99A8, 0x00C2FF, 0x344593, 0x6473FF,
      0x0018EC, 0x8438FF, 0x520085, 0xCB38FF, 0xFF95C8, 0xFF37C7};
  const uint32_t rgb = kPalette[static_cast<size_t>(std::abs(class_id)) % kPalette.size()];
  return {static_cast<uint8_t>(rgb >> 16), static_cast<uint8_t>(rgb >> 8),
          static_cast<uint8_t>(rgb)};
}

// ---- drawing ----

namespace {

const cv::Scalar kWhite(255, 255, 255);
const cv::Scalar kGrey(150, 150, 150);
const cv::Scalar kOrange(0, 140, 255);  // BGR
const cv::Scalar kMagenta(255, 0, 255);
const cv::Scalar kGreen(40, 170, 40);
const cv::Scalar kRed(40, 40, 220);
constexpr int kDash = 8;  // dash and gap length in pixels for ground truth

void dashedRect(cv::Mat& img, const cv::Rect& r, const cv::Scalar& colour, int thickness) {
  auto dashed = [&](cv::Point p, cv::Point q) {
    const double len = std::hypot(q.x - p.x, q.y - p.y);
    for (double s = 0; s < len; s += 2 * kDash) {
      const double e = std::min(len, s + kDash);
      const cv::Point a(p.x + static_cast<int>((q.x - p.x) * s / len),
                        p.y + static_cast<int>((q.y - p.y) * s / len));
      const cv::Point b(p.x + static_cast<int>((q.x - p.x) * e / len),
                        p.y + static_cast<int>((q.y - p.y) * e / len));
      cv::line(img, a, b, colour, thickness, cv::LINE_AA);
    }
  };
  const cv::Point tl = r.tl(), br = r.br(), tr(br.x, tl.y), bl(tl.x, br.y);
  dashed(tl, tr);
  dashed(tr, br);
  dashed(br, bl);
  dashed(bl, tl);
}

void label(cv::Mat& img, const std::string& text, cv::Point at, const cv::Scalar& background) {
  constexpr double kScale = 0.45;
  int baseline = 0;
  const cv::Size size = cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, kScale, 1, &baseline);
  const int top = std::max(0, at.y - size.height - baseline - 2);
  cv::rectangle(img, cv::Rect(at.x, top, size.width + 4, size.height + baseline + 2), background,
                cv::FILLED);
  cv::putText(img, text, cv::Point(at.x + 2, top + size.height + 1), cv::FONT_HERSHEY_SIMPLEX,
              kScale, kWhite, 1, cv::LINE_AA);
}

cv::Rect toRect(float x1, float y1, float x2, float y2) {
  return {cv::Point(static_cast<int>(std::lround(x1)), static_cast<int>(std::lround(y1))),
          cv::Point(static_cast<int>(std::lround(x2)), static_cast<int>(std::lround(y2)))};
}

std::string className(const std::vector<std::string>& names, int id) {
  return id >= 0 && id < static_cast<int>(names.size()) ? names[static_cast<size_t>(id)]
                                                        : "class" + std::to_string(id);
}

}  // namespace

Status drawComparison(const fs::path& image, const std::vector<datasets::GtBox>& gt,
                      const std::vector<DrawnSide>& sides, const ImageComparison& cmp,
                      const std::vector<std::string>& class_names, const fs::path& out) {
  const cv::Mat source = cv::imread(image.string(), cv::IMREAD_COLOR);
  if (source.empty()) return ioError(image.string() + ": OpenCV cannot decode the image");
  std::vector<cv::Mat> panels;
  for (size_t s = 0; s < sides.size(); ++s) {
    const DrawnSide& side = sides[s];
    cv::Mat img = source.clone();
    const bool second = s == 1;
    for (size_t g = 0; g < gt.size(); ++g) {
      const datasets::GtBox& box = gt[g];
      const cv::Rect r = toRect(box.x1, box.y1, box.x2, box.y2);
      const bool lost = second && std::count(cmp.lost.begin(), cmp.lost.end(), g) > 0;
      if (!cmp.gt_counted[g]) {
        dashedRect(img, r, kGrey, 1);
      } else if (lost) {
        dashedRect(img, r, kMagenta, 3);
        label(img, "lost " + className(class_names, box.class_index), r.tl(), kMagenta);
      } else if (side.marks && !side.marks->gt_found[g]) {
        dashedRect(img, r, kOrange, 2);
        label(img, "FN " + className(class_names, box.class_index), r.tl(), kOrange);
      } else {
        dashedRect(img, r, kWhite, 1);
      }
    }
    if (side.detections && side.marks) {
      for (size_t i = 0; i < side.detections->size(); ++i) {
        const DetectionMark mark = side.marks->marks[i];
        if (mark == DetectionMark::kBelowConfidence) continue;
        const detect::Detection& d = (*side.detections)[i];
        const auto rgb = classColor(d.class_id);
        const cv::Rect r = toRect(d.x1, d.y1, d.x2, d.y2);
        cv::rectangle(img, r, cv::Scalar(rgb[2], rgb[1], rgb[0]), 2, cv::LINE_AA);
        std::ostringstream text;
        text.precision(2);
        text << std::fixed;
        if (second && i < cmp.b_new.size() && cmp.b_new[i]) text << "new ";
        text << (mark == DetectionMark::kTruePositive    ? "TP "
                 : mark == DetectionMark::kFalsePositive ? "FP "
                                                         : "")
             << className(class_names, d.class_id) << " " << d.score;
        label(img, text.str(), cv::Point(r.x, r.y + r.height),
              mark == DetectionMark::kTruePositive    ? kGreen
              : mark == DetectionMark::kFalsePositive ? kRed
                                                      : kGrey);
      }
    }
    if (!side.label.empty()) label(img, side.label, cv::Point(0, 22), cv::Scalar(60, 60, 60));
    panels.push_back(img);
  }
  cv::Mat canvas;
  if (panels.empty()) {
    canvas = source;
  } else if (panels.size() == 1) {
    canvas = panels.front();
  } else {
    cv::hconcat(panels, canvas);
  }
  std::error_code ec;
  if (out.has_parent_path()) fs::create_directories(out.parent_path(), ec);
  bool written = false;
  try {
    written = cv::imwrite(out.string(), canvas);
  } catch (const cv::Exception& e) {
    return ioError(out.string() + ": cannot write the image (" + e.what() + ")");
  }
  if (!written) return ioError(out.string() + ": cannot write the image");
  return Status::ok();
}

}  // namespace detslim
