// Depthwise convolution of one channel plane, dense filter. The plane is copied once into a
// zero-padded scratch (plus slack for full-width loads), so every tap is an in-bounds load; each
// vector of outputs then accumulates all kh x kw taps in a register (bias first, activation last)
// and is stored once. Stride 2 deinterleaves two vectors (V::load_s2); other strides gather lanes.
// Internal linkage.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "simd/epilogue.h"
#include "simd/vec-traits.h"
#include "spiralkit_kernels/panels.h"

namespace {

template <class V>
inline typename V::T load_strided(const float* p, int stride) {
  if (stride == 1) return V::load(p);
  if constexpr (V::W > 1) {
    if (stride == 2) return V::load_s2(p);
  }
  alignas(64) float lanes[V::W];
  for (int i = 0; i < V::W; ++i) lanes[i] = p[int64_t(i) * stride];
  return V::load(lanes);
}

// Plane c's 3x3 filter broadcast into w (one register per tap); returns its bias broadcast.
template <class V>
inline typename V::T plane_filter3x3(const spiralkit::DwArgs& a, int64_t c, typename V::T* w) {
  for (int t = 0; t < 9; ++t) w[t] = V::set1(a.w[c * 9 + t]);
  return V::set1(a.biases ? a.biases[c] : a.bias);
}

// 3x3, dilation 1, stride S: the nine weights stay in registers; two output vectors per step
// give the FMA chains independent work.
template <class V, int S>
void dw3x3_rows(const spiralkit::DwArgs& a, const float* P, int64_t wp) {
  using T = typename V::T;
  constexpr int W = V::W;
  T w[9];
  for (int t = 0; t < 9; ++t) w[t] = V::set1(a.w[t]);
  const T bias = V::set1(a.bias);
  auto tap = [&](const float* p) -> T { return S == 1 ? V::load(p) : load_strided<V>(p, S); };
  for (int64_t oh = 0; oh < a.out_h; ++oh) {
    float* y = a.y + oh * a.out_w;
    const float* r0 = P + oh * S * wp;
    const float* r1 = r0 + wp;
    const float* r2 = r1 + wp;
    int64_t ow = 0;
    for (; ow + W < a.out_w; ow += 2 * W) {
      const int64_t i = ow * S, j = (ow + W) * S;
      T acc0 = bias, acc1 = bias;
#pragma GCC unroll 3
      for (int q = 0; q < 3; ++q) {
        acc0 = V::fma(w[q], tap(r0 + i + q), acc0);
        acc1 = V::fma(w[q], tap(r0 + j + q), acc1);
        acc0 = V::fma(w[3 + q], tap(r1 + i + q), acc0);
        acc1 = V::fma(w[3 + q], tap(r1 + j + q), acc1);
        acc0 = V::fma(w[6 + q], tap(r2 + i + q), acc0);
        acc1 = V::fma(w[6 + q], tap(r2 + j + q), acc1);
      }
      acc0 = vec_activation<V>(acc0, a.act);
      acc1 = vec_activation<V>(acc1, a.act);
      const int64_t n0 = std::min<int64_t>(W, a.out_w - ow), n1 = std::min<int64_t>(W, a.out_w - ow - W);
      if (n0 == W) V::store(y + ow, acc0); else V::store_n(y + ow, acc0, static_cast<int>(n0));
      if (n1 == W) V::store(y + ow + W, acc1); else if (n1 > 0) V::store_n(y + ow + W, acc1, static_cast<int>(n1));
    }
    if (ow < a.out_w) {  // one last vector (narrow planes: 7 or 14 columns fit in one)
      T acc = bias;
#pragma GCC unroll 3
      for (int q = 0; q < 3; ++q) {
        acc = V::fma(w[q], tap(r0 + ow * S + q), acc);
        acc = V::fma(w[3 + q], tap(r1 + ow * S + q), acc);
        acc = V::fma(w[6 + q], tap(r2 + ow * S + q), acc);
      }
      acc = vec_activation<V>(acc, a.act);
      const int n = static_cast<int>(std::min<int64_t>(W, a.out_w - ow));
      if (n == W) V::store(y + ow, acc); else V::store_n(y + ow, acc, n);
    }
    scalar_activation(y, a.out_w, a.act);
  }
}

// 3x3, dilation 1, stride S in {1, 2}, any padding, straight from the unpadded plane (ISAs with
// masked loads): a tap in the left/right padding is a lane the masked load leaves zero, a row in
// the top/bottom padding is skipped. The padded copy costs as much as the convolution itself on
// 7-28 wide planes. Each output column vector's load masks are computed once per plane; R output
// rows per pass share each input row's loads ((R - 1) S + 3 rows loaded for R rows).
template <class V, int S>
struct Dw3x3Direct {
  using T = typename V::T;
  using M = typename V::M;
  static constexpr int W = V::W;
  static constexpr int kLoads = S == 1 ? 3 : 4;  // S = 1: one per tap; S = 2: two 2W windows
  static constexpr int kMaxStrips = 16;          // column vectors whose masks are kept
  // The loads of one output column vector: column offset and lane mask of each.
  struct Strip {
    int64_t off[kLoads];
    M m[kLoads];
    bool interior;  // every load's full vector lies inside the row: plain loads
  };
  const spiralkit::DwArgs& a;
  T w[9];
  T bias;

