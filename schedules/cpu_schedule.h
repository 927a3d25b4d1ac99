// CPU SIMD schedules for the ae2d stages, kept apart from the algorithms in generators/.
// Each function takes the stage's Funcs and the target's natural vector width.
#pragma once

#include "Halide.h"

namespace ae2d::schedules {

// Natural float32 vector width of the target (16 on AVX-512, 8 on AVX2, 4 on SSE/NEON).
inline int float_lanes(const Halide::Target &t) { return t.natural_vector_size<float>(); }

// Element-wise stages over (x, y, c, n): vectorize x, parallelize over rows of all planes.
// Rows are fused with channels and batch so that small planes still give every core work.
// (Measured: element-wise stages are memory-bound; this reaches copy bandwidth on 2 cores.)
inline void schedule_elementwise(Halide::Func out, const Halide::Target &t) {
    using namespace Halide;
    Var x = out.args()[0], y = out.args()[1], c = out.args()[2], n = out.args()[3];
    const int lanes = float_lanes(t);
    Var yc("yc"), ycn("ycn");
    out.fuse(y, c, yc).fuse(yc, n, ycn).parallel(ycn, 8)
        .vectorize(x, lanes, TailStrategy::GuardWithIf);
}

}  // namespace ae2d::schedules
