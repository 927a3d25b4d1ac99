// ae2d::tune: every compiled variant of every distinct stage, timed in place during one forward
// pass on random input; the fastest beyond noise goes into the table.
#include "ae2d/tune.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <random>
#include <set>

#include "model/model_impl.h"
#include "runtime/median.h"
#include "runtime/schedule_table.h"

namespace ae2d {

using runtime::median_of;

Expected<TuneResult> tune(const Model &model, const std::vector<int64_t> &input_shape, const TuneOptions &options) {
    return model.tune(input_shape, options);
}

Expected<TuneResult> Model::tune(const std::vector<int64_t> &input_shape, const TuneOptions &options) const {
    if (options.min_rounds < 1 || options.max_rounds < options.min_rounds || options.budget_seconds < 0)
        return Status::Error("tune: need 1 <= min_rounds <= max_rounds and a budget >= 0");
    if (input_shape.size() != 4)
        return Status::Error("input must have shape (B, C, H, W), got " + shape_to_string(input_shape));
    const Limits limits = ae2d::limits();
    Status ok = runtime::check_input_limits(input_shape, limits);
    if (!ok) return ok;
    const Impl &impl = *impl_;
    const Shape4 shape{input_shape[0], input_shape[1], input_shape[2], input_shape[3]};
    runtime::PlanOptions plan_options;
    plan_options.schedule = &impl.schedule;
    auto made = runtime::make_execution_plan(impl.graph, shape, plan_options);
    if (!made) return made.status();
    const runtime::ExecutionPlan &plan = **made;
    ok = runtime::check_plan_limits(plan.graph, plan.memory, limits);
    if (!ok) return ok;

    // Distinct stages: the first stage of each key is timed; the others count occurrences.
    TuneResult result;
    std::map<std::string, size_t> index_of_key;
    std::vector<int> distinct_of_stage(plan.graph.stages.size(), -1);
    for (size_t i = 0; i < plan.graph.stages.size(); ++i) {
        ScheduleEntry key = runtime::stage_schedule_key(plan.graph, plan.graph.stages[i]);
        const std::string text = key.key_text();
        auto [it, added] = index_of_key.emplace(text, result.stages.size());
        if (added) {
            TunedStage t;
            t.key = key;
            t.shipped_variant = runtime::stage_variant_names(key.stage)[size_t(plan.variants[i])];
            result.stages.push_back(t);
            distinct_of_stage[i] = int(it->second);
        }
        result.stages[it->second].occurrences++;
    }

    Tensor x({shape.n, shape.c, shape.h, shape.w});
    std::mt19937 rng(1234);
    std::uniform_real_distribution<float> uniform(0.f, 1.f);
    for (float &v : x.data) v = uniform(rng);
    const Shape4 o = plan.graph.values[plan.graph.output].shape;
    std::vector<float> out, arena;
    try {
        out.resize(size_t(o.numel()));
        arena.resize(size_t(plan.memory.arena_floats));
    } catch (const std::bad_alloc &) {
        return Status::Error("out of memory for a forward pass on " + shape_to_string(input_shape));
    }

    // The budget is a hard limit on the measuring: each stage gets an even share of what is left,
    // and once too little is left for its minimum rounds, it and every later stage keep their
    // current variant. Only one stage's untimed first calls can run past the deadline.
    using Clock = std::chrono::steady_clock;
    const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(options.budget_seconds));
    auto seconds_left = [&] { return std::chrono::duration<double>(deadline - Clock::now()).count(); };
    bool budget_spent = false;
    size_t done = 0;
    auto keep = [&](TunedStage &t) {
        budget_spent = true;
        t.key.variant = t.shipped_variant;
        ++done;
        if (options.progress) options.progress(done, result.stages.size(), t.key.key_text());
        return Status::Ok();
    };
    auto hook = [&](size_t stage_index, const std::function<Status(int)> &run) -> Status {
        const int d = distinct_of_stage[stage_index];
        if (d < 0) return Status::Ok();
        TunedStage &t = result.stages[size_t(d)];
        if (budget_spent || seconds_left() <= 0) return keep(t);
        const std::vector<std::string> names = runtime::stage_variant_names(t.key.stage);
        auto timed = [&](int v, double &seconds) {
            const auto t0 = std::chrono::steady_clock::now();
            Status s = run(v);
            seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            return s;
        };
        // One untimed call each (first-call costs), which also sizes the rounds to the budget. An
        // Adams2019 build that refuses the shape (tiles larger than it) is left out.
        double round_seconds = 0;
        std::vector<bool> runs(names.size(), true);
        for (int v = 0; v < int(names.size()); ++v) {
            if (!variant_applies(names[size_t(v)], t.key)) {  // Winograd on a 1x1 conv, ...
                runs[size_t(v)] = false;
                continue;
            }
            double s = 0;
            Status r = timed(v, s);
            if (!r && v == runtime::kAutoVariant) {
                runs[size_t(v)] = false;
                continue;
            }
            if (!r) return r.with_context("variant " + names[size_t(v)]);
            round_seconds += s;
        }
        const double round = std::max(round_seconds, 1e-9), left = seconds_left();
        if (left < options.min_rounds * round) return keep(t);
        const double share = left / double(result.stages.size() - done);
        const int rounds = int(std::clamp(share / round, double(options.min_rounds), double(options.max_rounds)));
        // Rounds interleave the variants (rotating the order) so that load changes hit all alike.
        std::vector<std::vector<double>> samples(names.size());
        for (int r = 0; r < rounds; ++r) {
            for (size_t k = 0; k < names.size(); ++k) {
                const int v = int((k + size_t(r)) % names.size());
                if (!runs[size_t(v)]) continue;
                double s = 0;
                Status st = timed(v, s);
                if (!st) return st;
                samples[size_t(v)].push_back(s * 1e3);
            }
        }
        size_t shipped = size_t(std::find(names.begin(), names.end(), t.shipped_variant) - names.begin());
        if (!runs[shipped]) {  // an "auto" choice that refuses this shape runs manual
            shipped = runtime::kManualVariant;
            t.shipped_variant = names[shipped];
        }
        t.measured = true;
        t.rounds = rounds;
        t.shipped_ms = median_of(samples[shipped]);
        size_t best = shipped;
        t.tuned_ms = t.shipped_ms;
        for (size_t v = 0; v < names.size(); ++v) {
            if (!runs[v]) continue;
            const double m = median_of(samples[v]);
            t.median_ms.emplace_back(names[v], m);
            if (v != shipped && m < t.shipped_ms * (1.0 - options.min_gain) && m < t.tuned_ms) {
                best = v;
                t.tuned_ms = m;
            }
        }
        t.key.variant = names[best];
        ++done;
        if (options.progress) options.progress(done, result.stages.size(), t.key.key_text());
        return Status::Ok();
    };
    ok = runtime::execute(plan, *impl.weights, impl.packed.get(), x.data.data(), out.data(), arena.data(), nullptr, hook);
    if (!ok) return ok;

