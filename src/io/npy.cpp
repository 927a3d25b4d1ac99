#include "io/npy.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <limits>
#include <vector>

#include "ae2d/limits.h"
#include "io/file_util.h"
#include "core/limits_check.h"

namespace ae2d::io {

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;

// A parser for the Python dict literal numpy writes, e.g.
//   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
// Only the value forms numpy uses for simple arrays are accepted: strings, True/False and
// tuples of integers. Errors describe what was expected at which column.
class HeaderParser {
public:
    explicit HeaderParser(const std::string &s) : s_(s) {}

    std::string descr;
    bool fortran_order = false;
    std::vector<int64_t> shape;

    bool parse(std::string *err) {
        bool have_descr = false, have_fortran = false, have_shape = false;
        ws();
        if (!eat('{')) return expected("'{'", err);
        while (true) {
            ws();
            if (eat('}')) break;
            std::string key;
            if (!string_lit(&key)) return expected("a quoted key or '}'", err);
            ws();
            if (!eat(':')) return expected("':' after key '" + key + "'", err);
            ws();
            if (key == "descr") {
                if (peek() == '[') {
                    *err = "unsupported dtype: structured (record) arrays are not supported";
                    return false;
                }
                if (!string_lit(&descr)) return expected("a string for 'descr'", err);
                have_descr = true;
            } else if (key == "fortran_order") {
                if (word("True")) fortran_order = true;
                else if (word("False")) fortran_order = false;
                else return expected("True or False for 'fortran_order'", err);
                have_fortran = true;
            } else if (key == "shape") {
                if (!tuple(err)) return false;
                have_shape = true;
            } else {
                *err = "malformed header dict: unexpected key '" + key + "'";
                return false;
            }
            ws();
            if (eat(',')) continue;
            ws();
            if (eat('}')) break;
            return expected("',' or '}'", err);
        }
        ws();
        if (pos_ != s_.size()) return expected("end of header after '}'", err);
        for (auto [have, name] : {std::pair{have_descr, "descr"}, {have_fortran, "fortran_order"},
                                  {have_shape, "shape"}}) {
            if (!have) {
                *err = std::string("malformed header dict: missing key '") + name + "'";
                return false;
            }
        }
        return true;
    }

private:
    const std::string &s_;
    size_t pos_ = 0;

    char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
    void ws() {
        while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    }
    bool eat(char c) {
        if (peek() != c) return false;
        ++pos_;
        return true;
    }
    bool word(const char *w) {
        const size_t n = std::strlen(w);
        if (s_.compare(pos_, n, w) != 0) return false;
        pos_ += n;
        return true;
    }
    bool string_lit(std::string *out) {
        const char q = peek();
        if (q != '\'' && q != '"') return false;
        const size_t close = s_.find(q, pos_ + 1);
        if (close == std::string::npos) return false;
        *out = s_.substr(pos_ + 1, close - pos_ - 1);
        pos_ = close + 1;
        return true;
    }
    bool tuple(std::string *err) {
        if (!eat('(')) return expected("a tuple for 'shape'", err);
        while (true) {
            ws();
            if (eat(')')) return true;
            if (!std::isdigit(static_cast<unsigned char>(peek())))
                return expected("a non-negative integer or ')' in 'shape'", err);
            int64_t v = 0;
            while (std::isdigit(static_cast<unsigned char>(peek()))) {
                const int digit = s_[pos_++] - '0';
                if (v > (std::numeric_limits<int64_t>::max() - digit) / 10) {
                    *err = "malformed header dict: shape dimension too large";
                    return false;
                }
                v = v * 10 + digit;
            }
            eat('L');  // Python 2 long literal, as in old files
            shape.push_back(v);
            ws();
            if (eat(',')) continue;
            ws();
            if (eat(')')) {
                // (5) is an int in Python, not a tuple; numpy never writes it.
                if (shape.size() == 1) return expected("',' in a 1-element shape tuple like (5,)", err);
                return true;
            }
            return expected("',' or ')' in 'shape'", err);
        }
    }
    bool expected(const std::string &what, std::string *err) const {
        // Quote at most 200 bytes: a hostile header may be gigabytes long.
        const std::string quoted = s_.size() > 200 ? s_.substr(0, 200) + "..." : s_;
        *err = "malformed header dict: expected " + what + " at column " + std::to_string(pos_) +
               " of \"" + quoted + "\"";
        return false;
    }
};

std::string shape_repr(const std::vector<int64_t> &shape) {
    std::string s = "(";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    if (shape.size() == 1) s += ",";
    return s + ")";
}

}  // namespace

Expected<Tensor> read_npy(const std::string &path) {
    return detail::read_file_with(path, "npy", read_npy_memory);
}

