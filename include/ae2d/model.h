// The public C++ API: load an AE2d exported from PyTorch and run it.
//
//   auto model = ae2d::Model::load("denoiser.safetensors");
//   if (!model) { std::cerr << model.message() << "\n"; return 1; }
//   ae2d::Tensor x({1, 1, 256, 256});            // (B, C, H, W) float32
//   auto y = model->forward(x);                   // (B, out_planes, H, W)
//
// A Model is cheap to copy (copies share the weights) and forward() may be called from
// several threads at once.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ae2d/config.h"
#include "ae2d/limits.h"
#include "ae2d/schedule.h"
#include "ae2d/status.h"
#include "ae2d/tensor.h"

namespace ae2d {

struct TuneOptions;
struct TuneResult;

// Wall time per stage kind of one forward pass, and the arena it used.
struct ForwardProfile {
    std::map<std::string, double> seconds_by_stage_kind;
    int64_t arena_bytes = 0;
    int stages = 0;
    int64_t macs = 0;  // multiply-accumulates of the convolutions (direct method)
    // Stages the schedule ran with their Adams2019 ("auto") build, and how many of those could not
    // take their shape (the autoscheduler tiles by its estimates without tail cases) and ran
    // their manual schedule instead.
    int auto_stages = 0, auto_fallbacks = 0;
};

class Model {
public:
    // Reads a safetensors file holding the state_dict of mdnc.modules.resnet.AE2d. The
    // configuration comes from the file's __metadata__ or, without it, from the tensors.
    static Expected<Model> load(const std::string &path);
    // The same from tensors in memory; `source` names them in messages.
    static Expected<Model> from_tensors(std::map<std::string, Tensor> tensors,
                                        const std::map<std::string, std::string> &metadata,
                                        const std::string &source = "tensors");

    const Config &config() const;
    int nlayers() const;
    int64_t num_parameters() const;

    // The output shape for an input shape (B, C, H, W), or why that input is refused.
    Expected<std::vector<int64_t>> output_shape(const std::vector<int64_t> &input_shape) const;
    // The schedule table that picks each stage's compiled variant: by default the table shipped
    // for this CPU (ScheduleTable::shipped(cpu_target())). with_schedule returns a model that
    // shares the weights and runs with another table.
    const ScheduleTable &schedule() const;
    Model with_schedule(const ScheduleTable &schedule) const;

    // One forward pass on a batch (B, in_planes, H, W).
    Expected<Tensor> forward(const Tensor &input, ForwardProfile *profile = nullptr) const;

    struct Impl;

private:
    friend Expected<TuneResult> tune(const Model &, const std::vector<int64_t> &, const TuneOptions &);
    explicit Model(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
    std::shared_ptr<const Impl> impl_;
};

// Worker threads of the Halide runtime, shared by all models (0: one per core).
void set_num_threads(int threads);

// The torchsummary-style report of the seed document, for a configuration and an input (C, H, W).
Expected<std::string> summary(const Config &config, int64_t channels, int64_t height, int64_t width);

const char *version();

}  // namespace ae2d
