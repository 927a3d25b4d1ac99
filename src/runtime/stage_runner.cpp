#include "runtime/stage_runner.h"

#include <chrono>
#include <cstdlib>

#include "HalideRuntime.h"
#include "runtime/halide_errors.h"
#include "runtime/variant_entry_points.h"

namespace ae2d::runtime {

using graph::Shape4;
using graph::Stage;
using graph::StageKind;

// The AOT entry points of a GPU backend, built from the same generators as the CPU libraries
// (same arguments). The CPU ones come in variants (variant_entry_points.h); a GPU backend has two sets,
// indexed by variant: kManualVariant (the GPU schedules) and kAutoVariant (Anderson2021).
struct Kernels {
#define AE2D_KERNEL_MEMBER(stage) decltype(&ae2d_##stage) stage;
    AE2D_FOR_EACH_STAGE(AE2D_KERNEL_MEMBER)
#undef AE2D_KERNEL_MEMBER
};
static_assert(kManualVariant == 0 && kAutoVariant == 1, "GPU kernel sets are indexed by variant");

#if AE2D_HAVE_GPU
const Kernels *kernels_for(Backend backend) {
#define AE2D_KERNEL(stage, suffix) ae2d_##stage##suffix,
#define AE2D_CUDA(stage) AE2D_KERNEL(stage, _cuda)
#define AE2D_CUDA_AUTO(stage) AE2D_KERNEL(stage, _cuda_auto)
#define AE2D_OPENCL(stage) AE2D_KERNEL(stage, _opencl)
#define AE2D_OPENCL_AUTO(stage) AE2D_KERNEL(stage, _opencl_auto)
    static const Kernels cuda[] = {{AE2D_FOR_EACH_STAGE(AE2D_CUDA)}, {AE2D_FOR_EACH_STAGE(AE2D_CUDA_AUTO)}};
    static const Kernels opencl[] = {{AE2D_FOR_EACH_STAGE(AE2D_OPENCL)}, {AE2D_FOR_EACH_STAGE(AE2D_OPENCL_AUTO)}};
#undef AE2D_KERNEL
#undef AE2D_CUDA
#undef AE2D_CUDA_AUTO
#undef AE2D_OPENCL
#undef AE2D_OPENCL_AUTO
    return backend == Backend::Cuda ? cuda : opencl;
}
#endif

namespace {

// The variant a GPU stage runs for the plan's `variant`: auto, or manual for every other name
// (the conv tilings exist on the CPU only).
int gpu_variant(int variant) { return variant == kAutoVariant ? kAutoVariant : kManualVariant; }

// The weights CPU variant v of stage s takes. No heap allocation: forward passes ask it.
WeightPacking weights_taken(const Stage &s, int v) {
    switch (s.kind) {
    case StageKind::Conv2d: return s.bias.empty() ? k_conv2d[v].info.weights : k_conv2d_bias[v].info.weights;
    case StageKind::NormPReLUConv2d: return k_norm_prelu_conv2d[v].info.weights;
    case StageKind::NormPReLUUpsampleConv2d: return k_norm_prelu_upsample_conv2d[v].info.weights;
    default: return WeightPacking::AsIs;  // stages without weights: manual and auto only
    }
}

// The row width at which the CPU reads the planes of a stage that treats each pixel alone (a 1x1,
// stride-1 conv, a residual add, the statistics of a plane: reads_planes_as_rows). A dense plane
// of w x h pixels may be read as rows of any divisor of w h. The direct convs' register tiles are
// 2 vectors along x (16 floats on AVX2), the channel-vectorized ones 4 pixels, and the other
// stages vectorize along x, so planes whose width is not a multiple of 16 waste lanes or run
// short rows; read as rows of the multiple of 16 nearest their width, they fill whole vectors.
// Measured (JIT, 2 threads, best schedule of each): 1024 -> 1024 at 4 x 4, 0.28 ms (cvec) as
// 4 x 4, 0.19 as 16 x 1; 64 -> 64 at 63 x 64, 0.29 as 63 x 64, 0.27 as 64 x 63. Returns w when
// w is a multiple of 16 or no multiple of 16 up to 2 w + 16 divides w h.
int pointwise_row_width(int w, int h) {
    constexpr int kRow = 16;
    if (w % kRow == 0) return w;
    const int64_t pixels = int64_t(w) * h;
    int64_t best = w;
    for (int64_t d = kRow; d <= std::min(pixels, 2 * int64_t(w) + kRow); d += kRow)
        if (pixels % d == 0 && (best == w || std::abs(d - w) < std::abs(best - w))) best = d;
    return static_cast<int>(best);
}

bool is_pointwise(const Stage &s) {
    return s.kernel_w == 1 && s.kernel_h == 1 && s.stride_w == 1 && s.stride_h == 1 && s.pad_w == 0 && s.pad_h == 0;
}

// Whether a stage's planes may be read as rows of another width: every value it computes depends
// on one pixel of its inputs (or, for the statistics, on a whole plane in any order).
bool reads_planes_as_rows(const Stage &s) {
    switch (s.kind) {
    case StageKind::Conv2d:
    case StageKind::NormPReLUConv2d: return is_pointwise(s);
    case StageKind::InstanceNormStats:
    case StageKind::NormPReLU:
    case StageKind::ResidualAdd:
    case StageKind::NormResidualAdd: return true;
    case StageKind::NormInverse: return true;
    default: return false;
    }
}

// A host activation (HostBuffers) with dense planes, read as rows of `width` pixels.
Act planes_as_rows(const Act &a, int width) {
    const int pixels = a.dim(0).extent() * a.dim(1).extent();
    halide_dimension_t dims[4] = {{0, width, 1},
                                  {0, pixels / width, width},
                                  {0, a.dim(2).extent(), a.dim(2).stride()},
                                  {0, a.dim(3).extent(), a.dim(3).stride()}};
    return Act(a.data(), 4, dims);
}

}  // namespace

Status StageRunner::run(const Stage &s, int variant, bool fallback_to_manual, bool *fell_back) {
    ConstAct packed;  // the weights of a variant that takes them packed
    const WeightPacking packing = gpu_ ? WeightPacking::AsIs : weights_taken(s, variant);
    if (packing != WeightPacking::AsIs) {
        auto p = b_.packed_param(s.weight, packing);
        if (!p) return p.status().with_context(std::string("stage ") + graph::stage_kind_name(s.kind) + " at " + s.module);
        packed = std::move(*p);
    }
    int code = call(s, variant, packed);
    if (code == halide_error_code_access_out_of_bounds && variant == kAutoVariant && fallback_to_manual) {
        take_last_halide_error();
        code = call(s, kManualVariant, ConstAct());  // manual takes the weights as they are
        if (fell_back) *fell_back = true;
    }
    if (code == 0) return Status::Ok();
    std::string why = take_last_halide_error();
    return Status::Error(std::string("stage ") + graph::stage_kind_name(s.kind) + " at " + s.module +
                         " failed (Halide error " + std::to_string(code) + (why.empty() ? "" : ": " + why) + ")");
}


// The stage's function: the GPU backend's, or the CPU variant v.
#define AE2D_STAGE_FN(stage) (gpu_ ? gpu_[v].stage : k_##stage[v].fn)
int StageRunner::call(const Stage &s, int v, const ConstAct &packed) {
    if (gpu_) v = gpu_variant(v);
    const auto &in = s.inputs;
    auto weights = [&] { return packed.data() ? packed : b_.param(s.weight); };
    // An activation of the stage; on the CPU, one of a stage that reads its planes as rows (all
    // its activations have the same planes) as rows of pointwise_row_width.
    auto act = [&](int value) {
        Act a = b_.act(value);
        if (gpu_ || !reads_planes_as_rows(s)) return a;
        const int width = pointwise_row_width(a.dim(0).extent(), a.dim(1).extent());
        return width == a.dim(0).extent() ? a : planes_as_rows(a, width);
    };
    switch (s.kind) {
    case StageKind::Conv2d: {
        auto x = act(in[0]), y = act(s.output);
        auto w = weights();
        if (s.bias.empty()) return AE2D_STAGE_FN(conv2d)(x, w, s.stride_w, s.stride_h, s.pad_w, s.pad_h, y);
        auto b = b_.param(s.bias);
        return AE2D_STAGE_FN(conv2d_bias)(x, w, b, s.stride_w, s.stride_h, s.pad_w, s.pad_h, y);
    }
    case StageKind::NormPReLUConv2d: {
        auto x = act(in[0]), y = act(s.output);
        auto sc = b_.scale(in[1]), sh = b_.shift(in[1]);
        auto a = b_.param(s.slope), w = weights();
        return AE2D_STAGE_FN(norm_prelu_conv2d)(x, sc, sh, a, w, s.stride_w, s.stride_h, s.pad_w, s.pad_h, y);
    }
    case StageKind::NormPReLUUpsampleConv2d: {
        auto x = b_.act(in[0]), sc = b_.scale(in[1]), sh = b_.shift(in[1]), y = b_.act(s.output);
        auto a = b_.param(s.slope), w = weights();
        return AE2D_STAGE_FN(norm_prelu_upsample_conv2d)(x, sc, sh, a, w, s.factor_w, s.factor_h, s.pad_w, s.pad_h, y);
    }
    case StageKind::InstanceNormStats: {
        auto x = act(in[0]), sc = b_.scale(s.output), sh = b_.shift(s.output);
        auto gamma = b_.param(s.gamma), beta = b_.param(s.beta);
        return AE2D_STAGE_FN(instance_norm_stats)(x, gamma, beta, sc, sh);
    }
    case StageKind::NormPReLU: {
        auto x = act(in[0]), sc = b_.scale(in[1]), sh = b_.shift(in[1]), y = act(s.output);
        auto a = b_.param(s.slope);
        return AE2D_STAGE_FN(norm_prelu)(x, sc, sh, a, y);
    }
    case StageKind::NormPReLUUpsample: {
        auto x = b_.act(in[0]), sc = b_.scale(in[1]), sh = b_.shift(in[1]), y = b_.act(s.output);
        auto a = b_.param(s.slope);
        return AE2D_STAGE_FN(norm_prelu_upsample)(x, sc, sh, a, y);
    }
    case StageKind::UpsampleBilinear: {
        auto x = b_.act(in[0]), y = b_.act(s.output);
        return AE2D_STAGE_FN(upsample_bilinear)(x, y);
    }
    case StageKind::ResidualAdd: {
        auto a = act(in[0]), b = act(in[1]), y = act(s.output);
        return AE2D_STAGE_FN(residual_add)(a, b, y);
    }
    case StageKind::NormResidualAdd: {
        auto a = act(in[0]), b = act(in[1]), sc = b_.scale(in[2]), sh = b_.shift(in[2]), y = act(s.output);
        return AE2D_STAGE_FN(norm_residual_add)(a, b, sc, sh, y);
    }
    case StageKind::CenterCrop: {
        const Shape4 &from = plan_.graph.values[in[0]].shape, &to = plan_.graph.values[s.output].shape;
        auto x = b_.act(in[0]), y = b_.act(s.output);
        return AE2D_STAGE_FN(center_crop)(x, int((from.w - to.w) / 2), int((from.h - to.h) / 2), y);
    }
    case StageKind::CropConcat: {
        const Shape4 &a = plan_.graph.values[in[0]].shape, &b = plan_.graph.values[in[1]].shape;
        const Shape4 &to = plan_.graph.values[s.output].shape;
        auto xa = b_.act(in[0]), xb = b_.act(in[1]), y = b_.act(s.output);
        return AE2D_STAGE_FN(crop_concat)(xa, xb, int((a.w - to.w) / 2), int((a.h - to.h) / 2), int((b.w - to.w) / 2),
                                          int((b.h - to.h) / 2), y);
    }
    case StageKind::NormInverse: {
        auto x = act(in[0]), sc = b_.scale(in[1]), sh = b_.shift(in[1]), y = act(s.output);
        return AE2D_STAGE_FN(norm_inverse)(x, sc, sh, y);
    }
    }
    return -1;
}
#undef AE2D_STAGE_FN

Status run_stages(const ExecutionPlan &plan, StageRunner &runner, StageProfile *profile,
                  const std::function<Status()> &sync, const StageHook &hook) {
    if (profile) profile->stages.reserve(plan.graph.stages.size());
    for (size_t i = 0; i < plan.graph.stages.size(); ++i) {
        const Stage &s = plan.graph.stages[i];
        if (hook) {
            const size_t variants = stage_variant_names(stage_library(s)).size();
            Status ok = hook(i, [&](int variant) {
                if (variant < 0 || size_t(variant) >= variants) return Status::Error("no such variant");
                return runner.run(s, variant);
            });
            if (!ok) return ok;
        }
        const int variant = plan.variants[i];
        const auto t0 = std::chrono::steady_clock::now();
        bool fell_back = false;
        Status ok = runner.run(s, variant, /*fallback_to_manual=*/true, &fell_back);
        if (!ok) return ok;
        if (profile) {
            if (sync) {
                ok = sync();
                if (!ok)
                    return ok.with_context(std::string("stage ") + graph::stage_kind_name(s.kind) + " at " + s.module);
            }
            const std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
            const int ran = fell_back ? kManualVariant : runner.on_gpu() ? gpu_variant(variant) : variant;
            profile->stages.push_back({static_cast<int>(i), dt.count(), ran});
            profile->auto_stages += variant == kAutoVariant;
            profile->auto_fallbacks += fell_back;
        }
    }
    return Status::Ok();
}

}  // namespace ae2d::runtime
