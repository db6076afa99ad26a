#include "ops/attention_bf16.h"

#include <algorithm>

#include "config/kernel_registry.h"
#include "config/kernel_registry_bf16.h"
#include "ops/tensor_math.h"
#include "runtime/threads.h"

namespace spiralkit {
namespace {

constexpr int64_t kRowBlock = 32;  // query rows per scores tile: 32 x T fp32 stays in L1

int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

// One head's operands: row strides of q, v, y; k as [T, D] rows (bshd) or [D, T] (already k^T).
struct Head {
  const float* q;
  const float* k;
  const float* v;
  float* y;
  const float* mask;  // at the head's [S, T] origin, or null
};

struct Geometry {
  int64_t heads = 0, s = 0, t = 0, d = 0, e = 0;
  int64_t ldq = 0, ldk = 0, ldv = 0, ldy = 0;
  bool k_rows_are_keys = false;
  // bf16 scratch per thread, in uint16 units, each region 64-byte aligned.
  int64_t d2 = 0, t2 = 0, tpad = 0, epad = 0;
  int64_t kb = 0, vb = 0, qa = 0, pa = 0, sc = 0;
  int64_t per_thread_u16() const { return kb + vb + qa + pa + sc; }
};

Geometry geometry(const Shape& sq, const Shape& sk, const Shape& sv, bool bshd) {
  Geometry g;
  const size_t r = sq.size();
  if (bshd) {
    g.heads = sq[0] * sq[2];
    g.s = sq[1];
    g.d = sq[3];
    g.t = sk[1];
    g.e = sv[3];
    g.ldq = sq[2] * g.d;
    g.ldk = sk[2] * sk[3];
    g.ldv = sv[2] * g.e;
    g.ldy = sq[2] * g.e;
    g.k_rows_are_keys = true;
  } else {
    g.heads = 1;
    for (size_t i = 0; i + 2 < r; ++i) g.heads *= sq[i];
    g.s = sq[r - 2];
    g.d = sq[r - 1];
    g.t = sk[r - 1];
    g.e = sv[r - 1];
    g.ldq = g.d;
    g.ldk = g.t;
    g.ldv = g.e;
    g.ldy = g.e;
  }
  g.d2 = round_up(g.d, 2);
  g.t2 = round_up(g.t, 2);
  g.tpad = round_up(g.t, 16);
  g.epad = round_up(g.e, 16);
  g.kb = round_up(g.d2 * g.tpad, 32);
  g.vb = round_up(g.t2 * g.epad, 32);
  g.qa = round_up(kRowBlock * g.d2, 32);
  g.pa = round_up(kRowBlock * g.t2, 32);
  g.sc = round_up(2 * kRowBlock * g.t, 32);
  return g;
}

}  // namespace

bool attention_bf16_available() {
  return select_bf16_gemm() != nullptr && select_bf16_pack() != nullptr && select_bf16_softmax() != nullptr;
}

int64_t attention_bf16_workspace_floats(const Shape& sq, const Shape& sk, const Shape& sv, bool bshd) {
  return int64_t(get_num_threads()) * geometry(sq, sk, sv, bshd).per_thread_u16() / 2;
}

void attention_bf16_forward(bool bshd, const float* q, const Shape& sq, const float* k, const Shape& sk,
                            const float* v, const Shape& sv, const float* mask, const Shape& smask, float scale,
                            float* y, float* ws) {
  const Geometry g = geometry(sq, sk, sv, bshd);
  const size_t r = sq.size();
  // Mask strides per dimension of the [..., S, T] (or [B, H, S, T]) index space it broadcasts to.
  const size_t mr = bshd ? 4 : r;
  Dims mstride;
  mstride.fill(0);
  if (mask) {
    int64_t acc = 1;
    for (size_t i = 0; i < smask.size(); ++i) {
      const size_t dm = smask.size() - 1 - i, o = mr - 1 - i;
      mstride[o] = smask[dm] == 1 ? 0 : acc;
      acc *= smask[dm];
    }
  }
  const int64_t hcount = bshd ? sq[2] : 1;
  auto head_at = [&](int64_t hi) {
    Head h;
    if (bshd) {
      const int64_t b = hi / hcount, hh = hi % hcount;
      h.q = q + (b * g.s * hcount + hh) * g.d;
      h.k = k + (b * g.t * sk[2] + hh) * sk[3];
      h.v = v + (b * g.t * sv[2] + hh) * g.e;
      h.y = y + (b * g.s * hcount + hh) * g.e;
      h.mask = mask ? mask + b * mstride[0] + hh * mstride[1] : nullptr;
    } else {
      h.q = q + hi * g.s * g.d;
      h.k = k + hi * g.d * g.t;
      h.v = v + hi * g.t * g.e;
      h.y = y + hi * g.s * g.e;
      int64_t moff = 0, rem = hi;
      for (size_t dd = r - 2; dd-- > 0;) {
        moff += (rem % sq[dd]) * mstride[dd];
        rem /= sq[dd];
      }
      h.mask = mask ? mask + moff : nullptr;
    }
    return h;
  };
  const int64_t mask_row = mstride[mr - 2], mask_col = mstride[mr - 1];
  const Bf16GemmFn gemm = select_bf16_gemm()->fn;
  const Bf16PackFn pack = select_bf16_pack()->fn;
  const Bf16SoftmaxFn softmax = select_bf16_softmax()->fn;
  // Tasks: heads, each split into row-block ranges only when there are fewer heads than threads
  // (each split packs its head's k and v itself).
  const int64_t blocks = (g.s + kRowBlock - 1) / kRowBlock;
  const int nthreads = get_num_threads();
  const int64_t splits = std::max<int64_t>(1, std::min<int64_t>(blocks, (nthreads + g.heads - 1) / g.heads));
  const int64_t tasks = g.heads * splits;
  const int threads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(nthreads, tasks)));
  parallel_run(threads, [&](int t, int nt) {
    uint16_t* base = reinterpret_cast<uint16_t*>(ws) + int64_t(t) * g.per_thread_u16();
    uint16_t* kb = base;
    uint16_t* vb = kb + g.kb;
    uint16_t* qa = vb + g.vb;
    uint16_t* pa = qa + g.qa;
    float* sc = reinterpret_cast<float*>(pa + g.pa);
    int64_t packed = -1;
    for (int64_t task = tasks * t / nt; task < tasks * (t + 1) / nt; ++task) {
      const int64_t hi = task / splits, part = task % splits;
      const Head h = head_at(hi);
      if (packed != hi) {
        if (g.k_rows_are_keys) pack(static_cast<int>(Bf16Pack::kPairsOfCols), h.k, g.ldk, g.t, g.d, kb, g.tpad);
        else pack(static_cast<int>(Bf16Pack::kPairsOfRows), h.k, g.ldk, g.d, g.t, kb, g.tpad);
        pack(static_cast<int>(Bf16Pack::kPairsOfRows), h.v, g.ldv, g.t, g.e, vb, g.epad);
        packed = hi;
      }
      for (int64_t blk = blocks * part / splits; blk < blocks * (part + 1) / splits; ++blk) {
        const int64_t r0 = blk * kRowBlock, rows = std::min(kRowBlock, g.s - r0);
        pack(static_cast<int>(Bf16Pack::kRows), h.q + r0 * g.ldq, g.ldq, rows, g.d, qa, g.d2);
        gemm(rows, g.t, g.d2 / 2, qa, g.d2, kb, g.tpad, sc, g.t, nullptr);
        float inv_sum[kRowBlock];
        for (int64_t i = 0; i < rows; ++i)
          inv_sum[i] = 1.0f / softmax(sc + i * g.t, g.t, scale, h.mask ? h.mask + (r0 + i) * mask_row : nullptr,
                                      mask_col, pa + i * g.t2);
        gemm(rows, g.e, g.t2 / 2, pa, g.t2, vb, g.epad, h.y + r0 * g.ldy, g.ldy, inv_sum);
      }
    }
  });
}

}  // namespace spiralkit
