#include "runtime/executor.h"

#include <algorithm>
#include <chrono>
#include <functional>

#include "HalideBuffer.h"
#include "ae2d_center_crop.h"
#include "ae2d_conv2d.h"
#include "ae2d_conv2d_bias.h"
#include "ae2d_instance_norm_stats.h"
#include "ae2d_norm_prelu.h"
#include "ae2d_norm_prelu_conv2d.h"
#include "ae2d_norm_prelu_upsample.h"
#include "ae2d_norm_prelu_upsample_conv2d.h"
#include "ae2d_norm_residual_add.h"
#include "ae2d_residual_add.h"
#include "ae2d_upsample_bilinear.h"
#if AE2D_HAVE_GPU
#include "ae2d_center_crop_cuda.h"
#include "ae2d_conv2d_cuda.h"
#include "ae2d_conv2d_bias_cuda.h"
#include "ae2d_instance_norm_stats_cuda.h"
#include "ae2d_norm_prelu_cuda.h"
#include "ae2d_norm_prelu_conv2d_cuda.h"
#include "ae2d_norm_prelu_upsample_cuda.h"
#include "ae2d_norm_prelu_upsample_conv2d_cuda.h"
#include "ae2d_norm_residual_add_cuda.h"
#include "ae2d_residual_add_cuda.h"
#include "ae2d_upsample_bilinear_cuda.h"
#include "ae2d_center_crop_opencl.h"
#include "ae2d_conv2d_opencl.h"
#include "ae2d_conv2d_bias_opencl.h"
#include "ae2d_instance_norm_stats_opencl.h"
#include "ae2d_norm_prelu_opencl.h"
#include "ae2d_norm_prelu_conv2d_opencl.h"
#include "ae2d_norm_prelu_upsample_opencl.h"
#include "ae2d_norm_prelu_upsample_conv2d_opencl.h"
#include "ae2d_norm_residual_add_opencl.h"
#include "ae2d_residual_add_opencl.h"
#include "ae2d_upsample_bilinear_opencl.h"
#endif
#include "graph/passes.h"
#include "graph/shapes.h"
#include "runtime/halide_errors.h"

namespace ae2d::runtime {

using graph::Shape4;
using graph::Stage;
using graph::StageKind;
using Act = Halide::Runtime::Buffer<float>;
using ConstAct = Halide::Runtime::Buffer<const float>;

Expected<std::shared_ptr<const ExecutionPlan>> make_execution_plan(const graph::Graph &g, const Shape4 &input,
                                                                   const PlanOptions &options) {
    auto plan = std::make_shared<ExecutionPlan>();
    plan->graph = g;
    Status ok = graph::infer_shapes(plan->graph, input);
    if (!ok) return ok;
    graph::elide_identity_stages(plan->graph);
    if (options.fuse) graph::fuse_stages(plan->graph);
    plan->memory = plan_memory(plan->graph);
    return std::shared_ptr<const ExecutionPlan>(std::move(plan));
}

namespace {

// The AOT entry points of one backend: the CPU libraries, or the GPU ones built from the same
// generators (same arguments, GPU schedules).
struct Kernels {
    decltype(&ae2d_conv2d) conv2d;
    decltype(&ae2d_conv2d_bias) conv2d_bias;
    decltype(&ae2d_norm_prelu_conv2d) norm_prelu_conv2d;
    decltype(&ae2d_norm_prelu_upsample_conv2d) norm_prelu_upsample_conv2d;
    decltype(&ae2d_instance_norm_stats) instance_norm_stats;
    decltype(&ae2d_norm_prelu) norm_prelu;
    decltype(&ae2d_norm_prelu_upsample) norm_prelu_upsample;
    decltype(&ae2d_upsample_bilinear) upsample_bilinear;
    decltype(&ae2d_residual_add) residual_add;
    decltype(&ae2d_norm_residual_add) norm_residual_add;
    decltype(&ae2d_center_crop) center_crop;
};

#define AE2D_KERNELS(suffix)                                                                                   \
    Kernels {                                                                                                  \
        ae2d_conv2d##suffix, ae2d_conv2d_bias##suffix, ae2d_norm_prelu_conv2d##suffix,                         \
            ae2d_norm_prelu_upsample_conv2d##suffix, ae2d_instance_norm_stats##suffix, ae2d_norm_prelu##suffix, \
            ae2d_norm_prelu_upsample##suffix, ae2d_upsample_bilinear##suffix, ae2d_residual_add##suffix,       \
            ae2d_norm_residual_add##suffix, ae2d_center_crop##suffix                                          \
    }

const Kernels &kernels_for(Backend backend) {
    static const Kernels cpu = AE2D_KERNELS();
#if AE2D_HAVE_GPU
    static const Kernels cuda = AE2D_KERNELS(_cuda);
    static const Kernels opencl = AE2D_KERNELS(_opencl);
    if (backend == Backend::Cuda) return cuda;
    if (backend == Backend::OpenCL) return opencl;
#endif
    (void)backend;
    return cpu;
}

// Where the stages find their buffers: activations (x, y, c, n), instance-norm coefficients
// (c, n), parameters by state_dict key. Halide dims are PyTorch's NCHW with x innermost.
class BufferSource {
public:
    virtual ~BufferSource() = default;
    virtual Act act(int v) const = 0;
    virtual Act scale(int v) const = 0;
    virtual Act shift(int v) const = 0;
    virtual ConstAct param(const std::string &name) const = 0;
};

// CPU: views of the caller's input and output and of the plan's arena; parameters in place.
class HostBuffers final : public BufferSource {
public:
    HostBuffers(const ExecutionPlan &plan, const WeightMap &weights, const float *input, float *output, float *arena)
        : plan_(plan), weights_(weights), input_(input), output_(output), arena_(arena) {}

