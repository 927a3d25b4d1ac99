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
    // A value stored inside another (Value::part_of) keeps that one's storage live.
    for (size_t v = 0; v < g.values.size(); ++v) {
        const int whole = g.values[v].part_of;
        if (whole < 0 || live[v].last < live[v].first) continue;
        live[whole].first = std::min(live[whole].first, live[v].first);
        live[whole].last = std::max(live[whole].last, live[v].last);
    }
    return live;
}

MemoryPlan plan_memory(const graph::Graph &g) {
    MemoryPlan plan;
    plan.offsets.assign(g.values.size(), -1);
    const std::vector<LiveRange> ranges = live_ranges(g);
    // The values stages write, in stage order, then the wholes that only their parts write
    // (join_in_place); a part lives in its whole.
    std::vector<int> values;
    for (const graph::Stage &s : g.stages) values.push_back(s.output);
    for (const graph::Value &v : g.values)
        if (v.part_of >= 0) values.push_back(v.part_of);
    std::vector<bool> seen(g.values.size(), false);
    std::vector<Interval> live;
    for (int v : values) {
        if (seen[v] || v == g.output || g.values[v].part_of >= 0) continue;
        seen[v] = true;
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
    // A part starts at its first channel of the whole (batch 1: the whole part is contiguous;
    // batch n: each sample's part is, at the whole's sample stride).
    for (size_t v = 0; v < g.values.size(); ++v) {
        const graph::Value &part = g.values[v];
        if (part.part_of < 0) continue;
        plan.offsets[v] = plan.offsets[part.part_of] + part.channel_offset * part.shape.h * part.shape.w;
    }
    return plan;
}

}  // namespace ae2d::runtime
