#include <algorithm>
#include <cmath>

#include "config/kernel_registry.h"
#include "ops/row_reduce.h"
#include "ops/tensor_math.h"
#include "runtime/threads.h"

namespace spiralkit {
namespace {

// Offsets into a and b of output batch index bi under broadcasting (batch dims = all but 2).
void batch_offset(const Shape& sa, const Shape& sb, const Shape& sy, int64_t bi, int64_t* oa, int64_t* ob) {
  const size_t r = sy.size() - 2;
  int64_t rem = bi, offa = 0, offb = 0, stra = sa[sa.size() - 2] * sa.back(), strb = sb[sb.size() - 2] * sb.back();
  for (size_t d = r; d-- > 0;) {
    const int64_t i = rem % sy[d];
    rem /= sy[d];
    const int64_t da = static_cast<int64_t>(d) - static_cast<int64_t>(r - (sa.size() - 2));
    const int64_t db = static_cast<int64_t>(d) - static_cast<int64_t>(r - (sb.size() - 2));
    if (da >= 0) {
      if (sa[da] != 1) offa += i * stra;
      stra *= sa[da];
    }
    if (db >= 0) {
      if (sb[db] != 1) offb += i * strb;
      strb *= sb[db];
    }
  }
  *oa = offa;
  *ob = offb;
}

constexpr int64_t kRowBlock = 32;  // rows of a per task: tasks = batches x row blocks

}  // namespace

void matmul_forward(const float* a, const Shape& sa, const float* b, const Shape& sb, float* y, const Shape& sy) {
  const int64_t m = sa[sa.size() - 2], k = sa.back(), n = sb.back();
  int64_t nb = 1;
  for (size_t i = 0; i + 2 < sy.size(); ++i) nb *= sy[i];
  const int64_t blocks = (m + kRowBlock - 1) / kRowBlock;
  const int64_t tasks = nb * blocks;
  const GemmFn gemm = select_gemm()->fn;
  const int64_t work = nb * m * n * k;
  const int threads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>({get_num_threads(), tasks, work / 65536 + 1})));
  parallel_run(threads, [&](int t, int nt) {
    for (int64_t task = tasks * t / nt; task < tasks * (t + 1) / nt; ++task) {
      const int64_t bi = task / blocks, r0 = (task % blocks) * kRowBlock, rows = std::min(kRowBlock, m - r0);
      int64_t oa = 0, ob = 0;
      batch_offset(sa, sb, sy, bi, &oa, &ob);
      gemm(rows, n, k, a + oa + r0 * k, k, b + ob, n, y + bi * m * n + r0 * n, n);
    }
  });
}

int64_t attention_workspace_floats(const Shape&, const Shape& sk) {
  return int64_t(get_num_threads()) * kRowBlock * sk.back();
}

// Per (batch, row block): scores = q_blk k (GEMM), scale + mask, row softmax, then scores v
// (GEMM), so the S x T score matrix never leaves the thread's cache.
void attention_forward(const float* q, const Shape& sq, const float* k, const Shape& sk, const float* v,
                       const Shape& sv, const float* mask, const Shape& smask, float scale, float* y, float* ws) {
  const size_t r = sq.size();
  const int64_t s = sq[r - 2], d = sq[r - 1], tt = sk[r - 1], e = sv[r - 1];
  int64_t nb = 1;
  for (size_t i = 0; i + 2 < r; ++i) nb *= sq[i];
  // The mask broadcasts to [..., S, T]: strides per batch index, row and column.
  Dims mstride;
  mstride.fill(0);
  if (mask) {
    int64_t acc = 1;
    for (size_t i = 0; i < smask.size(); ++i) {
      const size_t dm = smask.size() - 1 - i, o = r - 1 - i;
      mstride[o] = smask[dm] == 1 ? 0 : acc;
      acc *= smask[dm];
    }
  }
  const int64_t blocks = (s + kRowBlock - 1) / kRowBlock, tasks = nb * blocks;
  const GemmFn gemm = select_gemm()->fn;
  const SoftmaxFn softmax = select_softmax()->fn;
  const int threads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(get_num_threads(), tasks)));
  parallel_run(threads, [&](int t, int nt) {
    float* sc = ws + int64_t(t) * kRowBlock * tt;
    for (int64_t task = tasks * t / nt; task < tasks * (t + 1) / nt; ++task) {
      const int64_t bi = task / blocks, r0 = (task % blocks) * kRowBlock, rows = std::min(kRowBlock, s - r0);
      gemm(rows, tt, d, q + (bi * s + r0) * d, d, k + bi * d * tt, tt, sc, tt);
      int64_t moff = 0;
      if (mask) {
        int64_t rem = bi;
        for (size_t dd = r - 2; dd-- > 0;) {
          moff += (rem % sq[dd]) * mstride[dd];
          rem /= sq[dd];
        }
      }
      for (int64_t i = 0; i < rows; ++i) {
        float* row = sc + i * tt;
        const float* mrow = mask ? mask + moff + (r0 + i) * mstride[r - 2] : nullptr;
        softmax(row, row, tt, scale, mrow, mstride[r - 1]);
      }
      gemm(rows, e, tt, sc, tt, v + bi * tt * e, e, y + (bi * s + r0) * e, e);
    }
  });
}

