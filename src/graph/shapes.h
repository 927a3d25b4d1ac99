// Shape inference: every value's shape for one input shape, with the checks PyTorch would
// fail on (channels, sizes too small for a convolution or an instance norm).
#pragma once

#include "ae2d/status.h"
#include "graph/graph.h"

namespace ae2d::graph {

Status infer_shapes(Graph &g, const Shape4 &input);

// The smallest accepted input along each axis when the other axis is 1: the deepest
// instance norm must see more than one element.
Shape4 smallest_input(const Config &config);

}  // namespace ae2d::graph
