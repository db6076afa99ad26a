#include <algorithm>
#include <cstring>
#include <string>

#include "config/kernel_registry.h"
#include "graph/shape_inference.h"
#include "ops/tensor_math.h"
#include "runtime/threads.h"

namespace spiralkit {
namespace {

// Copies `rows` runs of `run` bytes from src (stride ss) to dst (stride ds).
inline void copy_runs(const char* src, int64_t ss, char* dst, int64_t ds, int64_t rows, int64_t run) {
  for (int64_t r = 0; r < rows; ++r) std::memcpy(dst + r * ds, src + r * ss, static_cast<size_t>(run));
}

int64_t prod(const Shape& s, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t i = from; i < to; ++i) p *= s[i];
  return p;
}

}  // namespace

// Output-order walk; the innermost output dim reads with the input stride of its source dim
// (a unit stride when the last dim stays last: whole-row memcpy).
void transpose_forward(const void* x, const Shape& sx, const std::vector<int64_t>& perm, void* y, int64_t elem) {
  const size_t r = sx.size();
  int64_t total = prod(sx, 0, r);
  if (total == 0) return;
  Dims in_stride, sy, st;
  in_stride[r - 1] = 1;
  for (size_t d = r - 1; d-- > 0;) in_stride[d] = in_stride[d + 1] * sx[d + 1];
  for (size_t i = 0; i < r; ++i) {
    sy[i] = sx[perm[i]];
    st[i] = in_stride[perm[i]];
  }
  const char* src = static_cast<const char*>(x);
  char* dst = static_cast<char*>(y);
  if (elem == 4 && r >= 2 && perm[r - 1] != static_cast<int64_t>(r) - 1) {
    // The input's last dim moves to output position p: per index of the other output dims, a 2-D
    // tile transpose (rows = the dim that becomes last, cols = the input's last) by the kernel.
    size_t p = 0;
    while (perm[p] != static_cast<int64_t>(r) - 1) ++p;
    Dims out_stride;
    out_stride[r - 1] = 1;
    for (size_t d = r - 1; d-- > 0;) out_stride[d] = out_stride[d + 1] * sy[d + 1];
    const int64_t rows = sy[r - 1], cols = sy[p], ldi = st[r - 1], ldo = out_stride[p];
    const int64_t blocks = total / (rows * cols);
    const TransposeFn tr = select_transpose()->fn;
    const int threads2 = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>({get_num_threads(), blocks, total / (64 * 1024)})));
    parallel_run(threads2, [&](int t, int nt) {
      for (int64_t blk = blocks * t / nt; blk < blocks * (t + 1) / nt; ++blk) {
        int64_t rem = blk, off_in = 0, off_out = 0;
        for (size_t d = r - 1; d-- > 0;) {
          if (d == p) continue;
          const int64_t i = rem % sy[d];
          rem /= sy[d];
          off_in += i * st[d];
          off_out += i * out_stride[d];
        }
        tr(reinterpret_cast<const float*>(src) + off_in, ldi, rows, cols, reinterpret_cast<float*>(dst) + off_out, ldo);
      }
    });
    return;
  }
  const int64_t inner = sy[r - 1], inner_stride = st[r - 1];
  const int64_t outer = total / inner;
  const int threads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(get_num_threads(), total / (64 * 1024))));
  parallel_run(threads, [&](int t, int nt) {
    for (int64_t o = outer * t / nt; o < outer * (t + 1) / nt; ++o) {
      int64_t rem = o, off = 0;
      for (size_t d = r - 1; d-- > 0;) {
        off += (rem % sy[d]) * st[d];
        rem /= sy[d];
      }
      char* out = dst + o * inner * elem;
      if (inner_stride == 1) {
        std::memcpy(out, src + off * elem, static_cast<size_t>(inner * elem));
      } else if (elem == 4) {
        const float* s = reinterpret_cast<const float*>(src) + off;
        float* d = reinterpret_cast<float*>(out);
        for (int64_t i = 0; i < inner; ++i) d[i] = s[i * inner_stride];
      } else {
        for (int64_t i = 0; i < inner; ++i) std::memcpy(out + i * elem, src + (off + i * inner_stride) * elem, elem);
      }
    }
  });
}

