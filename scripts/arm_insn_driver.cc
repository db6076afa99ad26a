// One kernel call between two marker functions, for scripts/arm_instruction_counts.py: built
// statically for aarch64 and run under qemu-aarch64 with the qemu_insn_window plugin, which counts
// the guest instructions executed from marker_begin to marker_end exactly.
// Usage: arm_insn_driver <kernel> <N> <K> <M> <density> [<calls>]
//   kernel: a registry row name (f32-spmm, f32-spmv, f32-gemv or f32-gemm table), or "none" (an
//   empty window: the count to subtract). The weight is N x K with round(density * blocks) of its
//   Rx1 blocks kept (R from the row; exactly, seeded), activations K x M (spmm) or K (GEMV).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "config/kernel_registry.h"
#include "sparse/kernel_pack.h"

extern "C" __attribute__((noinline)) void marker_begin() { asm volatile("" ::: "memory"); }
extern "C" __attribute__((noinline)) void marker_end() { asm volatile("" ::: "memory"); }

namespace {
template <typename Row>
const Row* find(const std::vector<Row>& table, const std::string& name) {
  for (const Row& row : table)
    if (name == row.name) return &row;
  return nullptr;
}

std::vector<float> block_weight(int64_t n, int64_t k, int r, double density, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> w(static_cast<size_t>(n * k), 0.0f);
  const int64_t panels = (n + r - 1) / r, blocks = panels * k;
  std::vector<int64_t> ids(static_cast<size_t>(blocks));
  std::iota(ids.begin(), ids.end(), 0);
  std::shuffle(ids.begin(), ids.end(), gen);
  const int64_t keep = static_cast<int64_t>(density * static_cast<double>(blocks) + 0.5);
  for (int64_t i = 0; i < keep; ++i) {
    const int64_t p = ids[i] / k, c = ids[i] % k;
    for (int64_t row = p * r; row < std::min<int64_t>(n, p * r + r); ++row) w[row * k + c] = u(gen);
  }
  return w;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: %s <kernel|none> <N> <K> <M> <density> [calls]\n", argv[0]);
    return 2;
  }
  const std::string name = argv[1];
  const int64_t n = std::atoll(argv[2]), k = std::atoll(argv[3]), m = std::atoll(argv[4]);
  const double density = std::atof(argv[5]);
  const int calls = argc > 6 ? std::atoi(argv[6]) : 1;
  std::mt19937 gen(7);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(k * m)), y(static_cast<size_t>(n * m + 64));
  for (float& v : x) v = u(gen);
  using namespace spiralkit;
  if (name == "none") {
    marker_begin();
    marker_end();
    return 0;
  }
  if (const SpmmRow* row = find(spmm_table(), name)) {
    PanelPack pack;
    const auto w = block_weight(n, k, row->r, density, 1);
    build_panels(w.data(), n, k, row->r, density >= 1.0, &pack);
    const PanelView v = pack.view();
    XtArgs a{x.data(), m, m, y.data(), m, nullptr, Activation::kNone};
    marker_begin();
    for (int c = 0; c < calls; ++c) row->fn(v, 0, v.panels, a);
    marker_end();
  } else if (const SpmvRow* row = find(spmv_table(), name)) {
    PanelPack pack;
    const auto w = block_weight(n, k, row->r, density, 1);
    build_panels(w.data(), n, k, row->r, density >= 1.0, &pack);
    const PanelView v = pack.view();
    marker_begin();
    for (int c = 0; c < calls; ++c) row->fn(v, 0, v.panels, x.data(), y.data(), nullptr, Activation::kNone);
    marker_end();
  } else if (const GemvRow* row = find(gemv_table(), name)) {
    const auto w = block_weight(n, k, 1, 1.0, 1);
    marker_begin();
    for (int c = 0; c < calls; ++c) row->fn(w.data(), k, 0, n, x.data(), y.data(), nullptr, Activation::kNone);
    marker_end();
  } else if (const GemmRow* row = find(gemm_table(), name)) {  // c[M x N] = x^T-shaped a[M x K] b[K x N]
    const auto b = block_weight(k, n, 1, 1.0, 1);
    std::vector<float> c(static_cast<size_t>(m * n));
    marker_begin();
    for (int i = 0; i < calls; ++i) row->fn(m, n, k, x.data(), k, b.data(), n, c.data(), n);
    marker_end();
  } else {
    std::fprintf(stderr, "unknown kernel row: %s\n", name.c_str());
    return 2;
  }
  std::printf("checksum %g\n", static_cast<double>(std::accumulate(y.begin(), y.end(), 0.0f)));
  return 0;
}
