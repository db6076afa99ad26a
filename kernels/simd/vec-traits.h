// Optional members of the Vec vocabulary, detected at compile time so one template serves every
// ISA: has_lane_fma<V> is true when V offers fma_lane<l>(w4, x, acc) (FMA by a lane of a
// register, NEON's fmla by element) and sets kLaneFma; has_masked_load<V> is true when V offers
// range(lo, hi) -> M, bits(b) -> M, load_m(p, m), evens(a, b), odds(a, b) and shift_in(prev, cur)
// and sets kMaskedLoad.
#pragma once
#include <type_traits>

namespace {
template <class V, class = void>
struct has_lane_fma : std::false_type {};
template <class V>
struct has_lane_fma<V, std::void_t<decltype(V::kLaneFma)>> : std::bool_constant<V::kLaneFma> {};

template <class V, class = void>
struct has_masked_load : std::false_type {};
template <class V>
struct has_masked_load<V, std::void_t<decltype(V::kMaskedLoad)>> : std::bool_constant<V::kMaskedLoad> {};
}  // namespace
