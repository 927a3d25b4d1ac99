// The whole network against PyTorch reference outputs, and the model-level error paths.
#include <catch2/catch.hpp>

#include <cmath>

#include "ae2d/model.h"
#include "graph/builder.h"
#include "io/npy.h"
#include "io/safetensors.h"
#include "runtime/executor.h"
#include "parity_support.h"
#include "test_support.h"

using namespace ae2d;

using test::Fixture;
using test::load_fixture;
using test::require_close;

TEST_CASE("forward pass equals the PyTorch reference on every fixture", "[model][parity]") {
    const auto manifest = test::read_json("tests/fixtures/manifest.json");
    REQUIRE(manifest.size() >= 8);
    for (const auto &entry : manifest) {
        const std::string name = entry.at("name");
        SECTION(name) {
            auto model = Model::load(test::source_path("tests/fixtures/" + name + ".safetensors"));
            REQUIRE(model.ok());
            const Config expected = test::config_from_json(entry.at("config"));
            CHECK(model->config().to_string() == expected.to_string());
            CHECK(model->nlayers() == entry.at("nlayers").get<int>());
            const Fixture f = load_fixture(name);
            auto y = model->forward(f.input);
            REQUIRE(y.ok());
            require_close(*y, f.expected);
        }
    }
}

namespace {

// f.input (fixture `name`) through an execution plan made with `options`, on the CPU
// executor.
struct PlannedRun {
    std::shared_ptr<const runtime::ExecutionPlan> plan;
    Tensor y;
};
PlannedRun run_planned(const std::string &name, const Fixture &f, const runtime::PlanOptions &options) {
    const std::string path = test::source_path("tests/fixtures/" + name + ".safetensors");
    auto file = io::read_safetensors(path);
    REQUIRE(file.ok());
    auto model = Model::load(path);
    REQUIRE(model.ok());
    auto g = graph::build_network(model->config());
    REQUIRE(g.ok());
    const auto &s = f.input.shape;
    auto plan = runtime::make_execution_plan(*g, {s[0], s[1], s[2], s[3]}, options);
    REQUIRE(plan.ok());
    runtime::WeightMap weights(file->tensors.begin(), file->tensors.end());
    std::vector<float> arena((*plan)->memory.arena_floats);
    Tensor y(f.expected.shape);
    REQUIRE(runtime::execute(**plan, weights, nullptr, f.input.data.data(), y.data.data(), arena.data()).ok());
    return {*plan, std::move(y)};
}

}  // namespace

TEST_CASE("unfused stages give the same result as fused ones", "[model][parity]") {
    for (const char *name : {"bneck_k3_d3", "plain_k3_d2", "plain_k5_d3_f16", "unet_bneck_k3_d4", "unet_plain_k5_d3_f16"}) {
        INFO(name);
        const Fixture f = load_fixture(name);
        require_close(run_planned(name, f, {/*fuse=*/false}).y, f.expected);
    }
}

TEST_CASE("one model serves several threads at once", "[model][threads]") {
    auto model = Model::load(test::source_path("tests/fixtures/bneck_k3_d3.safetensors"));
    REQUIRE(model.ok());
    test::require_concurrent_parity(*model, load_fixture("bneck_k3_d3"), 4, 5);
}

TEST_CASE("configuration is inferred from tensor names and shapes", "[model][config]") {
    const auto manifest = test::read_json("tests/fixtures/manifest.json");
    for (const auto &entry : manifest) {
        auto file = io::read_safetensors(test::source_path("tests/fixtures/" + entry.at("name").get<std::string>() +
                                                           ".safetensors"));
        REQUIRE(file.ok());
        auto model = Model::from_tensors(file->tensors, {}, "no metadata");
        REQUIRE(model.ok());
        CHECK(model->config().to_string() == test::config_from_json(entry.at("config")).to_string());
    }
}

namespace {

std::map<std::string, Tensor> fixture_tensors(std::map<std::string, std::string> *metadata) {
    auto file = io::read_safetensors(test::source_path("tests/fixtures/bneck_k3_d3.safetensors"));
    REQUIRE(file.ok());
    *metadata = file->metadata;
    return file->tensors;
}

std::string load_error(std::map<std::string, Tensor> tensors, const std::map<std::string, std::string> &metadata) {
    auto m = Model::from_tensors(std::move(tensors), metadata, "weights.safetensors");
    return m.ok() ? std::string("(loaded)") : m.message();
}

}  // namespace

TEST_CASE("missing, extra and mis-shaped tensors are refused by name", "[model][errors]") {
    std::map<std::string, std::string> md;
    auto base = fixture_tensors(&md);
    for (bool with_metadata : {true, false}) {
        const auto meta = with_metadata ? md : std::map<std::string, std::string>{};
        auto t = base;
        t.erase("conv_down_list.0.conv_scale.conv2.2.weight");
        CHECK_THAT(load_error(t, meta), Catch::Contains("missing: conv_down_list.0.conv_scale.conv2.2.weight"));
        t = base;
        t["conv_final.extra"] = Tensor({3});
        CHECK_THAT(load_error(t, meta), Catch::Contains("unexpected: conv_final.extra (3)"));
        t = base;
        t["conv_middle_up.conv_scale.in_node.2.weight"] = Tensor({5});
        CHECK_THAT(load_error(t, meta), Catch::Contains("conv_middle_up.conv_scale.in_node.2.weight: expected (12), got (5)"));
    }
    CHECK_THAT(load_error({}, {}), Catch::Contains("conv_first.weight' is missing"));
}

