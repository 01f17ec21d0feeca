// Reference matrix products: Gemm, MatMul (numpy semantics) and MatMulInteger (int32
// accumulation with per-tensor, per-row or per-column zero points). Plain i-k-j loops: the
// innermost loop runs along a row of B and of the output, which the compiler vectorises.

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "core/kernels/ref/broadcast.h"
#include "core/kernels/ref/movement_common.h"
#include "core/kernels/ref/ref_ops.h"
#include "core/kernels/ref/widen.h"

namespace detslim {

namespace {

bool isGemmFloat(DType d) {
  return d == DType::kFloat32 || d == DType::kFloat64;
}

std::string dtypeStr(DType d) {
  return std::string(dtypeName(d));
}

}  // namespace

// ---- Gemm ----------------------------------------------------------------------------------

namespace {

struct GemmDims {
  int64_t m = 0;
  int64_t k = 0;
  int64_t n = 0;
};

Result<GemmDims> gemmDims(const NodeContext& ctx) {
  if (!ctx.hasInput(0) || !ctx.hasInput(1)) return ctx.error("A and B are required");
  const Shape& a = ctx.inputs[0].shape;
  const Shape& b = ctx.inputs[1].shape;
  if (a.size() != 2 || b.size() != 2) {
    return ctx.error("A " + shapeToString(a) + " and B " + shapeToString(b) + " must be 2-D");
  }
  const bool trans_a = ctx.node->intOr("transA", 0) != 0;
  const bool trans_b = ctx.node->intOr("transB", 0) != 0;
  GemmDims dims;
  dims.m = trans_a ? a[1] : a[0];
  dims.k = trans_a ? a[0] : a[1];
  const int64_t kb = trans_b ? b[1] : b[0];
  dims.n = trans_b ? b[0] : b[1];
  if (kb != dims.k) {
    return ctx.error("inner dims differ: A " + shapeToString(a) + (trans_a ? " (transposed)" : "") +
                     ", B " + shapeToString(b) + (trans_b ? " (transposed)" : ""));
  }
  if (ctx.hasInput(2)) {
    const Shape& c = ctx.inputs[2].shape;
    const std::optional<Shape> bc = broadcastShapes({c, Shape{dims.m, dims.n}});
    if (c.size() > 2 || !bc || *bc != Shape{dims.m, dims.n}) {
      return ctx.error("C " + shapeToString(c) + " does not broadcast to [" +
                       std::to_string(dims.m) + ", " + std::to_string(dims.n) + "]");
    }
  }
  return dims;
}

template <class T>
class GemmKernel final : public Kernel {
 public:
  GemmKernel(GemmDims dims, bool trans_a, bool trans_b, T alpha, T beta, bool has_c,
             std::vector<int64_t> c_strides)
      : d_(dims),
        trans_a_(trans_a),
        trans_b_(trans_b),
        alpha_(alpha),
        beta_(beta),
        has_c_(has_c),
        c_strides_(std::move(c_strides)) {}

  void run(const KernelArgs& args) override {
    const T* a = static_cast<const T*>(args.inputs[0]);
    const T* b = static_cast<const T*>(args.inputs[1]);
    const T* c = has_c_ ? static_cast<const T*>(args.inputs[2]) : nullptr;
    T* y = static_cast<T*>(args.outputs[0]);
    for (int64_t i = 0; i < d_.m; ++i) {
      T* row = y + i * d_.n;
      if (trans_b_) {
        for (int64_t j = 0; j < d_.n; ++j) {
          T acc = 0;
          for (int64_t p = 0; p < d_.k; ++p) acc += aAt(a, i, p) * b[j * d_.k + p];
          row[j] = acc;
        }
      } else {
        for (int64_t j = 0; j < d_.n; ++j) row[j] = 0;
        for (int64_t p = 0; p < d_.k; ++p) {
          const T av = aAt(a, i, p);
          const T* brow = b + p * d_.n;
          for (int64_t j = 0; j < d_.n; ++j) row[j] += av * brow[j];
        }
      }
      for (int64_t j = 0; j < d_.n; ++j) {
        row[j] *= alpha_;
        if (c) row[j] += beta_ * c[i * c_strides_[0] + j * c_strides_[1]];
      }
    }
  }

