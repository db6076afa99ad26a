#include "sparse/kernel_pack.h"

#include <algorithm>

namespace spiralkit {

PanelView PanelPack::view() const {
  PanelView v;
  v.r = r;
  v.rows = rows;
  v.cols = cols;
  v.panels = panels();
  v.ptr = ptr.data();
  v.kidx = kidx.data();
  v.kidx16 = has_kidx16 ? kidx16.data() : nullptr;
  v.vals = vals.data();
  return v;
}

void build_panels(const float* dense, int64_t rows, int64_t cols, int r, bool keep_all, PanelPack* out) {
  out->r = r;
  out->rows = rows;
  out->cols = cols;
  out->ptr.assign(1, 0);
  out->kidx.clear();
  out->vals.clear();
  const int64_t panels = (rows + r - 1) / r;
  for (int64_t p = 0; p < panels; ++p) {
    const int64_t n0 = p * r, n1 = std::min<int64_t>(rows, n0 + r);
    for (int64_t k = 0; k < cols; ++k) {
      bool any = keep_all;
      for (int64_t n = n0; n < n1 && !any; ++n) any = dense[n * cols + k] != 0.0f;
      if (!any) continue;
      out->kidx.push_back(static_cast<int32_t>(k));
      for (int64_t n = n0; n < n0 + r; ++n) out->vals.push_back(n < n1 ? dense[n * cols + k] : 0.0f);
    }
    out->ptr.push_back(static_cast<int32_t>(out->kidx.size()));
  }
  out->kidx16.clear();
  out->has_kidx16 = cols <= 65536;
  if (out->has_kidx16) {
    out->kidx16.assign(out->kidx.begin(), out->kidx.end());
    out->kidx16.resize(out->kidx.size() + PanelPack::kKidx16Padding, 0);
  }
}


void build_conv_offsets(ConvOffsets* out) {
  const int sh = out->stride_h, sw = out->stride_w;
  out->phase_slot.assign(static_cast<size_t>(sh * sw), -1);
  for (int r = 0; r < out->kh; ++r)
    for (int q = 0; q < out->kw; ++q) out->phase_slot[((r * out->dil_h) % sh) * sw + (q * out->dil_w) % sw] = 0;
  out->phases = 0;
  for (int& slot : out->phase_slot)
    if (slot == 0) slot = out->phases++;
  const int taps = out->kh * out->kw;
  const int64_t plane = out->hq * out->wq;
  out->kidx.resize(out->src->kidx.size());
  for (size_t i = 0; i < out->kidx.size(); ++i) {
    const int64_t k = out->src->kidx[i];
    const int64_t c = k / taps, r = (k % taps) / out->kw, q = k % out->kw;
    const int64_t dr = r * out->dil_h, dq = q * out->dil_w;
    const int slot = out->phase_slot[(dr % sh) * sw + dq % sw];
    out->kidx[i] = static_cast<int32_t>((c * out->phases + slot) * plane + (dr / sh) * out->wq + dq / sw);
  }
}

}  // namespace spiralkit
