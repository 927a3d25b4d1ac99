// Tests for src/io: safetensors, npy and PNG readers/writers, including every bad-input path.
#include <catch2/catch.hpp>

#include <png.h>
#include <unistd.h>

#include <cmath>
#include <csetjmp>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "io/npy.h"
#include "io/png_image.h"
#include "io/safetensors.h"
#include "test_support.h"

namespace fs = std::filesystem;
using ae2d::Tensor;
using Bytes = std::vector<uint8_t>;

namespace {

using TempDir = ae2d::test::TempDir;

void write_bytes(const std::string &path, const Bytes &b) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char *>(b.data()), static_cast<std::streamsize>(b.size()));
}

Bytes read_bytes(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void append_le(Bytes &b, uint64_t v, int n) {
    for (int i = 0; i < n; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

void append_f32(Bytes &b, float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    append_le(b, u, 4);
}

void append_f64(Bytes &b, double d) {
    uint64_t u;
    std::memcpy(&u, &d, 8);
    append_le(b, u, 8);
}

// u64 header length + header text + data buffer.
Bytes st_bytes(const std::string &header, const Bytes &data = {}) {
    Bytes b;
    append_le(b, header.size(), 8);
    b.insert(b.end(), header.begin(), header.end());
    b.insert(b.end(), data.begin(), data.end());
    return b;
}

// Reads `bytes` as a safetensors file and returns the error message (fails if it reads fine).
std::string st_error(const Bytes &bytes) {
    TempDir tmp;
    const std::string p = tmp.path("bad.safetensors");
    write_bytes(p, bytes);
    auto r = ae2d::io::read_safetensors(p);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.message(), Catch::Contains(p));  // every message names the file
    return r.message();
}

// A one-tensor header: "w" with the given dtype/shape/offsets JSON fragments.
std::string one_entry(const std::string &dtype, const std::string &shape, const std::string &offsets) {
    return R"({"w":{"dtype":)" + dtype + R"(,"shape":)" + shape + R"(,"data_offsets":)" + offsets + "}}";
}

// A .npy file with a given version and header text (padded with spaces and '\n').
Bytes npy_bytes(int major, const std::string &dict, const Bytes &data) {
    Bytes b = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<uint8_t>(major), 0};
    std::string h = dict;
    const size_t prelude = major == 1 ? 10 : 12;
    while ((prelude + h.size() + 1) % 64) h += ' ';
    h += '\n';
    append_le(b, h.size(), major == 1 ? 2 : 4);
    b.insert(b.end(), h.begin(), h.end());
    b.insert(b.end(), data.begin(), data.end());
    return b;
}

std::string npy_error(const Bytes &bytes) {
    TempDir tmp;
    const std::string p = tmp.path("bad.npy");
    write_bytes(p, bytes);
    auto r = ae2d::io::read_npy(p);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.message(), Catch::Contains(p));
    return r.message();
}

std::string png_error(const Bytes &bytes) {
    TempDir tmp;
    const std::string p = tmp.path("bad.png");
    write_bytes(p, bytes);
    auto r = ae2d::io::read_png(p);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.message(), Catch::Contains(p));
    return r.message();
}

Tensor random_tensor(std::vector<int64_t> shape, unsigned seed, float lo = -2.0f, float hi = 2.0f) {
    Tensor t(std::move(shape));
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(lo, hi);
    for (float &v : t.data) v = dist(rng);
    return t;
}

// ---- a minimal PNG encoder for test inputs the library's writer does not produce ----

struct PngOut {
    Bytes bytes;
};

void png_test_write(png_structp png, png_bytep data, png_size_t n) {
    auto *o = static_cast<PngOut *>(png_get_io_ptr(png));
    o->bytes.insert(o->bytes.end(), data, data + n);
}
void png_test_flush(png_structp) {}

// Encodes packed rows (rowbytes each) with any colour type/depth; palette/trns optional.
Bytes encode_png(png_uint_32 w, png_uint_32 h, int color_type, int depth, int interlace,
                 std::vector<Bytes> &rows, const std::vector<png_color> &palette = {},
                 const Bytes &trns = {}) {
    PngOut out;
    std::vector<png_bytep> ptrs;
    for (Bytes &r : rows) ptrs.push_back(r.data());
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return {};
    }
    png_set_write_fn(png, &out, png_test_write, png_test_flush);
    png_set_IHDR(png, info, w, h, depth, color_type, interlace, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (!palette.empty()) png_set_PLTE(png, info, palette.data(), static_cast<int>(palette.size()));
    if (!trns.empty()) png_set_tRNS(png, info, trns.data(), static_cast<int>(trns.size()), nullptr);
    png_write_info(png, info);
    png_write_image(png, ptrs.data());
    png_write_end(png, nullptr);
    png_destroy_write_struct(&png, &info);
    return out.bytes;
}

uint32_t crc32_of(const uint8_t *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; ++i) {
        c ^= p[i];
        for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return ~c;
}

uint32_t be32(const uint8_t *p) {
    return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}
void put_be32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}

