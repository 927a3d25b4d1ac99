// CPU schedule of the ae2d convolutions (conv2d, norm_prelu_conv2d, norm_prelu_upsample_conv2d).
//
// Layout is NCHW, so x is the contiguous dimension: vectors run along x and the weights are
// broadcast, in the spirit of Halide's apps/conv_layer (which vectorizes channels instead).
//
// Loop nest, outermost first:
//   parallel (n, strip of kStripRows output rows):
//     phased: the strip's source rows, all input channels, computed once (zero padding, norm and
//             PReLU, up-sampling are inlined into it; the fused up-sampling keeps the activation
//             rows in a strip Func of its own)
//     parallel channel group (kGroupBlocks blocks of co_block output channels):
//       pair of output rows:
//         block of co_block output channels:
//           conv_block: the block's channels x rows x whole width, in register tiles:
//             tile of co_block channels x rows x (vectors_x * lanes) columns = conv, held in
//             registers, accumulated over ci (loop), ky, kx (unrolled for known kernels), each
//             tap one broadcast weight per channel and one load per vector
//           output: copied from conv_block, every tail guarded
// conv_block rounds its tiles up (RoundUp), so a register tile always has the same shape and
// LLVM keeps it in registers: channels past the last read clamped weights, rows and columns
// past the end read the zero-padded source, and those results are never copied out. The
// guarded copy makes any output extent (1 included) correct.
//
// Measured (one core of a 2-core AVX2 Zen 2, 3x3 stride 1, 64 -> 64 at 256 x 256): 81 GFLOP/s
// against the core's 97 GFLOP/s FMA peak. Other shapes and the tuning: docs/schedules.md.
#pragma once

#include "Halide.h"
#include "cpu_schedule.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace ae2d::schedules {

// Register tile shape: rows x (vectors_x * lanes) outputs for each of co_block channels.
struct TileShape {
    int rows;       // output rows per tile
    int vectors_x;  // vectors along x per tile
};

struct ConvBlocking {
    int lanes;                  // floats per vector
    int co_block;               // output channels per tile: one broadcast weight each per tap
    TileShape wide;             // planes wider than a vector
    TileShape narrow;           // width <= one vector (deep, small planes): stack rows instead
    TileShape single_channel;   // fewer output channels than co_block (conv_final): 1 channel
};

// 16 vector registers (AVX2, SSE): 6 channels x 2 vectors = 12 accumulators, the 2 input
// vectors of the tap and a broadcast weight (3x3 64 -> 64 at 256 x 256, one AVX2 core: 6x1x2
// 63-71 GFLOP/s, the best of the channels x rows x vectors shapes in docs/schedules.md).
// 32 registers (AVX-512): 8 x 2 = 16 accumulators (not measured: no AVX-512 machine here);
// 32 columns leave no wasted columns on 64-wide planes.
inline ConvBlocking conv_blocking(const Halide::Target &t) {
    const int lanes = float_lanes(t);
    if (t.has_feature(Halide::Target::AVX512)) {
        return {lanes, 8, {1, 2}, {2, 1}, {2, 4}};
    }
    return {lanes, 6, {1, 2}, {2, 1}, {2, 4}};
}

// Output rows per parallel task: the strip's input rows are computed once and reused by every
// channel block; 8 rows keep the halo of a 3x3 or 5x5 kernel small (10/8, 12/8 rows computed).
constexpr int kStripRows = 8;
// Channel blocks per parallel task inside a strip (work unit for small planes with many channels).
constexpr int kGroupBlocks = 4;
// Strip tasks (strips x images) from which a strip's channel groups run one after another rather
// than as a parallel loop nested in the strips' one. Nested parallel loops cost more than they
// balance (JIT, 2 threads, 1x1 64 -> 64 at 63 x 64, 8 strips: 0.26 ms serial, 0.29-0.55
// nested); 4 rather than 2 keeps more tasks for more cores. A single strip (4 x 4, 8 x 8 planes)
// keeps its groups parallel: they are its only parallelism.
constexpr int kStripTasksForSerialGroups = 4;
// Output rows per conv_block (a multiple of every tile's rows).
constexpr int kRowsPerBlock = 2;

