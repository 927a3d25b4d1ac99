#include "runtime/executor.h"

#include <algorithm>
#include <chrono>

#include "HalideBuffer.h"
#include "ae2d_center_crop.h"
#include "ae2d_conv2d.h"
#include "ae2d_conv2d_bias.h"
#include "ae2d_instance_norm_stats.h"
#include "ae2d_norm_prelu.h"
#include "ae2d_norm_prelu_conv2d.h"
#include "ae2d_norm_prelu_upsample.h"
#include "ae2d_norm_prelu_upsample_conv2d.h"
#include "ae2d_norm_residual_add.h"
#include "ae2d_residual_add.h"
#include "ae2d_upsample_bilinear.h"
#include "graph/passes.h"
#include "graph/shapes.h"
#include "runtime/halide_errors.h"

namespace ae2d::runtime {

using graph::Shape4;
using graph::Stage;
using graph::StageKind;
using Act = Halide::Runtime::Buffer<float>;
using ConstAct = Halide::Runtime::Buffer<const float>;

Expected<std::shared_ptr<const ExecutionPlan>> make_execution_plan(const graph::Graph &g, const Shape4 &input,
                                                                   const PlanOptions &options) {
    auto plan = std::make_shared<ExecutionPlan>();
    plan->graph = g;
    Status ok = graph::infer_shapes(plan->graph, input);
    if (!ok) return ok;
    graph::elide_identity_stages(plan->graph);
    if (options.fuse) graph::fuse_stages(plan->graph);
    plan->memory = plan_memory(plan->graph);
    return std::shared_ptr<const ExecutionPlan>(std::move(plan));
}

namespace {

// Halide dims are (x, y, c, n): PyTorch's NCHW memory with x innermost.
class StageRunner {
public:
    StageRunner(const ExecutionPlan &plan, const WeightMap &weights, const float *input, float *output, float *arena)
        : plan_(plan), weights_(weights), input_(input), output_(output), arena_(arena) {}

    Status run(const Stage &s) {
        const int code = call(s);
        if (code == 0) return Status::Ok();
        std::string why = take_last_halide_error();
        return Status::Error(std::string("stage ") + graph::stage_kind_name(s.kind) + " at " + s.module +
                             " failed (Halide error " + std::to_string(code) + (why.empty() ? "" : ": " + why) + ")");
    }

private:
    float *data_of(int v) const {
        if (v == plan_.graph.output) return output_;
        if (v == plan_.graph.input) return const_cast<float *>(input_);  // read-only by the stages
        return arena_ + plan_.memory.offsets[v];
    }
    Act act(int v) const {
        const Shape4 &s = plan_.graph.values[v].shape;
        return Act(data_of(v), int(s.w), int(s.h), int(s.c), int(s.n));
    }
    // Instance-norm coefficients: scales (c, n), then shifts (c, n).
    Act scale(int v) const {
        const Shape4 &s = plan_.graph.values[v].shape;
        return Act(data_of(v), int(s.c), int(s.n));
    }
    Act shift(int v) const {
        const Shape4 &s = plan_.graph.values[v].shape;
        return Act(data_of(v) + s.c * s.n, int(s.c), int(s.n));
    }
    // No heap allocation here: a forward pass on a cached plan allocates nothing.
    ConstAct param(const std::string &name) const {
        const Tensor &t = weights_.at(name);
        halide_dimension_t dims[4];
        const int rank = t.rank();  // at most 4: checked at load
        int32_t stride = 1;
        for (int d = 0; d < rank; ++d) {  // innermost first
            const int32_t extent = static_cast<int32_t>(t.shape[rank - 1 - d]);
            dims[d] = halide_dimension_t(0, extent, stride);
            stride *= extent;
        }
        return ConstAct(t.data.data(), rank, dims);
    }

