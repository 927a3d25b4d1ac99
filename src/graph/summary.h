// The torchsummary table of the seed document, from the graph's summary rows.
#pragma once

#include <string>

#include "ae2d/status.h"
#include "graph/graph.h"

namespace ae2d::graph {

// `g` must be shaped (infer_shapes) for a batch of one; `input` is that input's shape.
std::string format_summary(const Graph &g, const Shape4 &input);

}  // namespace ae2d::graph
