// oneDNN INT8 convolution of detslim::QConv (docs/quant.md): u8 / s8 activations x s8 weights,
// s32 accumulation (VNNI where the CPU has it), 2-D, any groups (depthwise included), strides,
// dilations, asymmetric pads.
//
// How QConv's float semantics map onto one oneDNN primitive (planEpilogue):
//  - x_scale * w_scales[o] is the per-output-channel output scale (mask 1 << 1) that turns the
//    s32 accumulator into real units;
//  - B enters as an f32 bias divided by that scale, because oneDNN 2.6 adds the bias to the
//    accumulator before scaling (the tests against the reference fail by orders of magnitude
//    otherwise);
//  - x_zero_point is oneDNN's src zero point (runtime s32, bound at create), which treats padding
//    as real zero, i.e. as x_zero_point, exactly as QConv defines it (tested with pads);
//  - the activation, the residual Sum and the quantization of Y are post-ops. An integer Sum is
//    read as it is: by oneDNN's sum post-op with sum_scale and sum_zero_point when Sum and Y
//    have one element size, else by binary_add of the u8 / s8 tensor in Sum's own units with the
//    1 / sum_scale folded into the output scales or the activation's post-op scale. For an
//    integer Y the last post-op is eltwise_linear(1 / y_scale, y_zero_point), after which oneDNN
//    rounds half to even and saturates into u8 / s8.
//  - oneDNN 2.6's JIT kernels give every eltwise post-op of one algorithm the first one's
//    parameters, so chains are built with each algorithm at most once (adjacent linear ops are
//    merged) and a chain that would need one twice is refused.
// Weights are packed (with oneDNN's s8 / zero-point compensation) at create.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/kernels/opt/dnnl_common.h"
#include "core/kernels/opt/dnnl_util.h"
#include "core/kernels/opt/opt_kernels.h"
#include "core/kernels/ref/ref_ops.h"

