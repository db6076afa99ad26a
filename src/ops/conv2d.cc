#include "ops/conv2d.h"

#include <algorithm>
#include <string>
#include <vector>

#include "config/kernel_registry.h"
#include "core/aligned_vector.h"
#include "ops/clones.h"
#include "ops/planner.h"
#include "ops/winograd_conv.h"
#include "runtime/split.h"
#include "runtime/threads.h"

namespace spiralkit {

Status conv2d_output_size(ConvShape* s) {
  if (s->stride_h < 1 || s->stride_w < 1) return Status::InvalidArgument("stride: expected values >= 1");
  if (s->pad_h < 0 || s->pad_w < 0) return Status::InvalidArgument("padding: expected values >= 0");
  if (s->dilation_h < 1 || s->dilation_w < 1) return Status::InvalidArgument("dilation: expected values >= 1");
  if (s->groups < 1) return Status::InvalidArgument("groups: expected a positive value");
  s->out_h = (s->in_h + 2 * s->pad_h - int64_t(s->dilation_h) * (s->kernel_h - 1) - 1) / s->stride_h + 1;
  s->out_w = (s->in_w + 2 * s->pad_w - int64_t(s->dilation_w) * (s->kernel_w - 1) - 1) / s->stride_w + 1;
  if (s->out_h < 1 || s->out_w < 1) {
    return Status::InvalidArgument("x: input " + std::to_string(s->in_h) + "x" + std::to_string(s->in_w) +
                                   " is smaller than the dilated kernel after padding");
  }
  return Status::Ok();
}

namespace {

// NCHW already holds each image as K x M (channels x pixels): a 1x1 convolution is one spmm call
// per image, no copy. Threads split the panels by non-zeros and each walks all images.
Status pointwise_conv(const PanelView& view, const ConvShape& s, const float* x, const Epilogue& full, float* y) {
  // The residual is added in the kernel's store (y's layout is the residual's); only GELU-like
  // activations still run after it.
  Epilogue ep = full;
  ep.residual = nullptr;
  const float* bias = ep.bias;
  const Activation act = ep.kernel_act();
  const SpmmRow* spmm = select_spmm(view.r);
  const int64_t pixels = s.out_h * s.out_w;
  const int threads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(get_num_threads(), view.panels)));
  parallel_run(threads, [&](int t, int nt) {
    const int64_t p0 = split_panels(view, 0, view.panels, t, nt), p1 = split_panels(view, 0, view.panels, t + 1, nt);
    for (int64_t img = 0; img < s.batch; ++img) {
      XtArgs a{x + img * s.in_channels * pixels, pixels, pixels, y + img * s.out_channels * pixels, pixels, bias, act};
      if (full.residual) a.residual = full.residual + img * s.out_channels * pixels;
      spmm->fn(view, p0, p1, a);
      const int64_t n0 = p0 * view.r, n1 = std::min<int64_t>(p1 * view.r, s.out_channels);
      if (n1 > n0) ep.apply(y + (img * s.out_channels + n0) * pixels, pixels, n1 - n0, pixels);
    }
  });
  return Status::Ok();
}

// k x k (or strided/padded/grouped) convolution: pixel tiles are im2col'd into a shared K x T
// buffer sized for the L2 cache (threads split the pixels), then the spmm kernel runs on the
// group's panels (threads split them by non-zeros). The output is written in place, NCHW.
int64_t im2col_tile(const ConvShape& s, int64_t tile) {
  constexpr int64_t kColFloats = 96 * 1024;  // ~384 KiB of the 1-2 MiB L2
  const int64_t pixels = s.out_h * s.out_w;
  int64_t tp = std::max<int64_t>(tile, kColFloats / conv_reduction(s) / tile * tile);
  return tp >= pixels ? pixels : tp;
}

