// The execution plan of one input shape: the graph shaped and fused, its memory planned and
// each stage's variant chosen from the schedule table.
#include <algorithm>

#include "graph/passes.h"
#include "graph/shapes.h"
#include "runtime/executor.h"
#include "runtime/schedule_table.h"

namespace ae2d::runtime {

using graph::Shape4;
using graph::Stage;
using graph::StageKind;

namespace {

// Multiply-accumulates of a conv stage of a shaped graph, as a direct convolution (0 without weights).
int64_t macs_of(const graph::Graph &g, const Stage &s) {
    if (s.weight.empty()) return 0;
    const graph::Value &in = g.values[s.inputs[0]], &out = g.values[s.output];
    return out.shape.numel() * in.shape.c * s.kernel_h * s.kernel_w;
}

}  // namespace

std::string stage_library(const Stage &s) {
    switch (s.kind) {
    case StageKind::Conv2d: return s.bias.empty() ? "conv2d" : "conv2d_bias";
    case StageKind::InstanceNormStats: return "instance_norm_stats";
    case StageKind::NormPReLU: return "norm_prelu";
    case StageKind::UpsampleBilinear: return "upsample_bilinear";
    case StageKind::NormPReLUUpsample: return "norm_prelu_upsample";
    case StageKind::ResidualAdd: return "residual_add";
    case StageKind::NormResidualAdd: return "norm_residual_add";
    case StageKind::CenterCrop: return "center_crop";
    case StageKind::CropConcat: return "crop_concat";
    case StageKind::NormPReLUConv2d: return "norm_prelu_conv2d";
    case StageKind::NormPReLUUpsampleConv2d: return "norm_prelu_upsample_conv2d";
    case StageKind::NormInverse: return "norm_inverse";
    }
    return "?";
}

ScheduleEntry stage_schedule_key(const graph::Graph &g, const Stage &s) {
    ScheduleEntry key;
    key.stage = stage_library(s);
    const Shape4 &in = g.values[s.inputs[0]].shape;
    const Shape4 &out = g.values[s.output].shape;
    const bool conv = !s.weight.empty();
    key.kernel_h = conv ? s.kernel_h : ScheduleEntry::kNone;
    key.kernel_w = conv ? s.kernel_w : ScheduleEntry::kNone;
    const bool upsample = s.kind == StageKind::NormPReLUUpsampleConv2d || s.kind == StageKind::NormPReLUUpsample ||
                          s.kind == StageKind::UpsampleBilinear;
    key.step_kind = upsample ? 'u' : 's';
    key.step_h = upsample ? s.factor_h : conv ? s.stride_h : ScheduleEntry::kNone;
    key.step_w = upsample ? s.factor_w : conv ? s.stride_w : ScheduleEntry::kNone;
    key.in_channels = in.c;
    // InstanceNormStats writes coefficients: its key uses its input's shape.
    const Shape4 &shape = s.kind == StageKind::InstanceNormStats ? in : out;
    key.out_channels = shape.c;
    key.batch = shape.n;
    key.height = shape.h;
    key.width = shape.w;
    return key;
}

Expected<std::shared_ptr<const ExecutionPlan>> make_execution_plan(const graph::Graph &g, const Shape4 &input,
                                                                   const PlanOptions &options) {
    auto plan = std::make_shared<ExecutionPlan>();
    plan->graph = g;
    Status ok = graph::infer_shapes(plan->graph, input);
    if (!ok) return ok;
    for (const Stage &s : plan->graph.stages) plan->network_macs += macs_of(plan->graph, s);
    graph::elide_identity_stages(plan->graph);
    if (options.fuse) {
        graph::convolve_before_upsampling(plan->graph);
        graph::fuse_stages(plan->graph);
    }
    if (options.join_in_place) graph::join_in_place(plan->graph);
    plan->memory = plan_memory(plan->graph);
    const ScheduleTable manual = ScheduleTable::manual();
    const ScheduleTable &table = options.schedule ? *options.schedule : manual;
    for (const Stage &s : plan->graph.stages) {
        const ScheduleEntry key = stage_schedule_key(plan->graph, s);
        const std::string chosen = table.rules().variant_for(key);
        const std::string variant = variant_applies(chosen, key) ? chosen : "manual";  // wino on a 1x1: manual
        const std::vector<std::string> names = stage_variant_names(key.stage);
        const auto it = std::find(names.begin(), names.end(), variant);
        if (it == names.end())  // tables are checked when parsed; this guards hand-made ones
            return Status::Error("schedule " + table.name() + ": stage " + key.stage + " has no variant '" + variant + "'");
        plan->variants.push_back(static_cast<int>(it - names.begin()));
    }
    return std::shared_ptr<const ExecutionPlan>(std::move(plan));
}

int64_t stage_macs(const ExecutionPlan &plan, const Stage &s) { return macs_of(plan.graph, s); }

int64_t count_macs(const ExecutionPlan &plan) { return plan.network_macs; }

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

}  // namespace ae2d::runtime
