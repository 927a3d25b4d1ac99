// Schedule variants and tables: every compiled variant (the conv tilings and the Adams2019
// builds) gives PyTorch's result within the parity tolerance; tables parse, reject malformed
// lines by line number, and a tuned table loads back and reproduces the tuned run.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <sys/wait.h>
#include <unistd.h>

#include "ae2d/model.h"
#include "ae2d/schedule.h"
#include "runtime/schedule_table.h"
#include "ae2d/tune.h"
#include "graph/builder.h"
#include "runtime/executor.h"
#include "runtime/packed_weights.h"
#include "runtime/schedule_policy.h"
#include "parity_support.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace ae2d;

namespace {

// A table that runs `variant` for every stage of `stage_name` ("*" in every shape field).
ScheduleTable every_stage_of(const std::string &stage_name, const std::string &variant) {
    auto t = ScheduleTable::parse(stage_name + " * * * * * * * " + variant + "\n", "test");
    REQUIRE(t.ok());
    return *t;
}

// The key of a 3x3 stride-1 64 -> 64 norm_prelu_conv2d stage at batch 1 (height and width unset).
ScheduleEntry conv3x3_key() {
    ScheduleEntry key;
    key.stage = "norm_prelu_conv2d";
    key.kernel_h = key.kernel_w = 3;
    key.step_h = key.step_w = 1;
    key.in_channels = key.out_channels = 64;
    key.batch = 1;
    return key;
}

std::string parse_error(const std::string &text) {
    auto t = ScheduleTable::parse(text, "t.txt");
    REQUIRE_FALSE(t.ok());
    return t.message();
}

}  // namespace

TEST_CASE("every stage variant matches the PyTorch reference", "[schedule][parity]") {
    const auto manifest = test::read_json("tests/fixtures/manifest.json");
    std::vector<std::pair<std::string, ScheduleTable>> schedules = {{"auto", ScheduleTable::automatic()}};
    for (const std::string &stage : schedule_stages())
        for (const std::string &variant : schedule_variants(stage))
            if (variant != "manual" && variant != "auto")
                schedules.emplace_back(stage + " " + variant, every_stage_of(stage, variant));
    REQUIRE(schedules.size() >= 4);
    // Every conv stage is tunable, the biased one (the network's last conv) included.
    CHECK(schedule_variants("conv2d_bias") == schedule_variants("conv2d"));
    CHECK(schedule_variants("conv2d_bias").size() > 2);
    for (const auto &entry : manifest) {
        const std::string name = entry.at("name");
        auto model = Model::load(test::source_path("tests/fixtures/" + name + ".safetensors"));
        REQUIRE(model.ok());
        const test::Fixture f = test::load_fixture(name);
        for (const auto &[label, table] : schedules) {
            SECTION(name + ", " + label) {
                auto y = model->with_schedule(table).forward(f.input);
                REQUIRE(y.ok());
                test::require_close(*y, f.expected);
            }
        }
    }
}

TEST_CASE("Adams2019 builds match the manual schedules where they take the shape", "[schedule][parity]") {
    // The fixtures are smaller than Adams2019's tiles (its estimates are 256 x 256 x 64), so
    // there every auto stage falls back to manual; a 64-channel network on 256 x 256 runs them.
    Config config;
    config.channel = 64;
    config.layers = {1, 1};
    auto g = graph::build_network(config);
    REQUIRE(g.ok());
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> uniform(-1.f, 1.f);
    std::map<std::string, Tensor> tensors;
    for (const graph::ParamSpec &p : g->params) {
        Tensor t(p.shape);
        int64_t fan_in = 1;
        for (size_t d = 1; d < p.shape.size(); ++d) fan_in *= p.shape[d];
        const bool conv = p.shape.size() == 4;
        for (float &v : t.data) v = conv ? uniform(rng) * std::sqrt(3.f / float(fan_in)) : 0.5f + 0.25f * uniform(rng);
        tensors.emplace(p.name, std::move(t));
    }
    auto model = Model::from_tensors(std::move(tensors), {}, "random AE2d(64, [1, 1])");
    REQUIRE(model.ok());
    Tensor x({1, 1, 256, 256});
    for (float &v : x.data) v = uniform(rng);
    auto manual = model->with_schedule(ScheduleTable::manual()).forward(x);
    ForwardProfile profile;
    auto automatic = model->with_schedule(ScheduleTable::automatic()).forward(x, &profile);
    REQUIRE(manual.ok());
    REQUIRE(automatic.ok());
    CHECK(profile.auto_stages == profile.stages);
    CHECK(profile.auto_fallbacks < profile.auto_stages);  // some stages ran Adams2019 code
    INFO("auto stages " << profile.auto_stages << ", fell back " << profile.auto_fallbacks);
    test::require_close(*automatic, *manual);
}