Status im2col_conv(const PanelView& view, const ConvShape& s, const float* x, const Epilogue& ep, float* y,
                   float* colp) {
  const float* bias = ep.bias;
  const Activation act = ep.kernel_act();
  const SpmmRow* spmm = select_spmm(view.r);
  const int64_t pixels = s.out_h * s.out_w;
  const int64_t k_total = conv_reduction(s);
  const int64_t cin_g = s.in_channels / s.groups, cout_g = s.out_channels / s.groups;
  const int64_t tp = im2col_tile(s, spmm->tile);
  (void)k_total;
  const int threads = std::max(1, get_num_threads());
#pragma omp parallel num_threads(threads)
  {
    const int t = team_thread(), nt = team_size();
    for (int64_t img = 0; img < s.batch; ++img) {
      for (int64_t g = 0; g < s.groups; ++g) {
        const float* xg = x + (img * s.in_channels + g * cin_g) * s.in_h * s.in_w;
        const int64_t gp0 = g * cout_g / view.r, gp1 = ((g + 1) * cout_g + view.r - 1) / view.r;
        const int64_t q0 = split_panels(view, gp0, gp1, t, nt), q1 = split_panels(view, gp0, gp1, t + 1, nt);
        for (int64_t p0 = 0; p0 < pixels; p0 += tp) {
          const int64_t len = std::min(tp, pixels - p0);
          const int64_t a0 = p0 + len * t / nt, a1 = p0 + len * (t + 1) / nt;
          if (a1 > a0) spiralkit_f32_im2col_ukernel__scalar(xg, s, a0, a1, colp + (a0 - p0), tp);
#pragma omp barrier
          XtArgs a{colp, tp, len, y + img * s.out_channels * pixels + p0, pixels, bias, act};
          if (q1 > q0) {
            spmm->fn(view, q0, q1, a);
            const int64_t n0 = q0 * view.r, n1 = std::min<int64_t>(q1 * view.r, s.out_channels);
            ep.apply(y + (img * s.out_channels + n0) * pixels + p0, pixels, n1 - n0, len);
          }
#pragma omp barrier
        }
      }
    }
  }
  return Status::Ok();
}

// k x k convolution without im2col: the input is zero-padded (and, for strides > 1, split into
// phase planes, see ConvOffsets) once; each weight column k = (c, r, q) is then a plane shifted by
// a fixed offset, so the K x M kernel runs on the planes directly (offsets built once per
// geometry). Outputs are computed "wide" (wq columns per output row, the extra ones discarded)
// into a scratch, then each thread compacts the rows it computed into y.
// dst[j] = src[stride * j]: a loop of its own, built per x86 level, so stride 2 (every strided
// layer of ResNet and MobileNet) runs as vector loads and permutes, not one float at a time.
SPIRALKIT_CLONES void gather_strided(const float* src, int64_t stride, int64_t n, float* dst) {
  if (stride == 2) {
    for (int64_t j = 0; j < n; ++j) dst[j] = src[2 * j];
    return;
  }
  for (int64_t j = 0; j < n; ++j) dst[j] = src[stride * j];
}

// Rows [i0, i1) of every phase plane of one channel (the padded plane at stride 1), so threads
// can split a few large channels (a stem's three) by rows instead of by channels.
void fill_phase_rows(const float* xc, const ConvShape& s, const ConvOffsets& o, float* dst, int64_t i0, int64_t i1) {
  const int64_t plane = o.hq * o.wq;
  for (int ph = 0; ph < o.stride_h; ++ph)
    for (int pw = 0; pw < o.stride_w; ++pw) {
      const int slot = o.phase_slot[ph * o.stride_w + pw];
      if (slot < 0) continue;
      float* d = dst + slot * plane;
      for (int64_t i = i0; i < i1; ++i) {
        const int64_t ih = ph + o.stride_h * i - s.pad_h;
        float* row = d + i * o.wq;
        if (ih < 0 || ih >= s.in_h) {
          std::fill(row, row + o.wq, 0.0f);
          continue;
        }
        // Columns j with 0 <= pw + stride_w * j - pad_w < in_w, zeros around them.
        const int64_t off = pw - s.pad_w;
        const int64_t j0 = std::min<int64_t>(o.wq, off >= 0 ? 0 : (-off + o.stride_w - 1) / o.stride_w);
        const int64_t j1 = std::clamp<int64_t>((s.in_w - off + o.stride_w - 1) / o.stride_w, j0, o.wq);
        const float* src = xc + ih * s.in_w + off;
        std::fill(row, row + j0, 0.0f);
        if (o.stride_w == 1) std::copy(src + j0, src + j1, row + j0);
        else gather_strided(src + o.stride_w * j0, o.stride_w, j1 - j0, row + j0);
        std::fill(row + j1, row + o.wq, 0.0f);
      }
    }
}

