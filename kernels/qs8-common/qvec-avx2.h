// 8 int32 lanes for AVX2 machines without VNNI (Zen 2/3, Haswell to Skylake client): the
// QVecAvxVnni loads, stores and requantization, with vpdpbusd emulated exactly. vpmaddubsw (the
// usual AVX2 u8 x s8 product) adds pairs in saturating int16, so uint8 x int8 pairs up to
// 2 x 255 x 127 would clip; here the bytes are widened to int16 in place (even bytes masked,
// odd bytes shifted down, weights sign-extended the same way) and vpmaddwd sums the two pairs
// of each lane in int32: bit-exact with the integer reference, four more operations per dot.
#pragma once
#include "qs8-common/qvec-avxvnni.h"

namespace {
struct QVecAvx2 : QVecAvxVnni {
  // acc += x (uint8) . w (int8) per lane of 4 bytes. Weight and activation halves depend on one
  // operand each, so the compiler computes them once per broadcast weight / loaded x vector.
  static I dot(I acc, I x, I w) {
    const I x_even = _mm256_and_si256(x, _mm256_set1_epi16(0x00ff));
    const I x_odd = _mm256_srli_epi16(x, 8);
    const I w_even = _mm256_srai_epi16(_mm256_slli_epi16(w, 8), 8);
    const I w_odd = _mm256_srai_epi16(w, 8);
    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(x_even, w_even));
    return _mm256_add_epi32(acc, _mm256_madd_epi16(x_odd, w_odd));
  }
};
}  // namespace
