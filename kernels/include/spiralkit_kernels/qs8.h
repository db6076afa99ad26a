// int8 kernels: int8 weights (symmetric, per-output-channel scale, so pruned zeros stay exact
// zeros) x uint8 activations (asymmetric, one zero point) -> int32 accumulators -> a fused
// epilogue (dequantize to fp32, or requantize to uint8; bias; ReLU/ReLU6).
//
// Why uint8 activations x int8 weights: that is exactly what x86 VNNI's vpdpbusd multiplies
// (unsigned bytes of one operand by signed bytes of the other, 4 products summed into an int32
// lane, no intermediate saturation, unlike AVX2's vpmaddubsw). NEON has no mixed-sign dot product
// before FEAT_I8MM, so the SDOT kernels flip the activations to int8 (x ^ 0x80 = x - 128) and add
// 128 * row_sum back. Every kernel must produce the same int32 accumulator,
//   acc[n, i] = sum_k w[n, k] * (x[i, k] - x_zero_point),
// and the same epilogue bits (fma(float(acc), scale[n], bias[n]), then max/min, then RNE rounding),
// so every row is bit-exact against the scalar reference (kernels/reference/qs8-*-reference.cc).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "spiralkit_kernels/activation.h"

namespace spiralkit {

// A weight cut into panels of r rows over groups of 4 consecutive K columns (one VNNI/SDOT lane
// group). r = 1: `1x4` blocks, each row its own list. r = 4: `4x4` blocks (the dense fallback is
// every group of every panel). Block b of panel p holds rows i < r, lanes j < 4 at
// vals[(b * r + i) * 4 + j], K column 4 * kidx[b] + j; lanes past K and rows past `rows` are 0.
struct QPanelView {
  int r = 1;
  int64_t rows = 0, cols = 0;     // logical N x K
  int64_t groups = 0;             // ceil(K / 4)
  int64_t panels = 0;             // ceil(rows / r)
  const int32_t* ptr = nullptr;   // [panels + 1] block offsets
  const int32_t* kidx = nullptr;  // [blocks] K group of each block
  const int8_t* vals = nullptr;   // [blocks * r * 4]
  const int32_t* row_sum = nullptr;  // [rows] sum of the row's int8 values (zero-point correction)
};

// What happens after the int32 accumulation, per output row n (indices absolute):
//   y_f32: v = fma(float(acc), scale[n], bias ? bias[n] : 0), plus the residual, then act (kNone,
//   kRelu or kRelu6 only);
//   y_u8: the same in output units, folded (qs8_requant_row): t = fma(float(acc), mul, add), plus
//   the residual times rmul, y_u8 = nearbyint(clamp(t, lo, hi)), the activation being the clamp's
//   bounds. One FMA and one clamp per element instead of an FMA, the activation, a multiply, a
//   clamp and a zero-point add: on small-K layers (MobileNet's 1x1s) the epilogue was most of the
//   kernel's time.
struct QOutput {
  const float* scale = nullptr;   // [rows]: x_scale * w_scale[n]
  const float* bias = nullptr;    // [rows] or null
  Activation act = Activation::kNone;
  float* y_f32 = nullptr;         // exactly one of y_f32 / y_u8
  uint8_t* y_u8 = nullptr;
  float out_inv_scale = 1.0f;
  int32_t out_zero_point = 0;
  // Optional residual with the layout of the output array that starts at y_base (a float* or
  // uint8_t*, whichever y is): the element stored at y gets residual[y - y_base] added, read as
  // fp32 or, from uint8, as fma(float(r - residual_zero_point), residual_scale, v) (a bottleneck's
  // identity path kept in uint8, as a quantized Add reads it; one explicit fma, so no compiler's
  // contraction can make two rows differ). At most one of the two.
  const float* residual = nullptr;
  const uint8_t* residual_u8 = nullptr;
  float residual_scale = 0.0f;
  int32_t residual_zero_point = 0;
  const void* y_base = nullptr;
  bool has_residual() const { return residual || residual_u8; }
  // The offset of an output element from y_base (yf or yq is the element's pointer).
  int64_t offset(const float* yf, const uint8_t* yq) const {
    return yf ? yf - static_cast<const float*>(y_base) : yq - static_cast<const uint8_t*>(y_base);
  }
};

// Activations as "K x M in groups of 4" (the int8 twin of XtArgs): row i, K column 4g + j at
// x[(g * ldx + i) * 4 + j]. ldx is a multiple of 16 and columns [m, ldx) are readable (kernels
// load whole vectors); K columns past cols hold anything (the weight lanes there are zero).
// Output: y[(n - y_row0) * ldy + i] for i < m.
struct QXtArgs {
  const uint8_t* x = nullptr;
  int64_t ldx = 0;
  // Optional [groups] byte offsets: K group g's row starts at x + xoff[g] (column i at + 4 i)
  // instead of x + g * ldx * 4. A direct convolution points each group at a tap of its input
  // planes (ops/qconv2d_taps.cc) instead of copying every tap into its own row.
  const int64_t* xoff = nullptr;
  int64_t m = 0;
  int32_t x_zero_point = 0;
  QOutput out;
  int64_t ldy = 0;
  int64_t y_row0 = 0;
};

// Rows of panels [p_begin, p_end) for all m columns.
using QSpmmFn = void (*)(const QPanelView& w, int64_t p_begin, int64_t p_end, const QXtArgs& a);

// One activation row (GEMV): x[k] (K padded to groups * 4 + 64 readable bytes), y[n - y_row0] for
// the rows of panels [p_begin, p_end). spmv runs `1x4` panels, gemv dense `4x4` panels.
struct QGemvArgs {
  const uint8_t* x = nullptr;
  int32_t x_zero_point = 0;
  QOutput out;
  int64_t y_row0 = 0;
};
using QGemvFn = void (*)(const QPanelView& w, int64_t p_begin, int64_t p_end, const QGemvArgs& a);

// Depthwise 2-D convolution of one channel plane: uint8 input (zero point = padding value), int8
// kh x kw filter, one output channel (scale/bias/act of QOutput indexed at [0]).
struct QDwArgs {
  const uint8_t* x = nullptr;  // in_h x in_w plane
  int64_t in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  const int8_t* w = nullptr;   // kh x kw
  int kh = 1, kw = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1;
  int32_t x_zero_point = 0;
  QOutput out;                 // y_f32 / y_u8: out_h x out_w plane; scale/bias point at this channel
                               // (no residual)
  float* work = nullptr;       // qs8_dwconv_work_floats(*this) floats for the vector rows (null: they
                               // run the scalar row)
};
using QDwConvFn = void (*)(const QDwArgs& a);

// The windows the dot-product depthwise rows (qs8-dwconv-avx512vnni) compute themselves: 3x3,
// undilated, the same stride 1 or 2 both ways. Other windows run those rows' AVX-512 fallback; the
// engine's layer labels ask this too, so they name what runs.
inline bool qs8_dwconv_dot_window(int kh, int kw, int stride_h, int stride_w, int dil_h, int dil_w) {
  return kh == 3 && kw == 3 && dil_h == 1 && dil_w == 1 && stride_h == stride_w && (stride_w == 1 || stride_w == 2);
}

// The vector rows' scratch: the padded plane as floats, rows of row_floats (the cols columns a
// window reads, then slack for whole and stride-2 loads past the last output).
struct QDwWork {
  int64_t rows = 0, cols = 0, row_floats = 0;
};
inline QDwWork qs8_dwconv_work(const QDwArgs& a) {
  QDwWork g;
  g.rows = (a.out_h - 1) * a.stride_h + int64_t(a.kh - 1) * a.dil_h + 1;
  g.cols = (a.out_w - 1) * a.stride_w + int64_t(a.kw - 1) * a.dil_w + 1;
  g.row_floats = g.cols + 32 * int64_t(a.stride_w);
  return g;
}
inline int64_t qs8_dwconv_work_floats(const QDwArgs& a) {
  if (a.out_h <= 0 || a.out_w <= 0) return 0;
  const QDwWork g = qs8_dwconv_work(a);
  return g.rows * g.row_floats;
}

// fp32 -> uint8 activations: y[i] = clamp(nearbyint(x[i] * inv_scale) + zero_point, 0, 255).
using QU8QuantFn = void (*)(const float* x, int64_t n, float inv_scale, int32_t zero_point, uint8_t* y);

// ---- the epilogue's scalar definition (the reference and the scalar rows use it; vector rows
// reproduce it bit for bit)
inline bool qs8_activation_supported(Activation act) {
  return act == Activation::kNone || act == Activation::kRelu || act == Activation::kRelu6;
}
inline float qs8_activate(float v, Activation act) {
  if (act == Activation::kRelu || act == Activation::kRelu6) v = v > 0.0f ? v : 0.0f;
  if (act == Activation::kRelu6) v = v < 6.0f ? v : 6.0f;
  return v;
}
// Row n's uint8-output constants: mul = scale[n] * out_inv_scale, add = fma(bias[n],
// out_inv_scale, out_zero_point); lo = out_zero_point under ReLU/ReLU6 (v >= 0), else 0; hi =
// min(255, fma(6, out_inv_scale, out_zero_point)) under ReLU6, else 255; rmul = out_inv_scale for
// an fp32 residual, residual_scale * out_inv_scale for a uint8 one (read as r - residual_zero_point).
// Every row, scalar or vector, computes them with this function, so they agree bit for bit.
struct QRequantRow {
  float mul = 1.0f, add = 0.0f, lo = 0.0f, hi = 255.0f, rmul = 0.0f;
};
inline QRequantRow qs8_requant_row(const QOutput& o, int64_t n) {
  QRequantRow q;
  const float zp = static_cast<float>(o.out_zero_point);
  q.mul = o.scale[n] * o.out_inv_scale;
  q.add = std::fma(o.bias ? o.bias[n] : 0.0f, o.out_inv_scale, zp);
  if (o.act == Activation::kRelu || o.act == Activation::kRelu6) q.lo = zp;
  if (o.act == Activation::kRelu6) q.hi = std::min(255.0f, std::fma(6.0f, o.out_inv_scale, zp));
  q.rmul = o.residual_u8 ? o.residual_scale * o.out_inv_scale : o.out_inv_scale;
  return q;
}
// nearbyint(clamp(t, lo, hi)): the bounds lie in [0, 255], so the result is a byte.
inline uint8_t qs8_requant_clamp(float t, const QRequantRow& q) {
  t = t > q.lo ? t : q.lo;
  t = t < q.hi ? t : q.hi;
  return static_cast<uint8_t>(static_cast<int32_t>(std::nearbyint(t)));
}
inline float qs8_add_residual(const QOutput& o, int64_t i, float v) {
  if (o.residual) return v + o.residual[i];
  return std::fma(static_cast<float>(static_cast<int32_t>(o.residual_u8[i]) - o.residual_zero_point), o.residual_scale, v);
}
inline void qs8_store(const QOutput& o, int64_t n, int32_t acc, float* yf, uint8_t* yq) {
  if (yq) {
    const QRequantRow q = qs8_requant_row(o, n);
    float t = std::fma(static_cast<float>(acc), q.mul, q.add);
    if (o.residual) t = std::fma(o.residual[o.offset(yf, yq)], q.rmul, t);
    else if (o.residual_u8)
      t = std::fma(static_cast<float>(static_cast<int32_t>(o.residual_u8[o.offset(yf, yq)]) - o.residual_zero_point),
                   q.rmul, t);
    *yq = qs8_requant_clamp(t, q);
    return;
  }
  float v = std::fma(static_cast<float>(acc), o.scale[n], o.bias ? o.bias[n] : 0.0f);
  if (o.has_residual()) v = qs8_add_residual(o, o.offset(yf, yq), v);
  v = qs8_activate(v, o.act);
  *yf = v;
}

// Scalar references over plain inputs: w dense int8 N x K row-major, x uint8 M x K row-major;
// y[i * ldy + n] (M x N). The oracles of every test.
void spiralkit_qs8_linear_ukernel__reference(const int8_t* w, int64_t n, int64_t k, const uint8_t* x, int64_t m,
                                             int32_t x_zero_point, const QOutput& out, int64_t ldy);
void spiralkit_qs8_dwconv_ukernel__reference(const QDwArgs& a);

}  // namespace spiralkit
