// CPU-side tests of the GPU packers (src/cuda/h16_pack.h) and of the GPU kernel choice
// (src/cuda/kernel_choice.h). The tensor-core layouts are checked by emulating, on the CPU, what a
// warp's mma.sp.m16n8k32 / mma.sync.m16n8k16 reads from them, written from the PTX ISA's fragment
// tables (not from the packer's helpers), together with the kernels' B-operand and D-store index
// math; the emulated product must equal a plain dense product of the same rounded weights.
// This checks the packing against the documented layout; it cannot check the hardware.
#include <doctest/doctest.h>

#include <cstdint>
#include <cmath>
#include <cstring>
#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "cuda/h16_pack.h"
#include "cuda/kernel_choice.h"
#include "cuda/kernel_table.h"
#include "test_helpers.h"

namespace skc = spiralkit::cuda;
using skc::DType;
using skc::Format;

namespace {

// A 2:4 matrix with every kind of group: 0, 1 or 2 non-zeros at varied positions.
std::vector<float> random_24(int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> val(-2.0f, 2.0f);
  std::vector<float> w(static_cast<size_t>(rows * cols), 0.0f);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t g = 0; g * 4 < cols; ++g) {
      const int keep = static_cast<int>(gen() % 3);  // 0, 1 or 2
      int used = 0;
      for (int j = 0; j < 4 && used < keep; ++j) {
        if (gen() % 2 == 0 || 4 - j == keep - used) {
          if (g * 4 + j < cols) w[static_cast<size_t>(r * cols + g * 4 + j)] = val(gen);
          ++used;
        }
      }
    }
  }
  return w;
}

// A matrix of B x B blocks, each kept with probability `keep`; block row `empty_row` all zero.
std::vector<float> random_blocks(int64_t rows, int64_t cols, int b, double keep, int64_t empty_row, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> val(-2.0f, 2.0f);
  std::uniform_real_distribution<double> coin(0.0, 1.0);
  std::vector<float> w(static_cast<size_t>(rows * cols), 0.0f);
  for (int64_t br = 0; br * b < rows; ++br) {
    for (int64_t bc = 0; bc * b < cols; ++bc) {
      if (br == empty_row || coin(gen) > keep) continue;
      for (int64_t r = br * b; r < std::min<int64_t>(rows, (br + 1) * b); ++r) {
        for (int64_t c = bc * b; c < std::min<int64_t>(cols, (bc + 1) * b); ++c) w[static_cast<size_t>(r * cols + c)] = val(gen);
      }
    }
  }
  return w;
}

std::vector<float> rounded(const std::vector<float>& v, DType dt) {
  std::vector<float> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = skc::h16_bits_to_float(skc::to_h16_bits(v[i], dt), dt);
  return out;
}

// y[m, n] = sum_k x[m, k] * w[n, k] in double.
std::vector<double> dense_product(const std::vector<float>& x, const std::vector<float>& w, int64_t m, int64_t n,
                                  int64_t k) {
  std::vector<double> y(static_cast<size_t>(m * n), 0.0);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double s = 0.0;
      for (int64_t q = 0; q < k; ++q) s += double(x[static_cast<size_t>(i * k + q)]) * w[static_cast<size_t>(j * k + q)];
      y[static_cast<size_t>(i * n + j)] = s;
    }
  }
  return y;
}

float half_lo(uint32_t r, DType dt) { return skc::h16_bits_to_float(static_cast<uint16_t>(r & 0xffffu), dt); }
float half_hi(uint32_t r, DType dt) { return skc::h16_bits_to_float(static_cast<uint16_t>(r >> 16), dt); }

// The kernels' B operand: x[row][col] | x[row][col + 1] << 16, zero outside (LinearIn::pair).
uint32_t b_pair(const std::vector<uint16_t>& xb, int64_t m, int64_t k, int64_t row, int64_t col) {
  auto at = [&](int64_t c) -> uint32_t { return (row < m && c < k) ? xb[static_cast<size_t>(row * k + c)] : 0u; };
  return at(col) | (at(col + 1) << 16);
}

