// The ae2d command-line tool: run, summary, bench, info, graph, tune.
#include <CLI/CLI.hpp>

#include <iostream>

#include "cli/commands.h"

int main(int argc, char **argv) {
    CLI::App app{"ae2d: residual auto-encoders (mdnc AE2d) exported from PyTorch, run by Halide AOT kernels"};
    app.set_version_flag("--version", std::string(ae2d::version()));
    app.require_subcommand(1);
    ae2d::cli::add_run_command(app);
    ae2d::cli::add_summary_command(app);
    ae2d::cli::add_bench_command(app);
    ae2d::cli::add_info_command(app);
    ae2d::cli::add_graph_command(app);
    ae2d::cli::add_tune_command(app);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError &e) {
        return app.exit(e);
    }
    return ae2d::cli::exit_code();
}
