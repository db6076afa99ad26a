// bf16 depthwise convolution (one dense filter per channel, NCHW) on CUDA cores, fp32 accumulate.
#include "h16-mma.cuh"

namespace spiralkit {
namespace cuda {

cudaError_t spiralkit_bf16_dwconv_ukernel__cuda(const H16Args& a, cudaStream_t stream) {
  return detail::launch_dwconv<detail::BF16>(a, stream);
}

}  // namespace cuda
}  // namespace spiralkit
