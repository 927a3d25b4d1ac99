// Rewrites of a shaped graph before execution. Values stay in place (the summary rows refer
// to them); only stages are removed or merged.
#pragma once

#include "graph/graph.h"

namespace ae2d::graph {

// Drops stages that copy their input unchanged for this shape: a center crop to the same
// size and an up-sampling by 1 x 1 (exact under align_corners=True). Consumers read the input.
void elide_identity_stages(Graph &g);

// Folds a unit's NormPReLU (+ UpsampleBilinear) into the convolution that consumes it, when
// nothing else reads the intermediate: NormPReLUConv2d, NormPReLUUpsampleConv2d.
// A NormPReLU feeding only an up-sampling becomes NormPReLUUpsample.
void fuse_stages(Graph &g);

// How many stages read each value (the graph output counts as a reader).
std::vector<int> count_readers(const Graph &g);

}  // namespace ae2d::graph
