#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "cli/commands.h"

namespace ae2d::cli {

namespace {
int g_exit_code = 0;
}

int exit_code() { return g_exit_code; }

void fail(const std::string &message) {
    std::cerr << "ae2d: error: " << message << "\n";
    g_exit_code = 1;
}

void fail(const Status &status) { fail(status.message()); }

Expected<Model> load_model(const std::string &path, const LoadOptions &options) {
    auto model = Model::load(path, options);
    if (model)
        for (const std::string &w : model->warnings()) std::cerr << "ae2d: warning: " << w << "\n";
    return model;
}

Expected<Model> with_schedule_spec(const Model &model, const std::string &spec) {
    if (spec == "tuned") return model;
    auto table = ScheduleTable::from_spec(spec);
    if (!table) return Status::Error("--schedule: " + table.message());
    return model.with_schedule(*table);
}

Expected<std::vector<int64_t>> parse_shape(const std::string &text, size_t min_rank, size_t max_rank) {
    std::vector<int64_t> dims;
    std::stringstream ss(text);
    std::string item;
    while (std::getline(ss, item, ',')) {
        try {
            size_t used = 0;
            const long long v = std::stoll(item, &used);
            if (used != item.size() || v < 1 || v > (1LL << 31) - 1) throw std::invalid_argument(item);
            dims.push_back(v);
        } catch (const std::exception &) {
            return Status::Error("bad shape '" + text + "': '" + item + "' is not a positive integer");
        }
    }
    if (dims.size() < min_rank || dims.size() > max_rank)
        return Status::Error("bad shape '" + text + "': expected " + std::to_string(min_rank) +
                             (min_rank == max_rank ? "" : " to " + std::to_string(max_rank)) + " comma-separated sizes");
    return dims;
}

std::string default_model_path() {
    if (const char *env = std::getenv("AE2D_DEFAULT_MODEL")) return env;
    std::error_code ec;
    const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    for (const char *rel : {"../models/denoiser.safetensors", "../share/ae2d/denoiser.safetensors"}) {
        const std::filesystem::path p = exe.parent_path() / rel;
        if (!ec && std::filesystem::exists(p)) return p.lexically_normal().string();
    }
    return "denoiser.safetensors (bundled default: not found next to the ae2d binary; pass --model)";
}

}  // namespace ae2d::cli
