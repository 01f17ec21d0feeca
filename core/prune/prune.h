#pragma once
// Pruning of ONNX detectors (docs/prune.md). Masking methods zero weights in place and keep
// every shape: magnitude (unstructured), soft-channel (seed 000's P_S), rtoss (seed 001's
// R-TOSS kernel patterns), nm (N:M semi-structured). Structural methods remove channels and
// change shapes: group (seed 000's P_G) and bn-slim (Network Slimming), in structural.h.

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/base/status.h"
#include "core/graph/graph.h"
#include "core/prune/report.h"

namespace detslim::prune {

struct PruneOptions {
  std::string method;  // one of methodNames()
  // Fraction removed: of weights (magnitude), of output channels (soft-channel, group,
  // bn-slim). rtoss and nm ignore it (entries, n and m fix how much goes).
  double sparsity = 0.0;
  // Method options by name, e.g. scope=global, entries=2, n=2, m=4 (validateOptions lists them).
  std::map<std::string, std::string> opts;
  // Node name, regex or op type ("op:Conv") left alone, on top of the default protection.
  std::vector<std::string> ignore;
  // Leave the Detect output convs alone: the last conv on each path to a graph output
  // (detectHeadConvs in ignore.h).
  bool protect_detect_head = true;
  bool dry_run = false;  // report only; the model is not changed
};

// "magnitude", "soft-channel", "group", "bn-slim", "rtoss", "nm".
const std::vector<std::string>& methodNames();

// Refuses an unknown method, sparsity outside [0, 0.99], an option the method does not know
// (naming it and the known ones) or a bad option value (rtoss entries outside 2..5, nm n >= m).
Status validateOptions(const PruneOptions& options);

// Prunes `model` in place (left unchanged on error and with dry_run) and reports what changed;
// effective MACs count non-zero weights only. Refuses invalid options and a method with nothing
// to prune (no eligible layer, or all of them ignored), naming why. group / bn-slim go to
// pruneStructural (structural.h); without that header they are refused as kUnsupported.
// Infers value types first when the graph has none (for MAC counts).
Result<PruneReport> pruneModel(Model& model, const PruneOptions& options);

// reportToJson(const PruneReport&) is in report.h.

}  // namespace detslim::prune
