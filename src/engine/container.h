// The artifact container: spiralkit's own versioned file of named, 64-byte-aligned blobs, read
// from C++ without protobuf. Files are untrusted input, so the reader checks every field before use
// and answers Status::FormatError naming what is wrong; nothing it is given can make it read out of
// bounds.
//
// Layout, version 1, all integers little-endian (written and read byte by byte, so the host's
// endianness never matters):
//
//   header, 64 bytes at offset 0
//     0  char[8] magic "SPIRALKT"
//     8  u32     format version (1); stays at offset 8 in every version so old readers can name it
//    12  u32     header bytes (64)
//    16  u32     flags (0; a set bit means a feature this reader lacks)
//    20  u32     section count
//    24  u64     section table offset (the writer puts it at 64)
//    32  u64     total file bytes
//    40  u64     checksum: FNV-1a 64 of the whole file with these 8 bytes left out
//    48  u8[16]  reserved, zero
//   section table, count entries of 88 bytes
//     0  u32     name length, 1..64
//     4  u32     kind (the caller's tag; the container does not interpret it)
//     8  u64     data offset, a multiple of 64
//    16  u64     data bytes
//    24  char[64] name: printable ASCII (0x20..0x7e), zero-padded; names are unique
//   section data, each at a 64-byte-aligned offset, zero padding between; the file is padded to 64.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"

namespace spiralkit {

namespace container_format {
constexpr char kMagic[8] = {'S', 'P', 'I', 'R', 'A', 'L', 'K', 'T'};
constexpr uint32_t kVersion = 1;
constexpr uint64_t kHeaderBytes = 64;
constexpr uint64_t kEntryBytes = 88;
constexpr uint64_t kMaxNameBytes = 64;
constexpr uint64_t kAlignment = 64;
// Header field offsets (tests poke them to build bad files).
constexpr size_t kVersionAt = 8, kHeaderBytesAt = 12, kFlagsAt = 16, kCountAt = 20, kTableAt = 24,
                 kFileBytesAt = 32, kChecksumAt = 40, kReservedAt = 48;
// Table entry field offsets, relative to the entry.
constexpr size_t kNameLenAt = 0, kKindAt = 4, kOffsetAt = 8, kBytesAt = 16, kNameAt = 24;
}  // namespace container_format

// Checksum of a whole container image (the checksum field excluded). Buffers shorter than the
// header hash what they have.
uint64_t container_checksum(const uint8_t* data, uint64_t bytes);
// Rewrites the checksum field to match the buffer, so tests and fuzzers can build files that get
// past the checksum into the structure checks. A buffer shorter than the header is left alone.
void recompute_checksum(std::vector<uint8_t>& file);

class ContainerWriter {
 public:
  // Copies `data`. A bad name (empty, over 64 bytes, not printable ASCII, a repeat) or null data
  // with bytes > 0 is remembered: finish() then returns an empty vector and write_file and status()
  // return the error, so a caller checks once at the end.
  void add(std::string name, uint32_t kind, const void* data, size_t bytes);
  std::vector<uint8_t> finish() const;
  // Writes `path` + ".tmp" and renames it over `path`, so a crash never leaves a half file there.
  Status write_file(const std::string& path) const;
  Status status() const { return status_; }

 private:
  struct Pending {
    std::string name;
    uint32_t kind;
    std::vector<uint8_t> data;
  };
  std::vector<Pending> sections_;
  Status status_;
};

struct Section {
  std::string name;
  uint32_t kind = 0;
  const uint8_t* data = nullptr;  // 64-byte aligned in memory too; valid while the reader lives
  uint64_t bytes = 0;
};

class ContainerReader {
 public:
  ContainerReader() = default;
  ContainerReader(ContainerReader&&) = default;
  ContainerReader& operator=(ContainerReader&&) = default;
  // Sections point into the reader's buffer, so copies would dangle.
  ContainerReader(const ContainerReader&) = delete;
  ContainerReader& operator=(const ContainerReader&) = delete;

  // Validates everything (header, checksum, table, ranges, names) before returning Ok; `out` is
  // only replaced on success. Copies `bytes` to 64-byte-aligned memory unless already aligned.
  static Status open(std::vector<uint8_t> bytes, ContainerReader* out);
  static Status open_file(const std::string& path, ContainerReader* out);

  size_t size() const { return sections_.size(); }
  const Section& section(size_t i) const { return sections_[i]; }  // i < size()
  // FormatError naming the section when it is absent: a required section missing is a bad file.
  Status find(const std::string& name, Section* out) const;
  // nullptr when absent, for optional sections.
  const Section* get(const std::string& name) const;
  uint64_t file_bytes() const { return bytes_; }

 private:
  struct AlignedFree {
    void operator()(uint8_t* p) const;
  };
  Status parse();

  std::vector<uint8_t> vec_;                       // the caller's buffer when it was aligned
  std::unique_ptr<uint8_t, AlignedFree> aligned_;  // else an aligned copy
  const uint8_t* base_ = nullptr;
  uint64_t bytes_ = 0;
  std::vector<Section> sections_;
  std::vector<uint32_t> by_name_;  // section indices sorted by name, for find()
};

// A bounds-checked little-endian cursor over a section's bytes. A failed read leaves the cursor
// where it was. Strings are a u32 length then the bytes; counts are u64.
class ByteReader {
 public:
  ByteReader(const uint8_t* p, uint64_t n) : p_(p), n_(n) {}
  explicit ByteReader(const Section& s) : p_(s.data), n_(s.bytes) {}

  Status u8(uint8_t* out);
  Status u32(uint32_t* out);
  Status u64(uint64_t* out);
  Status i32(int32_t* out);
  Status i64(int64_t* out);
  Status f32(float* out);
  // Refuses strings longer than max_len before allocating.
  Status str(std::string* out, size_t max_len);
  // Points *out at the next n bytes (no copy).
  Status bytes(const uint8_t** out, uint64_t n);
  // A count read from the file is attacker-chosen: refuse it above `max` (callers pass a cap that
  // also bounds it by remaining() / smallest element size) before anyone sizes a buffer with it.
  Status count(uint64_t* out, uint64_t max);

  bool done() const { return pos_ == n_; }
  uint64_t remaining() const { return n_ - pos_; }
  uint64_t position() const { return pos_; }

 private:
  Status need(uint64_t n, const char* what) const;
  const uint8_t* p_;
  uint64_t n_;
  uint64_t pos_ = 0;
};

// Appends what ByteReader reads.
class ByteWriter {
 public:
  explicit ByteWriter(std::vector<uint8_t>* out) : out_(out) {}
  void u8(uint8_t v) { out_->push_back(v); }
  void u32(uint32_t v);
  void u64(uint64_t v);
  void i32(int32_t v) { u32(static_cast<uint32_t>(v)); }
  void i64(int64_t v) { u64(static_cast<uint64_t>(v)); }
  void f32(float v);
  void str(const std::string& s);  // s.size() must fit in u32
  void bytes(const void* p, size_t n);
  void count(uint64_t n) { u64(n); }

 private:
  std::vector<uint8_t>* out_;
};

}  // namespace spiralkit
