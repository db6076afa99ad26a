// Quantized linear driver. A few rows: each row is quantized into a padded uint8 vector and the
// spmv (1x4 panels) or dense gemv kernel runs straight on it. More rows: the threads quantize a
// strip of x together (row-major uint8, then a 32-bit transpose into the K x M groups-of-4 layout
// the kernels read), meet at a barrier, then each runs its panels in chunks into an N x S fp32
// buffer and transposes the chunk into y.
#include "ops/qlinear.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "config/kernel_registry.h"
#include "config/kernel_registry_i8.h"
#include "core/aligned_vector.h"
#include "ops/planner.h"
#include "ops/qactivations.h"
#include "runtime/threads.h"

namespace spiralkit {
namespace {

// Multiply-adds per thread below which another thread costs more than it saves (a fork/join is
// ~1-10 us; an int8 MAC costs ~1/4 of an fp32 one, so these are 4x the fp32 drivers' thresholds).
constexpr int64_t kMinMacsPerThread = 128 * 1024;
constexpr int64_t kMinGemvMacsPerThread = 1024 * 1024;

template <typename T>
CacheAlignedVector<T>& scratch(int i) {
  thread_local CacheAlignedVector<T> buffers[3];
  return buffers[i];
}

Status few_rows(const QLinearPlan& plan, const QPanelPack& pack, bool dense, const float* x, int64_t m,
                const Epilogue& ep, float* y) {
  const PackedWeightI8& w = *plan.w;
  const QPanelView v = pack.view();
  const QGemvFn fn = dense ? select_qs8_gemv()->fn : select_qs8_spmv()->fn;
  const int64_t ldq = v.groups * 4 + 64;
  CacheAlignedVector<uint8_t>& xq = scratch<uint8_t>(0);
  if (xq.size() < static_cast<size_t>(m * ldq)) xq.resize(static_cast<size_t>(m * ldq));
  quantize_u8_padded(x, m, w.cols, w.cols, 1.0f / plan.x.scale, plan.x.zero_point, xq.data(), ldq);
  const uint8_t* xqp = xq.data();
  const int threads = qlinear_threads(v, m);
  parallel_run(threads, [&](int t, int nt) {
    const int64_t p0 = split_qpanels(v, 0, v.panels, t, nt), p1 = split_qpanels(v, 0, v.panels, t + 1, nt);
    const int64_t n0 = p0 * v.r, n1 = std::min(p1 * v.r, w.rows);
    for (int64_t i = 0; i < m && n1 > n0; ++i) {
      QGemvArgs a;
      a.x = xqp + i * ldq;
      a.x_zero_point = plan.x.zero_point;
      a.out = qlinear_output(plan, ep);
      a.out.y_f32 = y + i * w.rows;
      fn(v, p0, p1, a);
      ep.apply(y + i * w.rows + n0, w.rows, 1, n1 - n0);
    }
  });
  return Status::Ok();
}

}  // namespace

// First panel of thread t: panels split by blocks (+ a per-panel epilogue cost), as split_panels.
int64_t split_qpanels(const QPanelView& v, int64_t p_begin, int64_t p_end, int t, int threads) {
  if (t <= 0) return p_begin;
  if (t >= threads) return p_end;
  constexpr int64_t kPanelCost = 2;
  const int64_t base = v.ptr[p_begin] + kPanelCost * p_begin;
  const int64_t target = base + (v.ptr[p_end] + kPanelCost * p_end - base) * t / threads;
  int64_t lo = p_begin, hi = p_end;
  while (lo < hi) {
    const int64_t mid = (lo + hi) / 2;
    if (v.ptr[mid] + kPanelCost * mid < target) lo = mid + 1; else hi = mid;
  }
  return lo;
}

int qlinear_threads(const QPanelView& v, int64_t m) {
  const int64_t macs = int64_t(v.ptr[v.panels]) * v.r * 4 * m;
  const int64_t by_work = std::max<int64_t>(1, macs / (m < kGemvRows ? kMinGemvMacsPerThread : kMinMacsPerThread));
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>({get_num_threads(), v.panels, by_work})));
}

void quantize_strip_share(const float* x, int64_t ms, int64_t k, int64_t groups, float inv_scale, int32_t zero_point,
                          int t, int nt, uint8_t* xq, uint8_t* xt, int64_t ldx) {
  // Rows [i0, i1) of the strip: quantize, then move their 4-byte groups into columns [i0, i1).
  const int64_t i0 = ms * t / nt, i1 = ms * (t + 1) / nt;
  if (i1 > i0) {
    quantize_u8_padded(x + i0 * k, i1 - i0, k, k, inv_scale, zero_point, xq + i0 * groups * 4, groups * 4);
    select_transpose()->fn(reinterpret_cast<const float*>(xq) + i0 * groups, groups, i1 - i0, groups,
                           reinterpret_cast<float*>(xt) + i0, ldx);
  }
  if (t == nt - 1 && ms < ldx)  // padding columns the kernels may load (never stored)
    for (int64_t g = 0; g < groups; ++g) std::fill(xt + (g * ldx + ms) * 4, xt + (g * ldx + ldx) * 4, uint8_t(0));
}

void qxt_panels_into_rows(const QPanelView& v, QSpmmFn spmm, const QOutput& out, const uint8_t* xt, int64_t ldx,
                          int64_t ms, int32_t x_zero_point, int64_t p0, int64_t p1, const Epilogue& ep, float* y,
                          float* ys) {
  const TransposeFn transpose = select_transpose()->fn;
  const int64_t chunk_panels = std::max<int64_t>(1, kQChunkRows / v.r), n_total = v.rows;
  for (int64_t c0 = p0; c0 < p1; c0 += chunk_panels) {
    const int64_t c1 = std::min(p1, c0 + chunk_panels);
    const int64_t n0 = c0 * v.r, n1 = std::min(c1 * v.r, n_total);
    QXtArgs a;
    a.x = xt;
    a.ldx = ldx;
    a.m = ms;
    a.x_zero_point = x_zero_point;
    a.out = out;
    a.out.y_f32 = ys;
    a.ldy = ldx;
    a.y_row0 = n0;
    spmm(v, c0, c1, a);
    transpose(ys, ldx, n1 - n0, ms, y + n0, n_total);
    ep.apply(y + n0, n_total, ms, n1 - n0);
  }
}

