#include "graph/output_transform.h"

#include <utility>

namespace ae2d {

const char *output_mode_name(OutputMode mode) {
    switch (mode) {
    case OutputMode::Raw: return "raw";
    case OutputMode::Normalized: return "normalized";
    case OutputMode::Residual: return "residual";
    }
    return "?";
}

const char *output_mode_formula(OutputMode mode) {
    switch (mode) {
    case OutputMode::Raw: return "y = f(x), the network's output";
    case OutputMode::Normalized:
        return "y = m + s * f((x - m) / s), m, s: mean and sqrt(var + 1e-5) of each input plane";
    case OutputMode::Residual:
        return "y = x - s * f((x - m) / s), m, s: mean and sqrt(var + 1e-5) of each input plane";
    }
    return "?";
}

std::string output_mode_line(OutputMode mode) {
    if (mode == OutputMode::Raw) return "";
    return std::string("Output: ") + output_mode_name(mode) + ", " + output_mode_formula(mode) + "\n";
}

Expected<OutputMode> output_mode_from_metadata(const std::map<std::string, std::string> &metadata) {
    auto it = metadata.find("output");
    if (it == metadata.end() || it->second == "raw") return OutputMode::Raw;
    if (it->second == "normalized") return OutputMode::Normalized;
    if (it->second == "residual") return OutputMode::Residual;
    const std::string v = it->second.size() > 60 ? it->second.substr(0, 57) + "..." : it->second;
    return Status::Error("metadata 'output' is '" + v + "', expected 'raw', 'normalized' or 'residual'");
}

namespace graph {

namespace {

Tensor filled(int64_t n, float v) {
    Tensor t({n});
    for (float &x : t.data) x = v;
    return t;
}

}  // namespace

Status apply_output_mode(Graph &g, OutputMode mode, std::unordered_map<std::string, Tensor> &weights) {
    if (mode == OutputMode::Raw) return Status::Ok();
    const Config &c = g.config;
    if (c.in_planes != c.out_planes)
        return Status::Error(std::string("metadata 'output' is '") + output_mode_name(mode) +
                             "', which needs in_planes == out_planes; the model has in_planes = " +
                             std::to_string(c.in_planes) + ", out_planes = " + std::to_string(c.out_planes));
    const int64_t planes = c.in_planes;
    const std::string p = "__output__.";
    weights[p + "norm.weight"] = filled(planes, 1.0f);
    weights[p + "norm.bias"] = filled(planes, 0.0f);
    weights[p + "prelu.weight"] = filled(planes, 1.0f);  // slope 1: the identity

    // z = (x - m) / s, read by every stage that read the input (conv_first).
    Stage stats;
    stats.kind = StageKind::InstanceNormStats;
    stats.module = "output.normalize";
    stats.inputs = {g.input};
    stats.gamma = p + "norm.weight";
    stats.beta = p + "norm.bias";
    stats.output = g.add_value(ValueKind::NormCoeffs, stats.module);
    Stage norm;
    norm.kind = StageKind::NormPReLU;
    norm.module = "output.normalize";
    norm.inputs = {g.input, stats.output};
    norm.slope = p + "prelu.weight";
    norm.output = g.add_value(ValueKind::Activation, "normalized input");
    g.replace_reads(g.input, norm.output);

    // Residual: x - s * f = m + s * (z + (-f)), so the network's last convolution runs with its
    // weight and bias negated (in the model's own copy of the tensors) and its output is added to
    // z before the statistics go back.
    int normalized_output = g.output;
    if (mode == OutputMode::Residual) {
        const Stage *final_conv = nullptr;
        for (const Stage &s : g.stages)
            if (s.output == g.output && s.kind == StageKind::Conv2d) final_conv = &s;
        if (final_conv == nullptr)
            return Status::Error("the output mode 'residual' needs a network that ends in a convolution");
        for (const std::string &name : {final_conv->weight, final_conv->bias}) {
            auto it = weights.find(name);
            if (it == weights.end()) continue;  // a caller that reads no weights (a graph dump)
            for (float &v : it->second.data) v = -v;
        }
        Stage add;
        add.kind = StageKind::ResidualAdd;
        add.module = "output.residual";
        add.inputs = {norm.output, g.output};
        add.output = g.add_value(ValueKind::Activation, "normalized input - f");
        normalized_output = add.output;
        g.stages.push_back(std::move(add));
    }

    // y = m + s * (what the network made of z).
    Stage inverse;
    inverse.kind = StageKind::NormInverse;
    inverse.module = "output.denormalize";
    inverse.inputs = {normalized_output, stats.output};
    inverse.output = g.add_value(ValueKind::Activation, "output");

    g.stages.insert(g.stages.begin(), {std::move(stats), std::move(norm)});
    g.output = inverse.output;
    g.stages.push_back(std::move(inverse));
    return Status::Ok();
}

}  // namespace graph
}  // namespace ae2d
