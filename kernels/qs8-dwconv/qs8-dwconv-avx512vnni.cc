// Depthwise int8 3x3 convolution of one channel plane on the integer dot product (AVX-512 VNNI),
// stride 1 or 2, dilation 1; other geometries run the fp32-exact rows of qs8-dwconv-impl.h.
//
// Each output pixel's filter row is one vpdpbusd lane: the four bytes x[c], x[c + 1], x[c + 2],
// x[c + 3] of its input row (c = ow * S) against w[r][0], w[r][1], w[r][2], 0. A 64-byte load of
// the row is spread into those windows by two in-lane shuffles (vpermd puts the dwords a 128-bit
// lane needs into it, vpshufb picks each pixel's four bytes), so 16 pixels of a filter row cost a
// load, two shuffles and one dot product, where the fp32 rows convert every byte to a float in a
// fill pass and then spend three FMAs. R output rows share each input row's shuffles.
//
// The plane is first copied as bytes with the zero point in its padding, so every window reads
// (x - zp) + zp: the sum is sum(w * x) - zp * sum(w) for every pixel alike, and the correction is
// one constant. Sums are exact int32 (|sum| < 9 * 128 * 255), and float(acc) exact, so the
// epilogue is the fp32 rows' own (qs8_dw_store), lane for lane.
#include "simd/vec-avx512.h"
#include "qs8-dwconv/qs8-dwconv-impl.h"

#include <immintrin.h>

namespace {

// Bytes per padded row past the window: a 64-byte load may start at the last output's column.
constexpr int64_t kRowSlack = 64;

inline __mmask64 first_bytes(int64_t n) { return n >= 64 ? ~__mmask64(0) : (__mmask64(1) << n) - 1; }

// dst[0, n) = src[0, n) (src null: the byte v), in 64-byte vectors: a libc call per row piece cost
// more than the copy (three per row, 112 rows per 112 x 112 plane).
inline void put_bytes(uint8_t* dst, const uint8_t* src, int64_t n, __m512i v) {
  for (int64_t c = 0; c < n; c += 64) {
    const __mmask64 m = first_bytes(n - c);
    _mm512_mask_storeu_epi8(dst + c, m, src ? _mm512_maskz_loadu_epi8(m, src + c) : v);
  }
}

// The padded plane as bytes (rows of `ld`), the zero point outside the image. Only the window's
// columns [0, cols) are written: the slack past them is read by lanes past out_w and by the
// zero-weight fourth byte of a window, neither of which reaches an output.
void fill_bytes(const spiralkit::QDwArgs& a, int64_t rows, int64_t cols, int64_t ld, uint8_t* P) {
  const __m512i zp = _mm512_set1_epi8(static_cast<char>(a.x_zero_point));
  const int64_t lo = std::min<int64_t>(a.pad_w, cols), hi = std::min<int64_t>(a.pad_w + a.in_w, cols);
  for (int64_t pr = 0; pr < rows; ++pr) {
    uint8_t* row = P + pr * ld;
    const int64_t ih = pr - a.pad_h;
    if (ih < 0 || ih >= a.in_h) {
      put_bytes(row, nullptr, cols, zp);
      continue;
    }
    put_bytes(row, nullptr, lo, zp);
    put_bytes(row + lo, a.x + ih * a.in_w + (lo - a.pad_w), hi - lo, zp);
    put_bytes(row + hi, nullptr, cols - hi, zp);
  }
}

// The 16 pixels' four-byte windows of the row at p (pixel j's window starts at p[j * S]).
template <int S>
inline __m512i windows(const uint8_t* p) {
  const __m512i v = _mm512_loadu_si512(p);
  // 128-bit lane k holds pixels 4k..4k+3, whose windows start at byte 4kS: its dwords kS..kS+3.
  const __m512i dwords = S == 1 ? _mm512_setr_epi32(0, 1, 2, 3, 1, 2, 3, 4, 2, 3, 4, 5, 3, 4, 5, 6)
                                : _mm512_setr_epi32(0, 1, 2, 3, 2, 3, 4, 5, 4, 5, 6, 7, 6, 7, 8, 9);
  // Within the lane, pixel m's window is bytes mS..mS+3.
  const __m512i bytes = S == 1 ? _mm512_broadcast_i32x4(_mm_setr_epi8(0, 1, 2, 3, 1, 2, 3, 4, 2, 3, 4, 5, 3, 4, 5, 6))
                               : _mm512_broadcast_i32x4(_mm_setr_epi8(0, 1, 2, 3, 2, 3, 4, 5, 4, 5, 6, 7, 6, 7, 8, 9));
  return _mm512_shuffle_epi8(_mm512_permutexvar_epi32(dwords, v), bytes);
}

inline __m512i dot(__m512i acc, __m512i x, __m512i w) {
  asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(x), "v"(w));  // see qvec-avx512vnni.h for why asm
  return acc;
}

