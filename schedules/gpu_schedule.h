// GPU schedules (CUDA, OpenCL) for the ae2d stages, kept apart from the algorithms in generators/.
// A generator uses these when its target has a GPU feature, and the CPU schedules otherwise.
//
// Every loop of a GPU stage is a block or a thread loop, or runs inside one: a serial loop
// outside the blocks would launch one kernel per iteration. Batch and channels therefore join
// the block dimensions. Tails are guarded (GuardWithIf) on every output, so any extent,
// 1 included, is correct; intermediates that must have a constant shape round up instead, which
// is safe because their sources are zero-padded or clamped (see ops.h).
//
// Verified for correctness on POCL (OpenCL on the CPU) and not timed on a GPU: the tile sizes
// below are first choices from the usual rules (coalesced x, 128-256 threads a block, a few
// kilobytes of shared memory), not measured ones.
#pragma once

#include "Halide.h"
#include "auto_estimates.h"
#include "conv_schedule.h"

#include <vector>

namespace ae2d::schedules::gpu {

// Element-wise stages over (x, y, c, n): 32 x 8 threads a block over (x, y), consecutive
// threads on consecutive x (coalesced loads and stores); channels and batch are the third block
// dimension. Applied the same under each of `specializations` (the algorithm simplifies there).
inline void schedule_elementwise(Halide::Func out, const std::vector<Halide::Expr> &specializations = {}) {
    using namespace Halide;
    Var x = out.args()[0], y = out.args()[1], c = out.args()[2], n = out.args()[3];
    Var xo("xo"), yo("yo"), xi("xi"), yi("yi"), cn("cn");
    auto schedule = [&](Stage s) {
        s.gpu_tile(x, y, xo, yo, xi, yi, 32, 8, TailStrategy::GuardWithIf).fuse(c, n, cn).gpu_blocks(cn);
    };
    for (const Expr &cond : specializations) {
        schedule(out.specialize(cond));
    }
    schedule(out);
}

// Runs a stage that sits at the GPU block level (outside the loops over threads) on one thread
// of the block: without a loop over threads of its own, every thread would run it, and an
// update (a += b) would race with itself.
inline void on_one_thread(Halide::Stage s) {
    Halide::Var one_thread("one_thread");
    s.split(Halide::Var::outermost(), Halide::Var::outermost(), one_thread, 1).gpu_threads(one_thread);
}

// A per-plane reduction `sum` over `plane` (x, y), finished by `result` (c, n): one block per
// (c, n) plane. 32 x 8 threads each accumulate a strided part of the plane (rfactor over the
// inner parts of x and y, tails guarded) in double, as the CPU schedule does, so the result
// differs from the CPU's only in the order of the double additions. One thread then adds the
// 256 partial sums (in shared memory) and finishes the plane.
inline void schedule_plane_reduction(Halide::Func result, Halide::Func sum, const Halide::RDom &plane) {
    using namespace Halide;
    Var c = result.args()[0], n = result.args()[1];
    Var plane_c("plane_c"), one_thread("one_thread"), lane_x("lane_x"), lane_y("lane_y");
    RVar rxo("rxo"), rxi("rxi"), ryo("ryo"), ryi("ryi");
    result.compute_root()
        .split(c, plane_c, one_thread, 1)
        .reorder(one_thread, plane_c, n)
        .gpu_threads(one_thread)
        .gpu_blocks(plane_c, n);
    Func partial = sum.update()
                       .split(plane.x, rxo, rxi, 32, TailStrategy::GuardWithIf)
                       .split(plane.y, ryo, ryi, 8, TailStrategy::GuardWithIf)
                       .rfactor({{rxi, lane_x}, {ryi, lane_y}});
    sum.compute_at(result, plane_c).store_in(MemoryType::GPUShared);
    on_one_thread(sum);
    on_one_thread(sum.update());
    partial.compute_at(result, plane_c).store_in(MemoryType::GPUShared).gpu_threads(lane_x, lane_y);
    partial.update().gpu_threads(lane_x, lane_y);
}

// A small (c, n) result: 64 channels a block, batch as the second block dimension.
inline void schedule_per_channel(Halide::Func out) {
    using namespace Halide;
    Var c = out.args()[0], n = out.args()[1];
    Var co("co"), ci("ci");
    out.split(c, co, ci, 64, TailStrategy::GuardWithIf).gpu_blocks(co, n).gpu_threads(ci);
}

// Convolutions (conv2d, norm_prelu_conv2d, norm_prelu_upsample_conv2d).
//
// A block computes a tile of kTileX x kTileY outputs for kChannelsPerThread output channels of
// one sample, with kTileX x (kTileY / kRowsPerThread) threads; each thread owns a column of
// kRowsPerThread rows x kChannelsPerThread channels. The input channels are taken in chunks of
// kChunkChannels:
//   for each chunk (all threads):
//     phased, the chunk's source tile (with the fused instance norm + PReLU, up-sampling and zero
//       padding computed into it), is staged in shared memory by all threads;
//     each thread sums its outputs over the chunk's channels and the kernel taps in registers
//       (`partial`, an rfactor of the reduction over input channels) and adds them to `conv`,
//       the block's accumulator in shared memory (one shared read-modify-write per output per
//       chunk, against kChunkChannels x taps FMAs in registers).
//   the output is copied from `conv`, tails guarded.
// `conv` rounds its tile up to whole threads, so every thread has the same unrolled work:
// channels past the last read clamped weights, rows and columns past the end read the zero
// padding, and those results are not copied out.
// Shared memory: the accumulator 16 x 16 x 8 floats (8 KiB) and the source tile, e.g. 18 x 18 x 4
// floats (5 KiB) for a 3x3 stride-1 kernel, 18 x 2 x 36 x 4 (21 KiB) for a 5x5 stride-2 one, so a
// block stays within the 48 KiB every CUDA device and most OpenCL ones have for kernels up to 9 x 9.
constexpr int kTileX = 16;
constexpr int kTileY = 16;
constexpr int kRowsPerThread = 2;
constexpr int kChannelsPerThread = 8;
constexpr int kChunkChannels = 4;

inline void schedule_conv(const ConvStage &s) {
    using namespace Halide;
    Func output = s.output, conv = s.conv, phased = s.phased;
    Var x = output.args()[0], y = output.args()[1], co = output.args()[2], n = output.args()[3];

    // ---- output: blocks over (x tiles, y tiles, channel groups x batch), threads over (x, row pairs)
    Var xo("xo"), xi("xi"), yo("yo"), yi("yi"), ty("ty"), yr("yr"), cg("cg"), ci("ci"), block("block");
    output.split(x, xo, xi, kTileX, TailStrategy::GuardWithIf)
        .split(y, yo, yi, kTileY, TailStrategy::GuardWithIf)
        .split(yi, ty, yr, kRowsPerThread, TailStrategy::GuardWithIf)
        .split(co, cg, ci, kChannelsPerThread, TailStrategy::GuardWithIf)
        .reorder(ci, yr, xi, ty, xo, yo, cg, n)
        .fuse(cg, n, block)
        .unroll(ci)
        .unroll(yr)
        .gpu_threads(xi, ty)
        .gpu_blocks(xo, yo, block);

    // ---- partial: one thread's outputs summed over one chunk of input channels, in registers
    RVar kx = s.taps.x, ky = s.taps.y, rci = s.taps.z;
    RVar chunk("chunk"), chunk_ci("chunk_ci");
    Var chunk_index("chunk_index");
    Func partial = conv.update()
                       .split(rci, chunk, chunk_ci, kChunkChannels, TailStrategy::GuardWithIf)
                       .rfactor(chunk, chunk_index);

    // ---- conv: the block's accumulator in shared memory, the same thread layout as the output
    Var cx = conv.args()[0], cy = conv.args()[1], cc = conv.args()[2], cn = conv.args()[3];
    Var cxo("cxo"), cxi("cxi"), cyo("cyo"), cyi("cyi"), cyt("cyt"), cyr("cyr"), cco("cco"), cci("cci");
    conv.compute_at(output, xo).store_in(MemoryType::GPUShared);
    auto threads = [&](Stage st) {
        st.split(cx, cxo, cxi, kTileX, TailStrategy::RoundUp)
            .split(cy, cyo, cyi, kTileY, TailStrategy::RoundUp)
            .split(cyi, cyt, cyr, kRowsPerThread)
            .split(cc, cco, cci, kChannelsPerThread, TailStrategy::RoundUp)
            .unroll(cci)
            .unroll(cyr)
            .gpu_threads(cxi, cyt);
    };
    threads(conv);
    conv.reorder(cci, cyr, cxi, cyt, cxo, cyo, cco, cn);
    threads(conv.update());
    conv.update().reorder(cci, cyr, cxi, cyt, cxo, cyo, cco, cn, chunk);

    // partial: per thread, kRowsPerThread x kChannelsPerThread sums, unrolled; taps and the
    // chunk's channels are loops around them.
    std::vector<Var> p = partial.args();  // (x, y, co, n, chunk_index)
    partial.compute_at(conv, cxi).unroll(p[0]).unroll(p[1]).unroll(p[2]);
    partial.update().reorder(p[2], p[1], p[0], kx, ky, chunk_ci, p[3], p[4]).unroll(p[0]).unroll(p[1]).unroll(p[2]);

    // ---- phased: the chunk's source tile in shared memory, staged by all threads
    std::vector<Var> a = phased.args();  // (xh, phase, y, c, n)
    Var pxo("pxo"), pxi("pxi"), pyo("pyo"), pyi("pyi");
    phased.compute_at(conv, chunk)
        .store_in(MemoryType::GPUShared)
        .split(a[0], pxo, pxi, kTileX, TailStrategy::GuardWithIf)
        .split(a[2], pyo, pyi, kTileY / kRowsPerThread, TailStrategy::GuardWithIf)
        .reorder(a[1], a[3], a[4], pxo, pyo, pxi, pyi)
        .gpu_threads(pxi, pyi);
}

}  // namespace ae2d::schedules::gpu

namespace ae2d::schedules {

// The element-wise schedule for the generator's target: GPU blocks and threads, or CPU vectors
// and cores (cpu_schedule.h). The one choice every element-wise generator makes.
inline void schedule_elementwise_for(Halide::Func out, const Halide::Target &t,
                                     const std::vector<Halide::Expr> &specializations = {}) {
    if (t.has_gpu_feature()) {
        gpu::schedule_elementwise(out, specializations);
    } else {
        schedule_elementwise(out, t, specializations);
    }
}

// The schedule section of an element-wise generator: the "auto" baseline gets only the estimates
// of its output and arguments (estimate_arguments), every other build schedule_elementwise_for.
template<typename Output, typename... Args>
void schedule_elementwise_stage(bool autoscheduled, const Halide::Target &t, Output &output, Args &...args) {
    if (autoscheduled) {
        estimate_arguments(output, args...);
    } else {
        schedule_elementwise_for(output, t);
    }
}

}  // namespace ae2d::schedules
