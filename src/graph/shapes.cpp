#include "graph/shapes.h"

#include <algorithm>

namespace ae2d::graph {

namespace {

std::string hw(int64_t h, int64_t w) { return std::to_string(h) + "x" + std::to_string(w); }

}  // namespace

Shape4 smallest_input(const Config &config) {
    // Each level of a stride-2 axis maps size s to ceil(s / 2): the deepest plane is 1 along
    // that axis exactly when s <= 2^(depth-1). A stride-1 axis keeps its size.
    Shape4 s;
    s.h = (config.kernel_h > 1 ? (int64_t(1) << (config.depth() - 1)) : 1) + 1;
    s.w = (config.kernel_w > 1 ? (int64_t(1) << (config.depth() - 1)) : 1) + 1;
    return s;
}

Status infer_shapes(Graph &g, const Shape4 &input) {
    const Config &cfg = g.config;
    if (input.n < 1 || input.c < 1 || input.h < 1 || input.w < 1)
        return Status::Error("input shape (" + std::to_string(input.n) + ", " + std::to_string(input.c) + ", " +
                             std::to_string(input.h) + ", " + std::to_string(input.w) + ") has an empty dimension");
    // Halide buffers have 32-bit extents; bounding the input also keeps every value's size
    // computation below inside int64.
    constexpr int64_t kMaxExtent = (int64_t(1) << 31) - 1;
    int64_t input_numel = 0;
    if (input.n > kMaxExtent || input.c > kMaxExtent || input.h > kMaxExtent || input.w > kMaxExtent ||
        __builtin_mul_overflow(input.n * input.c, input.h * input.w, &input_numel) ||
        input_numel > (int64_t(1) << 40))
        return Status::Error("input shape (" + std::to_string(input.n) + ", " + std::to_string(input.c) + ", " +
                             std::to_string(input.h) + ", " + std::to_string(input.w) +
                             ") is too large: a dimension above 2^31 - 1 or more than 2^40 elements");
    if (input.c != cfg.in_planes)
        return Status::Error("input has " + std::to_string(input.c) + " channels, the model expects in_planes = " +
                             std::to_string(cfg.in_planes));
    g.values[g.input].shape = input;
    for (const Stage &s : g.stages) {
        const Shape4 in = g.values[s.inputs[0]].shape;
        Shape4 out = in;
        switch (s.kind) {
        case StageKind::Conv2d:
        case StageKind::NormPReLUConv2d:
        case StageKind::NormPReLUUpsampleConv2d: {
            const ParamSpec *w = nullptr;
            for (const ParamSpec &p : g.params)
                if (p.name == s.weight) w = &p;
            const int64_t uh = in.h * s.factor_h, uw = in.w * s.factor_w;
            out.c = w ? w->shape[0] : 0;
            out.h = (uh + 2 * s.pad_h - s.kernel_h) / s.stride_h + 1;
            out.w = (uw + 2 * s.pad_w - s.kernel_w) / s.stride_w + 1;
            if (uh + 2 * s.pad_h < s.kernel_h || uw + 2 * s.pad_w < s.kernel_w)
                return Status::Error("input " + hw(input.h, input.w) + " is too small for " + s.module + " (a " +
                                     hw(s.kernel_h, s.kernel_w) + " kernel on a " + hw(uh, uw) + " plane)");
            break;
        }
        case StageKind::InstanceNormStats:
            if (in.h * in.w <= 1) {
                const Shape4 m = smallest_input(cfg);
                return Status::Error("input " + hw(input.h, input.w) + " is too small: the instance norm " + s.module +
                                     " would normalize a 1x1 plane (PyTorch: \"Expected more than 1 spatial "
                                     "element\"); the smallest accepted inputs are " + hw(m.h, 1) + " and " +
                                     hw(1, m.w) + " (height > " + std::to_string(m.h - 1) + " or width > " +
                                     std::to_string(m.w - 1) + ")");
            }
            break;
        case StageKind::UpsampleBilinear:
        case StageKind::NormPReLUUpsample:
            out.h = in.h * s.factor_h;
            out.w = in.w * s.factor_w;
            break;
        case StageKind::CenterCrop: {
            const Shape4 ref = g.values[s.crop_ref].shape;
            out.h = std::min(in.h, ref.h);
            out.w = std::min(in.w, ref.w);
            break;
        }
        case StageKind::CropConcat: {
            const Shape4 skip = g.values[s.inputs[1]].shape;
            out.c = in.c + skip.c;
            out.h = std::min(in.h, skip.h);
            out.w = std::min(in.w, skip.w);
            break;
        }
        case StageKind::ResidualAdd:
        case StageKind::NormResidualAdd:
        case StageKind::NormPReLU:
            for (int v : s.inputs) {
                const Value &val = g.values[v];
                if (val.kind == ValueKind::Activation && !(val.shape == in))
                    return Status::Error("internal: shapes of the inputs of " + s.module + " differ");
            }
            break;
        case StageKind::NormInverse:  // elementwise: the input's shape
            break;
        }
        // 2^40 elements (4 TiB) per value: far above any real input, and it keeps sums over all
        // values (the memory plan) inside int64.
        int64_t numel = 1;
        for (int64_t d : {out.n, out.c, out.h, out.w})
            if (d > kMaxExtent || __builtin_mul_overflow(numel, d, &numel) || numel > (int64_t(1) << 40))
                return Status::Error("input " + hw(input.h, input.w) + " x batch " + std::to_string(input.n) +
                                     " is too large: " + s.module + " would have more than 2^40 elements or an " +
                                     "extent above 2^31 - 1");
        g.values[s.output].shape = out;
    }
    return Status::Ok();
}

}  // namespace ae2d::graph
