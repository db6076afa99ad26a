// Kernel microbenchmark that expands the registry: every row of f32-spmm, f32-spmv, f32-gemv and
// f32-gemm the CPU allows (x86 or NEON; the f16-spmm rows where FEAT_FP16 is), at BERT-base shapes
// and 90 % 4x1 sparsity, timed natively. Prints median us per call and ratios against the family's
// first (best) row and, for sparse rows, against the dense row in the same run. Then the int8
// linear rows (qs8-spmm at 90 % 1x4 / 4x4, qs8-gemm dense; 128 rows, fp32 out) against the fp32 4x1
// row at 90 % timed beside them: the kernels alone, without quantizing x. Then depthwise 3x3
// at MobileNet-v2 shapes: every f32-dwconv row and every qs8-dwconv row (uint8 in and out), the
// int8 rows against the first fp32 row.
// Never run it under qemu: emulated timings mean nothing (use scripts/arm_instruction_counts.py).
// Usage: spiralkit_bench_kernels [repeats=20]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "config/kernel_registry.h"
#include "core/aligned_vector.h"
#include "config/kernel_registry_f16.h"
#include "config/kernel_registry_i8.h"
#include "sparse/kernel_pack.h"
#include "sparse/packed_weight_i8.h"

using namespace spiralkit;

namespace {

int g_repeats = 20;

// Operands in cache-line aligned storage, as the engine's scratch and arena are: with malloc's
// 16-byte alignment every 64-byte load of a K x M row straddles two lines (the int8 1x4 row ran
// ~1.4x slower that way, the fp32 4x1 row ~1.2x; Zen 5, 768 x 768 x 128).
template <typename T>
using Buffer = CacheAlignedVector<T>;

template <typename F>
double median_us(F&& call) {
  for (int i = 0; i < 3; ++i) call();  // warm up
  std::vector<double> t;
  for (int i = 0; i < g_repeats; ++i) {
    const auto a = std::chrono::steady_clock::now();
    call();
    t.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - a).count());
  }
  std::nth_element(t.begin(), t.begin() + t.size() / 2, t.end());
  return t[t.size() / 2];
}

// r x c blocks (r rows, c consecutive K) kept with probability `density`: c = 1 for the fp32 r x 1
// patterns, 4 for the int8 1x4 / 4x4 ones.
std::vector<float> weight(int64_t n, int64_t k, int r, double density, uint32_t seed, int c = 1) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::bernoulli_distribution keep(density);
  std::vector<float> w(static_cast<size_t>(n * k), 0.0f);
  for (int64_t p = 0; p < n; p += r)
    for (int64_t k0 = 0; k0 < k; k0 += c)
      if (keep(gen))
        for (int64_t i = p; i < std::min(n, p + r); ++i)
          for (int64_t j = k0; j < std::min(k, k0 + c); ++j) w[i * k + j] = u(gen);
  return w;
}

