// The float16 path: fp16 bit conversions (portable, every CPU), every f16-spmm row against the
// fp16 reference and the fp32 result with a rounding-error bound (rows run only with FEAT_FP16,
// e.g. qemu -cpu cortex-a76; they skip on cortex-a72 and x86), and the refusal without FP16.
#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "config/kernel_registry_f16.h"
#include "ops/linear.h"
#include "ops/linear_f16.h"
#include "sparse/kernel_pack.h"
#include "sparse/packed_weight.h"
#include "test_helpers.h"

using spiralkit::Activation;
using spiralkit::f16_bits_to_f32;
using spiralkit::f32_to_f16_bits;

namespace {
constexpr double kU16 = 1.0 / 2048;  // fp16 unit roundoff, 2^-11

bool has_fp16_rows() { return spiralkit::select_f16_spmm(4) != nullptr; }
}  // namespace

TEST_CASE("f16: conversions round-trip every half and round to nearest even") {
  for (uint32_t h = 0; h < 65536; ++h) {
    const uint16_t bits = static_cast<uint16_t>(h);
    const float f = f16_bits_to_f32(bits);
    if (std::isnan(f)) {
      CHECK(std::isnan(f16_bits_to_f32(f32_to_f16_bits(f))));
      continue;
    }
    REQUIRE(f32_to_f16_bits(f) == bits);
  }
  CHECK(f32_to_f16_bits(1.0f) == 0x3c00);
  CHECK(f32_to_f16_bits(65504.0f) == 0x7bff);
  CHECK(f32_to_f16_bits(65519.0f) == 0x7bff);
  CHECK(f32_to_f16_bits(65520.0f) == 0x7c00);  // the tie rounds to even: infinity
  CHECK(f32_to_f16_bits(-1e9f) == 0xfc00);
  CHECK(f32_to_f16_bits(std::ldexp(1.0f, -24)) == 0x0001);  // smallest subnormal
  CHECK(f32_to_f16_bits(std::ldexp(1.0f, -25)) == 0x0000);  // tie to even: zero
  CHECK(f32_to_f16_bits(std::ldexp(1.5f, -25)) == 0x0001);
  CHECK(f32_to_f16_bits(1.0f + 1.0f / 2048) == 0x3c00);  // tie, even mantissa stays
  CHECK(f32_to_f16_bits(1.0f + 3.0f / 2048) == 0x3c02);  // tie, odd mantissa rounds up
}

TEST_CASE("f16: float16 packing is refused without fp16 arithmetic, accepted with it") {
  auto w = spiralkit_test::pruned_matrix(16, 24, spiralkit::Pattern{spiralkit::PatternKind::kBlock, 4, 1, 0, 0}, 0.5, 3);
  std::unique_ptr<spiralkit::PackedWeight> packed;
  REQUIRE(spiralkit::pack_weight(w.data(), 16, 24, spiralkit::Pattern{spiralkit::PatternKind::kBlock, 4, 1, 0, 0},
                                 &packed)
              .ok());
  const spiralkit::Status st = spiralkit::convert_to_float16(packed.get());
  MESSAGE("fp16 rows: " << std::string(has_fp16_rows() ? "yes" : "no") << "; " << st.message());
  if (has_fp16_rows()) {
    CHECK(st.ok());
    CHECK(packed->float16);
  } else {
    CHECK(st.code() == spiralkit::StatusCode::kUnsupported);
    CHECK(st.message().find("FEAT_FP16") != std::string::npos);
    CHECK(!packed->float16);
  }
}

namespace {
struct F16Case {
  const char* name;
  int64_t rows, cols, m;
  double drop;
  bool bias;
  Activation act;
};
}  // namespace

