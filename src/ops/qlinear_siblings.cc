#include "ops/qlinear_siblings.h"

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
  thread_local CacheAlignedVector<T> buffers[3];
  return buffers[i];
}

struct Planned {
  QPanelView view;
  QSpmmFn spmm = nullptr;
  QOutput out;
};

}  // namespace

bool qlinear_siblings_fusable(const QLinearPlan& a, const QLinearPlan& b, const Epilogue& b_ep, int64_t m) {
  if (!a.w || !b.w || m < kGemvRows || b_ep.residual) return false;
  return a.w->cols == b.w->cols && a.x.scale == b.x.scale && a.x.zero_point == b.x.zero_point;
}

Status qlinear_siblings_forward(const QLinearPlan* const* plans, const Epilogue* eps, const int count, const float* x,
                                int64_t m, float* const* ys) {
  if (count < 1 || count > kMaxQLinearSiblings)
    return Status::InvalidArgument("qlinear siblings: expected 1 to " + std::to_string(kMaxQLinearSiblings) +
                                   " layers, got " + std::to_string(count));
  if (m < 0) return Status::InvalidArgument("x: negative row count");
  if (m == 0) return Status::Ok();
  for (int i = 0; i < count; ++i) {
    if (!plans[i] || !plans[i]->w) return Status::InvalidArgument("plan: not planned");
    if (i > 0 && !qlinear_siblings_fusable(*plans[0], *plans[i], eps[i], m))
      return Status::InvalidArgument("qlinear siblings: layer " + std::to_string(i) + " cannot share the input at " +
                                     std::to_string(m) + " rows");
  }
  if (m < kGemvRows) return Status::InvalidArgument("qlinear siblings: fewer rows than the K x M kernels take");
  Planned p[kMaxQLinearSiblings];
  Epilogue ep[kMaxQLinearSiblings];
  int threads = 1;
  for (int i = 0; i < count; ++i) {
    ep[i] = eps[i];
    ep[i].base_ = ys[i];
    const bool dense = qplan_dense(*plans[i]->w, m, ep[i].choice);
    p[i].view = (dense ? plans[i]->w->dense_panels() : plans[i]->w->panels).view();
    p[i].spmm = dense ? select_qs8_gemm()->fn : select_qs8_spmm(p[i].view.r)->fn;
    p[i].out = qlinear_output(*plans[i], ep[i]);
    threads = std::max(threads, qlinear_threads(p[i].view, m));
  }
  const QLinearPlan& first = *plans[0];
  const int64_t k = first.w->cols, groups = p[0].view.groups;
  const int64_t strip = std::min(qxt_ldx(m), std::max<int64_t>(16, kQStripBytes / (groups * 4) / 16 * 16));
  const int64_t ldx = qxt_ldx(strip);
  CacheAlignedVector<uint8_t>& xq = scratch<uint8_t>(0);
  CacheAlignedVector<uint8_t>& xt = scratch<uint8_t>(1);
  if (xq.size() < static_cast<size_t>(strip * groups * 4)) xq.resize(static_cast<size_t>(strip * groups * 4));
  if (xt.size() < static_cast<size_t>(ldx * groups * 4)) xt.resize(static_cast<size_t>(ldx * groups * 4));
  uint8_t* xqp = xq.data();
  uint8_t* xtp = xt.data();
  const float inv_scale = 1.0f / first.x.scale;
  const int32_t zero_point = first.x.zero_point;
  parallel_run(threads, [&](int t, int nt) {
    CacheAlignedVector<float>& chunk = scratch<float>(2);
    if (chunk.size() < static_cast<size_t>(kQChunkRows * ldx)) chunk.resize(static_cast<size_t>(kQChunkRows * ldx));
    for (int64_t m0 = 0; m0 < m; m0 += strip) {
      const int64_t ms = std::min(strip, m - m0);
      quantize_strip_share(x + m0 * k, ms, k, groups, inv_scale, zero_point, t, nt, xqp, xtp, ldx);
      if (nt > 1) {
#pragma omp barrier
      }
      for (int i = 0; i < count; ++i) {  // each thread a cost-balanced share of every layer
        const QPanelView& v = p[i].view;
        const int64_t p0 = split_qpanels(v, 0, v.panels, t, nt), p1 = split_qpanels(v, 0, v.panels, t + 1, nt);
        qxt_panels_into_rows(v, p[i].spmm, p[i].out, xtp, ldx, ms, zero_point, p0, p1, ep[i],
                             ys[i] + m0 * v.rows, chunk.data());
      }
      if (nt > 1) {
#pragma omp barrier
      }
    }
  });
  return Status::Ok();
}

}  // namespace spiralkit
