// oneDNN convolutions: Conv, FusedConv (Conv + activation + residual Sum as post-ops) and
// ConvTranspose, f32, 2-D, any groups (depthwise included), strides, dilations, asymmetric pads.
//
// Weights and bias are reordered once at create into the format oneDNN's chosen implementation
// wants (format_tag::any); run() only re-points memory objects and executes. Layouts are chosen
// by trying (src, dst) pairs in order of preference and keeping the first for which oneDNN has a
// fast implementation (docs/engine-layout.md explains the order).

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/kernels/opt/dnnl_common.h"
#include "core/kernels/opt/dnnl_util.h"
#include "core/kernels/opt/opt_kernels.h"

namespace detslim {

namespace {

using dnnl::algorithm;
using dnnl::memory;
using dnnl_util::AxisPads;
using dnnl_util::alignUp;
using dnnl_util::layoutPair;
using dnnl_util::refuse;

constexpr memory::data_type kF32 = memory::data_type::f32;
constexpr memory::data_type kBf16 = memory::data_type::bf16;

// ---- FusedConv epilogue as post-ops ------------------------------------------------------------

struct EltwiseOp {
  algorithm alg;
  float alpha = 0.0f;
  float beta = 0.0f;
};

using dnnl_util::Residual;

struct Epilogue {
  std::string activation;          // FusedConv's attribute, "" for none
  std::vector<EltwiseOp> eltwise;  // the activation as 0-2 eltwise post-ops
  bool has_sum = false;
  bool sum_first = false;  // 1: act(conv + Sum); 0: act(conv) + Sum
};

// FusedConv's activation as oneDNN eltwise post-ops. The defaults of activation_alpha / _beta are
// the ONNX ops' (as in the reference kernel). Sets *why_not for activations oneDNN cannot express
// exactly; errors for unknown names.
Result<Epilogue> parseEpilogue(const NodeContext& ctx, std::string* why_not) {
  Epilogue e;
  if (ctx.node->op_type != "FusedConv") return e;
  const Node& node = *ctx.node;
  e.activation = node.stringOr("activation", "");
  e.sum_first = node.intOr("sum_first", 0) != 0;
  e.has_sum = ctx.hasInput(3);
  auto alpha = [&](float def) { return node.floatOr("activation_alpha", def); };
  auto beta = [&](float def) { return node.floatOr("activation_beta", def); };
  const std::string& a = e.activation;
  if (a.empty()) return e;
  if (a == "relu") {
    e.eltwise.push_back({algorithm::eltwise_relu, 0.0f, 0.0f});
  } else if (a == "leaky_relu") {
    e.eltwise.push_back({algorithm::eltwise_relu, alpha(0.01f), 0.0f});
  } else if (a == "sigmoid") {
    e.eltwise.push_back({algorithm::eltwise_logistic, 0.0f, 0.0f});
  } else if (a == "swish") {
    e.eltwise.push_back({algorithm::eltwise_swish, alpha(1.0f), 0.0f});
  } else if (a == "hardswish") {
    // oneDNN 2.6's hardswish is x * clip(x / 6 + 1 / 2, 0, 1) with no parameters.
    if (alpha(1.0f / 6.0f) != 1.0f / 6.0f || beta(0.5f) != 0.5f) {
      *why_not = "oneDNN's hardswish has fixed alpha 1/6, beta 1/2";
      return e;
    }
    e.eltwise.push_back({algorithm::eltwise_hardswish, 0.0f, 0.0f});
  } else if (a == "hardsigmoid") {
    // clip(alpha * x + beta, 0, 1): oneDNN 2.6 has no hardsigmoid, linear + clip is exact.
    e.eltwise.push_back({algorithm::eltwise_linear, alpha(0.2f), beta(0.5f)});
    e.eltwise.push_back({algorithm::eltwise_clip, 0.0f, 1.0f});
  } else if (a == "clip") {
    e.eltwise.push_back({algorithm::eltwise_clip, alpha(-std::numeric_limits<float>::infinity()),
                         beta(std::numeric_limits<float>::infinity())});
  } else if (a == "tanh") {
    e.eltwise.push_back({algorithm::eltwise_tanh, 0.0f, 0.0f});
  } else {
    return ctx.error("unknown activation '" + a + "'");
  }
  return e;
}

// The post-op chain; *binary_index is the position of the binary_add (for its argument).
dnnl::post_ops buildPostOps(const Epilogue& e, Residual residual, const memory::desc& dst_md,
                            int* binary_index) {
  dnnl::post_ops ops;
  int index = 0;
  auto appendResidual = [&] {
    if (residual == Residual::kSumPostOp) ops.append_sum(1.0f);
    if (residual == Residual::kBinaryAdd) {
      ops.append_binary(algorithm::binary_add, dst_md);
      *binary_index = index;
    }
    if (residual != Residual::kNone) ++index;
  };
  if (e.sum_first) appendResidual();
  for (const EltwiseOp& op : e.eltwise) {
    ops.append_eltwise(1.0f, op.alg, op.alpha, op.beta);
    ++index;
  }
  if (!e.sum_first) appendResidual();
  return ops;
}

// ---- Geometry ----------------------------------------------------------------------------------

// Everything a convolution primitive needs apart from the layouts.
struct ConvSetup {
  bool transposed = false;
  memory::dims src, wei, bias, dst;                        // bias empty: none
  memory::format_tag wei_tag = memory::format_tag::undef;  // of the ONNX weights
  memory::dims strides, dilates, pad_l, pad_r;             // dilates as oneDNN counts (d - 1)
  const void* wei_data = nullptr;
  const void* bias_data = nullptr;
  Epilogue epilogue;
  // bf16 compute (EngineOptions::compute): bf16 src and weights, f32 bias, accumulation and dst.
  // The kernel converts the f32 src into scratch itself, so activations stay f32 between layers.
  bool bf16 = false;
};

// Checks shared by Conv and ConvTranspose; empty when fine, else the reason to refuse.
std::string checkConvInputs(const NodeContext& ctx, size_t max_inputs) {
  if (std::string reason = dnnl_util::checkF32AndCpu(ctx); !reason.empty()) return reason;
  if (!ctx.hasInput(0) || !ctx.hasInput(1)) return "X and W are required";
  if (ctx.inputs[0].shape.size() != 4) {
    return "X has rank " + std::to_string(ctx.inputs[0].shape.size()) + "; only 2-D (rank 4) here";
  }
  if (!ctx.constant(1)) return "W is not constant at compile time (weights are packed at create)";
  if (ctx.hasInput(2) && !ctx.constant(2)) return "B is not constant at compile time";
  if (ctx.inputs.size() > max_inputs) return "unexpected extra inputs";
  if (ctx.inputs[0].numel() == 0 || ctx.outputs[0].numel() == 0) return "empty tensor";
  return {};
}

Result<ConvSetup> convSetup(const NodeContext& ctx) {
  const Shape& x = ctx.inputs[0].shape;
  const Shape& w = ctx.inputs[1].shape;
  const Shape& y = ctx.outputs[0].shape;
  ConvSetup s;
  const int64_t groups = ctx.node->intOr("group", 1);
  s.src = {x[0], x[1], x[2], x[3]};
  s.dst = {y[0], y[1], y[2], y[3]};
  if (groups == 1) {
    s.wei = {w[0], w[1], w[2], w[3]};
    s.wei_tag = memory::format_tag::oihw;
  } else {
    s.wei = {groups, w[0] / groups, w[1], w[2], w[3]};
    s.wei_tag = memory::format_tag::goihw;
  }
  if (ctx.hasInput(2)) s.bias = {w[0]};
  DS_ASSIGN_OR_RETURN(std::vector<int64_t> strides, dnnl_util::spatialAttr2(ctx, "strides", 1));
  DS_ASSIGN_OR_RETURN(std::vector<int64_t> dilations, dnnl_util::spatialAttr2(ctx, "dilations", 1));
  for (size_t axis = 0; axis < 2; ++axis) {
    DS_ASSIGN_OR_RETURN(AxisPads pads,
                        dnnl_util::windowPads(ctx, x[axis + 2], y[axis + 2], w[axis + 2],
                                              strides[axis], dilations[axis], axis));
    s.pad_l.push_back(pads.begin);
    s.pad_r.push_back(pads.end);
    s.dilates.push_back(dilations[axis] - 1);
  }
  s.strides = {strides[0], strides[1]};
  s.wei_data = ctx.constant(1)->raw();
  s.bias_data = ctx.hasInput(2) ? ctx.constant(2)->raw() : nullptr;
  return s;
}

// ConvTranspose: X [N, C, H, W], W [C, M / group, kH, kW] -> Y [N, M, H', W'] as oneDNN's
// deconvolution, whose weights (oc, ic, kh, kw) are ONNX's with ic and oc swapped (tag iohw).
Result<ConvSetup> deconvSetup(const NodeContext& ctx, std::string* why_not) {
  const Shape& x = ctx.inputs[0].shape;
  const Shape& w = ctx.inputs[1].shape;
  const Shape& y = ctx.outputs[0].shape;
  ConvSetup s;
  s.transposed = true;
  const int64_t groups = ctx.node->intOr("group", 1);
  s.src = {x[0], x[1], x[2], x[3]};
  s.dst = {y[0], y[1], y[2], y[3]};
  if (groups == 1) {
    s.wei = {w[1], w[0], w[2], w[3]};
    s.wei_tag = memory::format_tag::iohw;
  } else {
    s.wei = {groups, w[1], w[0] / groups, w[2], w[3]};
    s.wei_tag = memory::format_tag::giohw;
  }
  if (ctx.hasInput(2)) s.bias = {y[1]};
  DS_ASSIGN_OR_RETURN(std::vector<int64_t> strides, dnnl_util::spatialAttr2(ctx, "strides", 1));
  DS_ASSIGN_OR_RETURN(std::vector<int64_t> dilations, dnnl_util::spatialAttr2(ctx, "dilations", 1));
  DS_ASSIGN_OR_RETURN(std::vector<int64_t> output_padding,
                      dnnl_util::spatialAttr2(ctx, "output_padding", 0));
  const std::string auto_pad = ctx.node->stringOr("auto_pad", "NOTSET");
  const bool explicit_pads = auto_pad == "NOTSET" || auto_pad.empty();
  const bool has_output_shape = ctx.node->hasAttr("output_shape");
  const std::vector<int64_t> pads = ctx.node->intsOr("pads", {0, 0, 0, 0});
  if (pads.size() != 4) return ctx.error("pads must have 4 values for a 2-D ConvTranspose");
  for (size_t axis = 0; axis < 2; ++axis) {
    const int64_t span = (w[axis + 2] - 1) * dilations[axis] + 1;
    // The full transposed output, of which pads crop `begin` and `end`; the output size the
    // shape function inferred fixes begin + end.
    const int64_t full = strides[axis] * (x[axis + 2] - 1) + output_padding[axis] + span;
    const int64_t total = full - y[axis + 2];
    int64_t begin = 0;
    if (explicit_pads && !has_output_shape) {
      begin = pads[axis];
    } else if (auto_pad == "SAME_UPPER") {
      begin = std::max<int64_t>(0, total) / 2;
    } else if (auto_pad != "VALID" || has_output_shape) {
      begin = std::max<int64_t>(0, total) - std::max<int64_t>(0, total) / 2;
    }
    // oneDNN's deconvolution output is stride * (in - 1) + span - begin - end; output_padding
    // only ever lengthens it, so it comes off the end pad.
    const int64_t end = full - output_padding[axis] - begin - y[axis + 2];
    if (begin < 0 || end < 0) {
      *why_not =
          "the output size needs a negative crop (output_padding beyond the end pad, or an "
          "output_shape larger than the full output)";
      return s;
    }
    s.pad_l.push_back(begin);
    s.pad_r.push_back(end);
    s.dilates.push_back(dilations[axis] - 1);
  }
  s.strides = {strides[0], strides[1]};
  s.wei_data = ctx.constant(1)->raw();
  s.bias_data = ctx.hasInput(2) ? ctx.constant(2)->raw() : nullptr;
  return s;
}

// ---- Primitive selection -----------------------------------------------------------------------

struct Choice {
  dnnl::primitive_desc pd;
  Layout src = Layout::kPlain;
  Layout dst = Layout::kPlain;  // the primitive's dst
  // The kernel's output when it differs from dst: the primitive writes into scratch and a reorder
  // moves the result into the output (cheaper than oneDNN's slow paths for that pair).
  std::optional<Layout> staged_out;
  Residual residual = Residual::kNone;
  int binary_index = -1;
  std::string impl;
};

// The primitive descriptor for one layout pair; throws dnnl::error when oneDNN has none.
dnnl::primitive_desc makePd(const ConvSetup& s, Layout src_layout, Layout dst_layout,
                            Residual residual, int* binary_index) {
  const memory::data_type compute_dt = s.bf16 ? kBf16 : kF32;
  const memory::desc src_md(s.src, compute_dt, dnnl_util::activationTag(src_layout));
  const memory::desc wei_md(s.wei, compute_dt, memory::format_tag::any);
  const memory::desc bias_md =
      s.bias.empty() ? memory::desc() : memory::desc(s.bias, kF32, memory::format_tag::a);
  const memory::desc dst_md(s.dst, kF32, dnnl_util::activationTag(dst_layout));
  dnnl::primitive_attr attr;
  attr.set_post_ops(buildPostOps(s.epilogue, residual, dst_md, binary_index));
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  dnnl::engine& engine = dnnl_util::cpuEngine();
  if (s.transposed) {
    const dnnl::deconvolution_forward::desc desc(
        dnnl::prop_kind::forward_inference, algorithm::deconvolution_direct, src_md, wei_md,
        bias_md, dst_md, s.strides, s.dilates, s.pad_l, s.pad_r);
    return dnnl::deconvolution_forward::primitive_desc(desc, attr, engine);
  }
  const dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference,
                                             algorithm::convolution_direct, src_md, wei_md, bias_md,
                                             dst_md, s.strides, s.dilates, s.pad_l, s.pad_r);
  return dnnl::convolution_forward::primitive_desc(desc, attr, engine);
}

// (src, dst) layout pairs to try, best first. Without a request: the producer's layout into
// kDnnlActivationLayout (no reorder at all), then the activation layout on both sides (the
// engine reorders the input), then the other fast layout, plain last.
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
    for (Layout l : {ctx.inputs[0].layout, preferred, second, Layout::kPlain}) add(srcs, l);
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

// The first candidate with a fast oneDNN implementation, else the first GEMM-based one (still
// several times faster than a scalar loop), else nullopt with the reasons in *why_not.
std::optional<Choice> choosePrimitive(const ConvSetup& s, const NodeContext& ctx,
                                      const DnnlLayoutRequest& request, std::string* why_not) {
  std::optional<Choice> gemm_fallback;
  std::string tried;
  std::vector<Residual> residuals = {Residual::kNone};
  if (s.epilogue.has_sum) residuals = {Residual::kSumPostOp, Residual::kBinaryAdd};
  for (const auto& [src, dst] : layoutCandidates(ctx, request)) {
    for (Residual residual : residuals) {
      Choice c;
      c.src = src;
      c.dst = dst;
      c.residual = residual;
      try {
        c.pd = makePd(s, src, dst, residual, &c.binary_index);
      } catch (const dnnl::error& e) {
        tried += "; " + layoutPair(src, dst) + ": " + e.what();
        continue;
      }
      c.impl = dnnl_util::implName(c.pd);
      if (dnnl_util::isReferenceImpl(c.impl)) {
        tried += "; " + layoutPair(src, dst) + ": only " + c.impl;
        continue;
      }
      if (dnnl_util::isGemmConvImpl(c.impl)) {
        if (!gemm_fallback) gemm_fallback = std::move(c);
        continue;
      }
      return c;
    }
  }
  // A requested output layout with no fast convolution into it (nhwc > plain is oneDNN's
  // reference; plain > plain its im2col GEMM, 8x slower): convolve into a fast layout and reorder,
  // which costs one pass over the output. Not with a Sum input, which would have to be reordered
  // the other way first.
  if (request.dst && !s.epilogue.has_sum) {
    for (const auto& [src, dst] : layoutCandidates(ctx, DnnlLayoutRequest{request.src, {}})) {
      if (dst == *request.dst || dst == Layout::kPlain) continue;
      Choice c;
      c.src = src;
      c.dst = dst;
      c.staged_out = *request.dst;
      try {
        c.pd = makePd(s, src, dst, Residual::kNone, &c.binary_index);
      } catch (const dnnl::error& e) {
        continue;
      }
      c.impl = dnnl_util::implName(c.pd);
      if (!dnnl_util::isReferenceImpl(c.impl) && !dnnl_util::isGemmConvImpl(c.impl)) return c;
    }
  }
  if (gemm_fallback) return gemm_fallback;
  *why_not = "oneDNN has no fast implementation" + tried;
  return std::nullopt;
}

// ---- The kernel --------------------------------------------------------------------------------

class DnnlConvKernel final : public DnnlKernel {
 public:
  DnnlConvKernel(const ConvSetup& s, Choice choice)
      : src_layout_(choice.src),
        out_layout_(choice.staged_out.value_or(choice.dst)),
        residual_(choice.residual),
        detail_(choice.impl + " " + layoutPair(choice.src, choice.dst)),
        bf16_(s.bf16) {
    if (s.epilogue.has_sum) {
      detail_ += residual_ == Residual::kSumPostOp ? " +sum" : " +add";
    }
    const dnnl::primitive_desc& pd = choice.pd;
    conv_ = dnnl_util::PrimitiveRunner(dnnl::primitive(pd), pd);
    const memory::desc wei_user(s.wei, kF32, s.wei_tag);
    conv_.fixed(DNNL_ARG_WEIGHTS, dnnl_util::packConstant(s.wei_data, wei_user, pd.weights_desc()));
    if (s.bias_data) {
      const memory::desc bias_md(s.bias, kF32, memory::format_tag::a);
      conv_.fixed(DNNL_ARG_BIAS, dnnl_util::packConstant(s.bias_data, bias_md, bias_md));
    }
    const memory::desc dst_md = pd.dst_desc();
    src_ = &conv_.bindable(DNNL_ARG_SRC, pd.src_desc());
    output_.bind(conv_, dst_md, choice.residual, dst_md, choice.binary_index);
    if (choice.staged_out) {
      const memory::desc out_md(s.dst, kF32, dnnl_util::activationTag(*choice.staged_out));
      detail_ += output_.stage(out_md, *choice.staged_out);
    }
    if (bf16_) {
      // f32 src -> bf16 in scratch, same layout, before each convolution.
      const memory::desc src_f32(s.src, kF32, dnnl_util::activationTag(choice.src));
      dnnl::primitive_attr attr;
      attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
      const dnnl::reorder::primitive_desc to_bf16_pd(dnnl_util::cpuEngine(), src_f32,
                                                     dnnl_util::cpuEngine(), pd.src_desc(), attr);
      to_bf16_ = dnnl_util::PrimitiveRunner(dnnl::reorder(to_bf16_pd), to_bf16_pd);
      src_f32_ = &to_bf16_.bindable(DNNL_ARG_FROM, src_f32);
      src_bf16_ = &to_bf16_.bindable(DNNL_ARG_TO, pd.src_desc());
      output_.shareScratchpad(to_bf16_.scratchBytes());
      src_bf16_offset_ = output_.scratchpadBytes() + alignUp(output_.stagedBytes());
      src_bf16_bytes_ = pd.src_desc().get_size();
      detail_ = "bf16 " + detail_;
    }
  }

