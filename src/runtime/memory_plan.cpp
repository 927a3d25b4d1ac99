#include "runtime/memory_plan.h"

#include <algorithm>

namespace ae2d::runtime {

namespace {

constexpr int64_t kAlignFloats = 16;  // 64-byte alignment: a cache line, an AVX-512 vector

int64_t align_up(int64_t v) { return (v + kAlignFloats - 1) / kAlignFloats * kAlignFloats; }

struct Interval {
    int value;
    int first, last;  // stage indices: written at `first`, last read at `last`
    int64_t size;
};

}  // namespace

MemoryPlan plan_memory(const graph::Graph &g) {
    MemoryPlan plan;
    plan.offsets.assign(g.values.size(), -1);
    std::vector<Interval> live;
    for (size_t i = 0; i < g.stages.size(); ++i) {
        const int v = g.stages[i].output;
        if (v == g.output) continue;
        live.push_back({v, static_cast<int>(i), static_cast<int>(i), align_up(g.values[v].numel())});
    }
    std::vector<int> index_of(g.values.size(), -1);
    for (size_t k = 0; k < live.size(); ++k) index_of[live[k].value] = static_cast<int>(k);
    for (size_t i = 0; i < g.stages.size(); ++i)
        for (int v : g.stages[i].inputs)
            if (index_of[v] >= 0) live[index_of[v]].last = std::max(live[index_of[v]].last, static_cast<int>(i));

    // Largest first; each value goes to the lowest offset that overlaps no placed value whose
    // live range intersects its own.
    std::vector<size_t> order(live.size());
    for (size_t k = 0; k < order.size(); ++k) order[k] = k;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return live[a].size > live[b].size; });
    std::vector<size_t> placed;
    for (size_t k : order) {
        const Interval &cur = live[k];
        std::vector<std::pair<int64_t, int64_t>> busy;  // [begin, end) in floats
        for (size_t p : placed) {
            const Interval &o = live[p];
            if (o.first <= cur.last && cur.first <= o.last)
                busy.emplace_back(plan.offsets[o.value], plan.offsets[o.value] + o.size);
        }
        std::sort(busy.begin(), busy.end());
        int64_t offset = 0;
        for (const auto &b : busy) {
            if (offset + cur.size <= b.first) break;
            offset = std::max(offset, b.second);
        }
        plan.offsets[cur.value] = offset;
        plan.arena_floats = std::max(plan.arena_floats, offset + cur.size);
        plan.naive_floats += cur.size;
        placed.push_back(k);
    }
    return plan;
}

}  // namespace ae2d::runtime