TEST_CASE("schedule tables parse, match and print", "[schedule]") {
    auto t = ScheduleTable::parse(
        "# comment\n"
        "target x86-64-avx2\n"
        "default manual\n"
        "\n"
        "norm_prelu_conv2d 3x3 s1x1 64 64 1 256 256 co4   # trailing comment\n"
        "norm_prelu_conv2d 3x3 s2x2 * * * * * strip4\n"
        "norm_prelu_upsample_conv2d 3x3 u2x2 128 64 1 256 256 rows2\n"
        "instance_norm_stats - - * * * * * auto\n",
        "t.txt");
    REQUIRE(t.ok());
    CHECK(t->rules().target == "x86-64-avx2");
    REQUIRE(t->rules().entries.size() == 4);
    ScheduleEntry key = conv3x3_key();
    key.height = key.width = 256;
    CHECK(t->rules().variant_for(key) == "co4");
    key.width = 128;
    CHECK(t->rules().variant_for(key) == "co4");  // the nearest line: half the pixels
    key.in_channels = 96;
    CHECK(t->rules().variant_for(key) == "co4");  // and 1.5x the input channels
    key.in_channels = 128;
    CHECK(t->rules().variant_for(key) == "manual");  // twice the channels: too far, the default
    key.in_channels = 64;
    key.width = 32;
    CHECK(t->rules().variant_for(key) == "manual");  // 8x fewer pixels: too far
    key.width = 256;
    key.step_h = key.step_w = 2;
    CHECK(t->rules().variant_for(key) == "strip4");
    key.stage = "norm_prelu_upsample_conv2d";
    key.step_kind = 'u';
    key.in_channels = 128;
    key.step_h = key.step_w = 2;
    key.width = 256;
    CHECK(t->rules().variant_for(key) == "rows2");
    key.step_kind = 's';  // a stride is not a factor
    CHECK(t->rules().variant_for(key) == "manual");

    auto again = ScheduleTable::parse(t->to_text(), "printed");
    REQUIRE(again.ok());
    CHECK(again->to_text() == t->to_text());

    CHECK(ScheduleTable::automatic().rules().variant_for(key) == "auto");
    CHECK(ScheduleTable::parse("default auto\n", "t")->rules().default_variant == "auto");
    CHECK(ScheduleTable::parse("# no default line\n", "t")->rules().default_variant == "policy");
}

