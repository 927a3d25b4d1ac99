// Algorithm building blocks shared by the ae2d generators (no scheduling here: see schedules/).
// Tensors are PyTorch NCHW float32, i.e. Halide dims (x = W, y = H, c, n), x innermost.
#pragma once

#include "Halide.h"

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace ae2d::ops {

using namespace Halide;

// Every ae2d buffer is indexed from 0 in every dimension, as PyTorch tensors are.
template<typename... Bufs>
void require_zero_mins(Bufs &...buffers) {
    auto one = [](auto &buffer) {
        for (int d = 0; d < buffer.dimensions(); d++) buffer.dim(d).set_min(0);
    };
    (one(buffers), ...);
}

// PReLU with one slope per channel: v if v >= 0, slope * v otherwise.
inline Expr prelu(const Expr &v, const Expr &slope) {
    return select(v >= 0.0f, v, slope * v);
}

// Instance norm applied as a per-(c, n) affine map, then PReLU:
// act(x, y, c, n) = prelu(in * scale(c, n) + shift(c, n)).
inline Func norm_prelu(const Func &in, const Func &scale, const Func &shift, const Func &slope,
                       const std::string &name = "act") {
    Var x("x"), y("y"), c("c"), n("n");
    Func act(name);
    act(x, y, c, n) = prelu(in(x, y, c, n) * scale(c, n) + shift(c, n), slope(c));
    return act;
}

// `f` restricted to [0, width) x [0, height) in (x, y), zero outside: the zero padding of a conv.
// Reads of `f` are clamped into that rectangle, so `f` is never evaluated outside it.
inline Func zero_padded(const Func &f, const Expr &width, const Expr &height,
                        const std::string &name = "padded") {
    Func padded = BoundaryConditions::constant_exterior(f, 0.0f, {{0, width}, {0, height}, {}, {}});
    Func named(name);
    Var x("x"), y("y"), c("c"), n("n");
    named(x, y, c, n) = padded(x, y, c, n);
    return named;
}

// One axis of PyTorch's bilinear interpolation with align_corners=True (CPU kernel, float math):
// scale = (in - 1) / (out - 1) (0 when out == 1), src = scale * i, i0 = min((int)src, in - 1),
// i1 = min(i0 + 1, in - 1), l1 = clamp(src - i0, 0, 1), l0 = 1 - l1. (The min and clamp are
// PyTorch's guards against rounding; they also bound the reads for Halide.)
struct LinearTaps {
    Expr i0, i1, l0, l1;
};

inline LinearTaps align_corners_taps(const Expr &i, const Expr &in_extent, const Expr &out_extent) {
    Expr scale = select(out_extent > 1,
                        cast<float>(in_extent - 1) / cast<float>(max(out_extent - 1, 1)), 0.0f);
    Expr src = scale * cast<float>(i);
    Expr i0 = clamp(cast<int>(src), 0, in_extent - 1);  // src >= 0: truncation is floor
    Expr i1 = min(i0 + 1, in_extent - 1);
    Expr l1 = clamp(src - cast<float>(i0), 0.0f, 1.0f);
    Expr l0 = 1.0f - l1;
    return {i0, i1, l0, l1};
}

// Bilinear up-sampling (align_corners=True) of `in` (extents in_w x in_h) to out_w x out_h:
// out = l0_y * (l0_x * v00 + l1_x * v01) + l1_y * (l0_x * v10 + l1_x * v11), as PyTorch's CPU
// kernel combines the four taps. Valid for 0 <= x < out_w, 0 <= y < out_h.
//
// Along x, when out_w is in_w or 2 in_w (ae2d's factors), the taps i0, i1 of output x lie in the
// window base - 1 .. base + 1 with base = x / factor (align_corners maps x to x * (in - 1) /
// (out - 1), within half a pixel below x / factor), so the taps are picked from three loads at
// base + constant (dense, interleaved for factor 2) instead of read at computed addresses
// (which compiled to one scalar load per lane on AVX2). Schedules specialize on each of `x_window_cases`, which removes the other form;
// both forms read the same taps and compute the same values.
struct Upsampled {
    Func up;
    std::vector<Expr> x_window_cases;
};

inline Upsampled upsample_bilinear(const Func &in, const Expr &in_w, const Expr &in_h, const Expr &out_w,
                                   const Expr &out_h, const std::string &name = "up") {
    Var x("x"), y("y"), c("c"), n("n");
    LinearTaps tx = align_corners_taps(x, in_w, out_w);
    LinearTaps ty = align_corners_taps(y, in_h, out_h);

    Expr same = out_w == in_w;
    Expr doubled = !same && out_w == 2 * in_w;
    Expr windowed = same || doubled;
    Expr base = select(same, x, x / 2);
    auto tap_pair = [&](const Expr &row) {
        Expr below = in(clamp(likely(base - 1), 0, in_w - 1), row, c, n);
        Expr at = in(clamp(likely(base), 0, in_w - 1), row, c, n);
        Expr above = in(clamp(likely(base + 1), 0, in_w - 1), row, c, n);
        Expr v0 = select(windowed, select(tx.i0 == base, at, below), in(tx.i0, row, c, n));
        Expr v1 = select(windowed, select(tx.i1 == base + 1, above, tx.i1 == base, at, below),
                         in(tx.i1, row, c, n));
        return std::make_pair(v0, v1);
    };
    auto [v00, v01] = tap_pair(ty.i0);
    auto [v10, v11] = tap_pair(ty.i1);
    Func up(name);
    up(x, y, c, n) = ty.l0 * (tx.l0 * v00 + tx.l1 * v01) + ty.l1 * (tx.l0 * v10 + tx.l1 * v11);
    return {up, {same, doubled}};
}

// A convolution over zero-padded `src` with weights w(kx, ky, ci, co) (PyTorch's (co, ci, kh, kw)):
// conv(x, y, co, n) = init(co) + sum_{ci, ky, kx} w(kx, ky, ci, co) *
//                     src(x * stride_x + kx - pad_x, y * stride_y + ky - pad_y, ci, n).
// src is read through `phased`, src split into stride_x phases along x:
//   phased(xh, phase, y, c, n) = src(xh * stride_x + phase, y, c, n),
// and a tap reads phased(x + (kx - pad_x) div stride_x, (kx - pad_x) mod stride_x, ...), the same
// element; consecutive outputs then read consecutive elements of `phased` whatever the stride.
// `kernel` is the reduction domain (kx, ky, ci); the schedule orders and unrolls its loops.
// With read_phased = false the taps read src directly and `phased` is undefined (Anderson2021
// builds; see gpu_autoscheduled in auto_estimates.h).
struct Convolution {
    Func conv;
    RDom kernel;
    Func phased;
};

inline Convolution convolution(const Func &src, const Func &weights, const Expr &kernel_w,
                               const Expr &kernel_h, const Expr &in_channels, const Expr &stride_x,
                               const Expr &stride_y, const Expr &pad_x, const Expr &pad_y,
                               const Func &init, bool read_phased = true) {
    Var x("x"), y("y"), co("co"), n("n"), xh("xh"), phase("phase"), c("c");
    RDom r(0, kernel_w, 0, kernel_h, 0, in_channels, "tap");
    Expr tap_x = r.x - pad_x;  // Halide's integer / and % round toward -infinity
    Expr tap_y = y * stride_y + r.y - pad_y;
    Func conv("conv");
    conv(x, y, co, n) = init(co);
    if (!read_phased) {
        conv(x, y, co, n) += weights(r.x, r.y, r.z, co) * src(x * stride_x + tap_x, tap_y, r.z, n);
        return {conv, r, Func()};
    }
    Func phased("phased");
    phased(xh, phase, y, c, n) = src(xh * stride_x + phase, y, c, n);
    conv(x, y, co, n) += weights(r.x, r.y, r.z, co) * phased(x + tap_x / stride_x, tap_x % stride_x, tap_y, r.z, n);
    return {conv, r, phased};
}

// Winograd F(m x m, 3x3) (Lavin and Gray, 2016), m = 4 or 2: a 3x3 stride-1 convolution
// (correlation, as PyTorch's) computed on m x m output tiles, each from an (m + 2) x (m + 2) tile
// of the source:
//   tile = A^T [ sum_ci (G g G^T) . (B^T d B) ] A
// F(4x4): 36 multiplies per tile and channel pair instead of 144; F(2x2): 16 instead of 36, with
// transformed weights 16/9 the size of the 3x3 ones rather than 4x (for planes so small and deep
// that streaming F(4x4)'s weights costs more than the multiplies it saves). The transforms are
// additions and small constant multiplies. Tile (tx, ty) holds outputs x = m tx + i,
// y = m ty + j; (ex, ey) index the transformed domain. The matrices are the standard ones for the
// points 0, -1, 1, -2, 2, infinity (F(4x4)) and 0, -1, 1, infinity (F(2x2)).
//
// The weight transform G g G^T depends on the weights only, so it runs once per weight tensor
// (the winograd_weights stage, when a model first runs a Winograd variant) and the conv stages
// read its result packed in blocks of kChannelBlock output channels (see
// winograd_weights_unpacked): a register tile's weights for one input channel are consecutive,
// and so is each block's stream over the input channels.
struct WinogradWeights {
    Func taps;  // the weights g(kx, ky, ci, co), as their own Func (the schedule transposes them)
    Func gw;    // transform along kx: gw(ex, ky, ci, co) = (G g)(ex, ky)
    Func u;     // and along ky: u(ex, ey, ci, co) = (G g G^T)(ex, ey)
};

// The rows of G applied to one row (g0, g1, g2) of a 3x3 kernel, for output tiles of `tile`.
inline std::vector<Expr> winograd_g(int tile, const Expr &g0, const Expr &g1, const Expr &g2) {
    if (tile == 2) return {g0, (g0 + g1 + g2) * 0.5f, (g0 - g1 + g2) * 0.5f, g2};
    return {g0 * 0.25f,
            (g0 + g1 + g2) * (-1.0f / 6),
            (g0 - g1 + g2) * (-1.0f / 6),
            g0 * (1.0f / 24) + g1 * (1.0f / 12) + g2 * (1.0f / 6),
            g0 * (1.0f / 24) - g1 * (1.0f / 12) + g2 * (1.0f / 6),
            g2};
}

inline WinogradWeights winograd_weights(const Func &weights, int tile) {
    Var x("x"), y("y"), ci("ci"), co("co"), ex("ex"), ey("ey"), j("j");
    WinogradWeights w;
    w.taps = Func("taps");
    w.taps(x, y, ci, co) = weights(x, y, ci, co);
    w.gw = Func("gw");
    w.gw(ex, j, ci, co) = mux(ex, winograd_g(tile, w.taps(0, j, ci, co), w.taps(1, j, ci, co), w.taps(2, j, ci, co)));
    w.u = Func("u");
    w.u(ex, ey, ci, co) = mux(ey, winograd_g(tile, w.gw(ex, 0, ci, co), w.gw(ex, 1, ci, co), w.gw(ex, 2, ci, co)));
    return w;
}

// Output channels per block of the packed weight layouts: the Winograd one below and the
// channel-blocked one of the "cvec" variant (conv_weights): two AVX2 vectors, one AVX-512
// vector, four SSE vectors.
constexpr int kChannelBlock = 16;

// The packed transformed weights of output tiles of `tile` (p = tile + 2 transformed points),
// packed(co % kChannelBlock, ci, ex + p ey, co / kChannelBlock), zero past the last channel,
// read as u(ex, ey, ci, co). The block index is clamped: a register tile may run past the last
// block (those results are dropped).
inline Func winograd_weights_unpacked(const Func &packed, const Expr &blocks, int tile) {
    Var ex("ex"), ey("ey"), ci("ci"), co("co");
    Func u("u");
    u(ex, ey, ci, co) =
        packed(co % kChannelBlock, ci, ex + (tile + 2) * ey, clamp(co / kChannelBlock, 0, blocks - 1));
    return u;
}

// The Winograd variants of the conv stages take `packed` as their weights input (see above):
// true when its extents are those of a 3x3 conv's packed weights for output tiles of `tile`,
// (16, ci, (tile + 2)^2, ceil(co / 16)).
template<typename Buf>
Expr is_packed_winograd_weights(const Buf &packed, int tile) {
    return packed.dim(0).extent() == kChannelBlock && packed.dim(2).extent() == (tile + 2) * (tile + 2);
}

struct Winograd {
    Func source;  // the padded source, src(x, y, c, n), as its own Func (the schedule stores it per chunk)
    Func tmp;     // input transform along x: tmp(ex, j, tx, ty, ci, n) = (B^T d)(ex, j)
    Func v;       // and along y: v(ex, ey, tx, ty, ci, n) = (B^T d B)(ex, ey)
    Func m;       // m(ex, ey, tx, ty, co, n) = sum_ci u(ex, ey, ci, co) * v(ex, ey, tx, ty, ci, n)
    RDom channels;  // ci of m
    Func z;       // output transform along ex, in output x: z(x, ey, ty, co, n) = (A^T m)(x % tile, ey)
    Func out;     // out(x, y, co, n) = init(co) + (A^T m A)(x % tile, y % tile) of tile (x / tile, y / tile)
    int tile = 4;  // output tile size m

    // What the schedule (schedules/winograd_schedule.h) places.
    template<typename Funcs>
    Funcs funcs() const { return {source, tmp, v, m, channels, z, tile}; }
};

// `u` is the transformed weights u(ex, ey, ci, co) (winograd_weights, or its packed form read
// through winograd_weights_unpacked) for output tiles of `tile` (4 or 2).
inline Winograd winograd_3x3(const Func &src, const Func &u, const Expr &in_channels, const Expr &pad_x,
                             const Expr &pad_y, const Func &init, int tile) {
    using Row = std::vector<Expr>;
    // Rows of B^T applied to d0..d(p-1) and of A^T to m0..m(p-1).
    auto bt = [tile](const Row &d) -> Row {
        if (tile == 2) return {d[0] - d[2], d[1] + d[2], d[2] - d[1], d[1] - d[3]};
        return {4.0f * d[0] - 5.0f * d[2] + d[4],
                -4.0f * (d[1] + d[2]) + d[3] + d[4],
                4.0f * (d[1] - d[2]) - d[3] + d[4],
                2.0f * (d[3] - d[1]) + d[4] - d[2],
                2.0f * (d[1] - d[3]) + d[4] - d[2],
                4.0f * d[1] - 5.0f * d[3] + d[5]};
    };
    auto at = [tile](const Row &m) -> Row {
        if (tile == 2) return {m[0] + m[1] + m[2], m[1] - m[2] - m[3]};
        return {m[0] + m[1] + m[2] + m[3] + m[4],
                (m[1] - m[2]) + 2.0f * (m[3] - m[4]),
                (m[1] + m[2]) + 4.0f * (m[3] + m[4]),
                (m[1] - m[2]) + 8.0f * (m[3] - m[4]) + m[5]};
    };
    const int points = tile + 2;
    auto row = [points](const std::function<Expr(int)> &f) {
        Row r;
        for (int k = 0; k < points; k++) r.push_back(f(k));
        return r;
    };

    Var x("x"), y("y"), c("c"), n("n"), co("co"), ci("ci");
    Var ex("ex"), ey("ey"), tx("tx"), ty("ty"), j("j");
    Winograd w;
    w.tile = tile;
    w.source = Func("source");
    w.source(x, y, c, n) = src(x, y, c, n);

    w.tmp = Func("tmp");
    w.tmp(ex, j, tx, ty, ci, n) =
        mux(ex, bt(row([&](int i) { return w.source(tile * tx + i - pad_x, tile * ty + j - pad_y, ci, n); })));
    w.v = Func("v");
    w.v(ex, ey, tx, ty, ci, n) = mux(ey, bt(row([&](int k) { return w.tmp(ex, k, tx, ty, ci, n); })));

    w.channels = RDom(0, in_channels, "ci");
    w.m = Func("m");
    w.m(ex, ey, tx, ty, co, n) = 0.0f;
    w.m(ex, ey, tx, ty, co, n) += u(ex, ey, w.channels, co) * w.v(ex, ey, tx, ty, w.channels, n);

    w.z = Func("z");
    w.z(x, ey, ty, co, n) = mux(x % tile, at(row([&](int k) { return w.m(k, ey, x / tile, ty, co, n); })));
    w.out = Func("winograd");
    w.out(x, y, co, n) = init(co) + mux(y % tile, at(row([&](int k) { return w.z(x, k, y / tile, co, n); })));
    return w;
}

// winograd_3x3 with the packed transformed weights of a conv stage's Winograd variant.
template<typename Buf>
Winograd winograd_3x3_packed(const Func &src, const Buf &packed, const Expr &pad_x, const Expr &pad_y,
                             const Func &init, int tile) {
    return winograd_3x3(src, winograd_weights_unpacked(packed, packed.dim(3).extent(), tile), packed.dim(1).extent(),
                        pad_x, pad_y, init, tile);
}

// Weights with the output-channel index clamped into [0, out_channels): schedules compute whole
// blocks of output channels, so a block may run past the last channel (those results are dropped).
inline Func weights_clamped(const Func &weights, const Expr &out_channels) {
    return BoundaryConditions::repeat_edge(weights, {{}, {}, {}, {0, out_channels}});
}


// The weights of a direct convolution as w(kx, ky, ci, co), from a conv stage's weights input:
// PyTorch's layout (kx, ky, ci, co), with co clamped where the schedule rounds channel blocks up,
// or (channel_blocked) the layout the channel_blocked_weights stage packs once per tensor,
// (co % kChannelBlock, kx + kernel_w * ky, ci, co / kChannelBlock), zero past the last channel.
// That layout keeps no kernel extents; ae2d pads every conv by k / 2, so they follow from the
// padding, and `valid` checks them against the input.
struct ConvWeights {
    Func w;
    Expr kernel_w, kernel_h, in_channels;
    Expr valid;
};

template<typename Buf>
ConvWeights conv_weights(const Buf &weights, bool channel_blocked, bool clamp_channels, const Expr &pad_x,
                         const Expr &pad_y) {
    if (!channel_blocked) {
        Func w = clamp_channels ? weights_clamped(weights, weights.dim(3).extent()) : Func(weights);
        return {w, weights.dim(0).extent(), weights.dim(1).extent(), weights.dim(2).extent(), Expr(true)};
    }
    Expr kernel_w = 2 * pad_x + 1, kernel_h = 2 * pad_y + 1;
    Var x("x"), y("y"), ci("ci"), co("co");
    Func w("blocked_weights");
    // The clamp only bounds the block index for Halide (a schedule never reads past the last block).
    w(x, y, ci, co) = weights(co % kChannelBlock, x + kernel_w * y, ci,
                              clamp(co / kChannelBlock, 0, weights.dim(3).extent() - 1));
    Expr valid = weights.dim(0).extent() == kChannelBlock && weights.dim(1).extent() == kernel_w * kernel_h;
    return {w, kernel_w, kernel_h, weights.dim(2).extent(), valid};
}

// An up-sampling convolution computed at the source's resolution: conv(pad(up(act)), w) with
// up a linear map on each channel's plane (bilinear, align_corners) and w a linear map across
// channels per tap, so the two commute and
//   conv(x, y, co) = sum_{t = (tx, ty)} pad(up(z_t))(x + tx - pad_x, y + ty - pad_y, co),
//   z_t(x, y, co)  = sum_ci w(tx, ty, ci, co) * act(x, y, ci)   at the source's resolution.
// The products (a 1x1 convolution per tap) run on the source plane, 1 / (factor_x factor_y) of
// the up-sampled one: 4x fewer multiplies than the direct conv at factor 2, and unlike Winograd
// no transforms and the weights as they are (PyTorch's (kx, ky, ci, co)). The sum over taps
// re-reads z through up's four taps; it is the same linear combination of the same products, in
// another order.
// The products run over the plane's pixels as one row, p = x + in_w y (act_flat), so that small
// planes (4 x 4, 8 x 8) fill whole vectors: z(p, k, n) with k = t + taps co, t = tx + kw ty, so
// that one output channel's taps are consecutive in the weights. The sum reads them through
// z_channels, channels innermost, and z_plane, the source plane again, indexed by
//   j = co % 16 + 16 (t + taps (co / 16))   (16 channels of one tap consecutive).
// `act` must be defined past the source's extent (the schedule computes whole register tiles).
struct UpsampleConvAtSource {
    Func act_flat, z, z_channels, sum;
    RDom in_channels;         // z's reduction
    RDom taps;                // sum's reduction (tx, ty)
    Expr kernel_w, kernel_h;  // the taps' extents, 2 pad + 1
    std::vector<Expr> x_window_cases;
};

// The weight of input channel ci in product column k = t + taps co of the at-source products,
// t = tx + kernel_w ty: weights(tx, ty, ci, co) as PyTorch stores them.
template<typename Buf>
Expr weight_of_product(const Buf &weights, const Expr &k, const Expr &kernel_w, const Expr &taps, const Expr &ci) {
    const Expr t = k % taps;
    // The clamp only bounds the channel for Halide (a schedule never reads past the last one).
    const Expr co = clamp(k / taps, 0, weights.dim(3).extent() - 1);
    return weights(t % kernel_w, t / kernel_w, ci, co);
}

template<typename Buf>
UpsampleConvAtSource upsample_conv_at_source(const Func &act, const Buf &weights, const Expr &in_w, const Expr &in_h,
                                             const Expr &up_w, const Expr &up_h, const Expr &pad_x,
                                             const Expr &pad_y) {
    Var x("x"), y("y"), p("p"), k("k"), c("c"), t("t"), j("j"), co("co"), n("n");
    const Expr kernel_w = 2 * pad_x + 1, kernel_h = 2 * pad_y + 1, taps = kernel_w * kernel_h;
    RDom ci(0, weights.dim(2).extent(), "ci");
    Func act_flat("act_flat");
    act_flat(p, c, n) = act(p % in_w, p / in_w, c, n);
    Func z("z");
    z(p, k, n) = 0.0f;
    z(p, k, n) += weight_of_product(weights, k, kernel_w, taps, ci) * act_flat(p, ci, n);
    Func z_channels("z_channels");
    z_channels(c, t, p, n) = z(p, t + taps * c, n);
    Func z_plane("z_plane");
    const Expr jb = j / kChannelBlock;  // t + taps (co / 16)
    z_plane(x, y, j, n) = z_channels(j % kChannelBlock + kChannelBlock * (jb / taps), jb % taps, x + in_w * y, n);
    Upsampled up = upsample_bilinear(z_plane, in_w, in_h, up_w, up_h, "z_up");
    Func padded = zero_padded(up.up, up_w, up_h);
    RDom tap(0, kernel_w, 0, kernel_h, "tap");
    Func sum("sum");
    sum(x, y, co, n) = 0.0f;
    const Expr j_of_tap =
        co % kChannelBlock + kChannelBlock * (tap.x + kernel_w * tap.y + taps * (co / kChannelBlock));
    sum(x, y, co, n) += padded(x + tap.x - pad_x, y + tap.y - pad_y, j_of_tap, n);
    return {act_flat, z, z_channels, sum, ci, tap, kernel_w, kernel_h, up.x_window_cases};
}

// The same products and sum, for planes at least a vector wide: the products run along each
// source row, and the sum along output rows (x), split in two passes that read dense vectors:
//   columns(i, y, tx, co) = sum_ty pad_y(up_y(z_{tx, ty}))(i, y + ty - pad_y)   (source columns i,
//                           output rows y: the vertical up-sampling, its zero padding and ty)
//   conv(x, y, co)        = sum_tx pad_x(up_x(columns(., y, tx, co)))(x + tx - pad_x)
// Along x, output x = 2 m + phase reads columns m + (phase + tx - pad_x) div 2 + d - 1, d in
// {0, 1, 2} (align_corners puts both taps of up-sampled column xp in xp div 2 - 1 .. xp div 2 + 1),
// with weights phase_weight(m, phase, tx, d) computed once (the taps' weights, zero for the
// taps up_x does not use and in the padding). `even` and `odd` are the two phases, each a dense
// vector along m; conv interleaves them. Factor 2 along x only (`valid`).
//   act_rows(i, c, j, n):   the source, one row of all channels contiguous (c strides one row,
//                           not a whole plane: no cache-set conflicts between channels)
//   z(i, k, j, n):          k = t + taps co as in UpsampleConvAtSource, per source row j
// `act` must be defined past the source's extent (the schedule computes whole register tiles).
struct UpsampleConvAtSourceRows {
    Func conv;  // conv(x, y, co, n): even and odd interleaved
    Func act_rows, z, columns, columns_clamped, phase_weight, even, odd;
    RDom in_channels;  // z's reduction
    RDom taps_y;       // columns' reduction (ty)
    RDom taps_x;       // even's and odd's reduction (tx, d)
    Expr kernel_w, kernel_h;
    Expr valid;        // the condition the algorithm assumes (factor 2 along x)
};

template<typename Buf>
UpsampleConvAtSourceRows upsample_conv_at_source_rows(const Func &act, const Buf &weights, const Expr &in_w,
                                                      const Expr &in_h, const Expr &up_w, const Expr &up_h,
                                                      const Expr &pad_x, const Expr &pad_y) {
    Var x("x"), y("y"), i("i"), j("j"), c("c"), k("k"), co("co"), n("n"), m("m"), phase("phase"), tx("tx"),
        d("d"), xp("xp");
    const Expr kernel_w = 2 * pad_x + 1, kernel_h = 2 * pad_y + 1, taps = kernel_w * kernel_h;
    RDom ci(0, weights.dim(2).extent(), "ci");
    Func act_rows("act_rows");
    act_rows(i, c, j, n) = act(i, j, c, n);
    Func z("z");
    z(i, k, j, n) = 0.0f;
    z(i, k, j, n) += weight_of_product(weights, k, kernel_w, taps, ci) * act_rows(i, ci, j, n);

    RDom ty(0, kernel_h, "ty");
    Func columns("columns");
    {
        const Expr yp = y + ty - pad_y;
        const LinearTaps rows = align_corners_taps(clamp(yp, 0, up_h - 1), in_h, up_h);
        const Expr k_of_tap = tx + kernel_w * ty + taps * co;
        columns(i, y, tx, co, n) = 0.0f;
        columns(i, y, tx, co, n) +=
            select(yp >= 0 && yp < up_h, rows.l0 * z(i, k_of_tap, rows.i0, n) + rows.l1 * z(i, k_of_tap, rows.i1, n),
                   0.0f);
    }
    Func columns_clamped("columns_clamped");  // read up to two columns past each side
    columns_clamped(i, y, tx, co, n) = columns(clamp(likely(i), 0, in_w - 1), y, tx, co, n);

    Func x_weight("x_weight");  // the weight of column xp div 2 + d - 1 in pad_x(up_x(.))(xp)
    {
        const LinearTaps cols = align_corners_taps(clamp(xp, 0, up_w - 1), in_w, up_w);
        const Expr column = xp / 2 + d - 1;
        x_weight(xp, d) = select(xp >= 0 && xp < up_w,
                                 select(cols.i0 == column, cols.l0, 0.0f) + select(cols.i1 == column, cols.l1, 0.0f),
                                 0.0f);
    }
    Func phase_weight("phase_weight");
    phase_weight(m, phase, tx, d) = x_weight(2 * m + phase + tx - pad_x, d);

    RDom r(0, kernel_w, 0, 3, "tap_x");  // (tx, d)
    auto phase_sum = [&](int p, const std::string &name) {
        Func f(name);
        f(m, y, co, n) = 0.0f;
        const Expr column = m + (p + r.x - pad_x) / 2 + r.y - 1;
        f(m, y, co, n) += phase_weight(m, p, r.x, r.y) * columns_clamped(column, y, r.x, co, n);
        return f;
    };
    Func even = phase_sum(0, "even"), odd = phase_sum(1, "odd");
    Func conv("conv");
    conv(x, y, co, n) = select(x % 2 == 0, even(x / 2, y, co, n), odd(x / 2, y, co, n));
    return {conv, act_rows, z, columns, columns_clamped, phase_weight, even, odd, ci, ty, r, kernel_w, kernel_h,
            up_w == 2 * in_w};
}

}  // namespace ae2d::ops
