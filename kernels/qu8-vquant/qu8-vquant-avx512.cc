// fp32 -> uint8 quantization, 16-lane (zmm) vector-extension code.
#include "qu8-vquant/qu8-vquant-impl.h"

void spiralkit::spiralkit_qu8_vquant_ukernel__avx512(const float* x, int64_t n, float inv_scale, int32_t zero_point,
                                                   uint8_t* y) {
  vquantize_u8(x, n, inv_scale, zero_point, y);
}
