// Winograd F(4x4, 3x3): every f32-winograd row against a plain loop over a padded NHWC image
// (whole bands, bands that start below the top, the two-stage split by tiles and by output
// channels, channel counts off the 16-channel step), and the conv2d driver's Winograd path
// against the scalar reference (padding 0-2, output sizes off the 4x4 tile, batches, 1-3
// threads, bias, ReLU/ReLU6/GELU, a residual), plus which convolutions take the path.
#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "config/kernel_registry.h"
#include "ops/conv2d.h"
#include "ops/winograd_conv.h"
#include "runtime/threads.h"
#include "sparse/packed_weight.h"
#include "spiralkit_kernels/f32-sconv.h"
#include "test_helpers.h"

using spiralkit::Activation;

namespace {

std::unique_ptr<spiralkit::PackedWeight> dense_3x3(int64_t n, int64_t c, uint32_t seed) {
  auto w = spiralkit_test::random_vector(n * c * 9, seed);
  std::unique_ptr<spiralkit::PackedWeight> packed;
  REQUIRE(spiralkit::pack_weight(w.data(), n, c * 9, spiralkit::Pattern{}, &packed).ok());
  return packed;
}

}  // namespace

TEST_CASE("f32-winograd rows: every allowed row matches a plain 3x3 loop, whole and split") {
  struct G { int64_t c, n, tile_rows, tiles_w, row0; };
  const G cases[] = {{16, 16, 1, 1, 0}, {19, 24, 2, 3, 1}, {8, 40, 3, 2, 0}, {33, 17, 1, 4, 2}, {64, 64, 2, 2, 0}};
  for (const auto& row : spiralkit::winograd_table()) {
    if (!spiralkit::isa_allows(row.isa)) continue;
    for (const auto& g : cases)
      for (Activation act : {Activation::kNone, Activation::kRelu, Activation::kRelu6})
        for (bool split : {false, true}) {
          CAPTURE(row.name);
          CAPTURE(g.c);
          CAPTURE(g.n);
          CAPTURE(split);
          const int64_t total_rows = g.row0 + g.tile_rows, hp = 4 * total_rows + 2, wp = 4 * g.tiles_w + 2;
          const int64_t tiles = g.tile_rows * g.tiles_w, oh = 4 * g.tile_rows, ow = 4 * g.tiles_w;
          auto x = spiralkit_test::random_vector(hp * wp * g.c, 1);
          auto bias = spiralkit_test::random_vector(g.n, 3);
          auto packed = dense_3x3(g.n, g.c, 2);
          const std::vector<float>& wd = packed->values;  // dense row-major [n][c][3][3]
          std::vector<float> want(oh * ow * g.n);
          for (int64_t r = 0; r < oh; ++r)
            for (int64_t q = 0; q < ow; ++q)
              for (int64_t n = 0; n < g.n; ++n) {
                double acc = bias[n];
                for (int64_t c = 0; c < g.c; ++c)
                  for (int i = 0; i < 3; ++i)
                    for (int j = 0; j < 3; ++j)
                      acc += double(wd[(n * g.c + c) * 9 + i * 3 + j]) *
                             x[((4 * g.row0 + r + i) * wp + q + j) * g.c + c];
                want[(r * ow + q) * g.n + n] = spiralkit::apply_activation(float(acc), act);
              }
          std::vector<float> v(36 * tiles * g.c), m(36 * tiles * g.n), got(oh * ow * g.n, -99.0f);
          spiralkit::WinogradArgs a;
          a.x = x.data(); a.c = g.c; a.n = g.n; a.wp = wp; a.tile_row0 = g.row0; a.tile_rows = g.tile_rows;
          a.tiles_w = g.tiles_w; a.u = packed->winograd_filters().data(); a.bias = bias.data(); a.act = act;
          a.v = v.data(); a.m = m.data(); a.y = got.data();
          if (!split) {
            row.fn(a);
          } else {  // the input transform in two tile ranges, then the rest in 16-channel ranges
            a.stages = spiralkit::kWinoInput;
            const int64_t bounds[3] = {0, tiles / 2, tiles};
            for (int part = 0; part < 2; ++part) {
              a.t_begin = bounds[part];
              a.t_end = bounds[part + 1];
              row.fn(a);
            }
            a.stages = spiralkit::kWinoMultiply;
            for (int64_t n0 = 0; n0 < g.n; n0 += 16) {
              a.n_begin = n0;
              a.n_end = std::min<int64_t>(g.n, n0 + 16);
              row.fn(a);
            }
          }
          CHECK(spiralkit_test::max_rel_error(got, want) < 1e-4f);
        }
  }
}

