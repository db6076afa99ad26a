#include "ops/qlinear_pair.h"

#include <algorithm>
#include <string>

#include "config/kernel_registry_i8.h"
#include "core/aligned_vector.h"
#include "ops/planner.h"
#include "ops/qactivations.h"
#include "runtime/threads.h"

namespace spiralkit {
namespace {

template <typename T>
CacheAlignedVector<T>& scratch(int i) {
  thread_local CacheAlignedVector<T> buffers[4];
  return buffers[i];
}

QPanelView planned_view(const QLinearPlan& p, int64_t m, PlanChoice choice, bool* dense) {
  *dense = qplan_dense(*p.w, m, choice);
  return (*dense ? p.w->dense_panels() : p.w->panels).view();
}

QSpmmFn kernel_for(const QPanelView& v, bool dense) {
  return dense ? select_qs8_gemm()->fn : select_qs8_spmm(v.r)->fn;
}

// Thread t's first panel of up, on a 4-row boundary: each thread writes whole groups of down's K.
int64_t split_on_groups(const QPanelView& v, int t, int nt) {
  if (t >= nt) return v.panels;
  const int64_t align = 4 / v.r;
  return std::min(v.panels, split_qpanels(v, 0, v.panels, t, nt) / align * align);
}

}  // namespace

bool qlinear_pair_fusable(const QLinearPlan& up, const Epilogue& up_ep, const QLinearPlan& down, int64_t m) {
  if (!up.w || !down.w || m < kGemvRows || up_ep.residual) return false;
  if (up.w->rows != down.w->cols || up.w->rows % 4 != 0) return false;
  bool dense = false;
  const QPanelView v = planned_view(up, m, up_ep.choice, &dense);
  return v.r > 0 && 4 % v.r == 0;
}

Status qlinear_pair_forward(const QLinearPlan& up, Epilogue up_ep, const QLinearPlan& down, Epilogue down_ep,
                            const float* x, int64_t m, float* y) {
  if (!up.w || !down.w) return Status::InvalidArgument("plan: not planned");
  if (m < 0) return Status::InvalidArgument("x: negative row count");
  if (m == 0) return Status::Ok();
  if (!qlinear_pair_fusable(up, up_ep, down, m))
    return Status::InvalidArgument("qlinear pair: these layers do not chain as a pair at " + std::to_string(m) +
                                   " rows");
  down_ep.base_ = y;
  bool up_dense = false, down_dense = false;
  const QPanelView vu = planned_view(up, m, up_ep.choice, &up_dense);
  const QPanelView vd = planned_view(down, m, down_ep.choice, &down_dense);
  const QSpmmFn up_fn = kernel_for(vu, up_dense), down_fn = kernel_for(vd, down_dense);
  const int64_t k_up = up.w->cols, n_down = down.w->rows, widest = std::max(vu.groups, vd.groups);
  const int64_t strip = std::min(qxt_ldx(m), std::max<int64_t>(16, kQStripBytes / (widest * 4) / 16 * 16));
  const int64_t ldx = qxt_ldx(strip);
  CacheAlignedVector<uint8_t>& xq = scratch<uint8_t>(0);       // strip rows of x, row-major
  CacheAlignedVector<uint8_t>& xt_up = scratch<uint8_t>(1);    // x in up's K x M layout
  CacheAlignedVector<uint8_t>& xt_down = scratch<uint8_t>(2);  // act(up(x)) in down's K x M layout
  if (xq.size() < static_cast<size_t>(strip * vu.groups * 4)) xq.resize(static_cast<size_t>(strip * vu.groups * 4));
  if (xt_up.size() < static_cast<size_t>(ldx * vu.groups * 4)) xt_up.resize(static_cast<size_t>(ldx * vu.groups * 4));
  if (xt_down.size() < static_cast<size_t>(ldx * vd.groups * 4))
    xt_down.resize(static_cast<size_t>(ldx * vd.groups * 4));
  uint8_t* xqp = xq.data();
  uint8_t* xup = xt_up.data();
  uint8_t* xdown = xt_down.data();
  const QOutput up_out = qlinear_output(up, up_ep), down_out = qlinear_output(down, down_ep);
  const float up_inv = 1.0f / up.x.scale, down_inv = 1.0f / down.x.scale;
  const int32_t down_zp = down.x.zero_point;
  const int64_t up_chunk = std::max<int64_t>(4 / vu.r, kQChunkRows / vu.r);
  const int threads = std::max(qlinear_threads(vu, m), qlinear_threads(vd, m));
  parallel_run(threads, [&](int t, int nt) {
    const int64_t u0 = split_on_groups(vu, t, nt), u1 = split_on_groups(vu, t + 1, nt);
    const int64_t d0 = split_qpanels(vd, 0, vd.panels, t, nt), d1 = split_qpanels(vd, 0, vd.panels, t + 1, nt);
    CacheAlignedVector<float>& ys = scratch<float>(3);  // one chunk of rows x ldx (either layer's)
    CacheAlignedVector<uint8_t>& q4 = scratch<uint8_t>(3);  // four quantized rows of a chunk
    if (ys.size() < static_cast<size_t>(kQChunkRows * ldx)) ys.resize(static_cast<size_t>(kQChunkRows * ldx));
    if (q4.size() < static_cast<size_t>(4 * ldx)) q4.resize(static_cast<size_t>(4 * ldx));
    uint8_t* q = q4.data();
    for (int64_t m0 = 0; m0 < m; m0 += strip) {
      const int64_t ms = std::min(strip, m - m0);
      quantize_strip_share(x + m0 * k_up, ms, k_up, vu.groups, up_inv, up.x.zero_point, t, nt, xqp, xup, ldx);
      if (nt > 1) {
#pragma omp barrier
      }
      for (int64_t c0 = u0; c0 < u1; c0 += up_chunk) {
        const int64_t c1 = std::min(u1, c0 + up_chunk);
        const int64_t n0 = c0 * vu.r, n1 = std::min(c1 * vu.r, vu.rows);
        QXtArgs a;
        a.x = xup;
        a.ldx = ldx;
        a.m = ms;
        a.x_zero_point = up.x.zero_point;
        a.out = up_out;
        a.out.y_f32 = ys.data();
        a.ldy = ldx;
        a.y_row0 = n0;
        up_fn(vu, c0, c1, a);
        up_ep.apply(ys.data(), ldx, n1 - n0, ms);  // the activation only (no residual): any layout
        for (int64_t r = 0; r < n1 - n0; r += 4)
          quantize_group4(ys.data() + r * ldx, ldx, ms, down_inv, down_zp, q, ldx, xdown + (n0 + r) / 4 * ldx * 4);
      }
      if (nt > 1) {
#pragma omp barrier
      }
      qxt_panels_into_rows(vd, down_fn, down_out, xdown, ldx, ms, down_zp, d0, d1, down_ep, y + m0 * n_down,
                           ys.data());
      if (nt > 1) {
#pragma omp barrier
      }
    }
  });
  return Status::Ok();
}

}  // namespace spiralkit
