// Output modes (the safetensors metadata "output", include/ae2d/output_mode.h): the normalized
// and residual modes against their PyTorch reference (tests/reference/make_output_mode_fixtures.py) on the CPU
// and the GPU backends, a file without the key unchanged, the bad values refused, and the
// bundled denoiser on RGB(A) PNG through `ae2d run`.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <map>

#include "HalideBuffer.h"
#include "ae2d/ae2d.h"
#include "ae2d/model.h"
#include "ae2d_norm_inverse.h"
#include "io/npy.h"
#include "io/png_image.h"
#include "io/safetensors.h"
#include "parity_support.h"
#include "test_support.h"

using namespace ae2d;
namespace fs = std::filesystem;

namespace {

std::string fixture(const std::string &file) { return test::source_path("tests/fixtures/" + file); }

Tensor npy(const std::string &file) {
    auto t = io::read_npy(fixture(file));
    REQUIRE(t.ok());
    return *t;
}

// The tensors and metadata of a fixture file, to load again with other metadata.
struct FileParts {
    std::map<std::string, Tensor> tensors;
    std::map<std::string, std::string> metadata;
};

FileParts read_parts(const std::string &file) {
    auto f = io::read_safetensors(fixture(file));
    REQUIRE(f.ok());
    return {f->tensors, f->metadata};
}

}  // namespace

TEST_CASE("norm_inverse stage: (x - shift) / scale per plane", "[stages][output]") {
    Halide::Runtime::Buffer<float> in(13, 7, 3, 2), scale(3, 2), shift(3, 2), out(13, 7, 3, 2);
    in.for_each_element([&](int x, int y, int c, int n) { in(x, y, c, n) = float((x * 7 + y * 3 + c * 5 + n) % 11) - 5.0f; });
    scale.for_each_element([&](int c, int n) { scale(c, n) = 0.25f + float(c + 3 * n); });
    shift.for_each_element([&](int c, int n) { shift(c, n) = float(c) - 2.0f * float(n) + 0.5f; });
    REQUIRE(ae2d_norm_inverse(in, scale, shift, out) == 0);
    out.for_each_element([&](int x, int y, int c, int n) {
        const double want = (double(in(x, y, c, n)) - shift(c, n)) / scale(c, n);
        CHECK(out(x, y, c, n) == Approx(want).margin(1e-6));
    });
}

TEST_CASE("output normalized and residual: forward equals PyTorch's m + s * f((x - m) / s) and "
          "x - s * f((x - m) / s)", "[model][output]") {
    const std::pair<std::string, OutputMode> modes[] = {{"normalized", OutputMode::Normalized},
                                                        {"residual", OutputMode::Residual}};
    for (const auto &[name, mode] : modes) {
        INFO("output " << name);
        auto model = Model::load(fixture("output_mode_" + name + ".safetensors"));
        INFO(model.message());
        REQUIRE(model.ok());
        CHECK(model->output_mode() == mode);
        const Tensor x = npy("output_mode.input.npy");
        auto y = model->forward(x);
        REQUIRE(y.ok());
        const Tensor ref = npy("output_mode_" + name + ".output.npy");
        test::require_close(*y, ref);
        // Every plane of the input is at its own level (-3 to 5): the output keeps it.
        const int64_t plane = x.shape[2] * x.shape[3];
        for (int64_t p = 0; p < x.shape[0] * x.shape[1]; ++p) {
            double got = 0, want = 0;
            for (int64_t i = 0; i < plane; ++i) got += y->data[p * plane + i], want += ref.data[p * plane + i];
            CHECK(got / plane == Approx(want / plane).margin(1e-4));
        }
        // A second pass gives the same: the negated final weights are made once, at load.
        auto again = model->forward(x);
        REQUIRE(again.ok());
        CHECK(again->data == y->data);
    }
}