// PTX ISA, mma.m16n8k16 .f16/.bf16: A row-major 16 x 16, a_i (i = 0..7, two per register) of lane
// (g = lane / 4, t = lane % 4): row = g for registers 0, 2 and g + 8 for 1, 3; col = 2t + (i % 2) for
// registers 0, 1 and 2t + 8 + (i % 2) for 2, 3. B col-major 16 x 8: b_i row = 2t + (i % 2) (+ 8 for
// register 1), col = g. C/D: c_i row = g (+ 8 for i >= 2), col = 2t + (i % 2).
void emulate_mma_16816(const uint32_t (&a)[32][4], const uint32_t (&b)[32][2], DType dt, double (&d)[16][8]) {
  double A[16][16] = {}, B[16][8] = {};
  for (int lane = 0; lane < 32; ++lane) {
    const int g = lane / 4, t = lane % 4;
    for (int reg = 0; reg < 4; ++reg) {
      const int row = g + ((reg == 1 || reg == 3) ? 8 : 0), col = 2 * t + (reg >= 2 ? 8 : 0);
      A[row][col] = half_lo(a[lane][reg], dt);
      A[row][col + 1] = half_hi(a[lane][reg], dt);
    }
    for (int reg = 0; reg < 2; ++reg) {
      B[2 * t + 8 * reg][g] = half_lo(b[lane][reg], dt);
      B[2 * t + 8 * reg + 1][g] = half_hi(b[lane][reg], dt);
    }
  }
  for (int r = 0; r < 16; ++r) {
    for (int c = 0; c < 8; ++c) {
      for (int q = 0; q < 16; ++q) d[r][c] += A[r][q] * B[q][c];
    }
  }
}

// PTX ISA, mma.sp.m16n8k32 .f16/.bf16 (sparsity selector 0): A is 16 x 32 with 2 of every 4 columns
// kept, stored like a dense m16n8k16 A over the 16 compressed columns, so register j of lane (g, t)
// holds the two kept values of 4-column group t (registers 0, 1) or t + 4 (registers 2, 3) of row g
// (registers 0, 2) or g + 8 (1, 3). Metadata: lanes 4g and 4g + 1 hold one 32-bit word each, for
// columns 0-15 and 16-31; bits 0-15 belong to row g and 16-31 to row g + 8, 4 bits per group (low 2
// bits: column of the first kept value in its group, high 2 bits: the second). B is 32 x 8: b_j row
// = 2t + (j % 2) + 8 * (register). D as m16n8k16.
void emulate_mma_sp_16832(const uint32_t (&a)[32][4], const uint32_t (&b)[32][4], const uint32_t (&e)[32], DType dt,
                          double (&d)[16][8]) {
  double A[16][32] = {}, B[32][8] = {};
  for (int lane = 0; lane < 32; ++lane) {
    const int g = lane / 4, t = lane % 4;
    for (int reg = 0; reg < 4; ++reg) {
      const int row = g + ((reg == 1 || reg == 3) ? 8 : 0), group = t + (reg >= 2 ? 4 : 0);
      const uint32_t word = e[4 * (row % 8) + group / 4];  // lane 4g (+1) of the row's group of lanes
      const uint32_t nibble = (word >> ((row >= 8 ? 16 : 0) + 4 * (group % 4))) & 0xfu;
      const int i0 = static_cast<int>(nibble & 3u), i1 = static_cast<int>(nibble >> 2);
      REQUIRE(i0 != i1);  // equal indices are invalid metadata (undefined behaviour on the GPU)
      A[row][4 * group + i0] += half_lo(a[lane][reg], dt);
      A[row][4 * group + i1] += half_hi(a[lane][reg], dt);
    }
    for (int reg = 0; reg < 4; ++reg) {
      B[2 * t + 8 * reg][g] = half_lo(b[lane][reg], dt);
      B[2 * t + 8 * reg + 1][g] = half_hi(b[lane][reg], dt);
    }
  }
  for (int r = 0; r < 16; ++r) {
    for (int c = 0; c < 8; ++c) {
      for (int q = 0; q < 32; ++q) d[r][c] += A[r][q] * B[q][c];
    }
  }
}

