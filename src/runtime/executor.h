// Runs a shaped, fused, memory-planned graph by calling the AOT Halide stages in order.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "ae2d/status.h"
#include "ae2d/tensor.h"
#include "graph/graph.h"
#include "runtime/memory_plan.h"

namespace ae2d::runtime {

// Model parameters by state_dict key, float32, PyTorch layout.
using WeightMap = std::unordered_map<std::string, Tensor>;

// Everything needed to run one input shape: made once per shape, then shared by calls.
struct ExecutionPlan {
    graph::Graph graph;  // shaped, identity stages elided, fused
    MemoryPlan memory;
};

struct PlanOptions {
    bool fuse = true;  // false runs every primitive stage on its own (tests compare both)
};

Expected<std::shared_ptr<const ExecutionPlan>> make_execution_plan(const graph::Graph &g, const graph::Shape4 &input,
                                                                   const PlanOptions &options = {});

// Multiply-accumulates of the plan's convolutions, counted as direct convolutions.
int64_t count_macs(const ExecutionPlan &plan);

// Wall time of one stage of a plan.
struct StageTime {
    int stage;  // index into plan.graph.stages
    double seconds;
};

// Per-stage wall time, filled when a profile is passed to execute().
struct StageProfile {
    std::vector<StageTime> stages;  // in execution order
};

// Multiply-accumulates of one stage (0 for stages without weights), as a direct convolution.
int64_t stage_macs(const ExecutionPlan &plan, const graph::Stage &s);
// "3x3 s2, 64->64, 128x128": kernel, stride or up-sampling, channels and output size of a stage.
std::string describe_stage(const ExecutionPlan &plan, const graph::Stage &s);

// `arena` holds plan.memory.arena_floats floats, `output` the output value's numel().
Status execute(const ExecutionPlan &plan, const WeightMap &weights, const float *input, float *output, float *arena,
               StageProfile *profile = nullptr);

}  // namespace ae2d::runtime
