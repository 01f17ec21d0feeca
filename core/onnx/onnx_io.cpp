// Loading, checking, shape inference and saving of .onnx files (see onnx_io.h and docs/onnx.md).
//
// The pipeline of a load: read the file -> parse the ModelProto -> is it a model at all ->
// convert to the IR (sizes, external data, domains) -> ONNX checker -> ONNX shape inference.
// Each step names the file in its message. onnx and protobuf throw; nothing they throw may leave
// this library, so every public function runs inside guarded().

#include "core/onnx/onnx_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>
#include <limits>
#include <new>
#include <optional>
#include <system_error>
#include <unordered_map>

#include <google/protobuf/message.h>
#include <google/protobuf/unknown_field_set.h>
#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/onnx-data_pb.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include "core/onnx/proto_convert.h"

namespace onnx::checker {
// Exported by libonnx 1.12 (the public check_model(ModelProto) is a thin wrapper around it) but
// not declared in its header. It is the in-memory check that accepts a CheckerContext, which
// carries the model's folder for external-data tensors. The path form of check_model must not be
// used: it rewrites the user's file.
void check_model(const ModelProto& model, CheckerContext& ctx);
}  // namespace onnx::checker

namespace detslim {

namespace fs = std::filesystem;
using onnx_detail::TensorSource;

namespace {

// The newest IR version onnx 1.12's checker and shape inference accept.
constexpr int64_t kOnnxLibIrVersion = onnx::IR_VERSION;
// Checker messages embed whole node dumps; keep errors readable.
constexpr size_t kMaxOnnxMessageChars = 4000;
// Protobuf messages are limited to 2 GiB (int sizes throughout libprotobuf).
constexpr uint64_t kMaxProtoBytes = INT_MAX;

std::string clip(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  if (text.size() > kMaxOnnxMessageChars) {
    text.resize(kMaxOnnxMessageChars);
    text += " [...]";
  }
  return text;
}

// Runs `body`, turning anything thrown into a Status that names `where`.
template <class F>
auto guarded(const std::string& where, F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return internalError(where + ": out of memory");
  } catch (const std::exception& e) {
    return internalError(where + ": unexpected error: " + clip(e.what()));
  } catch (...) {
    return internalError(where + ": unexpected error of unknown type");
  }
}

// Lowers a proto's ir_version to what onnx 1.12 accepts for as long as it lives, and restores it.
// The proto is private to the caller, so this is the "copy with ir_version 8" without copying
// the weights.
class IrVersionCap {
 public:
  explicit IrVersionCap(onnx::ModelProto& proto) : proto_(proto), original_(proto.ir_version()) {
    if (lowered()) proto_.set_ir_version(kOnnxLibIrVersion);
  }
  ~IrVersionCap() {
    if (lowered()) proto_.set_ir_version(original_);
  }
  IrVersionCap(const IrVersionCap&) = delete;
  IrVersionCap& operator=(const IrVersionCap&) = delete;
  bool lowered() const { return original_ > kOnnxLibIrVersion; }
  int64_t original() const { return original_; }

