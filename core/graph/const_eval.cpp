#include "core/graph/const_eval.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <utility>

namespace detslim {

namespace {

constexpr std::array<std::string_view, 21> kFoldableOps = {
    "Constant",  "Shape",   "Size",  "Gather", "Concat",
    "Unsqueeze", "Squeeze", "Slice", "Cast",   "Identity",
    "Reshape",   "Add",     "Sub",   "Mul",    "Div",
    "Neg",       "Equal",   "Where", "Expand", "ConstantOfShape",
    "Range"};

bool isIntegral(DType d) {
  switch (d) {
    case DType::kInt8:
    case DType::kUInt8:
    case DType::kInt16:
    case DType::kUInt16:
    case DType::kInt32:
    case DType::kUInt32:
    case DType::kInt64:
    case DType::kUInt64:
      return true;
    default:
      return false;
  }
}

// The float dtypes this file can write (float8 formats have no converter in core/base).
bool isWritableFloat(DType d) {
  return d == DType::kFloat32 || d == DType::kFloat64 || d == DType::kFloat16 ||
         d == DType::kBFloat16;
}

bool isNumeric(DType d) {
  return isIntegral(d) || isWritableFloat(d) || d == DType::kBool;
}

// The closed range of an integer dtype, as doubles (for range checks of float -> int casts).
std::pair<double, double> integerRange(DType d) {
  switch (d) {
    case DType::kInt8:
      return {-128.0, 127.0};
    case DType::kUInt8:
      return {0.0, 255.0};
    case DType::kInt16:
      return {-32768.0, 32767.0};
    case DType::kUInt16:
      return {0.0, 65535.0};
    case DType::kInt32:
      return {-2147483648.0, 2147483647.0};
    case DType::kUInt32:
      return {0.0, 4294967295.0};
    // 2^63 and 2^64 are not representable as targets; the largest doubles below them are.
    case DType::kInt64:
      return {-9223372036854775808.0, 9223372036854774784.0};
    case DType::kUInt64:
      return {0.0, 18446744073709549568.0};
    default:
      return {0.0, 0.0};
  }
}

Status cannot(const Node& node, const std::string& why) {
  return unsupported(node.describe() + ": " + why);
}

// Element count of a result shape; refuses negative dims and counts above `max_elements`, so
// nothing large is ever allocated.
Result<int64_t> boundedNumel(const Node& node, const Shape& shape, int64_t max_elements) {
  bool has_zero = false;
  for (int64_t d : shape) {
    if (d < 0) return cannot(node, "negative dimension in result shape " + shapeToString(shape));
    has_zero = has_zero || d == 0;
  }
  if (has_zero) return int64_t{0};
  int64_t count = 1;
  for (int64_t d : shape) {
    if (count > max_elements / d) {
      return cannot(node, "result " + shapeToString(shape) + " has more than " +
                              std::to_string(max_elements) + " elements");
    }
    count *= d;
  }
  return count;
}

Result<int64_t> normalizeAxis(const Node& node, int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank) {
    return cannot(
        node, "axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  }
  return axis < 0 ? axis + rank : axis;
}

// Writes an int64 or double value into element i. Floating dtypes take the value as it is;
// integer dtypes take it through int64_t, then as static_cast does (modular for narrower types).
template <class V>
void putValue(Tensor& t, int64_t i, V v) {
  const int64_t iv = static_cast<int64_t>(v);
  switch (t.dtype()) {
    case DType::kFloat32: t.mutableData<float>()[i] = static_cast<float>(v); break;
    case DType::kFloat64: t.mutableData<double>()[i] = static_cast<double>(v); break;
    case DType::kFloat16: t.mutableData<uint16_t>()[i] = floatToHalf(static_cast<float>(v)); break;
    case DType::kBFloat16:
      t.mutableData<uint16_t>()[i] = floatToBFloat16(static_cast<float>(v));
      break;
    case DType::kBool: t.mutableData<uint8_t>()[i] = v != V{0} ? 1 : 0; break;
    case DType::kInt8: t.mutableData<int8_t>()[i] = static_cast<int8_t>(iv); break;
    case DType::kUInt8: t.mutableData<uint8_t>()[i] = static_cast<uint8_t>(iv); break;
    case DType::kInt16: t.mutableData<int16_t>()[i] = static_cast<int16_t>(iv); break;
    case DType::kUInt16: t.mutableData<uint16_t>()[i] = static_cast<uint16_t>(iv); break;
    case DType::kInt32: t.mutableData<int32_t>()[i] = static_cast<int32_t>(iv); break;
    case DType::kUInt32: t.mutableData<uint32_t>()[i] = static_cast<uint32_t>(iv); break;
    case DType::kInt64: t.mutableData<int64_t>()[i] = iv; break;
    case DType::kUInt64: t.mutableData<uint64_t>()[i] = static_cast<uint64_t>(iv); break;
    default: break;
  }
}

void putInt(Tensor& t, int64_t i, int64_t v) { putValue(t, i, v); }
void putDouble(Tensor& t, int64_t i, double v) { putValue(t, i, v); }

void copyElement(const Tensor& src, int64_t src_index, Tensor& dst, int64_t dst_index) {
  if (src.dtype() == DType::kString) {
    dst.strings()[static_cast<size_t>(dst_index)] = src.strings()[static_cast<size_t>(src_index)];
    return;
  }
  const size_t size = dtypeSize(src.dtype());
  std::memcpy(static_cast<std::byte*>(dst.rawMutable()) + static_cast<size_t>(dst_index) * size,
              static_cast<const std::byte*>(src.raw()) + static_cast<size_t>(src_index) * size,
              size);
}

int64_t product(const Shape& shape, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < end && i < shape.size(); ++i) p *= shape[i];
  return p;
}

// Maps an index of the broadcast output to the index of one input (stride 0 on broadcast dims).
class BroadcastIndex {
 public:
  BroadcastIndex(const Shape& in, const Shape& out) : out_(out), strides_(out.size(), 0) {
    int64_t stride = 1;
    for (size_t k = 0; k < in.size(); ++k) {
      const size_t in_axis = in.size() - 1 - k;
      const size_t out_axis = out.size() - 1 - k;
      if (in[in_axis] != 1) strides_[out_axis] = stride;
      stride *= in[in_axis];
    }
  }
  int64_t operator()(int64_t out_index) const {
    int64_t in_index = 0;
    for (size_t a = out_.size(); a-- > 0;) {
      in_index += (out_index % out_[a]) * strides_[a];
      out_index /= out_[a];
    }
    return in_index;
  }