    Act act(int v) const override {
        const Shape4 &s = plan_.graph.values[v].shape;
        return Act(data_of(v), int(s.w), int(s.h), int(s.c), int(s.n));
    }
    // Instance-norm coefficients: scales (c, n), then shifts (c, n).
    Act scale(int v) const override {
        const Shape4 &s = plan_.graph.values[v].shape;
        return Act(data_of(v), int(s.c), int(s.n));
    }
    Act shift(int v) const override {
        const Shape4 &s = plan_.graph.values[v].shape;
        return Act(data_of(v) + s.c * s.n, int(s.c), int(s.n));
    }
    // No heap allocation here: a forward pass on a cached plan allocates nothing.
    ConstAct param(const std::string &name) const override {
        const Tensor &t = weights_.at(name);
        halide_dimension_t dims[4];
        const int rank = t.rank();  // at most 4: checked at load
        int32_t stride = 1;
        for (int d = 0; d < rank; ++d) {  // innermost first
            const int32_t extent = static_cast<int32_t>(t.shape[rank - 1 - d]);
            dims[d] = halide_dimension_t(0, extent, stride);
            stride *= extent;
        }
        return ConstAct(t.data.data(), rank, dims);
    }

private:
    float *data_of(int v) const {
        if (v == plan_.graph.output) return output_;
        if (v == plan_.graph.input) return const_cast<float *>(input_);  // read-only by the stages
        return arena_ + plan_.memory.offsets[v];
    }

    const ExecutionPlan &plan_;
    const WeightMap &weights_;
    const float *input_;
    float *output_;
    float *arena_;
};

// GPU: the device buffers of a DeviceArena and of DeviceWeights (copies of a Runtime::Buffer
// share its device allocation).
class DeviceBuffers final : public BufferSource {
public:
    DeviceBuffers(const DeviceArena &arena, const DeviceWeights &weights) : arena_(arena), weights_(weights) {}
    Act act(int v) const override { return arena_.values[v]; }
    Act scale(int v) const override { return arena_.values[v]; }
    Act shift(int v) const override { return arena_.shifts[v]; }
    ConstAct param(const std::string &name) const override { return weights_.buffers.at(name); }

private:
    const DeviceArena &arena_;
    const DeviceWeights &weights_;
};

class StageRunner {
public:
    StageRunner(const ExecutionPlan &plan, const Kernels &kernels, const BufferSource &buffers)
        : plan_(plan), k_(kernels), b_(buffers) {}

