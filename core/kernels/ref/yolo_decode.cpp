// detslim::YoloDecode, the reference: the unfused Detect-head decode computed element by element
// from a plain [N, A*K, H, W] input, with the reference Sigmoid's formula and the reference
// binary ops' arithmetic, so it matches the chain it replaces.

#include "core/kernels/ref/yolo_decode.h"

#include <memory>
#include <string>

#include "core/kernels/ref/broadcast.h"
#include "core/kernels/ref/ref_ops.h"

namespace detslim {

namespace yolo_decode {

bool stepOpOf(const std::string& op_type, StepOp* op) {
  if (op_type == "Add") *op = StepOp::kAdd;
  else if (op_type == "Sub") *op = StepOp::kSub;
  else if (op_type == "Mul") *op = StepOp::kMul;
  else if (op_type == "Div") *op = StepOp::kDiv;
  else if (op_type == "Pow") *op = StepOp::kPow;
  else return false;
  return true;
}

namespace {

Result<std::vector<Step>> readSteps(const NodeContext& ctx, const char* ops_name, const char* first_name) {
  const std::vector<int64_t> ops = ctx.node->intsOr(ops_name, {});
  const std::vector<int64_t> first = ctx.node->intsOr(first_name, std::vector<int64_t>(ops.size(), 0));
  if (first.size() != ops.size()) {
    return ctx.error(std::string(first_name) + " has " + std::to_string(first.size()) + " values, " + ops_name +
                     " has " + std::to_string(ops.size()));
  }
  std::vector<Step> steps;
  for (size_t i = 0; i < ops.size(); ++i) {
    if (ops[i] < 0 || ops[i] > static_cast<int64_t>(StepOp::kPow)) {
      return ctx.error(std::string(ops_name) + "[" + std::to_string(i) + "] = " + std::to_string(ops[i]) +
                       " is not an op code (0 Add, 1 Sub, 2 Mul, 3 Div, 4 Pow)");
    }
    steps.push_back(Step{static_cast<StepOp>(ops[i]), first[i] != 0});
  }
  return steps;
}

}  // namespace

Result<Spec> parseSpec(const NodeContext& ctx) {
  Spec spec;
  DS_ASSIGN_OR_RETURN(spec.xy, readSteps(ctx, "xy_ops", "xy_const_first"));
  DS_ASSIGN_OR_RETURN(spec.wh, readSteps(ctx, "wh_ops", "wh_const_first"));
  const int64_t heads = ctx.node->intOr("heads", 1);
  if (heads < 1) return ctx.error("heads = " + std::to_string(heads) + " must be at least 1");
  const size_t expected = static_cast<size_t>(heads) * (1 + spec.steps());
  if (ctx.inputs.size() != expected) {
    return ctx.error("expects " + std::to_string(expected) + " inputs (" + std::to_string(heads) +
                     " X and one constant per step and head), got " + std::to_string(ctx.inputs.size()));
  }
  spec.anchors = ctx.node->intOr("anchors", 0);
  for (int64_t h = 0; h < heads; ++h) {
    const ValueDesc& x = ctx.inputs[static_cast<size_t>(h)];
    const std::string which = "X of head " + std::to_string(h);
    if (x.dtype != DType::kFloat32 || x.shape.size() != 4) return ctx.error(which + " must be a float32 4-D tensor");
    if (spec.anchors <= 0 || x.shape[1] % spec.anchors != 0) {
      return ctx.error("anchors = " + std::to_string(spec.anchors) + " does not divide the " +
                       std::to_string(x.shape[1]) + " channels of " + which);
    }
    const int64_t k = x.shape[1] / spec.anchors;
    if (h == 0) {
      spec.batch = x.shape[0];
      spec.outputs = k;
    } else if (x.shape[0] != spec.batch || k != spec.outputs) {
      return ctx.error(which + " has batch " + std::to_string(x.shape[0]) + " and " + std::to_string(k) +
                       " outputs per anchor; head 0 has " + std::to_string(spec.batch) + " and " +
                       std::to_string(spec.outputs));
    }
    spec.heads.push_back(Head{x.shape[2], x.shape[3], spec.rows});
    spec.rows += spec.anchors * x.shape[2] * x.shape[3];
  }
  if (spec.outputs < 5) return ctx.error("needs at least 5 outputs per anchor, got " + std::to_string(spec.outputs));
  for (size_t h = 0; h < spec.heads.size(); ++h) {
    const Shape pair = spec.pairShape(h);
    for (size_t step = 0; step < spec.steps(); ++step) {
      const size_t i = spec.constantInput(h, step);
      const ValueDesc& c = ctx.inputs[i];
      if (!c.present() || c.dtype != DType::kFloat32) return ctx.error("step input " + std::to_string(i) + " must be float32");
      const std::optional<Shape> out = broadcastShapes({c.shape, pair});
      if (c.shape.size() > pair.size() || !out || *out != pair) {
        return ctx.error("step input " + std::to_string(i) + " of shape " + shapeToString(c.shape) +
                         " does not broadcast to " + shapeToString(pair));
      }
    }
  }
  return spec;
}

}  // namespace yolo_decode

namespace {

class RefYoloDecodeKernel final : public Kernel {
 public:
  RefYoloDecodeKernel(yolo_decode::Spec spec, const std::vector<ValueDesc>& inputs) : spec_(std::move(spec)) {
    for (size_t h = 0; h < spec_.heads.size(); ++h) {
      for (size_t step = 0; step < spec_.steps(); ++step) {
        strides_.push_back(broadcastStrides(inputs[spec_.constantInput(h, step)].shape, spec_.pairShape(h)));
      }
    }
  }

