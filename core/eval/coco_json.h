#pragma once
// COCO JSON for evaluation: instances ground truth (images, annotations, categories) and
// results files (a list of {image_id, category_id, bbox, score}). Every error names the file
// and the entry and field at fault, e.g. "dt.json: [12].bbox: expected 4 numbers, got 3".

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"
#include "core/eval/coco_eval.h"

namespace detslim {

// `source` is the name used in messages (normally the file path).
Result<EvalGroundTruth> parseCocoGroundTruth(std::string_view text, const std::string& source);
Result<EvalGroundTruth> readCocoGroundTruth(const std::filesystem::path& path);

// Parses a results file. Image ids are checked against `gt` when it is given: pycocotools
// asserts on results for images the ground truth does not have, and we refuse them with the
// entry index. Detections of categories the ground truth lacks are kept (COCOeval skips them).
Result<std::vector<EvalDetection>> parseCocoResults(std::string_view text,
                                                    const std::string& source,
                                                    const EvalGroundTruth* gt = nullptr);
Result<std::vector<EvalDetection>> readCocoResults(const std::filesystem::path& path,
                                                   const EvalGroundTruth* gt = nullptr);

// A results file as COCO tools read it.
std::string cocoResultsToJson(const std::vector<EvalDetection>& dets);
Status writeCocoResults(const std::filesystem::path& path, const std::vector<EvalDetection>& dets);

}  // namespace detslim
