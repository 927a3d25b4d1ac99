// ChannelBlockedWeights: a conv's weights packed for the channel-vectorized ("cvec") variant of
// the conv stages: blocks of ops::kChannelBlock output channels innermost, so that a tap's weights
// for a block are one dense vector load (ops::conv_weights reads them). The runtime runs it once
// per weight tensor, when a model first runs that variant on it, and keeps the result.
//   packed(coi, kx + kw * ky, ci, cob) = weights(kx, ky, ci, cob * 16 + coi), 0 past the last channel
// AOT arguments: (weights (kx, ky, ci, co) = PyTorch (co, ci, kh, kw), packed (16, kh * kw, ci, ceil(co / 16))).
#include "Halide.h"
#include "cpu_schedule.h"
#include "ops.h"

namespace {

using namespace Halide;
namespace ops = ae2d::ops;

class ChannelBlockedWeights : public Generator<ChannelBlockedWeights> {
public:
    Input<Buffer<float, 4>> weights{"weights"};  // (kx, ky, ci, co)
    Output<Buffer<float, 4>> packed{"packed"};   // (coi, tap, ci, cob)

    void generate() {
        // ---------------------------------------------------------------- algorithm
        ops::require_zero_mins(weights, packed);
        packed.dim(0).set_extent(ops::kChannelBlock);
        Expr kernel_w = weights.dim(0).extent(), out_channels = weights.dim(3).extent();
        Expr o = cob * ops::kChannelBlock + coi;
        packed(coi, tap, ci, cob) =
            select(o < out_channels, weights(tap % kernel_w, tap / kernel_w, ci, min(o, out_channels - 1)), 0.0f);

        // ---------------------------------------------------------------- schedule
        // Once per tensor: vectors along the block, parallel over blocks.
        packed.vectorize(coi, ae2d::schedules::float_lanes(get_target())).parallel(cob);
    }

private:
    Var coi{"coi"}, tap{"tap"}, ci{"ci"}, cob{"cob"};
};

}  // namespace

HALIDE_REGISTER_GENERATOR(ChannelBlockedWeights, channel_blocked_weights)
