// BSR weight with 16 x 16 blocks: one CTA per block row (16 output rows); its warps split the row's
// blocks; inside a block, lane l owns row l/2 and half (l%2) of the 16 columns, so a warp reads the
// block's 1 KiB with fully coalesced vector loads. TM partial sums per lane; the two halves meet by
// one shuffle, the warps through shared memory.
#include "spmm-common.cuh"

namespace spiralkit {
namespace cuda {
namespace {

constexpr int kB = 16;
constexpr int kWarps = 8;

template <int TM>
__global__ void __launch_bounds__(kWarps * 32) bsr16_kernel(const SpmmArgs a, int64_t kpad) {
  extern __shared__ float4 smem4[];
  float* xs = reinterpret_cast<float*>(smem4);
  __shared__ float red[kWarps][kB][TM];
  const int64_t m0 = int64_t(blockIdx.y) * TM;
  const detail::XTile<TM> tile = detail::make_tile<TM>(xs, a, m0, kpad);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int r = lane >> 1, h = lane & 1;
  const int64_t block_rows = (a.n + kB - 1) / kB;
  for (int64_t br = blockIdx.x; br < block_rows; br += gridDim.x) {
    float acc[TM];
#pragma unroll
    for (int t = 0; t < TM; ++t) acc[t] = 0.0f;
    const int32_t end = __ldg(a.row_ptr + br + 1);
#pragma unroll 2
    for (int32_t b = __ldg(a.row_ptr + br) + warp; b < end; b += kWarps) {
      const float4* q = reinterpret_cast<const float4*>(a.values + int64_t(b) * (kB * kB) + r * kB + h * 8);
      const float4 w0 = __ldg(q), w1 = __ldg(q + 1);
      const float w[8] = {w0.x, w0.y, w0.z, w0.w, w1.x, w1.y, w1.z, w1.w};
      const int64_t c0 = int64_t(__ldg(a.col_idx + b)) * kB + h * 8;
#pragma unroll
      for (int j = 0; j < 8; ++j) {
        float xv[TM];
        if constexpr (TM == 1) {
          if (c0 + j >= a.k) break;  // zero padding of an edge block: no activation there
        }
        tile.load(c0 + j, xv);
#pragma unroll
        for (int t = 0; t < TM; ++t) acc[t] = fmaf(w[j], xv[t], acc[t]);
      }
    }
#pragma unroll
    for (int t = 0; t < TM; ++t) acc[t] += __shfl_xor_sync(detail::kFullMask, acc[t], 1);
    if (h == 0) {
#pragma unroll
      for (int t = 0; t < TM; ++t) red[warp][r][t] = acc[t];
    }
    __syncthreads();
    for (int idx = threadIdx.x; idx < kB * TM; idx += blockDim.x) {
      const int rr = idx / TM, t = idx % TM;
      float s = 0.0f;
#pragma unroll
      for (int wv = 0; wv < kWarps; ++wv) s += red[wv][rr][t];
      detail::store_out(a, m0 + t, br * kB + rr, s);
    }
    __syncthreads();
  }
}

template <int TM>
cudaError_t launch(const SpmmArgs& a, int64_t kpad, cudaStream_t stream) {
  const int64_t block_rows = (a.n + kB - 1) / kB;
  const int64_t m_tiles = (a.m + TM - 1) / TM;
  const size_t smem = TM > 1 ? size_t(kpad) * TM * sizeof(float) : 0;
  cudaError_t err = detail::prepare_smem(bsr16_kernel<TM>, smem);
  if (err != cudaSuccess) return err;
  int64_t bx = block_rows;
  if (TM > 1) {
    // One full wave of CTAs, each staging its x tile once and looping over block rows.
    const int64_t target = int64_t(a.num_sms) * detail::ctas_per_sm(bsr16_kernel<TM>, kWarps * 32, smem) / m_tiles;
    if (bx > target) bx = target > 0 ? target : 1;
  }
  bsr16_kernel<TM><<<dim3(unsigned(bx), unsigned(m_tiles)), dim3(kWarps * 32), smem, stream>>>(a, kpad);
  return cudaGetLastError();
}

}  // namespace

cudaError_t spiralkit_f32_spmm_ukernel_bsr16x16__cuda(const SpmmArgs& a, cudaStream_t stream) {
  if (a.block_rows != kB || a.block_cols != kB) return cudaErrorInvalidValue;
  const int64_t kpad = (a.k + kB - 1) / kB * kB;
  // Static shared memory (the cross-warp reduction) shares the opt-in budget with the staged tile.
  const int tm = detail::choose_tm(a.m, kpad, a.max_smem_per_block - kWarps * kB * 8 * 4);
  return detail::launch_tiled<8, 4, 2, 1>(a, tm, [&](const SpmmArgs& s, auto t) {
    using TM = decltype(t);
    return launch<TM::value>(s, kpad, stream);
  });
}

}  // namespace cuda
}  // namespace spiralkit