TEST_CASE("the built-in policy picks Winograd and the at-source products where they pay", "[schedule]") {
    ScheduleEntry key = conv3x3_key();
    auto at = [&](int64_t height, int64_t width, const std::string &target = "x86-64-avx2") {
        key.height = height;
        key.width = width;
        return runtime::policy_variant(key, target);
    };
    CHECK(at(240, 320) == "wino");  // large planes: F(4x4) along the plane
    CHECK(at(33, 47) == "wino");    // 108 tiles, weights in cache
    CHECK(at(24, 32) == "wcvec");   // 48 tiles: 6 AVX2 vectors of tiles ...
    CHECK(at(24, 32, "x86-64-sse41") == "wino");   // ... 12 SSE ones
    CHECK(at(8, 8) == "w2cvec");    // 4 tiles: less than a vector
    CHECK(at(8, 8, "x86-64-sse41") == "wcvec");
    CHECK(at(3, 5) == "w2cvec");
    key.in_channels = key.out_channels = 256;  // F(4x4)'s weights out of cache: one tile position at a time
    CHECK(at(64, 48) == "wplane");
    CHECK(at(256, 256) == "wino");
    key.in_channels = key.out_channels = 32;  // a few channels: Winograd on large planes only
    CHECK(at(240, 320) == "wino");
    CHECK(at(24, 32) == "manual");
    key.in_channels = key.out_channels = 16;  // its transforms cost more than they save
    CHECK(at(240, 320) == "manual");
    key.in_channels = key.out_channels = 64;
    key.step_h = key.step_w = 2;  // Winograd runs stride 1 only
    CHECK(at(120, 160) == "manual");
    key.step_h = key.step_w = 1;
    key.in_channels = 3;  // the first conv of a color network: too few channels to transform
    CHECK(at(120, 160) == "manual");
    key.in_channels = 64;
    key.stage = "norm_prelu_upsample_conv2d";
    key.step_kind = 'u';
    key.step_h = key.step_w = 2;
    CHECK(at(480, 640) == "srows");  // products at the source's resolution, summed along x ...
    CHECK(at(12, 16) == "scvec");    // ... along channels on outputs up to two vectors wide
    CHECK(at(12, 16, "x86-64-sse41") == "srows");
    key.stage = "residual_add";
    key.kernel_h = key.kernel_w = key.step_h = key.step_w = ScheduleEntry::kNone;
    CHECK(at(64, 64) == "manual");
    // A table without lines runs the policy of this CPU.
    CHECK(ScheduleTable::policy().rules().variant_for(key) == runtime::policy_variant(key, cpu_target()));
    // Every variant it picks is built for the stage and applies to the shape (or the plan would
    // run manual instead).
    for (const char *target : {"x86-64-avx512", "x86-64-avx2", "x86-64-sse41", "arm64-neon"})
        for (const std::string &stage : schedule_stages())
            for (int64_t side : {1, 3, 4, 8, 15, 16, 33, 64, 127, 512})
                for (int64_t channels : {1, 16, 64, 1024}) {
                    ScheduleEntry k = key;
                    k.stage = stage;
                    const bool up = stage.find("upsample") != std::string::npos;
                    const bool conv = stage.find("conv") != std::string::npos;
                    k.kernel_h = k.kernel_w = conv ? 3 : ScheduleEntry::kNone;
                    k.step_kind = up ? 'u' : 's';
                    k.step_h = k.step_w = up ? 2 : conv ? 1 : ScheduleEntry::kNone;
                    k.in_channels = k.out_channels = channels;
                    k.height = k.width = side;
                    const std::string v = runtime::policy_variant(k, target);
                    INFO(target << ": " << k.key_text() << " " << v);
                    const auto variants = schedule_variants(stage);
                    CHECK(std::find(variants.begin(), variants.end(), v) != variants.end());
                    CHECK(variant_applies(v, k));
                }
}

TEST_CASE("malformed schedule tables are refused with the line number", "[schedule]") {
    CHECK_THAT(parse_error("\n\nnorm_prelu_conv2d 3x3 s1x1 64 64 1 256 co4\n"),
               Catch::Contains("t.txt, line 3") && Catch::Contains("expected 9 fields"));
    CHECK_THAT(parse_error("conv3d 3x3 s1x1 64 64 1 256 256 manual\n"),
               Catch::Contains("line 1") && Catch::Contains("unknown stage 'conv3d'"));
    CHECK_THAT(parse_error("norm_prelu_conv2d 3x3 s1x1 64 64 1 256 256 fastest\n"),
               Catch::Contains("line 1") && Catch::Contains("no variant 'fastest'") && Catch::Contains("co4"));
    CHECK_THAT(parse_error("norm_prelu 3x3 s1x1 64 64 1 256 256 co4\n"),  // conv variants only on convs
               Catch::Contains("no variant 'co4'"));
    // Winograd runs 3x3 stride-1 (or up-sampling) convolutions only.
    CHECK_THAT(parse_error("conv2d 1x1 s1x1 64 64 1 256 256 wino\n"), Catch::Contains("3x3 convolutions at stride 1"));
    CHECK_THAT(parse_error("norm_prelu_conv2d 3x3 s2x2 64 64 1 128 128 wino\n"), Catch::Contains("line 1"));
    CHECK(ScheduleTable::parse("norm_prelu_upsample_conv2d 3x3 u2x2 64 64 1 64 64 wino\n", "t").ok());
    // srows is built for the up-sampling stage only, and up-samples by 2 along x only.
    CHECK_THAT(parse_error("norm_prelu_conv2d 3x3 s1x1 64 64 1 256 256 srows\n"), Catch::Contains("no variant 'srows'"));
    CHECK_THAT(parse_error("norm_prelu_upsample_conv2d 3x3 u2x1 64 64 1 64 32 srows\n"),
               Catch::Contains("line 1") && Catch::Contains("up-samples by 2 along x only"));
    CHECK(ScheduleTable::parse("norm_prelu_upsample_conv2d 5x5 u1x2 64 64 1 32 64 srows\n", "t").ok());
    // The up-sampling conv's products at the source's resolution are scvec; cvec is the direct
    // convs' channel-vectorized schedule, not built for it.
    CHECK(ScheduleTable::parse("norm_prelu_upsample_conv2d 3x3 u2x2 64 64 1 8 8 scvec\n", "t").ok());
    CHECK_THAT(parse_error("norm_prelu_upsample_conv2d 3x3 u2x2 64 64 1 8 8 cvec\n"), Catch::Contains("no variant 'cvec'"));
    CHECK_THAT(parse_error("conv2d 3x3 s2x2 64 64 1 8 8 scvec\n"), Catch::Contains("no variant 'scvec'"));
    CHECK_THAT(parse_error("# x\nnorm_prelu_conv2d 3by3 s1x1 64 64 1 256 256 co4\n"),
               Catch::Contains("line 2") && Catch::Contains("bad kernel '3by3'"));
    CHECK_THAT(parse_error("norm_prelu_conv2d 3x3 t1x1 64 64 1 256 256 co4\n"), Catch::Contains("bad step 't1x1'"));
    CHECK_THAT(parse_error("norm_prelu_conv2d 3x3 s1x1 64 -5 1 256 256 co4\n"),
               Catch::Contains("bad out channels '-5'"));
    CHECK_THAT(parse_error("norm_prelu_conv2d 3x3 s1x1 64 64 0 256 256 co4\n"), Catch::Contains("bad batch '0'"));
    CHECK_THAT(parse_error("norm_prelu_conv2d 3x3 s1x1 64 64 1 99999999999 256 co4\n"),
               Catch::Contains("bad height"));
    CHECK_THAT(parse_error("default co4\n"), Catch::Contains("expected 'default policy', 'default manual' or"));
    CHECK_THAT(parse_error("target\n"), Catch::Contains("expected 'target <name>'"));
    auto missing = ScheduleTable::load("/nonexistent/table.txt");
    REQUIRE_FALSE(missing.ok());
    CHECK_THAT(missing.message(), Catch::Contains("/nonexistent/table.txt"));
    CHECK_FALSE(ScheduleTable::from_spec("no-such-table.txt").ok());
}