// The tunable parameters of schedule_conv; 0 keeps the default above (or conv_blocking's).
// The layout is fixed (NCHW, x innermost), so there is no layout block to tune.
struct ConvParams {
    int co_block = 0;      // output channels per register tile
    int tile_rows = 0;     // rows of the wide register tile
    int vectors_x = 0;     // vectors along x of the wide register tile
    int strip_rows = 0;    // output rows per parallel task
    int group_blocks = 0;  // channel blocks per parallel channel group
    bool winograd = false; // Winograd F(4x4, 3x3) instead of direct (3x3 stride-1 stages only)
    bool winograd_plane = false;  // Winograd products one (ex, ey) at a time over whole planes
    bool channel_vectorized = false;  // vectors along output channels (schedule_conv_channels)
    int winograd_tile = 4;  // Winograd output tiles: F(4x4, 3x3) or F(2x2, 3x3)
};

// ConvParams as generator parameters: a conv generator holds one of these as a member (Halide
// finds GeneratorParams anywhere inside the generator object), and the build names AOT variants
// by their values (schedules/variants.cmake). The defaults are the shipped "manual" schedule.
struct ConvTuning {
    Halide::GeneratorParam<int> co_block{"co_block", 0, 0, 16};
    Halide::GeneratorParam<int> tile_rows{"tile_rows", 0, 0, 8};
    Halide::GeneratorParam<int> vectors_x{"vectors_x", 0, 0, 8};
    Halide::GeneratorParam<int> strip_rows{"strip_rows", 0, 0, 64};
    Halide::GeneratorParam<int> group_blocks{"group_blocks", 0, 0, 64};
    Halide::GeneratorParam<bool> winograd{"winograd", false};
    Halide::GeneratorParam<bool> winograd_plane{"winograd_plane", false};
    Halide::GeneratorParam<bool> channel_vectorized{"channel_vectorized", false};
    Halide::GeneratorParam<int> winograd_tile{"winograd_tile", 4, 2, 4};
    // The up-sampling stage only: ops::upsample_conv_at_source_rows (the "srows" variant).
    Halide::GeneratorParam<bool> source_rows{"source_rows", false};

    ConvParams values() const {
        return {co_block,         tile_rows, vectors_x, strip_rows, group_blocks, winograd, winograd_plane,
                channel_vectorized, winograd_tile};
    }
};

// Kernel shapes (kx, ky) and x strides of the ae2d convs that get specialized code: square 1, 3,
// 5, 7 and the 1x3/1x5 (3x1/5x1 in PyTorch's kh x kw) blocks and first/last convs of non-square
// kernel sizes; stride 2 only where ae2d down-samples along x (kx = 1 kernels other than 1x1
// always run stride 1 along x). Any other shape or stride runs the generic loops.
struct KernelCase {
    int kw, kh, stride_x;
};

inline std::vector<KernelCase> specialized_kernels(bool has_stride) {
    std::vector<KernelCase> cases;
    for (auto [kw, kh] : std::vector<std::pair<int, int>>{
             {1, 1}, {3, 3}, {5, 5}, {7, 7}, {1, 3}, {1, 5}, {3, 1}, {5, 1}}) {
        cases.push_back({kw, kh, 1});
        if (has_stride && (kw > 1 || kh == 1)) {
            cases.push_back({kw, kh, 2});
        }
    }
    return cases;
}

struct ConvStage {
    Halide::Func output;                    // output(x, y, co, n) = conv(x, y, co, n)
    Halide::Func conv;                      // the accumulation (pure init, update over `taps`)
    Halide::RDom taps;                      // (kx, ky, ci)
    Halide::Func phased;                    // conv's source split in x stride phases (per strip)
    std::vector<Halide::Func> strip_funcs;  // other producers materialized per strip
    Halide::Expr kernel_w, kernel_h;        // weights' x and y extents
    Halide::Expr stride_x;                  // undefined when the stage is always stride 1
    std::vector<Halide::Expr> phased_specializations = {};  // conditions `phased` simplifies under
};

