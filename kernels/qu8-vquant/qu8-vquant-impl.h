// fp32 -> uint8 activation quantization, y = clamp(nearbyint(x * inv_scale) + zero_point, 0, 255),
// the rounding every int8 kernel's input assumes (ops/qactivations.h quantize_u8 is the scalar
// oracle). Written once over simd/vext.h (vectors as wide as the file's ISA register); the clamp
// happens in float before rounding, so the int32 -> uint8 narrowing never saturates and the result
// is bit-identical to the oracle on every row.
#pragma once
#include <cstdint>
#include <cstring>

#include "simd/vext.h"
#include "spiralkit_kernels/kernel-list-i8.h"

namespace {
typedef uint8_t vb __attribute__((vector_size(kLanes)));

inline void vquantize_u8(const float* x, int64_t n, float inv_scale, int32_t zero_point, uint8_t* y) {
  const float lo = static_cast<float>(-zero_point), hi = static_cast<float>(255 - zero_point);
  // |t| <= 255 after the clamp, so adding and removing 1.5 * 2^23 leaves exactly nearbyint(t)
  // (round half to even, whatever the rounding mode of a float -> int conversion).
  constexpr float kMagic = 12582912.0f;
  const vf vlo = splat(lo), vhi = splat(hi), vinv = splat(inv_scale);
  const vi vzp = vi{} + zero_point;
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    vf t;
    std::memcpy(&t, x + i, sizeof t);
    t = vmin(vmax(t * vinv, vlo), vhi);  // NaN clamps low, as in the scalar oracle
    t = (t + kMagic) - kMagic;
    const vb q = __builtin_convertvector(__builtin_convertvector(t, vi) + vzp, vb);
    std::memcpy(y + i, &q, sizeof q);
  }
  for (; i < n; ++i) {
    float t = x[i] * inv_scale;
    t = t > lo ? t : lo;
    t = t < hi ? t : hi;
    t = (t + kMagic) - kMagic;
    y[i] = static_cast<uint8_t>(static_cast<int32_t>(t) + zero_point);
  }
}
}  // namespace