 private:
  onnx::ModelProto& proto_;
  int64_t original_;
};

// Says what the checker could not check as the file asks: a lowered IR version and opsets newer
// than onnx 1.12's schemas.
std::string checkerNote(const onnx::ModelProto& proto, const IrVersionCap& cap) {
  std::string note;
  if (cap.lowered()) {
    const std::string lib_ir = std::to_string(kOnnxLibIrVersion);
    note = "IR " + std::to_string(cap.original()) + " checked as IR " + lib_ir +
           ": onnx 1.12's checker knows IR <= " + lib_ir +
           ", so the model was checked in memory with ir_version " + lib_ir +
           "; what IR 9 added (float8 element types) is checked by DetSlim's loader only";
  }
  const auto& known = onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
  for (const auto& o : proto.opset_import()) {
    const std::string domain = o.domain() == "ai.onnx" ? std::string() : o.domain();
    auto it = known.find(domain);
    if (it == known.end() || o.version() <= it->second.second) continue;
    if (!note.empty()) note += "; ";
    note += (domain.empty() ? std::string("ai.onnx") : domain) + " opset " +
            std::to_string(o.version()) + " is newer than onnx 1.12 knows (" +
            std::to_string(it->second.second) +
            "): nodes were checked against the newest schemas it has";
  }
  return note;
}

// onnx 1.12's checker predates the float8 types (IR 9) and refuses them in typed fields
// ("Unrecognized data_type"), while raw_data passes. The loader has already decoded and checked
// these tensors, so the private proto gets them as raw_data, which the checker accepts.
void float8TypedFieldsToRaw(onnx::GraphProto& graph);

void float8TensorToRaw(onnx::TensorProto& t) {
  if (t.data_type() < static_cast<int32_t>(DType::kFloat8E4M3FN) || t.int32_data_size() == 0) {
    return;
  }
  std::string raw(static_cast<size_t>(t.int32_data_size()), '\0');
  for (int i = 0; i < t.int32_data_size(); ++i)
    raw[static_cast<size_t>(i)] = static_cast<char>(t.int32_data(i));
  t.clear_int32_data();
  t.set_raw_data(std::move(raw));
}

void float8TypedFieldsToRaw(onnx::GraphProto& graph) {
  for (auto& t : *graph.mutable_initializer()) float8TensorToRaw(t);
  for (auto& node : *graph.mutable_node()) {
    for (auto& a : *node.mutable_attribute()) {
      if (a.has_t()) float8TensorToRaw(*a.mutable_t());
      for (auto& t : *a.mutable_tensors()) float8TensorToRaw(t);
      if (a.has_g()) float8TypedFieldsToRaw(*a.mutable_g());
      for (auto& g : *a.mutable_graphs()) float8TypedFieldsToRaw(g);
    }
  }
}

// The ONNX checker on an in-memory proto. The message does not name the file.
// Attribute values the ONNX spec requires positive but onnx 1.12's checker does not check, and
// that its shape-inference functions divide by (a stride of 0 raised SIGFPE inside
// convPoolShapeInference: found by fuzzing). Refusing them here keeps every later stage safe.
Status checkDivisorAttributes(const onnx::GraphProto& graph) {
  // Rank of every initializer and declared input, for the convolution weight check below.
  std::unordered_map<std::string, int> ranks;
  for (const onnx::TensorProto& t : graph.initializer()) ranks[t.name()] = t.dims_size();
  for (const onnx::ValueInfoProto& v : graph.input()) {
    if (v.type().has_tensor_type() && v.type().tensor_type().has_shape()) {
      ranks.emplace(v.name(), v.type().tensor_type().shape().dim_size());
    }
  }
  for (const onnx::NodeProto& node : graph.node()) {
    // onnx's convPoolShapeInference indexes the data input's dims with the weight's rank: a weight
    // of another rank read past the end (SEGV, found by fuzzing).
    const std::string& op = node.op_type();
    const int w_index = op == "QLinearConv" ? 3 : 1;
    if ((op == "Conv" || op == "ConvTranspose" || op == "ConvInteger" || op == "QLinearConv") &&
        node.input_size() > w_index) {
      auto x = ranks.find(node.input(0));
      auto w = ranks.find(node.input(w_index));
      if (x != ranks.end() && w != ranks.end() && x->second != w->second) {
        return invalidArgument("node '" + node.name() + "' (" + op + "): weight '" + node.input(w_index) +
                               "' has rank " + std::to_string(w->second) + ", its input '" + node.input(0) +
                               "' rank " + std::to_string(x->second));
      }
    }
    for (const onnx::AttributeProto& a : node.attribute()) {
      const std::string& n = a.name();
      const bool positive_ints = n == "strides" || n == "dilations" || n == "kernel_shape";
      const bool positive_int = n == "group" || n == "blocksize";
      auto refuse = [&](int64_t v) {
        return invalidArgument("node '" + node.name() + "' (" + node.op_type() + "): attribute " + n +
                               " holds " + std::to_string(v) + "; ONNX requires values > 0");
      };
      if (positive_ints) {
        for (int64_t v : a.ints()) {
          if (v <= 0) return refuse(v);
        }
      }
      // An INT attribute without an explicit value reads as 0 in onnx, which divides by it too.
      if (positive_int && (a.has_i() || a.type() == onnx::AttributeProto::INT) && a.i() <= 0) {
        return refuse(a.i());
      }
      if (a.has_g()) DS_RETURN_IF_ERROR(checkDivisorAttributes(a.g()));
      for (const onnx::GraphProto& g : a.graphs()) DS_RETURN_IF_ERROR(checkDivisorAttributes(g));
    }
  }
  return Status::ok();
}

Status runChecker(onnx::ModelProto& proto, const fs::path& model_dir, std::string* note) {
  IrVersionCap cap(proto);
  float8TypedFieldsToRaw(*proto.mutable_graph());
  if (note) *note = checkerNote(proto, cap);
  onnx::checker::CheckerContext ctx;
  if (!model_dir.empty()) {
    // onnx joins the folder and the location itself; a trailing separator suits every version.
    ctx.set_model_dir(model_dir.string() + "/");
  }
  try {
    onnx::checker::check_model(proto, ctx);
  } catch (const onnx::checker::ValidationError& e) {
    return invalidArgument("ONNX checker: " + clip(e.what()));
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    return invalidArgument("ONNX checker: " + clip(e.what()));
  } catch (...) {
    return invalidArgument("ONNX checker: failed with an exception of unknown type");
  }
  return checkDivisorAttributes(proto.graph()).withContext("ONNX checker");
}

// ONNX shape inference in place on a private proto. Node-level errors are collected (error mode
// 1); the types inferred before and after a failing node stay in the proto, so a failure still
// leaves usable results. Returns the errors as text, "" when there were none.
std::string runShapeInference(onnx::ModelProto& proto) {
  IrVersionCap cap(proto);
  // Data propagation lets Shape -> Gather -> Reshape chains (dynamic-batch exports) resolve.
  const onnx::ShapeInferenceOptions options(/*check_type=*/false, /*error_mode=*/1,
                                            /*data_prop=*/true);
  std::unordered_map<std::string, onnx::TensorShapeProto> generated_shapes;
  try {
    onnx::shape_inference::InferShapes(proto, onnx::OpSchemaRegistry::Instance(), options,
                                       &generated_shapes);
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    std::string text = clip(e.what());
    return text.empty() ? "shape inference failed" : text;
  } catch (...) {
    return "shape inference failed with an exception of unknown type";
  }
  return {};
}

// Counts fields the parser did not know (a newer ONNX wrote them): the IR cannot keep them.
// Opaque parts are skipped because they are kept byte for byte, unknown fields included.
int64_t countUnknownFields(const google::protobuf::Message& message, std::string* first_in) {
  if (const auto* type = dynamic_cast<const onnx::TypeProto*>(&message);
      type && type->value_case() != onnx::TypeProto::kTensorType) {
    return 0;  // kept as ValueInfo::opaque_type
  }
  const google::protobuf::Reflection* r = message.GetReflection();
  int64_t n = r->GetUnknownFields(message).field_count();
  if (n > 0 && first_in->empty()) *first_in = message.GetTypeName();
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  r->ListFields(message, &fields);
  for (const auto* f : fields) {
    if (f->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) continue;
    const std::string& name = f->name();
    if (name == "functions" || name == "training_info" || name == "sparse_initializer" ||
        name == "sparse_tensor" || name == "sparse_tensors" || name == "tp" ||
        name == "type_protos") {
      continue;
    }
    if (f->is_repeated()) {
      for (int i = 0; i < r->FieldSize(message, f); ++i) {
        n += countUnknownFields(r->GetRepeatedMessage(message, f, i), first_in);
      }
    } else {
      n += countUnknownFields(r->GetMessage(message, f), first_in);
    }
  }
  return n;
}

Result<std::string> readWholeFile(const fs::path& path) {
  const std::string name = path.string();
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) return notFound(name + ": file not found");
  if (fs::is_directory(st)) return invalidArgument(name + ": is a directory, not a file");
  // A FIFO or device would block or never end.
  if (!fs::is_regular_file(st)) return invalidArgument(name + ": is not a regular file");
  const uintmax_t size = fs::file_size(path, ec);
  if (ec) return ioError(name + ": cannot read its size: " + ec.message());
  if (size == 0) return parseError(name + ": file is empty (0 bytes)");
  if (size > kMaxProtoBytes) {
    return unsupported(name + ": file is " + std::to_string(size) +
                       " bytes; a protobuf file holds at most 2 GiB (larger models keep their "
                       "weights in external data files)");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return ioError(name + ": cannot open: " + std::strerror(errno));
  std::string bytes(static_cast<size_t>(size), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  if (static_cast<uintmax_t>(in.gcount()) != size) {
    return ioError(name + ": read " + std::to_string(in.gcount()) + " of " + std::to_string(size) +
                   " bytes");
  }
  return bytes;
}

// A hint for the common mix-up of a tensor .pb file with a model.
bool looksLikeTensorProto(std::string_view bytes) {
  onnx::TensorProto t;
  if (!t.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return false;
  return t.data_type() > 0 && isKnownDType(t.data_type()) &&
         (!t.raw_data().empty() || t.float_data_size() || t.int32_data_size() ||
          t.int64_data_size() || t.double_data_size() || t.string_data_size());
}

Status parseModel(std::string_view bytes, const std::string& name, onnx::ModelProto& proto) {
  if (bytes.empty()) return parseError(name + ": is empty (0 bytes), not an ONNX model");
  if (bytes.size() > kMaxProtoBytes) {
    return unsupported(name + ": " + std::to_string(bytes.size()) +
                       " bytes; a protobuf message holds at most 2 GiB");
  }
  if (!proto.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return parseError(name + ": not a valid ONNX protobuf (truncated or corrupt file)");
  }
  std::vector<std::string> missing;
  if (proto.ir_version() == 0) missing.push_back("no ir_version");
  if (proto.ir_version() < 0) {
    missing.push_back("ir_version " + std::to_string(proto.ir_version()) + " is negative");
  }
  if (!proto.has_graph()) missing.push_back("no graph");
  if (proto.opset_import_size() == 0) missing.push_back("no opset_import");
  if (missing.empty()) return Status::ok();
  std::string what;
  for (const std::string& m : missing) what += (what.empty() ? "" : ", ") + m;
  if (!proto.has_graph() && looksLikeTensorProto(bytes)) {
    what += " (the bytes read as a serialized TensorProto, like a test-data .pb file)";
  }
  return invalidArgument(name + ": parsed as protobuf but is not an ONNX model: " + what);
}

// Applies LoadOptions::input_shapes to the IR and the proto. Declared output / value_info dims in
// the proto become unknown so that inference recomputes them for the new input size instead of
// reporting a conflict with the old one.
Status applyInputShapes(const LoadOptions& options, onnx::ModelProto& proto, Model& model) {
  if (options.input_shapes.empty()) return Status::ok();
  auto& inputs = model.graph.inputs;
  for (const auto& [name, shape] : options.input_shapes) {
    size_t i = 0;
    while (i < inputs.size() && inputs[i].name != name) ++i;
    if (i == inputs.size()) {
      std::string known;
      for (const ValueInfo& v : inputs) known += (known.empty() ? "" : ", ") + v.name;
      return invalidArgument("input_shapes names '" + name + "', which is not a graph input (" +
                             "inputs: " + known + ")");
    }
    ValueInfo& v = inputs[i];
    if (!v.opaque_type.empty()) {
      return invalidArgument("input_shapes: input '" + name + "' is not a tensor");
    }
    for (int64_t d : shape) {
      if (d < 0) {
        return invalidArgument("input_shapes: " + shapeToString(shape) + " for input '" + name +
                               "' has a negative dim");
      }
    }
    if (v.type.has_shape && v.type.dims.size() != shape.size()) {
      return invalidArgument("input_shapes: input '" + name + "' has rank " +
                             std::to_string(v.type.dims.size()) + ", the override " +
                             shapeToString(shape) + " has rank " + std::to_string(shape.size()));
    }
    v.type.has_shape = true;
    v.type.dims.clear();
    for (int64_t d : shape) v.type.dims.push_back(Dim{d, {}});
    auto* dims = proto.mutable_graph()
                     ->mutable_input(static_cast<int>(i))
                     ->mutable_type()
                     ->mutable_tensor_type()
                     ->mutable_shape();
    dims->clear_dim();
    for (int64_t d : shape) dims->add_dim()->set_dim_value(d);
  }
  auto* graph = proto.mutable_graph();
  for (auto* list : {graph->mutable_output(), graph->mutable_value_info()}) {
    for (auto& vi : *list) {
      if (!vi.type().has_tensor_type() || !vi.type().tensor_type().has_shape()) continue;
      // Unknown dims of the same rank: the checker still sees a shape, inference may fill it.
      for (auto& dim : *vi.mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim()) {
        dim.Clear();
      }
    }
  }
  return Status::ok();
}

// After inference with overridden inputs, declared shapes of outputs / value_info follow the new
// size where inference found one.
void adoptInferredDeclarations(Graph& graph) {
  for (auto* list : {&graph.outputs, &graph.value_info}) {
    for (ValueInfo& v : *list) {
      auto it = graph.inferred_types.find(v.name);
      if (v.opaque_type.empty() && it != graph.inferred_types.end()) v.type = it->second;
    }
  }
}

// Element count of a static type, or nullopt when unknown or beyond 64 bits.
std::optional<int64_t> staticNumel(const TensorType* type) {
  if (!type) return std::nullopt;
  const std::optional<Shape> shape = type->staticShape();
  if (!shape) return std::nullopt;
  int64_t n = 1;
  for (int64_t d : *shape) {
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d) return std::nullopt;
    n *= d;
  }
  return n;
}

// onnx 1.12 infers a Reshape's output from its target shape without comparing element counts,
// so a graph whose Reshape targets are constants for another input size (a static export loaded
// with LoadOptions::input_shapes) gets confident but wrong shapes. Names the Reshapes whose
// static input and output disagree; "" when none do.
std::string reshapeMismatches(const Graph& graph) {
  std::string found;
  int count = 0;
  for (const Node& n : graph.nodes) {
    if (n.op_type != "Reshape" || !(n.domain.empty() || n.domain == "ai.onnx")) continue;
    if (n.inputs.empty() || n.outputs.empty()) continue;
    const TensorType* in = graph.typeOf(n.inputs[0]);
    const TensorType* out = graph.typeOf(n.outputs[0]);
    const std::optional<int64_t> in_numel = staticNumel(in);
    const std::optional<int64_t> out_numel = staticNumel(out);
    if (!in_numel || !out_numel || *in_numel == *out_numel) continue;
    if (++count <= 3) {
      found += std::string(found.empty() ? "" : "; ") + n.describe() + " turns " + in->toString() +
               " (" + std::to_string(*in_numel) + " elements) into " + out->toString() + " (" +
               std::to_string(*out_numel) + ")";
    }
  }
  if (count == 0) return {};
  if (count > 3) found += "; and " + std::to_string(count - 3) + " more";
  return std::to_string(count) + " Reshape node(s) change the element count, so shapes after " +
         "them are wrong (the graph holds target shapes for another input size?): " + found;
}

// The load steps after parsing. `proto` is this load's own parse of the file, a copy nobody else
// sees: the checker's IR lowering, the input-shape overrides and shape inference change it in
// place, after the IR has been taken from it, and the file itself is never touched.
Result<Model> loadParsed(onnx::ModelProto& proto, const std::string& name, const fs::path& base_dir,
                         const LoadOptions& options, LoadReport& rep) {
  std::string unknown_in;
  if (const int64_t unknown = countUnknownFields(proto, &unknown_in); unknown > 0) {
    rep.warnings.push_back(std::to_string(unknown) + " field(s) unknown to onnx 1.12 (written " +
                           "by a newer ONNX?), first in " + unknown_in +
                           "; DetSlim does not keep them when saving");
  }

  Result<Model> converted =
      onnx_detail::modelFromProto(proto, TensorSource{base_dir}, &rep.warnings);
  if (!converted.isOk()) return converted.status().withContext(name);
  Model model = std::move(converted).value();
  DS_RETURN_IF_ERROR(applyInputShapes(options, proto, model).withContext(name));

  bool checked_ok = false;
  std::string checker_error;
  if (options.run_checker || options.infer_shapes) {
    Status checked = runChecker(proto, base_dir, &rep.checker_note);
    checked_ok = checked.isOk();
    checker_error = checked.message();
    if (options.run_checker) {
      rep.checker_ran = true;
      rep.checker_passed = checked_ok;
      if (!checked_ok) return checked.withContext(name);
    }
  }

  if (options.infer_shapes) {
    // onnx's inference functions assume a model that passed the checker; running them on one
    // that did not is how malformed files crash them.
    if (!checked_ok) {
      std::string w = "shape inference skipped: the model does not pass the " + checker_error;
      if (options.strict_shape_inference) return invalidArgument(name + ": " + w);
      rep.warnings.push_back(std::move(w));
      return model;
    }
    std::string errors = runShapeInference(proto);
    onnx_detail::collectInferredTypes(proto.graph(), model.graph);
    if (!options.input_shapes.empty()) adoptInferredDeclarations(model.graph);
    if (const std::string reshapes = reshapeMismatches(model.graph); !reshapes.empty()) {
      errors += (errors.empty() ? "" : "; ") + reshapes;
    }
    if (!errors.empty()) {
      if (options.strict_shape_inference) {
        return invalidArgument(name + ": shape inference failed: " + errors);
      }
      rep.warnings.push_back("shape inference: " + errors);
    }
    rep.shapes_inferred = errors.empty();
  }
  return model;
}

// Serializes `proto` into a temporary file beside `path`, flushes it to disk and renames it over
// `path`: readers see the old file or the new one, never a half-written one.
Status writeFileAtomically(const fs::path& path, const google::protobuf::Message& proto) {
  const std::string name = path.string();
  fs::path dir = path.parent_path();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return notFound(name + ": folder '" + dir.string() + "' does not exist");
  }
  if (fs::is_directory(path, ec)) return invalidArgument(name + ": is a directory");
  static std::atomic<uint64_t> counter{0};
  fs::path tmp;
  int fd = -1;
  for (int attempt = 0; attempt < 100 && fd < 0; ++attempt) {
    tmp = dir / ("." + path.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" +
                 std::to_string(counter++));
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) {
    return ioError(name + ": cannot create a temporary file in '" + dir.string() +
                   "': " + std::strerror(errno));
  }
  // An existing file keeps its permissions.
  struct stat old_stat;
  if (::stat(path.c_str(), &old_stat) == 0) ::fchmod(fd, old_stat.st_mode & 07777);

  auto fail = [&](const std::string& what) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return ioError(name + ": " + what + ": " + std::strerror(err));
  };
  if (!proto.SerializeToFileDescriptor(fd)) return fail("writing failed");
  if (::fsync(fd) != 0) return fail("flushing to disk failed");
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return ioError(name + ": closing failed: " + std::strerror(err));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return ioError(name + ": renaming the temporary file failed: " + std::strerror(err));
  }
  return Status::ok();
}

