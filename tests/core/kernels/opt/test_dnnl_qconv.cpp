// detslim::QConv (docs/quant.md): the oneDNN INT8 kernel (core/kernels/opt/dnnl_qconv.cpp)
// against the reference kernel (core/kernels/ref/qconv.cpp) on seeded random data with odd
// sizes; the reference against the QDQ graph it stands for (DequantizeLinear -> FusedConv ->
// QuantizeLinear on the reference kernels); and the attribute checks.

#include <gtest/gtest.h>

#include <dnnl.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
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

constexpr int64_t kOpset = 17;

// Integer outputs: oneDNN accumulates exactly in s32 and scales once in f32, the reference
// dequantizes first and sums f32 products; the two f32 values differ by a few ulp, which moves
// round(y / y_scale) by one step where y lands next to a rounding boundary, never by more.
constexpr int kMaxIntegerSteps = 1;
// Float outputs: |oneDNN - reference| <= kFloatTolerance * max(1, |reference|). The same f32
// rounding differences as the f32 convolution tests (below 1e-5 on these sizes) plus oneDNN's
// vectorised exp behind sigmoid / swish (a few ulp).
constexpr float kFloatTolerance = 1e-4f;

// ---- Buffers in any layout and dtype -----------------------------------------------------------

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

dnnl::memory::data_type dnnlType(DType d) {
  if (d == DType::kUInt8) return dnnl::memory::data_type::u8;
  if (d == DType::kInt8) return dnnl::memory::data_type::s8;
  return dnnl::memory::data_type::f32;
}

void reorder4d(DType dtype, const Shape& shape, Layout from, const void* src, Layout to,
               void* dst) {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  const dnnl::memory::dims dims(shape.begin(), shape.end());
  dnnl::memory src_mem({dims, dnnlType(dtype), tagOf(from)}, engine, const_cast<void*>(src));
  dnnl::memory dst_mem({dims, dnnlType(dtype), tagOf(to)}, engine, dst);
  dnnl::stream stream(engine);
  dnnl::reorder(src_mem, dst_mem).execute(stream, src_mem, dst_mem);
  stream.wait();
}

AlignedBuffer toLayout(const Tensor& t, Layout layout) {
  const ValueDesc desc{t.dtype(), t.shape(), layout};
  AlignedBuffer buffer = allocate(desc.bytes(), std::byte{0});
  if (layout == Layout::kPlain) {
    std::memcpy(buffer.get(), t.raw(), t.bytes());
  } else {
    reorder4d(t.dtype(), t.shape(), Layout::kPlain, t.raw(), layout, buffer.get());
  }
  return buffer;
}

Tensor fromLayout(DType dtype, const void* data, const Shape& shape, Layout layout) {
  Tensor t(dtype, shape);
  if (layout == Layout::kPlain) {
    std::memcpy(t.rawMutable(), data, t.bytes());
  } else {
    reorder4d(dtype, shape, layout, data, Layout::kPlain, t.rawMutable());
  }
  return t;
}

// ---- Data and nodes ----------------------------------------------------------------------------

