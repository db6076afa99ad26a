// The op drivers (planner + registered kernels + threading) against the scalar reference, for
// every pattern, GEMV and many-row paths, thread counts, and conv geometries (1x1 direct, k x k
// im2col tiles, strides, padding, dilation, groups, depthwise, odd spatial sizes, batches).
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "ops/conv2d.h"
#include "ops/linear.h"
#include "ops/tensor_math.h"
#include "runtime/threads.h"
#include "sparse/packed_weight.h"
#include "spiralkit_kernels/f32-sconv.h"
#include "spiralkit_kernels/f32-spmm.h"
#include "test_helpers.h"

using spiralkit::Activation;
using spiralkit::Pattern;
using spiralkit::PatternKind;

namespace {

std::vector<Pattern> patterns() {
  return {Pattern{},
          Pattern{PatternKind::kUnstructured},
          Pattern{PatternKind::kBlock, 4, 1, 0, 0},
          Pattern{PatternKind::kBlock, 8, 1, 0, 0},
          Pattern{PatternKind::kBlock, 16, 1, 0, 0},
          Pattern{PatternKind::kBlock, 2, 1, 0, 0},
          Pattern{PatternKind::kBlock, 1, 4, 0, 0},
          Pattern{PatternKind::kBlock, 16, 16, 0, 0},
          Pattern{PatternKind::kNm, 1, 1, 2, 4}};
}

struct ThreadsGuard {
  int saved = spiralkit::get_num_threads();
  ~ThreadsGuard() { spiralkit::set_num_threads(saved); }
};

}  // namespace

TEST_CASE("linear: every pattern, GEMV and many-row paths, 1-3 threads, match the reference") {
  ThreadsGuard guard;
  const int64_t n = 45, k = 70;
  for (const auto& p : patterns()) {
    for (double drop : {0.0, 0.5, 0.9, 1.0}) {
      auto w = spiralkit_test::pruned_matrix(n, k, p, drop, 11);
      std::unique_ptr<spiralkit::PackedWeight> packed;
      REQUIRE(spiralkit::pack_weight(w.data(), n, k, p, &packed).ok());
      auto b = spiralkit_test::random_vector(n, 12);
      for (int64_t m : {1, 2, 3, 4, 5, 16, 17, 130, 200, 333}) {  // 130+: threads split the rows
        for (int threads : {1, 2, 3}) {
          CAPTURE(p.name());
          CAPTURE(drop);
          CAPTURE(m);
          CAPTURE(threads);
          spiralkit::set_num_threads(threads);
          auto x = spiralkit_test::random_vector(m * k, 13);
          std::vector<float> got(m * n), want(m * n);
          REQUIRE(spiralkit::linear_forward(*packed, x.data(), m, b.data(), Activation::kRelu, got.data()).ok());
          spiralkit::SpmmParams ref;
          ref.m = m; ref.x = x.data(); ref.x_stride_m = k; ref.n_begin = 0; ref.n_end = n; ref.bias = b.data();
          ref.activation = Activation::kRelu; ref.y = want.data(); ref.y_stride_m = n; ref.y_stride_n = 1;
          spiralkit::spiralkit_f32_spmm_ukernel__reference(packed->view(), ref);
          CHECK(spiralkit_test::max_rel_error(got, want) < 1e-5f);
        }
      }
    }
  }
}

