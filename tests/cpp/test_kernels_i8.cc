// Every qs8 registry row (those the CPU can run) against the scalar integer reference, bit for bit,
// over named edge cases; rows the CPU cannot run are refused by name with Unsupported.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "config/kernel_registry_i8.h"
#include "ops/qactivations.h"
#include "sparse/qpanel_pack_i8.h"

using spiralkit::Activation;
using spiralkit::QOutput;

namespace {

struct Case {
  const char* name;
  int64_t rows, cols, m;
  double drop;           // fraction of r x 4 blocks dropped (1.0: every row empty)
  int32_t zero_point;
  bool extremes;         // weights only -128/127, activations only 0/255 (saturation limits)
  bool bias;
  Activation act;
  bool out_u8;
};

std::vector<Case> cases() {
  return {
      {"K not a multiple of 4", 13, 37, 19, 0.5, 7, false, true, Activation::kNone, false},
      {"K = 1", 9, 1, 21, 0.0, 0, false, true, Activation::kRelu, false},
      {"K = 3, requantized", 6, 3, 17, 0.0, 200, false, true, Activation::kNone, true},
      {"saturation at the int8/uint8 limits", 12, 64, 33, 0.3, 0, true, false, Activation::kNone, false},
      {"saturation, requantized to the uint8 limits", 12, 64, 33, 0.3, 255, true, true, Activation::kNone, true},
      {"zero point 128", 8, 40, 16, 0.5, 128, false, true, Activation::kRelu6, false},
      {"zero point 255", 8, 40, 15, 0.5, 255, false, false, Activation::kRelu, true},
      {"empty rows (all-zero weight)", 16, 40, 17, 1.0, 90, false, true, Activation::kNone, false},
      {"rows not a multiple of the tile", 7, 50, 3 * 128 + 5, 0.7, 3, false, true, Activation::kRelu, true},
      {"fully dense", 24, 33, 50, 0.0, 60, false, true, Activation::kNone, false},
      {"m = 1", 17, 70, 1, 0.6, 10, false, true, Activation::kNone, false},
      {"m = 2", 5, 70, 2, 0.6, 10, false, true, Activation::kRelu6, true},
      {"ReLU6, requantized (both clamp bounds of the folded epilogue)", 12, 45, 2 * 64 + 9, 0.4, 50, false, true,
       Activation::kRelu6, true},
      {"sparse 90% (BERT-like K)", 64, 768, 40, 0.9, 120, false, true, Activation::kNone, false},
      {"sparse 90%, full 128-column strips (odd and even block counts)", 33, 768, 256, 0.9, 7, false, true,
       Activation::kRelu, true},
  };
}

struct Inputs {
  std::vector<int8_t> w;
  std::vector<uint8_t> x;
  std::vector<float> scale, bias;
  QOutput out;
};

// Weights with r x 4 blocks dropped with probability c.drop (a block pattern both layouts keep).
Inputs make(const Case& c, int r, uint32_t seed) {
  Inputs in;
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> wd(-128, 127), xd(0, 255), bit(0, 1);
  std::uniform_real_distribution<float> coin(0.0f, 1.0f), sd(0.001f, 0.02f), bd(-3.0f, 3.0f);
  in.w.resize(static_cast<size_t>(c.rows * c.cols));
  for (auto& v : in.w) v = static_cast<int8_t>(c.extremes ? (bit(gen) ? 127 : -128) : wd(gen));
  for (int64_t br = 0; br < c.rows; br += r)
    for (int64_t bc = 0; bc < c.cols; bc += 4) {
      if (c.drop < 1.0 && coin(gen) >= c.drop) continue;
      for (int64_t i = br; i < std::min<int64_t>(c.rows, br + r); ++i)
        for (int64_t j = bc; j < std::min<int64_t>(c.cols, bc + 4); ++j) in.w[i * c.cols + j] = 0;
    }
  in.x.resize(static_cast<size_t>(c.m * c.cols));
  for (auto& v : in.x) v = static_cast<uint8_t>(c.extremes ? (bit(gen) ? 255 : 0) : xd(gen));
  in.scale.resize(static_cast<size_t>(c.rows));
  for (auto& s : in.scale) s = c.extremes && c.out_u8 ? 1.0f : sd(gen);
  if (c.bias) {
    in.bias.resize(static_cast<size_t>(c.rows));
    for (auto& b : in.bias) b = bd(gen);
  }
  in.out.scale = in.scale.data();
  in.out.bias = c.bias ? in.bias.data() : nullptr;
  in.out.act = c.act;
  in.out.out_inv_scale = 1.0f / 0.05f;
  in.out.out_zero_point = c.out_u8 ? 100 : 0;
  return in;
}

// Reference output, M x N, as raw bytes (fp32 or uint8).
std::vector<uint8_t> reference(const Case& c, const Inputs& in) {
  QOutput o = in.out;
  std::vector<float> yf;
  std::vector<uint8_t> yq;
  if (c.out_u8) {
    yq.assign(static_cast<size_t>(c.m * c.rows), 0);
    o.y_u8 = yq.data();
  } else {
    yf.assign(static_cast<size_t>(c.m * c.rows), 0.0f);
    o.y_f32 = yf.data();
  }
  spiralkit::spiralkit_qs8_linear_ukernel__reference(in.w.data(), c.rows, c.cols, in.x.data(), c.m, c.zero_point, o,
                                                     c.rows);
  if (c.out_u8) return yq;
  std::vector<uint8_t> bytes(yf.size() * 4);
  std::memcpy(bytes.data(), yf.data(), bytes.size());
  return bytes;
}

// A kernel's N x M output transposed to M x N bytes.
std::vector<uint8_t> as_mxn(const Case& c, const std::vector<float>& yf, const std::vector<uint8_t>& yq, int64_t ldy) {
  const int es = c.out_u8 ? 1 : 4;
  std::vector<uint8_t> bytes(static_cast<size_t>(c.m * c.rows * es));
  for (int64_t n = 0; n < c.rows; ++n)
    for (int64_t i = 0; i < c.m; ++i) {
      if (c.out_u8) bytes[i * c.rows + n] = yq[n * ldy + i];
      else std::memcpy(&bytes[(i * c.rows + n) * 4], &yf[n * ldy + i], 4);
    }
  return bytes;
}

std::vector<uint8_t> run_spmm(const spiralkit::QSpmmRow& row, bool dense, const Case& c, const Inputs& in) {
  spiralkit::QPanelPack pack;
  spiralkit::build_qpanels(in.w.data(), c.rows, c.cols, row.r, dense, &pack);
  const spiralkit::QPanelView v = pack.view();
  const int64_t ldx = spiralkit::qxt_ldx(c.m);
  std::vector<uint8_t> xt(static_cast<size_t>(v.groups * ldx * 4));
  spiralkit::pack_qxt(in.x.data(), c.m, c.cols, c.cols, 0xA5, xt.data(), ldx);  // pad: any byte
  const int64_t ldy = c.m + 3;
  std::vector<float> yf(c.out_u8 ? 0 : static_cast<size_t>(c.rows * ldy), -1.0f);
  std::vector<uint8_t> yq(c.out_u8 ? static_cast<size_t>(c.rows * ldy) : 0, 0x5A);
  spiralkit::QXtArgs a;
  a.x = xt.data();
  a.ldx = ldx;
  a.m = c.m;
  a.x_zero_point = c.zero_point;
  a.out = in.out;
  a.out.y_f32 = c.out_u8 ? nullptr : yf.data();
  a.out.y_u8 = c.out_u8 ? yq.data() : nullptr;
  a.ldy = ldy;
  // Two calls over a split of the panels (how the drivers thread), the second offset by y_row0.
  const int64_t split = v.panels / 2;
  row.fn(v, 0, split, a);
  spiralkit::QXtArgs a2 = a;
  a2.y_row0 = split * row.r;
  if (a2.out.y_f32) a2.out.y_f32 += split * row.r * ldy;
  if (a2.out.y_u8) a2.out.y_u8 += split * row.r * ldy;
  row.fn(v, split, v.panels, a2);
  for (int64_t n = 0; n < c.rows; ++n)  // nothing past m written
    for (int64_t i = c.m; i < ldy; ++i) {
      if (c.out_u8) REQUIRE(yq[n * ldy + i] == 0x5A);
      else REQUIRE(yf[n * ldy + i] == -1.0f);
    }
  return as_mxn(c, yf, yq, ldy);
}

std::vector<uint8_t> run_gemv(const spiralkit::QGemvRow& row, bool dense, const Case& c, const Inputs& in,
                              int64_t i) {
  spiralkit::QPanelPack pack;
  spiralkit::build_qpanels(in.w.data(), c.rows, c.cols, row.r, dense, &pack);
  const spiralkit::QPanelView v = pack.view();
  std::vector<uint8_t> xp(static_cast<size_t>(v.groups * 4 + 64), 0xA5);
  std::memcpy(xp.data(), in.x.data() + i * c.cols, static_cast<size_t>(c.cols));
  std::vector<float> yf(static_cast<size_t>(c.rows), -1.0f);
  std::vector<uint8_t> yq(static_cast<size_t>(c.rows), 0x5A);
  spiralkit::QGemvArgs a;
  a.x = xp.data();
  a.x_zero_point = c.zero_point;
  a.out = in.out;
  a.out.y_f32 = c.out_u8 ? nullptr : yf.data();
  a.out.y_u8 = c.out_u8 ? yq.data() : nullptr;
  row.fn(v, 0, v.panels, a);
  std::vector<uint8_t> bytes(static_cast<size_t>(c.rows * (c.out_u8 ? 1 : 4)));
  if (c.out_u8) std::memcpy(bytes.data(), yq.data(), bytes.size());
  else std::memcpy(bytes.data(), yf.data(), bytes.size());
  return bytes;
}

template <typename Row>
bool runnable(const Row& row) {
  const spiralkit::Status st = spiralkit::find_qs8_kernel(row.name, nullptr, nullptr);
  if (!spiralkit::isa_allows(row.isa)) {
    CHECK(st.code() == spiralkit::StatusCode::kUnsupported);  // refused by name, never run
    return false;
  }
  CHECK(st.ok());
  return true;
}

}  // namespace