// Offset of the first chunk of the given type (its length field), or 0.
size_t find_chunk(const Bytes &b, const char *type) {
    size_t pos = 8;
    while (pos + 12 <= b.size()) {
        if (std::memcmp(&b[pos + 4], type, 4) == 0) return pos;
        pos += 12 + be32(&b[pos]);
    }
    return 0;
}

void fix_crc(Bytes &b, size_t chunk) {
    const uint32_t len = be32(&b[chunk]);
    put_be32(&b[chunk + 8 + len], crc32_of(&b[chunk + 4], len + 4));
}

Bytes chunk(const char *type, const Bytes &data) {
    // Sized up front: GCC 12 warns falsely (-Warray-bounds) on a chain of vector inserts here.
    Bytes c(12 + data.size());
    put_be32(c.data(), static_cast<uint32_t>(data.size()));
    std::memcpy(&c[4], type, 4);
    if (!data.empty()) std::memcpy(&c[8], data.data(), data.size());
    put_be32(&c[8 + data.size()], crc32_of(&c[4], data.size() + 4));
    return c;
}

const Bytes kPngSig = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

}  // namespace

// ================================ safetensors ================================

TEST_CASE("safetensors round trip with metadata", "[io]") {
    TempDir tmp;
    const std::string p = tmp.path("m.safetensors");
    std::map<std::string, Tensor> ts = {
        {"conv.weight", random_tensor({4, 3, 5, 5}, 1)},
        {"conv.bias", random_tensor({4}, 2)},
        {"scalar", random_tensor({}, 3)},
        {"empty", Tensor({0, 7})},
    };
    std::map<std::string, std::string> meta = {{"format", "pt"}, {"config", "{\"channel\": 8}"}};
    REQUIRE(ae2d::io::write_safetensors(p, ts, meta).ok());
    CHECK_FALSE(fs::exists(p + ".tmp-" + std::to_string(::getpid())));

    // Data buffer starts 8-byte aligned.
    const Bytes raw = read_bytes(p);
    uint64_t n = 0;
    for (int i = 0; i < 8; ++i) n |= uint64_t(raw[i]) << (8 * i);
    CHECK(n % 8 == 0);

    auto r = ae2d::io::read_safetensors(p);
    REQUIRE(r.ok());
    CHECK(r->metadata == meta);
    REQUIRE(r->tensors.size() == ts.size());
    for (const auto &[name, t] : ts) {
        INFO(name);
        REQUIRE(r->tensors.count(name) == 1);
        CHECK(r->tensors.at(name).shape == t.shape);
        CHECK(r->tensors.at(name).data == t.data);  // F32 is bit-exact
    }
}

TEST_CASE("safetensors without metadata omits __metadata__", "[io]") {
    TempDir tmp;
    const std::string p = tmp.path("nometa.safetensors");
    REQUIRE(ae2d::io::write_safetensors(p, {{"a", random_tensor({2, 2}, 4)}}, {}).ok());
    const Bytes raw = read_bytes(p);
    const std::string text(raw.begin(), raw.end());
    CHECK(text.find("__metadata__") == std::string::npos);
    auto r = ae2d::io::read_safetensors(p);
    REQUIRE(r.ok());
    CHECK(r->metadata.empty());
    CHECK(r->tensors.at("a").shape == std::vector<int64_t>{2, 2});
}

TEST_CASE("half and bfloat16 scalar conversions", "[io]") {
    using ae2d::io::bfloat16_to_float;
    using ae2d::io::half_to_float;
    CHECK(half_to_float(0x3C00) == 1.0f);
    CHECK(half_to_float(0xC000) == -2.0f);
    CHECK(half_to_float(0x3555) == Approx(0.333251953125f).margin(0));
    CHECK(half_to_float(0x7BFF) == 65504.0f);
    CHECK(half_to_float(0x0001) == std::ldexp(1.0f, -24));  // smallest subnormal
    CHECK(half_to_float(0x03FF) == std::ldexp(1023.0f, -24));  // largest subnormal
    CHECK(half_to_float(0x0400) == std::ldexp(1.0f, -14));  // smallest normal
    CHECK(half_to_float(0x7C00) == std::numeric_limits<float>::infinity());
    CHECK(half_to_float(0xFC00) == -std::numeric_limits<float>::infinity());
    CHECK(std::isnan(half_to_float(0x7E00)));
    CHECK(std::isnan(half_to_float(0x7C01)));
    CHECK(half_to_float(0x0000) == 0.0f);
    CHECK(std::signbit(half_to_float(0x8000)));
    CHECK(bfloat16_to_float(0x3F80) == 1.0f);
    CHECK(bfloat16_to_float(0xC040) == -3.0f);
    CHECK(bfloat16_to_float(0x7F80) == std::numeric_limits<float>::infinity());
    CHECK(std::isnan(bfloat16_to_float(0x7FC0)));
}