 private:
  T aAt(const T* a, int64_t i, int64_t p) const {
    return trans_a_ ? a[p * d_.m + i] : a[i * d_.k + p];
  }

  GemmDims d_;
  bool trans_a_;
  bool trans_b_;
  T alpha_;
  T beta_;
  bool has_c_;
  std::vector<int64_t> c_strides_;  // of C seen as [M, N] (0 along broadcast dims)
};

}  // namespace

Status inferGemm(NodeContext& ctx) {
  DS_ASSIGN_OR_RETURN(GemmDims dims, gemmDims(ctx));
  for (size_t i = 1; i < 3; ++i) {
    if (ctx.hasInput(i) && ctx.inputs[i].dtype != ctx.inputs[0].dtype) {
      return ctx.error("input " + std::to_string(i) + " is " + dtypeStr(ctx.inputs[i].dtype) +
                       ", A is " + dtypeStr(ctx.inputs[0].dtype));
    }
  }
  ctx.outputs[0] = ValueDesc{ctx.inputs[0].dtype, {dims.m, dims.n}, Layout::kPlain};
  return Status::ok();
}

Result<std::unique_ptr<Kernel>> makeRefGemm(const NodeContext& ctx, std::string* why_not) {
  if (widen::needsWidening(ctx)) return widen::widened(ctx, why_not, &makeRefGemm);
  const DType dtype = ctx.inputs[0].dtype;
  if (!isGemmFloat(dtype)) {
    *why_not = "the reference Gemm computes float32, float64, float16 and bfloat16 only, not " +
               dtypeStr(dtype);
    return std::unique_ptr<Kernel>();
  }
  DS_ASSIGN_OR_RETURN(GemmDims dims, gemmDims(ctx));
  const bool trans_a = ctx.node->intOr("transA", 0) != 0;
  const bool trans_b = ctx.node->intOr("transB", 0) != 0;
  const double alpha = ctx.node->floatOr("alpha", 1.0f);
  const double beta = ctx.node->floatOr("beta", 1.0f);
  const bool has_c = ctx.hasInput(2);
  std::vector<int64_t> c_strides{0, 0};
  if (has_c) c_strides = broadcastStrides(ctx.inputs[2].shape, {dims.m, dims.n});
  if (dtype == DType::kFloat32) {
    return std::unique_ptr<Kernel>(
        std::make_unique<GemmKernel<float>>(dims, trans_a, trans_b, static_cast<float>(alpha),
                                            static_cast<float>(beta), has_c, c_strides));
  }
  return std::unique_ptr<Kernel>(
      std::make_unique<GemmKernel<double>>(dims, trans_a, trans_b, alpha, beta, has_c, c_strides));
}

// ---- MatMul / MatMulInteger geometry -------------------------------------------------------

namespace {

// numpy matmul of A [..., M, K] and B [..., K, N]: 1-D operands are promoted ([K] -> [1, K]
// for A, [K] -> [K, 1] for B) and the promoted dim dropped from the result; batch dims
// broadcast. Offsets of every output batch into A and B are computed once here.
struct MatMulPlan {
  int64_t m = 0;
  int64_t k = 0;
  int64_t n = 0;
  Shape out;
  Shape batch;                 // broadcast batch dims
  std::vector<int64_t> a_off;  // element offset of each output batch's A matrix
  std::vector<int64_t> b_off;
};

Result<MatMulPlan> planMatMul(const NodeContext& ctx) {
  if (!ctx.hasInput(0) || !ctx.hasInput(1)) return ctx.error("A and B are required");
  Shape a = ctx.inputs[0].shape;
  Shape b = ctx.inputs[1].shape;
  if (a.empty() || b.empty()) return ctx.error("A and B must have rank >= 1");
  const bool a_vec = a.size() == 1;
  const bool b_vec = b.size() == 1;
  if (a_vec) a.insert(a.begin(), 1);
  if (b_vec) b.push_back(1);
  MatMulPlan p;
  p.m = a[a.size() - 2];
  p.k = a[a.size() - 1];
  p.n = b[b.size() - 1];
  if (b[b.size() - 2] != p.k) {
    return ctx.error("inner dims differ: A " + shapeToString(ctx.inputs[0].shape) + ", B " +
                     shapeToString(ctx.inputs[1].shape));
  }
  const Shape a_batch(a.begin(), a.end() - 2);
  const Shape b_batch(b.begin(), b.end() - 2);
  const std::optional<Shape> batch = broadcastShapes({a_batch, b_batch});
  if (!batch) {
    return ctx.error("batch dims of A " + shapeToString(ctx.inputs[0].shape) + " and B " +
                     shapeToString(ctx.inputs[1].shape) + " do not broadcast");
  }
  p.batch = *batch;
  p.out = p.batch;
  if (!a_vec) p.out.push_back(p.m);
  if (!b_vec) p.out.push_back(p.n);
  const std::vector<int64_t> a_strides = broadcastStrides(a_batch, p.batch);
  const std::vector<int64_t> b_strides = broadcastStrides(b_batch, p.batch);
  const int64_t count = shapeNumel(p.batch);
  p.a_off.reserve(static_cast<size_t>(count));
  p.b_off.reserve(static_cast<size_t>(count));
  const std::vector<int64_t> strides[2] = {a_strides, b_strides};
  forEachBroadcast(p.batch, strides, [&](int64_t, const int64_t* offsets) {
    p.a_off.push_back(offsets[0] * p.m * p.k);
    p.b_off.push_back(offsets[1] * p.k * p.n);
  });
  return p;
}

// C[M, N] = A[M, K] * B[K, N] with Acc accumulation; zero points subtracted when kZeroPoints.
template <class Acc, class TA, class TB, bool kZeroPoints>
void matmulBlock(const TA* a, const TB* b, Acc* c, int64_t m, int64_t k, int64_t n,
                 const void* a_zp, int64_t a_zp_row_stride, const void* b_zp,
                 int64_t b_zp_col_stride) {
  for (int64_t i = 0; i < m; ++i) {
    Acc* row = c + i * n;
    for (int64_t j = 0; j < n; ++j) row[j] = 0;
    Acc azp = 0;
    if constexpr (kZeroPoints) {
      if (a_zp) azp = static_cast<const TA*>(a_zp)[i * a_zp_row_stride];
    }
    for (int64_t p = 0; p < k; ++p) {
      const Acc av = static_cast<Acc>(a[i * k + p]) - azp;
      const TB* brow = b + p * n;
      if constexpr (kZeroPoints) {
        if (b_zp) {
          const TB* bzp = static_cast<const TB*>(b_zp);
          for (int64_t j = 0; j < n; ++j) {
            row[j] += av * (static_cast<Acc>(brow[j]) - static_cast<Acc>(bzp[j * b_zp_col_stride]));
          }
          continue;
        }
      }
      for (int64_t j = 0; j < n; ++j) row[j] += av * static_cast<Acc>(brow[j]);
    }
  }
}

template <class T>
class MatMulKernel final : public Kernel {
 public:
  explicit MatMulKernel(MatMulPlan plan) : p_(std::move(plan)) {}
  void run(const KernelArgs& args) override {
    const T* a = static_cast<const T*>(args.inputs[0]);
    const T* b = static_cast<const T*>(args.inputs[1]);
    T* c = static_cast<T*>(args.outputs[0]);
    for (size_t i = 0; i < p_.a_off.size(); ++i) {
      matmulBlock<T, T, T, false>(a + p_.a_off[i], b + p_.b_off[i], c + i * p_.m * p_.n, p_.m, p_.k,
                                  p_.n, nullptr, 0, nullptr, 0);
    }
  }