TEST_CASE("qs8 spmm and gemm rows are bit-exact against the integer reference") {
  int ran = 0;
  for (int dense = 0; dense < 2; ++dense) {
    const auto& table = dense ? spiralkit::qs8_gemm_table() : spiralkit::qs8_spmm_table();
    for (const auto& row : table) {
      if (!runnable(row)) continue;
      ++ran;
      uint32_t seed = 11;
      for (const Case& c : cases()) {
        CAPTURE(row.name);
        CAPTURE(c.name);
        const Inputs in = make(c, row.r, seed++);
        REQUIRE(run_spmm(row, dense != 0, c, in) == reference(c, in));
      }
    }
  }
  CHECK(ran >= 3);  // the scalar rows at least
}

TEST_CASE("qs8 spmv and gemv rows (one activation row) are bit-exact against the integer reference") {
  for (int dense = 0; dense < 2; ++dense) {
    const auto& table = dense ? spiralkit::qs8_gemv_table() : spiralkit::qs8_spmv_table();
    for (const auto& row : table) {
      if (!runnable(row)) continue;
      uint32_t seed = 101;
      for (Case c : cases()) {
        CAPTURE(row.name);
        CAPTURE(c.name);
        const int64_t m = std::min<int64_t>(c.m, 3);
        c.m = m;
        const Inputs in = make(c, row.r, seed++);
        const std::vector<uint8_t> want = reference(c, in);
        const size_t es = c.out_u8 ? 1 : 4;
        for (int64_t i = 0; i < m; ++i) {
          const std::vector<uint8_t> got = run_gemv(row, dense != 0, c, in, i);
          REQUIRE(std::vector<uint8_t>(want.begin() + i * c.rows * es, want.begin() + (i + 1) * c.rows * es) == got);
        }
      }
    }
  }
}

