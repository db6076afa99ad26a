// f16 linear: 2:4 weight on sparse tensor cores (mma.sp.m16n8k32).
#include "h16-mma.cuh"

namespace spiralkit {
namespace cuda {

cudaError_t spiralkit_f16_spmm_ukernel_nm24__mmasp(const H16Args& a, cudaStream_t stream) {
  return detail::launch_nm24<detail::F16>(a, detail::LinearIn(a), detail::LinearOut<detail::F16>(a), stream);
}

}  // namespace cuda
}  // namespace spiralkit
