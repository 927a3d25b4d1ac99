// NormPreluConv2d: one "unit" of a residual block, instance norm (as a per-plane affine map) ->
// PReLU -> zero-padded Conv2d (no bias), fused so that the activation is never stored whole.
//   act(x, y, c, n) = prelu(input * scale(c, n) + shift(c, n)), slope(c) for negatives
//   output = conv2d(act, weights, stride, pad), act zero outside the input's extent (the
//   padding applies after the activation, as in PyTorch).
// AOT arguments: (input, scale, shift, slope, weights, stride_x, stride_y, pad_x, pad_y, output).
#include "Halide.h"
#include "auto_estimates.h"
#include "ops.h"
#include "padded_conv.h"

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
        Func no_bias("no_bias");
        no_bias(co) = 0.0f;
        const bool gpu_auto = ae2d::schedules::gpu_autoscheduled(using_autoscheduler(), get_target());
        conv.define(*this, output, padded, weights, no_bias, tuning, gpu_auto, stride_x, stride_y, pad_x, pad_y);

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
        // act and padded are inlined into the conv's source: per chunk (Winograd), per strip (direct,
        // CPU) or per tile (GPU).
        conv.schedule(output, get_target(), tuning.values());
    }

private:
    ae2d::generators::PaddedConv conv;
    Var x{"x"}, y{"y"}, co{"co"}, n{"n"};
};

}  // namespace

HALIDE_REGISTER_GENERATOR(NormPreluConv2d, norm_prelu_conv2d)
