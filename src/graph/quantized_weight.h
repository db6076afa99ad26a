// An int8 layer of the graph: the int8 weight and the quantization of the activations entering
// it (calibrated at compile time, or read from a QDQ model), with the scales folded once. A
// Weight that carries one runs the qs8 kernels; its fp32 `packed` twin (the dequantized weight)
// keeps every fp32 pass and fallback working unchanged.
#pragma once

#include <memory>

#include "core/status.h"
#include "ops/qlinear.h"
#include "sparse/packed_weight.h"
#include "sparse/packed_weight_i8.h"

namespace spiralkit {

struct QuantizedWeight {
  std::shared_ptr<const PackedWeightI8> w;
  QLinearPlan layer;  // layer.w == w.get()
};

// Checks x and builds the layer; `dequantized` (optional) receives the fp32 twin (q * scale).
Status make_quantized_weight(std::shared_ptr<const PackedWeightI8> w, const QuantParams& x,
                             std::shared_ptr<const QuantizedWeight>* out,
                             std::shared_ptr<const PackedWeight>* dequantized);

}  // namespace spiralkit
