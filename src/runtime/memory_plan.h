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

MemoryPlan plan_memory(const graph::Graph &g);

}  // namespace ae2d::runtime
