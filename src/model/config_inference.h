// Where a model's configuration comes from: the safetensors metadata, or the tensors alone.
#pragma once

#include <map>
#include <string>

#include "ae2d/config.h"
#include "ae2d/status.h"
#include "ae2d/tensor.h"
#include "graph/graph.h"

namespace ae2d::model {

// The configuration keys of the metadata; Expected<std::nullopt-like>: `found` is false when
// the metadata holds none of them (a plain save_file(state_dict)).
struct MetadataConfig {
    bool found = false;
    bool arch_found = false;  // "arch" given (alone, it still names the family of inferred tensors)
    Config config;
};
Expected<MetadataConfig> config_from_metadata(const std::map<std::string, std::string> &metadata);

// Reads the configuration off the tensor names and shapes of an AE2d or UNet2d state_dict.
Expected<Config> infer_config(const std::map<std::string, Tensor> &tensors);

// Every parameter of the graph present with its shape, and nothing else.
Status check_tensors(const graph::Graph &g, const std::map<std::string, Tensor> &tensors,
                     const std::string &config_origin);

}  // namespace ae2d::model
