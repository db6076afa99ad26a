#include "ops/fused_block.h"

#include <algorithm>
#include <cstring>

#include "config/kernel_registry.h"
#include "ops/planner.h"
#include "runtime/threads.h"

namespace spiralkit {
namespace {

// A band's expanded rows: most of a 1 MiB L2. Paired A/B on MobileNet-v2 (Zen 4, 2 threads, 10
// process pairs each): 192 KiB bands (one-row bands in the 96 x 112 block, the whole weight walked
// per row) ran 12 % slower than unfused; 640 KiB bands 6 % faster at the median.
constexpr int64_t kBandBytes = 640 * 1024;

struct BandGeometry {
  int64_t ce, h, w, ho, wo;
  int64_t span;  // input rows one output row reads (dilated kernel height)
  int64_t stride, pad_top;
  int64_t rows;     // output rows per band
  int64_t in_rows;  // expanded rows a full band holds
  int64_t per_thread;
};

BandGeometry band_geometry(const FusedBlock& b) {
  const ConvShape& d = b.depthwise_shape;
  BandGeometry g;
  g.ce = d.in_channels;
  g.h = d.in_h;
  g.w = d.in_w;
  g.ho = d.out_h;
  g.wo = d.out_w;
  g.span = int64_t(d.kernel_h - 1) * d.dilation_h + 1;
  g.stride = d.stride_h;
  g.pad_top = d.pad_h;
  const int64_t row_bytes = std::max<int64_t>(1, g.ce * g.w * int64_t(sizeof(float)));
  const int64_t fit = kBandBytes / row_bytes;  // expanded rows in the budget
  g.rows = std::clamp<int64_t>(fit > g.span ? (fit - g.span) / g.stride + 1 : 1, 1, g.ho);
  g.in_rows = (g.rows - 1) * g.stride + g.span;
  const int64_t floats = g.ce * g.in_rows * g.w + g.ce * g.rows * g.wo;
  g.per_thread = (floats + 15) / 16 * 16;  // 64-byte aligned per thread
  return g;
}

bool pointwise(const ConvShape& s) {
  return s.kernel_h == 1 && s.kernel_w == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_h == 0 && s.pad_w == 0 &&
         s.groups == 1 && s.dilation_h == 1 && s.dilation_w == 1;
}

}  // namespace

bool fusable_block(const FusedBlock& b) {
  if (!b.depthwise || !b.project) return false;
  const ConvShape& d = b.depthwise_shape;
  const ConvShape& p = b.project_shape;
  // Narrow rows fuse only where the per-plane depthwise is not behind the channel-blocked one.
  const int64_t min_width = fused_block_min_width();
  const bool dw = d.groups > 1 && d.in_channels == d.groups && d.out_channels == d.groups && d.out_w >= min_width;
  const bool proj = pointwise(p) && p.in_channels == d.out_channels && p.in_h == d.out_h && p.in_w == d.out_w &&
                    p.batch == d.batch;
  if (!dw || !proj) return false;
  if (!b.expand) return true;
  const ConvShape& e = b.expand_shape;
  return pointwise(e) && e.out_channels == d.in_channels && e.out_h == d.in_h && e.out_w == d.in_w &&
         e.batch == d.batch;
}

int64_t fused_block_workspace_floats(const FusedBlock& b, int threads) {
  return band_geometry(b).per_thread * std::max(1, threads);
}

int64_t fused_block_band_rows(const FusedBlock& b) { return band_geometry(b).rows; }

Status fused_block_forward(const FusedBlock& b, const float* x, float* y, float* workspace) {
  if (!fusable_block(b)) return Status::InvalidArgument("fused block: the convolutions do not chain");
  const BandGeometry g = band_geometry(b);
  const ConvShape& d = b.depthwise_shape;
  const int64_t batch = d.batch, plane_in = g.h * g.w, plane_out = g.ho * g.wo;
  const int64_t cout = b.project_shape.out_channels;
  if (batch == 0) return Status::Ok();
  // Panels as the unfused layers would plan them (same shapes, same forced choice).
  PanelView ev{};
  const SpmmRow* espmm = nullptr;
  if (b.expand) {
    ev = plan_panels(*b.expand, plane_in, b.expand_ep.choice).view();
    espmm = select_spmm(ev.r);
  }
  const PanelView pv = plan_panels(*b.project, plane_out, b.project_ep.choice).view();
  const SpmmRow* pspmm = select_spmm(pv.r);
  const float* filters =
      b.depthwise->pattern.kind == PatternKind::kDense ? b.depthwise->values.data() : b.depthwise->dense_values().data();
  const DwConvFn dwconv = select_dwconv()->fn;
  const int64_t cin = b.expand ? b.expand_shape.in_channels : g.ce;
  const int64_t total_rows = batch * g.ho;
  const int threads = static_cast<int>(std::clamp<int64_t>(get_num_threads(), 1, total_rows));

  parallel_run(threads, [&](int t, int nt) {
    float* band = workspace + t * g.per_thread;  // [ce][in_rows][w]
    float* dwout = band + g.ce * g.in_rows * g.w;  // [ce][rows][wo] of the current band
    const int64_t ld_band = g.in_rows * g.w;
    int64_t held_img = -1, held_first = 0, held_count = 0;  // input rows the band buffer holds
    // Band rows [j0, j1) <- input rows [i0, i0 + j1 - j0) of image img, zeros outside the image.
    auto fill_rows = [&](int64_t img, int64_t i0, int64_t j0, int64_t j1) {
      const int64_t a = std::clamp<int64_t>(i0, 0, g.h), e = std::clamp<int64_t>(i0 + (j1 - j0), 0, g.h);
      auto zero = [&](int64_t from, int64_t to) {  // band rows
        if (to <= from) return;
        for (int64_t c = 0; c < g.ce; ++c) std::fill(band + c * ld_band + from * g.w, band + c * ld_band + to * g.w, 0.0f);
      };
      if (e <= a) {
        zero(j0, j1);
        return;
      }
      const int64_t ja = j0 + (a - i0), je = ja + (e - a);
      zero(j0, ja);
      zero(je, j1);
      const float* xi = x + img * cin * plane_in;
      if (b.expand) {
        XtArgs args{xi + a * g.w, plane_in, (e - a) * g.w, band + ja * g.w, ld_band, b.expand_ep.bias,
                    b.expand_ep.kernel_act()};
        espmm->fn(ev, 0, ev.panels, args);
        b.expand_ep.apply(band + ja * g.w, ld_band, g.ce, (e - a) * g.w);
      } else {
        for (int64_t c = 0; c < g.ce; ++c)
          std::memcpy(band + c * ld_band + ja * g.w, xi + c * plane_in + a * g.w,
                      static_cast<size_t>((e - a) * g.w) * sizeof(float));
      }
    };
    const int64_t begin = total_rows * t / nt, end = total_rows * (t + 1) / nt;
    for (int64_t r = begin; r < end;) {
      const int64_t img = r / g.ho, ro = r % g.ho;
      const int64_t rows = std::min({g.rows, end - r, g.ho - ro});
      const int64_t first = ro * g.stride - g.pad_top, count = (rows - 1) * g.stride + g.span;
      // Without an expand the depthwise reads the block input in place: the band's rows of each
      // plane, rows above or below the image as padding (a band copy cost a third of the block).
      const bool in_place = !b.expand;
      // Rows the previous band of this image already expanded move to the front.
      int64_t kept = 0;
      if (in_place) {
      } else if (held_img == img && held_first + held_count > first && held_first <= first) {
        kept = held_first + held_count - first;
        const int64_t shift = first - held_first;
        if (shift > 0)
          for (int64_t c = 0; c < g.ce; ++c)
            std::memmove(band + c * ld_band, band + c * ld_band + shift * g.w,
                         static_cast<size_t>(kept * g.w) * sizeof(float));
      }
      if (!in_place) fill_rows(img, first + kept, kept, count);
      held_img = img;
      held_first = first;
      held_count = count;
      // One kernel call for the band's planes (per-plane calls cost as much as 7x7 convolutions).
      DwArgs a;
      a.x = band;
      a.x_plane = ld_band;
      a.in_h = count;
      a.pad_h = 0;  // the band holds the top/bottom padding as zero rows
      if (in_place) {  // input rows [first, first + count) of each plane, those outside it zero
        const int64_t top = std::max<int64_t>(first, 0);
        a.x = x + img * g.ce * plane_in + top * g.w;
        a.x_plane = plane_in;
        a.pad_h = static_cast<int>(top - first);
        a.in_h = std::max<int64_t>(0, std::min(first + count, g.h) - top);
      }
      a.in_w = g.w;
      a.out_h = rows;
      a.out_w = g.wo;
      a.w = filters;
      a.kh = d.kernel_h;
      a.kw = d.kernel_w;
      a.stride_h = d.stride_h;
      a.stride_w = d.stride_w;
      a.pad_w = d.pad_w;
      a.dil_h = d.dilation_h;
      a.dil_w = d.dilation_w;
      a.biases = b.depthwise_ep.bias;
      a.act = b.depthwise_ep.kernel_act();
      a.y = dwout;
      a.y_plane = rows * g.wo;
      a.planes = g.ce;
      dwconv(a);
      b.depthwise_ep.apply(dwout, rows * g.wo, g.ce, rows * g.wo);
      float* yo = y + img * cout * plane_out + ro * g.wo;
      XtArgs args{dwout, rows * g.wo, rows * g.wo, yo, plane_out, b.project_ep.bias, b.project_ep.kernel_act()};
      pspmm->fn(pv, 0, pv.panels, args);
      b.project_ep.apply(yo, plane_out, cout, rows * g.wo);
      r += rows;
    }
  });
  return Status::Ok();
}

}  // namespace spiralkit
