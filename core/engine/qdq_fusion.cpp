#include "core/engine/qdq_fusion.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "core/engine/engine.h"
#include "core/graph/elementwise_chain.h"

namespace detslim {

namespace {

// ONNX element type codes QConv's y_type uses.
constexpr int64_t kYTypeFloat = 1;
constexpr int64_t kYTypeUInt8 = 2;
constexpr int64_t kYTypeInt8 = 3;

bool isOnnxOp(const Node& n, const char* op) { return n.domain.empty() && n.op_type == op; }

// Per-tensor quantization parameters of a QuantizeLinear / DequantizeLinear node: a constant
// float32 scalar scale, a constant scalar zero point (0 when absent) and the quantized dtype.
struct QParams {
  float scale = 0.0f;
  int64_t zero_point = 0;
  DType dtype = DType::kUndefined;
  bool operator==(const QParams&) const = default;
};

std::optional<int64_t> scalarZeroPoint(const Tensor& t) {
  if (t.numel() != 1) return std::nullopt;
  if (t.dtype() == DType::kUInt8) return t.data<uint8_t>()[0];
  if (t.dtype() == DType::kInt8) return t.data<int8_t>()[0];
  return std::nullopt;
}

// `quantized` is the node's integer side (DQ input 0 / Q output 0).
std::optional<QParams> perTensorParams(const Node& n, const std::string& quantized,
                                       const QdqFusionLookups& l) {
  const ValueDesc* q = l.desc_of(quantized);
  if (!q || (q->dtype != DType::kUInt8 && q->dtype != DType::kInt8)) return std::nullopt;
  const Tensor* scale = l.constant_of(n.input(1));
  if (!scale || scale->dtype() != DType::kFloat32 || scale->numel() != 1) return std::nullopt;
  QParams p;
  p.scale = scale->data<float>()[0];
  p.dtype = q->dtype;
  if (!n.input(2).empty()) {
    const Tensor* zp = l.constant_of(n.input(2));
    if (!zp || zp->dtype() != q->dtype) return std::nullopt;
    std::optional<int64_t> v = scalarZeroPoint(*zp);
    if (!v) return std::nullopt;
    p.zero_point = *v;
  }
  return p;
}

std::optional<QParams> dequantizeParams(const Node& n, const QdqFusionLookups& l) {
  if (!isOnnxOp(n, "DequantizeLinear") || n.outputs.size() != 1) return std::nullopt;
  const ValueDesc* y = l.desc_of(n.outputs[0]);
  if (!y || y->dtype != DType::kFloat32) return std::nullopt;
  return perTensorParams(n, n.input(0), l);
}

std::optional<QParams> quantizeParams(const Node& n, const QdqFusionLookups& l) {
  if (!isOnnxOp(n, "QuantizeLinear") || n.outputs.size() != 1) return std::nullopt;
  const ValueDesc* x = l.desc_of(n.input(0));
  if (!x || x->dtype != DType::kFloat32) return std::nullopt;
  return perTensorParams(n, n.outputs[0], l);
}

// The weight of a quantized Conv: DequantizeLinear(int8 constant [O, ...], scale [O] or scalar,
// zero point absent or zeros, axis 0) evaluated at compile time.
struct QuantizedWeight {
  std::string w_q;
  std::vector<float> scales;
};

std::optional<QuantizedWeight> quantizedWeight(const std::string& weight, const QdqFusionLookups& l) {
  const Node* dq = l.folded_producer ? l.folded_producer(weight) : nullptr;
  if (!dq || !isOnnxOp(*dq, "DequantizeLinear")) return std::nullopt;
  const Tensor* w = l.constant_of(dq->input(0));
  const Tensor* scale = l.constant_of(dq->input(1));
  if (!w || w->dtype() != DType::kInt8 || w->rank() < 3 || !scale || scale->dtype() != DType::kFloat32) {
    return std::nullopt;
  }
  const int64_t out_channels = w->shape()[0];
  if (scale->numel() != 1) {
    const int64_t axis = dq->intOr("axis", 1);
    if (scale->rank() != 1 || scale->numel() != out_channels || (axis != 0 && axis != -w->rank())) {
      return std::nullopt;
    }
  }
  if (!dq->input(2).empty()) {
    const Tensor* zp = l.constant_of(dq->input(2));
    if (!zp || zp->dtype() != DType::kInt8) return std::nullopt;
    for (int64_t i = 0; i < zp->numel(); ++i) {
      if (zp->data<int8_t>()[i] != 0) return std::nullopt;
    }
  }
  QuantizedWeight q;
  q.w_q = dq->input(0);
  q.scales.assign(scale->data<float>(), scale->data<float>() + scale->numel());
  return q;
}

bool isScalePreserving(const Node& n) {
  if (!n.domain.empty()) return false;
  static const std::unordered_set<std::string> kOps = {"Concat", "MaxPool", "Resize", "Split", "Slice",
                                                       "Reshape", "Flatten", "Transpose", "Identity"};
  if (!kOps.count(n.op_type)) return false;
  if (n.op_type == "Resize" && n.stringOr("mode", "nearest") != "nearest") return false;
  // MaxPool's Indices output is no data.
  if (n.op_type == "MaxPool" && n.outputs.size() > 1 && !n.outputs[1].empty()) return false;
  return true;
}

// Input positions holding data (the rest are shapes, sizes, roi / scales).
size_t dataInputCount(const Node& n) { return n.op_type == "Concat" ? n.inputs.size() : 1; }

class QdqFuser {
 public:
  QdqFuser(FusionInput io, const QdqFusionLookups& l) : nodes_(io.nodes), fused_(io.fused), l_(l) {}

