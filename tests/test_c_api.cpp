// The C API (include/ae2d/ae2d.h): the same results as the C++ API, errors copied into the
// caller's buffer (truncated, NUL-terminated), and no exception crossing the boundary.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "ae2d/ae2d.h"
#include "ae2d/model.h"
#include "io/npy.h"
#include "test_support.h"

namespace {

std::string fixture(const std::string &name) { return ae2d::test::source_path("tests/fixtures/" + name); }

struct ModelHandle {
    ae2d_model *m;
    explicit ModelHandle(ae2d_model *model) : m(model) {}
    ~ModelHandle() { ae2d_model_free(m); }
    ModelHandle(const ModelHandle &) = delete;
    ModelHandle &operator=(const ModelHandle &) = delete;
};

// The bound of tests/test_model.cpp: max |y - ref| <= 1e-4 * max |ref|.
void require_close(const std::vector<float> &got, const ae2d::Tensor &ref) {
    REQUIRE(got.size() == ref.data.size());
    double max_ref = 0, max_diff = 0;
    for (size_t i = 0; i < ref.data.size(); ++i) {
        max_ref = std::max(max_ref, double(std::fabs(ref.data[i])));
        max_diff = std::max(max_diff, double(std::fabs(got[i] - ref.data[i])));
    }
    INFO("max |y - ref| = " << max_diff << ", max |ref| = " << max_ref);
    CHECK(max_ref > 0.1);
    CHECK(max_diff <= 1e-4 * max_ref);
}

}  // namespace

TEST_CASE("C API: version", "[c_api]") {
    REQUIRE(ae2d_version() != nullptr);
    CHECK(std::string(ae2d_version()) == ae2d::version());
}

TEST_CASE("C API: load errors are copied, truncated and NUL-terminated", "[c_api]") {
    const std::string missing = fixture("no_such_model.safetensors");
    auto full = ae2d::Model::load(missing);
    REQUIRE(!full.ok());
    const std::string expected = full.message();
    REQUIRE(expected.size() > 16);

    char big[1024];
    std::memset(big, 'x', sizeof big);
    CHECK(ae2d_model_load(missing.c_str(), big, sizeof big) == nullptr);
    CHECK(std::string(big) == expected);

    char small[9];
    std::memset(small, 'x', sizeof small);
    CHECK(ae2d_model_load(missing.c_str(), small, sizeof small) == nullptr);
    CHECK(small[8] == '\0');
    CHECK(std::string(small) == expected.substr(0, 8));

    char one[1] = {'x'};
    CHECK(ae2d_model_load(missing.c_str(), one, 1) == nullptr);
    CHECK(one[0] == '\0');

    char untouched[4] = {'a', 'b', 'c', 'd'};
    CHECK(ae2d_model_load(missing.c_str(), untouched, 0) == nullptr);  // size 0: nothing written
    CHECK(untouched[0] == 'a');
    CHECK(ae2d_model_load(missing.c_str(), nullptr, 0) == nullptr);
    CHECK(ae2d_model_load(nullptr, big, sizeof big) == nullptr);
    CHECK_THAT(std::string(big), Catch::Contains("NULL"));

    // A file that is not a safetensors file: the reader's message, naming the file.
    const std::string not_model = fixture("plain_k3_d2.input.npy");
    CHECK(ae2d_model_load(not_model.c_str(), big, sizeof big) == nullptr);
    CHECK_THAT(std::string(big), Catch::Contains("plain_k3_d2.input.npy"));
}

TEST_CASE("C API: configuration queries", "[c_api]") {
    char err[256] = "";
    ModelHandle h(ae2d_model_load(fixture("plain_k3_d2.safetensors").c_str(), err, sizeof err));
    INFO(err);
    REQUIRE(h.m != nullptr);
    CHECK(err[0] == '\0');
    auto model = ae2d::Model::load(fixture("plain_k3_d2.safetensors"));
    REQUIRE(model.ok());
    const ae2d::Config &c = model->config();

    CHECK(ae2d_model_channel(h.m) == c.channel);
    CHECK(ae2d_model_depth(h.m) == c.depth());
    int layers[8] = {0};
    CHECK(ae2d_model_layers(h.m, layers, 8) == c.depth());
    CHECK(std::vector<int>(layers, layers + c.depth()) == c.layers);
    int first[1] = {-7};
    CHECK(ae2d_model_layers(h.m, first, 1) == c.depth());  // copies only what fits
    CHECK(first[0] == c.layers[0]);
    CHECK(ae2d_model_layers(h.m, nullptr, 0) == c.depth());
    CHECK(std::string(ae2d_model_arch(h.m)) == "AE2d");
    CHECK(std::string(ae2d_model_block(h.m)) == "plain");
    CHECK(ae2d_model_kernel_h(h.m) == 3);
    CHECK(ae2d_model_kernel_w(h.m) == 3);
    CHECK(ae2d_model_in_planes(h.m) == 3);
    CHECK(ae2d_model_out_planes(h.m) == 2);
    CHECK(std::string(ae2d_model_describe(h.m)) == c.to_string());
    CHECK(ae2d_model_nlayers(h.m) == model->nlayers());
    CHECK(ae2d_model_num_parameters(h.m) == model->num_parameters());

    // A NULL model is an error value, not a crash.
    CHECK(ae2d_model_channel(nullptr) == -1);
    CHECK(ae2d_model_layers(nullptr, layers, 8) == -1);
    CHECK(ae2d_model_block(nullptr) == nullptr);
    CHECK(ae2d_model_arch(nullptr) == nullptr);
    CHECK(ae2d_model_describe(nullptr) == nullptr);
    CHECK(ae2d_model_nlayers(nullptr) == -1);
    CHECK(ae2d_model_num_parameters(nullptr) == -1);
    ae2d_model_free(nullptr);
}

