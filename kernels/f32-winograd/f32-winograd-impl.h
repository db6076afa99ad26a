// Winograd F(4x4, 3x3) band template (see WinogradArgs): input transform, 36 transformed-domain
// GEMMs (the f32-gemm register tile of the including file's ISA), output transform with bias and
// ReLU/ReLU6. The transforms loop over a block of channels, contiguous in NHWC, so each file's
// ISA flags vectorize them. Include after one simd/vec-*.h and f32-gemm/f32-gemm-impl.h.
#pragma once
#include <algorithm>
#include <cstdint>

#include "spiralkit_kernels/panels.h"

namespace {

constexpr int kWinoChannels = 16;  // channels per transform step (one AVX-512 vector)

// B^T d for one column (or row) of six inputs, over `n` channels: d[q][i] -> v[q][i].
inline void wino_input_1d(const float* const d[6], float* const v[6], int n) {
  for (int i = 0; i < n; ++i) {
    const float d0 = d[0][i], d1 = d[1][i], d2 = d[2][i], d3 = d[3][i], d4 = d[4][i], d5 = d[5][i];
    v[0][i] = 4.0f * d0 - 5.0f * d2 + d4;
    v[1][i] = -4.0f * (d1 + d2) + d3 + d4;
    v[2][i] = 4.0f * (d1 - d2) - d3 + d4;
    v[3][i] = 2.0f * (d3 - d1) + d4 - d2;
    v[4][i] = 2.0f * (d1 - d3) + d4 - d2;
    v[5][i] = 4.0f * d1 - 5.0f * d3 + d5;
  }
}

// A^T m for six transformed values -> four outputs, over `n` channels.
inline void wino_output_1d(const float* const m[6], float* const o[4], int n) {
  for (int i = 0; i < n; ++i) {
    const float m0 = m[0][i], m1 = m[1][i], m2 = m[2][i], m3 = m[3][i], m4 = m[4][i], m5 = m[5][i];
    const float s12 = m1 + m2, d12 = m1 - m2, s34 = m3 + m4, d34 = m3 - m4;
    o[0][i] = m0 + s12 + s34;
    o[1][i] = d12 + 2.0f * d34;
    o[2][i] = s12 + 4.0f * s34;
    o[3][i] = d12 + 8.0f * d34 + m5;
  }
}

inline void wino_bias_act(float* y, const float* bias, spiralkit::Activation act, int n) {
  for (int i = 0; i < n; ++i) {
    float o = y[i] + (bias ? bias[i] : 0.0f);
    if (act == spiralkit::Activation::kRelu || act == spiralkit::Activation::kRelu6) o = o > 0.0f ? o : 0.0f;
    if (act == spiralkit::Activation::kRelu6) o = o < 6.0f ? o : 6.0f;
    y[i] = o;
  }
}

template <class V, int MR, int NV>
void winograd_band(const spiralkit::WinogradArgs& a) {
  constexpr int CB = kWinoChannels;
  const int64_t C = a.c, N = a.n, tiles = a.tile_rows * a.tiles_w;
  const int64_t t0 = a.t_begin, t1 = a.t_end < 0 ? tiles : a.t_end;
  const int64_t n_lo = a.n_begin, n_hi = a.n_end < 0 ? N : a.n_end;
  // 1. V[xi][t][c] = (B^T d B)[xi] of tile t's 6x6 patch, for every channel.
  for (int64_t t = t0; (a.stages & spiralkit::kWinoInput) && t < t1; ++t) {
    const int64_t row = (a.tile_row0 + t / a.tiles_w) * 4, col = (t % a.tiles_w) * 4;
    for (int64_t c0 = 0; c0 < C; c0 += CB) {
      const int nc = static_cast<int>(std::min<int64_t>(CB, C - c0));
      alignas(64) float tmp[6][6][CB];
      for (int r = 0; r < 6; ++r) {  // along each patch row
        const float* d[6];
        float* v[6];
        for (int q = 0; q < 6; ++q) {
          d[q] = a.x + ((row + r) * a.wp + col + q) * C + c0;
          v[q] = tmp[r][q];
        }
        wino_input_1d(d, v, nc);
      }
      for (int q = 0; q < 6; ++q) {  // then down each column, into the GEMM operands
        const float* d[6];
        float* v[6];
        for (int r = 0; r < 6; ++r) {
          d[r] = tmp[r][q];
          v[r] = a.v + ((r * 6 + q) * tiles + t) * C + c0;
        }
        wino_input_1d(d, v, nc);
      }
    }
  }
  if (!(a.stages & spiralkit::kWinoMultiply) || n_hi <= n_lo) return;
  // 2. M[xi] = V[xi] (tiles x C) U[xi] (C x N), columns [n_lo, n_hi).
  for (int xi = 0; xi < 36; ++xi)
    gemm_rows<V, MR, NV>(tiles, n_hi - n_lo, C, a.v + xi * tiles * C, C, a.u + xi * C * N + n_lo, N,
                         a.m + xi * tiles * N + n_lo, N);
  // 3. y = A^T M A per tile, + bias, activation; written NHWC into the band.
  const int64_t wy = a.tiles_w * 4;
  for (int64_t t = 0; t < tiles; ++t) {
    const int64_t row = (t / a.tiles_w) * 4, col = (t % a.tiles_w) * 4;
    for (int64_t n0 = n_lo; n0 < n_hi; n0 += CB) {
      const int nn = static_cast<int>(std::min<int64_t>(CB, n_hi - n0));
      alignas(64) float tmp[4][6][CB];
      for (int q = 0; q < 6; ++q) {
        const float* m[6];
        float* o[4];
        for (int r = 0; r < 6; ++r) m[r] = a.m + ((r * 6 + q) * tiles + t) * N + n0;
        for (int r = 0; r < 4; ++r) o[r] = tmp[r][q];
        wino_output_1d(m, o, nn);
      }
      for (int r = 0; r < 4; ++r) {
        const float* m[6];
        float* o[4];
        for (int q = 0; q < 6; ++q) m[q] = tmp[r][q];
        for (int q = 0; q < 4; ++q) o[q] = a.y + ((row + r) * wy + col + q) * N + n0;
        wino_output_1d(m, o, nn);
        for (int q = 0; q < 4; ++q) wino_bias_act(o[q], a.bias ? a.bias + n0 : nullptr, a.act, nn);
      }
    }
  }
}

}  // namespace
