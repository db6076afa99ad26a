// Depthwise int8 convolution of one channel plane on the fp32 vector units, bit-exact with the
// integer reference. Why fp32: every product w * (x - zp) and every partial sum of a window is an
// integer below 2^24 when kh * kw <= kMaxExactTaps (|w| <= 128, |x - zp| <= 255), so fp32 FMAs
// accumulate it exactly, in any order, and float(acc) is the int32 accumulator itself; the
// epilogue then is qs8_store's, lane for lane. The plane is copied once into a.work as floats
// (x - zp, zero in the padding, which is what the zero point contributes), so every tap is an
// in-bounds load: contiguous at stride 1, deinterleaved at stride 2 (V::load_s2), gathered else.
// Include once per kernel file, after one simd/vec-*.h; internal linkage.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "simd/vext.h"
#include "spiralkit_kernels/kernel-list-i8.h"

namespace {
constexpr int kMaxExactTaps = 512;  // 512 * 128 * 255 < 2^24

typedef uint8_t vbytes __attribute__((vector_size(kLanes)));

template <class V>
inline void qs8_dw_fill_plane(const spiralkit::QDwArgs& a, const spiralkit::QDwWork& g, float* P) {
  const float zp = static_cast<float>(a.x_zero_point);
  const typename V::T vzp = V::set1(-zp);
  const int64_t lo = std::min<int64_t>(a.pad_w, g.cols), hi = std::min<int64_t>(a.pad_w + a.in_w, g.cols);
  for (int64_t pr = 0; pr < g.rows; ++pr) {
    float* row = P + pr * g.row_floats;
    const int64_t ih = pr - a.pad_h;
    if (ih < 0 || ih >= a.in_h) {
      std::memset(row, 0, sizeof(float) * g.row_floats);
      continue;
    }
    const uint8_t* x = a.x + ih * a.in_w - a.pad_w;  // x[c]: padded column c
    std::memset(row, 0, sizeof(float) * lo);
    int64_t c = lo;
    for (; c + V::W <= hi; c += V::W) V::store(row + c, V::add(V::load_u8(x + c), vzp));
    for (; c < hi; ++c) row[c] = static_cast<float>(x[c]) - zp;
    std::memset(row + hi, 0, sizeof(float) * (g.row_floats - hi));
  }
}

template <class V>
inline typename V::T qs8_dw_tap(const float* p, int stride) {
  if (stride == 1) return V::load(p);
  if constexpr (V::W > 1) {
    if (stride == 2) return V::load_s2(p);
  }
  alignas(64) float lanes[V::W];
  for (int i = 0; i < V::W; ++i) lanes[i] = p[int64_t(i) * stride];
  return V::load(lanes);
}

// qs8_store on one vector of exact accumulators (count <= V::W lanes).
template <class V>
inline void qs8_dw_store(const spiralkit::QOutput& o, typename V::T acc, int64_t yo, int count) {
  using T = typename V::T;
  T v = V::fma(acc, V::set1(o.scale[0]), V::set1(o.bias ? o.bias[0] : 0.0f));
  if (o.act != spiralkit::Activation::kNone) v = V::max(v, V::zero());
  if (o.act == spiralkit::Activation::kRelu6) v = V::min(v, V::set1(6.0f));
  if (o.y_f32) {
    if (count == V::W) V::store(o.y_f32 + yo, v); else V::store_n(o.y_f32 + yo, v, count);
    return;
  }
  // qs8_requantize: clamp in float to [-zp, 255 - zp], then round half to even (|t| <= 255, so
  // adding 1.5 * 2^23 leaves the rounded integer in the low mantissa bits).
  T t = V::mul(v, V::set1(o.out_inv_scale));
  t = V::max(t, V::set1(static_cast<float>(-o.out_zero_point)));
  t = V::min(t, V::set1(static_cast<float>(255 - o.out_zero_point)));
  t = V::add(t, V::set1(12582912.0f));
  vi q;
  std::memcpy(&q, &t, sizeof q);
  q = q - 0x4B400000 + o.out_zero_point;
  const vbytes b = __builtin_convertvector(q, vbytes);
  std::memcpy(o.y_u8 + yo, &b, static_cast<size_t>(count));
}

// NR output rows x NV vectors from column ow (the last vector holds `last` columns): NR * NV
// independent FMA chains, so narrow planes (7 or 14 columns) are not latency-bound.
template <class V, int NR, int NV>
inline void qs8_dw_block(const spiralkit::QDwArgs& a, const spiralkit::QDwWork& g, const float* P, const float* wv,
                         const int64_t* off, int taps, int64_t oh, int64_t ow, int last) {
  using T = typename V::T;
  constexpr int W = V::W;
  const int S = a.stride_w;
  T acc[NR][NV];
  for (int r = 0; r < NR; ++r)
    for (int v = 0; v < NV; ++v) acc[r][v] = V::zero();
  const float* base = P + oh * a.stride_h * g.row_floats + ow * S;
  for (int t = 0; t < taps; ++t) {
    const T w = V::set1(wv[t]);
#pragma GCC unroll 4
    for (int r = 0; r < NR; ++r) {
      const float* p = base + off[t] + int64_t(r) * a.stride_h * g.row_floats;
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = V::fma(w, qs8_dw_tap<V>(p + int64_t(v) * W * S, S), acc[r][v]);
    }
  }
  for (int r = 0; r < NR; ++r)
    for (int v = 0; v < NV; ++v)
      qs8_dw_store<V>(a.out, acc[r][v], (oh + r) * a.out_w + ow + int64_t(v) * W, v == NV - 1 ? last : W);
}

template <class V, int NR>
inline void qs8_dw_rows(const spiralkit::QDwArgs& a, const spiralkit::QDwWork& g, const float* P, const float* wv,
                        const int64_t* off, int taps, int64_t oh) {
  constexpr int W = V::W;
  int64_t ow = 0;
  if constexpr (NR == 1) {
    for (; ow + 4 * W <= a.out_w; ow += 4 * W) qs8_dw_block<V, 1, 4>(a, g, P, wv, off, taps, oh, ow, W);
  }
  const int64_t rest = a.out_w - ow;
  if (rest <= 0) return;
  const int last = static_cast<int>(rest - (rest - 1) / W * W);
  switch ((rest + W - 1) / W) {
    case 1: return qs8_dw_block<V, NR, 1>(a, g, P, wv, off, taps, oh, ow, last);
    case 2: return qs8_dw_block<V, NR, 2>(a, g, P, wv, off, taps, oh, ow, last);
    case 3: return qs8_dw_block<V, NR, 3>(a, g, P, wv, off, taps, oh, ow, last);
    default: return qs8_dw_block<V, NR, 4>(a, g, P, wv, off, taps, oh, ow, last);
  }
}

// 3x3, dilation 1, stride S: the nine weights stay in registers, the taps are unrolled.
template <class V, int S, int NR, int NV>
inline void qs8_dw3x3_block(const spiralkit::QDwArgs& a, const spiralkit::QDwWork& g, const float* P,
                            const typename V::T (&w)[9], int64_t oh, int64_t ow, int last) {
  using T = typename V::T;
  constexpr int W = V::W;
  const int64_t ld = g.row_floats, step = a.stride_h * ld;
  T acc[NR][NV];
  for (int r = 0; r < NR; ++r)
    for (int v = 0; v < NV; ++v) acc[r][v] = V::zero();
  const float* base = P + oh * step + ow * S;
#pragma GCC unroll 3
  for (int kr = 0; kr < 3; ++kr)
#pragma GCC unroll 3
    for (int kq = 0; kq < 3; ++kq)
#pragma GCC unroll 4
      for (int r = 0; r < NR; ++r)
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) {
          const float* p = base + r * step + kr * ld + kq + int64_t(v) * W * S;
          acc[r][v] = V::fma(w[kr * 3 + kq], S == 1 ? V::load(p) : qs8_dw_tap<V>(p, S), acc[r][v]);
        }
  for (int r = 0; r < NR; ++r)
    for (int v = 0; v < NV; ++v)
      qs8_dw_store<V>(a.out, acc[r][v], (oh + r) * a.out_w + ow + int64_t(v) * W, v == NV - 1 ? last : W);
}

