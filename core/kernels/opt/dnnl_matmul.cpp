// oneDNN matrix products: Gemm (Y = alpha * A' B' + beta * C) and MatMul (numpy semantics with
// broadcast batch dims), f32, plain layouts; with EngineOptions::compute bf16 and a constant B,
// bf16 x bf16 with f32 accumulation and f32 dst (A converted into scratch by the kernel).
//
// Constant B is packed once at create in oneDNN's preferred format (with Gemm's alpha folded in);
// a runtime B is read in place through strides (transB included). beta * C enters as the bias
// when C is one row (the fully-connected case, precomputed at create); any other C is
// broadcast-copied into Y before the product and accumulated by a sum post-op with scale beta
// (oneDNN 2.6's fast matmul takes neither [M, N] / [M, 1] biases nor binary post-ops with them).

#include <algorithm>
#include <cstring>
#include <memory>
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
using dnnl_util::alignUp;  // the bf16 copy of A starts aligned after oneDNN's scratchpad
using dnnl_util::refuse;

constexpr memory::data_type kF32 = memory::data_type::f32;
constexpr memory::data_type kBf16 = memory::data_type::bf16;

// Row-major strides of dims.
memory::dims denseStrides(const memory::dims& dims) {
  memory::dims strides(dims.size(), 1);
  for (size_t i = dims.size() - 1; i-- > 0;) strides[i] = strides[i + 1] * dims[i + 1];
  return strides;
}

memory::desc plainDesc(const memory::dims& dims) {
  return memory::desc(dims, kF32, denseStrides(dims));
}

// How Gemm's C enters.
enum class CMode {
  kNone,
  kBias,     // constant, one row: bias {1, N} = beta * C / pre_scale, computed at create
  kSumFill,  // copied (broadcast) into Y by run(), then a sum post-op with scale beta
};

struct MatMulSetup {
  memory::desc a, b, dst;  // b: format any when packed
  memory::desc b_user;     // B as stored, for packing
  bool pack_b = false;
  std::vector<float> b_values;  // B (times Gemm's alpha) to pack, when constant
  float pre_scale = 1.0f;       // eltwise_linear on A B (Gemm's alpha with a runtime B)
  CMode c_mode = CMode::kNone;
  std::vector<float> bias;  // kBias: [N]
  float beta = 1.0f;
  // kSumFill: C's element strides seen as [M, N] (0 along broadcast dims), and its values when
  // constant (else read from input 2 per run).
  int64_t m = 0, n = 0, c_row_stride = 0, c_col_stride = 0;
  bool c_constant = false;
  std::vector<float> c_values;
  // bf16 compute (constant B only): A converted to bf16 in scratch, B packed as bf16, f32 dst.
  bool bf16 = false;
};

// Fills dst [m, n] with C broadcast.
void broadcastFill(const MatMulSetup& s, const float* c, float* dst) {
  if (s.c_row_stride == s.n && s.c_col_stride == 1) {
    std::memcpy(dst, c, static_cast<size_t>(s.m * s.n) * sizeof(float));
    return;
  }
  for (int64_t i = 0; i < s.m; ++i) {
    const float* row = c + i * s.c_row_stride;
    float* out = dst + i * s.n;
    for (int64_t j = 0; j < s.n; ++j) out[j] = row[j * s.c_col_stride];
  }
}