void fill_phase_planes(const float* xc, const ConvShape& s, const ConvOffsets& o, float* dst) {
  fill_phase_rows(xc, s, o, dst, 0, o.hq);
}

// Rows of all channels' planes split evenly over nt threads (this thread: t).
void fill_phase_planes_part(const float* xi, const ConvShape& s, const ConvOffsets& o, float* xpp, int64_t channel,
                            int t, int nt) {
  const int64_t units = s.in_channels * o.hq, u0 = units * t / nt, u1 = units * (t + 1) / nt;
  for (int64_t u = u0; u < u1;) {
    const int64_t c = u / o.hq, i0 = u % o.hq, i1 = std::min<int64_t>(o.hq, i0 + (u1 - u));
    fill_phase_rows(xi + c * s.in_h * s.in_w, s, o, xpp + c * channel, i0, i1);
    u += i1 - i0;
  }
}

struct DirectGeometry {
  int64_t hq, wq, mw;
  bool copy;
};
DirectGeometry direct_geometry(const ConvShape& s) {
  const int64_t hp = s.in_h + 2 * s.pad_h, wp = s.in_w + 2 * s.pad_w;
  DirectGeometry d;
  d.hq = (hp + s.stride_h - 1) / s.stride_h;
  d.wq = (wp + s.stride_w - 1) / s.stride_w;
  d.mw = (s.out_h - 1) * d.wq + s.out_w;  // wide columns; the last row needs only out_w
  d.copy = s.pad_h > 0 || s.pad_w > 0 || s.stride_h > 1 || s.stride_w > 1;
  return d;
}
// Upper bound of the stored phases per channel: every phase of the stride.
int64_t direct_workspace(const ConvShape& s) {
  const DirectGeometry d = direct_geometry(s);
  const int64_t planes = d.copy ? s.in_channels * int64_t(s.stride_h) * s.stride_w * d.hq * d.wq : 0;
  return planes + s.out_channels * d.mw;
}

// A batch that divides evenly over the threads (or is much larger) splits by image.
bool split_images(const ConvShape& s, int threads) {
  return threads > 1 && (s.batch % threads == 0 || s.batch >= 4 * threads);
}