Status checkSerializable(const onnx::ModelProto& proto, const std::string& name) {
  const size_t bytes = proto.ByteSizeLong();
  if (bytes > kMaxProtoBytes) {
    return unsupported(name + ": the model serializes to " + std::to_string(bytes) +
                       " bytes; a protobuf file holds at most 2 GiB and DetSlim does not write "
                       "external data");
  }
  return Status::ok();
}

// Sequence and optional values (onnx-data.proto) share the test-data file layout; their bytes
// often parse as a nonsensical TensorProto, so a failed decode asks whether they are one of them.
bool looksLikeSequenceOrOptional(std::string_view bytes) {
  onnx::SequenceProto seq;
  if (!seq.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return false;
  const int values = seq.tensor_values_size() + seq.sparse_tensor_values_size() +
                     seq.sequence_values_size() + seq.map_values_size() +
                     seq.optional_values_size();
  return seq.elem_type() >= 1 && seq.elem_type() <= 5 && (values > 0 || !seq.name().empty());
}

// Parses and decodes a tensor file: the proto (for its name) and the tensor.
Result<std::pair<onnx::TensorProto, Tensor>> parseTensorFile(const fs::path& path) {
  const std::string name = path.string();
  DS_ASSIGN_OR_RETURN(std::string bytes, readWholeFile(path));
  onnx::TensorProto proto;
  if (!proto.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return parseError(name + ": not a valid TensorProto protobuf (truncated or corrupt file)");
  }
  fs::path base_dir = path.parent_path();
  if (base_dir.empty()) base_dir = ".";
  Result<Tensor> t = proto.data_type() == 0
                         ? Result<Tensor>(invalidArgument("no data_type"))
                         : onnx_detail::tensorFromProto(proto, TensorSource{base_dir},
                                                        "tensor '" + proto.name() + "'");
  if (t.isOk()) return std::make_pair(std::move(proto), std::move(t).value());
  if (looksLikeSequenceOrOptional(bytes)) {
    return invalidArgument(name +
                           ": holds a sequence or optional value (SequenceProto / "
                           "OptionalProto), not a TensorProto");
  }
  if (proto.data_type() == 0) {
    return invalidArgument(name + ": parsed as protobuf but is not a TensorProto: no data_type");
  }
  return t.status().withContext(name);
}

}  // namespace

