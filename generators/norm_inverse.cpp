// NormInverse: the inverse of an instance norm's per-plane affine map (instance_norm_stats),
//   output(x, y, c, n) = (input(x, y, c, n) - shift(c, n)) / scale(c, n),
// which puts a plane's own mean and standard deviation back: with gamma = 1 and beta = 0,
// scale = 1 / sqrt(var + eps) and shift = -mean * scale, so output = mean + sqrt(var + eps) * input.
// The "normalized" output mode of a model file ends with it (src/graph/output_transform.cpp).
// scale is never 0 (var + eps > 0). AOT arguments: (input, scale, shift, output).
#include "Halide.h"
#include "auto_estimates.h"
#include "cpu_schedule.h"
#include "gpu_schedule.h"
#include "ops.h"

namespace {

using namespace Halide;
namespace ops = ae2d::ops;

class NormInverse : public Generator<NormInverse> {
public:
    Input<Buffer<float, 4>> input{"input"};  // (x, y, c, n)
    Input<Buffer<float, 2>> scale{"scale"};  // (c, n)
    Input<Buffer<float, 2>> shift{"shift"};  // (c, n)
    Output<Buffer<float, 4>> output{"output"};

    void generate() {
        // ---------------------------------------------------------------- algorithm
        ops::require_zero_mins(input, scale, shift, output);
        output(x, y, c, n) = (input(x, y, c, n) - shift(c, n)) / scale(c, n);

        // ---------------------------------------------------------------- schedule
        ae2d::schedules::schedule_elementwise_stage(using_autoscheduler(), get_target(), output, input, scale, shift);
    }

private:
    Var x{"x"}, y{"y"}, c{"c"}, n{"n"};
};

}  // namespace

HALIDE_REGISTER_GENERATOR(NormInverse, norm_inverse)