  QdqFusionReport run() {
    removed_.assign(nodes_.size(), false);
    while (rewriteOne()) {
    }
    index();
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (removed_[i] || !isOnnxOp(nodes_[i], "DequantizeLinear") || nodes_[i].outputs.size() != 1) continue;
      const std::string& y = nodes_[i].outputs[0];
      if (readersOf(y).empty() && !l_.is_graph_output(y)) {
        removed_[i] = true;
        ++report_.removed_dequantize;
      }
    }
    for (size_t i = 0; i < nodes_.size(); ++i) {
      const Node& n = nodes_[i];
      if (removed_[i] || n.outputs.size() != 1) continue;
      if ((isOnnxOp(n, "Conv") || n.op_type == "FusedConv") && !float_reason_[i].empty()) {
        report_.float_convs.push_back((n.name.empty() ? "-> " + n.outputs[0] : n.name) + ": " + float_reason_[i]);
      }
    }
    compact();
    return report_;
  }

 private:
  void index() {
    readers_.clear();
    producer_.clear();
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (removed_[i]) continue;
      for (const std::string& in : nodes_[i].inputs) {
        if (!in.empty()) readers_[in].push_back(i);
      }
      for (const std::string& out : nodes_[i].outputs) {
        if (!out.empty()) producer_[out] = i;
      }
    }
  }
  const std::vector<size_t>& readersOf(const std::string& value) const {
    static const std::vector<size_t> kNone;
    auto it = readers_.find(value);
    return it == readers_.end() ? kNone : it->second;
  }
  // The run-time DequantizeLinear producing `value` with per-tensor parameters.
  std::optional<std::pair<size_t, QParams>> dequantizeBehind(const std::string& value) const {
    auto it = producer_.find(value);
    if (it == producer_.end()) return std::nullopt;
    std::optional<QParams> p = dequantizeParams(nodes_[it->second], l_);
    if (!p) return std::nullopt;
    return std::make_pair(it->second, *p);
  }
  // When every reader of `value` is a QuantizeLinear with parameters `want` (any when nullopt)
  // whose output is no graph output: those Q nodes (at least one) and their parameters.
  std::optional<std::pair<std::vector<size_t>, QParams>> quantizeReaders(const std::string& value,
                                                                         std::optional<QParams> want) const {
    if (l_.is_graph_output(value)) return std::nullopt;
    const std::vector<size_t>& r = readersOf(value);
    if (r.empty()) return std::nullopt;
    std::vector<size_t> qs;
    for (size_t i : r) {
      const Node& q = nodes_[i];
      std::optional<QParams> p = quantizeParams(q, l_);
      if (!p || q.input(0) != value || l_.is_graph_output(q.outputs[0])) return std::nullopt;
      if (want && !(*p == *want)) return std::nullopt;
      want = *p;
      qs.push_back(i);
    }
    return std::make_pair(std::move(qs), *want);
  }
  // Removes the Q nodes `qs` and gives their output's name to whatever reads any of them: the
  // first one's output name is returned (the value the rewritten producer writes).
  std::string absorbQuantizers(const std::vector<size_t>& qs) {
    const std::string target = nodes_[qs.front()].outputs[0];
    for (size_t k = 0; k < qs.size(); ++k) {
      const std::string other = nodes_[qs[k]].outputs[0];
      removed_[qs[k]] = true;
      ++report_.removed_quantize;
      if (other == target) continue;
      for (size_t i : readersOf(other)) {
        for (std::string& in : nodes_[i].inputs) {
          if (in == other) in = target;
        }
      }
    }
    return target;
  }

