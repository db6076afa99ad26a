// f16 convolution (implicit GEMM, NCHW, groups == 1): 2:4 weight on sparse tensor cores (mma.sp.m16n8k32).
#include "h16-mma.cuh"

namespace spiralkit {
namespace cuda {

cudaError_t spiralkit_f16_sconv_ukernel_nm24__mmasp(const H16Args& a, cudaStream_t stream) {
  return detail::launch_nm24<detail::F16>(a, detail::ConvIn(a), detail::ConvOut<detail::F16>(a), stream);
}

}  // namespace cuda
}  // namespace spiralkit
