// The per-user tune cache: one schedule table per (CPU target, network configuration).
#include "model/tune_cache.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "ae2d/tune.h"
#include "io/file_util.h"
#include "runtime/schedule_table.h"

namespace ae2d {

namespace fs = std::filesystem;

namespace {

std::string env(const char *name) {
    const char *v = std::getenv(name);
    return v ? v : "";
}

std::string cache_dir() {
    const std::string own = env("AE2D_TUNE_CACHE");
    if (own == "off") return "";
    if (!own.empty()) return own;
    if (const std::string xdg = env("XDG_CACHE_HOME"); !xdg.empty()) return xdg + "/ae2d/tune";
    if (const std::string home = env("HOME"); !home.empty()) return home + "/.cache/ae2d/tune";
    return "";
}

// "UNet2d_c24_l2-2_plain_k3x3_i1_o1": every field that changes a stage's shape.
std::string config_key(const Config &c) {
    std::string layers;
    for (int v : c.layers) layers += (layers.empty() ? "" : "-") + std::to_string(v);
    return std::string(arch_name(c.arch)) + "_c" + std::to_string(c.channel) + "_l" + layers + "_" +
           block_kind_name(c.block) + "_k" + std::to_string(c.kernel_h) + "x" + std::to_string(c.kernel_w) + "_i" +
           std::to_string(c.in_planes) + "_o" + std::to_string(c.out_planes);
}

}  // namespace

std::string tune_cache_path(const Config &config, const std::string &target) {
    const std::string dir = cache_dir();
    if (dir.empty()) return "";
    return dir + "/" + target + "/" + config_key(config) + ".txt";
}

Status store_in_tune_cache(const std::string &table_text, const Config &config, const std::string &target) {
    auto table = ScheduleTable::parse(table_text, "the table for the tune cache");
    if (!table) return table.status();
    if (table->rules().target != target)
        return Status::Error("the table for the tune cache names target '" + table->rules().target + "', not '" +
                             target + "'");
    const std::string path = tune_cache_path(config, target);
    if (path.empty()) return Status::Error("the tune cache is off (AE2D_TUNE_CACHE=off) or has no directory "
                                           "(neither XDG_CACHE_HOME nor HOME is set)");
    std::error_code ec;
    fs::create_directories(fs::path(path).parent_path(), ec);
    if (ec) return Status::Error("cannot make the tune cache directory " + fs::path(path).parent_path().string() +
                                 ": " + ec.message());
    return io::detail::write_file_atomic(path, table_text.data(), table_text.size());
}

std::optional<ScheduleTable> load_from_tune_cache(const Config &config, const std::string &target,
                                                  std::string &warning) {
    const std::string path = tune_cache_path(config, target);
    std::error_code ec;
    if (path.empty() || !fs::exists(path, ec)) return std::nullopt;
    auto table = ScheduleTable::load(path);
    if (!table) {
        warning = "ignored the tune cache entry: " + table.message();
        return std::nullopt;
    }
    if (table->rules().target != target) {
        warning = "ignored the tune cache entry " + path + ": tuned for target '" + table->rules().target +
                  "', this CPU runs '" + target + "' (run ae2d tune again)";
        return std::nullopt;
    }
    ScheduleRules rules = table->rules();
    rules.name = "tuned (tune cache: " + path + ")";
    return ScheduleTable(std::move(rules));
}

}  // namespace ae2d
