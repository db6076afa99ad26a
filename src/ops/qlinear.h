// Quantized linear op driver: y[m, :] = act(dequant(quant(x[m, :]) W_q^T) + bias) over a
// PackedWeightI8, with fp32 activations in and out (the quantize step is fused into the packing
// of x, the dequantize into the kernels' epilogue). Split into plan (scales folded once) and run.
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"
#include "ops/epilogue.h"
#include "sparse/packed_weight_i8.h"
#include "spiralkit_kernels/qs8.h"

namespace spiralkit {

// How activations entering the op are quantized: q = clamp(round(x / scale) + zero_point, 0, 255).
struct QuantParams {
  float scale = 1.0f;
  int32_t zero_point = 0;
};
Status check_quant_params(const QuantParams& q, const char* what);

struct QLinearPlan {
  const PackedWeightI8* w = nullptr;
  QuantParams x;
  std::vector<float> row_scale;  // x.scale * w.scales[n]
};

Status qlinear_plan(const PackedWeightI8& w, const QuantParams& x, QLinearPlan* plan);

// x: m x K contiguous fp32; y: m x N contiguous fp32. ep: bias (fp32, N), activation, residual,
// and a forced sparse/dense choice.
Status qlinear_forward(const QLinearPlan& plan, const float* x, int64_t m, Epilogue ep, float* y);

// First panel of thread t of `threads` over panels [p_begin, p_end): split by blocks (plus a
// per-panel epilogue cost), so threads get equal work.
int64_t split_qpanels(const QPanelView& v, int64_t p_begin, int64_t p_end, int t, int threads);

// Threads worth running for m rows of v (fewer where a fork/join would cost more than it saves).
int qlinear_threads(const QPanelView& v, int64_t m);

// Output rows per chunk the K x M drivers compute into their fp32 scratch before transposing it.
constexpr int64_t kQChunkRows = 128;

// The kernels' epilogue for plan's rows: dequantizing scales, ep's bias and the activation the
// kernels apply themselves (fp32 output; the caller points y_f32 / y_u8).
QOutput qlinear_output(const QLinearPlan& plan, const Epilogue& ep);

// Bytes of a K x S uint8 strip of activations the K x M drivers keep in L2.
constexpr int64_t kQStripBytes = 512 * 1024;

// Thread t of nt's share of one strip of x (ms rows of k floats): its rows quantized into xq
// (row-major, groups * 4 bytes a row), then moved into their columns of xt (groups x ldx words);
// the last thread zeroes the padding columns [ms, ldx). The caller meets at a barrier after.
void quantize_strip_share(const float* x, int64_t ms, int64_t k, int64_t groups, float inv_scale, int32_t zero_point,
                          int t, int nt, uint8_t* xq, uint8_t* xt, int64_t ldx);

// Panels [p0, p1) of v over the ms columns of xt (the K x M groups-of-4 layout, ldx columns), in
// chunks of kQChunkRows rows into ys (kQChunkRows x ldx floats), each transposed into y (ms rows,
// row stride v.rows) and ep applied to it while in cache.
void qxt_panels_into_rows(const QPanelView& v, QSpmmFn spmm, const QOutput& out, const uint8_t* xt, int64_t ldx,
                          int64_t ms, int32_t x_zero_point, int64_t p0, int64_t p1, const Epilogue& ep, float* y,
                          float* ys);

// True when the dense 4-row panels are cheaper than the weight's sparse panels for m rows;
// `blocks`: the sparse panels' block count when another packing of the weight would run
// (a convolution's tap-major panels), -1 for w.panels.
bool qplan_dense(const PackedWeightI8& w, int64_t m, PlanChoice choice = PlanChoice::kAuto, int64_t blocks = -1);

}  // namespace spiralkit
