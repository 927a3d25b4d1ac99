#include "ae2d/model.h"

#include <new>

#include "HalideRuntime.h"
#include "ae2d/limits.h"
#include "graph/builder.h"
#include "graph/shapes.h"
#include "graph/summary.h"
#include "io/safetensors.h"
#include "model/config_inference.h"
#include "runtime/executor.h"
#include "runtime/forward_limits.h"
#include "model/model_impl.h"

namespace ae2d {

using graph::Shape4;

Expected<Model> Model::load(const std::string &path) {
    auto file = io::read_safetensors(path);
    if (!file) return file.status();
    return from_tensors(std::move(file->tensors), file->metadata, path);
}

Expected<Model> Model::from_tensors(std::map<std::string, Tensor> tensors,
                                    const std::map<std::string, std::string> &metadata, const std::string &source) {
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

    auto impl = std::make_shared<Impl>();
    impl->graph = std::move(*g);
    auto weights = std::make_shared<runtime::WeightMap>();
    for (auto &[name, t] : tensors) weights->emplace(name, std::move(t));
    impl->weights = std::move(weights);
    impl->schedule = ScheduleTable::shipped(cpu_target());
    return Model(std::shared_ptr<const Impl>(std::move(impl)));
}

Model Model::with_schedule(const ScheduleTable &schedule) const {
    auto impl = std::make_shared<Impl>();
    impl->graph = impl_->graph;
    impl->weights = impl_->weights;  // shared
    impl->schedule = schedule;
    return Model(std::shared_ptr<const Impl>(std::move(impl)));
}

const ScheduleTable &Model::schedule() const { return impl_->schedule; }

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
    const std::string oom = "out of memory for a forward pass on " + shape_to_string(input.shape) + " (" +
                            std::to_string((p.memory.arena_floats + o.numel()) * 4) + " bytes)";
    Tensor out;
    try {
        out = Tensor({o.n, o.c, o.h, o.w});
    } catch (const std::bad_alloc &) {
        return Status::Error(oom);
    }
    auto arena = impl_->take_arena(*s, p.memory.arena_floats);
    if (!arena) return Status::Error(oom);
    runtime::StageProfile stage_profile;
    Status ok = runtime::execute(p, *impl_->weights, input.data.data(), out.data.data(), arena->data(),
                                 profile ? &stage_profile : nullptr);
    impl_->give_back(*s, std::move(arena));
    if (!ok) return ok;
    if (profile) {
        profile->seconds_by_stage_kind.clear();
        for (const auto &[k, v] : stage_profile.seconds_by_kind) profile->seconds_by_stage_kind[k] = v;
        profile->arena_bytes = p.memory.arena_floats * static_cast<int64_t>(sizeof(float));
        profile->stages = static_cast<int>(p.graph.stages.size());
        profile->macs = runtime::count_macs(p);
        profile->auto_stages = stage_profile.auto_stages;
        profile->auto_fallbacks = stage_profile.auto_fallbacks;
    }
    return out;
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
