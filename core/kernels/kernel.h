#pragma once
// The kernel interface. For every node the engine (core/engine) first runs the op's shape
// function, then asks the op's implementations in priority order — optimised first, the
// reference kernel last — and takes the first that accepts. A kernel is created once per node
// at compile time (weights packed there) and run many times with no allocation.

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/cpu.h"
#include "core/base/status.h"
#include "core/base/tensor.h"
#include "core/graph/graph.h"

namespace detslim {

// Memory layout of a 4-D activation. Reference kernels only take kPlain (ONNX row-major, NCHW
// for images). Optimised kernels may declare others; the engine inserts reorders between them.
enum class Layout : uint8_t {
  kPlain = 0,
  kNhwc = 1,       // channels innermost
  kNChw16c = 2,    // oneDNN's blocked layout: C split in blocks of 16, padded with zeros
};
std::string_view layoutName(Layout layout);

struct ValueDesc {
  DType dtype = DType::kUndefined;  // kUndefined: an omitted optional input / output
  Shape shape;
  Layout layout = Layout::kPlain;
  bool present() const { return dtype != DType::kUndefined; }
  int64_t numel() const { return shapeNumel(shape); }
  // Bytes of the buffer this value needs (blocked layouts round C up to the block).
  size_t bytes() const;
};

// Arithmetic precision of convolutions and matrix products (EngineOptions::compute):
// kBFloat16 runs them as oneDNN bf16 primitives (bf16 weights packed at create, bf16 src
// converted in the kernel, f32 accumulation and f32 dst) on CPUs with AVX-512 BF16.
enum class ComputePrecision : uint8_t { kFloat32 = 0, kBFloat16 = 1 };

// What an op's shape function and a kernel factory see about one node at compile time.
struct NodeContext {
  const Node* node = nullptr;
  int64_t opset = 0;                     // opset version of the node's domain
  std::vector<ValueDesc> inputs;         // one per node input; omitted ones not present()
  std::vector<const Tensor*> constants;  // an input's value when known at compile time, else null
  std::vector<ValueDesc> outputs;        // filled by the op's shape function
  int num_threads = 1;
  CpuFeatures cpu;
  ComputePrecision compute = ComputePrecision::kFloat32;  // for this node (kept nodes: f32)

  const Tensor* constant(size_t i) const { return i < constants.size() ? constants[i] : nullptr; }
  bool hasInput(size_t i) const { return i < inputs.size() && inputs[i].present(); }
  // "Conv 'model.0/conv/Conv': <message>" with kInvalidArgument.
  Status error(const std::string& message) const;
  Status unsupportedError(const std::string& message) const;
};

// Buffers for one execution of one kernel. Pointers follow the node's inputs / outputs; an
// omitted optional input is nullptr. Shapes are those of NodeContext (fixed at compile time).
struct KernelArgs {
  std::span<const void* const> inputs;
  std::span<void* const> outputs;
  void* scratch = nullptr;  // scratchBytes() bytes, 64-byte aligned, not shared with anything
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  // Executes; must not allocate, throw or fail (everything that can fail is checked at create).
  virtual void run(const KernelArgs& args) = 0;
  virtual size_t scratchBytes() const { return 0; }
  // Layout the kernel wants for input i / produces for output i (default: plain everywhere).
  virtual Layout inputLayout(size_t /*i*/) const { return Layout::kPlain; }
  virtual Layout outputLayout(size_t /*i*/) const { return Layout::kPlain; }
  // An input whose buffer output 0 may share (elementwise ops that can work in place), or -1.
  virtual int inPlaceInput() const { return -1; }
  // True when output 0 is a view of input 0 (Reshape, Flatten, Squeeze, Unsqueeze, Identity):
  // run() does nothing and the engine makes the output share the input's buffer.
  virtual bool isView() const { return false; }
  // What the profiler prints beside the implementation name, e.g. oneDNN's
  // "brgconv:avx512_core nhwc>nhwc"; empty when there is nothing to add.
  virtual std::string detail() const { return {}; }
};

// Fills ctx.outputs from ctx.inputs, ctx.constants and attributes; refuses bad attributes or
// shapes naming the node, and shapes that depend on values not known at compile time.
using ShapeFn = Status (*)(NodeContext& ctx);
// Returns a kernel, or nullptr with `why_not` set when this implementation does not take the
// node (dtype, attribute, CPU feature); an error Status when the node is invalid.
using KernelFactory = Result<std::unique_ptr<Kernel>> (*)(const NodeContext& ctx, std::string* why_not);

struct KernelImpl {
  std::string_view name;  // dtype_kernel_tile_isa, e.g. "f32_conv_brgconv_avx512", "ref"
  KernelFactory create = nullptr;
};

struct OpRegistration {
  std::string_view domain;  // "" = ai.onnx
  std::string_view op_type;
  ShapeFn infer = nullptr;
  std::vector<KernelImpl> impls;  // priority order; the reference kernel is last
};

}  // namespace detslim