  void run(const KernelArgs& args) override {
    dnnl_util::guarded([&] {
      if (bf16_) {
        void* src_bf16 = static_cast<std::byte*>(args.scratch) + src_bf16_offset_;
        dnnl_util::bind(*src_f32_, args.inputs[0]);
        dnnl_util::bind(*src_bf16_, src_bf16);
        to_bf16_.execute(args.scratch);
        dnnl_util::bind(*src_, src_bf16);
      } else {
        dnnl_util::bind(*src_, args.inputs[0]);
      }
      output_.run(conv_, residual_ != Residual::kNone ? args.inputs[3] : nullptr, args.outputs[0],
                  args.scratch);
    });
  }

  size_t scratchBytes() const override {
    if (bf16_) return src_bf16_offset_ + src_bf16_bytes_;
    return output_.scratchBytes();
  }
  bool computesInBf16() const override { return bf16_; }
  Layout inputLayout(size_t i) const override {
    if (i == 0) return src_layout_;
    if (i == 3) return out_layout_;
    return Layout::kPlain;
  }
  Layout outputLayout(size_t /*i*/) const override { return out_layout_; }
  int inPlaceInput() const override { return residual_ == Residual::kSumPostOp ? 3 : -1; }
  std::string detail() const override { return detail_; }

 private:
  dnnl_util::PrimitiveRunner conv_;
  dnnl_util::ConvOutput output_;
  memory* src_ = nullptr;
  Layout src_layout_;
  Layout out_layout_;
  Residual residual_;
  std::string detail_;
  bool bf16_ = false;
  dnnl_util::PrimitiveRunner to_bf16_;  // only with bf16
  memory* src_f32_ = nullptr;
  memory* src_bf16_ = nullptr;
  size_t src_bf16_offset_ = 0;  // in scratch, after the scratchpad and the staged output
  size_t src_bf16_bytes_ = 0;
};

Result<std::unique_ptr<Kernel>> createConvKernel(const NodeContext& ctx, const ConvSetup& s,
                                                 const DnnlLayoutRequest& request,
                                                 std::string* why_not) {
  try {
    dnnl_util::CreationThreads threads(ctx.num_threads);
    std::optional<Choice> choice = choosePrimitive(s, ctx, request, why_not);
    if (!choice) return std::unique_ptr<Kernel>();
    return std::unique_ptr<Kernel>(std::make_unique<DnnlConvKernel>(s, std::move(*choice)));
  } catch (const dnnl::error& e) {
    return refuse(why_not, std::string("oneDNN: ") + e.what());
  }
}

// Empty when the node asks for bf16 compute and the CPU has AVX-512 BF16, else the reason.
std::string bf16Refusal(const NodeContext& ctx) {
  if (ctx.compute != ComputePrecision::kBFloat16) return "compute precision is float32";
  if (!ctx.cpu.avx512_bf16 || !ctx.cpu.hasAvx512Core()) return "the CPU has no AVX-512 BF16";
  return {};
}

Result<std::unique_ptr<Kernel>> makeConvIn(const NodeContext& ctx, const DnnlLayoutRequest& request,
                                           std::string* why_not, bool bf16) {
  const bool fused = ctx.node->op_type == "FusedConv";
  if (std::string reason = checkConvInputs(ctx, fused ? 4 : 3); !reason.empty()) {
    return refuse(why_not, reason);
  }
  if (ctx.inputs[1].shape.size() != 4) return refuse(why_not, "W is not 4-D");
  DS_ASSIGN_OR_RETURN(ConvSetup setup, convSetup(ctx));
  for (size_t axis = 0; axis < 2; ++axis) {
    if (setup.pad_r[axis] < 0 || setup.pad_l[axis] < 0) {
      return refuse(why_not, "negative padding");
    }
  }
  std::string epilogue_refusal;
  DS_ASSIGN_OR_RETURN(setup.epilogue, parseEpilogue(ctx, &epilogue_refusal));
  if (!epilogue_refusal.empty()) return refuse(why_not, epilogue_refusal);
  if (setup.epilogue.has_sum && ctx.inputs[3].shape != ctx.outputs[0].shape) {
    return refuse(why_not, "Sum does not have the output's shape");
  }
  setup.bf16 = bf16;
  return createConvKernel(ctx, setup, request, why_not);
}

}  // namespace