Result<Model> loadModel(const fs::path& path, const LoadOptions& options, LoadReport* report) {
  const std::string name = path.string();
  return guarded(name, [&]() -> Result<Model> {
    LoadReport local;
    LoadReport& rep = report ? *report : local;
    rep = LoadReport{};
    rep.path = name;
    onnx::ModelProto proto;
    {
      DS_ASSIGN_OR_RETURN(std::string bytes, readWholeFile(path));
      rep.file_bytes = static_cast<int64_t>(bytes.size());
      DS_RETURN_IF_ERROR(parseModel(bytes, name, proto));
    }  // the file's bytes are freed here: the proto holds its own copy
    fs::path base_dir = path.parent_path();
    if (base_dir.empty()) base_dir = ".";
    return loadParsed(proto, name, base_dir, options, rep);
  });
}

Result<Model> loadModelFromBytes(std::string_view bytes, const std::string& display_name,
                                 const fs::path& base_dir, const LoadOptions& options,
                                 LoadReport* report) {
  return guarded(display_name, [&]() -> Result<Model> {
    LoadReport local;
    LoadReport& rep = report ? *report : local;
    rep = LoadReport{};
    rep.path = display_name;
    rep.file_bytes = static_cast<int64_t>(bytes.size());
    onnx::ModelProto proto;
    DS_RETURN_IF_ERROR(parseModel(bytes, display_name, proto));
    return loadParsed(proto, display_name, base_dir, options, rep);
  });
}

