// Conv2d: a zero-padded 2-D convolution, optionally with a bias (PyTorch nn.Conv2d, NCHW).
//   output(x, y, co, n) = [bias(co) +] sum_{ci, ky, kx} weights(kx, ky, ci, co) *
//                         input(x * stride_x + kx - pad_x, y * stride_y + ky - pad_y, ci, n)
// with input zero outside its extent. Kernel size from the weights; the output extent is the
// caller's (floor((in + 2 pad - k) / stride) + 1 per axis).
// AOT arguments: (input, weights, [bias], stride_x, stride_y, pad_x, pad_y, output).
#include "Halide.h"
#include "auto_estimates.h"
#include "ops.h"
#include "padded_conv.h"

namespace {

using namespace Halide;
namespace ops = ae2d::ops;

class Conv2d : public Generator<Conv2d> {
public:
    GeneratorParam<bool> has_bias{"bias", false};
    ae2d::schedules::ConvTuning tuning;  // schedule parameters of the AOT variants

    Input<Buffer<float, 4>> input{"input"};      // (x, y, ci, n)
    Input<Buffer<float, 4>> weights{"weights"};  // (kx, ky, ci, co) = PyTorch (co, ci, kh, kw);
                                                 // Winograd variants: packed (co, ci, ex, ey);
                                                 // cvec: channel-blocked (16, k * k, ci, co / 16)
    // configure() appends: bias (co) when bias=true, then stride_x, stride_y, pad_x, pad_y.
    Output<Buffer<float, 4>> output{"output"};   // (x, y, co, n)

    void configure() {
        if (has_bias) {
            bias = add_input<Buffer<float, 1>>("conv_bias");  // "bias" names the GeneratorParam
        }
        stride_x = add_input<int>("stride_x");
        stride_y = add_input<int>("stride_y");
        pad_x = add_input<int>("pad_x");
        pad_y = add_input<int>("pad_y");
    }

    void generate() {
        // ---------------------------------------------------------------- algorithm
        ops::require_zero_mins(input, weights, output);

        Func padded = ops::zero_padded(input, input.dim(0).extent(), input.dim(1).extent());
        Func init("init");
        if (has_bias) {
            ops::require_zero_mins(*bias);
            Func b = BoundaryConditions::repeat_edge(*bias);
            init(co) = b(co);
        } else {
            init(co) = 0.0f;
        }
        const bool gpu_auto = ae2d::schedules::gpu_autoscheduled(using_autoscheduler(), get_target());
        conv.define(*this, output, padded, weights, init, tuning, gpu_auto, *stride_x, *stride_y, *pad_x, *pad_y);

        // ---------------------------------------------------------------- schedule
        if (using_autoscheduler()) {  // the "auto" baseline: estimates only
            ae2d::schedules::estimate_activation(input);
            ae2d::schedules::estimate_weights(weights);
            if (bias) ae2d::schedules::estimate_channels(*bias);
            stride_x->set_estimate(1);
            stride_y->set_estimate(1);
            pad_x->set_estimate(1);
            pad_y->set_estimate(1);
            ae2d::schedules::estimate_activation(output);
            return;
        }
        conv.schedule(output, get_target(), tuning.values());
    }

private:
    Input<Buffer<float, 1>> *bias = nullptr;
    Input<int> *stride_x = nullptr, *stride_y = nullptr, *pad_x = nullptr, *pad_y = nullptr;
    ae2d::generators::PaddedConv conv;
    Var x{"x"}, y{"y"}, co{"co"}, n{"n"};
};

}  // namespace

HALIDE_REGISTER_GENERATOR(Conv2d, conv2d)
