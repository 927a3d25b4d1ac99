// ae2d summary: the torchsummary table of the seed document, from a model file or flags.
#include <iostream>

#include "cli/commands.h"

namespace ae2d::cli {

namespace {

struct SummaryOptions {
    std::string model, arch = "AE2d", layers = "2,2,2,2", block = "bottleneck", kernel = "3", input_shape;
    int channel = 64, in_planes = 1, out_planes = 1;
    bool unet = false;
};

Expected<Config> config_from_flags(const SummaryOptions &o) {
    Config c;
    auto arch = parse_arch(o.arch);
    if (!arch) return Status::Error("--arch: " + arch.message());
    c.arch = o.unet ? Arch::UNet2d : *arch;
    c.channel = o.channel;
    c.in_planes = o.in_planes;
    c.out_planes = o.out_planes;
    auto layers = parse_shape(o.layers, 1, 64);
    if (!layers) return Status::Error("--layers: " + layers.message());
    for (int64_t l : *layers) c.layers.push_back(static_cast<int>(l));
    auto block = parse_block_kind(o.block);
    if (!block) return Status::Error("--block: " + block.message());
    c.block = *block;
    auto k = parse_shape(o.kernel, 1, 2);
    if (!k) return Status::Error("--kernel-size: " + k.message());
    c.kernel_h = static_cast<int>((*k)[0]);
    c.kernel_w = static_cast<int>(k->back());
    Status ok = c.validate();
    if (!ok) return ok;
    return c;
}

void summarize(const SummaryOptions &o, bool explicit_config) {
    Config config;
    OutputMode mode = OutputMode::Raw;
    if (!o.model.empty()) {
        if (explicit_config) return fail("give either --model or the configuration flags, not both");
        auto model = load_model(o.model);
        if (!model) return fail(model.status());
        config = model->config();
        mode = model->output_mode();
    } else {
        auto c = config_from_flags(o);
        if (!c) return fail(c.status());
        config = *c;
    }
    auto shape = parse_shape(o.input_shape, 3, 3);
    if (!shape) return fail("--input-shape: " + shape.message());
    auto text = summary(config, (*shape)[0], (*shape)[1], (*shape)[2]);
    if (!text) return fail(text.status());
    std::cout << *text;
    // The table is the network's (as torchsummary shows the PyTorch module); the model file's
    // output transform, when it has one, follows it.
    std::cout << output_mode_line(mode);
}

}  // namespace

void add_summary_command(CLI::App &app) {
    auto o = std::make_shared<SummaryOptions>();
    CLI::App *cmd = app.add_subcommand("summary", "Print the layer table (as mdnc's torchsummary) for an input size");
    cmd->add_option("--model,-m", o->model, "safetensors file (its configuration is used)");
    CLI::Option *arch = cmd->add_option("--arch", o->arch, "AE2d or UNet2d")->capture_default_str();
    CLI::Option *unet = cmd->add_flag("--unet", o->unet, "UNet2d (as --arch UNet2d)")->excludes(arch);
    std::vector<CLI::Option *> flags = {
        arch,
        unet,
        cmd->add_option("--channel", o->channel, "channels of the first hidden stage")->capture_default_str(),
        cmd->add_option("--layers", o->layers, "blocks per stage, e.g. 2,2,2,2,3")->capture_default_str(),
        cmd->add_option("--block", o->block, "plain or bottleneck")->capture_default_str(),
        cmd->add_option("--kernel-size", o->kernel, "k or kh,kw (odd)")->capture_default_str(),
        cmd->add_option("--in-planes", o->in_planes, "input channels")->capture_default_str(),
        cmd->add_option("--out-planes", o->out_planes, "output channels")->capture_default_str(),
    };
    cmd->add_option("--input-shape", o->input_shape, "C,H,W of one input")->required();
    cmd->callback([o, flags] {
        bool explicit_config = false;
        for (CLI::Option *f : flags) explicit_config = explicit_config || f->count() > 0;
        summarize(*o, explicit_config);
    });
}

}  // namespace ae2d::cli