TEST_CASE("qs8 dwconv rows are bit-exact against the integer reference") {
  struct Geo { int64_t h, w; int k, stride, pad, dil, stride_h = 0; };  // stride_h 0: = stride
  // Narrow planes (one partial vector), and rows wide enough for the vector rows' four-vector
  // strips plus a tail, at strides 1-3, dilation 2, 5x5 and 7x7; planes tall and wide enough for
  // several row bands of the 3x3 rows (MobileNet's 112 x 112 stride 2, 56 x 56 stride 1); a 3x3
  // whose vertical stride differs from its horizontal one.
  const Geo geos[] = {{7, 9, 3, 1, 1, 1},   {8, 8, 3, 2, 1, 1},  {5, 6, 5, 1, 2, 1},  {9, 9, 3, 1, 2, 2},
                      {4, 4, 1, 1, 0, 1},   {3, 3, 3, 1, 0, 1},  {6, 5, 3, 2, 0, 1},  {6, 77, 3, 1, 1, 1},
                      {7, 131, 3, 2, 1, 1}, {5, 70, 5, 1, 2, 1}, {9, 41, 7, 1, 3, 1}, {6, 83, 3, 1, 2, 2},
                      {7, 100, 3, 3, 1, 1}, {5, 66, 5, 2, 2, 1}, {112, 112, 3, 2, 1, 1}, {57, 56, 3, 1, 1, 1},
                      {33, 40, 3, 2, 1, 1, 1}, {20, 47, 3, 1, 1, 1, 2}};
  std::mt19937 gen(5);
  std::uniform_int_distribution<int> wd(-128, 127), xd(0, 255);
  for (const auto& row : spiralkit::qs8_dwconv_table()) {
    if (!spiralkit::isa_allows(row.isa)) continue;
    for (const Geo& g : geos)
      for (int out_u8 = 0; out_u8 < 2; ++out_u8)
        for (const auto& [act, zp] : {std::pair<Activation, int32_t>{Activation::kRelu, 77}, {Activation::kNone, 0},
                                      {Activation::kRelu6, 255}}) {
          CAPTURE(row.name);
          CAPTURE(g.h);
          CAPTURE(g.k);
          CAPTURE(zp);
          std::vector<uint8_t> x(static_cast<size_t>(g.h * g.w));
          for (auto& v : x) v = static_cast<uint8_t>(xd(gen));
          std::vector<int8_t> w(static_cast<size_t>(g.k * g.k));
          for (auto& v : w) v = static_cast<int8_t>(wd(gen));
          const float scale = 0.003f, bias = 0.25f;
          spiralkit::QDwArgs a;
          a.x = x.data();
          a.in_h = g.h;
          a.in_w = g.w;
          const int stride_h = g.stride_h ? g.stride_h : g.stride;
          a.out_h = (g.h + 2 * g.pad - g.dil * (g.k - 1) - 1) / stride_h + 1;
          a.out_w = (g.w + 2 * g.pad - g.dil * (g.k - 1) - 1) / g.stride + 1;
          a.w = w.data();
          a.kh = a.kw = g.k;
          a.stride_h = stride_h;
          a.stride_w = g.stride;
          a.pad_h = a.pad_w = g.pad;
          a.dil_h = a.dil_w = g.dil;
          a.x_zero_point = zp;  // 0 and 255: the padding bytes at both ends of the range
          a.out.scale = &scale;
          a.out.bias = &bias;
          a.out.act = act;
          a.out.out_inv_scale = 10.0f;
          a.out.out_zero_point = 3;
          const size_t n = static_cast<size_t>(a.out_h * a.out_w);
          // The vector rows' scratch, poisoned: every float that reaches a kept output must be one
          // they wrote (the slack past a row's window is read only by lanes past out_w).
          std::vector<float> work(static_cast<size_t>(spiralkit::qs8_dwconv_work_floats(a)), std::nanf(""));
          a.work = work.data();
          std::vector<float> yf(n), rf(n);
          std::vector<uint8_t> yq(n), rq(n);
          spiralkit::QDwArgs r = a;
          if (out_u8) {
            a.out.y_u8 = yq.data();
            r.out.y_u8 = rq.data();
          } else {
            a.out.y_f32 = yf.data();
            r.out.y_f32 = rf.data();
          }
          row.fn(a);
          spiralkit::spiralkit_qs8_dwconv_ukernel__reference(r);
          if (out_u8) REQUIRE(yq == rq);
          else REQUIRE(std::memcmp(yf.data(), rf.data(), n * 4) == 0);
        }
  }
}

