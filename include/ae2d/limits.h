// Caps on what hostile or broken input may make the library allocate. Every reader and
// Model::forward/output_shape checks them *before* allocating, and a refusal is an error
// naming the file or input, the limit, the value and how to raise it.
//
//   ae2d::Limits l = ae2d::limits();
//   l.max_forward_bytes = int64_t(64) << 30;   // allow 64 GiB per forward pass
//   if (auto s = ae2d::set_limits(l); !s) std::cerr << s.message() << "\n";
//
// The limits are process-wide (like ulimits): set them once at start-up. Reading and setting
// them is thread-safe; a call that is already running keeps the limits it started with.
#pragma once

#include <cstdint>

#include "ae2d/status.h"

namespace ae2d {

struct Limits {
    // Largest extent of one axis of an image (PNG width/height), of every axis of a .npy array,
    // and of B, H and W of a forward input.
    int64_t max_dimension = 65536;
    // Largest element count of any tensor: a .npy array, a safetensors tensor, a forward input,
    // output or intermediate. At most 2^31 - 1: the Halide kernels index buffers with 32 bits.
    int64_t max_tensor_elements = (int64_t(1) << 31) - 1;
    // Largest H * W of a PNG image and of a forward input's plane (2^28: a 16384 x 16384 image).
    int64_t max_image_pixels = int64_t(1) << 28;
    // Largest JSON header of a safetensors file (real ones are a few KiB to a few MiB).
    int64_t max_safetensors_header_bytes = int64_t(100) << 20;
    // Largest memory one forward pass may allocate: its intermediate-value arena plus its output
    // (the Halide kernels' own scratch, a few rows per thread, is not counted).
    int64_t max_forward_bytes = int64_t(16) << 30;
};

// The limits now in force (a copy).
Limits limits();

// Replaces the limits. Refused (and nothing changes) when a field is < 1, or
// max_dimension / max_tensor_elements exceed 2^31 - 1.
Status set_limits(const Limits &limits);

}  // namespace ae2d