  void run(const KernelArgs& args) override {
    auto* dst = static_cast<float*>(args.outputs[0]);
    const int64_t A = spec_.anchors, K = spec_.outputs;
    for (size_t h = 0; h < spec_.heads.size(); ++h) {
      const auto* src = static_cast<const float*>(args.inputs[h]);
      const int64_t H = spec_.heads[h].height, W = spec_.heads[h].width;
      for (int64_t n = 0; n < spec_.batch; ++n) {
        for (int64_t a = 0; a < A; ++a) {
          for (int64_t y = 0; y < H; ++y) {
            for (int64_t x = 0; x < W; ++x) {
              const int64_t row = spec_.heads[h].first_row + (a * H + y) * W + x;
              float* out = dst + (n * spec_.rows + row) * K;
              for (int64_t k = 0; k < K; ++k) {
                const float v = src[((n * A * K + a * K + k) * H + y) * W + x];
                float s = 1.0f / (1.0f + std::exp(-v));
                if (k < 4) {
                  const bool xy = k < 2;
                  const int64_t j = xy ? k : k - 2;
                  const std::vector<yolo_decode::Step>& steps = xy ? spec_.xy : spec_.wh;
                  const size_t base = xy ? 0 : spec_.xy.size();
                  for (size_t i = 0; i < steps.size(); ++i) {
                    const std::vector<int64_t>& st = strides_[h * spec_.steps() + base + i];
                    const int64_t off = n * st[0] + a * st[1] + y * st[2] + x * st[3] + j * st[4];
                    const auto* c = static_cast<const float*>(args.inputs[spec_.constantInput(h, base + i)]);
                    s = yolo_decode::applyStep(steps[i], s, c[off]);
                  }
                }
                out[k] = s;
              }
            }
          }
        }
      }
    }
  }

 private:
  yolo_decode::Spec spec_;
  std::vector<std::vector<int64_t>> strides_;  // per head, per step
};

}  // namespace

Status inferYoloDecode(NodeContext& ctx) {
  if (ctx.outputs.size() != 1) return ctx.error("expects exactly one output");
  DS_ASSIGN_OR_RETURN(yolo_decode::Spec spec, yolo_decode::parseSpec(ctx));
  ctx.outputs[0] = ValueDesc{DType::kFloat32, {spec.batch, spec.rows, spec.outputs}};
  return Status::ok();
}

Result<std::unique_ptr<Kernel>> makeRefYoloDecode(const NodeContext& ctx, std::string* /*why_not*/) {
  DS_ASSIGN_OR_RETURN(yolo_decode::Spec spec, yolo_decode::parseSpec(ctx));
  return std::unique_ptr<Kernel>(std::make_unique<RefYoloDecodeKernel>(std::move(spec), ctx.inputs));
}

}  // namespace detslim
