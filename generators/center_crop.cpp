// CenterCrop: output(x, y, c, n) = input(x + offset_x, y + offset_y, c, n), the decoder's crop of
// an up-sampled tensor to the encoder's recorded size (the caller computes the offsets,
// (size - g) / 2 per axis, and sizes the output g).
// AOT arguments: (input, offset_x, offset_y, output).
#include "Halide.h"
#include "auto_estimates.h"
#include "cpu_schedule.h"
#include "gpu_schedule.h"
#include "ops.h"

namespace {

using namespace Halide;
namespace ops = ae2d::ops;

class CenterCrop : public Generator<CenterCrop> {
public:
    Input<Buffer<float, 4>> input{"input"};  // (x, y, c, n)
    Input<int> offset_x{"offset_x"}, offset_y{"offset_y"};
    Output<Buffer<float, 4>> output{"output"};

    void generate() {
        // ---------------------------------------------------------------- algorithm
        ops::require_zero_mins(input, output);
        output(x, y, c, n) = input(x + offset_x, y + offset_y, c, n);

        // ---------------------------------------------------------------- schedule
        ae2d::schedules::schedule_elementwise_stage(using_autoscheduler(), get_target(),
                                                    output, input, offset_x, offset_y);
    }

private:
    Var x{"x"}, y{"y"}, c{"c"}, n{"n"};
};

}  // namespace

HALIDE_REGISTER_GENERATOR(CenterCrop, center_crop)