template <class T>
Tensor randomInts(DType dtype, Shape shape, std::mt19937& rng, int lo, int hi) {
  Tensor t(dtype, std::move(shape));
  std::uniform_int_distribution<int> dist(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.mutableData<T>()[i] = static_cast<T>(dist(rng));
  return t;
}

Tensor randomQuantized(DType dtype, Shape shape, std::mt19937& rng) {
  if (dtype == DType::kUInt8) return randomInts<uint8_t>(dtype, std::move(shape), rng, 0, 255);
  return randomInts<int8_t>(dtype, std::move(shape), rng, -128, 127);
}

int64_t onnxType(DType d) {
  if (d == DType::kUInt8) return 2;
  if (d == DType::kInt8) return 3;
  return 1;
}

// Quantization of one tensor in a test case.
struct QParams {
  DType dtype = DType::kFloat32;
  float scale = 1.0f;
  int32_t zero_point = 0;
};

// u8 asymmetric (zero point inside the range) and s8 symmetric, as core/quant writes them.
constexpr QParams kXu8{DType::kUInt8, 0.021f, 37};
constexpr QParams kXs8{DType::kInt8, 0.017f, 0};
constexpr QParams kXs8Asym{DType::kInt8, 0.017f, -5};
// Y ranges narrower than the f32 outputs, so both ends saturate in some elements.
constexpr QParams kYu8{DType::kUInt8, 0.043f, 21};
constexpr QParams kYs8{DType::kInt8, 0.052f, -3};
constexpr QParams kYf32{DType::kFloat32, 1.0f, 0};
constexpr QParams kSumU8{DType::kUInt8, 0.031f, 128};
constexpr QParams kSumS8{DType::kInt8, 0.047f, 0};
constexpr QParams kSumS8Asym{DType::kInt8, 0.047f, -9};

struct Geometry {
  const char* name;
  Shape x;
  Shape w;
  bool bias;
  std::vector<Attribute> attrs;
  // oneDNN 2.6 has only its GEMM-based int8 convolution for this geometry (4 input channels per
  // group): the kernel takes it as dnnl_conv.cpp does rather than refuse.
  bool gemm_only = false;
};

std::vector<Geometry> geometries() {
  using A = Attribute;
  return {
      {"1x1", {1, 13, 7, 9}, {17, 13, 1, 1}, true, {}},
      {"3x3_pad1", {1, 13, 7, 9}, {16, 13, 3, 3}, true, {A::makeInts("pads", {1, 1, 1, 1})}},
      {"3x3_s2_asym_pads",
       {1, 13, 7, 9},
       {19, 13, 3, 3},
       true,
       {A::makeInts("strides", {2, 2}), A::makeInts("pads", {0, 1, 2, 1})}},
      {"1x1_s2_no_bias", {1, 13, 7, 9}, {11, 13, 1, 1}, false, {A::makeInts("strides", {2, 2})}},
      {"groups3",
       {1, 12, 7, 9},
       {9, 4, 3, 3},
       true,
       {A::makeInt("group", 3), A::makeInts("pads", {1, 1, 1, 1})},
       true},
      {"depthwise_s2",
       {1, 13, 7, 9},
       {13, 1, 3, 3},
       true,
       {A::makeInt("group", 13), A::makeInts("strides", {2, 2}),
        A::makeInts("pads", {1, 1, 1, 1})}},
      {"batch2_valid", {2, 13, 8, 10}, {16, 13, 3, 3}, true, {}},
  };
}

// Activations the tests cover (name, attribute value).
const std::vector<std::pair<const char*, const char*>>& activations() {
  static const std::vector<std::pair<const char*, const char*>> kActivations = {
      {"none", ""}, {"relu", "relu"}, {"swish", "swish"}, {"sigmoid", "sigmoid"}};
  return kActivations;
}

struct QConvSpec {
  std::vector<Attribute> geometry;
  QParams x, y;
  std::optional<QParams> sum;
  const char* activation = "";
  int sum_first = 0;
  bool per_channel_w = true;
};

// Random inputs for spec: X_q, W_q, B (float) or undefined, Sum or nothing; and the node.
struct QConvCase {
  Node node;
  std::vector<Tensor> inputs;
};

QConvCase makeCase(const QConvSpec& spec, const Shape& x_shape, const Shape& w_shape, bool bias,
                   std::mt19937& rng) {
  using A = Attribute;
  const int64_t out_channels = w_shape[0];
  std::vector<float> w_scales;
  // |w| up to 0.1..0.3: 3x3 outputs then spread over about +-3 (1x1 about +-1), mostly inside
  // the Y ranges below, some beyond them (saturation).
  std::uniform_real_distribution<float> scale_dist(0.1f / 127, 0.3f / 127);
  for (int64_t o = 0; o < (spec.per_channel_w ? out_channels : 1); ++o) {
    w_scales.push_back(scale_dist(rng));
  }
  std::vector<Attribute> attrs = spec.geometry;
  attrs.push_back(A::makeFloat("x_scale", spec.x.scale));
  attrs.push_back(A::makeInt("x_zero_point", spec.x.zero_point));
  attrs.push_back(A::makeFloats("w_scales", w_scales));
  attrs.push_back(A::makeInt("y_type", onnxType(spec.y.dtype)));
  if (spec.y.dtype != DType::kFloat32) {
    attrs.push_back(A::makeFloat("y_scale", spec.y.scale));
    attrs.push_back(A::makeInt("y_zero_point", spec.y.zero_point));
  }
  if (*spec.activation) attrs.push_back(A::makeString("activation", spec.activation));
  if (spec.sum) {
    attrs.push_back(A::makeInt("sum_first", spec.sum_first));
    if (spec.sum->dtype != DType::kFloat32) {
      attrs.push_back(A::makeFloat("sum_scale", spec.sum->scale));
      attrs.push_back(A::makeInt("sum_zero_point", spec.sum->zero_point));
    }
  }
  QConvCase c;
  c.node = makeNode("QConv", spec.sum ? 4 : 3, 1, attrs);
  c.node.domain = "detslim";
  c.inputs.push_back(randomQuantized(spec.x.dtype, x_shape, rng));
  c.inputs.push_back(randomInts<int8_t>(DType::kInt8, w_shape, rng, -127, 127));
  c.inputs.push_back(bias ? randomFloats({out_channels}, rng, -0.5f, 0.5f) : Tensor());
  if (spec.sum) {
    // Sum has the output's shape: ask the shape function with the node as it is without Sum.
    Node no_sum = c.node;
    no_sum.inputs.pop_back();
    NodeContext probe;
    probe.node = &no_sum;
    probe.opset = kOpset;
    for (const Tensor& t : c.inputs) {
      probe.inputs.push_back(t.defined() ? ValueDesc{t.dtype(), t.shape()} : ValueDesc{});
      probe.constants.push_back(t.defined() ? &t : nullptr);
    }
    probe.outputs.assign(1, ValueDesc{});
    const Status inferred = findOp("detslim", "QConv")->infer(probe);
    EXPECT_TRUE(inferred.isOk()) << inferred.message();
    const Shape& out = probe.outputs[0].shape;
    c.inputs.push_back(spec.sum->dtype == DType::kFloat32
                           ? randomFloats(out, rng, -2.0f, 2.0f)
                           : randomQuantized(spec.sum->dtype, out, rng));
  }
  return c;
}

// ---- Running and comparing ---------------------------------------------------------------------

struct OptOptions {
  Layout src_hint = Layout::kNhwc;  // the layout "the producer delivers" X in
  int num_threads = 1;
  bool in_place_sum = false;                 // give output 0 the Sum (input 3) buffer
  std::optional<DnnlLayoutRequest> request;  // makeDnnlKernelWithLayouts instead of the registry
  bool gemm_ok = false;                      // oneDNN's GEMM-based convolution is expected
};

struct OptResult {
  std::string impl;
  std::string detail;
  Layout dst_layout = Layout::kPlain;
  int in_place_input = -1;
  Tensor output;  // plain
};

// Creates the node's kernel through the registry (or the layout request) and runs it twice on
// fresh buffers. nullopt (reason in *why_not) when the oneDNN kernel does not accept.
std::optional<OptResult> runOptimised(const QConvCase& c, const OptOptions& options,
                                      std::string* why_not) {
  NodeContext ctx;
  ctx.node = &c.node;
  ctx.opset = kOpset;
  ctx.num_threads = options.num_threads;
  ctx.cpu = CpuFeatures::host();
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    const Tensor& t = c.inputs[i];
    const bool runtime = i == 0 || i == 3;
    ctx.inputs.push_back(
        t.defined() ? ValueDesc{t.dtype(), t.shape(), runtime ? options.src_hint : Layout::kPlain}
                    : ValueDesc{});
    ctx.constants.push_back(t.defined() && !runtime ? &t : nullptr);
  }
  OptResult result;
  std::optional<testing::OptimisedKernel> made = testing::makeOptimisedKernel(ctx, options.request, why_not);
  if (!made) return std::nullopt;
  std::unique_ptr<Kernel> kernel = std::move(made->kernel);
  result.impl = made->impl;
  result.detail = made->detail;
  result.dst_layout = kernel->outputLayout(0);
  result.in_place_input = kernel->inPlaceInput();
  const ValueDesc out_desc{ctx.outputs[0].dtype, ctx.outputs[0].shape, result.dst_layout};
  if (c.inputs.size() > 3) {
    EXPECT_EQ(kernel->inputLayout(3), result.dst_layout) << "Sum comes in the output's layout";
  }
  for (int pass = 0; pass < 2; ++pass) {
    std::vector<AlignedBuffer> in_buffers;
    std::vector<const void*> in_ptrs;
    for (size_t i = 0; i < c.inputs.size(); ++i) {
      if (!c.inputs[i].defined()) {
        in_buffers.emplace_back();
        in_ptrs.push_back(nullptr);
        continue;
      }
      const Layout layout = (i == 0 || i == 3) ? kernel->inputLayout(i) : Layout::kPlain;
      in_buffers.push_back(toLayout(c.inputs[i], layout));
      in_ptrs.push_back(in_buffers.back().get());
    }
    // 0xFF-filled output (NaN for f32, 255 / -1 for integers): unwritten elements show.
    AlignedBuffer out_buffer = allocate(out_desc.bytes(), std::byte{0xFF});
    void* out_ptr = out_buffer.get();
    if (options.in_place_sum) {
      EXPECT_EQ(kernel->inPlaceInput(), 3);
      out_ptr = const_cast<void*>(in_ptrs[3]);
    }
    std::vector<void*> out_ptrs = {out_ptr};
    AlignedBuffer scratch = allocate(kernel->scratchBytes(), std::byte{0xFF});
    kernel->run(KernelArgs{in_ptrs, out_ptrs, scratch.get()});
    result.output = fromLayout(out_desc.dtype, out_ptr, out_desc.shape, result.dst_layout);
  }
  return result;
}

