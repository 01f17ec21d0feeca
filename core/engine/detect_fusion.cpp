#include "core/engine/detect_fusion.h"

#include <unordered_map>

#include "core/kernels/ref/yolo_decode.h"

namespace detslim {

namespace {

constexpr size_t kMaxChainSteps = 8;

int64_t normalizedAxis(int64_t axis, size_t rank) {
  return axis < 0 ? axis + static_cast<int64_t>(rank) : axis;
}

// Drops the nodes marked removed, keeping io.fused parallel.
void compact(FusionInput io, const std::vector<bool>& removed) {
  size_t w = 0;
  for (size_t i = 0; i < io.nodes.size(); ++i) {
    if (removed[i]) continue;
    if (w != i) {
      io.nodes[w] = std::move(io.nodes[i]);
      io.fused[w] = std::move(io.fused[i]);
    }
    ++w;
  }
  io.nodes.resize(w);
  io.fused.resize(w);
}

// Concat(axis 1) of single-head YoloDecode outputs with the same chains -> one YoloDecode with
// `heads` inputs writing each head's rows straight into the concatenated output (no copy).
void mergeHeads(FusionInput io, const OutputCheck& is_graph_output) {
  std::vector<Node>& nodes = io.nodes;
  std::unordered_map<std::string, size_t> producer;
  std::unordered_map<std::string, int> reader_count;
  for (size_t i = 0; i < nodes.size(); ++i) {
    for (const std::string& out : nodes[i].outputs) producer[out] = i;
    for (const std::string& in : nodes[i].inputs) {
      if (!in.empty()) ++reader_count[in];
    }
  }
  auto sameChains = [](const Node& a, const Node& b) {
    for (const char* attr : {"xy_ops", "xy_const_first", "wh_ops", "wh_const_first"}) {
      if (a.intsOr(attr, {}) != b.intsOr(attr, {})) return false;
    }
    return a.intOr("anchors", 0) == b.intOr("anchors", 0) && a.intOr("heads", 1) == 1 && b.intOr("heads", 1) == 1;
  };
  std::vector<bool> removed(nodes.size(), false);
  for (size_t c = 0; c < nodes.size(); ++c) {
    const Node& cat = nodes[c];
    if (cat.op_type != "Concat" || !cat.domain.empty() || cat.inputs.size() < 2 || cat.outputs.size() != 1 ||
        normalizedAxis(cat.intOr("axis", 0), 3) != 1) {
      continue;
    }
    std::vector<size_t> decodes;
    for (const std::string& in : cat.inputs) {
      auto p = producer.find(in);
      if (p == producer.end() || removed[p->second]) break;
      const Node& d = nodes[p->second];
      if (d.op_type != "YoloDecode" || d.domain != "detslim" || reader_count[in] != 1 || is_graph_output(in) ||
          (!decodes.empty() && !sameChains(nodes[decodes.front()], d))) {
        break;
      }
      decodes.push_back(p->second);
    }
    if (decodes.size() != cat.inputs.size()) continue;
    Node merged = nodes[decodes.front()];
    merged.name = cat.name.empty() ? merged.name : cat.name;
    merged.inputs.clear();
    for (size_t d : decodes) merged.inputs.push_back(nodes[d].inputs[0]);
    for (size_t d : decodes) merged.inputs.insert(merged.inputs.end(), nodes[d].inputs.begin() + 1, nodes[d].inputs.end());
    merged.outputs = cat.outputs;
    merged.setAttr(Attribute::makeInt("heads", static_cast<int64_t>(decodes.size())));
    io.fused[c] = "YoloDecode x" + std::to_string(decodes.size()) + " (" + io.fused[decodes.front()] + ")+Concat";
    for (size_t d : decodes) removed[d] = true;
    nodes[c] = std::move(merged);
  }
  compact(io, removed);
}

}  // namespace

int fuseYoloDecode(FusionInput io, const DescLookup& desc_of, const ConstantLookup& constant_of,
                   const OutputCheck& is_graph_output) {
  std::vector<Node>& nodes = io.nodes;
  std::unordered_map<std::string, std::vector<size_t>> readers;
  for (size_t i = 0; i < nodes.size(); ++i) {
    for (const std::string& in : nodes[i].inputs) {
      if (!in.empty()) readers[in].push_back(i);
    }
  }
  // The one reader of `value`, or SIZE_MAX when it has several, none, or is a graph output.
  auto soleReader = [&](const std::string& value) -> size_t {
    auto it = readers.find(value);
    if (it == readers.end() || it->second.size() != 1 || is_graph_output(value)) return SIZE_MAX;
    return it->second[0];
  };
  auto isOp = [&](size_t i, const char* op) {
    return i != SIZE_MAX && nodes[i].op_type == op && nodes[i].domain.empty() && nodes[i].outputs.size() >= 1;
  };
  std::vector<bool> removed(nodes.size(), false);
  int fused = 0;
  for (size_t r1 = 0; r1 < nodes.size(); ++r1) {
    if (removed[r1] || !isOp(r1, "Reshape") || nodes[r1].outputs.size() != 1) continue;
    const std::string& x_name = nodes[r1].input(0);
    const ValueDesc* x = desc_of(x_name);
    const ValueDesc* r1_out = desc_of(nodes[r1].outputs[0]);
    if (!x || !r1_out || x->dtype != DType::kFloat32 || x->shape.size() != 4 || r1_out->shape.size() != 5) continue;
    const Shape& xs = x->shape;
    const Shape& rs = r1_out->shape;
    const int64_t A = rs[1], K = rs[2];
    if (rs[0] != xs[0] || A * K != xs[1] || rs[3] != xs[2] || rs[4] != xs[3] || K < 5) continue;
    const Shape pair = {xs[0], A, xs[2], xs[3], 2};

    std::vector<size_t> chain = {r1};
    const size_t tr = soleReader(nodes[r1].outputs[0]);
    if (!isOp(tr, "Transpose") || nodes[tr].intsOr("perm", {}) != std::vector<int64_t>{0, 1, 3, 4, 2}) continue;
    chain.push_back(tr);
    const size_t sg = soleReader(nodes[tr].outputs[0]);
    if (!isOp(sg, "Sigmoid")) continue;
    chain.push_back(sg);
    const size_t sp = soleReader(nodes[sg].outputs[0]);
    if (!isOp(sp, "Split") || nodes[sp].outputs.size() != 3 || normalizedAxis(nodes[sp].intOr("axis", 0), 5) != 4) continue;
    const ValueDesc* p0 = desc_of(nodes[sp].outputs[0]);
    const ValueDesc* p1 = desc_of(nodes[sp].outputs[1]);
    if (!p0 || !p1 || p0->shape != pair || p1->shape != pair) continue;
    chain.push_back(sp);

    // Follows one chain from a Split output to the Concat, collecting its steps.
    std::vector<std::string> step_inputs[2];
    std::vector<yolo_decode::Step> steps[2];
    std::string ends[2];
    size_t concat = SIZE_MAX;
    bool ok = true;
    std::string fused_ops;
    for (int c = 0; c < 2 && ok; ++c) {
      std::string v = nodes[sp].outputs[static_cast<size_t>(c)];
      for (size_t n = 0;; ++n) {
        const size_t m = soleReader(v);
        if (m == SIZE_MAX || n > kMaxChainSteps) {
          ok = false;
          break;
        }
        if (isOp(m, "Concat")) {
          concat = m;
          break;
        }
        yolo_decode::Step step;
        const Node& op = nodes[m];
        if (!op.domain.empty() || !yolo_decode::stepOpOf(op.op_type, &step.op) || op.inputs.size() != 2 ||
            op.outputs.size() != 1) {
          ok = false;
          break;
        }
        step.const_first = op.inputs[1] == v;
        const std::string& other = step.const_first ? op.inputs[0] : op.inputs[1];
        const Tensor* k = constant_of(other);
        const ValueDesc* out = desc_of(op.outputs[0]);
        if (other == v || !k || k->dtype() != DType::kFloat32 || !out || out->shape != pair) {
          ok = false;
          break;
        }
        steps[c].push_back(step);
        step_inputs[c].push_back(other);
        chain.push_back(m);
        fused_ops += "+" + op.op_type;
        v = op.outputs[0];
      }
      ends[c] = v;
    }
    if (!ok || concat == SIZE_MAX || soleReader(nodes[sp].outputs[2]) != concat) continue;
    const Node& cat = nodes[concat];
    if (cat.inputs != std::vector<std::string>{ends[0], ends[1], nodes[sp].outputs[2]} || cat.outputs.size() != 1 ||
        normalizedAxis(cat.intOr("axis", 0), 5) != 4) {
      continue;
    }
    chain.push_back(concat);
    const size_t r2 = soleReader(cat.outputs[0]);
    const ValueDesc* r2_out = isOp(r2, "Reshape") ? desc_of(nodes[r2].outputs[0]) : nullptr;
    if (!r2_out || r2_out->shape != Shape{xs[0], A * xs[2] * xs[3], K}) continue;
    chain.push_back(r2);

    Node decode;
    decode.name = nodes[sg].name.empty() ? nodes[r2].outputs[0] + "/decode" : nodes[sg].name;
    decode.domain = "detslim";
    decode.op_type = "YoloDecode";
    decode.inputs = {x_name};
    std::vector<int64_t> ops[2], first[2];
    for (int c = 0; c < 2; ++c) {
      for (size_t i = 0; i < steps[c].size(); ++i) {
        decode.inputs.push_back(step_inputs[c][i]);
        ops[c].push_back(static_cast<int64_t>(steps[c][i].op));
        first[c].push_back(steps[c][i].const_first ? 1 : 0);
      }
    }
    decode.outputs = {nodes[r2].outputs[0]};
    decode.setAttr(Attribute::makeInt("anchors", A));
    decode.setAttr(Attribute::makeInts("xy_ops", ops[0]));
    decode.setAttr(Attribute::makeInts("xy_const_first", first[0]));
    decode.setAttr(Attribute::makeInts("wh_ops", ops[1]));
    decode.setAttr(Attribute::makeInts("wh_const_first", first[1]));
    for (size_t i : chain) removed[i] = true;
    removed[r1] = false;
    nodes[r1] = std::move(decode);
    io.fused[r1] = "Reshape+Transpose+Sigmoid+Split" + fused_ops + "+Concat+Reshape";
    ++fused;
  }
  compact(io, removed);
  if (fused > 1) mergeHeads(io, is_graph_output);
  return fused;
}

}  // namespace detslim
