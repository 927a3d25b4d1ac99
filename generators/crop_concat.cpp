// CropConcat: UNet2d's join. Both inputs are center-cropped to the output's size g (the caller
// computes each one's offsets, (size - g) / 2 per axis) and concatenated along channels, `a`'s
// first: output(x, y, c, n) = a(x + ax, y + ay, c, n) for c < ca, else b(x + bx, y + by, c - ca, n).
// AOT arguments: (a, b, a_offset_x, a_offset_y, b_offset_x, b_offset_y, output).
#include "Halide.h"
#include "auto_estimates.h"
#include "cpu_schedule.h"
#include "gpu_schedule.h"
#include "ops.h"

namespace {

using namespace Halide;
namespace ops = ae2d::ops;

class CropConcat : public Generator<CropConcat> {
public:
    Input<Buffer<float, 4>> a{"a"};  // (x, y, c, n): the decoder's up-sampled tensor
    Input<Buffer<float, 4>> b{"b"};  // (x, y, c, n): the encoder's skip tensor
    Input<int> a_offset_x{"a_offset_x"}, a_offset_y{"a_offset_y"};
    Input<int> b_offset_x{"b_offset_x"}, b_offset_y{"b_offset_y"};
    Output<Buffer<float, 4>> output{"output"};

    void generate() {
        // ---------------------------------------------------------------- algorithm
        ops::require_zero_mins(a, b, output);
        const Expr ca = a.dim(2).extent(), cb = b.dim(2).extent();
        // Clamped channel indices keep the branch that select() does not take inside its buffer.
        const Expr from_a = a(x + a_offset_x, y + a_offset_y, clamp(c, 0, ca - 1), n);
        const Expr from_b = b(x + b_offset_x, y + b_offset_y, clamp(c - ca, 0, cb - 1), n);
        output(x, y, c, n) = select(c < ca, from_a, from_b);

        // ---------------------------------------------------------------- schedule
        ae2d::schedules::schedule_elementwise_stage(using_autoscheduler(), get_target(),
                                                    output, a, b, a_offset_x, a_offset_y, b_offset_x, b_offset_y);
    }

private:
    Var x{"x"}, y{"y"}, c{"c"}, n{"n"};
};

}  // namespace

HALIDE_REGISTER_GENERATOR(CropConcat, crop_concat)