std::vector<uint16_t> to_bits(const std::vector<float>& v, DType dt) {
  std::vector<uint16_t> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = skc::to_h16_bits(v[i], dt);
  return out;
}

uint32_t reg_of(const std::vector<uint16_t>& values, size_t at) {
  return static_cast<uint32_t>(values[at]) | (static_cast<uint32_t>(values[at + 1]) << 16);
}

// The 2:4 kernel's data flow (nm24_kernel) emulated: per 16-row tile and 8-row activation group,
// fragments loaded from the packed arrays exactly as the kernel indexes them.
std::vector<double> emulate_nm24(const skc::H16Weight& w, const std::vector<uint16_t>& xb, int64_t m) {
  std::vector<double> y(static_cast<size_t>(m * w.rows), 0.0);
  for (int64_t tile = 0; tile < w.row_tiles; ++tile) {
    for (int64_t m0 = 0; m0 < m; m0 += 8) {
      double d[16][8] = {};
      for (int64_t s = 0; s < w.k_steps; ++s) {
        uint32_t a[32][4], b[32][4], e[32];
        for (int lane = 0; lane < 32; ++lane) {
          const int g = lane >> 2, t = lane & 3;
          const size_t base = static_cast<size_t>(((tile * w.k_steps + s) * 32 + lane) * 8);
          for (int r = 0; r < 4; ++r) a[lane][r] = reg_of(w.values, base + 2 * r);
          e[lane] = t < 2 ? w.meta[static_cast<size_t>((tile * w.k_steps + s) * 16 + 2 * g + t)] : 0u;
          for (int r = 0; r < 4; ++r) b[lane][r] = b_pair(xb, m, w.cols, m0 + g, s * 32 + 2 * t + 8 * r);
        }
        emulate_mma_sp_16832(a, b, e, w.dtype, d);
      }
      for (int r = 0; r < 16; ++r) {
        for (int c = 0; c < 8; ++c) {
          const int64_t ch = tile * 16 + r, row = m0 + c;
          if (ch < w.rows && row < m) y[static_cast<size_t>(row * w.rows + ch)] = d[r][c];
        }
      }
    }
  }
  return y;
}

std::vector<double> emulate_bsr(const skc::H16Weight& w, const std::vector<uint16_t>& xb, int64_t m) {
  const int B = w.block, S = B / 16;
  std::vector<double> y(static_cast<size_t>(m * w.rows), 0.0);
  for (int64_t br = 0; br < w.row_tiles; ++br) {
    for (int64_t m0 = 0; m0 < m; m0 += 8) {
      std::vector<std::vector<double>> acc(static_cast<size_t>(S), std::vector<double>(16 * 8, 0.0));
      for (int32_t blk = w.row_ptr[static_cast<size_t>(br)]; blk < w.row_ptr[static_cast<size_t>(br + 1)]; ++blk) {
        const int64_t kc = int64_t(w.col_idx[static_cast<size_t>(blk)]) * B;
        for (int ks = 0; ks < S; ++ks) {
          uint32_t b[32][2];
          for (int lane = 0; lane < 32; ++lane) {
            const int g = lane >> 2, t = lane & 3;
            b[lane][0] = b_pair(xb, m, w.cols, m0 + g, kc + ks * 16 + 2 * t);
            b[lane][1] = b_pair(xb, m, w.cols, m0 + g, kc + ks * 16 + 2 * t + 8);
          }
          for (int rt = 0; rt < S; ++rt) {
            uint32_t a[32][4];
            for (int lane = 0; lane < 32; ++lane) {
              const size_t base = static_cast<size_t>(((int64_t(blk) * S * S + rt * S + ks) * 32 + lane) * 8);
              for (int r = 0; r < 4; ++r) a[lane][r] = reg_of(w.values, base + 2 * r);
            }
            double d[16][8] = {};
            emulate_mma_16816(a, b, w.dtype, d);
            for (int r = 0; r < 16; ++r) {
              for (int c = 0; c < 8; ++c) acc[static_cast<size_t>(rt)][static_cast<size_t>(r * 8 + c)] += d[r][c];
            }
          }
        }
      }
      for (int rt = 0; rt < S; ++rt) {
        for (int r = 0; r < 16; ++r) {
          for (int c = 0; c < 8; ++c) {
            const int64_t ch = br * B + rt * 16 + r, row = m0 + c;
            if (ch < w.rows && row < m) y[static_cast<size_t>(row * w.rows + ch)] = acc[static_cast<size_t>(rt)][static_cast<size_t>(r * 8 + c)];
          }
        }
      }
    }
  }
  return y;
}

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double worst = 0.0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(a[i] - b[i]));
  return worst;
}

}  // namespace