int64_t attention_bshd_workspace_floats(const Shape&, const Shape& sk) {
  return int64_t(get_num_threads()) * (sk[3] * sk[1] + kRowBlock * sk[1]);
}

// Per (batch, head): the head's keys are transposed once into a D x T tile, then each block of
// query rows runs scores (GEMM), the fused softmax row kernel and the context GEMM straight from
// and into the interleaved [B, S, H, *] tensors (row strides H*D, H*E): no head transposes.
void attention_bshd_forward(const float* q, const Shape& sq, const float* k, const Shape& sk, const float* v,
                            const Shape& sv, const float* mask, const Shape& smask, float scale, float* y, float* ws) {
  const int64_t nb = sq[0], s = sq[1], h = sq[2], d = sq[3], tt = sk[1], e = sv[3];
  int64_t mstride[4] = {0, 0, 0, 0};
  if (mask) {
    int64_t acc = 1;
    for (size_t i = 0; i < smask.size(); ++i) {
      const size_t dm = smask.size() - 1 - i, o = 3 - i;
      mstride[o] = smask[dm] == 1 ? 0 : acc;
      acc *= smask[dm];
    }
  }
  const GemmFn gemm = select_gemm()->fn;
  const SoftmaxFn softmax = select_softmax()->fn;
  const TransposeFn transpose = select_transpose()->fn;
  const int64_t heads = nb * h;
  const int threads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(get_num_threads(), heads)));
  parallel_run(threads, [&](int t, int nt) {
    float* kt = ws + int64_t(t) * (d * tt + kRowBlock * tt);
    float* sc = kt + d * tt;
    for (int64_t bh = heads * t / nt; bh < heads * (t + 1) / nt; ++bh) {
      const int64_t b = bh / h, hh = bh % h;
      transpose(k + (b * tt * h + hh) * d, h * d, tt, d, kt, tt);  // [T, D] (stride H*D) -> [D, T]
      const float* qb = q + (b * s * h + hh) * d;
      const float* vb = v + (b * tt * h + hh) * e;
      float* yb = y + (b * s * h + hh) * e;
      const float* mb = mask ? mask + b * mstride[0] + hh * mstride[1] : nullptr;
      for (int64_t r0 = 0; r0 < s; r0 += kRowBlock) {
        const int64_t rows = std::min(kRowBlock, s - r0);
        gemm(rows, tt, d, qb + r0 * h * d, h * d, kt, tt, sc, tt);
        for (int64_t i = 0; i < rows; ++i)
          softmax(sc + i * tt, sc + i * tt, tt, scale, mb ? mb + (r0 + i) * mstride[2] : nullptr, mstride[3]);
        gemm(rows, e, tt, sc, tt, vb, h * e, yb + r0 * h * e, h * e);
      }
    }
  });
}

}  // namespace spiralkit
