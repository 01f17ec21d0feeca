// ONNX node conformance of the reference kernels. Every case under
// /usr/share/libonnx-testdata/data/node whose ops are all in core/kernels/ops.inc runs through
// runReference, and every output is compared with the case's expected output_N.pb as ONNX's own
// backend test runner compares them. Cases with an op the engine lacks are counted as "not
// implemented", not run. A case of an implemented op either passes or is listed, with a concrete
// reason, in conformance_skip.txt; the test fails on any other failure and on a listed case that
// passes or no longer exists, so the list cannot go stale.
//
// DETSLIM_CONFORMANCE_FILTER=<substring> runs only the cases whose name contains it.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "core/engine/engine.h"
#include "core/kernels/registry.h"
#include "core/onnx/onnx_io.h"
#include "test_data.h"

namespace detslim {
namespace {

namespace fs = std::filesystem;

// The tolerances of onnx/backend/test/runner (np.testing.assert_allclose with rtol=1e-3,
// atol=1e-7): |actual - expected| <= atol + rtol * |expected|, NaN equal to NaN.
constexpr double kRelativeTolerance = 1e-3;
constexpr double kAbsoluteTolerance = 1e-7;
// Enough mismatch detail to diagnose a failure without flooding the log.
constexpr size_t kMaxDetailChars = 400;

// test name -> reason, from conformance_skip.txt ("test_name  reason", '#' starts a comment).
Result<std::map<std::string, std::string>> readSkipList() {
  std::ifstream in(DETSLIM_CONFORMANCE_SKIP_LIST);
  if (!in) return notFound(std::string("cannot read ") + DETSLIM_CONFORMANCE_SKIP_LIST);
  std::map<std::string, std::string> skip;
  std::string line;
  int line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    line = line.substr(0, line.find('#'));
    const size_t name_begin = line.find_first_not_of(" \t");
    if (name_begin == std::string::npos) continue;
    const size_t name_end = line.find_first_of(" \t", name_begin);
    const std::string name = line.substr(name_begin, name_end - name_begin);
    std::string reason = name_end == std::string::npos ? "" : line.substr(name_end);
    reason.erase(0, reason.find_first_not_of(" \t"));
    reason.erase(reason.find_last_not_of(" \t\r") + 1);
    if (reason.empty()) {
      return parseError(std::string(DETSLIM_CONFORMANCE_SKIP_LIST) + ":" +
                        std::to_string(line_number) + ": '" + name + "' has no reason");
    }
    if (!skip.emplace(name, reason).second) {
      return parseError(std::string(DETSLIM_CONFORMANCE_SKIP_LIST) + ":" +
                        std::to_string(line_number) + ": '" + name + "' is listed twice");
    }
  }
  return skip;
}

// Files "<prefix><N>.pb" of a data set folder, ordered by N.
std::vector<fs::path> numberedFiles(const fs::path& dir, const std::string& prefix) {
  std::vector<std::pair<long, fs::path>> found;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) != 0 || entry.path().extension() != ".pb") continue;
    found.emplace_back(std::strtol(name.c_str() + prefix.size(), nullptr, 10), entry.path());
  }
  std::sort(found.begin(), found.end());
  std::vector<fs::path> files;
  for (auto& [index, path] : found) files.push_back(std::move(path));
  return files;
}

std::string formatElement(const Tensor& t, int64_t i) {
  std::ostringstream s;
  s << std::setprecision(9);
  if (isFloatingPoint(t.dtype()))
    s << t.elementAsDouble(i);
  else if (t.dtype() == DType::kUInt64)
    s << static_cast<uint64_t>(t.elementAsInt64(i));
  else
    s << t.elementAsInt64(i);
  return s.str();
}

