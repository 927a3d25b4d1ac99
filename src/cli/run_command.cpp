// ae2d run: forward passes on .npy / .png inputs, one file or many (batched by size).
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>

#include "cli/commands.h"
#include "io/npy.h"
#include "io/png_image.h"

namespace fs = std::filesystem;

namespace ae2d::cli {

namespace {

struct RunOptions {
    std::string model, output, compare, clean, format, backend = "cpu", schedule = "tuned";
    std::vector<std::string> inputs;
    int threads = 0, batch = 8;
};

std::string lower_extension(const std::string &path) {
    std::string e = fs::path(path).extension().string();
    for (char &ch : e) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return e;
}

// One input file, read as a batch (B, C, H, W).
struct Item {
    std::string input, output;
    Tensor x;
    Tensor alpha;       // a PNG's alpha plane (1, H, W), written back unchanged; else empty
    int bit_depth = 8;  // a PNG output is written at the input's depth
};

Status read_input(Item &item) {
    const std::string ext = lower_extension(item.input);
    if (ext == ".png") {
        auto img = io::read_png(item.input);
        if (!img) return img.status();
        item.bit_depth = img->bit_depth;
        item.x = std::move(img->pixels);
        item.alpha = std::move(img->alpha);
        item.x.shape.insert(item.x.shape.begin(), 1);
        return Status::Ok();
    }
    if (ext != ".npy") return Status::Error(item.input + ": the input must be a .npy or .png file");
    auto t = io::read_npy(item.input);
    if (!t) return t.status();
    if (t->rank() < 2 || t->rank() > 4)
        return Status::Error(item.input + ": an input array must have shape (H, W), (C, H, W) or (B, C, H, W), got " +
                             shape_to_string(t->shape));
    while (t->rank() < 4) t->shape.insert(t->shape.begin(), 1);
    item.x = std::move(*t);
    return Status::Ok();
}

Status check_output_name(const std::string &path) {
    const std::string ext = lower_extension(path);
    if (ext != ".npy" && ext != ".png") return Status::Error(path + ": the output must be a .npy or .png file");
    return Status::Ok();
}

Status write_output(const std::string &path, Tensor y, int bit_depth, const Tensor &alpha) {
    if (lower_extension(path) == ".npy") return io::write_npy(path, y);
    if (y.shape[0] != 1)
        return Status::Error(path + ": a PNG holds one image, the output is a batch of " + std::to_string(y.shape[0]) +
                             " (write .npy instead)");
    if (y.shape[1] != 1 && y.shape[1] != 3)
        return Status::Error(path + ": a PNG holds 1 or 3 channels, the output has " + std::to_string(y.shape[1]) +
                             " (write .npy instead)");
    y.shape.erase(y.shape.begin());
    const bool keep_alpha = !alpha.data.empty() && alpha.shape[1] == y.shape[1] && alpha.shape[2] == y.shape[2];
    return io::write_png(path, y, bit_depth, keep_alpha ? &alpha : nullptr);
}

// PSNR in dB of `x` (clamped to [0, 1], as an image would be) against a clean image in [0, 1].
Expected<double> psnr(const Tensor &x, const Tensor &clean) {
    if (x.numel() != clean.numel())
        return Status::Error("the clean image has shape " + shape_to_string(clean.shape) + ", the image " +
                             shape_to_string(x.shape));
    double se = 0;
    for (size_t i = 0; i < clean.data.size(); ++i) {
        const double v = std::min(1.0, std::max(0.0, double(x.data[i])));
        se += (v - clean.data[i]) * (v - clean.data[i]);
    }
    const double mse = se / double(clean.data.size());
    return mse > 0 ? 10.0 * std::log10(1.0 / mse) : INFINITY;
}

// Progress on stderr: a redrawn bar on a terminal, plain lines otherwise; none for `total` 0.
class Progress {
public:
    explicit Progress(size_t total) : total_(total), tty_(isatty(STDERR_FILENO) != 0) {}
    void advance(size_t images) {
        if (total_ == 0) return;
        done_ += images;
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
        const double rate = s > 0 ? double(done_) / s : 0;
        const double left = rate > 0 ? double(total_ - done_) / rate : 0;
        const int width = 30, filled = total_ ? int(width * done_ / total_) : width;
        if (tty_) {
            std::fprintf(stderr, "\r[%s%s] %zu/%zu images, %.2f images/s, %.0f s left   ",
                         std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(), done_, total_,
                         rate, left);
            if (done_ >= total_) std::fprintf(stderr, "\n");
        } else {
            std::fprintf(stderr, "%zu/%zu images, %.2f images/s, %.0f s left\n", done_, total_, rate, left);
        }
        std::fflush(stderr);
    }

private:
    size_t total_, done_ = 0;
    bool tty_;
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};


// Runs the items, batching same-sized single images. One input file to one output file
// (`single`) is a batch of one that also reports its time, the comparison with --compare, and
// what it wrote.
class Runner {
public:
    // channels_as_batch: run each channel of a multi-channel input as its own gray image (the
    // bundled one-channel denoiser on RGB); a model given with --model keeps the strict check.
    Runner(const Model &model, const RunOptions &o, bool single, bool channels_as_batch)
        : model_(model), o_(o), single_(single), channels_as_batch_(channels_as_batch) {}

