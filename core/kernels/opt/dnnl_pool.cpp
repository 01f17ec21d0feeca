// oneDNN pooling: MaxPool, AveragePool and GlobalAveragePool, f32, 2-D, in whatever layout the
// producer delivers (plain, nhwc or nChw16c), so a pool between two convolutions costs no reorder.
// MaxPool also on uint8 / int8 (a QDQ model's integer activations, docs/quant.md): the maximum
// of quantized values is the quantized maximum, so the integers pool as they are.
//
// ceil_mode is expressed as extra end padding, which oneDNN's max pooling and exclude-padding
// average ignore exactly as ONNX does; AveragePool with count_include_pad would count that extra
// padding, so that combination is refused. MaxPool's Indices output has no oneDNN equivalent.

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
using dnnl_util::refuse;


struct PoolSetup {
  algorithm alg = algorithm::pooling_max;
  memory::dims src, dst, kernel, strides, dilates, pad_l, pad_r;
};

// A pooling node's window from its attributes and the output size the shape function inferred.
// Sets *why_not (and returns the partial setup) for what oneDNN cannot do exactly.
Result<PoolSetup> poolSetup(const NodeContext& ctx, std::string* why_not) {
  const Shape& x = ctx.inputs[0].shape;
  const Shape& y = ctx.outputs[0].shape;
  const std::string& op = ctx.node->op_type;
  PoolSetup s;
  s.src = {x[0], x[1], x[2], x[3]};
  s.dst = {y[0], y[1], y[2], y[3]};
  if (op == "GlobalAveragePool") {
    // Average over the whole plane: no padding, so include / exclude padding agree.
    s.alg = algorithm::pooling_avg_exclude_padding;
    s.kernel = {x[2], x[3]};
    s.strides = {1, 1};
    s.dilates = {0, 0};
    s.pad_l = {0, 0};
    s.pad_r = {0, 0};
    return s;
  }
  const bool is_max = op == "MaxPool";
  bool include_pad = false;
  if (is_max) {
    if (ctx.node->outputs.size() > 1 && !ctx.node->outputs[1].empty()) {
      *why_not = "MaxPool's Indices output has no oneDNN equivalent";
      return s;
    }
  } else {
    include_pad = ctx.opset >= 7 && ctx.node->intOr("count_include_pad", 0) != 0;
  }
  s.alg = is_max        ? algorithm::pooling_max
          : include_pad ? algorithm::pooling_avg_include_padding
                        : algorithm::pooling_avg_exclude_padding;
  const std::vector<int64_t> kernel = ctx.node->intsOr("kernel_shape", {});
  if (kernel.size() != 2) return ctx.error("kernel_shape must have 2 values for a 2-D pool");
  DS_ASSIGN_OR_RETURN(std::vector<int64_t> strides, dnnl_util::spatialAttr2(ctx, "strides", 1));
  // Dilations arrived with MaxPool-10 and AveragePool-19 (the reference reads them likewise).
  const bool has_dilations = is_max ? ctx.opset >= 10 : ctx.opset >= 19;
  std::vector<int64_t> dilations = {1, 1};
  if (has_dilations) {
    DS_ASSIGN_OR_RETURN(dilations, dnnl_util::spatialAttr2(ctx, "dilations", 1));
  }
  for (size_t axis = 0; axis < 2; ++axis) {
    DS_ASSIGN_OR_RETURN(dnnl_util::AxisPads pads,
                        dnnl_util::windowPads(ctx, x[axis + 2], y[axis + 2], kernel[axis],
                                              strides[axis], dilations[axis], axis));
    if (pads.begin < 0 || pads.end < 0) {
      *why_not = "negative padding";
      return s;
    }
    if (include_pad && pads.end > pads.declared_end) {
      *why_not =
          "AveragePool with count_include_pad and a ceil_mode window past the padding "
          "(oneDNN would count the extra positions)";
      return s;
    }
    s.pad_l.push_back(pads.begin);
    s.pad_r.push_back(pads.end);
    s.dilates.push_back(dilations[axis] - 1);
  }
  s.kernel = {kernel[0], kernel[1]};
  s.strides = {strides[0], strides[1]};
  return s;
}

dnnl::primitive_desc makePoolPd(const PoolSetup& s, Layout layout, memory::data_type type) {
  const memory::format_tag tag = dnnl_util::activationTag(layout);
  const memory::desc src_md(s.src, type, tag);
  const memory::desc dst_md(s.dst, type, tag);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const dnnl::pooling_v2_forward::desc desc(dnnl::prop_kind::forward_inference, s.alg, src_md,
                                            dst_md, s.strides, s.kernel, s.dilates, s.pad_l,
                                            s.pad_r);
  return dnnl::pooling_v2_forward::primitive_desc(desc, attr, dnnl_util::cpuEngine());
}

class DnnlPoolKernel final : public DnnlKernel {
 public:
  DnnlPoolKernel(const dnnl::primitive_desc& pd, Layout layout, const std::string& impl)
      : runner_(dnnl::primitive(pd), pd),
        layout_(layout),
        detail_(impl + " " + std::string(layoutName(layout))) {
    src_ = &runner_.bindable(DNNL_ARG_SRC, pd.src_desc());
    dst_ = &runner_.bindable(DNNL_ARG_DST, pd.dst_desc());
  }

