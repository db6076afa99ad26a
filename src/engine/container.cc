#include "engine/container.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <new>

namespace spiralkit {

namespace cf = container_format;

namespace {

constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ULL;
constexpr uint64_t kFnvPrime = 0x100000001b3ULL;

void put_u32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
void put_u64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint32_t get_u32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(p[i]) << (8 * i);
  return v;
}
uint64_t get_u64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

// FNV-1a: no table, 64 bits wide, and each step is a bijection of the state, so a change confined
// to any one byte always changes the result.
uint64_t fnv1a(uint64_t h, const uint8_t* p, uint64_t n) {
  for (uint64_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= kFnvPrime;
  }
  return h;
}

// Writer-side only: sizes there come from memory the caller holds, far below 2^64.
uint64_t align_up(uint64_t v) { return (v + cf::kAlignment - 1) / cf::kAlignment * cf::kAlignment; }

bool printable(uint8_t c) { return c >= 0x20 && c <= 0x7e; }

// A name for an error message, with anything unprintable escaped so messages stay readable.
std::string shown(const std::string& s) {
  static const char* hex = "0123456789abcdef";
  std::string out = "'";
  for (size_t i = 0; i < s.size() && i < 80; ++i) {
    const uint8_t c = static_cast<uint8_t>(s[i]);
    if (printable(c) && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  if (s.size() > 80) out += "...";
  return out + "'";
}

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "0x%x", v);
  return buf;
}

uint8_t* aligned_alloc_bytes(uint64_t n) {
  if (n > std::numeric_limits<size_t>::max()) return nullptr;
  return static_cast<uint8_t*>(::operator new(std::max<size_t>(static_cast<size_t>(n), 1),
                                              std::align_val_t(cf::kAlignment), std::nothrow));
}

}  // namespace

uint64_t container_checksum(const uint8_t* data, uint64_t bytes) {
  uint64_t h = fnv1a(kFnvOffset, data, std::min<uint64_t>(bytes, cf::kChecksumAt));
  const uint64_t after = cf::kChecksumAt + 8;
  if (bytes > after) h = fnv1a(h, data + after, bytes - after);
  return h;
}

void recompute_checksum(std::vector<uint8_t>& file) {
  if (file.size() < cf::kHeaderBytes) return;
  put_u64(file.data() + cf::kChecksumAt, container_checksum(file.data(), file.size()));
}

// ---- writer

void ContainerWriter::add(std::string name, uint32_t kind, const void* data, size_t bytes) {
  if (!status_.ok()) return;
  if (name.empty() || name.size() > cf::kMaxNameBytes) {
    status_ = Status::InvalidArgument("section name " + shown(name) + " must be 1 to 64 bytes, not " +
                                      std::to_string(name.size()));
    return;
  }
  for (char c : name) {
    if (!printable(static_cast<uint8_t>(c))) {
      status_ = Status::InvalidArgument("section name " + shown(name) + " must be printable ASCII");
      return;
    }
  }
  if (data == nullptr && bytes > 0) {
    status_ = Status::InvalidArgument("section " + shown(name) + ": null data with " + std::to_string(bytes) +
                                      " bytes");
    return;
  }
  if (sections_.size() >= std::numeric_limits<uint32_t>::max()) {
    status_ = Status::InvalidArgument("too many sections for a u32 count");
    return;
  }
  // Linear: writers hold a handful of sections, and the reader refuses repeats anyway.
  for (const auto& s : sections_) {
    if (s.name == name) {
      status_ = Status::InvalidArgument("two sections named " + shown(name));
      return;
    }
  }
  const uint8_t* p = static_cast<const uint8_t*>(data);
  std::vector<uint8_t> copy;
  if (bytes > 0) copy.assign(p, p + bytes);
  sections_.push_back(Pending{std::move(name), kind, std::move(copy)});
}

