// Helpers for untrusted JSON: a nesting-depth pre-check and a short text for error messages.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

namespace ae2d::detail {

// The deepest nesting of arrays/objects in JSON text (brackets inside strings do not count),
// stopping early once past `limit`. Checked before parsing: nlohmann's DOM costs ~50 bytes a
// level, so 100 MiB of "[[[[..." would take gigabytes; real safetensors headers nest 3 deep.
inline int json_nesting_depth(const char *text, size_t size, int limit) {
    int depth = 0, deepest = 0;
    bool in_string = false;
    for (size_t i = 0; i < size && deepest <= limit; ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\') ++i;  // skip the escaped character
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            deepest = std::max(deepest, ++depth);
        } else if (c == ']' || c == '}') {
            --depth;
        }
    }
    return deepest;
}

// At most `max_chars` characters; nested arrays and objects show as [...] and {...}. Never
// calls dump() on a container: nlohmann's serializer recurses once per nesting level, and a
// hostile header nesting 10^5 levels deep overflowed the stack (found by fuzz_safetensors).
inline std::string json_brief(const nlohmann::json &j, size_t max_chars = 60) {
    using json = nlohmann::json;
    auto scalar = [](const json &v) {
        if (v.is_array()) return std::string(v.empty() ? "[]" : "[...]");
        if (v.is_object()) return std::string(v.empty() ? "{}" : "{...}");
        return v.dump(-1, ' ', false, json::error_handler_t::replace);
    };
    std::string text;
    if (j.is_array() || j.is_object()) {
        text = j.is_array() ? "[" : "{";
        bool first = true;
        for (auto it = j.begin(); it != j.end() && text.size() <= max_chars; ++it, first = false) {
            if (!first) text += ", ";
            if (j.is_object()) text += json(it.key()).dump(-1, ' ', false, json::error_handler_t::replace) + ": ";
            text += scalar(*it);
        }
        text += j.is_array() ? "]" : "}";
    } else {
        text = scalar(j);
    }
    if (text.size() > max_chars) text = text.substr(0, max_chars - 3) + "...";
    return text;
}

}  // namespace ae2d::detail
