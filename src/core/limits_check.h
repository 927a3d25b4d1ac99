// Internal helpers for checking ae2d::Limits with overflow-safe arithmetic.
#pragma once

#include <cstdint>
#include <string>

#include "ae2d/limits.h"

namespace ae2d::detail {

// "<what> is <value>, over the limit <name> = <limit> (raise it with ae2d::set_limits)".
std::string over_limit(const std::string &what, int64_t value, const char *name, int64_t limit);

// a * b, or false when it overflows int64 (callers treat that as over any limit).
bool checked_mul(int64_t a, int64_t b, int64_t *out);

}  // namespace ae2d::detail
