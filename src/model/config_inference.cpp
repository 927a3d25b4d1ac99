#include "model/config_inference.h"

#include <nlohmann/json.hpp>
#include <set>

#include "core/json_brief.h"

namespace ae2d::model {

namespace {

const char *const kConfigKeys[] = {"channel", "layers", "block", "kernel_size", "in_planes", "out_planes"};

Expected<nlohmann::json> parse_json_value(const std::string &key, const std::string &text) {
    const std::string quoted = text.size() > 60 ? text.substr(0, 57) + "..." : text;
    if (ae2d::detail::json_nesting_depth(text.data(), text.size(), 8) > 8)  // a number or [kh, kw]
        return Status::Error("metadata '" + key + "' nests JSON more than 8 levels deep: '" + quoted + "'");
    nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded()) return Status::Error("metadata '" + key + "' is not valid JSON: '" + quoted + "'");
    return j;
}

Expected<int> json_int(const std::string &key, const nlohmann::json &j) {
    if (!j.is_number_integer())
        return Status::Error("metadata '" + key + "' must be an integer, got '" + ae2d::detail::json_brief(j) + "'");
    const long long v = j.get<long long>();
    if (v < -(1LL << 30) || v > (1LL << 30))
        return Status::Error("metadata '" + key + "' is out of range: " + ae2d::detail::json_brief(j));
    return static_cast<int>(v);
}

// "conv_down_list.3.conv_list.1.conv1.0.weight" -> the distinct numbers after `prefix`: names
// that start with the prefix, then 1 to 6 digits and a '.'. Plain string scanning, not
// std::regex: that costs time quadratic in the length of the (untrusted) names.
std::set<int> indices_after(const std::map<std::string, Tensor> &tensors, const std::string &prefix) {
    std::set<int> found;
    for (auto it = tensors.lower_bound(prefix); it != tensors.end(); ++it) {
        const std::string &name = it->first;
        if (name.compare(0, prefix.size(), prefix) != 0) break;  // sorted: past the prefix's range
        size_t i = prefix.size();
        int v = 0;
        while (i < name.size() && i - prefix.size() < 7 && name[i] >= '0' && name[i] <= '9') v = v * 10 + (name[i++] - '0');
        const size_t digits = i - prefix.size();
        if (digits >= 1 && digits <= 6 && i < name.size() && name[i] == '.') found.insert(v);
    }
    return found;
}

}  // namespace

Expected<MetadataConfig> config_from_metadata(const std::map<std::string, std::string> &metadata) {
    MetadataConfig out;
    std::vector<std::string> missing;
    for (const char *k : kConfigKeys) {
        if (metadata.count(k)) out.found = true;
        else missing.push_back(k);
    }
    auto arch = metadata.find("arch");
    if (arch != metadata.end()) {
        auto parsed = parse_arch(arch->second);
        if (!parsed) return Status::Error("metadata: " + parsed.message());
        out.config.arch = *parsed;
        out.arch_found = true;
    }
    if (!out.found) return out;
    if (!missing.empty()) {
        std::string list;
        for (const auto &m : missing) list += (list.empty() ? "" : ", ") + m;
        return Status::Error("metadata holds a partial configuration: missing " + list);
    }
    Config &c = out.config;
    for (const char *k : {"channel", "in_planes", "out_planes"}) {
        auto j = parse_json_value(k, metadata.at(k));
        if (!j) return j.status();
        auto v = json_int(k, *j);
        if (!v) return v.status();
        (std::string(k) == "channel" ? c.channel : std::string(k) == "in_planes" ? c.in_planes : c.out_planes) = *v;
    }
    auto layers = parse_json_value("layers", metadata.at("layers"));
    if (!layers) return layers.status();
    if (!layers->is_array()) return Status::Error("metadata 'layers' must be a JSON list, got '" + ae2d::detail::json_brief(*layers) + "'");
    c.layers.clear();
    for (const auto &e : *layers) {
        auto v = json_int("layers", e);
        if (!v) return v.status();
        c.layers.push_back(*v);
    }
    auto block = parse_block_kind(metadata.at("block"));
    if (!block) return Status::Error("metadata: " + block.message());
    c.block = *block;
    auto ks = parse_json_value("kernel_size", metadata.at("kernel_size"));
    if (!ks) return ks.status();
    if (ks->is_array() && ks->size() == 2) {
        auto kh = json_int("kernel_size", (*ks)[0]);
        auto kw = json_int("kernel_size", (*ks)[1]);
        if (!kh) return kh.status();
        if (!kw) return kw.status();
        c.kernel_h = *kh, c.kernel_w = *kw;
    } else {
        auto k = json_int("kernel_size", *ks);
        if (!k) return Status::Error("metadata 'kernel_size' must be an integer or [kh, kw], got '" + ae2d::detail::json_brief(*ks) + "'");
        c.kernel_h = c.kernel_w = *k;
    }
    Status ok = c.validate();
    if (!ok) return ok.with_context("metadata configuration");
    return out;
}