std::vector<uint8_t> ContainerWriter::finish() const {
  if (!status_.ok()) return {};
  const uint64_t count = sections_.size();
  const uint64_t table_end = cf::kHeaderBytes + count * cf::kEntryBytes;
  std::vector<uint64_t> offsets(sections_.size());
  uint64_t pos = align_up(table_end);
  for (size_t i = 0; i < sections_.size(); ++i) {
    offsets[i] = pos;
    pos = align_up(pos + sections_[i].data.size());
  }
  // Padded to 64 so even an empty last section's offset lies inside the file.
  std::vector<uint8_t> out(pos, 0);
  uint8_t* h = out.data();
  std::memcpy(h, cf::kMagic, sizeof(cf::kMagic));
  put_u32(h + cf::kVersionAt, cf::kVersion);
  put_u32(h + cf::kHeaderBytesAt, static_cast<uint32_t>(cf::kHeaderBytes));
  put_u32(h + cf::kFlagsAt, 0);
  put_u32(h + cf::kCountAt, static_cast<uint32_t>(count));
  put_u64(h + cf::kTableAt, cf::kHeaderBytes);
  put_u64(h + cf::kFileBytesAt, pos);
  for (size_t i = 0; i < sections_.size(); ++i) {
    const Pending& s = sections_[i];
    uint8_t* e = h + cf::kHeaderBytes + i * cf::kEntryBytes;
    put_u32(e + cf::kNameLenAt, static_cast<uint32_t>(s.name.size()));
    put_u32(e + cf::kKindAt, s.kind);
    put_u64(e + cf::kOffsetAt, offsets[i]);
    put_u64(e + cf::kBytesAt, s.data.size());
    std::memcpy(e + cf::kNameAt, s.name.data(), s.name.size());
    if (!s.data.empty()) std::memcpy(h + offsets[i], s.data.data(), s.data.size());
  }
  put_u64(h + cf::kChecksumAt, container_checksum(out.data(), out.size()));
  return out;
}

Status ContainerWriter::write_file(const std::string& path) const {
  if (!status_.ok()) return status_;
  const std::vector<uint8_t> bytes = finish();
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) return Status::InvalidArgument("cannot create '" + tmp + "': " + std::strerror(errno));
  bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  ok = (std::fflush(f) == 0) && ok;
  const int err = errno;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) {
    std::remove(tmp.c_str());
    return Status::RuntimeError("writing '" + tmp + "' failed: " + std::strerror(err));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    return Status::RuntimeError("cannot rename '" + tmp + "' to '" + path + "': " + why);
  }
  return Status::Ok();
}

// ---- reader

void ContainerReader::AlignedFree::operator()(uint8_t* p) const {
  ::operator delete(p, std::align_val_t(cf::kAlignment));
}

Status ContainerReader::open(std::vector<uint8_t> bytes, ContainerReader* out) {
  ContainerReader r;
  r.bytes_ = bytes.size();
  if (reinterpret_cast<uintptr_t>(bytes.data()) % cf::kAlignment == 0) {
    r.vec_ = std::move(bytes);  // a moved vector keeps its heap block, so base_ stays valid
    r.base_ = r.vec_.data();
  } else {
    // Sections promise 64-byte-aligned memory (SIMD loads, zero-copy views), which the file
    // offsets alone do not give when the buffer itself is only malloc-aligned.
    r.aligned_.reset(aligned_alloc_bytes(r.bytes_));
    if (!r.aligned_)
      return Status::RuntimeError("out of memory copying a " + std::to_string(r.bytes_) + "-byte artifact");
    if (r.bytes_) std::memcpy(r.aligned_.get(), bytes.data(), bytes.size());
    r.base_ = r.aligned_.get();
  }
  SPIRALKIT_RETURN_IF_ERROR(r.parse());
  *out = std::move(r);
  return Status::Ok();
}

