// Places every intermediate value of a shaped graph in one arena, reusing the space of values
// that are no longer read (greedy by size over live ranges, as in hannk's allocation planner).
#pragma once

#include <cstdint>
#include <vector>

#include "graph/graph.h"

namespace ae2d::runtime {

struct MemoryPlan {
    std::vector<int64_t> offsets;  // per value, in floats; -1: not in the arena (input, output, unused)
    int64_t arena_floats = 0;
    int64_t naive_floats = 0;      // what one buffer per value would take, for reports
};

// When each value of a shaped graph is live, in stage indices: written at `first` (the input at
// -1, before stage 0), last read at `last` (the output at stages.size(), after the last stage).
// A value never both written and read (elided or fused away) has last < first. The CPU arena's
// offsets (plan_memory) and the GPU's device allocations (make_device_arena) are both planned on
// these ranges.
struct LiveRange {
    int first, last;
};
std::vector<LiveRange> live_ranges(const graph::Graph &g);

MemoryPlan plan_memory(const graph::Graph &g);

}  // namespace ae2d::runtime