Tensor runReference(const QConvCase& c) {
  Result<std::vector<Tensor>> out = runNode(c.node, kOpset, c.inputs, /*reference_only=*/true);
  EXPECT_TRUE(out.isOk()) << out.status().message();
  return out.isOk() ? out.value()[0] : Tensor();
}

// The worst differences seen over a test binary's run, printed at the end of each test.
struct Worst {
  int64_t integer_steps = 0;
  int64_t integer_off_by_one = 0;
  int64_t integer_elements = 0;
  int64_t integer_inside = 0;  // elements not at the dtype's limits (not saturated)
  float float_relative = 0.0f;
};

void logLine(const std::string& what) {
  static const bool verbose = std::getenv("DETSLIM_TEST_VERBOSE") != nullptr;
  if (verbose) std::printf("  %s\n", what.c_str());
}

template <class T>
void compareIntegers(const Tensor& expected, const Tensor& actual, const std::string& what,
                     Worst* worst) {
  const T* e = expected.data<T>();
  const T* a = actual.data<T>();
  int64_t bad = 0;
  for (int64_t i = 0; i < expected.numel(); ++i) {
    const int64_t diff = std::abs(static_cast<int64_t>(e[i]) - static_cast<int64_t>(a[i]));
    worst->integer_steps = std::max(worst->integer_steps, diff);
    if (e[i] != std::numeric_limits<T>::lowest() && e[i] != std::numeric_limits<T>::max()) {
      ++worst->integer_inside;
    }
    if (diff != 0) ++worst->integer_off_by_one;
    if (diff > kMaxIntegerSteps && ++bad <= 3) {
      ADD_FAILURE() << what << ": element " << i << " is " << int(a[i]) << ", expected "
                    << int(e[i]);
    }
  }
  worst->integer_elements += expected.numel();
  EXPECT_EQ(bad, 0) << what;
}