TEST_CASE("the shipped tables parse and this CPU has one", "[schedule]") {
    for (const char *target : {"x86-64-avx512", "x86-64-avx2", "x86-64-sse41", "arm64-neon"}) {
        INFO(target);
        const ScheduleTable t = ScheduleTable::shipped(target);
        CHECK(t.name() == std::string("tuned (") + target + ")");  // not the "no shipped table" fallback
        CHECK(t.rules().target == target);
    }
    CHECK(ScheduleTable::from_spec("tuned")->name() == "tuned (" + cpu_target() + ")");
    auto model = Model::load(test::source_path("tests/fixtures/plain_k3_d2.safetensors"));
    REQUIRE(model.ok());
    CHECK(model->schedule().name() == "tuned (" + cpu_target() + ")");
}

TEST_CASE("a tuned table loads back and reproduces the tuned run", "[schedule][tune]") {
    auto model = Model::load(test::source_path("tests/fixtures/bneck_k3_d3.safetensors"));
    REQUIRE(model.ok());
    const test::Fixture f = test::load_fixture("bneck_k3_d3");
    TuneOptions options;
    options.budget_seconds = 3600;  // never reached: every stage gets the minimum rounds
    options.max_rounds = options.min_rounds;
    size_t progress_calls = 0;
    options.progress = [&](size_t done, size_t total, const std::string &) {
        ++progress_calls;
        CHECK(done <= total);
    };
    auto result = tune(*model, f.input.shape, options);
    REQUIRE(result.ok());
    REQUIRE_FALSE(result->stages.empty());
    CHECK(progress_calls == result->stages.size());
    for (const TunedStage &s : result->stages) {
        CHECK(s.occurrences >= 1);
        CHECK(s.measured);
        CHECK(s.rounds == options.min_rounds);
        // Every variant that runs the shape, less an Adams2019 build that refuses the (tiny) shape.
        size_t applicable = 0;
        for (const std::string &v : schedule_variants(s.key.stage)) applicable += variant_applies(v, s.key);
        CHECK(s.median_ms.size() + 1 >= applicable);
        for (const auto &timed : s.median_ms) CHECK(variant_applies(timed.first, s.key));
        CHECK(s.tuned_ms <= s.shipped_ms);  // a winner beats the current choice, or it stays
        if (s.key.variant != s.shipped_variant) CHECK(s.tuned_ms < s.shipped_ms * (1 - options.min_gain));
    }
    auto loaded = ScheduleTable::parse(result->table.to_text(), "tuned.txt");
    REQUIRE(loaded.ok());
    CHECK(loaded->to_text() == result->table.to_text());
    for (const TunedStage &s : result->stages) CHECK(loaded->rules().variant_for(s.key) == s.key.variant);
    auto y1 = model->with_schedule(result->table).forward(f.input);
    auto y2 = model->with_schedule(*loaded).forward(f.input);
    REQUIRE(y1.ok());
    REQUIRE(y2.ok());
    CHECK(y1->data == y2->data);  // the same kernels: bit for bit
    test::require_close(*y2, f.expected);
}

