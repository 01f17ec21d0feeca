// ActivationObserver: the f32 model compiled with the watched tensors as extra outputs.

#include "core/quant/observe.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <unordered_set>
#include <utility>

namespace detslim::quant {

ActivationObserver::ActivationObserver() = default;
ActivationObserver::ActivationObserver(ActivationObserver&&) noexcept = default;
ActivationObserver& ActivationObserver::operator=(ActivationObserver&&) noexcept = default;
ActivationObserver::~ActivationObserver() = default;

Result<ActivationObserver> ActivationObserver::create(const Model& model, std::vector<std::string> tensors,
                                                      const EngineOptions& engine_options) {
  Model work = model;  // shares the weights
  Graph& g = work.graph;
  std::unordered_set<std::string> produced;
  for (const Node& n : g.nodes) {
    for (const std::string& o : n.outputs) {
      if (!o.empty()) produced.insert(o);
    }
  }
  ActivationObserver obs;
  std::unordered_set<std::string> seen;
  for (const std::string& t : tensors) {
    if (!seen.insert(t).second) return invalidArgument("tensor '" + t + "' is listed twice for observation");
    Source src;
    for (size_t i = 0; i < g.inputs.size(); ++i) {
      if (g.inputs[i].name == t && !g.isInitializer(t)) src.input_index = static_cast<int>(i);
    }
    if (src.input_index < 0) {
      if (!produced.count(t)) {
        return notFound("cannot observe tensor '" + t + "': " +
                        (g.isInitializer(t) ? "it is a constant (initializer)" : "no node of the model produces it"));
      }
      // Observed through an Identity copy rather than by making T itself a graph output: the
      // engine then plans T exactly as in the model. (Measured: making a Concat output that a
      // Reshape reads a graph output corrupted NanoDet-m's real outputs.)
      Node copy;
      copy.op_type = "Identity";
      copy.name = g.uniqueName(t + "_observe");
      copy.inputs = {t};
      copy.outputs = {g.uniqueName(t + "_observed")};
      ValueInfo v;
      v.name = copy.outputs[0];
      v.type.dtype = DType::kFloat32;
      g.nodes.push_back(std::move(copy));
      g.outputs.push_back(std::move(v));
      const int out = static_cast<int>(g.outputs.size()) - 1;
      src.output_index = out;
    } else if (const TensorType* type = g.typeOf(t); type && type->dtype != DType::kFloat32) {
      return invalidArgument("cannot observe graph input '" + t + "': it is " +
                             std::string(dtypeName(type->dtype)) + ", not float32");
    }
    obs.sources_.push_back(src);
  }
  Result<Plan> plan = Engine::compile(work, engine_options);
  if (!plan) return plan.status().withContext("compiling the model for activation observation");
  obs.plan_ = std::make_unique<Plan>(std::move(plan).value());
  for (size_t k = 0; k < tensors.size(); ++k) {
    const Source& src = obs.sources_[k];
    if (src.output_index < 0) continue;
    const Tensor& out = obs.plan_->output(static_cast<size_t>(src.output_index));
    if (out.dtype() != DType::kFloat32) {
      return invalidArgument("cannot observe tensor '" + tensors[k] + "': it is " +
                             std::string(dtypeName(out.dtype())) + ", not float32");
    }
  }
  for (size_t k = 0; k < tensors.size(); ++k) obs.index_.emplace(tensors[k], k);
  obs.stats_.resize(tensors.size());
  obs.tensors_ = std::move(tensors);
  return obs;
}

Status ActivationObserver::observe(std::span<const Tensor> inputs) {
  DS_RETURN_IF_ERROR(plan_->run(inputs));
  const size_t n = tensors_.size();
  std::vector<std::span<const float>> values(n);
  for (size_t k = 0; k < n; ++k) {
    const Source& src = sources_[k];
    const Tensor& t = src.input_index >= 0 ? inputs[static_cast<size_t>(src.input_index)]
                                           : plan_->output(static_cast<size_t>(src.output_index));
    if (t.dtype() != DType::kFloat32) {
      return invalidArgument("observed tensor '" + tensors_[k] + "' is " + std::string(dtypeName(t.dtype())) +
                             ", not float32");
    }
    values[k] = t.span<float>();
  }
  // Every tensor is checked before any statistic changes, so a refused observation adds nothing.
  std::vector<float> lo(n), hi(n);
  for (size_t k = 0; k < n; ++k) {
    int64_t bad = -1;
    if (!TensorStats::scan(values[k], lo[k], hi[k], &bad)) {
      const float v = values[k][static_cast<size_t>(bad)];
      return invalidArgument("tensor '" + tensors_[k] + "' holds " + (std::isnan(v) ? "NaN" : "an infinity") +
                             " (element " + std::to_string(bad) + ") in observation " +
                             std::to_string(count_) + " (0-based)");
    }
  }
  for (size_t k = 0; k < n; ++k) stats_[k].addScanned(values[k], lo[k], hi[k]);
  ++count_;
  return Status::ok();
}

const TensorStats* ActivationObserver::stats(const std::string& tensor) const {
  auto it = index_.find(tensor);
  return it == index_.end() ? nullptr : &stats_[it->second];
}

}  // namespace detslim::quant
