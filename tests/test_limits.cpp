// ae2d::Limits: every cap is checked before allocating and refused with a message that names
// the input, the limit and how to raise it; and outputs are never left half-written.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "ae2d/limits.h"
#include "ae2d/model.h"
#include "graph/builder.h"
#include "graph/shapes.h"
#include "io/npy.h"
#include "io/png_image.h"
#include "io/safetensors.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace ae2d;
using Bytes = std::vector<uint8_t>;

namespace {

// Sets limits for one test and restores the previous ones.
struct ScopedLimits {
    Limits saved = limits();
    explicit ScopedLimits(const Limits &l) { REQUIRE(set_limits(l).ok()); }
    ~ScopedLimits() { (void)set_limits(saved); }
};

using TempDir = ae2d::test::TempDir;

void put_be32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}

uint32_t crc32_of(const uint8_t *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; ++i) {
        c ^= p[i];
        for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return c ^ 0xFFFFFFFFu;
}

Bytes png_chunk(const char *type, const Bytes &data) {
    Bytes c(12 + data.size());
    put_be32(c.data(), static_cast<uint32_t>(data.size()));
    std::memcpy(&c[4], type, 4);
    std::copy(data.begin(), data.end(), c.begin() + 8);
    put_be32(&c[8 + data.size()], crc32_of(&c[4], data.size() + 4));
    return c;
}

// A PNG with only a (valid) IHDR for width x height 8-bit RGB, an empty IDAT and IEND.
Bytes png_header_only(uint32_t width, uint32_t height) {
    Bytes ihdr(13, 0);
    put_be32(&ihdr[0], width);
    put_be32(&ihdr[4], height);
    ihdr[8] = 8;
    ihdr[9] = 2;
    Bytes b = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    for (const Bytes &c : {png_chunk("IHDR", ihdr), png_chunk("IDAT", {}), png_chunk("IEND", {})})
        b.insert(b.end(), c.begin(), c.end());
    return b;
}

// A version 1.0 .npy header for float32 of `shape_text`, followed by `data_bytes` zero bytes.
Bytes npy_header_only(const std::string &shape_text, size_t data_bytes = 0) {
    std::string h = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape_text + ", }";
    h.append(63 - (10 + h.size()) % 64, ' ');
    h += '\n';
    // Sized up front: GCC 12 warns falsely (-Warray-bounds) on vector inserts here.
    Bytes b(10 + h.size() + data_bytes, 0);
    const uint8_t prelude[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<uint8_t>(h.size() & 0xFF),
                                 static_cast<uint8_t>(h.size() >> 8)};
    std::memcpy(b.data(), prelude, 10);
    std::memcpy(b.data() + 10, h.data(), h.size());
    return b;
}

Bytes safetensors_bytes(const std::string &header, size_t data_bytes) {
    Bytes b(8 + header.size() + data_bytes, 0);
    for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(uint64_t(header.size()) >> (8 * i));
    std::memcpy(b.data() + 8, header.data(), header.size());
    return b;
}

void write_bytes(const std::string &path, const Bytes &b) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char *>(b.data()), static_cast<std::streamsize>(b.size()));
}

std::string read_text(const std::string &path) { return test::read_text(path); }

Model load_model(const char *name) {
    auto m = Model::load(test::source_path(std::string("tests/fixtures/") + name + ".safetensors"));
    REQUIRE(m.ok());
    return *m;
}

}  // namespace

TEST_CASE("limits have sane defaults and refuse bad values", "[limits]") {
    const Limits d;
    CHECK(d.max_dimension == 65536);
    CHECK(d.max_tensor_elements == (int64_t(1) << 31) - 1);
    CHECK(d.max_image_pixels == int64_t(1) << 28);
    CHECK(d.max_safetensors_header_bytes == int64_t(100) << 20);
    CHECK(d.max_forward_bytes == int64_t(16) << 30);

    Limits l;
    l.max_dimension = 0;
    CHECK_THAT(set_limits(l).message(), Catch::Contains("max_dimension must be positive"));
    l = Limits();
    l.max_tensor_elements = int64_t(1) << 31;
    CHECK_THAT(set_limits(l).message(), Catch::Contains("max_tensor_elements must be at most 2^31 - 1"));
    CHECK(limits().max_tensor_elements == d.max_tensor_elements);  // a refused call changes nothing

    l = Limits();
    l.max_forward_bytes = 12345;
    {
        ScopedLimits scoped(l);
        CHECK(limits().max_forward_bytes == 12345);
    }
    CHECK(limits().max_forward_bytes == d.max_forward_bytes);
}

