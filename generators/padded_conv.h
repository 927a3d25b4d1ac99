// PaddedConv: the convolution every conv generator shares. It convolves a zero-padded source by
// the stage's weights input, starting from init(co) (a bias or zero), by the variant its
// ConvTuning names: Winograd on the packed transformed weights of a 3x3 stride-1 conv, or direct
// on PyTorch's layout or the channel-blocked one. The generators differ only in what they put
// before it (none, norm + PReLU, norm + PReLU + up-sampling: the prologue that makes `padded`),
// in the bias and in their arguments.
//   define():   output(x, y, co, n) = the convolution, with the requirement the variant's weights
//               must meet;
//   schedule(): the variant's CPU schedule, or the GPU one.
#pragma once

#include <vector>

#include "Halide.h"
#include "conv_schedule.h"
#include "gpu_schedule.h"
#include "ops.h"
#include "winograd_schedule.h"

namespace ae2d::generators {

class PaddedConv {
public:
    // stride_x / stride_y undefined: the stage always runs at stride 1. gpu_auto: the build is
    // scheduled by a GPU autoscheduler (schedules::gpu_autoscheduled).
    template<typename Gen, typename Buf>
    void define(Gen &gen, Halide::Func output, const Halide::Func &padded, const Buf &weights,
                const Halide::Func &init, const schedules::ConvTuning &tuning, bool gpu_auto,
                const Halide::Expr &stride_x, const Halide::Expr &stride_y, const Halide::Expr &pad_x,
                const Halide::Expr &pad_y) {
        using namespace Halide;
        winograd_ = tuning.winograd;
        stride_x_ = stride_x;
        Var x("x"), y("y"), co("co"), n("n");
        if (winograd_) {
            Expr runs = ops::is_packed_winograd_weights(weights, tuning.winograd_tile);
            if (stride_x.defined()) runs = runs && stride_x == 1 && stride_y == 1;
            gen.add_requirement(runs, "the winograd variants run 3x3 stride-1 convolutions on their packed weights only");
            wg_ = ops::winograd_3x3_packed(padded, weights, pad_x, pad_y, init, tuning.winograd_tile);
            output(x, y, co, n) = wg_.out(x, y, co, n);
            return;
        }
        cw_ = ops::conv_weights(weights, tuning.channel_vectorized, !gpu_auto, pad_x, pad_y);
        gen.add_requirement(cw_.valid, "the cvec variant takes channel-blocked weights (16, k * k, ci, co / 16)");
        const Expr sx = stride_x.defined() ? stride_x : Expr(1), sy = stride_y.defined() ? stride_y : Expr(1);
        direct_ = ops::convolution(padded, cw_.w, cw_.kernel_w, cw_.kernel_h, cw_.in_channels, sx, sy, pad_x, pad_y,
                                   init, /*read_phased=*/!gpu_auto);
        output(x, y, co, n) = direct_.conv(x, y, co, n);
    }

    // `output` is define()'s. CPU: strip_funcs are the prologue's producers stored per strip (per
    // chunk for Winograd), and `specializations` the conditions the source simplifies under.
    // GPU: the whole prologue is inlined into the per-tile source in shared memory.
    void schedule(const Halide::Func &output, const Halide::Target &t, const schedules::ConvParams &params,
                  const std::vector<Halide::Func> &strip_funcs = {},
                  const std::vector<Halide::Expr> &specializations = {}) const {
        if (winograd_) {
            schedules::WinogradStage stage{output, wg_.funcs<schedules::WinogradFuncs>(), strip_funcs};
            stage.source_specializations = specializations;
            schedules::schedule_winograd(stage, t, params);
            return;
        }
        if (t.has_gpu_feature()) {
            schedules::gpu::schedule_conv(
                {output, direct_.conv, direct_.kernel, direct_.phased, {}, cw_.kernel_w, cw_.kernel_h, stride_x_});
            return;
        }
        schedules::ConvStage stage{output,       direct_.conv, direct_.kernel, direct_.phased, strip_funcs,
                                   cw_.kernel_w, cw_.kernel_h, stride_x_};
        stage.phased_specializations = specializations;
        schedules::schedule_conv(stage, t, params);
    }

private:
    bool winograd_ = false;
    Halide::Expr stride_x_;
    ops::ConvWeights cw_;
    ops::Convolution direct_;
    ops::Winograd wg_;
};

}  // namespace ae2d::generators