TEST_CASE("C API: forward equals the PyTorch reference", "[c_api][parity]") {
    std::string name = "plain_k3_d2";
    SECTION("AE2d") {}
    SECTION("UNet2d") { name = "unet_plain_k3_d2_b3"; }
    auto x = ae2d::io::read_npy(fixture(name + ".input.npy"));
    auto ref = ae2d::io::read_npy(fixture(name + ".output.npy"));
    REQUIRE(x.ok());
    REQUIRE(ref.ok());
    REQUIRE(x->rank() == 4);
    char err[256] = "";
    ModelHandle h(ae2d_model_load(fixture(name + ".safetensors").c_str(), err, sizeof err));
    REQUIRE(h.m != nullptr);
    CHECK(std::string(ae2d_model_arch(h.m)) == (name == "plain_k3_d2" ? "AE2d" : "UNet2d"));

    int64_t in[4], out[4] = {0, 0, 0, 0};
    std::copy(x->shape.begin(), x->shape.end(), in);
    REQUIRE(ae2d_model_output_shape(h.m, in, out, err, sizeof err) == 0);
    CHECK(std::vector<int64_t>(out, out + 4) == ref->shape);

    std::vector<float> y(static_cast<size_t>(ref->numel()), -1.0f);
    REQUIRE(ae2d_model_forward(h.m, x->data.data(), in, y.data(), y.size(), err, sizeof err) == 0);
    CHECK(err[0] == '\0');
    require_close(y, *ref);
}

TEST_CASE("C API: several threads share one model", "[c_api][threads]") {
    auto x = ae2d::io::read_npy(fixture("plain_k3_d2.input.npy"));
    REQUIRE(x.ok());
    char err[256] = "";
    ModelHandle h(ae2d_model_load(fixture("plain_k3_d2.safetensors").c_str(), err, sizeof err));
    REQUIRE(h.m != nullptr);
    int64_t in[4], out[4] = {0, 0, 0, 0};
    std::copy(x->shape.begin(), x->shape.end(), in);
    REQUIRE(ae2d_model_output_shape(h.m, in, out, err, sizeof err) == 0);
    std::vector<float> y(static_cast<size_t>(out[0] * out[1] * out[2] * out[3]));
    REQUIRE(ae2d_model_forward(h.m, x->data.data(), in, y.data(), y.size(), err, sizeof err) == 0);
    std::vector<std::vector<float>> ys(3, std::vector<float>(y.size()));
    std::vector<int> rcs(ys.size(), -1);
    std::vector<std::thread> threads;
    for (size_t t = 0; t < ys.size(); ++t)
        threads.emplace_back([&, t] {
            char e[128];
            rcs[t] = ae2d_model_forward(h.m, x->data.data(), in, ys[t].data(), ys[t].size(), e, sizeof e);
        });
    for (auto &t : threads) t.join();
    for (size_t t = 0; t < ys.size(); ++t) {
        CHECK(rcs[t] == 0);
        CHECK(ys[t] == y);
    }
}

