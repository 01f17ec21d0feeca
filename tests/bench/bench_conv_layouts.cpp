// Which activation layout should DetSlim keep between convolutions? Measures oneDNN f32
// forward-inference convolution with a fused SiLU (eltwise_swish) on yolov5n's shapes at 640 for
// src/dst in nchw, nhwc and nChw16c (weights format_tag::any, as the kernels pack them), the cost
// of reordering an activation between those layouts, and the post-op chains YOLOv5's residual
// blocks need ([swish, sum] = Add(x, SiLU(conv)); [sum, swish] for comparison).
//
// The two vCPUs of the development machine sometimes share a physical core (docs/PLATFORM.md), so
// run with repetitions and random interleaving and compare medians within one run:
//   bench_conv_layouts --benchmark_repetitions=7 --benchmark_enable_random_interleaving=true
//                      --benchmark_report_aggregates_only=true
// Counters: GFLOP/s (2 * MACs per second), GB/s for reorders; the label is oneDNN's
// impl_info_str() of the primitive it picked.

#include <benchmark/benchmark.h>
#include <omp.h>

#include <array>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "oneapi/dnnl/dnnl.hpp"

namespace {

using dnnl::memory;
using Tag = memory::format_tag;

struct ConvShape {
  const char* name;  // yolov5n layer it comes from
  int64_t ic, oc, kernel, stride, pad, in_hw;
  int64_t groups = 1;
  int64_t outHw() const { return (in_hw + 2 * pad - kernel) / stride + 1; }
  double flops() const {
    const double out = static_cast<double>(outHw()) * outHw();
    return 2.0 * out * oc * (ic / groups) * kernel * kernel;
  }
};

// yolov5n at 640x640, batch 1; then two depthwise convs of yolox_nano at 416.
constexpr std::array<ConvShape, 10> kShapes = {{
    {"stem_3to16_k6s2_640", 3, 16, 6, 2, 2, 640},
    {"down_16to32_k3s2_320", 16, 32, 3, 2, 1, 320},
    {"c3_32to16_k1_160", 32, 16, 1, 1, 0, 160},
    {"bneck_16to16_k3_160", 16, 16, 3, 1, 1, 160},
    {"c3_64to64_k1_80", 64, 64, 1, 1, 0, 80},
    {"bneck_128to128_k3_40", 128, 128, 3, 1, 1, 40},
    {"c3_256to256_k1_20", 256, 256, 1, 1, 0, 20},
    {"head_64to255_k1_80", 64, 255, 1, 1, 0, 80},
    {"dw_64_k3_52", 64, 64, 3, 1, 1, 52, 64},
    {"dw_128_k3s2_52", 128, 128, 3, 2, 1, 52, 128},
}};
constexpr int64_t kHeadShape = 7;

enum LayoutArg : int64_t { kNchw = 0, kNhwc = 1, kBlocked16 = 2 };
constexpr std::array<Tag, 3> kTags = {Tag::nchw, Tag::nhwc, Tag::nChw16c};

// Post-op chains after the convolution. The residual input can come in two ways: a sum post-op
// (accumulates into dst, so the residual must first be copied there unless it already lives in
// dst's buffer) or a binary_add post-op reading the residual tensor directly.
enum PostOps : int64_t {
  kSwish = 0,
  kSwishThenSum = 1,
  kSumThenSwish = 2,
  kNone = 3,
  kSwishThenAdd = 4,
  kAddThenSwish = 5,
};

dnnl::engine& cpuEngine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

void fillRandom(const dnnl::memory& mem, uint32_t seed) {
  // The whole physical buffer, blocked padding included: only timings matter here, and finite
  // values keep the arithmetic free of denormal and NaN slow paths.
  const size_t count = mem.get_desc().get_size() / sizeof(float);
  auto* data = static_cast<float*>(mem.get_data_handle());
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (size_t i = 0; i < count; ++i) data[i] = dist(rng);
}

// One convolution primitive with its buffers, ready to execute.
struct ConvInstance {
  dnnl::convolution_forward conv;
  std::unordered_map<int, dnnl::memory> args;
  std::string impl;
};

// Creates the convolution of `s` in the given layouts with post-ops `post`; nullopt with the
// reason in *error when oneDNN refuses or offers only its reference implementation (which runs
// 100x slower: the benchmarks report which layouts fall back to it).
std::optional<ConvInstance> makeConv(const ConvShape& s, Tag src_tag, Tag dst_tag, PostOps post,
                                     std::string* error) {
  dnnl::engine& engine = cpuEngine();
  const int64_t oh = s.outHw();
  const memory::dims src_dims = {1, s.ic, s.in_hw, s.in_hw};
  const memory::dims wei_dims =
      s.groups == 1 ? memory::dims{s.oc, s.ic, s.kernel, s.kernel}
                    : memory::dims{s.groups, s.oc / s.groups, s.ic / s.groups, s.kernel, s.kernel};
  const memory::dims dst_dims = {1, s.oc, oh, oh};
  const memory::desc src_md(src_dims, memory::data_type::f32, src_tag);
  const memory::desc wei_md(wei_dims, memory::data_type::f32, Tag::any);
  const memory::desc bias_md({s.oc}, memory::data_type::f32, Tag::a);
  const memory::desc dst_md(dst_dims, memory::data_type::f32, dst_tag);

  dnnl::post_ops ops;
  const auto swish = [&ops] {
    ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_swish, 1.0f, 0.0f);
  };
  switch (post) {
    case kNone:
      break;
    case kSwish:
      swish();
      break;
    case kSwishThenSum:
      swish();
      ops.append_sum(1.0f);
      break;
    case kSumThenSwish:
      ops.append_sum(1.0f);
      swish();
      break;
    case kSwishThenAdd:
      swish();
      ops.append_binary(dnnl::algorithm::binary_add, dst_md);
      break;
    case kAddThenSwish:
      ops.append_binary(dnnl::algorithm::binary_add, dst_md);
      swish();
      break;
  }
  dnnl::primitive_attr attr;
  attr.set_post_ops(ops);
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const dnnl::convolution_forward::desc desc(
      dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src_md, wei_md,
      bias_md, dst_md, {s.stride, s.stride}, {s.pad, s.pad}, {s.pad, s.pad});
  dnnl::convolution_forward::primitive_desc pd;
  try {
    pd = dnnl::convolution_forward::primitive_desc(desc, attr, engine);
  } catch (const dnnl::error& e) {
    *error = std::string("refused: ") + e.what();
    return std::nullopt;
  }
  const std::string impl = pd.impl_info_str();
  if (impl.rfind("ref", 0) == 0) {
    *error = "no optimised implementation: " + impl;
    return std::nullopt;
  }
  dnnl::memory src(pd.src_desc(), engine);
  dnnl::memory wei(pd.weights_desc(), engine);
  dnnl::memory bias(pd.bias_desc(), engine);
  dnnl::memory dst(pd.dst_desc(), engine);
  dnnl::memory scratch(pd.scratchpad_desc(), engine);
  fillRandom(src, 1);
  fillRandom(wei, 2);
  fillRandom(bias, 3);
  fillRandom(dst, 4);
  ConvInstance c{dnnl::convolution_forward(pd),
                 {{DNNL_ARG_SRC, src},
                  {DNNL_ARG_WEIGHTS, wei},
                  {DNNL_ARG_BIAS, bias},
                  {DNNL_ARG_DST, dst},
                  {DNNL_ARG_SCRATCHPAD, scratch}},
                 impl};
  if (post == kSwishThenAdd || post == kAddThenSwish) {
    dnnl::memory residual(dst_md, engine);
    fillRandom(residual, 6);
    // The binary post-op is the second (index 1) or first (index 0) entry of the chain.
    const int index = post == kSwishThenAdd ? 1 : 0;
    c.args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(index) | DNNL_ARG_SRC_1, residual);
  }
  return c;
}

