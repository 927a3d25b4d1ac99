// The CPU executor: the stages on host buffers (the caller's input and output, the plan's arena).
#include "runtime/stage_runner.h"

namespace ae2d::runtime {

using graph::Shape4;

namespace {

// A host tensor as a Halide buffer, dims innermost first. No heap allocation: a forward pass on
// a cached plan allocates nothing.
ConstAct host_view(const Tensor &t) {
    halide_dimension_t dims[4];
    const int rank = t.rank();  // at most 4: checked at load (packed weights: 4)
    int32_t stride = 1;
    for (int d = 0; d < rank; ++d) {
        const int32_t extent = static_cast<int32_t>(t.shape[rank - 1 - d]);
        dims[d] = halide_dimension_t(0, extent, stride);
        stride *= extent;
    }
    return ConstAct(t.data.data(), rank, dims);
}

// CPU: views of the caller's input and output and of the plan's arena; parameters in place.
class HostBuffers final : public BufferSource {
public:
    HostBuffers(const ExecutionPlan &plan, const WeightMap &weights, const PackedWeightCache *packed,
                const float *input, float *output, float *arena)
        : plan_(plan), weights_(weights), packed_(packed), input_(input), output_(output), arena_(arena) {}

    Act act(int v) const override {
        const graph::Value &value = plan_.graph.values[v];
        const Shape4 &s = value.shape;
        if (value.part_of < 0) return Act(data_of(v), int(s.w), int(s.h), int(s.c), int(s.n));
        // A channel slice of a joined value: its samples lie at the whole's sample stride.
        const int plane = int(s.w * s.h);
        const int sample = int(plan_.graph.values[value.part_of].shape.c) * plane;
        halide_dimension_t dims[4] = {{0, int(s.w), 1}, {0, int(s.h), int(s.w)}, {0, int(s.c), plane}, {0, int(s.n), sample}};
        return Act(data_of(v), 4, dims);
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
    ConstAct param(const std::string &name) const override { return host_view(weights_.at(name)); }
    Expected<ConstAct> packed_param(const std::string &name, WeightPacking packing) const override {
        if (packed_ == nullptr) return Status::Error("no cache of packed weights was given for " + name);
        auto packed = packed_->get(name, packing, weights_.at(name));
        if (!packed) return packed.status();
        return host_view(**packed);
    }

private:
    float *data_of(int v) const {
        if (v == plan_.graph.output) return output_;
        if (v == plan_.graph.input) return const_cast<float *>(input_);  // read-only by the stages
        return arena_ + plan_.memory.offsets[v];
    }

    const ExecutionPlan &plan_;
    const WeightMap &weights_;
    const PackedWeightCache *packed_;
    const float *input_;
    float *output_;
    float *arena_;
};

}  // namespace

Status execute(const ExecutionPlan &plan, const WeightMap &weights, const PackedWeightCache *packed, const float *input,
               float *output, float *arena, StageProfile *profile, const StageHook &hook) {
    HostBuffers buffers(plan, weights, packed, input, output, arena);
    StageRunner runner(plan, nullptr, buffers);
    return run_stages(plan, runner, profile, nullptr, hook);
}

}  // namespace ae2d::runtime
