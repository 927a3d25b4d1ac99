// After the first call for an input shape, a forward pass allocates nothing: the plan, the
// activation arena and (with forward_into) the output are reused, and the pipelines' own scratch
// (per-strip source rows and tiles) comes from the scratch allocator's caches. Counted here by
// replacing the global operator new of the test program (C++ heap: tensors, plans, strings) and
// by the scratch allocator's count of blocks taken from the system.
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <new>

#include "HalideRuntime.h"
#include "ae2d/model.h"
#include "ae2d/schedule.h"
#include "graph/builder.h"
#include "runtime/executor.h"
#include "runtime/scratch_allocator.h"
#include "test_support.h"

namespace {
std::atomic<long> g_new_calls{0};
}  // namespace

// Every replaceable form except the aligned ones (which keep the library's own pair), so that
// each delete matches its new (AddressSanitizer checks that).
namespace {
void *counted_malloc(std::size_t size) noexcept {
    g_new_calls.fetch_add(1, std::memory_order_relaxed);
    return std::malloc(size ? size : 1);
}
}  // namespace

void *operator new(std::size_t size) {
    if (void *p = counted_malloc(size)) return p;
    throw std::bad_alloc();
}
void *operator new[](std::size_t size) {
    if (void *p = counted_malloc(size)) return p;
    throw std::bad_alloc();
}
void *operator new(std::size_t size, const std::nothrow_t &) noexcept { return counted_malloc(size); }
void *operator new[](std::size_t size, const std::nothrow_t &) noexcept { return counted_malloc(size); }
void operator delete(void *p) noexcept { std::free(p); }
void operator delete[](void *p) noexcept { std::free(p); }
void operator delete(void *p, std::size_t) noexcept { std::free(p); }
void operator delete[](void *p, std::size_t) noexcept { std::free(p); }
void operator delete(void *p, const std::nothrow_t &) noexcept { std::free(p); }
void operator delete[](void *p, const std::nothrow_t &) noexcept { std::free(p); }

// One worker, so that every pass asks for its scratch in the same order: with several, which
// tasks overlap depends on the OS scheduler, and the pool grows until it has seen each stage at
// its peak overlap (a pass or two on an idle machine, more under load).
struct SingleWorker {
    int saved = halide_set_num_threads(1);
    ~SingleWorker() { halide_set_num_threads(saved); }
};

namespace {

// After one call, three more passes of `model` on the same input allocate nothing and repeat the result.
void require_repeat_allocates_nothing(const ae2d::Model &model) {
    ae2d::Tensor x({2, 1, 96, 80}), y;
    for (size_t i = 0; i < x.data.size(); ++i) x.data[i] = float(i % 97) / 97.f;
    SingleWorker one_worker;
    REQUIRE(model.forward_into(x, y));  // first call: plan, arena, output, scratch pool (and packed weights)
    const std::vector<float> first = y.data;

    for (int pass = 0; pass < 3; ++pass) {
        const long new_before = g_new_calls.load();
        const int64_t scratch_before = ae2d::runtime::scratch_system_allocations();
        REQUIRE(model.forward_into(x, y));
        CHECK(g_new_calls.load() - new_before == 0);
        CHECK(ae2d::runtime::scratch_system_allocations() - scratch_before == 0);
        CHECK(y.data == first);  // the reused output holds a complete, identical result
    }
}

}  // namespace

TEST_CASE("a repeated forward pass allocates nothing", "[model][memory]") {
    auto model = ae2d::Model::load(ae2d::test::source_path("models/denoiser.safetensors"));
    REQUIRE(model);
    SECTION("shipped table") { require_repeat_allocates_nothing(*model); }
    SECTION("every 3x3 conv on Winograd (packed weights made by the first call)") {
        std::string text;
        for (const char *stage : {"conv2d", "norm_prelu_conv2d", "norm_prelu_upsample_conv2d"})
            text += std::string(stage) + " * * * * * * * wplane\n";
        auto table = ae2d::ScheduleTable::parse(text, "wplane.txt");
        REQUIRE(table);
        require_repeat_allocates_nothing(model->with_schedule(*table));
    }
    SECTION("every up-sampling conv on srows (per-task products and sums from the scratch pool)") {
        auto table = ae2d::ScheduleTable::parse("norm_prelu_upsample_conv2d * * * * * * * srows\n", "srows.txt");
        REQUIRE(table);
        require_repeat_allocates_nothing(model->with_schedule(*table));
    }
}

// Issue 7's memory target on W2 (AE2d(64, [2,2,2,2]) bottleneck, 1x1x256x256): the planned arena
// stays within 1.5x of the weights plus the two largest activations of the pass.
TEST_CASE("the W2 arena stays within 1.5x of weights + two largest activations", "[model][memory]") {
    ae2d::Config config;
    config.channel = 64;
    config.layers = {2, 2, 2, 2};
    config.block = ae2d::BlockKind::Bottleneck;
    auto g = ae2d::graph::build_network(config);
    REQUIRE(g);
    auto plan = ae2d::runtime::make_execution_plan(*g, {1, 1, 256, 256});
    REQUIRE(plan);
    int64_t weight_floats = 0;
    for (const auto &p : (*plan)->graph.params) weight_floats += ae2d::Tensor::numel_of(p.shape);
    std::vector<int64_t> sizes;
    for (const auto &v : (*plan)->graph.values) sizes.push_back(v.numel());
    std::sort(sizes.rbegin(), sizes.rend());
    const int64_t bound_floats = weight_floats + sizes[0] + sizes[1];
    const int64_t arena_floats = (*plan)->memory.arena_floats;
    INFO("arena " << arena_floats * 4 << " bytes, weights " << weight_floats * 4 << ", two largest activations "
                  << (sizes[0] + sizes[1]) * 4);
    CHECK(double(arena_floats) <= 1.5 * double(bound_floats));
    CHECK(arena_floats < (*plan)->memory.naive_floats / 4);  // the planner does reuse memory
}