// Output rows [oh, oh + R) of the 16-column vector at ow (n columns kept).
template <int S, int R>
inline void rows(const spiralkit::QDwArgs& a, const uint8_t* P, int64_t ld, const __m512i (&w)[3], __m512i corr,
                 int64_t oh, int64_t ow, int n, const spiralkit::QRequantRow& q) {
  constexpr int kSpan = (R - 1) * S + 3;
  __m512i acc[R];
  for (int j = 0; j < R; ++j) acc[j] = corr;
  const uint8_t* base = P + oh * S * ld + ow * S;
#pragma GCC unroll 16
  for (int k = 0; k < kSpan; ++k) {
    const __m512i x = windows<S>(base + k * ld);
#pragma GCC unroll 4
    for (int j = 0; j < R; ++j) {
      const int r = k - j * S;  // input row k is filter row r of output row j
      if (r >= 0 && r <= 2) acc[j] = dot(acc[j], x, w[r]);
    }
  }
  for (int j = 0; j < R; ++j)
    qs8_dw_store<VecAvx512>(a.out, _mm512_cvtepi32_ps(acc[j]), (oh + j) * a.out_w + ow, n, q);
}

template <int S>
void plane(const spiralkit::QDwArgs& a, uint8_t* P) {
  const int64_t rows_in = (a.out_h - 1) * S + 3, cols = (a.out_w - 1) * S + 3, ld = cols + kRowSlack;
  fill_bytes(a, rows_in, cols, ld, P);
  __m512i w[3];
  int32_t sum = 0;
  for (int r = 0; r < 3; ++r) {
    const uint32_t b0 = static_cast<uint8_t>(a.w[3 * r]), b1 = static_cast<uint8_t>(a.w[3 * r + 1]),
                   b2 = static_cast<uint8_t>(a.w[3 * r + 2]);
    w[r] = _mm512_set1_epi32(static_cast<int32_t>(b0 | b1 << 8 | b2 << 16));
    sum += a.w[3 * r] + a.w[3 * r + 1] + a.w[3 * r + 2];
  }
  const __m512i corr = _mm512_set1_epi32(-a.x_zero_point * sum);
  const spiralkit::QRequantRow q = a.out.y_u8 ? spiralkit::qs8_requant_row(a.out, 0) : spiralkit::QRequantRow{};
  constexpr int R = 4;
  for (int64_t ow = 0; ow < a.out_w; ow += 16) {
    const int n = static_cast<int>(std::min<int64_t>(16, a.out_w - ow));
    int64_t oh = 0;
    for (; oh + R <= a.out_h; oh += R) rows<S, R>(a, P, ld, w, corr, oh, ow, n, q);
    for (; oh < a.out_h; ++oh) rows<S, 1>(a, P, ld, w, corr, oh, ow, n, q);
  }
}

}  // namespace

void spiralkit::spiralkit_qs8_dwconv_ukernel__avx512vnni(const QDwArgs& a) {
  const bool fits = spiralkit::qs8_dwconv_dot_window(a.kh, a.kw, a.stride_h, a.stride_w, a.dil_h, a.dil_w) && a.work &&
                    a.out_h > 0 && a.out_w > 0;
  // The byte plane fits the fp32 rows' scratch: rows x (cols + 64) bytes <= rows x (cols + 32 S) floats.
  if (!fits) return qs8_dwconv_plane<VecAvx512>(a);
  uint8_t* P = reinterpret_cast<uint8_t*>(a.work);
  if (a.stride_w == 1) plane<1>(a, P); else plane<2>(a, P);
}