// Output channels per block of the packed weight layouts (ops::kChannelBlock: ops.h is the
// algorithm's, and schedules do not include it), which the channel-vectorized schedules (cvec
// here, wcvec and w2cvec in winograd_schedule.h) take as their blocks.
constexpr int kPackedChannelBlock = 16;

// The phased source is computed under each condition of s.phased_specializations and otherwise;
// stages with a runtime x stride get stride 1 and 2 as conditions, so that their source rows are
// read as dense vectors (or pairs of them) rather than one element at a time. Its loops partition
// on x, never on the phase: a partition over the phase (Halide's choice otherwise) needs a whole
// row of vectors in bounds, so on planes whose width is not a multiple of the vector (63
// columns, say) every row would take the clamped, gathering path.
inline std::vector<Halide::Expr> phased_conditions(const ConvStage &s) {
    if (!s.phased_specializations.empty() || !s.stride_x.defined()) return s.phased_specializations;
    return {s.stride_x == 1, s.stride_x == 2};
}

// Applies `schedule` to each specialization of the phased source, then to its general case.
template<typename ScheduleStage>
void schedule_phased(const ConvStage &s, ScheduleStage schedule) {
    Halide::Func f = s.phased;
    for (const Halide::Expr &cond : phased_conditions(s)) {
        schedule(f.specialize(cond));
    }
    schedule(Halide::Stage(f));
}

// The accumulation of one block of outputs, conv.in(output), and its pure variables.
struct ConvBlock {
    Halide::Func f;
    Halide::Var x, y, co, n;
};
inline ConvBlock conv_block_of(const ConvStage &s) {
    Halide::Func f = Halide::Func(s.conv).in(s.output);
    return {f, f.args()[0], f.args()[1], f.args()[2], f.args()[3]};
}

// The channel-vectorized schedules' output loops: one parallel task per block of
// kPackedChannelBlock output channels and image, the block's channels inside (innermost, or
// outside the pixels), the last block guarded.
struct ChannelBlockLoops {
    Halide::Var channel;  // within the block
    Halide::Var task;     // (block, image), parallel
};
inline ChannelBlockLoops parallel_channel_blocks(Halide::Func output, bool channels_innermost) {
    using namespace Halide;
    Var x = output.args()[0], y = output.args()[1], co = output.args()[2], n = output.args()[3];
    Var cob("cob"), coi("coi"), task("task");
    output.split(co, cob, coi, kPackedChannelBlock, TailStrategy::GuardWithIf);
    if (channels_innermost) {
        output.reorder(coi, x, y, cob, n);
    } else {
        output.reorder(x, y, coi, cob, n);
    }
    output.fuse(cob, n, task).parallel(task);
    return {coi, task};
}

