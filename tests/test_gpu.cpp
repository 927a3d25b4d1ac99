// GPU backends: the whole fixture parity suite on OpenCL (POCL, the CPU OpenCL driver, in CI)
// and on CUDA where a device exists, within the CPU backend's bound; device buffers reused
// across calls and threads; and a clear error, never a crash, for a backend that cannot run.
//
// A backend that is not usable here skips its tests: a warning, and under ctest an exit code
// that ctest reports as skipped (tests/CMakeLists.txt sets AE2D_SKIP_EXIT_CODE and
// SKIP_RETURN_CODE). AE2D_REQUIRE_OPENCL=1 (scripts/test.sh) turns a missing OpenCL into a failure,
// AE2D_REQUIRE_CUDA=1 (scripts/gpu_check.sh) a missing CUDA.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include "ae2d/ae2d.h"
#include "ae2d/model.h"
#include "graph/builder.h"
#include "parity_support.h"
#include "runtime/schedule_table.h"
#include "test_support.h"

using namespace ae2d;
namespace fs = std::filesystem;

namespace {

std::string fixture_model(const std::string &name) {
    return test::source_path("tests/fixtures/" + name + ".safetensors");
}

bool env_flag(const char *name) {
    const char *v = std::getenv(name);
    return v != nullptr && std::string(v) != "" && std::string(v) != "0";
}

// True when the test should go on; otherwise reports the skip (see the file comment).
bool usable_or_skip(Backend backend) {
    const BackendStatus s = backend_status(backend);
    if (s.usable) return true;
    if (backend == Backend::OpenCL && env_flag("AE2D_REQUIRE_OPENCL"))
        FAIL("AE2D_REQUIRE_OPENCL is set but the opencl backend is not usable: " << s.detail);
    if (backend == Backend::Cuda && env_flag("AE2D_REQUIRE_CUDA"))
        FAIL("AE2D_REQUIRE_CUDA is set but the cuda backend is not usable: " << s.detail);
    if (s.compiled)
        WARN("skipped: no " << (backend == Backend::Cuda ? "CUDA" : "OpenCL") << " device (" << s.detail << ")");
    else
        WARN("skipped: the " << backend_name(backend) << " backend is not compiled in (-DAE2D_GPU=OFF)");
    if (const char *code = std::getenv("AE2D_SKIP_EXIT_CODE")) {
        std::cout.flush();
        std::_Exit(std::atoi(code));
    }
    return false;
}

// Every fixture on `backend` with both GPU kernel sets (manual and Anderson2021), against
// PyTorch's output, with the CPU backend's bound; each fixture's figure is printed (ctest -V
// shows it). A second call reuses the shape's device buffers and must give the same result bit
// for bit.
void check_every_fixture(Backend backend) {
    const auto manifest = test::read_json("tests/fixtures/manifest.json");
    REQUIRE(manifest.size() >= 8);
    for (const auto &entry : manifest) {
        const std::string name = entry.at("name");
        for (const ScheduleTable &schedule : {ScheduleTable::manual(), ScheduleTable::automatic()}) {
            SECTION(name + ", " + schedule.name()) {
                auto loaded = Model::load(fixture_model(name), {backend});
                INFO(loaded.message());
                REQUIRE(loaded.ok());
                const Model model = loaded->with_schedule(schedule);
                CHECK(model.backend() == backend);
                const test::Fixture f = test::load_fixture(name);
                ForwardProfile profile;
                auto y = model.forward(f.input, &profile);
                INFO(y.message());
                REQUIRE(y.ok());
                // The auto set runs Anderson2021 code wherever it takes the shape.
                CHECK(profile.auto_stages == (schedule.name() == "auto" ? profile.stages : 0));
                std::printf("%s parity %-24s %-6s max|y-ref|/max|ref| = %.3g (%d of %d stages fell back to manual)\n",
                            backend_name(backend), name.c_str(), schedule.name().c_str(),
                            test::relative_max_error(*y, f.expected), profile.auto_fallbacks, profile.stages);
                test::require_close(*y, f.expected);
                auto again = model.forward(f.input);
                REQUIRE(again.ok());
                CHECK(again->data == y->data);
            }
        }
    }
}

}  // namespace

TEST_CASE("OpenCL backend equals the PyTorch reference on every fixture", "[gpu][opencl][parity]") {
    if (!usable_or_skip(Backend::OpenCL)) return;
    check_every_fixture(Backend::OpenCL);
}

