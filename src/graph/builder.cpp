#include "graph/builder.h"

#include <utility>

namespace ae2d::graph {

namespace {

struct Axes {  // a per-axis pair (h, w)
    int h = 1, w = 1;
    bool any_above_one() const { return h > 1 || w > 1; }
};

enum class Direction { Down, Up };

class NetworkBuilder {
public:
    explicit NetworkBuilder(const Config &c) { g_.config = c; }

    Graph build() {
        const Config &c = g_.config;
        const Axes k{c.kernel_h, c.kernel_w};
        block_kernel_ = k;
        block_pad_ = {k.h / 2, k.w / 2};
        stride_ = {k.h > 1 ? 2 : 1, k.w > 1 ? 2 : 1};
        const Axes ke{k.h > 1 ? k.h + 2 : 1, k.w > 1 ? k.w + 2 : 1};
        const Axes pe{ke.h / 2, ke.w / 2};
        const int n = c.depth();

        g_.input = g_.add_value(ValueKind::Activation, "input");
        int x = conv("conv_first", g_.input, c.in_planes, c.channel, ke, {1, 1}, pe, false);

        // Per encoder stack, what its decoder stack needs: AE2d crops to the size of the
        // stack's input; UNet2d joins the tensor that entered the stack's scaling block.
        const bool unet = c.arch == Arch::UNet2d;
        std::vector<int> kept;
        int ch = c.channel;
        for (int j = 0; j <= n - 2; ++j) {
            const std::string prefix = "conv_down_list." + std::to_string(j);
            const int cout = j == 0 ? ch : 2 * ch;
            if (!unet) kept.push_back(x);
            int skip = -1;
            x = stack(prefix, x, ch, cout, cout, c.layers[j], stride_, Direction::Down, 0, unet ? &skip : nullptr);
            if (unet) kept.push_back(skip);
            ch = cout;
        }
        x = stack("conv_middle_up", x, ch, ch, 2 * ch, c.layers[n - 1], stride_, Direction::Up);
        for (int k2 = 0; k2 <= n - 2; ++k2) {
            const std::string prefix = "conv_up_list." + std::to_string(k2);
            const int j = n - 2 - k2;  // the encoder level this decoder stack mirrors
            int ex = 0;
            if (unet) {
                x = crop_concat(prefix, x, kept[j]);
                ex = ch;
            } else {
                x = center_crop(prefix, x, kept[j]);
            }
            if (j >= 1) {
                x = stack(prefix, x, ch, ch / 2, ch, c.layers[j], stride_, Direction::Up, ex);
                ch /= 2;
            } else {
                x = stack(prefix, x, ch, ch, ch, c.layers[0], {1, 1}, Direction::Down, ex);
            }
        }
        x = conv("conv_final", x, c.channel, c.out_planes, ke, {1, 1}, pe, true);
        g_.output = x;
        row(arch_name(c.arch), x, 0);
        return std::move(g_);
    }

private:
    std::string param(const std::string &name, std::vector<int64_t> shape) {
        g_.params.push_back({name, std::move(shape)});
        return name;
    }

    void row(const char *cls, int value, int64_t params) { g_.rows.push_back({cls, value, params}); }

    static Stage stage_of(StageKind kind, std::string module, std::vector<int> inputs) {
        Stage s;
        s.kind = kind;
        s.module = std::move(module);
        s.inputs = std::move(inputs);
        return s;
    }

    int add_stage(Stage s, ValueKind out_kind = ValueKind::Activation) {
        s.output = g_.add_value(out_kind, s.module);
        g_.stages.push_back(std::move(s));
        return g_.stages.back().output;
    }

    int conv(const std::string &prefix, int x, int cin, int cout, Axes k, Axes stride, Axes pad, bool bias) {
        Stage s = stage_of(StageKind::Conv2d, prefix, {x});
        s.weight = param(prefix + ".weight", {cout, cin, k.h, k.w});
        if (bias) s.bias = param(prefix + ".bias", {cout});
        s.kernel_h = k.h, s.kernel_w = k.w, s.stride_h = stride.h, s.stride_w = stride.w;
        s.pad_h = pad.h, s.pad_w = pad.w;
        const int y = add_stage(std::move(s));
        row("Conv2d", y, int64_t(cout) * cin * k.h * k.w + (bias ? cout : 0));
        return y;
    }

    // InstanceNorm2d(c) at `prefix`: returns the coefficients value.
    int instance_norm(const std::string &prefix, int x, int c) {
        Stage s = stage_of(StageKind::InstanceNormStats, prefix, {x});
        s.gamma = param(prefix + ".weight", {c});
        s.beta = param(prefix + ".bias", {c});
        const int coeffs = add_stage(std::move(s), ValueKind::NormCoeffs);
        row("InstanceNorm2d", x, 2 * int64_t(c));  // its output has x's shape
        return coeffs;
    }