    Status run(const Stage &s) {
        const int code = call(s);
        if (code == 0) return Status::Ok();
        std::string why = take_last_halide_error();
        return Status::Error(std::string("stage ") + graph::stage_kind_name(s.kind) + " at " + s.module +
                             " failed (Halide error " + std::to_string(code) + (why.empty() ? "" : ": " + why) + ")");
    }

private:
    int call(const Stage &s) {
        const auto &in = s.inputs;
        switch (s.kind) {
        case StageKind::Conv2d: {
            auto x = b_.act(in[0]), y = b_.act(s.output);
            auto w = b_.param(s.weight);
            if (s.bias.empty()) return k_.conv2d(x, w, s.stride_w, s.stride_h, s.pad_w, s.pad_h, y);
            auto b = b_.param(s.bias);
            return k_.conv2d_bias(x, w, b, s.stride_w, s.stride_h, s.pad_w, s.pad_h, y);
        }
        case StageKind::NormPReLUConv2d: {
            auto x = b_.act(in[0]), sc = b_.scale(in[1]), sh = b_.shift(in[1]), y = b_.act(s.output);
            auto a = b_.param(s.slope), w = b_.param(s.weight);
            return k_.norm_prelu_conv2d(x, sc, sh, a, w, s.stride_w, s.stride_h, s.pad_w, s.pad_h, y);
        }
        case StageKind::NormPReLUUpsampleConv2d: {
            auto x = b_.act(in[0]), sc = b_.scale(in[1]), sh = b_.shift(in[1]), y = b_.act(s.output);
            auto a = b_.param(s.slope), w = b_.param(s.weight);
            return k_.norm_prelu_upsample_conv2d(x, sc, sh, a, w, s.factor_w, s.factor_h, s.pad_w, s.pad_h, y);
        }
        case StageKind::InstanceNormStats: {
            auto x = b_.act(in[0]), sc = b_.scale(s.output), sh = b_.shift(s.output);
            auto gamma = b_.param(s.gamma), beta = b_.param(s.beta);
            return k_.instance_norm_stats(x, gamma, beta, sc, sh);
        }
        case StageKind::NormPReLU: {
            auto x = b_.act(in[0]), sc = b_.scale(in[1]), sh = b_.shift(in[1]), y = b_.act(s.output);
            auto a = b_.param(s.slope);
            return k_.norm_prelu(x, sc, sh, a, y);
        }
        case StageKind::NormPReLUUpsample: {
            auto x = b_.act(in[0]), sc = b_.scale(in[1]), sh = b_.shift(in[1]), y = b_.act(s.output);
            auto a = b_.param(s.slope);
            return k_.norm_prelu_upsample(x, sc, sh, a, y);
        }
        case StageKind::UpsampleBilinear: {
            auto x = b_.act(in[0]), y = b_.act(s.output);
            return k_.upsample_bilinear(x, y);
        }
        case StageKind::ResidualAdd: {
            auto a = b_.act(in[0]), b = b_.act(in[1]), y = b_.act(s.output);
            return k_.residual_add(a, b, y);
        }
        case StageKind::NormResidualAdd: {
            auto a = b_.act(in[0]), b = b_.act(in[1]), sc = b_.scale(in[2]), sh = b_.shift(in[2]), y = b_.act(s.output);
            return k_.norm_residual_add(a, b, sc, sh, y);
        }
        case StageKind::CenterCrop: {
            const Shape4 &from = plan_.graph.values[in[0]].shape, &to = plan_.graph.values[s.output].shape;
            auto x = b_.act(in[0]), y = b_.act(s.output);
            return k_.center_crop(x, int((from.w - to.w) / 2), int((from.h - to.h) / 2), y);
        }
        }
        return -1;
    }