Expected<Tensor> read_npy_memory(const uint8_t *data, size_t size, const std::string &name) {
    const std::string where = "npy file '" + name + "'";
    auto fail = [&](const std::string &msg) { return Status::Error(where + ": " + msg); };

    if (size < kMagicLen || std::memcmp(data, kMagic, kMagicLen) != 0)
        return fail("not a .npy file (bad magic: expected \\x93NUMPY at the start)");
    if (size < 8) return fail("truncated header: file ends inside the version bytes");
    const int major = data[6], minor = data[7];
    if ((major < 1 || major > 3) || minor != 0)
        return fail("unsupported .npy format version " + std::to_string(major) + "." + std::to_string(minor) +
                    " (expected 1.0, 2.0 or 3.0)");
    const size_t len_bytes = major == 1 ? 2 : 4;
    const size_t prelude = 8 + len_bytes;
    if (size < prelude) return fail("truncated header: file ends inside the header length");
    const uint64_t hlen = major == 1 ? detail::load_le16(data + 8) : detail::load_le32(data + 8);
    if (hlen > size - prelude)
        return fail("truncated header: expected " + std::to_string(hlen) + " header bytes, got " +
                    std::to_string(size - prelude));

    const std::string header(reinterpret_cast<const char *>(data + prelude), hlen);
    HeaderParser p(header);
    std::string err;
    if (!p.parse(&err)) return fail(err);

    const std::string &d = p.descr;
    const bool supported = d.size() == 3 && (d[0] == '<' || d[0] == '>') && d[1] == 'f' && (d[2] == '4' || d[2] == '8');
    if (!supported)
        return fail("unsupported dtype '" + d + "' (expected '<f4' or '<f8': float32 or float64)");
    if (p.fortran_order)
        return fail("fortran_order True is not supported (expected C order; save np.ascontiguousarray(x))");

    const int esize = d[2] - '0';
    const bool swap = d[0] == '>';
    int64_t numel = 0;
    if (!detail::checked_numel(p.shape, esize, &numel))
        return fail("shape " + shape_to_string(p.shape) + " has too many elements (numel overflow)");
    // Checked on the header alone: a huge shape is refused before its data is even looked for.
    const Limits limits = ae2d::limits();
    for (size_t i = 0; i < p.shape.size(); ++i)
        if (p.shape[i] > limits.max_dimension)
            return fail(ae2d::detail::over_limit("dimension " + std::to_string(i) + " of shape " +
                                                     shape_to_string(p.shape),
                                                 p.shape[i], "max_dimension", limits.max_dimension));
    if (numel > limits.max_tensor_elements)
        return fail(ae2d::detail::over_limit("the element count of shape " + shape_to_string(p.shape), numel,
                                             "max_tensor_elements", limits.max_tensor_elements));
    const uint64_t want = static_cast<uint64_t>(numel) * esize;
    const uint64_t have = size - prelude - hlen;
    if (have < want)
        return fail("truncated data: expected " + std::to_string(want) + " bytes for shape " +
                    shape_to_string(p.shape) + " of '" + d + "', got " + std::to_string(have));
    // numpy itself ignores trailing bytes, but they mean the header and data disagree.
    if (have > want)
        return fail("unexpected trailing data: expected " + std::to_string(want) + " bytes for shape " +
                    shape_to_string(p.shape) + ", got " + std::to_string(have));

    Tensor t;
    t.shape = p.shape;
    t.data.resize(static_cast<size_t>(numel));
    const uint8_t *src = data + prelude + hlen;
    uint8_t tmp[8];
    for (int64_t i = 0; i < numel; ++i) {
        const uint8_t *e = src + i * esize;
        for (int k = 0; k < esize; ++k) tmp[k] = swap ? e[esize - 1 - k] : e[k];
        if (esize == 4) {
            const uint32_t bits = detail::load_le32(tmp);
            std::memcpy(&t.data[i], &bits, 4);
        } else {
            const uint64_t bits = detail::load_le64(tmp);
            double v;
            std::memcpy(&v, &bits, 8);
            t.data[i] = static_cast<float>(v);
        }
    }
    return t;
}

Status write_npy(const std::string &path, const Tensor &t) {
    const std::string where = "npy file '" + path + "'";
    int64_t numel = 0;
    if (!detail::checked_numel(t.shape, 4, &numel))
        return Status::Error(where + ": invalid shape " + shape_to_string(t.shape) +
                             " (negative dim or numel overflow)");
    if (static_cast<uint64_t>(numel) != t.data.size())
        return Status::Error(where + ": shape " + shape_to_string(t.shape) + " expects " + std::to_string(numel) +
                             " values, got " + std::to_string(t.data.size()));

    std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape_repr(t.shape) + ", }";
    // Like numpy >= 1.23: room for the leading dim to grow in place without rewriting the data.
    if (!t.shape.empty()) header.append(21 - std::min<size_t>(21, std::to_string(t.shape[0]).size()), ' ');
    // numpy's padding rule, byte for byte: pad = 64 - (prelude + len + 1) % 64, so an already
    // aligned header still gets 64 spaces; version 2.0 only when the length overflows 16 bits.
    int major = 1;
    size_t prelude = 10;
    size_t pad = 64 - (prelude + header.size() + 1) % 64;
    if (header.size() + 1 + pad > 0xFFFF) {
        major = 2;
        prelude = 12;
        pad = 64 - (prelude + header.size() + 1) % 64;
    }
    header.append(pad, ' ');
    header += '\n';

    std::vector<uint8_t> bytes(prelude + header.size() + t.data.size() * 4);
    std::memcpy(bytes.data(), kMagic, kMagicLen);
    bytes[6] = static_cast<uint8_t>(major);
    bytes[7] = 0;
    if (major == 1) {
        bytes[8] = static_cast<uint8_t>(header.size() & 0xFF);
        bytes[9] = static_cast<uint8_t>(header.size() >> 8);
    } else {
        detail::store_le32(bytes.data() + 8, static_cast<uint32_t>(header.size()));
    }
    std::memcpy(bytes.data() + prelude, header.data(), header.size());
    detail::store_le_floats(bytes.data() + prelude + header.size(), t.data);
    return detail::write_file_atomic(path, bytes.data(), bytes.size()).with_context(where);
}

}  // namespace ae2d::io
