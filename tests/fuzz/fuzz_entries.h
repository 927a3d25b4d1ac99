// The bodies of the libFuzzer targets, shared with tests/test_fuzz_regressions.cpp, which
// replays the seed corpora and every input that once crashed through the very same code.
// Only pure C++ parts of ae2d are reached (the readers, configuration inference, the graph,
// shape inference, passes, memory planning and the forward-pass limit checks): the Halide
// kernels are left out, so the targets build with clang's libFuzzer and no Halide.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "ae2d/limits.h"
#include "graph/builder.h"
#include "graph/passes.h"
#include "graph/shapes.h"
#include "graph/summary.h"
#include "io/npy.h"
#include "io/png_image.h"
#include "io/safetensors.h"
#include "model/config_inference.h"
#include "runtime/forward_limits.h"
#include "runtime/memory_plan.h"

namespace ae2d::fuzz {

// Tighter than the defaults, so that inputs which are legal but big (a 16384 x 16384 PNG is
// within the default limits) do not trip libFuzzer's memory limit; the checks are the same.
inline Limits fuzz_limits() {
    Limits l;
    l.max_dimension = 4096;
    l.max_tensor_elements = int64_t(1) << 24;
    l.max_image_pixels = int64_t(1) << 22;
    l.max_safetensors_header_bytes = int64_t(1) << 20;
    l.max_forward_bytes = int64_t(256) << 20;
    return l;
}

inline int safetensors_one(const uint8_t *data, size_t size) {
    auto r = io::read_safetensors_memory(data, size, "fuzz");
    if (r) {  // whatever was read must be self-consistent
        for (const auto &[name, t] : r->tensors)
            if (static_cast<int64_t>(t.data.size()) != t.numel()) std::abort();
    }
    return 0;
}

inline int npy_one(const uint8_t *data, size_t size) {
    auto r = io::read_npy_memory(data, size, "fuzz");
    if (r && static_cast<int64_t>(r->data.size()) != r->numel()) std::abort();
    return 0;
}

inline int png_one(const uint8_t *data, size_t size) {
    auto r = io::read_png_memory(data, size, "fuzz");
    if (r) {
        const Tensor &p = r->pixels;
        if (p.rank() != 3 || static_cast<int64_t>(p.data.size()) != p.numel()) std::abort();
        for (float v : p.data)
            if (!(v >= 0.0f && v <= 1.0f)) std::abort();  // samples are scaled into [0, 1]
    }
    return 0;
}

// A small text format the fuzzer can mutate meaningfully, one item a line:
//   meta <key> <value>           a __metadata__ entry (the value is the rest of the line)
//   tensor <name> <d0> <d1> ...  a state_dict tensor's name and shape (no data is needed)
//   input <n> <c> <h> <w>        an input shape to plan for (at most 4 are used)
// It runs what Model::from_tensors and Model::forward do before the kernels: configuration
// from the metadata or the tensors, the graph, the tensor check, then per input shape the
// limit checks, shape inference, the passes, memory planning and the summary.
struct ConfigInput {
    std::map<std::string, std::string> metadata;
    std::map<std::string, Tensor> tensors;
    std::vector<std::vector<int64_t>> inputs;
};

inline ConfigInput parse_config_input(const uint8_t *data, size_t size) {
    ConfigInput in;
    const std::string text(reinterpret_cast<const char *>(data), size);
    size_t pos = 0;
    for (int line_no = 0; pos < text.size() && line_no < 4096; ++line_no) {
        size_t end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        const std::string line = text.substr(pos, end - pos);
        pos = end + 1;
        std::vector<std::string> words;
        size_t w = 0;
        while (w < line.size() && words.size() < 3) {  // the first words; the rest stays whole
            const size_t sp = line.find(' ', w);
            if (words.size() == 2 || sp == std::string::npos) {
                words.push_back(line.substr(w));
                break;
            }
            words.push_back(line.substr(w, sp - w));
            w = sp + 1;
        }
        if (words.size() < 2) continue;
        auto numbers = [](const std::string &s) {
            std::vector<int64_t> v;
            const char *p = s.c_str();
            while (*p && v.size() < 8) {
                char *e = nullptr;
                const long long x = std::strtoll(p, &e, 10);  // saturates at the int64 range
                if (e == p) break;
                v.push_back(x);
                p = e;
            }
            return v;
        };
        if (words[0] == "meta") {
            in.metadata[words[1]] = words.size() > 2 ? words[2] : "";
        } else if (words[0] == "tensor") {
            Tensor t;  // the shape only: nothing reads the data before the kernels
            t.shape = numbers(words.size() > 2 ? words[2] : "");
            in.tensors[words[1]] = std::move(t);
        } else if (words[0] == "input" && in.inputs.size() < 4) {
            auto v = numbers(words[1] + (words.size() > 2 ? " " + words[2] : ""));
            if (v.size() == 4) in.inputs.push_back(v);
        }
    }
    return in;
}

inline int config_one(const uint8_t *data, size_t size) {
    const ConfigInput in = parse_config_input(data, size);
    auto meta = model::config_from_metadata(in.metadata);
    if (!meta) return 0;
    Config config;
    if (meta->found) {
        config = meta->config;
    } else {
        auto inferred = model::infer_config(in.tensors);
        if (!inferred) return 0;
        config = *inferred;
    }
    auto g = graph::build_network(config);
    if (!g) return 0;
    (void)config.to_string();
    (void)g->num_parameters();
    (void)model::check_tensors(*g, in.tensors, "fuzz");  // planning below does not need a match
    const Limits limits = ae2d::limits();
    for (const auto &shape : in.inputs) {
        if (!runtime::check_input_limits(shape, limits)) continue;
        graph::Graph shaped = *g;
        const graph::Shape4 s{shape[0], shape[1], shape[2], shape[3]};
        if (!graph::infer_shapes(shaped, s)) continue;
        (void)graph::format_summary(shaped, s);
        graph::elide_identity_stages(shaped);
        graph::fuse_stages(shaped);
        const runtime::MemoryPlan plan = runtime::plan_memory(shaped);
        if (!runtime::check_plan_limits(shaped, plan, limits)) continue;
        // Every arena value must lie inside the arena the forward pass would allocate.
        for (size_t v = 0; v < shaped.values.size(); ++v)
            if (plan.offsets[v] >= 0 && plan.offsets[v] + shaped.values[v].numel() > plan.arena_floats) std::abort();
    }
    return 0;
}

}  // namespace ae2d::fuzz
