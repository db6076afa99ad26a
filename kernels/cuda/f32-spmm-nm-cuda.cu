// N:M weight (any N < M <= 255; 2:4 is the common one): a warp (2-8 for long, few rows) per output
// row, lanes stride over the row's groups of M columns; a group holds N (value, uint8 offset) slots,
// unused slots are zero at a valid column. TM partial sums per lane, reduce-scattered at the end.
#include "spmm-common.cuh"

namespace spiralkit {
namespace cuda {
namespace {

template <int TM>
__global__ void __launch_bounds__(256) nm_kernel(const SpmmArgs a, int wpu) {
  extern __shared__ float4 smem4[];
  float* smem = reinterpret_cast<float*>(smem4);
  const int64_t m0 = int64_t(blockIdx.y) * TM;
  const detail::XTile<TM> tile = detail::make_tile<TM>(smem, a, m0, a.k);
  const int nn = a.nm_n, mm = a.nm_m;
  const int64_t groups = (a.k + mm - 1) / mm;
  detail::for_each_unit<TM>(
      a.n, wpu, detail::red_buffer(smem, TM, a.k),
      [&](int64_t row, int first, int stride, float(&acc)[TM]) {
        const int64_t slot0 = row * groups * nn;
        if (nn == 2) {
          // 2:M: one 8-byte value load and one 2-byte offset load per group.
          const float2* v2 = reinterpret_cast<const float2*>(a.values + slot0);
          const uchar2* o2 = reinterpret_cast<const uchar2*>(a.nm_offsets + slot0);
#pragma unroll 4
          for (int64_t g = first; g < groups; g += stride) {
            const float2 w = __ldg(v2 + g);
            const uchar2 o = __ldg(o2 + g);
            float x0[TM], x1[TM];
            tile.load(g * mm + o.x, x0);
            tile.load(g * mm + o.y, x1);
#pragma unroll
            for (int t = 0; t < TM; ++t) acc[t] = fmaf(w.y, x1[t], fmaf(w.x, x0[t], acc[t]));
          }
        } else {
          for (int64_t g = first; g < groups; g += stride) {
            for (int s = 0; s < nn; ++s) {
              const int64_t slot = slot0 + g * nn + s;
              const float w = __ldg(a.values + slot);
              float xv[TM];
              tile.load(g * mm + __ldg(a.nm_offsets + slot), xv);
#pragma unroll
              for (int t = 0; t < TM; ++t) acc[t] = fmaf(w, xv[t], acc[t]);
            }
          }
        }
      },
      [&](int64_t row, int t, float s) { detail::store_out(a, m0 + t, row, s); });
}

template <int TM>
cudaError_t launch(const SpmmArgs& a, cudaStream_t stream) {
  const int64_t groups = (a.k + a.nm_m - 1) / a.nm_m;
  const size_t smem = detail::unit_smem(TM, a.k, TM);
  cudaError_t err = detail::prepare_smem(nm_kernel<TM>, smem);
  if (err != cudaSuccess) return err;
  const int occupancy = detail::ctas_per_sm(nm_kernel<TM>, 32 * detail::kUnitWarps, smem);
  const detail::Geometry g = detail::unit_geometry(a, a.n, a.n * groups, TM, a.k, TM, occupancy);
  nm_kernel<TM><<<g.grid, g.block, g.smem, stream>>>(a, g.wpu);
  return cudaGetLastError();
}

}  // namespace

cudaError_t spiralkit_f32_spmm_ukernel_nm__cuda(const SpmmArgs& a, cudaStream_t stream) {
  if (a.nm_n < 1 || a.nm_n >= a.nm_m || a.nm_m > 255) return cudaErrorInvalidValue;
  const int tm = detail::choose_tm(a.m, a.k, a.max_smem_per_block, 16);
  return detail::launch_tiled<16, 8, 4, 2, 1>(a, tm, [&](const SpmmArgs& s, auto t) {
    using TM = decltype(t);
    return launch<TM::value>(s, stream);
  });
}

}  // namespace cuda
}  // namespace spiralkit
