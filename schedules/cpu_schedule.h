// CPU SIMD schedules for the ae2d stages, kept apart from the algorithms in generators/.
// Each function takes the stage's Funcs and the target's natural vector width.
#pragma once

#include "Halide.h"

#include <vector>

namespace ae2d::schedules {

// Natural float32 vector width of the target (16 on AVX-512, 8 on AVX2, 4 on SSE/NEON).
inline int float_lanes(const Halide::Target &t) { return t.natural_vector_size<float>(); }

// Element-wise stages over (x, y, c, n), vectors along x. With enough planes (channels x batch)
// each parallel task takes planes_per_task whole planes; otherwise strips of kRowsPerTask rows of
// every plane. The loops run x, y, plane, so that no row recomputes y, c, n by division (as a y
// fused into the parallel loop would): JIT, 2 threads, ResidualAdd 256 x 256 x 64 in 2.1 ms, the
// copy bandwidth. The same schedule is applied under each condition in `specializations` (the
// algorithm simplifies differently there) and otherwise.
constexpr int kPlanesPerTask = 8;
constexpr int kRowsPerTask = 8;
// Small planes: more planes per task, so that a task has at least kMinTaskValues values. Tasks
// of 8 planes of 4 x 4 cost more in the thread pool than their sums (JIT, 2 threads, ResidualAdd
// 4 x 4 x 1024: 5.5 us, against 10.5 with 8 planes a task); 8192 values is slower.
constexpr int kMinTaskValues = 4096;
inline Halide::Expr planes_per_task(const Halide::Expr &plane_values) {
    return Halide::max(kPlanesPerTask, kMinTaskValues / Halide::max(plane_values, 1));
}
inline void schedule_elementwise(Halide::Func out, const Halide::Target &t,
                                 const std::vector<Halide::Expr> &specializations = {}) {
    using namespace Halide;
    Var x = out.args()[0], y = out.args()[1], c = out.args()[2], n = out.args()[3];
    const int lanes = float_lanes(t);
    // GuardWithIf on the task splits: fewer planes or rows than a task must not shift the tasks
    // to negative indices.
    Expr plane_values = out.output_buffer().dim(0).extent() * out.output_buffer().dim(1).extent();
    auto by_planes = [&](Stage s, int vector) {
        Var plane("plane"), task("task"), pi("pi");
        s.fuse(c, n, plane)
            .split(plane, task, pi, planes_per_task(plane_values), TailStrategy::GuardWithIf)
            .reorder(x, y, pi, task)
            .parallel(task)
            .vectorize(x, vector, TailStrategy::GuardWithIf);
    };
    auto by_rows = [&](Stage s) {
        Var ys("ys"), yi("yi"), task("task");
        s.split(y, ys, yi, kRowsPerTask, TailStrategy::GuardWithIf)
            .fuse(ys, c, task)
            .fuse(task, n, task)
            .reorder(x, yi, task)
            .parallel(task)
            .vectorize(x, lanes, TailStrategy::GuardWithIf);
    };
    // Two tasks per core of a 2-core machine at least; fewer planes split rows instead.
    Expr many_planes = out.output_buffer().dim(2).extent() * out.output_buffer().dim(3).extent() >= 4 * kPlanesPerTask;
    // Planes at most half a vector wide (4 x 4 on AVX2) take half vectors, not masked whole ones:
    // 4 x 4 x 1024 in 12 us, against 27.
    Expr narrow = out.output_buffer().dim(0).extent() <= lanes / 2;
    auto schedule = [&](const Expr &cond) {  // cond undefined: the general case
        auto when = [&](const Expr &c) -> Stage { return out.specialize(cond.defined() ? cond && c : c); };
        by_planes(when(many_planes && narrow), lanes / 2);
        by_planes(when(many_planes), lanes);
        by_rows(cond.defined() ? Stage(out.specialize(cond)) : Stage(out));
    };
    for (const Expr &cond : specializations) {
        schedule(cond);
    }
    schedule(Expr());
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
// planes (planes_per_task per task), two vectors of double partial sums per plane (rfactor over x
// lanes; the x tail is predicated). Double accumulation keeps 1024 x 1024 planes exact to float
// rounding.
inline void schedule_plane_reduction(Halide::Func result, Halide::Func sum, const Halide::RDom &plane,
                                     const Halide::Target &t) {
    using namespace Halide;
    Var c = result.args()[0], n = result.args()[1];
    Var plane_index("plane_index"), task("task"), lane("lane");
    const int partial_sums = 2 * t.natural_vector_size<double>();  // two vectors: hides FP add latency
    // planes_per_task planes per parallel task: a task per plane costs more than the sums on
    // small planes.
    result.compute_root()
        .fuse(c, n, plane_index)
        .split(plane_index, task, plane_index, planes_per_task(plane.x.extent() * plane.y.extent()),
               TailStrategy::GuardWithIf)
        .parallel(task);
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
