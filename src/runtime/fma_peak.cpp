#include "runtime/fma_peak.h"

#include <algorithm>
#include <chrono>

#include "HalideBuffer.h"
#include "ae2d_fma_peak.h"
#include "runtime/halide_errors.h"

namespace ae2d::runtime {

Expected<double> measure_fma_peak_gflops(int tasks) {
    if (tasks < 1) return Status::Error("FMA peak: tasks must be >= 1, got " + std::to_string(tasks));
    constexpr int kAccumulators = 384;  // a multiple of every target's register tile (fma_peak.cpp)
    Halide::Runtime::Buffer<float> out(kAccumulators, tasks);
    auto run_seconds = [&](int iterations) -> Expected<double> {
        const auto t0 = std::chrono::steady_clock::now();
        const int code = ae2d_fma_peak(iterations, out);
        const std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
        if (code != 0) return Status::Error("FMA peak stage failed: " + take_last_halide_error());
        return dt.count();
    };
    // Calibrate to about 20 ms a run, long enough to wake every worker and hide the fork-join.
    int iterations = 1 << 12;
    for (;;) {
        auto s = run_seconds(iterations);
        if (!s) return s.status();
        if (*s >= 0.02 || iterations >= (1 << 26)) break;
        iterations *= 2;
    }
    double best = 1e30;
    for (int i = 0; i < 5; ++i) {
        auto s = run_seconds(iterations);
        if (!s) return s.status();
        best = std::min(best, *s);
    }
    const double flops = 2.0 * double(iterations) * kAccumulators * tasks;
    return flops / best / 1e9;
}

}  // namespace ae2d::runtime
