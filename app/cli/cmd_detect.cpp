// `detslim detect MODEL --data DIR_OR_IMAGE [...]`: runs a detector (optionally pruned /
// quantized, or a stored run's) on a few images and prints, per image, its detections marked
// TP / FP against the ground truth, the missed boxes, and against a second configuration the
// boxes it lost and the ones it newly finds; --draw writes the annotated images. The detection
// viewer of the GUI does the same through core/workbench/detections_job.h.

#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/cli/cli_common.h"
#include "app/cli/commands.h"
#include "core/store/store.h"
#include "core/workbench/detections_job.h"

namespace detslim::cli {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct DetectArgs {
  std::string model;
  std::string data;
  std::string format = "auto";
  std::string image;
  size_t limit = 0;
  std::string prune = "none";
  std::string precision = "fp32";
  std::string calib;
  std::string classes;
  int64_t size = 0;
  int threads = 0;
  double conf = detect::DecodeOptions::kDisplayConfThreshold;
  double iou = 0.5;
  int64_t vs_run = 0;
  int64_t run = 0;
  std::string db;
  bool json = false;
  std::string draw;
};

struct Side {
  std::string name;  // "baseline" / "compared"
  DetectorSpec spec;
  std::optional<BuiltDetector> built;
};

const char* markName(DetectionMark mark) {
  switch (mark) {
    case DetectionMark::kTruePositive:
      return "tp";
    case DetectionMark::kFalsePositive:
      return "fp";
    case DetectionMark::kIgnored:
      return "ignored";
    case DetectionMark::kBelowConfidence:
      break;
  }
  return "below_conf";
}

std::string className(const std::vector<std::string>& names, int id) {
  return id >= 0 && id < static_cast<int>(names.size()) ? names[static_cast<size_t>(id)]
                                                        : "class" + std::to_string(id);
}

json boxJson(float x1, float y1, float x2, float y2) {
  auto r = [](float v) { return std::round(v * 10.0f) / 10.0f; };
  return json::array({r(x1), r(y1), r(x2), r(y2)});
}

std::string boxText(float x1, float y1, float x2, float y2) {
  return "[" + fixed(x1, 0) + "," + fixed(y1, 0) + "," + fixed(x2, 0) + "," + fixed(y2, 0) + "]";
}

// The sides: MODEL (with --prune / --precision), a stored run, or both.
Result<std::vector<Side>> chooseSides(const DetectArgs& a) {
  RunConfig own;
  own.size = a.size;
  own.threads = a.threads;
  DS_ASSIGN_OR_RETURN(auto prune, parsePruneSpec(a.prune));
  own.prune_method = prune.first;
  own.prune_params = prune.second;
  DS_ASSIGN_OR_RETURN(auto precision, parsePruneSpec(a.precision, "--precision"));
  own.precision = precision.first;
  own.precision_params = precision.second;
  if (!a.calib.empty()) {
    if (own.precision != "int8") return invalidArgument("--calib needs --precision int8");
    own.precision_params["calib"] = a.calib;
  }
  DS_RETURN_IF_ERROR(validateConfig(own));
  const bool compressed = own.prune_method != "none" || own.precision != "fp32";
  if (a.run > 0 && a.vs_run > 0) return invalidArgument("--run and --vs-run exclude each other");
  if (a.run > 0 && compressed) {
    return invalidArgument("--run " + std::to_string(a.run) +
                           " brings its own configuration; leave out --prune / --precision");
  }
  const fs::path db = a.db.empty() ? store::Store::defaultPath() : fs::path(a.db);
  DetectorSpec model;
  model.model = a.model;
  model.config = own;
  model.label = fs::path(a.model).filename().string() + (compressed ? " " + own.label() : "");
  // `model` uncompressed with `config`'s size and thresholds, so only the compression differs.
  auto plainOf = [&](const RunConfig& config) {
    DetectorSpec plain = model;
    plain.config = config;
    plain.config.prune_method = "none";
    plain.config.prune_params.clear();
    plain.config.precision = "fp32";
    plain.config.precision_params.clear();
    plain.label = fs::path(a.model).filename().string();
    return plain;
  };
  std::vector<Side> sides;
  if (a.run > 0 || a.vs_run > 0) {
    const int64_t id = a.run > 0 ? a.run : a.vs_run;
    DS_ASSIGN_OR_RETURN(DetectorSpec stored, detectorSpecFromStore(db, id));
    if (a.vs_run > 0) {
      sides.push_back({"baseline", stored, std::nullopt});
      sides.push_back({"compared", model, std::nullopt});
    } else {
      sides.push_back({"baseline", plainOf(stored.config), std::nullopt});
      sides.push_back({"compared", stored, std::nullopt});
    }
  } else if (compressed) {
    sides.push_back({"baseline", plainOf(own), std::nullopt});
    sides.push_back({"compared", model, std::nullopt});
  } else {
    sides.push_back({"baseline", model, std::nullopt});
  }
  return sides;
}

// The images and their ground truth: a dataset folder, or one image (its folder's ground truth
// when that folder is a dataset).
struct Images {
  std::vector<datasets::Sample> samples;
  bool has_gt = true;
  std::vector<std::string> warnings;
};

Result<Images> chooseImages(const DetectArgs& a, const std::vector<std::string>& model_classes) {
  Images images;
  GroundTruthOptions options;
  DS_ASSIGN_OR_RETURN(options.format, datasets::parseFormat(a.format));
  options.class_map = a.classes;
  std::error_code ec;
  const fs::path data = a.data;
  if (!fs::exists(data, ec)) return notFound(a.data + ": no such file or folder (--data)");
  const bool one_image = fs::is_regular_file(data, ec) && data.extension() != ".json";
  std::string wanted = a.image;
  fs::path root = data;
  if (one_image) {
    if (!wanted.empty()) return invalidArgument("--image needs --data to be a dataset folder");
    wanted = data.filename().string();
    root = data.parent_path();
  } else {
    options.limit = wanted.empty() ? a.limit : 0;
  }
  Result<datasets::Dataset> dataset = readGroundTruth(root, model_classes, options);
  if (!dataset && !one_image) return dataset.status();
  if (!dataset) {
    // A lone image outside any dataset: detections only.
    DS_ASSIGN_OR_RETURN(datasets::ImageSize size, datasets::readImageSize(data));
    datasets::Sample sample;
    sample.image_path = data;
    sample.width = size.width;
    sample.height = size.height;
    images.samples.push_back(sample);
    images.has_gt = false;
    images.warnings.push_back("no ground truth for " + a.data + " (" + dataset.status().message() +
                              "): detections only");
    return images;
  }
  images.warnings = dataset->warnings;
  if (wanted.empty()) {
    images.samples = std::move(dataset->samples);
    return images;
  }
  for (datasets::Sample& s : dataset->samples) {
    if (s.image_path.filename() == wanted || s.image_path.stem() == wanted) {
      images.samples.push_back(std::move(s));
      return images;
    }
  }
  if (one_image) {
    return notFound(a.data + ": not among the images of the dataset at " + root.string());
  }
  return notFound("--image " + wanted + ": no such image in " + a.data);
}

json sideJson(const std::vector<detect::Detection>& dets, const SideComparison& marks,
              const std::vector<bool>* is_new, const std::vector<std::string>& names, bool has_gt) {
  json list = json::array();
  for (size_t i = 0; i < dets.size(); ++i) {
    if (marks.marks[i] == DetectionMark::kBelowConfidence) continue;
    const detect::Detection& d = dets[i];
    json j = {{"class", className(names, d.class_id)},
              {"class_id", d.class_id},
              {"score", std::round(d.score * 1e4f) / 1e4f},
              {"box", boxJson(d.x1, d.y1, d.x2, d.y2)}};
    if (has_gt) j["mark"] = markName(marks.marks[i]);
    if (has_gt && marks.matched_gt[i] >= 0) j["gt"] = marks.matched_gt[i];
    if (is_new) j["new"] = static_cast<bool>((*is_new)[i]);
    list.push_back(j);
  }
  json side = {{"detections", list}, {"count", list.size()}};
  if (has_gt) {
    side["tp"] = marks.tp;
    side["fp"] = marks.fp;
    side["fn"] = marks.fn;
    side["ignored"] = marks.ignored;
  }
  return side;
}

void printSide(const Side& side, const std::vector<detect::Detection>& dets,
               const SideComparison& marks, const std::vector<bool>* is_new,
               const std::vector<std::string>& names, bool has_gt, std::ostream& out) {
  int shown = 0;
  for (DetectionMark m : marks.marks) shown += m != DetectionMark::kBelowConfidence ? 1 : 0;
  out << "  " << side.name << " (" << side.spec.label << "): " << shown << " detections";
  if (has_gt) {
    out << "  TP " << marks.tp << "  FP " << marks.fp << "  FN " << marks.fn;
    if (marks.ignored > 0) out << "  on ignore regions " << marks.ignored;
  }
  out << "\n";
  for (size_t i = 0; i < dets.size(); ++i) {
    if (marks.marks[i] == DetectionMark::kBelowConfidence) continue;
    const detect::Detection& d = dets[i];
    std::string mark = has_gt ? markName(marks.marks[i]) : "";
    for (char& c : mark) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    out << "    " << (is_new && (*is_new)[i] ? "new " : "    ") << mark
        << std::string(mark.size() < 8 ? 8 - mark.size() : 1, ' ') << className(names, d.class_id)
        << " " << fixed(d.score, 2) << " " << boxText(d.x1, d.y1, d.x2, d.y2) << "\n";
  }
}

struct Totals {
  int tp[2] = {0, 0}, fp[2] = {0, 0}, fn[2] = {0, 0};
  int lost = 0, gained = 0, new_detections = 0, images = 0;
};

}  // namespace

