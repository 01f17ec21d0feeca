// Layout reorders through oneDNN's reorder primitive (it has optimised paths for every pair of
// plain / nhwc / blocked layouts).

#include "core/kernels/reorder.h"

#include <omp.h>

#include <algorithm>

#include <dnnl.hpp>

namespace detslim {

namespace {

dnnl::memory::data_type dnnlType(DType dtype) {
  switch (dtype) {
    case DType::kFloat32: return dnnl::memory::data_type::f32;
    case DType::kBFloat16: return dnnl::memory::data_type::bf16;
    case DType::kFloat16: return dnnl::memory::data_type::f16;
    case DType::kInt8: return dnnl::memory::data_type::s8;
    case DType::kUInt8: return dnnl::memory::data_type::u8;
    case DType::kInt32: return dnnl::memory::data_type::s32;
    default: return dnnl::memory::data_type::undef;
  }
}

dnnl::memory::format_tag tagFor(Layout layout) {
  switch (layout) {
    case Layout::kPlain: return dnnl::memory::format_tag::nchw;
    case Layout::kNhwc: return dnnl::memory::format_tag::nhwc;
    case Layout::kNChw16c: return dnnl::memory::format_tag::nChw16c;
  }
  return dnnl::memory::format_tag::undef;
}

class ReorderKernel final : public Kernel {
 public:
  ReorderKernel(const dnnl::memory::desc& src, const dnnl::memory::desc& dst, Layout from, Layout to)
      : engine_(dnnl::engine::kind::cpu, 0),
        stream_(engine_),
        src_(src, engine_, DNNL_MEMORY_NONE),
        dst_(dst, engine_, DNNL_MEMORY_NONE),
        reorder_(dnnl::reorder::primitive_desc(engine_, src, engine_, dst)),
        from_(from),
        to_(to) {}

  void run(const KernelArgs& args) override {
    src_.set_data_handle(const_cast<void*>(args.inputs[0]));
    dst_.set_data_handle(args.outputs[0]);
    reorder_.execute(stream_, src_, dst_);
    stream_.wait();
  }
  Layout inputLayout(size_t) const override { return from_; }
  Layout outputLayout(size_t) const override { return to_; }

 private:
  dnnl::engine engine_;
  dnnl::stream stream_;
  dnnl::memory src_;
  dnnl::memory dst_;
  dnnl::reorder reorder_;
  Layout from_;
  Layout to_;
};

}  // namespace

std::unique_ptr<Kernel> makeReorderKernel(const ValueDesc& src, Layout dst_layout, int num_threads) {
  if (src.shape.size() != 4 || src.layout == dst_layout) return nullptr;
  const dnnl::memory::data_type type = dnnlType(src.dtype);
  if (type == dnnl::memory::data_type::undef) return nullptr;
  const dnnl::memory::dims dims(src.shape.begin(), src.shape.end());
  const int saved_threads = omp_get_max_threads();
  omp_set_num_threads(std::max(1, num_threads));
  struct Restore {
    int n;
    ~Restore() { omp_set_num_threads(n); }
  } restore{saved_threads};
  try {
    return std::make_unique<ReorderKernel>(dnnl::memory::desc(dims, type, tagFor(src.layout)),
                                           dnnl::memory::desc(dims, type, tagFor(dst_layout)),
                                           src.layout, dst_layout);
  } catch (const dnnl::error&) {
    return nullptr;
  }
}

}  // namespace detslim
