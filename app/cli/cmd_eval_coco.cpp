// `detslim eval-coco --gt GT.json --dt DETS.json [--json]`: scores a COCO results file against
// COCO instances ground truth with the pycocotools-exact evaluator of core/eval.

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "app/cli/cli_common.h"
#include "app/cli/commands.h"
#include "core/eval/coco_eval.h"
#include "core/eval/coco_json.h"

namespace detslim::cli {

namespace {

struct EvalCocoArgs {
  std::string gt;
  std::string dt;
  bool json = false;
};

void printHuman(const CocoEvalResult& r, std::ostream& out) {
  for (const std::string& line : cocoSummaryLines(r)) out << line << "\n";
  out << "\nPer category (area all, maxDets 100; -1: no ground truth)\n";
  out << "  id      AP  AP50  AP75  name\n";
  for (const CocoCategoryResult& c : r.per_category) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%4lld", static_cast<long long>(c.category_id));
    out << buf << "  " << fixed(c.ap) << " " << fixed(c.ap50) << " " << fixed(c.ap75) << "  "
        << c.name << "\n";
  }
}

nlohmann::json toJson(const CocoEvalResult& r) {
  nlohmann::json j;
  j["stats"] = nlohmann::json::array();
  for (double s : r.stats) j["stats"].push_back(s);
  // Same shape as the pycocotools reference (map_reference expected.json): id -> {ap, ap50}.
  nlohmann::json per = nlohmann::json::object();
  for (const CocoCategoryResult& c : r.per_category) {
    per[std::to_string(c.category_id)] = {{"ap", c.ap}, {"ap50", c.ap50}};
  }
  j["per_category"] = per;
  return j;
}

}  // namespace

CommandRunner registerEvalCoco(CLI::App& app) {
  auto args = std::make_shared<EvalCocoArgs>();
  CLI::App* cmd = app.add_subcommand(
      "eval-coco", "Score a COCO results file against COCO ground truth (pycocotools-exact)");
  cmd->add_option("--gt", args->gt, "COCO instances JSON (images, annotations, categories)")
      ->required();
  cmd->add_option("--dt", args->dt, "COCO results JSON: [{image_id, category_id, bbox, score}]")
      ->required();
  cmd->add_flag("--json", args->json, "Print {\"stats\": [12], \"per_category\": {...}}");
  return [args, cmd]() -> int {
    if (!cmd->parsed()) return -1;
    Result<EvalGroundTruth> gt = readCocoGroundTruth(args->gt);
    if (!gt) return reportError(gt.status());
    Result<std::vector<EvalDetection>> dets = readCocoResults(args->dt, &*gt);
    if (!dets) return reportError(dets.status());
    Result<CocoEvalResult> result = evaluateCoco(*gt, *dets);
    if (!result) return reportError(result.status().withContext(args->dt));
    if (args->json) {
      std::cout << toJson(*result).dump(2) << "\n";
    } else {
      printHuman(*result, std::cout);
    }
    return kExitOk;
  };
}

}  // namespace detslim::cli
