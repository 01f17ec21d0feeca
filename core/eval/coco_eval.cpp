#include "core/eval/coco_eval.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <limits>
#include <map>
#include <numeric>
#include <unordered_map>
#include <utility>

namespace detslim {

namespace {

// np.linspace(start, stop, num): arange(num) * step + start, last element set to stop. The
// products are not the same doubles as i / (num - 1), and the IoU thresholds are compared
// against IoUs, so build them exactly as numpy does.
std::vector<double> linspace(double start, double stop, int num) {
  std::vector<double> out(static_cast<size_t>(num));
  const double step = (stop - start) / (num - 1);
  for (int i = 0; i < num; ++i) out[static_cast<size_t>(i)] = static_cast<double>(i) * step + start;
  out.back() = stop;
  return out;
}

// maskUtils.iou for boxes (bbIou in maskApi.c): crowd GT divides by the detection area only.
double boxIou(const EvalDetection& d, const EvalGtBox& g) {
  const double w = std::min(d.x + d.w, g.x + g.w) - std::max(d.x, g.x);
  if (w <= 0) return 0;
  const double h = std::min(d.y + d.h, g.y + g.h) - std::max(d.y, g.y);
  if (h <= 0) return 0;
  const double inter = w * h;
  const double det_area = d.w * d.h;
  const double uni = g.iscrowd ? det_area : det_area + g.w * g.h - inter;
  return inter / uni;
}

// Result of evaluateImg for one (image, category, area range).
struct ImageEval {
  bool present = false;        // false where pycocotools returns None (no GT and no dets)
  std::vector<double> scores;  // sorted, cut at maxDet
  std::vector<int64_t> det_match;  // [T][D]: matched GT id, 0 = none
  std::vector<uint8_t> det_ignore;  // [T][D]
  std::vector<uint8_t> gt_ignore;   // [G]
};

struct Cell {
  std::vector<const EvalGtBox*> gts;
  std::vector<const EvalDetection*> dets;  // sorted by score, cut at maxDets[-1]
  std::vector<double> ious;                // [D][G] in the cell's original GT order
};

ImageEval evaluateImg(const Cell& cell, const std::array<double, 2>& range, size_t max_det,
                      const std::vector<double>& iou_thrs) {
  ImageEval e;
  const size_t num_gt = cell.gts.size();
  if (cell.gts.empty() && cell.dets.empty()) return e;
  e.present = true;
  // Ignored GT go last (stable), as np.argsort(kind='mergesort') orders them.
  std::vector<uint8_t> ignore_orig(num_gt);
  for (size_t g = 0; g < num_gt; ++g) {
    const EvalGtBox& b = *cell.gts[g];
    ignore_orig[g] = (b.ignore || b.iscrowd || b.area < range[0] || b.area > range[1]) ? 1 : 0;
  }
  std::vector<size_t> gt_order(num_gt);
  std::iota(gt_order.begin(), gt_order.end(), size_t{0});
  std::stable_sort(gt_order.begin(), gt_order.end(),
                   [&](size_t a, size_t b) { return ignore_orig[a] < ignore_orig[b]; });
  const size_t num_dets = std::min(cell.dets.size(), max_det);
  const size_t num_t = iou_thrs.size();
  e.gt_ignore.resize(num_gt);
  for (size_t g = 0; g < num_gt; ++g) e.gt_ignore[g] = ignore_orig[gt_order[g]];
  e.scores.resize(num_dets);
  for (size_t d = 0; d < num_dets; ++d) e.scores[d] = cell.dets[d]->score;
  e.det_match.assign(num_t * num_dets, 0);
  e.det_ignore.assign(num_t * num_dets, 0);
  std::vector<int64_t> gt_match(num_t * num_gt, 0);  // matched detection id (1-based), 0 = none

  // pycocotools skips matching when the IoU matrix is empty (no GT or no detections).
  if (num_gt > 0 && num_dets > 0) {
    for (size_t t = 0; t < num_t; ++t) {
      for (size_t d = 0; d < num_dets; ++d) {
        double best = std::min(iou_thrs[t], 1 - 1e-10);
        ptrdiff_t m = -1;
        for (size_t g = 0; g < num_gt; ++g) {
          const EvalGtBox& gb = *cell.gts[gt_order[g]];
          // A GT already taken stays taken unless it is a crowd.
          if (gt_match[t * num_gt + g] > 0 && !gb.iscrowd) continue;
          // Ignored GT sort last: once a real GT matched, stop before the ignored ones.
          if (m > -1 && e.gt_ignore[static_cast<size_t>(m)] == 0 && e.gt_ignore[g] == 1) break;
          const double iou = cell.ious[d * num_gt + gt_order[g]];
          if (iou < best) continue;
          best = iou;
          m = static_cast<ptrdiff_t>(g);
        }
        if (m == -1) continue;
        const size_t mg = static_cast<size_t>(m);
        e.det_ignore[t * num_dets + d] = e.gt_ignore[mg];
        e.det_match[t * num_dets + d] = cell.gts[gt_order[mg]]->id;
        // Detection ids in pycocotools start at 1; any positive value marks the GT as taken.
        gt_match[t * num_gt + mg] = static_cast<int64_t>(d) + 1;
      }
    }
  }
  // Unmatched detections outside the area range are ignored. The test is dtm == 0, so a
  // detection matched to a GT whose id is 0 also counts as unmatched, as in pycocotools.
  for (size_t d = 0; d < num_dets; ++d) {
    const EvalDetection& det = *cell.dets[d];
    const double area = det.w * det.h;
    const bool outside = area < range[0] || area > range[1];
    if (!outside) continue;
    for (size_t t = 0; t < num_t; ++t) {
      if (e.det_match[t * num_dets + d] == 0) e.det_ignore[t * num_dets + d] = 1;
    }
  }
  return e;
}

// Mean of the entries > -1 (np.mean(s[s > -1])), -1 when there are none.
double meanValid(const std::vector<double>& values) {
  double sum = 0;
  size_t n = 0;
  for (double v : values) {
    if (v > -1) {
      sum += v;
      ++n;
    }
  }
  return n ? sum / static_cast<double>(n) : -1.0;
}

}  // namespace

CocoEvalParams CocoEvalParams::defaults() {
  CocoEvalParams p;
  p.iou_thresholds = linspace(0.5, 0.95, 10);
  p.recall_thresholds = linspace(0.0, 1.0, 101);
  p.max_dets = {1, 10, 100};
  p.area_ranges = {{0.0, 1e10}, {0.0, 1024.0}, {1024.0, 9216.0}, {9216.0, 1e10}};
  return p;
}

double CocoEvalResult::precisionAt(size_t t, size_t r, size_t k, size_t a, size_t m) const {
  const size_t num_r = params.recall_thresholds.size();
  const size_t num_a = params.area_ranges.size();
  const size_t num_m = params.max_dets.size();
  return precision[(((t * num_r + r) * num_categories + k) * num_a + a) * num_m + m];
}

double CocoEvalResult::recallAt(size_t t, size_t k, size_t a, size_t m) const {
  const size_t num_a = params.area_ranges.size();
  const size_t num_m = params.max_dets.size();
  return recall[((t * num_categories + k) * num_a + a) * num_m + m];
}

Result<CocoEvalResult> evaluateCoco(const EvalGroundTruth& gt,
                                    const std::vector<EvalDetection>& dets,
                                    const CocoEvalParams& params) {
  CocoEvalParams p = params;
  if (p.iou_thresholds.empty() || p.recall_thresholds.empty() || p.max_dets.empty() ||
      p.area_ranges.empty()) {
    return invalidArgument("COCO evaluation parameters: empty threshold, maxDets or area list");
  }
  std::sort(p.max_dets.begin(), p.max_dets.end());  // evaluate() sorts maxDets too
  // pycocotools sorts the ids (params.imgIds = sorted(...)); duplicates would double count.
  std::vector<int64_t> img_ids = gt.image_ids;
  std::vector<int64_t> cat_ids = gt.category_ids;
  std::sort(img_ids.begin(), img_ids.end());
  img_ids.erase(std::unique(img_ids.begin(), img_ids.end()), img_ids.end());
  std::sort(cat_ids.begin(), cat_ids.end());
  cat_ids.erase(std::unique(cat_ids.begin(), cat_ids.end()), cat_ids.end());
  std::unordered_map<int64_t, size_t> img_index, cat_index;
  for (size_t i = 0; i < img_ids.size(); ++i) img_index[img_ids[i]] = i;
  for (size_t k = 0; k < cat_ids.size(); ++k) cat_index[cat_ids[k]] = k;

  const size_t num_i = img_ids.size(), num_k = cat_ids.size();
  const size_t num_a = p.area_ranges.size(), num_m = p.max_dets.size();
  const size_t num_t = p.iou_thresholds.size(), num_r = p.recall_thresholds.size();
  const size_t max_det = static_cast<size_t>(std::max(p.max_dets.back(), 0));

  // Cells (category-major, image-minor) keep the file order of boxes within an image, which
  // decides how equal scores and equal IoUs are broken.
  std::vector<Cell> cells(num_k * num_i);
  for (const EvalGtBox& b : gt.boxes) {
    auto ii = img_index.find(b.image_id);
    auto kk = cat_index.find(b.category_id);
    if (ii == img_index.end() || kk == cat_index.end()) continue;
    cells[kk->second * num_i + ii->second].gts.push_back(&b);
  }
  for (size_t n = 0; n < dets.size(); ++n) {
    const EvalDetection& d = dets[n];
    auto ii = img_index.find(d.image_id);
    if (ii == img_index.end()) {
      return invalidArgument("detection " + std::to_string(n) + ": image_id " +
                             std::to_string(d.image_id) + " is not an image of the ground truth");
    }
    auto kk = cat_index.find(d.category_id);
    if (kk == cat_index.end()) continue;
    cells[kk->second * num_i + ii->second].dets.push_back(&d);
  }
  for (Cell& c : cells) {
    std::stable_sort(c.dets.begin(), c.dets.end(),
                     [](const EvalDetection* a, const EvalDetection* b) {
                       return a->score > b->score;
                     });
    if (c.dets.size() > max_det) c.dets.resize(max_det);
    c.ious.resize(c.dets.size() * c.gts.size());
    for (size_t d = 0; d < c.dets.size(); ++d) {
      for (size_t g = 0; g < c.gts.size(); ++g) {
        c.ious[d * c.gts.size() + g] = boxIou(*c.dets[d], *c.gts[g]);
      }
    }
  }

  CocoEvalResult res;
  res.params = p;
  res.num_categories = num_k;
  res.precision.assign(num_t * num_r * num_k * num_a * num_m, -1.0);
  res.recall.assign(num_t * num_k * num_a * num_m, -1.0);
  // np.spacing(1): keeps tp / (tp + fp) finite when both are 0.
  const double kSpacing1 = std::numeric_limits<double>::epsilon();

  std::vector<ImageEval> evals(num_i);
  for (size_t k = 0; k < num_k; ++k) {
    for (size_t a = 0; a < num_a; ++a) {
      for (size_t i = 0; i < num_i; ++i) {
        evals[i] = evaluateImg(cells[k * num_i + i], p.area_ranges[a], max_det, p.iou_thresholds);
      }
      for (size_t m = 0; m < num_m; ++m) {
        const size_t cut = static_cast<size_t>(std::max(p.max_dets[m], 0));
        // Concatenate in image order, then one stable sort by score over all images.
        std::vector<double> scores;
        std::vector<std::pair<size_t, size_t>> where;  // (image, det index)
        size_t num_present = 0;
        int64_t npig = 0;
        for (size_t i = 0; i < num_i; ++i) {
          const ImageEval& e = evals[i];
          if (!e.present) continue;
          ++num_present;
          const size_t nd = std::min(e.scores.size(), cut);
          for (size_t d = 0; d < nd; ++d) {
            scores.push_back(e.scores[d]);
            where.emplace_back(i, d);
          }
          for (uint8_t ig : e.gt_ignore) npig += (ig == 0);
        }
        if (num_present == 0 || npig == 0) continue;
        std::vector<size_t> order(scores.size());
        std::iota(order.begin(), order.end(), size_t{0});
        std::stable_sort(order.begin(), order.end(),
                         [&](size_t x, size_t y) { return scores[x] > scores[y]; });
        const size_t nd = order.size();
        std::vector<double> rc(nd), pr(nd);
        for (size_t t = 0; t < num_t; ++t) {
          double tp = 0, fp = 0;
          for (size_t j = 0; j < nd; ++j) {
            const auto [i, d] = where[order[j]];
            const ImageEval& e = evals[i];
            const size_t stride = e.scores.size();
            const bool matched = e.det_match[t * stride + d] != 0;
            const bool ignored = e.det_ignore[t * stride + d] != 0;
            if (!ignored) (matched ? tp : fp) += 1;
            rc[j] = tp / static_cast<double>(npig);
            pr[j] = tp / (fp + tp + kSpacing1);
          }
          res.recall[((t * num_k + k) * num_a + a) * num_m + m] = nd ? rc[nd - 1] : 0.0;
          // Monotone precision envelope, from the right.
          for (size_t j = nd; j-- > 1;) {
            if (pr[j] > pr[j - 1]) pr[j - 1] = pr[j];
          }
          // searchsorted(rc, recThrs, 'left'): first j with rc[j] >= threshold; past the end
          // the precision stays 0 (pycocotools' try / except).
          size_t j = 0;
          for (size_t r = 0; r < num_r; ++r) {
            while (j < nd && rc[j] < p.recall_thresholds[r]) ++j;
            const double q = j < nd ? pr[j] : 0.0;
            res.precision[(((t * num_r + r) * num_k + k) * num_a + a) * num_m + m] = q;
          }
        }
      }
    }
  }

  // summarize(): maxDets looked up by value as pycocotools does.
  auto mdet_index = [&](int want) -> ptrdiff_t {
    for (size_t m = 0; m < num_m; ++m) {
      if (p.max_dets[m] == want) return static_cast<ptrdiff_t>(m);
    }
    return -1;
  };
  auto summarize = [&](bool ap, ptrdiff_t iou_index, size_t a, int max_dets) {
    const ptrdiff_t m = mdet_index(max_dets);
    if (m < 0 || a >= num_a) return -1.0;
    std::vector<double> vals;
    for (size_t t = 0; t < num_t; ++t) {
      if (iou_index >= 0 && static_cast<size_t>(iou_index) != t) continue;
      for (size_t k = 0; k < num_k; ++k) {
        if (ap) {
          for (size_t r = 0; r < num_r; ++r) {
            vals.push_back(res.precisionAt(t, r, k, a, static_cast<size_t>(m)));
          }
        } else {
          vals.push_back(res.recallAt(t, k, a, static_cast<size_t>(m)));
        }
      }
    }
    return meanValid(vals);
  };
  // iouThr == p.iouThrs picks .5 (index 0) and .75 (index 5) of the default thresholds.
  auto thr_index = [&](double thr) -> ptrdiff_t {
    for (size_t t = 0; t < num_t; ++t) {
      if (std::fabs(p.iou_thresholds[t] - thr) < 1e-12) return static_cast<ptrdiff_t>(t);
    }
    return -2;  // no such threshold: the slice is empty and the stat is -1
  };
  const int last = p.max_dets.back();
  const int m_small = p.max_dets.front();
  const int m_mid = num_m > 1 ? p.max_dets[1] : last;
  auto stat = [&](bool ap, ptrdiff_t t, size_t a, int md) {
    if (t == -2) return -1.0;
    return summarize(ap, t, a, md);
  };
  res.stats = {stat(true, -1, 0, last),
               stat(true, thr_index(0.5), 0, last),
               stat(true, thr_index(0.75), 0, last),
               stat(true, -1, 1, last),
               stat(true, -1, 2, last),
               stat(true, -1, 3, last),
               stat(false, -1, 0, m_small),
               stat(false, -1, 0, m_mid),
               stat(false, -1, 0, last),
               stat(false, -1, 1, last),
               stat(false, -1, 2, last),
               stat(false, -1, 3, last)};

  const ptrdiff_t m_last = mdet_index(last);
  const ptrdiff_t t50 = thr_index(0.5), t75 = thr_index(0.75);
  std::map<int64_t, std::string> names;
  for (size_t k = 0; k < gt.category_ids.size() && k < gt.category_names.size(); ++k) {
    names[gt.category_ids[k]] = gt.category_names[k];
  }
  for (size_t k = 0; k < num_k; ++k) {
    CocoCategoryResult c;
    c.category_id = cat_ids[k];
    if (auto it = names.find(c.category_id); it != names.end()) c.name = it->second;
    const size_t m = static_cast<size_t>(m_last);
    auto ap_over = [&](ptrdiff_t only_t) {
      std::vector<double> vals;
      for (size_t t = 0; t < num_t; ++t) {
        if (only_t >= 0 && static_cast<size_t>(only_t) != t) continue;
        for (size_t r = 0; r < num_r; ++r) vals.push_back(res.precisionAt(t, r, k, 0, m));
      }
      return meanValid(vals);
    };
    c.ap = ap_over(-1);
    c.ap50 = t50 >= 0 ? ap_over(t50) : -1.0;
    c.ap75 = t75 >= 0 ? ap_over(t75) : -1.0;
    std::vector<double> rec;
    for (size_t t = 0; t < num_t; ++t) rec.push_back(res.recallAt(t, k, 0, m));
    c.recall = meanValid(rec);
    res.per_category.push_back(std::move(c));
  }
  return res;
}

std::vector<std::string> cocoSummaryLines(const CocoEvalResult& result) {
  struct Row {
    bool ap;
    const char* iou;
    const char* area;
    int max_dets;
  };
  const CocoEvalParams& p = result.params;
  const int last = p.max_dets.back();
  const int first = p.max_dets.front();
  const int mid = p.max_dets.size() > 1 ? p.max_dets[1] : last;
  const Row rows[kCocoStatCount] = {
      {true, "0.50:0.95", "all", last},  {true, "0.50", "all", last},
      {true, "0.75", "all", last},       {true, "0.50:0.95", "small", last},
      {true, "0.50:0.95", "medium", last}, {true, "0.50:0.95", "large", last},
      {false, "0.50:0.95", "all", first}, {false, "0.50:0.95", "all", mid},
      {false, "0.50:0.95", "all", last}, {false, "0.50:0.95", "small", last},
      {false, "0.50:0.95", "medium", last}, {false, "0.50:0.95", "large", last},
  };
  std::vector<std::string> lines;
  for (int i = 0; i < kCocoStatCount; ++i) {
    const Row& r = rows[i];
    // ' {:<18} {} @[ IoU={:<9} | area={:>6s} | maxDets={:>3d} ] = {:0.3f}'
    char buf[160];
    std::snprintf(buf, sizeof(buf), " %-18s %s @[ IoU=%-9s | area=%6s | maxDets=%3d ] = %0.3f",
                  r.ap ? "Average Precision" : "Average Recall", r.ap ? "(AP)" : "(AR)", r.iou,
                  r.area, r.max_dets, result.stats[static_cast<size_t>(i)]);
    lines.emplace_back(buf);
  }
  return lines;
}

// ---- Pascal VOC ----

namespace {

double vocIou(const EvalDetection& d, const EvalGtBox& g, bool inclusive) {
  const double one = inclusive ? 1.0 : 0.0;
  const double iw = std::max(std::min(d.x + d.w, g.x + g.w) - std::max(d.x, g.x) + one, 0.0);
  const double ih = std::max(std::min(d.y + d.h, g.y + g.h) - std::max(d.y, g.y) + one, 0.0);
  const double inter = iw * ih;
  const double uni = (d.w + one) * (d.h + one) + (g.w + one) * (g.h + one) - inter;
  return uni > 0 ? inter / uni : 0.0;
}

// Per-class greedy VOC matching. Returns, for detections in descending score order, +1 (TP),
// -1 (FP) or 0 (matched a difficult GT: neither), and the number of non-difficult GT.
struct VocMatch {
  std::vector<int> outcome;
  std::vector<double> scores;
  std::vector<size_t> detection;         // index into `dets`, parallel to outcome
  std::vector<const EvalGtBox*> matched;  // the GT a +1 / 0 outcome matched, else nullptr
  int64_t num_gt = 0;
};

std::map<int64_t, VocMatch> vocMatch(const EvalGroundTruth& gt,
                                     const std::vector<EvalDetection>& dets,
                                     const VocEvalOptions& o, double min_score) {
  std::map<int64_t, VocMatch> out;
  for (int64_t c : gt.category_ids) out[c];
  // (category, image) -> GT boxes of that image and class
  std::map<std::pair<int64_t, int64_t>, std::vector<const EvalGtBox*>> by_img;
  for (const EvalGtBox& b : gt.boxes) {
    if (!out.count(b.category_id)) continue;
    by_img[{b.category_id, b.image_id}].push_back(&b);
    if (!(b.difficult || b.iscrowd || b.ignore)) ++out[b.category_id].num_gt;
  }
  std::map<int64_t, std::vector<const EvalDetection*>> by_cat;
  for (const EvalDetection& d : dets) {
    if (out.count(d.category_id) && d.score >= min_score) by_cat[d.category_id].push_back(&d);
  }
  for (auto& [cat, list] : by_cat) {
    std::stable_sort(list.begin(), list.end(), [](const EvalDetection* a,
                                                  const EvalDetection* b) {
      return a->score > b->score;
    });
    std::map<const EvalGtBox*, bool> taken;
    VocMatch& vm = out[cat];
    for (const EvalDetection* d : list) {
      vm.scores.push_back(d->score);
      vm.detection.push_back(static_cast<size_t>(d - dets.data()));
      double best = -std::numeric_limits<double>::infinity();
      const EvalGtBox* hit = nullptr;
      auto it = by_img.find({cat, d->image_id});
      if (it != by_img.end()) {
        for (const EvalGtBox* g : it->second) {
          const double iou = vocIou(*d, *g, o.pixel_inclusive);
          if (iou > best) {
            best = iou;
            hit = g;
          }
        }
      }
      // The devkit tests ovmax > ovthresh (strict).
      if (hit == nullptr || !(best > o.iou_threshold)) {
        vm.outcome.push_back(-1);
        vm.matched.push_back(nullptr);
      } else if (hit->difficult || hit->iscrowd || hit->ignore) {
        vm.outcome.push_back(0);
        vm.matched.push_back(hit);
      } else if (!taken[hit]) {
        taken[hit] = true;
        vm.outcome.push_back(1);
        vm.matched.push_back(hit);
      } else {
        vm.outcome.push_back(-1);
        vm.matched.push_back(nullptr);
      }
    }
  }
  return out;
}

}  // namespace

VocEvalResult evaluateVoc(const EvalGroundTruth& gt, const std::vector<EvalDetection>& dets,
                          const VocEvalOptions& options) {
  VocEvalResult res;
  std::vector<double> aps;
  for (const auto& [cat, vm] : vocMatch(gt, dets, options, options.min_score)) {
    VocClassResult c;
    c.category_id = cat;
    c.num_gt = vm.num_gt;
    c.num_dets = static_cast<int64_t>(vm.outcome.size());
    if (vm.num_gt > 0) {
      std::vector<double> rec, prec;
      double tp = 0, fp = 0;
      for (int r : vm.outcome) {
        if (r > 0) tp += 1;
        if (r < 0) fp += 1;
        // Difficult matches add neither TP nor FP but still take a point on the curve, as in
        // the devkit's cumsum over all sorted detections.
        rec.push_back(tp / static_cast<double>(vm.num_gt));
        prec.push_back(tp / std::max(tp + fp, std::numeric_limits<double>::epsilon()));
      }
      double ap = 0;
      if (options.method == VocApMethod::kElevenPoint) {
        for (int i = 0; i <= 10; ++i) {
          const double t = i / 10.0;
          double pmax = 0;
          for (size_t j = 0; j < rec.size(); ++j) {
            if (rec[j] >= t) pmax = std::max(pmax, prec[j]);
          }
          ap += pmax / 11.0;
        }
      } else {
        std::vector<double> mrec{0.0}, mpre{0.0};
        mrec.insert(mrec.end(), rec.begin(), rec.end());
        mpre.insert(mpre.end(), prec.begin(), prec.end());
        mrec.push_back(1.0);
        mpre.push_back(0.0);
        for (size_t i = mpre.size() - 1; i > 0; --i) mpre[i - 1] = std::max(mpre[i - 1], mpre[i]);
        for (size_t i = 0; i + 1 < mrec.size(); ++i) {
          if (mrec[i + 1] != mrec[i]) ap += (mrec[i + 1] - mrec[i]) * mpre[i + 1];
        }
      }
      c.ap = ap;
      aps.push_back(ap);
    }
    res.per_class.push_back(c);
  }
  if (!aps.empty()) res.map = std::accumulate(aps.begin(), aps.end(), 0.0) / aps.size();
  return res;
}

std::vector<VocDetectionMatch> matchVoc(const EvalGroundTruth& gt,
                                        const std::vector<EvalDetection>& dets,
                                        const VocEvalOptions& options) {
  std::vector<VocDetectionMatch> out(dets.size());
  for (const auto& [cat, vm] : vocMatch(gt, dets, options, options.min_score)) {
    for (size_t i = 0; i < vm.outcome.size(); ++i) {
      VocDetectionMatch& m = out[vm.detection[i]];
      m.considered = true;
      m.outcome = vm.outcome[i];
      if (vm.matched[i]) m.gt_index = static_cast<int64_t>(vm.matched[i] - gt.boxes.data());
    }
  }
  return out;
}

PrAtConfidence precisionRecallAt(const EvalGroundTruth& gt,
                                 const std::vector<EvalDetection>& dets, double confidence,
                                 const VocEvalOptions& options) {
  PrAtConfidence res;
  res.confidence = confidence;
  res.total.category_id = -1;
  auto finish = [](PrCounts& c) {
    c.precision = c.tp + c.fp > 0 ? static_cast<double>(c.tp) / (c.tp + c.fp) : 0.0;
    c.recall = c.num_gt > 0 ? static_cast<double>(c.tp) / c.num_gt : 0.0;
  };
  for (const auto& [cat, vm] : vocMatch(gt, dets, options, confidence)) {
    PrCounts c;
    c.category_id = cat;
    c.num_gt = vm.num_gt;
    for (int r : vm.outcome) {
      if (r > 0) ++c.tp;
      if (r < 0) ++c.fp;
    }
    finish(c);
    res.total.tp += c.tp;
    res.total.fp += c.fp;
    res.total.num_gt += c.num_gt;
    res.per_class.push_back(c);
  }
  finish(res.total);
  return res;
}

}  // namespace detslim
