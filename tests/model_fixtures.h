// Shared by the model-level tests: the committed PyTorch fixtures and the parity check.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <string>

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

}  // namespace ae2d::test
