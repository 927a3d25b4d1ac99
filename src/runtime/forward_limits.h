// The ae2d::Limits checks of a forward pass, kept apart from the Halide executor so that the
// fuzz targets can run them without the kernels.
#pragma once

#include <cstdint>
#include <vector>

#include "ae2d/limits.h"
#include "ae2d/status.h"
#include "graph/graph.h"
#include "runtime/memory_plan.h"

namespace ae2d::runtime {

// Before planning: B, H and W <= max_dimension, H * W <= max_image_pixels and the element count
// <= max_tensor_elements. `shape` is (B, C, H, W) (the caller has checked the rank).
Status check_input_limits(const std::vector<int64_t> &shape, const Limits &limits);

// After planning, before allocating: every value of the shaped graph <= max_tensor_elements, and
// the arena plus the output <= max_forward_bytes.
Status check_plan_limits(const graph::Graph &shaped, const MemoryPlan &memory, const Limits &limits);

}  // namespace ae2d::runtime
