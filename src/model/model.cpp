#include "ae2d/model.h"

#include <algorithm>
#include <array>
#include <mutex>
#include <new>

#include "HalideRuntime.h"
#include "ae2d/limits.h"
#include "graph/builder.h"
#include "graph/shapes.h"
#include "runtime/scratch_allocator.h"
#include "graph/summary.h"
#include "io/safetensors.h"
#include "model/config_inference.h"
#include "runtime/executor.h"
#include "runtime/forward_limits.h"

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
    runtime::WeightMap weights;
    Backend backend = Backend::Cpu;
    std::shared_ptr<const runtime::DeviceWeights> device_weights;  // GPU backends: `weights` on the device

    mutable std::mutex mutex;  // guards `shapes` and `clock`
    mutable std::map<std::array<int64_t, 4>, ShapeEntry> shapes;  // array keys: a lookup allocates nothing
    mutable uint64_t clock = 0;

    // Plans (or finds) the shape and checks the plan against `limits` before anything is
    // allocated for it; a refused shape is not cached.
    Expected<std::shared_ptr<const runtime::ExecutionPlan>> plan_for(const Shape4 &s, const Limits &limits) const {
        std::lock_guard<std::mutex> lock(mutex);
        const std::array<int64_t, 4> key{s.n, s.c, s.h, s.w};
        auto it = shapes.find(key);
        if (it != shapes.end()) {
            it->second.last_use = ++clock;
            // The limits may have been lowered since the shape was planned.
            Status ok = runtime::check_plan_limits(it->second.plan->graph, it->second.plan->memory, limits);
            if (!ok) return ok;
            return it->second.plan;
        }
        auto plan = runtime::make_execution_plan(graph, s);
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
        {
            std::lock_guard<std::mutex> lock(mutex);
            auto it = shapes.find(std::array<int64_t, 4>{s.n, s.c, s.h, s.w});
            if (it != shapes.end() && !it->second.free_arenas.empty()) {
                auto a = std::move(it->second.free_arenas.back());
                it->second.free_arenas.pop_back();
                return a;
            }
        }
        try {  // outside the lock: a large allocation must not stall the other threads
            return std::make_unique<std::vector<float>>(static_cast<size_t>(floats));
        } catch (const std::bad_alloc &) {
            return nullptr;
        }
    }
    void give_back(const Shape4 &s, std::unique_ptr<std::vector<float>> arena) const {
        std::lock_guard<std::mutex> lock(mutex);
        auto it = shapes.find(std::array<int64_t, 4>{s.n, s.c, s.h, s.w});
        if (it != shapes.end()) it->second.free_arenas.push_back(std::move(arena));  // else: evicted, free it
    }
    // The same for the device buffers of a GPU backend.
    Expected<std::unique_ptr<runtime::DeviceArena>> take_device_arena(const Shape4 &s,
                                                                      const runtime::ExecutionPlan &plan) const {
        {
            std::lock_guard<std::mutex> lock(mutex);
            auto it = shapes.find(std::array<int64_t, 4>{s.n, s.c, s.h, s.w});
            if (it != shapes.end() && !it->second.free_device_arenas.empty()) {
                auto a = std::move(it->second.free_device_arenas.back());
                it->second.free_device_arenas.pop_back();
                return a;
            }
        }
        return runtime::make_device_arena(plan, backend);
    }
    void give_back(const Shape4 &s, std::unique_ptr<runtime::DeviceArena> arena) const {
        std::lock_guard<std::mutex> lock(mutex);
        auto it = shapes.find(std::array<int64_t, 4>{s.n, s.c, s.h, s.w});
        if (it != shapes.end()) it->second.free_device_arenas.push_back(std::move(arena));
    }
};

Expected<Model> Model::load(const std::string &path, const LoadOptions &options) {
    auto file = io::read_safetensors(path);
    if (!file) return file.status();
    return from_tensors(std::move(file->tensors), file->metadata, path, options);
}

Expected<Model> Model::from_tensors(std::map<std::string, Tensor> tensors,
                                    const std::map<std::string, std::string> &metadata, const std::string &source,
                                    const LoadOptions &options) {
    auto from_meta = model::config_from_metadata(metadata);
    if (!from_meta) return from_meta.status().with_context(source);
    Config config;
    std::string origin;
    if (from_meta->found) {
        config = from_meta->config;
        origin = "configuration from the file's metadata";
    } else {
        auto inferred = model::infer_config(tensors);
        if (!inferred) return inferred.status().with_context(source);
        config = *inferred;
        origin = "configuration inferred from the tensor names and shapes";
    }
    auto g = graph::build_ae2d(config);
    if (!g) return g.status().with_context(source);
    Status ok = model::check_tensors(*g, tensors, origin);
    if (!ok) return ok.with_context(source);

    runtime::install_scratch_allocator();
    auto impl = std::make_shared<Impl>();
    impl->graph = std::move(*g);
    for (auto &[name, t] : tensors) impl->weights.emplace(name, std::move(t));
    impl->backend = options.backend;
    if (options.backend != Backend::Cpu) {
        ok = check_backend(options.backend);
        if (!ok) return ok;
        auto uploaded = runtime::upload_weights(impl->weights, options.backend);  // reads impl->weights in place
        if (!uploaded) return uploaded.status().with_context(source);
        impl->device_weights = std::move(*uploaded);
    }
    return Model(std::shared_ptr<const Impl>(std::move(impl)));
}

