#include "cuda/h16_pack.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <string>

namespace spiralkit {
namespace cuda {

uint16_t float_to_f16_bits(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const int exp = static_cast<int>((x >> 23) & 0xffu);
  uint32_t mant = x & 0x7fffffu;
  if (exp == 0xff) return static_cast<uint16_t>(sign | 0x7c00u | (mant ? 0x200u : 0u));
  const int e = exp - 127 + 15;
  if (e >= 0x1f) return static_cast<uint16_t>(sign | 0x7c00u);
  if (e <= 0) {  // half subnormal (or zero): h = M * 2^(exp - 126)
    const int shift = 14 - e;
    if (shift >= 25 || exp == 0) return static_cast<uint16_t>(sign);
    mant |= 0x800000u;
    uint32_t h = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1u), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1u))) ++h;
    return static_cast<uint16_t>(sign | h);
  }
  uint32_t h = (static_cast<uint32_t>(e) << 10) | (mant >> 13);
  const uint32_t rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;  // may carry into the exponent: correct
  return static_cast<uint16_t>(sign | h);
}

uint16_t float_to_bf16_bits(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);  // quiet NaN
  x += 0x7fffu + ((x >> 16) & 1u);
  return static_cast<uint16_t>(x >> 16);
}

float f16_bits_to_float(uint16_t bits) {
  const uint32_t sign = (static_cast<uint32_t>(bits) & 0x8000u) << 16;
  const int exp = (bits >> 10) & 0x1f;
  const uint32_t mant = bits & 0x3ffu;
  float out;
  if (exp == 0) {
    out = std::ldexp(static_cast<float>(mant), -24);
    return sign ? -out : out;
  }
  uint32_t x;
  if (exp == 0x1f) {
    x = sign | 0x7f800000u | (mant << 13);
  } else {
    x = sign | (static_cast<uint32_t>(exp - 15 + 127) << 23) | (mant << 13);
  }
  std::memcpy(&out, &x, 4);
  return out;
}

float bf16_bits_to_float(uint16_t bits) {
  const uint32_t x = static_cast<uint32_t>(bits) << 16;
  float out;
  std::memcpy(&out, &x, 4);
  return out;
}

uint16_t to_h16_bits(float v, DType dtype) {
  return dtype == DType::kBF16 ? float_to_bf16_bits(v) : float_to_f16_bits(v);
}

float h16_bits_to_float(uint16_t bits, DType dtype) {
  return dtype == DType::kBF16 ? bf16_bits_to_float(bits) : f16_bits_to_float(bits);
}

void a_fragment_coord(int lane, int i, int* row, int* col) {
  const int g = lane >> 2, t = lane & 3, reg = i >> 1;
  *row = g + 8 * (reg & 1);
  *col = 2 * t + (i & 1) + 8 * (reg >> 1);
}

void sparse_a_fragment_coord(int lane, int i, int* row, int* group) {
  const int g = lane >> 2, t = lane & 3, reg = i >> 1;
  *row = g + 8 * (reg & 1);
  *group = t + 4 * (reg >> 1);
}

double H16Weight::density() const {
  if (format == Format::kNm24) return 0.5;
  if (format == Format::kBsr16 || format == Format::kBsr32) {
    const int64_t bcols = (cols + block - 1) / block;
    const int64_t total = row_tiles * bcols;
    return total ? static_cast<double>(blocks) / static_cast<double>(total) : 0.0;
  }
  return 1.0;
}

int64_t H16Weight::nbytes() const {
  return static_cast<int64_t>(values.size() * 2 + meta.size() * 4 + row_ptr.size() * 4 + col_idx.size() * 4);
}

