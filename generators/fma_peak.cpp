// FmaPeak: the machine's float32 multiply-add throughput, the yardstick of `ae2d bench`'s
// peak_fraction. Not part of the network: each task runs `iterations` steps of
//   acc(x) = acc(x) * decay + step
// on independent accumulators held in registers, so the loop is bound by FMA issue alone.
// Work done: 2 * iterations * accumulators * tasks flops (one FMA = 2 flops).
// AOT arguments: (iterations, output); output is (384 accumulators, tasks), one task per worker.
#include "Halide.h"
#include "cpu_schedule.h"

namespace {

using namespace Halide;

constexpr int kAccumulators = 384;  // per task: 24 AVX-512 vectors, 4 x 12 AVX2 vectors

class FmaPeak : public Generator<FmaPeak> {
public:
    Input<int> iterations{"iterations"};
    Output<Buffer<float, 2>> output{"output"};  // (x: accumulator, t: task)

    void generate() {
        // ---------------------------------------------------------------- algorithm
        Func acc("acc");
        RDom r(0, iterations);
        acc(x, t) = cast<float>(x + t) * 1e-3f;
        // r enters only as 0 (simplified away) so that the update runs over it; LLVM contracts
        // the multiply-add into one FMA.
        acc(x, t) = acc(x, t) * 0.999f + (1e-3f + cast<float>(r.x * 0));
        output(x, t) = acc(x, t);

        // ---------------------------------------------------------------- schedule
        // Enough independent vector accumulators to cover FMA latency on every FMA port:
        // 12 of 16 registers on AVX2 (Zen: 2 ports x latency 5 = 10 in flight), 24 of 32 on
        // AVX-512. Measured on the 2-core Zen AVX2 machine: 96 GFLOP/s a core, 8 x 3.0 GHz x 2 x 2.
        // The 384 accumulators of a task (a multiple of every target's tile) are done in
        // register-sized chunks, one after another.
        const int lanes = ae2d::schedules::float_lanes(get_target());
        const int vectors = get_target().has_feature(Target::AVX512) ? 24 : 12;
        Var xo("xo"), xi("xi");
        output.dim(0).set_extent(kAccumulators);
        output.split(x, xo, xi, lanes * vectors, TailStrategy::RoundUp).reorder(xi, xo, t).parallel(t);
        acc.compute_at(output, xo).store_in(MemoryType::Register).vectorize(x, lanes).unroll(x);
        acc.update().reorder(x, r.x).vectorize(x, lanes).unroll(x);
        output.vectorize(xi, lanes).unroll(xi);
    }

private:
    Var x{"x"}, t{"t"};
};

}  // namespace

HALIDE_REGISTER_GENERATOR(FmaPeak, fma_peak)