 private:
  Shape out_;
  Shape strides_;
};

struct EvalContext {
  const Node& node;
  const std::vector<const Tensor*>& inputs;
  int64_t opset;
  int64_t max_elements;

  const Tensor* input(size_t i) const { return i < inputs.size() ? inputs[i] : nullptr; }
  Result<const Tensor*> required(size_t i) const {
    const Tensor* t = input(i);
    if (!t) return cannot(node, "input " + std::to_string(i) + " is not a known constant");
    if (!t->defined()) return cannot(node, "input " + std::to_string(i) + " has no dtype");
    return t;
  }
  // Integer vector input (axes, shape, starts): refuses float and non-1-D/scalar tensors.
  Result<std::vector<int64_t>> intVector(size_t i) const {
    DS_ASSIGN_OR_RETURN(const Tensor* t, required(i));
    if (!isIntegral(t->dtype()) || t->rank() > 1) {
      return cannot(node, "input " + std::to_string(i) + " must be a 1-D integer tensor, is " +
                              std::string(dtypeName(t->dtype())) + shapeToString(t->shape()));
    }
    return t->toInt64Vector();
  }
  // Axes-like data given as an attribute before `input_opset` and as input `index` from it on.
  // With an unknown opset the form present on the node wins.
  bool fromInput(int64_t input_opset, std::string_view attr_name) const {
    if (opset > 0) return opset >= input_opset;
    return !node.hasAttr(attr_name);
  }
};

Result<Tensor> evalIdentity(const EvalContext& c) {
  DS_ASSIGN_OR_RETURN(const Tensor* x, c.required(0));
  DS_ASSIGN_OR_RETURN(int64_t n, boundedNumel(c.node, x->shape(), c.max_elements));
  (void)n;
  return x->clone();
}

Result<Tensor> evalShape(const EvalContext& c, const std::optional<Shape>& shape) {
  if (!shape) return cannot(c.node, "the input's shape is not static");
  const int64_t rank = static_cast<int64_t>(shape->size());
  // Opset 15's start / end attributes; absent in older opsets, where the defaults apply.
  int64_t start = c.node.intOr("start", 0);
  int64_t end = c.node.intOr("end", rank);
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, 0, rank);
  const int64_t count = std::max<int64_t>(end - start, 0);
  Tensor out(DType::kInt64, {count});
  for (int64_t i = 0; i < count; ++i) {
    out.mutableData<int64_t>()[i] = (*shape)[static_cast<size_t>(start + i)];
  }
  return out;
}

Result<Tensor> evalSize(const EvalContext& c, const std::optional<Shape>& shape) {
  if (!shape) return cannot(c.node, "the input's shape is not static");
  Tensor out(DType::kInt64, {});
  out.mutableData<int64_t>()[0] = shapeNumel(*shape);
  return out;
}

Result<Tensor> evalGather(const EvalContext& c) {
  DS_ASSIGN_OR_RETURN(const Tensor* data, c.required(0));
  DS_ASSIGN_OR_RETURN(const Tensor* indices, c.required(1));
  if (!isIntegral(indices->dtype())) return cannot(c.node, "indices must be integers");
  if (data->rank() == 0) return cannot(c.node, "data must have rank >= 1");
  DS_ASSIGN_OR_RETURN(int64_t axis, normalizeAxis(c.node, c.node.intOr("axis", 0), data->rank()));
  const Shape& ds = data->shape();
  const size_t ax = static_cast<size_t>(axis);
  Shape out_shape(ds.begin(), ds.begin() + axis);
  out_shape.insert(out_shape.end(), indices->shape().begin(), indices->shape().end());
  out_shape.insert(out_shape.end(), ds.begin() + axis + 1, ds.end());
  DS_ASSIGN_OR_RETURN(int64_t numel, boundedNumel(c.node, out_shape, c.max_elements));
  (void)numel;
  const int64_t axis_dim = ds[ax];
  std::vector<int64_t> idx = indices->toInt64Vector();
  for (int64_t& k : idx) {
    const int64_t original = k;
    if (k < 0) k += axis_dim;  // negative indices count from the end, as in numpy
    if (k < 0 || k >= axis_dim) {
      return cannot(c.node, "index " + std::to_string(original) + " is out of range for axis " +
                                "of size " + std::to_string(axis_dim));
    }
  }
  const int64_t outer = product(ds, 0, ax);
  const int64_t inner = product(ds, ax + 1, ds.size());
  const int64_t count = static_cast<int64_t>(idx.size());
  Tensor out(data->dtype(), out_shape);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t j = 0; j < count; ++j) {
      const int64_t src = (o * axis_dim + idx[static_cast<size_t>(j)]) * inner;
      const int64_t dst = (o * count + j) * inner;
      for (int64_t e = 0; e < inner; ++e) copyElement(*data, src + e, out, dst + e);
    }
  }
  return out;
}