QOutput qlinear_output(const QLinearPlan& plan, const Epilogue& ep) {
  QOutput o;
  o.scale = plan.row_scale.data();
  o.bias = ep.bias;
  o.act = ep.kernel_act();
  return o;
}

Status check_quant_params(const QuantParams& q, const char* what) {
  if (!(q.scale > 0.0f) || !std::isfinite(q.scale) || !std::isfinite(1.0f / q.scale))
    return Status::InvalidArgument(std::string(what) + ": expected a positive finite quantization scale");
  if (q.zero_point < 0 || q.zero_point > 255)
    return Status::InvalidArgument(std::string(what) + ": expected a uint8 zero point in [0, 255], got " +
                                   std::to_string(q.zero_point));
  return Status::Ok();
}

Status qlinear_plan(const PackedWeightI8& w, const QuantParams& x, QLinearPlan* plan) {
  SPIRALKIT_RETURN_IF_ERROR(check_quant_params(x, "x"));
  plan->w = &w;
  plan->x = x;
  plan->row_scale.resize(static_cast<size_t>(w.rows));
  for (int64_t n = 0; n < w.rows; ++n) plan->row_scale[n] = x.scale * w.scales[n];
  return Status::Ok();
}

bool qplan_dense(const PackedWeightI8& w, int64_t m, PlanChoice choice, int64_t blocks) {
  if (w.pattern.kind == PatternKind::kDense || choice == PlanChoice::kDense) return true;
  if (choice == PlanChoice::kSparse) return false;
  const double full = double(w.rows) * double(w.panels.groups);
  const double kept = double(blocks >= 0 ? blocks : w.panels.blocks()) * w.panels.r;
  // Measured (AVX-512 VNNI, benchmarks/int8_kernels.py, 1 thread, CPU time): in a GEMV a gathered
  // 1x4 block costs ~15 dense row-groups (dense wins above ~6.5 % density); in the K x M kernels a
  // 1-row block costs ~3.3 dense row-groups of the 4-row tile (1x4 at 10 % density: ~3x dense).
  return kept > full * (m < kGemvRows ? 0.065 : 0.3);
}

Status qlinear_forward(const QLinearPlan& plan, const float* x, int64_t m, Epilogue ep, float* y) {
  if (!plan.w) return Status::InvalidArgument("plan: not planned");
  if (m < 0) return Status::InvalidArgument("x: negative row count");
  if (m == 0) return Status::Ok();
  const PackedWeightI8& w = *plan.w;
  ep.base_ = y;
  const bool dense = qplan_dense(w, m, ep.choice);
  const QPanelPack& pack = dense ? w.dense_panels() : w.panels;
  if (m < kGemvRows && (dense || pack.r == 1)) return few_rows(plan, pack, dense, x, m, ep, y);
  const QPanelView v = pack.view();
  const QSpmmFn spmm = dense ? select_qs8_gemm()->fn : select_qs8_spmm(v.r)->fn;
  const int64_t groups = v.groups, n_total = w.rows;
  const int64_t strip = std::min(qxt_ldx(m), std::max<int64_t>(16, kQStripBytes / (groups * 4) / 16 * 16));
  const int64_t ldx = qxt_ldx(strip);
  CacheAlignedVector<uint8_t>& xq = scratch<uint8_t>(0);  // strip rows, row-major, K padded to groups * 4
  CacheAlignedVector<uint8_t>& xt = scratch<uint8_t>(1);  // the same in the kernels' layout
  if (xq.size() < static_cast<size_t>(strip * groups * 4)) xq.resize(static_cast<size_t>(strip * groups * 4));
  if (xt.size() < static_cast<size_t>(ldx * groups * 4)) xt.resize(static_cast<size_t>(ldx * groups * 4));
  uint8_t* xqp = xq.data();
  uint8_t* xtp = xt.data();
  const int threads = qlinear_threads(v, m);
  const int64_t chunk_panels = std::max<int64_t>(1, kQChunkRows / v.r);
  const QOutput out = qlinear_output(plan, ep);
  const float inv_scale = 1.0f / plan.x.scale;
  parallel_run(threads, [&](int t, int nt) {
    const int64_t p0 = split_qpanels(v, 0, v.panels, t, nt), p1 = split_qpanels(v, 0, v.panels, t + 1, nt);
    CacheAlignedVector<float>& ys = scratch<float>(2);
    if (ys.size() < static_cast<size_t>(chunk_panels * v.r * ldx)) ys.resize(static_cast<size_t>(chunk_panels * v.r * ldx));
    for (int64_t m0 = 0; m0 < m; m0 += strip) {
      const int64_t ms = std::min(strip, m - m0);
      quantize_strip_share(x + m0 * w.cols, ms, w.cols, groups, inv_scale, plan.x.zero_point, t, nt, xqp, xtp, ldx);
      if (nt > 1) {
#pragma omp barrier
      }
      qxt_panels_into_rows(v, spmm, out, xtp, ldx, ms, plan.x.zero_point, p0, p1, ep, y + m0 * n_total, ys.data());
      if (nt > 1) {
#pragma omp barrier
      }
    }
  });
  return Status::Ok();
}

}  // namespace spiralkit