namespace detslim {

namespace {

using dnnl::algorithm;
using dnnl::memory;
using dnnl_util::alignUp;
using dnnl_util::layoutPair;
using dnnl_util::refuse;

constexpr size_t kX = 0;
constexpr size_t kW = 1;
constexpr size_t kB = 2;
constexpr size_t kSum = 3;

// The channel axis of (n, c, h, w) for per-channel output scales.
constexpr int kPerChannelMask = 1 << 1;

memory::data_type dnnlType(DType d) {
  switch (d) {
    case DType::kUInt8:
      return memory::data_type::u8;
    case DType::kInt8:
      return memory::data_type::s8;
    default:
      return memory::data_type::f32;
  }
}

const char* shortName(DType d) {
  switch (d) {
    case DType::kUInt8:
      return "u8";
    case DType::kInt8:
      return "s8";
    default:
      return "f32";
  }
}

// ---- Post-ops ----------------------------------------------------------------------------------

struct Eltwise {
  algorithm alg;
  float alpha = 0.0f;
  float beta = 0.0f;
  float scale = 1.0f;  // oneDNN's post-op scale: the op's result is multiplied by it
};
struct BinaryAdd {
  memory::data_type dt;  // of the Sum tensor (src1)
};
struct SumPostOp {
  float scale;
  int32_t zero_point;
  memory::data_type dt;  // Sum's dtype, read from the dst buffer (same size as dst's)
};
using PostOp = std::variant<Eltwise, BinaryAdd, SumPostOp>;

// FusedConv's activation as eltwise post-ops (as dnnl_conv.cpp maps it; the defaults of
// activation_alpha / _beta are the ONNX ops'). Sets *why_not for what oneDNN cannot express
// exactly; errors for unknown names.
Result<std::vector<Eltwise>> activationOps(const NodeContext& ctx, std::string* why_not) {
  const Node& node = *ctx.node;
  const std::string a = node.stringOr("activation", "");
  auto alpha = [&](float def) { return node.floatOr("activation_alpha", def); };
  auto beta = [&](float def) { return node.floatOr("activation_beta", def); };
  constexpr float kInf = std::numeric_limits<float>::infinity();
  using Ops = std::vector<Eltwise>;
  if (a.empty()) return Ops{};
  if (a == "relu") return Ops{{algorithm::eltwise_relu, 0.0f}};
  if (a == "leaky_relu") return Ops{{algorithm::eltwise_relu, alpha(0.01f)}};
  if (a == "sigmoid") return Ops{{algorithm::eltwise_logistic}};
  if (a == "swish") return Ops{{algorithm::eltwise_swish, alpha(1.0f)}};
  if (a == "tanh") return Ops{{algorithm::eltwise_tanh}};
  if (a == "clip") return Ops{{algorithm::eltwise_clip, alpha(-kInf), beta(kInf)}};
  if (a == "hardsigmoid") {
    return Ops{{algorithm::eltwise_linear, alpha(0.2f), beta(0.5f)},
               {algorithm::eltwise_clip, 0.0f, 1.0f}};
  }
  if (a == "hardswish") {
    if (alpha(1.0f / 6.0f) != 1.0f / 6.0f || beta(0.5f) != 0.5f) {
      *why_not = "oneDNN's hardswish has fixed alpha 1/6, beta 1/2";
      return Ops{};
    }
    return Ops{{algorithm::eltwise_hardswish}};
  }
  return ctx.error("unknown activation '" + a + "'");
}

using dnnl_util::Residual;

bool isInt8Like(DType d) {
  return d == DType::kUInt8 || d == DType::kInt8;
}

// ---- Geometry and parameters -------------------------------------------------------------------

struct QSetup {
  memory::dims src, wei, dst;
  memory::format_tag wei_tag = memory::format_tag::undef;  // of the ONNX weights
  memory::dims strides, dilates, pad_l, pad_r;             // dilates as oneDNN counts (d - 1)
  const void* wei_data = nullptr;
  const float* bias = nullptr;  // B in real units, or null
  int64_t out_channels = 0;
  std::vector<float> out_scales;  // x_scale * w_scales[o], one or one per output channel
  QConvQuant q;
  std::vector<Eltwise> activation;
  bool sum_first = false;
};

// What one primitive is asked to compute: output scales, bias in accumulator units, post-ops.
struct Epilogue {
  std::vector<float> out_scales;
  std::vector<float> bias;  // empty: none
  std::vector<PostOp> ops;
};

bool isLinear(const PostOp& op) {
  const auto* e = std::get_if<Eltwise>(&op);
  return e && e->alg == algorithm::eltwise_linear && e->scale == 1.0f;
}

// QConv's epilogue for one residual mode. The post-ops see u = pre * v + shift, v the conv's
// real-unit result (pre and shift are folded into the output scales and the bias); everything
// after that is post-ops, adjacent linear ones merged. nullopt + *why_not when the chain would
// hold one eltwise algorithm twice: oneDNN 2.6's JIT kernels then apply the first one's
// parameters to both (measured: linear(3, -2) then linear(0.5, 0) gave linear(3, -2) twice).
std::optional<Epilogue> planEpilogue(const QSetup& s, Residual residual, std::string* why_not) {
  const QConvQuant& q = s.q;
  float pre = 1.0f;
  float shift = 0.0f;
  std::vector<PostOp> ops;
  auto appendActivation = [&](float scale) {
    for (size_t i = 0; i < s.activation.size(); ++i) {
      Eltwise e = s.activation[i];
      if (i + 1 == s.activation.size()) e.scale = scale;
      ops.push_back(e);
    }
  };
  const bool int_sum = isInt8Like(q.sum_type);
  if (residual == Residual::kNone) {
    appendActivation(1.0f);
  } else if (residual == Residual::kSumPostOp) {
    const SumPostOp sum{int_sum ? q.sum_scale : 1.0f, int_sum ? q.sum_zero_point : 0,
                        dnnlType(q.sum_type)};
    if (s.sum_first) ops.push_back(sum);
    appendActivation(1.0f);
    if (!s.sum_first) ops.push_back(sum);
  } else if (!int_sum) {
    if (s.sum_first) ops.push_back(BinaryAdd{memory::data_type::f32});
    appendActivation(1.0f);
    if (!s.sum_first) ops.push_back(BinaryAdd{memory::data_type::f32});
  } else {
    // The integer Sum is added in its own units: v + s * (Sum_q - zp) = s * (v / s + Sum_q - zp).
    const float ss = q.sum_scale;
    const auto zp = static_cast<float>(q.sum_zero_point);
    if (s.sum_first) {
      pre = 1.0f / ss;
      shift = -zp;
      ops.push_back(BinaryAdd{dnnlType(q.sum_type)});
      ops.push_back(Eltwise{algorithm::eltwise_linear, ss, 0.0f});
      appendActivation(1.0f);
    } else {
      if (s.activation.empty()) {
        pre = 1.0f / ss;
      } else {
        appendActivation(1.0f / ss);
      }
      ops.push_back(BinaryAdd{dnnlType(q.sum_type)});
      ops.push_back(Eltwise{algorithm::eltwise_linear, ss, -ss * zp});
    }
  }
  if (q.y_type != DType::kFloat32) {
    ops.push_back(
        Eltwise{algorithm::eltwise_linear, 1.0f / q.y_scale, static_cast<float>(q.y_zero_point)});
  }
  Epilogue e;
  for (const PostOp& op : ops) {
    if (!e.ops.empty() && isLinear(e.ops.back()) && isLinear(op)) {
      // linear(a2, b2) after linear(a1, b1) is linear(a1 * a2, a2 * b1 + b2).
      auto& prev = std::get<Eltwise>(e.ops.back());
      const auto& next = std::get<Eltwise>(op);
      prev.beta = next.alpha * prev.beta + next.beta;
      prev.alpha *= next.alpha;
    } else {
      e.ops.push_back(op);
    }
  }
  std::vector<algorithm> seen;
  for (const PostOp& op : e.ops) {
    const auto* elt = std::get_if<Eltwise>(&op);
    if (!elt) continue;
    if (std::find(seen.begin(), seen.end(), elt->alg) != seen.end()) {
      *why_not =
          "the post-op chain needs one eltwise algorithm twice, which oneDNN 2.6's JIT "
          "kernels compute with the first one's parameters";
      return std::nullopt;
    }
    seen.push_back(elt->alg);
  }
  // u = pre * (os * acc + B) + shift = (os * pre) * (acc + (pre * B + shift) / (os * pre)):
  // oneDNN adds the bias to the s32 accumulator before the output scales.
  for (float os : s.out_scales) e.out_scales.push_back(os * pre);
  if (s.bias || shift != 0.0f) {
    for (int64_t o = 0; o < s.out_channels; ++o) {
      const float scale = e.out_scales.size() == 1 ? e.out_scales[0] : e.out_scales[o];
      const float b = s.bias ? s.bias[o] : 0.0f;
      e.bias.push_back((pre * b + shift) / scale);
    }
  }
  return e;
}

Result<QSetup> qconvSetup(const NodeContext& ctx, std::string* why_not) {
  const Shape& x = ctx.inputs[kX].shape;
  const Shape& w = ctx.inputs[kW].shape;
  const Shape& y = ctx.outputs[0].shape;
  QSetup s;
  DS_ASSIGN_OR_RETURN(s.q, parseQConvQuant(ctx));
  DS_ASSIGN_OR_RETURN(s.activation, activationOps(ctx, why_not));
  if (!why_not->empty()) return s;
  s.sum_first = ctx.node->intOr("sum_first", 0) != 0;
  const int64_t groups = ctx.node->intOr("group", 1);
  s.src = {x[0], x[1], x[2], x[3]};
  s.dst = {y[0], y[1], y[2], y[3]};
  s.out_channels = w[0];
  if (groups == 1) {
    s.wei = {w[0], w[1], w[2], w[3]};
    s.wei_tag = memory::format_tag::oihw;
  } else {
    s.wei = {groups, w[0] / groups, w[1], w[2], w[3]};
    s.wei_tag = memory::format_tag::goihw;
  }
  DS_ASSIGN_OR_RETURN(std::vector<int64_t> strides, dnnl_util::spatialAttr2(ctx, "strides", 1));
  DS_ASSIGN_OR_RETURN(std::vector<int64_t> dilations, dnnl_util::spatialAttr2(ctx, "dilations", 1));
  for (size_t axis = 0; axis < 2; ++axis) {
    DS_ASSIGN_OR_RETURN(dnnl_util::AxisPads pads,
                        dnnl_util::windowPads(ctx, x[axis + 2], y[axis + 2], w[axis + 2],
                                              strides[axis], dilations[axis], axis));
    if (pads.begin < 0 || pads.end < 0) {
      *why_not = "negative padding";
      return s;
    }
    s.pad_l.push_back(pads.begin);
    s.pad_r.push_back(pads.end);
    s.dilates.push_back(dilations[axis] - 1);
  }
  s.strides = {strides[0], strides[1]};
  s.wei_data = ctx.constant(kW)->raw();
  s.bias = ctx.hasInput(kB) ? ctx.constant(kB)->data<float>() : nullptr;
  for (float w_scale : s.q.w_scales) s.out_scales.push_back(s.q.x_scale * w_scale);
  return s;
}

// ---- Primitive selection -----------------------------------------------------------------------

struct Choice {
  dnnl::convolution_forward::primitive_desc pd;
  Layout src = Layout::kPlain;
  Layout dst = Layout::kPlain;       // the primitive's dst
  std::optional<Layout> staged_out;  // as in dnnl_conv.cpp: convolve into dst, reorder to this
  Residual residual = Residual::kNone;
  Epilogue epilogue;
  int binary_index = -1;  // the post-op index of the Sum's binary_add
  std::string impl;
};

// Throws dnnl::error when oneDNN has no implementation for this combination.
dnnl::convolution_forward::primitive_desc makePd(const QSetup& s, const Epilogue& e,
                                                 Layout src_layout, Layout dst_layout,
                                                 int* binary_index) {
  const memory::desc src_md(s.src, dnnlType(s.q.x_type), dnnl_util::activationTag(src_layout));
  const memory::desc wei_md(s.wei, memory::data_type::s8, memory::format_tag::any);
  const memory::desc bias_md =
      e.bias.empty()
          ? memory::desc()
          : memory::desc({s.out_channels}, memory::data_type::f32, memory::format_tag::a);
  const memory::desc dst_md(s.dst, dnnlType(s.q.y_type), dnnl_util::activationTag(dst_layout));
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  attr.set_output_scales(e.out_scales.size() == 1 ? 0 : kPerChannelMask, e.out_scales);
  if (s.q.x_zero_point != 0) attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
  dnnl::post_ops ops;
  for (size_t index = 0; index < e.ops.size(); ++index) {
    const PostOp& op = e.ops[index];
    if (const auto* elt = std::get_if<Eltwise>(&op)) {
      ops.append_eltwise(elt->scale, elt->alg, elt->alpha, elt->beta);
    } else if (const auto* b = std::get_if<BinaryAdd>(&op)) {
      ops.append_binary(algorithm::binary_add,
                        memory::desc(s.dst, b->dt, dnnl_util::activationTag(dst_layout)));
      *binary_index = static_cast<int>(index);
    } else {
      const auto& sum = std::get<SumPostOp>(op);
      ops.append_sum(sum.scale, sum.zero_point, sum.dt);
    }
  }
  attr.set_post_ops(ops);
  const dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference,
                                             algorithm::convolution_direct, src_md, wei_md, bias_md,
                                             dst_md, s.strides, s.dilates, s.pad_l, s.pad_r);
  return dnnl::convolution_forward::primitive_desc(desc, attr, dnnl_util::cpuEngine());
}

// (src, dst) layout pairs, best first: as dnnl_conv.cpp (the producer's layout into
// kDnnlActivationLayout first, plain last), or what the engine requested.
std::vector<std::pair<Layout, Layout>> layoutCandidates(const NodeContext& ctx,
                                                        const DnnlLayoutRequest& request) {
  const Layout preferred = kDnnlActivationLayout;
  const Layout second = preferred == Layout::kNhwc ? Layout::kNChw16c : Layout::kNhwc;
  std::vector<Layout> srcs;
  std::vector<Layout> dsts;
  auto add = [](std::vector<Layout>& v, Layout l) {
    if (std::find(v.begin(), v.end(), l) == v.end()) v.push_back(l);
  };
  if (request.src) {
    add(srcs, *request.src);
  } else {
    for (Layout l : {ctx.inputs[kX].layout, preferred, second, Layout::kPlain}) add(srcs, l);
  }
  if (request.dst) {
    add(dsts, *request.dst);
  } else {
    for (Layout l : {preferred, second, Layout::kPlain}) add(dsts, l);
  }
  std::vector<std::pair<Layout, Layout>> pairs;
  for (Layout dst : dsts) {
    for (Layout src : srcs) pairs.emplace_back(src, dst);
  }
  return pairs;
}

// Residual modes to try, best first: the sum post-op lets the engine share Sum's buffer with Y
// and needs no linear post-ops around it, but reads Sum from dst, so needs Sum and Y of one
// element size (u8 / s8, or f32).
std::vector<Residual> residualCandidates(const QSetup& s) {
  if (s.q.sum_type == DType::kUndefined) return {Residual::kNone};
  if (dtypeSize(s.q.sum_type) == dtypeSize(s.q.y_type)) {
    return {Residual::kSumPostOp, Residual::kBinaryAdd};
  }
  return {Residual::kBinaryAdd};
}

// The first candidate with a fast oneDNN implementation, else the first GEMM-based one, else
// nullopt with every reason in *why_not.
std::optional<Choice> choosePrimitive(const QSetup& s, const NodeContext& ctx,
                                      const DnnlLayoutRequest& request, std::string* why_not) {
  std::optional<Choice> gemm_fallback;
  std::string tried;
  std::vector<std::pair<Residual, Epilogue>> epilogues;
  for (Residual residual : residualCandidates(s)) {
    std::string refusal;
    std::optional<Epilogue> epilogue = planEpilogue(s, residual, &refusal);
    if (epilogue) {
      epilogues.emplace_back(residual, std::move(*epilogue));
    } else {
      tried += "; " + refusal;
    }
  }
  auto attempt = [&](Layout src, Layout dst, Residual residual,
                     const Epilogue& epilogue) -> std::optional<Choice> {
    Choice c;
    c.src = src;
    c.dst = dst;
    c.residual = residual;
    c.epilogue = epilogue;
    try {
      c.pd = makePd(s, c.epilogue, src, dst, &c.binary_index);
    } catch (const dnnl::error& e) {
      tried += "; " + layoutPair(src, dst) + ": " + e.what();
      return std::nullopt;
    }
    c.impl = dnnl_util::implName(c.pd);
    if (dnnl_util::isReferenceImpl(c.impl)) {
      tried += "; " + layoutPair(src, dst) + ": only " + c.impl;
      return std::nullopt;
    }
    return c;
  };
  for (const auto& [src, dst] : layoutCandidates(ctx, request)) {
    for (const auto& [residual, epilogue] : epilogues) {
      std::optional<Choice> c = attempt(src, dst, residual, epilogue);
      if (!c) continue;
      if (dnnl_util::isGemmConvImpl(c->impl)) {
        if (!gemm_fallback) gemm_fallback = std::move(c);
        continue;
      }
      return c;
    }
  }
  // A requested output layout with no fast convolution into it: convolve into a fast layout
  // inside scratch and reorder (dnnl_conv.cpp does the same). Not with a Sum input.
  if (request.dst && s.q.sum_type == DType::kUndefined && !epilogues.empty()) {
    for (const auto& [src, dst] : layoutCandidates(ctx, DnnlLayoutRequest{request.src, {}})) {
      if (dst == *request.dst || dst == Layout::kPlain) continue;
      std::optional<Choice> c = attempt(src, dst, Residual::kNone, epilogues[0].second);
      if (!c || dnnl_util::isGemmConvImpl(c->impl)) continue;
      c->staged_out = *request.dst;
      return c;
    }
  }
  if (gemm_fallback) return gemm_fallback;
  *why_not = "oneDNN has no fast implementation" + tried;
  return std::nullopt;
}

// ---- The kernel --------------------------------------------------------------------------------

class DnnlQConvKernel final : public DnnlKernel {
 public:
  DnnlQConvKernel(const QSetup& s, Choice choice)
      : src_layout_(choice.src),
        out_layout_(choice.staged_out.value_or(choice.dst)),
        residual_(choice.residual) {
    detail_ = choice.impl + " " + shortName(s.q.x_type) + ">" + shortName(s.q.y_type) + " " +
              layoutPair(choice.src, choice.dst);
    if (residual_ != Residual::kNone) {
      detail_ += std::string(residual_ == Residual::kSumPostOp ? " +sum " : " +add ") +
                 shortName(s.q.sum_type);
    }
    const auto& pd = choice.pd;
    conv_ = dnnl_util::PrimitiveRunner(dnnl::convolution_forward(pd), pd);
    const memory::desc wei_user(s.wei, memory::data_type::s8, s.wei_tag);
    conv_.fixed(DNNL_ARG_WEIGHTS, dnnl_util::packConstant(s.wei_data, wei_user, pd.weights_desc()));
    const std::vector<float>& bias = choice.epilogue.bias;
    if (!bias.empty()) {
      const memory::desc bias_md({s.out_channels}, memory::data_type::f32, memory::format_tag::a);
      conv_.fixed(DNNL_ARG_BIAS, dnnl_util::packConstant(bias.data(), bias_md, bias_md));
    }
    if (s.q.x_zero_point != 0) {
      const memory::desc zp_md({1}, memory::data_type::s32, memory::format_tag::x);
      conv_.fixed(DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC,
                  dnnl_util::packConstant(&s.q.x_zero_point, zp_md, zp_md));
    }
    src_ = &conv_.bindable(DNNL_ARG_SRC, pd.src_desc());
    // binary_add reads Sum in its own dtype, in the layout of the convolution's dst.
    const memory::desc sum_md = residual_ == Residual::kBinaryAdd
                                    ? memory::desc(s.dst, dnnlType(s.q.sum_type),
                                                   dnnl_util::activationTag(choice.dst))
                                    : memory::desc();
    output_.bind(conv_, pd.dst_desc(), residual_, sum_md, choice.binary_index);
    if (choice.staged_out) {
      const memory::desc out_md(s.dst, dnnlType(s.q.y_type),
                                dnnl_util::activationTag(*choice.staged_out));
      detail_ += output_.stage(out_md, *choice.staged_out);
    }
  }

