// The int8 op drivers (qlinear, qconv2d) against the integer reference on the same quantized
// inputs (bit-exact: same kernels' epilogue), over every path the planner can take (GEMV rows,
// K x M strips, dense fallback, 1x4 / 4x4 / unstructured weights, 1 and 2 threads), and against
// fp32 within the quantization error.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <utility>
#include <vector>

#include "ops/qactivations.h"
#include "ops/qconv2d.h"
#include "ops/qconv2d_taps.h"
#include "ops/qlinear.h"
#include "runtime/threads.h"
#include "test_helpers.h"

using spiralkit::Activation;
using spiralkit::Pattern;
using spiralkit::PatternKind;

namespace {

std::vector<float> reference_linear(const spiralkit::PackedWeightI8& w, const spiralkit::QLinearPlan& plan,
                                    const std::vector<float>& x, int64_t m, const float* bias, Activation act) {
  std::vector<int8_t> q(static_cast<size_t>(w.rows * w.cols));
  w.to_dense(q.data());
  std::vector<uint8_t> xq(x.size());
  spiralkit::quantize_u8_rows(x.data(), static_cast<int64_t>(x.size()), 1.0f / plan.x.scale, plan.x.zero_point,
                              xq.data());
  std::vector<float> y(static_cast<size_t>(m * w.rows));
  spiralkit::QOutput o;
  o.scale = plan.row_scale.data();
  o.bias = bias;
  o.act = act;
  o.y_f32 = y.data();
  spiralkit::spiralkit_qs8_linear_ukernel__reference(q.data(), w.rows, w.cols, xq.data(), m, plan.x.zero_point, o,
                                                     w.rows);
  return y;
}

}  // namespace

TEST_CASE("qlinear equals the integer reference bit for bit on every path") {
  const Pattern patterns[] = {{PatternKind::kBlock, 1, 4, 0, 0}, {PatternKind::kBlock, 4, 4, 0, 0},
                              {PatternKind::kDense, 1, 1, 0, 0}, {PatternKind::kUnstructured, 1, 1, 0, 0}};
  const int64_t ms[] = {1, 2, 3, 4, 5, 17, 130};
  uint32_t seed = 3;
  for (const Pattern& p : patterns)
    for (int threads = 1; threads <= 2; ++threads)
      for (int choice = 0; choice < 3; ++choice) {
        spiralkit_test::ThreadCount tc(threads);
        const int64_t rows = 37, cols = 70;
        std::vector<float> wf = spiralkit_test::pruned_matrix(rows, cols, p, p.kind == PatternKind::kDense ? 0.0 : 0.8,
                                                              seed++);
        std::unique_ptr<spiralkit::PackedWeightI8> w;
        REQUIRE(spiralkit::quantize_weight_i8(wf.data(), rows, cols, p, &w).ok());
        spiralkit::QLinearPlan plan;
        REQUIRE(spiralkit::qlinear_plan(*w, {0.011f, 131}, &plan).ok());
        const std::vector<float> bias = spiralkit_test::random_vector(rows, seed++);
        for (int64_t m : ms) {
          CAPTURE(p.name());
          CAPTURE(threads);
          CAPTURE(choice);
          CAPTURE(m);
          std::vector<float> x = spiralkit_test::random_vector(m * cols, seed++);
          x[0] = 100.0f;  // saturates
          spiralkit::Epilogue ep;
          ep.bias = bias.data();
          ep.act = m % 2 ? Activation::kRelu : Activation::kNone;
          ep.choice = static_cast<spiralkit::PlanChoice>(choice);
          std::vector<float> y(static_cast<size_t>(m * rows), -7.0f);
          REQUIRE(spiralkit::qlinear_forward(plan, x.data(), m, ep, y.data()).ok());
          const std::vector<float> want = reference_linear(*w, plan, x, m, bias.data(), ep.act);
          REQUIRE(std::memcmp(y.data(), want.data(), y.size() * 4) == 0);
        }
      }
}

