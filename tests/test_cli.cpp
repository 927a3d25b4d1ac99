// The ae2d command line: outputs, the summary, and bad input (message, non-zero exit, no file).
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sys/wait.h>

#include "io/npy.h"
#include "io/png_image.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace ae2d;

namespace {

using Result = test::CliResult;

fs::path temp_dir() {
    static const ae2d::test::TempDir dir("ae2d_cli_test");
    return dir.dir;
}

Result ae2d_cli(const std::string &args) { return test::run_cli(args); }

std::string fixture(const std::string &file) { return test::source_path("tests/fixtures/" + file); }

void write_bytes(const fs::path &p, const std::string &bytes) {
    std::ofstream f(p, std::ios::binary);
    f << bytes;
}

// The .npy `out` written by `ae2d run` against the PyTorch reference `reference`, within the
// parity bound of test_model.cpp.
void check_npy_matches(const fs::path &out, const std::string &reference) {
    auto got = io::read_npy(out.string());
    auto want = io::read_npy(reference);
    REQUIRE(got.ok());
    REQUIRE(want.ok());
    REQUIRE(got->shape == want->shape);
    double max_diff = 0, max_ref = 0;
    for (size_t i = 0; i < want->data.size(); ++i) {
        max_diff = std::max(max_diff, double(std::fabs(got->data[i] - want->data[i])));
        max_ref = std::max(max_ref, double(std::fabs(want->data[i])));
    }
    CHECK(max_diff <= 1e-4 * max_ref);
}

}  // namespace

TEST_CASE("ae2d run writes PyTorch's output as .npy", "[cli]") {
    const fs::path out = temp_dir() / "y.npy";
    fs::remove(out);
    Result r = ae2d_cli("run --model " + fixture("plain_k3_d2.safetensors") + " --input " +
                        fixture("plain_k3_d2.input.npy") + " --output " + out.string() + " --threads 2");
    INFO(r.err);
    REQUIRE(r.code == 0);
    check_npy_matches(out, fixture("plain_k3_d2.output.npy"));
}

TEST_CASE("ae2d run reads (H, W) arrays and PNG, writes PNG at the input's depth", "[cli]") {
    // bneck_k31_d4_nometa: 1 input and 1 output channel, any size.
    Tensor hw({40, 12});
    for (size_t i = 0; i < hw.data.size(); ++i) hw.data[i] = float(i % 17) / 16.f;
    const fs::path in_npy = temp_dir() / "hw.npy", in_png = temp_dir() / "x16.png", out_png = temp_dir() / "y.png";
    REQUIRE(io::write_npy(in_npy.string(), hw).ok());
    Tensor chw = hw;
    chw.shape = {1, 40, 12};
    REQUIRE(io::write_png(in_png.string(), chw, 16).ok());
    const std::string model = fixture("bneck_k31_d4_nometa.safetensors");
    Result r = ae2d_cli("run -m " + model + " -i " + in_npy.string() + " -o " + (temp_dir() / "hw_out.npy").string());
    INFO(r.err);
    CHECK(r.code == 0);
    fs::remove(out_png);
    r = ae2d_cli("run -m " + model + " -i " + in_png.string() + " -o " + out_png.string());
    INFO(r.err);
    REQUIRE(r.code == 0);
    auto img = io::read_png(out_png.string());
    REQUIRE(img.ok());
    CHECK(img->bit_depth == 16);
    CHECK(img->pixels.shape == std::vector<int64_t>{1, 40, 12});
}

TEST_CASE("ae2d summary prints the seed's table from flags and from a model", "[cli][summary]") {
    Result r = ae2d_cli("summary --channel 64 --layers 2,2,2,2,3 --block bottleneck --kernel-size 3 "
                        "--in-planes 3 --out-planes 1 --input-shape 3,64,63");
    REQUIRE(r.code == 0);
    CHECK(r.out == test::read_text(test::source_path("tests/data/seed_summary.txt")));
    r = ae2d_cli("summary --model " + fixture("seedlike_c4.safetensors") + " --input-shape 3,64,63");
    REQUIRE(r.code == 0);
    CHECK_THAT(r.out, Catch::StartsWith("The number of convolutional layers along the depth is 59."));
    r = ae2d_cli("summary --kernel-size 4 --input-shape 1,64,64");
    CHECK(r.code != 0);
    CHECK_THAT(r.err, Catch::Contains("odd"));
}

