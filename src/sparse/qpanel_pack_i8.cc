#include "sparse/qpanel_pack_i8.h"

namespace spiralkit {

QPanelView QPanelPack::view() const {
  QPanelView v;
  v.r = r;
  v.rows = rows;
  v.cols = cols;
  v.groups = groups;
  v.panels = panels();
  v.ptr = ptr.data();
  v.kidx = kidx.data();
  v.vals = vals.data();
  v.row_sum = row_sum.data();
  return v;
}

void build_qpanels(const int8_t* w, int64_t rows, int64_t cols, int r, bool keep_all, QPanelPack* out) {
  out->r = r;
  out->rows = rows;
  out->cols = cols;
  out->groups = (cols + 3) / 4;
  const int64_t panels = (rows + r - 1) / r;
  out->ptr.assign(1, 0);
  out->kidx.clear();
  out->vals.clear();
  out->row_sum.assign(static_cast<size_t>(rows), 0);
  for (int64_t n = 0; n < rows; ++n)
    for (int64_t k = 0; k < cols; ++k) out->row_sum[n] += w[n * cols + k];
  auto at = [&](int64_t n, int64_t k) -> int8_t { return n < rows && k < cols ? w[n * cols + k] : int8_t(0); };
  for (int64_t p = 0; p < panels; ++p) {
    for (int64_t g = 0; g < out->groups; ++g) {
      bool any = keep_all;
      for (int i = 0; i < r && !any; ++i)
        for (int j = 0; j < 4 && !any; ++j) any = at(p * r + i, g * 4 + j) != 0;
      if (!any) continue;
      out->kidx.push_back(static_cast<int32_t>(g));
      for (int i = 0; i < r; ++i)
        for (int j = 0; j < 4; ++j) out->vals.push_back(at(p * r + i, g * 4 + j));
    }
    out->ptr.push_back(static_cast<int32_t>(out->kidx.size()));
  }
}

}  // namespace spiralkit