Expected<Config> infer_config(const std::map<std::string, Tensor> &tensors) {
    auto need4 = [&](const std::string &name) -> Expected<const Tensor *> {
        auto it = tensors.find(name);
        if (it == tensors.end())
            return Status::Error("cannot infer the configuration: tensor '" + name + "' is missing");
        if (it->second.rank() != 4)
            return Status::Error("tensor '" + name + "' must have 4 dimensions, got shape " +
                                 shape_to_string(it->second.shape));
        return &it->second;
    };
    auto first = need4("conv_first.weight");
    if (!first) return first.status();
    auto final_w = need4("conv_final.weight");
    if (!final_w) return final_w.status();
    for (const char *name : {"conv_first.weight", "conv_final.weight"})
        for (int64_t d : tensors.at(name).shape)
            if (d > (int64_t(1) << 20))  // would not fit the int fields of Config
                return Status::Error("tensor '" + std::string(name) + "' has an implausible shape " +
                                     shape_to_string(tensors.at(name).shape));
    Config c;
    const auto &fs = (*first)->shape;
    c.channel = static_cast<int>(fs[0]);
    c.in_planes = static_cast<int>(fs[1]);
    c.out_planes = static_cast<int>((*final_w)->shape[0]);
    // First/last kernels are k + 2 for k > 1, else 1.
    auto block_kernel = [](int64_t ke) { return static_cast<int>(ke == 1 ? 1 : ke - 2); };
    c.kernel_h = block_kernel(fs[2]);
    c.kernel_w = block_kernel(fs[3]);
    if (fs[2] != 1 && fs[2] < 5) return Status::Error("conv_first.weight has kernel height " + std::to_string(fs[2]) + ": expected 1 or k + 2 >= 5");
    if (fs[3] != 1 && fs[3] < 5) return Status::Error("conv_first.weight has kernel width " + std::to_string(fs[3]) + ": expected 1 or k + 2 >= 5");

    const std::set<int> encoder = indices_after(tensors, "conv_down_list.");
    if (encoder.empty()) return Status::Error("cannot infer the configuration: no conv_down_list.* tensors");
    const int depth = *encoder.rbegin() + 2;
    // Refuse before the per-level scan below, which would otherwise run up to 10^6 times.
    if (depth > 20)
        return Status::Error("cannot infer the configuration: conv_down_list." + std::to_string(depth - 2) +
                             " means a depth of " + std::to_string(depth) + ", at most 20 is supported");
    for (int j = 0; j + 1 < depth; ++j) {
        const std::set<int> blocks = indices_after(tensors, "conv_down_list." + std::to_string(j) + ".conv_list.");
        c.layers.push_back(blocks.empty() ? 1 : *blocks.rbegin() + 2);
    }
    const std::set<int> middle = indices_after(tensors, "conv_middle_up.conv_list.");
    c.layers.push_back(middle.empty() ? 1 : *middle.rbegin() + 2);
    c.block = BlockKind::Plain;
    for (const auto &[name, t] : tensors)
        if (name.find(".conv3.") != std::string::npos) c.block = BlockKind::Bottleneck;
    // A UNet2d's first decoder stack reads its input joined with a skip of as many channels: its
    // first block normalizes twice the middle stack's output channels (unet2d spec).
    const std::string first_norm = std::string("conv_up_list.0.") +
                                   (c.layers[depth - 2] > 1 ? "conv_list.0" : "conv_scale") + ".conv1.0.weight";
    auto joined = tensors.find(first_norm);
    if (joined != tensors.end() && joined->second.rank() == 1 &&
        joined->second.shape[0] == 2 * (int64_t(c.channel) << (depth - 2)))
        c.arch = Arch::UNet2d;
    Status ok = c.validate();
    if (!ok) return ok.with_context("configuration inferred from the tensors");
    return c;
}

Status check_tensors(const graph::Graph &g, const std::map<std::string, Tensor> &tensors,
                     const std::string &config_origin) {
    std::vector<std::string> missing, wrong, unexpected;
    std::set<std::string> expected;
    for (const graph::ParamSpec &p : g.params) {
        expected.insert(p.name);
        auto it = tensors.find(p.name);
        if (it == tensors.end()) missing.push_back(p.name + " " + shape_to_string(p.shape));
        else if (it->second.shape != p.shape)
            wrong.push_back(p.name + ": expected " + shape_to_string(p.shape) + ", got " +
                            shape_to_string(it->second.shape));
    }
    for (const auto &[name, t] : tensors)
        if (!expected.count(name)) unexpected.push_back(name + " " + shape_to_string(t.shape));
    if (missing.empty() && wrong.empty() && unexpected.empty()) return Status::Ok();

    auto list = [](const char *what, const std::vector<std::string> &items) {
        if (items.empty()) return std::string();
        std::string s = std::to_string(items.size()) + " " + what + ": ";
        for (size_t i = 0; i < items.size() && i < 5; ++i) s += (i ? "; " : "") + items[i];
        if (items.size() > 5) s += "; ...";
        return s + ". ";
    };
    std::string msg = "the tensors do not match " + g.config.to_string() + " (" + config_origin + "): " +
                      list("with the wrong shape", wrong) + list("missing", missing) + list("unexpected", unexpected);
    while (!msg.empty() && msg.back() == ' ') msg.pop_back();
    return Status::Error(msg);
}

}  // namespace ae2d::model
