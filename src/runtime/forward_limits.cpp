#include "runtime/forward_limits.h"

#include "ae2d/tensor.h"
#include "core/limits_check.h"

namespace ae2d::runtime {

using ae2d::detail::over_limit;

Status check_input_limits(const std::vector<int64_t> &shape, const Limits &limits) {
    // The message prefix is built only on failure: a passing check allocates nothing.
    auto what = [&] { return "input " + shape_to_string(shape); };
    const char *axes[] = {"batch", "channels", "height", "width"};
    for (int64_t d : shape)
        if (d < 0) return Status::Error(what() + " has a negative dimension");
    for (int i : {0, 2, 3})
        if (shape[i] > limits.max_dimension)
            return Status::Error(over_limit(what() + ": the " + axes[i], shape[i], "max_dimension", limits.max_dimension));
    int64_t pixels = 0, numel = 0;
    if (!ae2d::detail::checked_mul(shape[2], shape[3], &pixels) || pixels > limits.max_image_pixels)
        return Status::Error(over_limit(what() + ": height x width", pixels, "max_image_pixels", limits.max_image_pixels));
    if (!ae2d::detail::checked_mul(pixels, shape[0], &numel) || !ae2d::detail::checked_mul(numel, shape[1], &numel) ||
        numel > limits.max_tensor_elements)
        return Status::Error(over_limit(what() + ": the element count", numel, "max_tensor_elements",
                                        limits.max_tensor_elements));
    return Status::Ok();
}

Status check_plan_limits(const graph::Graph &shaped, const MemoryPlan &memory, const Limits &limits) {
    for (const graph::Value &v : shaped.values)
        if (v.numel() > limits.max_tensor_elements)
            return Status::Error(over_limit("the intermediate value " + v.name + " (" + std::to_string(v.shape.n) +
                                                ", " + std::to_string(v.shape.c) + ", " + std::to_string(v.shape.h) +
                                                ", " + std::to_string(v.shape.w) + "): its element count",
                                            v.numel(), "max_tensor_elements", limits.max_tensor_elements));
    // infer_shapes caps every value at 2^40 elements, so this sum cannot overflow.
    const int64_t bytes = (memory.arena_floats + shaped.values[shaped.output].numel()) * int64_t(sizeof(float));
    if (bytes > limits.max_forward_bytes)
        return Status::Error(over_limit("the memory this forward pass needs (intermediate arena + output, bytes)",
                                        bytes, "max_forward_bytes", limits.max_forward_bytes));
    return Status::Ok();
}

}  // namespace ae2d::runtime
