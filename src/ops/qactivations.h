// uint8 activations for the qs8 kernels: quantization (x / scale + zero point, round half to even,
// saturated to [0, 255]) and the "K x M in groups of 4" layout the K x M kernels read (QXtArgs).
#pragma once

#include <cstdint>

namespace spiralkit {

// Rows of padded columns the K x M kernels may read past m (ldx is rounded up to a multiple).
constexpr int64_t kQXtColumnAlign = 16;
inline int64_t qxt_ldx(int64_t m) { return (m + kQXtColumnAlign - 1) / kQXtColumnAlign * kQXtColumnAlign; }

inline uint8_t quantize_u8(float v, float inv_scale, int32_t zero_point);

// x: m rows of k uint8 (row stride ldx_in) -> out[(g * ldx + i) * 4 + j]; columns past k and rows
// [m, ldx) are filled with pad. out holds ceil(k / 4) * ldx * 4 bytes.
void pack_qxt(const uint8_t* x, int64_t m, int64_t k, int64_t ldx_in, uint8_t pad, uint8_t* out, int64_t ldx);

// x (m rows of k floats, row stride ldx_in) -> q[i * ldq + c] quantized, columns [k, ldq) = zero point.
void quantize_u8_padded(const float* x, int64_t m, int64_t k, int64_t ldx_in, float inv_scale, int32_t zero_point,
                        uint8_t* q, int64_t ldq);

// The same from fp32 (quantized on the way).
void quantize_pack_qxt(const float* x, int64_t m, int64_t k, int64_t ldx_in, float inv_scale, int32_t zero_point,
                       uint8_t* out, int64_t ldx);

// Four fp32 rows (x, x + ld, x + 2 ld, x + 3 ld; n values each) quantized into one group of the
// K x M groups-of-4 layout: word j of out = their four bytes at column j (row 0 first), words
// [n, ldx) zero (padding the kernels load). q: 4 * ldx bytes of scratch.
void quantize_group4(const float* x, int64_t ld, int64_t n, float inv_scale, int32_t zero_point, uint8_t* q,
                     int64_t ldx, uint8_t* out);

// y[i] = quantize(x[i]) for n values.
void quantize_u8_rows(const float* x, int64_t n, float inv_scale, int32_t zero_point, uint8_t* y);

// y[i] = (x[i] - zero_point) * scale: a uint8 hand-over read back as fp32. For q = quantize_u8(v)
// this is fake_quantize_u8_rows(v), bit for bit (q - zero_point is the rounded integer itself).
void dequantize_u8_rows(const uint8_t* x, int64_t n, float scale, int32_t zero_point, float* y);

// y[i] = dequantize(quantize(x[i])): what an int8 kernel would read, in fp32 (y may alias x).
void fake_quantize_u8_rows(const float* x, int64_t n, float scale, int32_t zero_point, float* y);

inline uint8_t quantize_u8(float v, float inv_scale, int32_t zero_point) {
  float t = v * inv_scale;
  const float lo = static_cast<float>(-zero_point), hi = static_cast<float>(255 - zero_point);
  t = t > lo ? t : lo;
  t = t < hi ? t : hi;
  // Round half to even without SSE4.1 (so the loops vectorize on baseline x86-64): |t| <= 255,
  // so adding and removing 1.5 * 2^23 leaves exactly nearbyint(t).
  constexpr float kMagic = 12582912.0f;
  t = (t + kMagic) - kMagic;
  return static_cast<uint8_t>(static_cast<int32_t>(t) + zero_point);
}

}  // namespace spiralkit
