// Which CPU variant of the multi-target AOT libraries runs: the best one this CPU supports, or a
// lower one named by AE2D_CPU_TARGET (to test or tune the SSE4.1 or AVX2 code on a newer CPU).
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <string>

#include "HalideRuntime.h"
#include "ae2d/schedule.h"

namespace ae2d {

namespace {

// The CPU variants, lowest first, as table targets (generators/CMakeLists.txt builds them).
const char *const kX86Targets[] = {"x86-64-sse41", "x86-64-avx2", "x86-64-avx512"};

int x86_rank(const std::string &target) {
    for (int i = 0; i < int(std::size(kX86Targets)); ++i)
        if (target == kX86Targets[i]) return i;
    return -1;
}

std::string detected_cpu_target() {
#if defined(__x86_64__)
    __builtin_cpu_init();
    // The features of the AOT targets in generators/CMakeLists.txt, best first.
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))
        return "x86-64-avx512";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c") &&
        __builtin_cpu_supports("avx"))
        return "x86-64-avx2";
    return "x86-64-sse41";
#elif defined(__aarch64__)
    return "arm64-neon";
#else
    return "unknown";
#endif
}

// AE2D_CPU_TARGET when it names an x86 variant this CPU can run, else the detected one. Read
// once, before any stage runs: each AOT library picks its variant at its first call and keeps it.
const std::string &effective_cpu_target() {
    static const std::string target = [] {
        const std::string detected = detected_cpu_target();
        const char *requested = std::getenv("AE2D_CPU_TARGET");
        if (requested == nullptr || *requested == '\0') return detected;
        const int want = x86_rank(requested), have = x86_rank(detected);
        return want >= 0 && have >= 0 && want <= have ? std::string(requested) : detected;
    }();
    return target;
}

bool has_feature(int count, const uint64_t *features, halide_target_feature_t f) {
    const int word = int(f) / 64;
    return word < count && (features[word] >> (int(f) % 64) & 1u) != 0;
}

// Halide's multi-target dispatch asks this for each variant, best first: variants above the
// effective target are refused, so the first one at or below it runs.
int can_use_target_features(int count, const uint64_t *features) {
    const int rank = x86_rank(effective_cpu_target());
    if (rank == 0) {
        for (halide_target_feature_t f : {halide_target_feature_avx, halide_target_feature_avx2, halide_target_feature_fma,
                                          halide_target_feature_f16c, halide_target_feature_avx512})
            if (has_feature(count, features, f)) return 0;
    } else if (rank == 1 && has_feature(count, features, halide_target_feature_avx512)) {
        return 0;
    }
    return halide_default_can_use_target_features(count, features);
}

const bool g_installed_at_startup = (halide_set_custom_can_use_target_features(can_use_target_features), true);

}  // namespace

std::string cpu_target() { return effective_cpu_target(); }

}  // namespace ae2d