void report(const char* family, const std::string& name, const char* shape, double us, double dense_us) {
  std::printf("%-14s %-46s %-20s %10.1f us", family, name.c_str(), shape, us);
  if (dense_us > 0) std::printf("   %5.2fx vs dense", dense_us / us);
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) g_repeats = std::max(3, std::atoi(argv[1]));
  std::printf("active ISA: %s; median of %d calls, 1 thread\n", isa_name(cpu_features().active), g_repeats);
  const int64_t shapes[][2] = {{768, 768}, {3072, 768}, {768, 3072}};  // N x K (out x in)
  std::mt19937 gen(3);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (const auto& s : shapes) {
    const int64_t n = s[0], k = s[1], m = 128;
    char shape[64];
    Buffer<float> x(static_cast<size_t>(k * m)), y(static_cast<size_t>(n * m));
    for (float& v : x) v = u(gen);
    const auto dense = weight(n, k, 1, 1.0, 1);
    // One row: dense GEMV vs the sparse GEMV rows.
    std::snprintf(shape, sizeof(shape), "%lldx%lld m=1", (long long)n, (long long)k);
    double gemv_us = 0;
    for (const auto& row : gemv_table()) {
      if (!isa_allows(row.isa)) continue;
      const double us = median_us([&] { row.fn(dense.data(), k, 0, n, x.data(), y.data(), nullptr, Activation::kNone); });
      if (gemv_us == 0) gemv_us = us;
      report("f32-gemv", row.name, shape, us, 0);
    }
    for (const auto& row : spmv_table()) {
      if (!isa_allows(row.isa)) continue;
      PanelPack pack;
      const auto w = weight(n, k, row.r, 0.1, 2);
      build_panels(w.data(), n, k, row.r, false, &pack);
      const PanelView v = pack.view();
      report("f32-spmv", row.name, shape,
             median_us([&] { row.fn(v, 0, v.panels, x.data(), y.data(), nullptr, Activation::kNone); }), gemv_us);
    }
    // 128 rows, K x M: the dense fallback (8x1 over full panels) vs every spmm row at 90 %.
    std::snprintf(shape, sizeof(shape), "%lldx%lld m=%lld", (long long)n, (long long)k, (long long)m);
    const XtArgs a{x.data(), m, m, y.data(), m, nullptr, Activation::kNone};
    PanelPack full;
    build_panels(dense.data(), n, k, 8, true, &full);
    const PanelView fv = full.view();
    const double dense_us = median_us([&] { select_spmm(8)->fn(fv, 0, fv.panels, a); });
    report("f32-spmm", std::string(select_spmm(8)->name) + " (dense)", shape, dense_us, 0);
    for (const auto& row : spmm_table()) {
      if (!isa_allows(row.isa)) continue;
      PanelPack pack;
      const auto w = weight(n, k, row.r, 0.1, 2);
      build_panels(w.data(), n, k, row.r, false, &pack);
      const PanelView v = pack.view();
      report("f32-spmm", row.name, shape, median_us([&] { row.fn(v, 0, v.panels, a); }), dense_us);
    }
    for (const auto& row : f16_spmm_table()) {
      if (!isa_allows(row.isa)) continue;
      PanelPack pack;
      const auto w = weight(n, k, row.r, 0.1, 2);
      build_panels(w.data(), n, k, row.r, false, &pack);
      const PanelView v = pack.view();
      std::vector<uint16_t> vals16(static_cast<size_t>(v.ptr[v.panels]) * v.r);
      Buffer<uint16_t> x16(x.size());
      for (size_t i = 0; i < vals16.size(); ++i) vals16[i] = f32_to_f16_bits(v.vals[i]);
      for (size_t i = 0; i < x.size(); ++i) x16[i] = f32_to_f16_bits(x[i]);
      const XtArgsF16 ah{x16.data(), m, m, y.data(), m, nullptr, Activation::kNone};
      report("f16-spmm", row.name, shape, median_us([&] { row.fn(v, vals16.data(), 0, v.panels, ah); }), dense_us);
    }
  }
  // int8 linear at the same shapes, 128 rows, fp32 out: every qs8-spmm row at 90 % of its block
  // (1x4 or 4x4) and every qs8-gemm row (dense), each against the fp32 4x1 row at 90 % timed here.
  for (const auto& s : shapes) {
    const int64_t n = s[0], k = s[1], m = 128, groups = (k + 3) / 4;
    char shape[64];
    std::snprintf(shape, sizeof(shape), "%lldx%lld m=%lld", (long long)n, (long long)k, (long long)m);
    Buffer<float> x(static_cast<size_t>(k * m)), y(static_cast<size_t>(n * m));
    for (float& v : x) v = u(gen);
    PanelPack pack41;
    const auto w41 = weight(n, k, 4, 0.1, 2);
    build_panels(w41.data(), n, k, 4, false, &pack41);
    const PanelView v41 = pack41.view();
    const XtArgs a{x.data(), m, m, y.data(), m, nullptr, Activation::kNone};
    const double f32_us = median_us([&] { select_spmm(4)->fn(v41, 0, v41.panels, a); });
    Buffer<uint8_t> xq(static_cast<size_t>(groups * m * 4));
    for (size_t i = 0; i < xq.size(); ++i) xq[i] = static_cast<uint8_t>(gen());
    std::vector<float> scale(static_cast<size_t>(n), 1e-3f);
    QXtArgs qa;
    qa.x = xq.data();
    qa.ldx = m;
    qa.m = m;
    qa.x_zero_point = 128;
    qa.out.scale = scale.data();
    qa.out.y_f32 = y.data();
    qa.out.y_base = y.data();
    qa.ldy = m;
    auto run_rows = [&](const std::vector<QSpmmRow>& table, const char* family, bool dense) {
      for (const auto& row : table) {
        if (!isa_allows(row.isa)) continue;
        const int r = dense ? 1 : row.r;
        const auto wf = dense ? weight(n, k, 1, 1.0, 4) : weight(n, k, r, 0.1, 5, 4);
        std::unique_ptr<PackedWeightI8> w;
        const Pattern pat = dense ? Pattern{} : Pattern{PatternKind::kBlock, r, 4, 0, 0};
        if (!quantize_weight_i8(wf.data(), n, k, pat, &w).ok()) continue;
        const QPanelView v = (dense ? w->dense_panels() : w->panels).view();
        const double us = median_us([&] { row.fn(v, 0, v.panels, qa); });
        std::printf("%-14s %-46s %-20s %10.1f us   %5.2fx vs fp32 4x1 at 90 %%%s\n", family, row.name, shape, us,
                    f32_us / us, dense ? " (dense)" : "");
      }
    };
    report("f32-spmm", std::string(select_spmm(4)->name) + " (the baseline)", shape, f32_us, 0);
    run_rows(qs8_spmm_table(), "qs8-spmm", false);
    run_rows(qs8_gemm_table(), "qs8-gemm", true);
  }
  // Dense activation GEMM (attention products): 128 x 128 by K = 768.
  {
    const int64_t m = 128, n = 128, k = 768;
    Buffer<float> a(m * k), b(k * n), c(m * n);
    for (float& v : a) v = u(gen);
    for (float& v : b) v = u(gen);
    for (const auto& row : gemm_table()) {
      if (!isa_allows(row.isa)) continue;
      report("f32-gemm", row.name, "128x768 * 768x128",
             median_us([&] { row.fn(m, n, k, a.data(), k, b.data(), n, c.data(), n); }), 0);
    }
  }
  // Depthwise 3x3 over whole layers (every channel plane), fp32 vs int8.
  struct DwShape { int64_t c, h; int stride; };
  for (const DwShape& d : {DwShape{144, 56, 1}, DwShape{96, 112, 2}, DwShape{960, 7, 1}}) {
    char shape[64];
    std::snprintf(shape, sizeof(shape), "%lldx%lld^2 s%d", (long long)d.c, (long long)d.h, d.stride);
    const int64_t oh = (d.h + 2 - 3) / d.stride + 1, in_px = d.h * d.h, out_px = oh * oh;
    Buffer<float> xf(static_cast<size_t>(d.c * in_px)), wf(static_cast<size_t>(9 * d.c)), yf(static_cast<size_t>(d.c * out_px));
    for (float& v : xf) v = u(gen);
    for (float& v : wf) v = u(gen);
    Buffer<uint8_t> xq(xf.size(), 100), yq(yf.size());
    std::vector<int8_t> wq(wf.size(), 3);
    const float scale = 0.01f, bias = 0.1f;
    double f32_us = 0;
    for (const auto& row : dwconv_table()) {
      if (!isa_allows(row.isa)) continue;
      const double us = median_us([&] {
        for (int64_t c = 0; c < d.c; ++c) {
          DwArgs a;
          a.x = xf.data() + c * in_px;
          a.in_h = a.in_w = d.h;
          a.out_h = a.out_w = oh;
          a.w = wf.data() + 9 * c;
          a.kh = a.kw = 3;
          a.stride_h = a.stride_w = d.stride;
          a.pad_h = a.pad_w = 1;
          a.act = Activation::kRelu6;
          a.y = yf.data() + c * out_px;
          row.fn(a);
        }
      });
      if (f32_us == 0) f32_us = us;
      report("f32-dwconv", row.name, shape, us, 0);
    }
    for (const auto& row : qs8_dwconv_table()) {
      if (!isa_allows(row.isa)) continue;
      std::vector<float> work;
      const double us = median_us([&] {
        for (int64_t c = 0; c < d.c; ++c) {
          QDwArgs a;
          a.x = xq.data() + c * in_px;
          a.in_h = a.in_w = d.h;
          a.out_h = a.out_w = oh;
          a.w = wq.data() + 9 * c;
          a.kh = a.kw = 3;
          a.stride_h = a.stride_w = d.stride;
          a.pad_h = a.pad_w = 1;
          a.x_zero_point = 5;
          a.out.scale = &scale;
          a.out.bias = &bias;
          a.out.act = Activation::kRelu6;
          a.out.y_u8 = yq.data() + c * out_px;
          a.out.out_inv_scale = 10.0f;
          if (work.size() < static_cast<size_t>(qs8_dwconv_work_floats(a))) work.resize(qs8_dwconv_work_floats(a));
          a.work = work.data();
          row.fn(a);
        }
      });
      std::printf("%-14s %-46s %-20s %10.1f us   %5.2fx vs the fp32 row\n", "qs8-dwconv", row.name, shape, us, f32_us / us);
    }
  }
  return 0;
}
