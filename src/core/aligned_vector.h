// std::vector storage aligned to a cache line. Kernel scratch (activations in the kernels' K x M
// layout, im2col tiles, output strips) lives in these: malloc's 16-byte alignment makes three of
// every four 64-byte vector loads straddle two cache lines, which cost the int8 1x4 kernel ~40 %
// of its speed (AVX-512 VNNI, 768 x 768 x 128 at 90 %: 66 -> 113 GMAC/s on one core).
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace spiralkit {

constexpr std::size_t kCacheLineBytes = 64;

template <typename T>
struct CacheAlignedAllocator {
  using value_type = T;
  CacheAlignedAllocator() = default;
  template <typename U>
  CacheAlignedAllocator(const CacheAlignedAllocator<U>&) {}
  T* allocate(std::size_t n) {
    return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(kCacheLineBytes)));
  }
  void deallocate(T* p, std::size_t) { ::operator delete(p, std::align_val_t(kCacheLineBytes)); }
  template <typename U>
  bool operator==(const CacheAlignedAllocator<U>&) const { return true; }
  template <typename U>
  bool operator!=(const CacheAlignedAllocator<U>&) const { return false; }
};

template <typename T>
using CacheAlignedVector = std::vector<T, CacheAlignedAllocator<T>>;

}  // namespace spiralkit
