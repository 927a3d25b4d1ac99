// What a model file's output is, from its __metadata__ "output" key. Files without the key are
// "raw": the network's output as it is.
#pragma once

#include <map>
#include <string>

#include "ae2d/status.h"

namespace ae2d {

enum class OutputMode {
    Raw,         // y = f(x): the AE2d module's output (no "output" key, or "raw")
    Normalized,  // y = m + s * f((x - m) / s), m and s per image and channel: the mean of x and
                 // sqrt(biased variance + 1e-5) (InstanceNorm2d's statistics, without affine);
                 // needs in_planes == out_planes
    Residual,    // y = x - s * f((x - m) / s): the network predicts the normalized noise (a
                 // denoiser's residual learning, DnCNN); m, s and the need as for Normalized
};

// "raw", "normalized", "residual".
const char *output_mode_name(OutputMode mode);
// The formula, for `ae2d summary` and `ae2d info`.
const char *output_mode_formula(OutputMode mode);
// The line `ae2d summary --model` prints after the table: "Output: <name>, <formula>\n", or ""
// for Raw.
std::string output_mode_line(OutputMode mode);
// The mode a file's metadata names; Raw without the key. An unknown value is an error that
// lists the accepted ones.
Expected<OutputMode> output_mode_from_metadata(const std::map<std::string, std::string> &metadata);

}  // namespace ae2d
