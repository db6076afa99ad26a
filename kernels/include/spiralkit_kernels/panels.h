// The packed layout of the fast x86/ARM spmm/spmv kernels: a weight cut into panels of R
// consecutive output rows; each panel is a list of Rx1 blocks (one K column, R values stored
// contiguously). CSR is the R = 1 case, 4x1/8x1 BSR are R = 4/8, a dense weight is R = 8 with
// every column present. Built once at pack time (src/sparse/kernel_pack.h).
#pragma once

#include <cstdint>

#include "spiralkit_kernels/activation.h"

namespace spiralkit {

struct PanelView {
  int r = 1;                          // rows per panel (R)
  int64_t rows = 0, cols = 0;         // logical N x K; the last panel may hold fewer than R rows
  int64_t panels = 0;                 // ceil(rows / r)
  const int32_t* ptr = nullptr;       // [panels + 1] block offsets
  const int32_t* kidx = nullptr;      // [blocks] K column of each block
  const uint16_t* kidx16 = nullptr;   // same as 16-bit (GEMV: fewer bytes); null when cols > 65536
  const float* vals = nullptr;        // [blocks * r] the block's R values, contiguous
};

// Activations are K x M ("transposed": x[k * ldx + i]); outputs N x M: y[n * ldy + i], n absolute.
// This is the NCHW layout of a 1x1 convolution (M = pixels) and of im2col tiles.
struct XtArgs {
  const float* x = nullptr;
  int64_t ldx = 0;
  int64_t m = 0;
  float* y = nullptr;
  int64_t ldy = 0;
  const float* bias = nullptr;  // [rows] absolute, or null
  Activation act = Activation::kNone;
  int64_t y_row0 = 0;
  // Added to the tile before the activation, same layout as y (row stride ldy, row n at
  // residual + (n - y_row0) * ldy), or null: a residual add fused into the store.
  const float* residual = nullptr;
};

// Computes output rows of panels [p_begin, p_end) for all m columns.
using SpmmXtFn = void (*)(const PanelView& w, int64_t p_begin, int64_t p_end, const XtArgs& a);

// GEMV (one activation row): y[n] = act(sum_k W[n,k] x[k] + bias[n]) for the rows of panels
// [p_begin, p_end). Needs w.kidx16.
using SpmvFn = void (*)(const PanelView& w, int64_t p_begin, int64_t p_end, const float* x, float* y,
                        const float* bias, Activation act);

// Dense GEMV over a row-major N x K weight: rows [n_begin, n_end) of y = act(W x + bias).
using GemvFn = void (*)(const float* w, int64_t k, int64_t n_begin, int64_t n_end, const float* x, float* y,
                        const float* bias, Activation act);

// out[c * ldo + r] = in[r * ldi + c] for r < rows, c < cols.
using TransposeFn = void (*)(const float* in, int64_t ldi, int64_t rows, int64_t cols, float* out, int64_t ldo);

// Depthwise 2-D convolution of `planes` channel planes (dense kh x kw filters), bias + activation
// fused. Plane c reads x + c * x_plane and filter w + c * kh * kw, adds biases[c] (or `bias` when
// biases is null) and writes y + c * y_plane. Input rows outside [0, in_h) and columns outside
// [0, in_w) read as zero: pad_h/pad_w place the plane, and out_h may need rows below it past pad_h
// (a fused block's band). One call per band of planes: on 7x7 or 14x14 planes the per-call set-up
// (weights broadcast, load masks) cost as much as the convolution.
struct DwArgs {
  const float* x = nullptr;  // in_h x in_w plane
  int64_t in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  const float* w = nullptr;  // kh x kw
  int kh = 1, kw = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1;
  float bias = 0.0f;
  Activation act = Activation::kNone;
  float* y = nullptr;        // out_h x out_w plane
  int64_t planes = 1;        // consecutive channels in this call
  int64_t x_plane = 0, y_plane = 0;  // floats between consecutive planes of x and of y
  const float* biases = nullptr;     // per plane; null: `bias` for every plane
};
using DwConvFn = void (*)(const DwArgs& a);

// Winograd F(4x4, 3x3) of one band of output tile rows (stride 1, dilation 1): each 4x4 output
// tile is A^T [(G g G^T) . (B^T d B)] A over its 6x6 input patch d; the 36 products of the
// transformed domain are 36 GEMMs (tiles x C) x (C x N). Input and output are channel-minor
// (NHWC), so the transforms run on vectors of channels. Two stages, so threads can split the
// tiles for the input transform and the output channels for the rest (each reads its part of u).
enum : int { kWinoInput = 1, kWinoMultiply = 2 };
struct WinogradArgs {
  int stages = kWinoInput | kWinoMultiply;
  const float* x = nullptr;  // zero-padded NHWC image: rows of wp pixels of c floats
  int64_t c = 0, n = 0;      // input and output channels
  int64_t wp = 0;            // padded width in pixels (>= 4 * tiles_w + 2)
  int64_t tile_row0 = 0, tile_rows = 0, tiles_w = 0;  // the band: tile rows [row0, row0 + rows)
  int64_t t_begin = 0, t_end = -1;  // kWinoInput: the band's tiles to transform (-1: all)
  int64_t n_begin = 0, n_end = -1;  // kWinoMultiply: the output channels to compute (-1: all)
  const float* u = nullptr;  // [36][c][n] transformed filters
  const float* bias = nullptr;  // [n] or null
  Activation act = Activation::kNone;  // kNone, kRelu or kRelu6 (the others run after)
  float* v = nullptr;  // 36 * tiles * c floats (tiles = tile_rows * tiles_w): the transformed input
  float* m = nullptr;  // 36 * tiles * n floats: the transformed output
  float* y = nullptr;  // the band's output, NHWC: [4 * tile_rows][4 * tiles_w][n]
};
using WinogradFn = void (*)(const WinogradArgs& a);
// Dense row-major GEMM c[m x n] = a[m x k] b[k x n] (activation x activation products).
using GemmFn = void (*)(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
                        float* c, int64_t ldc);

// y[i] = f(x[i]) for the spiralkit::UnaryOp `kind` (p0, p1: its parameters); y may alias x.
using VUnaryFn = void (*)(int kind, const float* x, float* y, int64_t n, float p0, float p1);

// y = softmax(x * scale + mask) over one row of n (mask: null or mask[j * mask_stride]); y may alias x.
using SoftmaxFn = void (*)(const float* x, float* y, int64_t n, float scale, const float* mask, int64_t mask_stride);

}  // namespace spiralkit
