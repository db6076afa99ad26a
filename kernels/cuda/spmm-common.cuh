// Device helpers shared by the f32-spmm CUDA kernels: the output epilogue, the activation tile
// (TM rows of x, staged transposed in shared memory), a warp reduce-scatter, launch geometry.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include <type_traits>

#include "activation.cuh"
#include "f32-spmm-cuda.h"

namespace spiralkit {
namespace cuda {
namespace detail {

constexpr unsigned kFullMask = 0xffffffffu;

__device__ __forceinline__ void store_out(const SpmmArgs& a, int64_t i, int64_t n, float acc) {
  if (i < a.m && n < a.n) {
    if (a.bias) acc += __ldg(a.bias + n);
    a.y[i * a.n + n] = activate(acc, a.activation);
  }
}

// Stages rows [m0, m0 + TM) of x into xs[k * TM + t] (zero beyond m and beyond k, up to kpad), so
// that one column's TM activations are contiguous. Thread j takes columns j, j + blockDim.x, ...:
// its TM global reads are coalesced across the warp; its TM values go out as vector stores.
template <int TM>
__device__ __forceinline__ void stage_x(float* xs, const SpmmArgs& a, int64_t m0, int64_t kpad) {
  const float* xrow = a.x + m0 * a.k;
  const int valid = a.m - m0 < TM ? static_cast<int>(a.m - m0) : TM;
  for (int64_t kk = threadIdx.x; kk < kpad; kk += blockDim.x) {
    float v[TM];
#pragma unroll
    for (int t = 0; t < TM; ++t) v[t] = (kk < a.k && t < valid) ? __ldg(xrow + t * a.k + kk) : 0.0f;
    if constexpr (TM % 4 == 0) {
      float4* q = reinterpret_cast<float4*>(xs + kk * TM);
#pragma unroll
      for (int j = 0; j < TM / 4; ++j) q[j] = make_float4(v[4 * j], v[4 * j + 1], v[4 * j + 2], v[4 * j + 3]);
    } else {
#pragma unroll
      for (int t = 0; t < TM; ++t) xs[kk * TM + t] = v[t];
    }
  }
  __syncthreads();
}

// The TM activations of column kk: from shared memory (TM > 1) or straight from global memory
// (TM == 1: one activation row, small enough to live in L1; no staging cost).
template <int TM>
struct XTile {
  const float* p;
  __device__ __forceinline__ void load(int64_t kk, float (&v)[TM]) const {
    if constexpr (TM == 1) {
      v[0] = __ldg(p + kk);
    } else if constexpr (TM % 4 == 0) {
      const float4* q = reinterpret_cast<const float4*>(p + kk * TM);
#pragma unroll
      for (int j = 0; j < TM / 4; ++j) {
        const float4 f = q[j];
        v[4 * j] = f.x;
        v[4 * j + 1] = f.y;
        v[4 * j + 2] = f.z;
        v[4 * j + 3] = f.w;
      }
    } else {
#pragma unroll
      for (int j = 0; j < TM; ++j) v[j] = p[kk * TM + j];
    }
  }
};

template <int TM>
__device__ __forceinline__ XTile<TM> make_tile(float* xs, const SpmmArgs& a, int64_t m0, int64_t kpad) {
  if constexpr (TM == 1) {
    (void)xs;
    (void)kpad;
    return XTile<TM>{a.x + m0 * a.k};
  } else {
    stage_x<TM>(xs, a, m0, kpad);
    return XTile<TM>{xs};
  }
}

// Warp reduce-scatter of CNT (power of two <= 32) per-lane partial sums: afterwards v[0] holds the
// warp-wide sum of value number (lane >> (5 - log2 CNT)). Costs CNT - 1 + (5 - log2 CNT) shuffles
// instead of 5 * CNT for CNT separate reductions.
template <int CNT, int OFF>
struct ReduceScatter {
  static __device__ __forceinline__ void run(float* v, int lane) {
    if constexpr (OFF == 0) {
      (void)v;
      (void)lane;
    } else if constexpr (CNT > 1) {
      constexpr int H = CNT / 2;
      const bool up = (lane & OFF) != 0;
#pragma unroll
      for (int i = 0; i < H; ++i) {
        const float send = up ? v[i] : v[i + H];
        const float keep = up ? v[i + H] : v[i];
        v[i] = keep + __shfl_xor_sync(kFullMask, send, OFF);
      }
      ReduceScatter<H, OFF / 2>::run(v, lane);
    } else {
      v[0] += __shfl_xor_sync(kFullMask, v[0], OFF);
      ReduceScatter<1, OFF / 2>::run(v, lane);
    }
  }
};

__host__ __device__ constexpr int log2_int(int v) { return v <= 1 ? 0 : 1 + log2_int(v / 2); }

// Reduces A per-lane values (A a power of two); calls out(value_index, sum) once per value, from
// one lane.
template <int A, typename Out>
__device__ __forceinline__ void warp_reduce_out(float (&v)[A], int lane, Out out) {
  if constexpr (A > 32) {
#pragma unroll
    for (int c = 0; c < A / 32; ++c) {
      ReduceScatter<32, 16>::run(v + 32 * c, lane);
      out(32 * c + lane, v[32 * c]);
    }
  } else {
    ReduceScatter<A, 16>::run(v, lane);
    constexpr int shift = 5 - log2_int(A);
    if ((lane & ((1 << shift) - 1)) == 0) out(lane >> shift, v[0]);
  }
}

// Runs `units` independent output units (a row, or a block row) with `wpu` warps per unit
// (1, 2, 4 or 8; wpu > 1 splits a long unit's entries across warps and adds their partial sums
// through shared memory `red` [warps * A]). body(unit, first, stride, acc) accumulates the unit's
// entries first, first + stride, ... into acc[A]; store(unit, value_index, sum) writes one output.
template <int A, typename Body, typename Store>
__device__ __forceinline__ void for_each_unit(int64_t units, int wpu, float* red, Body body, Store store) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int groups = (blockDim.x >> 5) / wpu;  // units in flight per CTA
  const int g = warp / wpu, wi = warp % wpu;
  for (int64_t base = int64_t(blockIdx.x) * groups; base < units; base += int64_t(gridDim.x) * groups) {
    const int64_t unit = base + g;
    float acc[A];
#pragma unroll
    for (int i = 0; i < A; ++i) acc[i] = 0.0f;
    if (unit < units) body(unit, wi * 32 + lane, 32 * wpu, acc);
    if (wpu == 1) {
      if (unit < units) warp_reduce_out<A>(acc, lane, [&](int idx, float s) { store(unit, idx, s); });
    } else {
      warp_reduce_out<A>(acc, lane, [&](int idx, float s) { red[warp * A + idx] = s; });
      __syncthreads();
      for (int j = threadIdx.x; j < groups * A; j += blockDim.x) {
        const int gg = j / A, idx = j % A;
        if (base + gg < units) {
          float s = 0.0f;
          for (int w = 0; w < wpu; ++w) s += red[(gg * wpu + w) * A + idx];
          store(base + gg, idx, s);
        }
      }
      __syncthreads();
    }
  }
}

// ---- host side: launch geometry

inline int choose_tm(int64_t m, int64_t kpad, int max_smem, int max_tm = 8) {
  // Largest staged tile that fits a reasonable share of shared memory (2 CTAs per SM on sm_90).
  // 4 KiB stay free for the cross-warp reduction buffer.
  const int64_t budget = max_smem - 4096 < 100 * 1024 ? max_smem - 4096 : 100 * 1024;
  int want = m >= 6 ? 8 : (m >= 3 ? 4 : (m >= 2 ? 2 : 1));
  if (max_tm >= 16 && m >= 64) want = 16;  // only while >= 4 row tiles keep the GPU busy
  for (int tm = want; tm > 1; tm /= 2) {
    if (kpad * tm * int64_t(sizeof(float)) <= budget) return tm;
  }
  return 1;
}

struct Geometry {
  dim3 grid, block;
  size_t smem = 0;
  int wpu = 1;
};

constexpr int kUnitWarps = 8;  // warps per CTA of the warp-per-unit kernels

// Dynamic shared memory of a warp-per-unit kernel: the staged tile plus the cross-warp reduction.
inline size_t unit_smem(int tm, int64_t kpad, int acc) {
  return (tm > 1 ? size_t(kpad) * tm * sizeof(float) : 0) + size_t(kUnitWarps) * acc * sizeof(float);
}

// CTAs of `kernel` that fit on one SM at once (registers, shared memory); 1 if the query fails.
template <typename Kernel>
inline int ctas_per_sm(Kernel kernel, int threads, size_t smem) {
  int n = 0;
  if (cudaOccupancyMaxActiveBlocksPerMultiprocessor(&n, kernel, threads, smem) != cudaSuccess || n < 1) {
    (void)cudaGetLastError();
    n = 1;
  }
  return n;
}

// Warp-per-unit kernels: `units` independent units (rows or block rows) holding `entries` loop items
// in all (non-zeros, blocks, groups), TM activation rows per CTA, A partial sums per lane;
// `occupancy` CTAs fit on an SM.
inline Geometry unit_geometry(const SpmmArgs& a, int64_t units, int64_t entries, int tm, int64_t kpad, int acc,
                              int occupancy) {
  Geometry g;
  const int64_t m_tiles = (a.m + tm - 1) / tm;
  const int warps = kUnitWarps;
  // Split long units across warps while the GPU has fewer than ~32 warps per SM to run and each
  // warp keeps at least two loop trips per lane.
  const int64_t per_unit = units > 0 ? entries / units : 0;
  int wpu = 1;
  while (wpu < warps && units * m_tiles * wpu * 2 <= int64_t(a.num_sms) * 32 && per_unit >= int64_t(64) * wpu * 2) {
    wpu *= 2;
  }
  const int groups = warps / wpu;
  int64_t bx = (units + groups - 1) / groups;
  if (tm > 1) {
    // Every CTA stages its x tile once: launch one full wave of CTAs and loop over units inside,
    // so staging is paid once per resident CTA and no second, partial wave runs.
    const int64_t target = int64_t(a.num_sms) * occupancy / m_tiles;
    if (bx > target) bx = target > 0 ? target : 1;
  }
  g.grid = dim3(static_cast<unsigned>(bx), static_cast<unsigned>(m_tiles), 1);
  g.block = dim3(32 * warps, 1, 1);
  g.smem = unit_smem(tm, kpad, acc);
  g.wpu = wpu;
  return g;
}

// Offset of the cross-warp reduction buffer in dynamic shared memory (after the staged tile).
__device__ __forceinline__ float* red_buffer(float* smem, int tm, int64_t kpad) {
  return tm > 1 ? smem + kpad * tm : smem;
}

// Launches over slices of at most 65535 CTA rows of activation tiles (gridDim.y's limit).
template <typename Launch>
inline cudaError_t for_each_m_slice(const SpmmArgs& a, int tm, Launch launch) {
  const int64_t max_rows = int64_t(65535) * tm;
  for (int64_t m0 = 0; m0 < a.m; m0 += max_rows) {
    SpmmArgs s = a;
    s.m = a.m - m0 < max_rows ? a.m - m0 : max_rows;
    s.x = a.x + m0 * a.k;
    s.y = a.y + m0 * a.n;
    const cudaError_t err = launch(s);
    if (err != cudaSuccess) return err;
  }
  return cudaSuccess;
}

template <typename Kernel>
inline cudaError_t prepare_smem(Kernel kernel, size_t smem) {
  if (smem <= 48 * 1024) return cudaSuccess;
  return cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem));
}


// Runs launch(std::integral_constant<int, TM>{}) for the first TM of the list equal to `tm` (the
// staged-tile height chosen at run time), once per slice of at most 65535 CTA rows. Replaces a
// switch over the tile heights in every kernel file.
template <int... TMs, typename Launch>
inline cudaError_t launch_tiled(const SpmmArgs& a, int tm, Launch launch) {
  return for_each_m_slice(a, tm, [&](const SpmmArgs& s) {
    cudaError_t err = cudaErrorInvalidValue;
    const bool found = ((tm == TMs ? (err = launch(s, std::integral_constant<int, TMs>{}), true) : false) || ...);
    return found ? err : cudaErrorInvalidValue;
  });
}

}  // namespace detail
}  // namespace cuda
}  // namespace spiralkit
