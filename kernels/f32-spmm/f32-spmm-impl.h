// The K x M spmm template behind every f32-spmm kernel file: a register tile of RT output rows x
// NV vectors of M, one broadcast weight per row per block, NV vector loads of x shared by the RT
// rows. Loop order: M strip outer, panels inner, so the strip of x (K x NV*W) stays in cache.
// Include once per kernel file, after one simd/vec-*.h; everything here has internal linkage.
#pragma once
#include <algorithm>
#include <cstdint>

#include "simd/epilogue.h"
#include "simd/vec-traits.h"
#include "spiralkit_kernels/panels.h"

namespace {

enum : int { kActNone = 0, kActRelu = 1, kActRelu6 = 2, kActScalar = 3 };

// Rows [row0, row0 + RT) of one panel (valid: how many of them exist), m columns [0, nv*W - tail).
template <class V, int R, int RT, int NV, bool TAIL, int ACT>
__attribute__((always_inline)) inline void spmm_tile(const spiralkit::PanelView& w, int64_t p, int row0, const spiralkit::XtArgs& a, int64_t m0,
                      int tail) {
  using T = typename V::T;
  constexpr int W = V::W;
  // A tile of whole 4-row groups reads its weights 4 at a time (they are contiguous per block).
  constexpr bool kLanes4 = has_lane_fma<V>::value && W == 4 && RT % 4 == 0;
  const int64_t n0 = p * R + row0;
  const int valid = static_cast<int>(std::min<int64_t>(RT, w.rows - n0));
  if (valid <= 0) return;
  T acc[RT][NV];
#pragma GCC unroll 8
  for (int r = 0; r < RT; ++r) {
    const T b = a.bias && r < valid ? V::set1(a.bias[n0 + r]) : V::zero();
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) acc[r][v] = b;
  }
  const float* x = a.x + m0;
  const int32_t* kidx = w.kidx;
  const float* vals = w.vals + row0;
  for (int32_t b = w.ptr[p], e = w.ptr[p + 1]; b < e; ++b) {
    const float* xr = x + static_cast<int64_t>(kidx[b]) * a.ldx;
    T xv[NV];
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) xv[v] = (TAIL && v == NV - 1) ? V::load_n(xr + v * W, tail) : V::load(xr + v * W);
    const float* wv = vals + static_cast<int64_t>(b) * R;
    if constexpr (kLanes4) {  // one load of 4 weights, FMAs by lane (NEON)
#pragma GCC unroll 2
      for (int r = 0; r < RT; r += 4) {
        const T w4 = V::load(wv + r);
#pragma GCC unroll 16
        for (int v = 0; v < NV; ++v) {
          acc[r][v] = V::template fma_lane<0>(w4, xv[v], acc[r][v]);
          acc[r + 1][v] = V::template fma_lane<1>(w4, xv[v], acc[r + 1][v]);
          acc[r + 2][v] = V::template fma_lane<2>(w4, xv[v], acc[r + 2][v]);
          acc[r + 3][v] = V::template fma_lane<3>(w4, xv[v], acc[r + 3][v]);
        }
      }
    } else {
#pragma GCC unroll 8
      for (int r = 0; r < RT; ++r) {
        const T wr = V::bcast(wv + r);
#pragma GCC unroll 16
        for (int v = 0; v < NV; ++v) acc[r][v] = V::fma(wr, xv[v], acc[r][v]);
      }
    }
  }
  float* const y0 = a.y + (n0 - a.y_row0) * a.ldy + m0;
  const float* const res0 = a.residual ? a.residual + (n0 - a.y_row0) * a.ldy + m0 : nullptr;
  const int64_t ldy = a.ldy;
#pragma GCC unroll 8
  for (int r = 0; r < RT; ++r) {
    if (r >= valid) break;
    float* y = y0 + r * ldy;
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) {
      T o = acc[r][v];
      if (res0) {
        const float* res = res0 + r * ldy + v * W;
        o = V::add(o, (TAIL && v == NV - 1) ? V::load_n(res, tail) : V::load(res));
      }
      if constexpr (ACT == kActRelu || ACT == kActRelu6) o = V::max(o, V::zero());
      if constexpr (ACT == kActRelu6) o = V::min(o, V::set1(6.0f));
      if (TAIL && v == NV - 1) V::store_n(y + v * W, o, tail); else V::store(y + v * W, o);
    }
    if constexpr (ACT == kActScalar) scalar_activation(y, (NV - 1) * W + (TAIL ? tail : W), a.act);
  }
}

