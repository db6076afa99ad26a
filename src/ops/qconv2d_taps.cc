// Direct dense int8 convolution (k x k or strided). The K x M path (ops/qconv2d.cc) copies each of the
// k * k taps of every channel into its own interleaved row: for a 3x3 layer it writes and reads
// back 9x the input per call (1.8 MB at ResNet-50's 64 x 56 x 56), a fifth of the layer's time.
// Here the input is written once, as padded planes of words holding 4 channels' bytes (the VNNI /
// SDOT lane group) at each padded pixel, and the weight's K order is tap-major
// (PackedWeightI8::tap_major_panels), so K group (tap, channel group) of output column m is the
// word at m + offset(tap) of its plane: the kernels take a per-group offset table (QXtArgs.xoff)
// instead of copied rows. Columns run over the padded width ("wide" columns m = oh * wq + ow), so
// the pad columns between output rows are computed too (2 of 58 at 56 x 56, 2 of 9 at 7 x 7) and
// dropped when each 64-column tile is copied from the thread's scratch into y. A strided layer
// reads stride_h * stride_w phase planes (the fp32 direct driver's geometry, ops/conv2d.cc).
#include "ops/qconv2d_taps.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "config/kernel_registry_i8.h"
#include "core/aligned_vector.h"
#include "ops/clones.h"
#include "ops/qactivations.h"
#include "runtime/threads.h"