TEST_CASE("a 100000 x 100000 PNG is refused from its header", "[limits][io]") {
    TempDir tmp;
    const std::string p = tmp.path("huge.png");
    write_bytes(p, png_header_only(100000, 100000));
    auto r = io::read_png(p);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.message(), Catch::Contains(p) && Catch::Contains("image too large") &&
                                Catch::Contains("the width is 100000, over the limit max_dimension = 65536") &&
                                Catch::Contains("ae2d::set_limits"));

    // Within max_dimension but over max_image_pixels (2^28): 20000 x 20000.
    write_bytes(p, png_header_only(20000, 20000));
    CHECK_THAT(io::read_png(p).message(),
               Catch::Contains("width x height is 400000000, over the limit max_image_pixels = 268435456"));

    // Raised limits let the header through; the (empty) image data is then the problem.
    Limits l;
    l.max_dimension = 200000;
    l.max_image_pixels = int64_t(1) << 40;
    l.max_tensor_elements = (int64_t(1) << 31) - 1;
    ScopedLimits scoped(l);
    write_bytes(p, png_header_only(300, 200));
    CHECK_THAT(io::read_png(p).message(), Catch::Contains("corrupt"));
}

TEST_CASE("a 100000 x 100000 .npy header is refused before its data is looked for", "[limits][io]") {
    TempDir tmp;
    const std::string p = tmp.path("huge.npy");
    write_bytes(p, npy_header_only("(100000, 100000)"));
    auto r = io::read_npy(p);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.message(), Catch::Contains(p) &&
                                Catch::Contains("dimension 0 of shape (100000, 100000) is 100000, over the limit "
                                                "max_dimension = 65536") &&
                                Catch::Contains("ae2d::set_limits"));
    // Every axis within max_dimension, the element count over max_tensor_elements.
    write_bytes(p, npy_header_only("(4, 1, 65536, 65536)"));
    CHECK_THAT(io::read_npy(p).message(), Catch::Contains("over the limit max_tensor_elements = 2147483647"));

    Limits l;
    l.max_tensor_elements = 100;
    ScopedLimits scoped(l);
    write_bytes(p, npy_header_only("(10, 11)", 440));
    CHECK_THAT(io::read_npy(p).message(),
               Catch::Contains("the element count of shape (10, 11) is 110, over the limit max_tensor_elements = 100"));
    write_bytes(p, npy_header_only("(10, 10)", 400));
    CHECK(io::read_npy(p).ok());
}

TEST_CASE("safetensors header size and tensor sizes are capped", "[limits][io]") {
    TempDir tmp;
    const std::string p = tmp.path("w.safetensors");
    const std::string header = R"({"w": {"dtype": "F32", "shape": [3, 4], "data_offsets": [0, 48]}})";
    write_bytes(p, safetensors_bytes(header, 48));
    REQUIRE(io::read_safetensors(p).ok());

    Limits l;
    l.max_safetensors_header_bytes = 32;
    {
        ScopedLimits scoped(l);
        CHECK_THAT(io::read_safetensors(p).message(),
                   Catch::Contains("the header length is 65, over the limit max_safetensors_header_bytes = 32"));
    }
    l = Limits();
    l.max_tensor_elements = 11;
    {
        ScopedLimits scoped(l);
        CHECK_THAT(io::read_safetensors(p).message(),
                   Catch::Contains("tensor 'w'") &&
                       Catch::Contains("the element count of shape (3, 4) is 12, over the limit max_tensor_elements = 11"));
    }
    // The default header cap: 100 MiB, named in KiB/MiB too.
    Bytes b(64, ' ');
    for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>((uint64_t(1) << 40) >> (8 * i));
    write_bytes(p, b);
    CHECK_THAT(io::read_safetensors(p).message(),
               Catch::Contains("max_safetensors_header_bytes = 104857600 (100 MiB)"));
}

