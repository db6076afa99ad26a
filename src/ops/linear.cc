// Linear driver. One activation row (or a few): GEMV kernels straight on x. More rows: x is
// transposed once to K x M (threads split K; one barrier), the spmm kernel computes N x M (threads
// split panels by non-zeros), and each thread transposes its own rows back into y.
#include "ops/linear.h"

#include <algorithm>
#include <vector>

#include "config/kernel_registry.h"
#include "ops/planner.h"
#include "runtime/split.h"
#include "runtime/threads.h"

namespace spiralkit {
namespace {

// Rows below this run as repeated GEMV (cheaper than R broadcasts per block on a narrow tile).
constexpr int64_t kGemvRows = 4;
// Multiply-adds per thread below which another thread costs more (fork/join, ~1 us) than it saves.
constexpr int64_t kMinWorkPerThread = 32 * 1024;

int useful_threads(const PanelView& v, int64_t m) {
  const int64_t work = (static_cast<int64_t>(v.ptr[v.panels]) * v.r + v.panels) * m;
  const int64_t by_work = std::max<int64_t>(1, work / kMinWorkPerThread);
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>({get_num_threads(), v.panels, by_work})));
}

std::vector<float>& scratch(int i) {
  thread_local std::vector<float> buffers[2];
  return buffers[i];
}

}  // namespace

Status linear_forward(const PackedWeight& w, const float* x, int64_t m, const float* bias, Activation act, float* y) {
  if (m < 0) return Status::InvalidArgument("x: negative row count");
  if (m == 0) return Status::Ok();
  const PanelPack& pack = plan_panels(w, m);
  const PanelView view = pack.view();
  const int threads = useful_threads(view, m);
  const SpmvRow* spmv = select_spmv(view.r);
  if (m < kGemvRows && view.kidx16) {
#pragma omp parallel num_threads(threads)
    {
      const int t = team_thread(), nt = team_size();
      const int64_t p0 = split_panels(view, 0, view.panels, t, nt), p1 = split_panels(view, 0, view.panels, t + 1, nt);
      for (int64_t i = 0; i < m; ++i) spmv->fn(view, p0, p1, x + i * w.cols, y + i * w.rows, bias, act);
    }
    return Status::Ok();
  }
  const SpmmRow* spmm = select_spmm(view.r);
  if (m == 1) {  // columns beyond 16-bit indices: the spmm kernel reads x as K x 1 directly
    XtArgs a{x, 1, 1, y, 1, bias, act};
    spmm->fn(view, 0, view.panels, a);
    return Status::Ok();
  }
  const TransposeFn transpose = select_transpose()->fn;
  const int64_t mp = (m + 15) / 16 * 16;  // padded row length of the K x M and N x M buffers
  std::vector<float>& xt = scratch(0);
  std::vector<float>& yt = scratch(1);
  if (xt.size() < static_cast<size_t>(w.cols * mp)) xt.resize(static_cast<size_t>(w.cols * mp));
  if (yt.size() < static_cast<size_t>(w.rows * mp)) yt.resize(static_cast<size_t>(w.rows * mp));
  float* xtp = xt.data();
  float* ytp = yt.data();
#pragma omp parallel num_threads(threads)
  {
    const int t = team_thread(), nt = team_size();
    const int64_t k0 = w.cols * t / nt, k1 = w.cols * (t + 1) / nt;
    transpose(x + k0, w.cols, m, k1 - k0, xtp + k0 * mp, mp);
#pragma omp barrier
    const int64_t p0 = split_panels(view, 0, view.panels, t, nt), p1 = split_panels(view, 0, view.panels, t + 1, nt);
    XtArgs a{xtp, mp, m, ytp, mp, bias, act};
    spmm->fn(view, p0, p1, a);
    // Each thread transposes back the rows it computed: no barrier after the kernel.
    const int64_t n0 = std::min<int64_t>(p0 * view.r, w.rows), n1 = std::min<int64_t>(p1 * view.r, w.rows);
    if (n1 > n0) transpose(ytp + n0 * mp, mp, n1 - n0, m, y + n0, w.rows);
  }
  return Status::Ok();
}

}  // namespace spiralkit
