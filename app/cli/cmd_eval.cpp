// `detslim eval --model MODEL --data DIR [--format F] [--limit N] [--classes MAP.json]
//               [--save-dets OUT.json] [--json]`: runs DetSlim's engine over a dataset and scores
// the detections with the pycocotools-exact evaluator.

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "app/cli/cli_common.h"
#include "app/cli/commands.h"
#include "core/workbench/eval_job.h"

namespace detslim::cli {

namespace {

struct EvalArgs {
  std::string model;
  std::string data;
  std::string format = "auto";
  size_t limit = 0;
  std::string classes;
  std::string names;
  std::string save_dets;
  bool json = false;
  bool strict = false;
  int threads = 0;
  int64_t size = 0;
  std::string decoder;
  std::string preprocess;
  float conf = detect::DecodeOptions{}.conf_threshold;
  float iou = detect::DecodeOptions{}.iou_threshold;
  int max_det = detect::DecodeOptions{}.max_detections;
  bool single_label = false;
  bool agnostic = false;
  double pr_conf = EvalOptions{}.pr_confidence;
};

void printHuman(const EvalReport& r, std::ostream& out) {
  out << "Model     " << r.model << "  (" << r.family << ", " << r.preprocess << " preprocessing, "
      << r.input_width << "x" << r.input_height << ", " << r.threads << " threads)\n";
  out << "Dataset   " << r.data << "  (" << r.format << ", " << r.images << " images, " << r.boxes
      << " boxes, " << r.ignored_boxes << " ignore regions)\n";
  out << "Classes   model: " << r.class_names_origin << "; dataset map: " << r.class_map << "\n";
  if (!r.unmapped.empty()) {
    out << "Unmapped  (left out of mAP):";
    for (const auto& [name, count] : r.unmapped) out << " " << name << " x" << count;
    out << "\n";
  }
  out << "\n";
  for (const std::string& line : cocoSummaryLines(r.coco)) out << line << "\n";
  out << "\nPer class (COCO AP area all, maxDets 100; P and R at conf " << fixed(r.pr_confidence)
      << ", IoU 0.5)\n";
  char buf[160];
  std::snprintf(buf, sizeof buf, "  %-16s %6s %6s  %6s %6s %6s  %6s %6s\n", "class", "gt", "dets",
                "AP", "AP50", "AP75", "P", "R");
  out << buf;
  for (const EvalClassResult& c : r.classes) {
    std::snprintf(buf, sizeof buf, "  %-16s %6lld %6lld  %6s %6s %6s  %6s %6s\n", c.name.c_str(),
                  static_cast<long long>(c.num_gt), static_cast<long long>(c.num_dets),
                  fixed(c.ap).c_str(), fixed(c.ap50).c_str(), fixed(c.ap75).c_str(),
                  fixed(c.precision).c_str(), fixed(c.recall).c_str());
    out << buf;
  }
  out << "\nmAP50-95 " << fixed(r.coco.stats[0]) << "  mAP50 " << fixed(r.coco.stats[1]) << "  P "
      << fixed(r.precision) << "  R " << fixed(r.recall) << "  VOC AP50 " << fixed(r.voc_ap50)
      << " (11-point " << fixed(r.voc07_ap50) << ")\n";
  std::snprintf(buf, sizeof buf,
                "Time      %.1f s; per image: preprocess %.2f ms, inference %.2f ms, decode+NMS "
                "%.2f ms\n",
                r.wall_s, r.preprocess_ms, r.inference_ms, r.decode_ms);
  out << buf;
}

void printWarnings(const std::vector<std::string>& warnings) {
  constexpr size_t kShown = 10;
  for (size_t i = 0; i < warnings.size() && i < kShown; ++i) {
    std::cerr << "detslim: warning: " << warnings[i] << "\n";
  }
  if (warnings.size() > kShown) {
    std::cerr << "detslim: warning: ... and " << warnings.size() - kShown
              << " more (--json lists all)\n";
  }
}

}  // namespace

CommandRunner registerEval(CLI::App& app) {
  auto a = std::make_shared<EvalArgs>();
  CLI::App* cmd = app.add_subcommand(
      "eval", "Run the engine over a dataset and score it (pycocotools-exact mAP, P/R, VOC AP)");
  cmd->add_option("--model", a->model, "ONNX detector")->required();
  cmd->add_option("--data", a->data,
                  "Dataset folder or JSON (KITTI, COCO, YOLO, BDD100K, Pascal VOC)")
      ->required();
  cmd->add_option("--format", a->format, "auto, kitti, coco, yolo, bdd100k, voc");
  cmd->add_option("--limit", a->limit, "Evaluate the first N images (file-name order)");
  cmd->add_option("--classes", a->classes,
                  "Class map JSON {\"map\": {\"Car\": \"car\", \"Misc\": null}} (default: the "
                  "shipped map for KITTI / BDD100K / VOC, else by name)");
  cmd->add_option("--names", a->names, "YOLO class names file or data yaml");
  cmd->add_option("--save-dets", a->save_dets, "Write the detections as COCO results JSON");
  cmd->add_flag("--json", a->json, "Print one JSON object (stats in pycocotools order)");
  cmd->add_flag("--strict", a->strict, "Stop at the first bad label line or image");
  cmd->add_option("--threads", a->threads, "Engine threads (0: all cores)");
  cmd->add_option("--size", a->size, "Square network input size (default: the model's)");
  cmd->add_option("--decoder", a->decoder, "yolov5, yolov8, yolox, nanodet, ssd (default: auto)");
  cmd->add_option("--preprocess", a->preprocess, "ultralytics, yolox, nanodet (default: auto)");
  cmd->add_option("--conf", a->conf, "Confidence threshold (default 0.001)");
  cmd->add_option("--iou", a->iou, "NMS IoU threshold (default 0.65)");
  cmd->add_option("--max-det", a->max_det, "Detections kept per image (default 300)");
  cmd->add_flag("--single-label", a->single_label, "Best class per box only (default: multi)");
  cmd->add_flag("--agnostic", a->agnostic, "Class-agnostic NMS");
  cmd->add_option("--pr-conf", a->pr_conf, "Confidence for precision / recall (default 0.25)");
  return [a, cmd]() -> int {
    if (!cmd->parsed()) return -1;
    EvalOptions o;
    o.model = a->model;
    o.data = a->data;
    Result<datasets::Format> format = datasets::parseFormat(a->format);
    if (!format) return reportError(format.status().withContext("--format"));
    o.format = *format;
    o.limit = a->limit;
    o.strict = a->strict;
    o.class_map = a->classes;
    o.names_file = a->names;
    o.save_dets = a->save_dets;
    o.pr_confidence = a->pr_conf;
    o.detector.threads = a->threads;
    o.detector.size = a->size;
    o.detector.preprocess = a->preprocess;
    detect::DecodeOptions& d = o.detector.decode;
    if (!a->decoder.empty()) {
      Result<detect::ModelFamily> family = datasets::parseModelFamily(a->decoder);
      if (!family) return reportError(family.status().withContext("--decoder"));
      d.family = *family;
    }
    if (!(a->conf >= 0.0f && a->conf < 1.0f) || !(a->iou > 0.0f && a->iou <= 1.0f)) {
      return reportError(invalidArgument("--conf must be in [0, 1) and --iou in (0, 1]"));
    }
    d.conf_threshold = a->conf;
    d.iou_threshold = a->iou;
    d.max_detections = a->max_det;
    d.multi_label = !a->single_label;
    d.class_agnostic = a->agnostic;

    JobControl control;
    cancelOnInterrupt(control.cancel);
    control.progress = terminalProgress("images");
    Result<EvalReport> report = runEval(o, control);
    finishProgress();
    if (!report) return reportError(report.status());
    printWarnings(report->warnings);
    if (a->json) {
      std::cout << evalToJson(*report).dump(2) << "\n";
    } else {
      printHuman(*report, std::cout);
      if (!a->save_dets.empty()) std::cout << "Saved     " << a->save_dets << "\n";
    }
    return kExitOk;
  };
}

}  // namespace detslim::cli