template <class V, int S, int NR>
inline void qs8_dw3x3_rows(const spiralkit::QDwArgs& a, const spiralkit::QDwWork& g, const float* P,
                           const typename V::T (&w)[9], int64_t oh) {
  constexpr int W = V::W;
  int64_t ow = 0;
  if constexpr (NR == 1) {
    for (; ow + 4 * W <= a.out_w; ow += 4 * W) qs8_dw3x3_block<V, S, 1, 4>(a, g, P, w, oh, ow, W);
  }
  const int64_t rest = a.out_w - ow;
  if (rest <= 0) return;
  const int last = static_cast<int>(rest - (rest - 1) / W * W);
  switch ((rest + W - 1) / W) {
    case 1: return qs8_dw3x3_block<V, S, NR, 1>(a, g, P, w, oh, ow, last);
    case 2: return qs8_dw3x3_block<V, S, NR, 2>(a, g, P, w, oh, ow, last);
    case 3: return qs8_dw3x3_block<V, S, NR, 3>(a, g, P, w, oh, ow, last);
    default: return qs8_dw3x3_block<V, S, NR, 4>(a, g, P, w, oh, ow, last);
  }
}

template <class V, int S>
void qs8_dw3x3_plane(const spiralkit::QDwArgs& a, const spiralkit::QDwWork& g) {
  typename V::T w[9];
  for (int t = 0; t < 9; ++t) w[t] = V::set1(static_cast<float>(a.w[t]));
  int64_t oh = 0;
  if (a.out_w <= 2 * V::W)
    for (; oh + 4 <= a.out_h; oh += 4) qs8_dw3x3_rows<V, S, 4>(a, g, a.work, w, oh);
  for (; oh < a.out_h; ++oh) qs8_dw3x3_rows<V, S, 1>(a, g, a.work, w, oh);
}