class DnnlMatMulKernel final : public DnnlKernel {
 public:
  DnnlMatMulKernel(MatMulSetup s, const dnnl::primitive_desc& pd, const std::string& impl)
      : runner_(dnnl::primitive(pd), pd), s_(std::move(s)), detail_(impl) {
    a_ = &runner_.bindable(DNNL_ARG_SRC, pd.src_desc());
    scratchpad_bytes_ = runner_.scratchBytes();
    if (s_.bf16) {
      dnnl::primitive_attr attr;
      attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
      const dnnl::reorder::primitive_desc to_bf16_pd(dnnl_util::cpuEngine(), s_.a,
                                                     dnnl_util::cpuEngine(), pd.src_desc(), attr);
      to_bf16_ = dnnl_util::PrimitiveRunner(dnnl::reorder(to_bf16_pd), to_bf16_pd);
      a_f32_ = &to_bf16_.bindable(DNNL_ARG_FROM, s_.a);
      a_bf16_ = &to_bf16_.bindable(DNNL_ARG_TO, pd.src_desc());
      scratchpad_bytes_ = alignUp(std::max(scratchpad_bytes_, to_bf16_.scratchBytes()));
      a_bf16_bytes_ = pd.src_desc().get_size();
      detail_ = "bf16 " + detail_;
    }
    dst_ = &runner_.bindable(DNNL_ARG_DST, pd.dst_desc());
    if (s_.pack_b) {
      runner_.fixed(DNNL_ARG_WEIGHTS,
                    dnnl_util::packConstant(s_.b_values.data(), s_.b_user, pd.weights_desc()));
      s_.b_values = {};
    } else {
      b_ = &runner_.bindable(DNNL_ARG_WEIGHTS, pd.weights_desc());
    }
    if (s_.c_mode == CMode::kBias) {
      const memory::desc bias_md = plainDesc({1, s_.n});
      runner_.fixed(DNNL_ARG_BIAS, dnnl_util::packConstant(s_.bias.data(), bias_md, bias_md));
    }
  }

  void run(const KernelArgs& args) override {
    if (s_.c_mode == CMode::kSumFill) {
      const float* c =
          s_.c_constant ? s_.c_values.data() : static_cast<const float*>(args.inputs[2]);
      broadcastFill(s_, c, static_cast<float*>(args.outputs[0]));
    }
    dnnl_util::guarded([&] {
      if (s_.bf16) {
        void* a_bf16 = static_cast<std::byte*>(args.scratch) + scratchpad_bytes_;
        dnnl_util::bind(*a_f32_, args.inputs[0]);
        dnnl_util::bind(*a_bf16_, a_bf16);
        to_bf16_.execute(args.scratch);
        dnnl_util::bind(*a_, a_bf16);
      } else {
        dnnl_util::bind(*a_, args.inputs[0]);
      }
      if (!s_.pack_b) dnnl_util::bind(*b_, args.inputs[1]);
      dnnl_util::bind(*dst_, args.outputs[0]);
      runner_.execute(args.scratch);
    });
  }

  size_t scratchBytes() const override { return scratchpad_bytes_ + a_bf16_bytes_; }
  std::string detail() const override { return detail_; }
  bool computesInBf16() const override { return s_.bf16; }

 private:
  dnnl_util::PrimitiveRunner runner_;
  dnnl_util::PrimitiveRunner to_bf16_;  // only with bf16
  memory* a_f32_ = nullptr;
  memory* a_bf16_ = nullptr;
  size_t scratchpad_bytes_ = 0;
  size_t a_bf16_bytes_ = 0;
  MatMulSetup s_;
  memory* a_ = nullptr;
  memory* b_ = nullptr;
  memory* dst_ = nullptr;
  std::string detail_;
};

// The primitive for setup s; throws dnnl::error when oneDNN has none.
dnnl::primitive_desc makeMatMulPd(const MatMulSetup& s) {
  dnnl::post_ops ops;
  if (s.pre_scale != 1.0f) ops.append_eltwise(1.0f, algorithm::eltwise_linear, s.pre_scale, 0.0f);
  if (s.c_mode == CMode::kSumFill) ops.append_sum(s.beta);
  dnnl::primitive_attr attr;
  attr.set_post_ops(ops);
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const memory::desc bias_md = s.c_mode == CMode::kBias ? plainDesc({1, s.n}) : memory::desc();
  memory::desc a = s.a;
  memory::desc b = s.b;
  if (s.bf16) {
    a = memory::desc(s.a.dims(), kBf16, denseStrides(s.a.dims()));
    b = memory::desc(s.b.dims(), kBf16, memory::format_tag::any);
  }
  const dnnl::matmul::desc desc(a, b, bias_md, s.dst);
  return dnnl::matmul::primitive_desc(desc, attr, dnnl_util::cpuEngine());
}

