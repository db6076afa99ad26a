#include "ops/qactivations.h"

#include <algorithm>
#include <cstring>

#include "config/kernel_registry_i8.h"
#include "ops/clones.h"

namespace spiralkit {

void pack_qxt(const uint8_t* x, int64_t m, int64_t k, int64_t ldx_in, uint8_t pad, uint8_t* out, int64_t ldx) {
  const int64_t groups = (k + 3) / 4;
  for (int64_t g = 0; g < groups; ++g) {
    uint8_t* o = out + g * ldx * 4;
    const int64_t k0 = g * 4, kn = std::min<int64_t>(4, k - k0);
    for (int64_t i = 0; i < m; ++i) {
      const uint8_t* xr = x + i * ldx_in + k0;
      for (int64_t j = 0; j < 4; ++j) o[i * 4 + j] = j < kn ? xr[j] : pad;
    }
    std::memset(o + m * 4, pad, static_cast<size_t>((ldx - m) * 4));
  }
}

void quantize_pack_qxt(const float* x, int64_t m, int64_t k, int64_t ldx_in, float inv_scale, int32_t zero_point,
                       uint8_t* out, int64_t ldx) {
  const int64_t groups = (k + 3) / 4;
  const uint8_t pad = static_cast<uint8_t>(zero_point);
  // Row-outer: each activation row is read once, sequentially; writes stride by 4 * ldx.
  for (int64_t i = 0; i < m; ++i) {
    const float* xr = x + i * ldx_in;
    int64_t g = 0;
    for (; g * 4 + 4 <= k; ++g) {
      uint8_t* o = out + (g * ldx + i) * 4;
      for (int j = 0; j < 4; ++j) o[j] = quantize_u8(xr[g * 4 + j], inv_scale, zero_point);
    }
    for (; g < groups; ++g) {
      uint8_t* o = out + (g * ldx + i) * 4;
      for (int64_t j = 0; j < 4; ++j) o[j] = g * 4 + j < k ? quantize_u8(xr[g * 4 + j], inv_scale, zero_point) : pad;
    }
  }
  for (int64_t g = 0; g < groups; ++g) std::memset(out + (g * ldx + m) * 4, pad, static_cast<size_t>((ldx - m) * 4));
}

void quantize_u8_padded(const float* x, int64_t m, int64_t k, int64_t ldx_in, float inv_scale, int32_t zero_point,
                        uint8_t* q, int64_t ldq) {
  for (int64_t i = 0; i < m; ++i) {
    quantize_u8_rows(x + i * ldx_in, k, inv_scale, zero_point, q + i * ldq);
    std::memset(q + i * ldq + k, zero_point, static_cast<size_t>(ldq - k));
  }
}

void quantize_u8_rows(const float* x, int64_t n, float inv_scale, int32_t zero_point, uint8_t* y) {
  select_qu8_vquant()->fn(x, n, inv_scale, zero_point, y);
}

namespace {
// Word j = bytes (r0[j], r1[j], r2[j], r3[j]) in memory order, written as the word loop the
// vectorizer turns into zero-extends, shifts and ORs.
SPIRALKIT_CLONES void interleave_rows4(const uint8_t* r0, const uint8_t* r1, const uint8_t* r2, const uint8_t* r3,
                                       int64_t n, uint32_t* out) {
  for (int64_t j = 0; j < n; ++j)
    out[j] = uint32_t(r0[j]) | uint32_t(r1[j]) << 8 | uint32_t(r2[j]) << 16 | uint32_t(r3[j]) << 24;
}
}  // namespace

void quantize_group4(const float* x, int64_t ld, int64_t n, float inv_scale, int32_t zero_point, uint8_t* q,
                     int64_t ldx, uint8_t* out) {
  for (int i = 0; i < 4; ++i) {
    uint8_t* qi = q + i * ldx;
    quantize_u8_rows(x + i * ld, n, inv_scale, zero_point, qi);
    std::memset(qi + n, 0, static_cast<size_t>(ldx - n));
  }
  interleave_rows4(q, q + ldx, q + 2 * ldx, q + 3 * ldx, ldx, reinterpret_cast<uint32_t*>(out));
}

SPIRALKIT_CLONES void dequantize_u8_rows(const uint8_t* x, int64_t n, float scale, int32_t zero_point, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(static_cast<int32_t>(x[i]) - zero_point) * scale;
}

void fake_quantize_u8_rows(const float* x, int64_t n, float scale, int32_t zero_point, float* y) {
  // quantize_u8 without the integer round trip: (q - zero_point) * scale = nearbyint(t) * scale
  // for the clamped t; float-only, so the loop vectorizes.
  const float inv_scale = 1.0f / scale;
  const float lo = static_cast<float>(-zero_point), hi = static_cast<float>(255 - zero_point);
  constexpr float kMagic = 12582912.0f;
  for (int64_t i = 0; i < n; ++i) {
    float t = x[i] * inv_scale;
    t = t > lo ? t : lo;
    t = t < hi ? t : hi;
    y[i] = ((t + kMagic) - kMagic) * scale;
  }
}

}  // namespace spiralkit