// Not inlined: each strip shape is its own function, so register allocation sees one tile's
// accumulators at a time (inlined together, GCC spilled the narrow tail tiles' accumulators on NEON).
template <class V, int R, int RT, int NV, bool TAIL, int ACT>
__attribute__((noinline)) void spmm_strip(const spiralkit::PanelView& w, int64_t p_begin, int64_t p_end, const spiralkit::XtArgs& a,
                       int64_t m0, int tail) {
  for (int64_t p = p_begin; p < p_end; ++p) {
#pragma GCC unroll 4
    for (int row0 = 0; row0 < R; row0 += RT) spmm_tile<V, R, RT, NV, TAIL, ACT>(w, p, row0, a, m0, tail);
  }
}

// The last strip has fewer than NV*W columns: a narrower tile with a masked last vector.
template <class V, int R, int RT, int NV, int ACT>
inline void spmm_tail(const spiralkit::PanelView& w, int64_t p_begin, int64_t p_end, const spiralkit::XtArgs& a,
                      int64_t m0, int64_t rem) {
  if constexpr (NV > 1) {
    if (rem <= (NV - 1) * V::W) return spmm_tail<V, R, RT, NV - 1, ACT>(w, p_begin, p_end, a, m0, rem);
  }
  const int tail = static_cast<int>(rem - (NV - 1) * V::W);
  if (tail == V::W) spmm_strip<V, R, RT, NV, false, ACT>(w, p_begin, p_end, a, m0, tail);
  else spmm_strip<V, R, RT, NV, true, ACT>(w, p_begin, p_end, a, m0, tail);
}

// A remainder of at most one vector after a full strip (49 = 48 + 1 pixels of a 7x7 plane, 196 =
// 4 x 48 + 4) joins the last full strip as one (NV + 1)-vector strip of half-height tiles, so the
// weights are not streamed once more for a few columns (the stream, not the FMAs, is what a
// 4-9 MB weight of a late ResNet stage costs).
template <class V, int RT, int NV>
constexpr int wide_tail_rows() {
  return RT % 2 == 0 && RT * (NV + 1) > 24 ? RT / 2 : RT;
}

template <class V, int R, int RT, int NV, int ACT>
void spmm_xt_act(const spiralkit::PanelView& w, int64_t p_begin, int64_t p_end, const spiralkit::XtArgs& a) {
  constexpr int W = V::W;
  constexpr int64_t kTile = int64_t(NV) * W;
  constexpr int kWideRows = wide_tail_rows<V, RT, NV>();
  constexpr bool kWide = W > 1 && kWideRows * (NV + 1) <= 24;
  const int64_t rem = a.m % kTile;
  const bool wide = kWide && a.m > kTile && rem > 0 && rem <= W;
  const int64_t full_end = wide ? a.m - rem - kTile : a.m - rem;
  int64_t m0 = 0;
  for (; m0 < full_end; m0 += kTile) spmm_strip<V, R, RT, NV, false, ACT>(w, p_begin, p_end, a, m0, W);
  if constexpr (kWide) {
    if (wide) {
      if (rem == W) spmm_strip<V, R, kWideRows, NV + 1, false, ACT>(w, p_begin, p_end, a, m0, W);
      else spmm_strip<V, R, kWideRows, NV + 1, true, ACT>(w, p_begin, p_end, a, m0, static_cast<int>(rem));
      return;
    }
  }
  if (m0 < a.m) spmm_tail<V, R, RT, NV, ACT>(w, p_begin, p_end, a, m0, a.m - m0);
}

// The activation is a template argument (kActNone/kActRelu/kActRelu6 in registers, kActScalar
// through the stored values), so the tile's epilogue has no per-vector branches.
template <class V, int R, int RT, int NV>
void spmm_xt(const spiralkit::PanelView& w, int64_t p_begin, int64_t p_end, const spiralkit::XtArgs& a) {
  switch (a.act) {
    case spiralkit::Activation::kNone: return spmm_xt_act<V, R, RT, NV, kActNone>(w, p_begin, p_end, a);
    case spiralkit::Activation::kRelu: return spmm_xt_act<V, R, RT, NV, kActRelu>(w, p_begin, p_end, a);
    case spiralkit::Activation::kRelu6: return spmm_xt_act<V, R, RT, NV, kActRelu6>(w, p_begin, p_end, a);
    default: return spmm_xt_act<V, R, RT, NV, kActScalar>(w, p_begin, p_end, a);
  }
}

}  // namespace
