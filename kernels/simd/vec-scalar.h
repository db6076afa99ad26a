// One-lane "vector" for the portable fallback kernels: the same templates, plain C++; the
// compiler may still vectorize the unrolled lanes for the baseline ISA (SSE2 / NEON).
#pragma once
#include <cstdint>

namespace {
struct VecScalar {
  using T = float;
  static constexpr int W = 1;
  static T zero() { return 0.0f; }
  static T set1(float v) { return v; }
  static T bcast(const float* p) { return *p; }
  static T load(const float* p) { return *p; }
  static T load_n(const float* p, int) { return *p; }
  static void store(float* p, T v) { *p = v; }
  static void store_n(float* p, T v, int) { *p = v; }
  static T fma(T a, T b, T c) { return a * b + c; }
  static T add(T a, T b) { return a + b; }
  static T mul(T a, T b) { return a * b; }
  static T max(T a, T b) { return a > b ? a : b; }
  static T min(T a, T b) { return a < b ? a : b; }
  static float sum(T a) { return a; }
};
}  // namespace
