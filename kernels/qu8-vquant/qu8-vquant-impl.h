// fp32 -> uint8 activation quantization, y = clamp(nearbyint(x * inv_scale) + zero_point, 0, 255),
// the rounding every int8 kernel's input assumes (ops/qactivations.h quantize_u8 is the scalar
// oracle). Written once with GCC/Clang vector extensions as wide as the file's ISA register, like
// f32-vunary; the clamp happens in float before rounding, so the int32 -> uint8 narrowing never
// saturates and the result is bit-identical to the oracle on every row.
#pragma once
#include <cstdint>
#include <cstring>

#include "spiralkit_kernels/kernel-list-i8.h"

#pragma GCC diagnostic ignored "-Wpsabi"

namespace {
#if defined(__AVX512F__)
constexpr int kQuantLanes = 16;
#elif defined(__AVX__)
constexpr int kQuantLanes = 8;
#else
constexpr int kQuantLanes = 4;  // SSE2 (the x86 scalar row's baseline) or NEON
#endif
typedef float qvf __attribute__((vector_size(kQuantLanes * 4)));
typedef int32_t qvi __attribute__((vector_size(kQuantLanes * 4)));
typedef uint8_t qvb __attribute__((vector_size(kQuantLanes)));

inline qvf qselect(qvi mask, qvf a, qvf b) { return (qvf)(((qvi)a & mask) | ((qvi)b & ~mask)); }

inline void vquantize_u8(const float* x, int64_t n, float inv_scale, int32_t zero_point, uint8_t* y) {
  const float lo = static_cast<float>(-zero_point), hi = static_cast<float>(255 - zero_point);
  // |t| <= 255 after the clamp, so adding and removing 1.5 * 2^23 leaves exactly nearbyint(t)
  // (round half to even, whatever the rounding mode of a float -> int conversion).
  constexpr float kMagic = 12582912.0f;
  const qvf vlo = qvf{} + lo, vhi = qvf{} + hi, vinv = qvf{} + inv_scale;
  const qvi vzp = qvi{} + zero_point;
  int64_t i = 0;
  for (; i + kQuantLanes <= n; i += kQuantLanes) {
    qvf t;
    std::memcpy(&t, x + i, sizeof t);
    t = t * vinv;
    t = qselect(t > vlo, t, vlo);
    t = qselect(t < vhi, t, vhi);
    t = (t + kMagic) - kMagic;
    const qvb q = __builtin_convertvector(__builtin_convertvector(t, qvi) + vzp, qvb);
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
