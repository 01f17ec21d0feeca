// Differential tests of the oneDNN kernels (core/kernels/opt/dnnl_*.cpp) against the reference
// kernels of the same ops, on seeded random data with odd sizes (13 channels, 7x9 images),
// groups, strides, dilations, asymmetric pads, every fused activation, both residual orders, and
// every activation layout. Optimised outputs in nhwc / nChw16c are reordered back to plain with
// oneDNN before comparing.

#include <gtest/gtest.h>

#include <dnnl.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/kernels/opt/dnnl_common.h"
#include "core/kernels/ref_test_util.h"
#include "core/kernels/registry.h"
#include "core/kernels/opt/dnnl_test_util.h"

namespace detslim {
namespace {

using testing::kKernelTestSeed;
using testing::makeNode;
using testing::randomFloats;

// |optimised - reference| <= kTolerance * max(1, |reference|). Both accumulate in f32, in
// different orders (oneDNN blocks over channels and taps, the reference runs tap by tap), and
// oneDNN's exp / tanh behind sigmoid, swish and tanh are vectorised approximations within a few
// ulp: with at most ~150 terms of magnitude <= 1 per output, the differences measured stay below
// 1e-5, so 1e-4 passes every correct kernel and fails any wrong index or missing term.
constexpr float kTolerance = 1e-4f;

constexpr int64_t kOpset = 17;

// ---- Buffers in any layout ---------------------------------------------------------------------

struct AlignedDeleter {
  void operator()(std::byte* p) const { ::operator delete[](p, std::align_val_t{64}); }
};
using AlignedBuffer = std::unique_ptr<std::byte[], AlignedDeleter>;

AlignedBuffer allocate(size_t bytes, std::byte fill) {
  AlignedBuffer buffer(new (std::align_val_t{64}) std::byte[std::max<size_t>(bytes, 64)]);
  std::memset(buffer.get(), static_cast<int>(fill), std::max<size_t>(bytes, 64));
  return buffer;
}

dnnl::memory::format_tag tagOf(Layout layout) {
  switch (layout) {
    case Layout::kPlain:
      return dnnl::memory::format_tag::nchw;
    case Layout::kNhwc:
      return dnnl::memory::format_tag::nhwc;
    case Layout::kNChw16c:
      return dnnl::memory::format_tag::nChw16c;
  }
  return dnnl::memory::format_tag::undef;
}

void reorder4d(const Shape& shape, Layout from, const void* src, Layout to, void* dst) {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  const dnnl::memory::dims dims(shape.begin(), shape.end());
  dnnl::memory src_mem({dims, dnnl::memory::data_type::f32, tagOf(from)}, engine,
                       const_cast<void*>(src));
  dnnl::memory dst_mem({dims, dnnl::memory::data_type::f32, tagOf(to)}, engine, dst);
  dnnl::stream stream(engine);
  dnnl::reorder(src_mem, dst_mem).execute(stream, src_mem, dst_mem);
  stream.wait();
}

// A copy of plain tensor `t` in `layout` (ValueDesc::bytes() long, blocked padding zeroed).
AlignedBuffer toLayout(const Tensor& t, Layout layout) {
  const ValueDesc desc{t.dtype(), t.shape(), layout};
  AlignedBuffer buffer = allocate(desc.bytes(), std::byte{0});
  if (layout == Layout::kPlain) {
    std::memcpy(buffer.get(), t.raw(), t.bytes());
  } else {
    reorder4d(t.shape(), Layout::kPlain, t.raw(), layout, buffer.get());
  }
  return buffer;
}

Tensor fromLayout(const void* data, const Shape& shape, Layout layout) {
  Tensor t(DType::kFloat32, shape);
  if (layout == Layout::kPlain) {
    std::memcpy(t.rawMutable(), data, t.bytes());
  } else {
    reorder4d(shape, layout, data, Layout::kPlain, t.rawMutable());
  }
  return t;
}

// ---- Running the optimised kernel --------------------------------------------------------------

struct OptOptions {
  Layout src_hint = Layout::kPlain;          // the layout "the producer delivers" input 0 in
  std::vector<size_t> runtime_inputs = {0};  // the others are constants at compile time
  int num_threads = 1;
  bool in_place_sum = false;                 // give output 0 the Sum (input 3) buffer
  std::optional<DnnlLayoutRequest> request;  // makeDnnlKernelWithLayouts instead of the registry
};

struct OptResult {
  std::string impl;    // the registry's implementation name
  std::string detail;  // DnnlKernel::detail()
  Layout src_layout = Layout::kPlain;
  Layout dst_layout = Layout::kPlain;
  Tensor output;  // plain
};

bool isRuntime(const OptOptions& options, size_t i) {
  return std::find(options.runtime_inputs.begin(), options.runtime_inputs.end(), i) !=
         options.runtime_inputs.end();
}

// Creates the node's kernel through the registry (or the layout request) and runs it twice on
// fresh buffers. nullopt (with the reason in *why_not) when no oneDNN kernel accepts.
std::optional<OptResult> runOptimised(const Node& node, const std::vector<Tensor>& inputs,
                                      const OptOptions& options, std::string* why_not) {
  NodeContext ctx;
  ctx.node = &node;
  ctx.opset = kOpset;
  ctx.num_threads = options.num_threads;
  ctx.cpu = CpuFeatures::host();
  for (size_t i = 0; i < inputs.size(); ++i) {
    const bool activation = inputs[i].rank() == 4 && (i == 0 || i == 3);
    const Layout layout = activation ? options.src_hint : Layout::kPlain;
    ctx.inputs.push_back(inputs[i].defined()
                             ? ValueDesc{inputs[i].dtype(), inputs[i].shape(), layout}
                             : ValueDesc{});
    ctx.constants.push_back(inputs[i].defined() && !isRuntime(options, i) ? &inputs[i] : nullptr);
  }
  OptResult result;
  std::optional<testing::OptimisedKernel> made = testing::makeOptimisedKernel(ctx, options.request, why_not);
  if (!made) return std::nullopt;
  std::unique_ptr<Kernel> kernel = std::move(made->kernel);
  result.impl = made->impl;
  result.detail = made->detail;
  result.src_layout = kernel->inputLayout(0);
  result.dst_layout = kernel->outputLayout(0);
  const Shape& out_shape = ctx.outputs[0].shape;
  const ValueDesc out_desc{DType::kFloat32, out_shape, result.dst_layout};
  if (inputs.size() > 3 && inputs[3].defined()) {
    EXPECT_EQ(kernel->inputLayout(3), result.dst_layout) << "Sum comes in the output's layout";
  }
  // Twice, on fresh buffers each time: memory objects must be re-pointed on every run.
  for (int pass = 0; pass < 2; ++pass) {
    std::vector<AlignedBuffer> in_buffers;
    std::vector<const void*> in_ptrs;
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (!inputs[i].defined()) {
        in_buffers.emplace_back();
        in_ptrs.push_back(nullptr);
        continue;
      }
      const Layout layout =
          inputs[i].rank() == 4 && isRuntime(options, i) ? kernel->inputLayout(i) : Layout::kPlain;
      in_buffers.push_back(toLayout(inputs[i], layout));
      in_ptrs.push_back(in_buffers.back().get());
    }
    // NaN-filled output: any element the kernel does not write fails the comparison.
    AlignedBuffer out_buffer = allocate(out_desc.bytes(), std::byte{0xFF});
    void* out_ptr = out_buffer.get();
    if (options.in_place_sum) {
      EXPECT_EQ(kernel->inPlaceInput(), 3);
      out_ptr = const_cast<void*>(in_ptrs[3]);
    }
    std::vector<void*> out_ptrs = {out_ptr};
    AlignedBuffer scratch = allocate(kernel->scratchBytes(), std::byte{0xFF});
    kernel->run(KernelArgs{in_ptrs, out_ptrs, scratch.get()});
    result.output = fromLayout(out_ptr, out_shape, result.dst_layout);
  }
  return result;
}

Tensor runReference(const Node& node, const std::vector<Tensor>& inputs) {
  Result<std::vector<Tensor>> out = runNode(node, kOpset, inputs, /*reference_only=*/true);
  EXPECT_TRUE(out.isOk()) << out.status().message();
  return out.isOk() ? out.value()[0] : Tensor();
}

// DETSLIM_TEST_VERBOSE=1 prints which oneDNN implementation and layouts each case got.
void logChoice(const std::string& what) {
  static const bool verbose = std::getenv("DETSLIM_TEST_VERBOSE") != nullptr;
  if (verbose) std::printf("  %s\n", what.c_str());
}

void expectClose(const Tensor& expected, const Tensor& actual, const std::string& what) {
  logChoice(what);
  ASSERT_EQ(expected.shape(), actual.shape()) << what;
  const float* e = expected.data<float>();
  const float* a = actual.data<float>();
  int64_t bad = 0;
  float worst = 0.0f;
  for (int64_t i = 0; i < expected.numel(); ++i) {
    const float err = std::fabs(e[i] - a[i]) / std::max(1.0f, std::fabs(e[i]));
    if (!(err <= kTolerance)) {
      if (++bad <= 3) {
        ADD_FAILURE() << what << ": element " << i << " is " << a[i] << ", expected " << e[i];
      }
    }
    if (err > worst || std::isnan(err)) worst = err;
  }
  EXPECT_EQ(bad, 0) << what << ": " << bad << " of " << expected.numel()
                    << " elements differ; worst relative error " << worst;
}

// Runs the optimised kernel (expecting `impl` to accept) and compares with the reference.
// Returns the optimised run for further checks.
std::optional<OptResult> checkAgainstReference(const Node& node, const std::vector<Tensor>& inputs,
                                               const OptOptions& options, const std::string& impl) {
  std::string why_not;
  std::optional<OptResult> opt = runOptimised(node, inputs, options, &why_not);
  if (!opt) {
    ADD_FAILURE() << node.op_type << ": the oneDNN kernel refused: " << why_not;
    return std::nullopt;
  }
  if (!options.request) {
    EXPECT_EQ(opt->impl, impl);
  }
  const Tensor expected = runReference(node, inputs);
  expectClose(expected, opt->output,
              node.op_type + " [" + opt->detail + ", hint " +
                  std::string(layoutName(options.src_hint)) + "]");
  return opt;
}

// The reason the registry's oneDNN implementation refused (the reference took the node).
std::string refusalOf(const Node& node, const std::vector<Tensor>& inputs,
                      const OptOptions& options = {}) {
  std::string why_not;
  std::optional<OptResult> opt = runOptimised(node, inputs, options, &why_not);
  EXPECT_FALSE(opt.has_value()) << "expected a refusal, got " << (opt ? opt->detail : "");
  return why_not;
}

constexpr Layout kAllLayouts[] = {Layout::kPlain, Layout::kNhwc, Layout::kNChw16c};

// ---- Conv / FusedConv --------------------------------------------------------------------------

struct ConvCase {
  const char* name;
  Shape x;
  Shape w;
  bool bias;
  std::vector<Attribute> attrs;
};

std::vector<ConvCase> convCases() {
  using A = Attribute;
  return {
      {"3x3_pad1", {1, 13, 7, 9}, {16, 13, 3, 3}, true, {A::makeInts("pads", {1, 1, 1, 1})}},
      {"1x1_no_bias", {1, 13, 7, 9}, {17, 13, 1, 1}, false, {}},
      {"stride2_asym_pads",
       {1, 13, 7, 9},
       {19, 13, 3, 3},
       true,
       {A::makeInts("strides", {2, 2}), A::makeInts("pads", {0, 1, 2, 1})}},
      {"dilation2",
       {1, 13, 9, 11},
       {8, 13, 3, 3},
       true,
       {A::makeInts("dilations", {2, 2}), A::makeInts("pads", {2, 1, 2, 1})}},
      {"groups3",
       {1, 12, 7, 9},
       {9, 4, 3, 3},
       true,
       {A::makeInt("group", 3), A::makeInts("pads", {1, 1, 1, 1})}},
      {"depthwise_s2",
       {1, 13, 7, 9},
       {13, 1, 3, 3},
       true,
       {A::makeInt("group", 13), A::makeInts("strides", {2, 2}),
        A::makeInts("pads", {1, 1, 1, 1})}},
      {"same_upper_s2",
       {1, 13, 7, 9},
       {16, 13, 4, 4},
       true,
       {A::makeString("auto_pad", "SAME_UPPER"), A::makeInts("strides", {2, 2})}},
      {"same_lower",
       {1, 13, 7, 9},
       {16, 13, 2, 2},
       true,
       {A::makeString("auto_pad", "SAME_LOWER")}},
      {"valid_5x3", {1, 13, 7, 9}, {5, 13, 5, 3}, true, {A::makeString("auto_pad", "VALID")}},
      {"stem_6x6_s2",
       {1, 3, 15, 17},
       {16, 3, 6, 6},
       true,
       {A::makeInts("strides", {2, 2}), A::makeInts("pads", {2, 2, 2, 2})}},
      {"batch2_floor", {2, 13, 8, 10}, {16, 13, 3, 3}, true, {A::makeInts("strides", {2, 2})}},
  };
}

std::vector<Tensor> convInputs(const ConvCase& c, std::mt19937& rng) {
  std::vector<Tensor> inputs = {randomFloats(c.x, rng, -1.0f, 1.0f),
                                randomFloats(c.w, rng, -0.5f, 0.5f)};
  inputs.push_back(c.bias ? randomFloats({c.w[0]}, rng, -0.5f, 0.5f) : Tensor());
  return inputs;
}

TEST(DnnlConv, MatchesReferenceForEveryGeometryAndInputLayout) {
  std::mt19937 rng(kKernelTestSeed);
  for (const ConvCase& c : convCases()) {
    const Node node = makeNode("Conv", 3, 1, c.attrs);
    const std::vector<Tensor> inputs = convInputs(c, rng);
    for (Layout hint : kAllLayouts) {
      SCOPED_TRACE(std::string(c.name) + " hint " + std::string(layoutName(hint)));
      OptOptions options;
      options.src_hint = hint;
      std::optional<OptResult> r = checkAgainstReference(node, inputs, options, "f32_conv_dnnl");
      if (!r) continue;
      EXPECT_EQ(r->dst_layout, kDnnlActivationLayout) << r->detail;
      EXPECT_EQ(r->detail.find("gemm"), std::string::npos) << "slow GEMM path: " << r->detail;
    }
  }
}

TEST(DnnlConv, TwoThreadsMatchReference) {
  std::mt19937 rng(kKernelTestSeed);
  for (const ConvCase& c : convCases()) {
    SCOPED_TRACE(c.name);
    const Node node = makeNode("Conv", 3, 1, c.attrs);
    OptOptions options;
    options.num_threads = 2;
    checkAgainstReference(node, convInputs(c, rng), options, "f32_conv_dnnl");
  }
}

TEST(DnnlConv, EveryRequestedLayoutPairThatIsAcceptedIsCorrect) {
  std::mt19937 rng(kKernelTestSeed);
  int accepted = 0;
  for (const ConvCase& c : convCases()) {
    const Node node = makeNode("Conv", 3, 1, c.attrs);
    const std::vector<Tensor> inputs = convInputs(c, rng);
    for (Layout src : kAllLayouts) {
      for (Layout dst : kAllLayouts) {
        SCOPED_TRACE(std::string(c.name) + " " + std::string(layoutName(src)) + ">" +
                     std::string(layoutName(dst)));
        OptOptions options;
        options.request = DnnlLayoutRequest{src, dst};
        std::string why_not;
        std::optional<OptResult> opt = runOptimised(node, inputs, options, &why_not);
        if (!opt) {
          EXPECT_NE(why_not, "") << "a refusal says why";
          logChoice(std::string(c.name) + " refused " + std::string(layoutName(src)) + ">" +
                    std::string(layoutName(dst)) + ": " + why_not.substr(0, 120));
          continue;
        }
        ++accepted;
        EXPECT_EQ(opt->src_layout, src);
        EXPECT_EQ(opt->dst_layout, dst);
        expectClose(runReference(node, inputs), opt->output, opt->detail);
      }
    }
  }
  // Plain, nhwc and blocked on both sides exist for every geometry at least.
  EXPECT_GE(accepted, static_cast<int>(convCases().size()) * 3);
}

TEST(DnnlConv, PlainOutputRequestConvolvesFastAndReorders) {
  // The engine asks for plain output where every reader wants it (a Detect head's Reshape):
  // oneDNN has no fast nhwc > plain convolution, so the kernel stages through its fast layout
  // instead of taking oneDNN's 8x slower im2col GEMM.
  std::mt19937 rng(kKernelTestSeed);
  for (int64_t out_channels : {255, 13}) {
    const Node node = makeNode("Conv", 3, 1, {});
    const std::vector<Tensor> inputs = {randomFloats({1, 64, 9, 7}, rng, -1.0f, 1.0f),
                                        randomFloats({out_channels, 64, 1, 1}, rng, -0.5f, 0.5f),
                                        randomFloats({out_channels}, rng, -0.5f, 0.5f)};
    for (Layout hint : kAllLayouts) {
      SCOPED_TRACE("hint " + std::string(layoutName(hint)));
      OptOptions options;
      options.src_hint = hint;
      options.request = DnnlLayoutRequest{std::nullopt, Layout::kPlain};
      std::optional<OptResult> r = checkAgainstReference(node, inputs, options, "");
      if (!r) continue;
      EXPECT_EQ(r->dst_layout, Layout::kPlain);
      EXPECT_EQ(r->detail.find("gemm"), std::string::npos) << r->detail;
    }
  }
}

struct ActivationCase {
  const char* name;
  std::vector<Attribute> attrs;
};

std::vector<ActivationCase> activationCases() {
  using A = Attribute;
  return {
      {"none", {}},
      {"relu", {A::makeString("activation", "relu")}},
      {"leaky_relu",
       {A::makeString("activation", "leaky_relu"), A::makeFloat("activation_alpha", 0.1f)}},
      {"leaky_relu_default", {A::makeString("activation", "leaky_relu")}},
      {"sigmoid", {A::makeString("activation", "sigmoid")}},
      {"swish", {A::makeString("activation", "swish")}},
      {"swish_alpha",
       {A::makeString("activation", "swish"), A::makeFloat("activation_alpha", 1.7f)}},
      {"hardswish", {A::makeString("activation", "hardswish")}},
      {"hardsigmoid", {A::makeString("activation", "hardsigmoid")}},
      {"hardsigmoid_params",
       {A::makeString("activation", "hardsigmoid"), A::makeFloat("activation_alpha", 0.3f),
        A::makeFloat("activation_beta", 0.4f)}},
      {"clip",
       {A::makeString("activation", "clip"), A::makeFloat("activation_alpha", -0.25f),
        A::makeFloat("activation_beta", 0.5f)}},
      {"clip_unbounded", {A::makeString("activation", "clip")}},
      {"tanh", {A::makeString("activation", "tanh")}},
  };
}

// FusedConv's geometry in the activation tests: odd sizes, stride 2, asymmetric pads.
std::vector<Attribute> fusedGeometry() {
  return {Attribute::makeInts("strides", {2, 2}), Attribute::makeInts("pads", {1, 0, 1, 2})};
}

TEST(DnnlFusedConv, EveryActivationWithoutSum) {
  std::mt19937 rng(kKernelTestSeed);
  const std::vector<Tensor> inputs = {randomFloats({1, 13, 7, 9}, rng, -2.0f, 2.0f),
                                      randomFloats({16, 13, 3, 3}, rng, -0.5f, 0.5f),
                                      randomFloats({16}, rng, -0.5f, 0.5f)};
  for (const ActivationCase& a : activationCases()) {
    std::vector<Attribute> attrs = fusedGeometry();
    attrs.insert(attrs.end(), a.attrs.begin(), a.attrs.end());
    Node node = makeNode("FusedConv", 3, 1, attrs);
    node.domain = "detslim";
    for (Layout hint : kAllLayouts) {
      SCOPED_TRACE(std::string(a.name) + " hint " + std::string(layoutName(hint)));
      OptOptions options;
      options.src_hint = hint;
      checkAgainstReference(node, inputs, options, "f32_fusedconv_dnnl");
    }
  }
}

TEST(DnnlFusedConv, EveryActivationWithSumInBothOrdersAndLayouts) {
  std::mt19937 rng(kKernelTestSeed);
  // 13 input channels (odd) and 16 (the only case oneDNN's blocked kernels take).
  for (int64_t channels : {13, 16}) {
    const std::vector<Tensor> inputs = {randomFloats({1, channels, 7, 9}, rng, -2.0f, 2.0f),
                                        randomFloats({16, channels, 3, 3}, rng, -0.5f, 0.5f),
                                        randomFloats({16}, rng, -0.5f, 0.5f),
                                        randomFloats({1, 16, 4, 5}, rng, -2.0f, 2.0f)};
    for (const ActivationCase& a : activationCases()) {
      for (int sum_first : {0, 1}) {
        std::vector<Attribute> attrs = fusedGeometry();
        attrs.insert(attrs.end(), a.attrs.begin(), a.attrs.end());
        attrs.push_back(Attribute::makeInt("sum_first", sum_first));
        Node node = makeNode("FusedConv", 4, 1, attrs);
        node.domain = "detslim";
        const std::string trace = std::string(a.name) + " C " + std::to_string(channels) +
                                  " sum_first " + std::to_string(sum_first);
        {
          SCOPED_TRACE(trace + " registry");
          OptOptions options;
          options.runtime_inputs = {0, 3};
          checkAgainstReference(node, inputs, options, "f32_fusedconv_dnnl");
        }
        for (Layout layout : kAllLayouts) {
          SCOPED_TRACE(trace + " requested " + std::string(layoutName(layout)));
          OptOptions options;
          options.runtime_inputs = {0, 3};
          options.src_hint = layout;
          options.request = DnnlLayoutRequest{layout, layout};
          std::string why_not;
          std::optional<OptResult> opt = runOptimised(node, inputs, options, &why_not);
          // Blocked layouts need channels in multiples of 16 (oneDNN 2.6 falls back to ref:any).
          const bool must_accept = layout != Layout::kNChw16c || channels % 16 == 0;
          if (!opt) {
            EXPECT_FALSE(must_accept) << why_not;
            continue;
          }
          expectClose(runReference(node, inputs), opt->output, trace + " " + opt->detail);
        }
      }
    }
  }
}

TEST(DnnlFusedConv, SumSharingTheOutputBufferSkipsTheCopy) {
  // YOLOv5's residual: Add(x, SiLU(conv(x'))) with the engine giving dst the Sum buffer.
  std::mt19937 rng(kKernelTestSeed);
  const std::vector<Tensor> inputs = {
      randomFloats({1, 16, 9, 7}, rng, -2.0f, 2.0f), randomFloats({16, 16, 3, 3}, rng, -0.5f, 0.5f),
      randomFloats({16}, rng, -0.5f, 0.5f), randomFloats({1, 16, 9, 7}, rng, -2.0f, 2.0f)};
  for (int sum_first : {0, 1}) {
    Node node = makeNode(
        "FusedConv", 4, 1,
        {Attribute::makeInts("pads", {1, 1, 1, 1}), Attribute::makeString("activation", "swish"),
         Attribute::makeInt("sum_first", sum_first)});
    node.domain = "detslim";
    SCOPED_TRACE("sum_first " + std::to_string(sum_first));
    OptOptions options;
    options.runtime_inputs = {0, 3};
    options.src_hint = kDnnlActivationLayout;
    std::string why_not;
    std::optional<OptResult> probe = runOptimised(node, inputs, options, &why_not);
    ASSERT_TRUE(probe.has_value()) << why_not;
    if (probe->detail.find("+sum") == std::string::npos) {
      GTEST_SKIP() << "this layout adds Sum as a binary post-op: " << probe->detail;
    }
    options.in_place_sum = true;
    // Each pass writes into a fresh copy of Sum, so both passes see the same values.
    checkAgainstReference(node, inputs, options, "f32_fusedconv_dnnl");
  }
}

TEST(DnnlConv, RefusesWhatItCannotDoAndSaysWhy) {
  std::mt19937 rng(kKernelTestSeed);
  const Node conv = makeNode("Conv", 3, 1, {Attribute::makeInts("pads", {1, 1, 1, 1})});
  const std::vector<Tensor> inputs = {randomFloats({1, 13, 7, 9}, rng, -1.0f, 1.0f),
                                      randomFloats({16, 13, 3, 3}, rng, -0.5f, 0.5f),
                                      randomFloats({16}, rng, -0.5f, 0.5f)};
  {
    OptOptions options;
    options.runtime_inputs = {0, 1};  // weights computed at run time
    EXPECT_NE(refusalOf(conv, inputs, options).find("W is not constant"), std::string::npos);
  }
  {
    // 1-D convolution.
    const Node conv1d = makeNode("Conv", 3, 1, {});
    const std::vector<Tensor> in1d = {randomFloats({1, 13, 9}, rng, -1.0f, 1.0f),
                                      randomFloats({16, 13, 3}, rng, -0.5f, 0.5f), Tensor()};
    EXPECT_NE(refusalOf(conv1d, in1d).find("rank 3"), std::string::npos);
  }
  {
    Node fused = makeNode("FusedConv", 3, 1,
                          {Attribute::makeString("activation", "hardswish"),
                           Attribute::makeFloat("activation_alpha", 0.25f)});
    fused.domain = "detslim";
    EXPECT_NE(refusalOf(fused, inputs).find("hardswish"), std::string::npos);
  }
}

TEST(DnnlConv, BaselineCpuGetsTheReference) {
  std::mt19937 rng(kKernelTestSeed);
  const Node conv = makeNode("Conv", 3, 1, {});
  const Tensor x = randomFloats({1, 13, 7, 9}, rng, -1.0f, 1.0f);
  const Tensor w = randomFloats({16, 13, 3, 3}, rng, -0.5f, 0.5f);
  NodeContext ctx;
  ctx.node = &conv;
  ctx.opset = kOpset;
  ctx.cpu = CpuFeatures::baseline();
  ctx.inputs = {ValueDesc{DType::kFloat32, x.shape()}, ValueDesc{DType::kFloat32, w.shape()},
                ValueDesc{}};
  ctx.constants = {nullptr, &w, nullptr};
  Result<KernelChoice> choice = createKernel(ctx, /*reference_only=*/false);
  ASSERT_TRUE(choice.isOk()) << choice.status().message();
  EXPECT_EQ(choice->impl_name, "ref");
  // The f32 kernel's refusal names the missing AVX2 (bf16_conv_dnnl, tried first, refuses for
  // the compute precision).
  const auto f32 = std::find_if(choice->rejections.begin(), choice->rejections.end(),
                                [](const std::string& r) { return r.rfind("f32_conv_dnnl", 0) == 0; });
  ASSERT_NE(f32, choice->rejections.end());
  EXPECT_NE(f32->find("AVX2"), std::string::npos) << *f32;
}

// ---- ConvTranspose -----------------------------------------------------------------------------

TEST(DnnlConvTranspose, MatchesReference) {
  using A = Attribute;
  struct Case {
    const char* name;
    Shape x, w;
    std::vector<Attribute> attrs;
  };
  const std::vector<Case> cases = {
      {"s2_k4_p1",
       {1, 13, 7, 9},
       {13, 8, 4, 4},
       {A::makeInts("strides", {2, 2}), A::makeInts("pads", {1, 1, 1, 1})}},
      {"s2_k3_output_padding",
       {1, 13, 7, 9},
       {13, 5, 3, 3},
       {A::makeInts("strides", {2, 2}), A::makeInts("pads", {1, 1, 1, 1}),
        A::makeInts("output_padding", {1, 1})}},
      {"asym_pads_dilation",
       {1, 13, 7, 9},
       {13, 6, 3, 3},
       {A::makeInts("pads", {0, 1, 2, 0}), A::makeInts("dilations", {2, 1})}},
      {"groups",
       {1, 12, 7, 9},
       {12, 3, 3, 3},
       {A::makeInt("group", 4), A::makeInts("strides", {2, 1})}},
      {"output_shape",
       {1, 13, 7, 9},
       {13, 4, 3, 3},
       {A::makeInts("strides", {2, 2}), A::makeInts("output_shape", {14, 18})}},
      {"same_upper",
       {1, 13, 7, 9},
       {13, 4, 4, 4},
       {A::makeInts("strides", {2, 2}), A::makeString("auto_pad", "SAME_UPPER")}},
  };
  std::mt19937 rng(kKernelTestSeed);
  for (const Case& c : cases) {
    const Node node = makeNode("ConvTranspose", 3, 1, c.attrs);
    const std::vector<Tensor> inputs = {
        randomFloats(c.x, rng, -1.0f, 1.0f), randomFloats(c.w, rng, -0.5f, 0.5f),
        randomFloats({c.w[1] * node.intOr("group", 1)}, rng, -0.5f, 0.5f)};
    for (Layout hint : kAllLayouts) {
      SCOPED_TRACE(std::string(c.name) + " hint " + std::string(layoutName(hint)));
      OptOptions options;
      options.src_hint = hint;
      checkAgainstReference(node, inputs, options, "f32_deconv_dnnl");
    }
  }
}

// ---- Pooling -----------------------------------------------------------------------------------

TEST(DnnlPool, MatchesReferenceInEveryLayout) {
  using A = Attribute;
  struct Case {
    const char* name;
    const char* op;
    std::vector<Attribute> attrs;
    bool in_onednn = true;  // false: oneDNN 2.6 has only ref:any, the kernel must refuse
  };
  const std::vector<Case> cases = {
      {"max_k3_s2_p1",
       "MaxPool",
       {A::makeInts("kernel_shape", {3, 3}), A::makeInts("strides", {2, 2}),
        A::makeInts("pads", {1, 1, 1, 1})}},
      {"max_sppf_k5",
       "MaxPool",
       {A::makeInts("kernel_shape", {5, 5}), A::makeInts("pads", {2, 2, 2, 2})}},
      {"max_ceil",
       "MaxPool",
       {A::makeInts("kernel_shape", {3, 2}), A::makeInts("strides", {2, 2}),
        A::makeInt("ceil_mode", 1)}},
      {"max_dilation_asym",
       "MaxPool",
       {A::makeInts("kernel_shape", {2, 3}), A::makeInts("dilations", {2, 1}),
        A::makeInts("pads", {1, 0, 0, 1})},
       false},
      {"max_asym_pads",
       "MaxPool",
       {A::makeInts("kernel_shape", {2, 3}), A::makeInts("pads", {1, 0, 0, 1})}},
      {"max_same_upper",
       "MaxPool",
       {A::makeInts("kernel_shape", {3, 3}), A::makeInts("strides", {2, 2}),
        A::makeString("auto_pad", "SAME_UPPER")}},
      {"avg_exclude_pad",
       "AveragePool",
       {A::makeInts("kernel_shape", {3, 3}), A::makeInts("strides", {2, 2}),
        A::makeInts("pads", {1, 1, 1, 1})}},
      {"avg_include_pad",
       "AveragePool",
       {A::makeInts("kernel_shape", {3, 3}), A::makeInts("strides", {2, 2}),
        A::makeInts("pads", {1, 0, 1, 2}), A::makeInt("count_include_pad", 1)}},
      {"avg_ceil_exclude",
       "AveragePool",
       {A::makeInts("kernel_shape", {2, 2}), A::makeInts("strides", {2, 2}),
        A::makeInt("ceil_mode", 1)}},
      {"global_avg", "GlobalAveragePool", {}},
  };
  std::mt19937 rng(kKernelTestSeed);
  const Tensor x = randomFloats({2, 13, 7, 9}, rng, -1.0f, 1.0f);
  for (const Case& c : cases) {
    const Node node = makeNode(c.op, 1, 1, c.attrs);
    const std::string impl = std::string(c.op) == "MaxPool"       ? "f32_maxpool_dnnl"
                             : std::string(c.op) == "AveragePool" ? "f32_avgpool_dnnl"
                                                                  : "f32_globalavgpool_dnnl";
    for (Layout hint : kAllLayouts) {
      SCOPED_TRACE(std::string(c.name) + " hint " + std::string(layoutName(hint)));
      OptOptions options;
      options.src_hint = hint;
      if (!c.in_onednn) {
        EXPECT_NE(refusalOf(node, {x}, options).find("ref:any"), std::string::npos);
        continue;
      }
      std::optional<OptResult> r = checkAgainstReference(node, {x}, options, impl);
      if (r) {
        EXPECT_EQ(r->src_layout, hint) << "pools take the layout they are given: " << r->detail;
        EXPECT_EQ(r->dst_layout, hint) << r->detail;
      }
    }
  }
}

TEST(DnnlPool, RefusesIndicesAndIncludePadCeilMode) {
  std::mt19937 rng(kKernelTestSeed);
  const Tensor x = randomFloats({1, 13, 7, 9}, rng, -1.0f, 1.0f);
  const Node with_indices =
      makeNode("MaxPool", 1, 2, {Attribute::makeInts("kernel_shape", {2, 2})});
  EXPECT_NE(refusalOf(with_indices, {x}).find("Indices"), std::string::npos);
  const Node include_ceil =
      makeNode("AveragePool", 1, 1,
               {Attribute::makeInts("kernel_shape", {2, 2}), Attribute::makeInts("strides", {2, 2}),
                Attribute::makeInt("ceil_mode", 1), Attribute::makeInt("count_include_pad", 1)});
  EXPECT_NE(refusalOf(include_ceil, {x}).find("count_include_pad"), std::string::npos);
}

// ---- Gemm / MatMul -----------------------------------------------------------------------------

TEST(DnnlGemm, MatchesReferenceForTransposesScalesAndBiasShapes) {
  using A = Attribute;
  const int64_t m = 7, k = 13, n = 9;
  std::mt19937 rng(kKernelTestSeed);
  const std::vector<Shape> c_shapes = {{}, {n}, {1, n}, {m, n}, {m, 1}, {1, 1}};
  for (int trans_a : {0, 1}) {
    for (int trans_b : {0, 1}) {
      for (float alpha : {1.0f, 0.5f}) {
        for (float beta : {1.0f, -2.0f}) {
          for (size_t c_index = 0; c_index <= c_shapes.size(); ++c_index) {
            const bool has_c = c_index < c_shapes.size();
            for (bool runtime_b : {false, true}) {
              for (bool runtime_c : {false, true}) {
                if (runtime_c && !has_c) continue;
                const Node node =
                    makeNode("Gemm", has_c ? 3 : 2, 1,
                             {A::makeInt("transA", trans_a), A::makeInt("transB", trans_b),
                              A::makeFloat("alpha", alpha), A::makeFloat("beta", beta)});
                std::vector<Tensor> inputs = {
                    randomFloats(trans_a ? Shape{k, m} : Shape{m, k}, rng, -1.0f, 1.0f),
                    randomFloats(trans_b ? Shape{n, k} : Shape{k, n}, rng, -1.0f, 1.0f)};
                if (has_c) inputs.push_back(randomFloats(c_shapes[c_index], rng, -1.0f, 1.0f));
                SCOPED_TRACE("transA " + std::to_string(trans_a) + " transB " +
                             std::to_string(trans_b) + " alpha " + std::to_string(alpha) +
                             " beta " + std::to_string(beta) + " C " +
                             (has_c ? shapeToString(c_shapes[c_index]) : "none") +
                             (runtime_b ? " runtime B" : "") + (runtime_c ? " runtime C" : ""));
                OptOptions options;
                options.runtime_inputs = {0};
                if (runtime_b) options.runtime_inputs.push_back(1);
                if (runtime_c) options.runtime_inputs.push_back(2);
                checkAgainstReference(node, inputs, options, "f32_gemm_dnnl");
              }
            }
          }
        }
      }
    }
  }
}

TEST(DnnlMatMul, MatchesReferenceWithBroadcastBatchAndVectors) {
  struct Case {
    Shape a, b;
  };
  const std::vector<Case> cases = {
      {{7, 13}, {13, 9}},
      {{2, 7, 13}, {13, 9}},
      {{2, 1, 7, 13}, {3, 13, 9}},
      {{13}, {13, 9}},
      {{7, 13}, {13}},
      {{3, 7, 13}, {3, 13, 9}},
      {{1, 3, 7, 13}, {2, 1, 13, 5}},
      {{13}, {2, 13, 9}},
  };
  std::mt19937 rng(kKernelTestSeed);
  for (const Case& c : cases) {
    for (bool runtime_b : {false, true}) {
      SCOPED_TRACE(shapeToString(c.a) + " x " + shapeToString(c.b) +
                   (runtime_b ? " runtime B" : " constant B"));
      const Node node = makeNode("MatMul", 2, 1, {});
      const std::vector<Tensor> inputs = {randomFloats(c.a, rng, -1.0f, 1.0f),
                                          randomFloats(c.b, rng, -1.0f, 1.0f)};
      OptOptions options;
      options.runtime_inputs = runtime_b ? std::vector<size_t>{0, 1} : std::vector<size_t>{0};
      checkAgainstReference(node, inputs, options, "f32_matmul_dnnl");
    }
  }
}

TEST(DnnlMatMul, RefusesOtherDtypes) {
  const Node node = makeNode("MatMul", 2, 1, {});
  const std::vector<Tensor> inputs = {Tensor(DType::kFloat64, {3, 4}),
                                      Tensor(DType::kFloat64, {4, 5})};
  EXPECT_NE(refusalOf(node, inputs).find("float32"), std::string::npos);
}

}  // namespace
}  // namespace detslim
