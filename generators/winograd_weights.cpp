// WinogradWeights: the weight transform of Winograd F(m x m, 3x3), G g G^T, for the Winograd
// variants of the conv stages, packed as they read it (ops::winograd_weights_unpacked). The
// runtime runs it once per 3x3 weight tensor, when a model first runs one of those variants, and
// keeps the result (4x the weights' size for F(4x4), 16/9 for F(2x2), output channels padded to
// blocks of 16), so a forward pass only reads it.
//   packed(coi, ci, ex + p ey, cob) = (G g(., ., ci, co) G^T)(ex, ey), co = 16 cob + coi,
//   zero for co past the last channel; p = m + 2 transformed points per axis
// AOT arguments: (weights (kx, ky, ci, co) = PyTorch (co, ci, 3, 3),
//                 packed (16, ci, p * p, ceil(co / 16))).
// Built twice: m = 4 (ae2d_winograd_weights) and m = 2 (ae2d_winograd2_weights).
#include "Halide.h"
#include "ops.h"
#include "winograd_schedule.h"

namespace {

using namespace Halide;
namespace ops = ae2d::ops;

class WinogradWeights : public Generator<WinogradWeights> {
public:
    GeneratorParam<int> tile{"tile", 4, 2, 4};  // output tiles of m x m: F(4x4, 3x3) or F(2x2, 3x3)
    Input<Buffer<float, 4>> weights{"weights"};  // (kx, ky, ci, co)
    Output<Buffer<float, 4>> packed{"packed"};   // (coi, ci, ex + (m + 2) ey, cob)

    void generate() {
        // ---------------------------------------------------------------- algorithm
        ops::require_zero_mins(weights, packed);
        packed.dim(0).set_extent(ops::kChannelBlock);  // constant extents, unrolled by the schedule
        const int points = tile + 2;
        packed.dim(2).set_extent(points * points);
        add_requirement(weights.dim(0).extent() == 3 && weights.dim(1).extent() == 3,
                        "the Winograd weight transform takes 3x3 kernels only");
        Expr out_channels = weights.dim(3).extent();
        ops::WinogradWeights w = ops::winograd_weights(ops::weights_clamped(weights, out_channels), tile);
        Expr o = cob * ops::kChannelBlock + coi;
        packed(coi, ci, e, cob) = select(o < out_channels, w.u(e % points, e / points, ci, o), 0.0f);

        // ---------------------------------------------------------------- schedule
        ae2d::schedules::schedule_winograd_weights(packed, w.gw, w.taps, get_target());
    }

private:
    Var coi{"coi"}, ci{"ci"}, e{"e"}, cob{"cob"};
};

}  // namespace

HALIDE_REGISTER_GENERATOR(WinogradWeights, winograd_weights)
