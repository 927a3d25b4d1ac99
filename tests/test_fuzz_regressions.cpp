// Replays every seed of the fuzz corpora and every input that once made a fuzz target fail
// (tests/fuzz/regressions/<target>/) through the targets' own code (tests/fuzz/fuzz_entries.h).
// In the sanitizer build this runs under ASan + UBSan as well.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz/fuzz_entries.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace ae2d;

namespace {

struct ScopedLimits {
    Limits saved = limits();
    explicit ScopedLimits(const Limits &l) { REQUIRE(set_limits(l).ok()); }
    ~ScopedLimits() { (void)set_limits(saved); }
};

std::vector<uint8_t> read_all(const fs::path &p) {
    std::ifstream in(p, std::ios::binary);
    return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Runs `one` on every file of the target's corpus and regression directories; returns how many.
int replay(const std::string &target, int (*one)(const uint8_t *, size_t)) {
    ScopedLimits scoped(fuzz::fuzz_limits());
    int files = 0;
    for (const char *dir : {"tests/fuzz/corpus/", "tests/fuzz/regressions/"}) {
        const fs::path d = test::source_path(dir + target);
        if (!fs::is_directory(d)) continue;
        for (const auto &e : fs::directory_iterator(d)) {
            if (!e.is_regular_file()) continue;
            const auto bytes = read_all(e.path());
            INFO(e.path().string());
            const auto t0 = std::chrono::steady_clock::now();
            CHECK(one(bytes.data(), bytes.size()) == 0);
            // libFuzzer's -timeout is 10 s; a regression input must be far quicker than that.
            CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < 5.0);
            ++files;
        }
    }
    return files;
}

}  // namespace

TEST_CASE("fuzz corpora and regressions replay cleanly", "[fuzz]") {
    CHECK(replay("safetensors", fuzz::safetensors_one) >= 3);
    CHECK(replay("npy", fuzz::npy_one) >= 3);
    CHECK(replay("png", fuzz::png_one) >= 3);
    CHECK(replay("config", fuzz::config_one) >= 3);
}

TEST_CASE("the config fuzz input format parses metadata, tensors and inputs", "[fuzz]") {
    const std::string text = "meta layers [2, 2]\ntensor conv_first.weight 4 1 5 5\ninput 1 1 9 9\nnoise\n";
    const auto in = fuzz::parse_config_input(reinterpret_cast<const uint8_t *>(text.data()), text.size());
    CHECK(in.metadata.at("layers") == "[2, 2]");
    CHECK(in.tensors.at("conv_first.weight").shape == std::vector<int64_t>{4, 1, 5, 5});
    REQUIRE(in.inputs.size() == 1);
    CHECK(in.inputs[0] == std::vector<int64_t>{1, 1, 9, 9});
}

// Found by fuzz_png: a 143-byte file whose sPLT chunk declares 1951551059 bytes. libpng 1.6.39
// allocated that much before noticing the file had ended (its chunk_malloc_max only warns for
// ancillary chunks), so every such file cost ~2 GB of address space (2.2 GB RSS under ASan).
TEST_CASE("regression: a PNG chunk longer than the file is refused before libpng allocates it", "[fuzz][io]") {
    const auto bytes = read_all(test::source_path("tests/fuzz/regressions/png/oom-splt-chunk-length-1951551059.png"));
    REQUIRE(bytes.size() == 143);
    auto r = io::read_png_memory(bytes.data(), bytes.size(), "splt.png");
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.message(), Catch::Contains("splt.png") && Catch::Contains("truncated or corrupt") &&
                                Catch::Contains("chunk 'sPLT' declares 1951551059 data bytes"));
}