// Tries `setups` in order and keeps the first with a fast oneDNN implementation.
Result<std::unique_ptr<Kernel>> createMatMul(const NodeContext& ctx,
                                             std::vector<MatMulSetup> setups,
                                             std::string* why_not) {
  std::string tried;
  try {
    dnnl_util::CreationThreads threads(ctx.num_threads);
    for (MatMulSetup& s : setups) {
      dnnl::primitive_desc pd;
      try {
        pd = makeMatMulPd(s);
      } catch (const dnnl::error& e) {
        tried += std::string("; ") + e.what();
        continue;
      }
      const std::string impl = dnnl_util::implName(pd);
      if (dnnl_util::isReferenceImpl(impl)) {
        tried += "; only " + impl;
        continue;
      }
      return std::unique_ptr<Kernel>(std::make_unique<DnnlMatMulKernel>(std::move(s), pd, impl));
    }
  } catch (const dnnl::error& e) {
    return refuse(why_not, std::string("oneDNN: ") + e.what());
  }
  return refuse(why_not, "oneDNN has no fast implementation" + tried);
}

std::vector<float> copyFloats(const Tensor& t) {
  const float* data = t.data<float>();
  return std::vector<float>(data, data + t.numel());
}

// Empty when the node asks for bf16 compute and the CPU has AVX-512 BF16, else the reason.
std::string bf16Refusal(const NodeContext& ctx) {
  if (ctx.compute != ComputePrecision::kBFloat16) return "compute precision is float32";
  if (!ctx.cpu.avx512_bf16 || !ctx.cpu.hasAvx512Core()) return "the CPU has no AVX-512 BF16";
  if (!ctx.constant(1)) return "B is not constant (bf16 packs B at create)";
  return {};
}

Result<std::unique_ptr<Kernel>> makeGemmIn(const NodeContext& ctx, std::string* why_not, bool bf16) {
  if (std::string reason = dnnl_util::checkF32AndCpu(ctx); !reason.empty()) {
    return refuse(why_not, reason);
  }
  if (!ctx.hasInput(0) || !ctx.hasInput(1)) return refuse(why_not, "A and B are required");
  const Shape& a = ctx.inputs[0].shape;
  const Shape& b = ctx.inputs[1].shape;
  if (a.size() != 2 || b.size() != 2) return refuse(why_not, "A and B must be 2-D");
  if (ctx.outputs[0].numel() == 0 || ctx.inputs[0].numel() == 0) {
    return refuse(why_not, "empty tensor");
  }
  const bool trans_a = ctx.node->intOr("transA", 0) != 0;
  const bool trans_b = ctx.node->intOr("transB", 0) != 0;
  const float alpha = ctx.node->floatOr("alpha", 1.0f);
  const float beta = ctx.node->floatOr("beta", 1.0f);
  MatMulSetup s;
  s.m = trans_a ? a[1] : a[0];
  const int64_t k = trans_a ? a[0] : a[1];
  s.n = trans_b ? b[0] : b[1];
  const int64_t m = s.m;
  const int64_t n = s.n;
  s.a = memory::desc({m, k}, kF32, trans_a ? memory::dims{1, m} : memory::dims{k, 1});
  s.b_user = memory::desc({k, n}, kF32, trans_b ? memory::dims{1, k} : memory::dims{n, 1});
  s.dst = plainDesc({m, n});
  if (const Tensor* b_const = ctx.constant(1)) {
    s.pack_b = true;
    s.b = memory::desc({k, n}, kF32, memory::format_tag::any);
    s.b_values = copyFloats(*b_const);
    // alpha * (A B) == A (alpha B): folded into the packed weights, no post-op.
    if (alpha != 1.0f) {
      for (float& v : s.b_values) v *= alpha;
    }
  } else {
    s.b = s.b_user;
    s.pre_scale = alpha;
  }
  s.bf16 = bf16;
  if (!ctx.hasInput(2) || beta == 0.0f) return createMatMul(ctx, {s}, why_not);

  const Shape& c = ctx.inputs[2].shape;
  if (c.size() > 2) return refuse(why_not, "C has rank > 2");
  // C right-aligned onto [M, N]; strides 0 along broadcast dims.
  const int64_t c_rows = c.size() == 2 ? c[0] : 1;
  const int64_t c_cols = c.empty() ? 1 : c.back();
  s.c_row_stride = c_rows == 1 ? 0 : c_cols;
  s.c_col_stride = c_cols == 1 ? 0 : 1;
  s.beta = beta;
  std::vector<MatMulSetup> setups;
  const Tensor* c_const = ctx.constant(2);
  if (c_const && c_rows == 1 && s.pre_scale != 0.0f) {
    // The bias is added before post-ops, so it is pre-divided by a runtime-B alpha.
    MatMulSetup with_bias = s;
    with_bias.c_mode = CMode::kBias;
    with_bias.bias.resize(static_cast<size_t>(n));
    const float* values = c_const->data<float>();
    for (int64_t j = 0; j < n; ++j) {
      with_bias.bias[static_cast<size_t>(j)] = beta * values[j * s.c_col_stride] / s.pre_scale;
    }
    setups.push_back(std::move(with_bias));
  }
  s.c_mode = CMode::kSumFill;
  s.c_constant = c_const != nullptr;
  if (c_const) s.c_values = copyFloats(*c_const);
  setups.push_back(std::move(s));
  return createMatMul(ctx, std::move(setups), why_not);
}