TEST_CASE("output: a file without the key is the network's output, as before", "[model][output]") {
    auto model = Model::load(fixture("output_mode_raw.safetensors"));
    REQUIRE(model.ok());
    CHECK(model->output_mode() == OutputMode::Raw);
    auto y = model->forward(npy("output_mode.input.npy"));
    REQUIRE(y.ok());
    test::require_close(*y, npy("output_mode_raw.output.npy"));
    // "raw" said explicitly is the same; the transform adds no parameters.
    FileParts parts = read_parts("output_mode_normalized.safetensors");
    parts.metadata["output"] = "raw";
    auto raw = Model::from_tensors(parts.tensors, parts.metadata, "raw");
    REQUIRE(raw.ok());
    auto y2 = raw->forward(npy("output_mode.input.npy"));
    REQUIRE(y2.ok());
    CHECK(y2->data == y->data);
    auto normalized = Model::load(fixture("output_mode_normalized.safetensors"));
    REQUIRE(normalized.ok());
    CHECK(normalized->num_parameters() == model->num_parameters());
}

TEST_CASE("output: unknown modes and in_planes != out_planes are refused by name", "[model][output]") {
    FileParts parts = read_parts("output_mode_normalized.safetensors");
    parts.metadata["output"] = "denoised";
    auto bad = Model::from_tensors(parts.tensors, parts.metadata, "m.safetensors");
    REQUIRE_FALSE(bad.ok());
    CHECK_THAT(bad.message(), Catch::Contains("m.safetensors") && Catch::Contains("'output'") &&
                                  Catch::Contains("denoised") && Catch::Contains("normalized") &&
                                  Catch::Contains("residual"));
    FileParts other = read_parts("seedlike_c4.safetensors");  // in_planes 3, out_planes 1
    for (const char *mode : {"normalized", "residual"}) {
        other.metadata["output"] = mode;
        auto mismatched = Model::from_tensors(other.tensors, other.metadata, "c4");
        REQUIRE_FALSE(mismatched.ok());
        CHECK_THAT(mismatched.message(), Catch::Contains("in_planes == out_planes") && Catch::Contains(mode));
    }
}

TEST_CASE("output normalized and residual on the GPU backends", "[gpu][output]") {
    for (Backend b : {Backend::OpenCL, Backend::Cuda}) {
        if (!backend_status(b).usable) {
            WARN("skipped on " << backend_name(b) << ": " << backend_status(b).detail);
            continue;
        }
        for (const std::string name : {"normalized", "residual"}) {
            INFO(backend_name(b) << ", output " << name);
            auto model = Model::load(fixture("output_mode_" + name + ".safetensors"), {b});
            INFO(model.message());
            REQUIRE(model.ok());
            auto y = model->forward(npy("output_mode.input.npy"));
            INFO(y.message());
            REQUIRE(y.ok());
            test::require_close(*y, npy("output_mode_" + name + ".output.npy"));
        }
    }
}

TEST_CASE("output mode shown by the C API, ae2d summary and ae2d info", "[cli][output]") {
    char err[256];
    ae2d_model *m = ae2d_model_load(fixture("output_mode_normalized.safetensors").c_str(), err, sizeof err);
    REQUIRE(m != nullptr);
    CHECK(std::string(ae2d_model_output_mode(m)) == "normalized");
    ae2d_model_free(m);
    CHECK(ae2d_model_output_mode(nullptr) == nullptr);
    auto r = test::run_cli("summary --model " + fixture("output_mode_normalized.safetensors") + " --input-shape 2,32,32");
    REQUIRE(r.code == 0);
    CHECK_THAT(r.out, Catch::Contains("Output: normalized"));
    r = test::run_cli("summary --model " + fixture("output_mode_residual.safetensors") + " --input-shape 2,32,32");
    REQUIRE(r.code == 0);
    CHECK_THAT(r.out, Catch::Contains("Output: residual, y = x - s * f((x - m) / s)"));
    r = test::run_cli("summary --model " + fixture("output_mode_raw.safetensors") + " --input-shape 2,32,32");
    REQUIRE(r.code == 0);
    CHECK_THAT(r.out, !Catch::Contains("Output:"));
    r = test::run_cli("info", "AE2D_DEFAULT_MODEL=" + fixture("output_mode_normalized.safetensors"));
    REQUIRE(r.code == 0);
    CHECK_THAT(r.out, Catch::Contains("default model:") && Catch::Contains("output normalized"));
}

