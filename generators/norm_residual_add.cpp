// NormResidualAdd: out = a + (b * scale + shift), a residual block's output when its shortcut
// ends in an instance norm (applied here as the per-plane affine map of instance_norm_stats).
// AOT arguments: (a, b, scale, shift, output).
#include "Halide.h"
#include "auto_estimates.h"
#include "cpu_schedule.h"
#include "gpu_schedule.h"
#include "ops.h"

namespace {

using namespace Halide;
namespace ops = ae2d::ops;

class NormResidualAdd : public Generator<NormResidualAdd> {
public:
    Input<Buffer<float, 4>> a{"a"};          // (x, y, c, n): the block's main path
    Input<Buffer<float, 4>> b{"b"};          // same shape: the shortcut, before its norm
    Input<Buffer<float, 2>> scale{"scale"};  // (c, n): the shortcut norm's scale
    Input<Buffer<float, 2>> shift{"shift"};  // (c, n): the shortcut norm's shift
    Output<Buffer<float, 4>> output{"output"};

    void generate() {
        // ---------------------------------------------------------------- algorithm
        ops::require_zero_mins(a, b, scale, shift, output);
        output(x, y, c, n) = a(x, y, c, n) + (b(x, y, c, n) * scale(c, n) + shift(c, n));

        // ---------------------------------------------------------------- schedule
        ae2d::schedules::schedule_elementwise_stage(using_autoscheduler(), get_target(), output, a, b, scale, shift);
    }

private:
    Var x{"x"}, y{"y"}, c{"c"}, n{"n"};
};

}  // namespace

HALIDE_REGISTER_GENERATOR(NormResidualAdd, norm_residual_add)
