#include "runtime/winograd_weights.h"

#include <new>

#include "HalideBuffer.h"
#include "ae2d_winograd_weights.h"
#include "runtime/halide_errors.h"

namespace ae2d::runtime {

Expected<Tensor> pack_winograd_weights(const Tensor &weights) {
    if (weights.rank() != 4 || weights.shape[2] != 3 || weights.shape[3] != 3)
        return Status::Error("Winograd weights: need a (co, ci, 3, 3) tensor, got " + shape_to_string(weights.shape));
    const int co = int(weights.shape[0]), ci = int(weights.shape[1]);
    const std::vector<int64_t> shape{6, 6, ci, co};
    Tensor packed;
    try {
        packed = Tensor(shape);
    } catch (const std::bad_alloc &) {
        return Status::Error("Winograd weights: out of memory for " + shape_to_string(shape));
    }
    Halide::Runtime::Buffer<const float> in(weights.data.data(), 3, 3, ci, co);
    Halide::Runtime::Buffer<float> out(packed.data.data(), co, ci, 6, 6);
    const int code = ae2d_winograd_weights(in, out);
    if (code != 0) return Status::Error("Winograd weight transform failed: " + take_last_halide_error());
    return packed;
}

Expected<const Tensor *> WinogradWeightCache::get(const std::string &name, const Tensor &weights) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = packed_.find(name);
    if (it != packed_.end()) return it->second.get();
    auto packed = pack_winograd_weights(weights);
    if (!packed) return packed.status().with_context("parameter " + name);
    auto [added, ok] = packed_.emplace(name, std::make_unique<const Tensor>(std::move(*packed)));
    (void)ok;
    return added->second.get();
}

int64_t WinogradWeightCache::bytes() const {
    std::lock_guard<std::mutex> lock(mutex_);
    int64_t total = 0;
    for (const auto &[name, t] : packed_) total += t->numel() * int64_t(sizeof(float));
    return total;
}

}  // namespace ae2d::runtime