TEST_CASE("a table tuned on a spread of sizes covers the sizes between them", "[schedule][tune]") {
    auto model = Model::load(test::source_path("tests/fixtures/plain_k3_d2.safetensors"));
    REQUIRE(model.ok());
    TuneOptions options;
    options.budget_seconds = 3600;  // never reached: every stage gets the minimum rounds
    options.max_rounds = options.min_rounds = 1;
    const std::vector<std::vector<int64_t>> spread = {{1, 3, 20, 16}, {1, 3, 48, 40}};
    auto result = tune(*model, spread, options);
    REQUIRE(result.ok());
    auto first = tune(*model, spread[0], options);
    REQUIRE(first.ok());
    // Both shapes' stages, each key once, the first shape's first.
    CHECK(result->stages.size() > first->stages.size());
    std::set<std::string> keys;
    for (const TunedStage &s : result->stages) CHECK(keys.insert(s.key.key_text()).second);
    for (size_t i = 0; i < first->stages.size(); ++i)
        CHECK(result->stages[i].key.key_text() == first->stages[i].key.key_text());
    auto table = ScheduleTable::parse(result->table.to_text(), "spread.txt");
    REQUIRE(table.ok());
    // A size between the two: each stage runs the variant of the nearest measured line, none the
    // default (every stage has a line within 1.5x of its channels and 4x of its pixels).
    ScheduleRules manual_default = table->rules(), auto_default = table->rules();
    manual_default.default_variant = "manual";
    auto_default.default_variant = "auto";
    const ScheduleTable manual_default_table(manual_default);
    auto g = graph::build_network(model->config());
    REQUIRE(g.ok());
    runtime::PlanOptions plan_options;
    plan_options.schedule = &manual_default_table;
    auto plan = runtime::make_execution_plan(*g, {1, 3, 32, 28}, plan_options);
    REQUIRE(plan.ok());
    for (const graph::Stage &s : (*plan)->graph.stages) {
        const ScheduleEntry key = runtime::stage_schedule_key((*plan)->graph, s);
        INFO(key.key_text());
        CHECK(keys.count(key.key_text()) == 0);  // not measured itself ...
        CHECK(manual_default.variant_for(key) == auto_default.variant_for(key));  // ... yet covered
    }
    // The tuned table runs the shape between them and gives PyTorch's result's shape.
    Tensor x({1, 3, 32, 28});
    auto y = model->with_schedule(*table).forward(x);
    REQUIRE(y.ok());
    CHECK(y->shape == std::vector<int64_t>{1, 2, 32, 28});
}

TEST_CASE("a spent tune budget keeps the current variants", "[schedule][tune]") {
    auto model = Model::load(test::source_path("tests/fixtures/bneck_k3_d3.safetensors"));
    REQUIRE(model.ok());
    const test::Fixture f = test::load_fixture("bneck_k3_d3");
    TuneOptions options;
    options.budget_seconds = 0;
    size_t progress_calls = 0;
    options.progress = [&](size_t, size_t, const std::string &) { ++progress_calls; };
    const auto t0 = std::chrono::steady_clock::now();
    auto result = tune(*model, f.input.shape, options);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    REQUIRE(result.ok());
    REQUIRE_FALSE(result->stages.empty());
    CHECK(progress_calls == result->stages.size());
    CHECK(seconds < 10);  // one forward pass of a small fixture, nothing timed
    for (const TunedStage &s : result->stages) {
        INFO(s.key.key_text());
        CHECK_FALSE(s.measured);
        CHECK(s.median_ms.empty());
        CHECK(s.key.variant == s.shipped_variant);
        CHECK(s.shipped_variant == model->schedule().rules().variant_for(s.key));  // the shipped table's choice
    }
}

