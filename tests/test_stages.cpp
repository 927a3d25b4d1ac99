// Every AOT stage against a direct evaluation in double, on random data (fixed seeds), odd and
// non-square sizes, batch 2, the kernel shapes and strides of ae2d, extents 1 and 2; fused stages
// are also checked against the composition of the unfused ones.
//
// Tolerance: each reference value carries a bound on the error a float evaluation may make
// (Approx::bound), propagated through the same operations with unit roundoff u = 2^-24:
//   - a product or a sum of two terms rounds once: u * |result|;
//   - a sum of K float terms in any order (SIMD partial sums, FMA or not) errs by at most
//     K * u * sum|terms| (recursive summation bound, Higham, "Accuracy and Stability", 4.2);
//     a conv of K = ci * kx * ky taps therefore allows (K + 1) * u * sum|w * src|, plus the
//     propagated error of its source, sum |w| * bound(src);
//   - the bilinear coordinate src = scale * i is rounded once (an FMA may fold that rounding into
//     the weight), so the weights may move by in_extent * u: the bound adds in * u * sum|v|.
// A result passes when |got - value| <= 2 * bound + 1e-30 (2: second-order terms and slack).
// A mistake in indexing, padding, stride or a tail moves results by O(1) and fails by orders of
// magnitude: the bounds are ~1e-6 of the values for the largest kernels here.
#include <catch2/catch.hpp>

#include "HalideBuffer.h"
#include "ae2d_center_crop.h"
#include "ae2d_crop_concat.h"
#include "ae2d_conv2d.h"
#include "ae2d_conv2d_bias.h"
#include "ae2d_instance_norm_stats.h"
#include "ae2d_norm_prelu.h"
#include "ae2d_norm_prelu_conv2d.h"
#include "ae2d_norm_prelu_upsample.h"
#include "ae2d_norm_prelu_upsample_conv2d.h"
#include "ae2d_norm_residual_add.h"
#include "ae2d_residual_add.h"
#include "ae2d_upsample_bilinear.h"
#include "runtime/halide_errors.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace {

using Buf = Halide::Runtime::Buffer<float>;