void concat_forward(const std::vector<const void*>& xs, const std::vector<const Shape*>& shapes, int64_t axis,
                    void* y, int64_t elem) {
  const Shape& s0 = *shapes[0];
  const int64_t outer = prod(s0, 0, axis), inner = prod(s0, axis + 1, s0.size());
  int64_t y_axis = 0;
  for (const Shape* s : shapes) y_axis += (*s)[axis];
  int64_t at = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const int64_t run = (*shapes[i])[axis] * inner * elem;
    copy_runs(static_cast<const char*>(xs[i]), run, static_cast<char*>(y) + at * inner * elem, y_axis * inner * elem,
              outer, run);
    at += (*shapes[i])[axis];
  }
}

void split_forward(const void* x, const Shape& sx, int64_t axis, const std::vector<void*>& ys,
                   const std::vector<const Shape*>& shapes, int64_t elem) {
  const int64_t outer = prod(sx, 0, axis), inner = prod(sx, axis + 1, sx.size());
  int64_t at = 0;
  for (size_t i = 0; i < ys.size(); ++i) {
    const int64_t run = (*shapes[i])[axis] * inner * elem;
    copy_runs(static_cast<const char*>(x) + at * inner * elem, sx[axis] * inner * elem, static_cast<char*>(ys[i]), run,
              outer, run);
    at += (*shapes[i])[axis];
  }
}

void slice_forward(const void* x, const Shape& sx, const std::vector<int64_t>& spec, void* y, const Shape& sy,
                   int64_t elem) {
  const size_t r = sx.size();
  Dims first, step;
  first.fill(0);
  step.fill(1);
  for (size_t i = 0; i < spec.size(); i += 4) {
    int64_t axis = 0, f = 0, count = 0;
    normalize_axis(spec[i], r, &axis);
    slice_range(sx[axis], spec[i + 1], spec[i + 2], spec[i + 3], &f, &count);
    first[axis] = f;
    step[axis] = spec[i + 3];
  }
  int64_t total = prod(sy, 0, r);
  if (total == 0) return;
  Dims in_stride;
  in_stride[r - 1] = 1;
  for (size_t d = r - 1; d-- > 0;) in_stride[d] = in_stride[d + 1] * sx[d + 1];
  const int64_t inner = sy[r - 1];
  const char* src = static_cast<const char*>(x);
  char* dst = static_cast<char*>(y);
  for (int64_t o = 0; o < total / inner; ++o) {
    int64_t rem = o, off = first[r - 1] * in_stride[r - 1];
    for (size_t d = r - 1; d-- > 0;) {
      off += (first[d] + (rem % sy[d]) * step[d]) * in_stride[d];
      rem /= sy[d];
    }
    char* out = dst + o * inner * elem;
    if (step[r - 1] == 1) {
      std::memcpy(out, src + off * elem, static_cast<size_t>(inner * elem));
    } else {
      for (int64_t i = 0; i < inner; ++i) std::memcpy(out + i * elem, src + (off + i * step[r - 1]) * elem, elem);
    }
  }
}

Status gather_forward(const void* x, const Shape& sx, int64_t axis, const int64_t* idx, int64_t n_idx, void* y,
                      int64_t elem) {
  const int64_t dim = sx[axis];
  for (int64_t i = 0; i < n_idx; ++i)
    if (idx[i] < -dim || idx[i] >= dim)
      return Status::InvalidArgument("Gather: index " + std::to_string(idx[i]) + " is out of range for a dim of " +
                                     std::to_string(dim));
  const int64_t outer = prod(sx, 0, axis), inner = prod(sx, axis + 1, sx.size());
  const char* src = static_cast<const char*>(x);
  char* dst = static_cast<char*>(y);
  const int64_t run = inner * elem, rows = outer * n_idx;
  // An embedding lookup reads rows scattered over a table far larger than the caches: each thread
  // fetches its share (MiniLM's 128 rows of a 47 MB table took ~70 us on one thread).
  const int threads = static_cast<int>(std::clamp<int64_t>(rows * run / (64 * 1024), 1, get_num_threads()));
  parallel_run(threads, [&](int t, int nt) {
    for (int64_t r = rows * t / nt; r < rows * (t + 1) / nt; ++r) {
      const int64_t o = r / n_idx, i = r % n_idx;
      const int64_t j = idx[i] < 0 ? idx[i] + dim : idx[i];
      std::memcpy(dst + r * run, src + (o * dim + j) * run, static_cast<size_t>(run));
    }
  });
  return Status::Ok();
}

}  // namespace spiralkit
