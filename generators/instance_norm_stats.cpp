// InstanceNormStats: InstanceNorm2d(affine, eps = 1e-5) reduced to a per-(c, n) affine map,
//   scale(c, n) = gamma(c) / sqrt(var + eps),  shift(c, n) = beta(c) - mean * scale(c, n),
// so that the normalized tensor is input * scale + shift (applied by the fused stages).
// mean and the biased variance are taken over each H x W plane in one pass, accumulated in
// double around a pilot value (below): planes of up to 1024 x 1024 with |mean| >> std stay
// accurate to float rounding. shift uses the float-rounded scale, so that
// input * scale + shift is as close as floats allow to (input - mean) * scale.
// AOT arguments: (input, gamma, beta, scale, shift).
#include "Halide.h"
#include "auto_estimates.h"
#include "cpu_schedule.h"
#include "gpu_schedule.h"
#include "ops.h"

namespace {

using namespace Halide;
namespace ops = ae2d::ops;

class InstanceNormStats : public Generator<InstanceNormStats> {
public:
    Input<Buffer<float, 4>> input{"input"};  // (x, y, c, n)
    Input<Buffer<float, 1>> gamma{"gamma"};  // (c): InstanceNorm2d weight
    Input<Buffer<float, 1>> beta{"beta"};    // (c): InstanceNorm2d bias
    Output<Buffer<float, 2>> scale{"scale"}; // (c, n)
    Output<Buffer<float, 2>> shift{"shift"}; // (c, n)

    void generate() {
        // ---------------------------------------------------------------- algorithm
        ops::require_zero_mins(input, gamma, beta, scale, shift);

        constexpr double kEps = 1e-5;
        Expr count = cast<double>(input.dim(0).extent()) * cast<double>(input.dim(1).extent());
        RDom plane(0, input.dim(0).extent(), 0, input.dim(1).extent(), "plane");
        // One pass: sums of d = x - pilot and of d^2 in double, the pilot being the plane's first
        // value. var = E[d^2] - E[d]^2 then cancels away at most ~1e-16 max(d^2), far below what
        // float inputs resolve (~1e-7 max|x| per value); two passes read the plane twice.
        Func pilot("pilot");
        pilot(c, n) = cast<double>(input(0, 0, c, n));
        Expr d = cast<double>(input(plane.x, plane.y, c, n)) - pilot(c, n);
        Func sums("sums");
        sums(c, n) = {cast<double>(0), cast<double>(0)};
        sums(c, n) = {sums(c, n)[0] + d, sums(c, n)[1] + d * d};
        Func moments("moments");  // (mean, biased variance)
        Expr mean_d = sums(c, n)[0] / count;
        moments(c, n) = {pilot(c, n) + mean_d, max(sums(c, n)[1] / count - mean_d * mean_d, cast<double>(0))};
        Expr mean = moments(c, n)[0], var = moments(c, n)[1];

        // shift reads the scale from a Func of its own rather than from the output `scale`:
        // Anderson2021 fails (an empty "Error:") on a pipeline in which one output reads another.
        Func scale_value("scale_value");
        scale_value(c, n) = cast<float>(cast<double>(gamma(c)) / sqrt(var + Expr(kEps)));
        scale(c, n) = scale_value(c, n);
        shift(c, n) = cast<float>(cast<double>(beta(c)) - mean * cast<double>(scale_value(c, n)));

        // ---------------------------------------------------------------- schedule
        if (using_autoscheduler()) {  // the "auto" baseline: estimates only
            ae2d::schedules::estimate_arguments(input, gamma, beta, scale, shift);
            return;
        }
        if (get_target().has_gpu_feature()) {
            ae2d::schedules::gpu::schedule_plane_reduction(moments, sums, plane);
            ae2d::schedules::gpu::schedule_per_channel(scale);
            ae2d::schedules::gpu::schedule_per_channel(shift);
        } else {
            ae2d::schedules::schedule_plane_reduction(moments, sums, plane, get_target());
            ae2d::schedules::schedule_per_channel(scale, get_target());
            ae2d::schedules::schedule_per_channel(shift, get_target());
        }
    }

private:
    Var c{"c"}, n{"n"};
};

}  // namespace

HALIDE_REGISTER_GENERATOR(InstanceNormStats, instance_norm_stats)
