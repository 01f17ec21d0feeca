#include "core/engine/batch.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/graph/passes.h"

namespace detslim {

namespace {

// Batch items that differ from each other, so a rewrite that mixes items cannot pass the check:
// item b is the sample scaled by a factor that depends on b.
Tensor distinctItems(const Tensor& item, int64_t batch) {
  Shape shape = item.shape();
  shape[0] = batch;
  Tensor out(item.dtype(), shape);
  const size_t bytes = item.bytes();
  for (int64_t b = 0; b < batch; ++b) {
    std::byte* dst = static_cast<std::byte*>(out.rawMutable()) + b * bytes;
    std::memcpy(dst, item.raw(), bytes);
    if (item.dtype() == DType::kFloat32) {
      constexpr float kStep = 0.37f;  // keeps values in the input's range, distinct per item
      float* v = reinterpret_cast<float*>(dst);
      const float scale = 1.0f - kStep * static_cast<float>(b % 3) / 2.0f;
      for (int64_t i = 0; i < item.numel(); ++i) v[i] *= scale;
    }
  }
  return out;
}

Tensor sliceItem(const Tensor& batch_tensor, int64_t b) {
  Shape shape = batch_tensor.shape();
  const int64_t batch = shape[0];
  shape[0] = 1;
  Tensor out(batch_tensor.dtype(), shape);
  const size_t bytes = batch_tensor.bytes() / static_cast<size_t>(batch);
  std::memcpy(out.rawMutable(), static_cast<const std::byte*>(batch_tensor.raw()) + b * bytes,
              bytes);
  return out;
}

// Largest |a - b| over max |b|.
double relativeDiff(const Tensor& a, const Tensor& b) {
  const std::vector<float> x = a.toFloatVector();
  const std::vector<float> y = b.toFloatVector();
  if (x.size() != y.size()) return INFINITY;
  double max_diff = 0.0;
  double max_ref = 1e-12;
  for (size_t i = 0; i < x.size(); ++i) {
    max_diff = std::max(max_diff, std::fabs(static_cast<double>(x[i]) - y[i]));
    max_ref = std::max(max_ref, std::fabs(static_cast<double>(y[i])));
  }
  return max_diff / max_ref;
}

}  // namespace

Result<BatchPlan> compileForBatch(const Model& model, const std::string& input_name,
                                  const Tensor& item, int64_t batch, EngineOptions options) {
  if (batch < 1 || item.rank() < 1 || item.shape()[0] != 1) {
    return invalidArgument("compileForBatch: needs batch >= 1 and a [1, ...] input item");
  }
  Shape shape = item.shape();
  shape[0] = batch;
  options.input_shapes = {{input_name, shape}};
  BatchPlan result;
  Result<Plan> plain = Engine::compile(model, options);
  if (plain) {
    result.plan = std::move(*plain);
    return result;
  }
  // Rewrite the batch baked into Reshape targets, then prove the copy right on distinct items.
  Model copy = model;
  DS_RETURN_IF_ERROR(foldConstants(copy).status());
  DS_ASSIGN_OR_RETURN(PassReport rewrite, rebatchReshapes(copy, 1, batch));
  if (rewrite.notes.empty()) return plain.status();
  Result<Plan> batched = Engine::compile(copy, options);
  if (!batched) return plain.status();
  EngineOptions single = options;
  single.input_shapes = {{input_name, item.shape()}};
  DS_ASSIGN_OR_RETURN(Plan one, Engine::compile(model, single));
  const Tensor items = distinctItems(item, batch);
  DS_RETURN_IF_ERROR(batched->run({&items, 1}));
  // Relative tolerance: kernels may pick other algorithms at another batch (blocking,
  // accumulation order), which moves float32 results by ~1e-6 relative.
  constexpr double kTolerance = 1e-4;
  const std::vector<int64_t> checked = {0, batch / 2, batch - 1};
  for (int64_t b : checked) {
    const Tensor in = sliceItem(items, b);
    DS_RETURN_IF_ERROR(one.run({&in, 1}));
    for (size_t o = 0; o < one.numOutputs(); ++o) {
      const Tensor& batch_out = batched->output(o);
      if (batch_out.rank() < 1 || batch_out.shape()[0] != batch) {
        return unsupported("batch " + std::to_string(batch) + ": output '" +
                           one.outputNames()[o] + "' of the rebatched graph has shape " +
                           shapeToString(batch_out.shape()) + ", not [" + std::to_string(batch) +
                           ", ...]; " + plain.status().message());
      }
      const double diff = relativeDiff(sliceItem(batch_out, b), one.output(o));
      if (!(diff <= kTolerance)) {
        return unsupported("batch " + std::to_string(batch) + ": rebatched output '" +
                           one.outputNames()[o] + "' item " + std::to_string(b) +
                           " differs from a batch-1 run (relative " + std::to_string(diff) +
                           "); " + plain.status().message());
      }
    }
  }
  result.plan = std::move(*batched);
  result.rebatched = true;
  result.note = "batch " + std::to_string(batch) + ": " + std::to_string(rewrite.notes.size()) +
                " Reshape target(s) rebatched; items checked against batch-1 runs";
  return result;
}

}  // namespace detslim