TEST_CASE("CUDA backend equals the PyTorch reference on every fixture", "[gpu][cuda][parity]") {
    if (!usable_or_skip(Backend::Cuda)) return;
    check_every_fixture(Backend::Cuda);
}

TEST_CASE("OpenCL backend: one model serves several threads and shapes, profile syncs", "[gpu][opencl][threads]") {
    if (!usable_or_skip(Backend::OpenCL)) return;
    const test::Fixture fixture = test::load_fixture("bneck_k3_d3");
    // Fresh models: the first concurrent calls on a model are where the shared weights once raced
    // (their device reference count was created on first use; it failed 1 model in 30 or so).
    for (int round = 0; round < 10; ++round) {
        auto fresh = Model::load(fixture_model("bneck_k3_d3"), {Backend::OpenCL});
        REQUIRE(fresh.ok());
        test::require_concurrent_parity(*fresh, fixture, 3, 1);
    }
    auto model = Model::load(fixture_model("bneck_k3_d3"), {Backend::OpenCL});
    REQUIRE(model.ok());
    test::require_concurrent_parity(*model, fixture, 3, 2);

    // Another shape (its own device buffers), batch 1, and a profiled call.
    Tensor small({1, 1, 9, 12});
    for (size_t i = 0; i < small.data.size(); ++i) small.data[i] = float(i % 7) * 0.25f;
    auto cpu = Model::load(fixture_model("bneck_k3_d3"));
    REQUIRE(cpu.ok());
    ForwardProfile profile;
    auto on_gpu = model->forward(small, &profile);
    auto on_cpu = cpu->forward(small);
    REQUIRE(on_gpu.ok());
    REQUIRE(on_cpu.ok());
    CHECK(test::relative_max_error(*on_gpu, *on_cpu) <= 1e-4);
    CHECK(profile.stages > 0);
    CHECK(!profile.seconds_by_stage_kind.empty());
}

namespace {

using CliResult = test::CliResult;

// Runs the ae2d CLI with extra environment assignments in front ("A=1 B=2").
CliResult ae2d_cli(const std::string &env, const std::string &args) { return test::run_cli(args, env); }

}  // namespace

TEST_CASE("a backend that cannot run is a clear error, not a crash", "[gpu][errors]") {
    CHECK_THAT(parse_backend("vulkan").message(), Catch::Contains("expected cpu, cuda or opencl"));
    CHECK(parse_backend("opencl").ok());
    CHECK(check_backend(Backend::Cpu).ok());

    for (Backend b : {Backend::Cuda, Backend::OpenCL}) {
        const BackendStatus s = backend_status(b);
        INFO(backend_name(b) << ": " << s.detail);
        auto model = Model::load(fixture_model("plain_k3_d2"), {b});
        if (s.usable) {
            CHECK(model.ok());
        } else {
            REQUIRE_FALSE(model.ok());
            CHECK_THAT(model.message(), Catch::Contains(std::string("backend ") + backend_name(b) + " is not usable"));
            CHECK_FALSE(s.detail.empty());
        }
    }

    // The C API: an unknown backend and an unusable one give NULL and the reason.
    char err[256];
    CHECK(ae2d_model_load_backend(fixture_model("plain_k3_d2").c_str(), "tpu", err, sizeof err) == nullptr);
    CHECK_THAT(std::string(err), Catch::Contains("unknown backend 'tpu'"));
    if (!backend_status(Backend::Cuda).usable) {
        CHECK(ae2d_model_load_backend(fixture_model("plain_k3_d2").c_str(), "cuda", err, sizeof err) == nullptr);
        CHECK_THAT(std::string(err), Catch::Contains("backend cuda is not usable"));
    }

    // The CLI in a process where OpenCL finds no driver at all (the ICD loader is pointed at an
    // empty vendor directory) and CUDA none either (no libcuda here, or none it may load).
    const std::string no_opencl = "OCL_ICD_VENDORS=/nonexistent-ae2d-vendors";
    const std::string run = "run --model " + fixture_model("plain_k3_d2") + " --input " +
                            test::source_path("tests/fixtures/plain_k3_d2.input.npy") + " --output " +
                            (fs::temp_directory_path() / "ae2d-gpu-test-never-written.npy").string();
    CliResult r = ae2d_cli(no_opencl, run + " --backend opencl");
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Catch::StartsWith("ae2d: error: backend opencl is not usable"));
    r = ae2d_cli(no_opencl,
                 "bench --model " + fixture_model("plain_k3_d2") + " --input-shape 1,3,8,8 --backend opencl");
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Catch::Contains("backend opencl is not usable"));
    r = ae2d_cli("", run + " --backend metal");
    CHECK(r.code != 0);
    r = ae2d_cli(no_opencl, "info");
    CHECK(r.code == 0);
    CHECK_THAT(r.out, Catch::Contains("cpu: compiled in, usable"));
    CHECK_THAT(r.out, Catch::Contains("opencl: ") && Catch::Contains("cuda: "));
    CHECK_THAT(r.out, Catch::Contains("opencl: compiled in, not usable") ||
                          Catch::Contains("opencl: not compiled in, not usable"));
}