  Strip strip(int64_t ow, int n) const {
    Strip st;
    st.interior = true;
    const int64_t c0 = ow * S - a.pad_w;  // input column of lane 0, tap 0
    auto set = [&](int i, int64_t c, int64_t span) {  // lanes j < span of the load at column c
      st.off[i] = c;
      const int64_t lo = std::clamp<int64_t>(-c, 0, W), hi = std::clamp<int64_t>(std::min(a.in_w - c, span), 0, W);
      st.m[i] = V::range(static_cast<int>(lo), static_cast<int>(std::max(lo, hi)));
      st.interior = st.interior && c >= 0 && c + W <= a.in_w;  // a full load stays in the row
    };
    if constexpr (S == 1) {
      for (int q = 0; q < 3; ++q) set(q, c0 + q, n);
    } else {
      // Columns c0 + j, j < 2n: even j are tap 0, odd j tap 1; tap 2 is the evens from c0 + 2.
      set(0, c0, 2 * n);
      set(1, c0 + W, 2 * n - W);
      set(2, c0 + 2, 2 * n - 1);
      set(3, c0 + 2 + W, 2 * n - 1 - W);
    }
    return st;
  }

  // Interior strips (every lane of every load in the plane) take plain loads at fixed offsets.
  template <bool kInterior>
  static void row_taps(const float* row, const Strip& st, T* t) {
    auto load = [&](int i, int64_t interior_off) {
      return kInterior ? V::load(row + st.off[0] + interior_off) : V::load_m(row + st.off[i], st.m[i]);
    };
    if constexpr (S == 1) {
      for (int q = 0; q < 3; ++q) t[q] = load(q, q);
    } else {
      const T a0 = load(0, 0), a1 = load(1, W), b0 = load(2, 2), b1 = load(3, 2 + W);
      t[0] = V::evens(a0, a1);
      t[1] = V::odds(a0, a1);
      t[2] = V::evens(b0, b1);
    }
  }

