// One softmax row, fused: y = softmax(x * scale + mask) in three vector passes (scale + mask +
// max, exp + sum, normalise), native-width GCC vector extensions built per ISA by each file's
// flags. Attention runs one per score row; Softmax nodes over a contiguous axis one per row.
#pragma once
#include <cstdint>
#include <cstring>

#include "f32-vunary/f32-vunary-impl.h"

namespace {
inline vf vload(const float* p) {
  vf v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
inline void vstore(float* p, vf v) { std::memcpy(p, &v, sizeof(v)); }

// Horizontal max / sum as a halving tree (depth log2(lanes)), not a serial chain over the lanes:
// on a 128-wide attention row the two reductions were ~40 % of the row.
inline float hmax(vf v) {
  float a[kLanes];
  std::memcpy(a, &v, sizeof(v));
  for (int w = kLanes / 2; w > 0; w /= 2)
    for (int k = 0; k < w; ++k) a[k] = a[k + w] > a[k] ? a[k + w] : a[k];
  return a[0];
}
inline float hsum(vf v) {
  float a[kLanes];
  std::memcpy(a, &v, sizeof(v));
  for (int w = kLanes / 2; w > 0; w /= 2)
    for (int k = 0; k < w; ++k) a[k] += a[k + w];
  return a[0];
}

// mask: null, or mask[j * mask_stride] added to column j.
inline void softmax_row(const float* x, float* y, int64_t n, float scale, const float* mask, int64_t mask_stride) {
  int64_t j = 0;
  float mx = -INFINITY;
  if (mask && mask_stride != 1) {
    for (j = 0; j < n; ++j) {
      y[j] = x[j] * scale + mask[j * mask_stride];
      mx = y[j] > mx ? y[j] : mx;
    }
  } else {
    vf vmx = splat(-INFINITY);
    for (; j + kLanes <= n; j += kLanes) {
      vf v = vload(x + j) * scale;
      if (mask) v += vload(mask + j);
      vstore(y + j, v);
      vmx = vmax(vmx, v);
    }
    mx = hmax(vmx);
    for (; j < n; ++j) {
      y[j] = x[j] * scale + (mask ? mask[j] : 0.0f);
      mx = y[j] > mx ? y[j] : mx;
    }
  }
  vf vsum = {};
  for (j = 0; j + kLanes <= n; j += kLanes) {
    const vf e = vexp_nonpositive(vload(y + j) - mx);
    vstore(y + j, e);
    vsum += e;
  }
  float sum = hsum(vsum);
  if (j < n) {  // the tail through one masked-by-copy vector
    vf t = splat(-INFINITY);
    std::memcpy(&t, y + j, static_cast<size_t>(n - j) * sizeof(float));
    const vf e = vexp(t - mx);
    for (int64_t k = 0; k < n - j; ++k) {
      y[j + k] = e[k];
      sum += e[k];
    }
  }
  const float inv = 1.0f / sum;
  for (j = 0; j + kLanes <= n; j += kLanes) vstore(y + j, vload(y + j) * inv);
  for (; j < n; ++j) y[j] *= inv;
}
}  // namespace
