// CPU SIMD schedules for the ae2d stages, kept apart from the algorithms in generators/.
// Each function takes the stage's Funcs and the target's natural vector width.
#pragma once

#include "Halide.h"

#include <vector>

namespace ae2d::schedules {

// Natural float32 vector width of the target (16 on AVX-512, 8 on AVX2, 4 on SSE/NEON).
inline int float_lanes(const Halide::Target &t) { return t.natural_vector_size<float>(); }

// Element-wise stages over (x, y, c, n): vectorize x, parallelize over rows of all planes.
// Rows are fused with channels and batch so that small planes still give every core work.
// (Measured: element-wise stages are memory-bound; this reaches copy bandwidth on 2 cores.)
// The same schedule is applied under each condition in `specializations` (the algorithm
// simplifies differently there) and otherwise.
inline void schedule_elementwise(Halide::Func out, const Halide::Target &t,
                                 const std::vector<Halide::Expr> &specializations = {}) {
    using namespace Halide;
    Var x = out.args()[0], y = out.args()[1], c = out.args()[2], n = out.args()[3];
    const int lanes = float_lanes(t);
    auto schedule = [&](Stage s) {
        Var yc("yc"), ycn("ycn");
        // GuardWithIf on the task split: fewer than 8 rows in all (1 x 1 planes, few channels)
        // must not shift the tasks to negative rows.
        s.fuse(y, c, yc).fuse(yc, n, ycn).parallel(ycn, 8, TailStrategy::GuardWithIf)
            .vectorize(x, lanes, TailStrategy::GuardWithIf);
    };
    for (const Expr &cond : specializations) {
        schedule(out.specialize(cond));
    }
    schedule(out);
}

// Up-sampling of a computed activation: parallel over strips of output rows of every plane; each
// strip computes the activation rows it reads once (each up-sampled value reads four). The same
// schedule applies under each of `specializations` (the algorithm simplifies there) and otherwise.
inline void schedule_upsample(Halide::Func out, Halide::Func act,
                              const std::vector<Halide::Expr> &specializations, const Halide::Target &t) {
    using namespace Halide;
    Var x = out.args()[0], y = out.args()[1], c = out.args()[2], n = out.args()[3];
    const int lanes = float_lanes(t);
    constexpr int kStripRows = 8;
    Var ys("ys"), yi("yi"), strip("strip");
    auto schedule = [&](Stage s) {
        s.split(y, ys, yi, kStripRows, TailStrategy::GuardWithIf)
            .reorder(x, yi, ys, c, n)
            .fuse(ys, c, strip)
            .fuse(strip, n, strip)
            .parallel(strip)
            .vectorize(x, lanes, TailStrategy::GuardWithIf);
    };
    for (const Expr &cond : specializations) {
        schedule(out.specialize(cond));
    }
    schedule(out);
    // GuardWithIf: act reads the input directly, so it must not run past the input's extent.
    act.compute_at(out, strip).vectorize(act.args()[0], lanes, TailStrategy::GuardWithIf);
}

// A per-plane reduction `sum` over `plane` (x, y), finished by `result` (c, n): parallel over
// planes, two vectors of double partial sums per plane (rfactor over x lanes; the x tail is
// predicated). Double accumulation keeps 1024 x 1024 planes exact to float rounding. Measured
// with two passes (mean, then squared deviations): 23 GB/s of input on 2 cores (256x256x64).
inline void schedule_plane_reduction(Halide::Func result, Halide::Func sum, const Halide::RDom &plane,
                                     const Halide::Target &t) {
    using namespace Halide;
    Var c = result.args()[0], n = result.args()[1];
    Var plane_index("plane_index"), lane("lane");
    const int partial_sums = 2 * t.natural_vector_size<double>();  // two vectors: hides FP add latency
    result.compute_root().fuse(c, n, plane_index).parallel(plane_index);
    sum.compute_at(result, plane_index);
    RVar rxo("rxo"), rxi("rxi");
    Func partial = sum.update()
                       .split(plane.x, rxo, rxi, partial_sums, TailStrategy::GuardWithIf)
                       .rfactor(rxi, lane);
    partial.compute_at(result, plane_index).vectorize(lane);
    partial.update().vectorize(lane);
}

// A small (c, n) result: one vectorized pass.
inline void schedule_per_channel(Halide::Func out, const Halide::Target &t) {
    using namespace Halide;
    out.vectorize(out.args()[0], float_lanes(t), TailStrategy::GuardWithIf);
}

}  // namespace ae2d::schedules