    // Returns how many items failed.
    size_t run_all(std::vector<Item> &items) {
        Progress progress(single_ ? 0 : items.size());
        std::map<std::vector<int64_t>, std::vector<Item *>> pending;
        auto flush = [&](std::vector<Item *> &batch) {
            if (batch.empty()) return;
            run_batch(batch);
            progress.advance(batch.size());
            batch.clear();
        };
        for (Item &item : items) {
            Status ok = read_input(item);
            if (!ok) {
                report_failure(item, ok);
                progress.advance(1);
                continue;
            }
            std::vector<int64_t> key = item.x.shape;
            if (key[0] != 1) key.push_back(-1);  // a batch in one file runs on its own
            auto &batch = pending[key];
            batch.push_back(&item);
            if (key[0] != 1 || batch.size() >= size_t(std::max(1, o_.batch))) flush(batch);
        }
        for (auto &[key, batch] : pending) flush(batch);
        return failures_;
    }

private:
    void report_failure(const Item &item, const Status &s) {
        ++failures_;
        fail(s.message().rfind(item.input, 0) == 0 ? s.message() : s.with_context(item.input).message());
    }

    void run_batch(const std::vector<Item *> &batch) {
        Tensor x = batch.front()->x;
        if (batch.size() > 1) {
            x.shape[0] = int64_t(batch.size());
            x.data.clear();
            for (const Item *it : batch) x.data.insert(x.data.end(), it->x.data.begin(), it->x.data.end());
        }
        // (B, C, H, W) and (B * C, 1, H, W) are the same floats in the same order: a reshape.
        const int64_t channels = x.shape[1];
        const bool split = channels_as_batch_ && channels > 1;
        if (split) x.shape = {x.shape[0] * channels, 1, x.shape[2], x.shape[3]};
        const auto t0 = std::chrono::steady_clock::now();
        auto y = model_.forward(x);
        const std::chrono::duration<double, std::milli> dt = std::chrono::steady_clock::now() - t0;
        if (!y) {
            for (const Item *it : batch) report_failure(*it, y.status());
            return;
        }
        if (split) y->shape = {y->shape[0] / channels, channels, y->shape[2], y->shape[3]};
        if (single_)
            std::printf("%s: %s -> %s in %.1f ms\n", model_.config().to_string().c_str(),
                        shape_to_string(x.shape).c_str(), shape_to_string(y->shape).c_str(), dt.count());
        const int64_t per_image = y->numel() / y->shape[0];
        for (size_t i = 0; i < batch.size(); ++i) {
            const Item &it = *batch[i];
            Tensor yi = *y;
            if (batch.size() > 1) {
                yi.shape[0] = 1;
                yi.data.assign(y->data.begin() + int64_t(i) * per_image, y->data.begin() + int64_t(i + 1) * per_image);
            }
            Status ok = single_ && !o_.compare.empty() ? report_comparison(yi) : Status::Ok();
            if (ok && !o_.clean.empty()) ok = report_psnr(it, yi);
            if (ok) ok = write_output(it.output, std::move(yi), it.bit_depth, it.alpha);
            if (!ok) {
                report_failure(it, ok);
                continue;
            }
            if (single_) std::printf("wrote %s\n", it.output.c_str());
        }
    }