Result<Tensor> evalConcat(const EvalContext& c) {
  if (c.inputs.empty()) return cannot(c.node, "no inputs");
  std::vector<const Tensor*> parts;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    DS_ASSIGN_OR_RETURN(const Tensor* t, c.required(i));
    parts.push_back(t);
  }
  auto axis_attr = c.node.getInt("axis");
  if (!axis_attr) return axis_attr.status();
  const Tensor& first = *parts[0];
  DS_ASSIGN_OR_RETURN(int64_t axis, normalizeAxis(c.node, *axis_attr, first.rank()));
  const size_t ax = static_cast<size_t>(axis);
  Shape out_shape = first.shape();
  out_shape[ax] = 0;
  for (const Tensor* t : parts) {
    if (t->dtype() != first.dtype() || t->rank() != first.rank()) {
      return cannot(c.node, "inputs differ in dtype or rank");
    }
    for (size_t d = 0; d < out_shape.size(); ++d) {
      if (d != ax && t->shape()[d] != first.shape()[d]) {
        return cannot(c.node, "input shapes " + shapeToString(first.shape()) + " and " +
                                  shapeToString(t->shape()) + " differ off the concat axis");
      }
    }
    out_shape[ax] += t->shape()[ax];
  }
  DS_ASSIGN_OR_RETURN(int64_t numel, boundedNumel(c.node, out_shape, c.max_elements));
  (void)numel;
  Tensor out(first.dtype(), out_shape);
  const int64_t outer = product(out_shape, 0, ax);
  int64_t dst = 0;
  for (int64_t o = 0; o < outer; ++o) {
    for (const Tensor* t : parts) {
      const int64_t block = product(t->shape(), ax, t->shape().size());
      for (int64_t e = 0; e < block; ++e) copyElement(*t, o * block + e, out, dst++);
    }
  }
  return out;
}

Result<Tensor> evalUnsqueeze(const EvalContext& c) {
  DS_ASSIGN_OR_RETURN(const Tensor* data, c.required(0));
  std::vector<int64_t> axes;
  if (c.fromInput(13, "axes")) {
    DS_ASSIGN_OR_RETURN(axes, c.intVector(1));
  } else {
    auto attr = c.node.getInts("axes");
    if (!attr) return attr.status();
    axes = *attr;
  }
  const int64_t out_rank = data->rank() + static_cast<int64_t>(axes.size());
  std::vector<bool> is_new(static_cast<size_t>(out_rank), false);
  for (int64_t a : axes) {
    DS_ASSIGN_OR_RETURN(int64_t axis, normalizeAxis(c.node, a, out_rank));
    if (is_new[static_cast<size_t>(axis)]) return cannot(c.node, "repeated axis");
    is_new[static_cast<size_t>(axis)] = true;
  }
  Shape out_shape;
  size_t next = 0;
  for (int64_t d = 0; d < out_rank; ++d) {
    out_shape.push_back(is_new[static_cast<size_t>(d)] ? 1 : data->shape()[next++]);
  }
  DS_ASSIGN_OR_RETURN(int64_t numel, boundedNumel(c.node, out_shape, c.max_elements));
  (void)numel;
  Tensor out = data->clone();
  out.reshapeInPlace(std::move(out_shape));
  return out;
}

