#include <omp.h>

#include <chrono>
#include <cstring>
#include <map>

#include "core/engine/plan_impl.h"

namespace detslim {

Plan::Plan() : impl_(std::make_unique<Impl>()) {}
Plan::~Plan() = default;
Plan::Plan(Plan&&) noexcept = default;
Plan& Plan::operator=(Plan&&) noexcept = default;

Status Plan::run(std::span<const Tensor> inputs) {
  Impl& p = *impl_;
  if (inputs.size() != p.input_descs.size()) {
    return invalidArgument("the plan takes " + std::to_string(p.input_descs.size()) + " inputs, got " +
                           std::to_string(inputs.size()));
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    const ValueDesc& want = p.input_descs[i];
    if (inputs[i].dtype() != want.dtype || inputs[i].shape() != want.shape) {
      return invalidArgument("input '" + p.input_names[i] + "' is " +
                             std::string(dtypeName(inputs[i].dtype())) + shapeToString(inputs[i].shape()) +
                             ", the plan was compiled for " + std::string(dtypeName(want.dtype)) +
                             shapeToString(want.shape));
    }
  }
  for (const Impl::InputPatch& patch : p.patches) {
    void* data = const_cast<void*>(inputs[patch.input_index].raw());
    if (patch.output_slot) p.steps[patch.step].outputs[patch.slot] = data;
    else p.steps[patch.step].inputs[patch.slot] = data;
  }
  omp_set_num_threads(p.num_threads);
  void* scratch = p.scratch.get();
  if (p.profile) {
    using Clock = std::chrono::steady_clock;
    for (size_t i = 0; i < p.steps.size(); ++i) {
      Impl::Step& s = p.steps[i];
      if (s.skip) continue;
      const auto t0 = Clock::now();
      s.kernel->run(KernelArgs{s.inputs, s.outputs, scratch});
      const auto t1 = Clock::now();
      p.timings[i].total_ms += std::chrono::duration<double, std::milli>(t1 - t0).count();
      ++p.timings[i].runs;
    }
  } else {
    for (Impl::Step& s : p.steps) {
      if (!s.skip) s.kernel->run(KernelArgs{s.inputs, s.outputs, scratch});
    }
  }
  for (const Impl::OutputCopy& c : p.output_copies) {
    Tensor& out = p.outputs[c.output];
    const void* src = c.constant ? c.constant : inputs[static_cast<size_t>(c.input_index)].raw();
    std::memcpy(out.rawMutable(), src, out.bytes());
  }
  return Status::ok();
}

const Tensor& Plan::output(size_t i) const { return impl_->outputs.at(i); }
size_t Plan::numOutputs() const { return impl_->outputs.size(); }
const std::vector<std::string>& Plan::outputNames() const { return impl_->output_names; }
const std::vector<std::string>& Plan::inputNames() const { return impl_->input_names; }
const std::vector<ValueDesc>& Plan::inputDescs() const { return impl_->input_descs; }
const std::vector<StepInfo>& Plan::steps() const { return impl_->infos; }
const std::vector<StepTiming>& Plan::timings() const { return impl_->timings; }
void Plan::resetTimings() {
  for (StepTiming& t : impl_->timings) t = StepTiming{};
}
int Plan::numThreads() const { return impl_->num_threads; }
size_t Plan::activationBytes() const { return impl_->arena_bytes; }
size_t Plan::activationBytesWithoutReuse() const { return impl_->arena_bytes_without_reuse; }
size_t Plan::weightBytes() const { return impl_->weight_bytes; }
const std::vector<std::pair<std::string, size_t>>& Plan::weightBytesByDtype() const {
  return impl_->weight_bytes_by_dtype;
}

std::vector<std::pair<std::string, int>> Plan::kernelCounts() const {
  std::map<std::string, int> counts;
  for (const StepInfo& s : impl_->infos) ++counts[s.kernel];
  return {counts.begin(), counts.end()};
}

}  // namespace detslim
