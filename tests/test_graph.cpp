// The graph built from a configuration: structure, shapes, summary, passes, memory plan.
#include <catch2/catch.hpp>

#include <set>

#include "ae2d/model.h"
#include "graph/builder.h"
#include "graph/passes.h"
#include "graph/shapes.h"
#include "runtime/memory_plan.h"
#include "test_support.h"

using namespace ae2d;
using graph::Shape4;

namespace {

Config seed_config() {
    Config c;
    c.channel = 64;
    c.layers = {2, 2, 2, 2, 3};
    c.in_planes = 3;
    c.out_planes = 1;
    return c;
}

}  // namespace

TEST_CASE("summary reproduces the seed's table line by line", "[graph][summary]") {
    auto text = summary(seed_config(), 3, 64, 63);
    REQUIRE(text.ok());
    const std::string expected = test::read_text(test::source_path("tests/data/seed_summary.txt"));
    REQUIRE(!expected.empty());
    std::istringstream got_lines(*text), want_lines(expected);
    std::string got, want;
    int line = 0;
    while (std::getline(want_lines, want)) {
        ++line;
        INFO("line " << line);
        REQUIRE(std::getline(got_lines, got));
        CHECK(got == want);
    }
    CHECK(!std::getline(got_lines, got));
    CHECK(line == 248);
}

TEST_CASE("summary matches the PyTorch reference for other configurations", "[graph][summary]") {
    for (const auto &entry : test::read_json("tests/data/summaries.json")) {
        const Config c = test::config_from_json(entry);
        const auto shape = entry.at("input_shape").get<std::vector<int64_t>>();
        INFO(c.to_string());
        auto text = summary(c, shape[0], shape[1], shape[2]);
        REQUIRE(text.ok());
        CHECK(*text == test::read_text(test::source_path("tests/data/" + entry.at("file").get<std::string>())));
    }
}

TEST_CASE("nlayers and parameter count follow the spec", "[graph]") {
    const Config c = seed_config();
    CHECK(c.nlayers() == 59);
    auto g = graph::build_ae2d(c);
    REQUIRE(g.ok());
    CHECK(g->num_parameters() == 39893057);
    CHECK(g->rows.size() == 234);
    Config plain = c;
    plain.block = BlockKind::Plain;
    CHECK(plain.nlayers() == 2 * 3 + 2 * 2 * (2 + 2 + 2 + 2) + 2);
}

TEST_CASE("configuration errors name the field", "[graph][errors]") {
    Config c = seed_config();
    c.kernel_h = c.kernel_w = 4;
    CHECK_THAT(c.validate().message(), Catch::Contains("odd"));
    c = seed_config();
    c.kernel_w = 2;
    CHECK_THAT(c.validate().message(), Catch::Contains("odd"));
    c = seed_config();
    c.layers = {3};
    CHECK_THAT(c.validate().message(), Catch::Contains("at least 2"));
    c.layers = {2, 0};
    CHECK_THAT(c.validate().message(), Catch::Contains("layers[1] must be positive"));
    c.layers = {2, -1};
    CHECK(!graph::build_ae2d(c).ok());
    CHECK_THAT(parse_block_kind("resnet").message(), Catch::Contains("plain"));
    CHECK(parse_block_kind("BottleNeck").ok());
}

TEST_CASE("shape inference: output size equals input size, crops where sizes are odd", "[graph]") {
    auto g = graph::build_ae2d(seed_config());
    REQUIRE(g.ok());
    for (auto hw : {std::pair<int64_t, int64_t>{64, 63}, {17, 23}, {1, 17}, {17, 1}, {100, 37}}) {
        graph::Graph shaped = *g;
        INFO(hw.first << "x" << hw.second);
        REQUIRE(graph::infer_shapes(shaped, {2, 3, hw.first, hw.second}).ok());
        CHECK(shaped.values[shaped.output].shape == Shape4{2, 1, hw.first, hw.second});
    }
}

TEST_CASE("too small inputs and wrong channels are refused with the smallest size", "[graph][errors]") {
    auto g = graph::build_ae2d(seed_config());  // depth 5: the deepest plane is ceil(s / 16)
    REQUIRE(g.ok());
    graph::Graph shaped = *g;
    Status s = graph::infer_shapes(shaped, {1, 3, 16, 16});
    CHECK_THAT(s.message(), Catch::Contains("smallest accepted inputs are 17x1 and 1x17"));
    CHECK(graph::infer_shapes(shaped, {1, 3, 17, 1}).ok());
    CHECK(graph::infer_shapes(shaped, {1, 3, 1, 17}).ok());
    CHECK_THAT(graph::infer_shapes(shaped, {1, 1, 64, 64}).message(), Catch::Contains("in_planes = 3"));

    Config k31 = seed_config();  // (3, 1): the width is never down-sampled
    k31.kernel_w = 1;
    auto g31 = graph::build_ae2d(k31);
    REQUIRE(g31.ok());
    shaped = *g31;
    CHECK_THAT(graph::infer_shapes(shaped, {1, 3, 16, 1}).message(),
               Catch::Contains("smallest accepted inputs are 17x1 and 1x2"));
    CHECK(graph::infer_shapes(shaped, {1, 3, 1, 2}).ok());
}

