// Quantized convolution driver. Per image and group, the threads together quantize the input
// (unless it arrives as uint8) and lay it out in the kernels' K x M groups-of-4 layout, meet at a
// barrier, then each runs its panels of the group, tile by tile, into the NCHW output (fp32, or
// uint8 requantized for the next int8 layer). A 1x1 convolution's layout is a 4-row interleave of
// the quantized channels. A k x k (strided, padded, dilated) one first copies the image into
// zero-point-padded phase planes, the fp32 direct driver's geometry (ops/conv2d.cc): output pixel
// (oh, ow) reads column oh * wq + ow of a plane and reduction row (c, r, q) reads one plane at a
// fixed offset from it, so the four rows of a K group are four streams of whole output rows and
// the layout is their interleave, with no per-row im2col (zero-point fills, bounds, strides: all
// paid once, in the planes). On ResNet-50's layers (1 thread, Zen 4) this took the 3x3 convolutions
// 1.3-1.7x and the 7x7 stem 2.7x faster than im2col rows. Dense stride-1 k x k layers skip even
// that copy (ops/qconv2d_taps.cc). Depthwise convolutions run the qs8-dwconv kernel per channel plane.
#include "ops/qconv2d.h"

#include <algorithm>
#include <climits>
#include <cstring>
#include <string>
#include <vector>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include "config/kernel_registry_i8.h"
#include "core/aligned_vector.h"
#include "hw/cpu_features.h"
#include "ops/clones.h"
#include "ops/conv2d.h"
#include "ops/qactivations.h"
#include "ops/qconv2d_taps.h"
#include "runtime/threads.h"