TEST_CASE("every f16-spmm row matches the reference within the fp16 rounding bound") {
  if (!has_fp16_rows()) {
    MESSAGE("skipped: no FEAT_FP16 (fp16 rows need e.g. QEMU_CPU=cortex-a76)");
    return;
  }
  const F16Case cases[] = {
      {"rows not a multiple of the tile", 13, 37, 19, 0.6, true, Activation::kNone},
      {"K = 1", 9, 1, 21, 0.3, true, Activation::kRelu},
      {"all-zero weight (empty rows)", 16, 40, 17, 1.0, true, Activation::kRelu6},
      {"fully dense", 24, 33, 50, 0.0, true, Activation::kNone},
      {"m = 1", 17, 70, 1, 0.7, true, Activation::kGelu},
      {"m = 7 (inside one vector)", 17, 70, 7, 0.7, false, Activation::kNone},
      {"m spans several tiles + tail", 20, 45, 3 * 64 + 5, 0.8, true, Activation::kSigmoid},
      {"BERT-like K = 768, 90%", 32, 768, 40, 0.9, true, Activation::kNone},
  };
  for (const auto& row : spiralkit::f16_spmm_table()) {
    if (!spiralkit::isa_allows(row.isa)) continue;
    uint32_t seed = 70;
    for (const F16Case& c : cases) {
      CAPTURE(std::string(row.name));
      CAPTURE(std::string(c.name));
      const spiralkit::Pattern p = row.r == 1 ? spiralkit::Pattern{spiralkit::PatternKind::kUnstructured}
                                              : spiralkit::Pattern{spiralkit::PatternKind::kBlock, row.r, 1, 0, 0};
      auto w = spiralkit_test::pruned_matrix(c.rows, c.cols, p, c.drop, seed++);
      if (c.drop >= 1.0) std::fill(w.begin(), w.end(), 0.0f);
      const auto x = spiralkit_test::random_vector(c.cols * c.m, seed++);  // K x M
      const auto bias = spiralkit_test::random_vector(c.rows, seed++);
      spiralkit::PanelPack pack;
      spiralkit::build_panels(w.data(), c.rows, c.cols, row.r, c.drop == 0.0, &pack);
      const spiralkit::PanelView v = pack.view();
      std::vector<uint16_t> vals16(static_cast<size_t>(v.ptr[v.panels]) * v.r), x16(x.size());
      for (size_t i = 0; i < vals16.size(); ++i) vals16[i] = f32_to_f16_bits(v.vals[i]);
      for (size_t i = 0; i < x.size(); ++i) x16[i] = f32_to_f16_bits(x[i]);
      const int64_t ldy = c.m + 3;
      std::vector<float> got(static_cast<size_t>(c.rows * ldy), -7.0f), want(got.size(), -7.0f);
      spiralkit::XtArgsF16 a{x16.data(), c.m, c.m, got.data(), ldy, c.bias ? bias.data() : nullptr, Activation::kNone};
      row.fn(v, vals16.data(), 0, v.panels / 2, a);
      row.fn(v, vals16.data(), v.panels / 2, v.panels, a);
      a.y = want.data();
      spiralkit::spiralkit_f16_spmm_ukernel__reference(v, vals16.data(), 0, v.panels, a);
      // |fp16 dot of n terms - exact| <= gamma_n * sum |w x|, gamma_n = n u / (1 - n u) (Higham 3.1),
      // against the fp32 inputs: 2 more roundings per product (w and x to fp16).
      for (int64_t n = 0; n < c.rows; ++n) {
        const int64_t panel = n / row.r;
        const int terms = v.ptr[panel + 1] - v.ptr[panel];
        for (int64_t i = 0; i < c.m; ++i) {
          double mag = 0.0, exact = c.bias ? bias[n] : 0.0;
          for (int64_t k = 0; k < c.cols; ++k) {
            mag += std::fabs(double(w[n * c.cols + k]) * x[k * c.m + i]);
            exact += double(w[n * c.cols + k]) * x[k * c.m + i];
          }
          const double gamma = (terms + 1) * kU16 / (1 - (terms + 1) * kU16), gamma_in = (terms + 3) * kU16 /
                                                                                       (1 - (terms + 3) * kU16);
          const double g = got[n * ldy + i];
          REQUIRE(std::fabs(g - want[n * ldy + i]) <= gamma * mag + 1e-6);
          REQUIRE(std::fabs(g - exact) <= gamma_in * mag + 1e-6);
        }
        for (int64_t i = c.m; i < ldy; ++i) REQUIRE(got[n * ldy + i] == -7.0f);  // nothing past the columns
      }
    }
  }
}

TEST_CASE("f16 linear and 1x1 conv drivers: float16 weights against the fp32 ops, typical error") {
  if (!has_fp16_rows()) {
    MESSAGE("skipped: no FEAT_FP16");
    return;
  }
  const spiralkit::Pattern p{spiralkit::PatternKind::kBlock, 4, 1, 0, 0};
  const int64_t n = 64, k = 96;
  auto w = spiralkit_test::pruned_matrix(n, k, p, 0.9, 5);
  std::unique_ptr<spiralkit::PackedWeight> w32, w16;
  REQUIRE(spiralkit::pack_weight(w.data(), n, k, p, &w32).ok());
  REQUIRE(spiralkit::pack_weight(w.data(), n, k, p, &w16).ok());
  REQUIRE(spiralkit::convert_to_float16(w16.get()).ok());
  const auto b = spiralkit_test::random_vector(n, 6);
  for (int64_t m : {1, 5, 130}) {
    CAPTURE(m);
    const auto x = spiralkit_test::random_vector(m * k, 7);
    std::vector<float> y32(m * n), y16(m * n);
    REQUIRE(spiralkit::linear_forward(*w32, x.data(), m, b.data(), Activation::kRelu, y32.data()).ok());
    REQUIRE(spiralkit::linear_forward(*w16, x.data(), m, b.data(), Activation::kRelu, y16.data()).ok());
    CHECK(spiralkit_test::max_rel_error(y16, y32) < 5e-3f);  // ~10 fp16 terms per output: a few u
  }
  spiralkit::ConvShape s;
  s.batch = 2; s.in_channels = k; s.in_h = 7; s.in_w = 9; s.out_channels = n; s.out_h = 7; s.out_w = 9;
  const auto x = spiralkit_test::random_vector(s.batch * k * 63, 8);
  std::vector<float> y16(s.batch * n * 63), y32(y16.size());
  REQUIRE(spiralkit::conv1x1_forward_f16(*w16, s, x.data(), b.data(), Activation::kNone, y16.data()).ok());
  for (int64_t img = 0; img < s.batch; ++img)  // fp32: y = W x per image (K x pixels)
    for (int64_t o = 0; o < n; ++o)
      for (int64_t px = 0; px < 63; ++px) {
        double acc = b[o];
        for (int64_t c = 0; c < k; ++c) acc += double(w[o * k + c]) * x[(img * k + c) * 63 + px];
        y32[(img * n + o) * 63 + px] = static_cast<float>(acc);
      }
  CHECK(spiralkit_test::max_rel_error(y16, y32) < 5e-3f);
  s.kernel_h = s.kernel_w = 3;
  CHECK(spiralkit::conv1x1_forward_f16(*w16, s, x.data(), b.data(), Activation::kNone, y16.data()).code() ==
        spiralkit::StatusCode::kUnsupported);
}