// args: shape index, src layout, dst layout, threads, post-ops.
void BM_Conv(benchmark::State& state) {
  const ConvShape& s = kShapes[static_cast<size_t>(state.range(0))];
  const Tag src_tag = kTags[static_cast<size_t>(state.range(1))];
  const Tag dst_tag = kTags[static_cast<size_t>(state.range(2))];
  const auto post = static_cast<PostOps>(state.range(4));
  // Before creating the primitive: oneDNN's JIT convolutions fix their thread partition at
  // creation from omp_get_max_threads().
  omp_set_num_threads(static_cast<int>(state.range(3)));
  std::string error;
  std::optional<ConvInstance> c = makeConv(s, src_tag, dst_tag, post, &error);
  if (!c) {
    state.SkipWithError(error.c_str());
    return;
  }
  dnnl::stream stream(cpuEngine());
  for (auto _ : state) {
    c->conv.execute(stream, c->args);
    stream.wait();
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(s.flops() * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(c->impl);
}

// Every convolution of yolov5n (v6+, width 0.25, depth 0.33) at 640x640: layer, shape, and
// whether it ends a residual bottleneck (Add(x, SiLU(conv))), the Detect convs last (no SiLU).
struct NetConv {
  ConvShape shape;
  bool residual = false;
  bool detect = false;
};

std::vector<NetConv> yolov5nConvs() {
  std::vector<NetConv> convs;
  auto conv = [&](int64_t ic, int64_t oc, int64_t k, int64_t s, int64_t hw, bool res = false) {
    convs.push_back({{"net", ic, oc, k, s, k == 6 ? 2 : k / 2, hw}, res, false});
  };
  // A C3 block at spatial size hw: cv1, cv2, n bottlenecks (1x1 then 3x3), cv3.
  auto c3 = [&](int64_t c_in, int64_t c_out, int n, int64_t hw, bool shortcut) {
    const int64_t hidden = c_out / 2;
    conv(c_in, hidden, 1, 1, hw);
    conv(c_in, hidden, 1, 1, hw);
    for (int i = 0; i < n; ++i) {
      conv(hidden, hidden, 1, 1, hw);
      conv(hidden, hidden, 3, 1, hw, shortcut);
    }
    conv(2 * hidden, c_out, 1, 1, hw);
  };
  conv(3, 16, 6, 2, 640);
  conv(16, 32, 3, 2, 320);
  c3(32, 32, 1, 160, true);
  conv(32, 64, 3, 2, 160);
  c3(64, 64, 2, 80, true);
  conv(64, 128, 3, 2, 80);
  c3(128, 128, 3, 40, true);
  conv(128, 256, 3, 2, 40);
  c3(256, 256, 1, 20, true);
  conv(256, 128, 1, 1, 20);  // SPPF cv1
  conv(512, 256, 1, 1, 20);  // SPPF cv2
  conv(256, 128, 1, 1, 20);
  c3(256, 128, 1, 40, false);
  conv(128, 64, 1, 1, 40);
  c3(128, 64, 1, 80, false);
  conv(64, 64, 3, 2, 80);
  c3(128, 128, 1, 40, false);
  conv(128, 128, 3, 2, 40);
  c3(256, 256, 1, 20, false);
  for (const auto& [ic, hw] : {std::pair<int64_t, int64_t>{64, 80}, {128, 40}, {256, 20}}) {
    convs.push_back({{"detect", ic, 255, 1, 1, 0, hw}, false, true});
  }
  return convs;
}

// args: layout, threads. All yolov5n convolutions back to back in one activation layout, with
// the post-ops the FusedConv kernel would use there (nhwc: [swish, sum] for residuals; nchw and
// nChw16c: [swish, binary_add], oneDNN 2.6 refusing eltwise-then-sum there). The stem reads
// the plain image where the layout's kernels allow it (nChw16c); nhwc's stem reads nhwc (the
// image reorder is BM_Reorder/c:3/hw:640). Time per iteration = the network's convolutions.
void BM_Yolov5nConvs(benchmark::State& state) {
  const auto layout = static_cast<LayoutArg>(state.range(0));
  omp_set_num_threads(static_cast<int>(state.range(1)));
  const Tag tag = kTags[static_cast<size_t>(layout)];
  std::vector<ConvInstance> net;
  double flops = 0.0;
  std::string impls;
  for (const NetConv& c : yolov5nConvs()) {
    const bool stem = c.shape.ic == 3;
    const Tag src_tag = stem && layout == kBlocked16 ? Tag::nchw : tag;
    PostOps post = c.detect ? kNone : kSwish;
    if (c.residual) post = layout == kNhwc ? kSwishThenSum : kSwishThenAdd;
    std::string error;
    std::optional<ConvInstance> instance = makeConv(c.shape, src_tag, tag, post, &error);
    if (!instance) {
      state.SkipWithError(error.c_str());
      return;
    }
    if (impls.find(instance->impl) == std::string::npos) impls += instance->impl + " ";
    net.push_back(std::move(*instance));
    flops += c.shape.flops();
  }
  dnnl::stream stream(cpuEngine());
  for (auto _ : state) {
    for (ConvInstance& c : net) {
      c.conv.execute(stream, c.args);
      stream.wait();
    }
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["convs"] = static_cast<double>(net.size());
  state.SetLabel(impls);
}

// args: channels, spatial size, from layout, to layout, threads.
void BM_Reorder(benchmark::State& state) {
  const int64_t c = state.range(0);
  const int64_t hw = state.range(1);
  const Tag from = kTags[static_cast<size_t>(state.range(2))];
  const Tag to = kTags[static_cast<size_t>(state.range(3))];
  omp_set_num_threads(static_cast<int>(state.range(4)));
  dnnl::engine& engine = cpuEngine();
  dnnl::stream stream(engine);
  const memory::dims dims = {1, c, hw, hw};
  dnnl::memory src({dims, memory::data_type::f32, from}, engine);
  dnnl::memory dst({dims, memory::data_type::f32, to}, engine);
  fillRandom(src, 5);
  const dnnl::reorder::primitive_desc pd(src, dst);
  dnnl::reorder reorder(pd);
  for (auto _ : state) {
    reorder.execute(stream, src, dst);
    stream.wait();
  }
  const double bytes = static_cast<double>(src.get_desc().get_size() + dst.get_desc().get_size());
  state.counters["GB/s"] =
      benchmark::Counter(bytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(pd.impl_info_str());
}

void convArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"shape", "src", "dst", "thr", "post"});
  for (int64_t threads : {1, 2}) {
    for (int64_t shape = 0; shape < static_cast<int64_t>(kShapes.size()); ++shape) {
      for (int64_t layout : {kNchw, kNhwc, kBlocked16}) {
        b->Args({shape, layout, layout, threads, kSwish});
      }
      // The stem reads the plain image; the head feeds Reshape/Transpose in plain layout.
      if (shape == 0) {
        b->Args({shape, kNchw, kNhwc, threads, kSwish});
        b->Args({shape, kNchw, kBlocked16, threads, kSwish});
      }
      if (shape == kHeadShape) {
        b->Args({shape, kNhwc, kNchw, threads, kNone});
        b->Args({shape, kBlocked16, kNchw, threads, kNone});
      }
    }
    // Residual chains on the bottleneck 3x3 convs (YOLOv5: x + SiLU(conv(...))).
    for (int64_t shape : {2, 3, 4, 5}) {
      for (int64_t layout : {kNhwc, kBlocked16}) {
        for (int64_t post : {kSwishThenSum, kSumThenSwish, kSwishThenAdd, kAddThenSwish}) {
          b->Args({shape, layout, layout, threads, post});
        }
      }
    }
  }
}

void reorderArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"c", "hw", "from", "to", "thr"});
  // The largest activations of yolov5n at 640 and a mid-sized one.
  const std::vector<std::array<int64_t, 2>> sizes = {{16, 320}, {32, 160}, {64, 80}, {128, 40}};
  for (int64_t threads : {1, 2}) {
    // The input image into the stem's layout.
    b->Args({3, 640, kNchw, kNhwc, threads});
    b->Args({3, 640, kNchw, kBlocked16, threads});
    for (const auto& [c, hw] : sizes) {
      b->Args({c, hw, kNchw, kNhwc, threads});
      b->Args({c, hw, kNhwc, kNchw, threads});
      b->Args({c, hw, kNchw, kBlocked16, threads});
      b->Args({c, hw, kBlocked16, kNchw, threads});
      b->Args({c, hw, kNhwc, kBlocked16, threads});
      b->Args({c, hw, kBlocked16, kNhwc, threads});
    }
  }
}

BENCHMARK(BM_Conv)->Apply(convArgs)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_Reorder)->Apply(reorderArgs)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_Yolov5nConvs)
    ->ArgNames({"layout", "thr"})
    ->ArgsProduct({{kNchw, kNhwc, kBlocked16}, {1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
