// fp32 -> bf16 operand packing for bf16-gemm (spiralkit_kernels/bf16.h layouts), 32 values per
// vcvtne2ps2bf16; the pair interleave of B is one 16-bit permute per 16 columns.
#include <immintrin.h>

#include <algorithm>

#include "spiralkit_kernels/bf16.h"

namespace {

inline __mmask16 first_lanes(int64_t n) {
  return n >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << std::max<int64_t>(n, 0)) - 1u);
}

// Two 16-float vectors -> 32 bf16 in order (lo first).
inline __m512i cvt32(__m512 lo, __m512 hi) { return (__m512i)_mm512_cvtne2ps_pbh(hi, lo); }

void pack_rows(const float* src, int64_t lds, int64_t rows, int64_t cols, uint16_t* dst, int64_t ldd) {
  const int64_t even = cols + (cols & 1);
  for (int64_t r = 0; r < rows; ++r) {
    const float* s = src + r * lds;
    uint16_t* d = dst + r * ldd;
    for (int64_t c = 0; c < even; c += 32) {
      const __m512 lo = _mm512_maskz_loadu_ps(first_lanes(cols - c), s + c);
      const __m512 hi = _mm512_maskz_loadu_ps(first_lanes(cols - c - 16), s + c + 16);
      const int64_t left = std::min<int64_t>(32, even - c);
      const __mmask32 m = left == 32 ? 0xffffffffu : static_cast<__mmask32>((1u << left) - 1u);
      _mm512_mask_storeu_epi16(d + c, m, cvt32(lo, hi));
    }
  }
}

// B = src, K = rows: rows 2p and 2p + 1 interleaved, 16 columns per step.
void pack_pairs_of_rows(const float* src, int64_t lds, int64_t rows, int64_t cols, uint16_t* dst, int64_t ldd) {
  // 16-bit lane 2i takes row 2p's column i (lane i of the converted pair), 2i + 1 row 2p + 1's (lane 16 + i).
  alignas(64) static const uint16_t kInterleave[32] = {0, 16, 1, 17, 2,  18, 3,  19, 4,  20, 5,  21, 6,  22, 7,  23,
                                                       8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
  const __m512i idx = _mm512_load_si512(kInterleave);
  for (int64_t p = 0; p < (rows + 1) / 2; ++p) {
    const float* r0 = src + 2 * p * lds;
    const float* r1 = 2 * p + 1 < rows ? r0 + lds : nullptr;
    uint16_t* d = dst + p * ldd * 2;
    for (int64_t j = 0; j < ldd; j += 16) {
      const __mmask16 m = first_lanes(cols - j);
      const __m512 a = _mm512_maskz_loadu_ps(m, r0 + j);
      const __m512 b = r1 ? _mm512_maskz_loadu_ps(m, r1 + j) : _mm512_setzero_ps();
      _mm512_storeu_si512(d + j * 2, _mm512_permutexvar_epi16(idx, cvt32(a, b)));
    }
  }
}

// B = src^T, K = cols: each row j of src becomes column j of B. 16 rows at a time are converted
// into a block of 32-bit pairs, then each pair column is gathered into 16 consecutive columns of B.
void pack_pairs_of_cols(const float* src, int64_t lds, int64_t rows, int64_t cols, uint16_t* dst, int64_t ldd) {
  constexpr int64_t kPairsPerStep = 64;
  alignas(64) uint32_t block[16 * kPairsPerStep];
  const int64_t kp = (cols + 1) / 2;
  const __m512i row_offsets = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                                 _mm512_set1_epi32(static_cast<int>(kPairsPerStep)));
  uint32_t* d32 = reinterpret_cast<uint32_t*>(dst);
  for (int64_t j0 = 0; j0 < ldd; j0 += 16)
    for (int64_t p0 = 0; p0 < kp; p0 += kPairsPerStep) {
      const int64_t pairs = std::min(kPairsPerStep, kp - p0);
      for (int64_t r = 0; r < 16; ++r) {
        uint16_t* row = reinterpret_cast<uint16_t*>(block + r * kPairsPerStep);
        if (j0 + r < rows) pack_rows(src + (j0 + r) * lds + 2 * p0, lds, 1, std::min(cols - 2 * p0, 2 * pairs), row, 0);
        else std::fill(row, row + 2 * pairs, uint16_t(0));
      }
      for (int64_t p = 0; p < pairs; ++p)
        _mm512_storeu_si512(d32 + (p0 + p) * ldd + j0,
                            _mm512_i32gather_epi32(row_offsets, reinterpret_cast<const int*>(block + p), 4));
    }
}

}  // namespace

void spiralkit::spiralkit_bf16_pack_ukernel__avx512bf16(int mode, const float* src, int64_t lds, int64_t rows,
                                                        int64_t cols, uint16_t* dst, int64_t ldd) {
  switch (static_cast<Bf16Pack>(mode)) {
    case Bf16Pack::kRows: pack_rows(src, lds, rows, cols, dst, ldd); break;
    case Bf16Pack::kPairsOfRows: pack_pairs_of_rows(src, lds, rows, cols, dst, ldd); break;
    case Bf16Pack::kPairsOfCols: pack_pairs_of_cols(src, lds, rows, cols, dst, ldd); break;
  }
}