TEST_CASE("ae2d run: the bundled denoiser takes RGB and RGBA PNG, each channel as a gray image",
          "[cli][output]") {
    const test::TempDir tmp("ae2d_output_mode");
    const std::string bundled = test::source_path("models/denoiser.safetensors");
    auto gray_model = Model::load(bundled);
    REQUIRE(gray_model.ok());
    REQUIRE(gray_model->config().in_planes == 1);
    const int64_t H = 37, W = 50;
    Tensor rgb({3, H, W}), alpha({1, H, W});
    for (int64_t c = 0; c < 3; ++c)
        for (int64_t i = 0; i < H * W; ++i)
            rgb.data[c * H * W + i] = float((i * (7 + 4 * c) + 31 * c) % 256) / 255.0f;
    for (int64_t i = 0; i < H * W; ++i) alpha.data[i] = float(i % 97) / 255.0f;
    const std::string in = tmp.path("in.png"), out = tmp.path("out.png");
    REQUIRE(io::write_png(in, rgb, 8, &alpha).ok());
    auto r = test::run_cli("run -i " + in + " -o " + out, "AE2D_DEFAULT_MODEL=" + bundled);
    INFO(r.out << r.err);
    REQUIRE(r.code == 0);
    auto img = io::read_png(out);
    REQUIRE(img.ok());
    REQUIRE(img->pixels.shape == std::vector<int64_t>{3, H, W});
    REQUIRE(img->alpha.shape == std::vector<int64_t>{1, H, W});
    for (int64_t i = 0; i < H * W; ++i) CHECK(std::lround(img->alpha.data[i] * 255) == i % 97);  // kept as is
    // Each channel equals the gray model on that channel alone (8-bit rounding aside).
    auto in_img = io::read_png(in);
    REQUIRE(in_img.ok());
    Tensor planes = in_img->pixels;
    planes.shape = {3, 1, H, W};
    auto y = gray_model->forward(planes);
    REQUIRE(y.ok());
    int off = 0;
    for (size_t i = 0; i < y->data.size(); ++i)
        off += std::abs(int(io::float_to_sample(y->data[i], 8)) - int(io::float_to_sample(img->pixels.data[i], 8))) > 0;
    CHECK(off == 0);
    // 16-bit gray stays 16-bit gray; a 3-channel .npy runs too.
    Tensor gray({1, H, W});
    for (int64_t i = 0; i < H * W; ++i) gray.data[i] = float(i % 1000) / 999.0f;
    REQUIRE(io::write_png(tmp.path("g16.png"), gray, 16).ok());
    r = test::run_cli("run -i " + tmp.path("g16.png") + " -o " + tmp.path("g16_out.png"), "AE2D_DEFAULT_MODEL=" + bundled);
    REQUIRE(r.code == 0);
    auto g = io::read_png(tmp.path("g16_out.png"));
    REQUIRE(g.ok());
    CHECK(g->bit_depth == 16);
    CHECK(g->pixels.shape == std::vector<int64_t>{1, H, W});
    REQUIRE(io::write_npy(tmp.path("rgb.npy"), rgb).ok());
    r = test::run_cli("run -i " + tmp.path("rgb.npy") + " -o " + tmp.path("rgb_out.npy"), "AE2D_DEFAULT_MODEL=" + bundled);
    REQUIRE(r.code == 0);
    auto yn = io::read_npy(tmp.path("rgb_out.npy"));
    REQUIRE(yn.ok());
    CHECK(yn->shape == std::vector<int64_t>{1, 3, H, W});
    // A model given with --model keeps the strict channel check.
    r = test::run_cli("run -m " + bundled + " -i " + in + " -o " + tmp.path("strict.png"));
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Catch::Contains("in_planes"));
}