TEST_CASE("conv2d: the Winograd path matches the reference over padding, sizes, batches and threads") {
  const int saved = spiralkit::get_num_threads();
  struct C { int64_t batch, c, n, h, w; int pad; };
  const C cases[] = {{1, 8, 16, 14, 14, 1},  {2, 19, 24, 15, 17, 1}, {1, 16, 40, 16, 16, 0},
                     {1, 24, 16, 13, 18, 2}, {3, 32, 32, 14, 15, 1}, {1, 64, 64, 28, 28, 1}};
  for (const auto& c : cases)
    for (int threads : {1, 2, 3})
      for (Activation act : {Activation::kRelu, Activation::kGelu}) {
        CAPTURE(c.c);
        CAPTURE(c.n);
        CAPTURE(c.h);
        CAPTURE(c.w);
        CAPTURE(threads);
        spiralkit::set_num_threads(threads);
        spiralkit::ConvShape s;
        s.batch = c.batch; s.in_channels = c.c; s.out_channels = c.n; s.in_h = c.h; s.in_w = c.w;
        s.kernel_h = s.kernel_w = 3; s.pad_h = s.pad_w = c.pad;
        REQUIRE(spiralkit::conv2d_output_size(&s).ok());
        const int64_t k = spiralkit::conv_reduction(s), pixels = s.out_h * s.out_w;
        auto packed = dense_3x3(c.n, c.c, 7);
        REQUIRE(spiralkit::winograd_eligible(*packed, s, spiralkit::PlanChoice::kAuto));
        auto x = spiralkit_test::random_vector(c.batch * c.c * c.h * c.w, 8);
        auto b = spiralkit_test::random_vector(c.n, 9);
        auto res = spiralkit_test::random_vector(c.batch * c.n * pixels, 10);
        std::vector<float> got(c.batch * c.n * pixels), want(got.size());
        spiralkit::Epilogue ep;
        ep.bias = b.data();
        ep.act = act;
        ep.residual = res.data();
        std::vector<float> ws(static_cast<size_t>(spiralkit::conv2d_workspace_floats(*packed, s)));
        REQUIRE(spiralkit::conv2d_forward(*packed, s, x.data(), ep, got.data(), ws.data()).ok());
        want = spiralkit_test::reference_conv2d(*packed, s, x.data(), ep.bias, Activation::kNone);
        for (size_t i = 0; i < want.size(); ++i) want[i] = spiralkit::apply_activation(want[i] + res[i], act);
        CHECK(spiralkit_test::max_rel_error(got, want) < 1e-4f);
      }
  spiralkit::set_num_threads(saved);
}

TEST_CASE("winograd_eligible: dense 3x3 stride 1 on planes of at least 14x14 only") {
  auto dense = dense_3x3(32, 16, 3);
  spiralkit::ConvShape s;
  s.batch = 1; s.in_channels = 16; s.out_channels = 32; s.in_h = s.in_w = 14; s.kernel_h = s.kernel_w = 3;
  s.pad_h = s.pad_w = 1;
  REQUIRE(spiralkit::conv2d_output_size(&s).ok());
  CHECK(spiralkit::winograd_eligible(*dense, s, spiralkit::PlanChoice::kAuto));
  CHECK(spiralkit::winograd_eligible(*dense, s, spiralkit::PlanChoice::kSparse));  // a dense weight has no sparse plan
  spiralkit::ConvShape small = s;
  small.in_h = small.in_w = 7;
  REQUIRE(spiralkit::conv2d_output_size(&small).ok());
  CHECK_FALSE(spiralkit::winograd_eligible(*dense, small, spiralkit::PlanChoice::kAuto));
  spiralkit::ConvShape strided = s;
  strided.stride_h = strided.stride_w = 2;
  REQUIRE(spiralkit::conv2d_output_size(&strided).ok());
  CHECK_FALSE(spiralkit::winograd_eligible(*dense, strided, spiralkit::PlanChoice::kAuto));
  spiralkit::ConvShape dilated = s;
  dilated.dilation_h = dilated.dilation_w = 2;
  REQUIRE(spiralkit::conv2d_output_size(&dilated).ok());
  CHECK_FALSE(spiralkit::winograd_eligible(*dense, dilated, spiralkit::PlanChoice::kAuto));
  // A 90 % 4x1 weight runs its sparse panels, not Winograd.
  auto w = spiralkit_test::random_vector(32 * 16 * 9, 4);
  for (int64_t r = 0; r < 32; r += 4)
    for (int64_t k = 0; k < 16 * 9; ++k)
      if (k % 10)
        for (int64_t i = 0; i < 4; ++i) w[(r + i) * 16 * 9 + k] = 0.0f;
  spiralkit::Pattern p;
  p.kind = spiralkit::PatternKind::kBlock;
  p.block_rows = 4;
  p.block_cols = 1;
  std::unique_ptr<spiralkit::PackedWeight> sparse;
  REQUIRE(spiralkit::pack_weight(w.data(), 32, 16 * 9, p, &sparse).ok());
  CHECK_FALSE(spiralkit::winograd_eligible(*sparse, s, spiralkit::PlanChoice::kAuto));
  CHECK(spiralkit::winograd_eligible(*sparse, s, spiralkit::PlanChoice::kDense));
}
