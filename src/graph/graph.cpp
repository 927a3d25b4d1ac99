#include "graph/graph.h"

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

}  // namespace ae2d::graph
