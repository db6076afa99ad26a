// Dense weight, many activation rows: a plain shared-memory tiled SGEMM (64 x 64 output tile,
// K steps of 16, 4 x 4 outputs per thread), bias + activation fused. The dense fallback: vendor
// BLAS is faster; this keeps the module free of cuBLAS.
#include "spmm-common.cuh"

namespace spiralkit {
namespace cuda {
namespace {

constexpr int kTM = 64, kTN = 64, kTK = 16;

__global__ void __launch_bounds__(256) gemm_kernel(const SpmmArgs a) {
  __shared__ float xs[kTK][kTM + 4];
  __shared__ float ws[kTK][kTN + 4];
  const int tid = threadIdx.x;
  const int tx = tid % 16, ty = tid / 16;  // thread's 4 x 4 outputs: rows ty*4.., cols tx*4..
  const int64_t i0 = int64_t(blockIdx.y) * kTM, n0 = int64_t(blockIdx.x) * kTN;
  float acc[4][4] = {};
  for (int64_t k0 = 0; k0 < a.k; k0 += kTK) {
    // 64 x 16 elements of each operand, 4 per thread, coalesced along K.
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const int idx = tid + e * 256;
      const int rr = idx / kTK, kk = idx % kTK;
      const int64_t gk = k0 + kk;
      const int64_t gi = i0 + rr, gn = n0 + rr;
      xs[kk][rr] = (gi < a.m && gk < a.k) ? __ldg(a.x + gi * a.k + gk) : 0.0f;
      ws[kk][rr] = (gn < a.n && gk < a.k) ? __ldg(a.values + gn * a.k + gk) : 0.0f;
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kTK; ++kk) {
      const float4 xv = *reinterpret_cast<const float4*>(&xs[kk][ty * 4]);
      const float4 wv = *reinterpret_cast<const float4*>(&ws[kk][tx * 4]);
      const float xr[4] = {xv.x, xv.y, xv.z, xv.w}, wr[4] = {wv.x, wv.y, wv.z, wv.w};
#pragma unroll
      for (int p = 0; p < 4; ++p)
#pragma unroll
        for (int q = 0; q < 4; ++q) acc[p][q] = fmaf(xr[p], wr[q], acc[p][q]);
    }
    __syncthreads();
  }
#pragma unroll
  for (int p = 0; p < 4; ++p)
#pragma unroll
    for (int q = 0; q < 4; ++q) detail::store_out(a, i0 + ty * 4 + p, n0 + tx * 4 + q, acc[p][q]);
}

}  // namespace

cudaError_t spiralkit_f32_spmm_ukernel_gemm__cuda(const SpmmArgs& a, cudaStream_t stream) {
  const int64_t max_rows = int64_t(65535) * kTM;
  for (int64_t m0 = 0; m0 < a.m; m0 += max_rows) {
    SpmmArgs s = a;
    s.m = a.m - m0 < max_rows ? a.m - m0 : max_rows;
    s.x = a.x + m0 * a.k;
    s.y = a.y + m0 * a.n;
    const dim3 grid(unsigned((s.n + kTN - 1) / kTN), unsigned((s.m + kTM - 1) / kTM));
    gemm_kernel<<<grid, 256, 0, stream>>>(s);
    const cudaError_t err = cudaGetLastError();
    if (err != cudaSuccess) return err;
  }
  return cudaSuccess;
}

}  // namespace cuda
}  // namespace spiralkit
