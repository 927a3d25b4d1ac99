// UpsampleBilinear: nn.Upsample(scale_factor, mode='bilinear', align_corners=True) as PyTorch's
// CPU kernel computes it. The factor per axis (1 or 2) is the output extent over the input's.
// AOT arguments: (input, output).
#include "Halide.h"
#include "auto_estimates.h"
#include "cpu_schedule.h"
#include "gpu_schedule.h"
#include "ops.h"

namespace {

using namespace Halide;
namespace ops = ae2d::ops;

class UpsampleBilinear : public Generator<UpsampleBilinear> {
public:
    Input<Buffer<float, 4>> input{"input"};     // (x, y, c, n)
    Output<Buffer<float, 4>> output{"output"};  // (f_x * W, f_y * H, c, n)

    void generate() {
        // ---------------------------------------------------------------- algorithm
        ops::require_zero_mins(input, output);
        ops::Upsampled up = ops::upsample_bilinear(input, input.dim(0).extent(), input.dim(1).extent(),
                                                   output.dim(0).extent(), output.dim(1).extent());
        output(x, y, c, n) = up.up(x, y, c, n);

        // ---------------------------------------------------------------- schedule
        if (using_autoscheduler()) {  // the "auto" baseline: estimates only
            ae2d::schedules::estimate_activation(input, /*half=*/true);
            ae2d::schedules::estimate_activation(output);
            return;
        }
        // Factors 1 and 2 read their x taps with dense loads; any other size gathers.
        ae2d::schedules::schedule_elementwise_for(output, get_target(), up.x_window_cases);
    }

private:
    Var x{"x"}, y{"y"}, c{"c"}, n{"n"};
};

}  // namespace

HALIDE_REGISTER_GENERATOR(UpsampleBilinear, upsample_bilinear)
