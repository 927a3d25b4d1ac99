// The device executor: weights uploaded once, intermediates in reused device allocations, the
// stages launched on a GPU backend.
#include <algorithm>

#include "HalideRuntime.h"
#include "runtime/halide_errors.h"
#include "runtime/stage_runner.h"

namespace ae2d::runtime {

using graph::Shape4;
using graph::Stage;

namespace {

// A view of the start of `owner`'s device allocation as a dense buffer of `sizes` (innermost
// first). Unmanaged: the owner frees the allocation, the views never do.
DeviceBuffer device_view(const DeviceBuffer &owner, const std::vector<int> &sizes) {
    std::vector<halide_dimension_t> dims(sizes.size());
    int stride = 1;
    for (size_t d = 0; d < sizes.size(); ++d) {
        dims[d] = halide_dimension_t(0, sizes[d], stride);
        stride *= sizes[d];
    }
    halide_buffer_t raw{};
    raw.device = owner.raw_buffer()->device;
    raw.device_interface = owner.raw_buffer()->device_interface;
    raw.type = halide_type_of<float>();
    raw.dimensions = int(sizes.size());
    raw.dim = dims.data();
    return DeviceBuffer(raw, Halide::Runtime::BufferDeviceOwnership::Unmanaged);
}

// GPU: the device buffers of a DeviceArena and of DeviceWeights. A parameter is lent as a view,
// never as a copy of the shared Runtime::Buffer: a buffer whose device memory was allocated by
// copy_to_device gets its device reference count on its first copy, created in a const method
// without a lock. Concurrent first calls on one model raced there, and a count that reached zero
// freed the weights' device memory under the other calls (OpenCL: CL_INVALID_MEM_OBJECT in
// clSetKernelArg, then an abort when the model was destroyed).
class DeviceBuffers final : public BufferSource {
public:
    DeviceBuffers(const DeviceArena &arena, const DeviceWeights &weights) : arena_(arena), weights_(weights) {}
    Act act(int v) const override { return arena_.values[v]; }
    Act scale(int v) const override { return arena_.values[v]; }
    Act shift(int v) const override { return arena_.shifts[v]; }
    ConstAct param(const std::string &name) const override {
        const DeviceBuffer &owner = weights_.buffers.at(name);
        std::vector<int> sizes(owner.dimensions());
        for (int d = 0; d < owner.dimensions(); ++d) sizes[d] = owner.dim(d).extent();
        return device_view(owner, sizes);
    }
    Expected<ConstAct> packed_param(const std::string &name, WeightPacking) const override {
        return Status::Error("the variants that take packed weights run on the CPU only (" + name + ")");
    }

private:
    const DeviceArena &arena_;
    const DeviceWeights &weights_;
};

}  // namespace

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

Expected<std::unique_ptr<DeviceArena>> make_device_arena(const ExecutionPlan &plan, Backend backend) {
    const graph::Graph &g = plan.graph;
    for (const graph::Value &v : g.values)
        if (v.part_of >= 0) return Status::Error("internal: a plan with joins in place (" + v.name + ") runs on the CPU only");
    const std::vector<LiveRange> live = live_ranges(g);

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
        if (live[v].last < live[v].first) continue;  // never both written and read: elided or fused away
        const graph::Value &value = g.values[v];
        const Shape4 &s = value.shape;
        if (value.kind == graph::ValueKind::NormCoeffs) {
            for (bool is_shift : {false, true}) pieces.push_back({int(v), is_shift, {int(s.c), int(s.n)}, s.c * s.n});
        } else {
            pieces.push_back({int(v), false, {int(s.w), int(s.h), int(s.c), int(s.n)}, s.numel()});
        }
    }
    std::stable_sort(pieces.begin(), pieces.end(),
                     [&](const Piece &a, const Piece &b) { return live[a.value].first < live[b.value].first; });

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
            if (slots[k].busy_until >= live[p.value].first) continue;
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
        slots[best].busy_until = live[p.value].last;
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
    const Kernels *gpu = nullptr;
#if AE2D_HAVE_GPU
    gpu = kernels_for(arena.backend);
#endif
    if (gpu == nullptr) return Status::Error(std::string("backend ") + backend_name(arena.backend) + " is not compiled in");
    StageRunner runner(plan, gpu, buffers);
    auto sync = [&]() -> Status {
        const int c = halide_device_sync_global(nullptr, iface);
        return c == 0 ? Status::Ok() : Status::Error("device synchronization failed: " + halide_failure(c));
    };
    Status ok = run_stages(plan, runner, profile, sync, nullptr);
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
