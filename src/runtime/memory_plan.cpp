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

std::vector<LiveRange> live_ranges(const graph::Graph &g) {
    const int n_stages = int(g.stages.size());
    std::vector<LiveRange> live(g.values.size(), LiveRange{n_stages + 1, -2});
    live[g.input].first = -1;
    for (int i = 0; i < n_stages; ++i) {
        const graph::Stage &s = g.stages[i];
        live[s.output].first = std::min(live[s.output].first, i);
        live[s.output].last = std::max(live[s.output].last, i);
        for (int v : s.inputs) live[v].last = std::max(live[v].last, i);
    }
    live[g.output].last = n_stages;
    return live;
}

MemoryPlan plan_memory(const graph::Graph &g) {
    MemoryPlan plan;
    plan.offsets.assign(g.values.size(), -1);
    const std::vector<LiveRange> ranges = live_ranges(g);
    std::vector<Interval> live;
    for (const graph::Stage &s : g.stages) {
        const int v = s.output;
        if (v == g.output) continue;
        live.push_back({v, ranges[v].first, ranges[v].last, align_up(g.values[v].numel())});
    }

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
