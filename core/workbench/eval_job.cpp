#include "core/workbench/eval_job.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/eval/coco_json.h"

namespace detslim {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// A dataset whose classes are named like the model's (COCO, YOLO): each class maps to the model
// class of the same name (exact first, then ignoring case); the rest are unmapped.
datasets::ClassMap mapByName(const datasets::Dataset& dataset,
                             const std::vector<std::string>& model_classes) {
  datasets::ClassMap map;
  map.origin = "by name";
  for (const std::string& name : dataset.class_names) {
    auto exact = std::find(model_classes.begin(), model_classes.end(), name);
    if (exact != model_classes.end()) {
      map.entries[name] = *exact;
      continue;
    }
    auto folded = std::find_if(model_classes.begin(), model_classes.end(),
                               [&](const std::string& m) { return lower(m) == lower(name); });
    map.entries[name] = folded != model_classes.end() ? std::optional<std::string>(*folded)
                                                      : std::nullopt;
  }
  return map;
}

}  // namespace

Result<datasets::ClassMap> chooseClassMap(const EvalOptions& options,
                                          const datasets::Dataset& dataset,
                                          const std::vector<std::string>& model_classes) {
  if (!options.class_map.empty()) return datasets::loadClassMap(options.class_map);
  Result<datasets::ClassMap> shipped = datasets::defaultClassMap(dataset.format);
  // The shipped maps target COCO-80 names; a model with other classes is matched by name.
  if (shipped.isOk()) {
    bool all_targets_known = true;
    for (const auto& [source, target] : shipped->entries) {
      if (target && std::find(model_classes.begin(), model_classes.end(), *target) ==
                        model_classes.end()) {
        all_targets_known = false;
      }
    }
    if (all_targets_known) return shipped;
  }
  return mapByName(dataset, model_classes);
}

EvalGroundTruth toEvalGroundTruth(const datasets::Dataset& dataset,
                                  const std::vector<std::string>& model_classes) {
  EvalGroundTruth gt;
  for (size_t c = 0; c < model_classes.size(); ++c) {
    gt.category_ids.push_back(static_cast<int64_t>(c));
    gt.category_names.push_back(model_classes[c]);
  }
  // pycocotools treats annotation id 0 as "unmatched", so ids start at 1.
  int64_t next_id = 1;
  for (const datasets::Sample& sample : dataset.samples) {
    gt.image_ids.push_back(sample.image_id);
    for (const datasets::GtBox& box : sample.boxes) {
      EvalGtBox g;
      g.image_id = sample.image_id;
      g.x = box.x1;
      g.y = box.y1;
      g.w = box.x2 - box.x1;
      g.h = box.y2 - box.y1;
      g.area = box.area >= 0 ? box.area : g.w * g.h;
      g.difficult = box.difficult;
      if (box.class_index >= 0 && box.class_index < static_cast<int>(model_classes.size())) {
        g.id = next_id++;
        g.category_id = box.class_index;
        g.iscrowd = box.crowd;
        g.ignore = box.ignore && !box.crowd;
        gt.boxes.push_back(g);
        continue;
      }
      // No model class: a region where detections of any class are neither right nor wrong.
      for (size_t c = 0; c < model_classes.size(); ++c) {
        g.id = next_id++;
        g.category_id = static_cast<int64_t>(c);
        g.iscrowd = true;
        g.ignore = false;
        gt.boxes.push_back(g);
      }
    }
  }
  return gt;
}

Result<EvalReport> runEval(const EvalOptions& options, const JobControl& control) {
  DS_ASSIGN_OR_RETURN(Detector detector, Detector::load(options.model, options.detector));
  return runEval(options, detector, control);
}

