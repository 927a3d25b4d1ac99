// Estimates for Halide's autoschedulers (the "auto" baseline builds of every stage): the
// autoscheduler needs the extent of every input and output. They describe a middle layer of the
// performance workloads (W2: 256 x 256 planes, 64 channels, batch 1, 3x3 kernels); a "half"
// plane is the source of an up-sampling stage.
#pragma once

#include "Halide.h"

namespace ae2d::schedules {

constexpr int kEstimatePlane = 256;
constexpr int kEstimateChannels = 64;
constexpr int kEstimateKernel = 3;

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

}  // namespace ae2d::schedules