Status direct_conv(const PackedWeight& w, const PanelPack& pack, const ConvShape& s, const float* x,
                   const Epilogue& ep, float* y, float* workspace) {
  const float* bias = ep.bias;
  const Activation act = ep.kernel_act();
  const DirectGeometry geo = direct_geometry(s);
  const int64_t hq = geo.hq, wq = geo.wq;
  const ConvOffsets& offs =
      w.conv_offsets(pack, hq, wq, s.kernel_h, s.kernel_w, s.dilation_h, s.dilation_w, s.stride_h, s.stride_w);
  PanelView view = pack.view();
  view.kidx = offs.kidx.data();
  const SpmmRow* spmm = select_spmm(view.r);
  const int64_t cin_g = s.in_channels / s.groups, cout_g = s.out_channels / s.groups;
  const int64_t channel = offs.phases * hq * wq, pixels = s.out_h * s.out_w;
  const int64_t mw = geo.mw;
  const bool copy = geo.copy;
  const int threads = std::max(1, get_num_threads());
  // Panels [q0, q1) of group g on the planes at src, into the wide scratch; then those output
  // rows compacted into the image's y with the epilogue.
  auto run_panels = [&](const float* src, float* widep, float* yi, int64_t g, int64_t q0, int64_t q1) {
    XtArgs a{src + g * cin_g * channel, 1, mw, widep, mw, bias, act};
    spmm->fn(view, q0, q1, a);
    const int64_t n1 = std::min<int64_t>(q1 * view.r, s.out_channels);
    for (int64_t n = q0 * view.r; n < n1; ++n) {
      for (int64_t oh = 0; oh < s.out_h; ++oh)
        std::copy(widep + n * mw + oh * wq, widep + n * mw + oh * wq + s.out_w, yi + n * pixels + oh * s.out_w);
      ep.apply(yi + n * pixels, pixels, 1, pixels);
    }
  };
  auto group_panels = [&](int64_t g, int64_t* p0, int64_t* p1) {
    *p0 = g * cout_g / view.r;
    *p1 = ((g + 1) * cout_g + view.r - 1) / view.r;
  };
  if (split_images(s, threads)) {
    // Whole images per thread, each with its own planes and wide output: no barriers at all
    // (a batch of small images is otherwise dominated by two barriers per image).
    const int64_t per_thread = direct_workspace(s);
    parallel_run(threads, [&](int t, int nt) {
      float* xpp = workspace + t * per_thread;
      float* widep = xpp + (copy ? s.in_channels * channel : 0);
      for (int64_t img = s.batch * t / nt; img < s.batch * (t + 1) / nt; ++img) {
        const float* xi = x + img * s.in_channels * s.in_h * s.in_w;
        if (copy)
          for (int64_t c = 0; c < s.in_channels; ++c) fill_phase_planes(xi + c * s.in_h * s.in_w, s, offs, xpp + c * channel);
        const float* src = copy ? xpp : xi;
        float* yi = y + img * s.out_channels * pixels;
        for (int64_t g = 0; g < s.groups; ++g) {
          int64_t gp0 = 0, gp1 = 0;
          group_panels(g, &gp0, &gp1);
          run_panels(src, widep, yi, g, gp0, gp1);
        }
      }
    });
    return Status::Ok();
  }
  float* xpp = workspace;
  float* widep = workspace + (copy ? s.in_channels * channel : 0);
  parallel_run(threads, [&](int t, int nt) {
    for (int64_t img = 0; img < s.batch; ++img) {
      const float* xi = x + img * s.in_channels * s.in_h * s.in_w;
      if (copy) {
        fill_phase_planes_part(xi, s, offs, xpp, channel, t, nt);
#pragma omp barrier
      }
      const float* src = copy ? xpp : xi;
      float* yi = y + img * s.out_channels * pixels;
      for (int64_t g = 0; g < s.groups; ++g) {
        int64_t gp0 = 0, gp1 = 0;
        group_panels(g, &gp0, &gp1);
        const int64_t q0 = split_panels(view, gp0, gp1, t, nt), q1 = split_panels(view, gp0, gp1, t + 1, nt);
        if (q1 > q0) run_panels(src, widep, yi, g, q0, q1);
      }
      if (copy && img + 1 < s.batch) {
#pragma omp barrier  // the next image overwrites the planes
      }
    }
  });
  return Status::Ok();
}

// One input channel per group (depthwise, optionally with a channel multiplier): a direct
// kernel over the dense filter; planes are split statically, and each thread hands the kernel its
// planes of one image in one call (one call per plane where a channel multiplier makes several
// outputs read one input plane).
Status depthwise(const PackedWeight& w, const ConvShape& s, const float* x, const Epilogue& ep, float* y) {
  const DwConvFn dw = select_dwconv()->fn;
  const float* filters = w.pattern.kind == PatternKind::kDense ? w.values.data() : w.dense_values().data();
  const int64_t cout_g = s.out_channels / s.groups;
  const int64_t planes = s.batch * s.out_channels;
  const int64_t plane_in = s.in_h * s.in_w, plane_out = s.out_h * s.out_w, taps = int64_t(s.kernel_h) * s.kernel_w;
  const int threads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(get_num_threads(), planes)));
  parallel_run(threads, [&](int t, int nt) {
    const int64_t end = planes * (t + 1) / nt;
    for (int64_t i = planes * t / nt; i < end;) {
      const int64_t img = i / s.out_channels, o = i % s.out_channels;
      const int64_t run = cout_g == 1 ? std::min(end - i, s.out_channels - o) : 1;  // planes of this call
      DwArgs a;
      a.x = x + (img * s.in_channels + o / cout_g) * plane_in;
      a.x_plane = plane_in;
      a.in_h = s.in_h;
      a.in_w = s.in_w;
      a.out_h = s.out_h;
      a.out_w = s.out_w;
      a.w = filters + o * taps;
      a.kh = s.kernel_h;
      a.kw = s.kernel_w;
      a.stride_h = s.stride_h;
      a.stride_w = s.stride_w;
      a.pad_h = s.pad_h;
      a.pad_w = s.pad_w;
      a.dil_h = s.dilation_h;
      a.dil_w = s.dilation_w;
      a.biases = ep.bias ? ep.bias + o : nullptr;
      a.act = ep.kernel_act();
      a.y = y + i * plane_out;
      a.y_plane = plane_out;
      a.planes = run;
      dw(a);
      ep.apply(a.y, plane_out, run, plane_out);
      i += run;
    }
  });
  return Status::Ok();
}

