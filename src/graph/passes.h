// Rewrites of a shaped graph before execution. Values stay in place (the summary rows refer
// to them); stages are removed, merged or reordered, and a reordering may add values.
#pragma once

#include "graph/graph.h"

namespace ae2d::graph {

// Drops stages that copy their input unchanged for this shape: a center crop to the same
// size and an up-sampling by 1 x 1 (exact under align_corners=True). Consumers read the input.
void elide_identity_stages(Graph &g);

// A decoder shortcut up-samples, then convolves 1x1 (spec: Shortcut). Both are linear, the
// up-sampling per channel and the 1x1 conv per pixel, so they commute: the conv runs first, on
// the 4x smaller input, and the up-sampling then interpolates its (for the decoder, half as
// many) channels. Exact in real arithmetic; in float32 only the rounding differs. Applies to
// a bias-free 1x1 stride-1 conv that is the up-sampling's only reader; adds one value each.
void convolve_before_upsampling(Graph &g);

// Folds a unit's NormPReLU (+ UpsampleBilinear) into the convolution that consumes it, when
// nothing else reads the intermediate: NormPReLUConv2d, NormPReLUUpsampleConv2d.
// A NormPReLU feeding only an up-sampling becomes NormPReLUUpsample.
void fuse_stages(Graph &g);

// UNet2d's join without a copy (CPU): an input of a CropConcat that needs no crop becomes a
// channel slice of the joined value (Value::part_of), so its producer writes it in place and
// its readers read it there. A join with both inputs in place is removed; with one, it becomes
// a CenterCrop of the other into its slice. Runs on a shaped, fused graph.
void join_in_place(Graph &g);

// How many stages read each value (the graph output counts as a reader).
std::vector<int> count_readers(const Graph &g);

}  // namespace ae2d::graph
