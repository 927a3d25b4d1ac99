// NormPreluUpsample: instance norm (per-plane affine map) -> PReLU -> bilinear up-sampling
// (align_corners=True), the front of an up-sampling unit whose convolution runs separately.
// The factor per axis (1 or 2) is the output extent over the input's.
// AOT arguments: (input, scale, shift, slope, output).
#include "Halide.h"
#include "auto_estimates.h"
#include "cpu_schedule.h"
#include "gpu_schedule.h"
#include "ops.h"

namespace {

using namespace Halide;
namespace ops = ae2d::ops;

class NormPreluUpsample : public Generator<NormPreluUpsample> {
public:
    Input<Buffer<float, 4>> input{"input"};  // (x, y, c, n)
    Input<Buffer<float, 2>> scale{"scale"};  // (c, n)
    Input<Buffer<float, 2>> shift{"shift"};  // (c, n)
    Input<Buffer<float, 1>> slope{"slope"};  // (c)
    Output<Buffer<float, 4>> output{"output"};

    void generate() {
        // ---------------------------------------------------------------- algorithm
        ops::require_zero_mins(input, scale, shift, slope, output);
        Func act = ops::norm_prelu(input, scale, shift, slope);
        ops::Upsampled up = ops::upsample_bilinear(act, input.dim(0).extent(), input.dim(1).extent(),
                                                   output.dim(0).extent(), output.dim(1).extent());
        output(x, y, c, n) = up.up(x, y, c, n);

        // ---------------------------------------------------------------- schedule
        if (using_autoscheduler()) {  // the "auto" baseline: estimates only
            ae2d::schedules::estimate_activation(input, /*half=*/true);
            ae2d::schedules::estimate_arguments(scale, shift, slope, output);
            return;
        }
        if (get_target().has_gpu_feature()) {
            // act is inlined: recomputing it for each of its four readers costs less than a
            // round trip through memory.
            ae2d::schedules::gpu::schedule_elementwise(output, up.x_window_cases);
        } else {
            ae2d::schedules::schedule_upsample(output, act, up.x_window_cases, get_target());
        }
    }

private:
    Var x{"x"}, y{"y"}, c{"c"}, n{"n"};
};

}  // namespace

HALIDE_REGISTER_GENERATOR(NormPreluUpsample, norm_prelu_upsample)