TEST_CASE("fusion folds units into convolutions and keeps every parameter read", "[graph]") {
    auto g = graph::build_ae2d(seed_config());
    REQUIRE(g.ok());
    graph::Graph shaped = *g;
    REQUIRE(graph::infer_shapes(shaped, {1, 3, 64, 63}).ok());
    auto params_read = [](const graph::Graph &x) {
        std::multiset<std::string> names;
        for (const auto &s : x.stages)
            for (const std::string *p : {&s.weight, &s.bias, &s.gamma, &s.beta, &s.slope})
                if (!p->empty()) names.insert(*p);
        return names;
    };
    const auto before = params_read(shaped);
    graph::elide_identity_stages(shaped);
    graph::fuse_stages(shaped);
    CHECK(params_read(shaped) == before);
    int norm_prelu = 0, fused = 0;
    for (const auto &s : shaped.stages) {
        norm_prelu += s.kind == graph::StageKind::NormPReLU;
        fused += s.kind == graph::StageKind::NormPReLUConv2d || s.kind == graph::StageKind::NormPReLUUpsampleConv2d;
    }
    CHECK(norm_prelu == 0);
    CHECK(fused == 57);  // every unit's convolution: nlayers less conv_first and conv_final
}

TEST_CASE("decoder shortcuts convolve before they up-sample", "[graph]") {
    auto g = graph::build_ae2d(seed_config());
    REQUIRE(g.ok());
    graph::Graph shaped = *g;
    REQUIRE(graph::infer_shapes(shaped, {1, 3, 64, 63}).ok());
    graph::elide_identity_stages(shaped);
    const graph::Graph before = shaped;
    graph::convolve_before_upsampling(shaped);
    REQUIRE(shaped.stages.size() == before.stages.size());
    // The seed's decoder has 4 up-sampling stacks (conv_middle_up and conv_up_list.3 .. 1), each
    // with a projection shortcut: Upsample -> Conv1x1 becomes Conv1x1 (at the small size) -> Upsample.
    int moved = 0;
    for (size_t i = 0; i < shaped.stages.size(); ++i) {
        const graph::Stage &s = shaped.stages[i], &old = before.stages[i];
        if (s.kind == old.kind) {
            CHECK(s.inputs == old.inputs);
            CHECK(s.output == old.output);
            continue;
        }
        REQUIRE(old.kind == graph::StageKind::UpsampleBilinear);
        REQUIRE(s.kind == graph::StageKind::Conv2d);
        const graph::Stage &up = shaped.stages[i + 1], &old_conv = before.stages[i + 1];
        REQUIRE(up.kind == graph::StageKind::UpsampleBilinear);
        CHECK(s.weight == old_conv.weight);
        CHECK(s.inputs == old.inputs);                  // the conv reads what the up-sampling read
        CHECK(up.inputs == std::vector<int>{s.output});  // the up-sampling reads the conv's new value
        CHECK(up.output == old_conv.output);           // and writes what the conv wrote
        const graph::Shape4 &low = shaped.values[old.inputs[0]].shape, &small = shaped.values[s.output].shape;
        const graph::Shape4 &out = shaped.values[up.output].shape;
        CHECK(small == graph::Shape4{low.n, out.c, low.h, low.w});
        ++moved;
        ++i;
    }
    CHECK(moved == 4);
}

TEST_CASE("memory plan: no two live values overlap, and buffers are reused", "[graph][memory]") {
    auto g = graph::build_ae2d(seed_config());
    REQUIRE(g.ok());
    graph::Graph shaped = *g;
    REQUIRE(graph::infer_shapes(shaped, {1, 3, 64, 63}).ok());
    graph::fuse_stages(shaped);
    const runtime::MemoryPlan plan = runtime::plan_memory(shaped);
    // Live range of each arena value: [producer, last reader].
    std::vector<int> first(shaped.values.size(), -1), last(shaped.values.size(), -1);
    for (size_t i = 0; i < shaped.stages.size(); ++i) {
        first[shaped.stages[i].output] = last[shaped.stages[i].output] = static_cast<int>(i);
        for (int v : shaped.stages[i].inputs) last[v] = std::max(last[v], static_cast<int>(i));
    }
    for (size_t a = 0; a < shaped.values.size(); ++a) {
        if (plan.offsets[a] < 0) continue;
        CHECK(plan.offsets[a] + shaped.values[a].numel() <= plan.arena_floats);
        for (size_t b = a + 1; b < shaped.values.size(); ++b) {
            if (plan.offsets[b] < 0 || first[a] > last[b] || first[b] > last[a]) continue;
            const bool disjoint = plan.offsets[a] + shaped.values[a].numel() <= plan.offsets[b] ||
                                  plan.offsets[b] + shaped.values[b].numel() <= plan.offsets[a];
            INFO(shaped.values[a].name << " and " << shaped.values[b].name);
            CHECK(disjoint);
        }
    }
    CHECK(plan.arena_floats * 4 < plan.naive_floats);
}
