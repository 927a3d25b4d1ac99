#include "ae2d/model.h"

#include <algorithm>
#include <cstdint>
#include <new>

#include "HalideRuntime.h"
#include "ae2d/limits.h"
#include "graph/builder.h"
#include "graph/output_transform.h"
#include "graph/shapes.h"
#include "runtime/scratch_allocator.h"
#include "graph/summary.h"
#include "io/safetensors.h"
#include "model/config_inference.h"
#include "runtime/executor.h"
#include "runtime/forward_limits.h"
#include "model/model_impl.h"
#include "model/tune_cache.h"

namespace ae2d {

using graph::Shape4;

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
        if (from_meta->arch_found && from_meta->config.arch != config.arch) {
            config.arch = from_meta->config.arch;
            origin += ", arch from the metadata";
        }
    }
    auto mode = output_mode_from_metadata(metadata);
    if (!mode) return mode.status().with_context(source);
    auto g = graph::build_network(config);
    if (!g) return g.status().with_context(source);
    Status ok = model::check_tensors(*g, tensors, origin);
    if (!ok) return ok.with_context(source);

    runtime::install_scratch_allocator();
    auto impl = std::make_shared<Impl>();
    impl->graph = std::move(*g);
    auto weights = std::make_shared<runtime::WeightMap>();
    for (auto &[name, t] : tensors) weights->emplace(name, std::move(t));
    ok = graph::apply_output_mode(impl->graph, *mode, *weights);
    if (!ok) return ok.with_context(source);
    impl->output_mode = *mode;
    impl->weights = std::move(weights);
    // A GPU backend takes its own table (schedules/tuned/<api>.txt: none is shipped, so its stages
    // run manual), not the CPU's, whose choices were measured on CPU variants.
    impl->schedule = ScheduleTable::shipped(options.backend == Backend::Cpu ? cpu_target() : backend_name(options.backend));
    if (options.backend == Backend::Cpu && options.tune_cache) {
        std::string warning;
        if (auto cached = load_from_tune_cache(impl->graph.config, cpu_target(), warning)) impl->schedule = *cached;
        if (!warning.empty()) impl->warnings.push_back(warning);
    }
    impl->backend = options.backend;
    if (options.backend != Backend::Cpu) {
        ok = check_backend(options.backend);
        if (!ok) return ok;
        auto uploaded = runtime::upload_weights(*impl->weights, options.backend);  // reads impl->weights in place
        if (!uploaded) return uploaded.status().with_context(source);
        impl->device_weights = std::move(*uploaded);
    }
    return Model(std::shared_ptr<const Impl>(std::move(impl)));
}

Backend Model::backend() const { return impl_->backend; }

Model Model::with_schedule(const ScheduleTable &schedule) const {
    auto impl = std::make_shared<Impl>();
    impl->graph = impl_->graph;
    impl->weights = impl_->weights;  // shared
    impl->schedule = schedule;
    impl->backend = impl_->backend;
    impl->output_mode = impl_->output_mode;
    impl->warnings = impl_->warnings;
    impl->device_weights = impl_->device_weights;  // shared
    impl->packed = impl_->packed;                  // shared
    return Model(std::shared_ptr<const Impl>(std::move(impl)));
}

const ScheduleTable &Model::schedule() const { return impl_->schedule; }
const std::vector<std::string> &Model::warnings() const { return impl_->warnings; }

const Config &Model::config() const { return impl_->graph.config; }
OutputMode Model::output_mode() const { return impl_->output_mode; }
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

namespace {

// The error of a forward pass that found no memory.
Status out_of_memory(const std::vector<int64_t> &input_shape, int64_t pass_bytes) {
    return Status::Error("out of memory for a forward pass on " + shape_to_string(input_shape) + " (" +
                         std::to_string(pass_bytes) + " bytes)");
}

}  // namespace

