// int8 linears sharing one input (ops/qlinear_siblings.h) against each run alone by qlinear_forward:
// bit for bit (the same quantized x, the same kernels and epilogues), over weight layouts, widths,
// forced choices, activations, a residual on the first layer, thread counts and row counts from
// 4 to several strips; and the refusals (different K or input quantization, a later residual).
#include <doctest/doctest.h>

#include <cstring>
#include <memory>
#include <vector>

#include "ops/qlinear.h"
#include "ops/qlinear_siblings.h"
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

TEST_CASE("int8 linears sharing their input equal each layer run alone") {
  const Pattern patterns[] = {{PatternKind::kBlock, 1, 4, 0, 0}, {PatternKind::kBlock, 4, 4, 0, 0},
                              {PatternKind::kDense, 1, 1, 0, 0}, {PatternKind::kUnstructured, 1, 1, 0, 0}};
  // k = 2048: a K x S strip is 256 columns, so 300 rows take two strips.
  const int64_t k = 2048, widths[] = {48, 37, 130};
  const spiralkit::QuantParams xq = {0.02f, 117};
  uint32_t seed = 5;
  for (const Pattern& p : patterns) {
    Layer layers[3] = {make_layer(widths[0], k, p, xq, seed), make_layer(widths[1], k, p, xq, seed + 2),
                       make_layer(widths[2], k, p, xq, seed + 4)};
    seed += 6;
    for (int threads = 1; threads <= 3; ++threads)
      for (int choice = 0; choice < 3; ++choice)
        for (int count = 2; count <= 3; ++count)
          for (int64_t m : {4, 17, 130, 300}) {
            spiralkit_test::ThreadCount tc(threads);
            CAPTURE(p.name());
            CAPTURE(threads);
            CAPTURE(choice);
            CAPTURE(count);
            CAPTURE(m);
            const std::vector<float> x = spiralkit_test::random_vector(m * k, seed++);
            const std::vector<float> res = spiralkit_test::random_vector(m * widths[0], seed++);
            const spiralkit::QLinearPlan* plans[3];
            spiralkit::Epilogue eps[3];
            std::vector<float> want[3], got[3];
            float* ys[3];
            for (int i = 0; i < count; ++i) {
              plans[i] = &layers[i].plan;
              eps[i].bias = layers[i].bias.data();
              eps[i].act = i == 1 ? Activation::kRelu : (i == 2 ? Activation::kGelu : Activation::kNone);
              eps[i].choice = static_cast<spiralkit::PlanChoice>(choice);
              if (i == 0 && m % 2 == 0) eps[i].residual = res.data();  // the head's own residual is fine
              if (i > 0) REQUIRE(spiralkit::qlinear_siblings_fusable(*plans[0], *plans[i], eps[i], m));
              want[i].assign(static_cast<size_t>(m * widths[i]), 0.0f);
              got[i].assign(static_cast<size_t>(m * widths[i]), -7.0f);
              ys[i] = got[i].data();
              REQUIRE(spiralkit::qlinear_forward(*plans[i], x.data(), m, eps[i], want[i].data()).ok());
            }
            REQUIRE(spiralkit::qlinear_siblings_forward(plans, eps, count, x.data(), m, ys).ok());
            for (int i = 0; i < count; ++i) REQUIRE(std::memcmp(got[i].data(), want[i].data(), got[i].size() * 4) == 0);
          }
  }
}

TEST_CASE("int8 siblings refuse layers that cannot share the input") {
  const Pattern p = {PatternKind::kBlock, 1, 4, 0, 0};
  Layer a = make_layer(16, 64, p, {0.02f, 117}, 1);
  Layer other_k = make_layer(16, 68, p, {0.02f, 117}, 3);
  Layer other_scale = make_layer(16, 64, p, {0.03f, 117}, 5);
  Layer other_zero = make_layer(16, 64, p, {0.02f, 118}, 7);
  Layer b = make_layer(16, 64, p, {0.02f, 117}, 9);
  spiralkit::Epilogue plain, with_residual;
  const std::vector<float> res(64 * 16, 1.0f);
  with_residual.residual = res.data();
  CHECK(spiralkit::qlinear_siblings_fusable(a.plan, b.plan, plain, 64));
  CHECK_FALSE(spiralkit::qlinear_siblings_fusable(a.plan, other_k.plan, plain, 64));
  CHECK_FALSE(spiralkit::qlinear_siblings_fusable(a.plan, other_scale.plan, plain, 64));
  CHECK_FALSE(spiralkit::qlinear_siblings_fusable(a.plan, other_zero.plan, plain, 64));
  CHECK_FALSE(spiralkit::qlinear_siblings_fusable(a.plan, b.plan, with_residual, 64));
  CHECK_FALSE(spiralkit::qlinear_siblings_fusable(a.plan, b.plan, plain, 1));  // GEMV rows: run apart
  const spiralkit::QLinearPlan* plans[2] = {&a.plan, &other_k.plan};
  spiralkit::Epilogue eps[2];
  std::vector<float> x(64 * 68, 0.5f), y0(64 * 16), y1(64 * 16);
  float* ys[2] = {y0.data(), y1.data()};
  const spiralkit::Status st = spiralkit::qlinear_siblings_forward(plans, eps, 2, x.data(), 64, ys);
  CHECK_FALSE(st.ok());
  CHECK(st.message().find("cannot share the input") != std::string::npos);
}