 private:
  MatMulPlan p_;
};

template <class T>
std::unique_ptr<Kernel> makeMatMul(MatMulPlan plan) {
  return std::make_unique<MatMulKernel<T>>(std::move(plan));
}

}  // namespace

// ---- MatMul --------------------------------------------------------------------------------

Status inferMatMul(NodeContext& ctx) {
  DS_ASSIGN_OR_RETURN(MatMulPlan plan, planMatMul(ctx));
  if (ctx.inputs[1].dtype != ctx.inputs[0].dtype) {
    return ctx.error("A is " + dtypeStr(ctx.inputs[0].dtype) + ", B is " +
                     dtypeStr(ctx.inputs[1].dtype));
  }
  ctx.outputs[0] = ValueDesc{ctx.inputs[0].dtype, plan.out, Layout::kPlain};
  return Status::ok();
}

Result<std::unique_ptr<Kernel>> makeRefMatMul(const NodeContext& ctx, std::string* why_not) {
  if (widen::needsWidening(ctx)) return widen::widened(ctx, why_not, &makeRefMatMul);
  DS_ASSIGN_OR_RETURN(MatMulPlan plan, planMatMul(ctx));
  switch (ctx.inputs[0].dtype) {
    case DType::kFloat32:
      return makeMatMul<float>(std::move(plan));
    case DType::kFloat64:
      return makeMatMul<double>(std::move(plan));
    case DType::kInt32:
      return makeMatMul<int32_t>(std::move(plan));
    case DType::kInt64:
      return makeMatMul<int64_t>(std::move(plan));
    case DType::kUInt32:
      return makeMatMul<uint32_t>(std::move(plan));
    case DType::kUInt64:
      return makeMatMul<uint64_t>(std::move(plan));
    default:
      *why_not =
          "the reference MatMul computes float32, float64, float16, bfloat16 and 32/64-bit "
          "integers, not " +
          dtypeStr(ctx.inputs[0].dtype);
      return std::unique_ptr<Kernel>();
  }
}

// ---- MatMulInteger -------------------------------------------------------------------------

namespace {

bool isInt8Like(DType d) {
  return d == DType::kUInt8 || d == DType::kInt8;
}

// Zero-point layout of MatMulInteger: per tensor (one element), per row of A ([M], or
// [..., M, 1]) / per column of B ([N], or [..., 1, N]). `row_stride` steps along M (A) or N (B);
// `batch_off` gives each output batch's first zero point.
struct ZeroPointPlan {
  bool present = false;
  int64_t row_stride = 0;
  std::vector<int64_t> batch_off;
};

Result<ZeroPointPlan> planZeroPoint(const NodeContext& ctx, const MatMulPlan& p, size_t input,
                                    bool for_a) {
  ZeroPointPlan z;
  if (!ctx.hasInput(input)) return z;
  z.present = true;
  const ValueDesc& zp = ctx.inputs[input];
  const ValueDesc& data = ctx.inputs[for_a ? 0 : 1];
  const char* name = for_a ? "a_zero_point (input 2)" : "b_zero_point (input 3)";
  if (zp.dtype != data.dtype) {
    return ctx.error(std::string(name) + " is " + dtypeStr(zp.dtype) + ", its data is " +
                     dtypeStr(data.dtype));
  }
  z.batch_off.assign(p.a_off.size(), 0);
  if (zp.numel() == 1) return z;
  const int64_t len = for_a ? p.m : p.n;
  // Normalise to [..., M, 1] for A and [..., 1, N] for B, then broadcast over the batch.
  Shape shape = zp.shape;
  if (shape.size() == 1) shape = for_a ? Shape{shape[0], 1} : Shape{1, shape[0]};
  const bool fits = shape.size() >= 2 && shape.size() <= p.batch.size() + 2 &&
                    shape[shape.size() - (for_a ? 1 : 2)] == 1 &&
                    shape[shape.size() - (for_a ? 2 : 1)] == len;
  const Shape zp_batch(shape.begin(), shape.end() - std::min<size_t>(shape.size(), 2));
  const std::optional<Shape> bc = broadcastShapes({zp_batch, p.batch});
  if (!fits || !bc || *bc != p.batch) {
    return ctx.error(std::string(name) + " " + shapeToString(zp.shape) +
                     " is neither a scalar nor per " + (for_a ? "row of A" : "column of B"));
  }
  z.row_stride = 1;
  const std::vector<int64_t> strides[1] = {broadcastStrides(zp_batch, p.batch)};
  size_t i = 0;
  forEachBroadcast(p.batch, strides,
                   [&](int64_t, const int64_t* offsets) { z.batch_off[i++] = offsets[0] * len; });
  return z;
}

template <class TA, class TB>
class MatMulIntegerKernel final : public Kernel {
 public:
  MatMulIntegerKernel(MatMulPlan plan, ZeroPointPlan a_zp, ZeroPointPlan b_zp)
      : p_(std::move(plan)), a_zp_(std::move(a_zp)), b_zp_(std::move(b_zp)) {}