// A stage call that must succeed; on failure, shows Halide's message.
#define REQUIRE_STAGE(call)                                                    \
    do {                                                                       \
        const int stage_result = (call);                                       \
        INFO(#call << ": " << ae2d::runtime::take_last_halide_error());        \
        REQUIRE(stage_result == 0);                                            \
    } while (0)

constexpr double kUnit = 1.0 / (1 << 24);  // float unit roundoff

// A reference value in double and a bound on the error of a float evaluation of it.
struct Approx {
    double value = 0;
    double bound = 0;
};

Buf random_buffer(const std::vector<int> &sizes, std::mt19937 &rng, float lo = -1.0f, float hi = 1.0f) {
    Buf b(sizes);
    std::uniform_real_distribution<float> dist(lo, hi);
    b.for_each_value([&](float &v) { v = dist(rng); });
    return b;
}

// Compares got(x, y, c, n) with ref(x, y, c, n) everywhere; reports the first few mismatches.
void expect_matches(const Buf &got, const std::function<Approx(int, int, int, int)> &ref,
                    const std::string &what) {
    int failures = 0;
    std::ostringstream first;
    for (int n = 0; n < got.dim(3).extent(); n++) {
        for (int c = 0; c < got.dim(2).extent(); c++) {
            for (int y = 0; y < got.dim(1).extent(); y++) {
                for (int x = 0; x < got.dim(0).extent(); x++) {
                    const Approx r = ref(x, y, c, n);
                    const double g = got(x, y, c, n);
                    if (!(std::abs(g - r.value) <= 2 * r.bound + 1e-30)) {
                        if (failures++ < 5) {
                            first << "  at (" << x << ", " << y << ", " << c << ", " << n << "): got " << g
                                  << ", want " << r.value << " +- " << 2 * r.bound << "\n";
                        }
                    }
                }
            }
        }
    }
    INFO(what << ": " << failures << " mismatches\n" << first.str());
    CHECK(failures == 0);
}

// ---------------------------------------------------------------- references

// act = prelu(x * scale + shift): the norm rounds twice (or once, fused), prelu once more.
Approx norm_prelu_ref(const Buf &in, const Buf &scale, const Buf &shift, const Buf &slope, int x, int y,
                      int c, int n) {
    const double v = double(in(x, y, c, n)) * scale(c, n) + shift(c, n);
    const double a = v >= 0 ? v : slope(c) * v;
    const double mag = (std::abs(double(in(x, y, c, n)) * scale(c, n)) + std::abs(shift(c, n))) *
                       std::max(1.0, std::abs(double(slope(c))));
    return {a, 3 * kUnit * mag};
}

// PyTorch's align_corners=True taps along one axis, computed in float as its CPU kernel does.
struct Taps {
    int i0, i1;
    float l0, l1;
};

Taps align_corners_taps(int i, int in, int out) {
    const float scale = out > 1 ? float(in - 1) / float(out - 1) : 0.0f;
    const float src = scale * float(i);
    const int i0 = std::min(int(src), in - 1);
    const int i1 = std::min(i0 + 1, in - 1);
    const float l1 = std::min(std::max(src - float(i0), 0.0f), 1.0f);
    return {i0, i1, 1.0f - l1, l1};
}

using Source = std::function<Approx(int, int, int, int)>;

// Bilinear up-sampling (align_corners=True) of `src` (extent in_w x in_h) to out_w x out_h.
Approx upsample_ref(const Source &src, int in_w, int in_h, int out_w, int out_h, int x, int y, int c, int n) {
    const Taps tx = align_corners_taps(x, in_w, out_w), ty = align_corners_taps(y, in_h, out_h);
    const Approx v00 = src(tx.i0, ty.i0, c, n), v01 = src(tx.i1, ty.i0, c, n);
    const Approx v10 = src(tx.i0, ty.i1, c, n), v11 = src(tx.i1, ty.i1, c, n);
    const double value = double(ty.l0) * (double(tx.l0) * v00.value + double(tx.l1) * v01.value) +
                         double(ty.l1) * (double(tx.l0) * v10.value + double(tx.l1) * v11.value);
    const double sum_abs = std::abs(v00.value) + std::abs(v01.value) + std::abs(v10.value) + std::abs(v11.value);
    const double sum_bound = v00.bound + v01.bound + v10.bound + v11.bound;
    // 4 roundings of the blend, plus the weights' coordinate rounding (in * u per axis).
    return {value, sum_bound + (4 + in_w + in_h) * kUnit * sum_abs};
}

// conv(x, y, co, n) = bias + sum w(kx, ky, ci, co) * src(x sx + kx - px, y sy + ky - py, ci, n),
// src zero outside [0, src_w) x [0, src_h).
struct ConvShape {
    int src_w, src_h, stride_x, stride_y, pad_x, pad_y;
};

Approx conv_ref(const Source &src, const ConvShape &s, const Buf &weights, const Buf *bias, int x, int y,
                int co, int n) {
    double value = bias ? (*bias)(co) : 0.0;
    double sum_abs = bias ? std::abs((*bias)(co)) : 0.0;
    double src_bound = 0;
    const int kw = weights.dim(0).extent(), kh = weights.dim(1).extent(), ci_n = weights.dim(2).extent();
    for (int ci = 0; ci < ci_n; ci++) {
        for (int ky = 0; ky < kh; ky++) {
            const int sy = y * s.stride_y + ky - s.pad_y;
            if (sy < 0 || sy >= s.src_h) {
                continue;
            }
            for (int kx = 0; kx < kw; kx++) {
                const int sx = x * s.stride_x + kx - s.pad_x;
                if (sx < 0 || sx >= s.src_w) {
                    continue;
                }
                const double w = weights(kx, ky, ci, co);
                const Approx a = src(sx, sy, ci, n);
                value += w * a.value;
                sum_abs += std::abs(w * a.value);
                src_bound += std::abs(w) * a.bound;
            }
        }
    }
    const double terms = double(ci_n) * kw * kh + 1;
    return {value, src_bound + (terms + 1) * kUnit * sum_abs};
}

Source exact_source(const Buf &b) {
    return [&b](int x, int y, int c, int n) { return Approx{b(x, y, c, n), 0.0}; };
}

int conv_out_extent(int in, int k, int stride, int pad) {
    return (in + 2 * pad - k) / stride + 1;
}

// ---------------------------------------------------------------- convolution cases

struct ConvCase {
    int w, h, ci, co, kx, ky, sx, sy, px, py, n;
};

std::string describe(const ConvCase &k) {
    std::ostringstream s;
    s << k.w << "x" << k.h << " " << k.ci << "->" << k.co << " kernel(x,y) " << k.kx << "x" << k.ky << " stride "
      << k.sx << "," << k.sy << " pad " << k.px << "," << k.py << " batch " << k.n;
    return s.str();
}

// Kernel shapes and strides of ae2d (weights (kx, ky) = PyTorch (kw, kh)) and the odd ones.
const std::vector<ConvCase> kConvCases = {
    {9, 7, 5, 13, 1, 1, 1, 1, 0, 0, 2},      // 1x1 (bottleneck units)
    {11, 6, 7, 9, 1, 1, 2, 2, 0, 0, 2},      // 1x1 stride 2 (shortcut)
    {10, 9, 7, 9, 1, 1, 1, 2, 0, 0, 2},      // 1x1 stride (1, 2) (shortcut of a 3x1 net)
    {17, 23, 7, 16, 3, 3, 1, 1, 1, 1, 2},    // 3x3
    {17, 23, 7, 16, 3, 3, 2, 2, 1, 1, 2},    // 3x3 stride 2
    {17, 13, 6, 10, 3, 3, 2, 1, 1, 1, 2},    // 3x3 stride (2, 1)
    {19, 15, 3, 8, 5, 5, 1, 1, 2, 2, 2},     // 5x5 conv_first
    {19, 15, 8, 12, 5, 5, 2, 2, 2, 2, 1},    // 5x5 stride 2
    {23, 21, 4, 7, 7, 7, 1, 1, 3, 3, 2},     // 7x7
    {23, 21, 4, 7, 7, 7, 2, 2, 3, 3, 1},     // 7x7 stride 2
    {13, 17, 5, 9, 1, 3, 1, 2, 0, 1, 2},     // PyTorch 3x1, stride (1, 2)
    {13, 17, 5, 9, 1, 3, 1, 1, 0, 1, 2},     // PyTorch 3x1
    {13, 17, 5, 9, 1, 5, 1, 1, 0, 2, 2},     // PyTorch 5x1 (first/last of a 3x1 net)
    {17, 13, 5, 9, 3, 1, 2, 1, 1, 0, 2},     // PyTorch 1x3, stride (2, 1)
    {17, 13, 5, 9, 5, 1, 1, 1, 2, 0, 1},     // PyTorch 1x5
    {12, 10, 6, 8, 3, 5, 1, 1, 1, 2, 2},     // a shape without specialization
    {16, 14, 4, 8, 3, 3, 3, 2, 1, 1, 1},     // a stride without specialization
    {37, 29, 16, 30, 3, 3, 1, 1, 1, 1, 1},   // several x tiles, row strips and channel groups
    {1, 9, 4, 8, 3, 3, 1, 1, 1, 1, 2},       // width 1
    {9, 1, 4, 8, 3, 3, 2, 2, 1, 1, 2},       // height 1, stride 2
    {1, 1, 3, 7, 3, 3, 1, 1, 1, 1, 2},       // a single pixel
    {2, 2, 9, 12, 3, 3, 2, 2, 1, 1, 2},      // 2x2 stride 2 -> 1x1
    {2, 7, 5, 6, 5, 5, 1, 1, 2, 2, 1},       // kernel wider than the input
    {4, 4, 32, 40, 3, 3, 1, 1, 1, 1, 2},     // narrow planes, many channels
    {8, 5, 24, 16, 3, 3, 1, 1, 1, 1, 1},     // width = one AVX2 vector
    {21, 18, 16, 1, 5, 5, 1, 1, 2, 2, 2},    // one output channel (conv_final)
    {21, 18, 16, 3, 7, 7, 1, 1, 3, 3, 1},    // three output channels
    {9, 11, 8, 4, 1, 1, 1, 1, 0, 0, 2},      // four output channels, 1x1
};

struct UnitParams {
    Buf scale, shift, slope;
};

UnitParams random_unit_params(int channels, int batch, std::mt19937 &rng) {
    return {random_buffer({channels, batch}, rng, 0.5f, 2.0f), random_buffer({channels, batch}, rng, -1.0f, 1.0f),
            random_buffer({channels}, rng, 0.0f, 0.5f)};
}

TEST_CASE("conv2d and conv2d_bias match a direct convolution", "[stages]") {
    std::mt19937 rng(1234);
    for (const ConvCase &k : kConvCases) {
        Buf in = random_buffer({k.w, k.h, k.ci, k.n}, rng);
        Buf w = random_buffer({k.kx, k.ky, k.ci, k.co}, rng);
        Buf bias = random_buffer({k.co}, rng);
        const int ow = conv_out_extent(k.w, k.kx, k.sx, k.px), oh = conv_out_extent(k.h, k.ky, k.sy, k.py);
        const ConvShape shape{k.w, k.h, k.sx, k.sy, k.px, k.py};
        const Source src = exact_source(in);

        Buf out(ow, oh, k.co, k.n);
        REQUIRE_STAGE(ae2d_conv2d(in, w, k.sx, k.sy, k.px, k.py, out));
        expect_matches(out, [&](int x, int y, int c, int n) { return conv_ref(src, shape, w, nullptr, x, y, c, n); },
                       "conv2d " + describe(k));

        Buf out_bias(ow, oh, k.co, k.n);
        REQUIRE_STAGE(ae2d_conv2d_bias(in, w, bias, k.sx, k.sy, k.px, k.py, out_bias));
        expect_matches(out_bias, [&](int x, int y, int c, int n) { return conv_ref(src, shape, w, &bias, x, y, c, n); },
                       "conv2d_bias " + describe(k));
    }
}

TEST_CASE("norm_prelu_conv2d matches a direct evaluation and norm_prelu then conv2d", "[stages]") {
    std::mt19937 rng(2345);
    for (const ConvCase &k : kConvCases) {
        Buf in = random_buffer({k.w, k.h, k.ci, k.n}, rng);
        UnitParams p = random_unit_params(k.ci, k.n, rng);
        Buf w = random_buffer({k.kx, k.ky, k.ci, k.co}, rng);
        const int ow = conv_out_extent(k.w, k.kx, k.sx, k.px), oh = conv_out_extent(k.h, k.ky, k.sy, k.py);
        const ConvShape shape{k.w, k.h, k.sx, k.sy, k.px, k.py};
        const Source act = [&](int x, int y, int c, int n) {
            return norm_prelu_ref(in, p.scale, p.shift, p.slope, x, y, c, n);
        };
        auto ref = [&](int x, int y, int c, int n) { return conv_ref(act, shape, w, nullptr, x, y, c, n); };

        Buf fused(ow, oh, k.co, k.n);
        REQUIRE_STAGE(ae2d_norm_prelu_conv2d(in, p.scale, p.shift, p.slope, w, k.sx, k.sy, k.px, k.py, fused));
        expect_matches(fused, ref, "norm_prelu_conv2d " + describe(k));

        Buf act_buf(k.w, k.h, k.ci, k.n), unfused(ow, oh, k.co, k.n);
        REQUIRE_STAGE(ae2d_norm_prelu(in, p.scale, p.shift, p.slope, act_buf));
        REQUIRE_STAGE(ae2d_conv2d(act_buf, w, k.sx, k.sy, k.px, k.py, unfused));
        expect_matches(fused, [&](int x, int y, int c, int n) { return Approx{unfused(x, y, c, n), 2 * ref(x, y, c, n).bound}; },
                       "norm_prelu_conv2d vs norm_prelu + conv2d " + describe(k));
    }
}

// ---------------------------------------------------------------- up-sampling

struct UpCase {
    int w, h, c, fx, fy, n;
};

const std::vector<UpCase> kUpCases = {
    {9, 7, 3, 2, 2, 2}, {9, 7, 3, 2, 1, 2}, {9, 7, 3, 1, 2, 1}, {9, 7, 3, 1, 1, 1}, {1, 1, 2, 2, 2, 2},
    {1, 9, 2, 2, 2, 2}, {2, 3, 2, 2, 2, 1}, {17, 23, 5, 2, 2, 2}, {37, 5, 2, 2, 1, 1},
};

TEST_CASE("upsample_bilinear, norm_prelu_upsample match PyTorch's align_corners=True", "[stages]") {
    std::mt19937 rng(3456);
    for (const UpCase &u : kUpCases) {
        const std::string what = std::to_string(u.w) + "x" + std::to_string(u.h) + " factor " + std::to_string(u.fx) +
                                 "," + std::to_string(u.fy);
        Buf in = random_buffer({u.w, u.h, u.c, u.n}, rng);
        UnitParams p = random_unit_params(u.c, u.n, rng);
        const int ow = u.fx * u.w, oh = u.fy * u.h;

        Buf up(ow, oh, u.c, u.n);
        REQUIRE_STAGE(ae2d_upsample_bilinear(in, up));
        const Source src = exact_source(in);
        expect_matches(up, [&](int x, int y, int c, int n) { return upsample_ref(src, u.w, u.h, ow, oh, x, y, c, n); },
                       "upsample_bilinear " + what);

        const Source act = [&](int x, int y, int c, int n) {
            return norm_prelu_ref(in, p.scale, p.shift, p.slope, x, y, c, n);
        };
        auto ref = [&](int x, int y, int c, int n) { return upsample_ref(act, u.w, u.h, ow, oh, x, y, c, n); };
        Buf fused(ow, oh, u.c, u.n);
        REQUIRE_STAGE(ae2d_norm_prelu_upsample(in, p.scale, p.shift, p.slope, fused));
        expect_matches(fused, ref, "norm_prelu_upsample " + what);

        Buf act_buf(u.w, u.h, u.c, u.n), unfused(ow, oh, u.c, u.n);
        REQUIRE_STAGE(ae2d_norm_prelu(in, p.scale, p.shift, p.slope, act_buf));
        REQUIRE_STAGE(ae2d_upsample_bilinear(act_buf, unfused));
        expect_matches(fused, [&](int x, int y, int c, int n) { return Approx{unfused(x, y, c, n), 2 * ref(x, y, c, n).bound}; },
                       "norm_prelu_upsample vs norm_prelu + upsample_bilinear " + what);
    }
}

struct UpConvCase {
    int w, h, ci, co, kx, ky, fx, fy, px, py, n;
};

TEST_CASE("norm_prelu_upsample_conv2d matches a direct evaluation and its unfused stages", "[stages]") {
    const std::vector<UpConvCase> cases = {
        {9, 7, 6, 8, 3, 3, 2, 2, 1, 1, 2},     // 3x3 up-sampling unit
        {9, 7, 6, 8, 1, 3, 1, 2, 0, 1, 2},     // PyTorch 3x1 kernel: factor (1, 2)
        {17, 11, 9, 16, 3, 1, 2, 1, 1, 0, 2},  // PyTorch 1x3 kernel: factor (2, 1)
        {5, 4, 8, 12, 1, 1, 2, 2, 0, 0, 1},    // 1x1
        {3, 5, 6, 7, 5, 5, 1, 1, 2, 2, 1},     // 5x5, factor 1
        {6, 5, 6, 7, 5, 5, 2, 2, 2, 2, 2},     // 5x5 up-sampling unit
        {1, 1, 4, 8, 3, 3, 2, 2, 1, 1, 2},     // a single pixel
        {1, 9, 4, 6, 3, 3, 2, 2, 1, 1, 1},     // width 1
        {4, 4, 32, 24, 3, 3, 2, 2, 1, 1, 1},   // narrow, many channels
        {12, 9, 16, 1, 3, 3, 2, 2, 1, 1, 1},   // one output channel
    };
    std::mt19937 rng(4567);
    for (const UpConvCase &k : cases) {
        std::ostringstream what;
        what << k.w << "x" << k.h << " " << k.ci << "->" << k.co << " kernel " << k.kx << "x" << k.ky << " factor " << k.fx
             << "," << k.fy << " batch " << k.n;
        Buf in = random_buffer({k.w, k.h, k.ci, k.n}, rng);
        UnitParams p = random_unit_params(k.ci, k.n, rng);
        Buf w = random_buffer({k.kx, k.ky, k.ci, k.co}, rng);
        const int uw = k.fx * k.w, uh = k.fy * k.h;
        const int ow = conv_out_extent(uw, k.kx, 1, k.px), oh = conv_out_extent(uh, k.ky, 1, k.py);
        const ConvShape shape{uw, uh, 1, 1, k.px, k.py};
        const Source act = [&](int x, int y, int c, int n) {
            return norm_prelu_ref(in, p.scale, p.shift, p.slope, x, y, c, n);
        };
        const Source up = [&](int x, int y, int c, int n) { return upsample_ref(act, k.w, k.h, uw, uh, x, y, c, n); };
        auto ref = [&](int x, int y, int c, int n) { return conv_ref(up, shape, w, nullptr, x, y, c, n); };

        Buf fused(ow, oh, k.co, k.n);
        REQUIRE_STAGE(ae2d_norm_prelu_upsample_conv2d(in, p.scale, p.shift, p.slope, w, k.fx, k.fy, k.px, k.py, fused));
        expect_matches(fused, ref, "norm_prelu_upsample_conv2d " + what.str());

        Buf up_buf(uw, uh, k.ci, k.n), unfused(ow, oh, k.co, k.n);
        REQUIRE_STAGE(ae2d_norm_prelu_upsample(in, p.scale, p.shift, p.slope, up_buf));
        REQUIRE_STAGE(ae2d_conv2d(up_buf, w, 1, 1, k.px, k.py, unfused));
        expect_matches(fused, [&](int x, int y, int c, int n) { return Approx{unfused(x, y, c, n), 2 * ref(x, y, c, n).bound}; },
                       "norm_prelu_upsample_conv2d vs norm_prelu_upsample + conv2d " + what.str());
    }
}

// ---------------------------------------------------------------- instance norm statistics

// Checks scale = gamma / sqrt(var + 1e-5) and shift = beta - mean * scale against a two-pass
// evaluation in long double; both to ~1e-6 relative (8 u). shift is compared with the float
// scale it was made from (the stage rounds scale first), relative to |beta| + |mean * scale|.
void check_stats(Buf &in, Buf &gamma, Buf &beta, const std::string &what) {
    const int w = in.dim(0).extent(), h = in.dim(1).extent(), channels = in.dim(2).extent(), batch = in.dim(3).extent();
    Buf scale(channels, batch), shift(channels, batch);
    REQUIRE_STAGE(ae2d_instance_norm_stats(in, gamma, beta, scale, shift));
    int failures = 0;
    std::ostringstream first;
    for (int n = 0; n < batch; n++) {
        for (int c = 0; c < channels; c++) {
            long double sum = 0;
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    sum += in(x, y, c, n);
                }
            }
            const long double mean = sum / (long double)(w * h);
            long double sq = 0;
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    const long double d = in(x, y, c, n) - mean;
                    sq += d * d;
                }
            }
            const double var = double(sq / (long double)(w * h));
            const double want_scale = gamma(c) / std::sqrt(var + 1e-5);
            const double want_shift = beta(c) - double(mean) * double(scale(c, n));
            const double shift_mag = std::abs(beta(c)) + std::abs(double(mean) * scale(c, n));
            const bool ok = std::abs(scale(c, n) - want_scale) <= 8 * kUnit * std::abs(want_scale) &&
                            std::abs(shift(c, n) - want_shift) <= 8 * kUnit * shift_mag;
            if (!ok && failures++ < 5) {
                first << "  (c " << c << ", n " << n << "): scale " << scale(c, n) << " want " << want_scale << ", shift "
                      << shift(c, n) << " want " << want_shift << "\n";
            }
        }
    }
    INFO(what << ": " << failures << " mismatches\n" << first.str());
    CHECK(failures == 0);
}