Result<Tensor> evalSqueeze(const EvalContext& c) {
  DS_ASSIGN_OR_RETURN(const Tensor* data, c.required(0));
  std::optional<std::vector<int64_t>> axes;
  if (c.fromInput(13, "axes")) {
    if (!c.node.input(1).empty()) {
      DS_ASSIGN_OR_RETURN(axes, c.intVector(1));
    }
  } else if (c.node.hasAttr("axes")) {
    auto attr = c.node.getInts("axes");
    if (!attr) return attr.status();
    axes = *attr;
  }
  const Shape& ds = data->shape();
  std::vector<bool> drop(ds.size(), false);
  if (axes) {
    for (int64_t a : *axes) {
      DS_ASSIGN_OR_RETURN(int64_t axis, normalizeAxis(c.node, a, data->rank()));
      if (ds[static_cast<size_t>(axis)] != 1) {
        return cannot(c.node, "cannot squeeze axis " + std::to_string(a) + " of size " +
                                  std::to_string(ds[static_cast<size_t>(axis)]));
      }
      drop[static_cast<size_t>(axis)] = true;
    }
  } else {
    for (size_t d = 0; d < ds.size(); ++d) drop[d] = ds[d] == 1;
  }
  Shape out_shape;
  for (size_t d = 0; d < ds.size(); ++d) {
    if (!drop[d]) out_shape.push_back(ds[d]);
  }
  DS_ASSIGN_OR_RETURN(int64_t numel, boundedNumel(c.node, out_shape, c.max_elements));
  (void)numel;
  Tensor out = data->clone();
  out.reshapeInPlace(std::move(out_shape));
  return out;
}

Result<Tensor> evalReshape(const EvalContext& c) {
  DS_ASSIGN_OR_RETURN(const Tensor* data, c.required(0));
  std::vector<int64_t> target;
  if (c.opset > 0 && c.opset < 5) {  // Reshape-1 took the shape as an attribute
    auto attr = c.node.getInts("shape");
    if (!attr) return attr.status();
    target = *attr;
  } else {
    DS_ASSIGN_OR_RETURN(target, c.intVector(1));
  }
  const bool allow_zero = c.node.intOr("allowzero", 0) != 0;
  Shape out_shape;
  std::optional<size_t> inferred;
  for (size_t i = 0; i < target.size(); ++i) {
    int64_t v = target[i];
    if (v == 0 && !allow_zero) {
      if (i >= data->shape().size()) return cannot(c.node, "0 in shape beyond the input's rank");
      v = data->shape()[i];
    } else if (v == -1) {
      if (inferred) return cannot(c.node, "more than one -1 in shape");
      inferred = i;
      v = 1;
    } else if (v < 0) {
      return cannot(c.node, "invalid dimension " + std::to_string(v) + " in shape");
    }
    out_shape.push_back(v);
  }
  const int64_t numel = data->numel();
  if (inferred) {
    const int64_t known = shapeNumel(out_shape);
    if (known == 0 || numel % known != 0) {
      return cannot(c.node, "cannot infer -1 reshaping " + shapeToString(data->shape()));
    }
    out_shape[*inferred] = numel / known;
  }
  if (shapeNumel(out_shape) != numel) {
    return cannot(c.node, "cannot reshape " + shapeToString(data->shape()) + " to " +
                              shapeToString(out_shape));
  }
  DS_ASSIGN_OR_RETURN(int64_t count, boundedNumel(c.node, out_shape, c.max_elements));
  (void)count;
  Tensor out = data->clone();
  out.reshapeInPlace(std::move(out_shape));
  return out;
}