  // Output rows [oh, oh + R) of the column vector at ow (n lanes).
  template <int R, bool kInterior>
  void rows(int64_t oh, int64_t ow, int n, const Strip& st) const {
    constexpr int kSpan = (R - 1) * S + 3;
    const int64_t ih0 = oh * S - a.pad_h;
    // Two accumulators per output row (taps 0 and 2, tap 1) halve the FMA dependency chains.
    T acc[R], mid[R];
    for (int j = 0; j < R; ++j) {
      acc[j] = bias;
      mid[j] = V::zero();
    }
    const float* x = a.x;
    const int64_t in_h = a.in_h, in_w = a.in_w;
#pragma GCC unroll 16
    for (int k = 0; k < kSpan; ++k) {
      const int64_t ih = ih0 + k;
      if (ih < 0 || ih >= in_h) continue;
      T t[3];
      row_taps<kInterior>(x + ih * in_w, st, t);
#pragma GCC unroll 4
      for (int j = 0; j < R; ++j) {
        const int r = k - j * S;  // this input row is filter row r of output row j
        if (r < 0 || r > 2) continue;
        acc[j] = V::fma(w[3 * r], t[0], acc[j]);
        mid[j] = V::fma(w[3 * r + 1], t[1], mid[j]);
        acc[j] = V::fma(w[3 * r + 2], t[2], acc[j]);
      }
    }
    for (int j = 0; j < R; ++j) {
      float* y = a.y + (oh + j) * a.out_w + ow;
      const T v = vec_activation<V>(V::add(acc[j], mid[j]), a.act);
      if (n == W) V::store(y, v); else V::store_n(y, v, n);
    }
  }

  template <int R>
  void band(int64_t oh, const Strip* strips) const {
    for (int64_t i = 0, ow = 0; ow < a.out_w; ++i, ow += W) {
      const int n = static_cast<int>(std::min<int64_t>(W, a.out_w - ow));
      const Strip st = strips ? strips[i] : strip(ow, n);
      if (st.interior) rows<R, true>(oh, ow, n, st); else rows<R, false>(oh, ow, n, st);
    }
  }

  // Rows outer, column vectors inner (a band of R rows stays in L1 on wide planes); the strips'
  // masks are computed once when they fit the stack array.
  void run() const {
    constexpr int R = S == 1 ? 4 : 2;
    Strip kept[kMaxStrips];
    const int64_t count = (a.out_w + W - 1) / W;
    const Strip* strips = count <= kMaxStrips ? kept : nullptr;
    if (strips)
      for (int64_t i = 0; i < count; ++i) kept[i] = strip(i * W, static_cast<int>(std::min<int64_t>(W, a.out_w - i * W)));
    int64_t oh = 0;
    for (; oh + R <= a.out_h; oh += R) band<R>(oh, strips);
    for (; oh < a.out_h; ++oh) band<1>(oh, strips);
    scalar_activation(a.y, a.out_h * a.out_w, a.act);
  }
};

// 3x3, stride 2, pad_w 1, dilation 1 (MobileNet's downsampling): lane j of the strip at output
// column ow reads input columns c - 1, c, c + 1 with c = 2 (ow + j). Two loads at column 2 ow give
// the evens (tap 1) and the odds (tap 2); tap 0 is the odds one lane up with the previous strip's
// last odd in lane 0, so an input row costs two loads and three shuffles where Dw3x3Direct<V, 2>
// takes four loads (line-crossing loads take two load slots: that kernel ran at 18 GMAC/s on
// 56-112 wide planes against 45 for stride 1). Strips run left to right within a pass of R output
// rows, each input row keeping its last odds.
template <class V>
struct Dw3x3S2Pad1 {
  using T = typename V::T;
  using M = typename V::M;
  static constexpr int W = V::W;

  static bool applies(const spiralkit::DwArgs& a) {
    return a.kh == 3 && a.kw == 3 && a.dil_h == 1 && a.dil_w == 1 && a.stride_h == 2 && a.stride_w == 2 &&
           a.pad_w == 1 && a.out_w == (a.in_w - 1) / 2 + 1;
  }

  const spiralkit::DwArgs& a;
  T w[9];
  T bias;

