// The machine's float32 FMA throughput, measured by the fma_peak Halide stage: the yardstick
// for `ae2d bench`'s peak_fraction (what fraction of the FMA units a forward pass keeps busy).
#pragma once

#include "ae2d/status.h"

namespace ae2d::runtime {

// GFLOP/s of `tasks` parallel tasks (one per worker thread) of register-resident FMAs: the best
// of a few runs of about 20 ms each, on the CPU variant Halide's dispatch picks.
Expected<double> measure_fma_peak_gflops(int tasks);

}  // namespace ae2d::runtime
