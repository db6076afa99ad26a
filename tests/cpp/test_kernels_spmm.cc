// Every f32-spmm and f32-spmv registry row (those the CPU can run) against the scalar reference,
// over named edge cases and random shapes. Also the dispatch check the qemu CI script relies on.
#include <doctest/doctest.h>

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "config/kernel_registry.h"
#include "sparse/kernel_pack.h"
#include "spiralkit_kernels/f32-spmm.h"
#include "test_helpers.h"

using spiralkit::Activation;
using spiralkit::Pattern;
using spiralkit::PatternKind;

namespace {

struct Case {
  const char* name;
  int64_t rows, cols, m;
  double drop;  // fraction of R x 1 blocks dropped (1.0: all zero; 0.0: fully dense)
  bool bias;
  Activation act;
};

// Named edge cases; rows/m chosen against every tile (R = 1/4/8, tiles 4..128 columns).
std::vector<Case> named_cases() {
  return {
      {"rows not a multiple of the tile", 13, 37, 19, 0.6, true, Activation::kNone},
      {"K = 1", 9, 1, 21, 0.3, true, Activation::kRelu},
      {"one row", 1, 50, 33, 0.5, false, Activation::kNone},
      {"all-zero weight (empty rows)", 16, 40, 17, 1.0, true, Activation::kRelu6},
      {"fully dense", 24, 33, 50, 0.0, true, Activation::kNone},
      {"m = 1", 17, 70, 1, 0.7, true, Activation::kGelu},
      {"m = 2", 17, 70, 2, 0.7, false, Activation::kSilu},
      {"m spans several tiles + tail", 20, 45, 3 * 128 + 5, 0.8, true, Activation::kSigmoid},
      {"m = 7x7 pixels (a full tile + a one-column tail)", 20, 45, 49, 0.6, true, Activation::kRelu6},
      {"m one below a vector", 8, 30, 15, 0.5, true, Activation::kRelu},
      {"m exactly one vector", 8, 30, 16, 0.5, true, Activation::kNone},
      {"sparse 95%", 64, 300, 40, 0.95, true, Activation::kNone},
  };
}

// Reference output (M x N) for dense weight w (N x K) with `drop`-pruned R x 1 blocks.
std::vector<float> reference(const std::vector<float>& w, const std::vector<float>& x, const float* bias, int64_t rows,
                             int64_t cols, int64_t m, Activation act) {
  spiralkit::SparseMatrixView v;
  v.format = spiralkit::Format::kDense;
  v.rows = rows;
  v.cols = cols;
  v.values = w.data();
  spiralkit::SpmmParams p;
  p.m = m;
  p.x = x.data();
  p.x_stride_m = cols;
  p.n_begin = 0;
  p.n_end = rows;
  p.bias = bias;
  p.activation = act;
  std::vector<float> y(static_cast<size_t>(m * rows));
  p.y = y.data();
  p.y_stride_m = rows;
  p.y_stride_n = 1;
  spiralkit::spiralkit_f32_spmm_ukernel__reference(v, p);
  return y;
}

struct Inputs {
  std::vector<float> w, x, bias;
  spiralkit::PanelPack pack;
};

Inputs make(const Case& c, int r, uint32_t seed) {
  Inputs in;
  const Pattern p = r == 1 ? Pattern{PatternKind::kUnstructured} : Pattern{PatternKind::kBlock, r, 1, 0, 0};
  in.w = spiralkit_test::pruned_matrix(c.rows, c.cols, p, c.drop, seed);
  if (c.drop >= 1.0) std::fill(in.w.begin(), in.w.end(), 0.0f);
  in.x = spiralkit_test::random_vector(c.m * c.cols, seed + 7);
  in.bias = spiralkit_test::random_vector(c.rows, seed + 9);
  spiralkit::build_panels(in.w.data(), c.rows, c.cols, r, c.drop == 0.0, &in.pack);
  return in;
}

void check_spmm_row(const spiralkit::SpmmRow& row, const Case& c, uint32_t seed, bool with_residual = false) {
  CAPTURE(std::string(row.name));
  CAPTURE(std::string(c.name));
  CAPTURE(c.rows);
  CAPTURE(c.cols);
  CAPTURE(c.m);
  CAPTURE(with_residual);
  Inputs in = make(c, row.r, seed);
  const float* bias = c.bias ? in.bias.data() : nullptr;
  auto want = reference(in.w, in.x, bias, c.rows, c.cols, c.m, with_residual ? Activation::kNone : c.act);
  // The residual (N x M like the output, same padded stride): want = act(W x + b + residual).
  const int64_t ldr = c.m + 5;
  std::vector<float> residual(static_cast<size_t>(c.rows * ldr), 1e30f);
  if (with_residual) {
    auto r = spiralkit_test::random_vector(c.rows * c.m, seed + 11);
    for (int64_t n = 0; n < c.rows; ++n)
      for (int64_t i = 0; i < c.m; ++i) {
        residual[n * ldr + i] = r[n * c.m + i];
        want[i * c.rows + n] = spiralkit::apply_activation(want[i * c.rows + n] + r[n * c.m + i], c.act);
      }
  }
  // K x M input with a padded leading dimension; N x M output likewise.
  const int64_t ldx = c.m + 3, ldy = c.m + 5;
  std::vector<float> xt(static_cast<size_t>(c.cols * ldx), 1e30f), yt(static_cast<size_t>(c.rows * ldy), -7.0f);
  for (int64_t i = 0; i < c.m; ++i)
    for (int64_t k = 0; k < c.cols; ++k) xt[k * ldx + i] = in.x[i * c.cols + k];
  const spiralkit::PanelView v = in.pack.view();
  spiralkit::XtArgs a{xt.data(), ldx, c.m, yt.data(), ldy, bias, c.act};
  if (with_residual) a.residual = residual.data();
  // Two calls over a split panel range: exercises p_begin/p_end as the drivers use them.
  const int64_t mid = v.panels / 2;
  row.fn(v, 0, mid, a);
  row.fn(v, mid, v.panels, a);
  std::vector<float> got(static_cast<size_t>(c.m * c.rows));
  for (int64_t n = 0; n < c.rows; ++n)
    for (int64_t i = 0; i < c.m; ++i) got[i * c.rows + n] = yt[n * ldy + i];
  CHECK(spiralkit_test::max_rel_error(got, want) < 1e-5f);
  // Padding columns of the output are never written.
  for (int64_t n = 0; n < c.rows; ++n)
    for (int64_t i = c.m; i < ldy; ++i) REQUIRE(yt[n * ldy + i] == -7.0f);
}

void check_spmv_row(const spiralkit::SpmvRow& row, Case c, uint32_t seed) {
  c.m = 1;
  CAPTURE(std::string(row.name));
  CAPTURE(std::string(c.name));
  Inputs in = make(c, row.r, seed);
  const float* bias = c.bias ? in.bias.data() : nullptr;
  const auto want = reference(in.w, in.x, bias, c.rows, c.cols, 1, c.act);
  std::vector<float> got(static_cast<size_t>(c.rows), -7.0f);
  const spiralkit::PanelView v = in.pack.view();
  REQUIRE(v.kidx16 != nullptr);
  const int64_t mid = v.panels / 3;
  row.fn(v, 0, mid, in.x.data(), got.data(), bias, c.act);
  row.fn(v, mid, v.panels, in.x.data(), got.data(), bias, c.act);
  CHECK(spiralkit_test::max_rel_error(got, want) < 1e-5f);
}

}  // namespace