TEST_CASE("qlinear is within quantization error of fp32, GELU and residual fused") {
  const int64_t rows = 64, cols = 256, m = 24;
  const Pattern p{PatternKind::kBlock, 1, 4, 0, 0};
  std::vector<float> wf = spiralkit_test::pruned_matrix(rows, cols, p, 0.9, 7);
  std::vector<float> x = spiralkit_test::random_vector(m * cols, 8), res = spiralkit_test::random_vector(m * rows, 9);
  std::unique_ptr<spiralkit::PackedWeightI8> w;
  REQUIRE(spiralkit::quantize_weight_i8(wf.data(), rows, cols, p, &w).ok());
  CHECK(w->panels.r == 1);
  spiralkit::QLinearPlan plan;
  REQUIRE(spiralkit::qlinear_plan(*w, {2.0f / 255.0f, 128}, &plan).ok());  // x in [-1, 1]
  spiralkit::Epilogue ep;
  ep.act = Activation::kGelu;
  ep.residual = res.data();
  std::vector<float> y(static_cast<size_t>(m * rows));
  REQUIRE(spiralkit::qlinear_forward(plan, x.data(), m, ep, y.data()).ok());
  double err = 0, ref = 0;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t n = 0; n < rows; ++n) {
      double acc = res[i * rows + n];
      for (int64_t k = 0; k < cols; ++k) acc += double(wf[n * cols + k]) * x[i * cols + k];
      const double want = 0.5 * acc * (1.0 + std::erf(acc / std::sqrt(2.0)));
      err = std::max(err, std::fabs(y[i * rows + n] - want));
      ref = std::max(ref, std::fabs(want));
    }
  CHECK(err < 0.02 * ref);
  CHECK(err > 0.0);  // it really ran quantized
}

TEST_CASE("int8 weights: refusals name the argument") {
  std::unique_ptr<spiralkit::PackedWeightI8> w;
  std::vector<int8_t> q(8, 1);
  std::vector<float> bad = {1.0f, 0.0f};
  CHECK(spiralkit::pack_weight_i8(q.data(), bad.data(), 2, 4, Pattern{}, &w).code() ==
        spiralkit::StatusCode::kInvalidArgument);
  std::vector<float> ok = {1.0f, 1.0f};
  REQUIRE(spiralkit::pack_weight_i8(q.data(), ok.data(), 2, 4, Pattern{}, &w).ok());
  spiralkit::QLinearPlan plan;
  CHECK(spiralkit::qlinear_plan(*w, {0.0f, 0}, &plan).code() == spiralkit::StatusCode::kInvalidArgument);
  CHECK(spiralkit::qlinear_plan(*w, {1.0f, 256}, &plan).code() == spiralkit::StatusCode::kInvalidArgument);
  std::vector<int8_t> wide(2 * (spiralkit::kQs8MaxCols + 1), 0);
  CHECK(spiralkit::pack_weight_i8(wide.data(), ok.data(), 2, spiralkit::kQs8MaxCols + 1, Pattern{}, &w).code() ==
        spiralkit::StatusCode::kUnsupported);
}

