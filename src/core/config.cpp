#include "ae2d/config.h"

#include <algorithm>
#include <cctype>
#include <sstream>
#include <utility>

namespace ae2d {

int Config::nlayers() const {
    const int d = block == BlockKind::Bottleneck ? 3 : 2;
    int total = 2;  // conv_first and conv_final
    for (int i = 0; i + 1 < depth(); ++i) total += 2 * d * layers[i];
    if (depth() > 0) total += d * layers.back();
    return total;
}

Status Config::validate() const {
    if (channel < 1) return Status::Error("channel must be positive, got " + std::to_string(channel));
    if (layers.size() < 2)
        return Status::Error("layers needs at least 2 entries (the depth), got " + std::to_string(layers.size()));
    for (size_t i = 0; i < layers.size(); ++i) {
        if (layers[i] < 1)
            return Status::Error("layers[" + std::to_string(i) + "] must be positive, got " + std::to_string(layers[i]));
    }
    if (kernel_h < 1 || kernel_w < 1)
        return Status::Error("kernel_size must be positive, got (" + std::to_string(kernel_h) + ", " +
                             std::to_string(kernel_w) + ")");
    if (kernel_h % 2 == 0 || kernel_w % 2 == 0)
        return Status::Error("kernel_size must be odd on both axes, got (" + std::to_string(kernel_h) + ", " +
                             std::to_string(kernel_w) +
                             "): an even kernel makes the residual add of the original module fail");
    if (arch == Arch::UNet2d)
        for (int j = 1; j + 1 < depth(); ++j)
            if (layers[j] == 1)
                return Status::Error("layers[" + std::to_string(j) +
                                     "] = 1 cannot run as a UNet2d: encoder stack " + std::to_string(j) +
                                     " would export its own input (half the channels decoder stack " +
                                     std::to_string(depth() - 2 - j) +
                                     " joins), and the original module fails; layers[1] to layers[n-2] must be "
                                     "at least 2");
    if (in_planes < 1) return Status::Error("in_planes must be positive, got " + std::to_string(in_planes));
    if (out_planes < 1) return Status::Error("out_planes must be positive, got " + std::to_string(out_planes));
    // Sanity caps far above any real model. They keep parameter counts and shapes well inside
    // int64 and stop a hostile configuration from building a graph of millions of stages.
    if (depth() > 20) return Status::Error("layers has " + std::to_string(depth()) + " entries, at most 20 are supported");
    if ((static_cast<long long>(channel) << (depth() - 1)) > (1LL << 16))
        return Status::Error("channel * 2^(depth-1) = " + std::to_string(static_cast<long long>(channel) << (depth() - 1)) +
                             " is unreasonably large (at most 65536 channels are supported)");
    long long blocks = 0;
    for (int m : layers) blocks += m;
    if (blocks > 1024)
        return Status::Error("layers holds " + std::to_string(blocks) +
                             " residual blocks in all, unreasonably many (at most 1024 are supported)");
    if (kernel_h > 255 || kernel_w > 255)
        return Status::Error("kernel_size (" + std::to_string(kernel_h) + ", " + std::to_string(kernel_w) +
                             ") is unreasonably large (at most 255 is supported)");
    return Status::Ok();
}

std::string Config::to_string() const {
    std::ostringstream s;
    s << arch_name(arch) << "(" << channel << ", [";
    for (size_t i = 0; i < layers.size(); ++i) s << (i ? ", " : "") << layers[i];
    s << "], block='" << block_kind_name(block) << "', kernel_size=";
    if (kernel_h == kernel_w) s << kernel_h;
    else s << "(" << kernel_h << ", " << kernel_w << ")";
    s << ", in_planes=" << in_planes << ", out_planes=" << out_planes << ")";
    return s.str();
}

namespace {

// The enumerator of `names` (as mdnc spells them) that `text` names, case-insensitively.
template<typename Enum, size_t N>
Expected<Enum> parse_name(const char *what, const std::string &text, const std::pair<const char *, Enum> (&names)[N]) {
    auto lower = [](std::string s) {
        std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return std::tolower(ch); });
        return s;
    };
    std::string choices;
    for (const auto &[name, value] : names) {
        if (lower(name) == lower(text)) return value;
        choices += std::string(choices.empty() ? "" : " or ") + "'" + name + "'";
    }
    return Status::Error(std::string(what) + " must be " + choices + ", got '" + text + "'");
}

const std::pair<const char *, BlockKind> kBlockNames[] = {{"plain", BlockKind::Plain}, {"bottleneck", BlockKind::Bottleneck}};
const std::pair<const char *, Arch> kArchNames[] = {{"AE2d", Arch::AE2d}, {"UNet2d", Arch::UNet2d}};

}  // namespace

Expected<BlockKind> parse_block_kind(const std::string &text) { return parse_name("block", text, kBlockNames); }

const char *block_kind_name(BlockKind kind) { return kind == BlockKind::Plain ? "plain" : "bottleneck"; }

Expected<Arch> parse_arch(const std::string &text) { return parse_name("arch", text, kArchNames); }

const char *arch_name(Arch arch) { return arch == Arch::UNet2d ? "UNet2d" : "AE2d"; }

}  // namespace ae2d
