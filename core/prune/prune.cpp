#include "core/prune/prune.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>

#include "core/onnx/onnx_io.h"
#include "core/prune/ignore.h"
#include "core/prune/methods.h"
#include "core/prune/weights.h"
#include "core/prune/structural.h"

namespace detslim::prune {

namespace {

constexpr double kMaxSparsity = 0.99;

// Checks one option value; returns what is wrong with it, or nullopt.
using ValueCheck = std::function<std::optional<std::string>(const std::string&)>;

ValueCheck oneOf(std::vector<std::string> allowed) {
  return [allowed](const std::string& v) -> std::optional<std::string> {
    for (const std::string& a : allowed) {
      if (v == a) return std::nullopt;
    }
    std::string list;
    for (const std::string& a : allowed) list += (list.empty() ? "" : ", ") + a;
    return "must be one of " + list;
  };
}

ValueCheck intIn(int64_t lo, int64_t hi) {
  return [lo, hi](const std::string& v) -> std::optional<std::string> {
    const std::optional<int64_t> i = detail::parseInt(v);
    if (!i || *i < lo || *i > hi) {
      return "must be an integer in " + std::to_string(lo) + ".." + std::to_string(hi);
    }
    return std::nullopt;
  };
}

ValueCheck numberIn(double lo, double hi) {
  return [lo, hi](const std::string& v) -> std::optional<std::string> {
    const std::optional<double> d = detail::parseNumber(v);
    if (!d || *d < lo || *d > hi) {
      return "must be a number in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
    }
    return std::nullopt;
  };
}

// The options each method knows (docs/prune.md). group / bn-slim follow structural.h, whose
// pruneStructural validates them again.
const std::map<std::string, std::map<std::string, ValueCheck>>& optionTable() {
  static const std::map<std::string, std::map<std::string, ValueCheck>> table = {
      {"magnitude", {{"scope", oneOf({"local", "global"})}}},
      {"soft-channel", {{"norm", oneOf({"l2", "l1"})}, {"compensate", oneOf({"true", "false"})}}},
      // As structural.h documents them (structural.cpp checks the values again).
      {"group",
       {{"scope", oneOf({"local", "global"})},
        {"round", intIn(1, 1024)},
        {"max_ratio", numberIn(0.0, 1.0)},
        {"compensate", oneOf({"true", "false"})}}},
      {"bn-slim",
       {{"mode", oneOf({"channel", "layer"})},
        {"scope", oneOf({"local", "global"})},
        {"round", intIn(1, 1024)},
        {"max_ratio", numberIn(0.0, 1.0)},
        {"compensate", oneOf({"true", "false"})}}},
      {"rtoss",
       {{"entries", intIn(2, 5)},
        {"share", oneOf({"group", "kernel"})},
        {"adjacency", oneOf({"4", "8"})},
        {"tail", oneOf({"zero", "pattern"})},
        {"pattern", oneOf({"rtoss", "patdnn"})},
        {"patterns", intIn(0, 512)},
        {"connectivity", numberIn(0.0, kMaxSparsity)}}},
      {"nm", {{"n", intIn(1, 63)}, {"m", intIn(2, 64)}}},
  };
  return table;
}

std::string joinKeys(const std::map<std::string, ValueCheck>& known) {
  std::string s;
  for (const auto& [k, check] : known) s += (s.empty() ? "" : ", ") + k;
  return s.empty() ? "none" : s;
}

std::string opt(const PruneOptions& o, const std::string& key) {
  auto it = o.opts.find(key);
  return it == o.opts.end() ? std::string() : it->second;
}

}  // namespace

const std::vector<std::string>& methodNames() {
  static const std::vector<std::string> names = {"magnitude", "soft-channel", "group",
                                                 "bn-slim",   "rtoss",        "nm"};
  return names;
}

Status validateOptions(const PruneOptions& options) {
  const auto& table = optionTable();
  auto method = table.find(options.method);
  if (method == table.end()) {
    std::string list;
    for (const std::string& m : methodNames()) list += (list.empty() ? "" : ", ") + m;
    return invalidArgument("unknown prune method '" + options.method + "' (known: " + list + ")");
  }
  if (!std::isfinite(options.sparsity) || options.sparsity < 0.0 ||
      options.sparsity > kMaxSparsity) {
    return invalidArgument("sparsity " + std::to_string(options.sparsity) +
                           " is outside [0, 0.99]: it is the fraction removed");
  }
  for (const auto& [key, value] : options.opts) {
    auto rule = method->second.find(key);
    if (rule == method->second.end()) {
      return invalidArgument("unknown option '" + key + "' for method '" + options.method +
                             "' (known: " + joinKeys(method->second) + ")");
    }
    if (std::optional<std::string> why = rule->second(value)) {
      return invalidArgument("option " + key + "=" + value + " of method '" + options.method +
                             "': " + *why);
    }
  }
  if (options.method == "nm") {
    const int64_t n = detail::parseInt(opt(options, "n")).value_or(2);
    const int64_t m = detail::parseInt(opt(options, "m")).value_or(4);
    if (n >= m) {
      return invalidArgument("option n=" + std::to_string(n) + " of method 'nm' must be below m=" +
                             std::to_string(m) + " (n of every m weights are kept)");
    }
  }
  if (options.method == "rtoss") {
    const bool patdnn = opt(options, "pattern") == "patdnn";
    if (patdnn && !opt(options, "entries").empty() && opt(options, "entries") != "4") {
      return invalidArgument("option entries=" + opt(options, "entries") +
                             " of method 'rtoss': pattern=patdnn uses 4-entry patterns");
    }
    if (!patdnn && !opt(options, "connectivity").empty()) {
      return invalidArgument(
          "option connectivity of method 'rtoss' needs pattern=patdnn "
          "(R-TOSS itself does no connectivity pruning)");
    }
    if (patdnn && !opt(options, "share").empty() && opt(options, "share") != "kernel") {
      return invalidArgument("option share=" + opt(options, "share") +
                             " of method 'rtoss': pattern=patdnn chooses a pattern per kernel");
    }
  }
  for (const std::string& pattern : options.ignore) {
    if (pattern.empty()) return invalidArgument("ignore pattern is empty");
  }
  return Status::ok();
}

namespace {

// `--sparsity` is the fraction of weights removed for nm too: without an explicit n, keep
// n = m - round(sparsity * m) of every m (0.5 -> 2:4, 0.25 -> 3:4, 0.75 -> 1:4), at least 1.
PruneOptions withSparsityDefaults(const PruneOptions& requested) {
  PruneOptions options = requested;
  if (options.method == "nm" && !options.opts.count("n") && options.sparsity > 0.0) {
    const int64_t m = detail::parseInt(opt(options, "m")).value_or(4);
    const int64_t removed = std::llround(options.sparsity * static_cast<double>(m));
    options.opts["n"] = std::to_string(std::clamp<int64_t>(m - removed, 1, m - 1));
  }
  return options;
}

}  // namespace

Result<PruneReport> pruneModel(Model& model, const PruneOptions& requested) {
  const PruneOptions options = withSparsityDefaults(requested);
  DS_RETURN_IF_ERROR(validateOptions(options));
  if (options.method == "group" || options.method == "bn-slim") {
    // Physical channel removal on the channel dependency graph (structural.h).
    PruneReport report;
    DS_RETURN_IF_ERROR(pruneStructural(model, options, &report));
    return report;
  }
  PruneReport report;
  report.method = options.method;
  report.sparsity = options.sparsity;

  // A copy shares every tensor's storage; MaskSet::apply clones what it writes, so `model` is
  // only touched by the final assignment.
  Graph work = model.graph;
  if (work.inferred_types.empty()) {
    Model typed = model;
    std::vector<std::string> shape_warnings;
    const Status inferred = inferShapes(typed, false, &shape_warnings);
    if (inferred) {
      work.inferred_types = std::move(typed.graph.inferred_types);
      for (const std::string& w : shape_warnings)
        report.warnings.push_back("MACs may count 0: " + w);
    } else {
      report.warnings.push_back("shape inference failed, so MACs may count 0: " +
                                inferred.message());
    }
  }
  DS_ASSIGN_OR_RETURN(IgnoreSet ignore,
                      resolveIgnores(work, options.ignore, options.protect_detect_head));

  detail::MethodContext ctx{work, options, ignore, {}, {}, {}, nlohmann::json::object(), {}};
  for (const auto& [key, value] : options.opts) ctx.resolved[key] = value;
  Status status;
  if (options.method == "magnitude") {
    status = detail::pruneMagnitude(ctx);
  } else if (options.method == "soft-channel") {
    status = detail::pruneSoftChannel(ctx);
  } else if (options.method == "rtoss") {
    status = detail::pruneRtoss(ctx);
  } else if (options.method == "nm") {
    status = detail::pruneNm(ctx);
  } else {
    status = internalError("prune: method '" + options.method + "' has no implementation");
  }
  DS_RETURN_IF_ERROR(status);
  if (options.sparsity == 0.0 &&
      (options.method == "magnitude" || options.method == "soft-channel")) {
    ctx.warnings.push_back("sparsity 0: nothing is removed");
  }

  const ModelSnapshot before = snapshotGraph(work);
  Graph pruned = work;
  DS_RETURN_IF_ERROR(ctx.masks.apply(pruned));
  if (options.method == "soft-channel") {
    DS_RETURN_IF_ERROR(detail::compensateSoftChannel(ctx, pruned));
  }
  // Masking never changes a shape or dtype; a difference here is a bug, not a user error.
  for (const NamedTensor& init : work.initializers()) {
    const Tensor* after = pruned.initializer(init.name);
    if (after == nullptr || after->shape() != init.tensor.shape() ||
        after->dtype() != init.tensor.dtype()) {
      return internalError("prune: initializer '" + init.name + "' changed shape or dtype");
    }
  }
  const ModelSnapshot after = snapshotGraph(pruned);
  fillReport(before, after, ctx.notes, report);

  report.options = {{"opts", ctx.resolved},
                    {"ignore", options.ignore},
                    {"protect_detect_head", options.protect_detect_head},
                    {"dry_run", options.dry_run}};
  report.ignored = ignore.describe(work);
  report.warnings.insert(report.warnings.end(), ignore.warnings.begin(), ignore.warnings.end());
  report.warnings.insert(report.warnings.end(), ctx.warnings.begin(), ctx.warnings.end());
  warnFullyZeroedLayers(report);
  if (!options.dry_run) model.graph = std::move(pruned);
  return report;
}

}  // namespace detslim::prune
