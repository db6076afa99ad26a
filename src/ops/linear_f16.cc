#include "ops/linear_f16.h"

#include <algorithm>
#include <string>
#include <vector>

#include "config/kernel_registry.h"
#include "config/kernel_registry_f16.h"
#include "runtime/split.h"
#include "runtime/threads.h"

namespace spiralkit {
namespace {

Status check_f16(const PackedWeight& w, const F16SpmmRow** row) {
  if (!w.float16) return Status::InvalidArgument("w: not a float16 weight");
  *row = select_f16_spmm(w.panels.r);
  if (!*row) return Status::Unsupported("dtype='float16': this CPU has no fp16 arithmetic (FEAT_FP16)");
  return Status::Ok();
}

// y (N x M, ldy) = W xt for K x M fp16 activations; threads split the panels by non-zeros.
void run_panels(const PackedWeight& w, const F16SpmmRow* row, const XtArgsF16& a) {
  const PanelView v = w.panels.view();
  const int64_t work = static_cast<int64_t>(v.ptr[v.panels]) * v.r * a.m;
  const int threads = static_cast<int>(std::max<int64_t>(
      1, std::min<int64_t>({get_num_threads(), v.panels, std::max<int64_t>(1, work / (32 * 1024))})));
  parallel_run(threads, [&](int t, int nt) {
    const int64_t p0 = split_panels(v, 0, v.panels, t, nt), p1 = split_panels(v, 0, v.panels, t + 1, nt);
    if (p1 > p0) row->fn(v, w.f16_vals.data(), p0, p1, a);
  });
}

}  // namespace

Status linear_forward_f16(const PackedWeight& w, const float* x, int64_t m, const float* bias, Activation act,
                          float* y) {
  const F16SpmmRow* row = nullptr;
  Status st = check_f16(w, &row);
  if (!st.ok()) return st;
  if (m <= 0) return m < 0 ? Status::InvalidArgument("x: negative row count") : Status::Ok();
  const int64_t k = w.cols, n = w.rows;
  std::vector<uint16_t> xt(static_cast<size_t>(k * m));  // K x M fp16
  for (int64_t i = 0; i < m; ++i)
    for (int64_t c = 0; c < k; ++c) xt[c * m + i] = f32_to_f16_bits(x[i * k + c]);
  if (m == 1) {  // N x 1 is y itself
    run_panels(w, row, XtArgsF16{xt.data(), 1, 1, y, 1, bias, act});
    return Status::Ok();
  }
  std::vector<float> yt(static_cast<size_t>(n * m));  // N x M, transposed back into y
  run_panels(w, row, XtArgsF16{xt.data(), m, m, yt.data(), m, bias, act});
  select_transpose()->fn(yt.data(), m, n, m, y, n);
  return Status::Ok();
}

Status conv1x1_forward_f16(const PackedWeight& w, const ConvShape& s, const float* x, const float* bias,
                           Activation act, float* y) {
  const F16SpmmRow* row = nullptr;
  Status st = check_f16(w, &row);
  if (!st.ok()) return st;
  if (s.kernel_h != 1 || s.kernel_w != 1 || s.stride_h != 1 || s.stride_w != 1 || s.pad_h || s.pad_w ||
      s.groups != 1)
    return Status::Unsupported("dtype='float16': convolutions are 1x1, stride 1, no padding, groups 1 only");
  if (w.cols != s.in_channels || w.rows != s.out_channels)
    return Status::InvalidArgument("w: expected " + std::to_string(s.out_channels) + " x " +
                                   std::to_string(s.in_channels) + ", got " + std::to_string(w.rows) + " x " +
                                   std::to_string(w.cols));
  const int64_t pixels = s.in_h * s.in_w;
  std::vector<uint16_t> xh(static_cast<size_t>(s.in_channels * pixels));
  for (int64_t img = 0; img < s.batch; ++img) {  // NCHW is K x M already: convert, run
    const float* xi = x + img * s.in_channels * pixels;
    for (size_t i = 0; i < xh.size(); ++i) xh[i] = f32_to_f16_bits(xi[i]);
    run_panels(w, row, XtArgsF16{xh.data(), pixels, pixels, y + img * s.out_channels * pixels, pixels, bias, act});
  }
  return Status::Ok();
}

}  // namespace spiralkit