TEST_CASE("every f32-spmm registry row matches the reference on named edge cases") {
  for (const auto& row : spiralkit::spmm_table()) {
    if (!spiralkit::isa_allows(row.isa)) continue;
    uint32_t seed = 100;
    for (const auto& c : named_cases()) {
      check_spmm_row(row, c, seed, false);
      check_spmm_row(row, c, seed++, true);
    }
  }
}

TEST_CASE("every f32-spmm registry row matches the reference on random shapes") {
  std::mt19937 gen(2024);
  std::uniform_int_distribution<int64_t> rows(1, 70), cols(1, 200), m(1, 300);
  std::uniform_real_distribution<double> drop(0.0, 1.0);
  const Activation acts[] = {Activation::kNone, Activation::kRelu, Activation::kRelu6, Activation::kGelu};
  for (int trial = 0; trial < 40; ++trial) {
    const Case c{"random", rows(gen), cols(gen), m(gen), drop(gen), trial % 2 == 0, acts[trial % 4]};
    for (const auto& row : spiralkit::spmm_table())
      if (spiralkit::isa_allows(row.isa)) check_spmm_row(row, c, 500 + trial, trial % 3 == 0);
  }
}

TEST_CASE("every f32-spmv registry row matches the reference") {
  std::mt19937 gen(77);
  std::uniform_int_distribution<int64_t> rows(1, 90), cols(1, 400);
  std::vector<Case> cases = named_cases();
  for (int trial = 0; trial < 30; ++trial)
    cases.push_back({"random", rows(gen), cols(gen), 1, double(trial) / 30.0, trial % 2 == 1, Activation::kRelu});
  for (const auto& row : spiralkit::spmv_table()) {
    if (!spiralkit::isa_allows(row.isa)) continue;
    uint32_t seed = 900;
    for (const auto& c : cases) check_spmv_row(row, c, seed++);
  }
}

