// ae2d info: version, compiled targets, this CPU's features and the variant that runs.
#include <iostream>
#include <sstream>

#include "ae2d/tune.h"
#include "cli/commands.h"
#include "runtime/schedule_table.h"

namespace ae2d::cli {

namespace {

// Which of the compiled CPU variants Halide's dispatcher picks here: the first whose
// features this CPU has (the targets are listed best first).
std::string detected_cpu() {
#if defined(__x86_64__)
    __builtin_cpu_init();
    std::ostringstream s;
    const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
                        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") &&
                        __builtin_cpu_supports("avx512dq");
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                      __builtin_cpu_supports("f16c") && __builtin_cpu_supports("avx");
    const bool sse41 = __builtin_cpu_supports("sse4.1");
    s << "cpu features: " << (avx512 ? "avx512(skylake) " : "") << (avx2 ? "avx2 fma f16c " : "")
      << (sse41 ? "sse4.1" : "") << "\n";
    s << "variant that runs: "
      << (avx512 ? "x86-64 AVX-512" : avx2 ? "x86-64 AVX2+FMA" : sse41 ? "x86-64 SSE4.1" : "none (SSE4.1 needed)");
    return s.str();
#elif defined(__aarch64__)
    return "cpu features: arm64 NEON\nvariant that runs: chosen by Halide's dispatcher (dot-product if present)";
#else
    return "cpu features: unknown";
#endif
}

}  // namespace

void add_info_command(CLI::App &app) {
    CLI::App *cmd = app.add_subcommand("info", "Version, compiled targets, CPU features and backends");
    cmd->callback([] {
        std::cout << "ae2d " << version() << "\n";
        std::cout << "cpu targets (best first, chosen at run time): " << AE2D_CPU_TARGETS << "\n";
        std::cout << detected_cpu() << "\n";
        const ScheduleTable shipped = ScheduleTable::shipped(cpu_target());
        std::cout << "schedule table: " << shipped.name() << ", " << shipped.rules().entries.size()
                  << " lines, default " << shipped.rules().default_variant << " (ae2d tune makes others)\n";
        // The cache directory, from the path of any configuration's entry.
        const std::string entry = tune_cache_path(Config{Arch::AE2d, 64, {2, 2}}, cpu_target());
        std::cout << "tune cache: "
                  << (entry.empty() ? std::string("off") : entry.substr(0, entry.rfind('/')) + "/ (ae2d tune --model M)")
                  << "\n";
        const std::string opencl = AE2D_OPENCL_TARGET, cuda = AE2D_CUDA_TARGET;
        std::cout << "gpu targets: opencl " << (opencl.empty() ? "(not built)" : opencl) << ", cuda "
                  << (cuda.empty() ? "(not built)" : cuda) << "\n";
        const std::string bundled = default_model_path();
        auto model = load_model(bundled);
        if (model)
            std::cout << "default model: " << bundled << ", " << model->config().to_string() << ", output "
                      << output_mode_name(model->output_mode()) << " (" << output_mode_formula(model->output_mode())
                      << ")" << (model->config().in_planes == 1 ? "; ae2d run denoises each channel of an RGB input" : "")
                      << "; schedule " << model->schedule().name() << "\n";
        else
            std::cout << "default model: " << model.message() << "\n";
        std::cout << "backends:\n";
        for (const BackendStatus &b : all_backend_status()) {
            std::cout << "  " << backend_name(b.backend) << ": " << (b.compiled ? "compiled in" : "not compiled in")
                      << ", " << (b.usable ? "usable" : "not usable") << " (" << b.detail << ")\n";
        }
    });
}

}  // namespace ae2d::cli
