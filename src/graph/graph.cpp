#include "graph/graph.h"

#include <utility>

namespace ae2d::graph {

const char *stage_kind_name(StageKind kind) {
    switch (kind) {
    case StageKind::Conv2d: return "Conv2d";
    case StageKind::InstanceNormStats: return "InstanceNormStats";
    case StageKind::NormPReLU: return "NormPReLU";
    case StageKind::UpsampleBilinear: return "UpsampleBilinear";
    case StageKind::NormPReLUUpsample: return "NormPReLUUpsample";
    case StageKind::ResidualAdd: return "ResidualAdd";
    case StageKind::NormResidualAdd: return "NormResidualAdd";
    case StageKind::CenterCrop: return "CenterCrop";
    case StageKind::NormPReLUConv2d: return "NormPReLUConv2d";
    case StageKind::NormPReLUUpsampleConv2d: return "NormPReLUUpsampleConv2d";
    case StageKind::CropConcat: return "CropConcat";
    case StageKind::NormInverse: return "NormInverse";
    }
    return "?";
}

int64_t Graph::num_parameters() const {
    int64_t total = 0;
    for (const ParamSpec &p : params) {
        int64_t n = 1;
        for (int64_t d : p.shape) n *= d;
        total += n;
    }
    return total;
}

int Graph::add_value(ValueKind kind, std::string name) {
    Value v;
    v.kind = kind;
    v.name = std::move(name);
    values.push_back(std::move(v));
    return static_cast<int>(values.size()) - 1;
}

void Graph::replace_reads(int from, int to) {
    for (Stage &s : stages)
        for (int &v : s.inputs)
            if (v == from) v = to;
    if (output == from) output = to;
}

}  // namespace ae2d::graph