TEST_CASE("C API: forward refuses a small output buffer and bad shapes", "[c_api][errors]") {
    char err[256] = "";
    ModelHandle h(ae2d_model_load(fixture("plain_k3_d2.safetensors").c_str(), err, sizeof err));
    REQUIRE(h.m != nullptr);
    const int64_t in[4] = {1, 3, 20, 16};
    std::vector<float> x(1 * 3 * 20 * 16, 0.5f);
    const size_t needed = 1 * 2 * 20 * 16;
    std::vector<float> y(needed, 7.0f);

    SECTION("output capacity too small: an error, and the output is untouched") {
        CHECK(ae2d_model_forward(h.m, x.data(), in, y.data(), needed - 1, err, sizeof err) != 0);
        CHECK_THAT(std::string(err), Catch::Contains("640 floats") && Catch::Contains("639"));
        CHECK(y == std::vector<float>(needed, 7.0f));
        CHECK(ae2d_model_forward(h.m, x.data(), in, y.data(), needed, err, sizeof err) == 0);
        CHECK(err[0] == '\0');
    }
    SECTION("wrong channel count") {
        const int64_t bad[4] = {1, 2, 20, 16};
        CHECK(ae2d_model_forward(h.m, x.data(), bad, y.data(), y.size(), err, sizeof err) != 0);
        CHECK_THAT(std::string(err), Catch::Contains("in_planes = 3"));
        int64_t out[4];
        CHECK(ae2d_model_output_shape(h.m, bad, out, err, sizeof err) != 0);
        CHECK_THAT(std::string(err), Catch::Contains("in_planes = 3"));
    }
    SECTION("empty, negative and huge dimensions") {
        for (const auto &shape : std::vector<std::vector<int64_t>>{
                 {0, 3, 20, 16}, {1, 3, -20, 16}, {1, 3, int64_t(1) << 40, 16}, {1, 3, 1 << 20, 1 << 20}}) {
            INFO(ae2d::shape_to_string(shape));
            err[0] = '\0';
            CHECK(ae2d_model_forward(h.m, x.data(), shape.data(), y.data(), y.size(), err, sizeof err) != 0);
            CHECK(std::strlen(err) > 0);
        }
    }
    SECTION("NULL arguments") {
        CHECK(ae2d_model_forward(nullptr, x.data(), in, y.data(), y.size(), err, sizeof err) != 0);
        CHECK_THAT(std::string(err), Catch::Contains("NULL"));
        CHECK(ae2d_model_forward(h.m, nullptr, in, y.data(), y.size(), err, sizeof err) != 0);
        CHECK(ae2d_model_forward(h.m, x.data(), nullptr, y.data(), y.size(), err, sizeof err) != 0);
        CHECK(ae2d_model_forward(h.m, x.data(), in, nullptr, y.size(), nullptr, 0) != 0);
        int64_t out[4];
        CHECK(ae2d_model_output_shape(h.m, nullptr, out, err, sizeof err) != 0);
        CHECK(ae2d_model_output_shape(nullptr, in, out, err, sizeof err) != 0);
    }
    SECTION("an error message truncated to a tiny buffer") {
        const int64_t bad[4] = {1, 2, 20, 16};
        char tiny[5];
        std::memset(tiny, 'x', sizeof tiny);
        CHECK(ae2d_model_forward(h.m, x.data(), bad, y.data(), y.size(), tiny, sizeof tiny) != 0);
        CHECK(tiny[4] == '\0');
        CHECK(std::strlen(tiny) == 4);
    }
}

TEST_CASE("C API: limits are read, refused when invalid, and enforced", "[c_api][limits]") {
    char err[256] = "";
    const ae2d_limits saved = ae2d_get_limits();
    CHECK(saved.max_dimension == ae2d::Limits{}.max_dimension);
    CHECK(saved.max_forward_bytes == ae2d::Limits{}.max_forward_bytes);

    ae2d_limits bad = saved;
    bad.max_image_pixels = 0;
    CHECK(ae2d_set_limits(&bad, err, sizeof err) != 0);
    CHECK_THAT(std::string(err), Catch::Contains("max_image_pixels"));
    CHECK(ae2d_get_limits().max_image_pixels == saved.max_image_pixels);  // unchanged
    CHECK(ae2d_set_limits(nullptr, err, sizeof err) != 0);

    ModelHandle h(ae2d_model_load(fixture("plain_k3_d2.safetensors").c_str(), err, sizeof err));
    REQUIRE(h.m != nullptr);
    const int64_t in[4] = {1, 3, 20, 16};
    int64_t out[4];
    ae2d_limits tight = saved;
    tight.max_forward_bytes = 1024;
    REQUIRE(ae2d_set_limits(&tight, err, sizeof err) == 0);
    CHECK(err[0] == '\0');
    CHECK(ae2d_model_output_shape(h.m, in, out, err, sizeof err) != 0);
    CHECK_THAT(std::string(err), Catch::Contains("max_forward_bytes"));
    REQUIRE(ae2d_set_limits(&saved, err, sizeof err) == 0);
    CHECK(ae2d_model_output_shape(h.m, in, out, err, sizeof err) == 0);
}
