// A dense float32 tensor on the host, row-major (PyTorch's contiguous NCHW layout).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ae2d {

struct Tensor {
    std::vector<int64_t> shape;  // outermost first, as in PyTorch
    std::vector<float> data;     // numel() values

    Tensor() = default;
    explicit Tensor(std::vector<int64_t> s) : shape(std::move(s)), data(numel_of(shape)) {}

    int64_t numel() const { return numel_of(shape); }
    int rank() const { return static_cast<int>(shape.size()); }

    static int64_t numel_of(const std::vector<int64_t> &s) {
        int64_t n = 1;
        for (int64_t d : s) n *= d;
        return n;
    }
};

// "(1, 3, 64, 63)": how shapes appear in messages.
std::string shape_to_string(const std::vector<int64_t> &shape);

}  // namespace ae2d