    int upsample(const std::string &prefix, int x, Axes factor) {
        Stage s = stage_of(StageKind::UpsampleBilinear, prefix, {x});
        s.factor_h = factor.h, s.factor_w = factor.w;
        const int y = add_stage(std::move(s));
        row("Upsample", y, 0);
        return y;
    }

    // Unit: InstanceNorm -> PReLU -> [Upsample] -> Conv (He et al. 2016 "new" order).
    int unit(const std::string &prefix, int x, int cin, int cout, Axes k, Axes stride, Axes pad, Direction dir) {
        const int coeffs = instance_norm(prefix + ".0", x, cin);
        Stage s = stage_of(StageKind::NormPReLU, prefix + ".1", {x, coeffs});
        s.slope = param(prefix + ".1.weight", {cin});
        int y = add_stage(std::move(s));
        row("PReLU", y, cin);
        const bool up = dir == Direction::Up && stride.any_above_one();
        if (up) y = upsample(prefix + ".2", y, stride);
        return conv(prefix + (up ? ".3" : ".2"), y, cin, cout, k, up ? Axes{1, 1} : stride, pad, false);
    }

    int block(const std::string &prefix, int x, int cin, int cout, Axes stride, Direction dir) {
        const Config &c = g_.config;
        int y;
        if (c.block == BlockKind::Bottleneck) {
            y = unit(prefix + ".conv1", x, cin, cin, {1, 1}, {1, 1}, {0, 0}, Direction::Down);
            y = unit(prefix + ".conv2", y, cin, cin, block_kernel_, stride, block_pad_, dir);
            y = unit(prefix + ".conv3", y, cin, cout, {1, 1}, {1, 1}, {0, 0}, Direction::Down);
        } else {
            y = unit(prefix + ".conv1", x, cin, cin, block_kernel_, {1, 1}, block_pad_, Direction::Down);
            y = unit(prefix + ".conv2", y, cin, cout, block_kernel_, stride, block_pad_, dir);
        }
        Stage add;
        add.module = prefix;
        if (stride.any_above_one() || cin != cout) {
            // Projection shortcut: [Upsample] -> Conv1x1 -> InstanceNorm, added normalized.
            const std::string sc = prefix + ".in_node";
            int s = x;
            int idx = 0;
            if (dir == Direction::Up) s = upsample(sc + "." + std::to_string(idx++), s, stride);
            s = conv(sc + "." + std::to_string(idx++), s, cin, cout, {1, 1},
                     dir == Direction::Down ? stride : Axes{1, 1}, {0, 0}, false);
            const int coeffs = instance_norm(sc + "." + std::to_string(idx), s, cout);
            add.kind = StageKind::NormResidualAdd;
            add.inputs = {y, s, coeffs};
        } else {
            add.kind = StageKind::ResidualAdd;
            add.inputs = {y, x};
        }
        const int out = add_stage(std::move(add));
        row(c.block == BlockKind::Bottleneck ? "_BlockBottleneckNd" : "_BlockPlainNd", out, 0);
        return out;
    }

    // A stack of m blocks; `ex` extra input channels (UNet2d's decoder: the joined skip). With
    // `skip`, the stack also exports the tensor that enters its scaling block (UNet2d's encoder).
    int stack(const std::string &prefix, int x, int cin, int cout, int hidden, int m, Axes stride, Direction dir,
              int ex = 0, int *skip = nullptr) {
        for (int i = 0; i < m - 1; ++i)
            x = block(prefix + ".conv_list." + std::to_string(i), x, i == 0 ? cin + ex : hidden, hidden, {1, 1},
                      Direction::Down);
        if (skip) *skip = x;
        const int y = block(prefix + ".conv_scale", x, m > 1 ? hidden : cin + ex, cout, stride, dir);
        row("_BlockResStkNd", y, 0);
        if (skip) g_.rows.back().second_value = x;
        return y;
    }

    int center_crop(const std::string &prefix, int x, int ref) {
        Stage s = stage_of(StageKind::CenterCrop, prefix + ".crop", {x});
        s.crop_ref = ref;
        return add_stage(std::move(s));
    }

    // UNet2d's join: x and the skip center-cropped to their common size, x's channels first.
    int crop_concat(const std::string &prefix, int x, int skip) {
        Stage s = stage_of(StageKind::CropConcat, prefix + ".cropping", {x, skip});
        return add_stage(std::move(s));
    }

    Graph g_;
    Axes block_kernel_, block_pad_, stride_;
};

}  // namespace

Expected<Graph> build_network(const Config &config) {
    Status ok = config.validate();
    if (!ok) return ok;
    return NetworkBuilder(config).build();
}

}  // namespace ae2d::graph
