// Conv weights packed for the variants that take them instead of PyTorch's layout, made by an AOT
// packing stage on first use of each weight tensor and kept for the model's lifetime, so that a
// forward pass only reads them:
//   Winograd        G g G^T of a 3x3 conv in blocks of 16 output channels, (ceil(co / 16), 36,
//                   ci, 16) in PyTorch order, i.e. Halide (co % 16, ci, ex + 6 ey, co / 16) (the
//                   "wino", "wplane" and "wcvec" variants; winograd_weights stage)
//   Winograd2x2     the same for F(2x2, 3x3): (ceil(co / 16), 16, ci, 16) (the "w2cvec" variant)
//   ChannelBlocked  blocks of 16 output channels innermost, (ceil(co / 16), ci, kh * kw, 16) in
//                   PyTorch order (the "cvec" variant; channel_blocked_weights stage)
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "ae2d/status.h"
#include "ae2d/tensor.h"

namespace ae2d::runtime {

// AsIs: PyTorch's layout, nothing packed (the variants that take the weights as they are).
enum class WeightPacking { AsIs, Winograd, Winograd2x2, ChannelBlocked };
constexpr int kWeightPackings = 4;

// The packed form of a (co, ci, kh, kw) weight tensor (Winograd ones: 3x3 only; not AsIs).
Expected<Tensor> pack_weights(const Tensor &weights, WeightPacking packing);

// Packed weights by parameter name and packing, shared by every plan and thread of a model. Only
// the tensors of stages that run such a variant are packed (Winograd's are 4x the weights).
class PackedWeightCache {
public:
    // The packed form of `weights`, the parameter `name`; made on the first call for the pair.
    // A hit takes a lock and a lookup: it allocates nothing.
    Expected<const Tensor *> get(const std::string &name, WeightPacking packing, const Tensor &weights) const;
    // Bytes held by the packed tensors made so far.
    int64_t bytes() const;

private:
    mutable std::mutex mutex_;
    // One map per packing (stable addresses).
    mutable std::unordered_map<std::string, std::unique_ptr<const Tensor>> packed_[kWeightPackings];
};

}  // namespace ae2d::runtime
