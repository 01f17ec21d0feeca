#pragma once
// Plan internals shared by compile.cpp and plan.cpp (not a public header).

#include <memory>
#include <string>
#include <vector>

#include "core/engine/engine.h"

namespace detslim {

struct Plan::Impl {
  struct Step {
    std::unique_ptr<Kernel> kernel;
    std::vector<const void*> inputs;
    std::vector<void*> outputs;
    bool skip = false;  // views: the output already shares the input's bytes
  };
  // A step slot that points into a graph input buffer, resolved at every run.
  struct InputPatch {
    size_t step = 0;
    size_t slot = 0;
    bool output_slot = false;
    size_t input_index = 0;
  };
  // A graph output that is a constant or a graph input: copied at the end of run().
  struct OutputCopy {
    size_t output = 0;
    const void* constant = nullptr;
    int input_index = -1;
  };

  int num_threads = 1;
  bool profile = false;
  std::vector<std::string> input_names;
  std::vector<ValueDesc> input_descs;
  std::vector<std::string> output_names;
  std::vector<Tensor> outputs;
  std::vector<Tensor> constants;  // every compile-time value the steps read (weights included)
  std::shared_ptr<std::byte[]> arena;
  size_t arena_bytes = 0;
  size_t arena_bytes_without_reuse = 0;
  std::shared_ptr<std::byte[]> scratch;
  size_t scratch_bytes = 0;
  size_t weight_bytes = 0;
  std::vector<std::pair<std::string, size_t>> weight_bytes_by_dtype;
  std::vector<Step> steps;
  std::vector<StepInfo> infos;
  std::vector<StepTiming> timings;
  std::vector<InputPatch> patches;
  std::vector<OutputCopy> output_copies;
};

}  // namespace detslim