// "" when `actual` matches `expected`, else what differs.
std::string compareTensors(const Tensor& expected, const Tensor& actual) {
  if (expected.dtype() != actual.dtype()) {
    return "dtype " + std::string(dtypeName(actual.dtype())) + ", expected " +
           std::string(dtypeName(expected.dtype()));
  }
  if (expected.shape() != actual.shape()) {
    return "shape " + shapeToString(actual.shape()) + ", expected " +
           shapeToString(expected.shape());
  }
  if (expected.dtype() == DType::kString) {
    return expected.strings() == actual.strings() ? "" : "string values differ";
  }
  const bool is_float = isFloatingPoint(expected.dtype());
  const size_t element_bytes = dtypeSize(expected.dtype());
  const auto* expected_bytes = static_cast<const std::byte*>(expected.raw());
  const auto* actual_bytes = static_cast<const std::byte*>(actual.raw());
  int64_t mismatches = 0;
  int64_t first = -1;
  for (int64_t i = 0; i < expected.numel(); ++i) {
    bool equal = false;
    if (is_float) {
      const double e = expected.elementAsDouble(i);
      const double a = actual.elementAsDouble(i);
      if (std::isnan(e) || std::isnan(a))
        equal = std::isnan(e) && std::isnan(a);
      else if (std::isinf(e) || std::isinf(a))
        equal = e == a;
      else
        equal = std::abs(a - e) <= kAbsoluteTolerance + kRelativeTolerance * std::abs(e);
    } else {
      // Integers and bool: exact, bytewise (bool buffers hold 0 / 1).
      const size_t offset = static_cast<size_t>(i) * element_bytes;
      equal = std::memcmp(expected_bytes + offset, actual_bytes + offset, element_bytes) == 0;
    }
    if (!equal) {
      if (first < 0) first = i;
      ++mismatches;
    }
  }
  if (mismatches == 0) return "";
  return std::to_string(mismatches) + " of " + std::to_string(expected.numel()) +
         " elements differ; first at flat index " + std::to_string(first) + ": " +
         formatElement(actual, first) + ", expected " + formatElement(expected, first);
}

// ONNX 1.12 writes bfloat16 test data as uint16 bit patterns (numpy has no bfloat16) for models
// that declare the value bfloat16; such a file is read as the bfloat16 values its bits encode.
Tensor asDeclaredType(const Tensor& t, const TensorType& declared) {
  if (t.dtype() != DType::kUInt16 || declared.dtype != DType::kBFloat16) return t;
  Tensor bf16(DType::kBFloat16, t.shape());
  std::memcpy(bf16.rawMutable(), t.raw(), t.bytes());
  return bf16;
}

enum class Outcome { kPassed, kFailed, kNotImplemented };

struct CaseResult {
  std::string name;
  Outcome outcome = Outcome::kFailed;
  std::string detail;                 // why it failed
  std::set<std::string> ops;          // distinct op types of the model
  std::set<std::string> missing_ops;  // those ops.inc lacks
};

std::string opKey(const Node& node) {
  return node.domain.empty() || node.domain == "ai.onnx" ? node.op_type
                                                         : node.domain + "." + node.op_type;
}

// Runs every data set of one test folder.
// Compiles the case with the engine and runs it. Inputs the plan needs at compile time (a shape
// or axes given as a graph input) are bound as constants when a first compile asks for them.
Result<std::vector<Tensor>> runEngine(const Model& model,
                                      const std::vector<std::pair<std::string, Tensor>>& inputs) {
  // Attempt k binds the inputs from position `first_bound[k]` on as compile-time constants:
  // none, all but the first (data) input, then all (e.g. Range's scalars).
  const size_t first_bound[] = {inputs.size(), 1, 0};
  Result<Plan> plan = invalidArgument("not compiled");
  std::vector<std::pair<std::string, Tensor>> runtime;
  for (size_t bound_from : first_bound) {
    EngineOptions options;
    options.num_threads = 1;
    runtime.clear();
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (i < bound_from) {
        options.input_shapes.emplace_back(inputs[i].first, inputs[i].second.shape());
        runtime.push_back(inputs[i]);
      } else {
        options.constant_inputs.push_back(inputs[i]);
      }
    }
    plan = Engine::compile(model, options);
    const bool needs_constant = !plan.isOk() && plan.status().code() == ErrorCode::kUnsupported &&
                                plan.status().message().find("must be known") != std::string::npos;
    if (!needs_constant) break;
  }
  if (!plan.isOk()) return plan.status();
  std::vector<Tensor> ordered;
  for (const std::string& name : plan->inputNames()) {
    auto it = std::find_if(runtime.begin(), runtime.end(), [&](const auto& p) { return p.first == name; });
    if (it == runtime.end()) return invalidArgument("no data for plan input '" + name + "'");
    ordered.push_back(it->second);
  }
  DS_RETURN_IF_ERROR(plan->run(ordered));
  std::vector<Tensor> outputs;
  for (size_t i = 0; i < plan->numOutputs(); ++i) outputs.push_back(plan->output(i).clone());
  return outputs;
}

