// The tensor-core machinery shared by the fp16 / bf16 kernels: mma wrappers, the activation
// operand (a linear input, or the implicit im2col of an NCHW input), the fused epilogue, and the
// two kernel templates (2:4 on mma.sp, BSR on mma.sync). Each kernel file instantiates one
// (dtype, op, format) combination.
//
// Work split: one CTA per 16-row tile (2:4) or block row (BSR) of the weight; its warps take
// consecutive groups of 8 * NT activation rows (NT n8 tiles share each loaded A fragment).
// Operands come straight from global memory (weights: one 16-byte load per fragment; activations:
// 32-bit pair loads through the read-only cache); no shared-memory staging or pipelining yet.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>

#include "activation.cuh"
#include "h16-cuda.h"

// sm_80 tensor-core instructions: device code for older targets compiles to an empty body (the
// planner never picks these rows below min_sm = 80).
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
#define SPIRALKIT_HAVE_MMA_SM80 1
#else
#define SPIRALKIT_HAVE_MMA_SM80 0
#endif

// CUDA 12.5+ spells 2:4 mma with ordered metadata (the plain form is deprecated there); the packed
// metadata always holds increasing indices, so both forms read it the same way.
#if defined(__CUDACC_VER_MAJOR__) && (__CUDACC_VER_MAJOR__ > 12 || (__CUDACC_VER_MAJOR__ == 12 && __CUDACC_VER_MINOR__ >= 5))
#define SPIRALKIT_MMA_SP "mma.sp::ordered_metadata.sync.aligned.m16n8k32.row.col.f32."
#else
#define SPIRALKIT_MMA_SP "mma.sp.sync.aligned.m16n8k32.row.col.f32."
#endif

