// Every row of the engine's kernel families (f32-gemm, f32-vunary) against plain C++ references
// over edge shapes: rows not a multiple of the tile, columns not a multiple of the vector, K = 1.
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <vector>

#include "config/kernel_registry.h"
#include "hw/cpu_features.h"

using namespace spiralkit;

TEST_CASE("f32-gemm: every row matches the triple loop") {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (const GemmRow& row : gemm_table()) {
    if (!isa_allows(row.isa)) continue;
    CAPTURE(row.name);
    for (int64_t m : {1, 3, 4, 5, 6, 7, 9, 11, 12, 32})
      for (int64_t n : {1, 7, 16, 17, 33, 64, 65, 128, 150})
        for (int64_t k : {1, 2, 13, 64}) {
          std::vector<float> a(m * k), b(k * n), c(m * n + 8, 123.0f), ref(m * n, 0.0f);
          for (auto& v : a) v = u(rng);
          for (auto& v : b) v = u(rng);
          for (int64_t i = 0; i < m; ++i)
            for (int64_t p = 0; p < k; ++p)
              for (int64_t j = 0; j < n; ++j) ref[i * n + j] += a[i * k + p] * b[p * n + j];
          row.fn(m, n, k, a.data(), k, b.data(), n, c.data(), n);
          double err = 0;
          for (int64_t i = 0; i < m * n; ++i) err = std::max(err, double(std::fabs(c[i] - ref[i])));
          CAPTURE(m);
          CAPTURE(n);
          CAPTURE(k);
          CHECK(err <= 1e-5 * k);
          for (int i = 0; i < 8; ++i) CHECK(c[m * n + i] == 123.0f);  // nothing written past the end
        }
  }
}

namespace {
float reference(UnaryOp op, float x, float p0, float p1) {
  switch (op) {
    case UnaryOp::kIdentity: return x;
    case UnaryOp::kRelu: return x > 0 ? x : 0;
    case UnaryOp::kClip: return std::fmin(std::fmax(x, p0), p1);
    case UnaryOp::kLeakyRelu: return x < 0 ? x * p0 : x;
    case UnaryOp::kSigmoid: return 1.0f / (1.0f + std::exp(-x));
    case UnaryOp::kHardSigmoid: return std::fmin(std::fmax(x * p0 + p1, 0.0f), 1.0f);
    case UnaryOp::kHardSwish: return x * std::fmin(std::fmax(x / 6.0f + 0.5f, 0.0f), 1.0f);
    case UnaryOp::kTanh: return std::tanh(x);
    case UnaryOp::kErf: return std::erf(x);
    case UnaryOp::kGelu: return 0.5f * x * (1.0f + std::erf(x * 0.70710678f));
    case UnaryOp::kSqrt: return std::sqrt(std::fabs(x));
    case UnaryOp::kSilu: return x / (1.0f + std::exp(-x));
    case UnaryOp::kNeg: return -x;
    case UnaryOp::kExp: return std::exp(x);
    case UnaryOp::kGeluTanh: return 0.5f * x * (1.0f + std::tanh(0.79788456f * (x + 0.044715f * x * x * x)));
    default: return 0;
  }
}
}  // namespace

TEST_CASE("f32-vunary: every row and op matches the libm definition") {
  std::vector<float> xs;
  for (float v = -12.0f; v <= 12.0f; v += 0.0371f) xs.push_back(v);
  for (float v : {0.0f, -0.0f, 1e-6f, -1e-6f, 80.0f, -80.0f, 87.0f, -87.0f}) xs.push_back(v);
  for (const VUnaryRow& row : vunary_table()) {
    if (!isa_allows(row.isa)) continue;
    CAPTURE(row.name);
    for (int op = 0; op < static_cast<int>(UnaryOp::kCount); ++op) {
      CAPTURE(op);
      std::vector<float> in = xs;
      if (op == static_cast<int>(UnaryOp::kSqrt))
        for (auto& v : in) v = std::fabs(v);
      const float p0 = op == static_cast<int>(UnaryOp::kClip) ? -1.5f : 0.2f;
      const float p1 = op == static_cast<int>(UnaryOp::kClip) ? 2.5f : 0.5f;
      for (size_t n : {size_t(1), size_t(8), size_t(15), size_t(17), size_t(24), size_t(40), in.size()}) {
        std::vector<float> out(n + 4, 77.0f);
        row.fn(op, in.data(), out.data(), static_cast<int64_t>(n), p0, p1);
        for (size_t i = 0; i < n; ++i) {
          const float want = reference(static_cast<UnaryOp>(op), in[i], p0, p1);
          const float tol = op == static_cast<int>(UnaryOp::kExp) ? 2e-6f * std::fabs(want) + 1e-30f
                                                                   : 2e-6f + 2e-6f * std::fabs(want);
          if (!(std::fabs(out[i] - want) <= tol)) {
            CAPTURE(in[i]);
            CHECK(out[i] == doctest::Approx(want));
          }
        }
        for (size_t i = n; i < n + 4; ++i) CHECK(out[i] == 77.0f);
      }
    }
  }
}

TEST_CASE("f32-softmax: every row matches the two-pass double reference, with and without a mask") {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(-8.0f, 8.0f);
  for (const SoftmaxRow& row : softmax_table()) {
    if (!isa_allows(row.isa)) continue;
    CAPTURE(row.name);
    for (int64_t n : {1, 5, 16, 17, 33, 128, 200})
      for (int masked = 0; masked < 3; ++masked) {
        std::vector<float> x(n), m(n * 3), y(n + 4, 55.0f);
        for (auto& v : x) v = u(rng);
        for (auto& v : m) v = u(rng);
        const int64_t stride = masked == 2 ? 3 : 1;
        const float scale = 0.125f;
        row.fn(x.data(), y.data(), n, scale, masked ? m.data() : nullptr, stride);
        std::vector<double> z(n);
        double mx = -1e300, sum = 0;
        for (int64_t j = 0; j < n; ++j) {
          z[j] = double(x[j]) * scale + (masked ? m[j * stride] : 0.0);
          mx = std::max(mx, z[j]);
        }
        for (auto& v : z) sum += (v = std::exp(v - mx));
        CAPTURE(n);
        CAPTURE(masked);
        for (int64_t j = 0; j < n; ++j) CHECK(std::fabs(y[j] - z[j] / sum) <= 2e-6);
        for (int64_t j = n; j < n + 4; ++j) CHECK(y[j] == 55.0f);
      }
  }
}
