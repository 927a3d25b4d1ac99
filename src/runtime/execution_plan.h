// The execution plan of one input shape (execution_plan.cpp): the graph shaped, identity stages
// elided and fused, one arena planned for its intermediates, and each stage's compiled variant
// chosen by the schedule table.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ae2d/schedule.h"
#include "ae2d/status.h"
#include "graph/graph.h"
#include "runtime/memory_plan.h"
#include "runtime/variant_registry.h"

namespace ae2d::runtime {

// Everything needed to run one input shape: made once per shape, then shared by calls.
struct ExecutionPlan {
    graph::Graph graph;  // shaped, identity stages elided, fused
    MemoryPlan memory;
    std::vector<int> variants;  // per stage: the index of its compiled variant (0: manual)
    int64_t network_macs = 0;   // of the network's convolutions as PyTorch runs them (count_macs)
};

struct PlanOptions {
    bool fuse = true;                         // false runs every primitive stage on its own (tests compare both)
    const ScheduleTable *schedule = nullptr;  // which variant runs each stage; nullptr: manual
    bool join_in_place = true;                // UNet2d joins without a copy where they can (CPU only)
};

Expected<std::shared_ptr<const ExecutionPlan>> make_execution_plan(const graph::Graph &g, const graph::Shape4 &input,
                                                                   const PlanOptions &options = {});

// Multiply-accumulates of the network's convolutions, counted as PyTorch runs them (direct
// convolutions, before any rewrite: a shortcut conv moved before its up-sampling counts at the
// up-sampled size), so that effective GFLOP/s compare with other engines.
int64_t count_macs(const ExecutionPlan &plan);

// Wall time of one stage of a plan.
struct StageTime {
    int stage;  // index into plan.graph.stages
    double seconds;
    int variant;  // the variant that ran (index into stage_variant_names of the stage's library)
};

// Per-stage wall time, filled when a profile is passed to execute().
struct StageProfile {
    std::vector<StageTime> stages;  // in execution order
    int auto_stages = 0;     // stages the schedule ran with their autoscheduled build ...
    int auto_fallbacks = 0;  // ... of which this many could not take the shape and ran manual
};

// Multiply-accumulates of one stage (0 for stages without weights), as a direct convolution.
int64_t stage_macs(const ExecutionPlan &plan, const graph::Stage &s);
// "3x3 s2, 64->64, 128x128": kernel, stride or up-sampling, channels and output size of a stage.
std::string describe_stage(const ExecutionPlan &plan, const graph::Stage &s);

// The library and schedule-table key of a stage of a shaped graph.
std::string stage_library(const graph::Stage &s);
ScheduleEntry stage_schedule_key(const graph::Graph &g, const graph::Stage &s);

}  // namespace ae2d::runtime
