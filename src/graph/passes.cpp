#include "graph/passes.h"

#include <algorithm>

namespace ae2d::graph {

namespace {

// The index of the stage that writes each value (-1: none, the input).
std::vector<int> producers(const Graph &g) {
    std::vector<int> producer(g.values.size(), -1);
    for (size_t i = 0; i < g.stages.size(); ++i) producer[g.stages[i].output] = static_cast<int>(i);
    return producer;
}

void remove_marked(Graph &g, const std::vector<bool> &dead) {
    std::vector<Stage> kept;
    for (size_t i = 0; i < g.stages.size(); ++i)
        if (!dead[i]) kept.push_back(std::move(g.stages[i]));
    g.stages = std::move(kept);
}

}  // namespace

std::vector<int> count_readers(const Graph &g) {
    std::vector<int> readers(g.values.size(), 0);
    for (const Stage &s : g.stages)
        for (int v : s.inputs) ++readers[v];
    ++readers[g.output];
    return readers;
}

void elide_identity_stages(Graph &g) {
    std::vector<bool> dead(g.stages.size(), false);
    for (size_t i = 0; i < g.stages.size(); ++i) {
        const Stage &s = g.stages[i];
        const bool identity =
            (s.kind == StageKind::CenterCrop || s.kind == StageKind::UpsampleBilinear) &&
            g.values[s.output].shape == g.values[s.inputs[0]].shape;
        // The graph output must stay a stage's own buffer; it never is a crop or up-sampling.
        if (identity && s.output != g.output) {
            g.replace_reads(s.output, s.inputs[0]);
            dead[i] = true;
        }
    }
    remove_marked(g, dead);
}

void convolve_before_upsampling(Graph &g) {
    const std::vector<int> readers = count_readers(g), producer = producers(g);
    for (Stage &conv : g.stages) {
        const bool pointwise = conv.kind == StageKind::Conv2d && conv.bias.empty() && conv.kernel_h == 1 &&
                               conv.kernel_w == 1 && conv.stride_h == 1 && conv.stride_w == 1;
        if (!pointwise) continue;
        const int up_value = conv.inputs[0];
        const int p = producer[up_value];
        if (p < 0 || g.stages[p].kind != StageKind::UpsampleBilinear || readers[up_value] != 1) continue;
        Stage &up = g.stages[p];
        // The conv now reads the up-sampling's input and writes a new, small value; the
        // up-sampling reads that and writes the conv's old output. Stage order is kept: the
        // up-sampling's slot (earlier) now holds the conv.
        const Shape4 low = g.values[up.inputs[0]].shape;  // a copy: add_value may move values
        const int small_value = g.add_value(ValueKind::Activation, g.values[conv.output].name + " before up-sampling");
        g.values[small_value].shape = {low.n, g.values[conv.output].shape.c, low.h, low.w};
        Stage pointwise_conv = conv, upsampling = up;
        pointwise_conv.inputs = {up.inputs[0]};
        pointwise_conv.output = small_value;
        upsampling.inputs = {small_value};
        upsampling.output = conv.output;
        up = std::move(pointwise_conv);
        conv = std::move(upsampling);
    }
}

void fuse_stages(Graph &g) {
    const std::vector<int> readers = count_readers(g), producer = producers(g);
    std::vector<bool> dead(g.stages.size(), false);

    auto single_reader = [&](int v) { return readers[v] == 1 && v != g.output; };
    for (size_t i = 0; i < g.stages.size(); ++i) {
        Stage &s = g.stages[i];
        if (s.kind == StageKind::Conv2d && s.bias.empty()) {
            const int p = producer[s.inputs[0]];
            if (p < 0 || dead[p] || !single_reader(s.inputs[0])) continue;
            Stage &src = g.stages[p];
            if (src.kind == StageKind::NormPReLU) {
                s.kind = StageKind::NormPReLUConv2d;
            } else if (src.kind == StageKind::NormPReLUUpsample && s.stride_h == 1 && s.stride_w == 1) {
                s.kind = StageKind::NormPReLUUpsampleConv2d;
                s.factor_h = src.factor_h, s.factor_w = src.factor_w;
            } else {
                continue;
            }
            s.inputs = src.inputs;
            s.slope = src.slope;
            dead[p] = true;
        } else if (s.kind == StageKind::UpsampleBilinear) {
            const int p = producer[s.inputs[0]];
            if (p < 0 || dead[p] || !single_reader(s.inputs[0]) || g.stages[p].kind != StageKind::NormPReLU)
                continue;
            const Stage &src = g.stages[p];
            s.kind = StageKind::NormPReLUUpsample;
            s.inputs = src.inputs;
            s.slope = src.slope;
            dead[p] = true;
        }
    }
    remove_marked(g, dead);
}

void join_in_place(Graph &g) {
    const std::vector<int> producer = producers(g);
    std::vector<bool> dead(g.stages.size(), false);
    for (size_t i = 0; i < g.stages.size(); ++i) {
        Stage &join = g.stages[i];
        if (join.kind != StageKind::CropConcat) continue;
        const Shape4 joined = g.values[join.output].shape;
        const int64_t offsets[2] = {0, g.values[join.inputs[0]].shape.c};
        bool in_place[2];
        for (int k = 0; k < 2; ++k) {
            const int v = join.inputs[k];
            const Shape4 &s = g.values[v].shape;
            in_place[k] = s.h == joined.h && s.w == joined.w && producer[v] >= 0 && v != g.output &&
                          g.values[v].part_of < 0 && join.inputs[0] != join.inputs[1];
        }
        for (int k = 0; k < 2; ++k) {
            if (!in_place[k]) continue;
            g.values[join.inputs[k]].part_of = join.output;
            g.values[join.inputs[k]].channel_offset = offsets[k];
        }
        if (in_place[0] && in_place[1]) {
            dead[i] = true;
        } else if (in_place[0] || in_place[1]) {
            const int k = in_place[0] ? 1 : 0;  // the input still copied
            const int slice = g.add_value(ValueKind::Activation, g.values[join.output].name + " (slice)");
            g.values[slice].shape = {joined.n, g.values[join.inputs[k]].shape.c, joined.h, joined.w};
            g.values[slice].part_of = join.output;
            g.values[slice].channel_offset = offsets[k];
            join.kind = StageKind::CenterCrop;
            join.inputs = {join.inputs[k]};
            join.output = slice;
        }
    }
    remove_marked(g, dead);
}

}  // namespace ae2d::graph
