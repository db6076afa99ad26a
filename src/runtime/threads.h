// The library's one thread count. Drivers pass it to OpenMP's num_threads clause rather than
// calling omp_set_num_threads, so spiralkit never changes the OpenMP settings of its host.
#pragma once

#if SPIRALKIT_HAVE_OPENMP
#include <omp.h>
#endif

namespace spiralkit {

// This thread's index and the team size inside a parallel region (0 and 1 without OpenMP).
inline int team_thread() {
#if SPIRALKIT_HAVE_OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}
inline int team_size() {
#if SPIRALKIT_HAVE_OPENMP
  return omp_get_num_threads();
#else
  return 1;
#endif
}

// Runs body(t, nt) on `threads` threads of one OpenMP team; one thread runs it inline, without
// the cost of opening a region (it matters for microsecond GEMVs). Barriers inside body are
// orphaned OpenMP barriers: they bind to this team, and are no-ops when run inline.
template <typename Body>
inline void parallel_run(int threads, Body&& body) {
  if (threads <= 1) {
    body(0, 1);
    return;
  }
#pragma omp parallel num_threads(threads)
  body(team_thread(), team_size());
}

void set_num_threads(int n);  // n >= 1 (checked by the caller)
int get_num_threads();        // default: physical cores available to the process

}  // namespace spiralkit
