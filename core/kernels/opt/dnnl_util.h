#pragma once
// Plumbing shared by the oneDNN kernels (private to core/kernels/opt): the engine, layout tags,
// the CPU gate, thread scoping at creation, geometry from ONNX attributes, and the runner that
// owns a primitive with its memory objects.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <dnnl.hpp>

#include "core/kernels/opt/dnnl_common.h"

namespace detslim::dnnl_util {

using dnnl::memory;

// The process-wide CPU engine (cheap to share; creating one per kernel costs nothing useful).
dnnl::engine& cpuEngine();

// format_tag of a 4-D activation in `layout`.
memory::format_tag activationTag(Layout layout);

// Refusal helper: sets *why_not and returns the empty kernel pointer factories return.
inline Result<std::unique_ptr<Kernel>> refuse(std::string* why_not, std::string reason) {
  *why_not = std::move(reason);
  return std::unique_ptr<Kernel>();
}

// Empty when the CPU and the node's tensors suit the oneDNN f32 kernels: AVX2 at least (below
// that oneDNN only has slow paths, and tests force the reference by CpuFeatures::baseline()),
// and every present input / output 0 float32. Otherwise the reason.
std::string checkF32AndCpu(const NodeContext& ctx);

// Sets omp threads to ctx.num_threads while primitives are created (their JIT kernels fix the
// work split then) and restores the caller's setting.
class CreationThreads {
 public:
  explicit CreationThreads(int num_threads);
  ~CreationThreads();
  CreationThreads(const CreationThreads&) = delete;
  CreationThreads& operator=(const CreationThreads&) = delete;

 private:
  int saved_;
};

// oneDNN's implementation name of a primitive descriptor, e.g. "brgconv:avx512_core".
std::string implName(const dnnl::primitive_desc_base& pd);
// oneDNN's reference implementations ("ref:any", "ref_fused...") are scalar loops, slower than
// DetSlim's own reference: never accept them.
bool isReferenceImpl(const std::string& impl);
// im2col + GEMM ("x64:gemm:jit"): correct but 5-10x slower than the direct JIT convolutions.
bool isGemmConvImpl(const std::string& impl);

// Padding of one spatial axis as oneDNN wants it: begin and end such that
// out = (in + begin + end - span) / stride + 1 exactly.
struct AxisPads {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t declared_end = 0;  // what the attributes say (ceil_mode can need more)
};

// Pads of a Conv / pooling node along `axis` (0 = H, 1 = W) from auto_pad / pads, the end pad
// adjusted to the output size the shape function inferred (ceil_mode, floor rounding); `end`
// may come out negative (the caller refuses that). Error when the attributes are malformed.
Result<AxisPads> windowPads(const NodeContext& ctx, int64_t in, int64_t out, int64_t kernel,
                            int64_t stride, int64_t dilation, size_t axis);

// A spatial attribute with two values (H, W), `def` when absent; error when it has another count.
Result<std::vector<int64_t>> spatialAttr2(const NodeContext& ctx, const char* name, int64_t def);

// Copies constant `data` (described by `user`) into a new buffer in oneDNN's packed format
// `packed` (weights reordered once at create).
memory packConstant(const void* data, const memory::desc& user, const memory::desc& packed);

// A created primitive with its arguments. Memory objects are created once without buffers and
// re-pointed in run(); nothing is allocated per execution.
class PrimitiveRunner {
 public:
  PrimitiveRunner() = default;
  PrimitiveRunner(dnnl::primitive primitive, const dnnl::primitive_desc_base& pd);

  // An argument whose buffer is bound per run (src, dst, runtime weights, post-op inputs).
  memory& bindable(int arg, const memory::desc& md);
  // An argument fixed at create (packed weights, bias, constant post-op inputs).
  void fixed(int arg, const memory& mem);
  size_t scratchBytes() const { return scratch_bytes_; }
  // Executes with the scratchpad at `scratch` (ignored when the primitive needs none). Call
  // inside guarded().
  void execute(void* scratch);