namespace spiralkit {
namespace {

// Pixels per xt tile: the dense AVX-512 strip (4 vectors of 16); narrower strips divide it, and the
// 128-column 1x4 strip runs as 4-vector tails (measured level with 128-pixel tiles on ResNet-50).
constexpr int64_t kTileColumns = 64;
constexpr int64_t kTilesPerThread = 6;
// Tiles per post-kernel activation pass (GELU-like activations; the residual is in the kernels).
constexpr int64_t kApplyTiles = 8;

CacheAlignedVector<uint8_t>& scratch(int i) {
  thread_local CacheAlignedVector<uint8_t> buffers[4];
  return buffers[i];
}

// Panels [p_begin, p_end) split by blocks between threads.
int64_t split_range(const QPanelView& v, int64_t p_begin, int64_t p_end, int t, int threads) {
  if (t <= 0) return p_begin;
  if (t >= threads) return p_end;
  const int64_t base = v.ptr[p_begin] + 2 * p_begin;
  const int64_t target = base + (v.ptr[p_end] + 2 * p_end - base) * t / threads;
  int64_t lo = p_begin, hi = p_end;
  while (lo < hi) {
    const int64_t mid = (lo + hi) / 2;
    if (v.ptr[mid] + 2 * mid < target) lo = mid + 1; else hi = mid;
  }
  return lo;
}

// The wide-column layout of a k x k convolution (see the top of this file): phase planes of hq x wq
// bytes, one per channel and stride phase (stride_h * stride_w of them, only those a tap reads
// filled); output row oh's pixels read from column oh * wq of a tap's stream.
struct WideGeometry {
  int64_t hq = 0, wq = 0, plane = 0, phases = 1;
};
WideGeometry wide_geometry(const ConvShape& s) {
  WideGeometry g;
  g.hq = (s.in_h + 2 * s.pad_h + s.stride_h - 1) / s.stride_h;
  g.wq = (s.in_w + 2 * s.pad_w + s.stride_w - 1) / s.stride_w;
  g.plane = g.hq * g.wq;
  g.phases = int64_t(s.stride_h) * s.stride_w;
  return g;
}
int64_t wide_planes_bytes(const ConvShape& s, const WideGeometry& g) { return s.in_channels * g.phases * g.plane; }

// Whether some tap (r, q) reads phase (ph, pw).
bool phase_read(const ConvShape& s, int ph, int pw) {
  bool row = false, col = false;
  for (int r = 0; r < s.kernel_h && !row; ++r) row = (r * s.dilation_h) % s.stride_h == ph;
  for (int q = 0; q < s.kernel_w && !col; ++q) col = (q * s.dilation_w) % s.stride_w == pw;
  return row && col;
}

#if defined(__x86_64__) && defined(__GNUC__)
// dst[j] = src[2 j], 32 bytes per step: a masked load of the 16-bit pairs, vpmovwb keeps the low
// (even) byte of each. The masks read and write only the bytes asked for. A phase-plane row is
// 7-28 bytes on ResNet-50, and GCC's vector loop starts at 32 (shorter rows ran a byte at a time).
// Whole-model ResNet-50 int8 did not measurably change (3.73 vs 3.77 ms best-of, noise level).
__attribute__((target("avx512f,avx512bw,avx512vl"))) void even_bytes_avx512(const uint8_t* src, int64_t n,
                                                                            uint8_t* dst) {
  for (int64_t j = 0; j < n; j += 32) {
    const int64_t c = std::min<int64_t>(32, n - j);  // output bytes this step; 2c - 1 input bytes
    const __mmask64 in = c == 32 ? ~__mmask64(0) >> 1 : (__mmask64(1) << (2 * c - 1)) - 1;
    const __mmask32 out = static_cast<__mmask32>((uint64_t(1) << c) - 1);
    const __m512i pairs = _mm512_maskz_loadu_epi8(in, src + 2 * j);
    _mm256_mask_storeu_epi8(dst + j, out, _mm512_maskz_cvtepi16_epi8(~__mmask32(0), pairs));
  }
}
#endif

// dst[j] = src[stride * j] for the strided layers' phase planes.
void gather_bytes(const uint8_t* src, int64_t stride, int64_t n, uint8_t* dst) {
#if defined(__x86_64__) && defined(__GNUC__)
  static const bool avx512 = isa_allows(Isa::kAvx512);
  if (stride == 2 && avx512) return even_bytes_avx512(src, n, dst);
#endif
  for (int64_t j = 0; j < n; ++j) dst[j] = src[stride * j];
}

// Phase plane (ph, pw) of one uint8 channel plane xc: padded rows ph + stride_h * i and columns
// pw + stride_w * j of the image, the zero point where they fall outside it.
void fill_phase_plane(const uint8_t* xc, const ConvShape& s, const WideGeometry& g, int ph, int pw, uint8_t zp,
                      uint8_t* plane) {
  const int64_t off = pw - s.pad_w, sw = s.stride_w;
  // Columns j with 0 <= off + sw * j < in_w.
  const int64_t j0 = std::min<int64_t>(g.wq, off >= 0 ? 0 : (-off + sw - 1) / sw);
  const int64_t j1 = std::clamp<int64_t>((s.in_w - off + sw - 1) / sw, j0, g.wq);
  for (int64_t i = 0; i < g.hq; ++i) {
    uint8_t* row = plane + i * g.wq;
    const int64_t ih = ph + s.stride_h * i - s.pad_h;
    if (ih < 0 || ih >= s.in_h) {
      std::memset(row, zp, static_cast<size_t>(g.wq));
      continue;
    }
    const uint8_t* src = xc + ih * s.in_w + off;
    std::memset(row, zp, static_cast<size_t>(j0));
    if (sw == 1) std::memcpy(row + j0, src + j0, static_cast<size_t>(j1 - j0));
    else gather_bytes(src + sw * j0, sw, j1 - j0, row + j0);
    std::memset(row + j1, zp, static_cast<size_t>(g.wq - j1));
  }
}

// The first byte of reduction row kk = (c, r, q)'s stream: channel c's plane of the tap's phase,
// at the tap's offset.
const uint8_t* tap_stream(const uint8_t* planes, const ConvShape& s, const WideGeometry& g, int64_t kk) {
  const int64_t khw = int64_t(s.kernel_h) * s.kernel_w;
  const int64_t c = kk / khw, r = (kk % khw) / s.kernel_w, q = kk % s.kernel_w;
  const int64_t rr = r * s.dilation_h, qq = q * s.dilation_w;
  const int64_t phase = (rr % s.stride_h) * s.stride_w + qq % s.stride_w;
  return planes + (c * g.phases + phase) * g.plane + (rr / s.stride_h) * g.wq + qq / s.stride_w;
}

// Four streams' bytes j -> byte j of 16 consecutive words (one vector of the kernels' layout),
// written as the word loop the vectorizer turns into zero-extending loads, shifts and ORs
// (__builtin_convertvector of the byte vectors compiled to one insert per byte in GCC 12).
inline void zip4x16(const uint8_t* r0, const uint8_t* r1, const uint8_t* r2, const uint8_t* r3, uint8_t* out) {
  uint32_t words[16];
  for (int i = 0; i < 16; ++i)
    words[i] = uint32_t(r0[i]) | uint32_t(r1[i]) << 8 | uint32_t(r2[i]) << 16 | uint32_t(r3[i]) << 24;
  std::memcpy(out, words, sizeof words);
}

// One K group into the xt tiles of pixels [pixel_begin, pixel_end) (pixel_begin on a tile boundary,
// out at its tile): tile column i (output pixel m0 + i) gets, as byte j of its word,
// stream j's byte at (pixel / out_w) * row_stride + pixel % out_w (row_stride = out_w: the
// streams are the input planes themselves). A row piece runs as whole 16-column vectors: its last
// one overruns into the next piece (rewritten by it) or the tile's tail (zeroed after), or, where
// that would leave the tile or read past `readable` bytes of a stream, ends flush with the piece.
// Columns past pixel_end are zero (loaded by the kernels, never stored). Built per x86 level.
SPIRALKIT_CLONES void interleave_group(const uint8_t* r0, const uint8_t* r1, const uint8_t* r2, const uint8_t* r3,
                                       int64_t pixel_begin, int64_t pixel_end, int64_t out_w, int64_t row_stride,
                                       int64_t readable, int64_t tile_columns, int64_t tile_bytes, uint8_t* out) {
  for (int64_t m0 = pixel_begin; m0 < pixel_end; m0 += tile_columns, out += tile_bytes) {
    const int64_t n = std::min(tile_columns, pixel_end - m0);
    for (int64_t i = 0; i < n;) {
      const int64_t p = m0 + i, ow = p % out_w, len = std::min(n - i, out_w - ow);
      const int64_t src = (p / out_w) * row_stride + ow;
      int64_t j = 0;
      for (; j + 16 <= len; j += 16) zip4x16(r0 + src + j, r1 + src + j, r2 + src + j, r3 + src + j, out + (i + j) * 4);
      if (j < len) {
        if (i + j + 16 <= tile_columns && src + j + 16 <= readable) {
          zip4x16(r0 + src + j, r1 + src + j, r2 + src + j, r3 + src + j, out + (i + j) * 4);
        } else if (len >= 16) {
          j = len - 16;
          zip4x16(r0 + src + j, r1 + src + j, r2 + src + j, r3 + src + j, out + (i + j) * 4);
        } else {
          for (; j < len; ++j) {
            const uint32_t word = uint32_t(r0[src + j]) | uint32_t(r1[src + j]) << 8 | uint32_t(r2[src + j]) << 16 |
                                  uint32_t(r3[src + j]) << 24;
            std::memcpy(out + (i + j) * 4, &word, 4);
          }
        }
      }
      i += len;
    }
    std::memset(out + n * 4, 0, static_cast<size_t>((tile_columns - n) * 4));
  }
}

}  // namespace

Status qconv2d_plan(const QLinearPlan& layer, const ConvShape& shape, QConvPlan* plan) {
  if (!layer.w) return Status::InvalidArgument("layer: not planned");
  const PackedWeightI8& w = *layer.w;
  ConvShape s = shape;
  SPIRALKIT_RETURN_IF_ERROR(conv2d_output_size(&s));
  if (s.in_channels % s.groups || s.out_channels % s.groups)
    return Status::InvalidArgument("groups: must divide in_channels and out_channels");
  if (w.rows != s.out_channels || w.cols != conv_reduction(s))
    return Status::InvalidArgument("weight: expected " + std::to_string(s.out_channels) + " x " +
                                   std::to_string(conv_reduction(s)) + ", got " + std::to_string(w.rows) + " x " +
                                   std::to_string(w.cols));
  plan->depthwise = s.groups > 1 && s.groups == s.in_channels && s.groups == s.out_channels;
  if (!plan->depthwise && s.groups > 1 && (s.out_channels / s.groups) % w.panels.r)
    return Status::Unsupported("weight: " + std::to_string(w.panels.r) + "-row int8 panels straddle conv groups of " +
                               std::to_string(s.out_channels / s.groups) + " output channels");
  plan->layer = &layer;
  plan->shape = s;
  if (plan->depthwise) (void)w.dense_values();  // built at plan time, not on the first run
  return Status::Ok();
}

Status qconv2d_forward(const QConvPlan& plan, int64_t batch, const QConvIo& io, Epilogue ep) {
  if (!plan.layer) return Status::InvalidArgument("plan: not planned");
  if (batch < 0) return Status::InvalidArgument("x: negative batch");
  if (!io.x == !io.x_u8) return Status::InvalidArgument("x: expected exactly one of fp32 / uint8");
  if (!io.y == !io.y_u8) return Status::InvalidArgument("y: expected exactly one of fp32 / uint8");
  if (io.residual_u8) {
    SPIRALKIT_RETURN_IF_ERROR(check_quant_params(io.residual_params, "residual"));
    if (ep.residual) return Status::InvalidArgument("residual: expected at most one of fp32 / uint8");
    if (plan.depthwise || !qs8_activation_supported(ep.act))
      return Status::InvalidArgument("residual: a uint8 residual takes a non-depthwise convolution and ReLU/ReLU6");
  }
  if (io.y_u8) {
    SPIRALKIT_RETURN_IF_ERROR(check_quant_params(io.y_params, "y"));
    const bool residual_in_kernel = !plan.depthwise && qs8_activation_supported(ep.act);
    if (ep.post() && !(ep.residual && residual_in_kernel))
      return Status::InvalidArgument("y: a uint8 output takes only a bias, ReLU/ReLU6 and a residual the kernels add");
  }
  const PackedWeightI8& w = *plan.layer->w;
  const QuantParams& xq_params = plan.layer->x;
  const ConvShape& s = plan.shape;
  const int64_t in_pixels = s.in_h * s.in_w, pixels = s.out_h * s.out_w;
  const int64_t cin_g = s.in_channels / s.groups, cout_g = s.out_channels / s.groups;
  const int64_t k_g = conv_reduction(s);
  const float inv_scale = 1.0f / xq_params.scale;
  ep.base_ = io.y;
  QOutput out;
  out.scale = plan.layer->row_scale.data();
  out.bias = ep.bias;
  out.act = ep.kernel_act();
  out.out_inv_scale = 1.0f / io.y_params.scale;
  out.out_zero_point = io.y_params.zero_point;
  // On the K x M path the residual (fp32 or uint8) rides in the kernels' store (y's layout is the residual's), the
  // activation after it: a separate pass over a 56 x 56 bottleneck output cost as much as the
  // kernel. Depthwise planes and GELU-like activations keep the post-kernel pass.
  Epilogue post = ep;
  if (!plan.depthwise && (ep.residual || io.residual_u8) && qs8_activation_supported(ep.act)) {
    out.residual = ep.residual;
    out.residual_u8 = io.residual_u8;
    out.residual_scale = io.residual_params.scale;
    out.residual_zero_point = io.residual_params.zero_point;
    out.y_base = io.y ? static_cast<const void*>(io.y) : io.y_u8;
    out.act = ep.act;
    post.residual = nullptr;
  }
  const QConvPath path = qconv2d_path(w, s, ep.choice, !plan.depthwise && !ep.post() && !io.residual_u8);
  const bool dense = path.dense;
  if (path.direct) return qconv2d_taps_forward(plan, dense, batch, io, out);
  // 1x1 stride 1 unpadded: K rows are the input channels' planes; otherwise wide columns.
  const bool direct = s.kernel_h == 1 && s.kernel_w == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_h == 0 &&
                      s.pad_w == 0;
  const WideGeometry wide = wide_geometry(s);
  CacheAlignedVector<uint8_t>& xq = scratch(0);  // the quantized image (C_in x H x W), unless x is uint8
  CacheAlignedVector<uint8_t>& xt = scratch(1);  // one group's K x M groups-of-4 matrix
  CacheAlignedVector<uint8_t>& planes = scratch(2);  // the image's phase planes (k x k)
  // xt is cut into tiles of kTileColumns columns, each its own K x kTileColumns matrix: a kernel
  // strip then reads one contiguous run (prefetchable, no 4K-aliased stride of a whole plane).
  const int64_t kgroups = (k_g + 3) / 4, tiles = (pixels + kTileColumns - 1) / kTileColumns;
  const int64_t tile_bytes = kgroups * kTileColumns * 4;
  if (io.x && xq.size() < static_cast<size_t>(s.in_channels * in_pixels))
    xq.resize(static_cast<size_t>(s.in_channels * in_pixels));
  if (!plan.depthwise && xt.size() < static_cast<size_t>(tiles * tile_bytes))
    xt.resize(static_cast<size_t>(tiles * tile_bytes));
  // Planes plus one vector of slack: a stream's last 16-byte load may start at its last byte.
  if (!plan.depthwise && !direct && planes.size() < static_cast<size_t>(wide_planes_bytes(s, wide) + 16))
    planes.resize(static_cast<size_t>(wide_planes_bytes(s, wide) + 16));
  uint8_t* xqp = xq.data();
  uint8_t* xtp = xt.data();
  uint8_t* planesp = planes.data();
  const QPanelPack& pack = dense ? w.dense_panels() : w.panels;
  const QPanelView v = pack.view();
  const QSpmmFn spmm = dense ? select_qs8_gemm()->fn : select_qs8_spmm(v.r)->fn;
  const QDwConvFn dw = select_qs8_dwconv()->fn;
  const int threads = std::max(1, std::min<int>(get_num_threads(), static_cast<int>(std::max<int64_t>(1, s.out_channels))));
  // Threads split the pixels where there are tiles enough to balance (>= kTilesPerThread each);
  // else they share the interleave by K groups and split the output channels, reading each other's
  // tiles: across cores that moved ~9x a 3x3 layer's input between them, and on a 2-vCPU VM
  // ResNet-50 int8 at batch 16 ran slower on 2 threads than on 1 (274 vs 186 ms).
  const bool by_pixels = !plan.depthwise && tiles >= kTilesPerThread * threads;
  parallel_run(threads, [&](int t, int nt) {
    for (int64_t img = 0; img < batch; ++img) {
      const int64_t x_off = img * s.in_channels * in_pixels, y_off = img * s.out_channels * pixels;
      float* yimg = io.y ? io.y + y_off : nullptr;
      uint8_t* yimg_u8 = io.y_u8 ? io.y_u8 + y_off : nullptr;
      const uint8_t* ximg = io.x_u8 ? io.x_u8 + x_off : xqp;
      if (io.x) {  // quantize this thread's share of the image
        const int64_t total = s.in_channels * in_pixels, a0 = total * t / nt, a1 = total * (t + 1) / nt;
        quantize_u8_rows(io.x + x_off + a0, a1 - a0, inv_scale, xq_params.zero_point, xqp + a0);
        if (nt > 1) {
#pragma omp barrier
        }
      }
      if (plan.depthwise) {
        const int64_t c0 = s.out_channels * t / nt, c1 = s.out_channels * (t + 1) / nt;
        for (int64_t c = c0; c < c1; ++c) {
          QDwArgs a;
          a.x = ximg + c * in_pixels;
          a.in_h = s.in_h;
          a.in_w = s.in_w;
          a.out_h = s.out_h;
          a.out_w = s.out_w;
          a.w = w.dense_values().data() + c * s.kernel_h * s.kernel_w;
          a.kh = s.kernel_h;
          a.kw = s.kernel_w;
          a.stride_h = s.stride_h;
          a.stride_w = s.stride_w;
          a.pad_h = s.pad_h;
          a.pad_w = s.pad_w;
          a.dil_h = s.dilation_h;
          a.dil_w = s.dilation_w;
          a.x_zero_point = xq_params.zero_point;
          a.out = out;
          a.out.scale = out.scale + c;
          a.out.bias = out.bias ? out.bias + c : nullptr;
          a.out.y_f32 = yimg ? yimg + c * pixels : nullptr;
          a.out.y_u8 = yimg_u8 ? yimg_u8 + c * pixels : nullptr;
          CacheAlignedVector<uint8_t>& work = scratch(3);  // this thread's padded float plane
          const size_t work_bytes = static_cast<size_t>(qs8_dwconv_work_floats(a)) * sizeof(float);
          if (work.size() < work_bytes) work.resize(work_bytes);
          a.work = reinterpret_cast<float*>(work.data());
          dw(a);
          if (yimg) ep.apply(yimg + c * pixels, pixels, 1, pixels);
        }
      } else {
        if (!direct) {  // this thread's share of the image's phase planes
          const int64_t units = s.in_channels * wide.phases, u0 = units * t / nt, u1 = units * (t + 1) / nt;
          const uint8_t zp = static_cast<uint8_t>(xq_params.zero_point);
          for (int64_t u = u0; u < u1; ++u) {
            const int64_t c = u / wide.phases, phase = u % wide.phases;
            const int ph = static_cast<int>(phase / s.stride_w), pw = static_cast<int>(phase % s.stride_w);
            if (phase_read(s, ph, pw))
              fill_phase_plane(ximg + c * in_pixels, s, wide, ph, pw, zp, planesp + u * wide.plane);
          }
          if (nt > 1) {
#pragma omp barrier
          }
        }
        for (int64_t g = 0; g < s.groups; ++g) {
          // Reduction rows 4kg..4kg+3 interleaved into the xt tiles of pixels [p0, p1) (rows past
          // K repeat the first: their weight lanes are zero).
          auto interleave = [&](int64_t kg0, int64_t kg1, int64_t tile0, int64_t tile1) {
            const int64_t p0 = tile0 * kTileColumns, p1 = std::min(pixels, tile1 * kTileColumns);
            for (int64_t kg = kg0; kg < kg1; ++kg) {
              const uint8_t* src[4];
              for (int j = 0; j < 4; ++j) {
                const int64_t kk = std::min(kg * 4 + j, k_g - 1);
                src[j] = direct ? ximg + (g * cin_g + kk) * in_pixels
                                : tap_stream(planesp + g * cin_g * wide.phases * wide.plane, s, wide, kk);
              }
              uint8_t* out = xtp + tile0 * tile_bytes + kg * kTileColumns * 4;
              if (direct)  // the planes are the streams: one row of `pixels` (no piece ends at a row end)
                interleave_group(src[0], src[1], src[2], src[3], p0, p1, pixels, pixels, pixels, kTileColumns,
                                 tile_bytes, out);
              else
                interleave_group(src[0], src[1], src[2], src[3], p0, p1, s.out_w, wide.wq, INT64_MAX, kTileColumns,
                                 tile_bytes, out);
            }
          };
          const int64_t gp0 = g * cout_g / v.r, gp1 = ((g + 1) * cout_g + v.r - 1) / v.r;
          int64_t q0 = gp0, q1 = gp1, tile_begin = 0, tile_end = tiles;
          if (by_pixels) {
            // This thread's tiles, every K group and every panel: nothing it reads was written by
            // another core (only the image / phase planes, a ninth of xt for a 3x3 layer).
            tile_begin = (pixels * t / nt + kTileColumns / 2) / kTileColumns;
            tile_end = t + 1 == nt ? tiles : (pixels * (t + 1) / nt + kTileColumns / 2) / kTileColumns;
            interleave(0, kgroups, tile_begin, tile_end);
          } else {
            // The threads interleave K groups for every tile together, then split the panels.
            interleave(kgroups * t / nt, kgroups * (t + 1) / nt, 0, tiles);
            if (nt > 1) {
#pragma omp barrier
            }
            q0 = split_range(v, gp0, gp1, t, nt);
            q1 = split_range(v, gp0, gp1, t + 1, nt);
          }
          if (q1 > q0) {
            const int64_t n0 = q0 * v.r, n1 = std::min(q1 * v.r, s.out_channels);
            int64_t applied = tile_begin;  // tiles before it have had the post-kernel pass
            for (int64_t tile = tile_begin; tile < tile_end; ++tile) {
              const int64_t m0 = tile * kTileColumns, ms = std::min(kTileColumns, pixels - m0);
              QXtArgs a;
              a.x = xtp + tile * tile_bytes;
              a.ldx = kTileColumns;
              a.m = ms;
              a.x_zero_point = xq_params.zero_point;
              a.out = out;
              a.out.y_f32 = yimg ? yimg + m0 : nullptr;
              a.out.y_u8 = yimg_u8 ? yimg_u8 + m0 : nullptr;
              a.ldy = pixels;
              // The group's K columns are the whole of this tile: panel column groups index it directly.
              spmm(v, q0, q1, a);
              // A post-kernel activation on the tiles just written, while they are in cache,
              // kApplyTiles at a time (per tile, 64-column rows made it a call per row and tile).
              if (yimg && post.post() && (tile + 1 - applied == kApplyTiles || tile + 1 == tile_end)) {
                const int64_t c0 = applied * kTileColumns;
                post.apply(yimg + n0 * pixels + c0, pixels, n1 - n0, m0 + ms - c0);
                applied = tile + 1;
              }
            }
          }
          if (nt > 1 && !by_pixels) {  // xt is rewritten by the next group
#pragma omp barrier
          }
        }
      }
      if (nt > 1) {
#pragma omp barrier
      }
    }
  });
  return Status::Ok();
}

}  // namespace spiralkit