TEST_CASE("instance_norm_stats: mean and biased variance per plane", "[stages]") {
    std::mt19937 rng(5678);
    struct Case {
        int w, h, c, n;
        float offset;  // the planes' mean; spread is [-1, 1]
    };
    for (const Case &k : std::vector<Case>{{17, 23, 5, 2, 0.0f},
                                          {1, 9, 3, 2, 0.5f},
                                          {2, 1, 3, 2, -2.0f},
                                          {37, 29, 4, 2, 1000.0f},     // |mean| >> std
                                          {64, 63, 2, 1, -3000.0f}}) {
        Buf in = random_buffer({k.w, k.h, k.c, k.n}, rng);
        in.for_each_value([&](float &v) { v += k.offset; });
        Buf gamma = random_buffer({k.c}, rng, 0.5f, 1.5f), beta = random_buffer({k.c}, rng, -0.5f, 0.5f);
        check_stats(in, gamma, beta,
                    std::to_string(k.w) + "x" + std::to_string(k.h) + " mean " + std::to_string(k.offset));
    }
}

TEST_CASE("instance_norm_stats: a 1024x1024 plane far from zero", "[stages]") {
    std::mt19937 rng(6789);
    Buf in = random_buffer({1024, 1024, 1, 1}, rng, -0.01f, 0.01f);
    in.for_each_value([&](float &v) { v += 100.0f; });  // mean/std ~ 2e4
    Buf gamma = random_buffer({1}, rng, 0.5f, 1.5f), beta = random_buffer({1}, rng, -0.5f, 0.5f);
    check_stats(in, gamma, beta, "1024x1024 mean 100 std 0.006");
}

