// NormPrelu: instance norm (as a per-plane affine map) then PReLU, the activation of a unit
// whose convolution runs separately.
//   output(x, y, c, n) = prelu(input * scale(c, n) + shift(c, n)), slope(c) for negatives.
// AOT arguments: (input, scale, shift, slope, output).
#include "Halide.h"
#include "auto_estimates.h"
#include "cpu_schedule.h"
#include "gpu_schedule.h"
#include "ops.h"

namespace {

using namespace Halide;
namespace ops = ae2d::ops;

class NormPrelu : public Generator<NormPrelu> {
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
        output(x, y, c, n) = act(x, y, c, n);

        // ---------------------------------------------------------------- schedule
        ae2d::schedules::schedule_elementwise_stage(using_autoscheduler(), get_target(),
                                                    output, input, scale, shift, slope);
    }

private:
    Var x{"x"}, y{"y"}, c{"c"}, n{"n"};
};

}  // namespace

HALIDE_REGISTER_GENERATOR(NormPrelu, norm_prelu)
