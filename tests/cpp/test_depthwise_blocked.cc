// Channel-blocked depthwise convolution: every f32-dwconvcb row against a plain loop, and the
// conv2d driver's blocked path (small planes) against the scalar reference over channel counts
// that are not a multiple of the block, kernel sizes, strides, dilation, padding, batches,
// bias/activation and a residual, at 1-3 threads.
#include <doctest/doctest.h>

#include <memory>
#include <vector>

#include "config/kernel_registry.h"
#include "ops/conv2d.h"
#include "runtime/threads.h"
#include "sparse/packed_weight.h"
#include "spiralkit_kernels/f32-sconv.h"
#include "test_helpers.h"

using spiralkit::Activation;

TEST_CASE("dwconvcb rows: every allowed row matches a plain loop") {
  struct G { int64_t in_h, in_w; int kh, kw, stride, pad, dil; };
  const G cases[] = {{7, 7, 3, 3, 1, 1, 1}, {14, 14, 3, 3, 2, 1, 1}, {9, 5, 5, 5, 1, 2, 1},
                     {11, 13, 3, 3, 1, 2, 2}, {6, 6, 1, 1, 1, 0, 1},  {8, 9, 3, 3, 3, 0, 1},
                     {1, 1, 3, 3, 1, 1, 1},   {10, 3, 3, 1, 2, 1, 1},
                     // pixel-tile remainders: two whole 7-pixel steps, two and one left over
                     {14, 14, 3, 3, 1, 1, 1}, {5, 15, 3, 3, 1, 1, 1}};
  for (const auto& row : spiralkit::dwconvcb_table()) {
    if (!spiralkit::isa_allows(row.isa)) continue;
    const int64_t L = row.tile;
    for (const auto& g : cases)
      for (Activation act : {Activation::kNone, Activation::kRelu6, Activation::kSilu}) {
        CAPTURE(row.name);
        CAPTURE(g.in_h);
        CAPTURE(g.kh);
        CAPTURE(g.stride);
        CAPTURE(g.dil);
        const int64_t hp = g.in_h + 2 * g.pad, wp = g.in_w + 2 * g.pad;
        const int64_t out_h = (hp - int64_t(g.dil) * (g.kh - 1) - 1) / g.stride + 1;
        const int64_t out_w = (wp - int64_t(g.dil) * (g.kw - 1) - 1) / g.stride + 1;
        auto x = spiralkit_test::random_vector(hp * wp * L, 1);
        auto w = spiralkit_test::random_vector(int64_t(g.kh) * g.kw * L, 2);
        auto b = spiralkit_test::random_vector(L, 3);
        std::vector<float> got(out_h * out_w * L), want(got.size());
        for (int64_t oh = 0; oh < out_h; ++oh)
          for (int64_t ow = 0; ow < out_w; ++ow)
            for (int64_t c = 0; c < L; ++c) {
              float acc = b[c];
              for (int r = 0; r < g.kh; ++r)
                for (int q = 0; q < g.kw; ++q)
                  acc += w[(r * g.kw + q) * L + c] *
                         x[((oh * g.stride + r * g.dil) * wp + ow * g.stride + q * g.dil) * L + c];
              want[(oh * out_w + ow) * L + c] = spiralkit::apply_activation(acc, act);
            }
        spiralkit::DwCbArgs a;
        a.x = x.data(); a.wp = wp; a.out_h = out_h; a.out_w = out_w; a.w = w.data(); a.bias = b.data();
        a.kh = g.kh; a.kw = g.kw; a.stride_h = a.stride_w = g.stride; a.dil_h = a.dil_w = g.dil; a.act = act;
        a.y = got.data();
        row.fn(a);
        CHECK(spiralkit_test::max_rel_error(got, want) < 1e-5f);
      }
  }
}

TEST_CASE("conv2d depthwise on small planes (channel-blocked path) matches the reference") {
  const int saved = spiralkit::get_num_threads();
  struct C { int64_t batch, c, h, w; int k, stride, pad, dil; };
  const C cases[] = {{1, 16, 7, 7, 3, 1, 1, 1},   {2, 33, 14, 14, 3, 2, 1, 1}, {1, 5, 9, 11, 5, 1, 2, 1},
                     {3, 20, 12, 12, 3, 1, 2, 2}, {1, 40, 28, 28, 3, 1, 1, 1}, {1, 17, 1, 1, 3, 1, 1, 1},
                     {1, 48, 6, 6, 1, 1, 0, 1}};
  for (const auto& c : cases)
    for (int threads : {1, 2, 3})
      for (bool with_bias : {true, false}) {
        CAPTURE(c.c);
        CAPTURE(c.h);
        CAPTURE(c.k);
        CAPTURE(threads);
        spiralkit::set_num_threads(threads);
        spiralkit::ConvShape s;
        s.batch = c.batch; s.in_channels = s.out_channels = s.groups = c.c; s.in_h = c.h; s.in_w = c.w;
        s.kernel_h = s.kernel_w = c.k; s.stride_h = s.stride_w = c.stride; s.pad_h = s.pad_w = c.pad;
        s.dilation_h = s.dilation_w = c.dil;
        REQUIRE(spiralkit::conv2d_output_size(&s).ok());
        const int64_t k = spiralkit::conv_reduction(s), pixels = s.out_h * s.out_w;
        auto w = spiralkit_test::random_vector(c.c * k, 7);
        auto x = spiralkit_test::random_vector(c.batch * c.c * c.h * c.w, 8);
        auto b = spiralkit_test::random_vector(c.c, 9);
        auto res = spiralkit_test::random_vector(c.batch * c.c * pixels, 10);
        std::unique_ptr<spiralkit::PackedWeight> packed;
        REQUIRE(spiralkit::pack_weight(w.data(), c.c, k, spiralkit::Pattern{}, &packed).ok());
        std::vector<float> got(c.batch * c.c * pixels), want(got.size());
        spiralkit::Epilogue ep;
        ep.bias = with_bias ? b.data() : nullptr;
        ep.act = Activation::kRelu;
        ep.residual = res.data();
        std::vector<float> ws(static_cast<size_t>(spiralkit::conv2d_workspace_floats(*packed, s)) + 1);
        REQUIRE(spiralkit::conv2d_forward(*packed, s, x.data(), ep, got.data(), ws.data()).ok());
        want = spiralkit_test::reference_conv2d(*packed, s, x.data(), ep.bias, Activation::kNone);
        for (size_t i = 0; i < want.size(); ++i) want[i] = std::max(0.0f, want[i] + res[i]);
        CHECK(spiralkit_test::max_rel_error(got, want) < 1e-5f);
      }
  spiralkit::set_num_threads(saved);
}