// Depthwise on small planes, channel-blocked: L planes transposed to [pixel][L] into a zero-
// padded buffer, one dwconvcb kernel call over the block, then transposed back to NCHW. A pixel
// of L channels fills a vector that a narrow plane's row would leave mostly idle.
bool depthwise_blocked(const ConvShape& s) {
  if (s.out_channels != s.groups) return false;  // a channel multiplier: the per-plane kernel
  if (depthwise_stride2_narrow_per_plane(s)) return false;
  return s.out_w < depthwise_blocked_below();
}

struct DwCbLayout {
  int64_t lanes, hp, wp, padded, staged, out, per_thread;
};
DwCbLayout dwcb_layout(const ConvShape& s) {
  DwCbLayout l;
  l.lanes = select_dwconvcb()->tile;
  l.hp = s.in_h + 2 * s.pad_h;
  l.wp = s.in_w + 2 * s.pad_w;
  l.padded = l.hp * l.wp * l.lanes;
  l.staged = s.in_h * s.in_w * l.lanes;  // the transposed block before it is spread into rows
  l.out = s.out_h * s.out_w * l.lanes;
  const int64_t taps = int64_t(s.kernel_h) * s.kernel_w;
  l.per_thread = l.padded + l.staged + l.out + (taps + 1) * l.lanes;
  return l;
}
int64_t depthwise_blocked_workspace(const ConvShape& s) {
  return dwcb_layout(s).per_thread * std::max(1, get_num_threads());
}

Status depthwise_blocked_run(const PackedWeight& w, const ConvShape& s, const float* x, const Epilogue& ep, float* y,
                             float* workspace) {
  const DwCbRow* row = select_dwconvcb();
  const TransposeFn transpose = select_transpose()->fn;
  const DwCbLayout l = dwcb_layout(s);
  const int64_t L = l.lanes, C = s.out_channels;
  const int64_t plane_in = s.in_h * s.in_w, plane_out = s.out_h * s.out_w;
  const int64_t taps = int64_t(s.kernel_h) * s.kernel_w;
  const float* filters = w.pattern.kind == PatternKind::kDense ? w.values.data() : w.dense_values().data();
  const int64_t per_image = (C + L - 1) / L, blocks = s.batch * per_image;
  const int threads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(get_num_threads(), blocks)));
  parallel_run(threads, [&](int t, int nt) {
    float* padded = workspace + t * l.per_thread;
    float* staged = padded + l.padded;
    float* out = staged + l.staged;
    float* wb = out + l.out;
    float* bb = wb + taps * L;
    if (!ep.bias) std::fill(bb, bb + L, 0.0f);
    // The border stays zero: blocks only rewrite the interior (a short last block leaves stale
    // but finite values in its unused lanes, multiplied by zero weights and never stored).
    std::fill(padded, padded + l.padded, 0.0f);
    DwCbArgs a;
    a.x = padded;
    a.wp = l.wp;
    a.out_h = s.out_h;
    a.out_w = s.out_w;
    a.w = wb;
    a.bias = bb;
    a.kh = s.kernel_h;
    a.kw = s.kernel_w;
    a.stride_h = s.stride_h;
    a.stride_w = s.stride_w;
    a.dil_h = s.dilation_h;
    a.dil_w = s.dilation_w;
    a.act = ep.kernel_act();
    a.y = out;
    for (int64_t b = blocks * t / nt; b < blocks * (t + 1) / nt; ++b) {
      const int64_t img = b / per_image, c0 = (b % per_image) * L, nc = std::min(L, C - c0);
      const float* xb = x + (img * C + c0) * plane_in;
      transpose(xb, plane_in, nc, plane_in, staged, L);
      for (int64_t h = 0; h < s.in_h; ++h)
        std::copy(staged + h * s.in_w * L, staged + (h + 1) * s.in_w * L,
                  padded + ((h + s.pad_h) * l.wp + s.pad_w) * L);
      if (nc < L) std::fill(wb, bb + L, 0.0f);  // lanes past the last channel get zero taps
      transpose(filters + c0 * taps, taps, nc, taps, wb, L);
      if (ep.bias) std::copy(ep.bias + c0, ep.bias + c0 + nc, bb);
      row->fn(a);
      float* yb = y + (img * C + c0) * plane_out;
      transpose(out, L, plane_out, nc, yb, plane_out);
      ep.apply(yb, plane_out, nc, plane_out);
    }
  });
  return Status::Ok();
}

