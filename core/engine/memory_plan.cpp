#include "core/engine/memory_plan.h"

#include <algorithm>
#include <numeric>

#include "core/base/tensor.h"

namespace detslim {

namespace {

size_t alignUp(size_t bytes) {
  return (bytes + Tensor::kAlignment - 1) / Tensor::kAlignment * Tensor::kAlignment;
}

}  // namespace

MemoryPlanner::MemoryPlanner(size_t value_count) : entries_(value_count) {}

void MemoryPlanner::define(int id, int step, size_t bytes) {
  Entry& e = entries_[static_cast<size_t>(id)];
  e.defined = true;
  e.bytes = bytes;
  e.first = e.first < 0 ? step : std::min(e.first, step);
  e.last = std::max(e.last, step);
}

void MemoryPlanner::use(int id, int step) {
  Entry& e = entries_[static_cast<size_t>(id)];
  e.last = std::max(e.last, step);
  if (e.first < 0) e.first = step;
}

void MemoryPlanner::markExternal(int id) { entries_[static_cast<size_t>(id)].external = true; }

int MemoryPlanner::root(int id) const {
  while (entries_[static_cast<size_t>(id)].parent >= 0) id = entries_[static_cast<size_t>(id)].parent;
  return id;
}

void MemoryPlanner::merge(int id, int into) {
  const int r = root(into);
  Entry& child = entries_[static_cast<size_t>(id)];
  Entry& owner = entries_[static_cast<size_t>(r)];
  child.parent = r;
  if (child.first >= 0) owner.first = owner.first < 0 ? child.first : std::min(owner.first, child.first);
  owner.last = std::max(owner.last, child.last);
  owner.bytes = std::max(owner.bytes, child.bytes);
}

void MemoryPlanner::aliasView(int id, int src) { merge(id, src); }

bool MemoryPlanner::tryAliasInPlace(int id, int src, int step) {
  const int r = root(src);
  const Entry& owner = entries_[static_cast<size_t>(r)];
  if (owner.external || owner.last > step) return false;
  merge(id, src);
  return true;
}

MemoryPlanner::Result MemoryPlanner::solve(bool reuse) const {
  Result result;
  result.offsets.assign(entries_.size(), 0);
  std::vector<int> roots;
  for (size_t i = 0; i < entries_.size(); ++i) {
    const Entry& e = entries_[i];
    if (e.parent < 0 && !e.external && e.defined && e.bytes > 0) roots.push_back(static_cast<int>(i));
  }
  for (int r : roots) result.arena_bytes_without_reuse += alignUp(entries_[static_cast<size_t>(r)].bytes);
  if (!reuse) {
    size_t offset = 0;
    for (int r : roots) {
      result.offsets[static_cast<size_t>(r)] = offset;
      offset += alignUp(entries_[static_cast<size_t>(r)].bytes);
    }
    result.arena_bytes = offset;
    return result;
  }
  std::sort(roots.begin(), roots.end(), [&](int a, int b) {
    const Entry& x = entries_[static_cast<size_t>(a)];
    const Entry& y = entries_[static_cast<size_t>(b)];
    if (x.bytes != y.bytes) return x.bytes > y.bytes;
    return x.first < y.first;
  });
  struct Placed {
    size_t offset, bytes;
    int first, last;
  };
  std::vector<Placed> placed;
  for (int r : roots) {
    const Entry& e = entries_[static_cast<size_t>(r)];
    const size_t bytes = alignUp(e.bytes);
    std::vector<Placed> live;
    for (const Placed& p : placed) {
      if (p.first <= e.last && e.first <= p.last) live.push_back(p);
    }
    std::sort(live.begin(), live.end(), [](const Placed& a, const Placed& b) { return a.offset < b.offset; });
    size_t offset = 0;
    for (const Placed& p : live) {
      if (p.offset >= offset + bytes) break;  // the gap before p fits
      offset = std::max(offset, p.offset + p.bytes);
    }
    placed.push_back({offset, bytes, e.first, e.last});
    result.offsets[static_cast<size_t>(r)] = offset;
    result.arena_bytes = std::max(result.arena_bytes, offset + bytes);
  }
  return result;
}

}  // namespace detslim