TEST_CASE("ae2d tune writes a table that ae2d bench and run load", "[schedule][tune][cli]") {
    const fs::path dir = fs::temp_directory_path() / ("ae2d-tune-test-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const std::string model = test::source_path("tests/fixtures/plain_k3_d2.safetensors");
    const fs::path table = dir / "table.txt", out = dir / "out.txt", err = dir / "err.txt";
    auto cli = [&](const std::string &args) {
        const std::string cmd =
            std::string(AE2D_CLI_COMMAND) + " " + args + " > " + out.string() + " 2> " + err.string();
        const int status = std::system(cmd.c_str());
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    };
    REQUIRE(cli("tune --model " + model + " --input-shape 1,3,20,16 --budget-minutes 0 --output " + table.string()) ==
            0);
    CHECK_THAT(test::read_text(out.string()), Catch::Contains("shipped") && Catch::Contains("tuned") &&
                                                  Catch::Contains("kept: budget spent") &&
                                                  Catch::Contains("measured 0 of"));
    auto t = ScheduleTable::load(table.string());
    REQUIRE(t.ok());
    CHECK(t->rules().target == cpu_target());
    CHECK_FALSE(t->rules().entries.empty());

    REQUIRE(cli("bench --model " + model + " --input-shape 1,3,20,16 --runs 2 --warmup 0 --json --schedule manual,auto," +
                table.string()) == 0);
    const auto j = nlohmann::json::parse(test::read_text(out.string()));
    REQUIRE(j.at("schedules").size() == 3);
    CHECK(j.at("schedule") == "manual");
    CHECK(j.at("schedules")[1].at("schedule") == "auto");

    CHECK(cli("bench --model " + model + " --input-shape 1,3,20,16 --runs 1 --schedule " + (dir / "none.txt").string()) ==
          1);
    CHECK_THAT(test::read_text(err.string()), Catch::Contains("ae2d: error: --schedule: cannot open"));
    fs::remove_all(dir);
}

TEST_CASE("the tune cache: ae2d tune stores a table that later loads run; bad entries are ignored with a warning",
          "[schedule][tune][cli]") {
    const test::TempDir dir("ae2d_tune_cache");
    const std::string cache = dir.path("cache"), env = "AE2D_TUNE_CACHE=" + cache;
    const std::string model_path = test::source_path("tests/fixtures/plain_k3_d2.safetensors");
    setenv("AE2D_TUNE_CACHE", cache.c_str(), 1);
    struct Restore {
        ~Restore() { setenv("AE2D_TUNE_CACHE", "off", 1); }  // as tests/main.cpp leaves it
    } restore;
    auto before = Model::load(model_path);
    REQUIRE(before.ok());
    const std::string shipped_name = ScheduleTable::shipped(cpu_target()).name();
    CHECK(before->schedule().name() == shipped_name);
    CHECK(before->warnings().empty());
    const std::string path = tune_cache_path(before->config(), cpu_target());
    CHECK(path.rfind(cache + "/" + cpu_target() + "/AE2d_c", 0) == 0);

    auto r = test::run_cli("tune --model " + model_path + " --input-shape 1,3,20,16 --budget-minutes 0", env);
    INFO(r.out << r.err);
    REQUIRE(r.code == 0);
    CHECK_THAT(r.out, Catch::Contains("tune cache") && Catch::Contains(path));
    REQUIRE(fs::exists(path));
    auto after = Model::load(model_path);
    REQUIRE(after.ok());
    CHECK(after->warnings().empty());
    CHECK_THAT(after->schedule().name(), Catch::Contains("tune cache") && Catch::Contains(path));
    CHECK(after->schedule().to_text() == ScheduleTable::load(path)->to_text());
    LoadOptions without;
    without.tune_cache = false;
    CHECK(Model::load(model_path, without)->schedule().name() == shipped_name);
    // Another configuration has an entry of its own, not this one.
    CHECK(Model::load(test::source_path("tests/fixtures/seedlike_c4.safetensors"))->schedule().name() == shipped_name);

    // A corrupt entry and one tuned for another target: the shipped table, and a warning naming
    // the file (printed by the CLI, which still runs).
    const std::string other = cpu_target() == "x86-64-sse41" ? "x86-64-avx2" : "x86-64-sse41";
    const std::pair<std::string, std::string> bad[] = {{"conv2d 3x3 s1x1 garbage\n", "line 1"},
                                                       {"target " + other + "\ndefault manual\n", "tuned for target"}};
    for (const auto &[text, why] : bad) {
        INFO(text);
        {
            std::ofstream f(path, std::ios::trunc);
            f << text;
        }
        auto m = Model::load(model_path);
        REQUIRE(m.ok());
        CHECK(m->schedule().name() == shipped_name);
        REQUIRE(m->warnings().size() == 1);
        CHECK_THAT(m->warnings()[0], Catch::Contains(path) && Catch::Contains(why));
        r = test::run_cli("bench --model " + model_path + " --input-shape 1,3,20,16 --runs 1 --warmup 0", env);
        CHECK(r.code == 0);
        CHECK_THAT(r.err, Catch::Contains("ae2d: warning: ignored the tune cache entry"));
    }

    // Off: no path, and ae2d tune without --output says why it cannot store.
    r = test::run_cli("tune --model " + model_path + " --input-shape 1,3,20,16 --budget-minutes 0",
                      "AE2D_TUNE_CACHE=off");
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Catch::Contains("AE2D_TUNE_CACHE=off"));
    setenv("AE2D_TUNE_CACHE", "off", 1);
    CHECK(tune_cache_path(before->config(), cpu_target()).empty());
}

