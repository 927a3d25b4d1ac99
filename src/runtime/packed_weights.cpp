#include "runtime/packed_weights.h"

#include <new>

#include "HalideBuffer.h"
#include "ae2d_channel_blocked_weights.h"
#include "ae2d_winograd2_weights.h"
#include "ae2d_winograd_weights.h"
#include "runtime/halide_errors.h"
#include "runtime/huge_pages.h"

namespace ae2d::runtime {

namespace {

constexpr int64_t kChannelBlock = 16;  // ops::kChannelBlock (generators/ops.h)

}  // namespace

Expected<Tensor> pack_weights(const Tensor &weights, WeightPacking packing) {
    if (packing == WeightPacking::AsIs) return Status::Error("pack_weights: AsIs weights are not packed");
    const bool winograd = packing != WeightPacking::ChannelBlocked;
    const char *what = winograd ? "Winograd weights" : "channel-blocked weights";
    if (weights.rank() != 4 || (winograd && (weights.shape[2] != 3 || weights.shape[3] != 3)))
        return Status::Error(std::string(what) + ": need a (co, ci, " + (winograd ? "3, 3" : "kh, kw") +
                             ") tensor, got " + shape_to_string(weights.shape));
    const int64_t co = weights.shape[0], ci = weights.shape[1], kh = weights.shape[2], kw = weights.shape[3];
    const int64_t blocks = (co + kChannelBlock - 1) / kChannelBlock;
    const int64_t points = packing == WeightPacking::Winograd ? 36 : packing == WeightPacking::Winograd2x2 ? 16 : 0;
    const std::vector<int64_t> shape = winograd ? std::vector<int64_t>{blocks, points, ci, kChannelBlock}
                                                : std::vector<int64_t>{blocks, ci, kh * kw, kChannelBlock};
    Tensor packed;
    packed.shape = shape;
    try {
        packed.data = zeros_on_huge_pages(size_t(Tensor::numel_of(shape)));
    } catch (const std::bad_alloc &) {
        return Status::Error(std::string(what) + ": out of memory for " + shape_to_string(shape));
    }
    Halide::Runtime::Buffer<const float> in(weights.data.data(), int(kw), int(kh), int(ci), int(co));
    Halide::Runtime::Buffer<float> out(packed.data.data(), int(shape[3]), int(shape[2]), int(shape[1]), int(shape[0]));
    const int code = packing == WeightPacking::Winograd      ? ae2d_winograd_weights(in, out)
                     : packing == WeightPacking::Winograd2x2 ? ae2d_winograd2_weights(in, out)
                                                             : ae2d_channel_blocked_weights(in, out);
    if (code != 0) return Status::Error(std::string(what) + ": packing failed: " + take_last_halide_error());
    return packed;
}

Expected<const Tensor *> PackedWeightCache::get(const std::string &name, WeightPacking packing,
                                                const Tensor &weights) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto &packed = packed_[int(packing)];
    auto it = packed.find(name);
    if (it != packed.end()) return it->second.get();
    auto made = pack_weights(weights, packing);
    if (!made) return made.status().with_context("parameter " + name);
    auto [added, ok] = packed.emplace(name, std::make_unique<const Tensor>(std::move(*made)));
    (void)ok;
    return added->second.get();
}

int64_t PackedWeightCache::bytes() const {
    std::lock_guard<std::mutex> lock(mutex_);
    int64_t total = 0;
    for (const auto &packed : packed_)
        for (const auto &[name, t] : packed) total += t->numel() * int64_t(sizeof(float));
    return total;
}

}  // namespace ae2d::runtime