CommandRunner registerDetect(CLI::App& app) {
  auto a = std::make_shared<DetectArgs>();
  CLI::App* cmd = app.add_subcommand(
      "detect",
      "Run a detector (or a stored run's) on images: detections marked TP / FP, missed "
      "boxes, and what a compressed configuration lost or newly finds");
  cmd->add_option("model", a->model, "ONNX detector")->required();
  cmd->add_option("--data", a->data,
                  "Dataset folder or JSON (KITTI, COCO, YOLO, BDD100K, VOC), "
                  "or one image")
      ->required();
  cmd->add_option("--format", a->format, "auto, kitti, coco, yolo, bdd100k, voc");
  cmd->add_option("--image", a->image, "Only this image of the dataset (file name or stem)");
  cmd->add_option("--limit", a->limit, "The first N images in file-name order (default: all)");
  cmd->add_option("--prune", a->prune, "Pruning applied to MODEL: METHOD[:k=v,...]");
  cmd->add_option("--precision", a->precision,
                  "Precision applied to MODEL: fp32, fp16, bf16, "
                  "int8[:k=v,...]");
  cmd->add_option("--calib", a->calib, "int8 calibration images (default: unused dataset images)");
  cmd->add_option("--classes", a->classes, "Class map JSON (default: shipped map or by name)");
  cmd->add_option("--size", a->size, "Square network input size (default: the model's)");
  cmd->add_option("--threads", a->threads, "Engine threads (0: all cores)");
  cmd->add_option("--conf", a->conf, "Detections shown and counted: score >= this (0.25)");
  cmd->add_option("--iou", a->iou, "IoU for a hit (> this) and for a counterpart (>=) (0.5)");
  cmd->add_option("--vs-run", a->vs_run, "Compare MODEL against stored run ID (the baseline)");
  cmd->add_option("--run", a->run, "Compare stored run ID against MODEL as it is (the baseline)");
  cmd->add_option("--db", a->db, "Results store (default: $XDG_DATA_HOME/detslim/results.sqlite)");
  cmd->add_flag("--json", a->json, "Print one JSON object");
  cmd->add_option("--draw", a->draw, "Write annotated images into this folder");
  return [a, cmd]() -> int {
    if (!cmd->parsed()) return -1;
    if (!(a->conf >= 0.0 && a->conf <= 1.0)) {
      return reportError(invalidArgument("--conf " + fixed(a->conf) + " is outside [0, 1]"));
    }
    if (!(a->iou > 0.0 && a->iou <= 1.0)) {
      return reportError(invalidArgument("--iou " + fixed(a->iou) + " is outside (0, 1]"));
    }
    Result<std::vector<Side>> chosen = chooseSides(*a);
    if (!chosen) return reportError(chosen.status());
    std::vector<Side>& sides = *chosen;
    JobControl control;
    cancelOnInterrupt(control.cancel);
    // int8 calibration without --calib takes unused images of the dataset, as `run` does.
    std::error_code ec;
    const fs::path data = a->data;
    const bool one_image = fs::is_regular_file(data, ec) && data.extension() != ".json";
    const fs::path calib_data = one_image ? data.parent_path() : data;
    Result<datasets::Format> format = datasets::parseFormat(a->format);
    if (!format) return reportError(format.status());
    for (Side& side : sides) {
      Result<BuiltDetector> built = buildDetector(side.spec, calib_data, *format, control);
      if (!built) return reportError(built.status());
      side.built = std::move(*built);
    }
    const std::vector<std::string>& names = sides.front().built->detector.classNames();
    Result<Images> images = chooseImages(*a, names);
    if (!images) return reportError(images.status());
    const bool two = sides.size() == 2;
    const bool has_gt = images->has_gt;

    json out_images = json::array();
    std::vector<std::string> warnings = images->warnings;
    for (Side& side : sides) {
      for (const std::string& note : side.built->notes) warnings.push_back(side.name + ": " + note);
    }
    Totals totals;
    for (const datasets::Sample& sample : images->samples) {
      if (control.cancel.cancelled()) return reportError(cancelled("detect interrupted"));
      std::vector<std::vector<detect::Detection>> dets;
      Status failed;
      for (Side& side : sides) {
        Result<ImageDetections> found = side.built->detector.detect(sample.image_path);
        if (!found) {
          failed = found.status();
          break;
        }
        dets.push_back(std::move(found->detections));
      }
      if (!failed.isOk()) {
        warnings.push_back(sample.image_path.string() + ": " + failed.message() +
                           "; image left out");
        continue;
      }
      const ImageComparison cmp =
          compareImage(sample.boxes, dets[0], two ? &dets[1] : nullptr, a->iou, a->conf);
      ++totals.images;
      for (size_t s = 0; s < sides.size(); ++s) {
        const SideComparison& m = s == 0 ? cmp.a : *cmp.b;
        totals.tp[s] += m.tp;
        totals.fp[s] += m.fp;
        totals.fn[s] += m.fn;
      }
      totals.lost += static_cast<int>(cmp.lost.size());
      totals.gained += static_cast<int>(cmp.gained.size());
      totals.new_detections += cmp.newDetections();

      const std::string name = sample.image_path.filename().string();
      if (!a->draw.empty()) {
        std::vector<DrawnSide> drawn;
        for (size_t s = 0; s < sides.size(); ++s) {
          drawn.push_back(
              {sides[s].name + ": " + sides[s].spec.label, &dets[s], s == 0 ? &cmp.a : &*cmp.b});
        }
        const std::string ext = sample.image_path.extension() == ".png" ? ".png" : ".jpg";
        const fs::path out = fs::path(a->draw) / (sample.image_path.stem().string() + ext);
        Status written = drawComparison(sample.image_path,
                                        has_gt ? sample.boxes : std::vector<datasets::GtBox>{},
                                        drawn, cmp, names, out);
        if (!written.isOk()) return reportError(written);
      }
      int counted = 0;
      for (bool c : cmp.gt_counted) counted += c ? 1 : 0;
      if (a->json) {
        json gt = json::array();
        for (size_t g = 0; g < sample.boxes.size(); ++g) {
          const datasets::GtBox& b = sample.boxes[g];
          json jg = {{"class", b.class_index >= 0 ? className(names, b.class_index) : b.class_name},
                     {"box", boxJson(b.x1, b.y1, b.x2, b.y2)},
                     {"counted", static_cast<bool>(cmp.gt_counted[g])}};
          json found = json::array({static_cast<bool>(cmp.a.gt_found[g])});
          if (two) found.push_back(static_cast<bool>(cmp.b->gt_found[g]));
          jg["found"] = found;
          gt.push_back(jg);
        }
        json ji = {{"image", sample.image_path.string()},
                   {"width", sample.width},
                   {"height", sample.height}};
        if (has_gt) {
          ji["gt"] = gt;
          ji["gt_counted"] = counted;
        } else {
          ji["gt"] = nullptr;
        }
        ji["baseline"] = sideJson(dets[0], cmp.a, nullptr, names, has_gt);
        if (two) {
          ji["compared"] = sideJson(dets[1], *cmp.b, &cmp.b_new, names, has_gt);
          if (has_gt) {
            ji["lost"] = cmp.lost;
            ji["new_found"] = cmp.gained;
          }
          ji["new_detections"] = cmp.newDetections();
        }
        out_images.push_back(ji);
        continue;
      }
      std::cout << name << "  " << sample.width << "x" << sample.height;
      if (has_gt) {
        std::cout << "  GT " << counted;
        if (counted != static_cast<int>(sample.boxes.size())) {
          std::cout << " (+" << sample.boxes.size() - static_cast<size_t>(counted)
                    << " crowd / ignore)";
        }
      }
      std::cout << "\n";
      printSide(sides[0], dets[0], cmp.a, nullptr, names, has_gt, std::cout);
      if (two) {
        printSide(sides[1], dets[1], *cmp.b, &cmp.b_new, names, has_gt, std::cout);
        std::cout << "  ";
        if (has_gt) {
          std::cout << "lost " << cmp.lost.size();
          for (size_t i = 0; i < cmp.lost.size(); ++i) {
            const int cls = sample.boxes[static_cast<size_t>(cmp.lost[i])].class_index;
            std::cout << (i == 0 ? " (" : ", ") << className(names, cls);
          }
          std::cout << (cmp.lost.empty() ? "" : ")") << "  new finds " << cmp.gained.size() << "  ";
        }
        std::cout << "new detections " << cmp.newDetections() << "\n";
      }
    }
    if (totals.images == 0) {
      return reportError(invalidArgument(a->data + ": no image could be run (" +
                                         (warnings.empty() ? "" : warnings.front()) + ")"));
    }
    if (a->json) {
      json j = {{"model", a->model}, {"data", a->data}, {"conf", a->conf}, {"iou", a->iou}};
      json js = json::array();
      for (const Side& s : sides) {
        js.push_back({{"name", s.name},
                      {"label", s.spec.label},
                      {"summary", s.built->summary},
                      {"model", s.spec.model.string()},
                      {"run_id", s.spec.run_id > 0 ? json(s.spec.run_id) : json(nullptr)},
                      {"input_size", s.built->detector.inputWidth()}});
      }
      j["sides"] = js;
      j["images"] = out_images;
      json t = {{"images", totals.images}};
      for (size_t s = 0; s < sides.size(); ++s) {
        json side = {{"tp", totals.tp[s]}, {"fp", totals.fp[s]}, {"fn", totals.fn[s]}};
        if (!has_gt) side = json::object();
        t[s == 0 ? "baseline" : "compared"] = side;
      }
      if (two) {
        if (has_gt) {
          t["lost"] = totals.lost;
          t["new_found"] = totals.gained;
        }
        t["new_detections"] = totals.new_detections;
      }
      j["totals"] = t;
      j["warnings"] = warnings;
      std::cout << j.dump(2) << "\n";
      for (const std::string& w : warnings) std::cerr << "detslim: warning: " << w << "\n";
      return kExitOk;
    }
    std::cout << "\nTotals over " << totals.images << " images (conf >= " << fixed(a->conf, 2)
              << ", IoU > " << fixed(a->iou, 2) << ")";
    if (has_gt) {
      for (size_t s = 0; s < sides.size(); ++s) {
        std::cout << "\n  " << sides[s].name << ": TP " << totals.tp[s] << "  FP " << totals.fp[s]
                  << "  FN " << totals.fn[s];
      }
      if (two) std::cout << "\n  lost " << totals.lost << "  new finds " << totals.gained;
    }
    if (two) std::cout << "\n  new detections " << totals.new_detections;
    std::cout << "\n";
    if (!a->draw.empty()) std::cout << "Annotated images in " << a->draw << "\n";
    for (const std::string& w : warnings) std::cerr << "detslim: warning: " << w << "\n";
    return kExitOk;
  };
}

}  // namespace detslim::cli
