// The built-in variant rules. Each rule names the measurement behind it (ae2d tune, 2 threads,
// AMD EPYC Zen 2 AVX2; docs/schedules.md has the sweep); thresholds are in output pixels and
// vector lanes, so that they carry over to shapes and vector widths nobody measured.
#include "runtime/schedule_policy.h"

namespace ae2d::runtime {

namespace {

// float lanes of the target's vectors.
int64_t lanes_of(const std::string &target) {
    if (target == "x86-64-avx512") return 16;
    if (target == "x86-64-avx2") return 8;
    return 4;  // SSE4.1, NEON
}

}  // namespace

std::string policy_variant(const ScheduleEntry &key, const std::string &target) {
    const bool conv = key.kernel_h != ScheduleEntry::kNone;
    if (!conv) return "manual";
    const int64_t lanes = lanes_of(target);
    const int64_t pixels = key.height * key.width;

    // Up-sampling convs: the products at the source's resolution (4x fewer multiplies). From
    // sources two vectors wide, their sum along x (srows) beats the sum along channels (128
    // channels to 32 x 32: 2.8 ms against 9.6).
    if (key.stage == "norm_prelu_upsample_conv2d") {
        const bool by_2_along_x = key.step_kind == 'u' && key.step_w == 2;
        return by_2_along_x && key.width >= 4 * lanes ? "srows" : "scvec";
    }

    // 3x3 stride-1 convs between feature maps: Winograd. F(4x4) re-reads its transformed weights
    // (4x the 3x3 ones) per tile row, so small planes run the products one tile position at a
    // time over the plane (wplane), with vectors along channels up to two vectors of tiles
    // (wcvec), and F(2x2) below one vector of tiles, where F(4x4)'s weights cost more than its
    // multiplies save (1024 channels at 8 x 8: 151 MB per call).
    const bool winograd = key.kernel_h == 3 && key.kernel_w == 3 && key.step_kind == 's' && key.step_h == 1 &&
                          key.step_w == 1 && key.in_channels >= 16 && key.out_channels >= 16;
    if (winograd) {
        const int64_t tiles = ((key.height + 3) / 4) * ((key.width + 3) / 4);
        if (tiles < lanes) return "w2cvec";
        if (tiles <= 2 * lanes) return "wcvec";
        const int64_t weight_bytes = key.in_channels * key.out_channels * 36 * 4;
        if (pixels < 64 * 64 || (pixels < 128 * 128 && weight_bytes > (4 << 20))) return "wplane";
        return "wino";
    }

    // Direct convs on planes narrower than a vector: vectors along output channels.
    if (key.width < lanes && key.height < lanes) return "cvec";
    return "manual";
}

}  // namespace ae2d::runtime
