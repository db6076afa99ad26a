// Elementwise activations and math over a float array, y = f(x) (y may alias x). Written once over
// simd/vext.h (vectors as wide as the file's ISA register), so one source serves every row.
// exp is Cephes' expf polynomial (range reduction by ln 2); erf is Abramowitz & Stegun 7.1.26
// (|error| <= 1.5e-7); GELU has its own cheaper erf (7.1.28, see vgelu), both well inside the 1e-5
// that matching torch's erf form needs.
#pragma once
#include <cstdint>
#include <cstring>
#include <cmath>

#include "simd/vext.h"
#include "spiralkit_kernels/kernel-list.h"

namespace {

// exp(x) = 2^n * exp(r), r = x - n ln 2 (ln 2 in two parts), exp(r) by Cephes' polynomial; n is the
// integer nearest x / ln 2 as a float (nf) and as an int (ni).
inline vf vexp_from(vf x, vf nf, vi ni) {
  x = x - nf * 0.693359375f;
  x = x + nf * 2.12194440e-4f;
  const vf z = x * x;
  vf y = splat(1.9875691500e-4f);
  y = y * x + 1.3981999507e-3f;
  y = y * x + 8.3334519073e-3f;
  y = y * x + 4.1665795894e-2f;
  y = y * x + 1.6666665459e-1f;
  y = y * x + 5.0000001201e-1f;
  y = y * z + x + 1.0f;
  return y * (vf)((ni + 127) << 23);
}

inline vf vexp(vf x) {
  x = vmin(vmax(x, splat(-87.3f)), splat(88.0f));
  const vf fx = x * 1.44269504088896341f + 0.5f;
  vf n = __builtin_convertvector(__builtin_convertvector(fx, vi), vf);
  n = n + __builtin_convertvector(n > fx, vf);  // truncation -> floor (mask is -1 where n > fx)
  return vexp_from(x, n, __builtin_convertvector(n, vi));
}

// exp for x <= 0 (a softmax row minus its max): no upper clamp, and n by the 1.5 * 2^23 shift
// instead of two conversions and a floor fix-up.
inline vf vexp_nonpositive(vf x) {
  x = vmax(x, splat(-87.3f));
  const vf shift = splat(12582912.0f);
  const vf t = x * 1.44269504088896341f + shift;
  return vexp_from(x, t - shift, (vi)t - (vi)shift);
}

inline vf verf(vf x) {
  const vi sign = (vi)x & 0x80000000;
  const vf ax = (vf)((vi)x & 0x7fffffff);
  const vf t = 1.0f / (ax * 0.3275911f + 1.0f);
  vf p = splat(1.061405429f);
  p = p * t - 1.453152027f;
  p = p * t + 1.421413741f;
  p = p * t - 0.284496736f;
  p = p * t + 0.254829592f;
  const vf y = 1.0f - p * t * vexp(-ax * ax);
  return (vf)((vi)y | sign);
}

// GELU's erf by Abramowitz & Stegun 7.1.28, erf(z) = 1 - (1 + a1 z + ... + a6 z^6)^-16 (|error|
// <= 3e-7; ~9e-7 on GELU after fp32 rounding, within the rows' 2e-6 test tolerance): one
// polynomial, four squarings and a division, no exp, about half the work of erf above. Large z
// overflow the power to infinity, which still gives erf = 1.
inline vf vgelu(vf x) {
  const vf z = (vf)((vi)(x * 0.70710678118654752f) & 0x7fffffff);
  vf p = splat(0.0000430638f);
  p = p * z + 0.0002765672f;
  p = p * z + 0.0001520143f;
  p = p * z + 0.0092705272f;
  p = p * z + 0.0422820123f;
  p = p * z + 0.0705230784f;
  p = p * z + 1.0f;
  p = p * p;
  p = p * p;
  p = p * p;
  p = p * p;
  const vf e = 1.0f - 1.0f / p;
  const vf erf = (vf)((vi)e | ((vi)x & 0x80000000));
  return x * 0.5f * (1.0f + erf);
}

inline vf vsigmoid(vf x) { return 1.0f / (1.0f + vexp(-x)); }
inline vf vtanh(vf x) {
  const vi sign = (vi)x & 0x80000000;
  const vf e = vexp((vf)((vi)x & 0x7fffffff) * -2.0f);
  return (vf)((vi)((1.0f - e) / (1.0f + e)) | sign);
}

// Two independent vectors per step (separate variables: an array of vectors went through the
// stack): exp and erf are long dependency chains; measured 3-11 % on GELU / exp / tanh, Zen 3 AVX2.
template <class F>
inline void map(const float* x, float* y, int64_t n, F f) {
  int64_t i = 0;
  for (; i + 2 * kLanes <= n; i += 2 * kLanes) {
    vf a, b;
    std::memcpy(&a, x + i, sizeof(a));
    std::memcpy(&b, x + i + kLanes, sizeof(b));
    a = f(a);
    b = f(b);
    std::memcpy(y + i, &a, sizeof(a));
    std::memcpy(y + i + kLanes, &b, sizeof(b));
  }
  for (; i + kLanes <= n; i += kLanes) {
    vf v;
    std::memcpy(&v, x + i, sizeof(v));
    v = f(v);
    std::memcpy(y + i, &v, sizeof(v));
  }
  if (i < n) {
    vf v = {};
    std::memcpy(&v, x + i, static_cast<size_t>(n - i) * sizeof(float));
    v = f(v);
    std::memcpy(y + i, &v, static_cast<size_t>(n - i) * sizeof(float));
  }
}

inline void vunary(int kind, const float* x, float* y, int64_t n, float p0, float p1) {
  using spiralkit::UnaryOp;
  switch (static_cast<UnaryOp>(kind)) {
    case UnaryOp::kIdentity: if (x != y) std::memmove(y, x, static_cast<size_t>(n) * sizeof(float)); return;
    case UnaryOp::kRelu: return map(x, y, n, [](vf v) { return vmax(v, splat(0.0f)); });
    case UnaryOp::kClip: return map(x, y, n, [=](vf v) { return vmin(vmax(v, splat(p0)), splat(p1)); });
    case UnaryOp::kLeakyRelu: return map(x, y, n, [=](vf v) { return select(v < 0.0f, v * p0, v); });
    case UnaryOp::kSigmoid: return map(x, y, n, [](vf v) { return vsigmoid(v); });
    case UnaryOp::kHardSigmoid:
      return map(x, y, n, [=](vf v) { return vmin(vmax(v * p0 + p1, splat(0.0f)), splat(1.0f)); });
    case UnaryOp::kHardSwish:
      return map(x, y, n, [](vf v) { return v * vmin(vmax(v * (1.0f / 6.0f) + 0.5f, splat(0.0f)), splat(1.0f)); });
    case UnaryOp::kTanh: return map(x, y, n, [](vf v) { return vtanh(v); });
    case UnaryOp::kErf: return map(x, y, n, [](vf v) { return verf(v); });
    case UnaryOp::kGelu:
      return map(x, y, n, [](vf v) { return vgelu(v); });
    case UnaryOp::kGeluTanh:
      return map(x, y, n, [](vf v) {
        return v * 0.5f * (1.0f + vtanh((v + v * v * v * 0.044715f) * 0.79788456080286536f));
      });
    case UnaryOp::kSilu: return map(x, y, n, [](vf v) { return v * vsigmoid(v); });
    case UnaryOp::kNeg: return map(x, y, n, [](vf v) { return -v; });
    case UnaryOp::kExp: return map(x, y, n, [](vf v) { return vexp(v); });
    case UnaryOp::kSqrt:
      for (int64_t i = 0; i < n; ++i) y[i] = std::sqrt(x[i]);
      return;
    default: return;
  }
}
}  // namespace
