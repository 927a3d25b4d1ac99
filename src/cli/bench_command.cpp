// ae2d bench: time forward passes on random input of a given shape.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>

#include "cli/commands.h"

namespace ae2d::cli {

namespace {

struct BenchOptions {
    std::string model, input_shape, backend = "cpu";
    int threads = 0, runs = 10, warmup = 2;
    bool json = false;
};

int64_t peak_rss_bytes() {
    struct rusage ru {};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<int64_t>(ru.ru_maxrss) * 1024;  // Linux reports KiB
}

void bench(const BenchOptions &o) {
    if (o.runs < 1 || o.warmup < 0 || o.threads < 0) return fail("--runs must be >= 1, --warmup and --threads >= 0");
    auto backend = parse_backend(o.backend);
    if (!backend) return fail("--backend: " + backend.message());
    if (o.threads > 0) set_num_threads(o.threads);
    auto model = Model::load(o.model, {*backend});
    if (!model) return fail(model.status());
    auto shape = parse_shape(o.input_shape, 4, 4);
    if (!shape) return fail("--input-shape: " + shape.message());
    Tensor x(*shape);
    std::mt19937 rng(1234);
    std::uniform_real_distribution<float> uniform(0.f, 1.f);
    for (float &v : x.data) v = uniform(rng);

    ForwardProfile profile, sum_profile;
    for (int i = 0; i < o.warmup; ++i) {
        auto y = model->forward(x);
        if (!y) return fail(y.status());
    }
    std::vector<double> ms;
    for (int i = 0; i < o.runs; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        auto y = model->forward(x, &profile);
        const std::chrono::duration<double, std::milli> dt = std::chrono::steady_clock::now() - t0;
        if (!y) return fail(y.status());
        ms.push_back(dt.count());
        for (const auto &[k, v] : profile.seconds_by_stage_kind) sum_profile.seconds_by_stage_kind[k] += v / o.runs;
    }
    std::vector<double> sorted = ms;
    std::sort(sorted.begin(), sorted.end());
    const size_t n = sorted.size();
    const double median = n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
    const double gflops = 2.0 * double(profile.macs) / (median * 1e-3) / 1e9;
    const double images_per_s = double((*shape)[0]) / (median * 1e-3);

    if (o.json) {
        nlohmann::json j;
        j["model"] = o.model;
        j["backend"] = backend_name(*backend);
        j["input_shape"] = *shape;
        j["runs"] = o.runs;
        j["median_ms"] = median;
        j["min_ms"] = sorted.front();
        j["max_ms"] = sorted.back();
        j["images_per_s"] = images_per_s;
        j["macs"] = profile.macs;
        j["gflops"] = gflops;
        j["arena_bytes"] = profile.arena_bytes;
        j["peak_rss_bytes"] = peak_rss_bytes();
        nlohmann::json stages = nlohmann::json::object();
        for (const auto &[k, v] : sum_profile.seconds_by_stage_kind) stages[k] = v * 1e3;
        j["stages"] = stages;
        std::cout << j.dump(2) << "\n";
        return;
    }
    std::printf("model        %s\n", o.model.c_str());
    std::printf("backend      %s\n", backend_name(*backend));
    std::printf("input        %s, %d runs after %d warm-up\n", shape_to_string(*shape).c_str(), o.runs, o.warmup);
    std::printf("time (ms)    median %.3f   min %.3f   max %.3f\n", median, sorted.front(), sorted.back());
    std::printf("throughput   %.2f images/s, %.1f GFLOP/s (%.3f GMAC per pass)\n", images_per_s, gflops,
                double(profile.macs) / 1e9);
    std::printf("memory       %s %.1f MiB, peak RSS %.1f MiB\n", *backend == Backend::Cpu ? "arena" : "device buffers",
                double(profile.arena_bytes) / (1 << 20), double(peak_rss_bytes()) / (1 << 20));
    std::printf("stages       mean ms per pass by kind (profiled runs):\n");
    for (const auto &[k, v] : sum_profile.seconds_by_stage_kind) std::printf("  %-26s %9.3f\n", k.c_str(), v * 1e3);
}

}  // namespace

void add_bench_command(CLI::App &app) {
    auto o = std::make_shared<BenchOptions>();
    CLI::App *cmd = app.add_subcommand("bench", "Time forward passes on random input");
    cmd->add_option("--model,-m", o->model, "safetensors file")->required();
    cmd->add_option("--input-shape", o->input_shape, "B,C,H,W")->required();
    cmd->add_option("--threads,-t", o->threads, "worker threads (0: one per core)");
    cmd->add_option("--backend", o->backend, "cpu, cuda or opencl (see ae2d info)")->capture_default_str();
    cmd->add_option("--runs", o->runs, "timed runs")->capture_default_str();
    cmd->add_option("--warmup", o->warmup, "untimed runs first")->capture_default_str();
    cmd->add_flag("--json", o->json, "print one JSON object");
    cmd->callback([o] { bench(*o); });
}

}  // namespace ae2d::cli
