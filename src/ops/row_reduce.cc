#include "ops/row_reduce.h"

#include <cmath>
#include <cstring>

#include "ops/clones.h"

#pragma GCC diagnostic ignored "-Wpsabi"

namespace spiralkit {
namespace {
typedef float v16 __attribute__((vector_size(64)));

inline v16 load(const float* p) {
  v16 v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
inline float hsum(v16 v) {
  float s = 0.0f;
  for (int i = 0; i < 16; ++i) s += v[i];
  return s;
}
}  // namespace

SPIRALKIT_CLONES float row_sum(const float* x, int64_t n) {
  v16 a = {}, b = {};
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    a += load(x + i);
    b += load(x + i + 16);
  }
  for (; i + 16 <= n; i += 16) a += load(x + i);
  float s = hsum(a + b);
  for (; i < n; ++i) s += x[i];
  return s;
}

SPIRALKIT_CLONES float row_centered_sumsq(const float* x, int64_t n, float mean) {
  v16 a = {}, b = {};
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const v16 d0 = load(x + i) - mean, d1 = load(x + i + 16) - mean;
    a += d0 * d0;
    b += d1 * d1;
  }
  for (; i + 16 <= n; i += 16) {
    const v16 d = load(x + i) - mean;
    a += d * d;
  }
  float s = hsum(a + b);
  for (; i < n; ++i) s += (x[i] - mean) * (x[i] - mean);
  return s;
}

}  // namespace spiralkit