TEST_CASE("safetensors reads F16, BF16 and F64 tensors", "[io]") {
    Bytes data;
    for (uint16_t h : {0x3C00, 0xC000, 0x7C00, 0x0001}) append_le(data, h, 2);  // F16 [0, 8)
    for (uint16_t h : {0x3F80, 0xC040}) append_le(data, h, 2);                  // BF16 [8, 12)
    for (double d : {0.1, -1e300}) append_f64(data, d);                            // F64 [12, 28)
    const std::string header =
        R"({"h":{"dtype":"F16","shape":[2,2],"data_offsets":[0,8]},)"
        R"("b":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]},)"
        R"("d":{"dtype":"F64","shape":[2,1],"data_offsets":[12,28]},)"
        R"("__metadata__":{"k":"v"}})";
    TempDir tmp;
    const std::string p = tmp.path("mixed.safetensors");
    write_bytes(p, st_bytes(header, data));
    auto r = ae2d::io::read_safetensors(p);
    REQUIRE(r.ok());
    const auto &h = r->tensors.at("h");
    CHECK(h.shape == std::vector<int64_t>{2, 2});
    CHECK(h.data[0] == 1.0f);
    CHECK(h.data[1] == -2.0f);
    CHECK(std::isinf(h.data[2]));
    CHECK(h.data[3] == std::ldexp(1.0f, -24));
    CHECK(r->tensors.at("b").data == std::vector<float>{1.0f, -3.0f});
    const auto &d = r->tensors.at("d");
    CHECK(d.shape == std::vector<int64_t>{2, 1});
    CHECK(d.data[0] == 0.1f);
    CHECK(d.data[1] == -std::numeric_limits<float>::infinity());  // out of float range
    CHECK(r->metadata.at("k") == "v");
}

TEST_CASE("safetensors reads the repository fixtures of every dtype", "[io]") {
    const std::string dir = std::string(AE2D_SOURCE_DIR) + "/tests/fixtures/";
    for (const char *name : {"plain_k3_d2", "plain_k5_d3_f16", "bneck_k1_d2_bf16", "plain_k3_d5_f64"}) {
        INFO(name);
        auto r = ae2d::io::read_safetensors(dir + name + ".safetensors");
        REQUIRE(r.ok());
        REQUIRE(r->tensors.count("conv_first.weight") == 1);
        const Tensor &w = r->tensors.at("conv_first.weight");
        CHECK(w.rank() == 4);
        CHECK(static_cast<int64_t>(w.data.size()) == w.numel());
        for (float v : w.data) CHECK(std::isfinite(v));
    }
}

TEST_CASE("safetensors file-level errors", "[io]") {
    TempDir tmp;
    SECTION("missing file") {
        auto r = ae2d::io::read_safetensors(tmp.path("nope.safetensors"));
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.message(), Catch::Contains("nope.safetensors") && Catch::Contains("not found"));
    }
    SECTION("a directory") {
        auto r = ae2d::io::read_safetensors(tmp.dir.string());
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.message(), Catch::Contains("directory"));
    }
    SECTION("empty") { CHECK_THAT(st_error({}), Catch::Contains("empty")); }
    SECTION("shorter than 8 bytes") {
        CHECK_THAT(st_error({1, 2, 3, 4, 5}), Catch::Contains("shorter than 8 bytes") && Catch::Contains("got 5"));
    }
    SECTION("header length past the end") {
        Bytes b = st_bytes("{}");
        b[0] = 200;
        CHECK_THAT(st_error(b), Catch::Contains("past the end") && Catch::Contains("200"));
    }
    SECTION("absurd header length") {
        Bytes b;
        append_le(b, uint64_t(1) << 40, 8);
        b.resize(64, ' ');
        CHECK_THAT(st_error(b), Catch::Contains("max_safetensors_header_bytes") && Catch::Contains("100 MiB"));
    }
    SECTION("header not JSON") { CHECK_THAT(st_error(st_bytes("{\"w\": [")), Catch::Contains("not valid JSON")); }
    SECTION("header not an object") {
        CHECK_THAT(st_error(st_bytes("[1, 2]")), Catch::Contains("not a JSON object") && Catch::Contains("array"));
    }
}