    ScheduleRules rules;
    rules.name = "tuned";
    rules.target = cpu_target();
    rules.default_variant = impl.schedule.rules().default_variant;
    for (const TunedStage &t : result.stages) rules.entries.push_back(t.key);
    result.table = ScheduleTable(std::move(rules));
    return result;
}

Expected<TuneResult> tune(const Model &model, const std::vector<std::vector<int64_t>> &input_shapes,
                          const TuneOptions &options) {
    if (input_shapes.empty()) return Status::Error("tune: no input shape");
    TuneOptions each = options;
    each.budget_seconds = options.budget_seconds / double(input_shapes.size());
    TuneResult merged;
    ScheduleRules first_rules;  // the table's name, target and default
    std::set<std::string> keys;
    for (const std::vector<int64_t> &shape : input_shapes) {
        auto result = model.tune(shape, each);
        if (!result) return result.status().with_context("input " + shape_to_string(shape));
        if (keys.empty()) first_rules = result->table.rules();
        for (TunedStage &t : result->stages)
            if (keys.insert(t.key.key_text()).second) merged.stages.push_back(std::move(t));
    }
    ScheduleRules rules = first_rules;
    rules.entries.clear();
    for (const TunedStage &t : merged.stages) rules.entries.push_back(t.key);
    merged.table = ScheduleTable(std::move(rules));
    return merged;
}

std::vector<std::vector<int64_t>> default_tune_shapes(int64_t channels) {
    return {{1, channels, 96, 128}, {1, channels, 255, 191}, {2, channels, 160, 160}, {1, channels, 384, 512}};
}

}  // namespace ae2d
