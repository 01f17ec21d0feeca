// Plumbing shared by the oneDNN kernels (dnnl_util.h) and the engine-facing dispatcher
// makeDnnlKernelWithLayouts (dnnl_common.h).

#include "core/kernels/opt/dnnl_common.h"

#include <omp.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/kernels/opt/dnnl_util.h"

namespace detslim {

namespace dnnl_util {

dnnl::engine& cpuEngine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

memory::format_tag activationTag(Layout layout) {
  switch (layout) {
    case Layout::kPlain:
      return memory::format_tag::nchw;
    case Layout::kNhwc:
      return memory::format_tag::nhwc;
    case Layout::kNChw16c:
      return memory::format_tag::nChw16c;
  }
  return memory::format_tag::undef;
}

std::string checkF32AndCpu(const NodeContext& ctx) {
  if (!ctx.cpu.avx2 || !ctx.cpu.fma) {
    return "the oneDNN kernels need AVX2 + FMA (CPU has: " + ctx.cpu.toString() + ")";
  }
  for (size_t i = 0; i < ctx.inputs.size(); ++i) {
    if (ctx.inputs[i].present() && ctx.inputs[i].dtype != DType::kFloat32) {
      return "input " + std::to_string(i) + " is " + std::string(dtypeName(ctx.inputs[i].dtype)) +
             "; the oneDNN kernels here compute float32 only";
    }
  }
  if (ctx.outputs.empty() || ctx.outputs[0].dtype != DType::kFloat32) {
    return "output 0 is not float32";
  }
  return {};
}

CreationThreads::CreationThreads(int num_threads) : saved_(omp_get_max_threads()) {
  if (num_threads > 0) omp_set_num_threads(num_threads);
}

CreationThreads::~CreationThreads() {
  omp_set_num_threads(saved_);
}

std::string implName(const dnnl::primitive_desc_base& pd) {
  const char* info = pd.impl_info_str();
  return info ? std::string(info) : std::string("?");
}

bool isReferenceImpl(const std::string& impl) {
  return impl.rfind("ref", 0) == 0;
}

bool isGemmConvImpl(const std::string& impl) {
  return impl.find("gemm") != std::string::npos;
}

Result<std::vector<int64_t>> spatialAttr2(const NodeContext& ctx, const char* name, int64_t def) {
  std::vector<int64_t> values = ctx.node->intsOr(name, {def, def});
  if (values.size() != 2) {
    return ctx.error(std::string(name) + " has " + std::to_string(values.size()) +
                     " values, expected 2 for a 2-D window");
  }
  return values;
}

Result<AxisPads> windowPads(const NodeContext& ctx, int64_t in, int64_t out, int64_t kernel,
                            int64_t stride, int64_t dilation, size_t axis) {
  const std::string auto_pad = ctx.node->stringOr("auto_pad", "NOTSET");
  const int64_t span = (kernel - 1) * dilation + 1;
  AxisPads pads;
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    // As the reference (and ONNX): the total padding split evenly, the odd one at the end for
    // SAME_UPPER and at the beginning for SAME_LOWER.
    const int64_t total = std::max<int64_t>(0, (out - 1) * stride + span - in);
    pads.begin = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
    pads.declared_end = total - pads.begin;
  } else if (auto_pad == "NOTSET" || auto_pad.empty()) {
    const std::vector<int64_t> attr = ctx.node->intsOr("pads", {0, 0, 0, 0});
    if (attr.size() != 4) {
      return ctx.error("pads has " + std::to_string(attr.size()) + " values, expected 4");
    }
    pads.begin = attr[axis];
    pads.declared_end = attr[axis + 2];
  } else if (auto_pad != "VALID") {
    return ctx.error("auto_pad '" + auto_pad + "' is not NOTSET, SAME_UPPER, SAME_LOWER or VALID");
  }
  // oneDNN wants out == (in + begin + end - span) / stride + 1. The declared end pad satisfies
  // that unless ceil_mode added a window; then the end pad is what that window needs.
  const int64_t room = in + pads.begin + pads.declared_end - span;
  if (room >= 0 && room / stride + 1 == out) {
    pads.end = pads.declared_end;
  } else {
    pads.end = (out - 1) * stride + span - in - pads.begin;
  }
  return pads;
}

memory packConstant(const void* data, const memory::desc& user, const memory::desc& packed) {
  dnnl::engine& engine = cpuEngine();
  memory src(user, engine, const_cast<void*>(data));
  memory dst(packed, engine);
  dnnl::stream stream(engine);
  dnnl::reorder(src, dst).execute(stream, src, dst);
  stream.wait();
  return dst;
}

PrimitiveRunner::PrimitiveRunner(dnnl::primitive primitive, const dnnl::primitive_desc_base& pd)
    : primitive_(std::move(primitive)), stream_(cpuEngine()) {
  const memory::desc scratch_md = pd.scratchpad_desc();
  scratch_bytes_ = scratch_md.get_size();
  if (scratch_bytes_ > 0) {
    scratch_ = memory(scratch_md, cpuEngine(), DNNL_MEMORY_NONE);
    args_.emplace(DNNL_ARG_SCRATCHPAD, scratch_);
  }
}

memory& PrimitiveRunner::bindable(int arg, const memory::desc& md) {
  auto [it, inserted] = args_.insert_or_assign(arg, memory(md, cpuEngine(), DNNL_MEMORY_NONE));
  return it->second;
}

void PrimitiveRunner::fixed(int arg, const memory& mem) {
  args_.insert_or_assign(arg, mem);
}

void PrimitiveRunner::execute(void* scratch) {
  if (scratch_bytes_ > 0) scratch_.set_data_handle(scratch);
  primitive_.execute(stream_, args_);
  stream_.wait();
}

void ConvOutput::bind(PrimitiveRunner& conv, const memory::desc& dst_md, Residual residual,
                      const memory::desc& sum_md, int binary_index) {
  dst_md_ = dst_md;
  residual_ = residual;
  dst_bytes_ = dst_md.get_size();
  dst_ = &conv.bindable(DNNL_ARG_DST, dst_md);
  if (residual == Residual::kBinaryAdd) {
    residual_mem_ = &conv.bindable(DNNL_ARG_ATTR_MULTIPLE_POST_OP(binary_index) | DNNL_ARG_SRC_1, sum_md);
  }
  scratchpad_bytes_ = conv.scratchBytes();
}

std::string ConvOutput::stage(const memory::desc& out_md, Layout out_layout) {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const dnnl::reorder::primitive_desc reorder_pd(cpuEngine(), dst_md_, cpuEngine(), out_md, attr);
  reorder_ = PrimitiveRunner(dnnl::reorder(reorder_pd), reorder_pd);
  staged_src_ = &reorder_.bindable(DNNL_ARG_FROM, dst_md_);
  out_ = &reorder_.bindable(DNNL_ARG_TO, out_md);
  shareScratchpad(reorder_.scratchBytes());
  staged_bytes_ = dst_bytes_;
  return " >" + std::string(layoutName(out_layout)) + " (reorder " + implName(reorder_pd) + ")";
}

void ConvOutput::run(PrimitiveRunner& conv, const void* sum, void* out, void* scratch) {
  if (residual_ == Residual::kSumPostOp && sum != out) {
    std::memcpy(out, sum, dst_bytes_);
  } else if (residual_ == Residual::kBinaryAdd) {
    dnnl_util::bind(*residual_mem_, sum);
  }
  if (staged_bytes_ == 0) {
    dnnl_util::bind(*dst_, out);
    conv.execute(scratch);
    return;
  }
  void* staged = static_cast<std::byte*>(scratch) + scratchpad_bytes_;
  dnnl_util::bind(*dst_, staged);
  conv.execute(scratch);
  dnnl_util::bind(*staged_src_, staged);
  dnnl_util::bind(*out_, out);
  reorder_.execute(scratch);
}

void dieOnDnnlError(const dnnl::error& e) {
  std::fprintf(stderr, "detslim: oneDNN execution failed: %s\n", e.what());
  std::abort();
}

}  // namespace dnnl_util

Result<std::unique_ptr<Kernel>> makeDnnlKernelWithLayouts(const NodeContext& ctx,
                                                          const DnnlLayoutRequest& request,
                                                          std::string* why_not) {
  const std::string& op = ctx.node->op_type;
  if (op == "Conv" || op == "FusedConv") return dnnl_internal::makeConv(ctx, request, why_not);
  if (op == "QConv") return dnnl_internal::makeQConv(ctx, request, why_not);
  if (op == "ConvTranspose") return dnnl_internal::makeConvTranspose(ctx, request, why_not);
  if (op == "MaxPool" || op == "AveragePool" || op == "GlobalAveragePool") {
    return dnnl_internal::makePool(ctx, request, why_not);
  }
  return dnnl_util::refuse(why_not, "no oneDNN kernel with selectable layouts for " + op);
}

}  // namespace detslim
