// The K x M template behind every vector qs8-spmm / qs8-gemm kernel file: a register tile of R
// output rows (the panel) x NV vectors of M. Per block: NV loads of x (W columns x 4 K values
// each), one 4-byte weight broadcast per row, R * NV dot products. DENSE: the panel holds every K
// group in order (the dense fallback), so the group is the block's position and kidx is unused.
// Include once per kernel file, after one qs8-common/qvec-*.h; everything here has internal linkage.
#pragma once
#include <algorithm>
#include <cstdint>

#include "spiralkit_kernels/qs8.h"

namespace {

// OFFS: K group g's row is at a.x + a.xoff[g] (QXtArgs.xoff), else at a.x + g * ldx * 4.
// U = 2 (1-row panels): blocks alternate between two accumulator sets, summed at the end, so
// each vector's dot products are two dependent chains, not one (K = 3072, 16 columns, AVX-512
// VNNI: the one chain ran at ~52 GMAC/s, the latency of vpdpbusd), and a step loads two blocks'
// rows at once (8 vectors, AVX-512 VNNI, BERT-base shapes at 128 rows: 1.05-1.11x the one-set
// loop in alternating rounds, Zen 5). A kernel file opts in for its full strips (qs8_spmm_xt's U)
// where 2 x NV accumulators fit its registers and the gain was measured.
template <class V, int R, int NV, bool DENSE, bool OFFS, int U = 1>
inline void qs8_spmm_strip(const spiralkit::QPanelView& w, int64_t p_begin, int64_t p_end,
                           const spiralkit::QXtArgs& a, int64_t m0, int last) {
  using I = typename V::I;
  using X = typename V::X;
  constexpr int W = V::W;
  const uint8_t* x = a.x + m0 * 4;
  const int64_t ldx4 = a.ldx * 4;
  const auto row = [&](int64_t g) { return OFFS ? x + a.xoff[g] : x + g * ldx4; };
  for (int64_t p = p_begin; p < p_end; ++p) {
    const int64_t n0 = p * R;
    const int valid = static_cast<int>(std::min<int64_t>(R, w.rows - n0));
    I acc[R][NV];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[r][v] = V::zero();
    const int32_t b0 = w.ptr[p], b1 = w.ptr[p + 1];
    int32_t b = b0;
    if constexpr (U == 2) {
      static_assert(R == 1, "two accumulator sets for 1-row panels only");
      I other[NV];
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) other[v] = V::zero();
      for (; b + 2 <= b1; b += 2) {
        const int64_t g0 = DENSE ? b - b0 : w.kidx[b], g1 = DENSE ? b + 1 - b0 : w.kidx[b + 1];
        const uint8_t *x0 = row(g0), *x1 = row(g1);
        const X w0 = V::bcast_w(w.vals + static_cast<int64_t>(b) * 4), w1 = V::bcast_w(w.vals + static_cast<int64_t>(b + 1) * 4);
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) {
          acc[0][v] = V::dot(acc[0][v], V::load_x(x0 + v * W * 4), w0);
          other[v] = V::dot(other[v], V::load_x(x1 + v * W * 4), w1);
        }
      }
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[0][v] = V::add(acc[0][v], other[v]);
    }
    for (; b < b1; ++b) {
      const int64_t g = DENSE ? b - b0 : w.kidx[b];
      const uint8_t* xr = row(g);
      X xv[NV];
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) xv[v] = V::load_x(xr + v * W * 4);
      const int8_t* wb = w.vals + static_cast<int64_t>(b) * R * 4;
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        const X wr = V::bcast_w(wb + r * 4);
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) acc[r][v] = V::dot(acc[r][v], xv[v], wr);
      }
    }
    for (int r = 0; r < valid; ++r) {
      const int64_t n = n0 + r;
      // Wrapping int32 arithmetic, as the vector adds: the true accumulator fits (K <= 65536).
      const int32_t corr = static_cast<int32_t>(static_cast<uint32_t>(V::kXorBias - a.x_zero_point) *
                                                static_cast<uint32_t>(w.row_sum[n]));
      const int64_t yoff = (n - a.y_row0) * a.ldy + m0;
      // The row's requantization constants once, not per vector.
      const spiralkit::QRequantRow q = a.out.y_u8 ? spiralkit::qs8_requant_row(a.out, n) : spiralkit::QRequantRow{};
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v)
        V::store(a.out, n, acc[r][v], corr, a.out.y_f32 ? a.out.y_f32 + yoff + v * W : nullptr,
                 a.out.y_u8 ? a.out.y_u8 + yoff + v * W : nullptr, v == NV - 1 ? last : W, q);
    }
  }
}

// The last strip: fewer vectors, the last one stored partially (loads stay whole: ldx is padded).
template <class V, int R, int NV, bool DENSE, bool OFFS>
inline void qs8_spmm_tail(const spiralkit::QPanelView& w, int64_t p_begin, int64_t p_end,
                          const spiralkit::QXtArgs& a, int64_t m0, int64_t rem) {
  if constexpr (NV > 1) {
    if (rem <= (NV - 1) * V::W) return qs8_spmm_tail<V, R, NV - 1, DENSE, OFFS>(w, p_begin, p_end, a, m0, rem);
  }
  constexpr int kU = R == 1 && NV == 1 ? 2 : 1;
  qs8_spmm_strip<V, R, NV, DENSE, OFFS, kU>(w, p_begin, p_end, a, m0, static_cast<int>(rem - (NV - 1) * V::W));
}

// U: accumulator sets of the full strips (2: 1-row panels whose 2 x NV accumulators fit the registers).
template <class V, int R, int NV, bool DENSE, bool OFFS, int U>
void qs8_spmm_columns(const spiralkit::QPanelView& w, int64_t p_begin, int64_t p_end, const spiralkit::QXtArgs& a) {
  constexpr int64_t kTile = int64_t(NV) * V::W;
  int64_t m0 = 0;
  for (; m0 + kTile <= a.m; m0 += kTile) qs8_spmm_strip<V, R, NV, DENSE, OFFS, U>(w, p_begin, p_end, a, m0, V::W);
  if (m0 < a.m) qs8_spmm_tail<V, R, NV, DENSE, OFFS>(w, p_begin, p_end, a, m0, a.m - m0);
}

// The offset table is a separate instantiation: the plain layout's inner loop stays as it was.
template <class V, int R, int NV, bool DENSE, int U = 1>
void qs8_spmm_xt(const spiralkit::QPanelView& w, int64_t p_begin, int64_t p_end, const spiralkit::QXtArgs& a) {
  if (a.xoff) qs8_spmm_columns<V, R, NV, DENSE, true, U>(w, p_begin, p_end, a);
  else qs8_spmm_columns<V, R, NV, DENSE, false, U>(w, p_begin, p_end, a);
}

}  // namespace
