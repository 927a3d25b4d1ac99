// The output modes of include/ae2d/output_mode.h as graph stages around the AE2d graph, so that
// every executor (CPU, CUDA, OpenCL) runs them like any other stage.
#pragma once

#include "ae2d/output_mode.h"
#include "ae2d/status.h"
#include "ae2d/tensor.h"
#include "graph/graph.h"

#include <string>
#include <unordered_map>

namespace ae2d::graph {

// Rewrites a built AE2d graph (builder.h) for `mode`. Normalized adds, before conv_first,
//   InstanceNormStats(input; gamma 1, beta 0) -> NormPReLU(slope 1)   (z = (x - m) / s)
// which the fusion pass folds into conv_first, and after conv_final
//   NormInverse(output, the same statistics)                          (y = m + s * f)
// The constant gamma, beta and slope tensors it reads are added to `weights` under names
// starting with "__output__." (never state_dict keys), not to graph.params: the file's tensors
// are checked against the network alone and the parameter count stays the network's.
// Raw leaves the graph as it is. Fails when the mode needs in_planes == out_planes.
Status apply_output_mode(Graph &g, OutputMode mode, std::unordered_map<std::string, Tensor> &weights);

}  // namespace ae2d::graph