namespace dnnl_internal {

Result<std::unique_ptr<Kernel>> makeConv(const NodeContext& ctx, const DnnlLayoutRequest& request,
                                         std::string* why_not) {
  if (bf16Refusal(ctx).empty()) {
    DS_ASSIGN_OR_RETURN(std::unique_ptr<Kernel> kernel, makeConvIn(ctx, request, why_not, true));
    if (kernel) return kernel;
  }
  return makeConvIn(ctx, request, why_not, false);
}

Result<std::unique_ptr<Kernel>> makeConvTranspose(const NodeContext& ctx,
                                                  const DnnlLayoutRequest& request,
                                                  std::string* why_not) {
  if (std::string reason = checkConvInputs(ctx, 3); !reason.empty()) return refuse(why_not, reason);
  if (ctx.inputs[1].shape.size() != 4) return refuse(why_not, "W is not 4-D");
  std::string geometry_refusal;
  DS_ASSIGN_OR_RETURN(ConvSetup setup, deconvSetup(ctx, &geometry_refusal));
  if (!geometry_refusal.empty()) return refuse(why_not, geometry_refusal);
  return createConvKernel(ctx, setup, request, why_not);
}

}  // namespace dnnl_internal

Result<std::unique_ptr<Kernel>> makeDnnlConv(const NodeContext& ctx, std::string* why_not) {
  return makeConvIn(ctx, {}, why_not, false);
}

Result<std::unique_ptr<Kernel>> makeDnnlFusedConv(const NodeContext& ctx, std::string* why_not) {
  return makeConvIn(ctx, {}, why_not, false);
}

Result<std::unique_ptr<Kernel>> makeDnnlConvBf16(const NodeContext& ctx, std::string* why_not) {
  if (std::string reason = bf16Refusal(ctx); !reason.empty()) return refuse(why_not, reason);
  return makeConvIn(ctx, {}, why_not, true);
}

Result<std::unique_ptr<Kernel>> makeDnnlFusedConvBf16(const NodeContext& ctx, std::string* why_not) {
  return makeDnnlConvBf16(ctx, why_not);
}

Result<std::unique_ptr<Kernel>> makeDnnlConvTranspose(const NodeContext& ctx,
                                                      std::string* why_not) {
  return dnnl_internal::makeConvTranspose(ctx, {}, why_not);
}

}  // namespace detslim
