#include <algorithm>
#include <numeric>

#include "core/detect/detect.h"

namespace detslim::detect {

float iou(const Detection& a, const Detection& b) {
  const float iw = std::min(a.x2, b.x2) - std::max(a.x1, b.x1);
  const float ih = std::min(a.y2, b.y2) - std::max(a.y1, b.y1);
  if (iw <= 0.0f || ih <= 0.0f) return 0.0f;
  const float inter = iw * ih;
  const float area_a = std::max(0.0f, a.x2 - a.x1) * std::max(0.0f, a.y2 - a.y1);
  const float area_b = std::max(0.0f, b.x2 - b.x1) * std::max(0.0f, b.y2 - b.y1);
  const float uni = area_a + area_b - inter;
  return uni > 0.0f ? inter / uni : 0.0f;
}

std::vector<Detection> nms(std::vector<Detection> candidates, float iou_threshold,
                           bool class_agnostic, int max_detections) {
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Detection& a, const Detection& b) { return a.score > b.score; });
  const size_t limit = max_detections > 0 ? static_cast<size_t>(max_detections)
                                          : candidates.size();
  std::vector<Detection> kept;
  std::vector<bool> removed(candidates.size(), false);
  for (size_t i = 0; i < candidates.size() && kept.size() < limit; ++i) {
    if (removed[i]) continue;
    const Detection& best = candidates[i];
    kept.push_back(best);
    for (size_t j = i + 1; j < candidates.size(); ++j) {
      if (removed[j]) continue;
      if (!class_agnostic && candidates[j].class_id != best.class_id) continue;
      if (iou(best, candidates[j]) > iou_threshold) removed[j] = true;
    }
  }
  return kept;
}

}  // namespace detslim::detect