  bool rewriteOne() {
    index();
    float_reason_.assign(nodes_.size(), std::string());
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (removed_[i]) continue;
      const Node& n = nodes_[i];
      if ((isOnnxOp(n, "Conv") || n.op_type == "FusedConv") && n.outputs.size() == 1) {
        if (rewriteConv(i)) return true;
      } else if (isScalePreserving(n)) {
        if (rewriteMovement(i)) return true;
      } else if (isOnnxOp(n, "DequantizeLinear")) {
        if (rewriteTable(i)) return true;
      }
    }
    return false;
  }

  bool rewriteConv(size_t c) {
    Node& conv = nodes_[c];
    std::optional<std::pair<size_t, QParams>> x = dequantizeBehind(conv.input(0));
    if (!x) {
      float_reason_[c] = "input is not a per-tensor DequantizeLinear output";
      return false;
    }
    std::optional<QuantizedWeight> w = quantizedWeight(conv.input(1), l_);
    if (!w) {
      float_reason_[c] = "weight is not a compile-time DequantizeLinear of int8 (axis 0)";
      return false;
    }
    const std::string& bias = conv.input(2);
    if (!bias.empty()) {
      const Tensor* b = l_.constant_of(bias);
      if (!b || b->dtype() != DType::kFloat32) {
        float_reason_[c] = "bias is not a float32 constant";
        return false;
      }
    }
    const QParams xp = x->second;
    Node q;
    q.name = conv.name;
    q.domain = "detslim";
    q.op_type = "QConv";
    q.attributes = conv.attributes;
    q.inputs = {nodes_[x->first].input(0), w->w_q, bias};
    q.setAttr(Attribute::makeFloat("x_scale", xp.scale));
    q.setAttr(Attribute::makeInt("x_zero_point", xp.zero_point));
    q.setAttr(Attribute::makeFloats("w_scales", w->scales));
    std::string chain = "DQ+" + (fused_[c].empty() ? std::string("Conv") : fused_[c]);
    const std::string sum = conv.input(3);
    if (!sum.empty()) {
      std::optional<std::pair<size_t, QParams>> r = dequantizeBehind(sum);
      if (r) {
        q.inputs.push_back(nodes_[r->first].input(0));
        q.setAttr(Attribute::makeFloat("sum_scale", r->second.scale));
        q.setAttr(Attribute::makeInt("sum_zero_point", r->second.zero_point));
        chain += "(DQ)";
        ++report_.integer_sums;
      } else {
        q.inputs.push_back(sum);
      }
    }
    const std::string y = conv.outputs[0];
    std::optional<std::pair<std::vector<size_t>, QParams>> out = quantizeReaders(y, std::nullopt);
    if (out) {
      const QParams& yp = out->second;
      q.setAttr(Attribute::makeInt("y_type", yp.dtype == DType::kUInt8 ? kYTypeUInt8 : kYTypeInt8));
      q.setAttr(Attribute::makeFloat("y_scale", yp.scale));
      q.setAttr(Attribute::makeInt("y_zero_point", yp.zero_point));
      q.outputs = {absorbQuantizers(out->first)};
      chain += "+Q";
      ++report_.qconvs_integer_output;
    } else {
      q.setAttr(Attribute::makeInt("y_type", kYTypeFloat));
      q.outputs = {y};
    }
    conv = std::move(q);
    fused_[c] = chain;
    ++report_.qconvs;
    return true;
  }

  bool rewriteMovement(size_t m) {
    Node& op = nodes_[m];
    const size_t data_inputs = std::min(dataInputCount(op), op.inputs.size());
    if (data_inputs == 0) return false;
    std::optional<QParams> params;
    std::vector<std::string> quantized_inputs;
    for (size_t k = 0; k < data_inputs; ++k) {
      std::optional<std::pair<size_t, QParams>> d = dequantizeBehind(op.inputs[k]);
      if (!d || (params && !(d->second == *params))) return false;
      params = d->second;
      quantized_inputs.push_back(nodes_[d->first].input(0));
    }
    std::vector<std::optional<std::vector<size_t>>> output_qs;
    bool any = false;
    for (const std::string& out : op.outputs) {
      if (out.empty() || (readersOf(out).empty() && !l_.is_graph_output(out))) {
        output_qs.emplace_back();  // unread: written as integers, nobody cares
        continue;
      }
      std::optional<std::pair<std::vector<size_t>, QParams>> qs = quantizeReaders(out, params);
      if (!qs) return false;
      output_qs.emplace_back(std::move(qs->first));
      any = true;
    }
    if (!any) return false;
    for (size_t k = 0; k < data_inputs; ++k) op.inputs[k] = quantized_inputs[k];
    for (size_t o = 0; o < op.outputs.size(); ++o) {
      if (output_qs[o]) op.outputs[o] = absorbQuantizers(*output_qs[o]);
    }
    fused_[m] = "DQ+" + op.op_type + "+Q";
    ++report_.integer_movement_ops;
    return true;
  }

  // DQ(X_q) -> elementwise chain -> Q  =>  QLut(X_q) (header, rule 3).
  bool rewriteTable(size_t d) {
    std::optional<QParams> xp = dequantizeParams(nodes_[d], l_);
    if (!xp) return false;
    const std::string x = nodes_[d].outputs[0];
    const ValueDesc* xd = l_.desc_of(x);
    if (!xd) return false;
    ChainLookups cl;
    cl.readers = [&](const std::string& v) { return readersOf(v); };
    cl.is_scalar_constant = [&](const std::string& v) {
      const Tensor* t = l_.constant_of(v);
      return t && t->numel() == 1 && t->dtype() == DType::kFloat32;
    };
    cl.same_shape_float = [&](const std::string& v) {
      const ValueDesc* od = l_.desc_of(v);
      return od && od->dtype == DType::kFloat32 && od->shape == xd->shape;
    };
    cl.is_graph_output = l_.is_graph_output;
    for (const ElementwiseChain& c : elementwiseChainsFrom(x, nodes_, cl)) {
      if (rewriteChain(d, c.nodes, c.result)) return true;
    }
    return false;
  }

  bool rewriteChain(size_t d, const std::vector<size_t>& chain, const std::string& result) {
    std::optional<std::pair<std::vector<size_t>, QParams>> out = quantizeReaders(result, std::nullopt);
    if (!out) return false;
    std::optional<std::vector<int64_t>> table = evaluateTable(d, chain, out->first.front());
    if (!table) return false;
    const size_t sink = *std::find_if(chain.begin(), chain.end(),
                                      [&](size_t c) { return nodes_[c].outputs[0] == result; });
    Node lut;
    lut.name = nodes_[sink].name;
    lut.domain = "detslim";
    lut.op_type = "QLut";
    lut.inputs = {nodes_[d].input(0)};
    lut.setAttr(Attribute::makeInts("table", *table));
    lut.setAttr(Attribute::makeInt("y_type", out->second.dtype == DType::kUInt8 ? kYTypeUInt8 : kYTypeInt8));
    std::string fused = "DQ";
    for (size_t c : chain) fused += "+" + nodes_[c].op_type;
    lut.outputs = {absorbQuantizers(out->first)};
    for (size_t c : chain) removed_[c] = true;
    removed_[sink] = false;
    nodes_[sink] = std::move(lut);
    fused_[sink] = fused + "+Q";
    ++report_.tables;
    return true;
  }

  // Runs DQ -> chain -> Q on the 256 codes with the reference kernels: Y's value for each byte.
  std::optional<std::vector<int64_t>> evaluateTable(size_t d, const std::vector<size_t>& chain, size_t q) const {
    const std::string& codes_name = nodes_[d].input(0);
    const DType x_type = l_.desc_of(codes_name)->dtype;
    const DType y_type = l_.desc_of(nodes_[q].outputs[0])->dtype;
    std::vector<Node> nodes = {nodes_[d]};
    for (size_t c : chain) nodes.push_back(nodes_[c]);
    nodes.push_back(nodes_[q]);
    Result<Model> m = subgraphModel(nodes, codes_name, x_type, nodes.back().outputs[0], y_type, l_.constant_of, l_.opset);
    if (!m.isOk()) return std::nullopt;
    Tensor codes(x_type, {256});
    auto* bytes = codes.mutableData<uint8_t>();
    for (int i = 0; i < 256; ++i) bytes[i] = static_cast<uint8_t>(i);
    Result<Tensor> evaluated = evaluateReference(*m, codes);
    if (!evaluated.isOk()) return std::nullopt;
    const Tensor& y = *evaluated;
    std::vector<int64_t> table(256);
    for (size_t i = 0; i < 256; ++i) {
      table[i] = y_type == DType::kUInt8 ? int64_t{y.data<uint8_t>()[i]} : int64_t{y.data<int8_t>()[i]};
    }
    return table;
  }

  void compact() {
    size_t w = 0;
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (removed_[i]) continue;
      if (w != i) {
        nodes_[w] = std::move(nodes_[i]);
        fused_[w] = std::move(fused_[i]);
      }
      ++w;
    }
    nodes_.resize(w);
    fused_.resize(w);
  }

  std::vector<Node>& nodes_;
  std::vector<std::string>& fused_;
  const QdqFusionLookups& l_;
  std::vector<bool> removed_;
  std::vector<std::string> float_reason_;
  std::unordered_map<std::string, std::vector<size_t>> readers_;
  std::unordered_map<std::string, size_t> producer_;
  QdqFusionReport report_;
};

}  // namespace

QdqFusionReport fuseQdq(FusionInput io, const QdqFusionLookups& lookups) {
  return QdqFuser(io, lookups).run();
}

QdqPlanSummary summarizeQdq(const std::vector<StepInfo>& steps) {
  QdqPlanSummary s;
  for (const StepInfo& step : steps) {
    const bool integer_out = !step.output_dtypes.empty() &&
                             (step.output_dtypes[0] == DType::kUInt8 || step.output_dtypes[0] == DType::kInt8);
    if (step.op_type == "QConv") {
      ++s.qconv_steps;
      if (integer_out) ++s.qconv_integer_output;
    } else if (step.op_type == "Conv" || step.op_type == "FusedConv") {
      s.float_convs.push_back(step.name);
    } else if (step.op_type == "QLut") {
      ++s.table_steps;
    } else if (step.op_type == "QuantizeLinear") {
      ++s.quantize_steps;
    } else if (step.op_type == "DequantizeLinear") {
      ++s.dequantize_steps;
    } else if (integer_out && step.op_type != "Reorder") {
      ++s.integer_steps;
    }
  }
  return s;
}

}  // namespace detslim
