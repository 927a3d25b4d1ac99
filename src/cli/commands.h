// Each subcommand registers itself on the CLI11 app; its callback sets the exit code.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "ae2d/model.h"

namespace ae2d::cli {

void add_run_command(CLI::App &app);
void add_summary_command(CLI::App &app);
void add_bench_command(CLI::App &app);
void add_info_command(CLI::App &app);
void add_graph_command(CLI::App &app);
void add_tune_command(CLI::App &app);

int exit_code();
// Prints "ae2d: error: <message>" and makes the process exit with 1.
void fail(const std::string &message);
void fail(const Status &status);

// Model::load, with the model's warnings (an ignored tune-cache entry) printed as
// "ae2d: warning: <warning>".
Expected<Model> load_model(const std::string &path, const LoadOptions &options = {});
// The model on the table `spec` names (--schedule): "tuned" keeps the model's own (its tune-cache
// entry, else the shipped table); the others as ScheduleTable::from_spec.
Expected<Model> with_schedule_spec(const Model &model, const std::string &spec);

// The bundled denoiser: $AE2D_DEFAULT_MODEL, else models/denoiser.safetensors (build tree) or
// share/ae2d/denoiser.safetensors (installed) next to the binary.
std::string default_model_path();

// "3,64,63" -> {3, 64, 63}; the message says what was wrong.
Expected<std::vector<int64_t>> parse_shape(const std::string &text, size_t min_rank, size_t max_rank);

}  // namespace ae2d::cli
