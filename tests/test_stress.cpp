// Concurrency: many threads share one Model and call forward with mixed input sizes; every
// output must equal, bit for bit, the single-threaded result for the same input. The Halide
// schedules split work over output tiles and never reduce across threads, so a fixed input
// gives a fixed result however the calls interleave.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "ae2d/model.h"
#include "test_support.h"

using namespace ae2d;

namespace {

struct Case {
    Tensor input, expected;
};

std::vector<Case> make_cases(const Model &model, const std::vector<std::vector<int64_t>> &shapes) {
    std::vector<Case> cases;
    std::mt19937 rng(11);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (const auto &s : shapes) {
        Case c;
        c.input = Tensor(s);
        for (float &v : c.input.data) v = normal(rng);
        auto y = model.forward(c.input);  // single-threaded reference
        REQUIRE(y.ok());
        c.expected = std::move(*y);
        cases.push_back(std::move(c));
    }
    return cases;
}

struct StressResult {
    int calls = 0, mismatches = 0, errors = 0;
    double max_abs_diff = 0, seconds = 0;
};

// `threads` threads x `calls` forward calls; call i of thread t runs case (t + i) % cases.
// Every 10th call also sends an input the model refuses, which must fail cleanly.
StressResult stress(const Model &model, const std::vector<Case> &cases, int threads, int calls) {
    std::atomic<int> mismatches{0}, errors{0};
    std::vector<double> max_diff(threads, 0.0);
    const Tensor wrong_channels({1, 2, 9, 9});
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
            for (int i = 0; i < calls; ++i) {
                const Case &c = cases[(t + i) % cases.size()];
                auto y = model.forward(c.input);
                if (!y.ok() || y->shape != c.expected.shape || y->data.size() != c.expected.data.size()) {
                    ++errors;
                    continue;
                }
                if (std::memcmp(y->data.data(), c.expected.data.data(), y->data.size() * sizeof(float)) != 0) {
                    ++mismatches;
                    for (size_t k = 0; k < y->data.size(); ++k)
                        max_diff[t] = std::max(max_diff[t], double(std::fabs(y->data[k] - c.expected.data[k])));
                }
                if (i % 10 == 0 && model.forward(wrong_channels).ok()) ++errors;
            }
        });
    for (auto &th : pool) th.join();
    StressResult r;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.calls = threads * calls;
    r.mismatches = mismatches;
    r.errors = errors;
    for (double d : max_diff) r.max_abs_diff = std::max(r.max_abs_diff, d);
    return r;
}

}  // namespace

TEST_CASE("8 threads x 100 forward calls with mixed sizes match the single-threaded results", "[stress]") {
    auto model = Model::load(test::source_path("tests/fixtures/bneck_k3_d3.safetensors"));
    REQUIRE(model.ok());
    // The references run on one Halide worker too: results must not depend on the thread count.
    set_num_threads(1);
    const auto cases = make_cases(*model, {{1, 1, 17, 23}, {2, 1, 9, 12}, {1, 1, 32, 5}, {3, 1, 6, 7},
                                           {1, 1, 5, 1}, {2, 1, 20, 20}, {1, 1, 1, 9}, {1, 1, 24, 31},
                                           {1, 1, 96, 80}, {2, 1, 64, 57}});  // large enough for Halide's threads
    set_num_threads(0);  // back to one worker per core
    const StressResult r = stress(*model, cases, 8, 100);
    std::printf("stress: %d calls in %.2f s (%.0f calls/s), %d mismatches, max |diff| %g, %d errors\n", r.calls,
                r.seconds, r.calls / r.seconds, r.mismatches, r.max_abs_diff, r.errors);
    CHECK(r.errors == 0);
    CHECK(r.mismatches == 0);
    CHECK(r.max_abs_diff == 0.0);
}

TEST_CASE("concurrent calls over more sizes than the plan cache holds stay exact", "[stress]") {
    // 24 sizes > the 16 cached shapes: plans and arenas are evicted while other threads use them.
    auto model = Model::load(test::source_path("tests/fixtures/plain_k3_d2_1x9.safetensors"));
    REQUIRE(model.ok());
    std::vector<std::vector<int64_t>> shapes;
    for (int k = 0; k < 24; ++k) shapes.push_back({1 + k % 2, 1, 3 + k % 5, 4 + k});
    const auto cases = make_cases(*model, shapes);
    const StressResult r = stress(*model, cases, 8, 30);
    std::printf("stress (eviction): %d calls in %.2f s, %d mismatches, %d errors\n", r.calls, r.seconds, r.mismatches,
                r.errors);
    CHECK(r.errors == 0);
    CHECK(r.mismatches == 0);
}
