// Runs an execution plan by calling the AOT Halide stages in order: on the CPU
// (cpu_executor.cpp) or a GPU backend (device_executor.cpp), both through stage_runner.h.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "ae2d/status.h"
#include "ae2d/tensor.h"
#include "graph/graph.h"
#include "runtime/device.h"
#include "runtime/execution_plan.h"
#include "runtime/packed_weights.h"

namespace ae2d::runtime {

// Model parameters by state_dict key, float32, PyTorch layout.
using WeightMap = std::unordered_map<std::string, Tensor>;

// Called before each stage runs (as the plan says) with a function that runs that stage with any
// of its variants on the current inputs (an "auto" build that refuses the shape is an error
// there, not a fallback); `ae2d tune` times the variants there. A stage's output
// never shares memory with its inputs, so running it again gives the same result.
using StageHook = std::function<Status(size_t stage_index, const std::function<Status(int variant)> &run_variant)>;

// `arena` holds plan.memory.arena_floats floats, `output` the output value's numel(). Stages on a
// variant that takes packed weights (Winograd, cvec) get them from `packed` (an error without it).
Status execute(const ExecutionPlan &plan, const WeightMap &weights, const PackedWeightCache *packed, const float *input,
               float *output, float *arena, StageProfile *profile = nullptr, const StageHook &hook = nullptr);

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