Status Model::Impl::run_plan(const runtime::ExecutionPlan &p, const Shape4 &s, const float *input, float *output,
                             ForwardProfile *profile, const std::vector<int64_t> &input_shape,
                             int64_t pass_bytes) const {
    const Impl &impl = *this;
    runtime::StageProfile stage_profile;
    int64_t arena_bytes = p.memory.arena_floats * static_cast<int64_t>(sizeof(float));
    if (impl.backend == Backend::Cpu) {
        auto arena = impl.take_arena(s, p.memory.arena_floats);
        if (!arena) return out_of_memory(input_shape, pass_bytes);
        Status ok = runtime::execute(p, *impl.weights, impl.packed.get(), input, output, arena->data(),
                                     profile ? &stage_profile : nullptr);
        impl.give_back(s, std::move(arena));
        if (!ok) return ok;
    } else {
        auto arena = impl.take_device_arena(s, p);
        if (!arena) return arena.status();
        Status ok = runtime::execute_on_device(p, *impl.device_weights, **arena, input, output,
                                               profile ? &stage_profile : nullptr);
        arena_bytes = (*arena)->bytes;
        impl.give_back(s, std::move(*arena));
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
                {st.module, kind, runtime::describe_stage(p, st), runtime::stage_macs(p, st), t.seconds,
                 runtime::stage_variant_names(runtime::stage_library(st))[size_t(t.variant)]});
        }
        profile->arena_bytes = arena_bytes;  // on a GPU: the device memory of the intermediates
        profile->stages = static_cast<int>(p.graph.stages.size());
        profile->macs = runtime::count_macs(p);
        profile->auto_stages = stage_profile.auto_stages;
        profile->auto_fallbacks = stage_profile.auto_fallbacks;
    }
    return Status::Ok();
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
    const int64_t pass_bytes = (p.memory.arena_floats + o.numel()) * 4;
    const int64_t out_shape[4] = {o.n, o.c, o.h, o.w};
    if (out.shape.size() != 4 || !std::equal(out.shape.begin(), out.shape.end(), out_shape) ||
        static_cast<int64_t>(out.data.size()) != o.numel()) {
        try {
            out = Tensor({o.n, o.c, o.h, o.w});
        } catch (const std::bad_alloc &) {
            return out_of_memory(input.shape, pass_bytes);
        }
    }
    return impl_->run_plan(p, *s, input.data.data(), out.data.data(), profile, input.shape, pass_bytes);
}

Status Model::forward_view(const float *input, const std::vector<int64_t> &input_shape, float *output,
                           int64_t output_floats, ForwardProfile *profile) const {
    const Limits limits = ae2d::limits();
    auto s = as_nchw(input_shape, limits);  // also bounds numel(), so it cannot overflow
    if (!s) return s.status();
    if (input == nullptr || output == nullptr) return Status::Error("forward_view: the input or output is null");
    auto plan = impl_->plan_for(*s, limits);  // checks max_forward_bytes before any allocation
    if (!plan) return plan.status();
    const runtime::ExecutionPlan &p = **plan;
    const Shape4 o = p.graph.values[p.graph.output].shape;
    if (output_floats != o.numel())
        return Status::Error("the output " + shape_to_string({o.n, o.c, o.h, o.w}) + " needs " +
                             std::to_string(o.numel()) + " floats, the output buffer holds " +
                             std::to_string(output_floats));
    const auto in_begin = reinterpret_cast<uintptr_t>(input), out_begin = reinterpret_cast<uintptr_t>(output);
    const auto in_end = in_begin + uintptr_t(s->numel()) * sizeof(float);
    const auto out_end = out_begin + uintptr_t(o.numel()) * sizeof(float);
    if (in_begin < out_end && out_begin < in_end) return Status::Error("the output buffer overlaps the input");
    return impl_->run_plan(p, *s, input, output, profile, input_shape, p.memory.arena_floats * 4);
}

void set_num_threads(int threads) { halide_set_num_threads(threads); }

Expected<std::string> summary(const Config &config, int64_t channels, int64_t height, int64_t width) {
    auto g = graph::build_network(config);
    if (!g) return g.status();
    const Shape4 input{1, channels, height, width};
    Status ok = graph::infer_shapes(*g, input);
    if (!ok) return ok;
    return graph::format_summary(*g, input);
}

const char *version() { return AE2D_VERSION; }

}  // namespace ae2d