  template <int R>
  void pass(int64_t oh) const {
    constexpr int kSpan = 2 * (R - 1) + 3;
    const int64_t ih0 = oh * 2 - a.pad_h;
    T prev[kSpan];
    for (int k = 0; k < kSpan; ++k) prev[k] = V::zero();  // column -1: padding
    for (int64_t ow = 0; ow < a.out_w; ow += W) {
      const int n = static_cast<int>(std::min<int64_t>(W, a.out_w - ow));
      const int64_t c0 = 2 * ow;
      const bool interior = c0 + 2 * W <= a.in_w;
      const M m0 = V::range(0, static_cast<int>(std::clamp<int64_t>(a.in_w - c0, 0, W)));
      const M m1 = V::range(0, static_cast<int>(std::clamp<int64_t>(a.in_w - c0 - W, 0, W)));
      T acc[R], mid[R];
      for (int j = 0; j < R; ++j) {
        acc[j] = bias;
        mid[j] = V::zero();
      }
#pragma GCC unroll 16
      for (int k = 0; k < kSpan; ++k) {
        const int64_t ih = ih0 + k;
        if (ih < 0 || ih >= a.in_h) continue;  // prev[k] stays zero for the whole pass
        const float* row = a.x + ih * a.in_w + c0;
        const T x0 = interior ? V::load(row) : V::load_m(row, m0);
        const T x1 = interior ? V::load(row + W) : V::load_m(row + W, m1);
        const T ev = V::evens(x0, x1), od = V::odds(x0, x1);
        const T t0 = V::shift_in(prev[k], od);
        prev[k] = od;
#pragma GCC unroll 4
        for (int j = 0; j < R; ++j) {
          const int r = k - 2 * j;  // this input row is filter row r of output row j
          if (r < 0 || r > 2) continue;
          acc[j] = V::fma(w[3 * r], t0, acc[j]);
          mid[j] = V::fma(w[3 * r + 1], ev, mid[j]);
          acc[j] = V::fma(w[3 * r + 2], od, acc[j]);
        }
      }
      for (int j = 0; j < R; ++j) {
        float* y = a.y + (oh + j) * a.out_w + ow;
        const T v = vec_activation<V>(V::add(acc[j], mid[j]), a.act);
        if (n == W) V::store(y, v); else V::store_n(y, v, n);
      }
    }
  }

  void run() const {
    int64_t oh = 0;
    for (; oh + 2 <= a.out_h; oh += 2) pass<2>(oh);
    if (oh < a.out_h) pass<1>(oh);
    scalar_activation(a.y, a.out_h * a.out_w, a.act);
  }
};

// 3x3, stride 1, pad_w 1, same width (MobileNet's stride-1 blocks): the strip at output column ow
// needs input columns ow - 1 .. ow + W. Each input row is loaded once per strip at column ow (the
// row's own vector grid, so never across a cache line where rows are 64-byte aligned); tap 0 is
// that vector shifted one lane up with the previous strip's last lane, tap 2 shifted one lane down
// with the next vector's first lane. Dw3x3Direct<V, 1> loads at ow - 1, ow and ow + 1, two of
// the three across a line (two load slots each).
template <class V, int R>
struct Dw3x3S1Pad1 {
  using T = typename V::T;
  static constexpr int W = V::W;

  static bool applies(const spiralkit::DwArgs& a) {
    return a.kh == 3 && a.kw == 3 && a.dil_h == 1 && a.dil_w == 1 && a.stride_h == 1 && a.stride_w == 1 &&
           a.pad_w == 1 && a.out_w == a.in_w;
  }

  const spiralkit::DwArgs& a;
  T w[9];
  T bias;

  // Columns c .. c + W - 1, zero past the row; a vector wholly past it is not loaded at all
  // (qemu faults on fully masked-off loads past a buffer's end, hardware does not).
  T load_at(const float* row, int64_t c) const {
    if (c + W <= a.in_w) return V::load(row + c);
    if (c >= a.in_w) return V::zero();
    return V::load_m(row + c, V::range(0, static_cast<int>(a.in_w - c)));
  }

