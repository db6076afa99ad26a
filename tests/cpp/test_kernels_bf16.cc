// The bf16 attention path: bf16 rounding (portable), every bf16-pack row bit-exactly against the
// reference layouts, every bf16-gemm row against the double-precision reference within its fp32
// accumulation bound, and the bf16 attention against the fp32 attention within bf16's rounding.
// Rows run only with AVX512_BF16; without it the hardware cases are skipped (and int8 plans keep
// fp32 attention, tested in Python).
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "config/kernel_registry_bf16.h"
#include "ops/attention_bf16.h"
#include "ops/tensor_math.h"
#include "test_helpers.h"

using spiralkit::bf16_bits_to_f32;
using spiralkit::Bf16Pack;
using spiralkit::f32_to_bf16_bits;

TEST_CASE("bf16: rounding is to nearest even and round-trips every finite bf16") {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = bf16_bits_to_f32(static_cast<uint16_t>(h));
    if (std::isnan(f)) {
      CHECK(std::isnan(bf16_bits_to_f32(f32_to_bf16_bits(f))));
      continue;
    }
    REQUIRE(f32_to_bf16_bits(f) == h);
  }
  CHECK(f32_to_bf16_bits(1.0f) == 0x3f80);
  CHECK(f32_to_bf16_bits(1.0f + 1.0f / 256) == 0x3f80);         // a tie: to the even 1.0
  CHECK(f32_to_bf16_bits(1.0f + 3.0f / 256) == 0x3f82);         // a tie: to the even 1 + 2^-6
  CHECK(f32_to_bf16_bits(1.0f + 1.0f / 256 + 1e-6f) == 0x3f81);  // past the tie: up
}

TEST_CASE("bf16-pack: every row writes the reference layouts, padding included, nothing past them") {
  const auto& rows = spiralkit::bf16_pack_table();
  if (rows.empty() || !spiralkit::select_bf16_pack()) {
    MESSAGE("no AVX512_BF16 on this CPU: bf16-pack rows skipped");
    return;
  }
  const int64_t shapes[][2] = {{1, 1}, {3, 5}, {2, 16}, {17, 33}, {32, 64}, {5, 70}, {37, 31}, {128, 64}};
  for (const auto& row : rows) {
    if (!spiralkit::isa_allows(row.isa)) continue;
    for (const auto& sh : shapes)
      for (int mode = 0; mode < 3; ++mode) {
        const int64_t r = sh[0], c = sh[1], lds = c + 3;
        const std::vector<float> src = spiralkit_test::random_vector(r * lds, static_cast<uint32_t>(r * 131 + c));
        int64_t ldd = 0, size = 0;
        if (mode == static_cast<int>(Bf16Pack::kRows)) {
          ldd = c + (c & 1) + 2;
          size = r * ldd;
        } else {
          const int64_t k = mode == static_cast<int>(Bf16Pack::kPairsOfRows) ? r : c;
          const int64_t n = mode == static_cast<int>(Bf16Pack::kPairsOfRows) ? c : r;
          ldd = (n + 15) / 16 * 16;
          size = (k + 1) / 2 * ldd * 2;
        }
        std::vector<uint16_t> want(size + 64, 0xBEEF), got(size + 64, 0xBEEF);
        spiralkit::spiralkit_bf16_pack_ukernel__reference(mode, src.data(), lds, r, c, want.data(), ldd);
        row.fn(mode, src.data(), lds, r, c, got.data(), ldd);
        INFO(row.name << " mode " << mode << " " << r << "x" << c);
        CHECK(got == want);  // includes the untouched sentinels past the layout and in the row gaps
      }
  }
}

