// Quantized convolution driver. Per image and group, the threads together quantize the input
// (unless it arrives as uint8) and lay it out in the kernels' K x M groups-of-4 layout (a 1x1
// convolution is a 4-row interleave of the quantized channels; k x k convolutions im2col on the
// way, padding = the zero point), meet at a barrier, then each runs its panels of the group, tile
// by tile, straight into the NCHW output (fp32, or uint8 requantized for the next int8 layer).
// Depthwise convolutions run the qs8-dwconv kernel per channel plane.
#include "ops/qconv2d.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "config/kernel_registry_i8.h"
#include "core/aligned_vector.h"
#include "ops/conv2d.h"
#include "ops/qactivations.h"
#include "runtime/threads.h"

namespace spiralkit {
namespace {

// Pixels per xt tile: the dense AVX-512 strip (4 vectors of 16); narrower strips divide it, and the
// 128-column 1x4 strip runs as 4-vector tails (measured level with 128-pixel tiles on ResNet-50).
constexpr int64_t kTileColumns = 64;

CacheAlignedVector<uint8_t>& scratch(int i) {
  thread_local CacheAlignedVector<uint8_t> buffers[2];
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

// Reduction row kk = (c, r, q) of one group's im2col, quantized: out[i] for the group's pixels.
// Per output row, the columns that read inside the input are one copy at stride 1 (a strided
// read otherwise); the rest are the zero point.
void im2col_row(const QConvPlan& plan, const uint8_t* xg, int64_t kk, uint8_t* out) {
  const QuantParams& xq_params = plan.layer->x;
  const ConvShape& s = plan.shape;
  const int64_t khw = int64_t(s.kernel_h) * s.kernel_w;
  const int64_t c = kk / khw, r = (kk % khw) / s.kernel_w, q = kk % s.kernel_w;
  const uint8_t zp = static_cast<uint8_t>(xq_params.zero_point);
  const uint8_t* plane = xg + c * s.in_h * s.in_w;
  // Output columns ow with 0 <= ow * stride_w + off < in_w.
  const int64_t off = q * s.dilation_w - s.pad_w, sw = s.stride_w;
  const int64_t ow0 = std::min<int64_t>(s.out_w, off >= 0 ? 0 : (-off + sw - 1) / sw);
  const int64_t ow1 = std::clamp<int64_t>((s.in_w - off + sw - 1) / sw, ow0, s.out_w);
  for (int64_t oh = 0; oh < s.out_h; ++oh) {
    const int64_t ih = oh * s.stride_h - s.pad_h + r * s.dilation_h;
    uint8_t* o = out + oh * s.out_w;
    if (ih < 0 || ih >= s.in_h) {
      std::fill(o, o + s.out_w, zp);
      continue;
    }
    const uint8_t* row = plane + ih * s.in_w;  // column ow reads row[ow * sw + off]
    std::fill(o, o + ow0, zp);
    if (sw == 1 && ow1 > ow0) {
      std::copy(row + ow0 + off, row + ow1 + off, o + ow0);
    } else {
      for (int64_t ow = ow0; ow < ow1; ++ow) o[ow] = row[ow * sw + off];
    }
    std::fill(o + ow1, o + s.out_w, zp);
  }
}

// Four reduction rows into the kernels' groups-of-4 layout: byte j of pixel i's word is row j.
// Words built in registers (the compiler vectorizes this loop; byte stores at stride 4 it did not).
void interleave4(const uint8_t* r0, const uint8_t* r1, const uint8_t* r2, const uint8_t* r3, int64_t n, uint8_t* out) {
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t word = uint32_t(r0[i]) | uint32_t(r1[i]) << 8 | uint32_t(r2[i]) << 16 | uint32_t(r3[i]) << 24;
    std::memcpy(out + i * 4, &word, 4);
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
  if (io.y_u8) {
    SPIRALKIT_RETURN_IF_ERROR(check_quant_params(io.y_params, "y"));
    if (ep.post()) return Status::InvalidArgument("y: a uint8 output takes only a bias and ReLU/ReLU6");
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
  CacheAlignedVector<uint8_t>& xq = scratch(0);  // the quantized image (C_in x H x W), unless x is uint8
  CacheAlignedVector<uint8_t>& xt = scratch(1);  // one group's K x M groups-of-4 matrix
  // xt is cut into tiles of kTileColumns pixels, each its own K x kTileColumns matrix: a kernel
  // strip then reads one contiguous run (prefetchable, no 4K-aliased stride of a whole plane).
  const int64_t kgroups = (k_g + 3) / 4, tiles = (pixels + kTileColumns - 1) / kTileColumns;
  const int64_t tile_bytes = kgroups * kTileColumns * 4;
  if (io.x && xq.size() < static_cast<size_t>(s.in_channels * in_pixels))
    xq.resize(static_cast<size_t>(s.in_channels * in_pixels));
  if (!plan.depthwise && xt.size() < static_cast<size_t>(tiles * tile_bytes))
    xt.resize(static_cast<size_t>(tiles * tile_bytes));
  uint8_t* xqp = xq.data();
  uint8_t* xtp = xt.data();
  const bool dense = qplan_dense(w, pixels, ep.choice);
  const QPanelPack& pack = dense ? w.dense_panels() : w.panels;
  const QPanelView v = pack.view();
  const QSpmmFn spmm = dense ? select_qs8_gemm()->fn : select_qs8_spmm(v.r)->fn;
  const QDwConvFn dw = select_qs8_dwconv()->fn;
  const int threads = std::max(1, std::min<int>(get_num_threads(), static_cast<int>(std::max<int64_t>(1, s.out_channels))));
  parallel_run(threads, [&](int t, int nt) {
    thread_local std::vector<uint8_t> rows;  // four im2col rows (pixels bytes each), per thread
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
          dw(a);
          if (yimg) ep.apply(yimg + c * pixels, pixels, 1, pixels);
        }
      } else {
        const bool direct = s.kernel_h == 1 && s.kernel_w == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_h == 0 &&
                            s.pad_w == 0;
        // Four im2col rows (or the zero point past K) per thread; 1x1 convolutions read xq directly.
        rows.resize(static_cast<size_t>(4 * pixels));
        for (int64_t g = 0; g < s.groups; ++g) {
          const uint8_t* xg = ximg + g * cin_g * in_pixels;
          // This thread's K groups: reduction rows 4kg..4kg+3 interleaved into xt.
          const int64_t kg0 = kgroups * t / nt, kg1 = kgroups * (t + 1) / nt;
          for (int64_t kg = kg0; kg < kg1; ++kg) {
            const uint8_t* src[4];
            for (int j = 0; j < 4; ++j) {
              const int64_t kk = kg * 4 + j;
              uint8_t* buf = rows.data() + j * pixels;
              if (kk >= k_g) {
                std::fill(buf, buf + pixels, static_cast<uint8_t>(xq_params.zero_point));
                src[j] = buf;
              } else if (direct) {
                src[j] = xg + kk * in_pixels;
              } else {
                im2col_row(plan, xg, kk, buf);
                src[j] = buf;
              }
            }
            for (int64_t tile = 0; tile < tiles; ++tile) {
              const int64_t m0 = tile * kTileColumns, ms = std::min(kTileColumns, pixels - m0);
              uint8_t* o = xtp + tile * tile_bytes + kg * kTileColumns * 4;
              interleave4(src[0] + m0, src[1] + m0, src[2] + m0, src[3] + m0, ms, o);
              std::fill(o + ms * 4, o + kTileColumns * 4, uint8_t(0));  // loaded, never stored
            }
          }
          if (nt > 1) {
#pragma omp barrier
          }
          const int64_t gp0 = g * cout_g / v.r, gp1 = ((g + 1) * cout_g + v.r - 1) / v.r;
          const int64_t q0 = split_range(v, gp0, gp1, t, nt), q1 = split_range(v, gp0, gp1, t + 1, nt);
          if (q1 > q0) {
            const int64_t n0 = q0 * v.r, n1 = std::min(q1 * v.r, s.out_channels);
            for (int64_t tile = 0; tile < tiles; ++tile) {
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
              // Residual / post-kernel activation on the tile just written, while it is in cache.
              if (yimg) ep.apply(yimg + n0 * pixels + m0, pixels, n1 - n0, ms);
            }
          }
          if (nt > 1) {
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
