// The library's one thread count. Drivers pass it to OpenMP's num_threads clause rather than
// calling omp_set_num_threads, so spiralkit never changes the OpenMP settings of its host.
#pragma once

namespace spiralkit {

void set_num_threads(int n);  // n >= 1 (checked by the caller)
int get_num_threads();        // default: physical cores available to the process

}  // namespace spiralkit