namespace {

// A model of `config` with random parameters (fixed seed): conv weights ~ N(0, 2 / fan_in),
// norm weights ~ U(0.5, 1.5), biases and PReLU slopes small, as the fixtures have them.
std::map<std::string, Tensor> random_parameters(const Config &config) {
    auto g = graph::build_network(config);
    REQUIRE(g.ok());
    std::mt19937 rng(7);
    std::map<std::string, Tensor> tensors;
    for (const graph::ParamSpec &p : g->params) {
        Tensor t(p.shape);
        const bool conv = p.shape.size() == 4;
        const double fan_in = conv ? double(p.shape[1] * p.shape[2] * p.shape[3]) : 1.0;
        std::normal_distribution<float> normal(0.f, conv ? float(std::sqrt(2.0 / fan_in)) : 0.2f);
        std::uniform_real_distribution<float> uniform(0.5f, 1.5f);
        const bool norm_weight = !conv && p.name.size() > 7 && p.name.compare(p.name.size() - 7, 7, ".weight") == 0;
        for (float &v : t.data) v = norm_weight ? uniform(rng) * 0.5f : normal(rng);
        tensors.emplace(p.name, std::move(t));
    }
    return tensors;
}

}  // namespace

TEST_CASE("OpenCL backend equals the CPU backend on kernel sizes the fixtures lack", "[gpu][opencl][parity]") {
    if (!usable_or_skip(Backend::OpenCL)) return;
    for (auto [kh, kw] : std::vector<std::pair<int, int>>{{7, 7}, {1, 5}, {5, 1}}) {
        Config config;
        config.channel = 4;
        config.layers = {1, 2};
        config.block = BlockKind::Plain;
        config.kernel_h = kh;
        config.kernel_w = kw;
        config.in_planes = 2;
        config.out_planes = 1;
        SECTION(config.to_string()) {
            const auto tensors = random_parameters(config);
            auto cpu = Model::from_tensors(tensors, {}, "random");
            auto gpu = Model::from_tensors(tensors, {}, "random", {Backend::OpenCL});
            REQUIRE(cpu.ok());
            REQUIRE(gpu.ok());
            Tensor x({2, 2, 21, 18});
            std::mt19937 rng(11);
            std::normal_distribution<float> normal(0.f, 1.f);
            for (float &v : x.data) v = normal(rng);
            auto want = cpu->forward(x);
            auto got = gpu->forward(x);
            REQUIRE(want.ok());
            INFO(got.message());
            REQUIRE(got.ok());
            double max_want = 0;
            for (float v : want->data) max_want = std::max(max_want, double(std::fabs(v)));
            CHECK(max_want > 0.01);  // a real output, not a degenerate one
            const double ratio = test::relative_max_error(*got, *want);
            std::printf("opencl vs cpu %-70s max|y-cpu|/max|cpu| = %.3g\n", config.to_string().c_str(), ratio);
            CHECK(ratio <= 1e-4);
        }
    }
}

TEST_CASE("a GPU model runs its backend's schedule table, not the CPU's", "[gpu][opencl][schedule]") {
    if (!usable_or_skip(Backend::OpenCL)) return;
    auto model = Model::load(fixture_model("bneck_k3_d3"), {Backend::OpenCL});
    REQUIRE(model.ok());
    CHECK_THAT(model->schedule().name(), Catch::Contains("opencl"));
    CHECK(model->schedule().rules().entries.empty());  // none shipped: every stage runs manual on a GPU
}