  template <int P>
  void pass(int64_t oh) const {
    constexpr int kSpan = P + 2;
    const int64_t ih0 = oh - a.pad_h;
    const float* rows[kSpan];
    bool live[kSpan];
    T prev[kSpan], cur[kSpan];
    for (int k = 0; k < kSpan; ++k) {
      const int64_t ih = ih0 + k;
      live[k] = ih >= 0 && ih < a.in_h;
      rows[k] = live[k] ? a.x + ih * a.in_w : a.x;
      prev[k] = V::zero();  // column -1: padding
      cur[k] = live[k] ? load_at(rows[k], 0) : V::zero();
    }
    for (int64_t ow = 0; ow < a.out_w; ow += W) {
      const int n = static_cast<int>(std::min<int64_t>(W, a.out_w - ow));
      T acc[P], mid[P];
      for (int j = 0; j < P; ++j) {
        acc[j] = bias;
        mid[j] = V::zero();
      }
#pragma GCC unroll 16
      for (int k = 0; k < kSpan; ++k) {
        if (!live[k]) continue;  // a row outside the image is zero for the whole pass
        const T next = load_at(rows[k], ow + W);
        const T t0 = V::shift_in(prev[k], cur[k]), t1 = cur[k], t2 = V::shift_out(cur[k], next);
        prev[k] = cur[k];
        cur[k] = next;
#pragma GCC unroll 8
        for (int j = 0; j < P; ++j) {
          const int r = k - j;  // this input row is filter row r of output row j
          if (r < 0 || r > 2) continue;
          acc[j] = V::fma(w[3 * r], t0, acc[j]);
          mid[j] = V::fma(w[3 * r + 1], t1, mid[j]);
          acc[j] = V::fma(w[3 * r + 2], t2, acc[j]);
        }
      }
      for (int j = 0; j < P; ++j) {
        float* y = a.y + (oh + j) * a.out_w + ow;
        const T v = vec_activation<V>(V::add(acc[j], mid[j]), a.act);
        if (n == W) V::store(y, v); else V::store_n(y, v, n);
      }
    }
  }

  void run() const {
    int64_t oh = 0;
    for (; oh + R <= a.out_h; oh += R) pass<R>(oh);
    for (; oh < a.out_h; ++oh) pass<1>(oh);
    scalar_activation(a.y, a.out_h * a.out_w, a.act);
  }
};

#if defined(__AVX512F__)
// 3x3, stride 2, pad_w 1, output rows at most 7 wide (14x14 -> 7x7), AVX-512: two output rows per
// vector (lanes 0-7 row oh, lanes 8-15 row oh + 1), where the row kernels fill 7 of 16 lanes. Each
// filter row is two masked loads from column -1 (the two output rows' input rows) and one
// two-source permute per tap picks columns 2 ow + q - 1 of both.
template <class V>
struct Dw3x3S2Narrow {
  static bool applies(const spiralkit::DwArgs& a) {
    return a.kh == 3 && a.kw == 3 && a.dil_h == 1 && a.dil_w == 1 && a.stride_h == 2 && a.stride_w == 2 &&
           a.pad_w == 1 && a.out_w <= 7 && a.out_w == (a.in_w - 1) / 2 + 1;
  }