TEST_CASE("qu8 quantize rows are bit-exact against quantize_u8") {
  // Lengths around every row's lane count, values on and beside the rounding halves, past the
  // uint8 limits both ways, and the non-finite ones (NaN clamps low, as in the oracle).
  std::mt19937 gen(11);
  std::uniform_real_distribution<float> ud(-40.0f, 40.0f);
  const float inv_scale = 4.0f;
  for (const auto& row : spiralkit::qu8_vquant_table()) {
    if (!spiralkit::isa_allows(row.isa)) continue;
    for (int32_t zp : {0, 1, 128, 254, 255})
      for (int64_t n : {0, 1, 3, 4, 7, 8, 15, 16, 17, 33, 100}) {
        CAPTURE(row.name);
        CAPTURE(zp);
        CAPTURE(n);
        std::vector<float> x(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) {
          switch (i % 8) {
            case 0: x[i] = (std::floor(ud(gen)) + 0.5f) / inv_scale; break;  // exact halves
            case 1: x[i] = std::nextafter((std::floor(ud(gen)) + 0.5f) / inv_scale, 100.0f); break;
            case 2: x[i] = 1e30f * (i % 16 < 8 ? 1.0f : -1.0f); break;
            case 3: x[i] = (i % 3 == 0) ? NAN : (i % 3 == 1 ? INFINITY : -INFINITY); break;
            case 4: x[i] = (255.0f - zp + 0.5f) / inv_scale; break;  // the upper limit's half
            default: x[i] = ud(gen); break;
          }
        }
        std::vector<uint8_t> y(static_cast<size_t>(n) + 1, 0xAB), ref(static_cast<size_t>(n) + 1, 0xAB);
        row.fn(x.data(), n, inv_scale, zp, y.data());
        for (int64_t i = 0; i < n; ++i) ref[i] = spiralkit::quantize_u8(x[i], inv_scale, zp);
        REQUIRE(y == ref);  // includes the guard byte past n: nothing written beyond the row
      }
  }
}