Status saveModel(const Model& model, const fs::path& path, const SaveOptions& options) {
  const std::string name = path.string();
  return guarded(name, [&]() -> Status {
    onnx::ModelProto proto;
    DS_RETURN_IF_ERROR(onnx_detail::modelToProto(model, &proto).withContext(name));
    if (options.run_checker) {
      Status checked = runChecker(proto, {}, nullptr);
      if (!checked.isOk()) return checked.withContext(name + ": not saved");
    }
    DS_RETURN_IF_ERROR(checkSerializable(proto, name));
    return writeFileAtomically(path, proto);
  });
}

Result<std::string> serializeModel(const Model& model) {
  return guarded("serializeModel", [&]() -> Result<std::string> {
    onnx::ModelProto proto;
    DS_RETURN_IF_ERROR(onnx_detail::modelToProto(model, &proto).withContext("serializeModel"));
    DS_RETURN_IF_ERROR(checkSerializable(proto, "serializeModel"));
    std::string bytes;
    if (!proto.SerializeToString(&bytes)) return internalError("serializeModel: protobuf failed");
    return bytes;
  });
}

Status checkModel(const Model& model, std::string* note) {
  return guarded("checkModel", [&]() -> Status {
    onnx::ModelProto proto;
    DS_RETURN_IF_ERROR(onnx_detail::modelToProto(model, &proto).withContext("checkModel"));
    return runChecker(proto, {}, note);
  });
}