namespace {

std::string nested(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

std::vector<uint8_t> safetensors_with_header(const std::string &header) {
    std::vector<uint8_t> b(8 + header.size());  // sized up front: GCC 12 -Warray-bounds on inserts
    for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(uint64_t(header.size()) >> (8 * i));
    std::memcpy(b.data() + 8, header.data(), header.size());
    return b;
}

double seconds_of(const std::function<void()> &f) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

// Found while fuzzing the safetensors reader: error messages quoted a bad JSON value with
// nlohmann's dump(), which recurses once per nesting level, so a header nesting 200000 arrays
// in a tensor's "shape" (or as __metadata__, or as an entry) overflowed the stack (ASan:
// stack-overflow in serializer::dump). Headers nesting more than 64 levels are now refused
// before parsing, and messages never dump containers.
TEST_CASE("regression: deeply nested safetensors headers are refused, not a stack overflow", "[fuzz][io]") {
    for (const std::string &header : {R"({"w":{"dtype":"F32","shape":[)" + nested(200000) + R"(],"data_offsets":[0,0]}})",
                                      R"({"__metadata__":)" + nested(200000) + "}", R"({"w":)" + nested(200000) + "}"}) {
        const auto b = safetensors_with_header(header);
        auto r = io::read_safetensors_memory(b.data(), b.size(), "deep.safetensors");
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.message(), Catch::Contains("deep.safetensors") && Catch::Contains("more than 64 levels deep"));
    }
    // Within the nesting cap, a bad value is still described briefly.
    const std::string shallow = R"({"w":{"dtype":"F32","shape":[)" + nested(30) + R"(],"data_offsets":[0,0]}})";
    const auto b = safetensors_with_header(shallow);
    CHECK_THAT(io::read_safetensors_memory(b.data(), b.size(), "x").message(),
               Catch::Contains("shape[0] must be a non-negative integer, got array [[...]]"));
}

TEST_CASE("regression: deeply nested metadata values are refused, not a stack overflow", "[fuzz][model]") {
    std::map<std::string, std::string> md = {{"channel", "4"},     {"layers", "[" + nested(200000) + "]"},
                                             {"block", "plain"},   {"kernel_size", "3"},
                                             {"in_planes", "1"},   {"out_planes", "1"}};
    CHECK_THAT(model::config_from_metadata(md).message(), Catch::Contains("'layers' nests JSON more than 8 levels"));
    md["layers"] = "[[1], 2]";
    CHECK_THAT(model::config_from_metadata(md).message(), Catch::Contains("must be an integer, got '[1]'"));
}

// Found by review while writing fuzz_config (the target then ran clean): configurations that
// pass every per-field check but make the graph or its shapes explode.
TEST_CASE("regression: hostile configurations are refused quickly", "[fuzz][model]") {
    ScopedLimits scoped(fuzz::fuzz_limits());
    auto run = [](const std::string &text) {
        return seconds_of([&] { fuzz::config_one(reinterpret_cast<const uint8_t *>(text.data()), text.size()); });
    };
    const std::string meta = "meta channel 4\nmeta block plain\nmeta in_planes 1\nmeta out_planes 1\n";
    // layers [2^30, 1] once built a graph of 2^30 blocks; now "at most 1024 blocks".
    CHECK(run(meta + "meta kernel_size 3\nmeta layers [1073741824, 1]\ninput 1 1 64 64\n") < 2.0);
    // kernel_size 2^29+1 overflowed int64 in shape inference (UBSan: signed overflow).
    CHECK(run(meta + "meta kernel_size 536870913\nmeta layers [1, 1]\ninput 1 1 64 64\n") < 2.0);
    // Without metadata, conv_down_list.999999.* meant a depth of 10^6 and 10^6 scans of all tensors.
    CHECK(run("tensor conv_first.weight 4 1 5 5\ntensor conv_final.weight 1 4 5 5\n"
              "tensor conv_down_list.999999.conv_scale.conv1.0.weight 4\n") < 2.0);
    // Tensor names were matched with std::regex, quadratic in the name's length.
    const std::string long_name = "tensor conv_down_list.0." + std::string(200000, '1') + "\n";
    CHECK(run("tensor conv_first.weight 4 1 5 5\ntensor conv_final.weight 1 4 5 5\n" + long_name) < 2.0);
    // Input sizes near int64 overflow in shape inference and the summary.
    CHECK(run(meta + "meta kernel_size 3\nmeta layers [1, 1]\ninput 9223372036854775807 1 9223372036854775807 2\n") <
          2.0);

    Config c;
    c.layers = {1073741824, 1};
    CHECK_THAT(c.validate().message(), Catch::Contains("at most 1024"));
}
