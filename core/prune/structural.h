#pragma once
// Structural pruning: channels (or whole residual blocks) are removed physically, so the pruned
// model has smaller weights, fewer MACs and changed shapes. The channel dependency analysis is
// in channel_graph.h.
//
//  - group (seed 000's P_G, Torch-Pruning's DependencyGraph): every group of coupled channels
//    loses `sparsity` of its channels, ranked by the group-summed L2 norm of each channel's
//    output filters. Options: scope=local|global (default local: one ratio per group; global
//    ranks all groups together on importance divided by its group's mean), round=N (kept
//    channel counts rounded up to a multiple of N, default 1), max_ratio=R (global: at most
//    this fraction of a group goes, default 0.9).
//  - bn-slim (Network Slimming; seed 000's P_L targets BatchNorm layers): importance is
//    |gamma| of the BatchNormalization on the channel; a graph whose BN was folded into the
//    Conv uses the Conv's per-channel RMS (L2 norm / sqrt(filter size)) instead, and the report
//    says which. Options: mode=channel|layer (default channel), scope=global|local (default
//    global: one threshold over all channels, capped by max_ratio; RMS values are divided by
//    their group's mean first, |gamma| is ranked as it is), round, max_ratio.
//    mode=layer removes whole residual blocks x + f(x) -> x (the bottlenecks inside YOLOv5's
//    C3), the `sparsity` fraction of removable blocks with the lowest importance (mean |gamma|,
//    or mean RMS, of the block's last Conv).
//
// Both (channel mode) take compensate=true|false (default true): the constant a removed channel
// carries with its filter treated as zero (its bias through SiLU etc.) goes into the biases of
// the Convs reading it (compensate.h, docs/prune.md); the report's options hold "compensation".
//
// Channels the analysis cannot prove safe (Reshape / Transpose / Gemm / unknown consumers,
// graph inputs and outputs, the Detect head convs, the ignore list) are left alone and listed in
// PruneReport::ignored; the result always passes the ONNX checker.

#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/graph/graph.h"
#include "core/prune/prune.h"
#include "core/prune/report.h"

namespace detslim::prune {

// Prunes `model` in place with options.method "group" or "bn-slim" (unchanged on error and with
// dry_run). Fills all of `report` (may be null): method, sparsity, options as resolved (plus
// "importance": what ranked the channels, "groups" / "channels" prunable and removed, or
// "blocks" for mode=layer), the before / after totals and layers (fillReport),
// warnings, and ignored ("<convs>: <reason>" per frozen channel group). Runs shape inference
// first when the graph has no inferred types, and again on the result. Refuses another method,
// sparsity outside [0, 0.99], an unknown option or value, a graph where every group is frozen
// (or, for mode=layer, that has no removable residual block), and a result the ONNX checker
// rejects (a DetSlim bug: the model is then left as it was).
Status pruneStructural(Model& model, const PruneOptions& options, PruneReport* report);

// Option names group / bn-slim accept (for validateOptions); empty for other methods.
const std::vector<std::string>& structuralOptionNames(const std::string& method);

}  // namespace detslim::prune