Result<EvalReport> runEval(const EvalOptions& options, Detector& detector,
                           const JobControl& control) {
  EvalReport report;
  ProgressMeter job_clock(control, "eval", 0);
  report.model = options.model.string();
  report.data = options.data.string();
  const std::vector<std::string>& model_classes = detector.classNames();
  report.family = datasets::modelFamilyName(detector.family());
  report.preprocess = detector.profile().name;
  report.input_width = detector.inputWidth();
  report.input_height = detector.inputHeight();
  report.threads = detector.plan().numThreads();
  report.class_names_origin = detector.classNamesOrigin();

  datasets::ReadOptions read;
  read.format = options.format;
  read.limit = options.limit == 0 ? 0 : options.limit + options.skip;
  read.strict = options.strict;
  read.names_file = options.names_file;
  if (options.names_file.empty()) read.class_names = model_classes;
  DS_ASSIGN_OR_RETURN(datasets::Dataset dataset, datasets::readDataset(options.data, read));
  if (options.skip > 0) {
    if (options.skip >= dataset.samples.size()) {
      return invalidArgument(report.data + ": skipping " + std::to_string(options.skip) +
                             " images leaves none of " + std::to_string(dataset.samples.size()));
    }
    dataset.samples.erase(dataset.samples.begin(),
                          dataset.samples.begin() + static_cast<std::ptrdiff_t>(options.skip));
  }
  report.format = datasets::formatName(dataset.format);
  // COCO ids by class name, before the class map renames classes (for --save-dets).
  std::map<std::string, int64_t> coco_id_of;
  for (size_t i = 0; i < dataset.category_ids.size() && i < dataset.class_names.size(); ++i) {
    coco_id_of[dataset.class_names[i]] = dataset.category_ids[i];
  }

  DS_ASSIGN_OR_RETURN(datasets::ClassMap map, chooseClassMap(options, dataset, model_classes));
  report.class_map = map.origin;
  Result<datasets::ClassMapReport> mapped = datasets::applyClassMap(&dataset, map, model_classes);
  if (!mapped) return mapped.status().withContext(report.data);
  report.unmapped = mapped->unmapped;

  // Run the detector over every image.
  const int64_t total = static_cast<int64_t>(dataset.samples.size());
  ProgressMeter meter(control, "evaluating " + report.data, total);
  std::vector<datasets::Sample> evaluated;
  evaluated.reserve(dataset.samples.size());
  double preprocess_ms = 0, inference_ms = 0, decode_ms = 0;
  for (int64_t i = 0; i < total; ++i) {
    if (control.cancel.cancelled()) {
      return cancelled("eval cancelled after " + std::to_string(i) + " of " +
                       std::to_string(total) + " images");
    }
    datasets::Sample& sample = dataset.samples[i];
    Result<ImageDetections> found = detector.detect(sample.image_path);
    if (!found) {
      if (options.strict) return found.status().withContext(sample.image_path.string());
      dataset.warnings.push_back(sample.image_path.string() + ": " + found.status().message() +
                                 "; image left out of the evaluation");
      meter.report(i + 1);
      continue;
    }
    report.image_ms.push_back(found->preprocess_ms + found->inference_ms + found->decode_ms);
    preprocess_ms += found->preprocess_ms;
    inference_ms += found->inference_ms;
    decode_ms += found->decode_ms;
    for (const detect::Detection& d : found->detections) {
      EvalDetection e;
      e.image_id = sample.image_id;
      e.category_id = d.class_id;
      e.x = d.x1;
      e.y = d.y1;
      e.w = d.x2 - d.x1;
      e.h = d.y2 - d.y1;
      e.score = d.score;
      report.detections.push_back(e);
    }
    evaluated.push_back(std::move(sample));
    meter.report(i + 1);
  }
  dataset.samples = std::move(evaluated);
  report.warnings = dataset.warnings;
  if (dataset.samples.empty()) {
    return invalidArgument(report.data + ": no image could be evaluated (" +
                           std::to_string(report.warnings.size()) + " warnings; first: " +
                           (report.warnings.empty() ? "" : report.warnings.front()) + ")");
  }
  report.images = dataset.samples.size();
  const double n = static_cast<double>(report.images);
  report.preprocess_ms = preprocess_ms / n;
  report.inference_ms = inference_ms / n;
  report.decode_ms = decode_ms / n;

  // Score.
  report.ground_truth = toEvalGroundTruth(dataset, model_classes);
  for (const datasets::Sample& s : dataset.samples) {
    for (const datasets::GtBox& b : s.boxes) {
      (b.class_index >= 0 && !b.ignore ? report.boxes : report.ignored_boxes) += 1;
    }
  }
  DS_ASSIGN_OR_RETURN(report.coco, evaluateCoco(report.ground_truth, report.detections));
  VocEvalOptions voc;
  voc.method = VocApMethod::kAllPoint;
  const VocEvalResult voc_all = evaluateVoc(report.ground_truth, report.detections, voc);
  voc.method = VocApMethod::kElevenPoint;
  report.voc07_ap50 = evaluateVoc(report.ground_truth, report.detections, voc).map;
  report.voc_ap50 = voc_all.map;
  VocEvalOptions pr_options;
  pr_options.iou_threshold = options.pr_iou;
  report.pr_confidence = options.pr_confidence;
  const PrAtConfidence pr = precisionRecallAt(report.ground_truth, report.detections,
                                              options.pr_confidence, pr_options);
  report.precision = pr.total.precision;
  report.recall = pr.total.recall;

  // Per class: those with ground truth or detections.
  for (const CocoCategoryResult& c : report.coco.per_category) {
    EvalClassResult r;
    r.class_index = static_cast<int>(c.category_id);
    r.name = model_classes[r.class_index];
    auto coco_id = coco_id_of.find(r.name);
    r.category_id = coco_id != coco_id_of.end() ? coco_id->second : c.category_id;
    r.ap = c.ap;
    r.ap50 = c.ap50;
    r.ap75 = c.ap75;
    for (const VocClassResult& v : voc_all.per_class) {
      if (v.category_id == c.category_id) {
        r.num_gt = v.num_gt;
        r.num_dets = v.num_dets;
      }
    }
    for (const PrCounts& p : pr.per_class) {
      if (p.category_id == c.category_id) {
        r.precision = p.precision;
        r.recall = p.recall;
      }
    }
    if (r.num_gt > 0 || r.num_dets > 0) report.classes.push_back(r);
  }

  if (!options.save_dets.empty()) {
    std::vector<EvalDetection> saved = report.detections;
    for (EvalDetection& d : saved) {
      auto coco_id = coco_id_of.find(model_classes[d.category_id]);
      if (coco_id != coco_id_of.end()) d.category_id = coco_id->second;
    }
    DS_RETURN_IF_ERROR(writeCocoResults(options.save_dets, saved));
  }
  report.wall_s = job_clock.elapsedSeconds();
  return report;
}