// The "cvec" variant: vectors along output channels instead of x, for planes narrower than a
// vector (a 4 x 4 plane fills half of each AVX2 vector along x). The weights come packed in
// blocks of ops::kChannelBlock (16) output channels (ops::conv_weights), so a tap's weights for a
// block are consecutive.
//   parallel (block of 16 output channels, n):
//     phased: the whole source plane, all input channels (norm, PReLU, up-sampling inlined)
//     conv_block: the plane x 16 channels, stored channels innermost, in register tiles of
//       16 channels (vectors) x px x py pixels, accumulated over ci, ky, kx: per tap, the
//       block's weight vectors and one broadcast source value per pixel
//     output: copied out of conv_block (a transpose; every tail guarded)
// Pixels per tile: AVX2 4 x 1 (2 x 4 = 8 accumulators), AVX-512 4 x 2 (1 x 8), SSE 2 x 1 (4 x 2).
inline void schedule_conv_channels(const ConvStage &s, const Halide::Target &t) {
    using namespace Halide;
    const int lanes = float_lanes(t);
    constexpr int block = kPackedChannelBlock;
    const int px = lanes == 4 ? 2 : 4, py = t.has_feature(Target::AVX512) ? 2 : 1;

    Func output = s.output;
    const Var task = parallel_channel_blocks(output, /*channels_innermost=*/false).task;

    // The source once for all channel blocks, parallel over input channels (JIT, 2 threads, 1x1
    // 1024 -> 1024 at 4 x 4: 0.45 ms, against 2.53 with the source computed per block).
    for (Func f : s.strip_funcs) {
        f.compute_root().parallel(f.args()[2]).vectorize(f.args()[0], lanes, TailStrategy::GuardWithIf);
    }
    {
        Func f = s.phased;
        std::vector<Var> a = f.args();  // (xh, phase, y, c, n)
        f.compute_root();
        schedule_phased(s, [&](Stage st) {
            st.parallel(a[3]).vectorize(a[0], lanes, TailStrategy::RoundUp).never_partition(a[1]);
        });
    }

    const ConvBlock block_of = conv_block_of(s);
    Func conv_block = block_of.f;
    Var bx = block_of.x, by = block_of.y, bco = block_of.co, bn = block_of.n;
    Func conv = s.conv;
    Var xo("xo"), xi("xi"), yo("yo"), yi("yi"), bo("bo"), bi("bi");
    conv_block.compute_at(output, task)
        .reorder_storage(bco, bx, by, bn)
        .split(bco, bo, bi, block, TailStrategy::RoundUp)
        .split(bx, xo, xi, px, TailStrategy::RoundUp)
        .split(by, yo, yi, py, TailStrategy::RoundUp)
        .reorder(bi, xi, yi, xo, yo, bo, bn)
        .vectorize(bi, lanes)
        .unroll(bi)
        .unroll(xi)
        .unroll(yi);

    Var cx = conv.args()[0], cy = conv.args()[1], cc = conv.args()[2], cn = conv.args()[3];
    conv.compute_at(conv_block, xo)
        .reorder_storage(cc, cx, cy, cn)
        .vectorize(cc, lanes)
        .unroll(cc)
        .unroll(cx)
        .unroll(cy);
    RVar kx = s.taps.x, ky = s.taps.y, ci = s.taps.z;
    auto tile_loops = [&](Stage st, bool unroll_taps) {
        st.reorder(cc, cx, cy, kx, ky, ci, cn).vectorize(cc, lanes).unroll(cc).unroll(cx).unroll(cy);
        if (unroll_taps) st.unroll(kx).unroll(ky);
    };
    tile_loops(conv.update().specialize(s.kernel_w == 3 && s.kernel_h == 3), true);
    tile_loops(conv.update().specialize(s.kernel_w == 1 && s.kernel_h == 1), true);
    tile_loops(conv.update(), false);
}

// The up-sampling stage's "cvec" variant (ops::upsample_conv_at_source): per-tap products at the
// source's resolution, then their up-sampled sum, vectors along output channels like cvec.
struct UpsampleConvAtSourceStage {
    Halide::Func output;
    Halide::Func act_flat, z, z_channels, sum;  // ops::UpsampleConvAtSource
    Halide::RDom in_channels;                   // z's reduction
    Halide::RDom taps;                          // sum's reduction
    Halide::Expr kernel_w, kernel_h;
    std::vector<Halide::Expr> x_window_cases;
};