TEST_CASE("fp16 and bf16 conversions round to nearest even and round-trip every value") {
  CHECK(skc::float_to_f16_bits(1.0f) == 0x3c00);
  CHECK(skc::float_to_f16_bits(-2.0f) == 0xc000);
  CHECK(skc::float_to_f16_bits(65504.0f) == 0x7bff);
  CHECK(skc::float_to_f16_bits(65520.0f) == 0x7c00);          // rounds up to infinity
  CHECK(skc::float_to_f16_bits(1.0f + 1.0f / 2048) == 0x3c00);  // halfway: to even
  CHECK(skc::float_to_f16_bits(1.0f + 3.0f / 2048) == 0x3c02);  // halfway: to even (up)
  CHECK(skc::float_to_f16_bits(std::ldexp(1.0f, -24)) == 0x0001);
  CHECK(skc::float_to_f16_bits(std::ldexp(1.0f, -26)) == 0x0000);
  CHECK(skc::float_to_f16_bits(std::ldexp(3.0f, -25)) == 0x0002);  // subnormal halfway 1.5 -> 2
  CHECK(skc::float_to_bf16_bits(1.0f) == 0x3f80);
  CHECK(skc::float_to_bf16_bits(1.0f + 1.0f / 256) == 0x3f80);  // halfway: to even
  CHECK(skc::float_to_bf16_bits(1.0f + 3.0f / 256) == 0x3f82);
  for (uint32_t b = 0; b < 0x10000; ++b) {
    const uint16_t bits = static_cast<uint16_t>(b);
    const bool f16_nan = (bits & 0x7c00) == 0x7c00 && (bits & 0x3ff);
    if (!f16_nan) REQUIRE(skc::float_to_f16_bits(skc::f16_bits_to_float(bits)) == bits);
    const bool bf16_nan = (bits & 0x7f80) == 0x7f80 && (bits & 0x7f);
    if (!bf16_nan) REQUIRE(skc::float_to_bf16_bits(skc::bf16_bits_to_float(bits)) == bits);
  }
}

TEST_CASE("2:4 packing: emulated mma.sp over the packed fragments equals the dense product") {
  // N = 37 and K = 70: neither a multiple of the 16-row tile nor of the 32-column step.
  for (DType dt : {DType::kF16, DType::kBF16}) {
    for (auto shape : {std::pair<int64_t, int64_t>{37, 70}, {16, 32}, {5, 3}, {64, 96}}) {
      CAPTURE(skc::dtype_name(dt));
      CAPTURE(shape.first);
      CAPTURE(shape.second);
      const int64_t n = shape.first, k = shape.second, m = 11;
      const auto w = random_24(n, k, 7);
      skc::H16Weight packed;
      REQUIRE(skc::pack_nm24(w.data(), n, k, dt, &packed).ok());
      CHECK(packed.row_tiles == (n + 15) / 16);
      CHECK(packed.k_steps == (k + 31) / 32);
      int64_t nnz = 0;
      for (float v : w) nnz += v != 0.0f;
      CHECK(packed.nnz == nnz);
      for (uint32_t word : packed.meta) {
        for (int j = 0; j < 8; ++j) {
          const uint32_t nib = (word >> (4 * j)) & 0xfu;
          REQUIRE((nib & 3u) < (nib >> 2));  // increasing, distinct: never 0b0000/0101/1010/1111
        }
      }
      const auto x = rounded(spiralkit_test::random_vector(m * k, 99), dt);
      const auto want = dense_product(x, rounded(w, dt), m, n, k);
      const auto got = emulate_nm24(packed, to_bits(x, dt), m);
      CHECK(max_abs_diff(got, want) < 1e-9);
      std::vector<float> back;
      REQUIRE(skc::unpack_h16(packed, &back).ok());
      CHECK(back == rounded(w, dt));
    }
  }
}

