// A seeded, deterministic mutation fuzzer for file loaders: each iteration mutates a copy of a
// valid file and hands it to the loader, which must return a Status and never crash (run under
// ASan/UBSan to make "never crash" mean "never touch memory it should not"). Half the mutated
// files get their container checksum recomputed, so the mutations reach the structure checks
// behind the checksum instead of all stopping at "checksum mismatch".
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/status.h"
#include "engine/container.h"

namespace spiralkit_test {

namespace fuzz_detail {

// Positions favour the first 512 bytes (header and section table) and 4-byte boundaries, where
// the fields a parser trusts live; the rest of the time they are uniform over the file.
inline size_t pick_pos(std::mt19937_64& rng, size_t size) {
  if (size == 0) return 0;
  size_t limit = (rng() & 1) ? std::min<size_t>(size, 512) : size;
  size_t pos = static_cast<size_t>(rng() % limit);
  if (rng() & 1) pos &= ~static_cast<size_t>(3);
  return pos;
}

template <class T>
void put_le(std::vector<uint8_t>& b, size_t pos, T v) {
  for (size_t i = 0; i < sizeof(T) && pos + i < b.size(); ++i)
    b[pos + i] = static_cast<uint8_t>(static_cast<uint64_t>(v) >> (8 * i));
}

inline void mutate_once(std::vector<uint8_t>& b, std::mt19937_64& rng) {
  const size_t size = b.size();
  const uint64_t fsize = size;
  // Values a careless parser mishandles: zero, one, sign and width edges, and sizes near the file's.
  const uint32_t edges32[] = {0u,          1u,          2u,          63u,         64u,
                              88u,         0x7fu,       0x80u,       0xffu,       0x7fffffffu,
                              0x80000000u, 0xfffffffeu, 0xffffffffu, uint32_t(fsize), uint32_t(fsize - 1),
                              uint32_t(fsize + 1)};
  const uint64_t edges64[] = {0ull,
                              1ull,
                              64ull,
                              0x7fffffffull,
                              0xffffffffull,
                              1ull << 32,
                              uint64_t(std::numeric_limits<int64_t>::max()),
                              1ull << 63,
                              ~0ull,
                              ~0ull - 63,
                              fsize,
                              fsize - 1,
                              fsize + 1,
                              fsize + 64,
                              1ull << 40};
  switch (rng() % 11) {
    case 0: {  // flip 1 to 4 bits
      if (size == 0) return;
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int i = 0; i < flips; ++i) b[pick_pos(rng, size)] ^= static_cast<uint8_t>(1u << (rng() % 8));
      return;
    }
    case 1:
      if (size) b[pick_pos(rng, size)] = 0x00;
      return;
    case 2:
      if (size) b[pick_pos(rng, size)] = 0xff;
      return;
    case 3:
      if (size) b[pick_pos(rng, size)] = static_cast<uint8_t>(rng());
      return;
    case 4:  // truncate
      b.resize(size ? static_cast<size_t>(rng() % size) : 0);
      return;
    case 5:
      put_le<uint32_t>(b, pick_pos(rng, size), edges32[rng() % (sizeof(edges32) / sizeof(edges32[0]))]);
      return;
    case 6:
      put_le<uint64_t>(b, pick_pos(rng, size), edges64[rng() % (sizeof(edges64) / sizeof(edges64[0]))]);
      return;
    case 7: {  // duplicate a chunk somewhere else
      if (size == 0) return;
      const size_t from = pick_pos(rng, size);
      const size_t len = 1 + static_cast<size_t>(rng() % std::min<size_t>(size - from, 128));
      const size_t to = static_cast<size_t>(rng() % (size + 1));
      std::vector<uint8_t> chunk(b.begin() + from, b.begin() + from + len);
      b.insert(b.begin() + to, chunk.begin(), chunk.end());
      return;
    }
    case 8: {  // delete a chunk
      if (size == 0) return;
      const size_t from = pick_pos(rng, size);
      const size_t len = 1 + static_cast<size_t>(rng() % std::min<size_t>(size - from, 128));
      b.erase(b.begin() + from, b.begin() + from + len);
      return;
    }
    case 9: {  // overwrite a chunk with a copy of another part of the file (e.g. one table entry over another)
      if (size < 2) return;
      const size_t from = pick_pos(rng, size), to = pick_pos(rng, size);
      const size_t len = std::min<size_t>({size - from, size - to, 1 + static_cast<size_t>(rng() % 96)});
      std::vector<uint8_t> chunk(b.begin() + from, b.begin() + from + len);
      std::copy(chunk.begin(), chunk.end(), b.begin() + to);
      return;
    }
    default: {  // append junk
      const size_t len = 1 + static_cast<size_t>(rng() % 64);
      for (size_t i = 0; i < len; ++i) b.push_back(static_cast<uint8_t>(rng()));
      return;
    }
  }
}

}  // namespace fuzz_detail

// Runs `iterations` mutated copies of `seed_file` (1 to 3 stacked mutations each; half of them
// with the checksum recomputed) through `try_load(const std::vector<uint8_t>&) -> Status`.
// Returns how many loads returned Ok. The same seed always gives the same files.
template <class F>
int fuzz_mutations(const std::vector<uint8_t>& seed_file, uint64_t seed, int iterations, F&& try_load) {
  static_assert(std::is_same<decltype(try_load(seed_file)), spiralkit::Status>::value,
                "try_load must return spiralkit::Status");
  std::mt19937_64 rng(seed);
  int accepted = 0;
  std::vector<uint8_t> bytes;
  for (int it = 0; it < iterations; ++it) {
    bytes = seed_file;
    const int stacked = 1 + static_cast<int>(rng() % 3);
    for (int m = 0; m < stacked; ++m) fuzz_detail::mutate_once(bytes, rng);
    if (rng() & 1) spiralkit::recompute_checksum(bytes);
    if (try_load(static_cast<const std::vector<uint8_t>&>(bytes)).ok()) ++accepted;
  }
  return accepted;
}

}  // namespace spiralkit_test