TEST_CASE("safetensors entry errors name the tensor", "[io]") {
    const Bytes data24(24, 0);
    auto err = [&](const std::string &header, const Bytes &data) {
        const std::string m = st_error(st_bytes(header, data));
        return m;
    };
    SECTION("entry not an object") {
        CHECK_THAT(err(R"({"w": 5})", {}), Catch::Contains("'w'") && Catch::Contains("not a JSON object"));
    }
    SECTION("missing fields") {
        CHECK_THAT(err(R"({"w":{"shape":[1],"data_offsets":[0,4]}})", data24),
                   Catch::Contains("'w'") && Catch::Contains("missing field 'dtype'"));
        CHECK_THAT(err(R"({"w":{"dtype":"F32","data_offsets":[0,4]}})", data24),
                   Catch::Contains("missing field 'shape'"));
        CHECK_THAT(err(R"({"w":{"dtype":"F32","shape":[1]}})", data24),
                   Catch::Contains("missing field 'data_offsets'"));
    }
    SECTION("wrong field types") {
        CHECK_THAT(err(one_entry("32", "[1]", "[0,4]"), data24),
                   Catch::Contains("'w'") && Catch::Contains("'dtype' must be a string") && Catch::Contains("number"));
        CHECK_THAT(err(one_entry("\"F32\"", "\"2x3\"", "[0,24]"), data24),
                   Catch::Contains("'shape' must be an array") && Catch::Contains("string"));
        CHECK_THAT(err(one_entry("\"F32\"", "[6]", "[0]"), data24),
                   Catch::Contains("'data_offsets' must be an array of 2"));
        CHECK_THAT(err(one_entry("\"F32\"", "[6]", "[0, \"24\"]"), data24),
                   Catch::Contains("'data_offsets' must be an array of 2"));
        CHECK_THAT(err(one_entry("\"F32\"", "[6]", "[-4, 20]"), data24),
                   Catch::Contains("'data_offsets' must be an array of 2"));
    }
    SECTION("unsupported dtype") {
        CHECK_THAT(err(one_entry("\"F99\"", "[6]", "[0,24]"), data24),
                   Catch::Contains("'w'") && Catch::Contains("F99") && Catch::Contains("unsupported dtype"));
        CHECK_THAT(err(one_entry("\"I64\"", "[3]", "[0,24]"), data24), Catch::Contains("I64"));
    }
    SECTION("negative or non-integer dims") {
        CHECK_THAT(err(one_entry("\"F32\"", "[2,-3]", "[0,24]"), data24),
                   Catch::Contains("'w'") && Catch::Contains("shape[1]") && Catch::Contains("-3"));
        CHECK_THAT(err(one_entry("\"F32\"", "[2.5]", "[0,24]"), data24),
                   Catch::Contains("shape[0]") && Catch::Contains("2.5"));
        CHECK_THAT(err(one_entry("\"F32\"", "[\"6\"]", "[0,24]"), data24),
                   Catch::Contains("non-negative integer"));
    }
    SECTION("byte size mismatch") {
        CHECK_THAT(err(one_entry("\"F32\"", "[2,3]", "[0,20]"), data24),
                   Catch::Contains("'w'") && Catch::Contains("byte size mismatch") && Catch::Contains("needs 24") &&
                       Catch::Contains("span 20"));
        // F16 is 2 bytes per element: 6 elements need 12, not 24.
        CHECK_THAT(err(one_entry("\"F16\"", "[6]", "[0,24]"), data24), Catch::Contains("needs 12"));
    }
    SECTION("offsets out of range") {
        CHECK_THAT(err(one_entry("\"F32\"", "[6]", "[8,32]"), data24),
                   Catch::Contains("'w'") && Catch::Contains("out of range") && Catch::Contains("24 bytes"));
    }
    SECTION("reversed offsets") {
        CHECK_THAT(err(one_entry("\"F32\"", "[0]", "[16,8]"), data24),
                   Catch::Contains("'w'") && Catch::Contains("reversed"));
    }
    SECTION("overlapping tensors") {
        const std::string h = R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                              R"("b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})";
        CHECK_THAT(err(h, data24), Catch::Contains("overlap") && Catch::Contains("'a'") && Catch::Contains("'b'"));
    }
    SECTION("numel overflow") {
        CHECK_THAT(err(one_entry("\"F32\"", "[4294967296,4294967296,4]", "[0,24]"), data24),
                   Catch::Contains("'w'") && Catch::Contains("overflow"));
        CHECK_THAT(err(one_entry("\"F32\"", "[18446744073709551615]", "[0,24]"), data24),
                   Catch::Contains("non-negative integer"));
    }
    SECTION("__metadata__ not an object of strings") {
        CHECK_THAT(err(R"({"__metadata__": [1]})", {}), Catch::Contains("__metadata__") && Catch::Contains("array"));
        CHECK_THAT(err(R"({"__metadata__": {"epoch": 3}})", {}),
                   Catch::Contains("__metadata__") && Catch::Contains("'epoch'") && Catch::Contains("number"));
    }
}

TEST_CASE("safetensors edge cases that are valid", "[io]") {
    TempDir tmp;
    const std::string p = tmp.path("ok.safetensors");
    // Zero-size tensors may share an offset with neighbours; a gap between tensors is tolerated.
    const std::string h = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                          R"("e":{"dtype":"F32","shape":[0,3],"data_offsets":[4,4]},)"
                          R"("b":{"dtype":"F32","shape":[],"data_offsets":[8,12]}}   )";
    Bytes data;
    append_f32(data, 1.5f);
    append_f32(data, 0.0f);
    append_f32(data, -2.5f);
    write_bytes(p, st_bytes(h, data));
    auto r = ae2d::io::read_safetensors(p);
    REQUIRE(r.ok());
    CHECK(r->tensors.at("a").data == std::vector<float>{1.5f});
    CHECK(r->tensors.at("e").data.empty());
    CHECK(r->tensors.at("b").shape.empty());
    CHECK(r->tensors.at("b").data == std::vector<float>{-2.5f});
}