Status ContainerReader::open_file(const std::string& path, ContainerReader* out) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return Status::InvalidArgument("cannot open artifact '" + path + "': " + std::strerror(errno));
  struct Closer {
    std::FILE* f;
    ~Closer() { std::fclose(f); }
  } closer{f};
  if (fseeko(f, 0, SEEK_END) != 0) return Status::RuntimeError("cannot seek '" + path + "': " + std::strerror(errno));
  const off_t end = ftello(f);
  if (end < 0 || fseeko(f, 0, SEEK_SET) != 0)
    return Status::RuntimeError("cannot size '" + path + "': " + std::strerror(errno));
  ContainerReader r;
  r.bytes_ = static_cast<uint64_t>(end);
  // Read straight into aligned memory: one copy of a possibly large file, not two.
  r.aligned_.reset(aligned_alloc_bytes(r.bytes_));
  if (!r.aligned_)
    return Status::RuntimeError("out of memory reading '" + path + "' (" + std::to_string(r.bytes_) + " bytes)");
  r.base_ = r.aligned_.get();
  const size_t got = std::fread(r.aligned_.get(), 1, static_cast<size_t>(r.bytes_), f);
  if (got != r.bytes_ || std::ferror(f))
    return Status::RuntimeError("reading '" + path + "' failed after " + std::to_string(got) + " of " +
                                std::to_string(r.bytes_) + " bytes");
  Status st = r.parse();
  if (!st.ok()) return Status(st.code(), "artifact '" + path + "': " + st.message());
  *out = std::move(r);
  return Status::Ok();
}

