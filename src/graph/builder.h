// Builds the AE2d graph from a configuration, following the spec module by module, and
// records the parameter list and the summary rows on the way.
#pragma once

#include "ae2d/status.h"
#include "graph/graph.h"

namespace ae2d::graph {

Expected<Graph> build_ae2d(const Config &config);

}  // namespace ae2d::graph