    // The largest difference of `y` to the --compare reference.
    Status report_comparison(const Tensor &y) const {
        auto ref = io::read_npy(o_.compare);
        if (!ref) return ref.status();
        if (ref->shape != y.shape)
            return Status::Error(o_.compare + ": shape " + shape_to_string(ref->shape) + ", the output is " +
                                 shape_to_string(y.shape));
        double max_diff = 0, max_ref = 0;
        bool nan_seen = false;  // std::max drops NaN: a NaN difference must still show
        for (size_t i = 0; i < ref->data.size(); ++i) {
            const double d = std::fabs(double(y.data[i]) - double(ref->data[i]));
            nan_seen = nan_seen || std::isnan(d);
            max_diff = std::max(max_diff, d);
            max_ref = std::max(max_ref, double(std::fabs(ref->data[i])));
        }
        if (nan_seen) max_diff = NAN;
        std::printf("compared with %s: max |y - ref| = %.3g, max |ref| = %.3g, ratio %.3g\n", o_.compare.c_str(),
                    max_diff, max_ref, max_ref > 0 ? max_diff / max_ref : max_diff);
        return Status::Ok();
    }

    // PSNR of the input and of the output against the clean image (--clean: a file, or a
    // directory holding one of the same name).
    Status report_psnr(const Item &it, const Tensor &y) const {
        const fs::path clean = fs::is_directory(o_.clean) ? fs::path(o_.clean) / fs::path(it.input).filename()
                                                           : fs::path(o_.clean);
        Item c;
        c.input = clean.string();
        Status ok = read_input(c);
        if (!ok) return ok;
        auto before = psnr(it.x, c.x), after = psnr(y, c.x);
        if (!before || !after) return (before ? after.status() : before.status()).with_context(c.input);
        if (single_)
            std::printf("PSNR against %s: input %.2f dB, output %.2f dB (%+.2f dB)\n", c.input.c_str(), *before,
                        *after, *after - *before);
        else
            std::printf("%s: PSNR %.2f dB -> %.2f dB (%+.2f dB) against %s\n", it.input.c_str(), *before, *after,
                        *after - *before, c.input.c_str());
        return Status::Ok();
    }

