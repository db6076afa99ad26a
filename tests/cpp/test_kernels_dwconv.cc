// Every f32-dwconv registry row against a direct loop over named geometries: 3x3 stride 1 and 2
// (the fast paths), other kernel sizes, dilation, asymmetric padding-free planes, rows narrower
// than a vector, widths one past a vector, and the fused bias + activation.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "config/kernel_registry.h"
#include "test_helpers.h"

using spiralkit::Activation;
using spiralkit::DwArgs;

namespace {

struct Geometry {
  const char* name;
  int64_t h, w;
  int kh, kw, stride, pad, dil;
  Activation act;
};

std::vector<float> direct(const DwArgs& a) {
  std::vector<float> y(static_cast<size_t>(a.out_h * a.out_w));
  for (int64_t oh = 0; oh < a.out_h; ++oh)
    for (int64_t ow = 0; ow < a.out_w; ++ow) {
      double acc = a.bias;
      for (int r = 0; r < a.kh; ++r)
        for (int q = 0; q < a.kw; ++q) {
          const int64_t ih = oh * a.stride_h - a.pad_h + int64_t(r) * a.dil_h;
          const int64_t iw = ow * a.stride_w - a.pad_w + int64_t(q) * a.dil_w;
          if (ih < 0 || ih >= a.in_h || iw < 0 || iw >= a.in_w) continue;
          acc += double(a.w[r * a.kw + q]) * a.x[ih * a.in_w + iw];
        }
      y[oh * a.out_w + ow] = spiralkit::apply_activation(static_cast<float>(acc), a.act);
    }
  return y;
}

}  // namespace

TEST_CASE("every f32-dwconv registry row matches the direct loop on named geometries") {
  const Geometry cases[] = {
      {"3x3 s1 same, 14x14", 14, 14, 3, 3, 1, 1, 1, Activation::kRelu6},
      {"3x3 s2, 15x15 (odd)", 15, 15, 3, 3, 2, 1, 1, Activation::kRelu},
      {"3x3 s1, 7x7 (narrower than two vectors)", 7, 7, 3, 3, 1, 1, 1, Activation::kNone},
      {"3x3 s1, one column", 5, 1, 3, 3, 1, 1, 1, Activation::kNone},
      {"3x3 s1 valid, width one past a vector", 6, 19, 3, 3, 1, 0, 1, Activation::kGelu},
      {"3x3 s2, 112x112 (MobileNet)", 112, 112, 3, 3, 2, 1, 1, Activation::kRelu6},
      {"5x5 s1 pad 2", 12, 13, 5, 5, 1, 2, 1, Activation::kSilu},
      {"5x5 s2 pad 2", 17, 17, 5, 5, 2, 2, 1, Activation::kNone},
      {"3x3 dilation 2", 11, 12, 3, 3, 1, 2, 2, Activation::kNone},
      {"1x1 (K = 1)", 9, 9, 1, 1, 1, 0, 1, Activation::kRelu},
      {"7x7 s3 pad 3", 20, 21, 7, 7, 3, 3, 1, Activation::kNone},
      {"1x1 input plane", 1, 1, 3, 3, 1, 1, 1, Activation::kSigmoid},
  };
  for (const auto& row : spiralkit::dwconv_table()) {
    if (!spiralkit::isa_allows(row.isa)) continue;
    uint32_t seed = 40;
    for (const Geometry& g : cases) {
      CAPTURE(std::string(row.name));
      CAPTURE(std::string(g.name));
      const auto x = spiralkit_test::random_vector(g.h * g.w, seed++);
      const auto w = spiralkit_test::random_vector(g.kh * g.kw, seed++);
      DwArgs a;
      a.x = x.data();
      a.in_h = g.h;
      a.in_w = g.w;
      a.kh = g.kh;
      a.kw = g.kw;
      a.stride_h = a.stride_w = g.stride;
      a.pad_h = a.pad_w = g.pad;
      a.dil_h = a.dil_w = g.dil;
      a.out_h = (g.h + 2 * g.pad - int64_t(g.dil) * (g.kh - 1) - 1) / g.stride + 1;
      a.out_w = (g.w + 2 * g.pad - int64_t(g.dil) * (g.kw - 1) - 1) / g.stride + 1;
      a.w = w.data();
      a.bias = 0.25f;
      a.act = g.act;
      const auto want = direct(a);
      std::vector<float> got(want.size() + 8, -5.0f);
      a.y = got.data();
      row.fn(a);
      CHECK(spiralkit_test::max_rel_error(std::vector<float>(got.begin(), got.begin() + want.size()), want) < 1e-5f);
      for (size_t i = want.size(); i < got.size(); ++i) REQUIRE(got[i] == -5.0f);  // nothing past the plane
    }
  }
}