Status ContainerReader::parse() {
  const uint8_t* p = base_;
  const uint64_t n = bytes_;
  const std::string size_s = std::to_string(n);
  // A short file that is not even a magic prefix is not ours; one that is, was cut off.
  const uint64_t magic_have = std::min<uint64_t>(n, sizeof(cf::kMagic));
  if (magic_have > 0 && std::memcmp(p, cf::kMagic, magic_have) != 0)
    return Status::FormatError("not a spiralkit artifact (bad magic)");
  if (n < cf::kHeaderBytes)
    return Status::FormatError("truncated: file is " + size_s + " bytes, smaller than the 64-byte header");
  // The version comes before the checksum: a newer format may checksum differently, and its
  // reader should say "newer", not "corrupted".
  const uint32_t version = get_u32(p + cf::kVersionAt);
  if (version == 0) return Status::FormatError("invalid artifact format version 0");
  if (version > cf::kVersion)
    return Status::FormatError("artifact format version " + std::to_string(version) +
                               " is newer than this build reads (version " + std::to_string(cf::kVersion) +
                               "); upgrade spiralkit");
  const uint64_t file_bytes = get_u64(p + cf::kFileBytesAt);
  if (file_bytes > n)
    return Status::FormatError("truncated: file is " + size_s + " bytes but its header says " +
                               std::to_string(file_bytes));
  if (file_bytes < n)
    return Status::FormatError("file is " + size_s + " bytes but its header says " + std::to_string(file_bytes) +
                               " (trailing bytes)");
  if (get_u64(p + cf::kChecksumAt) != container_checksum(p, n))
    return Status::FormatError("checksum mismatch (file corrupted)");

  // Past the checksum the file is what some writer meant; still check it all, since a writer can
  // be buggy or hostile and recompute the checksum.
  const uint32_t header_bytes = get_u32(p + cf::kHeaderBytesAt);
  if (header_bytes != cf::kHeaderBytes)
    return Status::FormatError("header size " + std::to_string(header_bytes) + " is not 64 (format version 1)");
  const uint32_t flags = get_u32(p + cf::kFlagsAt);
  if (flags != 0) return Status::FormatError("unknown header flags " + hex32(flags));
  for (size_t i = cf::kReservedAt; i < cf::kHeaderBytes; ++i)
    if (p[i] != 0) return Status::FormatError("reserved header byte " + std::to_string(i) + " is not zero");

  const uint64_t count = get_u32(p + cf::kCountAt);
  const uint64_t table = get_u64(p + cf::kTableAt);
  if (table < cf::kHeaderBytes)
    return Status::FormatError("section table offset " + std::to_string(table) + " overlaps the 64-byte header");
  if (table > n || count > (n - table) / cf::kEntryBytes)
    return Status::FormatError("section table (" + std::to_string(count) + " entries of 88 bytes at offset " +
                               std::to_string(table) + ") runs past the end of the file (" + size_s + " bytes)");
  const uint64_t table_end = table + count * cf::kEntryBytes;  // <= n, checked above

  std::vector<Section> sections(static_cast<size_t>(count));
  for (uint64_t i = 0; i < count; ++i) {
    const uint8_t* e = p + table + i * cf::kEntryBytes;
    const std::string idx = "section " + std::to_string(i);
    const uint32_t name_len = get_u32(e + cf::kNameLenAt);
    if (name_len == 0 || name_len > cf::kMaxNameBytes)
      return Status::FormatError(idx + ": name length " + std::to_string(name_len) + " is not in 1..64");
    const uint8_t* name_p = e + cf::kNameAt;
    for (uint32_t k = 0; k < name_len; ++k)
      if (!printable(name_p[k]))
        return Status::FormatError(idx + ": name byte " + std::to_string(k) + " (" + hex32(name_p[k]) +
                                   ") is not printable ASCII");
    for (uint64_t k = name_len; k < cf::kMaxNameBytes; ++k)
      if (name_p[k] != 0) return Status::FormatError(idx + ": name padding is not zero");
    Section& s = sections[static_cast<size_t>(i)];
    s.name.assign(reinterpret_cast<const char*>(name_p), name_len);
    const std::string who = "section '" + s.name + "'";  // printable, checked above
    s.kind = get_u32(e + cf::kKindAt);
    const uint64_t off = get_u64(e + cf::kOffsetAt);
    s.bytes = get_u64(e + cf::kBytesAt);
    if (off % cf::kAlignment != 0)
      return Status::FormatError(who + ": offset " + std::to_string(off) + " is not 64-byte aligned");
    if (off > n || s.bytes > n - off)
      return Status::FormatError(who + ": " + std::to_string(s.bytes) + " bytes at offset " + std::to_string(off) +
                                 " run past the end of the file (" + size_s + " bytes)");
    if (off < cf::kHeaderBytes) return Status::FormatError(who + " overlaps the header");
    // An empty section is a point: it may touch the table's ends but not sit inside it.
    const bool in_table = s.bytes > 0 ? (off < table_end && table < off + s.bytes) : (table < off && off < table_end);
    if (in_table) return Status::FormatError(who + " overlaps the section table");
    s.data = p + off;
  }

  // Data ranges must not overlap: sort the non-empty ones by offset and compare neighbours.
  std::vector<uint32_t> by_off;
  for (uint32_t i = 0; i < sections.size(); ++i)
    if (sections[i].bytes > 0) by_off.push_back(i);
  std::sort(by_off.begin(), by_off.end(), [&](uint32_t a, uint32_t b) { return sections[a].data < sections[b].data; });
  for (size_t k = 1; k < by_off.size(); ++k) {
    const Section& a = sections[by_off[k - 1]];
    const Section& b = sections[by_off[k]];
    if (static_cast<uint64_t>(b.data - a.data) < a.bytes)
      return Status::FormatError("sections '" + a.name + "' and '" + b.name + "' overlap");
  }

  std::vector<uint32_t> by_name(sections.size());
  for (uint32_t i = 0; i < by_name.size(); ++i) by_name[i] = i;
  std::sort(by_name.begin(), by_name.end(),
            [&](uint32_t a, uint32_t b) { return sections[a].name < sections[b].name; });
  for (size_t k = 1; k < by_name.size(); ++k)
    if (sections[by_name[k - 1]].name == sections[by_name[k]].name)
      return Status::FormatError("two sections named '" + sections[by_name[k]].name + "'");

  sections_ = std::move(sections);
  by_name_ = std::move(by_name);
  return Status::Ok();
}

const Section* ContainerReader::get(const std::string& name) const {
  auto it = std::lower_bound(by_name_.begin(), by_name_.end(), name,
                             [&](uint32_t i, const std::string& key) { return sections_[i].name < key; });
  if (it == by_name_.end() || sections_[*it].name != name) return nullptr;
  return &sections_[*it];
}

Status ContainerReader::find(const std::string& name, Section* out) const {
  const Section* s = get(name);
  if (s == nullptr) return Status::FormatError("artifact has no section " + shown(name));
  *out = *s;
  return Status::Ok();
}

// ---- byte cursor

Status ByteReader::need(uint64_t n, const char* what) const {
  if (n <= n_ - pos_) return Status::Ok();
  return Status::FormatError(std::string("truncated: reading ") + what + " at byte " + std::to_string(pos_) +
                             " needs " + std::to_string(n) + " bytes, " + std::to_string(n_ - pos_) + " left");
}