TEST_CASE("2:4 packing refuses a group of 4 with 3 non-zeros and names it") {
  std::vector<float> w(2 * 8, 0.0f);
  w[8 + 4] = w[8 + 5] = w[8 + 7] = 1.0f;  // row 1, columns 4..7
  skc::H16Weight packed;
  const auto st = skc::pack_nm24(w.data(), 2, 8, DType::kF16, &packed);
  REQUIRE(!st.ok());
  CHECK(st.code() == spiralkit::StatusCode::kInvalidArgument);
  CHECK(st.message().find("row 1, columns 4..7") != std::string::npos);
  std::vector<float> big = {70000.0f, 0.0f, 0.0f, 0.0f};
  CHECK(skc::pack_nm24(big.data(), 1, 4, DType::kF16, &packed).message().find("not a finite float16") !=
        std::string::npos);
  CHECK(skc::pack_nm24(big.data(), 1, 4, DType::kBF16, &packed).ok());  // bf16 has fp32's range
}

TEST_CASE("BSR 16x16 / 32x32 packing: emulated mma.sync over the fragments equals the dense product") {
  for (DType dt : {DType::kF16, DType::kBF16}) {
    for (int b : {16, 32}) {
      for (auto shape : {std::pair<int64_t, int64_t>{70, 100}, {32, 64}, {9, 17}}) {
        CAPTURE(skc::dtype_name(dt));
        CAPTURE(b);
        CAPTURE(shape.first);
        CAPTURE(shape.second);
        const int64_t n = shape.first, k = shape.second, m = 13;
        const auto w = random_blocks(n, k, b, 0.4, /*empty block row*/ 1, 11);
        skc::H16Weight packed;
        REQUIRE(skc::pack_bsr_h16(w.data(), n, k, b, dt, &packed).ok());
        CHECK(packed.format == (b == 16 ? Format::kBsr16 : Format::kBsr32));
        CHECK(packed.row_tiles == (n + b - 1) / b);
        if (packed.row_tiles > 1) CHECK(packed.row_ptr[1] == packed.row_ptr[2]);  // the empty block row
        CHECK(packed.values.size() == static_cast<size_t>(packed.blocks * (b / 16) * (b / 16) * 256));
        const auto x = rounded(spiralkit_test::random_vector(m * k, 99), dt);
        const auto want = dense_product(x, rounded(w, dt), m, n, k);
        CHECK(max_abs_diff(emulate_bsr(packed, to_bits(x, dt), m), want) < 1e-9);
        std::vector<float> back;
        REQUIRE(skc::unpack_h16(packed, &back).ok());
        CHECK(back == rounded(w, dt));
        CHECK(packed.density() <= 1.0);
      }
    }
  }
  std::vector<float> zeros(40 * 40, 0.0f);
  skc::H16Weight empty;
  REQUIRE(skc::pack_bsr_h16(zeros.data(), 40, 40, 16, DType::kF16, &empty).ok());
  CHECK(empty.blocks == 0);
  CHECK(empty.density() == 0.0);
  CHECK(skc::pack_bsr_h16(zeros.data(), 40, 40, 8, DType::kF16, &empty).message().find("block") != std::string::npos);
}