namespace {

Status check_matrix(const float* dense, int64_t rows, int64_t cols, DType dtype) {
  if (dtype == DType::kF32) return Status::InvalidArgument("dtype: expected float16 or bfloat16, got float32");
  if (rows < 1 || cols < 1) {
    return Status::InvalidArgument("weight: expected a non-empty matrix, got " + std::to_string(rows) + " x " +
                                   std::to_string(cols));
  }
  if (rows > (int64_t(1) << 30) || cols > (int64_t(1) << 30)) {
    return Status::InvalidArgument("weight: dimensions above 2^30 are not supported");
  }
  const double limit = dtype == DType::kF16 ? 65504.0 : static_cast<double>(std::numeric_limits<float>::max());
  for (int64_t i = 0; i < rows * cols; ++i) {
    const float v = dense[i];
    if (!std::isfinite(v) || std::fabs(static_cast<double>(v)) > limit) {
      return Status::InvalidArgument("weight: value " + std::to_string(v) + " at (" + std::to_string(i / cols) + ", " +
                                     std::to_string(i % cols) + ") is not a finite " + dtype_name(dtype));
    }
  }
  return Status::Ok();
}

}  // namespace

Status pack_nm24(const float* dense, int64_t rows, int64_t cols, DType dtype, H16Weight* out) {
  SPIRALKIT_RETURN_IF_ERROR(check_matrix(dense, rows, cols, dtype));
  H16Weight w;
  w.format = Format::kNm24;
  w.dtype = dtype;
  w.rows = rows;
  w.cols = cols;
  w.block = 16;
  w.row_tiles = (rows + 15) / 16;
  w.k_steps = (cols + 31) / 32;
  const int64_t groups = w.k_steps * 8;  // per padded row
  const int64_t prow = w.row_tiles * 16;
  // Per (row, group): the two kept column indices (increasing, distinct) and their values.
  std::vector<uint8_t> idx(static_cast<size_t>(prow * groups * 2));
  std::vector<uint16_t> val(idx.size(), 0);
  for (int64_t r = 0; r < prow; ++r) {
    for (int64_t g = 0; g < groups; ++g) {
      int kept[4], n = 0;
      for (int j = 0; j < 4; ++j) {
        const int64_t c = g * 4 + j;
        if (r < rows && c < cols && dense[r * cols + c] != 0.0f) kept[n++] = j;
      }
      if (n > 2) {
        return Status::InvalidArgument("weight: row " + std::to_string(r) + ", columns " + std::to_string(g * 4) +
                                       ".." + std::to_string(g * 4 + 3) + " hold " + std::to_string(n) +
                                       " non-zeros; 2:4 keeps at most 2 of every 4");
      }
      w.nnz += n;
      // Fill to two distinct indices with the lowest free ones (their values are zero), then sort.
      for (int j = 0; n < 2 && j < 4; ++j) {
        bool used = false;
        for (int q = 0; q < n; ++q) used |= kept[q] == j;
        if (!used) kept[n++] = j;
      }
      if (kept[0] > kept[1]) std::swap(kept[0], kept[1]);
      for (int q = 0; q < 2; ++q) {
        const int64_t c = g * 4 + kept[q];
        const size_t at = static_cast<size_t>((r * groups + g) * 2 + q);
        idx[at] = static_cast<uint8_t>(kept[q]);
        val[at] = (r < rows && c < cols) ? to_h16_bits(dense[r * cols + c], dtype) : 0;
      }
    }
  }
  const int64_t tiles = w.row_tiles * w.k_steps;
  w.values.assign(static_cast<size_t>(tiles * 32 * 8), 0);
  w.meta.assign(static_cast<size_t>(tiles * 16), 0);
  for (int64_t t = 0; t < w.row_tiles; ++t) {
    for (int64_t s = 0; s < w.k_steps; ++s) {
      const int64_t tile = t * w.k_steps + s;
      for (int lane = 0; lane < 32; ++lane) {
        for (int i = 0; i < 8; ++i) {
          int r, grp;
          sparse_a_fragment_coord(lane, i, &r, &grp);
          const int64_t row = t * 16 + r, group = s * 8 + grp;
          w.values[static_cast<size_t>((tile * 32 + lane) * 8 + i)] = val[static_cast<size_t>((row * groups + group) * 2 + (i & 1))];
        }
      }
      for (int g = 0; g < 8; ++g) {
        for (int q = 0; q < 2; ++q) {
          uint32_t word = 0;
          for (int h = 0; h < 2; ++h) {
            const int64_t row = t * 16 + g + 8 * h;
            for (int j = 0; j < 4; ++j) {
              const int64_t group = s * 8 + 4 * q + j;
              const size_t at = static_cast<size_t>((row * groups + group) * 2);
              const uint32_t nibble = static_cast<uint32_t>(idx[at]) | (static_cast<uint32_t>(idx[at + 1]) << 2);
              word |= nibble << (16 * h + 4 * j);
            }
          }
          w.meta[static_cast<size_t>(tile * 16 + 2 * g + q)] = word;
        }
      }
    }
  }
  *out = std::move(w);
  return Status::Ok();
}