namespace spiralkit {
namespace {

constexpr int64_t kTileColumns = 64;    // wide columns per kernel call (the AVX-512 strip)
constexpr int64_t kTilesPerThread = 6;  // below this many per thread, threads split the panels
constexpr int64_t kSlackWords = 64;     // a tile's whole-vector loads past the last plane

// Row of `n` words: word j = c0[sj] | c1[sj] << 8 | c2[sj] << 16 | c3[sj] << 24 with sj = stride * j.
// Built per x86 level; stride 1 (and 2) as their own loops so the vectorizer sees plain loads.
SPIRALKIT_CLONES void zip_channels(const uint8_t* c0, const uint8_t* c1, const uint8_t* c2, const uint8_t* c3,
                                   int64_t n, int64_t stride, uint32_t* out) {
  if (stride == 1) {
    for (int64_t j = 0; j < n; ++j)
      out[j] = uint32_t(c0[j]) | uint32_t(c1[j]) << 8 | uint32_t(c2[j]) << 16 | uint32_t(c3[j]) << 24;
  } else if (stride == 2) {
    for (int64_t j = 0; j < n; ++j)
      out[j] = uint32_t(c0[2 * j]) | uint32_t(c1[2 * j]) << 8 | uint32_t(c2[2 * j]) << 16 | uint32_t(c3[2 * j]) << 24;
  } else {
    for (int64_t j = 0; j < n; ++j) {
      const int64_t sj = stride * j;
      out[j] = uint32_t(c0[sj]) | uint32_t(c1[sj]) << 8 | uint32_t(c2[sj]) << 16 | uint32_t(c3[sj]) << 24;
    }
  }
}

// Plane geometry: per channel group, one plane of hq x wq words per stride phase (ph, pw): word
// (i, j) holds padded pixel (ph + stride_h * i, pw + stride_w * j), the zero point outside the
// image. Output column m = oh * wq + ow reads tap (r, q) at word m + (r * dil_h / stride_h) * wq +
// q * dil_w / stride_w of phase ((r * dil_h) % stride_h, (q * dil_w) % stride_w).
// Planes start plane_stride words apart. A stride of a multiple of 8 cache lines (14 x 14 padded
// to 16 x 16 is 1 KiB, 16 lines) maps the same window of every plane to a quarter of the L1 sets
// or fewer, and a kernel's 64-column tile over 64 planes ran as if it missed L1 on set conflicts
// (3x3, 256 channels at 14 x 14, one tile: 2.8 ns per 16 dot products against 2.0 one line further
// apart, AMD EPYC Zen 5; that VM exposes no cache counters). One extra line spreads consecutive
// planes over every set; other strides stay packed (a larger stride for ResNet-50's 7 x 7 planes
// would push them out of L1).
struct TapGeometry {
  int64_t hq = 0, wq = 0, plane_words = 0, plane_stride = 0, phases = 1;
};
TapGeometry tap_geometry(const ConvShape& s) {
  TapGeometry g;
  g.hq = (s.in_h + 2 * s.pad_h + s.stride_h - 1) / s.stride_h;
  g.wq = (s.in_w + 2 * s.pad_w + s.stride_w - 1) / s.stride_w;
  g.plane_words = g.hq * g.wq;
  g.plane_stride = g.plane_words + (g.plane_words % 128 == 0 ? 16 : 0);
  g.phases = int64_t(s.stride_h) * s.stride_w;
  return g;
}

// Phase (ph, pw) plane of channel group cg.
void fill_plane(const uint8_t* image, const ConvShape& s, const TapGeometry& g, int64_t cg, int ph, int pw,
                uint8_t zp, uint32_t* plane) {
  const uint32_t pad = uint32_t(zp) * 0x01010101u;
  const int64_t in_pixels = s.in_h * s.in_w, sw = s.stride_w, off = pw - s.pad_w;
  // Columns j with 0 <= off + sw * j < in_w.
  const int64_t j0 = std::min<int64_t>(g.wq, off >= 0 ? 0 : (-off + sw - 1) / sw);
  const int64_t j1 = std::clamp<int64_t>((s.in_w - off + sw - 1) / sw, j0, g.wq);
  const uint8_t* c0 = image + 4 * cg * in_pixels;
  for (int64_t i = 0; i < g.hq; ++i) {
    uint32_t* row = plane + i * g.wq;
    const int64_t ih = ph + s.stride_h * i - s.pad_h;
    if (ih < 0 || ih >= s.in_h) {
      std::fill(row, row + g.wq, pad);
      continue;
    }
    std::fill(row, row + j0, pad);
    const uint8_t* src = c0 + ih * s.in_w + off + sw * j0;
    zip_channels(src, src + in_pixels, src + 2 * in_pixels, src + 3 * in_pixels, j1 - j0, sw, row + j0);
    std::fill(row + j1, row + g.wq, pad);
  }
}

// Whether some tap reads phase (ph, pw).
bool phase_read(const ConvShape& s, int ph, int pw) {
  bool row = false, col = false;
  for (int r = 0; r < s.kernel_h && !row; ++r) row = (r * s.dilation_h) % s.stride_h == ph;
  for (int q = 0; q < s.kernel_w && !col; ++q) col = (q * s.dilation_w) % s.stride_w == pw;
  return row && col;
}

// Output rows [n0, n1) of wide columns [m0, m0 + ms) from the scratch tile (row n at n * kTileColumns)
// into y (NCHW image): the columns of each output row, not the pad columns between them.
template <typename T>
void copy_tile(const T* tile, int64_t n0, int64_t n1, int64_t m0, int64_t ms, int64_t wq, const ConvShape& s, T* y) {
  const int64_t pixels = s.out_h * s.out_w;
  for (int64_t oh = m0 / wq; oh * wq < m0 + ms && oh < s.out_h; ++oh) {
    const int64_t a = std::max(m0, oh * wq), b = std::min(m0 + ms, oh * wq + s.out_w);
    if (a >= b) continue;
    const int64_t dst = oh * s.out_w + (a - oh * wq);
    for (int64_t n = n0; n < n1; ++n)
      std::memcpy(y + n * pixels + dst, tile + n * kTileColumns + (a - m0), static_cast<size_t>(b - a) * sizeof(T));
  }
}

CacheAlignedVector<uint8_t>& scratch(int i) {
  thread_local CacheAlignedVector<uint8_t> buffers[3];
  return buffers[i];
}

}  // namespace

bool qconv2d_direct_geometry(const ConvShape& s) {
  // A 1x1 stride-1 unpadded layer reads the channel planes as they are (the K x M path's 4-row
  // interleave is the same one pass over the input as these planes).
  const bool plain_1x1 = s.kernel_h == 1 && s.kernel_w == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_h == 0 &&
                         s.pad_w == 0;
  return s.groups == 1 && !plain_1x1 && s.in_channels % 4 == 0 && s.out_h > 0 && s.out_w > 0;
}

bool qconv2d_sparse_taps(const PackedWeightI8& w, const ConvShape& s) {
  const int64_t taps = int64_t(s.kernel_h) * s.kernel_w;
  if (w.panels.r != 1 || w.pattern.kind == PatternKind::kDense || !qconv2d_direct_geometry(s) ||
      w.cols != s.in_channels * taps)
    return false;
  return w.tap_major_blocks(taps) * 4 <= w.panels.blocks() * 5;
}

QConvPath qconv2d_path(const PackedWeightI8& w, const ConvShape& s, PlanChoice choice, bool kernel_epilogue) {
  const bool sparse_taps = kernel_epilogue && qconv2d_sparse_taps(w, s);
  QConvPath path;
  path.dense = qplan_dense(w, s.out_h * s.out_w, choice, sparse_taps ? w.tap_major_blocks(int64_t(s.kernel_h) * s.kernel_w) : -1);
  path.direct = kernel_epilogue && qconv2d_direct_geometry(s) && (path.dense || sparse_taps);
  return path;
}

Status qconv2d_taps_forward(const QConvPlan& plan, bool dense, int64_t batch, const QConvIo& io, const QOutput& out) {
  const ConvShape& s = plan.shape;
  const PackedWeightI8& w = *plan.layer->w;
  const QuantParams& xq_params = plan.layer->x;
  const int64_t taps = int64_t(s.kernel_h) * s.kernel_w, groups4 = s.in_channels / 4;
  const QPanelView v = (dense ? w.tap_major_panels(taps) : w.tap_major_sparse_panels(taps)).view();
  const QSpmmFn gemm = dense ? select_qs8_gemm()->fn : select_qs8_spmm(1)->fn;
  const int64_t in_pixels = s.in_h * s.in_w, pixels = s.out_h * s.out_w;
  const TapGeometry geo = tap_geometry(s);
  const int64_t wq = geo.wq, plane_stride = geo.plane_stride, nplanes = groups4 * geo.phases;
  const int64_t wide = (s.out_h - 1) * wq + s.out_w, tiles = (wide + kTileColumns - 1) / kTileColumns;
  // K group g = tap * C/4 + cg reads its phase plane at the tap's offset.
  std::vector<int64_t> xoff(static_cast<size_t>(taps * groups4));
  for (int r = 0; r < s.kernel_h; ++r)
    for (int q = 0; q < s.kernel_w; ++q)
      for (int64_t cg = 0; cg < groups4; ++cg) {
        const int64_t tap = int64_t(r) * s.kernel_w + q, rr = int64_t(r) * s.dilation_h, qq = int64_t(q) * s.dilation_w;
        const int64_t phase = (rr % s.stride_h) * s.stride_w + qq % s.stride_w;
        xoff[tap * groups4 + cg] = ((cg * geo.phases + phase) * plane_stride + (rr / s.stride_h) * wq + qq / s.stride_w) * 4;
      }
  CacheAlignedVector<uint8_t>& xq = scratch(0);      // the quantized image, unless x is uint8
  CacheAlignedVector<uint8_t>& planes = scratch(1);  // nplanes planes, plane_stride words apart
  const size_t planes_bytes = static_cast<size_t>((nplanes * plane_stride + kSlackWords) * 4);
  if (io.x && xq.size() < static_cast<size_t>(s.in_channels * in_pixels))
    xq.resize(static_cast<size_t>(s.in_channels * in_pixels));
  if (planes.size() < planes_bytes) planes.resize(planes_bytes);
  std::memset(planes.data() + nplanes * plane_stride * 4, 0, kSlackWords * 4);  // loaded, never stored
  uint8_t* xqp = xq.data();
  uint32_t* planesp = reinterpret_cast<uint32_t*>(planes.data());
  const size_t elem = io.y ? sizeof(float) : 1;
  const int threads = std::max(1, std::min<int>(get_num_threads(), static_cast<int>(std::max<int64_t>(1, s.out_channels))));
  const bool by_pixels = tiles >= kTilesPerThread * threads;
  const float inv_scale = 1.0f / xq_params.scale;
  const uint8_t zp = static_cast<uint8_t>(xq_params.zero_point);
  parallel_run(threads, [&](int t, int nt) {
    CacheAlignedVector<uint8_t>& tile_buf = scratch(2);  // this thread's output tile, all rows
    const size_t tile_bytes = static_cast<size_t>(s.out_channels * kTileColumns) * elem;
    if (tile_buf.size() < tile_bytes) tile_buf.resize(tile_bytes);
    int64_t q0 = 0, q1 = v.panels, tile0 = 0, tile1 = tiles;
    if (by_pixels) {
      tile0 = tiles * t / nt;
      tile1 = tiles * (t + 1) / nt;
    } else {
      q0 = split_qpanels(v, 0, v.panels, t, nt);
      q1 = split_qpanels(v, 0, v.panels, t + 1, nt);
    }
    const int64_t n0 = q0 * v.r, n1 = std::min(q1 * v.r, s.out_channels);
    for (int64_t img = 0; img < batch; ++img) {
      const int64_t x_off = img * s.in_channels * in_pixels, y_off = img * s.out_channels * pixels;
      const uint8_t* ximg = io.x_u8 ? io.x_u8 + x_off : xqp;
      if (io.x) {  // this thread's share of the image, quantized
        const int64_t total = s.in_channels * in_pixels, a0 = total * t / nt, a1 = total * (t + 1) / nt;
        quantize_u8_rows(io.x + x_off + a0, a1 - a0, inv_scale, xq_params.zero_point, xqp + a0);
        if (nt > 1) {
#pragma omp barrier
        }
      }
      for (int64_t u = nplanes * t / nt; u < nplanes * (t + 1) / nt; ++u) {
        const int ph = static_cast<int>(u % geo.phases / s.stride_w), pw = static_cast<int>(u % geo.phases % s.stride_w);
        if (phase_read(s, ph, pw)) fill_plane(ximg, s, geo, u / geo.phases, ph, pw, zp, planesp + u * plane_stride);
      }
      if (nt > 1) {
#pragma omp barrier
      }
      for (int64_t tile = tile0; tile < tile1 && q1 > q0; ++tile) {
        const int64_t m0 = tile * kTileColumns, ms = std::min(kTileColumns, wide - m0);
        QXtArgs a;
        a.x = planes.data() + m0 * 4;
        a.xoff = xoff.data();
        a.ldx = kTileColumns;
        a.m = ms;
        a.x_zero_point = xq_params.zero_point;
        a.out = out;
        a.out.y_f32 = io.y ? reinterpret_cast<float*>(tile_buf.data()) : nullptr;
        a.out.y_u8 = io.y ? nullptr : tile_buf.data();
        a.ldy = kTileColumns;
        gemm(v, q0, q1, a);
        if (io.y)
          copy_tile(reinterpret_cast<const float*>(tile_buf.data()), n0, n1, m0, ms, wq, s, io.y + y_off);
        else
          copy_tile(tile_buf.data(), n0, n1, m0, ms, wq, s, io.y_u8 + y_off);
      }
      if (nt > 1) {  // the planes (and xq) are rewritten for the next image
#pragma omp barrier
      }
    }
  });
  return Status::Ok();
}

}  // namespace spiralkit