TEST_CASE("conv2d: 1x1, k x k, strides, padding, dilation, groups, depthwise match the reference") {
  ThreadsGuard guard;
  struct C { int64_t batch, c_in, c_out, h, w; int kh, kw, stride, pad, dil, groups; };
  const C cases[] = {
      {1, 16, 24, 7, 9, 1, 1, 1, 0, 1, 1},    // pointwise, odd spatial size
      {2, 5, 13, 17, 3, 1, 1, 1, 0, 1, 1},    // pointwise, batch 2, rows not a multiple of 8
      {1, 8, 16, 9, 9, 1, 1, 2, 0, 1, 1},     // strided 1x1 (im2col path)
      {1, 8, 16, 14, 14, 3, 3, 1, 1, 1, 1},   // 3x3 same padding
      {2, 6, 8, 11, 10, 3, 3, 2, 1, 1, 1},    // 3x3 stride 2, odd sizes
      {1, 4, 8, 12, 12, 5, 3, 1, 2, 2, 1},    // rectangular kernel, dilation 2
      {1, 8, 16, 10, 10, 3, 3, 1, 1, 1, 2},   // groups (8 rows per group)
      {1, 6, 6, 8, 8, 3, 3, 1, 1, 1, 3},      // groups with 2 rows per group (reference fallback)
      {2, 12, 12, 15, 13, 3, 3, 1, 1, 1, 12}, // depthwise
      {1, 12, 12, 15, 15, 3, 3, 2, 1, 1, 12}, // depthwise stride 2
      {1, 4, 8, 9, 9, 3, 3, 1, 1, 1, 4},      // depthwise with channel multiplier 2
      {1, 3, 4, 40, 40, 3, 3, 1, 0, 1, 1},    // many pixels: several im2col tiles
      {1, 64, 8, 20, 20, 3, 3, 1, 1, 1, 1},   // large K: small pixel tile
      {1, 4, 8, 6, 32, 3, 3, 2, 0, 1, 1},     // stride-2 phase rows of 16 floats
      {1, 4, 8, 5, 67, 3, 3, 2, 1, 1, 1},     // ... and of 34-35 (vector body and tail)
  };
  for (const auto& c : cases) {
    for (const auto& p : patterns()) {
      for (int threads : {1, 2}) {
        CAPTURE(p.name());
        CAPTURE(c.c_in);
        CAPTURE(c.kh);
        CAPTURE(c.groups);
        CAPTURE(threads);
        spiralkit::set_num_threads(threads);
        spiralkit::ConvShape s;
        s.batch = c.batch; s.in_channels = c.c_in; s.in_h = c.h; s.in_w = c.w; s.out_channels = c.c_out;
        s.kernel_h = c.kh; s.kernel_w = c.kw; s.stride_h = s.stride_w = c.stride; s.pad_h = s.pad_w = c.pad;
        s.dilation_h = s.dilation_w = c.dil; s.groups = c.groups;
        REQUIRE(spiralkit::conv2d_output_size(&s).ok());
        const int64_t k = spiralkit::conv_reduction(s);
        auto w = spiralkit_test::pruned_matrix(c.c_out, k, p, 0.6, 3);
        auto x = spiralkit_test::random_vector(s.batch * c.c_in * c.h * c.w, 4);
        auto b = spiralkit_test::random_vector(c.c_out, 5);
        std::unique_ptr<spiralkit::PackedWeight> packed;
        REQUIRE(spiralkit::pack_weight(w.data(), c.c_out, k, p, &packed).ok());
        const int64_t out_image = c.c_out * s.out_h * s.out_w;
        std::vector<float> got(s.batch * out_image), want(got.size());
        REQUIRE(spiralkit::conv2d_forward(*packed, s, x.data(), b.data(), Activation::kRelu6, got.data()).ok());
        want = spiralkit_test::reference_conv2d(*packed, s, x.data(), b.data(), Activation::kRelu6);
        CHECK(spiralkit_test::max_rel_error(got, want) < 1e-5f);
      }
    }
  }
}

TEST_CASE("conv2d: a 1x1 convolution adds its residual in the kernel store, before the activation") {
  ThreadsGuard guard;
  for (const auto& p : patterns())
    for (Activation act : {Activation::kRelu, Activation::kGelu, Activation::kNone})
      for (int threads : {1, 2}) {
        CAPTURE(p.name());
        CAPTURE(static_cast<int>(act));
        CAPTURE(threads);
        spiralkit::set_num_threads(threads);
        spiralkit::ConvShape s;
        s.batch = 2; s.in_channels = 24; s.in_h = 7; s.in_w = 9; s.out_channels = 20;
        REQUIRE(spiralkit::conv2d_output_size(&s).ok());
        const int64_t pixels = s.out_h * s.out_w, out_image = s.out_channels * pixels;
        auto w = spiralkit_test::pruned_matrix(s.out_channels, s.in_channels, p, 0.6, 13);
        auto x = spiralkit_test::random_vector(s.batch * s.in_channels * pixels, 14);
        auto b = spiralkit_test::random_vector(s.out_channels, 15);
        auto res = spiralkit_test::random_vector(s.batch * out_image, 16);
        std::unique_ptr<spiralkit::PackedWeight> packed;
        REQUIRE(spiralkit::pack_weight(w.data(), s.out_channels, s.in_channels, p, &packed).ok());
        spiralkit::Epilogue ep;
        ep.bias = b.data();
        ep.act = act;
        ep.residual = res.data();
        std::vector<float> got(s.batch * out_image), want(got.size()), ws(1);
        REQUIRE(spiralkit::conv2d_forward(*packed, s, x.data(), ep, got.data(), ws.data()).ok());
        want = spiralkit_test::reference_conv2d(*packed, s, x.data(), b.data(), Activation::kNone);
        for (size_t i = 0; i < want.size(); ++i) want[i] = spiralkit::apply_activation(want[i] + res[i], act);
        CHECK(spiralkit_test::max_rel_error(got, want) < 1e-5f);
      }
}

