#include "graph/summary.h"

#include <cmath>
#include <cstdarg>
#include <cstdio>

namespace ae2d::graph {

namespace {

std::string fmt(const char *format, ...) __attribute__((format(printf, 1, 2)));
std::string fmt(const char *format, ...) {
    char buf[256];
    va_list args;
    va_start(args, format);
    vsnprintf(buf, sizeof buf, format, args);
    va_end(args);
    return buf;
}

// 39893057 -> "39,893,057", as Python's "{:,}".
std::string thousands(int64_t v) {
    std::string digits = std::to_string(v < 0 ? -v : v), out;
    for (size_t i = 0; i < digits.size(); ++i) {
        if (i && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return (v < 0 ? "-" : "") + out;
}

// torchsummary shows a module name over 20 characters as its first 8, "...", its last 9.
std::string short_name(const std::string &name) {
    return name.size() > 20 ? name.substr(0, 8) + "..." + name.substr(name.size() - 9) : name;
}

const char *const kRule = "----------------------------------------------------------------";
const char *const kDoubleRule = "================================================================";

}  // namespace

std::string format_summary(const Graph &g, const Shape4 &input) {
    std::string out;
    auto line = [&](const std::string &s) { out += s + "\n"; };
    line("The number of convolutional layers along the depth is " + std::to_string(g.config.nlayers()) + ".");
    line(kRule);
    line(fmt("%20s  %25s %15s", "Layer (type)", "Output Shape", "Param #"));
    line(kDoubleRule);
    int64_t total_params = 0;
    double total_output = 0;  // numbers in all rows' outputs, one sample
    auto shape_text = [&](int value) {
        const Shape4 &s = g.values[value].shape;
        return "[-1, " + std::to_string(s.c) + ", " + std::to_string(s.h) + ", " + std::to_string(s.w) + "]";
    };
    auto numel = [&](int value) {
        const Shape4 &s = g.values[value].shape;
        return double(s.c * s.h * s.w);
    };
    for (size_t i = 0; i < g.rows.size(); ++i) {
        const SummaryRow &r = g.rows[i];
        const std::string name = short_name(r.module_class + "-" + std::to_string(i + 1));
        line(fmt("%20s  %25s %15s", name.c_str(), shape_text(r.value).c_str(), thousands(r.params).c_str()));
        total_params += r.params;
        total_output += numel(r.value);
        if (r.second_value >= 0) {  // mdnc's torchsummary: each further output on its own line
            line(fmt("%20s  %25s %15s", "", shape_text(r.second_value).c_str(), ""));
            total_output += numel(r.second_value);
        }
    }
    // Sizes as torchsummary computes them: 4 bytes a number, outputs counted twice
    // (forward and backward), in MiB.
    const double mib = 1024.0 * 1024.0;
    const double input_mb = double(input.c * input.h * input.w) * 4.0 / mib;
    const double output_mb = 2.0 * total_output * 4.0 / mib;
    const double params_mb = double(total_params) * 4.0 / mib;
    line(kDoubleRule);
    line("Total params: " + thousands(total_params));
    line("Trainable params: " + thousands(total_params));
    line("Non-trainable params: 0");
    line(kRule);
    line(fmt("Input size (MB): %0.2f", input_mb));
    line(fmt("Forward/backward pass size (MB): %0.2f", output_mb));
    line(fmt("Params size (MB): %0.2f", params_mb));
    line(fmt("Estimated Total Size (MB): %0.2f", input_mb + output_mb + params_mb));
    line(kRule);
    return out;
}

}  // namespace ae2d::graph