Status ByteReader::u8(uint8_t* out) {
  SPIRALKIT_RETURN_IF_ERROR(need(1, "u8"));
  *out = p_[pos_++];
  return Status::Ok();
}

Status ByteReader::u32(uint32_t* out) {
  SPIRALKIT_RETURN_IF_ERROR(need(4, "u32"));
  *out = get_u32(p_ + pos_);
  pos_ += 4;
  return Status::Ok();
}

Status ByteReader::u64(uint64_t* out) {
  SPIRALKIT_RETURN_IF_ERROR(need(8, "u64"));
  *out = get_u64(p_ + pos_);
  pos_ += 8;
  return Status::Ok();
}

Status ByteReader::i32(int32_t* out) {
  SPIRALKIT_RETURN_IF_ERROR(need(4, "i32"));
  *out = static_cast<int32_t>(get_u32(p_ + pos_));  // two's complement, defined since C++20 and in practice
  pos_ += 4;
  return Status::Ok();
}

Status ByteReader::i64(int64_t* out) {
  SPIRALKIT_RETURN_IF_ERROR(need(8, "i64"));
  *out = static_cast<int64_t>(get_u64(p_ + pos_));
  pos_ += 8;
  return Status::Ok();
}

Status ByteReader::f32(float* out) {
  static_assert(sizeof(float) == 4 && std::numeric_limits<float>::is_iec559, "f32 is stored as IEEE-754 bits");
  SPIRALKIT_RETURN_IF_ERROR(need(4, "f32"));
  const uint32_t bits = get_u32(p_ + pos_);
  std::memcpy(out, &bits, 4);
  pos_ += 4;
  return Status::Ok();
}

Status ByteReader::str(std::string* out, size_t max_len) {
  SPIRALKIT_RETURN_IF_ERROR(need(4, "string length"));
  const uint32_t len = get_u32(p_ + pos_);
  if (len > max_len)
    return Status::FormatError("string of " + std::to_string(len) + " bytes at byte " + std::to_string(pos_) +
                               " exceeds the limit of " + std::to_string(max_len));
  if (len > n_ - pos_ - 4)
    return Status::FormatError("truncated: string of " + std::to_string(len) + " bytes at byte " +
                               std::to_string(pos_) + ", " + std::to_string(n_ - pos_ - 4) + " left");
  out->assign(reinterpret_cast<const char*>(p_ + pos_ + 4), len);
  pos_ += 4 + static_cast<uint64_t>(len);
  return Status::Ok();
}

Status ByteReader::bytes(const uint8_t** out, uint64_t n) {
  SPIRALKIT_RETURN_IF_ERROR(need(n, "bytes"));
  *out = p_ + pos_;
  pos_ += n;
  return Status::Ok();
}

Status ByteReader::count(uint64_t* out, uint64_t max) {
  SPIRALKIT_RETURN_IF_ERROR(need(8, "count"));
  const uint64_t v = get_u64(p_ + pos_);
  if (v > max)
    return Status::FormatError("count " + std::to_string(v) + " at byte " + std::to_string(pos_) +
                               " exceeds the limit of " + std::to_string(max));
  *out = v;
  pos_ += 8;
  return Status::Ok();
}

void ByteWriter::u32(uint32_t v) {
  for (int i = 0; i < 4; ++i) out_->push_back(static_cast<uint8_t>(v >> (8 * i)));
}

void ByteWriter::u64(uint64_t v) {
  for (int i = 0; i < 8; ++i) out_->push_back(static_cast<uint8_t>(v >> (8 * i)));
}

void ByteWriter::f32(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  u32(bits);
}

void ByteWriter::str(const std::string& s) {
  u32(static_cast<uint32_t>(s.size()));
  bytes(s.data(), s.size());
}

void ByteWriter::bytes(const void* p, size_t n) {
  if (n == 0) return;
  const uint8_t* b = static_cast<const uint8_t*>(p);
  out_->insert(out_->end(), b, b + n);
}

}  // namespace spiralkit