TEST_CASE("qs8 kernels asked for by name: unknown names are InvalidArgument") {
  CHECK(spiralkit::find_qs8_kernel("spiralkit_qs8_spmm_ukernel_9x9__avx9", nullptr, nullptr).code() ==
        spiralkit::StatusCode::kInvalidArgument);
  CHECK(spiralkit::find_qs8_kernel("spiralkit_qs8_spmm_ukernel_1x4__scalar", nullptr, nullptr).ok());
}

TEST_CASE("quantize_pack_qxt equals quantize then pack") {
  const int64_t m = 5, k = 11, ldx = spiralkit::qxt_ldx(m);
  std::vector<float> x(static_cast<size_t>(m * k));
  for (size_t i = 0; i < x.size(); ++i) x[i] = (static_cast<float>(i) - 20.0f) * 0.37f;
  x[3] = 1e9f;   // saturates high
  x[4] = -1e9f;  // saturates low
  x[5] = 0.5f * 0.1f;  // exactly half a step: rounds to even
  std::vector<uint8_t> q(x.size()), a(static_cast<size_t>(3 * ldx * 4)), b(a.size());
  spiralkit::quantize_u8_rows(x.data(), m * k, 10.0f, 9, q.data());
  CHECK(q[3] == 255);
  CHECK(q[4] == 0);
  spiralkit::pack_qxt(q.data(), m, k, k, 9, a.data(), ldx);
  spiralkit::quantize_pack_qxt(x.data(), m, k, k, 10.0f, 9, b.data(), ldx);
  CHECK(a == b);
}
