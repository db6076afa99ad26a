// Every f32-dwconv registry row against a direct loop over named geometries: 3x3 stride 1 and 2
// (the fast paths), other kernel sizes, dilation, asymmetric padding-free planes, rows narrower
// than a vector, widths one past a vector, and the fused bias + activation. The x86 rows read the
// unpadded plane with masked loads: planes placed against an inaccessible page prove that no
// load touches memory before or after the plane. QEMU 7.2 faults on masked-off lanes of AVX2's
// vmaskmovps (hardware does not: the native run checks the avx2 row), so under qemu
// (SPIRALKIT_TEST_UNDER_QEMU=1, set by .ci/qemu_kernel_tests.sh) that row's planes get a page
// of slack instead.
#include <doctest/doctest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "config/kernel_registry.h"
#include "test_helpers.h"

using spiralkit::Activation;
using spiralkit::DwArgs;

namespace {

struct Geometry {
  const char* name;
  int64_t h, w;
  int kh, kw, stride, pad, dil;
  Activation act;
  int pad_h = -1;  // -1: pad (the fused block's bands hold the top/bottom padding as rows: 0)
  int64_t out_h = -1;  // -1: from the geometry; more: rows below the plane past pad_h read as zero
};

// n floats flush against an inaccessible page: after them (at_end) or before them. Unguarded,
// the pages around them stay accessible.
class GuardedFloats {
 public:
  GuardedFloats(size_t n, bool at_end, bool guarded = true) {
    page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    const size_t bytes = (n * sizeof(float) + page_ - 1) / page_ * page_;
    size_ = bytes + 2 * page_;
    base_ = static_cast<char*>(mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    REQUIRE(base_ != MAP_FAILED);
    if (guarded) {
      REQUIRE(mprotect(base_, page_, PROT_NONE) == 0);
      REQUIRE(mprotect(base_ + page_ + bytes, page_, PROT_NONE) == 0);
    }
    data_ = reinterpret_cast<float*>(at_end ? base_ + page_ + bytes - n * sizeof(float) : base_ + page_);
  }
  ~GuardedFloats() { munmap(base_, size_); }
  GuardedFloats(const GuardedFloats&) = delete;
  GuardedFloats& operator=(const GuardedFloats&) = delete;
  float* data() { return data_; }

 private:
  size_t page_ = 0, size_ = 0;
  char* base_ = nullptr;
  float* data_ = nullptr;
};

std::vector<float> direct(const DwArgs& a) {
  std::vector<float> y(static_cast<size_t>(a.out_h * a.out_w));
  for (int64_t oh = 0; oh < a.out_h; ++oh)
    for (int64_t ow = 0; ow < a.out_w; ++ow) {
      double acc = a.bias;
      for (int r = 0; r < a.kh; ++r)
        for (int q = 0; q < a.kw; ++q) {
          const int64_t ih = oh * a.stride_h - a.pad_h + int64_t(r) * a.dil_h;
          const int64_t iw = ow * a.stride_w - a.pad_w + int64_t(q) * a.dil_w;
          if (ih < 0 || ih >= a.in_h || iw < 0 || iw >= a.in_w) continue;
          acc += double(a.w[r * a.kw + q]) * a.x[ih * a.in_w + iw];
        }
      y[oh * a.out_w + ow] = spiralkit::apply_activation(static_cast<float>(acc), a.act);
    }
  return y;
}

// The geometry's arguments (no pointers yet): shape, padding, output size, activation.
DwArgs geometry_args(const Geometry& g) {
  DwArgs a;
  a.in_h = g.h;
  a.in_w = g.w;
  a.kh = g.kh;
  a.kw = g.kw;
  a.stride_h = a.stride_w = g.stride;
  a.pad_w = g.pad;
  a.pad_h = g.pad_h < 0 ? g.pad : g.pad_h;
  a.dil_h = a.dil_w = g.dil;
  a.out_h = g.out_h >= 0 ? g.out_h : (g.h + 2 * a.pad_h - int64_t(g.dil) * (g.kh - 1) - 1) / g.stride + 1;
  a.out_w = (g.w + 2 * g.pad - int64_t(g.dil) * (g.kw - 1) - 1) / g.stride + 1;
  a.act = g.act;
  return a;
}

}  // namespace

TEST_CASE("every f32-dwconv registry row matches the direct loop on named geometries") {
  const Geometry cases[] = {
      {"3x3 s1 same, 14x14", 14, 14, 3, 3, 1, 1, 1, Activation::kRelu6},
      {"3x3 s2, 15x15 (odd)", 15, 15, 3, 3, 2, 1, 1, Activation::kRelu},
      {"3x3 s1, 7x7 (narrower than two vectors)", 7, 7, 3, 3, 1, 1, 1, Activation::kNone},
      {"3x3 s1, one column", 5, 1, 3, 3, 1, 1, 1, Activation::kNone},
      {"3x3 s1 valid, width one past a vector", 6, 19, 3, 3, 1, 0, 1, Activation::kGelu},
      {"3x3 s2, 112x112 (MobileNet)", 112, 112, 3, 3, 2, 1, 1, Activation::kRelu6},
      {"5x5 s1 pad 2", 12, 13, 5, 5, 1, 2, 1, Activation::kSilu},
      {"5x5 s2 pad 2", 17, 17, 5, 5, 2, 2, 1, Activation::kNone},
      {"3x3 dilation 2", 11, 12, 3, 3, 1, 2, 2, Activation::kNone},
      {"1x1 (K = 1)", 9, 9, 1, 1, 1, 0, 1, Activation::kRelu},
      {"7x7 s3 pad 3", 20, 21, 7, 7, 3, 3, 1, Activation::kNone},
      {"1x1 input plane", 1, 1, 3, 3, 1, 1, 1, Activation::kSigmoid},
      // The masked-load path: vector boundaries, row-group remainders, wide rows past the kept
      // masks, band rows without top/bottom padding, padding wider than a tap.
      {"3x3 s1, 16 wide", 9, 16, 3, 3, 1, 1, 1, Activation::kRelu6},
      {"3x3 s1, 17 wide, 10 rows", 10, 17, 3, 3, 1, 1, 1, Activation::kNone},
      {"3x3 s1, 28x28", 28, 28, 3, 3, 1, 1, 1, Activation::kRelu6},
      {"3x3 s1, 33 wide", 6, 33, 3, 3, 1, 1, 1, Activation::kNone},
      {"3x3 s1, 300 wide (masks recomputed)", 5, 300, 3, 3, 1, 1, 1, Activation::kRelu},
      {"3x3 s2, 16 wide", 8, 16, 3, 3, 2, 1, 1, Activation::kNone},
      {"3x3 s2, 28x28", 28, 28, 3, 3, 2, 1, 1, Activation::kRelu6},
      {"3x3 s2, 33 wide", 7, 33, 3, 3, 2, 1, 1, Activation::kNone},
      {"3x3 s2, 14 wide, no padding", 9, 14, 3, 3, 2, 0, 1, Activation::kNone},
      {"3x3 s2, 600 wide (masks recomputed)", 5, 600, 3, 3, 2, 1, 1, Activation::kNone},
      {"3x3 s1, band rows (pad_h 0, pad_w 1)", 9, 14, 3, 3, 1, 1, 1, Activation::kRelu6, 0},
      {"3x3 s2, band rows (pad_h 0, pad_w 1)", 9, 56, 3, 3, 2, 1, 1, Activation::kNone, 0},
      {"3x3 s1 pad 2", 6, 10, 3, 3, 1, 2, 1, Activation::kNone},
      {"3x3 s1, 2x2", 2, 2, 3, 3, 1, 1, 1, Activation::kNone},
      {"3x3 s1, 4x4", 4, 4, 3, 3, 1, 1, 1, Activation::kRelu6},
      {"3x3 s2, 4x4", 4, 4, 3, 3, 2, 1, 1, Activation::kNone},
      {"3x3 s2, 8x8", 8, 8, 3, 3, 2, 1, 1, Activation::kNone},
      {"3x3 s2, 2x2", 2, 2, 3, 3, 2, 1, 1, Activation::kNone},
      {"3x3 s2, 5 band rows of 4 (pad_h 0)", 5, 4, 3, 3, 2, 1, 1, Activation::kNone, 0},
      {"3x3 s1, a bottom band: out_h past the plane", 5, 20, 3, 3, 1, 1, 1, Activation::kNone, 0, 5},
      {"3x3 s2, a bottom band: out_h past the plane", 5, 20, 3, 3, 2, 1, 1, Activation::kNone, 0, 3},
      {"5x5 s1, a bottom band: out_h past the plane", 6, 9, 5, 5, 1, 2, 1, Activation::kNone, 0, 6},
      {"3x3 s2 pad 2", 6, 10, 3, 3, 2, 2, 1, Activation::kNone},
      // Stride 1, same width, one load per input row and strip: pass remainders of 1 and 2 rows,
      // widths at and one past whole vectors, a band whose rows all lie inside the plane.
      {"3x3 s1, 56 wide, 8 rows", 8, 56, 3, 3, 1, 1, 1, Activation::kRelu6},
      {"3x3 s1, 32 wide, 10 rows", 10, 32, 3, 3, 1, 1, 1, Activation::kNone},
      {"3x3 s1, 49 wide, 7 rows", 7, 49, 3, 3, 1, 1, 1, Activation::kRelu},
      {"3x3 s1, 112 wide band rows (pad_h 0)", 8, 112, 3, 3, 1, 1, 1, Activation::kRelu6, 0},
      // The flattened path (rows at most a vector wide): several rows per vector, band rows, a
      // bottom band, and planes past its 16-vector limit (AVX2: 128 outputs, AVX-512: 256).
      {"3x3 s1, 8x8 (flat)", 8, 8, 3, 3, 1, 1, 1, Activation::kRelu6},
      {"3x3 s1, 7 wide band rows (pad_h 0)", 9, 7, 3, 3, 1, 1, 1, Activation::kRelu, 0},
      {"3x3 s1, 7 wide bottom band: out_h past the plane", 5, 7, 3, 3, 1, 1, 1, Activation::kNone, 0, 5},
      {"3x3 s1, 8 wide, 17 rows (past the flat limit)", 17, 8, 3, 3, 1, 1, 1, Activation::kNone},
      {"3x3 s1, 3 wide", 11, 3, 3, 3, 1, 1, 1, Activation::kNone},
      {"3x3 s1, 16 wide, 17 rows (past the flat limit)", 17, 16, 3, 3, 1, 1, 1, Activation::kRelu},
      // Stride 2 onto at most 7 columns (two output rows per AVX-512 vector): odd rows, bands.
      {"3x3 s2, 14x14 -> 7x7", 14, 14, 3, 3, 2, 1, 1, Activation::kRelu6},
      {"3x3 s2, 13 wide, 9 rows (odd output rows)", 9, 13, 3, 3, 2, 1, 1, Activation::kNone},
      {"3x3 s2, 14 wide band rows (pad_h 0)", 9, 14, 3, 3, 2, 1, 1, Activation::kNone, 0},
      {"3x3 s2, 14 wide bottom band: out_h past the plane", 5, 14, 3, 3, 2, 1, 1, Activation::kNone, 0, 4},
      {"3x3 s2, 3 wide", 7, 3, 3, 3, 2, 1, 1, Activation::kRelu},
  };
  const bool under_qemu = std::getenv("SPIRALKIT_TEST_UNDER_QEMU") != nullptr;
  for (const auto& row : spiralkit::dwconv_table()) {
    if (!spiralkit::isa_allows(row.isa)) continue;
    const bool guarded = !(under_qemu && row.isa == spiralkit::Isa::kAvx2);
    uint32_t seed = 40;
    for (const Geometry& g : cases)
      for (const bool at_end : {false, true}) {
        CAPTURE(std::string(row.name));
        CAPTURE(std::string(g.name));
        CAPTURE(at_end);
        const auto plane = spiralkit_test::random_vector(g.h * g.w, seed++);
        const auto w = spiralkit_test::random_vector(g.kh * g.kw, seed++);
        GuardedFloats x(plane.size(), at_end, guarded);
        std::memcpy(x.data(), plane.data(), plane.size() * sizeof(float));
        DwArgs a = geometry_args(g);
        a.x = x.data();
        a.w = w.data();
        a.bias = 0.25f;
        const auto want = direct(a);
        std::vector<float> got(want.size() + 8, -5.0f);
        a.y = got.data();
        row.fn(a);
        CHECK(spiralkit_test::max_rel_error(std::vector<float>(got.begin(), got.begin() + want.size()), want) < 1e-5f);
        for (size_t i = want.size(); i < got.size(); ++i) REQUIRE(got[i] == -5.0f);  // nothing past the plane
      }
  }
}

// Several planes in one call: strided planes (gaps between them), per-plane filters and biases,
// and nothing written between the output planes.
TEST_CASE("every f32-dwconv registry row runs several planes in one call") {
  const Geometry cases[] = {
      {"3x3 s1, 7x7", 7, 7, 3, 3, 1, 1, 1, Activation::kRelu6},
      {"3x3 s1, 14x14", 14, 14, 3, 3, 1, 1, 1, Activation::kNone},
      {"3x3 s2, 28x28", 28, 28, 3, 3, 2, 1, 1, Activation::kRelu},
      {"3x3 s2, 14x14 -> 7x7", 14, 14, 3, 3, 2, 1, 1, Activation::kRelu6},
      {"5x5 s1 pad 2", 9, 10, 5, 5, 1, 2, 1, Activation::kNone},
      {"3x3 s1, 7 wide band rows (pad_h 0)", 6, 7, 3, 3, 1, 1, 1, Activation::kNone, 0},
  };
  const int64_t planes = 5, x_gap = 3, y_gap = 2;
  for (const auto& row : spiralkit::dwconv_table()) {
    if (!spiralkit::isa_allows(row.isa)) continue;
    uint32_t seed = 90;
    for (const Geometry& g : cases) {
      CAPTURE(std::string(row.name));
      CAPTURE(std::string(g.name));
      DwArgs a = geometry_args(g);
      a.planes = planes;
      a.x_plane = g.h * g.w + x_gap;
      a.y_plane = a.out_h * a.out_w + y_gap;
      const auto x = spiralkit_test::random_vector(planes * a.x_plane, seed++);
      const auto w = spiralkit_test::random_vector(planes * g.kh * g.kw, seed++);
      const auto biases = spiralkit_test::random_vector(planes, seed++);
      std::vector<float> got(planes * a.y_plane, -5.0f);
      a.x = x.data();
      a.w = w.data();
      a.biases = biases.data();
      a.y = got.data();
      row.fn(a);
      for (int64_t c = 0; c < planes; ++c) {
        CAPTURE(c);
        DwArgs one = a;
        one.planes = 1;
        one.x = x.data() + c * a.x_plane;
        one.w = w.data() + c * g.kh * g.kw;
        one.bias = biases[c];
        const auto want = direct(one);
        const float* plane = got.data() + c * a.y_plane;
        CHECK(spiralkit_test::max_rel_error(std::vector<float>(plane, plane + want.size()), want) < 1e-5f);
        for (int64_t i = int64_t(want.size()); i < a.y_plane; ++i) REQUIRE(plane[i] == -5.0f);
      }
    }
  }
}