//   act_flat: the normalized source as one row of pixels, computed once, parallel over channels
//   parallel (block of 16 output channels, n):
//     z_block: every tap's products for the block, in the direct conv's register tiles
//       (conv_blocking: AVX2 6 (channel, tap) pairs x 2 vectors of pixels, 12 accumulators): per
//       input channel two vector loads of the source row and one broadcast weight per pair.
//       Vectors along the flattened plane fill whole vectors on 4 x 4 and 8 x 8 sources.
//     z_channels: the block's products turned channels innermost (a few KB, from L1)
//     output: per pixel, the 16 channels' sum over taps of up-sampled z (vectors along
//       channels, stored one element at a time: the output is x innermost)
// The products read the weights as they are (one channel's 9 taps consecutive): JIT, 2 threads,
// 3x3 up 2, 1024 -> 1024 from 4 x 4 in 2.9 ms. The tile shapes and layouts measured against it
// are in docs/schedules.md. On 32 x 32 outputs and up the per-pixel sum (scalar index math, one
// store per element) outweighs the products saved; srows (below) runs those.
inline void schedule_upsample_conv_at_source(const UpsampleConvAtSourceStage &s, const Halide::Target &t) {
    using namespace Halide;
    const ConvBlocking blocking = conv_blocking(t);
    const int lanes = blocking.lanes;
    constexpr int block = kPackedChannelBlock;

    Func output = s.output;
    const ChannelBlockLoops loops = parallel_channel_blocks(output, /*channels_innermost=*/true);
    output.vectorize(loops.channel, lanes);
    Var x = output.args()[0], task = loops.task;

    Func act_flat = s.act_flat;
    act_flat.compute_root().parallel(act_flat.args()[1]).vectorize(act_flat.args()[0], lanes, TailStrategy::RoundUp);

    Func z_block = Func(s.z).in();
    Var zp = z_block.args()[0], zk = z_block.args()[1], zn = z_block.args()[2];
    Var po("po"), pi("pi"), ko("ko"), ki("ki");
    z_block.compute_at(output, task)
        .split(zp, po, pi, blocking.wide.vectors_x * lanes, TailStrategy::RoundUp)
        .split(zk, ko, ki, blocking.co_block, TailStrategy::RoundUp)
        .reorder(pi, ki, po, ko, zn)
        .vectorize(pi, lanes)
        .unroll(pi)
        .unroll(ki);
    Func z = s.z;
    Var tp = z.args()[0], tk = z.args()[1], tn = z.args()[2];
    z.compute_at(z_block, po).vectorize(tp, lanes).unroll(tp).unroll(tk);
    z.update().reorder(tp, tk, s.in_channels.x, tn).vectorize(tp, lanes).unroll(tp).unroll(tk);

    Func z_channels = s.z_channels;
    z_channels.compute_at(output, task).vectorize(z_channels.args()[0], lanes);

    // One pixel's 16 channels: a constant extent keeps them in registers (the output's channel
    // split guards its tail, which would otherwise make it a heap allocation per pixel).
    Func sum = s.sum;
    Var sc = sum.args()[2];
    sum.compute_at(output, x).bound_extent(sc, block).vectorize(sc, lanes);
    for (const Expr &cond : s.x_window_cases) {
        sum.update()
            .specialize(cond && s.kernel_w == 3 && s.kernel_h == 3)
            .reorder(sc, s.taps.x, s.taps.y)
            .vectorize(sc, lanes)
            .unroll(s.taps.x)
            .unroll(s.taps.y);
    }
    sum.update().reorder(sc, s.taps.x, s.taps.y).vectorize(sc, lanes);
}

// The up-sampling stage's "srows" variant (ops::upsample_conv_at_source_rows): the same products
// as cvec's, along source rows, and a sum with vectors along x.
struct UpsampleConvAtSourceRowsStage {
    Halide::Func output;
    Halide::Func act_rows, z, columns, columns_clamped, phase_weight, even, odd;  // ops::UpsampleConvAtSourceRows
    Halide::RDom in_channels, taps_y, taps_x;
    Halide::Expr kernel_w, kernel_h;
};

// Output rows per parallel task of srows: the task's products cover the source rows its output
// rows read, 2 or 3 more than half of them, so longer bands recompute less; shorter ones keep
// the band's products (rows x source width x 144 floats) nearer the cache. About 16384 output
// pixels per band, 8 to 64 rows (JIT, 2 threads, 128 -> 128 from 128 x 128: 38.5 ms with bands
// of 64 rows, 43.5 with 16; the other sizes in docs/schedules.md).
inline Halide::Expr source_rows_band(const Halide::Expr &out_width) {
    return Halide::clamp(16384 / Halide::max(out_width, 1), 8, 64);
}

