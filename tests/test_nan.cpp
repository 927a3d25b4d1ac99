// NaN and Inf propagate as in PyTorch. The expected patterns come from the PyTorch reference
// (tests/reference/nan_patterns.py prints them for these fixtures):
//  - a NaN or +-Inf input pixel makes its whole sample NaN: the first convolution spreads it,
//    and the next instance norm takes the plane's mean and variance over it (Inf - Inf = NaN);
//    the other samples of the batch are unchanged;
//  - a NaN in conv_final's weight (any tap, also one that meets zero padding: 0 * NaN = NaN,
//    as in PyTorch's float64 path) or bias makes that output channel NaN, the others unchanged;
//  - a NaN anywhere earlier (a convolution, an instance-norm gamma, a PReLU slope) makes every
//    output NaN.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "ae2d/model.h"
#include "io/npy.h"
#include "io/safetensors.h"
#include "test_support.h"

using namespace ae2d;

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

std::string fixture(const std::string &name) { return test::source_path("tests/fixtures/" + name); }

Tensor read(const std::string &path) {
    auto t = io::read_npy(path);
    REQUIRE(t.ok());
    return *t;
}

// Elements of plane (b, c) of an NCHW tensor that are NaN.
int64_t nan_count(const Tensor &y, int64_t b, int64_t c) {
    const int64_t plane = y.shape[2] * y.shape[3];
    const float *p = y.data.data() + (b * y.shape[1] + c) * plane;
    int64_t n = 0;
    for (int64_t i = 0; i < plane; ++i) n += std::isnan(p[i]) ? 1 : 0;
    return n;
}

bool same_plane(const Tensor &a, const Tensor &b, int64_t n, int64_t c) {
    const int64_t plane = a.shape[2] * a.shape[3];
    const int64_t off = (n * a.shape[1] + c) * plane;
    return std::memcmp(a.data.data() + off, b.data.data() + off, plane * sizeof(float)) == 0;
}

Tensor forward(const Model &m, const Tensor &x) {
    auto y = m.forward(x);
    REQUIRE(y.ok());
    return *y;
}

// The fixture's model with one weight element replaced by NaN.
Model with_nan_weight(const std::string &name, const std::string &key, int64_t flat_index) {
    auto file = io::read_safetensors(fixture(name + ".safetensors"));
    REQUIRE(file.ok());
    REQUIRE(file->tensors.count(key));
    file->tensors.at(key).data.at(flat_index) = kNaN;
    auto m = Model::from_tensors(std::move(file->tensors), file->metadata, name);
    REQUIRE(m.ok());
    return *m;
}

}  // namespace

TEST_CASE("a NaN or Inf input pixel makes its sample's output NaN, as in PyTorch", "[nan]") {
    auto model = Model::load(fixture("bneck_k3_d3.safetensors"));
    REQUIRE(model.ok());
    const Tensor x = read(fixture("bneck_k3_d3.input.npy"));  // (2, 1, 17, 23)
    const Tensor clean = forward(*model, x);
    const int64_t plane = clean.shape[2] * clean.shape[3];
    REQUIRE(nan_count(clean, 0, 0) == 0);
    REQUIRE(nan_count(clean, 1, 0) == 0);

    struct Poke {
        const char *what;
        int64_t sample, index;  // index within the sample's plane
        float value;
    };
    for (const Poke &p : {Poke{"NaN", 0, 3 * 23 + 4, kNaN}, Poke{"+Inf", 1, 0, kInf}, Poke{"-Inf", 1, 16 * 23 + 22, -kInf}}) {
        SECTION(p.what) {
            Tensor bad = x;
            bad.data[p.sample * 17 * 23 + p.index] = p.value;
            const Tensor y = forward(*model, bad);
            CHECK(nan_count(y, p.sample, 0) == plane);
            const int64_t other = 1 - p.sample;
            CHECK(nan_count(y, other, 0) == 0);
            CHECK(same_plane(y, clean, other, 0));
        }
    }
}

TEST_CASE("a NaN in conv_final reaches only its output channel, as in PyTorch", "[nan]") {
    // plain_k3_d2: out_planes 2, conv_final 5 x 5 with padding 2, input (1, 3, 20, 16).
    const Tensor x = read(fixture("plain_k3_d2.input.npy"));
    auto clean_model = Model::load(fixture("plain_k3_d2.safetensors"));
    REQUIRE(clean_model.ok());
    const Tensor clean = forward(*clean_model, x);
    const int64_t plane = clean.shape[2] * clean.shape[3];
    struct Case {
        const char *key;
        int64_t index;
    };
    // weight (2, 8, 5, 5): element (1, 0, 0, 0) is the top-left tap of channel 1, which meets
    // only zero padding along the top and left borders. 0 * NaN = NaN, as in PyTorch's float64
    // convolution (its float32 CPU path skips padding and leaves 68 border pixels finite).
    for (const Case &c : {Case{"conv_final.bias", 1}, Case{"conv_final.weight", 1 * 8 * 25}, Case{"conv_final.weight", 1 * 8 * 25 + 12}}) {
        SECTION(std::string(c.key) + "[" + std::to_string(c.index) + "]") {
            const Tensor y = forward(with_nan_weight("plain_k3_d2", c.key, c.index), x);
            CHECK(nan_count(y, 0, 1) == plane);
            CHECK(nan_count(y, 0, 0) == 0);
            CHECK(same_plane(y, clean, 0, 0));
        }
    }
}

TEST_CASE("a NaN in an earlier weight makes every output NaN, as in PyTorch", "[nan]") {
    const Tensor x = read(fixture("bneck_k3_d3.input.npy"));
    const int64_t plane = 17 * 23;
    for (const char *key : {"conv_first.weight", "conv_down_list.0.conv_scale.conv1.0.weight",
                            "conv_down_list.0.conv_scale.conv1.1.weight"}) {
        SECTION(key) {
            const Tensor y = forward(with_nan_weight("bneck_k3_d3", key, 0), x);
            CHECK(nan_count(y, 0, 0) == plane);
            CHECK(nan_count(y, 1, 0) == plane);
        }
    }
}
