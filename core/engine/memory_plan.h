#pragma once
// Activation memory planning: every runtime value gets an offset in one arena. Values whose
// lifetimes (first definition to last use, in step order) do not overlap may share bytes; views
// (Reshape, Squeeze, ...) and in-place kernels share their input's bytes. Greedy by size, as
// TFLite's arena planner does: place the largest value first at the lowest offset that does not
// collide with an already placed value alive at the same time.

#include <cstddef>
#include <vector>

namespace detslim {

class MemoryPlanner {
 public:
  explicit MemoryPlanner(size_t value_count);

  // Pass 1: every definition and use, in step order.
  void define(int id, int step, size_t bytes);
  void use(int id, int step);
  // Values that live outside the arena (constants, graph inputs, dedicated graph outputs).
  void markExternal(int id);

  // Pass 2 (after every define/use is known): aliasing.
  // `id` is a view of `src`: same bytes, and src's bytes live as long as id is used.
  void aliasView(int id, int src);
  // Lets `id` overwrite `src` when src (with everything sharing its bytes) is last used at
  // `step`. Returns whether it did.
  bool tryAliasInPlace(int id, int src, int step);
  // The value owning the bytes `id` lives in.
  int root(int id) const;

  struct Result {
    std::vector<size_t> offsets;  // by value id; meaningful for arena roots
    size_t arena_bytes = 0;
    size_t arena_bytes_without_reuse = 0;
  };
  Result solve(bool reuse) const;

 private:
  struct Entry {
    int parent = -1;
    int first = -1;
    int last = -1;
    size_t bytes = 0;
    bool external = false;
    bool defined = false;
  };
  void merge(int id, int into);
  std::vector<Entry> entries_;
};

}  // namespace detslim