Status inferShapes(Model& model, bool strict, std::vector<std::string>* warnings) {
  return guarded("inferShapes", [&]() -> Status {
    onnx::ModelProto proto;
    DS_RETURN_IF_ERROR(onnx_detail::modelToProto(model, &proto).withContext("inferShapes"));
    // See loadParsed: inference runs only on models the checker accepts.
    Status checked = runChecker(proto, {}, nullptr);
    if (!checked.isOk()) {
      const std::string w =
          "shape inference skipped: the model does not pass the " + checked.message();
      if (strict) return invalidArgument("inferShapes: " + w);
      if (warnings) warnings->push_back(w);
      return Status::ok();
    }
    const std::string errors = runShapeInference(proto);
    onnx_detail::collectInferredTypes(proto.graph(), model.graph);
    if (!errors.empty()) {
      if (strict) return invalidArgument("inferShapes: shape inference failed: " + errors);
      if (warnings) warnings->push_back("shape inference: " + errors);
    }
    return Status::ok();
  });
}

Result<Tensor> loadTensorFile(const fs::path& path) {
  const std::string name = path.string();
  return guarded(name, [&]() -> Result<Tensor> {
    DS_ASSIGN_OR_RETURN(auto parsed, parseTensorFile(path));
    return std::move(parsed.second);
  });
}

Result<std::string> tensorFileName(const fs::path& path) {
  const std::string name = path.string();
  return guarded(name, [&]() -> Result<std::string> {
    DS_ASSIGN_OR_RETURN(auto parsed, parseTensorFile(path));
    return parsed.first.name();
  });
}

}  // namespace detslim
