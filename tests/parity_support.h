// Fixture parity helpers shared by the CPU and GPU tests: a committed PyTorch fixture and the
// issue's bound on the difference from it.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "ae2d/model.h"
#include "ae2d/tensor.h"
#include "io/npy.h"
#include "test_support.h"

namespace ae2d::test {

struct Fixture {
    std::string name;
    Tensor input, expected;
};

inline Fixture load_fixture(const std::string &name) {
    const std::string base = source_path("tests/fixtures/" + name);
    auto x = io::read_npy(base + ".input.npy");
    auto y = io::read_npy(base + ".output.npy");
    REQUIRE(x.ok());
    REQUIRE(y.ok());
    return {name, *x, *y};
}

// max |y - ref| / max |ref|, the figure the bound is on.
inline double relative_max_error(const Tensor &got, const Tensor &ref) {
    double max_ref = 0, max_diff = 0;
    for (size_t i = 0; i < ref.data.size(); ++i) {
        max_ref = std::max(max_ref, double(std::fabs(ref.data[i])));
        max_diff = std::max(max_diff, double(std::fabs(got.data[i] - ref.data[i])));
    }
    return max_ref > 0 ? max_diff / max_ref : max_diff;
}

// The bound: max |y - ref| <= 1e-4 * max |ref|. The reference is computed in float64,
// so the difference is ae2d's own float32 rounding: up to ~60 layers of sums of a few
// thousand products (relative error ~1e-6 each), re-normalized by every instance norm; 1e-4
// leaves room for that growth while catching any wrong index, padding or coefficient
// (which show up as errors of order max |ref|).
inline void require_close(const Tensor &got, const Tensor &ref) {
    REQUIRE(got.shape == ref.shape);
    double max_ref = 0, max_diff = 0;
    for (size_t i = 0; i < ref.data.size(); ++i) {
        max_ref = std::max(max_ref, double(std::fabs(ref.data[i])));
        max_diff = std::max(max_diff, double(std::fabs(got.data[i] - ref.data[i])));
    }
    INFO("max |y - ref| = " << max_diff << ", max |ref| = " << max_ref);
    CHECK(max_ref > 0.1);
    CHECK(max_diff <= 1e-4 * max_ref);
}

// `threads` threads each run `calls` forward passes of the fixture's input on one shared model at
// once; every call must succeed and every thread's last result must meet the bound.
inline void require_concurrent_parity(const Model &model, const Fixture &f, int threads, int calls) {
    std::vector<Tensor> results(threads);
    std::vector<std::string> errors(threads);  // each thread's first failure (Catch's macros are not thread-safe)
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t)
        workers.emplace_back([&, t] {
            for (int i = 0; i < calls; ++i) {
                auto y = model.forward(f.input);
                if (y.ok())
                    results[t] = *y;
                else if (errors[t].empty())
                    errors[t] = y.message();
            }
        });
    for (auto &w : workers) w.join();
    for (int t = 0; t < threads; ++t) {
        INFO("thread " << t << ": " << errors[t]);
        REQUIRE(errors[t].empty());
        require_close(results[t], f.expected);
    }
}

}  // namespace ae2d::test
