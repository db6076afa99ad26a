// The engine's int8 layers: what a Conv2d/Linear node whose weight is quantized runs, and the
// kernel name the plan shows for it. The fp32 paths stay in engine.cc; these are called from there.
#pragma once

#include <string>

#include <vector>

#include "core/status.h"
#include "graph/graph.h"
#include "graph/quantized_weight.h"
#include "ops/epilogue.h"
#include "ops/fused_block.h"
#include "spiralkit_kernels/f32-sconv.h"

namespace spiralkit {

std::string qlinear_kernel_name(const QuantizedWeight& q, int64_t m, PlanChoice choice);
// kernel_epilogue: the layer's residual and activation ride in the kernels' store (no post pass).
std::string qconv_kernel_name(const QuantizedWeight& q, const ConvShape& s, PlanChoice choice, bool kernel_epilogue);

// Whether a quantized convolution runs its int8 kernels at this shape: every one but a depthwise
// layer on a plane narrower than 14 columns, which runs the fp32 channel-blocked kernels (on the
// dequantized int8 weights and a fake-quantized input: the int8 result up to float rounding),
// faster there than the per-plane qs8-dwconv rows (plan_i8.cc has the measurements).
bool conv_runs_int8(const ConvShape& s);

// Whether an inverted-residual block (ops/fused_block.h) whose 1x1 layers are int8 runs faster as
// the fp32 fused block (on the dequantized weights) than as int8 layers: unfused, the int8 layers
// write the expanded tensor to memory (as uint8) and read it back through the depthwise, which
// costs most where that tensor is large and the int8 kernels' own work small. (Rerun on Zen 5 at
// c8f9c55, with the depthwise int8, two noisy runs: at 90 % the first 112-wide block, which has no
// expand, ran faster as int8 layers in both (0.077 vs 0.092, 0.119 vs 0.179 ms), the next two came
// out either way, the 28 wide ones faster fused; the rule is unchanged,
// benchmarks/results/int8-block-choice-mobilenet-zen5-c8f9c55.txt holds the second run.) So: 1x1
// weights <= 25 % dense and an expanded tensor >= 512 KiB per image. Measured per block on
// MobileNet-v2 by benchmarks/int8_block_choice.py (Zen 4, 2 threads, batch 1; benchmarks/results/
// int8-block-choice-mobilenet-zen4-04e9163.txt): at 80 and 90 % `1x4` the fused fp32 block wins on
// the 112 x 112 to 28 x 28 blocks (90 %, block 2: 0.346 ms as int8 layers, 0.245 fused), the
// 14 x 14 and 7 x 7 blocks are level or faster as int8 layers; dense, the int8 layers are level on
// the 112 x 112 blocks and faster from 56 x 56 (0.245 vs 0.301 ms). compile(tune=True) keeps this
// choice (it times dense vs sparse only).
bool int8_block_runs_fp32(const FusedBlock& b);

// What int8_conv[node] says of a node, for the uint8 chains below.
enum Int8ConvRole : char {
  kReadsUint8 = 1,   // an int8-running convolution whose input 0 the kernels read as it is, or a
                     // depthwise one on the fp32 kernels, which dequantizes it where it would
                     // fake-quantize an fp32 input (the same values, bit for bit)
  kWritesUint8 = 2,  // an int8-running convolution whose whole epilogue is the kernel's own
  kResidualInKernel = 4,  // ... whose residual (input 2) the kernels' store adds, from fp32 or uint8
};

// Per value: the parameters an int8 convolution writes it with as uint8, so that its consumers
// quantize nothing and the tensor moves a quarter of the bytes (scale 0: the value stays fp32).
// A value is uint8 when its producer has kWritesUint8 and every use is input 0 of a kReadsUint8
// node with the same input parameters, or the residual of a kResidualInKernel node (at least one
// use of the first kind), or every use is such a residual and the value carries calibrated
// parameters of its own (Value::uint8_scale: a projection shortcut's output); graph outputs stay fp32. The requantizing epilogue is the quantization
// the consumer would apply to the fp32 output, so input-0 uses are bit-identical; a residual use
// reads the quantized value where it read the fp32 one, as a quantized Add (QLinearAdd, the QDQ
// Add of a quantized ResNet) does: one more rounding of the identity path, within the int8 error.
// A MaxPool between such a producer and such consumers passes uint8 through: quantization is
// monotonic, so the max of quantized values is the quantized max (bit-identical again).
std::vector<QuantParams> uint8_values(const Graph& g, const std::vector<char>& int8_conv);
// Whether a node can run on uint8 values as they are (uint8 in, uint8 out, same parameters).
bool uint8_transparent(const Node& n);

// x / y / the residual are fp32, or uint8 where x_u8 / y_u8 / residual_u8 (the uint8_values of
// the node's input, output and residual) say so; a uint8 residual is passed as residual, with
// ep.residual null.
struct QuantizedConvArgs {
  const void* x = nullptr;
  bool x_u8 = false;
  void* y = nullptr;
  const QuantParams* y_u8 = nullptr;
  const uint8_t* residual = nullptr;
  const QuantParams* residual_u8 = nullptr;
};
Status run_quantized_conv(const QuantizedWeight& q, const ConvShape& s, const QuantizedConvArgs& args, const Epilogue& ep);

}  // namespace spiralkit