Result<Tensor> evalSlice(const EvalContext& c) {
  DS_ASSIGN_OR_RETURN(const Tensor* data, c.required(0));
  const Shape& ds = data->shape();
  const int64_t rank = data->rank();
  std::vector<int64_t> starts;
  std::vector<int64_t> ends;
  std::vector<int64_t> axes;
  std::vector<int64_t> steps;
  if (c.fromInput(10, "starts")) {
    DS_ASSIGN_OR_RETURN(starts, c.intVector(1));
    DS_ASSIGN_OR_RETURN(ends, c.intVector(2));
    if (!c.node.input(3).empty()) {
      DS_ASSIGN_OR_RETURN(axes, c.intVector(3));
    }
    if (!c.node.input(4).empty()) {
      DS_ASSIGN_OR_RETURN(steps, c.intVector(4));
    }
  } else {  // Slice-1: attributes, no steps
    auto s = c.node.getInts("starts");
    if (!s) return s.status();
    auto e = c.node.getInts("ends");
    if (!e) return e.status();
    starts = *s;
    ends = *e;
    axes = c.node.intsOr("axes", {});
  }
  if (axes.empty()) {
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  }
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() ||
      steps.size() != starts.size()) {
    return cannot(c.node, "starts, ends, axes and steps differ in length");
  }
  // Per axis: first index, step and count; untouched axes take everything.
  Shape first(ds.size(), 0);
  Shape step(ds.size(), 1);
  Shape out_shape = ds;
  std::vector<bool> seen(ds.size(), false);
  for (size_t k = 0; k < starts.size(); ++k) {
    DS_ASSIGN_OR_RETURN(int64_t axis, normalizeAxis(c.node, axes[k], rank));
    const size_t a = static_cast<size_t>(axis);
    if (seen[a]) return cannot(c.node, "repeated axis");
    seen[a] = true;
    const int64_t dim = ds[a];
    const int64_t st = steps[k];
    if (st == 0) return cannot(c.node, "step 0");
    // Clamping as the ONNX spec defines it; INT64_MAX / INT64_MIN (meaning "to the end")
    // land on the bounds without overflow because dim is added only to negative values.
    int64_t s = starts[k];
    int64_t e = ends[k];
    if (s < 0) s += dim;
    if (e < 0) e += dim;
    if (st > 0) {
      s = std::clamp<int64_t>(s, 0, dim);
      e = std::clamp<int64_t>(e, 0, dim);
    } else {
      s = std::clamp<int64_t>(s, 0, dim - 1);
      e = std::clamp<int64_t>(e, -1, dim - 1);
    }
    int64_t count = 0;
    if (st > 0 && e > s) count = (e - s + st - 1) / st;
    if (st < 0 && s > e) count = (s - e + (-st) - 1) / (-st);
    first[a] = s;
    step[a] = st;
    out_shape[a] = count;
  }
  DS_ASSIGN_OR_RETURN(int64_t numel, boundedNumel(c.node, out_shape, c.max_elements));
  Shape in_strides(ds.size(), 1);
  for (size_t a = ds.size(); a-- > 1;) in_strides[a - 1] = in_strides[a] * ds[a];
  Tensor out(data->dtype(), out_shape);
  for (int64_t i = 0; i < numel; ++i) {
    int64_t rem = i;
    int64_t src = 0;
    for (size_t a = out_shape.size(); a-- > 0;) {
      const int64_t coord = rem % out_shape[a];
      rem /= out_shape[a];
      src += (first[a] + coord * step[a]) * in_strides[a];
    }
    copyElement(*data, src, out, i);
  }
  return out;
}

Result<Tensor> evalCast(const EvalContext& c) {
  DS_ASSIGN_OR_RETURN(const Tensor* x, c.required(0));
  auto to_attr = c.node.getInt("to");
  if (!to_attr) return to_attr.status();
  if (!isKnownDType(static_cast<int32_t>(*to_attr))) return cannot(c.node, "unknown 'to' dtype");
  const DType to = static_cast<DType>(*to_attr);
  const DType from = x->dtype();
  if (!isNumeric(from) || !isNumeric(to)) {
    return cannot(c.node, "cast from " + std::string(dtypeName(from)) + " to " +
                              std::string(dtypeName(to)) + " is not folded");
  }
  DS_ASSIGN_OR_RETURN(int64_t numel, boundedNumel(c.node, x->shape(), c.max_elements));
  if (from == to) return x->clone();
  Tensor out(to, x->shape());
  const bool from_float = isWritableFloat(from);
  for (int64_t i = 0; i < numel; ++i) {
    if (from_float) {
      const double v = x->elementAsDouble(i);
      if (isIntegral(to)) {
        // Out-of-range float -> int is undefined in ONNX (and in C++): leave such casts alone.
        const double t = std::trunc(v);
        const auto [lo, hi] = integerRange(to);
        if (!std::isfinite(v) || t < lo || t > hi) {
          return cannot(c.node, "value " + std::to_string(v) + " is out of the range of " +
                                    std::string(dtypeName(to)));
        }
        if (to == DType::kUInt64) {
          out.mutableData<uint64_t>()[i] = static_cast<uint64_t>(t);
        } else {
          putInt(out, i, static_cast<int64_t>(t));
        }
      } else {
        putDouble(out, i, v);
      }
    } else if (from == DType::kUInt64 && isWritableFloat(to)) {
      putDouble(out, i, x->elementAsDouble(i));
    } else {
      putInt(out, i, x->elementAsInt64(i));
    }
  }
  return out;
}

enum class BinaryOp { kAdd, kSub, kMul, kDiv };

