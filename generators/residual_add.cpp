// ResidualAdd: out = a + b, the output of a residual block (identity shortcut).
#include "Halide.h"
#include "auto_estimates.h"
#include "cpu_schedule.h"
#include "gpu_schedule.h"

namespace {

using namespace Halide;

class ResidualAdd : public Generator<ResidualAdd> {
public:
    Input<Buffer<float, 4>> a{"a"};  // (x, y, c, n): the block's main path
    Input<Buffer<float, 4>> b{"b"};  // same shape: the shortcut
    Output<Buffer<float, 4>> output{"output"};

    void generate() {
        // ---------------------------------------------------------------- algorithm
        output(x, y, c, n) = a(x, y, c, n) + b(x, y, c, n);

        // ---------------------------------------------------------------- schedule
        ae2d::schedules::schedule_elementwise_stage(using_autoscheduler(), get_target(), output, a, b);
    }

private:
    Var x{"x"}, y{"y"}, c{"c"}, n{"n"};
};

}  // namespace

HALIDE_REGISTER_GENERATOR(ResidualAdd, residual_add)
