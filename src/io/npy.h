// NumPy .npy files: test inputs and reference outputs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "ae2d/status.h"
#include "ae2d/tensor.h"

namespace ae2d::io {

// Reads format versions 1.0/2.0/3.0 with dtype float32 or float64 ('<f4', '<f8'; big-endian
// '>f4'/'>f8' are byte-swapped), C order only. The shape is returned exactly as stored
// (including () and (n,)); rank checks are the caller's job. float64 is narrowed to float32.
// Every dim must be <= Limits::max_dimension and the element count <= max_tensor_elements
// (ae2d/limits.h); both are checked on the header, before the data is looked at.
Expected<Tensor> read_npy(const std::string &path);
// The same on bytes in memory (the fuzz target uses it); `name` stands for the file in messages.
Expected<Tensor> read_npy_memory(const uint8_t *data, size_t size, const std::string &name);

// Writes float32 '<f4', C order, a version 1.0 header padded (as numpy does) so the data
// starts 64-byte aligned. Atomic: a failure leaves no partial file at `path`.
Status write_npy(const std::string &path, const Tensor &t);

}  // namespace ae2d::io
