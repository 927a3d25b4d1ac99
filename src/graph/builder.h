// Builds the graph of an AE2d or UNet2d configuration, following the specs module by module
// (UNet2d: AE2d plus a join per decoder stack), and records the parameter list and the summary
// rows on the way.
#pragma once

#include "ae2d/status.h"
#include "graph/graph.h"

namespace ae2d::graph {

Expected<Graph> build_network(const Config &config);

}  // namespace ae2d::graph