    const Model &model_;
    const RunOptions &o_;
    const bool single_;
    const bool channels_as_batch_;
    size_t failures_ = 0;
};

// The files to process and where each output goes.
Expected<std::vector<Item>> plan_items(const RunOptions &o) {
    std::vector<std::string> files;
    bool many = o.inputs.size() > 1;
    for (const std::string &in : o.inputs) {
        if (fs::is_directory(in)) {
            many = true;
            std::vector<std::string> found;
            for (const auto &e : fs::directory_iterator(in))
                if (e.is_regular_file() && (lower_extension(e.path()) == ".png" || lower_extension(e.path()) == ".npy"))
                    found.push_back(e.path().string());
            std::sort(found.begin(), found.end());
            files.insert(files.end(), found.begin(), found.end());
        } else {
            files.push_back(in);
        }
    }
    std::vector<Item> items;
    if (!many && !fs::is_directory(o.output)) {  // one file to one file
        Status ok = check_output_name(o.output);
        if (!ok) return ok;
        items.push_back({files.front(), o.output, {}, {}, 8});
    } else {
        if (fs::exists(o.output) && !fs::is_directory(o.output))
            return Status::Error(o.output + ": with several inputs or a directory, the output must be a directory");
        std::error_code ec;
        fs::create_directories(o.output, ec);
        if (ec) return Status::Error(o.output + ": cannot create the output directory: " + ec.message());
        for (const std::string &f : files) {
            const std::string ext = o.format.empty() ? lower_extension(f) : "." + o.format;
            items.push_back({f, (fs::path(o.output) / fs::path(f).stem()).string() + ext, {}, {}, 8});
        }
    }
    return items;
}

// An output must never replace an input, nor another output of the same run.
Status check_no_overwrite(const Item &item, const std::set<fs::path> &inputs, std::set<fs::path> &outputs) {
    const fs::path out = fs::weakly_canonical(item.output);
    if (inputs.count(out)) return Status::Error(item.output + ": refusing to overwrite an input");
    if (!outputs.insert(out).second)
        return Status::Error(item.output + ": another input of this run writes the same output; skipped");
    return Status::Ok();
}

void run(RunOptions o) {
    if (o.threads < 0) return fail("--threads must be 0 (all cores) or positive");
    if (o.batch < 1) return fail("--batch must be positive");
    if (!o.format.empty() && o.format != "png" && o.format != "npy") return fail("--format must be png or npy");
    auto backend = parse_backend(o.backend);
    if (!backend) return fail("--backend: " + backend.message());
    if (o.threads > 0) set_num_threads(o.threads);
    auto items = plan_items(o);
    if (!items) return fail(items.status());
    const bool bundled = o.model.empty();
    if (bundled) o.model = default_model_path();
    auto loaded = load_model(o.model, {*backend});
    if (!loaded) return fail(loaded.status());
    auto scheduled = with_schedule_spec(*loaded, o.schedule);
    if (!scheduled) return fail(scheduled.status());
    const Model model = *scheduled;

    std::set<fs::path> inputs, outputs;
    for (const Item &it : *items) inputs.insert(fs::weakly_canonical(it.input));
    std::vector<Item> todo;
    for (Item &it : *items) {
        Status ok = check_no_overwrite(it, inputs, outputs);
        if (ok) todo.push_back(std::move(it));
        else fail(ok);
    }

    const bool single = todo.size() == 1 && items->size() == 1;
    const bool channels_as_batch = bundled && model.config().in_planes == 1 && model.config().out_planes == 1;
    Runner runner(model, o, single, channels_as_batch);
    const size_t failed = runner.run_all(todo);
    if (!single)
        std::printf("%zu of %zu inputs written to %s\n", todo.size() - failed, items->size(), o.output.c_str());
}

}  // namespace

void add_run_command(CLI::App &app) {
    auto opts = std::make_shared<RunOptions>();
    CLI::App *cmd = app.add_subcommand("run", "Run the model on .npy / .png inputs and write the outputs");
    cmd->add_option("--model,-m", opts->model, "safetensors file exported from PyTorch (default: the bundled denoiser)");
    cmd->add_option("--input,-i", opts->inputs,
                    "files or directories: .npy (H,W), (C,H,W), (B,C,H,W) float32/float64, or .png")
        ->required();
    cmd->add_option("--output,-o", opts->output,
                    "a .npy/.png file for one input; a directory for several inputs or a directory")
        ->required();
    cmd->add_option("--threads,-t", opts->threads, "worker threads (0: one per core)");
    cmd->add_option("--backend", opts->backend, "cpu, cuda or opencl (see ae2d info)")->capture_default_str();
    cmd->add_option("--batch", opts->batch, "same-sized images run together, up to this many")->capture_default_str();
    cmd->add_option("--format", opts->format, "output format in a directory: png or npy (default: the input's)");
    cmd->add_option("--schedule", opts->schedule,
                    "tuned (the table shipped for this CPU, else the built-in policy), policy, manual, auto "
                    "(Adams2019; Anderson2021 on a GPU) or a table file")
        ->capture_default_str();
    cmd->add_option("--compare", opts->compare, "reference output .npy: print the largest difference to it");
    cmd->add_option("--clean", opts->clean, "clean image (or directory of them, same names): print PSNR before/after");
    cmd->callback([opts] { run(*opts); });
}

}  // namespace ae2d::cli