TEST_CASE("safetensors writer rejects bad input and leaves no file", "[io]") {
    TempDir tmp;
    const std::string p = tmp.path("w.safetensors");
    Tensor bad({2, 3});
    bad.data.resize(5);
    auto s = ae2d::io::write_safetensors(p, {{"bad", bad}}, {});
    REQUIRE_FALSE(s.ok());
    CHECK_THAT(s.message(), Catch::Contains("'bad'") && Catch::Contains("expects 6 values, got 5"));
    CHECK_FALSE(fs::exists(p));

    s = ae2d::io::write_safetensors(p, {{"__metadata__", Tensor({1})}}, {});
    CHECK_THAT(s.message(), Catch::Contains("reserved"));

    s = ae2d::io::write_safetensors(p, {{"x", Tensor({1})}}, {{"k", std::string("\xff\xfe")}});
    CHECK_THAT(s.message(), Catch::Contains("UTF-8"));

    s = ae2d::io::write_safetensors(tmp.path("no/such/dir/w.safetensors"), {{"x", Tensor({1})}}, {});
    REQUIRE_FALSE(s.ok());
    CHECK_THAT(s.message(), Catch::Contains("cannot create"));
    CHECK(fs::is_empty(tmp.dir));
}

// ==================================== npy ====================================

TEST_CASE("npy float32 round trip, numpy-style header", "[io]") {
    TempDir tmp;
    for (const std::vector<int64_t> &shape :
         {std::vector<int64_t>{2, 3}, {5}, {}, {1, 3, 64, 63}, {0, 4}}) {
        INFO(ae2d::shape_to_string(shape));
        const std::string p = tmp.path("t.npy");
        const Tensor t = random_tensor(shape, 7);
        REQUIRE(ae2d::io::write_npy(p, t).ok());
        const Bytes raw = read_bytes(p);
        REQUIRE(raw.size() >= 10);
        CHECK(raw[6] == 1);
        CHECK(raw[7] == 0);
        const size_t hlen = raw[8] | (raw[9] << 8);
        CHECK((10 + hlen) % 64 == 0);  // data is 64-byte aligned
        CHECK(raw[10 + hlen - 1] == '\n');
        CHECK(raw.size() == 10 + hlen + 4 * t.data.size());
        auto r = ae2d::io::read_npy(p);
        REQUIRE(r.ok());
        CHECK(r->shape == shape);
        CHECK(r->data == t.data);
    }
    // Byte-identical to np.save(np.zeros((2, 3), np.float32)) with numpy 2.x.
    const std::string p = tmp.path("z.npy");
    REQUIRE(ae2d::io::write_npy(p, Tensor({2, 3})).ok());
    const Bytes raw = read_bytes(p);
    const std::string header(raw.begin() + 10, raw.begin() + 128);
    std::string want = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    want += std::string(117 - want.size(), ' ') + "\n";
    CHECK(raw[8] == 118);
    CHECK(header == want);
}