// Groups whose output channels do not align with the panel height: the scalar reference.
Status reference(const PackedWeight& w, const ConvShape& shape, const float* x, const Epilogue& ep, float* y) {
  const float* bias = ep.bias;
  const Activation act = ep.kernel_act();
  const SparseMatrixView view = w.view();
  const int64_t pixels = shape.out_h * shape.out_w;
  const int64_t in_image = shape.in_channels * shape.in_h * shape.in_w;
  const int64_t out_image = shape.out_channels * pixels;
  const int threads = static_cast<int>(std::min<int64_t>(get_num_threads(), shape.batch));
  // Images are independent: one per thread at a time, each with its own im2col scratch.
#pragma omp parallel num_threads(threads)
  {
    CacheAlignedVector<float> scratch(static_cast<size_t>(pixels * conv_reduction(shape)));
    ConvShape one = shape;
    one.batch = 1;
#pragma omp for schedule(static)
    for (int64_t img = 0; img < shape.batch; ++img) {
      ConvParams p;
      p.x = x + img * in_image;
      p.bias = bias;
      p.activation = act;
      p.y = y + img * out_image;
      p.scratch = scratch.data();
      spiralkit_f32_sconv_ukernel__reference(view, one, p);
      ep.apply(p.y, pixels, 1, out_image);
    }
  }
  return Status::Ok();
}


// Which driver runs a convolution, and the panels it runs on.
enum class ConvPath { kDepthwise, kWinograd, kPointwise, kDirect, kIm2col, kReference };
ConvPath conv_path(const PackedWeight& w, const ConvShape& shape, PlanChoice choice, const PanelPack** chosen_out) {
  const int64_t cin_g = shape.in_channels / shape.groups;
  *chosen_out = nullptr;
  if (cin_g == 1 && shape.groups > 1) return ConvPath::kDepthwise;
  if (winograd_eligible(w, shape, choice)) return ConvPath::kWinograd;
  const int64_t pixels = shape.out_h * shape.out_w;
  const int64_t cout_g = shape.out_channels / shape.groups;
  const PanelPack* chosen = &plan_panels(w, pixels, choice);
  // Panels must not straddle groups: fall back to CSR (R = 1) panels, else the reference.
  if (shape.groups > 1 && cout_g % chosen->r != 0 && w.gemv_panels().r == 1) chosen = &w.gemv_panels();
  if (shape.groups > 1 && cout_g % chosen->r != 0) return ConvPath::kReference;
  *chosen_out = chosen;
  const bool pointwise = shape.kernel_h == 1 && shape.kernel_w == 1 && shape.stride_h == 1 && shape.stride_w == 1 &&
                         shape.pad_h == 0 && shape.pad_w == 0 && shape.groups == 1;
  if (pointwise) return ConvPath::kPointwise;
  // Direct on (phase) planes when the offsets fit the kernels' 32-bit column indices (the stored
  // phases hold at most the padded input, plus rounding); im2col tiles otherwise.
  const int64_t padded_input = shape.in_channels * (shape.in_h + 2 * shape.pad_h + shape.stride_h) *
                               (shape.in_w + 2 * shape.pad_w + shape.stride_w);
  // A strided 1x1 reads one pixel in stride_h * stride_w: its im2col tiles are as small as the
  // phase plane and stay in cache, so it keeps the im2col path.
  const bool strided_1x1 = shape.kernel_h == 1 && shape.kernel_w == 1 && (shape.stride_h > 1 || shape.stride_w > 1);
  if (padded_input < (int64_t(1) << 31) && !strided_1x1) return ConvPath::kDirect;
  return ConvPath::kIm2col;
}

}  // namespace

