// Small helpers shared by the C++ tests: seeded random weights pruned to a pattern, and a plain
// dense oracle written independently of the kernels.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "core/pattern.h"
#include "runtime/threads.h"
#include "sparse/packed_weight.h"
#include "spiralkit_kernels/f32-sconv.h"

namespace spiralkit_test {

// Sets the engine's thread count for a scope.
struct ThreadCount {
  explicit ThreadCount(int n) : saved(spiralkit::get_num_threads()) { spiralkit::set_num_threads(n); }
  ~ThreadCount() { spiralkit::set_num_threads(saved); }
  int saved;
};

inline std::vector<float> random_vector(int64_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = dist(gen);
  return v;
}

// Zeros that follow `p`: blocks dropped with probability `drop`, N:M keeps the first N of each group
// that a coin flip keeps, unstructured drops elements.
inline std::vector<float> pruned_matrix(int64_t rows, int64_t cols, const spiralkit::Pattern& p, double drop,
                                        uint32_t seed) {
  std::vector<float> w = random_vector(rows * cols, seed);
  std::mt19937 gen(seed + 1);
  std::uniform_real_distribution<double> coin(0.0, 1.0);
  using spiralkit::PatternKind;
  if (p.kind == PatternKind::kUnstructured) {
    for (auto& x : w)
      if (coin(gen) < drop) x = 0.0f;
  } else if (p.kind == PatternKind::kBlock) {
    for (int64_t br = 0; br < rows; br += p.block_rows)
      for (int64_t bc = 0; bc < cols; bc += p.block_cols) {
        if (coin(gen) >= drop) continue;
        for (int64_t r = br; r < std::min<int64_t>(rows, br + p.block_rows); ++r)
          for (int64_t c = bc; c < std::min<int64_t>(cols, bc + p.block_cols); ++c) w[r * cols + c] = 0.0f;
      }
  } else if (p.kind == PatternKind::kNm) {
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t g = 0; g < cols; g += p.nm_m) {
        int kept = 0;
        for (int64_t c = g; c < std::min<int64_t>(cols, g + p.nm_m); ++c) {
          if (kept < p.nm_n && coin(gen) >= drop) {
            ++kept;
          } else {
            w[r * cols + c] = 0.0f;
          }
        }
      }
  }
  return w;
}

inline float max_rel_error(const std::vector<float>& got, const std::vector<float>& want) {
  float worst = 0.0f, scale = 1e-6f;
  for (float v : want) scale = std::max(scale, std::fabs(v));
  for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::fabs(got[i] - want[i]) / scale);
  return worst;
}

// The scalar reference convolution of a whole batch (NCHW): y = act(conv(x) + bias), image by image.
inline std::vector<float> reference_conv2d(const spiralkit::PackedWeight& w, const spiralkit::ConvShape& s,
                                           const float* x, const float* bias, spiralkit::Activation act) {
  const int64_t pixels = s.out_h * s.out_w, in_image = s.in_channels * s.in_h * s.in_w;
  std::vector<float> y(static_cast<size_t>(s.batch * s.out_channels * pixels));
  std::vector<float> scratch(static_cast<size_t>(pixels * spiralkit::conv_reduction(s)));
  spiralkit::ConvShape one = s;
  one.batch = 1;
  for (int64_t img = 0; img < s.batch; ++img) {
    spiralkit::ConvParams cp;
    cp.x = x + img * in_image;
    cp.bias = bias;
    cp.activation = act;
    cp.y = y.data() + img * s.out_channels * pixels;
    cp.scratch = scratch.data();
    spiralkit::spiralkit_f32_sconv_ukernel__reference(w.view(), one, cp);
  }
  return y;
}

}  // namespace spiralkit_test