TEST_CASE("bf16-gemm: every row against the double-precision reference (tails in m, n and K)") {
  const auto* pack = spiralkit::select_bf16_pack();
  if (spiralkit::bf16_gemm_table().empty() || !spiralkit::select_bf16_gemm() || !pack) {
    MESSAGE("no AVX512_BF16 on this CPU: bf16-gemm rows skipped");
    return;
  }
  for (const auto& row : spiralkit::bf16_gemm_table()) {
    if (!spiralkit::isa_allows(row.isa)) continue;
    for (int64_t m : {1, 2, 3, 4, 5, 9, 32})
      for (int64_t n : {1, 15, 16, 17, 33, 64, 65, 130})
        for (int64_t k : {1, 2, 7, 64, 129}) {
          const uint32_t seed = static_cast<uint32_t>(m * 10007 + n * 101 + k);
          const bool scaled = (m + n + k) % 2 == 1;  // half the shapes with a per-row output scale
          std::vector<float> row_scale(m);
          for (int64_t i = 0; i < m; ++i) row_scale[i] = 0.25f + 0.5f * i;
          const std::vector<float> a = spiralkit_test::random_vector(m * k, seed);
          const std::vector<float> b = spiralkit_test::random_vector(k * n, seed + 7);
          const int64_t k2 = k + (k & 1), ldb = (n + 15) / 16 * 16, ldc = n + 5;
          std::vector<uint16_t> ap(m * k2), bp(k2 / 2 * ldb * 2);
          pack->fn(static_cast<int>(Bf16Pack::kRows), a.data(), k, m, k, ap.data(), k2);
          pack->fn(static_cast<int>(Bf16Pack::kPairsOfRows), b.data(), n, k, n, bp.data(), ldb);
          std::vector<float> want(m * ldc, -7.0f), got(m * ldc, -7.0f);
          spiralkit::spiralkit_bf16_gemm_ukernel__reference(m, n, k2 / 2, ap.data(), k2, bp.data(), ldb, want.data(), ldc,
                                                            scaled ? row_scale.data() : nullptr);
          row.fn(m, n, k2 / 2, ap.data(), k2, bp.data(), ldb, got.data(), ldc, scaled ? row_scale.data() : nullptr);
          INFO(row.name << " m=" << m << " n=" << n << " k=" << k);
          for (int64_t i = 0; i < m; ++i)
            for (int64_t j = 0; j < ldc; ++j) {
              if (j >= n) {
                REQUIRE(got[i * ldc + j] == -7.0f);  // columns past n untouched
                continue;
              }
              double bound = 0;  // (scaled by the row's scale where there is one)  // fp32 accumulation: K roundings of partial sums <= sum |a b|
              for (int64_t p = 0; p < k; ++p)
                bound += std::fabs(double(bf16_bits_to_f32(ap[i * k2 + p])) * bf16_bits_to_f32(bp[(p / 2 * ldb + j) * 2 + p % 2]));
              if (scaled) bound *= row_scale[i];
              REQUIRE(std::fabs(got[i * ldc + j] - want[i * ldc + j]) <= 1e-6 * k * bound + 1e-30);
            }
        }
  }
}

TEST_CASE("bf16-softmax: every row against the reference (masks, strides, odd and short rows)") {
  if (spiralkit::bf16_softmax_table().empty() || !spiralkit::select_bf16_softmax()) {
    MESSAGE("no AVX512_BF16 on this CPU: bf16-softmax rows skipped");
    return;
  }
  for (const auto& row : spiralkit::bf16_softmax_table()) {
    if (!spiralkit::isa_allows(row.isa)) continue;
    for (int64_t n : {1, 2, 15, 16, 17, 37, 128, 131})
      for (int64_t mask_stride : {0, 1, 3}) {  // 0: no mask
        std::vector<float> x = spiralkit_test::random_vector(n, static_cast<uint32_t>(n * 7 + mask_stride));
        for (auto& v : x) v *= 20.0f;
        std::vector<float> mask = spiralkit_test::random_vector(n * 3 + 1, 5);
        for (size_t i = 0; i < mask.size(); i += 4) mask[i] = -10000.0f;
        std::vector<float> xr = x, xk = x;
        const int64_t even = n + (n & 1);
        std::vector<uint16_t> want(even + 8, 0xBEEF), got(even + 8, 0xBEEF);
        const float* mp = mask_stride ? mask.data() : nullptr;
        const float sw = spiralkit::spiralkit_bf16_softmax_ukernel__reference(xr.data(), n, 0.125f, mp, mask_stride, want.data());
        const float sg = row.fn(xk.data(), n, 0.125f, mp, mask_stride, got.data());
        INFO(row.name << " n=" << n << " mask_stride=" << mask_stride);
        CHECK(std::fabs(sg - sw) <= 1e-5f * sw);
        for (int64_t j = 0; j < n; ++j) {
          CHECK(xk[j] == doctest::Approx(xr[j]).epsilon(1e-6));  // the scaled, masked row left in x
          const float a = bf16_bits_to_f32(got[j]), b = bf16_bits_to_f32(want[j]);
          CHECK(std::fabs(a - b) <= std::fabs(b) / 128 + 1e-30f);  // one bf16 step, exp's 1e-7 apart
        }
        if (n & 1) CHECK(got[n] == 0);
        CHECK(got[even] == 0xBEEF);  // nothing past the row
      }
  }
}