  void run(const KernelArgs& args) override {
    dnnl_util::guarded([&] {
      dnnl_util::bind(*src_, args.inputs[0]);
      dnnl_util::bind(*dst_, args.outputs[0]);
      runner_.execute(args.scratch);
    });
  }

  size_t scratchBytes() const override { return runner_.scratchBytes(); }
  Layout inputLayout(size_t /*i*/) const override { return layout_; }
  Layout outputLayout(size_t /*i*/) const override { return layout_; }
  std::string detail() const override { return detail_; }

 private:
  dnnl_util::PrimitiveRunner runner_;
  memory* src_ = nullptr;
  memory* dst_ = nullptr;
  Layout layout_;
  std::string detail_;
};

// Empty when the node is a MaxPool on uint8 / int8 (input and output alike) on a CPU the oneDNN
// kernels suit; otherwise the reason.
std::string checkInt8MaxPool(const NodeContext& ctx) {
  if (!ctx.cpu.avx2 || !ctx.cpu.fma) {
    return "the oneDNN kernels need AVX2 + FMA (CPU has: " + ctx.cpu.toString() + ")";
  }
  if (ctx.node->op_type != "MaxPool") return "integer pooling is MaxPool only";
  const DType d = ctx.hasInput(0) ? ctx.inputs[0].dtype : DType::kUndefined;
  if (d != DType::kUInt8 && d != DType::kInt8) return "uint8 / int8 only";
  if (ctx.outputs.empty() || ctx.outputs[0].dtype != d) return "output 0 must have the input's dtype";
  return {};
}

// The pooling kernel for data of `type`; the caller has checked dtypes and CPU.
Result<std::unique_ptr<Kernel>> makePoolOfType(const NodeContext& ctx, const DnnlLayoutRequest& request,
                                               std::string* why_not, memory::data_type type) {
  if (!ctx.hasInput(0) || ctx.inputs[0].shape.size() != 4) {
    return refuse(why_not, "only 2-D pooling (X of rank 4)");
  }
  if (ctx.inputs[0].numel() == 0 || ctx.outputs[0].numel() == 0) {
    return refuse(why_not, "empty tensor");
  }
  if (request.src && request.dst && *request.src != *request.dst) {
    return refuse(why_not, "pooling keeps its input's layout");
  }
  std::string setup_refusal;
  DS_ASSIGN_OR_RETURN(PoolSetup setup, poolSetup(ctx, &setup_refusal));
  if (!setup_refusal.empty()) return refuse(why_not, setup_refusal);
  // The producer's layout first (no reorder), then the convolutions' layout.
  std::vector<Layout> layouts;
  if (request.src || request.dst) {
    layouts = {request.src ? *request.src : *request.dst};
  } else {
    layouts = {ctx.inputs[0].layout};
    for (Layout l : {kDnnlActivationLayout, Layout::kNChw16c, Layout::kNhwc}) {
      if (l != layouts.front()) layouts.push_back(l);
    }
  }
  std::string tried;
  try {
    dnnl_util::CreationThreads threads(ctx.num_threads);
    for (Layout layout : layouts) {
      dnnl::primitive_desc pd;
      try {
        pd = makePoolPd(setup, layout, type);
      } catch (const dnnl::error& e) {
        tried += "; " + std::string(layoutName(layout)) + ": " + e.what();
        continue;
      }
      const std::string impl = dnnl_util::implName(pd);
      if (dnnl_util::isReferenceImpl(impl)) {
        tried += "; " + std::string(layoutName(layout)) + ": only " + impl;
        continue;
      }
      return std::unique_ptr<Kernel>(std::make_unique<DnnlPoolKernel>(pd, layout, impl));
    }
  } catch (const dnnl::error& e) {
    return refuse(why_not, std::string("oneDNN: ") + e.what());
  }
  return refuse(why_not, "oneDNN has no fast implementation" + tried);
}

}  // namespace

namespace dnnl_internal {

Result<std::unique_ptr<Kernel>> makePool(const NodeContext& ctx, const DnnlLayoutRequest& request,
                                         std::string* why_not) {
  if (std::string reason = dnnl_util::checkF32AndCpu(ctx); !reason.empty()) {
    return refuse(why_not, reason);
  }
  return makePoolOfType(ctx, request, why_not, memory::data_type::f32);
}

}  // namespace dnnl_internal

Result<std::unique_ptr<Kernel>> makeDnnlMaxPool(const NodeContext& ctx, std::string* why_not) {
  return dnnl_internal::makePool(ctx, {}, why_not);
}

Result<std::unique_ptr<Kernel>> makeDnnlMaxPoolX8(const NodeContext& ctx, std::string* why_not) {
  if (std::string reason = checkInt8MaxPool(ctx); !reason.empty()) return refuse(why_not, reason);
  const memory::data_type type =
      ctx.inputs[0].dtype == DType::kUInt8 ? memory::data_type::u8 : memory::data_type::s8;
  return makePoolOfType(ctx, {}, why_not, type);
}

Result<std::unique_ptr<Kernel>> makeDnnlAveragePool(const NodeContext& ctx, std::string* why_not) {
  return dnnl_internal::makePool(ctx, {}, why_not);
}

Result<std::unique_ptr<Kernel>> makeDnnlGlobalAveragePool(const NodeContext& ctx,
                                                          std::string* why_not) {
  return dnnl_internal::makePool(ctx, {}, why_not);
}

}  // namespace detslim