TEST_CASE("unpack refuses inconsistent packed arrays") {
  const auto w = random_24(20, 40, 3);
  skc::H16Weight packed;
  REQUIRE(skc::pack_nm24(w.data(), 20, 40, DType::kF16, &packed).ok());
  std::vector<float> back;
  skc::H16Weight bad = packed;
  bad.meta[0] = 0;  // indices 0, 0: invalid metadata
  CHECK(skc::unpack_h16(bad, &back).code() == spiralkit::StatusCode::kFormatError);
  bad = packed;
  bad.values.pop_back();
  CHECK(skc::unpack_h16(bad, &back).code() == spiralkit::StatusCode::kFormatError);
  skc::H16Weight bsr;
  const auto wb = random_blocks(40, 40, 16, 0.5, -1, 5);
  REQUIRE(skc::pack_bsr_h16(wb.data(), 40, 40, 16, DType::kBF16, &bsr).ok());
  if (bsr.blocks) {
    bsr.col_idx[0] = 99;
    CHECK(skc::unpack_h16(bsr, &back).code() == spiralkit::StatusCode::kFormatError);
  }
}

TEST_CASE("fp32 GPU kernel choice keeps the layouts and thresholds of the binding layer it replaced") {
  using spiralkit::Pattern;
  using spiralkit::PatternKind;
  size_t count = 0;
  const skc::KernelRow* rows = skc::f32_rows(&count);
  auto name = [&](int row) { return std::string(row >= 0 ? rows[row].name : "none"); };
  const Pattern dense{};
  CHECK(skc::f32_format(dense) == Format::kDense);
  CHECK(name(skc::choose_f32_row(Format::kDense, 1, 1, 1, 768, 132)) == "spiralkit_f32_spmm_ukernel_dense__cuda");
  // 64 x 64 tiles: 128 rows x 3072 outputs = 96 tiles < 2 * 132 SMs -> still warp-per-row.
  CHECK(name(skc::choose_f32_row(Format::kDense, 1, 1, 128, 3072, 132)) == "spiralkit_f32_spmm_ukernel_dense__cuda");
  CHECK(name(skc::choose_f32_row(Format::kDense, 1, 1, 1024, 3072, 132)) == "spiralkit_f32_spmm_ukernel_gemm__cuda");
  const Pattern b16{PatternKind::kBlock, 16, 16, 0, 0}, b4{PatternKind::kBlock, 4, 1, 0, 0},
      b35{PatternKind::kBlock, 3, 5, 0, 0}, nm{PatternKind::kNm, 1, 1, 2, 4}, un{PatternKind::kUnstructured};
  CHECK(skc::f32_format(b16) == Format::kBsr);
  CHECK(skc::f32_family_name(Format::kBsr, 16, 16) == "bsr16x16");
  CHECK(name(skc::choose_f32_row(Format::kBsr, 16, 16, 7, 70, 132)) == "spiralkit_f32_spmm_ukernel_bsr16x16__cuda");
  CHECK(name(skc::choose_f32_row(Format::kBsr, 4, 1, 7, 70, 132)) == "spiralkit_f32_spmm_ukernel_bsr__cuda");
  CHECK(skc::f32_format(b4) == Format::kBsr);
  CHECK(skc::f32_format(b35) == Format::kCsr);  // no 3x5 kernel: CSR
  CHECK(skc::f32_format(nm) == Format::kNm);
  CHECK(skc::f32_format(un) == Format::kCsr);
  CHECK(name(skc::choose_f32_row(Format::kCsr, 1, 1, 7, 70, 132)) == "spiralkit_f32_spmm_ukernel_csr__cuda");
  CHECK(name(skc::choose_f32_row(Format::kNm, 1, 1, 7, 70, 132)) == "spiralkit_f32_spmm_ukernel_nm__cuda");
}