void expectClose(const Tensor& expected, const Tensor& actual, const std::string& what,
                 Worst* worst) {
  logLine(what);
  ASSERT_EQ(expected.dtype(), actual.dtype()) << what;
  ASSERT_EQ(expected.shape(), actual.shape()) << what;
  if (expected.dtype() == DType::kUInt8)
    return compareIntegers<uint8_t>(expected, actual, what, worst);
  if (expected.dtype() == DType::kInt8)
    return compareIntegers<int8_t>(expected, actual, what, worst);
  const float* e = expected.data<float>();
  const float* a = actual.data<float>();
  int64_t bad = 0;
  for (int64_t i = 0; i < expected.numel(); ++i) {
    const float err = std::fabs(e[i] - a[i]) / std::max(1.0f, std::fabs(e[i]));
    if (!(err <= kFloatTolerance) && ++bad <= 3) {
      ADD_FAILURE() << what << ": element " << i << " is " << a[i] << ", expected " << e[i];
    }
    if (err > worst->float_relative || std::isnan(err)) worst->float_relative = err;
  }
  EXPECT_EQ(bad, 0) << what;
}

void printWorst(const char* test, const Worst& w) {
  std::printf(
      "[ measured ] %s: integer outputs max |diff| %lld step(s), %lld of %lld elements "
      "off by one (%lld not saturated); float outputs max relative error %.3g\n",
      test, static_cast<long long>(w.integer_steps), static_cast<long long>(w.integer_off_by_one),
      static_cast<long long>(w.integer_elements), static_cast<long long>(w.integer_inside),
      static_cast<double>(w.float_relative));
  // The comparison means something only where the outputs are not clamped.
  EXPECT_GE(w.integer_inside * 4, w.integer_elements * 3) << "most integer outputs saturate";
}

