// CPU schedule of the Winograd F(4x4, 3x3) and F(2x2, 3x3) convolutions (ops::winograd_3x3 in
// generators/ops.h): the "wino", "wplane", "wcvec" and "w2cvec" variants of the 3x3 stride-1 conv stages.
//
// Vectors run along tiles (tx): each lane is one 4x4 output tile. Loop nest ("wino"), outermost
// first:
//   parallel (n, tile row ty):
//     chunk of `chunk_tiles` tiles along x (4 * chunk_tiles output columns):
//       source: the chunk's 6 source rows, all input channels (norm, PReLU, up-sampling, zero
//               padding inlined), computed once
//       v: input transform of the chunk, all input channels and 36 (ex, ey) (tmp per channel)
//       m_block: for each (ex, ey) and block of co_block output channels, register tiles of
//                co_block channels x 2 vectors of tiles, accumulated over ci: one broadcast
//                weight per channel and one load per vector per channel, as the direct conv's
//                taps (this is the work that Winograd cuts 4x)
//       block of co_block output channels:
//         z: output transform along ex, written in output x (interleaved stores)
//         output: transform along ey, 4 rows, every tail guarded
//   The transformed weights are an input, made once per weight tensor (schedule_winograd_weights).
// "wplane" computes v and m_block for the whole plane first, m_block one (ex, ey) at a time.
//
// tmp stores tile vectors dense (not ex innermost, a 36-way interleave per store); v stores
// (tx, ex, ey, ci), not 36 rows at 4 KiB strides; chunks are 32 tiles (4 vectors), the best
// compromise between 256 x 256 x 64 and 64 x 64 x 256. One core of a 2-core AVX2 Zen 2, 3x3
// 64 -> 64 at 256 x 256 (JIT): 28.5 ms, against 57 for the direct conv. Each choice's
// measurements: docs/schedules.md.
#pragma once

#include "Halide.h"
#include "conv_schedule.h"
#include "cpu_schedule.h"

#include <vector>

