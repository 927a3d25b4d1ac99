// ae2d tune: times every compiled variant of every distinct stage of a network on this machine
// and writes the winning schedule table (progress on stderr, then a per-stage report).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>

#include "ae2d/tune.h"
#include "cli/commands.h"
#include "io/file_util.h"

namespace ae2d::cli {

namespace {

struct TuneCommandOptions {
    std::string model, output, schedule = "tuned";
    std::vector<std::string> input_shapes;
    double budget_minutes = 5;
    int threads = 0;
    bool all_variants = false;
};

void tune_command(const TuneCommandOptions &o) {
    if (o.budget_minutes < 0 || o.threads < 0) return fail("--budget-minutes and --threads must be >= 0");
    if (o.threads > 0) set_num_threads(o.threads);
    auto model = load_model(o.model);
    if (!model) return fail(model.status());
    std::vector<std::vector<int64_t>> shapes;
    for (const std::string &text : o.input_shapes) {
        auto shape = parse_shape(text, 4, 4);
        if (!shape) return fail("--input-shape: " + shape.message());
        shapes.push_back(*shape);
    }
    if (shapes.empty()) shapes = default_tune_shapes(model->config().in_planes);
    std::string shapes_text;
    for (const auto &shape : shapes) {
        std::string dims;
        for (int64_t d : shape) dims += (dims.empty() ? "" : ",") + std::to_string(d);
        shapes_text += " --input-shape " + dims;
    }
    auto start = with_schedule_spec(*model, o.schedule);
    if (!start) return fail(start.status());

    const bool tty = isatty(STDERR_FILENO) != 0;
    const auto t0 = std::chrono::steady_clock::now();
    TuneOptions options;
    options.budget_seconds = o.budget_minutes * 60;
    options.progress = [&](size_t done, size_t total, const std::string &key) {
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (tty) {
            const int width = 30, filled = int(width * done / total);
            std::fprintf(stderr, "\r[%s%s] %zu/%zu stages, %.0f s   ", std::string(size_t(filled), '#').c_str(),
                         std::string(size_t(width - filled), '.').c_str(), done, total, s);
            if (done == total) std::fprintf(stderr, "\n");
        } else {
            std::fprintf(stderr, "%zu/%zu stages, %.0f s: %s\n", done, total, s, key.c_str());
        }
        std::fflush(stderr);
    };
    auto result = tune(*start, shapes, options);
    if (!result) return fail(result.status());

    std::string text = "# ae2d schedule table, written by: ae2d tune --model " + o.model + shapes_text +
                       " (starting from: " + start->schedule().name() + ")\n" + result->table.to_text();
    // With --output - the table goes to stdout and the report to stderr.
    const bool to_stdout = o.output == "-";
    FILE *report = to_stdout ? stderr : stdout;
    std::fprintf(report, "%-70s %5s  %-8s %9s  %-8s %9s  %6s\n", "stage (kernel step in out batch height width)",
                 "count", "shipped", "ms", "tuned", "ms", "ratio");
    double shipped_total = 0, tuned_total = 0;
    size_t measured = 0;
    for (const TunedStage &t : result->stages) {
        if (!t.measured) {
            std::fprintf(report, "%-70s %5d  %-8s %9s  %-8s %9s  kept: budget spent\n", t.key.key_text().c_str(),
                         t.occurrences, t.shipped_variant.c_str(), "-", t.key.variant.c_str(), "-");
            continue;
        }
        std::fprintf(report, "%-70s %5d  %-8s %9.3f  %-8s %9.3f  %6.3f\n", t.key.key_text().c_str(), t.occurrences,
                     t.shipped_variant.c_str(), t.shipped_ms, t.key.variant.c_str(), t.tuned_ms,
                     t.tuned_ms / t.shipped_ms);
        if (o.all_variants) {
            std::string line = "    ";
            for (const auto &[variant, ms] : t.median_ms) line += " " + variant + " " + std::to_string(ms);
            std::fprintf(report, "%s\n", line.c_str());
        }
        shipped_total += t.occurrences * t.shipped_ms;
        tuned_total += t.occurrences * t.tuned_ms;
        ++measured;
    }
    std::fprintf(report, "measured %zu of %zu stages within the budget of %g minutes\n", measured,
                 result->stages.size(), o.budget_minutes);
    if (measured > 0)
        std::fprintf(report, "sum over the measured stages: shipped %.3f ms, tuned %.3f ms (%.3f)\n", shipped_total,
                     tuned_total, tuned_total / shipped_total);
    if (to_stdout) {
        std::cout << text;
        return;
    }
    if (o.output.empty()) {
        Status ok = store_in_tune_cache(text, model->config(), cpu_target());
        if (!ok) return fail(ok.with_context("the tune cache"));
        std::fprintf(report, "table written to the tune cache, %s: ae2d run and bench and the APIs now use it for "
                     "%s on %s\n", tune_cache_path(model->config(), cpu_target()).c_str(),
                     model->config().to_string().c_str(), cpu_target().c_str());
        return;
    }
    Status ok = io::detail::write_file_atomic(o.output, text.data(), text.size());
    if (!ok) return fail(ok);
    std::fprintf(report, "table written to %s\n", o.output.c_str());
}

}  // namespace

void add_tune_command(CLI::App &app) {
    auto o = std::make_shared<TuneCommandOptions>();
    CLI::App *cmd = app.add_subcommand("tune", "Time every compiled schedule variant of each stage, write the winners");
    cmd->add_option("--model,-m", o->model, "safetensors file")->required();
    cmd->add_option("--input-shape", o->input_shapes,
                    "B,C,H,W; repeat it to tune on a spread of sizes (default: 1,C,96,128 1,C,255,191 "
                    "2,C,160,160 1,C,384,512)");
    cmd->add_option("--budget-minutes", o->budget_minutes,
                    "time limit for the measuring, all stages together; stages not measured by then keep "
                    "their variant")
        ->capture_default_str();
    cmd->add_option("--output,-o", o->output,
                    "table file to write; '-': stdout, report on stderr (default: the tune cache, which later "
                    "loads of a model of this configuration use on this CPU target; see ae2d info)");
    cmd->add_option("--schedule", o->schedule,
                    "the table to improve on: tuned (the model's: tune cache, else shipped), policy, manual, auto or a file; a variant replaces its "
                    "choice only if >3% faster")
        ->capture_default_str();
    cmd->add_option("--threads,-t", o->threads, "worker threads (0: one per core)");
    cmd->add_flag("--all-variants", o->all_variants, "report every variant's median time, not only the winner's");
    cmd->callback([o] { tune_command(*o); });
}

}  // namespace ae2d::cli
