// Model::Impl (private to Model), shared by model.cpp and tune.cpp.
#pragma once

#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "ae2d/model.h"
#include "ae2d/schedule.h"
#include "graph/graph.h"
#include "runtime/executor.h"
#include "runtime/forward_limits.h"
#include "runtime/huge_pages.h"

namespace ae2d {

using graph::Shape4;

// Per input shape: the execution plan and a pool of arenas, so that concurrent calls each
// get their own and a repeated shape allocates nothing.
struct ShapeEntry {
    std::shared_ptr<const runtime::ExecutionPlan> plan;
    std::vector<std::unique_ptr<std::vector<float>>> free_arenas;
    std::vector<std::unique_ptr<runtime::DeviceArena>> free_device_arenas;  // GPU backends
    uint64_t last_use = 0;
};

// Shapes whose plan and idle arenas are kept. A caller feeding ever new sizes (a server taking
// arbitrary images) would otherwise grow the cache without bound; the least recently used
// shape is dropped (calls running with it keep their own references).
constexpr size_t kMaxCachedShapes = 16;

struct Model::Impl {
    graph::Graph graph;  // unshaped: structure and parameters
    std::shared_ptr<const runtime::WeightMap> weights;  // shared by the copies with_schedule makes
    ScheduleTable schedule;                             // which variant runs each stage (CPU)
    std::vector<std::string> warnings;                  // Model::warnings
    Backend backend = Backend::Cpu;
    OutputMode output_mode = OutputMode::Raw;  // already applied to `graph` (graph/output_transform.h)
    std::shared_ptr<const runtime::DeviceWeights> device_weights;  // GPU backends: `weights` on the device
    // Packed weights of the stages that run a variant taking them, made on first use; shared like `weights`.
    std::shared_ptr<const runtime::PackedWeightCache> packed = std::make_shared<runtime::PackedWeightCache>();

    mutable std::mutex mutex;  // guards `shapes` and `clock`
    mutable std::map<std::array<int64_t, 4>, ShapeEntry> shapes;  // by (n, c, h, w): a lookup allocates nothing
    mutable uint64_t clock = 0;

    // Plans (or finds) the shape and checks the plan against `limits` before anything is
    // allocated for it; a refused shape is not cached.
    Expected<std::shared_ptr<const runtime::ExecutionPlan>> plan_for(const Shape4 &s, const Limits &limits) const {
        std::lock_guard<std::mutex> lock(mutex);
        const ShapeKey key = key_of(s);
        auto it = shapes.find(key);
        if (it != shapes.end()) {
            it->second.last_use = ++clock;
            // The limits may have been lowered since the shape was planned.
            Status ok = runtime::check_plan_limits(it->second.plan->graph, it->second.plan->memory, limits);
            if (!ok) return ok;
            return it->second.plan;
        }
        runtime::PlanOptions options;
        options.schedule = &schedule;
        options.join_in_place = backend == Backend::Cpu;  // device buffers are not sliced
        auto plan = runtime::make_execution_plan(graph, s, options);
        if (!plan) return plan.status();
        Status ok = runtime::check_plan_limits((*plan)->graph, (*plan)->memory, limits);
        if (!ok) return ok;
        if (shapes.size() >= kMaxCachedShapes) {
            auto oldest = shapes.begin();
            for (auto e = shapes.begin(); e != shapes.end(); ++e)
                if (e->second.last_use < oldest->second.last_use) oldest = e;
            shapes.erase(oldest);
        }
        ShapeEntry &e = shapes[key];
        e.plan = *plan;
        e.last_use = ++clock;
        return e.plan;
    }
    // An idle arena of the shape, or a new one (nullptr when out of memory).
    std::unique_ptr<std::vector<float>> take_arena(const Shape4 &s, int64_t floats) const {
        if (auto idle = take_idle(s, &ShapeEntry::free_arenas)) return idle;
        try {  // outside the lock: a large allocation must not stall the other threads
            return std::make_unique<std::vector<float>>(runtime::zeros_on_huge_pages(static_cast<size_t>(floats)));
        } catch (const std::bad_alloc &) {
            return nullptr;
        }
    }
    void give_back(const Shape4 &s, std::unique_ptr<std::vector<float>> arena) const {
        put_idle(s, &ShapeEntry::free_arenas, std::move(arena));
    }
    // The same for the device buffers of a GPU backend.
    Expected<std::unique_ptr<runtime::DeviceArena>> take_device_arena(const Shape4 &s,
                                                                      const runtime::ExecutionPlan &plan) const {
        if (auto idle = take_idle(s, &ShapeEntry::free_device_arenas)) return idle;
        return runtime::make_device_arena(plan, backend);
    }
    void give_back(const Shape4 &s, std::unique_ptr<runtime::DeviceArena> arena) const {
        put_idle(s, &ShapeEntry::free_device_arenas, std::move(arena));
    }

    // Runs plan `p` (its input shape `s`) from `input` into `output` (the output value's numel()
    // floats), filling `profile` if given. Out of memory, the error names `input_shape` and
    // `pass_bytes`. Allocates nothing once the shape's arena exists.
    Status run_plan(const runtime::ExecutionPlan &p, const Shape4 &s, const float *input, float *output,
                    ForwardProfile *profile, const std::vector<int64_t> &input_shape, int64_t pass_bytes) const;

private:
    using ShapeKey = std::array<int64_t, 4>;  // (n, c, h, w): a lookup allocates nothing
    static ShapeKey key_of(const Shape4 &s) { return {s.n, s.c, s.h, s.w}; }

    // One of a shape's pools of idle arenas (host or device), or nullptr when it has none.
    template<typename Arena>
    using Pool = std::vector<std::unique_ptr<Arena>> ShapeEntry::*;
    template<typename Arena>
    std::unique_ptr<Arena> take_idle(const Shape4 &s, Pool<Arena> pool) const {
        std::lock_guard<std::mutex> lock(mutex);
        auto it = shapes.find(key_of(s));
        if (it == shapes.end() || (it->second.*pool).empty()) return nullptr;
        auto arena = std::move((it->second.*pool).back());
        (it->second.*pool).pop_back();
        return arena;
    }
    // Returns an arena to its shape's pool; a shape evicted meanwhile frees it instead.
    template<typename Arena>
    void put_idle(const Shape4 &s, Pool<Arena> pool, std::unique_ptr<Arena> arena) const {
        std::lock_guard<std::mutex> lock(mutex);
        auto it = shapes.find(key_of(s));
        if (it != shapes.end()) (it->second.*pool).push_back(std::move(arena));
    }
};

}  // namespace ae2d
