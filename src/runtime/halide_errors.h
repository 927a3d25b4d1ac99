// Halide's runtime reports errors through halide_error(); ae2d keeps the last message of the
// calling thread so that a failed kernel call becomes a Status with Halide's own words.
#pragma once

#include <string>

namespace ae2d::runtime {

std::string take_last_halide_error();

// "<Halide's last message> (Halide error <code>)", or just the code when Halide left no message.
std::string halide_failure(int code);

}  // namespace ae2d::runtime
