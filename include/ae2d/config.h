// The AE2d configuration: the arguments of mdnc.modules.resnet.AE2d.
#pragma once

#include <string>
#include <vector>

#include "ae2d/status.h"

namespace ae2d {

enum class BlockKind { Plain, Bottleneck };

struct Config {
    int channel = 64;
    std::vector<int> layers;            // at least 2 positive ints; len = depth
    BlockKind block = BlockKind::Bottleneck;
    int kernel_h = 3, kernel_w = 3;     // kernel_size: int k gives (k, k); both odd
    int in_planes = 1, out_planes = 1;

    int depth() const { return static_cast<int>(layers.size()); }
    // Convolutional layers along the depth (the module's `nlayers`).
    int nlayers() const;
    // Every rule of the spec that a configuration must satisfy; the message names the bad field.
    Status validate() const;
    // "AE2d(64, [2, 2, 2, 2, 3], block='bottleneck', kernel_size=3, in_planes=3, out_planes=1)"
    std::string to_string() const;
};

// "plain" / "bottleneck", case-insensitive as in mdnc.
Expected<BlockKind> parse_block_kind(const std::string &text);
const char *block_kind_name(BlockKind kind);

}  // namespace ae2d