// Runs the oneDNN kernel (which must accept) and compares it with the reference.
std::optional<OptResult> checkAgainstReference(const QConvCase& c, const OptOptions& options,
                                               const std::string& trace, Worst* worst) {
  std::string why_not;
  std::optional<OptResult> opt = runOptimised(c, options, &why_not);
  if (!opt) {
    ADD_FAILURE() << trace << ": the oneDNN kernel refused: " << why_not;
    return std::nullopt;
  }
  if (!options.request) {
    EXPECT_EQ(opt->impl, "int8_qconv_dnnl");
  }
  if (!options.gemm_ok) {
    EXPECT_EQ(opt->detail.find("gemm"), std::string::npos) << "slow GEMM path: " << opt->detail;
  }
  expectClose(runReference(c), opt->output, trace + " [" + opt->detail + "]", worst);
  return opt;
}

std::string paramName(const QParams& p) {
  return std::string(p.dtype == DType::kUInt8  ? "u8"
                     : p.dtype == DType::kInt8 ? "s8"
                                               : "f32") +
         (p.zero_point != 0 ? "(zp " + std::to_string(p.zero_point) + ")" : "");
}

// ---- oneDNN vs reference -----------------------------------------------------------------------

TEST(DnnlQConv, MatchesReferenceForEveryGeometryDtypeAndActivation) {
  std::mt19937 rng(kKernelTestSeed);
  Worst worst;
  for (const Geometry& g : geometries()) {
    for (const QParams& x : {kXu8, kXs8, kXs8Asym}) {
      for (const QParams& y : {kYu8, kYs8, kYf32}) {
        for (const auto& [act_name, act] : activations()) {
          QConvSpec spec;
          spec.geometry = g.attrs;
          spec.x = x;
          spec.y = y;
          spec.activation = act;
          const QConvCase c = makeCase(spec, g.x, g.w, g.bias, rng);
          const std::string trace =
              std::string(g.name) + " " + paramName(x) + ">" + paramName(y) + " " + act_name;
          SCOPED_TRACE(trace);
          OptOptions options;
          options.gemm_ok = g.gemm_only;
          std::optional<OptResult> r = checkAgainstReference(c, options, trace, &worst);
          if (r) {
            EXPECT_EQ(r->dst_layout, kDnnlActivationLayout) << r->detail;
          }
        }
      }
    }
  }
  printWorst("geometry x dtype x activation", worst);
  EXPECT_LE(worst.integer_steps, kMaxIntegerSteps);
}

TEST(DnnlQConv, OneWeightScaleTwoThreadsAndPlainInput) {
  std::mt19937 rng(kKernelTestSeed);
  Worst worst;
  for (const Geometry& g : geometries()) {
    for (Layout hint : {Layout::kPlain, Layout::kNhwc}) {
      QConvSpec spec;
      spec.geometry = g.attrs;
      spec.x = kXu8;
      spec.y = kYu8;
      spec.activation = "swish";
      spec.per_channel_w = false;
      const QConvCase c = makeCase(spec, g.x, g.w, g.bias, rng);
      OptOptions options;
      options.num_threads = 2;
      options.src_hint = hint;
      options.gemm_ok = g.gemm_only;
      const std::string trace = std::string(g.name) + " hint " + std::string(layoutName(hint));
      SCOPED_TRACE(trace);
      checkAgainstReference(c, options, trace, &worst);
    }
  }
  printWorst("one w_scale, 2 threads", worst);
}

TEST(DnnlQConv, ResidualSumIntegerAndFloatInBothOrders) {
  std::mt19937 rng(kKernelTestSeed);
  Worst worst;
  int sum_post_op = 0;
  int binary_add = 0;
  const std::vector<Geometry> geos = {geometries()[1], geometries()[2], geometries()[5]};
  for (const Geometry& g : geos) {
    for (const QParams& y : {kYu8, kYs8, kYf32}) {
      for (const QParams& sum : {kSumU8, kSumS8, kSumS8Asym, kYf32}) {
        for (int sum_first : {0, 1}) {
          for (const char* act : {"swish", "relu"}) {
            QConvSpec spec;
            spec.geometry = g.attrs;
            spec.x = kXu8;
            spec.y = y;
            spec.sum = sum;
            spec.sum_first = sum_first;
            spec.activation = act;
            const QConvCase c = makeCase(spec, g.x, g.w, g.bias, rng);
            const std::string trace = std::string(g.name) + " " + paramName(y) + " + Sum " +
                                      paramName(sum) + " sum_first " + std::to_string(sum_first) +
                                      " " + act;
            SCOPED_TRACE(trace);
            std::optional<OptResult> r = checkAgainstReference(c, OptOptions{}, trace, &worst);
            if (!r) continue;
            if (r->in_place_input == 3) {
              ++sum_post_op;
              // The engine may give Y the Sum buffer (Sum dies here): same result, no copy.
              OptOptions in_place;
              in_place.in_place_sum = true;
              checkAgainstReference(c, in_place, trace + " in place", &worst);
            } else {
              ++binary_add;
            }
          }
        }
      }
    }
  }
  std::printf("[ measured ] residual: %d cases as oneDNN sum post-op, %d as binary_add\n",
              sum_post_op, binary_add);
  printWorst("residual Sum", worst);
  EXPECT_GT(sum_post_op + binary_add, 0);
}

