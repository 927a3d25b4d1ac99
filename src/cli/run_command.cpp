// ae2d run: one forward pass on a .npy or .png input.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "io/npy.h"
#include "io/png_image.h"

namespace ae2d::cli {

namespace {

struct RunOptions {
    std::string model, input, output, compare;
    int threads = 0;
};

bool has_extension(const std::string &path, const char *ext) {
    std::string e = std::filesystem::path(path).extension().string();
    for (char &ch : e) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return e == ext;
}

// The input as a batch (B, C, H, W), and the bit depth a PNG output should use.
Expected<Tensor> read_input(const std::string &path, int *bit_depth) {
    *bit_depth = 8;
    if (has_extension(path, ".png")) {
        auto img = io::read_png(path);
        if (!img) return img.status();
        *bit_depth = img->bit_depth;
        Tensor t = std::move(img->pixels);
        t.shape.insert(t.shape.begin(), 1);
        return t;
    }
    if (!has_extension(path, ".npy")) return Status::Error(path + ": the input must be a .npy or .png file");
    auto t = io::read_npy(path);
    if (!t) return t.status();
    if (t->rank() < 2 || t->rank() > 4)
        return Status::Error(path + ": an input array must have shape (H, W), (C, H, W) or (B, C, H, W), got " +
                             shape_to_string(t->shape));
    while (t->rank() < 4) t->shape.insert(t->shape.begin(), 1);
    return t;
}

Status write_output(const std::string &path, Tensor y, int bit_depth) {
    if (has_extension(path, ".npy")) return io::write_npy(path, y);
    if (!has_extension(path, ".png")) return Status::Error(path + ": the output must be a .npy or .png file");
    if (y.shape[0] != 1)
        return Status::Error(path + ": a PNG holds one image, the output is a batch of " + std::to_string(y.shape[0]) +
                             " (write .npy instead)");
    if (y.shape[1] != 1 && y.shape[1] != 3)
        return Status::Error(path + ": a PNG holds 1 or 3 channels, the output has " + std::to_string(y.shape[1]) +
                             " (write .npy instead)");
    y.shape.erase(y.shape.begin());
    return io::write_png(path, y, bit_depth);
}

void run(const RunOptions &o) {
    if (o.threads < 0) return fail("--threads must be 0 (all cores) or positive");
    if (o.threads > 0) set_num_threads(o.threads);
    // Check the output's kind before any work, so a bad name costs nothing.
    if (!has_extension(o.output, ".npy") && !has_extension(o.output, ".png"))
        return fail(o.output + ": the output must be a .npy or .png file");
    auto model = Model::load(o.model);
    if (!model) return fail(model.status());
    int bit_depth = 8;
    auto x = read_input(o.input, &bit_depth);
    if (!x) return fail(x.status());
    Tensor reference;
    if (!o.compare.empty()) {
        auto r = io::read_npy(o.compare);
        if (!r) return fail(r.status());
        reference = std::move(*r);
    }
    const auto t0 = std::chrono::steady_clock::now();
    auto y = model->forward(*x);
    const std::chrono::duration<double, std::milli> dt = std::chrono::steady_clock::now() - t0;
    if (!y) return fail(y.status().with_context(o.input));
    std::printf("%s: %s -> %s in %.1f ms\n", model->config().to_string().c_str(), shape_to_string(x->shape).c_str(),
                shape_to_string(y->shape).c_str(), dt.count());
    if (!o.compare.empty()) {
        if (reference.shape != y->shape)
            return fail(o.compare + ": shape " + shape_to_string(reference.shape) + ", the output is " +
                        shape_to_string(y->shape));
        double max_diff = 0, max_ref = 0;
        for (size_t i = 0; i < reference.data.size(); ++i) {
            max_diff = std::max(max_diff, double(std::fabs(y->data[i] - reference.data[i])));
            max_ref = std::max(max_ref, double(std::fabs(reference.data[i])));
        }
        std::printf("compared with %s: max |y - ref| = %.3g, max |ref| = %.3g, ratio %.3g\n", o.compare.c_str(),
                    max_diff, max_ref, max_ref > 0 ? max_diff / max_ref : max_diff);
    }
    Status ok = write_output(o.output, std::move(*y), bit_depth);
    if (!ok) return fail(ok);
    std::printf("wrote %s\n", o.output.c_str());
}

}  // namespace

void add_run_command(CLI::App &app) {
    auto opts = std::make_shared<RunOptions>();
    CLI::App *cmd = app.add_subcommand("run", "Run the model on an input (.npy or .png) and write the output");
    cmd->add_option("--model,-m", opts->model, "safetensors file exported from PyTorch")->required();
    cmd->add_option("--input,-i", opts->input, ".npy (H,W), (C,H,W), (B,C,H,W) float32/float64, or .png")->required();
    cmd->add_option("--output,-o", opts->output, ".npy (float32, B x out_planes x H x W) or .png")->required();
    cmd->add_option("--threads,-t", opts->threads, "worker threads (0: one per core)");
    cmd->add_option("--compare", opts->compare, "reference output .npy: print the largest difference to it");
    cmd->callback([opts] { run(*opts); });
}

}  // namespace ae2d::cli