TEST_CASE("forward and output_shape check the limits before allocating", "[limits][model]") {
    const Model model = load_model("bneck_k3_d3");  // channel 6, depth 3, in_planes 1

    // A shape-only tensor: forward must refuse it before looking at (or allocating) data.
    Tensor huge;
    huge.shape = {1, 1, 100000, 100000};
    CHECK_THAT(model.forward(huge).message(),
               Catch::Contains("input (1, 1, 100000, 100000): the height is 100000, over the limit max_dimension"));
    huge.shape = {1, 1, 65536, 65536};
    CHECK_THAT(model.output_shape(huge.shape).message(),
               Catch::Contains("height x width is 4294967296, over the limit max_image_pixels"));
    huge.shape = {70000, 1, 8, 8};
    CHECK_THAT(model.forward(huge).message(), Catch::Contains("the batch is 70000, over the limit max_dimension"));
    huge.shape = {40000, 1, 16384, 16};
    CHECK_THAT(model.forward(huge).message(), Catch::Contains("over the limit max_tensor_elements"));

    // 2^28 pixels pass the input checks; the plan's 12-channel full-size values then do not.
    auto big = model.output_shape({1, 1, 16384, 16384});
    REQUIRE_FALSE(big.ok());
    CHECK_THAT(big.message(), Catch::Contains("the intermediate value conv_up_list.0") &&
                                  Catch::Contains("(1, 12, 16384, 16384): its element count is 3221225472, over the "
                                                  "limit max_tensor_elements"));
    {
        Limits l;
        l.max_forward_bytes = int64_t(1) << 30;
        ScopedLimits scoped(l);
        auto r = model.output_shape({1, 1, 4096, 4096});  // each 12-channel value alone is 768 MiB
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.message(), Catch::Contains("the memory this forward pass needs") &&
                                    Catch::Contains("over the limit max_forward_bytes = 1073741824 (1 GiB)"));
    }

    // A small input fits; with max_forward_bytes below its need it is refused, even though its
    // plan is already cached, and accepted again once the limit is back.
    Tensor x({1, 1, 17, 23});
    REQUIRE(model.forward(x).ok());
    Limits l;
    l.max_forward_bytes = 4096;
    {
        ScopedLimits scoped(l);
        CHECK_THAT(model.forward(x).message(), Catch::Contains("over the limit max_forward_bytes = 4096 (4 KiB)"));
        CHECK_THAT(model.output_shape(x.shape).message(), Catch::Contains("max_forward_bytes"));
    }
    CHECK(model.forward(x).ok());
    l = Limits();
    l.max_dimension = 16;
    {
        ScopedLimits scoped(l);
        CHECK_THAT(model.forward(x).message(), Catch::Contains("the height is 17, over the limit max_dimension = 16"));
    }
}

TEST_CASE("more input shapes than the plan cache holds still give the same results", "[limits][model]") {
    const Model model = load_model("bneck_k3_d3");
    Tensor first({1, 1, 9, 9});
    for (size_t i = 0; i < first.data.size(); ++i) first.data[i] = float(i % 7) - 3.0f;
    auto y0 = model.forward(first);
    REQUIRE(y0.ok());
    for (int w = 10; w < 40; ++w) REQUIRE(model.forward(Tensor({1, 1, 9, w})).ok());  // evicts (9, 9)
    auto y1 = model.forward(first);
    REQUIRE(y1.ok());
    CHECK(y1->data == y0->data);
}

