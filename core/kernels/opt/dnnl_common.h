#pragma once
// The oneDNN kernels (core/kernels/opt/dnnl_*.cpp) and their contract with the engine.
//
// Kernels: f32 Conv, FusedConv, ConvTranspose (2-D), MaxPool, AveragePool, GlobalAveragePool
// (2-D), Gemm and MatMul, and the INT8 QConv (u8 / s8 x s8, dnnl_qconv.cpp; its output is u8,
// s8 or f32 as y_type says), each a oneDNN primitive created once per node. Every factory refuses
// (nullptr + why_not) what oneDNN cannot do exactly or fast: a dtype other than f32, another
// rank, a CPU without AVX2 (CpuFeatures::baseline() forces the reference path in tests), weights
// not known at compile time, attributes without a oneDNN equivalent, and any configuration for
// which oneDNN would only offer its slow reference implementation ("ref:any").
//
// CONTRACT WITH THE ENGINE (core/engine)
//
// Layouts. Convolutions keep 4-D activations in kDnnlActivationLayout (measured:
// docs/engine-layout.md).
//  - ctx.inputs[0].layout is read as the layout the producer delivers. A convolution takes it
//    when oneDNN has a fast kernel for it, otherwise it asks for another one via inputLayout(0)
//    and the engine inserts a reorder. Pools take any of the three layouts as delivered.
//  - outputLayout(0) is kDnnlActivationLayout for convolutions (whatever the input), the input
//    layout for pools, kPlain for Gemm / MatMul (which also want kPlain inputs).
//  - FusedConv's Sum input (3) must come in the output's layout: inputLayout(3) ==
//    outputLayout(0).
//  - To ask for specific layouts (e.g. plain output for a conv feeding a Reshape), call
//    makeDnnlKernelWithLayouts() below instead of the registry's factory. A convolution asked
//    for an output layout oneDNN has no fast kernel for (nhwc > plain is its scalar reference,
//    plain > plain its im2col GEMM, 8x slower) convolves into NHWC inside its scratch and
//    reorders into the output in the same run(): same cost as a separate reorder step, never
//    the slow paths. Not available with a Sum input (refused instead).
//  - Blocked (nChw16c) buffers are ValueDesc::bytes() long (channels padded to 16) and the
//    padded lanes hold zeros: the kernels write zeros there on outputs, and oneDNN re-zeroes
//    them on inputs when it binds a buffer (a write into padding only).
//
// In-place residual. FusedConv with a Sum input reports inPlaceInput() == 3 when it accumulates
// into dst (oneDNN's sum post-op). If the engine gives output 0 the Sum buffer itself (Sum dies
// at this node), run() skips the copy; otherwise run() first copies Sum into the output buffer
// (one pass over the tensor). inPlaceInput() == -1 means Sum is read as an ordinary input
// (oneDNN binary post-op) and must NOT share the output's buffer. Never alias the output with
// Sum when Sum is the same value as X (x + act(conv(x))): the convolution still reads X while it
// writes. Aliasing is an optimisation only: both ways give the same result.
//
// Scratch. scratchBytes() is oneDNN's scratchpad for the primitive (user-managed scratchpad
// mode), plus the staged output when a convolution reorders inside run(); KernelArgs::scratch
// must point at that many bytes, 64-byte aligned, for the duration of run(). Kernels may share
// one scratch buffer since they run one after another. Nothing is allocated in run().
//
// Threads. oneDNN runs on OpenMP. Its JIT kernels fix their work split when the primitive is
// created, so every kernel is created with omp threads = ctx.num_threads (set for the creation
// only, then restored) and must run with omp_set_num_threads(ctx.num_threads) in effect, which
// Plan::run does. run() does nothing about threads. A plan runs from one thread at a time: each
// kernel owns its oneDNN stream and memory objects, which run() re-points at the buffers.
//
// Profiling. Every oneDNN kernel derives from DnnlKernel; detail() names oneDNN's
// implementation and the layouts, e.g. "brgconv:avx512_core nhwc>nhwc", so the profiler can show
// "f32_conv_dnnl brgconv:avx512_core nhwc>nhwc".

#include <memory>
#include <optional>
#include <string>

#include "core/kernels/kernel.h"

namespace detslim {

// Where convolutions keep 4-D activations (docs/engine-layout.md has the measurements).
inline constexpr Layout kDnnlActivationLayout = Layout::kNhwc;

class DnnlKernel : public Kernel {
 public:
  // oneDNN's implementation name (impl_info_str) and the src>dst layouts.
  std::string detail() const override = 0;
  // True when the primitive computes in bf16 (EngineOptions::compute; its profile name is
  // bf16_*_dnnl).
  virtual bool computesInBf16() const { return false; }
};

// Layouts the engine asks of a oneDNN kernel; nullopt leaves the choice to the kernel (as the
// registry's factories do).
struct DnnlLayoutRequest {
  std::optional<Layout> src;  // input 0 (and nothing else: weights are packed at create)
  std::optional<Layout> dst;  // output 0 (and FusedConv's Sum input)
};

// Creates the oneDNN kernel of a Conv, FusedConv, QConv, ConvTranspose, MaxPool, AveragePool or
// GlobalAveragePool node with the requested layouts. nullptr + why_not when the op or the
// layouts are not supported (including when oneDNN only has its reference implementation for
// them); an error Status when the node is invalid. ctx.outputs must have been filled by the op's
// shape function.
Result<std::unique_ptr<Kernel>> makeDnnlKernelWithLayouts(const NodeContext& ctx,
                                                          const DnnlLayoutRequest& request,
                                                          std::string* why_not);

}  // namespace detslim
