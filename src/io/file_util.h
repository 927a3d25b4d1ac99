// Internal helpers shared by the io readers/writers: whole-file reads and atomic writes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "ae2d/status.h"

namespace ae2d::io::detail {

// Reads the whole file in binary. Errors name the path and say why (missing, a directory,
// unreadable). The message is not prefixed with the path; callers add their own context.
Expected<std::vector<uint8_t>> read_file_bytes(const std::string &path);

// Writes to "<path>.tmp-<pid>" and renames over `path`, so a failure never leaves a
// half-written file at `path` (the temp file is removed on failure).
Status write_file_atomic(const std::string &path, const void *data, size_t size);

// Little-endian loads/stores, independent of the host byte order.
inline uint16_t load_le16(const uint8_t *p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
inline uint32_t load_le32(const uint8_t *p) {
    return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
           (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}
inline uint64_t load_le64(const uint8_t *p) {
    return static_cast<uint64_t>(load_le32(p)) | (static_cast<uint64_t>(load_le32(p + 4)) << 32);
}
inline void store_le32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline void store_le64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

// Stores `values` as little-endian IEEE binary32 from p on; returns the end.
inline uint8_t *store_le_floats(uint8_t *p, const std::vector<float> &values) {
    for (float f : values) {
        uint32_t bits;
        std::memcpy(&bits, &f, 4);
        store_le32(p, bits);
        p += 4;
    }
    return p;
}

// Reads the whole file at `path` and returns parse(data, size, path); a file that cannot be
// read gives "<format> file '<path>': <why>".
template<typename Parse>
auto read_file_with(const std::string &path, const char *format, Parse parse) -> decltype(parse(nullptr, 0, path)) {
    auto read = read_file_bytes(path);
    if (!read) return Status::Error(std::string(format) + " file '" + path + "': " + read.message());
    return parse(read->data(), read->size(), path);
}

// Multiplies non-negative dims; returns false when the element count (or, with
// `elem_bytes`, the byte count) would not fit in int64.
bool checked_numel(const std::vector<int64_t> &shape, int64_t elem_bytes, int64_t *numel);

}  // namespace ae2d::io::detail
