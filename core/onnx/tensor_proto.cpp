// TensorProto <-> Tensor: raw_data, the typed fields, and external data files.
//
// Every size is checked against what the file really holds before anything is allocated: a
// corrupt or hostile file can claim dims of 2^40 elements, and that must be refused, not
// attempted.

#include <bit>
#include <charconv>
#include <cstring>
#include <fstream>
#include <limits>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <onnx/onnx_pb.h>

#include "core/onnx/proto_convert.h"

namespace detslim::onnx_detail {

// raw_data is little endian by the ONNX spec and is copied as is.
static_assert(std::endian::native == std::endian::little,
              "raw_data is little endian: a big-endian host needs byte swapping in this file");

namespace fs = std::filesystem;

std::string dimsToString(const std::vector<int64_t>& dims) {
  return shapeToString(dims);
}

namespace {

// Element count of `dims`, multiplied left to right as Tensor::numel() does so that the Tensor
// we build cannot overflow where this check did not. Refuses negative dims and overflow.
Result<int64_t> checkedNumel(const std::vector<int64_t>& dims, const std::string& what) {
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0) {
      return invalidArgument(what + " has a negative dim (" + std::to_string(d) +
                             "); tensor dims must be >= 0");
    }
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d) {
      return invalidArgument(what + ": the product of the dims overflows a 64-bit count");
    }
    n *= d;
  }
  return n;
}

// Which value fields carry data (non-empty, as the ONNX checker counts them).
std::vector<const char*> presentFields(const onnx::TensorProto& p) {
  std::vector<const char*> fields;
  if (!p.raw_data().empty()) fields.push_back("raw_data");
  if (p.float_data_size() > 0) fields.push_back("float_data");
  if (p.int32_data_size() > 0) fields.push_back("int32_data");
  if (p.int64_data_size() > 0) fields.push_back("int64_data");
  if (p.double_data_size() > 0) fields.push_back("double_data");
  if (p.uint64_data_size() > 0) fields.push_back("uint64_data");
  if (p.string_data_size() > 0) fields.push_back("string_data");
  return fields;
}

// The typed field ONNX defines for a dtype and how many entries one element takes there.
struct TypedField {
  const char* name;
  int per_element;
};

TypedField typedFieldFor(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return {"float_data", 1};
    case DType::kComplex64:
      return {"float_data", 2};
    case DType::kFloat64:
      return {"double_data", 1};
    case DType::kComplex128:
      return {"double_data", 2};
    case DType::kInt64:
      return {"int64_data", 1};
    case DType::kUInt32:
    case DType::kUInt64:
      return {"uint64_data", 1};
    case DType::kString:
      return {"string_data", 1};
    // Everything narrower than 32 bits travels in int32_data, one entry per element
    // (float16 / bfloat16 / float8 as their bit patterns).
    default:
      return {"int32_data", 1};
  }
}

int64_t typedFieldSize(const onnx::TensorProto& p, const std::string& field) {
  if (field == "float_data") return p.float_data_size();
  if (field == "double_data") return p.double_data_size();
  if (field == "int32_data") return p.int32_data_size();
  if (field == "int64_data") return p.int64_data_size();
  if (field == "uint64_data") return p.uint64_data_size();
  return 0;
}

template <class Dst, class Src>
void narrowCopy(const Src* src, int64_t n, void* dst_raw) {
  auto* dst = static_cast<Dst*>(dst_raw);
  for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<Dst>(src[i]);
}

void fillFromInt32(const onnx::TensorProto& p, DType dtype, int64_t n, void* dst) {
  const int32_t* src = p.int32_data().data();
  switch (dtype) {
    case DType::kInt32:
      std::memcpy(dst, src, static_cast<size_t>(n) * 4);
      break;
    case DType::kInt16:
      narrowCopy<int16_t>(src, n, dst);
      break;
    case DType::kUInt16:
    case DType::kFloat16:
    case DType::kBFloat16:
      narrowCopy<uint16_t>(src, n, dst);
      break;
    case DType::kInt8:
      narrowCopy<int8_t>(src, n, dst);
      break;
    case DType::kBool: {
      auto* out = static_cast<uint8_t*>(dst);
      for (int64_t i = 0; i < n; ++i) out[i] = src[i] != 0 ? 1 : 0;
      break;
    }
    default:  // uint8 and the float8 types
      narrowCopy<uint8_t>(src, n, dst);
      break;
  }
}

// Parses a non-negative decimal as ONNX writes offsets and lengths.
std::optional<uint64_t> parseCount(const std::string& text) {
  uint64_t v = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
  return v;
}