//   act_rows: the normalized source, computed once, parallel over rows
//   phase_weight: the x pass's weights, computed once
//   parallel (band of output rows (source_rows_band), block of 16 output channels, n):
//     z_block: every tap's products for the block on the band's source rows, in the direct
//       conv's register tiles (AVX2: 6 (channel, tap) pairs x 2 vectors along the row)
//     per output row, per channel:
//       columns: the vertical pass, vectors along the source row, its 3 taps accumulated in
//         registers; columns_clamped: the same with the row's ends repeated
//       per 2 vectors of output: even and odd (vectors along m, the weights and columns read
//         as dense vectors), interleaved into the output
// Even and odd output columns are summed apart, so that each reads its columns at a constant
// offset as dense vectors; act_rows keeps one source row of all channels contiguous, so that a
// register tile's channels do not fall in one L1 set. JIT, 2 threads, 128 -> 128 from 32 x 32:
// 2.8 ms, against 9.6 for cvec and 5.1 for wino. It loses to cvec on 4 x 4 and 8 x 8 sources
// (rows shorter than the tile).
inline void schedule_upsample_conv_at_source_rows(const UpsampleConvAtSourceRowsStage &s, const Halide::Target &t) {
    using namespace Halide;
    const ConvBlocking blocking = conv_blocking(t);
    const int lanes = blocking.lanes;
    constexpr int block = kPackedChannelBlock;

    Func output = s.output;
    Var x = output.args()[0], y = output.args()[1], co = output.args()[2], n = output.args()[3];
    Var xo("xo"), xi("xi"), yo("yo"), yi("yi"), cob("cob"), coi("coi"), band("band"), task("task");
    output.split(co, cob, coi, block, TailStrategy::GuardWithIf)
        .split(x, xo, xi, 2 * lanes, TailStrategy::GuardWithIf)
        .split(y, yo, yi, source_rows_band(output.output_buffer().dim(0).extent()), TailStrategy::GuardWithIf)
        .reorder(xi, xo, coi, yi, yo, cob, n)
        .fuse(yo, cob, band)
        .fuse(band, n, task)
        .parallel(task)
        .vectorize(xi);

    for (Func f : {s.even, s.odd}) {
        Var m = f.args()[0];
        f.compute_at(output, xo).bound_extent(m, lanes).vectorize(m, lanes);
        f.update()
            .specialize(s.kernel_w == 3)
            .reorder(m, s.taps_x.y, s.taps_x.x)
            .vectorize(m, lanes)
            .unroll(s.taps_x.x)
            .unroll(s.taps_x.y);
        f.update().reorder(m, s.taps_x.y, s.taps_x.x).vectorize(m, lanes).unroll(s.taps_x.y);
    }
    {
        Func w = s.phase_weight;
        std::vector<Var> a = w.args();  // (m, phase, tx, d)
        w.compute_root().bound(a[1], 0, 2).bound(a[2], 0, s.kernel_w).bound(a[3], 0, 3);
        w.vectorize(a[0], lanes, TailStrategy::RoundUp);
    }
    {
        Func f = s.columns_clamped;
        f.store_at(output, task).compute_at(output, coi).vectorize(f.args()[0], lanes, TailStrategy::GuardWithIf);
    }
    {
        Func f = s.columns;
        Var i = f.args()[0], tx = f.args()[2];
        f.store_at(output, task).compute_at(output, coi).vectorize(i, lanes, TailStrategy::RoundUp);
        f.update()
            .specialize(s.kernel_h == 3)
            .reorder(s.taps_y.x, i, tx)
            .vectorize(i, lanes, TailStrategy::RoundUp)
            .unroll(s.taps_y.x);
        f.update().reorder(s.taps_y.x, i, tx).vectorize(i, lanes, TailStrategy::RoundUp);
    }
    {
        Func f = s.act_rows;
        f.compute_root().parallel(f.args()[2]).vectorize(f.args()[0], lanes, TailStrategy::RoundUp);
    }
    Func z_block = Func(s.z).in();
    Var zi = z_block.args()[0], zk = z_block.args()[1], zj = z_block.args()[2], zn = z_block.args()[3];
    Var io("io"), ii("ii"), ko("ko"), ki("ki");
    z_block.compute_at(output, task)
        .split(zi, io, ii, blocking.wide.vectors_x * lanes, TailStrategy::RoundUp)
        .split(zk, ko, ki, blocking.co_block, TailStrategy::RoundUp)
        .reorder(ii, ki, io, ko, zj, zn)
        .vectorize(ii, lanes)
        .unroll(ii)
        .unroll(ki);
    Func z = s.z;
    Var ti = z.args()[0], tk = z.args()[1], tj = z.args()[2], tn = z.args()[3];
    z.compute_at(z_block, io).vectorize(ti, lanes).unroll(ti).unroll(tk);
    z.update().reorder(ti, tk, s.in_channels.x, tj, tn).vectorize(ti, lanes).unroll(ti).unroll(tk);
}