Result<Tensor> evalBinary(const EvalContext& c, BinaryOp op) {
  DS_ASSIGN_OR_RETURN(const Tensor* a, c.required(0));
  DS_ASSIGN_OR_RETURN(const Tensor* b, c.required(1));
  const DType dtype = a->dtype();
  if (b->dtype() != dtype) return cannot(c.node, "inputs differ in dtype");
  if (!isIntegral(dtype) && !isWritableFloat(dtype)) {
    return cannot(c.node, "dtype " + std::string(dtypeName(dtype)) + " is not folded");
  }
  auto out_shape = broadcastShapes({a->shape(), b->shape()});
  if (!out_shape) {
    return cannot(c.node, "shapes " + shapeToString(a->shape()) + " and " +
                              shapeToString(b->shape()) + " do not broadcast");
  }
  DS_ASSIGN_OR_RETURN(int64_t numel, boundedNumel(c.node, *out_shape, c.max_elements));
  const BroadcastIndex ia(a->shape(), *out_shape);
  const BroadcastIndex ib(b->shape(), *out_shape);
  Tensor out(dtype, *out_shape);
  for (int64_t i = 0; i < numel; ++i) {
    if (isWritableFloat(dtype)) {
      // Double arithmetic rounded once to the narrower type gives the correctly rounded
      // float32 / float16 result for + - * / (53 >= 2 * 24 + 2 bits).
      const double x = a->elementAsDouble(ia(i));
      const double y = b->elementAsDouble(ib(i));
      double r = 0.0;
      switch (op) {
        case BinaryOp::kAdd:
          r = x + y;
          break;
        case BinaryOp::kSub:
          r = x - y;
          break;
        case BinaryOp::kMul:
          r = x * y;
          break;
        case BinaryOp::kDiv:
          r = x / y;
          break;
      }
      putDouble(out, i, r);
      continue;
    }
    // Integers: wrap-around through uint64 (no signed-overflow UB); narrower types wrap when
    // stored, as they do in onnxruntime's native-width arithmetic.
    const int64_t x = a->elementAsInt64(ia(i));
    const int64_t y = b->elementAsInt64(ib(i));
    const uint64_t ux = static_cast<uint64_t>(x);
    const uint64_t uy = static_cast<uint64_t>(y);
    int64_t r = 0;
    switch (op) {
      case BinaryOp::kAdd:
        r = static_cast<int64_t>(ux + uy);
        break;
      case BinaryOp::kSub:
        r = static_cast<int64_t>(ux - uy);
        break;
      case BinaryOp::kMul:
        r = static_cast<int64_t>(ux * uy);
        break;
      case BinaryOp::kDiv:
        if (y == 0) return cannot(c.node, "integer division by zero");
        if (dtype == DType::kUInt64) {
          r = static_cast<int64_t>(ux / uy);
        } else if (x == std::numeric_limits<int64_t>::min() && y == -1) {
          return cannot(c.node, "integer division overflows");
        } else {
          r = x / y;  // truncates toward zero, as onnxruntime's integer Div does
        }
        break;
    }
    putInt(out, i, r);
  }
  return out;
}

Result<Tensor> evalNeg(const EvalContext& c) {
  DS_ASSIGN_OR_RETURN(const Tensor* x, c.required(0));
  const DType dtype = x->dtype();
  const bool is_signed_int = dtype == DType::kInt8 || dtype == DType::kInt16 ||
                             dtype == DType::kInt32 || dtype == DType::kInt64;
  if (!is_signed_int && !isWritableFloat(dtype)) {
    return cannot(c.node, "dtype " + std::string(dtypeName(dtype)) + " is not folded");
  }
  DS_ASSIGN_OR_RETURN(int64_t numel, boundedNumel(c.node, x->shape(), c.max_elements));
  Tensor out(dtype, x->shape());
  for (int64_t i = 0; i < numel; ++i) {
    if (is_signed_int) {
      putInt(out, i, static_cast<int64_t>(0u - static_cast<uint64_t>(x->elementAsInt64(i))));
    } else {
      putDouble(out, i, -x->elementAsDouble(i));
    }
  }
  return out;
}

Result<Tensor> evalEqual(const EvalContext& c) {
  DS_ASSIGN_OR_RETURN(const Tensor* a, c.required(0));
  DS_ASSIGN_OR_RETURN(const Tensor* b, c.required(1));
  if (a->dtype() != b->dtype() || !isNumeric(a->dtype())) {
    return cannot(c.node, "inputs differ in dtype or are not numeric");
  }
  auto out_shape = broadcastShapes({a->shape(), b->shape()});
  if (!out_shape) return cannot(c.node, "shapes do not broadcast");
  DS_ASSIGN_OR_RETURN(int64_t numel, boundedNumel(c.node, *out_shape, c.max_elements));
  const BroadcastIndex ia(a->shape(), *out_shape);
  const BroadcastIndex ib(b->shape(), *out_shape);
  const bool is_float = isWritableFloat(a->dtype());
  Tensor out(DType::kBool, *out_shape);
  for (int64_t i = 0; i < numel; ++i) {
    const bool eq = is_float ? a->elementAsDouble(ia(i)) == b->elementAsDouble(ib(i))
                             : a->elementAsInt64(ia(i)) == b->elementAsInt64(ib(i));
    out.mutableData<uint8_t>()[i] = eq ? 1 : 0;
  }
  return out;
}

