// ae2d bench: time forward passes on random input of a given shape, with one schedule or several
// compared in the same run (their runs interleaved, so that background load hits all alike).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>

#include "cli/commands.h"
#include "runtime/fma_peak.h"
#include "runtime/median.h"

namespace ae2d::cli {

namespace {

using runtime::median_of;

struct BenchOptions {
    std::string model, input_shape, backend = "cpu";
    std::vector<std::string> schedules;  // manual, auto, tuned or table files; empty: the model's default
    int threads = 0, runs = 10, warmup = 2;
    double peak_gflops = 0;  // 0: measure
    bool json = false, per_stage = false;
};

// Peak resident memory of this process. Linux's VmHWM belongs to the process image, whereas
// getrusage's ru_maxrss survives execve and reports a large parent's RSS (measured: 1.1 GB in
// ae2d bench started from the peers script, whose Python process held torch, ORT and OpenVINO).
int64_t peak_rss_bytes() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;  // "VmHWM:  1234 kB"
    struct rusage ru {};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<int64_t>(ru.ru_maxrss) * 1024;  // Linux reports KiB
}

double stage_gflops(const StageTiming &t) { return t.seconds > 0 ? 2.0 * double(t.macs) / t.seconds / 1e9 : 0.0; }

// One schedule's model and what its timed runs measured.
struct Candidate {
    std::string name;
    Model model;
    Tensor y;  // reused: a timed pass allocates nothing
    std::vector<double> ms;
    ForwardProfile profile, mean_profile;
};

void bench(const BenchOptions &o) {
    if (o.runs < 1 || o.warmup < 0 || o.threads < 0) return fail("--runs must be >= 1, --warmup and --threads >= 0");
    auto backend = parse_backend(o.backend);
    if (!backend) return fail("--backend: " + backend.message());
    if (o.threads > 0) set_num_threads(o.threads);
    auto model = load_model(o.model, {*backend});
    if (!model) return fail(model.status());
    auto shape = parse_shape(o.input_shape, 4, 4);
    if (!shape) return fail("--input-shape: " + shape.message());
    std::vector<Candidate> candidates;
    if (o.schedules.empty()) candidates.push_back({model->schedule().name(), *model, {}, {}, {}, {}});
    for (const std::string &spec : o.schedules) {
        auto scheduled = with_schedule_spec(*model, spec);
        if (!scheduled) return fail(scheduled.status());
        candidates.push_back({spec, *scheduled, {}, {}, {}, {}});
    }
    Tensor x(*shape);
    std::mt19937 rng(1234);
    std::uniform_real_distribution<float> uniform(0.f, 1.f);
    for (float &v : x.data) v = uniform(rng);

    // The yardstick: this machine's CPU FMA throughput on as many workers as the forward passes
    // use. A GPU's peak is not measured (0 unless given).
    double peak = o.peak_gflops;
    if (peak <= 0 && *backend == Backend::Cpu) {
        const int workers = o.threads > 0 ? o.threads : std::max(1, int(std::thread::hardware_concurrency()));
        auto measured = runtime::measure_fma_peak_gflops(workers);
        if (!measured) return fail(measured.status());
        peak = *measured;
    }

    for (Candidate &c : candidates) {
        for (int i = 0; i < o.warmup; ++i) {
            Status ok = c.model.forward_into(x, c.y);
            if (!ok) return fail(ok);
        }
    }
    for (int i = 0; i < o.runs; ++i) {
        for (size_t k = 0; k < candidates.size(); ++k) {
            Candidate &c = candidates[(k + size_t(i)) % candidates.size()];  // rotating order
            const auto t0 = std::chrono::steady_clock::now();
            Status ok = c.model.forward_into(x, c.y, &c.profile);
            const std::chrono::duration<double, std::milli> dt = std::chrono::steady_clock::now() - t0;
            if (!ok) return fail(ok);
            c.ms.push_back(dt.count());
            for (const auto &[kind, v] : c.profile.seconds_by_stage_kind)
                c.mean_profile.seconds_by_stage_kind[kind] += v / o.runs;
            if (c.mean_profile.stages_timed.empty()) {
                c.mean_profile.stages_timed = c.profile.stages_timed;
                for (auto &t : c.mean_profile.stages_timed) t.seconds = 0;
            }
            for (size_t s = 0; s < c.profile.stages_timed.size(); ++s)
                c.mean_profile.stages_timed[s].seconds += c.profile.stages_timed[s].seconds / o.runs;
        }
    }

    nlohmann::json comparison = nlohmann::json::array();
    for (size_t k = 0; k < candidates.size(); ++k) {
        const Candidate &c = candidates[k];
        const double median = median_of(c.ms);
        const double gflops = 2.0 * double(c.profile.macs) / (median * 1e-3) / 1e9;
        const double images_per_s = double((*shape)[0]) / (median * 1e-3);
        const double min = *std::min_element(c.ms.begin(), c.ms.end());
        const double max = *std::max_element(c.ms.begin(), c.ms.end());
        if (o.json) {
            nlohmann::json j;
            j["schedule"] = c.name;
            j["schedule_table"] = c.model.schedule().name();
            j["median_ms"] = median;
            j["min_ms"] = min;
            j["max_ms"] = max;
            j["images_per_s"] = images_per_s;
            j["gflops"] = gflops;
            j["peak_fraction"] = peak > 0 ? nlohmann::json(gflops / peak) : nlohmann::json(nullptr);
            nlohmann::json stages = nlohmann::json::object();
            for (const auto &[kind, v] : c.mean_profile.seconds_by_stage_kind) stages[kind] = v * 1e3;
            j["stages"] = stages;
            if (o.per_stage) {
                nlohmann::json per = nlohmann::json::array();
                for (const auto &t : c.mean_profile.stages_timed)
                    per.push_back({{"module", t.module}, {"kind", t.kind}, {"detail", t.detail}, {"macs", t.macs},
                                   {"ms", t.seconds * 1e3}, {"gflops", stage_gflops(t)}, {"variant", t.variant}});
                j["per_stage"] = per;
            }
            j["auto_stages"] = c.profile.auto_stages;
            j["auto_fallbacks"] = c.profile.auto_fallbacks;
            comparison.push_back(j);
            continue;
        }
        if (k == 0) {
            std::printf("model        %s\n", o.model.c_str());
            std::printf("backend      %s\n", backend_name(*backend));
            std::printf("input        %s, %d runs after %d warm-up%s\n", shape_to_string(*shape).c_str(), o.runs,
                        o.warmup, candidates.size() > 1 ? ", schedules interleaved" : "");
            std::printf("cpu target   %s\n", cpu_target().c_str());
            if (peak > 0)
                std::printf("peak         %.1f GFLOP/s FP32 FMA (%s)\n", peak, o.peak_gflops <= 0 ? "measured" : "given");
            else
                std::printf("peak         not measured on a GPU backend (give --peak-gflops)\n");
            std::printf("memory       %s %.1f MiB, peak RSS %.1f MiB\n",
                        *backend == Backend::Cpu ? "arena" : "device buffers",
                        double(c.profile.arena_bytes) / (1 << 20), double(peak_rss_bytes()) / (1 << 20));
        }
        std::printf("schedule     %s\n", c.model.schedule().name().c_str());
        std::printf("time (ms)    median %.3f   min %.3f   max %.3f", median, min, max);
        if (k > 0) std::printf("   (%.2fx the median of %s)", median / median_of(candidates[0].ms), candidates[0].name.c_str());
        std::printf("\n");
        std::printf("throughput   %.2f images/s, %.1f GFLOP/s (%.3f GMAC per pass)", images_per_s, gflops,
                    double(c.profile.macs) / 1e9);
        if (peak > 0) std::printf(", %.1f%% of peak", 100.0 * gflops / peak);
        std::printf("\n");
        if (c.profile.auto_stages > 0)
            std::printf("auto         %d of %d stages ran their %s build; %d refused the shape and ran manual\n",
                        c.profile.auto_stages - c.profile.auto_fallbacks, c.profile.stages,
                        *backend == Backend::Cpu ? "Adams2019" : "Anderson2021", c.profile.auto_fallbacks);
        std::printf("stages       mean ms per pass by kind (profiled runs):\n");
        for (const auto &[kind, v] : c.mean_profile.seconds_by_stage_kind)
            std::printf("  %-26s %9.3f\n", kind.c_str(), v * 1e3);
        if (o.per_stage) {
            std::printf("per stage    mean ms, GFLOP/s, variant:\n");
            for (const auto &t : c.mean_profile.stages_timed)
                std::printf("  %-24s %-28s %-46s %9.3f %7.1f  %s\n", t.kind.c_str(), t.detail.c_str(),
                            t.module.c_str(), t.seconds * 1e3, stage_gflops(t), t.variant.c_str());
        }
    }
    if (!o.json) return;
    // The first schedule's numbers at the top level (the single-schedule format), all in "schedules".
    const Candidate &first = candidates[0];
    nlohmann::json j = comparison[0];
    j["model"] = o.model;
    j["backend"] = backend_name(*backend);
    j["input_shape"] = *shape;
    j["threads"] = o.threads;
    j["runs"] = o.runs;
    j["cpu_target"] = cpu_target();
    j["macs"] = first.profile.macs;
    j["peak_gflops"] = peak > 0 ? nlohmann::json(peak) : nlohmann::json(nullptr);
    j["peak_measured"] = o.peak_gflops <= 0 && peak > 0;
    j["arena_bytes"] = first.profile.arena_bytes;
    j["peak_rss_bytes"] = peak_rss_bytes();
    if (candidates.size() > 1) j["schedules"] = comparison;
    std::cout << j.dump(2) << "\n";
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
    cmd->add_option("--schedule", o->schedules,
                    "tuned (the shipped table, else the built-in policy), policy (the built-in rules), manual, auto "
                    "(Adams2019; Anderson2021 on a GPU) or a table file "
                    "(a GPU runs manual or auto builds: other variants run manual); several "
                    "(comma-separated or repeated) are compared in the same run (default: tuned)")
        ->delimiter(',');
    cmd->add_option("--peak-gflops", o->peak_gflops, "FP32 peak for peak_fraction (default: measure it)");
    cmd->add_flag("--per-stage", o->per_stage, "time every stage, not only every kind");
    cmd->add_flag("--json", o->json, "print one JSON object");
    cmd->callback([o] { bench(*o); });
}

}  // namespace ae2d::cli
