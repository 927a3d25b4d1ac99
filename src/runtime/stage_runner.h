// Runs one stage of a plan with the AOT library of a variant, on the CPU or a GPU backend: the
// part the CPU and device executors share. Internal to src/runtime.
#pragma once

#include <functional>
#include <string>

#include "HalideBuffer.h"
#include "runtime/executor.h"

namespace ae2d::runtime {

using Act = Halide::Runtime::Buffer<float>;
using ConstAct = Halide::Runtime::Buffer<const float>;

// Where the stages find their buffers: activations (x, y, c, n), instance-norm coefficients
// (c, n), parameters by state_dict key. Halide dims are PyTorch's NCHW with x innermost.
class BufferSource {
public:
    virtual ~BufferSource() = default;
    virtual Act act(int v) const = 0;
    virtual Act scale(int v) const = 0;
    virtual Act shift(int v) const = 0;
    virtual ConstAct param(const std::string &name) const = 0;
    // Parameter `name` packed for the variants that take it so (packed_weights.h).
    virtual Expected<ConstAct> packed_param(const std::string &name, WeightPacking packing) const = 0;
};

// A GPU backend's AOT entry points (stage_runner.cpp).
struct Kernels;
#if AE2D_HAVE_GPU
const Kernels *kernels_for(Backend backend);
#endif

class StageRunner {
public:
    // `gpu` null: the CPU libraries, each stage in the variant the caller names; otherwise a
    // backend's kernel sets (kernels_for), a stage in gpu_variant() of the one named.
    StageRunner(const ExecutionPlan &plan, const Kernels *gpu, const BufferSource &buffers)
        : plan_(plan), gpu_(gpu), b_(buffers) {}

    bool on_gpu() const { return gpu_ != nullptr; }
    // Runs one stage. An autoscheduled build ("auto") may tile by its estimates without tail cases
    // and refuse smaller shapes with a bounds error before computing anything; with
    // `fallback_to_manual` such a stage then runs its manual schedule and *fell_back is set.
    Status run(const graph::Stage &s, int variant, bool fallback_to_manual = false, bool *fell_back = nullptr);

private:
    // `packed`: the weights of a variant that takes them packed, else empty.
    int call(const graph::Stage &s, int v, const ConstAct &packed);

    const ExecutionPlan &plan_;
    const Kernels *gpu_;
    const BufferSource &b_;
};

// Runs the plan's stages in order, each in its planned variant (GPU: manual or auto); `hook`
// (CPU only) may run variants of each stage first; with a profile, `sync` (if any) after each
// stage so that asynchronous GPU launches are timed by what they do.
Status run_stages(const ExecutionPlan &plan, StageRunner &runner, StageProfile *profile,
                  const std::function<Status()> &sync, const StageHook &hook);

}  // namespace ae2d::runtime
