// Runs a shaped, fused, memory-planned graph by calling the AOT Halide stages in order.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "ae2d/schedule.h"
#include "ae2d/status.h"
#include "ae2d/tensor.h"
#include "graph/graph.h"
#include "runtime/device.h"
#include "runtime/memory_plan.h"
#include "runtime/packed_weights.h"

namespace ae2d::runtime {

// Model parameters by state_dict key, float32, PyTorch layout.
using WeightMap = std::unordered_map<std::string, Tensor>;

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
// Every stage library's variants start with these two (generators/CMakeLists.txt).
constexpr int kManualVariant = 0, kAutoVariant = 1;

// Called before each stage runs (as the plan says) with a function that runs that stage with any
// of its variants on the current inputs (an "auto" build that refuses the shape is an error
// there, not a fallback); `ae2d tune` times the variants there. A stage's output
// never shares memory with its inputs, so running it again gives the same result.
using StageHook = std::function<Status(size_t stage_index, const std::function<Status(int variant)> &run_variant)>;

// `arena` holds plan.memory.arena_floats floats, `output` the output value's numel(). Stages on a
// variant that takes packed weights (Winograd, cvec) get them from `packed` (an error without it).
Status execute(const ExecutionPlan &plan, const WeightMap &weights, const PackedWeightCache *packed, const float *input,
               float *output, float *arena, StageProfile *profile = nullptr, const StageHook &hook = nullptr);

// The stage libraries with compiled variants, the variants of one (manual first; empty for an
// unknown library), and the library and schedule-table key of a stage of a shaped graph.
std::vector<std::string> stage_library_names();
std::vector<std::string> stage_variant_names(const std::string &library);
std::string stage_library(const graph::Stage &s);
ScheduleEntry stage_schedule_key(const graph::Graph &g, const graph::Stage &s);

// ---- GPU backends: the same plan with device-resident weights and intermediates.

// Uploads every parameter to the backend's device (once, at load). `weights` must outlive the result.
Expected<std::shared_ptr<const DeviceWeights>> upload_weights(const WeightMap &weights, Backend backend);

// The device memory of one input shape: a few device allocations (slots) reused between
// values whose live ranges do not overlap, as the CPU arena reuses offsets, and a view of a
// slot per value the plan uses (input and output included; instance-norm coefficients as a
// scale and a shift view). Views start at their slot's beginning rather than at offsets into
// one arena, because an OpenCL sub-buffer must start at the device's base-address alignment.
// Made once per input shape and reused.
struct DeviceArena {
    Backend backend = Backend::Cpu;
    std::vector<DeviceBuffer> slots;   // owning, 1-D
    std::vector<DeviceBuffer> values;  // by value id (scales for coefficient values); unmanaged views
    std::vector<DeviceBuffer> shifts;  // by value id, coefficient values only
    int64_t bytes = 0;                 // of all slots
};
Expected<std::unique_ptr<DeviceArena>> make_device_arena(const ExecutionPlan &plan, Backend backend);

// Copies `input` to the device, runs every stage there, copies the output back to `output`.
Status execute_on_device(const ExecutionPlan &plan, const DeviceWeights &weights, DeviceArena &arena,
                         const float *input, float *output, StageProfile *profile = nullptr);

}  // namespace ae2d::runtime
