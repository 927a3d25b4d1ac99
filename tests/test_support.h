// Shared helpers of the tests: paths of the committed data, the fixture manifest, configs.
#pragma once

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "ae2d/config.h"

namespace ae2d::test {

inline std::string source_path(const std::string &rel) { return std::string(AE2D_SOURCE_DIR) + "/" + rel; }

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

}  // namespace ae2d::test
