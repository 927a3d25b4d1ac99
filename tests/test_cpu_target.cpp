// AE2D_CPU_TARGET: the CPU variant of the multi-target libraries that runs (src/runtime/cpu_target.cpp).
// ctest runs this file's case twice: as is, and with AE2D_CPU_TARGET=x86-64-sse41 together with
// the parity suites (tests/CMakeLists.txt), so that the SSE4.1 code is tested on this CPU too.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>
#include <vector>

#include "HalideRuntime.h"
#include "ae2d/schedule.h"

#if defined(__x86_64__)
namespace {

// Asks Halide's dispatch, as each AOT wrapper does at its first call, whether a variant with
// these features may run.
bool dispatch_accepts(std::initializer_list<halide_target_feature_t> features) {
    std::vector<uint64_t> words((halide_target_feature_end + 63) / 64, 0);
    for (halide_target_feature_t f : features) words[size_t(f) / 64] |= uint64_t(1) << (int(f) % 64);
    return halide_can_use_target_features(int(words.size()), words.data()) != 0;
}

}  // namespace

TEST_CASE("AE2D_CPU_TARGET holds the multi-target dispatch to a lower CPU variant", "[cpu]") {
    const std::string target = ae2d::cpu_target();
    const char *requested = std::getenv("AE2D_CPU_TARGET");
    if (requested != nullptr && std::string(requested) == "x86-64-sse41") CHECK(target == "x86-64-sse41");
    const bool avx2 = dispatch_accepts({halide_target_feature_sse41, halide_target_feature_avx,
                                        halide_target_feature_avx2, halide_target_feature_fma,
                                        halide_target_feature_f16c});
    CHECK(avx2 == (target == "x86-64-avx2" || target == "x86-64-avx512"));
    CHECK(dispatch_accepts({halide_target_feature_sse41}));  // the baseline always runs
}
#endif
