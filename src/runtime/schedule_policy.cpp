// The built-in variant rules. Each names the measurement behind it: bench/spread's models tuned
// on the default spread of sizes (ae2d tune --all-variants, 2 threads, AMD EPYC Zen 2 AVX2),
// stage times relative to the fastest variant. Thresholds are in tiles, channels, weight bytes
// and vector lanes, so that they carry over to shapes and vector widths nobody measured.
#include "runtime/schedule_policy.h"

#include <algorithm>

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

    // Up-sampling convs: the products at the source's resolution (4x fewer multiplies), summed
    // along x (srows) on outputs wider than two vectors, along channels (scvec) below (sum of the
    // spread's up-sampling stages, bench/spread: srows 1.00, scvec 3.02, manual 2.32; 256
    // channels to 12 x 16: scvec 1.00, srows 1.51).
    if (key.stage == "norm_prelu_upsample_conv2d") {
        const bool by_2_along_x = key.step_kind == 'u' && key.step_w == 2;
        return by_2_along_x && key.width > 2 * lanes ? "srows" : "scvec";
    }

    // 3x3 stride-1 convs: Winograd from 32 channels (below, its transforms cost more than the
    // multiplies it saves: 16 -> 16 at 160 x 160, wino 2.6x the direct conv). F(4x4) re-reads its
    // transformed weights (4x the 3x3 ones) per tile row, so planes of a few vectors of tiles run
    // vectors along output channels (wcvec; 192 channels at 24 x 32: 1.00 against 1.18 for
    // wplane and 2.4 for wino), F(2x2) below one vector of tiles (1024 channels at 8 x 8: 151
    // MB of F(4x4) weights per call), and weights past L2 one tile position at a time over the
    // plane (wplane; 128 channels at 64 x 48: 1.00 against 1.52 for wino).
    const bool winograd = key.kernel_h == 3 && key.kernel_w == 3 && key.step_kind == 's' && key.step_h == 1 &&
                          key.step_w == 1;
    const int64_t channels = std::min(key.in_channels, key.out_channels);
    if (winograd && channels >= 32) {
        const int64_t tiles = ((key.height + 3) / 4) * ((key.width + 3) / 4);
        if (channels < 48) return tiles >= 192 ? "wino" : "manual";
        if (tiles < lanes) return "w2cvec";
        if (tiles <= 8 * lanes) return "wcvec";
        const int64_t weight_bytes = key.in_channels * key.out_channels * 36 * 4;
        if ((tiles <= 256 && weight_bytes > (1 << 20)) || (tiles < 1024 && weight_bytes > (4 << 20))) return "wplane";
        return "wino";
    }

    // Other convs: the direct conv, with vectors along output channels on planes narrower than a
    // vector. Summed over the spread's direct convs, no other tiling beats manual by more than 2%
    // (co4, strip4 and rows2 each win single stages and lose others).
    if (key.width < lanes && key.height < lanes) return "cvec";
    return "manual";
}

}  // namespace ae2d::runtime
