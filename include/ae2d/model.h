// The public C++ API: load an AE2d exported from PyTorch and run it.
//
//   auto model = ae2d::Model::load("denoiser.safetensors");
//   if (!model) { std::cerr << model.message() << "\n"; return 1; }
//   ae2d::Tensor x({1, 1, 256, 256});            // (B, C, H, W) float32
//   auto y = model->forward(x);                   // (B, out_planes, H, W)
//
// A Model is cheap to copy (copies share the weights) and forward() may be called from
// several threads at once.
//
// On a GPU (ae2d built with AE2D_GPU, the default; CUDA or OpenCL driver and device at run time):
//
//   auto model = ae2d::Model::load("denoiser.safetensors", {ae2d::Backend::OpenCL});
//
// load() uploads the weights to the device once; forward() copies the input to the device and
// the output back, and every intermediate stays on the device. A backend that is not compiled
// in or has no driver or device makes load() fail with the reason (ae2d::check_backend tells
// beforehand); it never falls back to the CPU by itself.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ae2d/config.h"
#include "ae2d/limits.h"
#include "ae2d/output_mode.h"
#include "ae2d/schedule.h"
#include "ae2d/status.h"
#include "ae2d/tensor.h"

namespace ae2d {

struct TuneOptions;
struct TuneResult;

// Wall time of one stage of a forward pass.
struct StageTiming {
    std::string module;  // PyTorch module path of the stage's (last) primitive
    std::string kind;    // "NormPReLUConv2d", ...
    std::string detail;  // "3x3 s2, 64->64, 128x128": kernel, stride, channels, output size
    int64_t macs = 0;    // direct-convolution multiply-accumulates (0 without weights)
    double seconds = 0;
    std::string variant;  // the compiled variant that ran it: "manual", "auto", "wino", ...
};

// Wall time per stage kind and per stage of one forward pass, and the arena it used.
struct ForwardProfile {
    std::map<std::string, double> seconds_by_stage_kind;
    std::vector<StageTiming> stages_timed;  // in execution order
    int64_t arena_bytes = 0;  // on a GPU backend: the device memory of the intermediates
    int stages = 0;
    int64_t macs = 0;  // multiply-accumulates of the convolutions (direct method)
    // Stages the schedule ran with their autoscheduled ("auto") build (Adams2019, on a GPU
    // Anderson2021), and how many of those could not take their shape (the autoscheduler tiles
    // by its estimates without tail cases) and ran their manual schedule instead.
    int auto_stages = 0, auto_fallbacks = 0;
};

// Where a model runs: the CPU (SIMD kernels, Halide's thread pool) or a GPU through CUDA or
// OpenCL.
enum class Backend { Cpu, Cuda, OpenCL };

// "cpu", "cuda", "opencl".
const char *backend_name(Backend backend);
// The inverse of backend_name; the message lists the accepted names.
Expected<Backend> parse_backend(const std::string &name);

// Whether a backend is compiled into this build and usable on this machine; `detail` says why
// not, or names the device. Probing a GPU backend loads its driver and creates its context
// once per process.
struct BackendStatus {
    Backend backend = Backend::Cpu;
    bool compiled = false;
    bool usable = false;
    std::string detail;
};
BackendStatus backend_status(Backend backend);
std::vector<BackendStatus> all_backend_status();  // cpu, cuda, opencl
// Ok when `backend` can run here, otherwise the reason as an error.
Status check_backend(Backend backend);

struct LoadOptions {
    Backend backend = Backend::Cpu;
    // Run the CPU backend on the tune cache's table for this configuration, when there is one
    // (ae2d/tune.h); the shipped table otherwise.
    bool tune_cache = true;
};

class Model {
public:
    // Reads a safetensors file holding the state_dict of mdnc.modules.resnet.AE2d. The
    // configuration comes from the file's __metadata__ or, without it, from the tensors.
    static Expected<Model> load(const std::string &path, const LoadOptions &options = {});
    // The same from tensors in memory; `source` names them in messages.
    static Expected<Model> from_tensors(std::map<std::string, Tensor> tensors,
                                        const std::map<std::string, std::string> &metadata,
                                        const std::string &source = "tensors", const LoadOptions &options = {});

    Backend backend() const;

    const Config &config() const;
    // What forward() returns: the network's output, or the transform the file's metadata
    // "output" names (ae2d/output_mode.h).
    OutputMode output_mode() const;
    int nlayers() const;
    int64_t num_parameters() const;

    // The output shape for an input shape (B, C, H, W), or why that input is refused.
    Expected<std::vector<int64_t>> output_shape(const std::vector<int64_t> &input_shape) const;
    // The schedule table that picks each stage's compiled variant: by default the tune cache's
    // entry for this configuration and CPU (ae2d/tune.h), else the table shipped for this CPU
    // (ScheduleTable::shipped(cpu_target())). with_schedule returns a model that shares the
    // weights and runs with another table.
    const ScheduleTable &schedule() const;
    Model with_schedule(const ScheduleTable &schedule) const;
    // What loading noticed without refusing the model: a tune-cache entry that was ignored
    // (unreadable, malformed, or tuned for another CPU target), and why.
    const std::vector<std::string> &warnings() const;

    // One forward pass on a batch (B, in_planes, H, W).
    Expected<Tensor> forward(const Tensor &input, ForwardProfile *profile = nullptr) const;
    // The same into `output`, reshaped only when its shape differs. Passing the previous
    // call's output for the same input shape, a pass allocates nothing on the heap: the plan
    // and the activation arena are cached per shape (profiling aside).
    Status forward_into(const Tensor &input, Tensor &output, ForwardProfile *profile = nullptr) const;
    // The same on memory the caller owns, without a copy in or out (language bindings use it):
    // `input` holds the B*C*H*W floats of `input_shape`, row-major; `output` holds `output_floats`
    // floats, exactly the size of output_shape(input_shape), and must not overlap the input.
    Status forward_view(const float *input, const std::vector<int64_t> &input_shape, float *output,
                        int64_t output_floats, ForwardProfile *profile = nullptr) const;

    // Times every compiled variant of each stage on inputs of `input_shape` (ae2d::tune in
    // ae2d/tune.h, which also tunes on several shapes).
    Expected<TuneResult> tune(const std::vector<int64_t> &input_shape, const TuneOptions &options) const;

private:
    struct Impl;
    explicit Model(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
    std::shared_ptr<const Impl> impl_;
};

// Worker threads of the Halide runtime, shared by all models (0: one per core).
void set_num_threads(int threads);

// The torchsummary-style report of the seed document, for a configuration and an input (C, H, W).
Expected<std::string> summary(const Config &config, int64_t channels, int64_t height, int64_t width);

const char *version();

}  // namespace ae2d