Status pack_bsr_h16(const float* dense, int64_t rows, int64_t cols, int block, DType dtype, H16Weight* out) {
  if (block != 16 && block != 32) {
    return Status::InvalidArgument("block: expected 16 or 32, got " + std::to_string(block));
  }
  SPIRALKIT_RETURN_IF_ERROR(check_matrix(dense, rows, cols, dtype));
  H16Weight w;
  w.format = block == 16 ? Format::kBsr16 : Format::kBsr32;
  w.dtype = dtype;
  w.rows = rows;
  w.cols = cols;
  w.block = block;
  w.row_tiles = (rows + block - 1) / block;
  const int64_t bcols = (cols + block - 1) / block;
  const int side = block / 16, frags = side * side;
  w.row_ptr.assign(static_cast<size_t>(w.row_tiles + 1), 0);
  for (int64_t br = 0; br < w.row_tiles; ++br) {
    for (int64_t bc = 0; bc < bcols; ++bc) {
      int64_t nz = 0;
      for (int64_t r = br * block; r < std::min(rows, (br + 1) * block); ++r) {
        for (int64_t c = bc * block; c < std::min(cols, (bc + 1) * block); ++c) nz += dense[r * cols + c] != 0.0f;
      }
      if (nz == 0) continue;
      if (w.blocks >= std::numeric_limits<int32_t>::max()) return Status::InvalidArgument("weight: too many blocks");
      w.nnz += nz;
      ++w.blocks;
      w.col_idx.push_back(static_cast<int32_t>(bc));
      for (int f = 0; f < frags; ++f) {
        const int rt = f / side, ks = f % side;
        for (int lane = 0; lane < 32; ++lane) {
          for (int i = 0; i < 8; ++i) {
            int r, c;
            a_fragment_coord(lane, i, &r, &c);
            const int64_t row = br * block + rt * 16 + r, col = bc * block + ks * 16 + c;
            w.values.push_back(row < rows && col < cols ? to_h16_bits(dense[row * cols + col], dtype) : 0);
          }
        }
      }
    }
    w.row_ptr[static_cast<size_t>(br + 1)] = static_cast<int32_t>(w.blocks);
  }
  *out = std::move(w);
  return Status::Ok();
}

Status pack_dense_h16(const float* dense, int64_t rows, int64_t cols, DType dtype, H16Weight* out) {
  SPIRALKIT_RETURN_IF_ERROR(check_matrix(dense, rows, cols, dtype));
  H16Weight w;
  w.format = Format::kDenseH16;
  w.dtype = dtype;
  w.rows = rows;
  w.cols = cols;
  w.values.resize(static_cast<size_t>(rows * cols));
  for (int64_t i = 0; i < rows * cols; ++i) {
    w.values[static_cast<size_t>(i)] = to_h16_bits(dense[i], dtype);
    w.nnz += dense[i] != 0.0f;
  }
  *out = std::move(w);
  return Status::Ok();
}