int64_t conv2d_workspace_floats(const PackedWeight& w, const ConvShape& shape, PlanChoice choice) {
  const PanelPack* pack = nullptr;
  switch (conv_path(w, shape, choice, &pack)) {
    case ConvPath::kDirect: {
      const int threads = std::max(1, get_num_threads());
      return direct_workspace(shape) * (split_images(shape, threads) ? threads : 1);
    }
    case ConvPath::kIm2col: return conv_reduction(shape) * im2col_tile(shape, select_spmm(pack->r)->tile);
    case ConvPath::kDepthwise: return depthwise_blocked(shape) ? depthwise_blocked_workspace(shape) : 0;
    case ConvPath::kWinograd: return winograd_workspace_floats(shape, get_num_threads());
    default: return 0;
  }
}

Status conv2d_check(const PackedWeight& w, const ConvShape& shape) {
  if (shape.groups < 1 || shape.in_channels % shape.groups || shape.out_channels % shape.groups) {
    return Status::InvalidArgument("groups: " + std::to_string(shape.groups) + " does not divide C_in=" +
                                   std::to_string(shape.in_channels) + " and C_out=" +
                                   std::to_string(shape.out_channels));
  }
  if (w.rows != shape.out_channels || w.cols != conv_reduction(shape)) {
    return Status::InvalidArgument("w: expected a " + std::to_string(shape.out_channels) + "x" +
                                   std::to_string(conv_reduction(shape)) + " matrix for this convolution, got " +
                                   std::to_string(w.rows) + "x" + std::to_string(w.cols));
  }
  return Status::Ok();
}

Status conv2d_forward(const PackedWeight& w, const ConvShape& shape, const float* x, const float* bias, Activation act,
                      float* y) {
  SPIRALKIT_RETURN_IF_ERROR(conv2d_check(w, shape));
  std::vector<float> workspace(static_cast<size_t>(conv2d_workspace_floats(w, shape)));
  Epilogue ep;
  ep.bias = bias;
  ep.act = act;
  return conv2d_forward(w, shape, x, ep, y, workspace.data());
}

Status conv2d_forward(const PackedWeight& w, const ConvShape& shape, const float* x, Epilogue ep, float* y,
                      float* workspace) {
  SPIRALKIT_RETURN_IF_ERROR(conv2d_check(w, shape));
  if (shape.batch == 0) return Status::Ok();
  ep.base_ = y;
  const PanelPack* pack = nullptr;
  switch (conv_path(w, shape, ep.choice, &pack)) {
    case ConvPath::kDepthwise:
      return depthwise_blocked(shape) ? depthwise_blocked_run(w, shape, x, ep, y, workspace)
                                      : depthwise(w, shape, x, ep, y);
    case ConvPath::kWinograd: return winograd_conv(w, shape, x, ep, y, workspace);
    case ConvPath::kReference: return reference(w, shape, x, ep, y);
    case ConvPath::kPointwise: return pointwise_conv(pack->view(), shape, x, ep, y);
    case ConvPath::kDirect: return direct_conv(w, *pack, shape, x, ep, y, workspace);
    case ConvPath::kIm2col: return im2col_conv(pack->view(), shape, x, ep, y, workspace);
  }
  return Status::Ok();
}

}  // namespace spiralkit
