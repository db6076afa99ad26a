// GCC/Clang vector-extension types as wide as the including file's ISA register (zmm, ymm, or a
// 16-byte xmm / NEON q), for kernels written once over all rows of a family (f32-vunary,
// qu8-vquant). Wider-than-native vectors are not an option: GCC 12 lowers their comparisons (max,
// min, select) to one scalar compare and branch per lane. Internal linkage, like vec-*.h.
#pragma once
#include <cstdint>

// The 64-byte vector type crosses only internal (inlined) helpers, so the ABI note is moot.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace {
#if defined(__AVX512F__)
constexpr int kVecBytes = 64;
#elif defined(__AVX__)
constexpr int kVecBytes = 32;
#else
constexpr int kVecBytes = 16;  // SSE2 (the x86 scalar row's baseline) or NEON
#endif
typedef float vf __attribute__((vector_size(kVecBytes)));
typedef int32_t vi __attribute__((vector_size(kVecBytes)));
constexpr int kLanes = kVecBytes / 4;

// Lane-wise a where mask is set, else b. vmax / vmin return b when a comparison is false (NaN a).
inline vf select(vi mask, vf a, vf b) { return (vf)(((vi)a & mask) | ((vi)b & ~mask)); }
inline vf vmax(vf a, vf b) { return select(a > b, a, b); }
inline vf vmin(vf a, vf b) { return select(a < b, a, b); }
inline vf splat(float v) { return vf{} + v; }
}  // namespace
