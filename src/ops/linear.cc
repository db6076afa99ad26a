// Linear driver. One activation row (or a few): GEMV kernels straight on x. More rows: strips of
// x are transposed to K x S, the spmm kernel computes N x S (threads split panels by non-zeros),
// and each thread transposes its own rows back into y.
#include "ops/linear.h"

#include <algorithm>
#include <vector>

#include "config/kernel_registry.h"
#include "core/aligned_vector.h"
#include "ops/linear_f16.h"
#include "ops/planner.h"
#include "runtime/split.h"
#include "runtime/threads.h"

namespace spiralkit {
namespace {

// L2 budget for the K x S strip of x (measured best at K = 3072 on 1 MiB L2 cores: S = 32).
constexpr int64_t kStripKiB = 384;
// Output rows computed between two transposes back into y (the N x S chunk stays in L1/L2).
constexpr int64_t kChunkRows = 128;
// Activation rows per thread from which threads split the rows instead of the panels.
constexpr int64_t kMinRowsPerThread = 64;
// ... while every thread streaming the whole weight stays cheap: a dense BERT-base FC (9.4 MB)
// read by both threads ran 21 % slower than split panels; 90 % sparse ones (~1 MB) 15 % faster.
constexpr int64_t kMaxSharedWeightBytes = 1536 * 1024;
// Multiply-adds per thread below which another thread costs more than it saves: a fork/join is
// ~1 us with spinning threads but ~10 us with sleeping ones (OMP_WAIT_POLICY=passive, or a busy
// machine), so a GEMV (memory-bound, ~13 values/ns on one core) only splits above ~20 us of work.
constexpr int64_t kMinWorkPerThread = 32 * 1024;
constexpr int64_t kMinGemvWorkPerThread = 256 * 1024;
// Dense GEMV splits above ~1 MB of weight: on AMD EPYC (Zen 4) a 768x768 layer ran 32 -> 17 us
// and 1280x1000 61 -> 34 us on two threads (the L3 serves both cores).
constexpr int64_t kMinDenseGemvWorkPerThread = 256 * 1024;

int useful_threads(const PanelView& v, int64_t m) {
  const int64_t work = (static_cast<int64_t>(v.ptr[v.panels]) * v.r + v.panels) * m;
  const int64_t by_work = std::max<int64_t>(1, work / (m < kGemvRows ? kMinGemvWorkPerThread : kMinWorkPerThread));
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>({get_num_threads(), v.panels, by_work})));
}

CacheAlignedVector<float>& scratch(int i) {
  thread_local CacheAlignedVector<float> buffers[2];
  return buffers[i];
}

// A few rows on the dense fallback: the dense GEMV kernel streams the row-major weight; threads
// split the rows evenly (dense work is uniform), in multiples of 4.
Status dense_gemv(const PackedWeight& w, const float* x, int64_t m, const Epilogue& ep, float* y) {
  const float* values = w.pattern.kind == PatternKind::kDense ? w.values.data() : w.dense_values().data();
  const GemvFn gemv = select_gemv()->fn;
  const int64_t quads = (w.rows + 3) / 4;
  const int64_t by_work = std::max<int64_t>(1, w.rows * w.cols * m / kMinDenseGemvWorkPerThread);
  const int threads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>({get_num_threads(), quads, by_work})));
  parallel_run(threads, [&](int t, int nt) {
    const int64_t n0 = std::min(w.rows, quads * t / nt * 4), n1 = std::min(w.rows, quads * (t + 1) / nt * 4);
    for (int64_t i = 0; i < m; ++i) {
      gemv(values, w.cols, n0, n1, x + i * w.cols, y + i * w.rows, ep.bias, ep.kernel_act());
      ep.apply(y + i * w.rows + n0, w.rows, 1, n1 - n0);
    }
  });
  return Status::Ok();
}

}  // namespace

Status linear_forward(const PackedWeight& w, const float* x, int64_t m, const float* bias, Activation act, float* y) {
  Epilogue ep;
  ep.bias = bias;
  ep.act = act;
  return linear_forward(w, x, m, ep, y);
}