Backend Model::backend() const { return impl_->backend; }

const Config &Model::config() const { return impl_->graph.config; }
int Model::nlayers() const { return impl_->graph.config.nlayers(); }
int64_t Model::num_parameters() const { return impl_->graph.num_parameters(); }

namespace {

Expected<Shape4> as_nchw(const std::vector<int64_t> &shape, const Limits &limits) {
    if (shape.size() != 4)
        return Status::Error("input must have shape (B, C, H, W), got " + shape_to_string(shape));
    Status ok = runtime::check_input_limits(shape, limits);
    if (!ok) return ok;
    return Shape4{shape[0], shape[1], shape[2], shape[3]};
}

}  // namespace

Expected<std::vector<int64_t>> Model::output_shape(const std::vector<int64_t> &input_shape) const {
    const Limits limits = ae2d::limits();
    auto s = as_nchw(input_shape, limits);
    if (!s) return s.status();
    auto plan = impl_->plan_for(*s, limits);
    if (!plan) return plan.status();
    const Shape4 o = (*plan)->graph.values[(*plan)->graph.output].shape;
    return std::vector<int64_t>{o.n, o.c, o.h, o.w};
}

Expected<Tensor> Model::forward(const Tensor &input, ForwardProfile *profile) const {
    Tensor out;
    Status ok = forward_into(input, out, profile);
    if (!ok) return ok;
    return out;
}

Status Model::forward_into(const Tensor &input, Tensor &out, ForwardProfile *profile) const {
    const Limits limits = ae2d::limits();
    auto s = as_nchw(input.shape, limits);  // also bounds numel(), so it cannot overflow
    if (!s) return s.status();
    if (static_cast<int64_t>(input.data.size()) != input.numel())
        return Status::Error("input holds " + std::to_string(input.data.size()) + " values, its shape " +
                             shape_to_string(input.shape) + " needs " + std::to_string(input.numel()));
    auto plan = impl_->plan_for(*s, limits);  // checks max_forward_bytes before any allocation
    if (!plan) return plan.status();
    const runtime::ExecutionPlan &p = **plan;
    const Shape4 o = p.graph.values[p.graph.output].shape;
    auto oom = [&] {
        return Status::Error("out of memory for a forward pass on " + shape_to_string(input.shape) + " (" +
                             std::to_string((p.memory.arena_floats + o.numel()) * 4) + " bytes)");
    };
    const int64_t out_shape[4] = {o.n, o.c, o.h, o.w};
    if (out.shape.size() != 4 || !std::equal(out.shape.begin(), out.shape.end(), out_shape) ||
        static_cast<int64_t>(out.data.size()) != o.numel()) {
        try {
            out = Tensor({o.n, o.c, o.h, o.w});
        } catch (const std::bad_alloc &) {
            return oom();
        }
    }
    runtime::StageProfile stage_profile;
    int64_t arena_bytes = p.memory.arena_floats * static_cast<int64_t>(sizeof(float));
    if (impl_->backend == Backend::Cpu) {
        auto arena = impl_->take_arena(*s, p.memory.arena_floats);
        if (!arena) return oom();
        Status ok = runtime::execute(p, impl_->weights, input.data.data(), out.data.data(), arena->data(),
                                     profile ? &stage_profile : nullptr);
        impl_->give_back(*s, std::move(arena));
        if (!ok) return ok;
    } else {
        auto arena = impl_->take_device_arena(*s, p);
        if (!arena) return arena.status();
        Status ok = runtime::execute_on_device(p, *impl_->device_weights, **arena, input.data.data(), out.data.data(),
                                               profile ? &stage_profile : nullptr);
        arena_bytes = (*arena)->bytes;
        impl_->give_back(*s, std::move(*arena));
        if (!ok) return ok;
    }
    if (profile) {
        profile->seconds_by_stage_kind.clear();
        profile->stages_timed.clear();
        for (const runtime::StageTime &t : stage_profile.stages) {
            const graph::Stage &st = p.graph.stages[t.stage];
            const std::string kind = graph::stage_kind_name(st.kind);
            profile->seconds_by_stage_kind[kind] += t.seconds;
            profile->stages_timed.push_back(
                {st.module, kind, runtime::describe_stage(p, st), runtime::stage_macs(p, st), t.seconds});
        }
        profile->arena_bytes = arena_bytes;  // on a GPU: the device memory of the intermediates
        profile->stages = static_cast<int>(p.graph.stages.size());
        profile->macs = runtime::count_macs(p);
    }
    return Status::Ok();
}

void set_num_threads(int threads) { halide_set_num_threads(threads); }

Expected<std::string> summary(const Config &config, int64_t channels, int64_t height, int64_t width) {
    auto g = graph::build_ae2d(config);
    if (!g) return g.status();
    const Shape4 input{1, channels, height, width};
    Status ok = graph::infer_shapes(*g, input);
    if (!ok) return ok;
    return graph::format_summary(*g, input);
}

const char *version() { return AE2D_VERSION; }

}  // namespace ae2d