TEST_CASE("qconv2d equals the integer reference bit for bit") {
  struct Geo { int64_t cin, cout, h, w; int k, stride, pad, dil, groups; };
  const Geo geos[] = {{8, 12, 6, 7, 1, 1, 0, 1, 1}, {6, 8, 7, 5, 3, 1, 1, 1, 1}, {5, 4, 9, 9, 3, 2, 1, 1, 1},
                      {8, 8, 6, 6, 3, 1, 2, 2, 2},  {6, 6, 7, 8, 3, 1, 1, 1, 6}, {4, 8, 5, 5, 1, 2, 0, 1, 1},
                      {6, 6, 5, 5, 5, 2, 2, 1, 6},  {3, 8, 20, 21, 7, 2, 3, 1, 1},
                      // Pixel counts across the driver's 64-pixel tiles: exactly two, two and a tail.
                      {4, 8, 16, 8, 3, 1, 1, 1, 1}, {8, 16, 12, 12, 1, 1, 0, 1, 1},
                      // Padding wider than the kernel reach, rows crossing tiles, 1x1 with K % 4, strided unpadded.
                      {4, 4, 3, 4, 3, 1, 3, 1, 1},  {5, 8, 9, 30, 3, 1, 1, 1, 1}, {7, 8, 11, 9, 1, 1, 0, 1, 1},
                      {6, 4, 10, 13, 3, 2, 0, 1, 1},
                      // Phase planes: output rows wider than a tile, stride 3 (nine phases, some unread),
                      // dilated and strided, a 1x1 stride 2 that reads one phase of four.
                      {3, 8, 9, 150, 3, 1, 1, 1, 1}, {4, 8, 13, 11, 3, 3, 1, 1, 1}, {4, 4, 12, 12, 3, 2, 2, 2, 1},
                      {8, 8, 9, 10, 1, 2, 0, 1, 1},
                      // >= 12 tiles: two threads split the pixels (whole tiles each, the last a tail).
                      {8, 12, 30, 40, 1, 1, 0, 1, 1}, {8, 8, 28, 28, 3, 1, 1, 1, 2},
                      // The direct k x k path (dense, stride 1, C_in % 4 == 0; ops/qconv2d_taps.cc):
                      // >= 12 wide tiles (threads split them), dilated, unpadded, 5x5, rows wider than
                      // a tile, a 7 x 7 output of one tile (threads split the panels), C_out % 4 != 0.
                      {8, 16, 28, 28, 3, 1, 1, 1, 1}, {8, 8, 9, 11, 3, 1, 2, 2, 1}, {12, 8, 10, 10, 3, 1, 0, 1, 1},
                      {4, 8, 9, 9, 5, 1, 2, 1, 1},    {4, 8, 5, 70, 3, 1, 1, 1, 1}, {16, 24, 7, 7, 3, 1, 1, 1, 1},
                      {8, 6, 6, 6, 3, 1, 1, 1, 1},
                      // ... strided: 3x3 / 2 over >= 12 tiles, 7x7 / 2 padded 3, 1x1 padded, 1x1 / 2 odd sides.
                      {8, 8, 60, 50, 3, 2, 1, 1, 1}, {4, 8, 20, 21, 7, 2, 3, 1, 1}, {8, 8, 5, 6, 1, 1, 1, 1, 1},
                      {8, 12, 9, 11, 1, 2, 0, 1, 1},
                      // Planes of 16 x 16 words (a stride of 16 lines, spread one line apart) and 8 x 8.
                      {8, 8, 14, 14, 3, 1, 1, 1, 1}, {8, 8, 14, 14, 3, 2, 1, 1, 1},
                      // Stride-2 phase rows of exactly 32 bytes and of 65-67 (the vector even-byte copy's
                      // whole steps and a tail).
                      {4, 8, 6, 64, 3, 2, 0, 1, 1},   {4, 8, 5, 131, 3, 2, 1, 1, 1}};
  uint32_t seed = 50;
  for (const Geo& g : geos)
    for (int threads = 1; threads <= 2; ++threads)
      for (int pk = 0; pk < 3; ++pk) {  // dense, 1x4 blocks along K, 1x4 blocks along C_in (one tap)
        spiralkit_test::ThreadCount tc(threads);
        spiralkit::ConvShape s;
        s.batch = 2;
        s.in_channels = g.cin;
        s.out_channels = g.cout;
        s.in_h = g.h;
        s.in_w = g.w;
        s.kernel_h = s.kernel_w = g.k;
        s.stride_h = s.stride_w = g.stride;
        s.pad_h = s.pad_w = g.pad;
        s.dilation_h = s.dilation_w = g.dil;
        s.groups = g.groups;
        const int64_t kred = (g.cin / g.groups) * g.k * g.k;
        const Pattern p = pk ? Pattern{PatternKind::kBlock, 1, 4, 0, 0} : Pattern{};
        std::vector<float> wf = spiralkit_test::pruned_matrix(g.cout, kred, p, pk ? 0.5 : 0.0, seed++);
        const int64_t taps = int64_t(g.k) * g.k, cin_g0 = g.cin / g.groups;
        if (pk == 2) {  // the blocks were drawn in tap-major order (column t * C_in + c): reorder to K order
          const std::vector<float> tm = wf;
          for (int64_t n = 0; n < g.cout; ++n)
            for (int64_t c = 0; c < cin_g0; ++c)
              for (int64_t t = 0; t < taps; ++t) wf[n * kred + c * taps + t] = tm[n * kred + t * cin_g0 + c];
        }
        std::unique_ptr<spiralkit::PackedWeightI8> w;
        REQUIRE(spiralkit::quantize_weight_i8(wf.data(), g.cout, kred, p, &w).ok());
        spiralkit::QLinearPlan layer;
        REQUIRE(spiralkit::qlinear_plan(*w, {0.009f, 120}, &layer).ok());
        spiralkit::QConvPlan plan;
        REQUIRE(spiralkit::qconv2d_plan(layer, s, &plan).ok());
        const spiralkit::ConvShape& o = plan.shape;
        // Blocks along C_in take the direct path wherever its geometry allows (ops/qconv2d_taps.h);
        // blocks along K of a k x k layer span taps and keep the K x M path.
        if (pk == 2) REQUIRE(spiralkit::qconv2d_sparse_taps(*w, o) == spiralkit::qconv2d_direct_geometry(o));
        if (pk == 1 && g.k > 1 && g.cin >= 8) REQUIRE(!spiralkit::qconv2d_sparse_taps(*w, o));
        std::vector<float> x = spiralkit_test::random_vector(s.batch * g.cin * g.h * g.w, seed++);
        const std::vector<float> bias = spiralkit_test::random_vector(g.cout, seed++);
        spiralkit::Epilogue ep;
        ep.bias = bias.data();
        ep.act = Activation::kRelu6;
        std::vector<float> y(static_cast<size_t>(s.batch * g.cout * o.out_h * o.out_w));
        REQUIRE(spiralkit::qconv2d_forward(plan, s.batch, x.data(), ep, y.data()).ok());
        // Integer reference: direct loops over the quantized input, padding = zero point.
        std::vector<uint8_t> xq(x.size());
        spiralkit::quantize_u8_rows(x.data(), static_cast<int64_t>(x.size()), 1.0f / 0.009f, 120, xq.data());
        // The same layer between int8 neighbours: uint8 in (xq), uint8 out requantized (y_params).
        std::vector<uint8_t> yq(y.size());
        spiralkit::QConvIo io;
        io.x_u8 = xq.data();
        io.y_u8 = yq.data();
        io.y_params = {0.04f, 3};
        REQUIRE(spiralkit::qconv2d_forward(plan, s.batch, io, ep).ok());
        // And with a residual (fused into the kernels' store on the K x M path), then ReLU.
        const std::vector<float> res = spiralkit_test::random_vector(static_cast<int64_t>(y.size()), seed++);
        spiralkit::Epilogue ep_res = ep;
        ep_res.residual = res.data();
        ep_res.act = Activation::kRelu;
        std::vector<float> y_res(y.size());
        REQUIRE(spiralkit::qconv2d_forward(plan, s.batch, x.data(), ep_res, y_res.data()).ok());
        // A GELU runs after the kernels on the tiles each thread wrote: every tile gets it once.
        spiralkit::Epilogue ep_gelu = ep, ep_none = ep;
        ep_gelu.act = Activation::kGelu;
        ep_none.act = Activation::kNone;
        std::vector<float> y_gelu(y.size()), y_none(y.size());
        REQUIRE(spiralkit::qconv2d_forward(plan, s.batch, x.data(), ep_gelu, y_gelu.data()).ok());
        REQUIRE(spiralkit::qconv2d_forward(plan, s.batch, x.data(), ep_none, y_none.data()).ok());
        for (size_t i = 0; i < y.size(); ++i) {
          const double v = y_none[i], want_gelu = 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
          REQUIRE(std::fabs(y_gelu[i] - want_gelu) <= 1e-5 * (1.0 + std::fabs(want_gelu)));
        }
        // A uint8 residual (a bottleneck's identity path between int8 layers), uint8 out.
        std::vector<uint8_t> res_u8(y.size());
        for (size_t i = 0; i < res_u8.size(); ++i) res_u8[i] = static_cast<uint8_t>((i * 37 + seed) % 256);
        std::vector<uint8_t> yq_res(y.size());
        spiralkit::QConvIo io_res = io;
        io_res.y_u8 = yq_res.data();
        io_res.residual_u8 = res_u8.data();
        io_res.residual_params = {0.02f, 17};
        spiralkit::Epilogue ep_relu = ep;
        ep_relu.act = Activation::kRelu;
        // An fp32 residual (a projection's output), uint8 out: the folded epilogue adds it in output units.
        std::vector<uint8_t> yq_resf(y.size());
        spiralkit::QConvIo io_resf = io;
        io_resf.y_u8 = yq_resf.data();
        const spiralkit::Status st_resf = spiralkit::qconv2d_forward(plan, s.batch, io_resf, ep_res);
        REQUIRE(st_resf.ok() == !plan.depthwise);  // a depthwise layer keeps its post pass: no uint8 out
        if (plan.depthwise) REQUIRE(st_resf.message().find("uint8 output") != std::string::npos);
        const spiralkit::Status st_res = spiralkit::qconv2d_forward(plan, s.batch, io_res, ep_relu);
        REQUIRE(st_res.ok() == !plan.depthwise);  // depthwise planes refuse it, by name
        if (plan.depthwise) REQUIRE(st_res.message().find("residual") != std::string::npos);
        std::vector<int8_t> q(static_cast<size_t>(g.cout * kred));
        w->to_dense(q.data());
        spiralkit::QOutput out;
        out.scale = layer.row_scale.data();
        out.bias = bias.data();
        out.act = Activation::kRelu6;
        const int64_t cin_g = g.cin / g.groups, cout_g = g.cout / g.groups;
        for (int64_t b = 0; b < s.batch; ++b)
          for (int64_t n = 0; n < g.cout; ++n)
            for (int64_t oh = 0; oh < o.out_h; ++oh)
              for (int64_t ow = 0; ow < o.out_w; ++ow) {
                int64_t acc = 0;
                const int64_t grp = n / cout_g;
                for (int64_t c = 0; c < cin_g; ++c)
                  for (int r = 0; r < g.k; ++r)
                    for (int qq = 0; qq < g.k; ++qq) {
                      const int64_t ih = oh * g.stride - g.pad + r * g.dil, iw = ow * g.stride - g.pad + qq * g.dil;
                      if (ih < 0 || ih >= g.h || iw < 0 || iw >= g.w) continue;
                      const int64_t xv = xq[((b * g.cin + grp * cin_g + c) * g.h + ih) * g.w + iw];
                      acc += int64_t(q[n * kred + (c * g.k + r) * g.k + qq]) * (xv - 120);
                    }
                float want;
                spiralkit::qs8_store(out, n, static_cast<int32_t>(acc), &want, nullptr);
                const int64_t at = ((b * g.cout + n) * o.out_h + oh) * o.out_w + ow;
                CAPTURE(g.k);
                CAPTURE(g.stride);
                CAPTURE(g.groups);
                CAPTURE(threads);
                REQUIRE(std::memcmp(&y[at], &want, 4) == 0);
                spiralkit::QOutput out_u8 = out;
                out_u8.out_inv_scale = 1.0f / 0.04f;
                out_u8.out_zero_point = 3;
                uint8_t want_u8 = 0;
                spiralkit::qs8_store(out_u8, n, static_cast<int32_t>(acc), nullptr, &want_u8);
                REQUIRE(yq[at] == want_u8);
                float v = std::fma(static_cast<float>(acc), out.scale[n], bias[n]) + res[at];
                v = v > 0.0f ? v : 0.0f;
                REQUIRE(std::memcmp(&y_res[at], &v, 4) == 0);
                if (!plan.depthwise) {
                  // The folded uint8 epilogue (qs8.h) written out: output units, ReLU as the lower bound.
                  const float inv = 1.0f / 0.04f;
                  float t = std::fma(static_cast<float>(acc), out.scale[n] * inv, std::fma(bias[n], inv, 3.0f));
                  t = std::fma(static_cast<float>(int32_t(res_u8[at]) - 17), 0.02f * inv, t);
                  t = std::min(std::max(t, 3.0f), 255.0f);
                  REQUIRE(yq_res[at] == static_cast<uint8_t>(std::nearbyint(t)));
                  float tf = std::fma(static_cast<float>(acc), out.scale[n] * inv, std::fma(bias[n], inv, 3.0f));
                  tf = std::fma(res[at], inv, tf);
                  tf = std::min(std::max(tf, 3.0f), 255.0f);
                  REQUIRE(yq_resf[at] == static_cast<uint8_t>(std::nearbyint(tf)));
                }
              }
      }
}