Result<Tensor> evalWhere(const EvalContext& c) {
  DS_ASSIGN_OR_RETURN(const Tensor* cond, c.required(0));
  DS_ASSIGN_OR_RETURN(const Tensor* x, c.required(1));
  DS_ASSIGN_OR_RETURN(const Tensor* y, c.required(2));
  if (cond->dtype() != DType::kBool) return cannot(c.node, "condition must be bool");
  if (x->dtype() != y->dtype()) return cannot(c.node, "X and Y differ in dtype");
  auto out_shape = broadcastShapes({cond->shape(), x->shape(), y->shape()});
  if (!out_shape) return cannot(c.node, "shapes do not broadcast");
  DS_ASSIGN_OR_RETURN(int64_t numel, boundedNumel(c.node, *out_shape, c.max_elements));
  const BroadcastIndex ic(cond->shape(), *out_shape);
  const BroadcastIndex ix(x->shape(), *out_shape);
  const BroadcastIndex iy(y->shape(), *out_shape);
  Tensor out(x->dtype(), *out_shape);
  for (int64_t i = 0; i < numel; ++i) {
    if (cond->data<uint8_t>()[ic(i)] != 0) {
      copyElement(*x, ix(i), out, i);
    } else {
      copyElement(*y, iy(i), out, i);
    }
  }
  return out;
}

Result<Tensor> evalExpand(const EvalContext& c) {
  DS_ASSIGN_OR_RETURN(const Tensor* x, c.required(0));
  DS_ASSIGN_OR_RETURN(std::vector<int64_t> shape, c.intVector(1));
  auto out_shape = broadcastShapes({x->shape(), shape});
  if (!out_shape) return cannot(c.node, "shapes do not broadcast");
  DS_ASSIGN_OR_RETURN(int64_t numel, boundedNumel(c.node, *out_shape, c.max_elements));
  const BroadcastIndex ix(x->shape(), *out_shape);
  Tensor out(x->dtype(), *out_shape);
  for (int64_t i = 0; i < numel; ++i) copyElement(*x, ix(i), out, i);
  return out;
}

Result<Tensor> evalConstantOfShape(const EvalContext& c) {
  DS_ASSIGN_OR_RETURN(std::vector<int64_t> shape, c.intVector(0));
  Tensor value(DType::kFloat32, {1});  // the spec's default: a float32 zero
  if (const Attribute* a = c.node.attr("value")) {
    if (a->kind != Attribute::Kind::kTensor || a->t.numel() != 1) {
      return cannot(c.node, "'value' must be a one-element tensor");
    }
    value = a->t;
  }
  DS_ASSIGN_OR_RETURN(int64_t numel, boundedNumel(c.node, shape, c.max_elements));
  Tensor out(value.dtype(), shape);
  for (int64_t i = 0; i < numel; ++i) copyElement(value, 0, out, i);
  return out;
}

Result<Tensor> evalRange(const EvalContext& c) {
  DS_ASSIGN_OR_RETURN(const Tensor* start_t, c.required(0));
  DS_ASSIGN_OR_RETURN(const Tensor* limit_t, c.required(1));
  DS_ASSIGN_OR_RETURN(const Tensor* delta_t, c.required(2));
  const DType dtype = start_t->dtype();
  if (limit_t->dtype() != dtype || delta_t->dtype() != dtype || start_t->numel() != 1 ||
      limit_t->numel() != 1 || delta_t->numel() != 1) {
    return cannot(c.node, "start, limit and delta must be scalars of one dtype");
  }
  if (dtype == DType::kFloat32 || dtype == DType::kFloat64) {
    const double start = start_t->elementAsDouble(0);
    const double limit = limit_t->elementAsDouble(0);
    const double delta = delta_t->elementAsDouble(0);
    if (delta == 0.0 || !std::isfinite(start) || !std::isfinite(limit) || !std::isfinite(delta)) {
      return cannot(c.node, "delta is 0 or a bound is not finite");
    }
    const double count_d = std::max(std::ceil((limit - start) / delta), 0.0);
    if (count_d > static_cast<double>(c.max_elements)) return cannot(c.node, "result too large");
    const int64_t count = static_cast<int64_t>(count_d);
    Tensor out(dtype, {count});
    // The ONNX function body accumulates `prev + delta` in the element type; so do we.
    if (dtype == DType::kFloat32) {
      float v = static_cast<float>(start);
      const float d = static_cast<float>(delta);
      for (int64_t i = 0; i < count; ++i, v += d) out.mutableData<float>()[i] = v;
    } else {
      double v = start;
      for (int64_t i = 0; i < count; ++i, v += delta) out.mutableData<double>()[i] = v;
    }
    return out;
  }
  if (dtype != DType::kInt16 && dtype != DType::kInt32 && dtype != DType::kInt64) {
    return cannot(c.node, "dtype " + std::string(dtypeName(dtype)) + " is not folded");
  }
  const int64_t start = start_t->elementAsInt64(0);
  const int64_t limit = limit_t->elementAsInt64(0);
  const int64_t delta = delta_t->elementAsInt64(0);
  int64_t diff = 0;
  if (delta == 0 || __builtin_sub_overflow(limit, start, &diff)) {
    return cannot(c.node, "delta is 0 or the range overflows");
  }
  int64_t count = diff / delta;  // ceil(diff / delta) from the truncated quotient
  if (diff % delta != 0 && ((diff % delta > 0) == (delta > 0))) ++count;
  count = std::max<int64_t>(count, 0);
  if (count > c.max_elements) return cannot(c.node, "result too large");
  Tensor out(dtype, {count});
  for (int64_t i = 0; i < count; ++i) {
    // start + i * delta stays within [start, limit) by construction; unsigned keeps it UB-free.
    putInt(out, i,
           static_cast<int64_t>(static_cast<uint64_t>(start) +
                                static_cast<uint64_t>(i) * static_cast<uint64_t>(delta)));
  }
  return out;
}

}  // namespace

