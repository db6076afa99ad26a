// bf16 linear: 32x32 BSR weight on tensor cores (mma.sync.m16n8k16, four fragments a block).
#include "h16-mma.cuh"

namespace spiralkit {
namespace cuda {

cudaError_t spiralkit_bf16_spmm_ukernel_bsr32__mma(const H16Args& a, cudaStream_t stream) {
  return detail::launch_bsr<detail::BF16, 32>(a, detail::LinearIn(a), detail::LinearOut<detail::BF16>(a), stream);
}

}  // namespace cuda
}  // namespace spiralkit