TEST_CASE("every f32-transpose registry row transposes exactly") {
  for (const auto& row : spiralkit::transpose_table()) {
    if (!spiralkit::isa_allows(row.isa)) continue;
    CAPTURE(std::string(row.name));
    for (auto shape : {std::pair<int64_t, int64_t>{1, 1}, {8, 8}, {7, 9}, {33, 70}, {128, 768}, {3, 100}}) {
      const int64_t r = shape.first, c = shape.second, ldi = c + 2, ldo = r + 3;
      auto in = spiralkit_test::random_vector(r * ldi, 5);
      std::vector<float> out(static_cast<size_t>(c * ldo), 0.0f);
      row.fn(in.data(), ldi, r, c, out.data(), ldo);
      for (int64_t i = 0; i < r; ++i)
        for (int64_t j = 0; j < c; ++j) REQUIRE(out[j * ldo + i] == in[i * ldi + j]);
    }
  }
}

TEST_CASE("dispatch picks the best kernel the active ISA allows (SPIRALKIT_EXPECT_ISA)") {
  const auto& f = spiralkit::cpu_features();
  const char* expect = std::getenv("SPIRALKIT_EXPECT_ISA");
  MESSAGE("active ISA: " << std::string(spiralkit::isa_name(f.active)) << ", spmm 8x1: "
                          << std::string(spiralkit::select_spmm(8)->name));
  const spiralkit::Isa want = f.active;  // every level (x86 and NEON) has its own rows
  for (int r : {1, 4, 8}) {
    CHECK(spiralkit::select_spmm(r)->isa == want);
    CHECK(spiralkit::select_spmv(r)->isa == want);
  }
  if (expect) CHECK(std::string(spiralkit::isa_name(f.active)) == expect);
}

TEST_CASE("every f32-gemv registry row matches the reference (dense fallback GEMV)") {
  std::mt19937 gen(31);
  std::uniform_int_distribution<int64_t> rows(1, 70), cols(1, 300);
  std::vector<Case> cases = named_cases();
  for (int trial = 0; trial < 20; ++trial)
    cases.push_back({"random", rows(gen), cols(gen), 1, 0.0, trial % 2 == 0, Activation::kGelu});
  for (const auto& row : spiralkit::gemv_table()) {
    if (!spiralkit::isa_allows(row.isa)) continue;
    uint32_t seed = 300;
    for (const auto& c : cases) {
      CAPTURE(std::string(row.name));
      CAPTURE(std::string(c.name));
      Inputs in = make(c, 1, seed++);
      const float* bias = c.bias ? in.bias.data() : nullptr;
      const auto want = reference(in.w, in.x, bias, c.rows, c.cols, 1, c.act);
      std::vector<float> got(static_cast<size_t>(c.rows), -7.0f);
      const int64_t mid = c.rows / 2;  // split ranges as the driver does (any row boundary)
      row.fn(in.w.data(), c.cols, 0, mid, in.x.data(), got.data(), bias, c.act);
      row.fn(in.w.data(), c.cols, mid, c.rows, in.x.data(), got.data(), bias, c.act);
      CHECK(spiralkit_test::max_rel_error(got, want) < 1e-5f);
    }
  }
}
