// The fused int8 linear pair (ops/qlinear_pair.h) against the same two layers run one after the
// other by qlinear_forward: bit for bit where up's activation is in the kernels (none, ReLU), within
// one quantization step of the intermediate for GELU (its vector body and tail may round apart);
// over every weight layout, forced choice, thread count, row counts from 4 to several strips.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "ops/qlinear.h"
#include "ops/qlinear_pair.h"
#include "runtime/threads.h"
#include "test_helpers.h"

using spiralkit::Activation;
using spiralkit::Pattern;
using spiralkit::PatternKind;

namespace {

struct Layer {
  std::unique_ptr<spiralkit::PackedWeightI8> w;
  spiralkit::QLinearPlan plan;
  std::vector<float> bias;
};

Layer make_layer(int64_t rows, int64_t cols, const Pattern& p, spiralkit::QuantParams x, uint32_t seed) {
  Layer l;
  const std::vector<float> wf =
      spiralkit_test::pruned_matrix(rows, cols, p, p.kind == PatternKind::kDense ? 0.0 : 0.85, seed);
  REQUIRE(spiralkit::quantize_weight_i8(wf.data(), rows, cols, p, &l.w).ok());
  REQUIRE(spiralkit::qlinear_plan(*l.w, x, &l.plan).ok());
  l.bias = spiralkit_test::random_vector(rows, seed + 1);
  return l;
}

}  // namespace

TEST_CASE("an int8 linear pair equals its two layers run one after the other") {
  const Pattern patterns[] = {{PatternKind::kBlock, 1, 4, 0, 0}, {PatternKind::kBlock, 4, 4, 0, 0},
                              {PatternKind::kDense, 1, 1, 0, 0}, {PatternKind::kUnstructured, 1, 1, 0, 0}};
  // hidden = 2048: a K x S strip of the intermediate is 256 columns, so 300 rows take two strips.
  const int64_t in = 70, hidden = 2048, out = 37;
  const int64_t ms[] = {4, 5, 17, 130, 300};
  uint32_t seed = 11;
  for (const Pattern& p : patterns) {
    Layer up = make_layer(hidden, in, p, {0.012f, 120}, seed);
    Layer down = make_layer(out, hidden, p, {0.05f, 3}, seed + 2);
    seed += 4;
    for (int threads = 1; threads <= 2; ++threads)
      for (int choice = 0; choice < 3; ++choice)
        for (Activation act : {Activation::kNone, Activation::kRelu, Activation::kGelu}) {
          spiralkit_test::ThreadCount tc(threads);
          for (int64_t m : ms) {
            CAPTURE(p.name());
            CAPTURE(threads);
            CAPTURE(choice);
            CAPTURE(static_cast<int>(act));
            CAPTURE(m);
            const std::vector<float> x = spiralkit_test::random_vector(m * in, seed++);
            const std::vector<float> res = spiralkit_test::random_vector(m * out, seed++);
            spiralkit::Epilogue up_ep, down_ep;
            up_ep.bias = up.bias.data();
            up_ep.act = act;
            up_ep.choice = static_cast<spiralkit::PlanChoice>(choice);
            down_ep.bias = down.bias.data();
            down_ep.residual = m % 2 ? res.data() : nullptr;
            down_ep.choice = up_ep.choice;
            REQUIRE(spiralkit::qlinear_pair_fusable(up.plan, up_ep, down.plan, m));
            std::vector<float> h(static_cast<size_t>(m * hidden)), want(static_cast<size_t>(m * out));
            REQUIRE(spiralkit::qlinear_forward(up.plan, x.data(), m, up_ep, h.data()).ok());
            REQUIRE(spiralkit::qlinear_forward(down.plan, h.data(), m, down_ep, want.data()).ok());
            std::vector<float> y(static_cast<size_t>(m * out), -7.0f);
            REQUIRE(spiralkit::qlinear_pair_forward(up.plan, up_ep, down.plan, down_ep, x.data(), m, y.data()).ok());
            if (act != Activation::kGelu) {
              REQUIRE(std::memcmp(y.data(), want.data(), y.size() * 4) == 0);
              continue;
            }
            // One step of the intermediate's quantization, times the largest |weight| sum it meets.
            double bound = 0;
            for (int64_t n = 0; n < out; ++n) bound = std::max<double>(bound, down.plan.row_scale[n] * 127.0 * 4);
            for (size_t i = 0; i < y.size(); ++i) REQUIRE(std::fabs(y[i] - want[i]) <= bound);
          }
        }
  }
}

TEST_CASE("an int8 linear pair refuses what it cannot chain") {
  const Pattern p{PatternKind::kBlock, 1, 4, 0, 0};
  Layer up = make_layer(64, 32, p, {0.01f, 128}, 5);
  Layer down = make_layer(16, 64, p, {0.01f, 128}, 7);
  Layer odd = make_layer(62, 32, p, {0.01f, 128}, 9);       // not whole groups of down's K
  Layer odd_down = make_layer(16, 62, p, {0.01f, 128}, 10);
  Layer other = make_layer(16, 60, p, {0.01f, 128}, 11);    // up's outputs are not its inputs
  spiralkit::Epilogue ep;
  CHECK(spiralkit::qlinear_pair_fusable(up.plan, ep, down.plan, 8));
  CHECK_FALSE(spiralkit::qlinear_pair_fusable(up.plan, ep, down.plan, 3));  // GEMV rows
  CHECK_FALSE(spiralkit::qlinear_pair_fusable(up.plan, ep, other.plan, 8));
  CHECK_FALSE(spiralkit::qlinear_pair_fusable(odd.plan, ep, odd_down.plan, 8));
  std::vector<float> res(8 * 64), x(8 * 32), y(8 * 16);
  ep.residual = res.data();
  CHECK_FALSE(spiralkit::qlinear_pair_fusable(up.plan, ep, down.plan, 8));
  const spiralkit::Status st = spiralkit::qlinear_pair_forward(up.plan, ep, down.plan, {}, x.data(), 8, y.data());
  CHECK_FALSE(st.ok());
  CHECK(st.message().find("pair") != std::string::npos);
}
