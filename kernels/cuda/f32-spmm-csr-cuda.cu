// CSR (unstructured) weight: one warp per output row, lanes stride over the row's non-zeros,
// each lane keeps TM partial sums (one per staged activation row), reduce-scattered at the end.
#include "spmm-common.cuh"

namespace spiralkit {
namespace cuda {
namespace {

template <int TM>
__global__ void __launch_bounds__(256) csr_kernel(const SpmmArgs a) {
  extern __shared__ float4 smem4[];
  float* xs = reinterpret_cast<float*>(smem4);
  const int64_t m0 = int64_t(blockIdx.y) * TM;
  const detail::XTile<TM> tile = detail::make_tile<TM>(xs, a, m0, a.k);
  const int lane = threadIdx.x & 31;
  const int64_t warps = blockDim.x >> 5;
  for (int64_t row = blockIdx.x * warps + (threadIdx.x >> 5); row < a.n; row += int64_t(gridDim.x) * warps) {
    float acc[TM];
#pragma unroll
    for (int t = 0; t < TM; ++t) acc[t] = 0.0f;
    const int32_t end = __ldg(a.row_ptr + row + 1);
#pragma unroll 4
    for (int32_t i = __ldg(a.row_ptr + row) + lane; i < end; i += 32) {
      const float w = __ldg(a.values + i);
      float xv[TM];
      tile.load(__ldg(a.col_idx + i), xv);
#pragma unroll
      for (int t = 0; t < TM; ++t) acc[t] = fmaf(w, xv[t], acc[t]);
    }
    detail::warp_reduce_out<TM>(acc, lane, [&](int t, float s) { detail::store_out(a, m0 + t, row, s); });
  }
}

template <int TM>
cudaError_t launch(const SpmmArgs& a, cudaStream_t stream) {
  const detail::Geometry g = detail::unit_geometry(a, a.n, TM, a.k);
  cudaError_t err = detail::prepare_smem(csr_kernel<TM>, g.smem);
  if (err != cudaSuccess) return err;
  csr_kernel<TM><<<g.grid, g.block, g.smem, stream>>>(a);
  return cudaGetLastError();
}

}  // namespace

cudaError_t spiralkit_f32_spmm_ukernel_csr__cuda(const SpmmArgs& a, cudaStream_t stream) {
  const int tm = detail::choose_tm(a.m, a.k, a.max_smem_per_block);
  return detail::for_each_m_slice(a, tm, [&](const SpmmArgs& s) {
    switch (tm) {
      case 8: return launch<8>(s, stream);
      case 4: return launch<4>(s, stream);
      case 2: return launch<2>(s, stream);
      default: return launch<1>(s, stream);
    }
  });
}

}  // namespace cuda
}  // namespace spiralkit