TEST_CASE("npy reads float64, versions 2.0/3.0 and big-endian", "[io]") {
    TempDir tmp;
    const std::string p = tmp.path("t.npy");
    Bytes f8;
    for (double d : {0.5, -1.25, 1e-3, 3.0}) append_f64(f8, d);
    write_bytes(p, npy_bytes(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", f8));
    auto r = ae2d::io::read_npy(p);
    REQUIRE(r.ok());
    CHECK(r->shape == std::vector<int64_t>{2, 2});
    CHECK(r->data == std::vector<float>{0.5f, -1.25f, 1e-3f, 3.0f});

    Bytes f4;
    for (float f : {1.0f, 2.0f, 3.0f}) append_f32(f4, f);
    for (int major : {2, 3}) {
        write_bytes(p, npy_bytes(major, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", f4));
        r = ae2d::io::read_npy(p);
        REQUIRE(r.ok());
        CHECK(r->shape == std::vector<int64_t>{3});
        CHECK(r->data == std::vector<float>{1.0f, 2.0f, 3.0f});
    }

    Bytes be;  // 1.0f big-endian
    for (uint8_t c : {0x3F, 0x80, 0x00, 0x00}) be.push_back(c);
    write_bytes(p, npy_bytes(1, "{\"descr\": \">f4\", \"fortran_order\": False, \"shape\": ()}", be));
    r = ae2d::io::read_npy(p);
    REQUIRE(r.ok());
    CHECK(r->shape.empty());
    CHECK(r->data == std::vector<float>{1.0f});

    // Key order and spacing are free; Python 2 'L' suffixes appear in old files.
    write_bytes(p, npy_bytes(1, "{'shape':(1L,3L),'fortran_order':False,'descr':'<f4'}", f4));
    r = ae2d::io::read_npy(p);
    REQUIRE(r.ok());
    CHECK(r->shape == std::vector<int64_t>{1, 3});
}

TEST_CASE("npy reads the repository fixtures", "[io]") {
    auto r = ae2d::io::read_npy(std::string(AE2D_SOURCE_DIR) + "/tests/fixtures/seedlike_c4.input.npy");
    REQUIRE(r.ok());
    CHECK(r->shape == std::vector<int64_t>{1, 3, 64, 63});
}

TEST_CASE("npy bad inputs", "[io]") {
    const std::string ok_dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    const Bytes data24(24, 0);
    SECTION("missing file") {
        auto r = ae2d::io::read_npy("/nonexistent/dir/x.npy");
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.message(), Catch::Contains("x.npy") && Catch::Contains("not found"));
    }
    SECTION("bad magic") {
        CHECK_THAT(npy_error({'P', 'K', 3, 4, 0, 0, 0, 0, 0, 0, 0, 0}), Catch::Contains("bad magic"));
        CHECK_THAT(npy_error({}), Catch::Contains("bad magic"));
    }
    SECTION("unsupported version") {
        Bytes b = npy_bytes(1, ok_dict, data24);
        b[6] = 9;
        CHECK_THAT(npy_error(b), Catch::Contains("version 9.0"));
    }
    SECTION("truncated header") {
        const Bytes b = npy_bytes(1, ok_dict, data24);
        CHECK_THAT(npy_error(Bytes(b.begin(), b.begin() + 40)), Catch::Contains("truncated header"));
        CHECK_THAT(npy_error(Bytes(b.begin(), b.begin() + 9)), Catch::Contains("truncated header"));
        CHECK_THAT(npy_error(Bytes(b.begin(), b.begin() + 7)), Catch::Contains("truncated header"));
    }
    SECTION("unsupported dtype") {
        const std::string m = npy_error(npy_bytes(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (6,), }", data24));
        CHECK_THAT(m, Catch::Contains("unsupported dtype") && Catch::Contains("'<i4'"));
        CHECK_THAT(npy_error(npy_bytes(1, "{'descr': '|u1', 'fortran_order': False, 'shape': (24,), }", data24)),
                   Catch::Contains("'|u1'"));
        CHECK_THAT(npy_error(npy_bytes(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (6,), }", data24)),
                   Catch::Contains("structured"));
    }
    SECTION("fortran order") {
        CHECK_THAT(npy_error(npy_bytes(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", data24)),
                   Catch::Contains("fortran_order True"));
    }
    SECTION("truncated data") {
        CHECK_THAT(npy_error(npy_bytes(1, ok_dict, Bytes(20, 0))),
                   Catch::Contains("truncated data") && Catch::Contains("expected 24 bytes") && Catch::Contains("got 20"));
        CHECK_THAT(npy_error(npy_bytes(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", data24)),
                   Catch::Contains("expected 48 bytes") && Catch::Contains("got 24"));
    }
    SECTION("trailing data") {
        CHECK_THAT(npy_error(npy_bytes(1, ok_dict, Bytes(28, 0))), Catch::Contains("trailing"));
    }
    SECTION("malformed header dict") {
        for (const char *dict : {
                 "'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)",   // no braces
                 "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), ",  // unclosed
                 "{'descr': '<f4', 'fortran_order': False}",                    // missing shape
                 "{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 3)}",       // not a bool
                 "{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3]}",   // not a tuple
                 "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3)}",  // negative dim
                 "{'descr': '<f4', 'fortran_order': False, 'shape': (6)}",      // int, not tuple
                 "{'descr': '<f4' 'fortran_order': False, 'shape': (2, 3)}",    // missing comma
                 "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}",
                 "{'descr: '<f4', 'fortran_order': False, 'shape': (2, 3)}",
             }) {
            INFO(dict);
            CHECK_THAT(npy_error(npy_bytes(1, dict, data24)), Catch::Contains("malformed header dict"));
        }
        CHECK_THAT(npy_error(npy_bytes(1, "{'descr': '<f4', 'fortran_order': False}", data24)),
                   Catch::Contains("missing key 'shape'"));
        CHECK_THAT(npy_error(npy_bytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", data24)),
                   Catch::Contains("too large"));
    }
    SECTION("numel overflow") {
        CHECK_THAT(npy_error(npy_bytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", data24)),
                   Catch::Contains("overflow"));
    }
}

TEST_CASE("npy writer rejects a data/shape mismatch", "[io]") {
    TempDir tmp;
    Tensor t({3});
    t.data.push_back(1.0f);
    auto s = ae2d::io::write_npy(tmp.path("x.npy"), t);
    REQUIRE_FALSE(s.ok());
    CHECK_THAT(s.message(), Catch::Contains("expects 3 values, got 4"));
    CHECK(fs::is_empty(tmp.dir));
}

// ==================================== png ====================================

TEST_CASE("png round trip 8 and 16 bit, gray and RGB", "[io]") {
    TempDir tmp;
    for (int bits : {8, 16}) {
        for (int64_t c : {1, 3}) {
            INFO("bits " << bits << " channels " << c);
            const std::string p = tmp.path("img.png");
            const Tensor t = random_tensor({c, 13, 17}, static_cast<unsigned>(bits + c), 0.0f, 1.0f);
            REQUIRE(ae2d::io::write_png(p, t, bits).ok());
            CHECK_FALSE(fs::exists(p + ".tmp-" + std::to_string(::getpid())));
            auto r = ae2d::io::read_png(p);
            REQUIRE(r.ok());
            CHECK(r->bit_depth == bits);
            REQUIRE(r->pixels.shape == t.shape);
            const float tol = 0.5f / static_cast<float>((1 << bits) - 1) + 1e-7f;
            float worst = 0.0f;
            for (size_t i = 0; i < t.data.size(); ++i) worst = std::max(worst, std::abs(r->pixels.data[i] - t.data[i]));
            CHECK(worst <= tol);
        }
    }
}

TEST_CASE("png writer clamps, rounds and maps NaN to 0", "[io]") {
    TempDir tmp;
    const std::string p = tmp.path("c.png");
    Tensor t({1, 1, 6});
    t.data = {-1.0f, 2.0f, std::nanf(""), 0.5f, 1.0f / 255.0f * 0.49f, 1.0f / 255.0f * 0.51f};
    REQUIRE(ae2d::io::write_png(p, t, 8).ok());
    auto r = ae2d::io::read_png(p);
    REQUIRE(r.ok());
    const auto &d = r->pixels.data;
    CHECK(d[0] == 0.0f);
    CHECK(d[1] == 1.0f);
    CHECK(d[2] == 0.0f);
    CHECK(d[3] == Approx(128.0f / 255.0f));  // 127.5 rounds to nearest (away from zero)
    CHECK(d[4] == 0.0f);
    CHECK(d[5] == Approx(1.0f / 255.0f));
}

TEST_CASE("png reader converts palette, low-bit gray, alpha and interlaced images", "[io]") {
    TempDir tmp;
    const std::string p = tmp.path("in.png");
    SECTION("palette -> RGB, transparency dropped") {
        std::vector<Bytes> rows = {{0, 1}, {1, 0}};
        const std::vector<png_color> pal = {{255, 0, 0}, {0, 128, 255}};
        write_bytes(p, encode_png(2, 2, PNG_COLOR_TYPE_PALETTE, 8, PNG_INTERLACE_NONE, rows, pal, {0, 255}));
        auto r = ae2d::io::read_png(p);
        REQUIRE(r.ok());
        CHECK(r->bit_depth == 8);
        REQUIRE(r->pixels.shape == std::vector<int64_t>{3, 2, 2});
        // (c, y, x): pixel (0, 0) is red, pixel (0, 1) is (0, 128, 255).
        CHECK(r->pixels.data[0] == 1.0f);
        CHECK(r->pixels.data[4 + 0] == 0.0f);
        CHECK(r->pixels.data[1] == 0.0f);
        CHECK(r->pixels.data[4 + 1] == Approx(128.0f / 255.0f));
        CHECK(r->pixels.data[8 + 1] == 1.0f);
    }
    SECTION("1-bit gray -> 8-bit") {
        std::vector<Bytes> rows = {{0xA0}};  // pixels 1 0 1
        write_bytes(p, encode_png(3, 1, PNG_COLOR_TYPE_GRAY, 1, PNG_INTERLACE_NONE, rows));
        auto r = ae2d::io::read_png(p);
        REQUIRE(r.ok());
        CHECK(r->bit_depth == 8);
        CHECK(r->pixels.shape == std::vector<int64_t>{1, 1, 3});
        CHECK(r->pixels.data == std::vector<float>{1.0f, 0.0f, 1.0f});
    }
    SECTION("4-bit gray -> 8-bit") {
        std::vector<Bytes> rows = {{0xF5}};  // 15, 5 -> 255, 85
        write_bytes(p, encode_png(2, 1, PNG_COLOR_TYPE_GRAY, 4, PNG_INTERLACE_NONE, rows));
        auto r = ae2d::io::read_png(p);
        REQUIRE(r.ok());
        CHECK(r->pixels.data == std::vector<float>{1.0f, 85.0f / 255.0f});
    }
    SECTION("gray + alpha -> gray") {
        std::vector<Bytes> rows = {{51, 0, 204, 255}};
        write_bytes(p, encode_png(2, 1, PNG_COLOR_TYPE_GRAY_ALPHA, 8, PNG_INTERLACE_NONE, rows));
        auto r = ae2d::io::read_png(p);
        REQUIRE(r.ok());
        CHECK(r->pixels.shape == std::vector<int64_t>{1, 1, 2});
        CHECK(r->pixels.data == std::vector<float>{51.0f / 255.0f, 204.0f / 255.0f});
    }
    SECTION("16-bit RGBA -> RGB") {
        std::vector<Bytes> rows = {{0xFF, 0xFF, 0x00, 0x00, 0x80, 0x00, 0x12, 0x34}};
        write_bytes(p, encode_png(1, 1, PNG_COLOR_TYPE_RGB_ALPHA, 16, PNG_INTERLACE_NONE, rows));
        auto r = ae2d::io::read_png(p);
        REQUIRE(r.ok());
        CHECK(r->bit_depth == 16);
        CHECK(r->pixels.shape == std::vector<int64_t>{3, 1, 1});
        CHECK(r->pixels.data == std::vector<float>{1.0f, 0.0f, 32768.0f / 65535.0f});
    }
    SECTION("Adam7 interlaced") {
        std::vector<Bytes> rows;
        for (int y = 0; y < 9; ++y) {
            Bytes row;
            for (int x = 0; x < 11; ++x) row.push_back(static_cast<uint8_t>(y * 11 + x));
            rows.push_back(row);
        }
        write_bytes(p, encode_png(11, 9, PNG_COLOR_TYPE_GRAY, 8, PNG_INTERLACE_ADAM7, rows));
        auto r = ae2d::io::read_png(p);
        REQUIRE(r.ok());
        REQUIRE(r->pixels.shape == std::vector<int64_t>{1, 9, 11});
        for (int i = 0; i < 99; ++i) CHECK(r->pixels.data[i] == static_cast<float>(i) / 255.0f);
    }
}

TEST_CASE("png bad inputs are errors, never aborts", "[io]") {
    TempDir tmp;
    const std::string good = tmp.path("good.png");
    REQUIRE(ae2d::io::write_png(good, random_tensor({3, 20, 20}, 9, 0.0f, 1.0f), 8).ok());
    const Bytes b = read_bytes(good);

    SECTION("missing file") {
        auto r = ae2d::io::read_png(tmp.path("missing.png"));
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.message(), Catch::Contains("missing.png") && Catch::Contains("not found"));
    }
    SECTION("bad signature") {
        CHECK_THAT(png_error({'G', 'I', 'F', '8', '9', 'a', 0, 0, 0, 0}), Catch::Contains("bad signature"));
        CHECK_THAT(png_error({0x89, 'P', 'N'}), Catch::Contains("bad signature"));
    }
    SECTION("truncated") {
        for (size_t n : {size_t(8), size_t(20), b.size() / 2, b.size() - 5}) {
            INFO(n);
            CHECK_THAT(png_error(Bytes(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n))),
                       Catch::Contains("truncated"));
        }
    }
    SECTION("CRC error in IDAT") {
        Bytes c = b;
        const size_t idat = find_chunk(c, "IDAT");
        REQUIRE(idat != 0);
        c[idat + 8 + be32(&c[idat])] ^= 0x55;  // the stored CRC itself
        CHECK_THAT(png_error(c), Catch::Contains("corrupt") && Catch::Contains("CRC"));
    }
    SECTION("corrupt compressed data with a valid CRC") {
        Bytes c = b;
        const size_t idat = find_chunk(c, "IDAT");
        REQUIRE(idat != 0);
        c[idat + 8] = 0x00;  // zlib header byte
        c[idat + 9] = 0x00;
        fix_crc(c, idat);
        CHECK_THAT(png_error(c), Catch::Contains("corrupt"));
    }
    SECTION("invalid IHDR") {
        Bytes c = b;
        put_be32(&c[16], 0);  // width 0
        fix_crc(c, 8);
        CHECK_THAT(png_error(c), Catch::Contains("corrupt") && Catch::Contains("IHDR"));
        c = b;
        c[24] = 7;  // bit depth 7
        fix_crc(c, 8);
        CHECK_THAT(png_error(c), Catch::Contains("IHDR"));
    }
    SECTION("absurd dimensions are refused before allocating") {
        Bytes ihdr(13, 0);
        put_be32(&ihdr[0], 900000);
        put_be32(&ihdr[4], 900000);
        ihdr[8] = 8;  // depth
        ihdr[9] = 2;  // RGB
        Bytes c = kPngSig;
        for (const Bytes &ch : {chunk("IHDR", ihdr), chunk("IDAT", {}), chunk("IEND", {})})
            c.insert(c.end(), ch.begin(), ch.end());
        CHECK_THAT(png_error(c), Catch::Contains("too large"));
    }
}

TEST_CASE("png writer bad inputs leave no file", "[io]") {
    TempDir tmp;
    const std::string p = tmp.path("out.png");
    auto s = ae2d::io::write_png(p, Tensor({2, 4, 4}), 8);
    CHECK_THAT(s.message(), Catch::Contains("C = 1 (gray) or 3 (RGB)") && Catch::Contains("got 2"));
    s = ae2d::io::write_png(p, Tensor({4, 4}), 8);
    CHECK_THAT(s.message(), Catch::Contains("rank 3") && Catch::Contains("(4, 4)"));
    s = ae2d::io::write_png(p, Tensor({1, 4, 4}), 12);
    CHECK_THAT(s.message(), Catch::Contains("bit depth 12"));
    s = ae2d::io::write_png(p, Tensor({1, 0, 4}), 8);
    CHECK_THAT(s.message(), Catch::Contains("image size"));
    Tensor short_data({1, 4, 4});
    short_data.data.resize(3);
    s = ae2d::io::write_png(p, short_data, 8);
    CHECK_THAT(s.message(), Catch::Contains("expects 16 values, got 3"));
    CHECK(fs::is_empty(tmp.dir));

    s = ae2d::io::write_png(tmp.path("no/such/dir/out.png"), Tensor({1, 2, 2}), 16);
    REQUIRE_FALSE(s.ok());
    CHECK_THAT(s.message(), Catch::Contains("cannot create"));
    CHECK(fs::is_empty(tmp.dir));

    // Overwriting an existing file replaces it whole.
    write_bytes(p, Bytes(1000, 'x'));
    REQUIRE(ae2d::io::write_png(p, Tensor({1, 2, 2}), 8).ok());
    auto r = ae2d::io::read_png(p);
    REQUIRE(r.ok());
    CHECK(r->pixels.shape == std::vector<int64_t>{1, 2, 2});
}