namespace {

// Runs fixture `name` on `table`, requires PyTorch's result, checks that exactly the stages
// `should_run` picks ran `variant` (the others falling back to manual), and returns how many did.
int check_variant_ran(const std::string &name, const ScheduleTable &table, const std::string &variant,
                      const std::function<bool(const StageTiming &)> &should_run) {
    auto model = Model::load(test::source_path("tests/fixtures/" + name + ".safetensors"));
    REQUIRE(model.ok());
    const test::Fixture f = test::load_fixture(name);
    ForwardProfile profile;
    auto y = model->with_schedule(table).forward(f.input, &profile);
    REQUIRE(y.ok());
    test::require_close(*y, f.expected);
    int ran = 0;
    for (const StageTiming &t : profile.stages_timed) {
        CHECK((t.variant == variant) == should_run(t));
        ran += t.variant == variant;
    }
    return ran;
}

}  // namespace

TEST_CASE("the Winograd variants run exactly the 3x3 stride-1 convolutions", "[schedule][winograd]") {
    for (const std::string variant : {"wino", "wplane", "wcvec", "w2cvec"}) {
        SECTION(variant) {
            std::string text;
            for (const char *stage : {"conv2d", "norm_prelu_conv2d", "norm_prelu_upsample_conv2d"})
                text += std::string(stage) + " * * * * * * * " + variant + "\n";
            auto table = ScheduleTable::parse(text, variant + ".txt");
            REQUIRE(table.ok());
            const int ran = check_variant_ran("bneck_k3_d3", *table, variant, [](const StageTiming &t) {
                return t.detail.rfind("3x3, ", 0) == 0 || t.detail.rfind("3x3 up", 0) == 0;
            });
            CHECK(ran > 0);
        }
    }
}

// srows (the up-sampling conv's products at the source's resolution along its rows, the sum with
// vectors along x) through "*" runs every up-sampling conv of the W1-shaped fixture (sources 4 x 4
// to 32 x 32, 3x3) and of the 5x5 one, and matches PyTorch there; no other stage has it.
TEST_CASE("srows runs the up-sampling convolutions and matches PyTorch", "[schedule][srows]") {
    auto table = ScheduleTable::parse("norm_prelu_upsample_conv2d * * * * * * * srows\n", "srows.txt");
    REQUIRE(table.ok());
    for (const char *name : {"seedlike_c4", "plain_k5_d3_f16"}) {
        SECTION(name) {
            const int ran = check_variant_ran(name, *table, "srows", [](const StageTiming &t) {
                return t.kind == "NormPReLUUpsampleConv2d";
            });
            CHECK(ran >= 2);
        }
    }
}