CaseResult runCase(const fs::path& dir) {
  CaseResult result;
  result.name = dir.filename().string();
  LoadOptions options;
  options.run_checker = true;
  // The outputs are compared with data, not with inferred types; skipping inference keeps the
  // whole run within its time budget.
  options.infer_shapes = false;
  Result<Model> model = loadModel(dir / "model.onnx", options);
  if (!model.isOk()) {
    result.detail = "load: " + model.status().message();
    return result;
  }
  for (const Node& node : model->graph.nodes) {
    result.ops.insert(opKey(node));
    if (!findOp(node.domain, node.op_type)) result.missing_ops.insert(opKey(node));
  }
  if (!result.missing_ops.empty()) {
    result.outcome = Outcome::kNotImplemented;
    return result;
  }
  std::vector<const ValueInfo*> graph_inputs;
  for (const ValueInfo& in : model->graph.inputs) {
    if (!model->graph.isInitializer(in.name)) graph_inputs.push_back(&in);
  }
  std::vector<fs::path> data_sets;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_directory() && entry.path().filename().string().rfind("test_data_set_", 0) == 0) {
      data_sets.push_back(entry.path());
    }
  }
  std::sort(data_sets.begin(), data_sets.end());
  if (data_sets.empty()) {
    result.detail = "no test_data_set_* folder";
    return result;
  }
  for (const fs::path& set : data_sets) {
    const std::string where = set.filename().string() + ": ";
    const std::vector<fs::path> input_files = numberedFiles(set, "input_");
    const std::vector<fs::path> output_files = numberedFiles(set, "output_");
    if (input_files.size() > graph_inputs.size()) {
      result.detail = where + std::to_string(input_files.size()) + " input files for " +
                      std::to_string(graph_inputs.size()) + " graph inputs";
      return result;
    }
    std::vector<std::pair<std::string, Tensor>> inputs;
    for (size_t i = 0; i < input_files.size(); ++i) {
      Result<Tensor> t = loadTensorFile(input_files[i]);
      if (!t.isOk()) {
        result.detail = where + "input " + std::to_string(i) + ": " + t.status().message();
        return result;
      }
      inputs.emplace_back(graph_inputs[i]->name, asDeclaredType(*t, graph_inputs[i]->type));
    }
    // Each case runs twice: through the reference interpreter, and compiled by the engine
    // (optimised kernels, fusion, layouts, memory plan) as users run models.
    for (const char* path : {"reference", "engine"}) {
      Result<std::vector<Tensor>> actual = std::string(path) == "reference"
                                               ? runReference(*model, inputs)
                                               : runEngine(*model, inputs);
      if (!actual.isOk()) {
        result.detail = where + path + " run: " + actual.status().message();
        return result;
      }
      if (actual->size() != output_files.size()) {
        result.detail = where + path + ": " + std::to_string(actual->size()) + " outputs, " +
                        std::to_string(output_files.size()) + " expected";
        return result;
      }
      for (size_t i = 0; i < output_files.size(); ++i) {
        Result<Tensor> expected = loadTensorFile(output_files[i]);
        if (!expected.isOk()) {
          result.detail = where + "output " + std::to_string(i) + ": " + expected.status().message();
          return result;
        }
        const std::string diff =
            compareTensors(asDeclaredType(*expected, model->graph.outputs[i].type), (*actual)[i]);
        if (!diff.empty()) {
          result.detail = where + path + " output " + std::to_string(i) + " '" +
                          model->graph.outputs[i].name + "': " + diff;
          return result;
        }
      }
    }
  }
  result.outcome = Outcome::kPassed;
  return result;
}

struct OpCounts {
  int passed = 0;
  int failed = 0;
  int skipped = 0;
};

