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
        if (using_autoscheduler()) {  // the "auto" baseline: estimates only
            ae2d::schedules::estimate_activation(a);
            ae2d::schedules::estimate_activation(b);
            ae2d::schedules::estimate_activation(output);
            return;
        }
        ae2d::schedules::schedule_elementwise_for(output, get_target());
    }

private:
    Var x{"x"}, y{"y"}, c{"c"}, n{"n"};
};

}  // namespace

HALIDE_REGISTER_GENERATOR(ResidualAdd, residual_add)
