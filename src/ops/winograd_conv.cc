#include "ops/winograd_conv.h"

#include <algorithm>

#include "config/kernel_registry.h"
#include "ops/planner.h"
#include "runtime/threads.h"

namespace spiralkit {

namespace {

// Per-thread transformed operands of one band sized to stay in the L2 cache.
constexpr int64_t kBandBytes = 640 * 1024;

// Two ways to split the work. Bands: each thread transforms and multiplies its own tile rows, so
// it reads all of the transformed filters per band (cheap while they are small). Channels: the
// whole image is one band; threads split its tiles for the input transform, then the output
// channels, so the filters (4x the dense weight) are read once per image in all: used once they
// outweigh the transformed activations.
struct WinoLayout {
  int64_t tiles_h, tiles_w, hp, wp, padded, band_rows, per_band, bands_per_buffer;
  bool split_channels;
};

WinoLayout wino_layout(const ConvShape& s, int threads) {
  WinoLayout l;
  l.tiles_h = (s.out_h + 3) / 4;
  l.tiles_w = (s.out_w + 3) / 4;
  l.hp = 4 * l.tiles_h + 2;
  l.wp = 4 * l.tiles_w + 2;
  l.padded = l.hp * l.wp * s.in_channels;
  const int64_t tiles = l.tiles_h * l.tiles_w;
  l.split_channels = threads > 1 && s.in_channels * s.out_channels >= tiles * (s.in_channels + s.out_channels);
  // Floats per tile row of a band: V and M (36 transformed values per tile), the NHWC output rows.
  const int64_t per_row = 36 * l.tiles_w * (s.in_channels + s.out_channels) + 16 * l.tiles_w * s.out_channels;
  const int64_t rows_per_thread = (l.tiles_h + threads - 1) / threads;
  l.band_rows = l.split_channels ? l.tiles_h : std::clamp<int64_t>(kBandBytes / 4 / per_row, 1, rows_per_thread);
  l.per_band = l.band_rows * per_row;
  l.bands_per_buffer = l.split_channels ? 1 : threads;  // one shared band, or one per thread
  return l;
}

// Padded row i of the NHWC image: input row i - pad_h, columns shifted by pad_w, zeros around.
void fill_padded_row(const float* xi, const ConvShape& s, const WinoLayout& l, int64_t i, TransposeFn transpose,
                     float* padded) {
  float* dst = padded + i * l.wp * s.in_channels;
  std::fill(dst, dst + l.wp * s.in_channels, 0.0f);
  const int64_t h = i - s.pad_h;
  if (h < 0 || h >= s.in_h) return;
  // in: C rows of in_w pixels (ldi = plane) -> out: in_w pixels of C channels.
  transpose(xi + h * s.in_w, s.in_h * s.in_w, s.in_channels, s.in_w, dst + s.pad_w * s.in_channels, s.in_channels);
}

// Output channels [n0, n1) of thread t of nt, in whole 16-channel steps.
void channel_range(int64_t n, int t, int nt, int64_t* n0, int64_t* n1) {
  const int64_t steps = (n + 15) / 16;
  *n0 = std::min(n, steps * t / nt * 16);
  *n1 = std::min(n, steps * (t + 1) / nt * 16);
}

}  // namespace

bool winograd_eligible(const PackedWeight& w, const ConvShape& s, PlanChoice choice) {
  if (s.kernel_h != 3 || s.kernel_w != 3 || s.stride_h != 1 || s.stride_w != 1 || s.dilation_h != 1 ||
      s.dilation_w != 1 || s.groups != 1)
    return false;
  if (s.in_channels < 8 || s.out_channels < 16 || s.out_h * s.out_w < kWinogradMinPixels) return false;
  return w.pattern.kind == PatternKind::kDense || plan_dense(w, s.out_h * s.out_w, choice);
}

int64_t winograd_workspace_floats(const ConvShape& s, int threads) {
  const WinoLayout l = wino_layout(s, std::max(1, threads));
  return l.padded + l.bands_per_buffer * l.per_band;
}

Status winograd_conv(const PackedWeight& w, const ConvShape& s, const float* x, const Epilogue& ep, float* y,
                     float* workspace) {
  const int threads = std::max(1, get_num_threads());
  const WinoLayout l = wino_layout(s, threads);
  const WinogradFn band = select_winograd()->fn;
  const TransposeFn transpose = select_transpose()->fn;
  const float* u = w.winograd_filters().data();
  const int64_t C = s.in_channels, N = s.out_channels, plane_out = s.out_h * s.out_w;
  float* padded = workspace;
  parallel_run(threads, [&](int t, int nt) {
    const int buffer = l.split_channels ? 0 : t;
    WinogradArgs a;
    a.x = padded;
    a.c = C;
    a.n = N;
    a.wp = l.wp;
    a.tiles_w = l.tiles_w;
    a.u = u;
    a.bias = ep.bias;
    a.act = ep.kernel_act();
    a.v = workspace + l.padded + buffer * l.per_band;
    a.m = a.v + 36 * l.band_rows * l.tiles_w * C;
    a.y = a.m + 36 * l.band_rows * l.tiles_w * N;
    // Band output rows [oh0, oh1), channels [n0, n1): NHWC -> NCHW, then residual / other activations.
    auto store = [&](float* yi, int64_t oh0, int64_t oh1, int64_t n0, int64_t n1) {
      for (int64_t oh = oh0; oh < oh1; ++oh)
        transpose(a.y + (oh - oh0) * 4 * l.tiles_w * N + n0, N, s.out_w, n1 - n0, yi + n0 * plane_out + oh * s.out_w,
                  plane_out);
      if (oh1 > oh0 && n1 > n0) ep.apply(yi + n0 * plane_out + oh0 * s.out_w, plane_out, n1 - n0, (oh1 - oh0) * s.out_w);
    };
    for (int64_t img = 0; img < s.batch; ++img) {
      const float* xi = x + img * C * s.in_h * s.in_w;
      float* yi = y + img * N * plane_out;
      for (int64_t i = l.hp * t / nt; i < l.hp * (t + 1) / nt; ++i) fill_padded_row(xi, s, l, i, transpose, padded);
#pragma omp barrier
      if (l.split_channels) {
        const int64_t tiles = l.tiles_h * l.tiles_w;
        a.tile_row0 = 0;
        a.tile_rows = l.tiles_h;
        a.stages = kWinoInput;
        a.t_begin = tiles * t / nt;
        a.t_end = tiles * (t + 1) / nt;
        band(a);
#pragma omp barrier
        a.stages = kWinoMultiply;
        channel_range(N, t, nt, &a.n_begin, &a.n_end);
        band(a);
        store(yi, 0, s.out_h, a.n_begin, a.n_end);
      } else {
        const int64_t r0 = l.tiles_h * t / nt, r1 = l.tiles_h * (t + 1) / nt;
        for (int64_t b = r0; b < r1; b += l.band_rows) {
          a.tile_row0 = b;
          a.tile_rows = std::min(l.band_rows, r1 - b);
          band(a);
          store(yi, 4 * b, std::min<int64_t>(s.out_h, 4 * (b + a.tile_rows)), 0, N);
        }
      }
      if (img + 1 < s.batch) {
#pragma omp barrier  // the next image overwrites the padded buffer (and the shared band)
      }
    }
  });
  return Status::Ok();
}

}  // namespace spiralkit