namespace spiralkit {
namespace cuda {
namespace detail {

struct F16 {
  static __device__ __forceinline__ float to_float(uint16_t b) { return __half2float(__ushort_as_half(b)); }
  static __device__ __forceinline__ uint16_t from_float(float v) { return __half_as_ushort(__float2half_rn(v)); }
};
struct BF16 {
  static __device__ __forceinline__ float to_float(uint16_t b) {
    return __uint_as_float(static_cast<unsigned int>(b) << 16);
  }
  static __device__ __forceinline__ uint16_t from_float(float v) {
    return __bfloat16_as_ushort(__float2bfloat16_rn(v));
  }
};

// d += A(16 x 16) * B(16 x 8), fp32 accumulate.
template <typename T>
__device__ __forceinline__ void mma_16816(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
#if SPIRALKIT_HAVE_MMA_SM80
  if constexpr (std::is_same<T, BF16>::value) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  } else {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
#else
  (void)d, (void)a, (void)b0, (void)b1;
#endif
}

// d += A(16 x 32, 2:4, compressed to 16 x 16) * B(32 x 8); metadata e, sparsity selector 0.
template <typename T>
__device__ __forceinline__ void mma_sp_16832(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[4], uint32_t e) {
#if SPIRALKIT_HAVE_MMA_SM80
  if constexpr (std::is_same<T, BF16>::value) {
    asm volatile(SPIRALKIT_MMA_SP "bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9,%10,%11}, {%0,%1,%2,%3}, %12, 0x0;\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "r"(b[2]), "r"(b[3]), "r"(e));
  } else {
    asm volatile(SPIRALKIT_MMA_SP "f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9,%10,%11}, {%0,%1,%2,%3}, %12, 0x0;\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "r"(b[2]), "r"(b[3]), "r"(e));
  }
#else
  (void)d, (void)a, (void)b, (void)e;
#endif
}

// ---- activation operand: pair(row, col) = x[row][col] | x[row][col + 1] << 16, zero outside.

struct LinearIn {
  const uint16_t* x;
  int64_t m, k;
  bool aligned;
  struct Row {
    const uint16_t* p;
    bool valid;
  };
  explicit LinearIn(const H16Args& a) : x(a.x), m(a.m), k(a.k), aligned(a.x_aligned) {}
  __device__ __forceinline__ Row row(int64_t r) const { return Row{x + (r < m ? r : 0) * k, r < m}; }
  // col is always even (fragment columns come in pairs).
  __device__ __forceinline__ uint32_t pair(const Row& r, int64_t col) const {
    if (!r.valid || col >= k) return 0u;
    if (aligned && col + 1 < k) return __ldg(reinterpret_cast<const unsigned int*>(r.p + col));
    const uint32_t lo = __ldg(r.p + col);
    const uint32_t hi = col + 1 < k ? static_cast<uint32_t>(__ldg(r.p + col + 1)) : 0u;
    return lo | (hi << 16);
  }
};

// The implicit im2col of an NCHW input: GEMM row r = (b, oy, ox), column c = (ch, ky, kx).
struct ConvIn {
  const uint16_t* x;
  int64_t m, k, c_in, h, w, out_h, out_w;
  int kh, kw, stride_h, stride_w, pad_h, pad_w, dil_h, dil_w;
  struct Row {
    const uint16_t* image;  // x + b * c_in * h * w
    int64_t iy0, ix0;       // top-left input pixel of the receptive field
    bool valid;
  };
  explicit ConvIn(const H16Args& a)
      : x(a.x), m(a.m), k(a.k), c_in(a.c_in), h(a.h), w(a.w), out_h(a.out_h), out_w(a.out_w), kh(a.kh), kw(a.kw),
        stride_h(a.stride_h), stride_w(a.stride_w), pad_h(a.pad_h), pad_w(a.pad_w), dil_h(a.dil_h), dil_w(a.dil_w) {}
  __device__ __forceinline__ Row row(int64_t r) const {
    if (r >= m) return Row{x, 0, 0, false};
    const int64_t ox = r % out_w, t = r / out_w, oy = t % out_h, b = t / out_h;
    return Row{x + b * c_in * h * w, oy * stride_h - pad_h, ox * stride_w - pad_w, true};
  }
  __device__ __forceinline__ uint32_t at(const Row& r, int64_t col) const {
    if (col >= k) return 0u;
    const int kx = static_cast<int>(col % kw);
    const int64_t t = col / kw;
    const int ky = static_cast<int>(t % kh);
    const int64_t ch = t / kh;
    const int64_t iy = r.iy0 + int64_t(ky) * dil_h, ix = r.ix0 + int64_t(kx) * dil_w;
    if (iy < 0 || iy >= h || ix < 0 || ix >= w) return 0u;
    return __ldg(r.image + (ch * h + iy) * w + ix);
  }
  __device__ __forceinline__ uint32_t pair(const Row& r, int64_t col) const {
    if (!r.valid) return 0u;
    return at(r, col) | (at(r, col + 1) << 16);
  }
};

// ---- output: y = act(acc + bias) rounded once to the dtype.

template <typename T>
struct Epilogue {
  const uint16_t* bias;
  int activation;
  int64_t n;
  __device__ __forceinline__ uint16_t finish(int64_t ch, float acc) const {
    if (bias) acc += T::to_float(__ldg(bias + ch));
    return T::from_float(activate(acc, activation));
  }
};

template <typename T>
struct LinearOut {
  uint16_t* y;
  int64_t m, n;
  Epilogue<T> ep;
  explicit LinearOut(const H16Args& a) : y(a.y), m(a.m), n(a.n), ep{a.bias, a.activation, a.n} {}
  __device__ __forceinline__ void store(int64_t r, int64_t ch, float acc) const {
    if (r < m && ch < n) y[r * n + ch] = ep.finish(ch, acc);
  }
};

template <typename T>
struct ConvOut {
  uint16_t* y;
  int64_t m, n, pixels;
  Epilogue<T> ep;
  explicit ConvOut(const H16Args& a)
      : y(a.y), m(a.m), n(a.n), pixels(a.out_h * a.out_w), ep{a.bias, a.activation, a.n} {}
  __device__ __forceinline__ void store(int64_t r, int64_t ch, float acc) const {
    if (r < m && ch < n) y[((r / pixels) * n + ch) * pixels + r % pixels] = ep.finish(ch, acc);
  }
};

constexpr int kMaxWarps = 4;

// Stores one warp's D fragments: element j of tile (rt, nt) is channel c0 + rt * 16 + g + 8 * (j / 2),
// activation row r0 + nt * 8 + 2 * t + (j % 2).
template <int RT, int NT, typename Out>
__device__ __forceinline__ void store_tiles(const Out& out, const float (&acc)[RT][NT][4], int64_t c0, int64_t r0,
                                            int lane) {
  const int g = lane >> 2, t = lane & 3;
#pragma unroll
  for (int rt = 0; rt < RT; ++rt) {
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) {
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        out.store(r0 + nt * 8 + 2 * t + (j & 1), c0 + rt * 16 + g + 8 * (j >> 1), acc[rt][nt][j]);
      }
    }
  }
}

// ---- 2:4 on mma.sp: CTA x = 16-row weight tile; warps walk groups of 8 * NT activation rows.
template <typename T, int NT, typename In, typename Out>
__global__ void __launch_bounds__(kMaxWarps * 32) nm24_kernel(const H16Args a, const In in, const Out out) {
#if SPIRALKIT_HAVE_MMA_SM80
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  const int g = lane >> 2, t = lane & 3;
  const int64_t tile = blockIdx.x;
  const uint4* values = reinterpret_cast<const uint4*>(a.values) + tile * a.k_steps * 32 + lane;
  const uint32_t* meta = a.meta + tile * a.k_steps * 16 + 2 * g + t;
  for (int64_t m0 = (int64_t(blockIdx.y) * warps + warp) * (8 * NT); m0 < a.m;
       m0 += int64_t(gridDim.y) * warps * (8 * NT)) {
    typename In::Row rows[NT];
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) rows[nt] = in.row(m0 + nt * 8 + g);
    float acc[1][NT][4] = {};
    for (int64_t s = 0; s < a.k_steps; ++s) {
      const uint4 av = __ldg(values + s * 32);
      const uint32_t af[4] = {av.x, av.y, av.z, av.w};
      const uint32_t e = t < 2 ? __ldg(meta + s * 16) : 0u;
      const int64_t kb = s * 32 + 2 * t;
#pragma unroll
      for (int nt = 0; nt < NT; ++nt) {
        const uint32_t bf[4] = {in.pair(rows[nt], kb), in.pair(rows[nt], kb + 8), in.pair(rows[nt], kb + 16),
                                in.pair(rows[nt], kb + 24)};
        mma_sp_16832<T>(acc[0][nt], af, bf, e);
      }
    }
    store_tiles<1, NT>(out, acc, tile * 16, m0, lane);
  }
#else
  (void)a, (void)in, (void)out;
#endif
}

// ---- BSR (B x B blocks, B = 16 or 32) on mma.sync: CTA x = block row.
template <typename T, int B, int NT, typename In, typename Out>
__global__ void __launch_bounds__(kMaxWarps * 32) bsr_kernel(const H16Args a, const In in, const Out out) {
#if SPIRALKIT_HAVE_MMA_SM80
  constexpr int S = B / 16, F = S * S;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  const int g = lane >> 2, t = lane & 3;
  const int64_t br = blockIdx.x;
  const int32_t first = __ldg(a.row_ptr + br), last = __ldg(a.row_ptr + br + 1);
  for (int64_t m0 = (int64_t(blockIdx.y) * warps + warp) * (8 * NT); m0 < a.m;
       m0 += int64_t(gridDim.y) * warps * (8 * NT)) {
    typename In::Row rows[NT];
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) rows[nt] = in.row(m0 + nt * 8 + g);
    float acc[S][NT][4] = {};
    for (int32_t b = first; b < last; ++b) {  // an empty block row skips straight to the epilogue
      const int64_t kc = int64_t(__ldg(a.col_idx + b)) * B;
      const uint4* vp = reinterpret_cast<const uint4*>(a.values) + int64_t(b) * F * 32 + lane;
#pragma unroll
      for (int ks = 0; ks < S; ++ks) {
        uint32_t bf[NT][2];
#pragma unroll
        for (int nt = 0; nt < NT; ++nt) {
          bf[nt][0] = in.pair(rows[nt], kc + ks * 16 + 2 * t);
          bf[nt][1] = in.pair(rows[nt], kc + ks * 16 + 2 * t + 8);
        }
#pragma unroll
        for (int rt = 0; rt < S; ++rt) {
          const uint4 av = __ldg(vp + (rt * S + ks) * 32);
          const uint32_t af[4] = {av.x, av.y, av.z, av.w};
#pragma unroll
          for (int nt = 0; nt < NT; ++nt) mma_16816<T>(acc[rt][nt], af, bf[nt][0], bf[nt][1]);
        }
      }
    }
    store_tiles<S, NT>(out, acc, br * B, m0, lane);
  }
#else
  (void)a, (void)in, (void)out;
#endif
}

// ---- launch: NT (n8 tiles per warp) from the row count; warps per CTA up to kMaxWarps.

inline int choose_nt(int64_t m) { return m <= 8 ? 1 : (m <= 16 ? 2 : 4); }

inline dim3 mma_grid(int64_t units, int64_t m, int nt, int* warps) {
  const int64_t groups = (m + 8 * nt - 1) / (8 * nt);
  *warps = static_cast<int>(groups < kMaxWarps ? (groups > 0 ? groups : 1) : kMaxWarps);
  const int64_t gy = (groups + *warps - 1) / *warps;
  return dim3(static_cast<unsigned>(units), static_cast<unsigned>(gy < 65535 ? gy : 65535), 1);
}

inline bool launchable(const H16Args& a, int64_t units) {
  return a.m >= 0 && units >= 0 && units <= 0x7fffffff;
}

template <typename T, typename In, typename Out>
cudaError_t launch_nm24(const H16Args& a, const In& in, const Out& out, cudaStream_t stream) {
  if (!launchable(a, a.row_tiles) || a.k_steps * 32 < a.k || !a.values || !a.meta) return cudaErrorInvalidValue;
  if (a.m == 0 || a.row_tiles == 0) return cudaSuccess;
  const int nt = choose_nt(a.m);
  int warps = 1;
  const dim3 grid = mma_grid(a.row_tiles, a.m, nt, &warps);
  if (nt == 1) {
    nm24_kernel<T, 1><<<grid, warps * 32, 0, stream>>>(a, in, out);
  } else if (nt == 2) {
    nm24_kernel<T, 2><<<grid, warps * 32, 0, stream>>>(a, in, out);
  } else {
    nm24_kernel<T, 4><<<grid, warps * 32, 0, stream>>>(a, in, out);
  }
  return cudaGetLastError();
}

template <typename T, int B, typename In, typename Out>
cudaError_t launch_bsr(const H16Args& a, const In& in, const Out& out, cudaStream_t stream) {
  if (!launchable(a, a.row_tiles) || !a.row_ptr) return cudaErrorInvalidValue;
  if (a.m == 0 || a.row_tiles == 0) return cudaSuccess;
  const int nt = choose_nt(a.m);
  int warps = 1;
  const dim3 grid = mma_grid(a.row_tiles, a.m, nt, &warps);
  if (nt == 1) {
    bsr_kernel<T, B, 1><<<grid, warps * 32, 0, stream>>>(a, in, out);
  } else if (nt == 2) {
    bsr_kernel<T, B, 2><<<grid, warps * 32, 0, stream>>>(a, in, out);
  } else {
    bsr_kernel<T, B, 4><<<grid, warps * 32, 0, stream>>>(a, in, out);
  }
  return cudaGetLastError();
}

// ---- depthwise: one thread per output element, fp32 accumulate, filters values[ch * kh * kw].
template <typename T>
__global__ void __launch_bounds__(256) dwconv_kernel(const H16Args a) {
  const int64_t pixels = a.out_h * a.out_w, total = a.batch * a.n * pixels;
  const Epilogue<T> ep{a.bias, a.activation, a.n};
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t ox = i % a.out_w, oy = (i / a.out_w) % a.out_h, bc = i / pixels, ch = bc % a.n;
    const uint16_t* img = a.x + bc * a.h * a.w;
    const uint16_t* f = a.values + ch * a.kh * a.kw;
    float acc = 0.0f;
    for (int ky = 0; ky < a.kh; ++ky) {
      const int64_t iy = oy * a.stride_h - a.pad_h + int64_t(ky) * a.dil_h;
      if (iy < 0 || iy >= a.h) continue;
      for (int kx = 0; kx < a.kw; ++kx) {
        const int64_t ix = ox * a.stride_w - a.pad_w + int64_t(kx) * a.dil_w;
        if (ix < 0 || ix >= a.w) continue;
        acc = fmaf(T::to_float(__ldg(f + ky * a.kw + kx)), T::to_float(__ldg(img + iy * a.w + ix)), acc);
      }
    }
    a.y[i] = ep.finish(ch, acc);
  }
}

template <typename T>
cudaError_t launch_dwconv(const H16Args& a, cudaStream_t stream) {
  if (a.n != a.c_in || !a.values) return cudaErrorInvalidValue;
  const int64_t total = a.batch * a.n * a.out_h * a.out_w;
  if (total == 0) return cudaSuccess;
  const int64_t blocks = (total + 255) / 256;
  dwconv_kernel<T><<<static_cast<unsigned>(blocks < 65535 * 8 ? blocks : 65535 * 8), 256, 0, stream>>>(a);
  return cudaGetLastError();
}

}  // namespace detail
}  // namespace cuda
}  // namespace spiralkit
