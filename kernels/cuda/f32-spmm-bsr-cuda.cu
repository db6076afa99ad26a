// BSR weight with R x 1 blocks (R = 4 or 8: `4x1`, `8x1`): a warp (2-8 for long, few block rows) per
// block row (R output rows); lanes stride over the row's blocks; a block is one K column and R
// contiguous values (vector loads), so each staged activation feeds R multiply-adds. R * TM partial
// sums per lane, reduce-scattered at the end.
#include "spmm-common.cuh"

namespace spiralkit {
namespace cuda {
namespace {

template <int R>
__device__ __forceinline__ void load_block(const float* p, float (&w)[R]) {
  const float4* q = reinterpret_cast<const float4*>(p);
#pragma unroll
  for (int j = 0; j < R / 4; ++j) {
    const float4 f = __ldg(q + j);
    w[4 * j] = f.x;
    w[4 * j + 1] = f.y;
    w[4 * j + 2] = f.z;
    w[4 * j + 3] = f.w;
  }
}

template <int R, int TM>
__global__ void __launch_bounds__(256) bsr_rx1_kernel(const SpmmArgs a, int wpu) {
  extern __shared__ float4 smem4[];
  float* smem = reinterpret_cast<float*>(smem4);
  const int64_t m0 = int64_t(blockIdx.y) * TM;
  const detail::XTile<TM> tile = detail::make_tile<TM>(smem, a, m0, a.k);
  detail::for_each_unit<R * TM>(
      (a.n + R - 1) / R, wpu, detail::red_buffer(smem, TM, a.k),
      [&](int64_t br, int first, int stride, float(&acc)[R * TM]) {
        const int32_t end = __ldg(a.row_ptr + br + 1);
#pragma unroll 2
        for (int32_t b = __ldg(a.row_ptr + br) + first; b < end; b += stride) {
          float w[R];
          load_block<R>(a.values + int64_t(b) * R, w);
          float xv[TM];
          tile.load(__ldg(a.col_idx + b), xv);
#pragma unroll
          for (int r = 0; r < R; ++r)
#pragma unroll
            for (int t = 0; t < TM; ++t) acc[r * TM + t] = fmaf(w[r], xv[t], acc[r * TM + t]);
        }
      },
      [&](int64_t br, int idx, float s) { detail::store_out(a, m0 + idx % TM, br * R + idx / TM, s); });
}

template <int R, int TM>
cudaError_t launch(const SpmmArgs& a, cudaStream_t stream) {
  const size_t smem = detail::unit_smem(TM, a.k, R * TM);
  cudaError_t err = detail::prepare_smem(bsr_rx1_kernel<R, TM>, smem);
  if (err != cudaSuccess) return err;
  const int occupancy = detail::ctas_per_sm(bsr_rx1_kernel<R, TM>, 32 * detail::kUnitWarps, smem);
  const detail::Geometry g = detail::unit_geometry(a, (a.n + R - 1) / R, a.entries, TM, a.k, R * TM, occupancy);
  bsr_rx1_kernel<R, TM><<<g.grid, g.block, g.smem, stream>>>(a, g.wpu);
  return cudaGetLastError();
}

template <int R>
cudaError_t dispatch(const SpmmArgs& a, int tm, cudaStream_t stream) {
  // 4x1 takes up to 16 activation rows per CTA, 8x1 up to 8 (64 sums per lane either way).
  auto run = [&](const SpmmArgs& s, auto t) { return launch<R, decltype(t)::value>(s, stream); };
  if constexpr (R == 4) {
    return detail::launch_tiled<16, 8, 4, 2, 1>(a, tm, run);
  } else {
    return detail::launch_tiled<8, 4, 2, 1>(a, tm, run);
  }
}

}  // namespace

cudaError_t spiralkit_f32_spmm_ukernel_bsr__cuda(const SpmmArgs& a, cudaStream_t stream) {
  if (a.block_cols != 1 || (a.block_rows != 4 && a.block_rows != 8)) return cudaErrorInvalidValue;
  // 4x1 takes 16 activation rows per CTA (64 sums per lane); 8x1 stops at 8 (64 sums as well).
  const int tm = detail::choose_tm(a.m, a.k, a.max_smem_per_block, a.block_rows == 4 ? 16 : 8);
  return a.block_rows == 4 ? dispatch<4>(a, tm, stream) : dispatch<8>(a, tm, stream);
}

}  // namespace cuda
}  // namespace spiralkit
