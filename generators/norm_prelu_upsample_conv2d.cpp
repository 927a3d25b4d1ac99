// NormPreluUpsampleConv2d: the up-sampling unit of a decoder block, instance norm (per-plane
// affine map) -> PReLU -> bilinear up-sampling (align_corners=True) -> zero-padded stride-1
// Conv2d (no bias), fused.
//   act = prelu(input * scale(c, n) + shift(c, n)); up = upsample(act) to factor * input extent
//   output = conv2d(up, weights, stride 1, pad), up zero outside [0, factor * extent).
// AOT arguments: (input, scale, shift, slope, weights, factor_x, factor_y, pad_x, pad_y, output).
#include "Halide.h"
#include "auto_estimates.h"
#include "ops.h"
#include "padded_conv.h"

namespace {

using namespace Halide;
namespace ops = ae2d::ops;

class NormPreluUpsampleConv2d : public Generator<NormPreluUpsampleConv2d> {
public:
    ae2d::schedules::ConvTuning tuning;  // schedule parameters of the AOT variants

    Input<Buffer<float, 4>> input{"input"};      // (x, y, ci, n)
    Input<Buffer<float, 2>> scale{"scale"};      // (ci, n): instance-norm scale
    Input<Buffer<float, 2>> shift{"shift"};      // (ci, n): instance-norm shift
    Input<Buffer<float, 1>> slope{"slope"};      // (ci): PReLU slopes
    Input<Buffer<float, 4>> weights{"weights"};  // (kx, ky, ci, co) = PyTorch (co, ci, kh, kw);
                                                 // Winograd variants: packed (co, ci, ex, ey);
                                                 // cvec, srows (at the source): as they are
    Input<int> factor_x{"factor_x"}, factor_y{"factor_y"};  // up-sampling factors, 1 or 2
    Input<int> pad_x{"pad_x"}, pad_y{"pad_y"};
    Output<Buffer<float, 4>> output{"output"};   // (x, y, co, n)

    void generate() {
        // ---------------------------------------------------------------- algorithm
        ops::require_zero_mins(input, weights, scale, shift, slope, output);

        Expr in_w = input.dim(0).extent(), in_h = input.dim(1).extent();
        Expr up_w = factor_x * in_w, up_h = factor_y * in_h;
        Func act = ops::norm_prelu(input, scale, shift, slope);
        ops::Upsampled up = ops::upsample_bilinear(act, in_w, in_h, up_w, up_h);
        Func padded = ops::zero_padded(up.up, up_w, up_h);
        const bool gpu_auto = ae2d::schedules::gpu_autoscheduled(using_autoscheduler(), get_target());
        const bool cpu = !get_target().has_gpu_feature();
        const bool at_source = tuning.channel_vectorized && !tuning.winograd && cpu;
        const bool at_source_rows = tuning.source_rows && cpu;
        ops::UpsampleConvAtSource lowres;
        ops::UpsampleConvAtSourceRows rows;
        // cvec and srows: the products at the source's resolution, on the weights as they are (CPU;
        // the input clamped, because the schedules compute whole register tiles of the source).
        Func input_clamped = BoundaryConditions::repeat_edge(input, {{0, in_w}, {0, in_h}});
        Func act_clamped = ops::norm_prelu(input_clamped, scale, shift, slope);
        if (at_source_rows) {
            rows = ops::upsample_conv_at_source_rows(act_clamped, weights, in_w, in_h, up_w, up_h, pad_x, pad_y);
            add_requirement(weights.dim(0).extent() == rows.kernel_w && weights.dim(1).extent() == rows.kernel_h,
                            "the srows variant takes the weights as they are, (2 pad_x + 1, 2 pad_y + 1, ci, co)");
            add_requirement(rows.valid, "the srows variant up-samples by 2 along x only");
            output(x, y, co, n) = rows.conv(x, y, co, n);
        } else if (at_source) {
            lowres = ops::upsample_conv_at_source(act_clamped, weights, in_w, in_h, up_w, up_h, pad_x, pad_y);
            add_requirement(weights.dim(0).extent() == lowres.kernel_w && weights.dim(1).extent() == lowres.kernel_h,
                            "the cvec variant takes the weights as they are, (2 pad_x + 1, 2 pad_y + 1, ci, co)");
            output(x, y, co, n) = lowres.sum(x, y, co, n);
        } else {
            Func no_bias("no_bias");
            no_bias(co) = 0.0f;
            conv.define(*this, output, padded, weights, no_bias, tuning, gpu_auto, Expr(), Expr(), pad_x, pad_y);
        }

        // ---------------------------------------------------------------- schedule
        if (using_autoscheduler()) {  // the "auto" baseline: estimates only
            ae2d::schedules::estimate_activation(input, /*half=*/true);
            ae2d::schedules::estimate_coefficients(scale);
            ae2d::schedules::estimate_coefficients(shift);
            ae2d::schedules::estimate_channels(slope);
            ae2d::schedules::estimate_weights(weights);
            factor_x.set_estimate(2);
            factor_y.set_estimate(2);
            pad_x.set_estimate(1);
            pad_y.set_estimate(1);
            ae2d::schedules::estimate_activation(output);
            return;
        }
        if (at_source_rows) {
            ae2d::schedules::schedule_upsample_conv_at_source_rows(
                {output, rows.act_rows, rows.z, rows.columns, rows.columns_clamped, rows.phase_weight, rows.even,
                 rows.odd, rows.in_channels, rows.taps_y, rows.taps_x, rows.kernel_w, rows.kernel_h},
                get_target());
            return;
        }
        if (at_source) {
            ae2d::schedules::schedule_upsample_conv_at_source(
                {output, lowres.act_flat, lowres.z, lowres.z_channels, lowres.sum, lowres.in_channels, lowres.taps,
                 lowres.kernel_w, lowres.kernel_h, lowres.x_window_cases},
                get_target());
            return;
        }
        // CPU: act is stored per strip (Winograd: per chunk; each up-sampled value reads four of
        // them), up and padded are inlined into the conv's source; the x window cases give dense x
        // taps for factors 1 and 2. GPU: act, up and padded are all inlined into the per-tile source.
        conv.schedule(output, get_target(), tuning.values(), {act}, up.x_window_cases);
    }

private:
    ae2d::generators::PaddedConv conv;
    Var x{"x"}, y{"y"}, co{"co"}, n{"n"};
};

}  // namespace

HALIDE_REGISTER_GENERATOR(NormPreluUpsampleConv2d, norm_prelu_upsample_conv2d)
