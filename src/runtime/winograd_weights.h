// The packed transformed weights (G g G^T) that the Winograd variants of the conv stages take
// instead of the 3x3 weights: made by the winograd_weights stage on first use of each weight
// tensor and kept for the model's lifetime, so that a forward pass only reads them.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "ae2d/status.h"
#include "ae2d/tensor.h"

namespace ae2d::runtime {

// packed (PyTorch order (6, 6, ci, co), Halide (co, ci, ex, ey)) of a (co, ci, 3, 3) tensor.
Expected<Tensor> pack_winograd_weights(const Tensor &weights);

// Packed weights by parameter name, shared by every plan and thread of a model. Each is 4x its
// 3x3 weights, so only the tensors of stages that run a Winograd variant are packed.
class WinogradWeightCache {
public:
    // The packed form of `weights`, the parameter `name`; made on the first call for the name.
    // A hit takes a lock and a lookup: it allocates nothing.
    Expected<const Tensor *> get(const std::string &name, const Tensor &weights) const;
    // Bytes held by the packed tensors made so far.
    int64_t bytes() const;

private:
    mutable std::mutex mutex_;
    mutable std::unordered_map<std::string, std::unique_ptr<const Tensor>> packed_;  // stable addresses
};

}  // namespace ae2d::runtime
