#pragma once
// Compiling a detector for another batch size. Exports traced at batch 1 often bake the batch
// into Reshape targets (YOLOv5's Detect head), so a plain compile at batch 8 is refused. Then a
// copy with those constants rebatched (graph/passes.h rebatchReshapes) is compiled, and accepted
// only when each batch item of a run equals a batch-1 run of that item: the rewrite is a
// heuristic, the check is what makes it safe.

#include <string>

#include "core/base/status.h"
#include "core/engine/engine.h"

namespace detslim {

struct BatchPlan {
  Plan plan;
  bool rebatched = false;  // the model's Reshape constants were rewritten for this batch
  std::string note;        // what was rewritten and how it was checked
};

// `item` is one input item [1, ...] of the graph input `input_name` (a real preprocessed image
// is best). Refuses a batch the model cannot run, or a rebatched copy whose items disagree with
// batch-1 runs, naming the output and the difference.
Result<BatchPlan> compileForBatch(const Model& model, const std::string& input_name,
                                  const Tensor& item, int64_t batch, EngineOptions options);

}  // namespace detslim
