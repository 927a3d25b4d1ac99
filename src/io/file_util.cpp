#include "io/file_util.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <system_error>

namespace ae2d::io::detail {

namespace fs = std::filesystem;

Expected<std::vector<uint8_t>> read_file_bytes(const std::string &path) {
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);
    if (ec && ec != std::errc::no_such_file_or_directory && ec != std::errc::not_a_directory)
        return Status::Error("cannot access file: " + ec.message());  // e.g. permission denied
    if (!fs::exists(st)) return Status::Error("file not found");
    if (fs::is_directory(st)) return Status::Error("is a directory, not a file");

    std::ifstream in(path, std::ios::binary);
    if (!in.is_open()) return Status::Error(std::string("cannot open file: ") + std::strerror(errno));
    in.seekg(0, std::ios::end);
    const std::streamoff end = in.tellg();
    if (end < 0) return Status::Error("cannot determine the file size (unreadable?)");
    in.seekg(0, std::ios::beg);

    std::vector<uint8_t> bytes;
    try {
        bytes.resize(static_cast<size_t>(end));
    } catch (const std::exception &) {
        return Status::Error("file too large to read into memory (" + std::to_string(end) + " bytes)");
    }
    if (!bytes.empty()) {
        in.read(reinterpret_cast<char *>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
        if (in.gcount() != static_cast<std::streamsize>(bytes.size()))
            return Status::Error("read error: expected " + std::to_string(bytes.size()) +
                                 " bytes, got " + std::to_string(in.gcount()));
    }
    return bytes;
}

Status write_file_atomic(const std::string &path, const void *data, size_t size) {
    const std::string tmp = path + ".tmp-" + std::to_string(static_cast<long>(::getpid()));
    std::error_code ec;
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out.is_open())
            return Status::Error("cannot create '" + tmp + "': " + std::strerror(errno));
        if (size > 0) out.write(static_cast<const char *>(data), static_cast<std::streamsize>(size));
        out.flush();
        if (!out) {
            out.close();
            fs::remove(tmp, ec);
            return Status::Error("write error on '" + tmp + "' (disk full?)");
        }
        out.close();
        if (out.fail()) {
            fs::remove(tmp, ec);
            return Status::Error("cannot close '" + tmp + "'");
        }
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        const std::string why = std::strerror(errno);
        fs::remove(tmp, ec);
        return Status::Error("cannot rename '" + tmp + "' to '" + path + "': " + why);
    }
    return Status::Ok();
}

bool checked_numel(const std::vector<int64_t> &shape, int64_t elem_bytes, int64_t *numel) {
    int64_t n = 1;
    for (int64_t d : shape) {
        if (d < 0) return false;
        if (d == 0) {  // an empty tensor, whatever the other dims say
            *numel = 0;
            return true;
        }
    }
    const int64_t limit = std::numeric_limits<int64_t>::max() / (elem_bytes > 0 ? elem_bytes : 1);
    for (int64_t d : shape) {
        if (n > limit / d) return false;
        n *= d;
    }
    *numel = n;
    return true;
}

}  // namespace ae2d::io::detail