TEST(Conformance, OnnxNodeTests) {
  const fs::path root = testing::onnxTestDataDir() / "node";
  if (!fs::is_directory(root)) GTEST_SKIP() << "no ONNX test data under " << root;
  Result<std::map<std::string, std::string>> skip_list = readSkipList();
  ASSERT_TRUE(skip_list.isOk()) << skip_list.status().message();
  const char* filter_env = std::getenv("DETSLIM_CONFORMANCE_FILTER");
  const std::string filter = filter_env ? filter_env : "";

  std::vector<fs::path> dirs;
  for (const auto& entry : fs::directory_iterator(root)) {
    if (entry.is_directory() && fs::exists(entry.path() / "model.onnx"))
      dirs.push_back(entry.path());
  }
  std::sort(dirs.begin(), dirs.end());
  ASSERT_GT(dirs.size(), 100u) << "libonnx-testdata looks incomplete under " << root;

  const auto start = std::chrono::steady_clock::now();
  std::map<std::string, OpCounts> per_op;
  std::map<std::string, int> not_implemented_cases;  // missing op -> cases needing it
  std::vector<std::string> failures;                 // not listed, failed
  std::vector<std::string> stale;                    // listed, but passes / not run / absent
  std::vector<std::string> skipped_lines;
  int passed = 0;
  int failed = 0;
  int skipped = 0;
  int not_implemented = 0;
  for (const fs::path& dir : dirs) {
    const std::string name = dir.filename().string();
    if (!filter.empty() && name.find(filter) == std::string::npos) continue;
    const CaseResult r = runCase(dir);
    const auto listed = skip_list->find(name);
    const bool is_listed = listed != skip_list->end();
    if (r.outcome == Outcome::kNotImplemented) {
      ++not_implemented;
      for (const std::string& op : r.missing_ops) ++not_implemented_cases[op];
      if (is_listed) stale.push_back(name + ": listed, but needs ops ops.inc lacks; remove it");
      continue;
    }
    for (const std::string& op : r.ops) {
      OpCounts& c = per_op[op];
      if (r.outcome == Outcome::kPassed)
        ++c.passed;
      else if (is_listed)
        ++c.skipped;
      else
        ++c.failed;
    }
    if (r.outcome == Outcome::kPassed) {
      ++passed;
      if (is_listed)
        stale.push_back(name + ": listed in conformance_skip.txt but passes; remove it");
    } else if (is_listed) {
      ++skipped;
      skipped_lines.push_back(name + " (" + listed->second +
                              "): " + r.detail.substr(0, kMaxDetailChars));
    } else {
      ++failed;
      failures.push_back(name + ": " + r.detail.substr(0, kMaxDetailChars));
    }
  }
  for (const auto& [name, reason] : *skip_list) {
    const bool exists = fs::is_directory(root / name);
    if (!exists) stale.push_back(name + ": listed, but no such test; remove it");
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::cout << "per op (a case with several ops counts for each):\n";
  for (const auto& [op, c] : per_op) {
    std::cout << "  " << std::left << std::setw(24) << op << c.passed << " passed, " << c.failed
              << " failed, " << c.skipped << " skipped\n";
  }
  for (const std::string& line : skipped_lines) std::cout << "skipped: " << line << "\n";
  for (const std::string& line : failures) std::cout << "FAILED: " << line << "\n";
  for (const std::string& line : stale) std::cout << "STALE SKIP ENTRY: " << line << "\n";
  std::vector<std::pair<int, std::string>> missing;
  for (const auto& [op, n] : not_implemented_cases) missing.emplace_back(-n, op);
  std::sort(missing.begin(), missing.end());
  std::cout << "not implemented: " << not_implemented << " cases need " << missing.size()
            << " ops ops.inc lacks:";
  for (const auto& [negative_count, op] : missing) std::cout << " " << op << " " << -negative_count;
  std::cout << "\n";
  std::cout << "(" << std::fixed << std::setprecision(1) << seconds << " s)\n";
  std::cout << "conformance: " << passed << " passed, " << failed << " failed, " << skipped
            << " skipped" << std::endl;

  EXPECT_EQ(failed, 0) << "cases of implemented ops fail; fix them or list them with a reason "
                          "in tests/ops/conformance_skip.txt";
  if (filter.empty()) {
    EXPECT_TRUE(stale.empty()) << "conformance_skip.txt has stale entries";
  }
}

}  // namespace
}  // namespace detslim
