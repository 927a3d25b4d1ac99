// Estimates for Halide's autoschedulers (the "auto" baseline builds of every stage: Adams2019 on
// the CPU, Anderson2021 on GPUs): the autoscheduler needs the extent of every input and output.
// They describe a middle layer of the performance workloads (W2: 256 x 256 planes, 64 channels,
// batch 1, 3x3 kernels); a "half" plane is the source of an up-sampling stage. The same sizes
// suit a GPU: 64 x 256 x 256 outputs fill every SM of current GPUs many times over.
#pragma once

#include "Halide.h"

#include <type_traits>

namespace ae2d::schedules {

constexpr int kEstimatePlane = 256;
constexpr int kEstimateChannels = 64;
constexpr int kEstimateKernel = 3;

// Whether this is an Anderson2021 build (the GPU autoscheduler). Anderson2021 cannot schedule a
// Func computed at root with more than three dimensions of extent > 1: it puts GPU blocks on three
// of them around a serial loop over another, which Halide rejects ("Funcs cannot be scheduled in
// between GPU block loops"). Its conv builds avoid such Funcs: the taps read the source directly
// rather than through the 5-D `phased` (ops::convolution), and the weights unclamped (the clamp
// serves the manual schedules' whole channel blocks). The values computed are the same.
inline bool gpu_autoscheduled(bool autoscheduled, const Halide::Target &t) {
    return autoscheduled && t.has_gpu_feature();
}

// (x, y, c, n) activation; half = true for the half-size source of a x2 up-sampling.
template<typename Buf>
void estimate_activation(Buf &b, bool half = false) {
    const int plane = half ? kEstimatePlane / 2 : kEstimatePlane;
    b.set_estimates({{0, plane}, {0, plane}, {0, kEstimateChannels}, {0, 1}});
}

// (c, n) instance-norm coefficients.
template<typename Buf>
void estimate_coefficients(Buf &b) {
    b.set_estimates({{0, kEstimateChannels}, {0, 1}});
}

// (c) per-channel parameters.
template<typename Buf>
void estimate_channels(Buf &b) {
    b.set_estimates({{0, kEstimateChannels}});
}

// (kx, ky, ci, co) conv weights.
template<typename Buf>
void estimate_weights(Buf &b) {
    b.set_estimates({{0, kEstimateKernel}, {0, kEstimateKernel}, {0, kEstimateChannels}, {0, kEstimateChannels}});
}

// The estimates of an element-wise stage's arguments, by kind: an int (an offset) 0; a buffer
// by its rank, as an activation (4), instance-norm coefficients (2) or per-channel parameters (1).
template<typename... Args>
void estimate_arguments(Args &...args) {
    auto one = [](auto &a) {
        if constexpr (std::is_same_v<std::decay_t<decltype(a)>, Halide::GeneratorInput<int>>) {
            a.set_estimate(0);
        } else if (a.dimensions() == 4) {
            estimate_activation(a);
        } else if (a.dimensions() == 2) {
            estimate_coefficients(a);
        } else {
            estimate_channels(a);
        }
    };
    (one(args), ...);
}

}  // namespace ae2d::schedules