  static void run(const spiralkit::DwArgs& a) {
    using T = typename V::T;
    const __mmask16 cols = static_cast<__mmask16>(((1u << a.in_w) - 1) << 1);  // lane j = column j - 1
    const __mmask16 lo = static_cast<__mmask16>((1u << a.out_w) - 1), hi = static_cast<__mmask16>(lo << 8);
    __m512i idx[3];
    for (int q = 0; q < 3; ++q) {
      alignas(64) int32_t lanes[16];
      for (int i = 0; i < 8; ++i) lanes[i] = 2 * i + q, lanes[8 + i] = 16 + 2 * i + q;
      idx[q] = _mm512_load_si512(lanes);
    }
    for (int64_t c = 0; c < a.planes; ++c) {
      const float* x = a.x + c * a.x_plane;
      float* y = a.y + c * a.y_plane;
      T w[9];
      const T bias = plane_filter3x3<V>(a, c, w);
      for (int64_t oh = 0; oh < a.out_h; oh += 2) {
        const bool two = oh + 1 < a.out_h;
        T acc = bias, mid = V::zero();
        for (int r = 0; r < 3; ++r) {
          const int64_t ia = oh * 2 - a.pad_h + r, ib = ia + 2;  // input rows of output rows oh, oh + 1
          const T xa = ia >= 0 && ia < a.in_h ? _mm512_maskz_loadu_ps(cols, x + ia * a.in_w - 1) : V::zero();
          const T xb = two && ib >= 0 && ib < a.in_h ? _mm512_maskz_loadu_ps(cols, x + ib * a.in_w - 1) : V::zero();
          acc = V::fma(w[3 * r], _mm512_permutex2var_ps(xa, idx[0], xb), acc);
          mid = V::fma(w[3 * r + 1], _mm512_permutex2var_ps(xa, idx[1], xb), mid);
          acc = V::fma(w[3 * r + 2], _mm512_permutex2var_ps(xa, idx[2], xb), acc);
        }
        const T v = vec_activation<V>(V::add(acc, mid), a.act);
        _mm512_mask_storeu_ps(y + oh * a.out_w, lo, v);
        if (two) _mm512_mask_storeu_ps(y + (oh + 1) * a.out_w - 8, hi, v);  // lanes 8.. -> row oh + 1
      }
      scalar_activation(y, a.out_h * a.out_w, a.act);
    }
  }
};
#endif

template <class V, int S>
void dw3x3_direct(const spiralkit::DwArgs& a) {
  Dw3x3Direct<V, S> k{a, {}, {}};
  k.bias = plane_filter3x3<V>(a, 0, k.w);
  k.run();
}

// 3x3, dilation 1, stride 1, same width (pad_w = 1), rows at most a vector wide: vectors run over
// the flattened output plane, several rows per vector, so a 7x7 plane takes 4 AVX-512 vectors
// instead of 7 one-row vectors of 7 lanes. Output p and its tap (r, q) sit at a constant distance
// (r - pad_h) * in_w + q - 1 in the flattened input, so each tap is one masked load; the masks
// (lanes past the plane, taps over an edge) are the same for every plane. On 14-wide bands of 7
// rows (a fused block's half of a 14x14 image) it ran 1.26x faster than the row kernel, whose
// 4-row passes leave three single rows (Zen 5, one core).
template <class V>
struct Dw3x3Flat {
  using T = typename V::T;
  using M = typename V::M;
  static constexpr int W = V::W;
  static constexpr int kMaxVectors = 16;

  static bool applies(const spiralkit::DwArgs& a) {
    return a.stride_w == 1 && a.stride_h == 1 && a.pad_w == 1 && a.out_w == a.in_w && a.out_w <= W &&
           a.out_h * a.out_w <= int64_t(kMaxVectors) * W;
  }

