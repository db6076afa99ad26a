#include <algorithm>
#include <cmath>
#include <cstring>

#include "config/kernel_registry.h"
#include "ops/clones.h"
#include "ops/tensor_math.h"
#include "runtime/threads.h"

namespace spiralkit {
namespace {

constexpr int64_t kMinElemsPerThread = 64 * 1024;  // below this a fork/join costs more than it saves

int threads_for(int64_t work) {
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(get_num_threads(), work / kMinElemsPerThread)));
}

// The inner run of a broadcast binary op: both contiguous, or one side a repeated scalar.
SPIRALKIT_CLONES void run_inner_kind(BinaryKind kind, const float* a, int64_t sa, const float* b, int64_t sb, float* y,
                                     int64_t n) {
  switch (kind) {
    case BinaryKind::kAdd:
      if (sa && sb) for (int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
      else if (sa) for (int64_t i = 0; i < n; ++i) y[i] = a[i] + *b;
      else if (sb) for (int64_t i = 0; i < n; ++i) y[i] = *a + b[i];
      else for (int64_t i = 0; i < n; ++i) y[i] = *a + *b;
      return;
    case BinaryKind::kSub:
      if (sa && sb) for (int64_t i = 0; i < n; ++i) y[i] = a[i] - b[i];
      else if (sa) for (int64_t i = 0; i < n; ++i) y[i] = a[i] - *b;
      else if (sb) for (int64_t i = 0; i < n; ++i) y[i] = *a - b[i];
      else for (int64_t i = 0; i < n; ++i) y[i] = *a - *b;
      return;
    case BinaryKind::kMul:
      if (sa && sb) for (int64_t i = 0; i < n; ++i) y[i] = a[i] * b[i];
      else if (sa) for (int64_t i = 0; i < n; ++i) y[i] = a[i] * *b;
      else if (sb) for (int64_t i = 0; i < n; ++i) y[i] = *a * b[i];
      else for (int64_t i = 0; i < n; ++i) y[i] = *a * *b;
      return;
    case BinaryKind::kDiv:
      if (sa && sb) for (int64_t i = 0; i < n; ++i) y[i] = a[i] / b[i];
      else if (sa) for (int64_t i = 0; i < n; ++i) y[i] = a[i] / *b;
      else if (sb) for (int64_t i = 0; i < n; ++i) y[i] = *a / b[i];
      else for (int64_t i = 0; i < n; ++i) y[i] = *a / *b;
      return;
    default: return;
  }
}

template <class Op>
void run_inner(Op op, const float* a, int64_t sa, const float* b, int64_t sb, float* y, int64_t n) {
  if (sa == 1 && sb == 1) {
    for (int64_t i = 0; i < n; ++i) y[i] = op(a[i], b[i]);
  } else if (sa == 1) {
    const float bv = *b;
    for (int64_t i = 0; i < n; ++i) y[i] = op(a[i], bv);
  } else if (sb == 1) {
    const float av = *a;
    for (int64_t i = 0; i < n; ++i) y[i] = op(av, b[i]);
  } else {
    const float v = op(*a, *b);
    for (int64_t i = 0; i < n; ++i) y[i] = v;
  }
}

// Broadcast strides of `s` aligned to the output rank (0 along broadcast dims).
Dims bstrides(const Shape& s, const Shape& sy) {
  Dims st;
  st.fill(0);
  int64_t acc = 1;
  for (size_t i = 0; i < s.size(); ++i) {
    const size_t d = s.size() - 1 - i, o = sy.size() - 1 - i;
    st[o] = s[d] == 1 ? 0 : acc;
    acc *= s[d];
  }
  return st;
}

template <class Op>
void binary_loop(Op op, BinaryKind kind, const float* a, const Shape& sa, const float* b, const Shape& sb, float* y,
                 const Shape& sy) {
  int64_t total = 1;
  for (int64_t d : sy) total *= d;
  if (total == 0) return;
  const size_t r = sy.size();
  const Dims as = bstrides(sa, sy), bs = bstrides(sb, sy);
  // Merge the trailing dims in which both inputs are contiguous or both broadcast into one run.
  int64_t inner = r ? sy[r - 1] : 1;
  const int64_t ia = r ? as[r - 1] : 1, ib = r ? bs[r - 1] : 1;
  size_t k = r ? r - 1 : 0;
  while (k > 0) {
    const size_t d = k - 1;
    const bool a_ok = ia == 0 ? as[d] == 0 : as[d] == inner * ia;
    const bool b_ok = ib == 0 ? bs[d] == 0 : bs[d] == inner * ib;
    if (!a_ok || !b_ok) break;
    inner *= sy[d];
    k = d;
  }
  const int64_t outer = total / std::max<int64_t>(inner, 1);
  const int threads = threads_for(total);
  parallel_run(threads, [&](int t, int nt) {
    const int64_t o0 = outer * t / nt, o1 = outer * (t + 1) / nt;
    for (int64_t o = o0; o < o1; ++o) {
      int64_t rem = o, offa = 0, offb = 0;
      for (size_t d = k; d-- > 0;) {
        const int64_t i = rem % sy[d];
        rem /= sy[d];
        offa += i * as[d];
        offb += i * bs[d];
      }
      if (kind == BinaryKind::kPow) run_inner(op, a + offa, ia, b + offb, ib, y + o * inner, inner);
      else run_inner_kind(kind, a + offa, ia, b + offb, ib, y + o * inner, inner);
    }
  });
}

}  // namespace

void binary_forward(BinaryKind kind, const float* a, const Shape& sa, const float* b, const Shape& sb, float* y,
                    const Shape& sy) {
  auto pow_op = [](float p, float q) { return q == 2.0f ? p * p : (q == 0.5f ? std::sqrt(p) : std::pow(p, q)); };
  if (kind >= BinaryKind::kAdd && kind <= BinaryKind::kPow) binary_loop(pow_op, kind, a, sa, b, sb, y, sy);
}

void unary_forward(UnaryOp op, const float* x, float* y, int64_t n, float p0, float p1) {
  const VUnaryFn fn = select_vunary()->fn;
  parallel_run(threads_for(n * 4), [&](int t, int nt) {
    // Chunks of whole 16-lane vectors so every thread but the last runs full vectors.
    const int64_t v = (n + 15) / 16;
    const int64_t i0 = std::min(n, v * t / nt * 16), i1 = std::min(n, v * (t + 1) / nt * 16);
    if (i1 > i0) fn(static_cast<int>(op), x + i0, y + i0, i1 - i0, p0, p1);
  });
}

void cast_forward(DType from, DType to, const void* x, void* y, int64_t n) {
  if (from == to) {
    if (x != y) std::memmove(y, x, static_cast<size_t>(n * element_size(from)));
    return;
  }
  if (from == DType::kInt64) {
    const int64_t* s = static_cast<const int64_t*>(x);
    float* d = static_cast<float*>(y);
    for (int64_t i = 0; i < n; ++i) d[i] = static_cast<float>(s[i]);
  } else {
    const float* s = static_cast<const float*>(x);
    int64_t* d = static_cast<int64_t*>(y);
    for (int64_t i = 0; i < n; ++i) {
      const float v = s[i];  // NaN and out-of-range saturate instead of being undefined behaviour
      d[i] = std::isnan(v) ? 0 : (v >= 9.2e18f ? INT64_MAX : (v <= -9.2e18f ? INT64_MIN : static_cast<int64_t>(v)));
    }
  }
}

}  // namespace spiralkit
