// The network configuration: the arguments of mdnc.modules.resnet.AE2d or UNet2d (the same
// constructor; UNet2d adds skip connections between the encoder and decoder stacks).
#pragma once

#include <string>
#include <vector>

#include "ae2d/status.h"

namespace ae2d {

enum class BlockKind { Plain, Bottleneck };
enum class Arch { AE2d, UNet2d };

struct Config {
    Arch arch = Arch::AE2d;
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
    // (or "UNet2d(...)")
    std::string to_string() const;
};

// "plain" / "bottleneck", case-insensitive as in mdnc.
Expected<BlockKind> parse_block_kind(const std::string &text);
const char *block_kind_name(BlockKind kind);
// "AE2d" / "UNet2d", case-insensitive.
Expected<Arch> parse_arch(const std::string &text);
const char *arch_name(Arch arch);

}  // namespace ae2d