TEST_CASE("fake_quantize_u8_rows and dequantize_u8_rows(quantize_u8_rows) equal dequantize(quantize_u8) on every value, saturation and ties included") {
  // Values around every rounding tie (k + 0.5 steps), past both saturation limits, and zero.
  for (const auto& [scale, zp] : {std::pair<float, int32_t>{0.05f, 128}, {0.013f, 0}, {0.2f, 255}, {1.0f, 7}}) {
    std::vector<float> x;
    for (int k = -300; k <= 300; ++k)
      for (float f : {0.0f, 0.5f, 0.49999f, 0.50001f, -0.5f}) x.push_back((k + f) * scale);
    x.push_back(0.0f);
    x.push_back(1e30f);
    x.push_back(-1e30f);
    std::vector<float> got(x.size()), back(x.size());
    spiralkit::fake_quantize_u8_rows(x.data(), static_cast<int64_t>(x.size()), scale, zp, got.data());
    std::vector<uint8_t> q8(x.size());
    spiralkit::quantize_u8_rows(x.data(), static_cast<int64_t>(x.size()), 1.0f / scale, zp, q8.data());
    spiralkit::dequantize_u8_rows(q8.data(), static_cast<int64_t>(x.size()), scale, zp, back.data());
    for (size_t i = 0; i < x.size(); ++i) {
      const int32_t q = spiralkit::quantize_u8(x[i], 1.0f / scale, zp);
      CAPTURE(x[i]);
      REQUIRE(got[i] == static_cast<float>(q - zp) * scale);
      REQUIRE(std::memcmp(&back[i], &got[i], 4) == 0);  // a uint8 hand-over reads back the fake-quantized value
    }
  }
}