  void run(const KernelArgs& args) override {
    const TA* a = static_cast<const TA*>(args.inputs[0]);
    const TB* b = static_cast<const TB*>(args.inputs[1]);
    const TA* a_zp = a_zp_.present ? static_cast<const TA*>(args.inputs[2]) : nullptr;
    const TB* b_zp = b_zp_.present ? static_cast<const TB*>(args.inputs[3]) : nullptr;
    int32_t* c = static_cast<int32_t*>(args.outputs[0]);
    for (size_t i = 0; i < p_.a_off.size(); ++i) {
      matmulBlock<int32_t, TA, TB, true>(
          a + p_.a_off[i], b + p_.b_off[i], c + i * p_.m * p_.n, p_.m, p_.k, p_.n,
          a_zp ? a_zp + a_zp_.batch_off[i] : nullptr, a_zp_.row_stride,
          b_zp ? b_zp + b_zp_.batch_off[i] : nullptr, b_zp_.row_stride);
    }
  }

 private:
  MatMulPlan p_;
  ZeroPointPlan a_zp_;
  ZeroPointPlan b_zp_;
};

template <class TA>
std::unique_ptr<Kernel> makeMatMulInteger(DType b_dtype, MatMulPlan plan, ZeroPointPlan a_zp,
                                          ZeroPointPlan b_zp) {
  if (b_dtype == DType::kUInt8) {
    return std::make_unique<MatMulIntegerKernel<TA, uint8_t>>(std::move(plan), std::move(a_zp),
                                                              std::move(b_zp));
  }
  return std::make_unique<MatMulIntegerKernel<TA, int8_t>>(std::move(plan), std::move(a_zp),
                                                           std::move(b_zp));
}

}  // namespace

Status inferMatMulInteger(NodeContext& ctx) {
  DS_ASSIGN_OR_RETURN(MatMulPlan plan, planMatMul(ctx));
  if (!isInt8Like(ctx.inputs[0].dtype) || !isInt8Like(ctx.inputs[1].dtype)) {
    return ctx.error("A and B must be uint8 or int8, they are " + dtypeStr(ctx.inputs[0].dtype) +
                     " and " + dtypeStr(ctx.inputs[1].dtype));
  }
  DS_RETURN_IF_ERROR(planZeroPoint(ctx, plan, 2, true).status());
  DS_RETURN_IF_ERROR(planZeroPoint(ctx, plan, 3, false).status());
  ctx.outputs[0] = ValueDesc{DType::kInt32, plan.out, Layout::kPlain};
  return Status::ok();
}

Result<std::unique_ptr<Kernel>> makeRefMatMulInteger(const NodeContext& ctx,
                                                     std::string* /*why_not*/) {
  DS_ASSIGN_OR_RETURN(MatMulPlan plan, planMatMul(ctx));
  DS_ASSIGN_OR_RETURN(ZeroPointPlan a_zp, planZeroPoint(ctx, plan, 2, true));
  DS_ASSIGN_OR_RETURN(ZeroPointPlan b_zp, planZeroPoint(ctx, plan, 3, false));
  if (ctx.inputs[0].dtype == DType::kUInt8) {
    return makeMatMulInteger<uint8_t>(ctx.inputs[1].dtype, std::move(plan), std::move(a_zp),
                                      std::move(b_zp));
  }
  return makeMatMulInteger<int8_t>(ctx.inputs[1].dtype, std::move(plan), std::move(a_zp),
                                   std::move(b_zp));
}

}  // namespace detslim