Result<std::unique_ptr<Kernel>> makeMatMulIn(const NodeContext& ctx, std::string* why_not, bool bf16) {
  if (std::string reason = dnnl_util::checkF32AndCpu(ctx); !reason.empty()) {
    return refuse(why_not, reason);
  }
  if (!ctx.hasInput(0) || !ctx.hasInput(1)) return refuse(why_not, "A and B are required");
  Shape a = ctx.inputs[0].shape;
  Shape b = ctx.inputs[1].shape;
  if (a.empty() || b.empty()) return refuse(why_not, "scalar operand");
  if (ctx.outputs[0].numel() == 0 || ctx.inputs[0].numel() == 0 || ctx.inputs[1].numel() == 0) {
    return refuse(why_not, "empty tensor");
  }
  // numpy promotion of 1-D operands; the dropped dims leave the row-major bytes unchanged.
  if (a.size() == 1) a.insert(a.begin(), 1);
  if (b.size() == 1) b.push_back(1);
  const size_t rank = std::max(a.size(), b.size());
  if (rank > static_cast<size_t>(DNNL_MAX_NDIMS)) return refuse(why_not, "rank above oneDNN's");
  a.insert(a.begin(), rank - a.size(), 1);
  b.insert(b.begin(), rank - b.size(), 1);
  memory::dims dst(rank);
  for (size_t i = 0; i + 2 < rank; ++i) {
    if (a[i] != b[i] && a[i] != 1 && b[i] != 1) return ctx.error("batch dims do not broadcast");
    dst[i] = std::max(a[i], b[i]);
  }
  dst[rank - 2] = a[rank - 2];
  dst[rank - 1] = b[rank - 1];
  MatMulSetup s;
  s.a = plainDesc(memory::dims(a.begin(), a.end()));
  s.b_user = plainDesc(memory::dims(b.begin(), b.end()));
  s.dst = plainDesc(dst);
  if (const Tensor* b_const = ctx.constant(1)) {
    s.pack_b = true;
    s.b = memory::desc(memory::dims(b.begin(), b.end()), kF32, memory::format_tag::any);
    s.b_values = copyFloats(*b_const);
  } else {
    s.b = s.b_user;
  }
  s.bf16 = bf16;
  return createMatMul(ctx, {std::move(s)}, why_not);
}

}  // namespace

Result<std::unique_ptr<Kernel>> makeDnnlGemm(const NodeContext& ctx, std::string* why_not) {
  return makeGemmIn(ctx, why_not, false);
}

Result<std::unique_ptr<Kernel>> makeDnnlMatMul(const NodeContext& ctx, std::string* why_not) {
  return makeMatMulIn(ctx, why_not, false);
}

Result<std::unique_ptr<Kernel>> makeDnnlGemmBf16(const NodeContext& ctx, std::string* why_not) {
  if (std::string reason = bf16Refusal(ctx); !reason.empty()) return refuse(why_not, reason);
  return makeGemmIn(ctx, why_not, true);
}

Result<std::unique_ptr<Kernel>> makeDnnlMatMulBf16(const NodeContext& ctx, std::string* why_not) {
  if (std::string reason = bf16Refusal(ctx); !reason.empty()) return refuse(why_not, reason);
  return makeMatMulIn(ctx, why_not, true);
}

}  // namespace detslim
