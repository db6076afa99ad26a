// CSR (unstructured) weight: a warp (or, for long rows and few of them, 2-8 warps) per output row;
// lanes stride over the row's non-zeros, each keeping TM partial sums (one per staged activation
// row), reduce-scattered across the warp at the end.
#include "spmm-common.cuh"

namespace spiralkit {
namespace cuda {
namespace {

template <int TM>
__global__ void __launch_bounds__(256) csr_kernel(const SpmmArgs a, int wpu) {
  extern __shared__ float4 smem4[];
  float* smem = reinterpret_cast<float*>(smem4);
  const int64_t m0 = int64_t(blockIdx.y) * TM;
  const detail::XTile<TM> tile = detail::make_tile<TM>(smem, a, m0, a.k);
  detail::for_each_unit<TM>(
      a.n, wpu, detail::red_buffer(smem, TM, a.k),
      [&](int64_t row, int first, int stride, float(&acc)[TM]) {
        const int32_t end = __ldg(a.row_ptr + row + 1);
#pragma unroll 4
        for (int32_t i = __ldg(a.row_ptr + row) + first; i < end; i += stride) {
          const float w = __ldg(a.values + i);
          float xv[TM];
          tile.load(__ldg(a.col_idx + i), xv);
#pragma unroll
          for (int t = 0; t < TM; ++t) acc[t] = fmaf(w, xv[t], acc[t]);
        }
      },
      [&](int64_t row, int t, float s) { detail::store_out(a, m0 + t, row, s); });
}

template <int TM>
cudaError_t launch(const SpmmArgs& a, cudaStream_t stream) {
  const size_t smem = detail::unit_smem(TM, a.k, TM);
  cudaError_t err = detail::prepare_smem(csr_kernel<TM>, smem);
  if (err != cudaSuccess) return err;
  const int occupancy = detail::ctas_per_sm(csr_kernel<TM>, 32 * detail::kUnitWarps, smem);
  const detail::Geometry g = detail::unit_geometry(a, a.n, a.entries, TM, a.k, TM, occupancy);
  csr_kernel<TM><<<g.grid, g.block, g.smem, stream>>>(a, g.wpu);
  return cudaGetLastError();
}

}  // namespace

cudaError_t spiralkit_f32_spmm_ukernel_csr__cuda(const SpmmArgs& a, cudaStream_t stream) {
  const int tm = detail::choose_tm(a.m, a.k, a.max_smem_per_block);  // 16 measured slower here
  return detail::launch_tiled<8, 4, 2, 1>(a, tm, [&](const SpmmArgs& s, auto t) {
    using TM = decltype(t);
    return launch<TM::value>(s, stream);
  });
}

}  // namespace cuda
}  // namespace spiralkit