namespace {
// max |bf16 attention - fp32 attention| / max |fp32 attention|.
double attention_gap(bool bshd, bool with_mask, int threads) {
  spiralkit_test::ThreadCount tc(threads);
  const int64_t b = 2, h = 3, s = 45, t = 37, d = 31, e = 24;
  using spiralkit::Shape;
  const Shape sq = bshd ? Shape{b, s, h, d} : Shape{b, h, s, d};
  const Shape sk = bshd ? Shape{b, t, h, d} : Shape{b, h, d, t};
  const Shape sv = bshd ? Shape{b, t, h, e} : Shape{b, h, t, e};
  const Shape sm = {b, 1, 1, t};  // a padding mask, broadcast over heads and query rows
  const std::vector<float> q = spiralkit_test::random_vector(b * s * h * d, 1);
  const std::vector<float> k = spiralkit_test::random_vector(b * t * h * d, 2);
  const std::vector<float> v = spiralkit_test::random_vector(b * t * h * e, 3);
  std::vector<float> mask(b * t, 0.0f);
  for (int64_t i = 0; i < b * t; i += 5) mask[i] = -10000.0f;
  const float* mp = with_mask ? mask.data() : nullptr;
  const float scale = 1.0f / std::sqrt(float(d));
  std::vector<float> want(b * s * h * e), got(b * s * h * e, 99.0f);
  std::vector<float> ws32(bshd ? spiralkit::attention_bshd_workspace_floats(sq, sk) : spiralkit::attention_workspace_floats(sq, sk));
  std::vector<float> ws16(spiralkit::attention_bf16_workspace_floats(sq, sk, sv, bshd) + 16);
  if (bshd) spiralkit::attention_bshd_forward(q.data(), sq, k.data(), sk, v.data(), sv, mp, sm, scale, want.data(), ws32.data());
  else spiralkit::attention_forward(q.data(), sq, k.data(), sk, v.data(), sv, mp, sm, scale, want.data(), ws32.data());
  spiralkit::attention_bf16_forward(bshd, q.data(), sq, k.data(), sk, v.data(), sv, mp, sm, scale, got.data(), ws16.data());
  double gap = 0, peak = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    gap = std::max(gap, double(std::fabs(got[i] - want[i])));
    peak = std::max(peak, double(std::fabs(want[i])));
  }
  return gap / peak;
}
}  // namespace

TEST_CASE("attention bf16: both layouts, masks, odd shapes and thread splits agree with fp32 attention") {
  if (!spiralkit::attention_bf16_available()) {
    MESSAGE("no AVX512_BF16 on this CPU: bf16 attention skipped");
    return;
  }
  for (bool bshd : {true, false})
    for (bool with_mask : {false, true})
      for (int threads : {1, 2, 8}) {  // 8 threads > 6 heads: heads split into row-block ranges
        const double gap = attention_gap(bshd, with_mask, threads);
        INFO("bshd=" << bshd << " mask=" << with_mask << " threads=" << threads << " gap=" << gap);
        CHECK(gap < 1.5e-2);  // bf16 inputs: 2^-9 relative each; fp32 softmax and accumulation
        CHECK(gap > 0.0);     // it did run in bf16 (identical to fp32 would mean the fp32 path ran)
      }
}
