// Reading and writing the safetensors format (Hugging Face): the container PyTorch
// state dicts are exported in.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "ae2d/status.h"
#include "ae2d/tensor.h"

namespace ae2d::io {

struct SafetensorsFile {
    std::map<std::string, Tensor> tensors;
    std::map<std::string, std::string> metadata;  // the "__metadata__" entry, if any
};

// Reads every tensor, converting F32/F16/BF16/F64 to float32. Any malformed header, bad
// entry or unsupported dtype is an error naming the file and the tensor.
// Sizes are checked against ae2d::limits() (header bytes, elements per tensor) first.
Expected<SafetensorsFile> read_safetensors(const std::string &path);
// The same on bytes in memory (the fuzz target uses it); `name` stands for the file in messages.
Expected<SafetensorsFile> read_safetensors_memory(const uint8_t *data, size_t size, const std::string &name);

// Writes F32 tensors (keys sorted, data packed in key order); "__metadata__" is written only
// when `metadata` is non-empty. Atomic: a failure leaves no partial file at `path`.
Status write_safetensors(const std::string &path, const std::map<std::string, Tensor> &tensors,
                         const std::map<std::string, std::string> &metadata);

// Scalar conversions used by the reader, exposed for tests.
float half_to_float(uint16_t bits);
float bfloat16_to_float(uint16_t bits);

}  // namespace ae2d::io
