// The graph built from a configuration: structure, shapes, summary, passes, memory plan.
#include <catch2/catch.hpp>

#include <map>
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

// The unet2d spec's reference configuration.
Config unet_reference_config() {
    Config c;
    c.arch = Arch::UNet2d;
    c.channel = 8;
    c.layers = {2, 2, 3};
    c.in_planes = 1;
    c.out_planes = 2;
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
    auto g = graph::build_network(c);
    REQUIRE(g.ok());
    CHECK(g->num_parameters() == 39893057);
    CHECK(g->rows.size() == 234);
    Config plain = c;
    plain.block = BlockKind::Plain;
    CHECK(plain.nlayers() == 2 * 3 + 2 * 2 * (2 + 2 + 2 + 2) + 2);
}

TEST_CASE("UNet2d: the spec's reference figures and joined parameter shapes", "[graph][unet]") {
    const Config c = unet_reference_config();
    CHECK(c.nlayers() == 35);
    CHECK(c.to_string() == "UNet2d(8, [2, 2, 3], block='bottleneck', kernel_size=3, in_planes=1, out_planes=2)");
    auto g = graph::build_network(c);
    REQUIRE(g.ok());
    CHECK(g->num_parameters() == 51722);
    REQUIRE(g->rows.size() == 138);
    CHECK(g->rows.back().module_class == "UNet2d");
    std::map<std::string, std::vector<int64_t>> shapes;
    for (const auto &p : g->params) shapes[p.name] = p.shape;
    using Shape = std::vector<int64_t>;
    CHECK(shapes.at("conv_up_list.0.conv_list.0.conv1.0.weight") == Shape{32});
    CHECK(shapes.at("conv_up_list.0.conv_list.0.conv1.2.weight") == Shape{32, 32, 1, 1});
    CHECK(shapes.at("conv_up_list.0.conv_list.0.conv2.2.weight") == Shape{32, 32, 3, 3});
    CHECK(shapes.at("conv_up_list.0.conv_list.0.conv3.2.weight") == Shape{16, 32, 1, 1});
    CHECK(shapes.at("conv_up_list.0.conv_list.0.in_node.0.weight") == Shape{16, 32, 1, 1});
    CHECK(shapes.at("conv_up_list.1.conv_list.0.conv1.2.weight") == Shape{16, 16, 1, 1});
    // Every encoder stack's row lists its skip tensor as a second output.
    int with_skip = 0;
    for (const auto &r : g->rows) with_skip += r.second_value >= 0;
    CHECK(with_skip == 2);

    // AE2d's parameters at the joined widths, plus a shortcut (conv + norm weight and bias) on
    // each decoder stack's first block, whose input and output widths now differ.
    Config ae = c;
    ae.arch = Arch::AE2d;
    auto g_ae = graph::build_network(ae);
    REQUIRE(g_ae.ok());
    CHECK(g->params.size() == g_ae->params.size() + 3 * (c.depth() - 1));
    CHECK(g_ae->num_parameters() < g->num_parameters());
}

TEST_CASE("UNet2d: configurations the original module cannot run are refused", "[graph][unet][errors]") {
    Config c = unet_reference_config();
    c.layers = {2, 1, 2};
    CHECK_THAT(c.validate().message(), Catch::Contains("layers[1] = 1 cannot run as a UNet2d"));
    CHECK(!graph::build_network(c).ok());
    c.layers = {2, 2, 1, 2, 2};
    CHECK_THAT(c.validate().message(), Catch::Contains("layers[2] = 1"));
    c.arch = Arch::AE2d;  // AE2d runs it
    CHECK(c.validate().ok());
    c.arch = Arch::UNet2d;
    for (auto layers : {std::vector<int>{1, 1}, {1, 3}, {1, 2, 1}, {1, 2, 2, 1}}) {  // layers[0], layers[n-1] = 1 work
        c.layers = layers;
        CHECK(c.validate().ok());
    }
    CHECK_THAT(parse_arch("ResNet").message(), Catch::Contains("'AE2d' or 'UNet2d'"));
    CHECK(parse_arch("unet2d").ok());
}

TEST_CASE("UNet2d: the join crops both inputs to the smaller size; output size equals input size",
          "[graph][unet]") {
    Config c = seed_config();
    c.arch = Arch::UNet2d;
    auto g = graph::build_network(c);
    REQUIRE(g.ok());
    for (auto hw : {std::pair<int64_t, int64_t>{64, 63}, {17, 23}, {1, 17}, {17, 1}, {100, 37}, {33, 5}}) {
        graph::Graph shaped = *g;
        INFO(hw.first << "x" << hw.second);
        REQUIRE(graph::infer_shapes(shaped, {2, 3, hw.first, hw.second}).ok());
        CHECK(shaped.values[shaped.output].shape == Shape4{2, 1, hw.first, hw.second});
        int joins = 0;
        for (const auto &s : shaped.stages) {
            if (s.kind != graph::StageKind::CropConcat) continue;
            ++joins;
            const Shape4 &x = shaped.values[s.inputs[0]].shape, &skip = shaped.values[s.inputs[1]].shape,
                         &out = shaped.values[s.output].shape;
            CHECK(x.c == skip.c);  // the spec: ex_planes equals the stack's input width
            CHECK(out == Shape4{x.n, x.c + skip.c, std::min(x.h, skip.h), std::min(x.w, skip.w)});
        }
        CHECK(joins == 4);
    }
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
    CHECK(!graph::build_network(c).ok());
    CHECK_THAT(parse_block_kind("resnet").message(), Catch::Contains("plain"));
    CHECK(parse_block_kind("BottleNeck").ok());
}