// Resolves an external-data location inside `base_dir`, refusing absolute paths, paths that
// climb out of the folder (also through symbolic links) and anything but a regular file (a
// FIFO would block the read forever).
Result<fs::path> resolveExternalFile(const std::string& location, const fs::path& base_dir,
                                     const std::string& what) {
  const std::string quoted = "'" + location + "'";
  if (location.empty()) return invalidArgument(what + ": external data location is empty");
  if (location.find('\0') != std::string::npos) {
    return invalidArgument(what + ": external data location contains a NUL character");
  }
  const fs::path rel(location);
  if (rel.is_absolute() || rel.has_root_path()) {
    return invalidArgument(what + ": external data location " + quoted +
                           " is an absolute path; it must be relative to the model's folder");
  }
  const fs::path normal = rel.lexically_normal();
  if (normal.empty() || *normal.begin() == "..") {
    return invalidArgument(what + ": external data location " + quoted +
                           " escapes the model's folder");
  }
  const fs::path full = base_dir / normal;
  std::error_code ec;
  const fs::file_status st = fs::status(full, ec);
  if (ec || !fs::exists(st)) {
    return notFound(what + ": external data file " + quoted + " not found (looked for '" +
                    full.string() + "')");
  }
  const fs::path real_base = fs::canonical(base_dir, ec);
  const fs::path real_file = ec ? fs::path() : fs::canonical(full, ec);
  if (ec) {
    return ioError(what + ": cannot resolve external data file '" + full.string() +
                   "': " + ec.message());
  }
  const fs::path inside = real_file.lexically_relative(real_base);
  if (inside.empty() || *inside.begin() == "..") {
    return invalidArgument(what + ": external data location " + quoted +
                           " resolves outside the model's folder (through a symbolic link)");
  }
  if (!fs::is_regular_file(st)) {
    return invalidArgument(what + ": external data " + quoted + " is not a regular file");
  }
  return full;
}

// Reads an external payload of `expected` bytes; allocates only once the file is known to hold
// them.
Result<Tensor> readExternal(const onnx::TensorProto& p, const TensorSource& source, DType dtype,
                            const std::vector<int64_t>& dims, size_t expected,
                            const std::string& what) {
  std::string location;
  std::optional<uint64_t> offset;
  std::optional<uint64_t> length;
  bool has_location = false;
  for (const auto& entry : p.external_data()) {
    if (entry.key() == "location") {
      if (has_location) return invalidArgument(what + ": external data names two locations");
      has_location = true;
      location = entry.value();
    } else if (entry.key() == "offset" || entry.key() == "length") {
      std::optional<uint64_t> v = parseCount(entry.value());
      if (!v) {
        return invalidArgument(what + ": external data " + entry.key() + " '" + entry.value() +
                               "' is not a non-negative integer");
      }
      (entry.key() == "offset" ? offset : length) = v;
    }
    // "checksum" and unknown keys carry nothing DetSlim needs.
  }
  if (!has_location) return invalidArgument(what + ": stored externally but has no location");
  if (source.base_dir.empty()) {
    return invalidArgument(what + ": stored in external file '" + location +
                           "', but the model was read from memory with no folder to find it in");
  }
  DS_ASSIGN_OR_RETURN(fs::path file, resolveExternalFile(location, source.base_dir, what));

  std::error_code ec;
  const uint64_t file_bytes = fs::file_size(file, ec);
  if (ec) {
    return ioError(what + ": cannot read the size of '" + file.string() + "': " + ec.message());
  }
  const uint64_t start = offset.value_or(0);
  if (length && *length != expected) {
    return invalidArgument(what + ": external data length is " + std::to_string(*length) +
                           " bytes, but dims x element size need " + std::to_string(expected));
  }
  if (start > file_bytes || file_bytes - start < expected) {
    return invalidArgument(what + ": external data file '" + location + "' is too short: needs " +
                           std::to_string(expected) + " bytes at offset " + std::to_string(start) +
                           ", the file has " + std::to_string(file_bytes) + " bytes");
  }
  Tensor out(dtype, dims);
  if (expected == 0) return out;
  std::ifstream in(file, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(start));
  in.read(static_cast<char*>(out.rawMutable()), static_cast<std::streamsize>(expected));
  if (!in || static_cast<size_t>(in.gcount()) != expected) {
    return ioError(what + ": reading " + std::to_string(expected) + " bytes of '" + file.string() +
                   "' at offset " + std::to_string(start) + " failed");
  }
  return out;
}

}  // namespace