TEST_CASE("linear: large K narrows the M strips below the kernel tile, still exact") {
  ThreadsGuard guard;
  const int64_t n = 21, k = 9000, m = 37;  // K x S strip budget -> 16-column strips
  for (const auto& p : {Pattern{PatternKind::kBlock, 4, 1, 0, 0}, Pattern{PatternKind::kUnstructured}, Pattern{}}) {
    for (int threads : {1, 2}) {
      CAPTURE(p.name());
      spiralkit::set_num_threads(threads);
      auto w = spiralkit_test::pruned_matrix(n, k, p, 0.8, 21);
      std::unique_ptr<spiralkit::PackedWeight> packed;
      REQUIRE(spiralkit::pack_weight(w.data(), n, k, p, &packed).ok());
      auto x = spiralkit_test::random_vector(m * k, 22);
      std::vector<float> got(m * n), want(m * n);
      REQUIRE(spiralkit::linear_forward(*packed, x.data(), m, nullptr, Activation::kNone, got.data()).ok());
      spiralkit::SpmmParams ref;
      ref.m = m; ref.x = x.data(); ref.x_stride_m = k; ref.n_begin = 0; ref.n_end = n;
      ref.activation = Activation::kNone; ref.y = want.data(); ref.y_stride_m = n; ref.y_stride_n = 1;
      spiralkit::spiralkit_f32_spmm_ukernel__reference(packed->view(), ref);
      CHECK(spiralkit_test::max_rel_error(got, want) < 1e-5f);
    }
  }
}

TEST_CASE("linear: K beyond 16-bit GEMV indices takes the K x M kernels, still exact") {
  ThreadsGuard guard;
  const int64_t n = 9, k = 70001;
  for (const auto& p : {Pattern{PatternKind::kBlock, 4, 1, 0, 0}, Pattern{PatternKind::kUnstructured}}) {
    for (int64_t m : {1, 2, 5}) {
      CAPTURE(p.name());
      CAPTURE(m);
      auto w = spiralkit_test::pruned_matrix(n, k, p, 0.9, 31);
      std::unique_ptr<spiralkit::PackedWeight> packed;
      REQUIRE(spiralkit::pack_weight(w.data(), n, k, p, &packed).ok());
      auto x = spiralkit_test::random_vector(m * k, 32);
      auto b = spiralkit_test::random_vector(n, 33);
      std::vector<float> got(m * n), want(m * n);
      REQUIRE(spiralkit::linear_forward(*packed, x.data(), m, b.data(), Activation::kNone, got.data()).ok());
      spiralkit::SpmmParams ref;
      ref.m = m; ref.x = x.data(); ref.x_stride_m = k; ref.n_begin = 0; ref.n_end = n; ref.bias = b.data();
      ref.activation = Activation::kNone; ref.y = want.data(); ref.y_stride_m = n; ref.y_stride_n = 1;
      spiralkit::spiralkit_f32_spmm_ukernel__reference(packed->view(), ref);
      CHECK(spiralkit_test::max_rel_error(got, want) < 1e-5f);
    }
  }
}

TEST_CASE("gather: an embedding-sized lookup split over 1-3 threads copies every row, negative indices too") {
  ThreadsGuard guard;
  // [outer=2, dim=1000, inner=300] on axis 1: 2 x 200 rows of 1200 bytes, well above the split size.
  const int64_t outer = 2, dim = 1000, inner = 300, n_idx = 200;
  auto table = spiralkit_test::random_vector(outer * dim * inner, 21);
  std::vector<int64_t> idx(n_idx);
  for (int64_t i = 0; i < n_idx; ++i) idx[i] = (i * 37) % dim - (i % 3 == 0 ? dim : 0);  // some negative
  for (int threads : {1, 2, 3}) {
    CAPTURE(threads);
    spiralkit::set_num_threads(threads);
    std::vector<float> got(outer * n_idx * inner, -1.0f);
    REQUIRE(spiralkit::gather_forward(table.data(), {outer, dim, inner}, 1, idx.data(), n_idx, got.data(), 4).ok());
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < n_idx; ++i) {
        const int64_t j = idx[i] < 0 ? idx[i] + dim : idx[i];
        for (int64_t c = 0; c < inner; c += 37) REQUIRE(got[(o * n_idx + i) * inner + c] == table[(o * dim + j) * inner + c]);
      }
  }
  idx[5] = dim;  // out of range: refused, naming the index
  std::vector<float> out(outer * n_idx * inner);
  const spiralkit::Status st = spiralkit::gather_forward(table.data(), {outer, dim, inner}, 1, idx.data(), n_idx, out.data(), 4);
  CHECK_FALSE(st.ok());
  CHECK(st.message().find("1000") != std::string::npos);
}