inline void schedule_conv(const ConvStage &s, const Halide::Target &t, const ConvParams &params = {}) {
    using namespace Halide;
    if (params.channel_vectorized) {
        schedule_conv_channels(s, t);
        return;
    }
    ConvBlocking blocking = conv_blocking(t);
    if (params.co_block > 0) blocking.co_block = params.co_block;
    if (params.tile_rows > 0) blocking.wide.rows = params.tile_rows;
    if (params.vectors_x > 0) blocking.wide.vectors_x = params.vectors_x;
    const int lanes = blocking.lanes;
    const int co_block = blocking.co_block;
    const int strip_rows = params.strip_rows > 0 ? params.strip_rows : kStripRows;
    const int group_blocks = params.group_blocks > 0 ? params.group_blocks : kGroupBlocks;
    const int rows_per_block = std::max(kRowsPerBlock, blocking.wide.rows);

    Func output = s.output;
    Var x = output.args()[0], y = output.args()[1], co = output.args()[2], n = output.args()[3];
    Expr out_width = output.output_buffer().dim(0).extent();
    Expr out_channels = output.output_buffer().dim(2).extent();
    Expr strip_tasks = (output.output_buffer().dim(1).extent() + strip_rows - 1) / strip_rows *
                       output.output_buffer().dim(3).extent();
    Expr channel_groups = (out_channels + co_block * group_blocks - 1) / (co_block * group_blocks);

    // ---- output: parallel strips; channel groups, in parallel (cgp, one group each) only where
    // the strips are few (kStripTasksForSerialGroups; otherwise cgp runs once); then pairs of
    // rows x channel blocks; the copy out of conv_block guards all tails. Rows outside channel
    // blocks: the source rows a block row reads (ci x (2 + k - 1) rows) stay in L2 across the
    // group's channel blocks (measured the same as blocks outside rows at 256x256, 64 channels,
    // where the whole strip fits L2; it is for wider planes). The outer loops are not
    // partitioned: conv_block rounds up, so they have no tail cases worth separate code.
    Var ys("ys"), yt("yt"), yi("yi"), cgp("cgp"), cg("cg"), cgi("cgi"), cob("cob"), coi("coi"),
        xv("xv"), task("task");
    output.split(y, ys, yt, strip_rows, TailStrategy::GuardWithIf)
        .split(yt, yt, yi, rows_per_block, TailStrategy::GuardWithIf)
        .split(co, cg, cgi, co_block * group_blocks, TailStrategy::GuardWithIf)
        .split(cg, cgp, cg, select(strip_tasks < kStripTasksForSerialGroups, 1, channel_groups),
               TailStrategy::GuardWithIf)
        .split(cgi, cob, coi, co_block, TailStrategy::GuardWithIf)
        .split(x, x, xv, lanes, TailStrategy::GuardWithIf)
        .reorder(xv, x, yi, coi, cob, yt, cg, cgp, ys, n);
    output
        .never_partition(cob, yt, cg, cgp, ys, n)
        .fuse(ys, n, task)
        .vectorize(xv)
        .parallel(task)
        .parallel(cgp);

    // ---- the strip's source rows, computed once per task, vectorized along x. Reading the source
    // split into x stride phases makes stride-2 taps plain vector loads (measured, 3x3 stride 2:
    // 37 -> 60 GFLOP/s over loads of every other element); it is stored (x, phase, c, y) so that
    // the rows one block row reads are contiguous (1x1: 44 -> 50 GFLOP/s over (x, phase, y, c)).
    for (Func f : s.strip_funcs) {  // these may read the input directly: no running past it
        f.compute_at(output, task).vectorize(f.args()[0], lanes, TailStrategy::GuardWithIf);
    }
    {
        Func f = s.phased;
        std::vector<Var> a = f.args();  // (xh, phase, y, c, n)
        f.compute_at(output, task).reorder_storage(a[0], a[1], a[3], a[2], a[4]);
        schedule_phased(s, [&](Stage st) {
            st.reorder(a[0], a[1], a[2], a[3], a[4])
                .vectorize(a[0], lanes, TailStrategy::RoundUp)
                .never_partition(a[1]);
        });
    }

    // ---- conv_block: one channel block of the strip, in whole register tiles (RoundUp)
    const ConvBlock block_of = conv_block_of(s);
    Func conv_block = block_of.f;
    Var bx = block_of.x, by = block_of.y, bco = block_of.co, bn = block_of.n;
    Func conv = s.conv;
    Var txo("txo"), txi("txi"), tyo("tyo"), tyi("tyi"), tco("tco"), tci("tci");
    // Allocated once per cgp iteration (a strip, or a channel group), not per block and row pair:
    // conv_block's size is a runtime value, so each allocation is a heap allocation.
    conv_block.compute_at(output, cob).hoist_storage(output, cgp);
    auto tiles = [&](Stage st, const TileShape &shape, int channels) {
        st.split(bx, txo, txi, lanes * shape.vectors_x, TailStrategy::RoundUp)
            .split(by, tyo, tyi, shape.rows, TailStrategy::RoundUp)
            .split(bco, tco, tci, channels, TailStrategy::RoundUp)
            .reorder(txi, tyi, tci, txo, tyo, tco, bn)
            .never_partition(txo, tyo, tco, bn)
            .vectorize(txi, lanes)
            .unroll(txi)
            .unroll(tyi)
            .unroll(tci);
    };
    tiles(conv_block.specialize(out_channels < co_block), blocking.single_channel, 1);
    tiles(conv_block.specialize(out_width <= lanes), blocking.narrow, co_block);
    tiles(conv_block, blocking.wide, co_block);

    // ---- conv: one register tile, accumulated over (ci, ky, kx)
    Var cx = conv.args()[0], cy = conv.args()[1], cc = conv.args()[2], cn = conv.args()[3];
    conv.compute_at(conv_block, txo).vectorize(cx, lanes).unroll(cx).unroll(cy).unroll(cc);
    RVar kx = s.taps.x, ky = s.taps.y, ci = s.taps.z;
    auto tile_loops = [&](Stage st, bool unroll_kx, bool unroll_ky) {
        st.reorder(cx, cy, cc, kx, ky, ci, cn).vectorize(cx, lanes).unroll(cx).unroll(cy).unroll(cc);
        if (unroll_kx) {
            st.unroll(kx);
        }
        if (unroll_ky) {
            st.unroll(ky);
        }
    };
    // Known kernels get unrolled taps with a constant x stride (the loads of one tap are then plain
    // vector loads at a constant offset). Measured (3x3 64->64, AVX2, one core): unrolling ky as
    // well as kx, 61 -> 77 GFLOP/s. Kernels of more than 9 taps unroll kx only: a row of 5 or 7
    // taps is work enough per ky iteration, and 74 more unrolled taps per variant cost compile time.
    Expr wide_channels = out_channels >= co_block;
    for (const KernelCase &k : specialized_kernels(s.stride_x.defined())) {
        Expr cond = wide_channels && s.kernel_w == k.kw && s.kernel_h == k.kh;
        if (s.stride_x.defined()) {
            cond = cond && s.stride_x == k.stride_x;
        }
        tile_loops(conv.update().specialize(cond), true, k.kw * k.kh <= 9);
    }
    // Fewer channels than a block (conv_final) and other kernel heights: kx unrolled, stride 1.
    for (int kw : {1, 3, 5, 7}) {
        Expr cond = s.kernel_w == kw;
        if (s.stride_x.defined()) {
            cond = cond && s.stride_x == 1;
        }
        tile_loops(conv.update().specialize(cond), true, false);
    }
    tile_loops(conv.update(), false, false);
}

}  // namespace ae2d::schedules