Result<Tensor> tensorFromProto(const onnx::TensorProto& p, const TensorSource& source,
                               const std::string& label) {
  const int32_t code = p.data_type();
  if (code == 0) return invalidArgument(label + " has no data_type (UNDEFINED)");
  if (!isKnownDType(code)) {
    return unsupported(label + " has element type " + std::to_string(code) +
                       ", which DetSlim does not know (ONNX types 1-20)");
  }
  const DType dtype = static_cast<DType>(code);
  const std::vector<int64_t> dims(p.dims().begin(), p.dims().end());
  const std::string what =
      label + " (" + std::string(dtypeName(dtype)) + ", dims " + dimsToString(dims) + ")";
  if (p.has_segment()) {
    return unsupported(what + " is a segment [" + std::to_string(p.segment().begin()) + ", " +
                       std::to_string(p.segment().end()) +
                       ") of a larger tensor; segmented TensorProtos are not supported");
  }
  DS_ASSIGN_OR_RETURN(const int64_t numel, checkedNumel(dims, what));

  const std::vector<const char*> fields = presentFields(p);
  const bool external = p.data_location() == onnx::TensorProto::EXTERNAL;
  if (external && !fields.empty()) {
    return invalidArgument(what + " is stored externally but also holds " + fields[0]);
  }
  if (fields.size() > 1) {
    return invalidArgument(what + " holds data in both " + fields[0] + " and " + fields[1]);
  }
  const TypedField typed = typedFieldFor(dtype);

  if (dtype == DType::kString) {
    if (external) return unsupported(what + ": string tensors cannot use external data");
    if (!fields.empty() && std::strcmp(fields[0], "string_data") != 0) {
      return invalidArgument(what + " holds its strings in " + fields[0] +
                             "; string tensors use string_data");
    }
    if (p.string_data_size() != numel) {
      return invalidArgument(what + ": string_data holds " + std::to_string(p.string_data_size()) +
                             " strings, the dims need " + std::to_string(numel));
    }
    Tensor t(dtype, dims);
    for (int64_t i = 0; i < numel; ++i) {
      t.strings()[static_cast<size_t>(i)] = p.string_data(static_cast<int>(i));
    }
    return t;
  }

  const size_t elem = dtypeSize(dtype);
  if (numel > std::numeric_limits<int64_t>::max() / static_cast<int64_t>(elem)) {
    return invalidArgument(what + ": the byte size overflows a 64-bit count");
  }
  const size_t expected = static_cast<size_t>(numel) * elem;

  if (external) return readExternal(p, source, dtype, dims, expected, what);

  if (fields.empty()) {
    if (numel == 0) return Tensor(dtype, dims);
    return invalidArgument(what + " has no data: " + std::to_string(expected) +
                           " bytes expected in raw_data, " + typed.name + " or external data");
  }
  const std::string field = fields[0];
  if (field == "raw_data") {
    const size_t actual = p.raw_data().size();
    if (actual != expected) {
      return invalidArgument(what + ": raw_data holds " + std::to_string(actual) +
                             " bytes, but dims x element size need " + std::to_string(expected) +
                             " (" + std::to_string(numel) + " x " + std::to_string(elem) + ")");
    }
    Tensor t(dtype, dims);
    std::memcpy(t.rawMutable(), p.raw_data().data(), expected);
    return t;
  }
  if (field != typed.name) {
    return invalidArgument(what + " holds its values in " + field + "; " +
                           std::string(dtypeName(dtype)) + " values belong in " + typed.name +
                           " or raw_data");
  }
  const int64_t count = typedFieldSize(p, field);
  if (numel > std::numeric_limits<int64_t>::max() / typed.per_element ||
      count != numel * typed.per_element) {
    return invalidArgument(what + ": " + field + " holds " + std::to_string(count) +
                           " values, the dims need " + std::to_string(numel * typed.per_element));
  }
  Tensor t(dtype, dims);
  void* dst = t.rawMutable();
  switch (dtype) {
    case DType::kFloat32:
    case DType::kComplex64:
      std::memcpy(dst, p.float_data().data(), expected);
      break;
    case DType::kFloat64:
    case DType::kComplex128:
      std::memcpy(dst, p.double_data().data(), expected);
      break;
    case DType::kInt64:
      std::memcpy(dst, p.int64_data().data(), expected);
      break;
    case DType::kUInt64:
      std::memcpy(dst, p.uint64_data().data(), expected);
      break;
    case DType::kUInt32:
      narrowCopy<uint32_t>(p.uint64_data().data(), numel, dst);
      break;
    default:
      fillFromInt32(p, dtype, numel, dst);
      break;
  }
  return t;
}

Status tensorToProto(const Tensor& tensor, onnx::TensorProto* proto) {
  if (!tensor.defined()) return invalidArgument("tensor has no element type");
  for (int64_t d : tensor.shape()) proto->add_dims(d);
  proto->set_data_type(static_cast<int32_t>(tensor.dtype()));
  if (tensor.dtype() == DType::kString) {
    for (const std::string& s : tensor.strings()) proto->add_string_data(s);
  } else if (tensor.bytes() > 0) {
    proto->set_raw_data(tensor.raw(), tensor.bytes());
  }
  return Status::ok();
}

}  // namespace detslim::onnx_detail
