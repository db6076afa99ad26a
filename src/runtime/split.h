// Work split by non-zeros: thread t of T gets the panels whose cumulative cost (blocks + a fixed
// per-panel epilogue cost) falls in [t, t+1) * total / T, so unbalanced rows never idle a core.
#pragma once

#include <cstdint>

#include "spiralkit_kernels/panels.h"

namespace spiralkit {

// First panel of thread t (t = T gives w.panels).
inline int64_t split_panels(const PanelView& w, int64_t p_begin, int64_t p_end, int t, int threads) {
  if (t <= 0) return p_begin;
  if (t >= threads) return p_end;
  constexpr int64_t kPanelCost = 2;
  const int64_t base = w.ptr[p_begin] + kPanelCost * p_begin;
  const int64_t total = w.ptr[p_end] + kPanelCost * p_end - base;
  const int64_t target = base + total * t / threads;
  int64_t lo = p_begin, hi = p_end;  // smallest p with cost(p) >= target
  while (lo < hi) {
    const int64_t mid = (lo + hi) / 2;
    if (w.ptr[mid] + kPanelCost * mid < target) lo = mid + 1; else hi = mid;
  }
  return lo;
}

}  // namespace spiralkit