TEST_CASE("ae2d summary and run on a UNet2d", "[cli][summary][unet]") {
    const std::string table = test::read_text(test::source_path("tests/data/summary_unet_seed.txt"));
    for (const char *arch : {"--unet", "--arch UNet2d", "--arch unet2d"}) {
        Result r = ae2d_cli(std::string("summary ") + arch + " --channel 64 --layers 2,2,2,2,3 --in-planes 3 --input-shape 3,64,63");
        REQUIRE(r.code == 0);
        CHECK(r.out == table);
    }
    Result r = ae2d_cli("summary --unet --layers 2,1,2 --input-shape 1,64,64");
    CHECK(r.code != 0);
    CHECK_THAT(r.err, Catch::Contains("layers[1] = 1 cannot run as a UNet2d"));
    r = ae2d_cli("summary --unet --arch AE2d --input-shape 1,64,64");
    CHECK(r.code != 0);
    r = ae2d_cli("summary --model " + fixture("unet_seedlike_c4.safetensors") + " --input-shape 3,64,63");
    REQUIRE(r.code == 0);
    CHECK_THAT(r.out, Catch::StartsWith("The number of convolutional layers along the depth is 59.") &&
                          Catch::Contains("UNet2d-"));

    const fs::path out = temp_dir() / "unet_y.npy";
    fs::remove(out);
    r = ae2d_cli("run --model " + fixture("unet_bneck_k31_d4_nometa.safetensors") + " --input " +
                 fixture("unet_bneck_k31_d4_nometa.input.npy") + " --output " + out.string());
    INFO(r.err);
    REQUIRE(r.code == 0);
    check_npy_matches(out, fixture("unet_bneck_k31_d4_nometa.output.npy"));
}

TEST_CASE("bad files: clear message, non-zero exit, no output written", "[cli][errors]") {
    const fs::path d = temp_dir();
    const std::string good_model = fixture("bneck_k3_d3.safetensors");
    const std::string good_input = fixture("bneck_k3_d3.input.npy");
    write_bytes(d / "empty.safetensors", "");
    write_bytes(d / "short.safetensors", std::string("\x10\x00\x00\x00\x00\x00\x00\x00{\"a\"", 12));
    write_bytes(d / "not.png", "this is not a png file at all");
    const std::string dict = "{'descr': '<i4', 'fortran_order': False, 'shape': (4, 4), }";
    write_bytes(d / "int.npy", std::string("\x93NUMPY\x01\x00\x76\x00", 10) + dict +
                                   std::string(118 - dict.size() - 1, ' ') + "\n" + std::string(64, '\0'));
    struct Case {
        std::string model, input, expect;
    };
    const std::vector<Case> cases = {
        {(d / "missing.safetensors").string(), good_input, "missing.safetensors"},
        {(d / "empty.safetensors").string(), good_input, "empty.safetensors"},
        {(d / "short.safetensors").string(), good_input, "short.safetensors"},
        {good_model, (d / "not.png").string(), "not.png"},
        {good_model, (d / "int.npy").string(), "<i4"},
        {good_model, fixture("plain_k3_d2.input.npy"), "in_planes = 1"},
    };
    for (const Case &c : cases) {
        const fs::path out = d / "never.npy";
        fs::remove(out);
        Result r = ae2d_cli("run --model " + c.model + " --input " + c.input + " --output " + out.string());
        INFO(c.model << " / " << c.input << ": " << r.err);
        CHECK(r.code == 1);
        CHECK_THAT(r.err, Catch::StartsWith("ae2d: error: ") && Catch::Contains(c.expect));
        CHECK(!fs::exists(out));
    }
}

TEST_CASE("ae2d run on a directory: batches, skips a bad file, never overwrites an input", "[cli][batch]") {
    const fs::path in = temp_dir() / "batch_in", out = temp_dir() / "batch_out";
    fs::remove_all(in);
    fs::remove_all(out);
    fs::create_directories(in);
    // Three same-sized images (one batch), one of another size, one corrupt file.
    for (int i = 0; i < 4; ++i) {
        Tensor img({1, i < 3 ? 24 : 13, i < 3 ? 20 : 30});
        for (size_t k = 0; k < img.data.size(); ++k) img.data[k] = float((k * (i + 3)) % 11) / 10.f;
        REQUIRE(io::write_png((in / ("img" + std::to_string(i) + ".png")).string(), img, 8).ok());
    }
    write_bytes(in / "broken.png", "\x89PNG\r\n\x1a\n truncated");
    const std::string model = fixture("bneck_k31_d4_nometa.safetensors");
    Result r = ae2d_cli("run -m " + model + " -i " + in.string() + " -o " + out.string() + " --batch 8");
    INFO(r.out << r.err);
    CHECK(r.code == 1);  // something failed
    CHECK_THAT(r.err, Catch::Contains("broken.png"));
    CHECK_THAT(r.out, Catch::Contains("4 of 5 inputs written"));
    for (int i = 0; i < 4; ++i) CHECK(fs::exists(out / ("img" + std::to_string(i) + ".png")));
    CHECK(!fs::exists(out / "broken.png"));

    // Batched results equal one-by-one results.
    const fs::path single = temp_dir() / "single.npy";
    r = ae2d_cli("run -m " + model + " -i " + (in / "img1.png").string() + " -o " + single.string());
    REQUIRE(r.code == 0);
    r = ae2d_cli("run -m " + model + " -i " + (in / "img0.png").string() + " " + (in / "img1.png").string() + " -o " +
                 (temp_dir() / "batch_npy").string() + " --format npy");
    REQUIRE(r.code == 0);
    auto a = io::read_npy(single.string());
    auto b = io::read_npy((temp_dir() / "batch_npy" / "img1.npy").string());
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK(a->data == b->data);

    // Writing into the input directory with the input's format would replace the inputs.
    r = ae2d_cli("run -m " + model + " -i " + in.string() + " -o " + in.string());
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Catch::Contains("refusing to overwrite an input"));
    auto still = io::read_png((in / "img0.png").string());
    REQUIRE(still.ok());
}