std::optional<Shape> broadcastShapes(const std::vector<Shape>& shapes) {
  size_t rank = 0;
  for (const Shape& s : shapes) rank = std::max(rank, s.size());
  Shape out(rank, 1);
  for (const Shape& s : shapes) {
    for (size_t k = 0; k < s.size(); ++k) {
      const int64_t d = s[s.size() - 1 - k];
      int64_t& o = out[rank - 1 - k];
      if (d == o || d == 1) continue;
      if (o != 1) return std::nullopt;
      o = d;
    }
  }
  return out;
}

bool isConstantFoldableOp(const Node& node) {
  if (!node.domain.empty() && node.domain != "ai.onnx") return false;
  return std::find(kFoldableOps.begin(), kFoldableOps.end(), node.op_type) != kFoldableOps.end();
}

Result<Tensor> constantNodeValue(const Node& node) {
  for (const Attribute& a : node.attributes) {
    if (a.name == "value" && a.kind == Attribute::Kind::kTensor) return a.t;
    if (a.name == "value_float" && a.kind == Attribute::Kind::kFloat) {
      return Tensor::fromVector<float>(DType::kFloat32, {}, {a.f});
    }
    if (a.name == "value_floats" && a.kind == Attribute::Kind::kFloats) {
      return Tensor::fromVector(DType::kFloat32, {static_cast<int64_t>(a.floats.size())}, a.floats);
    }
    if (a.name == "value_int" && a.kind == Attribute::Kind::kInt) {
      return Tensor::fromVector<int64_t>(DType::kInt64, {}, {a.i});
    }
    if (a.name == "value_ints" && a.kind == Attribute::Kind::kInts) {
      return Tensor::fromVector(DType::kInt64, {static_cast<int64_t>(a.ints.size())}, a.ints);
    }
    if (a.name == "value_string" && a.kind == Attribute::Kind::kString) {
      Tensor t(DType::kString, {});
      t.strings()[0] = a.s;
      return t;
    }
    if (a.name == "value_strings" && a.kind == Attribute::Kind::kStrings) {
      Tensor t(DType::kString, {static_cast<int64_t>(a.strings.size())});
      t.strings() = a.strings;
      return t;
    }
  }
  return cannot(node, "no value attribute this pass can read (sparse_value is not folded)");
}

Result<Tensor> evaluateConstantNode(const Node& node, const std::vector<const Tensor*>& inputs,
                                    const std::optional<Shape>& input0_shape, int64_t opset,
                                    int64_t max_elements) {
  if (!isConstantFoldableOp(node)) return cannot(node, "op is not evaluated by constant folding");
  const EvalContext c{node, inputs, opset, max_elements};
  const std::string& op = node.op_type;
  if (op == "Constant") return constantNodeValue(node);
  if (op == "Shape") return evalShape(c, input0_shape);
  if (op == "Size") return evalSize(c, input0_shape);
  if (op == "Identity") return evalIdentity(c);
  if (op == "Gather") return evalGather(c);
  if (op == "Concat") return evalConcat(c);
  if (op == "Unsqueeze") return evalUnsqueeze(c);
  if (op == "Squeeze") return evalSqueeze(c);
  if (op == "Reshape") return evalReshape(c);
  if (op == "Slice") return evalSlice(c);
  if (op == "Cast") return evalCast(c);
  if (op == "Add") return evalBinary(c, BinaryOp::kAdd);
  if (op == "Sub") return evalBinary(c, BinaryOp::kSub);
  if (op == "Mul") return evalBinary(c, BinaryOp::kMul);
  if (op == "Div") return evalBinary(c, BinaryOp::kDiv);
  if (op == "Neg") return evalNeg(c);
  if (op == "Equal") return evalEqual(c);
  if (op == "Where") return evalWhere(c);
  if (op == "Expand") return evalExpand(c);
  if (op == "ConstantOfShape") return evalConstantOfShape(c);
  if (op == "Range") return evalRange(c);
  return cannot(node, "op is not evaluated by constant folding");
}

}  // namespace detslim
