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

template <class V>
void dwconv_plane(const spiralkit::DwArgs& a) {
  using T = typename V::T;
  constexpr int W = V::W;
  const int64_t hp = a.in_h + 2 * a.pad_h, wp = a.in_w + 2 * a.pad_w;
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

}  // namespace