TEST(DnnlQConv, RequestedLayoutsIncludingPlainOutput) {
  // The engine asks a conv whose readers all need plain data to write plain.
  std::mt19937 rng(kKernelTestSeed);
  Worst worst;
  for (const Geometry& g : {geometries()[0], geometries()[2]}) {
    for (const QParams& y : {kYu8, kYf32}) {
      for (Layout dst : {Layout::kPlain, Layout::kNhwc}) {
        QConvSpec spec;
        spec.geometry = g.attrs;
        spec.x = kXu8;
        spec.y = y;
        spec.activation = "swish";
        const QConvCase c = makeCase(spec, g.x, g.w, g.bias, rng);
        OptOptions options;
        options.request = DnnlLayoutRequest{std::nullopt, dst};
        const std::string trace =
            std::string(g.name) + " " + paramName(y) + " dst " + std::string(layoutName(dst));
        SCOPED_TRACE(trace);
        std::optional<OptResult> r = checkAgainstReference(c, options, trace, &worst);
        if (r) {
          EXPECT_EQ(r->dst_layout, dst) << r->detail;
        }
      }
    }
  }
  printWorst("requested layouts", worst);
}

TEST(DnnlQConv, RefusesChainsOneDnnComputesWrong) {
  // hardsigmoid is linear + clip; an integer Y adds linear(1 / y_scale, y_zero_point) after the
  // clip. oneDNN 2.6's JIT kernels would run both linear post-ops with the first one's
  // parameters, so the kernel refuses and the reference takes the node.
  std::mt19937 rng(kKernelTestSeed);
  QConvSpec spec;
  spec.geometry = {Attribute::makeInts("pads", {1, 1, 1, 1})};
  spec.x = kXu8;
  spec.y = kYu8;
  spec.activation = "hardsigmoid";
  const QConvCase c = makeCase(spec, {1, 13, 7, 9}, {16, 13, 3, 3}, true, rng);
  std::string why_not;
  EXPECT_FALSE(runOptimised(c, OptOptions{}, &why_not).has_value());
  EXPECT_NE(why_not.find("first one's parameters"), std::string::npos) << why_not;
  // With a float Y the chain is linear + clip only, which oneDNN computes right.
  spec.y = kYf32;
  Worst worst;
  checkAgainstReference(makeCase(spec, {1, 13, 7, 9}, {16, 13, 3, 3}, true, rng), OptOptions{},
                        "hardsigmoid f32", &worst);
}

TEST(DnnlQConv, BaselineCpuGetsTheReference) {
  std::mt19937 rng(kKernelTestSeed);
  QConvSpec spec;
  spec.x = kXu8;
  spec.y = kYu8;
  const QConvCase c = makeCase(spec, {1, 13, 7, 9}, {16, 13, 3, 3}, true, rng);
  NodeContext ctx;
  ctx.node = &c.node;
  ctx.opset = kOpset;
  ctx.cpu = CpuFeatures::baseline();
  for (const Tensor& t : c.inputs) {
    ctx.inputs.push_back(ValueDesc{t.dtype(), t.shape()});
    ctx.constants.push_back(&t);
  }
  ctx.constants[0] = nullptr;
  Result<KernelChoice> choice = createKernel(ctx, /*reference_only=*/false);
  ASSERT_TRUE(choice.isOk()) << choice.status().message();
  EXPECT_EQ(choice->impl_name, "ref");
  ASSERT_FALSE(choice->rejections.empty());
  EXPECT_NE(choice->rejections[0].find("AVX2"), std::string::npos) << choice->rejections[0];
}

// ---- The reference is the QDQ graph ------------------------------------------------------------

Tensor scalarFloat(float v) {
  return testing::floats({}, {v});
}