nlohmann::json evalToJson(const EvalReport& r) {
  nlohmann::json j;
  j["model"] = r.model;
  j["data"] = r.data;
  j["format"] = r.format;
  j["family"] = r.family;
  j["preprocess"] = r.preprocess;
  j["input_size"] = {r.input_width, r.input_height};
  j["threads"] = r.threads;
  j["images"] = r.images;
  j["boxes"] = r.boxes;
  j["ignored_boxes"] = r.ignored_boxes;
  j["class_map"] = r.class_map;
  j["class_names_origin"] = r.class_names_origin;
  j["unmapped"] = r.unmapped;
  j["stats"] = r.coco.stats;
  static const char* kStatNames[kCocoStatCount] = {
      "AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"};
  nlohmann::json named = nlohmann::json::object();
  for (int i = 0; i < kCocoStatCount; ++i) named[kStatNames[i]] = r.coco.stats[i];
  j["stats_named"] = named;
  j["voc_ap50"] = r.voc_ap50;
  j["voc07_ap50"] = r.voc07_ap50;
  j["pr_confidence"] = r.pr_confidence;
  j["precision"] = r.precision;
  j["recall"] = r.recall;
  nlohmann::json per = nlohmann::json::object();
  nlohmann::json classes = nlohmann::json::array();
  for (const EvalClassResult& c : r.classes) {
    per[std::to_string(c.category_id)] = {{"ap", c.ap}, {"ap50", c.ap50}};
    classes.push_back({{"class", c.name},
                       {"class_index", c.class_index},
                       {"category_id", c.category_id},
                       {"num_gt", c.num_gt},
                       {"num_dets", c.num_dets},
                       {"ap", c.ap},
                       {"ap50", c.ap50},
                       {"ap75", c.ap75},
                       {"precision", c.precision},
                       {"recall", c.recall}});
  }
  j["per_category"] = per;
  j["classes"] = classes;
  j["timing_ms"] = {{"preprocess", r.preprocess_ms},
                    {"inference", r.inference_ms},
                    {"decode_nms", r.decode_ms}};
  j["wall_s"] = r.wall_s;
  j["warnings"] = r.warnings;
  return j;
}

}  // namespace detslim