TEST_CASE("shape inference: output size equals input size, crops where sizes are odd", "[graph]") {
    auto g = graph::build_network(seed_config());
    REQUIRE(g.ok());
    for (auto hw : {std::pair<int64_t, int64_t>{64, 63}, {17, 23}, {1, 17}, {17, 1}, {100, 37}}) {
        graph::Graph shaped = *g;
        INFO(hw.first << "x" << hw.second);
        REQUIRE(graph::infer_shapes(shaped, {2, 3, hw.first, hw.second}).ok());
        CHECK(shaped.values[shaped.output].shape == Shape4{2, 1, hw.first, hw.second});
    }
}

TEST_CASE("too small inputs and wrong channels are refused with the smallest size", "[graph][errors]") {
    auto g = graph::build_network(seed_config());  // depth 5: the deepest plane is ceil(s / 16)
    REQUIRE(g.ok());
    graph::Graph shaped = *g;
    Status s = graph::infer_shapes(shaped, {1, 3, 16, 16});
    CHECK_THAT(s.message(), Catch::Contains("smallest accepted inputs are 17x1 and 1x17"));
    CHECK(graph::infer_shapes(shaped, {1, 3, 17, 1}).ok());
    CHECK(graph::infer_shapes(shaped, {1, 3, 1, 17}).ok());
    CHECK_THAT(graph::infer_shapes(shaped, {1, 1, 64, 64}).message(), Catch::Contains("in_planes = 3"));

    Config k31 = seed_config();  // (3, 1): the width is never down-sampled
    k31.kernel_w = 1;
    auto g31 = graph::build_network(k31);
    REQUIRE(g31.ok());
    shaped = *g31;
    CHECK_THAT(graph::infer_shapes(shaped, {1, 3, 16, 1}).message(),
               Catch::Contains("smallest accepted inputs are 17x1 and 1x2"));
    CHECK(graph::infer_shapes(shaped, {1, 3, 1, 2}).ok());
}

TEST_CASE("fusion folds units into convolutions and keeps every parameter read", "[graph]") {
    auto g = graph::build_network(seed_config());
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
    auto g = graph::build_network(seed_config());
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
    Config config = seed_config();
    bool in_place = false;
    SECTION("AE2d") {}
    SECTION("UNet2d, joins copied: skips live from the encoder to the decoder") { config.arch = Arch::UNet2d; }
    SECTION("UNet2d, joins in place: producers write their slice of the joined value") {
        config.arch = Arch::UNet2d;
        in_place = true;
    }
    auto g = graph::build_network(config);
    REQUIRE(g.ok());
    graph::Graph shaped = *g;
    REQUIRE(graph::infer_shapes(shaped, {2, 3, 64, 63}).ok());
    graph::fuse_stages(shaped);
    if (in_place) {
        graph::join_in_place(shaped);
        int parts = 0, joins = 0;
        for (const auto &v : shaped.values) parts += v.part_of >= 0;
        for (const auto &s : shaped.stages) joins += s.kind == graph::StageKind::CropConcat;
        // 64x63: every skip joins in place; the decoder's up-sampled inputs are wider than the
        // skip (odd widths) except at the deepest level, so some joins keep a crop.
        CHECK(parts >= 4);
        CHECK(joins == 0);
    }
    const runtime::MemoryPlan plan = runtime::plan_memory(shaped);
    // Each value's storage: its own, or its whole's for a part; live from the first write of
    // any value stored there to the last read of any.
    const size_t nv = shaped.values.size();
    auto storage = [&](size_t v) { return shaped.values[v].part_of >= 0 ? size_t(shaped.values[v].part_of) : v; };
    std::vector<int> first(nv, 1 << 30), last(nv, -1);
    for (size_t i = 0; i < shaped.stages.size(); ++i) {
        const size_t out = storage(shaped.stages[i].output);
        first[out] = std::min(first[out], int(i));
        last[out] = std::max(last[out], int(i));
        for (int v : shaped.stages[i].inputs) last[storage(v)] = std::max(last[storage(v)], int(i));
    }
    for (size_t a = 0; a < nv; ++a) {
        const graph::Value &va = shaped.values[a];
        if (va.part_of >= 0) {  // a channel slice inside its whole
            const graph::Value &whole = shaped.values[va.part_of];
            CHECK(va.channel_offset + va.shape.c <= whole.shape.c);
            CHECK(plan.offsets[a] == plan.offsets[va.part_of] + va.channel_offset * va.shape.h * va.shape.w);
            continue;
        }
        if (plan.offsets[a] < 0) continue;
        CHECK(plan.offsets[a] + va.numel() <= plan.arena_floats);
        for (size_t b = a + 1; b < nv; ++b) {
            if (shaped.values[b].part_of >= 0 || plan.offsets[b] < 0 || first[a] > last[b] || first[b] > last[a])
                continue;
            const bool disjoint = plan.offsets[a] + va.numel() <= plan.offsets[b] ||
                                  plan.offsets[b] + shaped.values[b].numel() <= plan.offsets[a];
            INFO(va.name << " and " << shaped.values[b].name);
            CHECK(disjoint);
        }
    }
    CHECK(plan.arena_floats * 4 < plan.naive_floats);
}