// The weight transforms that the Winograd variants read (made once per tensor): G g G^T for every
// (ci, co), packed in blocks of 16 output channels (co % 16, ci, ex + p ey, co / 16) with zeros
// past the last channel, against the same product in double with the standard G of F(4x4, 3x3)
// (p = 6) and F(2x2, 3x3) (p = 4) written out here. Each value is a sum of 9 float products of
// weights in [-1, 1] and constants of at most 1/2 in size, so float rounding stays below 1e-6.
TEST_CASE("the Winograd weight transforms are G g G^T, packed in blocks of 16 channels", "[schedule][winograd]") {
    const std::vector<std::vector<double>> G4 = {{1.0 / 4, 0, 0},           {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                                 {-1.0 / 6, 1.0 / 6, -1.0 / 6}, {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                                 {1.0 / 24, -1.0 / 12, 1.0 / 6}, {0, 0, 1}};
    const std::vector<std::vector<double>> G2 = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
    const int co = 19, ci = 5;  // 19: a full block and a partial one
    Tensor w({co, ci, 3, 3});
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> uniform(-1.f, 1.f);
    for (float &v : w.data) v = uniform(rng);
    for (const auto packing : {runtime::WeightPacking::Winograd, runtime::WeightPacking::Winograd2x2}) {
        const auto &G = packing == runtime::WeightPacking::Winograd ? G4 : G2;
        const int p = int(G.size()), points = p * p;
        SECTION(std::to_string(p - 2) + "x" + std::to_string(p - 2) + " tiles") {
            auto packed = runtime::pack_weights(w, packing);
            REQUIRE(packed.ok());
            REQUIRE(packed->shape == std::vector<int64_t>{2, points, ci, 16});
            auto at = [&](int o, int i, int e) {
                return packed->data[((size_t(o / 16) * points + e) * ci + i) * 16 + o % 16];
            };
            for (int o = co; o < 32; ++o)
                for (int i = 0; i < ci; ++i)
                    for (int e = 0; e < points; ++e) CHECK(at(o, i, e) == 0.0f);
            double worst = 0;
            for (int o = 0; o < co; ++o)
                for (int i = 0; i < ci; ++i)
                    for (int ey = 0; ey < p; ++ey)
                        for (int ex = 0; ex < p; ++ex) {
                            double expected = 0;  // (G g G^T)(ex, ey): g indexed (ky, kx) as PyTorch's (kh, kw)
                            for (int ky = 0; ky < 3; ++ky)
                                for (int kx = 0; kx < 3; ++kx)
                                    expected +=
                                        G[ey][ky] * G[ex][kx] * w.data[((size_t(o) * ci + i) * 3 + ky) * 3 + kx];
                            worst = std::max(worst, std::abs(double(at(o, i, ex + p * ey)) - expected));
                        }
            CHECK(worst < 1e-6);

            auto refused = runtime::pack_weights(Tensor({4, 3, 1, 1}), packing);
            REQUIRE_FALSE(refused.ok());
            CHECK_THAT(refused.status().message(), Catch::Contains("(4, 3, 1, 1)"));
        }
    }
}

TEST_CASE("the channel-blocked weights hold 16 output channels per block, zero past the last", "[schedule][cvec]") {
    const int co = 21, ci = 3, kh = 3, kw = 1;  // 21: a partial second block; a 3x1 kernel
    Tensor w({co, ci, kh, kw});
    for (size_t i = 0; i < w.data.size(); ++i) w.data[i] = float(i) + 1.0f;  // all non-zero
    auto packed = runtime::pack_weights(w, runtime::WeightPacking::ChannelBlocked);
    REQUIRE(packed.ok());
    REQUIRE(packed->shape == std::vector<int64_t>{2, ci, kh * kw, 16});
    int mismatches = 0;
    for (int cob = 0; cob < 2; ++cob)
        for (int i = 0; i < ci; ++i)
            for (int tap = 0; tap < kh * kw; ++tap)
                for (int coi = 0; coi < 16; ++coi) {
                    const int o = cob * 16 + coi, ky = tap / kw, kx = tap % kw;
                    const float want = o < co ? w.data[((size_t(o) * ci + i) * kh + ky) * kw + kx] : 0.0f;
                    const float got = packed->data[((size_t(cob) * ci + i) * kh * kw + tap) * 16 + coi];
                    mismatches += got != want;
                }
    CHECK(mismatches == 0);
}

TEST_CASE("packed weights are made once per parameter and packing, and shared", "[schedule][winograd][cvec]") {
    Tensor w({8, 4, 3, 3});
    for (size_t i = 0; i < w.data.size(); ++i) w.data[i] = float(i % 13) / 13.f;
    runtime::PackedWeightCache cache;
    CHECK(cache.bytes() == 0);
    auto first = cache.get("block.conv.weight", runtime::WeightPacking::Winograd, w);
    REQUIRE(first.ok());
    auto again = cache.get("block.conv.weight", runtime::WeightPacking::Winograd, w);
    REQUIRE(again.ok());
    CHECK(*first == *again);
    CHECK(cache.bytes() == 16 * 4 * 36 * 4);  // 8 channels padded to a block of 16
    auto blocked = cache.get("block.conv.weight", runtime::WeightPacking::ChannelBlocked, w);
    REQUIRE(blocked.ok());
    CHECK(*blocked != *first);
    CHECK(cache.bytes() == 16 * 4 * 36 * 4 + 16 * 4 * 9 * 4);
    auto bad = cache.get("block.conv1x1.weight", runtime::WeightPacking::Winograd, Tensor({8, 4, 1, 1}));
    REQUIRE_FALSE(bad.ok());
    CHECK_THAT(bad.status().message(), Catch::Contains("block.conv1x1.weight"));
}