Status linear_forward(const PackedWeight& w, const float* x, int64_t m, Epilogue ep, float* y) {
  if (m < 0) return Status::InvalidArgument("x: negative row count");
  if (w.float16) {  // the opt-in fp16 path: bias and activation only
    if (ep.residual) return Status::Unsupported("dtype='float16': no fused residual");
    return linear_forward_f16(w, x, m, ep.bias, ep.act, y);
  }
  if (m == 0) return Status::Ok();
  ep.base_ = y;
  const float* bias = ep.bias;
  const Activation act = ep.kernel_act();
  if (m < kGemvRows && plan_dense(w, m)) return dense_gemv(w, x, m, ep, y);
  const PanelPack& pack = plan_panels(w, m);
  const PanelView view = pack.view();
  const int threads = useful_threads(view, m);
  const SpmvRow* spmv = select_spmv(view.r);
  if (m < kGemvRows && view.kidx16) {
    parallel_run(threads, [&](int t, int nt) {
      const int64_t p0 = split_panels(view, 0, view.panels, t, nt), p1 = split_panels(view, 0, view.panels, t + 1, nt);
      const int64_t n0 = p0 * view.r, n1 = std::min(p1 * view.r, w.rows);
      for (int64_t i = 0; i < m; ++i) {
        spmv->fn(view, p0, p1, x + i * w.cols, y + i * w.rows, bias, act);
        if (n1 > n0) ep.apply(y + i * w.rows + n0, w.rows, 1, n1 - n0);
      }
    });
    return Status::Ok();
  }
  const SpmmRow* spmm = select_spmm(view.r);
  if (m == 1) {  // columns beyond 16-bit indices: the spmm kernel reads x as K x 1 directly
    XtArgs a{x, 1, 1, y, 1, bias, act};
    spmm->fn(view, 0, view.panels, a);
    ep.apply(y, w.rows, 1, w.rows);
    return Status::Ok();
  }
  // Strips of M: each thread transposes the strip of x it needs (K x S, cache-resident) itself —
  // duplicated work, but no barrier, which a shared 2-core machine punishes hardest — runs its
  // panels in chunks of ~kChunkRows output rows and transposes each chunk straight into y.
  const TransposeFn transpose = select_transpose()->fn;
  // Strip width: 128 columns (or the kernel's tile if wider), narrowed so the K x S strip stays in
  // L2. Not rounded to the tile: the kernel runs a strip's last partial tile itself (merged into
  // the one before when it is at most a vector), where a separate strip of a few columns would
  // stream all the weights once more.
  const int64_t fit = std::max<int64_t>(16, kStripKiB * 1024 / (4 * w.cols) / 16 * 16);
  const int64_t strip = std::min(std::max<int64_t>(spmm->tile, 128), fit);
  const int64_t chunk_panels = std::max<int64_t>(1, kChunkRows / view.r);
  const int64_t n_total = w.rows, k_total = w.cols;
  // Enough rows for every thread to own whole vectors of them: threads split the rows, each runs
  // all panels on its own rows (and transposes only those); otherwise they split the panels and
  // each transposes every row. At 128 tokens splitting the panels made both threads transpose all
  // of x for every layer, ~100 us per thread per BERT/MiniLM layer.
  const int64_t weight_bytes = int64_t(view.ptr[view.panels]) * (view.r * 4 + 4);
  const bool split_rows = threads > 1 && m >= kMinRowsPerThread * threads && weight_bytes <= kMaxSharedWeightBytes;
  parallel_run(threads, [&](int t, int nt) {
    int64_t p0 = 0, p1 = view.panels, r0 = 0, r1 = m;
    if (split_rows) {
      const int64_t vecs = (m + 15) / 16;
      r0 = std::min(m, vecs * t / nt * 16);
      r1 = std::min(m, vecs * (t + 1) / nt * 16);
    } else {
      p0 = split_panels(view, 0, view.panels, t, nt);
      p1 = split_panels(view, 0, view.panels, t + 1, nt);
    }
    CacheAlignedVector<float>& xs = scratch(0);
    CacheAlignedVector<float>& ys = scratch(1);
    if (xs.size() < static_cast<size_t>(k_total * strip)) xs.resize(static_cast<size_t>(k_total * strip));
    if (ys.size() < static_cast<size_t>(chunk_panels * view.r * strip))
      ys.resize(static_cast<size_t>(chunk_panels * view.r * strip));
    for (int64_t m0 = r0; m0 < r1 && p1 > p0; m0 += strip) {
      const int64_t ms = std::min(strip, r1 - m0);
      transpose(x + m0 * k_total, k_total, ms, k_total, xs.data(), strip);
      for (int64_t c0 = p0; c0 < p1; c0 += chunk_panels) {
        const int64_t c1 = std::min(p1, c0 + chunk_panels);
        const int64_t n0 = c0 * view.r, n1 = std::min(c1 * view.r, n_total);
        XtArgs a{xs.data(), strip, ms, ys.data(), strip, bias, act, n0};
        spmm->fn(view, c0, c1, a);
        transpose(ys.data(), strip, n1 - n0, ms, y + m0 * n_total + n0, n_total);
        ep.apply(y + m0 * n_total + n0, n_total, ms, n1 - n0);
      }
    }
  });
  return Status::Ok();
}

}  // namespace spiralkit