Status unpack_h16(const H16Weight& w, std::vector<float>* dense) {
  const int64_t rows = w.rows, cols = w.cols;
  dense->assign(static_cast<size_t>(rows * cols), 0.0f);
  auto bad = [](const std::string& what) { return Status::FormatError("packed fp16/bf16 weight: " + what); };
  if (w.format == Format::kDenseH16) {
    if (static_cast<int64_t>(w.values.size()) != rows * cols) return bad("values size");
    for (int64_t i = 0; i < rows * cols; ++i) (*dense)[static_cast<size_t>(i)] = h16_bits_to_float(w.values[static_cast<size_t>(i)], w.dtype);
    return Status::Ok();
  }
  if (w.format == Format::kNm24) {
    const int64_t tiles = w.row_tiles * w.k_steps;
    if (w.row_tiles != (rows + 15) / 16 || w.k_steps != (cols + 31) / 32 ||
        static_cast<int64_t>(w.values.size()) != tiles * 256 || static_cast<int64_t>(w.meta.size()) != tiles * 16) {
      return bad("2:4 array sizes");
    }
    for (int64_t t = 0; t < w.row_tiles; ++t) {
      for (int64_t s = 0; s < w.k_steps; ++s) {
        const int64_t tile = t * w.k_steps + s;
        for (int lane = 0; lane < 32; ++lane) {
          for (int i = 0; i < 8; ++i) {
            int r, grp;
            sparse_a_fragment_coord(lane, i, &r, &grp);
            // The lane holding this row's metadata for the group: 4 * (r % 8) + (grp / 4).
            const uint32_t word = w.meta[static_cast<size_t>(tile * 16 + 2 * (r % 8) + grp / 4)];
            const uint32_t nibble = (word >> (16 * (r / 8) + 4 * (grp % 4))) & 0xfu;
            const int i0 = nibble & 3, i1 = nibble >> 2;
            if (i0 >= i1) return bad("metadata nibble with indices out of order");
            const int64_t row = t * 16 + r, col = s * 32 + grp * 4 + ((i & 1) ? i1 : i0);
            const float v = h16_bits_to_float(w.values[static_cast<size_t>((tile * 32 + lane) * 8 + i)], w.dtype);
            if (row < rows && col < cols) {
              (*dense)[static_cast<size_t>(row * cols + col)] = v;
            } else if (v != 0.0f) {
              return bad("non-zero padding");
            }
          }
        }
      }
    }
    return Status::Ok();
  }
  if (w.format != Format::kBsr16 && w.format != Format::kBsr32) return bad("unknown format");
  const int block = w.block, side = block / 16, frags = side * side;
  const int64_t bcols = (cols + block - 1) / block;
  if ((block != 16 && block != 32) || w.row_tiles != (rows + block - 1) / block ||
      static_cast<int64_t>(w.row_ptr.size()) != w.row_tiles + 1 || w.row_ptr[0] != 0 ||
      w.row_ptr.back() != w.blocks || static_cast<int64_t>(w.col_idx.size()) != w.blocks ||
      static_cast<int64_t>(w.values.size()) != w.blocks * frags * 256) {
    return bad("BSR array sizes");
  }
  for (int64_t br = 0; br < w.row_tiles; ++br) {
    if (w.row_ptr[static_cast<size_t>(br + 1)] < w.row_ptr[static_cast<size_t>(br)]) return bad("row_ptr decreases");
    for (int32_t b = w.row_ptr[static_cast<size_t>(br)]; b < w.row_ptr[static_cast<size_t>(br + 1)]; ++b) {
      const int64_t bc = w.col_idx[static_cast<size_t>(b)];
      if (bc < 0 || bc >= bcols) return bad("block column out of range");
      for (int f = 0; f < frags; ++f) {
        for (int lane = 0; lane < 32; ++lane) {
          for (int i = 0; i < 8; ++i) {
            int r, c;
            a_fragment_coord(lane, i, &r, &c);
            const int64_t row = br * block + (f / side) * 16 + r, col = bc * block + (f % side) * 16 + c;
            const float v = h16_bits_to_float(w.values[static_cast<size_t>(((int64_t(b) * frags + f) * 32 + lane) * 8 + i)], w.dtype);
            if (row < rows && col < cols) (*dense)[static_cast<size_t>(row * cols + col)] = v;
          }
        }
      }
    }
  }
  return Status::Ok();
}

}  // namespace cuda
}  // namespace spiralkit
