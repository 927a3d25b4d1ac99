// NormPreluConv2d: one "unit" of a residual block, instance norm (as a per-plane affine map) ->
// PReLU -> zero-padded Conv2d (no bias), fused so that the activation is never stored whole.
//   act(x, y, c, n) = prelu(input * scale(c, n) + shift(c, n)), slope(c) for negatives
//   output = conv2d(act, weights, stride, pad), act zero outside the input's extent (the
//   padding applies after the activation, as in PyTorch).
// AOT arguments: (input, scale, shift, slope, weights, stride_x, stride_y, pad_x, pad_y, output).
#include "Halide.h"
#include "auto_estimates.h"
#include "conv_schedule.h"
#include "gpu_schedule.h"
#include "winograd_schedule.h"
#include "ops.h"

namespace {

using namespace Halide;
namespace ops = ae2d::ops;

class NormPreluConv2d : public Generator<NormPreluConv2d> {
public:
    ae2d::schedules::ConvTuning tuning;  // schedule parameters of the AOT variants

    Input<Buffer<float, 4>> input{"input"};      // (x, y, ci, n)
    Input<Buffer<float, 2>> scale{"scale"};      // (ci, n): instance-norm scale
    Input<Buffer<float, 2>> shift{"shift"};      // (ci, n): instance-norm shift
    Input<Buffer<float, 1>> slope{"slope"};      // (ci): PReLU slopes
    Input<Buffer<float, 4>> weights{"weights"};  // (kx, ky, ci, co) = PyTorch (co, ci, kh, kw);
                                                 // Winograd variants: packed (co, ci, ex, ey);
                                                 // cvec: channel-blocked (16, k * k, ci, co / 16)
    Input<int> stride_x{"stride_x"}, stride_y{"stride_y"};
    Input<int> pad_x{"pad_x"}, pad_y{"pad_y"};
    Output<Buffer<float, 4>> output{"output"};   // (x, y, co, n)

    void generate() {
        // ---------------------------------------------------------------- algorithm
        ops::require_zero_mins(input, weights, scale, shift, slope, output);

        Func act = ops::norm_prelu(input, scale, shift, slope);
        Func padded = ops::zero_padded(act, input.dim(0).extent(), input.dim(1).extent());
        const bool gpu_auto = ae2d::schedules::gpu_autoscheduled(using_autoscheduler(), get_target());
        const ops::ConvWeights cw = ops::conv_weights(weights, tuning.channel_vectorized, !gpu_auto, pad_x, pad_y);
        Func no_bias("no_bias");
        no_bias(co) = 0.0f;
        ops::Convolution c;
        ops::Winograd wg;
        if (tuning.winograd) {  // the Winograd variants: `weights` is the packed G g G^T of a 3x3 conv
            add_requirement(ops::is_packed_winograd_weights(weights, tuning.winograd_tile) && stride_x == 1 && stride_y == 1,
                            "the winograd variants run 3x3 stride-1 convolutions on their packed weights only");
            wg = ops::winograd_3x3_packed(padded, weights, pad_x, pad_y, no_bias, tuning.winograd_tile);
            output(x, y, co, n) = wg.out(x, y, co, n);
        } else {
            add_requirement(cw.valid, "the cvec variant takes channel-blocked weights (16, k * k, ci, co / 16)");
            c = ops::convolution(padded, cw.w, cw.kernel_w, cw.kernel_h, cw.in_channels, stride_x, stride_y, pad_x,
                                 pad_y, no_bias, /*read_phased=*/!gpu_auto);
            output(x, y, co, n) = c.conv(x, y, co, n);
        }

        // ---------------------------------------------------------------- schedule
        if (using_autoscheduler()) {  // the "auto" baseline: estimates only
            ae2d::schedules::estimate_arguments(input, scale, shift, slope);
            ae2d::schedules::estimate_weights(weights);
            stride_x.set_estimate(1);
            stride_y.set_estimate(1);
            pad_x.set_estimate(1);
            pad_y.set_estimate(1);
            ae2d::schedules::estimate_activation(output);
            return;
        }
        if (tuning.winograd) {  // act and padded are inlined into wg.source, stored per chunk
            const ae2d::schedules::WinogradStage stage{output, wg.funcs<ae2d::schedules::WinogradFuncs>(), {}};
            ae2d::schedules::schedule_winograd(stage, get_target(), tuning.values());
            return;
        }
        // act and padded are inlined into c.phased, the per-strip (CPU) or per-tile (GPU) source
        // of the conv.
        const ae2d::schedules::ConvStage stage{output, c.conv, c.kernel, c.phased, {}, cw.kernel_w, cw.kernel_h,
                                               stride_x};
        if (get_target().has_gpu_feature()) {
            ae2d::schedules::gpu::schedule_conv(stage);
        } else {
            ae2d::schedules::schedule_conv(stage, get_target(), tuning.values());
        }
    }

private:
    Var x{"x"}, y{"y"}, co{"co"}, n{"n"};
};

}  // namespace

HALIDE_REGISTER_GENERATOR(NormPreluConv2d, norm_prelu_conv2d)
