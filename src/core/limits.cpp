#include "ae2d/limits.h"

#include <cstdio>
#include <mutex>

#include "core/limits_check.h"

namespace ae2d {

namespace {

// A mutex, not atomics per field: a reader always sees one coherent set of limits.
std::mutex &limits_mutex() {
    static std::mutex m;
    return m;
}

Limits &current() {
    static Limits l;
    return l;
}

}  // namespace

Limits limits() {
    std::lock_guard<std::mutex> lock(limits_mutex());
    return current();
}

Status set_limits(const Limits &l) {
    constexpr int64_t kInt32Max = (int64_t(1) << 31) - 1;
    const struct {
        const char *name;
        int64_t value, max;
    } fields[] = {
        {"max_dimension", l.max_dimension, kInt32Max},
        {"max_tensor_elements", l.max_tensor_elements, kInt32Max},
        {"max_image_pixels", l.max_image_pixels, INT64_MAX},
        {"max_safetensors_header_bytes", l.max_safetensors_header_bytes, INT64_MAX},
        {"max_forward_bytes", l.max_forward_bytes, INT64_MAX},
    };
    for (const auto &f : fields) {
        if (f.value < 1)
            return Status::Error(std::string("Limits::") + f.name + " must be positive, got " + std::to_string(f.value));
        if (f.value > f.max)
            return Status::Error(std::string("Limits::") + f.name + " must be at most 2^31 - 1 (the Halide kernels " +
                                 "index buffers with 32 bits), got " + std::to_string(f.value));
    }
    std::lock_guard<std::mutex> lock(limits_mutex());
    current() = l;
    return Status::Ok();
}

namespace detail {

std::string over_limit(const std::string &what, int64_t value, const char *name, int64_t limit) {
    std::string limit_text = std::to_string(limit);
    const std::string n = name;
    if (n.size() > 6 && n.compare(n.size() - 6, 6, "_bytes") == 0) {  // also in KiB/MiB/GiB
        const char *units[] = {"KiB", "MiB", "GiB", "TiB"};
        double v = double(limit);
        int u = -1;
        while (v >= 1024 && u < 3) v /= 1024, ++u;
        if (u >= 0) {
            char buf[32];
            std::snprintf(buf, sizeof buf, " (%.4g %s)", v, units[u]);
            limit_text += buf;
        }
    }
    return what + " is " + std::to_string(value) + ", over the limit " + name + " = " + limit_text +
           " (raise it with ae2d::set_limits)";
}

bool checked_mul(int64_t a, int64_t b, int64_t *out) { return !__builtin_mul_overflow(a, b, out); }

}  // namespace detail

}  // namespace ae2d