    const ExecutionPlan &plan_;
    const Kernels &k_;
    const BufferSource &b_;
};

// Runs the plan's stages in order; with a profile, `sync` (if any) after each stage so that
// asynchronous GPU launches are timed by what they do.
Status run_stages(const ExecutionPlan &plan, StageRunner &runner, StageProfile *profile,
                  const std::function<Status()> &sync) {
    if (profile) profile->stages.reserve(plan.graph.stages.size());
    for (size_t i = 0; i < plan.graph.stages.size(); ++i) {
        const Stage &s = plan.graph.stages[i];
        const auto t0 = std::chrono::steady_clock::now();
        Status ok = runner.run(s);
        if (!ok) return ok;
        if (profile) {
            if (sync) {
                ok = sync();
                if (!ok)
                    return ok.with_context(std::string("stage ") + graph::stage_kind_name(s.kind) + " at " + s.module);
            }
            const std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
            profile->stages.push_back({static_cast<int>(i), dt.count()});
        }
    }
    return Status::Ok();
}

}  // namespace

int64_t stage_macs(const ExecutionPlan &plan, const Stage &s) {
    if (s.weight.empty()) return 0;
    const graph::Value &in = plan.graph.values[s.inputs[0]], &out = plan.graph.values[s.output];
    return out.shape.numel() * in.shape.c * s.kernel_h * s.kernel_w;
}

int64_t count_macs(const ExecutionPlan &plan) {
    int64_t macs = 0;
    for (const Stage &s : plan.graph.stages) macs += stage_macs(plan, s);
    return macs;
}

std::string describe_stage(const ExecutionPlan &plan, const Stage &s) {
    const Shape4 &in = plan.graph.values[s.inputs[0]].shape, &out = plan.graph.values[s.output].shape;
    std::string d;
    if (!s.weight.empty()) {
        d = std::to_string(s.kernel_h) + "x" + std::to_string(s.kernel_w);
        if (s.stride_h != 1 || s.stride_w != 1) d += " s" + std::to_string(std::max(s.stride_h, s.stride_w));
        if (s.factor_h != 1 || s.factor_w != 1) d += " up" + std::to_string(std::max(s.factor_h, s.factor_w));
        d += ", ";
    }
    d += std::to_string(in.c) + "->" + std::to_string(out.c) + ", " + std::to_string(out.h) + "x" +
         std::to_string(out.w);
    if (out.n > 1) d += " x" + std::to_string(out.n);
    return d;
}

Status execute(const ExecutionPlan &plan, const WeightMap &weights, const float *input, float *output, float *arena,
               StageProfile *profile) {
    HostBuffers buffers(plan, weights, input, output, arena);
    StageRunner runner(plan, kernels_for(Backend::Cpu), buffers);
    return run_stages(plan, runner, profile, nullptr);
}

Expected<std::shared_ptr<const DeviceWeights>> upload_weights(const WeightMap &weights, Backend backend) {
    const halide_device_interface_t *iface = device_interface(backend);
    if (iface == nullptr) return Status::Error(std::string("backend ") + backend_name(backend) + " is not compiled in");
    auto device = std::make_shared<DeviceWeights>();
    device->backend = backend;
    for (const auto &[name, t] : weights) {
        std::vector<int> dims(t.shape.rbegin(), t.shape.rend());  // innermost first
        DeviceBuffer b(const_cast<float *>(t.data.data()), dims);  // the device copy is only read
        b.set_host_dirty();
        const int code = b.copy_to_device(iface);
        if (code != 0)
            return Status::Error(std::string(backend_name(backend)) + ": cannot upload parameter " + name + " (" +
                                 std::to_string(b.size_in_bytes()) + " bytes): " + halide_failure(code));
        device->buffers.emplace(name, std::move(b));
    }
    return std::shared_ptr<const DeviceWeights>(std::move(device));
}

namespace {

// A view of the start of `slot` (a 1-D device allocation) as a buffer of `sizes`. Unmanaged:
// the slot owns the allocation, the views never free it.
DeviceBuffer device_view(const DeviceBuffer &slot, const std::vector<int> &sizes) {
    std::vector<halide_dimension_t> dims(sizes.size());
    int stride = 1;
    for (size_t d = 0; d < sizes.size(); ++d) {
        dims[d] = halide_dimension_t(0, sizes[d], stride);
        stride *= sizes[d];
    }
    halide_buffer_t raw{};
    raw.device = slot.raw_buffer()->device;
    raw.device_interface = slot.raw_buffer()->device_interface;
    raw.type = halide_type_of<float>();
    raw.dimensions = int(sizes.size());
    raw.dim = dims.data();
    return DeviceBuffer(raw, Halide::Runtime::BufferDeviceOwnership::Unmanaged);
}

}  // namespace

Expected<std::unique_ptr<DeviceArena>> make_device_arena(const ExecutionPlan &plan, Backend backend) {
    const graph::Graph &g = plan.graph;
    const int n_stages = int(g.stages.size());

    // Live range of each value in stage indices: written at `first` (the input before stage 0),
    // last read at `last` (the output after the last stage).
    std::vector<int> first(g.values.size(), n_stages + 1), last(g.values.size(), -2);
    first[g.input] = -1;
    for (int i = 0; i < n_stages; ++i) {
        const Stage &s = g.stages[i];
        first[s.output] = std::min(first[s.output], i);
        last[s.output] = std::max(last[s.output], i);
        for (int v : s.inputs) last[v] = std::max(last[v], i);
    }
    last[g.output] = n_stages;

    // The buffers to place: one per activation, two (scale, shift) per coefficient value.
    struct Piece {
        int value;
        bool is_shift;
        std::vector<int> sizes;
        int64_t floats;
        int slot = -1;
    };
    std::vector<Piece> pieces;
    for (size_t v = 0; v < g.values.size(); ++v) {
        if (last[v] < first[v]) continue;  // never both written and read: elided or fused away
        const graph::Value &value = g.values[v];
        const Shape4 &s = value.shape;
        if (value.kind == graph::ValueKind::NormCoeffs) {
            for (bool is_shift : {false, true}) pieces.push_back({int(v), is_shift, {int(s.c), int(s.n)}, s.c * s.n});
        } else {
            pieces.push_back({int(v), false, {int(s.w), int(s.h), int(s.c), int(s.n)}, s.numel()});
        }
    }
    std::stable_sort(pieces.begin(), pieces.end(),
                     [&](const Piece &a, const Piece &b) { return first[a.value] < first[b.value]; });

    // Greedy reuse, as the CPU arena does with offsets: a piece takes a device allocation (slot)
    // whose last reader ran before it is written, the smallest that fits, else the largest free
    // one (grown), else a new one. A stage never writes a slot it reads.
    struct Slot {
        int64_t floats;
        int busy_until;
    };
    std::vector<Slot> slots;
    for (Piece &p : pieces) {
        int best = -1;
        for (int k = 0; k < int(slots.size()); ++k) {
            if (slots[k].busy_until >= first[p.value]) continue;
            if (best < 0) {
                best = k;
                continue;
            }
            const bool fits = slots[k].floats >= p.floats, best_fits = slots[best].floats >= p.floats;
            if ((fits && (!best_fits || slots[k].floats < slots[best].floats)) ||
                (!fits && !best_fits && slots[k].floats > slots[best].floats))
                best = k;
        }
        if (best < 0) {
            best = int(slots.size());
            slots.push_back({0, -1});
        }
        slots[best].floats = std::max(slots[best].floats, p.floats);
        slots[best].busy_until = last[p.value];
        p.slot = best;
    }

    auto arena = std::make_unique<DeviceArena>();
    arena->backend = backend;
    for (size_t k = 0; k < slots.size(); ++k) {
        auto slot = make_device_buffer(backend, {int(slots[k].floats)}, "intermediate values");
        if (!slot) return slot.status();
        arena->slots.push_back(std::move(*slot));
        arena->bytes += slots[k].floats * int64_t(sizeof(float));
    }
    arena->values.resize(g.values.size());
    arena->shifts.resize(g.values.size());
    for (const Piece &p : pieces) {
        DeviceBuffer view = device_view(arena->slots[p.slot], p.sizes);
        (p.is_shift ? arena->shifts : arena->values)[p.value] = std::move(view);
    }
    return arena;
}

Status execute_on_device(const ExecutionPlan &plan, const DeviceWeights &weights, DeviceArena &arena,
                         const float *input, float *output, StageProfile *profile) {
    const halide_device_interface_t *iface = device_interface(arena.backend);
    const graph::Graph &g = plan.graph;
    const Shape4 &in = g.values[g.input].shape, &out = g.values[g.output].shape;

    ConstAct host_in(input, int(in.w), int(in.h), int(in.c), int(in.n));
    int code = halide_buffer_copy(nullptr, host_in, iface, arena.values[g.input]);
    if (code != 0)
        return Status::Error(std::string(backend_name(arena.backend)) +
                             ": cannot copy the input to the device: " + halide_failure(code));

    DeviceBuffers buffers(arena, weights);
    StageRunner runner(plan, kernels_for(arena.backend), buffers);
    auto sync = [&]() -> Status {
        const int c = halide_device_sync_global(nullptr, iface);
        return c == 0 ? Status::Ok() : Status::Error("device synchronization failed: " + halide_failure(c));
    };
    Status ok = run_stages(plan, runner, profile, sync);
    if (!ok) return ok;

    // The output value's device buffer has no host side: the copy reads the device.
    Act host_out(output, int(out.w), int(out.h), int(out.c), int(out.n));
    code = halide_buffer_copy(nullptr, arena.values[g.output], nullptr, host_out);
    if (code != 0)
        return Status::Error(std::string(backend_name(arena.backend)) +
                             ": cannot copy the output from the device: " + halide_failure(code));
    return Status::Ok();
}

}  // namespace ae2d::runtime
