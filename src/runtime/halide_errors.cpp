#include "runtime/halide_errors.h"

#include <string>

namespace {
thread_local std::string last_error;
}

// Replaces the runtime's default handler (which prints to stderr): the library's caller
// decides what to show.
extern "C" void halide_error(void * /*user_context*/, const char *message) { last_error = message ? message : ""; }

namespace ae2d::runtime {

std::string take_last_halide_error() {
    std::string m;
    m.swap(last_error);
    while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
    return m;
}

std::string halide_failure(int code) {
    std::string why = take_last_halide_error();
    return why.empty() ? "Halide error " + std::to_string(code) : why + " (Halide error " + std::to_string(code) + ")";
}

}  // namespace ae2d::runtime
