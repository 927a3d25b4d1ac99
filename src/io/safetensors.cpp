#include "io/safetensors.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include <nlohmann/json.hpp>

#include "ae2d/limits.h"
#include "io/file_util.h"
#include "core/json_brief.h"
#include "core/limits_check.h"
#include "runtime/huge_pages.h"

namespace ae2d::io {

using detail::load_le16;
using detail::load_le32;
using detail::load_le64;
using json = nlohmann::json;

namespace {

int dtype_size(const std::string &dtype) {
    if (dtype == "F32") return 4;
    if (dtype == "F16" || dtype == "BF16") return 2;
    if (dtype == "F64") return 8;
    return 0;
}

// "number 2.5", "string \"a\"", ... for expected-vs-got messages.
std::string describe(const json &j) { return std::string(j.type_name()) + " " + ae2d::detail::json_brief(j); }

struct Entry {
    std::string name;
    std::string dtype;
    std::vector<int64_t> shape;
    uint64_t begin = 0, end = 0;
};

// Parses one header entry; `err` gets a message without the file/tensor prefix.
bool parse_entry(const std::string &name, const json &v, uint64_t buffer_size, const Limits &limits, Entry *e,
                 std::string *err) {
    e->name = name;
    if (!v.is_object()) {
        *err = "entry is not a JSON object (got " + describe(v) + ")";
        return false;
    }
    for (const char *field : {"dtype", "shape", "data_offsets"}) {
        if (!v.contains(field)) {
            *err = std::string("missing field '") + field + "'";
            return false;
        }
    }
    const json &dt = v["dtype"];
    if (!dt.is_string()) {
        *err = "field 'dtype' must be a string, got " + describe(dt);
        return false;
    }
    e->dtype = dt.get<std::string>();
    const int esize = dtype_size(e->dtype);
    if (esize == 0) {
        *err = "unsupported dtype '" + e->dtype + "' (expected one of F32, F16, BF16, F64)";
        return false;
    }

    const json &sh = v["shape"];
    if (!sh.is_array()) {
        *err = "field 'shape' must be an array of non-negative integers, got " + describe(sh);
        return false;
    }
    for (size_t i = 0; i < sh.size(); ++i) {
        // nlohmann parses non-negative integers as unsigned; negatives and floats are not.
        const json &d = sh[i];
        if (!d.is_number_unsigned() ||
            d.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
            *err = "shape[" + std::to_string(i) + "] must be a non-negative integer, got " + describe(d);
            return false;
        }
        e->shape.push_back(static_cast<int64_t>(d.get<uint64_t>()));
    }

    const json &off = v["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() ||
        !off[1].is_number_unsigned()) {
        *err = "field 'data_offsets' must be an array of 2 non-negative integers [begin, end], got " +
               describe(off);
        return false;
    }
    e->begin = off[0].get<uint64_t>();
    e->end = off[1].get<uint64_t>();
    const std::string offs = "[" + std::to_string(e->begin) + ", " + std::to_string(e->end) + "]";
    if (e->begin > e->end) {
        *err = "data_offsets " + offs + " are reversed (begin > end)";
        return false;
    }
    if (e->end > buffer_size) {
        *err = "data_offsets " + offs + " are out of range of the data buffer (" +
               std::to_string(buffer_size) + " bytes)";
        return false;
    }

    int64_t numel = 0;
    if (!detail::checked_numel(e->shape, esize, &numel)) {
        *err = "shape " + shape_to_string(e->shape) + " has too many elements (numel overflow)";
        return false;
    }
    if (numel > limits.max_tensor_elements) {
        *err = ae2d::detail::over_limit("the element count of shape " + shape_to_string(e->shape), numel,
                                        "max_tensor_elements", limits.max_tensor_elements);
        return false;
    }
    const uint64_t want = static_cast<uint64_t>(numel) * static_cast<uint64_t>(esize);
    if (want != e->end - e->begin) {
        *err = "byte size mismatch: shape " + shape_to_string(e->shape) + " of " + e->dtype +
               " needs " + std::to_string(want) + " bytes, but data_offsets " + offs + " span " +
               std::to_string(e->end - e->begin);
        return false;
    }
    return true;
}

void convert(const Entry &e, const uint8_t *src, std::vector<float> *out) {
    const size_t n = out->size();
    float *dst = out->data();
    if (e.dtype == "F32") {
        for (size_t i = 0; i < n; ++i) {
            const uint32_t b = load_le32(src + 4 * i);
            std::memcpy(&dst[i], &b, 4);
        }
    } else if (e.dtype == "F16") {
        for (size_t i = 0; i < n; ++i) dst[i] = half_to_float(load_le16(src + 2 * i));
    } else if (e.dtype == "BF16") {
        for (size_t i = 0; i < n; ++i) dst[i] = bfloat16_to_float(load_le16(src + 2 * i));
    } else {  // F64
        for (size_t i = 0; i < n; ++i) {
            const uint64_t b = load_le64(src + 8 * i);
            double d;
            std::memcpy(&d, &b, 8);
            dst[i] = static_cast<float>(d);
        }
    }
}

}  // namespace

float half_to_float(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1Fu;
    const uint32_t mant = h & 0x3FFu;
    uint32_t bits;
    if (exp == 0) {
        // Zero or subnormal: mant * 2^-24 is exact in float32.
        const float mag = std::ldexp(static_cast<float>(mant), -24);
        return sign ? -mag : mag;
    } else if (exp == 31) {
        bits = sign | 0x7F800000u | (mant << 13);  // inf, or NaN keeping its payload
    } else {
        bits = sign | ((exp - 15 + 127) << 23) | (mant << 13);
    }
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

float bfloat16_to_float(uint16_t b) {
    const uint32_t bits = static_cast<uint32_t>(b) << 16;  // bf16 is the top half of a float32
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

Expected<SafetensorsFile> read_safetensors(const std::string &path) {
    return detail::read_file_with(path, "safetensors", read_safetensors_memory);
}

Expected<SafetensorsFile> read_safetensors_memory(const uint8_t *data, size_t size, const std::string &name) {
    const std::string where = "safetensors file '" + name + "'";
    auto fail = [&](const std::string &msg) { return Status::Error(where + ": " + msg); };
    const Limits limits = ae2d::limits();

    if (size == 0) return fail("file is empty (expected at least 8 bytes of header length)");
    if (size < 8)
        return fail("file is shorter than 8 bytes (expected at least 8 bytes of header length, got " +
                    std::to_string(size) + ")");
    const uint64_t n = load_le64(data);
    if (n > static_cast<uint64_t>(limits.max_safetensors_header_bytes))
        return fail(ae2d::detail::over_limit("the header length",
                                             static_cast<int64_t>(std::min<uint64_t>(n, INT64_MAX)),
                                             "max_safetensors_header_bytes", limits.max_safetensors_header_bytes) +
                    "; not a safetensors file?");
    if (n > size - 8)
        return fail("header length " + std::to_string(n) + " runs past the end of the file (expected at most " +
                    std::to_string(size - 8) + " header bytes)");

    const auto *hbegin = reinterpret_cast<const char *>(data + 8);
    constexpr int kMaxNesting = 64;
    if (ae2d::detail::json_nesting_depth(hbegin, n, kMaxNesting) > kMaxNesting)
        return fail("header nests JSON arrays/objects more than " + std::to_string(kMaxNesting) +
                    " levels deep; not a safetensors file?");
    json header;
    try {  // parse() does not throw with allow_exceptions = false, but may run out of memory
        header = json::parse(hbegin, hbegin + n, nullptr, false);
    } catch (const std::exception &) {
        return fail("out of memory parsing the header");
    }
    if (header.is_discarded()) return fail("header is not valid JSON");
    if (!header.is_object()) return fail("header is not a JSON object (got " + std::string(header.type_name()) + ")");

    const uint64_t buffer_size = size - 8 - n;
    const uint8_t *buffer = data + 8 + n;
    SafetensorsFile out;
    std::vector<Entry> entries;
    for (auto it = header.begin(); it != header.end(); ++it) {
        if (it.key() == "__metadata__") {
            if (!it.value().is_object())
                return fail("__metadata__ must be a JSON object of strings, got " + describe(it.value()));
            for (auto m = it.value().begin(); m != it.value().end(); ++m) {
                if (!m.value().is_string())
                    return fail("__metadata__ must be a JSON object of strings, but key '" + m.key() +
                                "' has " + describe(m.value()));
                out.metadata[m.key()] = m.value().get<std::string>();
            }
            continue;
        }
        Entry e;
        std::string err;
        if (!parse_entry(it.key(), it.value(), buffer_size, limits, &e, &err))
            return fail("tensor '" + it.key() + "': " + err);
        entries.push_back(std::move(e));
    }

    // Overlap check: sort by begin; empty ranges cannot overlap anything.
    std::vector<const Entry *> order;
    for (const Entry &e : entries)
        if (e.end > e.begin) order.push_back(&e);
    std::sort(order.begin(), order.end(), [](const Entry *a, const Entry *b) {
        return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
    });
    for (size_t i = 1; i < order.size(); ++i) {
        const Entry &a = *order[i - 1], &b = *order[i];
        if (b.begin < a.end)
            return fail("tensors '" + a.name + "' [" + std::to_string(a.begin) + ", " + std::to_string(a.end) +
                        "] and '" + b.name + "' [" + std::to_string(b.begin) + ", " + std::to_string(b.end) +
                        "] overlap in the data buffer");
    }

    for (const Entry &e : entries) {
        Tensor t;
        t.shape = e.shape;
        try {
            t.data = runtime::zeros_on_huge_pages(static_cast<size_t>(Tensor::numel_of(e.shape)));
        } catch (const std::exception &) {
            return fail("tensor '" + e.name + "': out of memory");
        }
        convert(e, buffer + e.begin, &t.data);
        out.tensors.emplace(e.name, std::move(t));
    }
    return out;
}

Status write_safetensors(const std::string &path, const std::map<std::string, Tensor> &tensors,
                         const std::map<std::string, std::string> &metadata) {
    const std::string where = "safetensors file '" + path + "'";
    auto fail = [&](const std::string &msg) { return Status::Error(where + ": " + msg); };

    json header = json::object();
    uint64_t offset = 0;
    for (const auto &[name, t] : tensors) {
        if (name == "__metadata__") return fail("'__metadata__' is reserved and cannot name a tensor");
        int64_t numel = 0;
        if (!detail::checked_numel(t.shape, 4, &numel))
            return fail("tensor '" + name + "': invalid shape " + shape_to_string(t.shape) +
                        " (negative dim or numel overflow)");
        if (static_cast<uint64_t>(numel) != t.data.size())
            return fail("tensor '" + name + "': shape " + shape_to_string(t.shape) + " expects " +
                        std::to_string(numel) + " values, got " + std::to_string(t.data.size()));
        const uint64_t nbytes = static_cast<uint64_t>(numel) * 4;
        header[name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + nbytes}}};
        offset += nbytes;
    }
    if (!metadata.empty()) header["__metadata__"] = metadata;

    std::string text;
    try {
        text = header.dump();  // throws only on invalid UTF-8 in names or metadata
    } catch (const std::exception &) {
        return fail("a tensor name or metadata string is not valid UTF-8");
    }
    // Pad with spaces so the data buffer starts 8-byte aligned, as the reference writer does.
    text.append((8 - text.size() % 8) % 8, ' ');

    std::vector<uint8_t> bytes;
    try {
        bytes.resize(8 + text.size() + offset);
    } catch (const std::exception &) {
        return fail("out of memory");
    }
    detail::store_le64(bytes.data(), text.size());
    std::memcpy(bytes.data() + 8, text.data(), text.size());
    uint8_t *p = bytes.data() + 8 + text.size();
    for (const auto &[name, t] : tensors) p = detail::store_le_floats(p, t.data);
    return detail::write_file_atomic(path, bytes.data(), bytes.size()).with_context(where);
}

}  // namespace ae2d::io