template <class V>
void qs8_dwconv_plane(const spiralkit::QDwArgs& a) {
  static_assert(V::W == kLanes, "vext lanes and the Vec register must agree");
  if (a.kh * a.kw > kMaxExactTaps || !a.work || a.out_h <= 0 || a.out_w <= 0)
    return spiralkit::spiralkit_qs8_dwconv_ukernel__scalar(a);
  const spiralkit::QDwWork g = spiralkit::qs8_dwconv_work(a);
  qs8_dw_fill_plane<V>(a, g, a.work);
  if (a.kh == 3 && a.kw == 3 && a.dil_h == 1 && a.dil_w == 1 && (a.stride_w == 1 || a.stride_w == 2))
    return a.stride_w == 1 ? qs8_dw3x3_plane<V, 1>(a, g) : qs8_dw3x3_plane<V, 2>(a, g);
  const int taps = a.kh * a.kw;
  float wv[kMaxExactTaps];  // per tap: its weight and its offset from an output's first column
  int64_t off[kMaxExactTaps];
  for (int r = 0; r < a.kh; ++r)
    for (int q = 0; q < a.kw; ++q) {
      wv[r * a.kw + q] = static_cast<float>(a.w[r * a.kw + q]);
      off[r * a.kw + q] = int64_t(r) * a.dil_h * g.row_floats + int64_t(q) * a.dil_w;
    }
  int64_t oh = 0;
  // Planes of at most two vectors a row take four rows at a time; wider ones one row of four vectors.
  if (a.out_w <= 2 * V::W)
    for (; oh + 4 <= a.out_h; oh += 4) qs8_dw_rows<V, 4>(a, g, a.work, wv, off, taps, oh);
  for (; oh < a.out_h; ++oh) qs8_dw_rows<V, 1>(a, g, a.work, wv, off, taps, oh);
}
}  // namespace
