// Two chained int8 linears run as one op: y = down(act(up(x))), where up's output is never
// written as an m x N fp32 tensor. Per strip of rows, the threads run up's panels into fp32
// chunks (N x strip, the kernels' own orientation), apply up's activation there, and quantize
// each chunk with down's input parameters straight into down's K x M groups-of-4 layout — which is
// up's N x M orientation, four rows interleaved. The unfused pair instead transposes up's output
// into m x N, applies the activation, then quantizes and transposes it back for down: on a
// BERT-base FFN (768 -> 3072 -> 768, 128 tokens) those passes move ~3 MB per layer.
#pragma once

#include <cstdint>

#include "core/status.h"
#include "ops/epilogue.h"
#include "ops/qlinear.h"

namespace spiralkit {

// Whether up -> down can run as a pair at m rows: K x M kernels for both (m >= kGemvRows), up's
// outputs are down's inputs, in whole groups of 4, and up's epilogue needs no residual.
bool qlinear_pair_fusable(const QLinearPlan& up, const Epilogue& up_ep, const QLinearPlan& down, int64_t m);

// x: m x K_up fp32; y: m x N_down fp32. up_ep: up's bias, activation and choice (no residual);
// down_ep: down's bias, activation, residual (y's layout) and choice.
Status qlinear_pair_forward(const QLinearPlan& up, Epilogue up_ep, const QLinearPlan& down, Epilogue down_ep,
                            const float* x, int64_t m, float* y);

}  // namespace spiralkit