  static void run(const spiralkit::DwArgs& a) {
    const int64_t n_out = a.out_h * a.out_w;
    const int vectors = static_cast<int>((n_out + W - 1) / W);
    M masks[kMaxVectors][9];
    int64_t off[9];
    for (int r = 0; r < 3; ++r)
      for (int q = 0; q < 3; ++q) off[3 * r + q] = (r - a.pad_h) * a.in_w + (q - 1);
    uint32_t bits[kMaxVectors][9] = {};
    for (int64_t p = 0, oh = 0, ow = 0; p < n_out; ++p) {  // output p = (oh, ow)
      for (int t = 0; t < 9; ++t) {
        const int64_t ih = oh - a.pad_h + t / 3, iw = ow - 1 + t % 3;
        if (ih >= 0 && ih < a.in_h && iw >= 0 && iw < a.in_w) bits[p / W][t] |= 1u << (p % W);
      }
      if (++ow == a.out_w) ow = 0, ++oh;
    }
    for (int v = 0; v < vectors; ++v)
      for (int t = 0; t < 9; ++t) masks[v][t] = V::bits(bits[v][t]);
    for (int64_t c = 0; c < a.planes; ++c) {
      const float* x = a.x + c * a.x_plane;
      float* y = a.y + c * a.y_plane;
      T w[9];
      const T bias = plane_filter3x3<V>(a, c, w);
      for (int v = 0; v < vectors; ++v) {
        // Masked-off lanes are never read, so a tap's address may lie before or past the plane.
        const float* base = x + int64_t(v) * W;
        T acc = bias, mid = V::zero();
#pragma GCC unroll 9
        for (int t = 0; t < 9; t += 2) {
          acc = V::fma(w[t], V::load_m(base + off[t], masks[v][t]), acc);
          if (t + 1 < 9) mid = V::fma(w[t + 1], V::load_m(base + off[t + 1], masks[v][t + 1]), mid);
        }
        const T out = vec_activation<V>(V::add(acc, mid), a.act);
        const int64_t n = std::min<int64_t>(W, n_out - int64_t(v) * W);
        if (n == W) V::store(y + int64_t(v) * W, out); else V::store_n(y + int64_t(v) * W, out, static_cast<int>(n));
      }
      scalar_activation(y, n_out, a.act);
    }
  }
};

template <class V>
void dwconv_plane(const spiralkit::DwArgs& a) {
  using T = typename V::T;
  constexpr int W = V::W;
  if constexpr (has_masked_load<V>::value) {
    if (Dw3x3S2Pad1<V>::applies(a)) {
      Dw3x3S2Pad1<V> k{a, {}, {}};
      k.bias = plane_filter3x3<V>(a, 0, k.w);
      k.run();
      return;
    }
    // AVX2 only: measured there (1.2x on MobileNet-v2's band shapes, 2 and 3 rows per pass level,
    // 4 behind: 16 registers); AVX-512 keeps Dw3x3Direct until it is measured on such a CPU.
    if constexpr (V::W == 8) {
      if (Dw3x3S1Pad1<V, 2>::applies(a)) {
        Dw3x3S1Pad1<V, 2> k{a, {}, {}};
        k.bias = plane_filter3x3<V>(a, 0, k.w);
        k.run();
        return;
      }
    }
    if (a.kh == 3 && a.kw == 3 && a.dil_h == 1 && a.dil_w == 1 && a.stride_h == a.stride_w && a.stride_w <= 2) {
      if (a.stride_w == 1) dw3x3_direct<V, 1>(a); else dw3x3_direct<V, 2>(a);
      return;
    }
  }
  // Rows below the plane read as zero however many the output needs (a band of a fused block
  // may ask for more than pad_h of them).
  const int64_t needed = (a.out_h - 1) * a.stride_h + int64_t(a.kh - 1) * a.dil_h + 1;
  const int64_t hp = std::max(a.in_h + 2 * a.pad_h, needed), wp = a.in_w + 2 * a.pad_w;
  const int64_t slack = int64_t(4) * W * std::max(a.stride_w, 1) + int64_t(a.kw) * a.dil_w;
  thread_local std::vector<float> padded;
  if (padded.size() < static_cast<size_t>(hp * wp + slack)) padded.resize(static_cast<size_t>(hp * wp + slack));
  float* P = padded.data();
  // Copy the rows in with (masked) vectors and zero only the padding around them: for 7x7 or
  // 14x14 planes per-row memset/memcpy calls would cost more than the convolution itself, and on
  // large planes zeroing the interior first would write every value twice.
  const int64_t total = (hp * wp + W - 1) / W * W;  // within the slack
  auto zero = [&](int64_t from, int64_t to) {  // [from, to) of P
    int64_t i = from;
    for (; i + W <= to; i += W) V::store(P + i, V::zero());
    if (i < to) V::store_n(P + i, V::zero(), static_cast<int>(to - i));
  };
  zero(0, a.pad_h * wp + a.pad_w);  // top rows and the first row's left pad
  for (int64_t h = 0; h < a.in_h; ++h) {
    float* row = P + (h + a.pad_h) * wp + a.pad_w;
    const float* src = a.x + h * a.in_w;
    int64_t c = 0;
    for (; c + W <= a.in_w; c += W) V::store(row + c, V::load(src + c));
    if (c < a.in_w) {
      const int n = static_cast<int>(a.in_w - c);
      V::store_n(row + c, V::load_n(src + c, n), n);
    }
    // This row's right pad and the next row's left pad (or, after the last row, everything left).
    const int64_t end = (row - P) + a.in_w;
    zero(end, h + 1 < a.in_h ? end + 2 * a.pad_w : total);
  }
  if (a.in_h == 0) zero(a.pad_h * wp + a.pad_w, total);
  if (a.kh == 3 && a.kw == 3 && a.dil_h == 1 && a.dil_w == 1 && a.stride_h == a.stride_w && a.stride_w <= 2) {
    if (a.stride_w == 1) dw3x3_rows<V, 1>(a, P, wp); else dw3x3_rows<V, 2>(a, P, wp);
    return;
  }
  const int taps = a.kh * a.kw;
  T wv[25];
  const bool small = taps <= 25;
  if (small)
    for (int t = 0; t < taps; ++t) wv[t] = V::set1(a.w[t]);
  const T bias = V::set1(a.bias);
  for (int64_t oh = 0; oh < a.out_h; ++oh) {
    float* y = a.y + oh * a.out_w;
    const float* base = P + oh * a.stride_h * wp;
    for (int64_t ow = 0; ow < a.out_w; ow += W) {
      T acc = bias;
      const float* col = base + ow * a.stride_w;
      for (int r = 0; r < a.kh; ++r) {
        const float* row = col + int64_t(r) * a.dil_h * wp;
        for (int q = 0; q < a.kw; ++q) {
          const T w = small ? wv[r * a.kw + q] : V::set1(a.w[r * a.kw + q]);
          acc = V::fma(w, load_strided<V>(row + int64_t(q) * a.dil_w, a.stride_w), acc);
        }
      }
      acc = vec_activation<V>(acc, a.act);
      const int n = static_cast<int>(std::min<int64_t>(W, a.out_w - ow));
      if (n == W) V::store(y + ow, acc); else V::store_n(y + ow, acc, n);
    }
    scalar_activation(y, a.out_w, a.act);
  }
}

template <class V>
void dwconv_planes(const spiralkit::DwArgs& a) {
  if constexpr (has_masked_load<V>::value) {
    if (a.kh == 3 && a.kw == 3 && a.dil_h == 1 && a.dil_w == 1 && a.stride_h == a.stride_w && a.stride_w <= 2) {
      if (Dw3x3Flat<V>::applies(a)) {
        Dw3x3Flat<V>::run(a);
        return;
      }
#if defined(__AVX512F__)
      if constexpr (V::W == 16) {
        if (Dw3x3S2Narrow<V>::applies(a)) {
          Dw3x3S2Narrow<V>::run(a);
          return;
        }
      }
#endif
    }
  }
  const int taps = a.kh * a.kw;
  for (int64_t c = 0; c < a.planes; ++c) {
    spiralkit::DwArgs p = a;
    p.planes = 1;
    p.x = a.x + c * a.x_plane;
    p.y = a.y + c * a.y_plane;
    p.w = a.w + c * taps;
    p.bias = a.biases ? a.biases[c] : a.bias;
    p.biases = nullptr;
    dwconv_plane<V>(p);
  }
}

}  // namespace
