#include "graph/output_transform.h"

#include <utility>

namespace ae2d {

const char *output_mode_name(OutputMode mode) {
    switch (mode) {
    case OutputMode::Raw: return "raw";
    case OutputMode::Normalized: return "normalized";
    }
    return "?";
}

const char *output_mode_formula(OutputMode mode) {
    switch (mode) {
    case OutputMode::Raw: return "y = f(x), the network's output";
    case OutputMode::Normalized:
        return "y = m + s * f((x - m) / s), m, s: mean and sqrt(var + 1e-5) of each input plane";
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
    const std::string v = it->second.size() > 60 ? it->second.substr(0, 57) + "..." : it->second;
    return Status::Error("metadata 'output' is '" + v + "', expected 'raw' or 'normalized'");
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

    // y = m + s * f.
    Stage inverse;
    inverse.kind = StageKind::NormInverse;
    inverse.module = "output.denormalize";
    inverse.inputs = {g.output, stats.output};
    inverse.output = g.add_value(ValueKind::Activation, "output");

    g.stages.insert(g.stages.begin(), {std::move(stats), std::move(norm)});
    g.output = inverse.output;
    g.stages.push_back(std::move(inverse));
    return Status::Ok();
}

}  // namespace graph
}  // namespace ae2d
