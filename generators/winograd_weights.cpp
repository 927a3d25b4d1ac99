// WinogradWeights: the weight transform of Winograd F(4x4, 3x3), G g G^T, for the Winograd
// variants of the conv stages, packed as they read it (ops::winograd_weights). The runtime runs
// it once per 3x3 weight tensor, when a model first runs one of those variants, and keeps the
// result (4x the weights' size), so a forward pass only reads it.
//   packed(co, ci, ex, ey) = (G g(., ., ci, co) G^T)(ex, ey)
// AOT arguments: (weights (kx, ky, ci, co) = PyTorch (co, ci, 3, 3), packed (co, ci, 6, 6)).
#include "Halide.h"
#include "ops.h"
#include "winograd_schedule.h"

namespace {

using namespace Halide;
namespace ops = ae2d::ops;

class WinogradWeights : public Generator<WinogradWeights> {
public:
    Input<Buffer<float, 4>> weights{"weights"};  // (kx, ky, ci, co)
    Output<Buffer<float, 4>> packed{"packed"};   // (co, ci, ex, ey)

    void generate() {
        // ---------------------------------------------------------------- algorithm
        ops::require_zero_mins(weights);
        ops::require_zero_mins(packed);
        packed.dim(2).set_extent(6);  // (ex, ey): constant extents, unrolled by the schedule
        packed.dim(3).set_extent(6);
        add_requirement(weights.dim(0).extent() == 3 && weights.dim(1).extent() == 3,
                        "the Winograd weight transform takes 3x3 kernels only");
        ops::WinogradWeights w = ops::winograd_weights(weights);
        packed(co, ci, ex, ey) = w.u(ex, ey, ci, co);

        // ---------------------------------------------------------------- schedule
        ae2d::schedules::schedule_winograd_weights(packed, w.gw, w.taps, get_target());
    }

private:
    Var co{"co"}, ci{"ci"}, ex{"ex"}, ey{"ey"};
};

}  // namespace

HALIDE_REGISTER_GENERATOR(WinogradWeights, winograd_weights)