template <class T>
Tensor scalarOf(DType dtype, int32_t v) {
  return testing::makeTensor<T>(dtype, {}, {static_cast<T>(v)});
}

Tensor zeroPointTensor(const QParams& p) {
  if (p.dtype == DType::kUInt8) return scalarOf<uint8_t>(p.dtype, p.zero_point);
  return scalarOf<int8_t>(p.dtype, p.zero_point);
}

Tensor runOne(const Node& node, const std::vector<Tensor>& inputs) {
  std::vector<Tensor> out = testing::runOk(node, kOpset, inputs);
  return out.empty() ? Tensor() : out[0];
}

// DequantizeLinear -> FusedConv -> QuantizeLinear on the reference kernels, as the QDQ model
// the engine fuses into a QConv.
Tensor runQdqGraph(const QConvCase& c, const QConvSpec& spec) {
  const Node dq = makeNode("DequantizeLinear", 3, 1, {});
  const Tensor x = runOne(dq, {c.inputs[0], scalarFloat(spec.x.scale), zeroPointTensor(spec.x)});
  const std::vector<float> w_scales = c.node.floatsOr("w_scales", {});
  const int64_t out_channels = c.inputs[1].shape()[0];
  Tensor w;
  if (w_scales.size() == 1) {
    w = runOne(dq, {c.inputs[1], scalarFloat(w_scales[0]), scalarOf<int8_t>(DType::kInt8, 0)});
  } else {
    const Node dq_axis0 = makeNode("DequantizeLinear", 3, 1, {Attribute::makeInt("axis", 0)});
    w = runOne(dq_axis0, {c.inputs[1], testing::floats({out_channels}, w_scales),
                          testing::makeTensor<int8_t>(
                              DType::kInt8, {out_channels},
                              std::vector<int8_t>(static_cast<size_t>(out_channels), 0))});
  }
  std::vector<Tensor> conv_inputs = {x, w, c.inputs[2]};
  if (spec.sum) {
    conv_inputs.push_back(
        spec.sum->dtype == DType::kFloat32
            ? c.inputs[3]
            : runOne(dq, {c.inputs[3], scalarFloat(spec.sum->scale), zeroPointTensor(*spec.sum)}));
  }
  std::vector<Attribute> attrs = spec.geometry;
  if (*spec.activation) attrs.push_back(Attribute::makeString("activation", spec.activation));
  attrs.push_back(Attribute::makeInt("sum_first", spec.sum_first));
  Node fused = makeNode("FusedConv", conv_inputs.size(), 1, attrs);
  fused.domain = "detslim";
  const Tensor y = runOne(fused, conv_inputs);
  if (spec.y.dtype == DType::kFloat32) return y;
  const Node q = makeNode("QuantizeLinear", 3, 1, {});
  return runOne(q, {y, scalarFloat(spec.y.scale), zeroPointTensor(spec.y)});
}

TEST(RefQConv, EqualsDequantizeFusedConvQuantizeBitForBit) {
  std::mt19937 rng(kKernelTestSeed);
  int cases = 0;
  for (const Geometry& g : geometries()) {
    for (const QParams& x : {kXu8, kXs8}) {
      for (const QParams& y : {kYu8, kYs8, kYf32}) {
        for (const std::optional<QParams>& sum :
             {std::optional<QParams>{}, std::optional<QParams>{kSumU8},
              std::optional<QParams>{kSumS8Asym}, std::optional<QParams>{kYf32}}) {
          QConvSpec spec;
          spec.geometry = g.attrs;
          spec.x = x;
          spec.y = y;
          spec.sum = sum;
          spec.sum_first = cases % 2;
          spec.activation = activations()[static_cast<size_t>(cases) % activations().size()].second;
          spec.per_channel_w = cases % 3 != 0;
          const QConvCase c = makeCase(spec, g.x, g.w, g.bias, rng);
          SCOPED_TRACE(std::string(g.name) + " " + paramName(x) + ">" + paramName(y) + " sum " +
                       (sum ? paramName(*sum) : "none") + " act '" + spec.activation + "'");
          const Tensor expected = runQdqGraph(c, spec);
          const Tensor actual = runReference(c);
          ASSERT_TRUE(expected.defined() && actual.defined());
          // Same float32 formulas in the same order: identical bytes.
          EXPECT_TRUE(expected.bitwiseEqual(actual));
          ++cases;
        }
      }
    }
  }
  EXPECT_EQ(cases, static_cast<int>(geometries().size()) * 2 * 3 * 4);
}