 private:
  dnnl::primitive primitive_;
  dnnl::stream stream_;
  std::unordered_map<int, memory> args_;
  memory scratch_;
  size_t scratch_bytes_ = 0;
};

// Runs fn (binding buffers, executing) where a dnnl::error cannot escape: Kernel::run cannot
// fail, and everything oneDNN checks was checked when the primitive was created with these very
// descriptors, so an error here is a DetSlim bug: report it and abort rather than return garbage.
[[noreturn]] void dieOnDnnlError(const dnnl::error& e);
template <class Fn>
void guarded(Fn&& fn) {
  try {
    fn();
  } catch (const dnnl::error& e) {
    dieOnDnnlError(e);
  }
}

// Scratch pieces a kernel lays out one after another start on 64-byte boundaries.
inline constexpr size_t kScratchAlignment = 64;
inline size_t alignUp(size_t bytes) {
  return (bytes + kScratchAlignment - 1) / kScratchAlignment * kScratchAlignment;
}

// "nhwc>plain": a kernel's layouts as the profiler shows them.
inline std::string layoutPair(Layout src, Layout dst) {
  return std::string(layoutName(src)) + ">" + std::string(layoutName(dst));
}

// Points a memory object at a buffer. oneDNN's API takes void*; inputs are only read (apart from
// re-zeroing a blocked layout's padding, which holds zeros anyway).
inline void bind(memory& mem, const void* data) {
  mem.set_data_handle(const_cast<void*>(data));
}

// How a convolution's residual Sum input enters: oneDNN's sum post-op accumulates into dst (Sum
// is first copied there unless it already is the dst buffer; Sum and Y need one element size); a
// binary_add post-op reads it in place of that copy. Only the former lets the engine share the
// Sum buffer with the output.
enum class Residual { kNone, kSumPostOp, kBinaryAdd };

// The output side the f32 / bf16 (dnnl_conv.cpp) and int8 (dnnl_qconv.cpp) convolution kernels
// share: the residual Sum, and an optional staged output — the convolution writes its dst into
// scratch after the scratchpad, then a reorder writes the layout the readers want. Scratch:
// the scratchpad (convolution, reorder and any other step of the kernel run one after the other,
// so they share it), then the staged output.
class ConvOutput {
 public:
  // Binds conv's dst and, for kBinaryAdd, the Sum as src1 of post-op `binary_index` (sum_md).
  void bind(PrimitiveRunner& conv, const memory::desc& dst_md, Residual residual,
            const memory::desc& sum_md, int binary_index);
  // Stages the output: conv writes dst_md into scratch, a reorder writes out_md. Returns what the
  // profiler adds to the kernel's detail, e.g. " >plain (reorder jit:uni)".
  std::string stage(const memory::desc& out_md, Layout out_layout);
  // Makes the scratchpad large enough for another step of the kernel too.
  void shareScratchpad(size_t bytes) { scratchpad_bytes_ = alignUp(std::max(scratchpad_bytes_, bytes)); }

  Residual residual() const { return residual_; }
  size_t scratchpadBytes() const { return scratchpad_bytes_; }
  size_t stagedBytes() const { return staged_bytes_; }
  size_t scratchBytes() const { return scratchpad_bytes_ + staged_bytes_; }

  // Runs conv (its src already bound) into `out`; `sum` is the residual (ignored without one).
  // Call inside guarded().
  void run(PrimitiveRunner& conv, const void* sum, void* out, void* scratch);

 private:
  PrimitiveRunner reorder_;  // only when staged
  memory::desc dst_md_;
  memory* dst_ = nullptr;
  memory* residual_mem_ = nullptr;
  memory* staged_src_ = nullptr;
  memory* out_ = nullptr;
  Residual residual_ = Residual::kNone;
  size_t dst_bytes_ = 0;
  size_t scratchpad_bytes_ = 0;
  size_t staged_bytes_ = 0;  // 0: the convolution writes the output directly
};

}  // namespace detslim::dnnl_util

namespace detslim::dnnl_internal {

// The factories behind makeDnnlKernelWithLayouts and the registry's entries (dnnl_conv.cpp,
// dnnl_pool.cpp).
Result<std::unique_ptr<Kernel>> makeConv(const NodeContext& ctx, const DnnlLayoutRequest& request,
                                         std::string* why_not);
Result<std::unique_ptr<Kernel>> makeConvTranspose(const NodeContext& ctx,
                                                  const DnnlLayoutRequest& request,
                                                  std::string* why_not);
Result<std::unique_ptr<Kernel>> makePool(const NodeContext& ctx, const DnnlLayoutRequest& request,
                                         std::string* why_not);
Result<std::unique_ptr<Kernel>> makeQConv(const NodeContext& ctx, const DnnlLayoutRequest& request,
                                          std::string* why_not);  // dnnl_qconv.cpp

}  // namespace detslim::dnnl_internal
