#pragma once
// Activation observation: runs the f32 model in the engine with the tensors to calibrate added
// as graph outputs and accumulates TensorStats (calibrate.h) for each, one input set at a time,
// in constant memory per tensor.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/base/status.h"
#include "core/base/tensor.h"
#include "core/engine/engine.h"
#include "core/graph/graph.h"
#include "core/quant/calibrate.h"

namespace detslim::quant {

class ActivationObserver {
 public:
  // Compiles `model` with every tensor of `tensors` as an extra graph output. Refuses a tensor
  // the model does not produce or take as input, or one that is not float32, naming it.
  static Result<ActivationObserver> create(const Model& model, std::vector<std::string> tensors,
                                           const EngineOptions& engine_options);

  ActivationObserver(ActivationObserver&&) noexcept;
  ActivationObserver& operator=(ActivationObserver&&) noexcept;
  ~ActivationObserver();

  // Runs one network input set (one image; graph-input order) and adds every watched tensor's
  // values. A NaN or infinity refuses the whole observation (nothing is added), naming the tensor
  // and the observation index (0-based: the number of observations accepted before it).
  Status observe(std::span<const Tensor> inputs);
  // Observations accepted so far.
  int64_t count() const { return count_; }
  // The tensor's statistics, or nullptr when it is not watched.
  const TensorStats* stats(const std::string& tensor) const;
  const std::vector<std::string>& tensors() const { return tensors_; }

 private:
  ActivationObserver();

  // Where a watched tensor's values come from after a run.
  struct Source {
    int input_index = -1;   // a graph input: inputs[input_index]
    int output_index = -1;  // otherwise: plan.output(output_index)
  };

  std::unique_ptr<Plan> plan_;
  std::vector<std::string> tensors_;
  std::vector<Source> sources_;
  std::vector<TensorStats> stats_;
  std::unordered_map<std::string, size_t> index_;
  int64_t count_ = 0;
};

}  // namespace detslim::quant
