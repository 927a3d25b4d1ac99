// PNG images as (C, H, W) float tensors in [0, 1].
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include "ae2d/status.h"
#include "ae2d/tensor.h"

namespace ae2d::io {

// The scaling of one sample, shared by the PNG codec and the Python binding (ae2d.ray scales the
// images Ray decodes with it, so its outputs equal `ae2d run`'s): an 8-bit sample v is v / 255,
// a 16-bit one v / 65535 (a division, so 51 -> exactly 51.0f / 255).
inline float sample_to_float(unsigned v, int bit_depth) {
    return static_cast<float>(v) / (bit_depth == 16 ? 65535.0f : 255.0f);
}
// The inverse for writing: clamped to [0, 1], NaN to 0, rounded to the nearest level.
inline unsigned float_to_sample(float v, int bit_depth) {
    v = std::isnan(v) ? 0.0f : std::clamp(v, 0.0f, 1.0f);
    return static_cast<unsigned>(std::lround(v * (bit_depth == 16 ? 65535.0f : 255.0f)));
}

struct Image {
    Tensor pixels;      // (C, H, W), C = 1 (gray) or 3 (RGB), values in [0, 1]
    Tensor alpha;       // (1, H, W) in [0, 1] when the PNG has an alpha channel, else empty
    int bit_depth = 8;  // 8 or 16: the decoded depth (palette and 1/2/4-bit gray decode as 8)
};

// Decodes any valid PNG: 8-bit samples are divided by 255, 16-bit by 65535. Palette images
// become RGB, 1/2/4-bit gray is expanded to 8 bits, and an alpha channel (gray+alpha, RGBA,
// palette transparency) is kept apart in Image::alpha: the models take 1- or 3-channel input only. No gamma or
// colour-space conversion is applied. Corrupt or truncated files are errors, never aborts.
// Width and height must be <= Limits::max_dimension and width * height <= max_image_pixels
// (ae2d/limits.h): checked on the IHDR chunk, before any pixel memory is allocated.
Expected<Image> read_png(const std::string &path);
// The same on bytes in memory (the fuzz target uses it); `name` stands for the file in messages.
Expected<Image> read_png_memory(const uint8_t *data, size_t size, const std::string &name);

// Encodes a (C, H, W) tensor, C = 1 or 3, at bit_depth 8 or 16. Values are clamped to [0, 1]
// and rounded to the nearest level; NaN becomes 0. Atomic: a failure leaves no partial file.
// With `alpha` ((1, H, W)), the file is gray+alpha or RGBA.
Status write_png(const std::string &path, const Tensor &chw, int bit_depth, const Tensor *alpha = nullptr);

}  // namespace ae2d::io
