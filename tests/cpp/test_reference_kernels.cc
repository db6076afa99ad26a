// The reference kernels against a plain dense oracle written here, independently.
#include <doctest/doctest.h>

#include <memory>
#include <vector>

#include "ops/conv2d.h"
#include "ops/linear.h"
#include "sparse/packed_weight.h"
#include "test_helpers.h"

using spiralkit::Activation;
using spiralkit::Pattern;
using spiralkit::PatternKind;

namespace {

std::vector<Pattern> all_patterns() {
  return {Pattern{}, Pattern{PatternKind::kUnstructured}, Pattern{PatternKind::kBlock, 4, 1, 0, 0},
          Pattern{PatternKind::kBlock, 1, 4, 0, 0}, Pattern{PatternKind::kBlock, 16, 16, 0, 0},
          Pattern{PatternKind::kNm, 1, 1, 2, 4}};
}

std::vector<float> dense_linear(const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>& b,
                                int64_t m, int64_t n, int64_t k, bool relu) {
  std::vector<float> y(m * n);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double acc = b[j];
      for (int64_t q = 0; q < k; ++q) acc += double(x[i * k + q]) * w[j * k + q];
      y[i * n + j] = relu && acc < 0 ? 0.0f : float(acc);
    }
  return y;
}

}  // namespace

TEST_CASE("linear reference matches a dense oracle for every pattern") {
  for (const auto& p : all_patterns()) {
    for (int64_t m : {1, 3, 17}) {
      const int64_t n = 21, k = 37;
      CAPTURE(p.name());
      CAPTURE(m);
      auto w = spiralkit_test::pruned_matrix(n, k, p, 0.7, 7);
      auto x = spiralkit_test::random_vector(m * k, 8);
      auto b = spiralkit_test::random_vector(n, 9);
      std::unique_ptr<spiralkit::PackedWeight> packed;
      REQUIRE(spiralkit::pack_weight(w.data(), n, k, p, &packed).ok());
      std::vector<float> y(m * n);
      REQUIRE(spiralkit::linear_forward(*packed, x.data(), m, b.data(), Activation::kRelu, y.data()).ok());
      CHECK(spiralkit_test::max_rel_error(y, dense_linear(x, w, b, m, n, k, true)) < 1e-5f);
    }
  }
}

TEST_CASE("conv reference matches a direct dense convolution (stride, padding, dilation, groups)") {
  struct Case { int64_t c_in, c_out, h, w; int kh, kw, stride, pad, dil, groups; };
  const Case cases[] = {{3, 8, 9, 7, 3, 3, 1, 1, 1, 1}, {4, 8, 10, 10, 3, 3, 2, 1, 1, 2},
                        {6, 6, 8, 8, 3, 3, 1, 2, 2, 6}, {5, 7, 6, 5, 1, 1, 1, 0, 1, 1}};
  for (const auto& c : cases) {
    for (const auto& p : all_patterns()) {
      CAPTURE(p.name());
      spiralkit::ConvShape s;
      s.batch = 2; s.in_channels = c.c_in; s.in_h = c.h; s.in_w = c.w; s.out_channels = c.c_out;
      s.kernel_h = c.kh; s.kernel_w = c.kw; s.stride_h = s.stride_w = c.stride; s.pad_h = s.pad_w = c.pad;
      s.dilation_h = s.dilation_w = c.dil; s.groups = c.groups;
      REQUIRE(spiralkit::conv2d_output_size(&s).ok());
      const int64_t k = spiralkit::conv_reduction(s);
      auto w = spiralkit_test::pruned_matrix(c.c_out, k, p, 0.5, 3);
      auto x = spiralkit_test::random_vector(s.batch * c.c_in * c.h * c.w, 4);
      std::unique_ptr<spiralkit::PackedWeight> packed;
      REQUIRE(spiralkit::pack_weight(w.data(), c.c_out, k, p, &packed).ok());
      std::vector<float> y(s.batch * c.c_out * s.out_h * s.out_w);
      REQUIRE(spiralkit::conv2d_forward(*packed, s, x.data(), nullptr, Activation::kNone, y.data()).ok());
      // Direct convolution oracle.
      std::vector<float> want(y.size());
      const int64_t cin_g = c.c_in / c.groups, cout_g = c.c_out / c.groups;
      for (int64_t b = 0; b < s.batch; ++b)
        for (int64_t o = 0; o < c.c_out; ++o)
          for (int64_t oh = 0; oh < s.out_h; ++oh)
            for (int64_t ow = 0; ow < s.out_w; ++ow) {
              double acc = 0;
              const int64_t g = o / cout_g;
              for (int64_t ci = 0; ci < cin_g; ++ci)
                for (int r = 0; r < c.kh; ++r)
                  for (int q = 0; q < c.kw; ++q) {
                    const int64_t ih = oh * c.stride - c.pad + r * c.dil, iw = ow * c.stride - c.pad + q * c.dil;
                    if (ih < 0 || ih >= c.h || iw < 0 || iw >= c.w) continue;
                    acc += double(w[o * k + (ci * c.kh + r) * c.kw + q]) *
                           x[((b * c.c_in + g * cin_g + ci) * c.h + ih) * c.w + iw];
                  }
              want[((b * c.c_out + o) * s.out_h + oh) * s.out_w + ow] = float(acc);
            }
      CHECK(spiralkit_test::max_rel_error(y, want) < 1e-5f);
    }
  }
}

TEST_CASE("conv refuses a weight whose shape does not match") {
  spiralkit::ConvShape s;
  s.batch = 1; s.in_channels = 4; s.in_h = s.in_w = 5; s.out_channels = 4; s.kernel_h = s.kernel_w = 3;
  REQUIRE(spiralkit::conv2d_output_size(&s).ok());
  std::vector<float> w(4 * 9, 1.0f);  // K should be 36
  std::unique_ptr<spiralkit::PackedWeight> packed;
  REQUIRE(spiralkit::pack_weight(w.data(), 4, 9, Pattern{}, &packed).ok());
  std::vector<float> x(100), y(36);
  CHECK(spiralkit::conv2d_forward(*packed, s, x.data(), nullptr, Activation::kNone, y.data()).code() ==
        spiralkit::StatusCode::kInvalidArgument);
}