// ---- Attribute checks --------------------------------------------------------------------------

// The error of the reference QConv (shape function or kernel creation) on c with `attrs`
// replacing / adding attributes.
std::string errorWith(QConvCase c, const std::vector<Attribute>& attrs) {
  for (const Attribute& a : attrs) {
    auto it = std::find_if(c.node.attributes.begin(), c.node.attributes.end(),
                           [&](const Attribute& b) { return b.name == a.name; });
    if (it != c.node.attributes.end()) {
      *it = a;
    } else {
      c.node.attributes.push_back(a);
    }
  }
  const Status s = testing::runStatus(c.node, kOpset, c.inputs);
  EXPECT_FALSE(s.isOk()) << "expected an error";
  EXPECT_NE(s.message().find("QConv 'test_QConv'"), std::string::npos)
      << "the error names the node: " << s.message();
  return s.message();
}

TEST(RefQConv, RefusesBadAttributesNamingTheNode) {
  using A = Attribute;
  std::mt19937 rng(kKernelTestSeed);
  QConvSpec spec;
  spec.x = kXu8;
  spec.y = kYu8;
  spec.sum = kSumS8;
  const QConvCase c = makeCase(spec, {1, 13, 7, 9}, {16, 13, 3, 3}, true, rng);
  ASSERT_TRUE(testing::runStatus(c.node, kOpset, c.inputs).isOk());
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  auto contains = [](const std::string& haystack, const char* needle) {
    return haystack.find(needle) != std::string::npos;
  };
  EXPECT_TRUE(
      contains(errorWith(c, {A::makeFloats("w_scales", {0.01f, 0.02f})}), "w_scales has 2"));
  EXPECT_TRUE(contains(errorWith(c, {A::makeFloats("w_scales", std::vector<float>(16, -0.01f))}),
                       "positive"));
  EXPECT_TRUE(contains(errorWith(c, {A::makeFloat("x_scale", nan)}), "x_scale"));
  EXPECT_TRUE(contains(errorWith(c, {A::makeFloat("y_scale", 0.0f)}), "y_scale"));
  EXPECT_TRUE(contains(errorWith(c, {A::makeFloat("sum_scale", inf)}), "sum_scale"));
  EXPECT_TRUE(contains(errorWith(c, {A::makeInt("x_zero_point", 256)}), "x_zero_point 256"));
  EXPECT_TRUE(contains(errorWith(c, {A::makeInt("y_zero_point", -1)}), "y_zero_point -1"));
  EXPECT_TRUE(contains(errorWith(c, {A::makeInt("sum_zero_point", 128)}), "sum_zero_point 128"));
  EXPECT_TRUE(contains(errorWith(c, {A::makeInt("y_type", 7)}), "y_type 7"));
  {
    QConvCase no_scale = c;
    no_scale.node.attributes.erase(
        std::find_if(no_scale.node.attributes.begin(), no_scale.node.attributes.end(),
                     [](const Attribute& a) { return a.name == "x_scale"; }));
    EXPECT_TRUE(contains(errorWith(no_scale, {}), "x_scale is required"));
  }
  {
    QConvCase u8_weights = c;
    u8_weights.inputs[1] = randomQuantized(DType::kUInt8, {16, 13, 3, 3}, rng);
    EXPECT_TRUE(contains(errorWith(u8_weights, {}), "W_q (input 1) must be int8"));
  }
  {
    QConvCase f32_x = c;
    f32_x.inputs[0] = randomFloats({1, 13, 7, 9}, rng, -1.0f, 1.0f);
    EXPECT_TRUE(contains(errorWith(f32_x, {}), "X_q (input 0) must be uint8 or int8"));
  }
  {
    // W computed at run time: the reference needs it at create.
    NodeContext ctx;
    ctx.node = &c.node;
    ctx.opset = kOpset;
    ctx.cpu = CpuFeatures::baseline();
    for (const Tensor& t : c.inputs) {
      ctx.inputs.push_back(ValueDesc{t.dtype(), t.shape()});
      ctx.constants.push_back(nullptr);
    }
    const Result<KernelChoice> choice = createKernel(ctx, /*reference_only=*/true);
    ASSERT_FALSE(choice.isOk());
    EXPECT_TRUE(contains(choice.status().message(), "QConv 'test_QConv'"));
    EXPECT_TRUE(contains(choice.status().message(), "constant")) << choice.status().message();
  }
}

}  // namespace
}  // namespace detslim
