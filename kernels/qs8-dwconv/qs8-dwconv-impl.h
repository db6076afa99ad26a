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
#if defined(__AVX512BW__)
#include <immintrin.h>
#endif

#include "simd/vec-traits.h"
#include "simd/vext.h"
#include "spiralkit_kernels/kernel-list-i8.h"

namespace {
constexpr int kMaxExactTaps = 512;  // 512 * 128 * 255 < 2^24

typedef uint8_t vbytes __attribute__((vector_size(kLanes)));

// Zeros over row[c0, c1), a vector at a time (vector stores: per-row memset calls cost as much as
// the fill on 56-wide planes).
template <class V>
inline void qs8_dw_zero(float* row, int64_t c0, int64_t c1) {
  for (int64_t c = c0; c < c1; c += V::W) V::store_n(row + c, V::zero(), static_cast<int>(std::min<int64_t>(V::W, c1 - c)));
}

// Padded rows [pr0, pr1) of the plane into P (row pr at P + (pr - pr0) * row_floats).
template <class V>
inline void qs8_dw_fill_rows(const spiralkit::QDwArgs& a, const spiralkit::QDwWork& g, int64_t pr0, int64_t pr1,
                             float* P) {
  const float zp = static_cast<float>(a.x_zero_point);
  const typename V::T vzp = V::set1(-zp);
  const int64_t lo = std::min<int64_t>(a.pad_w, g.cols), hi = std::min<int64_t>(a.pad_w + a.in_w, g.cols);
  for (int64_t pr = pr0; pr < pr1; ++pr) {
    float* row = P + (pr - pr0) * g.row_floats;
    const int64_t ih = pr - a.pad_h;
    // Only the window's columns [0, cols) are written: the slack past them is read by output lanes
    // past out_w alone, which no store keeps (it holds zeros from the allocation or an earlier
    // plane's integers; zeroing it per row doubled the fill on 28-wide planes).
    if (ih < 0 || ih >= a.in_h) {
      qs8_dw_zero<V>(row, 0, g.cols);
      continue;
    }
    const uint8_t* x = a.x + ih * a.in_w - a.pad_w;  // x[c]: padded column c
    qs8_dw_zero<V>(row, 0, lo);
    int64_t c = lo;
    for (; c + V::W <= hi; c += V::W) V::store(row + c, V::add(V::load_u8(x + c), vzp));
    if constexpr (V::kMaskedU8) {  // the row's last columns: one masked vector, nothing past the plane read
      if (c < hi) V::store_n(row + c, V::add(V::load_u8_n(x + c, static_cast<int>(hi - c)), vzp), static_cast<int>(hi - c));
    } else {
      for (; c < hi; ++c) row[c] = static_cast<float>(x[c]) - zp;
    }
    qs8_dw_zero<V>(row, hi, g.cols);
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

// qs8_store on one vector of exact accumulators (count <= V::W lanes); q: qs8_requant_row(o, 0).
template <class V>
inline void qs8_dw_store(const spiralkit::QOutput& o, typename V::T acc, int64_t yo, int count,
                         const spiralkit::QRequantRow& q) {
  using T = typename V::T;
  if (o.y_f32) {
    T v = V::fma(acc, V::set1(o.scale[0]), V::set1(o.bias ? o.bias[0] : 0.0f));
    if (o.act != spiralkit::Activation::kNone) v = V::max(v, V::zero());
    if (o.act == spiralkit::Activation::kRelu6) v = V::min(v, V::set1(6.0f));
    if (count == V::W) V::store(o.y_f32 + yo, v); else V::store_n(o.y_f32 + yo, v, count);
    return;
  }
  // qs8_requant_clamp: t in [lo, hi] within [0, 255], rounded half to even by adding 1.5 * 2^23
  // (the rounded integer lands in the low mantissa bits).
  T t = V::fma(acc, V::set1(q.mul), V::set1(q.add));
  t = V::min(V::max(t, V::set1(q.lo)), V::set1(q.hi));
  t = V::add(t, V::set1(12582912.0f));
  vi qi;
  std::memcpy(&qi, &t, sizeof qi);
  qi = qi - 0x4B400000;
  const vbytes b = __builtin_convertvector(qi, vbytes);
  // A whole vector is one fixed-size store; a variable-size memcpy is a libc call per vector, so
  // AVX-512 stores a partial one masked.
  if (count == V::W) {
    std::memcpy(o.y_u8 + yo, &b, sizeof b);
    return;
  }
#if defined(__AVX512BW__) && defined(__AVX512VL__)
  if constexpr (sizeof b == 16) {
    __m128i bytes;
    std::memcpy(&bytes, &b, sizeof b);
    _mm_mask_storeu_epi8(o.y_u8 + yo, static_cast<__mmask16>((1u << count) - 1u), bytes);
    return;
  }
#endif
  std::memcpy(o.y_u8 + yo, &b, static_cast<size_t>(count));
}

// NR output rows x NV vectors from column ow (the last vector holds `last` columns): NR * NV
// independent FMA chains, so narrow planes (7 or 14 columns) are not latency-bound.
template <class V, int NR, int NV>
inline void qs8_dw_block(const spiralkit::QDwArgs& a, const spiralkit::QDwWork& g, const float* P, const float* wv,
                         const int64_t* off, int taps, int64_t oh, int64_t ow, int last,
                         const spiralkit::QRequantRow& q) {
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
      qs8_dw_store<V>(a.out, acc[r][v], (oh + r) * a.out_w + ow + int64_t(v) * W, v == NV - 1 ? last : W, q);
}

template <class V, int NR>
inline void qs8_dw_rows(const spiralkit::QDwArgs& a, const spiralkit::QDwWork& g, const float* P, const float* wv,
                        const int64_t* off, int taps, int64_t oh, const spiralkit::QRequantRow& q) {
  constexpr int W = V::W;
  int64_t ow = 0;
  if constexpr (NR == 1) {
    for (; ow + 4 * W <= a.out_w; ow += 4 * W) qs8_dw_block<V, 1, 4>(a, g, P, wv, off, taps, oh, ow, W, q);
  }
  const int64_t rest = a.out_w - ow;
  if (rest <= 0) return;
  const int last = static_cast<int>(rest - (rest - 1) / W * W);
  switch ((rest + W - 1) / W) {
    case 1: return qs8_dw_block<V, NR, 1>(a, g, P, wv, off, taps, oh, ow, last, q);
    case 2: return qs8_dw_block<V, NR, 2>(a, g, P, wv, off, taps, oh, ow, last, q);
    case 3: return qs8_dw_block<V, NR, 3>(a, g, P, wv, off, taps, oh, ow, last, q);
    default: return qs8_dw_block<V, NR, 4>(a, g, P, wv, off, taps, oh, ow, last, q);
  }
}

// 3x3, dilation 1, stride S: R output rows per pass share each plane row's loads ((R - 1) S + 3
// rows for R rows), two accumulators per row (taps 0 and 2, tap 1) halve the FMA chains: the
// shape of the fp32 direct kernel (f32-dwconv), which keeps every accumulator and weight in
// registers. (A 4-row x 4-vector register tile, the earlier form, spilled its row pointers and
// ran this 2x slower than the fp32 kernel.) acc + mid is exact: both are integers below 2^24.
template <class V, int S, int R>
inline void qs8_dw3x3_band(const spiralkit::QDwArgs& a, const spiralkit::QDwWork& g, const typename V::T (&w)[9],
                           int64_t oh, int64_t pr0, const spiralkit::QRequantRow& q) {
  using T = typename V::T;
  constexpr int W = V::W;
  constexpr int kSpan = (R - 1) * S + 3;
  const int64_t ld = g.row_floats;
  for (int64_t ow = 0; ow < a.out_w; ow += W) {
    const int n = static_cast<int>(std::min<int64_t>(W, a.out_w - ow));
    const float* base = a.work + (oh * S - pr0) * ld + ow * S;  // the band holds padded rows from pr0
    T acc[R], mid[R];
    for (int j = 0; j < R; ++j) {
      acc[j] = V::zero();
      mid[j] = V::zero();
    }
#pragma GCC unroll 16
    for (int k = 0; k < kSpan; ++k) {
      const float* row = base + k * ld;
      T t0, t1, t2;
      if constexpr (S == 2 && has_masked_load<V>::value) {  // four loads, not six: taps 0 and 1 share two
        const T a0 = V::load(row), a1 = V::load(row + W), b0 = V::load(row + 2), b1 = V::load(row + 2 + W);
        t0 = V::evens(a0, a1);
        t1 = V::odds(a0, a1);
        t2 = V::evens(b0, b1);
      } else {
        t0 = qs8_dw_tap<V>(row, S);
        t1 = qs8_dw_tap<V>(row + 1, S);
        t2 = qs8_dw_tap<V>(row + 2, S);
      }
#pragma GCC unroll 4
      for (int j = 0; j < R; ++j) {
        const int r = k - j * S;  // plane row k is filter row r of output row j
        if (r < 0 || r > 2) continue;
        acc[j] = V::fma(w[3 * r], t0, acc[j]);
        mid[j] = V::fma(w[3 * r + 1], t1, mid[j]);
        acc[j] = V::fma(w[3 * r + 2], t2, acc[j]);
      }
    }
    for (int j = 0; j < R; ++j) qs8_dw_store<V>(a.out, V::add(acc[j], mid[j]), (oh + j) * a.out_w + ow, n, q);
  }
}

// Floats of padded plane per band: the band's rows stay in L1 between the fill and the taps (a
// whole 112 x 112 plane as floats is ~80 KB, and filled at once it went through L2: the stride-2
// layer on it ran 2x slower than ONNX Runtime's).
constexpr int64_t kBandFloats = 4096;

template <class V, int S>
void qs8_dw3x3_plane(const spiralkit::QDwArgs& a, const spiralkit::QDwWork& g, const spiralkit::QRequantRow& q) {
  typename V::T w[9];
  for (int t = 0; t < 9; ++t) w[t] = V::set1(static_cast<float>(a.w[t]));
  constexpr int R = S == 1 ? 4 : 2;
  // Output rows per band: a multiple of R, at least R; its rows [oh0 * S, (oh1 - 1) * S + 3).
  const int64_t fit = (kBandFloats / g.row_floats - 3) / S + 1;
  const int64_t band = std::max<int64_t>(R, fit / R * R);
  for (int64_t oh0 = 0; oh0 < a.out_h; oh0 += band) {
    const int64_t oh1 = std::min(a.out_h, oh0 + band), pr0 = oh0 * S;
    qs8_dw_fill_rows<V>(a, g, pr0, (oh1 - 1) * S + 3, a.work);
    int64_t oh = oh0;
    for (; oh + R <= oh1; oh += R) qs8_dw3x3_band<V, S, R>(a, g, w, oh, pr0, q);
    for (; oh < oh1; ++oh) qs8_dw3x3_band<V, S, 1>(a, g, w, oh, pr0, q);
  }
}

template <class V>
void qs8_dwconv_plane(const spiralkit::QDwArgs& a) {
  static_assert(V::W == kLanes, "vext lanes and the Vec register must agree");
  if (a.kh * a.kw > kMaxExactTaps || !a.work || a.out_h <= 0 || a.out_w <= 0)
    return spiralkit::spiralkit_qs8_dwconv_ukernel__scalar(a);
  const spiralkit::QDwWork g = spiralkit::qs8_dwconv_work(a);
  const spiralkit::QRequantRow q = a.out.y_u8 ? spiralkit::qs8_requant_row(a.out, 0) : spiralkit::QRequantRow{};
  if (a.kh == 3 && a.kw == 3 && a.dil_h == 1 && a.dil_w == 1 && a.stride_h == a.stride_w &&
      (a.stride_w == 1 || a.stride_w == 2))
    return a.stride_w == 1 ? qs8_dw3x3_plane<V, 1>(a, g, q) : qs8_dw3x3_plane<V, 2>(a, g, q);
  qs8_dw_fill_rows<V>(a, g, 0, g.rows, a.work);
  const int taps = a.kh * a.kw;
  float wv[kMaxExactTaps];  // per tap: its weight and its offset from an output's first column
  int64_t off[kMaxExactTaps];
  for (int r = 0; r < a.kh; ++r)
    for (int c = 0; c < a.kw; ++c) {
      wv[r * a.kw + c] = static_cast<float>(a.w[r * a.kw + c]);
      off[r * a.kw + c] = int64_t(r) * a.dil_h * g.row_floats + int64_t(c) * a.dil_w;
    }
  int64_t oh = 0;
  // Planes of at most two vectors a row take four rows at a time; wider ones one row of four vectors.
  if (a.out_w <= 2 * V::W)
    for (; oh + 4 <= a.out_h; oh += 4) qs8_dw_rows<V, 4>(a, g, a.work, wv, off, taps, oh, q);
  for (; oh < a.out_h; ++oh) qs8_dw_rows<V, 1>(a, g, a.work, wv, off, taps, oh, q);
}
}  // namespace