// ---------------------------------------------------------------- element-wise stages

TEST_CASE("norm_prelu, residual_add, norm_residual_add, center_crop", "[stages]") {
    std::mt19937 rng(7890);
    for (auto [w, h, c, n] : std::vector<std::array<int, 4>>{{17, 23, 5, 2}, {1, 9, 3, 2}, {1, 1, 2, 1}, {33, 2, 3, 2}}) {
        const std::string what = std::to_string(w) + "x" + std::to_string(h);
        Buf a = random_buffer({w, h, c, n}, rng), b = random_buffer({w, h, c, n}, rng);
        UnitParams p = random_unit_params(c, n, rng);

        Buf act(w, h, c, n);
        REQUIRE_STAGE(ae2d_norm_prelu(a, p.scale, p.shift, p.slope, act));
        expect_matches(act, [&](int x, int y, int ch, int nn) { return norm_prelu_ref(a, p.scale, p.shift, p.slope, x, y, ch, nn); },
                       "norm_prelu " + what);

        Buf sum(w, h, c, n);
        REQUIRE_STAGE(ae2d_residual_add(a, b, sum));
        expect_matches(sum, [&](int x, int y, int ch, int nn) { return Approx{double(a(x, y, ch, nn) + b(x, y, ch, nn)), 0}; },
                       "residual_add " + what);

        Buf nsum(w, h, c, n);
        REQUIRE_STAGE(ae2d_norm_residual_add(a, b, p.scale, p.shift, nsum));
        expect_matches(nsum,
                       [&](int x, int y, int ch, int nn) {
                           const double bn = double(b(x, y, ch, nn)) * p.scale(ch, nn) + p.shift(ch, nn);
                           const double mag = std::abs(a(x, y, ch, nn)) + std::abs(double(b(x, y, ch, nn)) * p.scale(ch, nn)) +
                                              std::abs(p.shift(ch, nn));
                           return Approx{a(x, y, ch, nn) + bn, 3 * kUnit * mag};
                       },
                       "norm_residual_add " + what);
    }

    // center_crop: every offset of a crop of every size, exact copies.
    Buf in = random_buffer({7, 6, 3, 2}, rng);
    for (int gw : {1, 4, 7}) {
        for (int gh : {1, 3, 6}) {
            const int ox = (7 - gw) / 2, oy = (6 - gh) / 2;
            Buf out(gw, gh, 3, 2);
            REQUIRE_STAGE(ae2d_center_crop(in, ox, oy, out));
            expect_matches(out, [&](int x, int y, int c, int n) { return Approx{in(x + ox, y + oy, c, n), 0}; },
                           "center_crop " + std::to_string(gw) + "x" + std::to_string(gh));
        }
    }
}