    int call(const Stage &s) {
        const auto &in = s.inputs;
        switch (s.kind) {
        case StageKind::Conv2d: {
            auto x = act(in[0]), y = act(s.output);
            auto w = param(s.weight);
            if (s.bias.empty()) return ae2d_conv2d(x, w, s.stride_w, s.stride_h, s.pad_w, s.pad_h, y);
            auto b = param(s.bias);
            return ae2d_conv2d_bias(x, w, b, s.stride_w, s.stride_h, s.pad_w, s.pad_h, y);
        }
        case StageKind::NormPReLUConv2d: {
            auto x = act(in[0]), sc = scale(in[1]), sh = shift(in[1]), y = act(s.output);
            auto a = param(s.slope), w = param(s.weight);
            return ae2d_norm_prelu_conv2d(x, sc, sh, a, w, s.stride_w, s.stride_h, s.pad_w, s.pad_h, y);
        }
        case StageKind::NormPReLUUpsampleConv2d: {
            auto x = act(in[0]), sc = scale(in[1]), sh = shift(in[1]), y = act(s.output);
            auto a = param(s.slope), w = param(s.weight);
            return ae2d_norm_prelu_upsample_conv2d(x, sc, sh, a, w, s.factor_w, s.factor_h, s.pad_w, s.pad_h, y);
        }
        case StageKind::InstanceNormStats: {
            auto x = act(in[0]), sc = scale(s.output), sh = shift(s.output);
            auto gamma = param(s.gamma), beta = param(s.beta);
            return ae2d_instance_norm_stats(x, gamma, beta, sc, sh);
        }
        case StageKind::NormPReLU: {
            auto x = act(in[0]), sc = scale(in[1]), sh = shift(in[1]), y = act(s.output);
            auto a = param(s.slope);
            return ae2d_norm_prelu(x, sc, sh, a, y);
        }
        case StageKind::NormPReLUUpsample: {
            auto x = act(in[0]), sc = scale(in[1]), sh = shift(in[1]), y = act(s.output);
            auto a = param(s.slope);
            return ae2d_norm_prelu_upsample(x, sc, sh, a, y);
        }
        case StageKind::UpsampleBilinear: {
            auto x = act(in[0]), y = act(s.output);
            return ae2d_upsample_bilinear(x, y);
        }
        case StageKind::ResidualAdd: {
            auto a = act(in[0]), b = act(in[1]), y = act(s.output);
            return ae2d_residual_add(a, b, y);
        }
        case StageKind::NormResidualAdd: {
            auto a = act(in[0]), b = act(in[1]), sc = scale(in[2]), sh = shift(in[2]), y = act(s.output);
            return ae2d_norm_residual_add(a, b, sc, sh, y);
        }
        case StageKind::CenterCrop: {
            const Shape4 &from = plan_.graph.values[in[0]].shape, &to = plan_.graph.values[s.output].shape;
            auto x = act(in[0]), y = act(s.output);
            return ae2d_center_crop(x, int((from.w - to.w) / 2), int((from.h - to.h) / 2), y);
        }
        }
        return -1;
    }

    const ExecutionPlan &plan_;
    const WeightMap &weights_;
    const float *input_;
    float *output_;
    float *arena_;
};

}  // namespace

int64_t stage_macs(const ExecutionPlan &plan, const Stage &s) {
    if (s.weight.empty()) return 0;
    const graph::Value &in = plan.graph.values[s.inputs[0]], &out = plan.graph.values[s.output];
    return out.shape.numel() * in.shape.c * s.kernel_h * s.kernel_w;
}

int64_t count_macs(const ExecutionPlan &plan) {
    int64_t macs = 0;
    for (const Stage &s : plan.graph.stages) macs += stage_macs(plan, s);
    return macs;
}

std::string describe_stage(const ExecutionPlan &plan, const Stage &s) {
    const Shape4 &in = plan.graph.values[s.inputs[0]].shape, &out = plan.graph.values[s.output].shape;
    std::string d;
    if (!s.weight.empty()) {
        d = std::to_string(s.kernel_h) + "x" + std::to_string(s.kernel_w);
        if (s.stride_h != 1 || s.stride_w != 1) d += " s" + std::to_string(std::max(s.stride_h, s.stride_w));
        if (s.factor_h != 1 || s.factor_w != 1) d += " up" + std::to_string(std::max(s.factor_h, s.factor_w));
        d += ", ";
    }
    d += std::to_string(in.c) + "->" + std::to_string(out.c) + ", " + std::to_string(out.h) + "x" +
         std::to_string(out.w);
    if (out.n > 1) d += " x" + std::to_string(out.n);
    return d;
}

Status execute(const ExecutionPlan &plan, const WeightMap &weights, const float *input, float *output, float *arena,
               StageProfile *profile) {
    StageRunner runner(plan, weights, input, output, arena);
    if (profile) profile->stages.reserve(plan.graph.stages.size());
    for (size_t i = 0; i < plan.graph.stages.size(); ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        Status ok = runner.run(plan.graph.stages[i]);
        if (!ok) return ok;
        if (profile) {
            const std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
            profile->stages.push_back({static_cast<int>(i), dt.count()});
        }
    }
    return Status::Ok();
}

}  // namespace ae2d::runtime