  void run(const KernelArgs& args) override {
    dnnl_util::guarded([&] {
      dnnl_util::bind(*src_, args.inputs[kX]);
      output_.run(conv_, residual_ != Residual::kNone ? args.inputs[kSum] : nullptr,
                  args.outputs[0], args.scratch);
    });
  }

  size_t scratchBytes() const override { return output_.scratchBytes(); }
  Layout inputLayout(size_t i) const override {
    if (i == kX) return src_layout_;
    if (i == kSum) return out_layout_;
    return Layout::kPlain;
  }
  Layout outputLayout(size_t /*i*/) const override { return out_layout_; }
  int inPlaceInput() const override {
    return residual_ == Residual::kSumPostOp ? static_cast<int>(kSum) : -1;
  }
  std::string detail() const override { return detail_; }

 private:
  dnnl_util::PrimitiveRunner conv_;
  dnnl_util::ConvOutput output_;
  memory* src_ = nullptr;
  Layout src_layout_;
  Layout out_layout_;
  Residual residual_;
  std::string detail_;
};

}  // namespace

namespace dnnl_internal {

Result<std::unique_ptr<Kernel>> makeQConv(const NodeContext& ctx, const DnnlLayoutRequest& request,
                                          std::string* why_not) {
  if (!ctx.cpu.avx2 || !ctx.cpu.fma) {
    return refuse(why_not,
                  "the oneDNN kernels need AVX2 + FMA (CPU has: " + ctx.cpu.toString() + ")");
  }
  if (!ctx.hasInput(kX) || !ctx.hasInput(kW)) return refuse(why_not, "X_q and W_q are required");
  if (ctx.inputs[kX].shape.size() != 4 || ctx.inputs[kW].shape.size() != 4) {
    return refuse(why_not, "X_q has rank " + std::to_string(ctx.inputs[kX].shape.size()) +
                               "; only 2-D (rank 4) here");
  }
  if (!ctx.constant(kW)) return refuse(why_not, "W_q is not constant at compile time");
  if (ctx.hasInput(kB) && !ctx.constant(kB)) return refuse(why_not, "B is not constant");
  if (ctx.inputs[kX].numel() == 0 || ctx.outputs[0].numel() == 0) {
    return refuse(why_not, "empty tensor");
  }
  if (ctx.hasInput(kSum) && ctx.inputs[kSum].shape != ctx.outputs[0].shape) {
    return refuse(why_not, "Sum does not have the output's shape");
  }
  std::string setup_refusal;
  DS_ASSIGN_OR_RETURN(QSetup setup, qconvSetup(ctx, &setup_refusal));
  if (!setup_refusal.empty()) return refuse(why_not, setup_refusal);
  try {
    dnnl_util::CreationThreads threads(ctx.num_threads);
    std::optional<Choice> choice = choosePrimitive(setup, ctx, request, why_not);
    if (!choice) return std::unique_ptr<Kernel>();
    return std::unique_ptr<Kernel>(std::make_unique<DnnlQConvKernel>(setup, std::move(*choice)));
  } catch (const dnnl::error& e) {
    return refuse(why_not, std::string("oneDNN: ") + e.what());
  }
}

}  // namespace dnnl_internal

Result<std::unique_ptr<Kernel>> makeDnnlQConv(const NodeContext& ctx, std::string* why_not) {
  return dnnl_internal::makeQConv(ctx, {}, why_not);
}

}  // namespace detslim