TEST_CASE("crop_concat: both inputs center-cropped to the common size, the first one's channels first",
          "[stages][unet]") {
    std::mt19937 rng(4321);
    // (a's w, h, c), (b's w, h, c), batch 2: a larger, b larger, mixed per axis, equal.
    for (auto [aw, ah, ac, bw, bh, bc] : std::vector<std::array<int, 6>>{
             {8, 6, 3, 7, 5, 2}, {5, 5, 1, 9, 6, 4}, {9, 4, 2, 6, 7, 3}, {7, 7, 5, 7, 7, 5}, {1, 3, 2, 2, 1, 1}}) {
        Buf a = random_buffer({aw, ah, ac, 2}, rng), b = random_buffer({bw, bh, bc, 2}, rng);
        const int gw = std::min(aw, bw), gh = std::min(ah, bh);
        const int ax = (aw - gw) / 2, ay = (ah - gh) / 2, bx = (bw - gw) / 2, by = (bh - gh) / 2;
        Buf out(gw, gh, ac + bc, 2);
        REQUIRE_STAGE(ae2d_crop_concat(a, b, ax, ay, bx, by, out));
        expect_matches(out,
                       [&](int x, int y, int c, int n) {
                           return Approx{c < ac ? a(x + ax, y + ay, c, n) : b(x + bx, y + by, c - ac, n), 0};
                       },
                       "crop_concat " + std::to_string(aw) + "x" + std::to_string(ah) + " + " + std::to_string(bw) +
                           "x" + std::to_string(bh));
    }
}

}  // namespace
