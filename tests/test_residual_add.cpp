#include <catch2/catch.hpp>
#include "HalideBuffer.h"
#include "ae2d_residual_add.h"
TEST_CASE("residual_add smoke") {
    Halide::Runtime::Buffer<float> a(7, 5, 3, 2), b(7, 5, 3, 2), o(7, 5, 3, 2);
    a.fill(1.5f); b.fill(2.0f);
    REQUIRE(ae2d_residual_add(a, b, o) == 0);
    CHECK(o(3, 2, 1, 1) == 3.5f);
}