TEST_CASE("metadata that contradicts the tensors is refused", "[model][errors]") {
    std::map<std::string, std::string> md;
    auto t = fixture_tensors(&md);
    auto m = md;
    m["channel"] = "8";
    CHECK_THAT(load_error(t, m), Catch::Contains("metadata") && Catch::Contains("conv_first.weight: expected (8, 1, 5, 5)"));
    m = md;
    m["block"] = "plain";
    CHECK_THAT(load_error(t, m), Catch::Contains("unexpected"));
    m = md;
    m["kernel_size"] = "4";
    CHECK_THAT(load_error(t, m), Catch::Contains("odd"));
    m = md;
    m["layers"] = "[3]";
    CHECK_THAT(load_error(t, m), Catch::Contains("at least 2"));
    m = md;
    m["layers"] = "[1, 0, 1]";
    CHECK_THAT(load_error(t, m), Catch::Contains("layers[1] must be positive"));
    m = md;
    m["layers"] = "not json";
    CHECK_THAT(load_error(t, m), Catch::Contains("not valid JSON"));
    m = md;
    m.erase("block");
    CHECK_THAT(load_error(t, m), Catch::Contains("missing block"));
    m = md;
    m["arch"] = "UNet2d";  // an AE2d's tensors: the decoder reads half the widths a UNet2d joins
    CHECK_THAT(load_error(t, m), Catch::Contains("do not match UNet2d(6, [1, 2, 1]") && Catch::Contains("wrong shape"));
    m = md;
    m["arch"] = "ResNet";
    CHECK_THAT(load_error(t, m), Catch::Contains("'AE2d' or 'UNet2d', got 'ResNet'"));
}

TEST_CASE("UNet2d: arch from the metadata alone or from the shapes; impossible layers refused",
          "[model][unet]") {
    auto file = io::read_safetensors(test::source_path("tests/fixtures/unet_bneck_k3_d3.safetensors"));
    REQUIRE(file.ok());
    REQUIRE(file->metadata.at("arch") == "UNet2d");
    const std::string want = "UNet2d(8, [2, 2, 3], block='bottleneck', kernel_size=3, in_planes=1, out_planes=2)";
    auto m = Model::from_tensors(file->tensors, {{"arch", "UNet2d"}}, "arch only");
    REQUIRE(m.ok());
    CHECK(m->config().to_string() == want);
    m = Model::from_tensors(file->tensors, {}, "no metadata");
    REQUIRE(m.ok());
    CHECK(m->config().to_string() == want);
    CHECK(m->num_parameters() == 51722);
    CHECK(m->nlayers() == 35);
    CHECK_THAT(Model::from_tensors(file->tensors, {{"arch", "AE2d"}}, "wrong arch").message(),
               Catch::Contains("do not match AE2d(8, [2, 2, 3]"));
    auto md = file->metadata;
    md["layers"] = "[2, 1, 3]";
    CHECK_THAT(Model::from_tensors(file->tensors, md, "impossible").message(),
               Catch::Contains("layers[1] = 1 cannot run as a UNet2d"));
}

TEST_CASE("UNet2d: joins in place give the same output as joins copied", "[model][unet][parity]") {
    for (const char *name : {"unet_bneck_k3_d3", "unet_plain_k3_d2_b3", "unet_bneck_k31_d4_nometa", "unet_seedlike_c4"}) {
        INFO(name);
        const Fixture f = load_fixture(name);
        std::vector<Tensor> outputs;
        for (bool in_place : {false, true}) {
            runtime::PlanOptions options;
            options.join_in_place = in_place;
            PlannedRun run = run_planned(name, f, options);
            int joins = 0;
            for (const auto &st : run.plan->graph.stages) joins += st.kind == graph::StageKind::CropConcat;
            CHECK(joins == (in_place ? 0 : run.plan->graph.config.depth() - 1));
            require_close(run.y, f.expected);
            outputs.push_back(std::move(run.y));
        }
        CHECK(outputs[0].data == outputs[1].data);  // the same arithmetic, only the storage differs
    }
}

TEST_CASE("inputs the network refuses give messages, not crashes", "[model][errors]") {
    auto model = Model::load(test::source_path("tests/fixtures/bneck_k3_d3.safetensors"));  // depth 3, in 1
    REQUIRE(model.ok());
    CHECK_THAT(model->forward(Tensor({1, 2, 16, 16})).message(), Catch::Contains("in_planes = 1"));
    CHECK_THAT(model->forward(Tensor({1, 1, 4, 4})).message(),
               Catch::Contains("smallest accepted inputs are 5x1 and 1x5"));
    CHECK(model->forward(Tensor({1, 1, 1, 5})).ok());
    CHECK_THAT(model->forward(Tensor({1, 16, 16})).message(), Catch::Contains("(B, C, H, W)"));
    CHECK_THAT(model->forward(Tensor({0, 1, 16, 16})).message(), Catch::Contains("empty dimension"));
}