namespace ae2d::schedules {

// The Funcs of ops::winograd_3x3 (generators/ops.h), as the schedule sees them.
struct WinogradFuncs {
    Halide::Func source, tmp, v, m;
    Halide::RDom channels;
    Halide::Func z;
    int tile = 4;  // output tile size: F(4x4, 3x3) or F(2x2, 3x3)
};

struct WinogradStage {
    Halide::Func output;                    // output(x, y, co, n) = the Winograd result
    WinogradFuncs w;
    std::vector<Halide::Func> strip_funcs;  // producers of w.source stored per chunk (up-sampling's act)
    std::vector<Halide::Expr> source_specializations = {};  // conditions w.source simplifies under
};

// Where the input transform runs: per chunk of a tile row (row mode: at row_level), or for the
// whole plane before the products (plane mode), one tile row of it at a time.
inline void schedule_input_transform(const WinogradStage &s, int lanes, bool plane,
                                     const Halide::LoopLevel &row_level) {
    using namespace Halide;
    const WinogradFuncs &w = s.w;
    Func v = w.v;
    std::vector<Var> va = v.args();  // (ex, ey, tx, ty, ci, n)
    Var vrow("vrow");
    if (plane) {
        v.compute_root().fuse(va[3], va[5], vrow).parallel(vrow);
    } else {
        v.compute_at(row_level);
    }
    const LoopLevel source_level = plane ? LoopLevel(v, vrow) : row_level;

    // ---- the source rows of a chunk (or tile row), computed once (2 of every 130 columns
    // recomputed at chunk edges).
    for (Func f : s.strip_funcs) {  // these read the input directly: no running past it
        f.compute_at(source_level).vectorize(f.args()[0], lanes, TailStrategy::GuardWithIf);
    }
    {
        Func f = w.source;
        Var sx = f.args()[0];
        for (const Expr &cond : s.source_specializations) {
            f.specialize(cond).vectorize(sx, lanes, TailStrategy::RoundUp);
        }
        f.compute_at(source_level).vectorize(sx, lanes, TailStrategy::RoundUp);
    }

    // ---- input transform: per input channel, tmp (6 x 6 rows of tile vectors) then v
    {
        const std::vector<Var> &a = va;
        Var txo("txo"), txi("txi");
        if (plane) {  // each (ex, ey)'s plane together, read whole per channel block
            v.reorder_storage(a[2], a[4], a[3], a[5], a[0], a[1]);
        } else {  // one channel's 36 rows together
            v.reorder_storage(a[2], a[0], a[1], a[4], a[3], a[5]);
        }
        v
            .split(a[2], txo, txi, lanes, TailStrategy::RoundUp)
            .reorder(txi, a[0], a[1], txo, a[4], plane ? vrow : a[3])
            .vectorize(txi)
            .unroll(a[0])
            .unroll(a[1]);
        Func tmp = w.tmp;
        std::vector<Var> b = tmp.args();  // (ex, j, tx, ty, ci, n)
        // tmp allocated once per tile row (plane) or chunk (row), not per input channel: its
        // size is a runtime value, so each allocation is a heap allocation.
        tmp.compute_at(v, a[4])
            .hoist_storage(plane ? LoopLevel(v, vrow) : row_level)
            .reorder_storage(b[2], b[0], b[1], b[3], b[4], b[5])  // tile vectors dense
            .split(b[2], txo, txi, lanes, TailStrategy::RoundUp)
            .reorder(txi, b[0], b[1], txo, b[3], b[4], b[5])
            .vectorize(txi)
            .unroll(b[0])
            .unroll(b[1]);
    }
}

// m accumulated in registers over ci: vectors along `vec`, the register tile's other dimensions
// `inner` and `outer` unrolled, in the pure definition and in the update, whose loops run `vec`,
// `inner`, `outer` innermost first (so that each broadcast is used right away: see the callers).
inline void register_accumulators(Halide::Func m, const Halide::RVar &ci, const Halide::Var &vec,
                                  const Halide::Var &inner, const Halide::Var &outer, int lanes) {
    std::vector<Halide::Var> b = m.args();  // (ex, ey, tx, ty, co, n)
    m.vectorize(vec, lanes).unroll(vec).unroll(inner).unroll(outer);
    m.update()
        .reorder(vec, inner, outer, ci, b[0], b[1], b[5])
        .vectorize(vec, lanes)
        .unroll(vec)
        .unroll(inner)
        .unroll(outer);
}

// The "wcvec" variant: the products with vectors along output channels, for planes of fewer
// tiles than a vector has lanes (16 x 16 outputs are 4 x 4 tiles, half of an AVX2 vector along
// tiles; 8 x 8 outputs a quarter). Loop nest, outermost first:
//   v: the whole plane's input transform first (as wplane)
//   parallel (block of 16 output channels, n):
//     m_block: for each (ex, ey), register tiles of 16 channels (vectors) x 4 tiles (4 x 1 or,
//       on planes 2 tiles wide, 2 x 2), accumulated over ci: per input channel, the block's
//       2 weight vectors (consecutive in the packed layout) and one broadcast value per tile
//     z, output: the output transform of the block, vectors along channels
// JIT, 2 threads, 3x3 512 -> 512 at 16 x 16: 4.4 ms, against 5.4 for wplane. The weights come
// in blocks of 16 output channels, so that each block's stream over ci is consecutive memory
// (packed (co, ci, ex, ey), it crosses a page per step).
inline void schedule_winograd_channels(const WinogradStage &s, const Halide::Target &t) {
    using namespace Halide;
    const int lanes = float_lanes(t);
    constexpr int block = kPackedChannelBlock;
    const WinogradFuncs &w = s.w;

    // Output channels of a block start at a multiple of 16 (GuardWithIf, not ShiftInwards), so
    // the block's packed weights are read as dense vectors. The output is written one scalar per
    // channel (vectors along channels would scatter): measured negligible against the products.
    Func output = s.output;
    Var x = output.args()[0], y = output.args()[1], co = output.args()[2], n = output.args()[3];
    Var ty("ty"), j("j"), cob("cob"), coi("coi"), task("task");
    output.split(co, cob, coi, block, TailStrategy::GuardWithIf)
        .split(y, ty, j, w.tile, TailStrategy::GuardWithIf)
        .reorder(coi, x, j, ty, cob, n)
        .fuse(cob, n, task)
        .parallel(task)
        .unroll(j);

    schedule_input_transform(s, lanes, /*plane=*/true, LoopLevel());

    Func m_block = Func(w.m).in(w.z);
    std::vector<Var> a = m_block.args();  // (ex, ey, tx, ty, co, n)
    Var txo("txo"), txi("txi"), tyo("tyo"), tyi("tyi"), bo("bo"), bi("bi");
    m_block.compute_at(output, task).reorder_storage(a[4], a[2], a[3], a[0], a[1], a[5]);
    auto register_tiles = [&](Stage st, int tiles_x, int tiles_y) {
        st.split(a[4], bo, bi, block, TailStrategy::RoundUp)
            .split(a[2], txo, txi, tiles_x, TailStrategy::RoundUp)
            .split(a[3], tyo, tyi, tiles_y, TailStrategy::RoundUp)
            .reorder(bi, txi, tyi, txo, tyo, a[0], a[1], bo, a[5])
            .vectorize(bi, lanes)
            .unroll(bi)
            .unroll(txi)
            .unroll(tyi);
    };
    Expr plane_tiles_x = (output.output_buffer().dim(0).extent() + w.tile - 1) / w.tile;
    register_tiles(m_block.specialize(plane_tiles_x <= 2), 2, 2);
    register_tiles(m_block, 4, 1);

    Func m = w.m;
    std::vector<Var> b = m.args();
    m.compute_at(m_block, txo).reorder_storage(b[4], b[2], b[3], b[0], b[1], b[5]);
    // per input channel: tile by tile, one broadcast each times the block's weight vectors
    register_accumulators(m, w.channels.x, b[4], b[2], b[3], lanes);

    Func z = w.z;
    std::vector<Var> c = z.args();  // (x, ey, ty, co, n)
    Var tx("tx"), i("i");
    z.compute_at(output, task)
        .reorder_storage(c[3], c[0], c[1], c[2], c[4])
        .split(c[0], tx, i, w.tile, TailStrategy::RoundUp)
        .reorder(c[3], i, tx, c[1], c[2], c[4])
        .vectorize(c[3], lanes)
        .unroll(i)
        .unroll(c[1]);
}

inline void schedule_winograd(const WinogradStage &s, const Halide::Target &t, const ConvParams &params = {}) {
    using namespace Halide;
    if (params.channel_vectorized) {
        schedule_winograd_channels(s, t);
        return;
    }
    const ConvBlocking blocking = conv_blocking(t);
    const int lanes = blocking.lanes;
    const int co_block = params.co_block > 0 ? params.co_block : blocking.co_block;
    const int vectors = 2;                   // tiles per register tile: 2 vectors (12 or 16 accumulators)
    const int chunk_tiles = 2 * vectors * lanes;  // 4 vectors of tiles: see the file's header
    const WinogradFuncs &w = s.w;

    Func output = s.output;
    Var x = output.args()[0], y = output.args()[1], co = output.args()[2], n = output.args()[3];
    Var ty("ty"), j("j"), xc("xc"), xi("xi"), xv("xv"), cob("cob"), coi("coi"), task("task");
    output.split(y, ty, j, w.tile, TailStrategy::GuardWithIf)
        .split(x, xc, xi, w.tile * chunk_tiles, TailStrategy::GuardWithIf)
        .split(co, cob, coi, co_block, TailStrategy::GuardWithIf)
        .split(xi, xi, xv, lanes, TailStrategy::GuardWithIf)
        .reorder(xv, xi, j, coi, cob, xc, ty, n)
        .never_partition(xc, cob, ty, n)
        .fuse(ty, n, task)
        .parallel(task)
        .vectorize(xv)
        .unroll(j);

    schedule_input_transform(s, lanes, params.winograd_plane, LoopLevel(output, xc));

    // ---- the products: m_block holds every output channel's 36 x chunk tiles (row mode) or
    // whole plane (plane mode); m accumulates one register tile over ci.
    Func m_block = Func(w.m).in(w.z);
    {
        std::vector<Var> a = m_block.args();  // (ex, ey, tx, ty, co, n)
        Var txo("txo"), txi("txi"), tyo("tyo"), tyi("tyi"), tco("tco"), tci("tci"), e("e");
        // Register tiles of co_block channels x tile_rows tile rows x tile_vectors vectors of tiles.
        auto register_tiles = [&](Stage st, int tile_vectors, int tile_rows) -> Stage {
            return st.split(a[2], txo, txi, tile_vectors * lanes, TailStrategy::RoundUp)
                .split(a[3], tyo, tyi, tile_rows, TailStrategy::RoundUp)
                .split(a[4], tco, tci, co_block, TailStrategy::RoundUp)
                .vectorize(txi, lanes)
                .unroll(txi)
                .unroll(tyi)
                .unroll(tci);
        };
        Func m = w.m;
        std::vector<Var> b = m.args();
        if (params.winograd_plane) {
            // One (ex, ey) at a time over the whole plane: its transformed weights (Cin x Cout)
            // are read from cache for every tile, instead of all 36 from memory per tile row.
            // Stored so that the channel blocks of a tile vector are written one after another.
            // A plane at most one vector of tiles wide (output width <= 4 lanes) takes register
            // tiles of 1 vector x 2 tile rows, not 2 vectors x 1 row, half of whose lanes would
            // idle.
            m_block.reorder_storage(a[2], a[4], a[3], a[5], a[0], a[1]).compute_root();
            auto plane_tiles = [&](Stage st, int tile_vectors, int tile_rows) {
                register_tiles(st, tile_vectors, tile_rows)
                    .reorder(txi, tyi, tci, txo, tyo, tco, a[0], a[1], a[5])
                    .fuse(a[0], a[1], e)
                    .parallel(e);
            };
            Expr tiles_x = (output.output_buffer().dim(0).extent() + w.tile - 1) / w.tile;
            plane_tiles(m_block.specialize(tiles_x <= lanes), 1, 2);
            plane_tiles(m_block, vectors, 1);
        } else {
            m_block.reorder_storage(a[2], a[0], a[1], a[4], a[3], a[5])  // tile vectors dense for z
                .compute_at(output, xc);
            register_tiles(m_block, vectors, 1).reorder(txi, tyi, tci, txo, tco, a[0], a[1], tyo, a[5]);
        }
        m.compute_at(m_block, txo);
        // Tile rows before channels: each channel's broadcast weight is used by both tile rows
        // of a narrow register tile right away. Channels first would keep all 6 broadcasts live
        // beside 12 accumulators and spill 4 per input channel (JIT, 2 threads, 3x3 256 -> 256
        // at 32 x 32: 2.69 ms, against 6.67 channels first).
        register_accumulators(m, w.channels.x, b[2], b[3], b[4], lanes);
    }

    // ---- output transform along ex, stored in output x: the 4 stores of a tile vector
    // interleave into dense ones.
    {
        Func z = w.z;
        std::vector<Var> a = z.args();  // (x, ey, ty, co, n)
        Var tx("tx"), i("i");
        z.compute_at(output, cob)
            .hoist_storage(output, xc)  // once per chunk, not per channel block
            .split(a[0], tx, i, w.tile, TailStrategy::RoundUp)
            .reorder(i, tx, a[1], a[2], a[3], a[4])
            .vectorize(tx, lanes, TailStrategy::RoundUp)
            .unroll(i)
            .unroll(a[1]);
    }

}

// The weight transform (ops::winograd_weights) into packed(coi, ci, e, cob), parallel over
// blocks of output channels. Per input channel, the 9 taps of the block's channels are transposed
// to co-major (one gather per tap and vector), then both transform passes run on dense vectors.
// It runs once per weight tensor; transposed, the transforms of a 512 -> 512 conv take 14 ms,
// against 26 reading the weights directly.
inline void schedule_winograd_weights(Halide::Func packed, Halide::Func gw, Halide::Func taps,
                                      const Halide::Target &t) {
    using namespace Halide;
    const int lanes = float_lanes(t);
    std::vector<Var> a = packed.args();  // (coi, ci, e, cob)
    packed.reorder(a[0], a[2], a[1], a[3])
        .vectorize(a[0], lanes)
        .unroll(a[0])
        .unroll(a[2])
        .parallel(a[3]);
    std::vector<Var> b = gw.args();  // (ex, ky, ci, co)
    gw.compute_at(packed, a[1]).reorder_storage(b[3], b[0], b[1], b[2])
        .vectorize(b[3], lanes, TailStrategy::RoundUp).unroll(b[0]).unroll(b[1]);
    std::vector<Var> c = taps.args();  // (kx, ky, ci, co)
    taps.compute_at(packed, a[1]).reorder_storage(c[3], c[0], c[1], c[2])
        .vectorize(c[3], lanes, TailStrategy::RoundUp).unroll(c[0]).unroll(c[1]);
}

}  // namespace ae2d::schedules