TEST_CASE("configurations and shapes too large for int64 arithmetic are refused", "[limits][graph]") {
    Config c;
    c.channel = 4;
    c.layers = {1000, 1000};
    CHECK_THAT(c.validate().message(), Catch::Contains("2000 residual blocks"));
    c.layers = {2, 2};
    c.kernel_h = c.kernel_w = 1 << 29 | 1;
    CHECK_THAT(c.validate().message(), Catch::Contains("kernel_size") && Catch::Contains("at most 255"));
    c.kernel_h = c.kernel_w = 3;
    c.channel = 1 << 20;
    CHECK_THAT(c.validate().message(), Catch::Contains("at most 65536 channels"));
    c.channel = 4;
    // summary() shapes a graph without any forward limits: sizes past int64 must be errors.
    CHECK_THAT(summary(c, 1, int64_t(1) << 40, int64_t(1) << 40).message(), Catch::Contains("too large"));
    CHECK_THAT(summary(c, 1, (int64_t(1) << 31) - 1, (int64_t(1) << 31) - 1).message(),
               Catch::Contains("more than 2^40 elements"));
    CHECK(summary(c, 1, 64, 63).ok());
}

// ================================ atomic writes ================================

namespace {

// Makes writes past `bytes` fail with EFBIG in this process (as a full disk would), for one scope.
struct FileSizeLimit {
    rlimit saved{};
    void (*old_handler)(int) = nullptr;
    explicit FileSizeLimit(rlim_t bytes) {
        old_handler = ::signal(SIGXFSZ, SIG_IGN);  // else the kernel kills the process
        ::getrlimit(RLIMIT_FSIZE, &saved);
        rlimit l = saved;
        l.rlim_cur = bytes;
        ::setrlimit(RLIMIT_FSIZE, &l);
    }
    ~FileSizeLimit() {
        ::setrlimit(RLIMIT_FSIZE, &saved);
        ::signal(SIGXFSZ, old_handler);
    }
};

bool no_temp_files(const fs::path &dir) {
    for (const auto &e : fs::directory_iterator(dir))
        if (e.path().filename().string().find(".tmp-") != std::string::npos) return false;
    return true;
}

}  // namespace

TEST_CASE("a failed write leaves the previous output intact and no partial file", "[io][atomic]") {
    TempDir tmp;
    Tensor chw({3, 64, 64});  // random, so that no format compresses it below the 4 KiB limit
    std::mt19937 rng(5);
    std::uniform_real_distribution<float> unit(0.0f, 1.0f);
    for (float &v : chw.data) v = unit(rng);
    const std::map<std::string, Tensor> tensors = {{"w", chw}};
    struct Writer {
        const char *file;
        std::function<Status(const std::string &)> write;
    };
    const std::vector<Writer> writers = {
        {"out.npy", [&](const std::string &p) { return io::write_npy(p, chw); }},
        {"out.png", [&](const std::string &p) { return io::write_png(p, chw, 16); }},
        {"out.safetensors", [&](const std::string &p) { return io::write_safetensors(p, tensors, {}); }},
    };
    for (const Writer &w : writers) {
        SECTION(w.file) {
            const std::string p = tmp.path(w.file);
            const std::string old_content = "previous complete output\n";
            { std::ofstream(p) << old_content; }

            // Disk full half-way: the write fails, the old file is untouched, no temp file stays.
            {
                FileSizeLimit limit(4096);
                Status s = w.write(p);
                REQUIRE_FALSE(s.ok());
                CHECK_THAT(s.message(), Catch::Contains("write error") && Catch::Contains(p));
            }
            CHECK(read_text(p) == old_content);
            CHECK(no_temp_files(tmp.dir));

            // The temporary file cannot be created: same guarantees.
            const std::string blocker = p + ".tmp-" + std::to_string(::getpid());
            fs::create_directory(blocker);
            CHECK_THAT(w.write(p).message(), Catch::Contains("cannot create"));
            CHECK(read_text(p) == old_content);
            fs::remove(blocker);

            // And a successful write replaces the file as a whole.
            REQUIRE(w.write(p).ok());
            CHECK(fs::file_size(p) > 4096);
            CHECK(no_temp_files(tmp.dir));
        }
    }
}