TEST_CASE("tensor-core planner: sparse where it is expected to win, dense cuBLAS otherwise") {
  size_t count = 0;
  const skc::KernelRow* rows = skc::h16_rows(&count);
  auto name = [&](const skc::H16Choice& c) { return std::string(c.row >= 0 ? rows[c.row].name : "dense"); };
  skc::H16Problem p;
  p.has_format = true;
  p.format = Format::kNm24;
  p.dtype = DType::kF16;
  p.density = 0.5;
  p.n = 4096;
  p.k = 4096;
  p.sm = 90;
  skc::H16Choice c;
  p.m = 4096;
  REQUIRE(skc::plan_h16(p, &c).ok());
  CHECK(name(c) == "spiralkit_f16_spmm_ukernel_nm24__mmasp");
  p.m = 16;  // few rows: 2:4 is not expected to beat cuBLAS
  REQUIRE(skc::plan_h16(p, &c).ok());
  CHECK(c.row == -1);
  CHECK(c.reason.find("2:4") != std::string::npos);
  p.mode = skc::Mode::kSparse;
  REQUIRE(skc::plan_h16(p, &c).ok());
  CHECK(name(c) == "spiralkit_f16_spmm_ukernel_nm24__mmasp");
  p.dtype = DType::kBF16;
  p.op = skc::Op::kConv;
  REQUIRE(skc::plan_h16(p, &c).ok());
  CHECK(name(c) == "spiralkit_bf16_sconv_ukernel_nm24__mmasp");
  p.sm = 75;  // no sparse tensor cores
  CHECK(skc::plan_h16(p, &c).code() == spiralkit::StatusCode::kUnsupported);
  p.mode = skc::Mode::kAuto;
  REQUIRE(skc::plan_h16(p, &c).ok());
  CHECK(c.row == -1);
  CHECK(c.reason.find("sm_80") != std::string::npos);

  p = skc::H16Problem{};
  p.has_format = true;
  p.format = Format::kBsr16;
  p.dtype = DType::kF16;
  p.sm = 80;
  p.m = 1;
  p.density = 0.1;
  REQUIRE(skc::plan_h16(p, &c).ok());
  CHECK(name(c) == "spiralkit_f16_spmm_ukernel_bsr16__mma");
  p.density = 0.5;
  REQUIRE(skc::plan_h16(p, &c).ok());
  CHECK(c.row == -1);
  p.format = Format::kBsr32;
  p.density = 0.05;
  p.mode = skc::Mode::kDense;
  REQUIRE(skc::plan_h16(p, &c).ok());
  CHECK(c.row == -1);
  p.mode = skc::Mode::kAuto;
  REQUIRE(skc::plan_h16(p, &c).ok());
  CHECK(name(c) == "spiralkit_f16_spmm_ukernel_bsr32__mma");

  p.has_format = false;  // e.g. a 4x1 weight in fp16: no tensor-core layout
  REQUIRE(skc::plan_h16(p, &c).ok());
  CHECK(c.row == -1);
  p.mode = skc::Mode::kSparse;
  CHECK(skc::plan_h16(p, &c).code() == spiralkit::StatusCode::kUnsupported);

  p = skc::H16Problem{};
  p.op = skc::Op::kDwConv;
  p.has_format = true;
  p.format = Format::kDenseH16;
  p.dtype = DType::kBF16;
  p.sm = 87;
  p.m = 1000;
  REQUIRE(skc::plan_h16(p, &c).ok());
  CHECK(c.row == -1);  // cuDNN until measured
  p.mode = skc::Mode::kSparse;
  REQUIRE(skc::plan_h16(p, &c).ok());
  CHECK(name(c) == "spiralkit_bf16_dwconv_ukernel__cuda");
  p.dtype = DType::kF32;
  CHECK(skc::plan_h16(p, &c).code() == spiralkit::StatusCode::kInvalidArgument);
}

TEST_CASE("every (op, format) of the tensor-core table has an fp16 and a bf16 row") {
  size_t count = 0;
  const skc::KernelRow* rows = skc::h16_rows(&count);
  REQUIRE(count > 0);
  for (size_t i = 0; i < count; ++i) {
    CAPTURE(rows[i].name);
    CHECK(rows[i].min_sm >= 80);
    const DType twin = rows[i].dtype == DType::kF16 ? DType::kBF16 : DType::kF16;
    bool found = false;
    for (size_t j = 0; j < count; ++j) {
      found |= rows[j].op == rows[i].op && rows[j].format == rows[i].format && rows[j].dtype == twin;
    }
    CHECK(found);
    const std::string prefix = rows[i].dtype == DType::kF16 ? "spiralkit_f16_" : "spiralkit_bf16_";
    CHECK(std::string(rows[i].name).rfind(prefix, 0) == 0);
  }
}
