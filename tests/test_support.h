// Shared helpers of the tests: paths of the committed data, the fixture manifest, configs.
#pragma once

#include <sys/wait.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <unistd.h>

#include "ae2d/config.h"

namespace ae2d::test {

// A file of the source tree: under $AE2D_SOURCE_DIR when set (the tests run from a copy of the
// tree elsewhere, as scripts/gpu_check.sh does on a lent machine), else where they were built.
inline std::string source_path(const std::string &rel) {
    const char *dir = std::getenv("AE2D_SOURCE_DIR");
    return std::string(dir && *dir ? dir : AE2D_SOURCE_DIR) + "/" + rel;
}

inline std::string read_text(const std::string &path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

inline nlohmann::json read_json(const std::string &rel) { return nlohmann::json::parse(read_text(source_path(rel))); }

// {"channel":..,"layers":[..],"block":..,"kernel_size": k | [kh, kw],"in_planes":..,"out_planes":..}
inline Config config_from_json(const nlohmann::json &j) {
    Config c;
    if (j.contains("arch")) c.arch = j.at("arch") == "UNet2d" ? Arch::UNet2d : Arch::AE2d;
    c.channel = j.at("channel");
    c.layers = j.at("layers").get<std::vector<int>>();
    c.block = j.at("block") == "plain" ? BlockKind::Plain : BlockKind::Bottleneck;
    if (j.at("kernel_size").is_array()) {
        c.kernel_h = j.at("kernel_size")[0];
        c.kernel_w = j.at("kernel_size")[1];
    } else {
        c.kernel_h = c.kernel_w = j.at("kernel_size");
    }
    c.in_planes = j.at("in_planes");
    c.out_planes = j.at("out_planes");
    return c;
}

// A fresh directory under the system temp dir, removed with everything in it.
struct TempDir {
    std::filesystem::path dir;
    explicit TempDir(const std::string &prefix = "ae2d_test") {
        static std::atomic<int> counter{0};
        dir = std::filesystem::temp_directory_path() /
              (prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
        std::filesystem::create_directories(dir);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
    TempDir(const TempDir &) = delete;
    TempDir &operator=(const TempDir &) = delete;
    std::string path(const std::string &name) const { return (dir / name).string(); }
};

// What the ae2d CLI printed and returned.
struct CliResult {
    int code;  // exit status, -1 when it did not exit normally
    std::string out, err;
};

// Runs the ae2d CLI (AE2D_CLI_COMMAND) with `args`, after environment assignments `env` ("A=1 B=2").
inline CliResult run_cli(const std::string &args, const std::string &env = "") {
    const TempDir dir("ae2d_cli_run");
    const std::string out = dir.path("stdout.txt"), err = dir.path("stderr.txt");
    const std::string cmd = env + " " + std::string(AE2D_CLI_COMMAND) + " " + args + " > " + out + " 2> " + err;
    const int status = std::system(cmd.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_text(out), read_text(err)};
}

}  // namespace ae2d::test
