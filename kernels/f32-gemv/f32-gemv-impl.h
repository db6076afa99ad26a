// Dense GEMV, row-major weight: y[n] = act(dot(W[n, :], x) + bias[n]) for rows [n_begin, n_end).
// Four rows at a time share each vector of x; the weight streams once at full vector width with
// no index bytes, which is all a memory-bound GEMV needs. Include after one simd/vec-*.h.
#pragma once
#include <cstdint>

#include "spiralkit_kernels/activation.h"

namespace {
// U vectors of each row per step (4 x U accumulators): U = 2 where 4 FMA chains cannot cover the
// FMA latency at the core's load rate (NEON: llvm-mca's A72 model keeps 4 chains latency-bound).
template <class V, int U = 1>
void gemv_rows(const float* w, int64_t k, int64_t n_begin, int64_t n_end, const float* x, float* y,
               const float* bias, spiralkit::Activation act) {
  using T = typename V::T;
  constexpr int W = V::W;
  const int64_t kv = k / W * W;
  const int tail = static_cast<int>(k - kv);
  int64_t n = n_begin;
  for (; n + 4 <= n_end; n += 4) {
    const float* w0 = w + n * k;
    const float* w1 = w0 + k;
    const float* w2 = w1 + k;
    const float* w3 = w2 + k;
    T a0 = V::zero(), a1 = V::zero(), a2 = V::zero(), a3 = V::zero();
    int64_t i = 0;
    if constexpr (U == 2) {
      T b0 = V::zero(), b1 = V::zero(), b2 = V::zero(), b3 = V::zero();
      for (; i + 2 * W <= kv; i += 2 * W) {
        const T xv = V::load(x + i), xw = V::load(x + i + W);
        a0 = V::fma(V::load(w0 + i), xv, a0);
        b0 = V::fma(V::load(w0 + i + W), xw, b0);
        a1 = V::fma(V::load(w1 + i), xv, a1);
        b1 = V::fma(V::load(w1 + i + W), xw, b1);
        a2 = V::fma(V::load(w2 + i), xv, a2);
        b2 = V::fma(V::load(w2 + i + W), xw, b2);
        a3 = V::fma(V::load(w3 + i), xv, a3);
        b3 = V::fma(V::load(w3 + i + W), xw, b3);
      }
      a0 = V::add(a0, b0);
      a1 = V::add(a1, b1);
      a2 = V::add(a2, b2);
      a3 = V::add(a3, b3);
    }
    for (; i < kv; i += W) {
      const T xv = V::load(x + i);
      a0 = V::fma(V::load(w0 + i), xv, a0);
      a1 = V::fma(V::load(w1 + i), xv, a1);
      a2 = V::fma(V::load(w2 + i), xv, a2);
      a3 = V::fma(V::load(w3 + i), xv, a3);
    }
    if (tail) {
      const T xv = V::load_n(x + kv, tail);
      a0 = V::fma(V::load_n(w0 + kv, tail), xv, a0);
      a1 = V::fma(V::load_n(w1 + kv, tail), xv, a1);
      a2 = V::fma(V::load_n(w2 + kv, tail), xv, a2);
      a3 = V::fma(V::load_n(w3 + kv, tail), xv, a3);
    }
    const float s[4] = {V::sum(a0), V::sum(a1), V::sum(a2), V::sum(a3)};
    for (int r = 0; r < 4; ++r) y[n + r] = spiralkit::apply_activation(s[r] + (bias ? bias[n + r] : 0.0f), act);
  }
  for (; n < n_end; ++n) {
    const float* wr = w + n * k;
    T a = V::zero();
    for (int64_t i = 0; i < kv; i += W) a = V::fma(V::load(wr + i), V::load(x + i), a);
    if (tail) a = V::fma(V::load_n(wr + kv, tail), V::load_n(x + kv, tail), a);
    y[n] = spiralkit::apply_activation(V::sum(a) + (bias ? bias[n] : 0.0f), act);
  }
}
}  // namespace
