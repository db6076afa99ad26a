// CPU-side packing of fp16 / bf16 weights for the tensor-core kernels, done once at pack time.
// Every layout is in mma fragment order, so a lane loads its whole A fragment with one 16-byte
// load and never rearranges data at run time. The fragment maps (which lane holds which element)
// are the PTX ISA's, written once here and used by the packers, the unpackers and the tests' CPU
// emulation of the instructions (tests/cpp/test_cuda_pack.cc).
//
//   kNm24 (mma.sp.m16n8k32, 2:4): rows padded to 16, K padded to 32 (padding is zero). For tile t
//     (16 rows) and k-step s (32 columns): values[((t * steps + s) * 32 + lane) * 8 + i], the lane's
//     4 registers of 2 kept values; meta[(t * steps + s) * 16 + 2 * g + q] for the lanes 4g + q,
//     q < 2, that carry metadata (sparsity selector 0): bits 0-15 row g, bits 16-31 row g + 8, one
//     nibble per group of 4 columns of k-columns 16q..16q+15 (low 2 bits: index of the first kept
//     value, high 2 bits: the second; the two indices always differ and increase).
//   kBsr16 / kBsr32 (mma.sync.m16n8k16): B x B blocks (B = 16, 32), row_ptr over ceil(N / B) block
//     rows, col_idx = block column, a block stored when any of its values is non-zero (edge blocks
//     zero-padded). Block b holds (B/16)^2 fragments f = rt * (B/16) + ks (16-row tile rt, 16-column
//     step ks): values[((b * F + f) * 32 + lane) * 8 + i].
//   kDenseH16: values[n * k] row-major (depthwise filters).
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"
#include "cuda/formats.h"

namespace spiralkit {
namespace cuda {

// Round-to-nearest-even conversions (what __float2half_rn / __float2bfloat16_rn do on the GPU).
uint16_t float_to_f16_bits(float v);
uint16_t float_to_bf16_bits(float v);
float f16_bits_to_float(uint16_t bits);
float bf16_bits_to_float(uint16_t bits);
uint16_t to_h16_bits(float v, DType dtype);
float h16_bits_to_float(uint16_t bits, DType dtype);

// Fragment maps. Dense m16n8k16 A (16 x 16): element i (0..7) of `lane` sits at (row, col).
void a_fragment_coord(int lane, int i, int* row, int* col);
// Sparse m16n8k32 A: element i of `lane` is kept value (i & 1) of the 4-column group `group`
// (0..7) of `row` in the 32-column step.
void sparse_a_fragment_coord(int lane, int i, int* row, int* group);

struct H16Weight {
  Format format = Format::kNm24;
  DType dtype = DType::kF16;
  int64_t rows = 0, cols = 0;  // the logical N x K matrix
  int64_t nnz = 0;             // non-zero values
  int block = 0;               // 16 or 32 (BSR); 16 (2:4 row tile)
  int64_t row_tiles = 0;       // 2:4: ceil(N / 16); BSR: block rows
  int64_t k_steps = 0;         // 2:4: ceil(K / 32)
  int64_t blocks = 0;          // BSR: stored blocks
  std::vector<uint16_t> values;
  std::vector<uint32_t> meta;     // 2:4
  std::vector<int32_t> row_ptr;   // BSR
  std::vector<int32_t> col_idx;   // BSR
  // Stored fraction of the matrix: kept blocks (BSR), 0.5 (2:4), 1 (dense).
  double density() const;
  int64_t nbytes() const;
};

// `dense` is row-major rows x cols float32. pack_nm24 refuses (InvalidArgument, naming the row and
// group) a matrix with more than 2 non-zeros in a group of 4.
Status pack_nm24(const float* dense, int64_t rows, int64_t cols, DType dtype, H16Weight* out);
Status pack_bsr_h16(const float* dense, int64_t rows, int64_t cols, int block, DType dtype, H16Weight* out);
Status pack_dense_h16(const float* dense, int64_t rows, int64_t cols, DType dtype, H16Weight* out);

// The dense matrix the packed weight holds (values rounded to its dtype): the inverse of packing
// up to that rounding. FormatError when the arrays are inconsistent.
Status unpack_h16(const H16Weight& w, std::vector<float>* dense);

}  // namespace cuda
}  // namespace spiralkit
