#pragma once
// The QDQ model builder (docs/quant.md, "The QDQ format DetSlim writes and runs"): which Convs
// and tensors an INT8 model quantizes, and the QDQ model itself.
//
// Both run foldBatchNorm on a copy first, so models with BatchNormalization after a Conv work;
// the folded names are the ones the engine and the observer see (a fold keeps the BN output's
// name), so plans, scale tables and QDQ models agree.

#include <cstdint>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/graph/graph.h"
#include "core/quant/calibrate.h"

namespace detslim::quant {

struct ScaleTable;

// The default higher-precision layers: the first Convs (input 0 reached from a graph input
// through non-Conv ops only) and the Detect head's output Convs (Convs from which a graph output
// is reachable without passing through another Conv). In graph order, without duplicates.
std::vector<std::string> defaultKeepFp32(const Model& model);

struct QuantizationPlan {
  std::vector<std::string> quantized_convs;  // Conv node names, graph order
  std::vector<std::string> kept_convs;       // Conv node names kept in f32, graph order
  // Tensors sharing one (scale, zero point); every quantized tensor is in exactly one group.
  std::vector<std::vector<std::string>> tensor_groups;
  // Why a Conv the caller did not keep is kept anyway (e.g. its weight is not a constant).
  std::vector<std::string> notes;
  // Conv outputs quantized before their activation (each is also a one-tensor group): the
  // activation (SiLU's Sigmoid + Mul, Tanh, ...) then maps integers to integers, which the engine
  // runs as a 256-entry table instead of a float epilogue inside the int8 convolution.
  struct PreActivation {
    std::string tensor;      // the Conv output
    std::string activation;  // the chain's result: a quantized tensor
    Model chain;             // tensor -> activation as a model of its own (subgraphModel)
  };
  std::vector<PreActivation> pre_activations;

  // Every quantized tensor, group by group.
  std::vector<std::string> tensors() const;
  std::vector<std::string> preActivationTensors() const;
};

// Quantized tensors: input 0 of every quantized Conv, joined through the scale-preserving ops
// (Concat, MaxPool, nearest Resize, Split, Slice) to their other float inputs and outputs; each
// joined set is one group. A scale-preserving op joins nothing when one of its data tensors is a
// constant or not float32. With `pre_activations`, also the output of each quantized Conv read
// only by an elementwise chain with an exponential / division (core/graph/elementwise_chain.h:
// SiLU, sigmoid, tanh, ...) whose result is a quantized tensor: a one-tensor group each, listed in
// pre_activations (not for a chain ending in a residual Add: its result is not quantized).
// Refuses a keep_fp32 name that is no Conv of the model, naming it.
Result<QuantizationPlan> planQuantization(const Model& model, const std::vector<std::string>& keep_fp32,
                                          bool pre_activations = true);

// Leaves out of `plan` the pre-activation tensors `table` has no entry for (a table calibrated
// with pre-activations off, or by a DetSlim before they existed); their activations then run
// inside the int8 convolutions. Returns a note saying so, or "" when nothing was left out.
std::string dropUncalibratedPreActivations(QuantizationPlan& plan, const ScaleTable& table);

// Narrows each pre-activation's range in `table` to where its activation's quantized output
// still changes: below and above it every value gives the output's first / last code (SiLU's
// long negative tail), so the 256 codes go where they matter. The chain is evaluated on 8193
// points of the calibrated range with the reference kernels; the range keeps 0; scale and zero
// point follow (`type`). Run after the activation outputs' entries are final.
Status narrowPreActivationRanges(const QuantizationPlan& plan, ActivationType type, ScaleTable& table);

struct QuantReport {
  std::vector<std::string> quantized_convs, kept_convs;
  int64_t quantized_tensors = 0;
  int64_t pre_activation_tensors = 0;  // conv outputs quantized before their activation
  int64_t weight_bytes_before = 0;  // initializer bytes of the f32 model (BN folded)
  int64_t weight_bytes_after = 0;   // initializer bytes of the QDQ model
  std::vector<std::string> notes;   // plan notes, opset upgrade, weight scales widened for the bias
};

struct QuantizedModel {
  Model model;
  QuantReport report;
};

// The QDQ model of `fp32` with the table's (scale, zero point) for every planned tensor and
// per-channel symmetric int8 weights / int32 biases for every quantized Conv. Only
// options.keep_fp32 is read from the options: the activation types are the table's. A model
// below opset 13 (per-axis DequantizeLinear) is upgraded to 13 (Split / Squeeze / Unsqueeze /
// ReduceSum attributes become inputs); opsets below 11 and ops whose meaning changed on the way
// are refused, naming the node. Refuses a table that lacks a planned tensor or whose group members
// disagree. The result passes the ONNX checker (checked before returning).
Result<QuantizedModel> quantizeModel(const Model& fp32, const ScaleTable& table, const QuantOptions& options);

// Upgrades the default-domain opset to 13 when it is 11 or 12 (see quantizeModel); no change
// at 13 or above. Returns notes on what changed.
Result<std::vector<std::string>> upgradeOpsetTo13(Model& model);

}  // namespace detslim::quant
