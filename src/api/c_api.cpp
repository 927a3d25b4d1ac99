// The C API (include/ae2d/ae2d.h): a thin wrapper of ae2d::Model that turns every failure,
// including a C++ exception such as std::bad_alloc, into a return code and a message.
#include "ae2d/ae2d.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <limits>
#include <new>
#include <string>
#include <vector>

#include "ae2d/limits.h"
#include "ae2d/model.h"

struct ae2d_model {
    ae2d::Model model;
    std::string description;  // ae2d_model_describe's string, made once at load
};

namespace {

// Copies `message` into the caller's buffer, truncated and NUL-terminated.
void set_error(char *error, size_t error_size, const char *message) noexcept {
    if (error == nullptr || error_size == 0) return;
    const size_t n = std::min(std::strlen(message), error_size - 1);
    std::memcpy(error, message, n);
    error[n] = '\0';
}

void clear_error(char *error, size_t error_size) noexcept {
    if (error != nullptr && error_size > 0) error[0] = '\0';
}

// Runs `body` (which returns 0 or non-zero after setting the error itself), mapping an escaping
// exception to a message and the return value `failed`.
template<typename R, typename F>
R guarded(char *error, size_t error_size, R failed, F &&body) noexcept {
    try {
        return body();
    } catch (const std::bad_alloc &) {
        set_error(error, error_size, "out of memory");
    } catch (const std::exception &e) {
        set_error(error, error_size, e.what());
    } catch (...) {
        set_error(error, error_size, "unknown error");
    }
    return failed;
}

// B * C * H * W of a validated shape, or false when it does not fit a size_t.
bool element_count(const std::vector<int64_t> &shape, size_t *count) {
    size_t n = 1;
    for (int64_t d : shape) {
        if (d < 0 || (d > 0 && n > std::numeric_limits<size_t>::max() / static_cast<uint64_t>(d))) return false;
        n *= static_cast<size_t>(d);
    }
    *count = n;
    return true;
}

}  // namespace

extern "C" {

const char *ae2d_version(void) { return ae2d::version(); }

ae2d_model *ae2d_model_load(const char *path, char *error, size_t error_size) {
    return ae2d_model_load_backend(path, nullptr, error, error_size);
}

ae2d_model *ae2d_model_load_backend(const char *path, const char *backend, char *error, size_t error_size) {
    clear_error(error, error_size);
    return guarded<ae2d_model *>(error, error_size, nullptr, [&]() -> ae2d_model * {
        if (path == nullptr) {
            set_error(error, error_size, "ae2d_model_load: path is NULL");
            return nullptr;
        }
        auto parsed = ae2d::parse_backend(backend ? backend : "cpu");
        if (!parsed) {
            set_error(error, error_size, parsed.message().c_str());
            return nullptr;
        }
        auto model = ae2d::Model::load(path, {*parsed});
        if (!model) {
            set_error(error, error_size, model.message().c_str());
            return nullptr;
        }
        std::string description = model->config().to_string();
        return new ae2d_model{std::move(*model), std::move(description)};
    });
}

void ae2d_model_free(ae2d_model *model) { delete model; }

const char *ae2d_model_arch(const ae2d_model *model) {
    return model ? ae2d::arch_name(model->model.config().arch) : nullptr;
}

int ae2d_model_channel(const ae2d_model *model) { return model ? model->model.config().channel : -1; }

int ae2d_model_depth(const ae2d_model *model) { return model ? model->model.config().depth() : -1; }

int ae2d_model_layers(const ae2d_model *model, int *layers, size_t capacity) {
    if (model == nullptr) return -1;
    const std::vector<int> &l = model->model.config().layers;
    if (layers != nullptr) std::copy_n(l.begin(), std::min(capacity, l.size()), layers);
    return static_cast<int>(l.size());
}

const char *ae2d_model_block(const ae2d_model *model) {
    return model ? ae2d::block_kind_name(model->model.config().block) : nullptr;
}

int ae2d_model_kernel_h(const ae2d_model *model) { return model ? model->model.config().kernel_h : -1; }

int ae2d_model_kernel_w(const ae2d_model *model) { return model ? model->model.config().kernel_w : -1; }

int ae2d_model_in_planes(const ae2d_model *model) { return model ? model->model.config().in_planes : -1; }

int ae2d_model_out_planes(const ae2d_model *model) { return model ? model->model.config().out_planes : -1; }

const char *ae2d_model_output_mode(const ae2d_model *model) {
    return model ? ae2d::output_mode_name(model->model.output_mode()) : nullptr;
}

const char *ae2d_model_describe(const ae2d_model *model) { return model ? model->description.c_str() : nullptr; }

int ae2d_model_nlayers(const ae2d_model *model) { return model ? model->model.nlayers() : -1; }

int64_t ae2d_model_num_parameters(const ae2d_model *model) { return model ? model->model.num_parameters() : -1; }

int ae2d_model_output_shape(const ae2d_model *model, const int64_t input_shape[4], int64_t output_shape[4],
                            char *error, size_t error_size) {
    clear_error(error, error_size);
    return guarded(error, error_size, 1, [&]() -> int {
        if (model == nullptr || input_shape == nullptr || output_shape == nullptr) {
            set_error(error, error_size, "ae2d_model_output_shape: model, input_shape or output_shape is NULL");
            return 1;
        }
        auto out = model->model.output_shape(std::vector<int64_t>(input_shape, input_shape + 4));
        if (!out) {
            set_error(error, error_size, out.message().c_str());
            return 1;
        }
        if (out->size() != 4) {
            set_error(error, error_size, "ae2d_model_output_shape: the output is not 4-dimensional");
            return 1;
        }
        std::copy(out->begin(), out->end(), output_shape);
        return 0;
    });
}

int ae2d_model_forward(const ae2d_model *model, const float *input, const int64_t input_shape[4], float *output,
                       size_t output_capacity_floats, char *error, size_t error_size) {
    clear_error(error, error_size);
    return guarded(error, error_size, 1, [&]() -> int {
        if (model == nullptr || input == nullptr || input_shape == nullptr || output == nullptr) {
            set_error(error, error_size, "ae2d_model_forward: model, input, input_shape or output is NULL");
            return 1;
        }
        const std::vector<int64_t> shape(input_shape, input_shape + 4);
        // The model validates the shape (and its limits) before anything the size of the input is
        // allocated; the output's size is then known before running.
        auto out_shape = model->model.output_shape(shape);
        if (!out_shape) {
            set_error(error, error_size, out_shape.message().c_str());
            return 1;
        }
        size_t in_count = 0, out_count = 0;
        if (!element_count(shape, &in_count) || !element_count(*out_shape, &out_count)) {
            set_error(error, error_size, ("ae2d_model_forward: input " + ae2d::shape_to_string(shape) +
                                          " has more elements than fit in memory")
                                             .c_str());
            return 1;
        }
        if (output_capacity_floats < out_count) {
            const std::string m = "ae2d_model_forward: the output " + ae2d::shape_to_string(*out_shape) + " needs " +
                                  std::to_string(out_count) + " floats, the output buffer holds " +
                                  std::to_string(output_capacity_floats);
            set_error(error, error_size, m.c_str());
            return 1;
        }
        ae2d::Tensor x;
        x.shape = shape;
        x.data.assign(input, input + in_count);
        auto y = model->model.forward(x);
        if (!y) {
            set_error(error, error_size, y.message().c_str());
            return 1;
        }
        if (y->data.size() != out_count) {
            set_error(error, error_size, "ae2d_model_forward: the output's size differs from its shape");
            return 1;
        }
        std::copy(y->data.begin(), y->data.end(), output);
        return 0;
    });
}

void ae2d_set_num_threads(int threads) { ae2d::set_num_threads(threads); }

ae2d_limits ae2d_get_limits(void) {
    const ae2d::Limits l = ae2d::limits();
    return {l.max_dimension, l.max_tensor_elements, l.max_image_pixels, l.max_safetensors_header_bytes,
            l.max_forward_bytes};
}

int ae2d_set_limits(const ae2d_limits *limits, char *error, size_t error_size) {
    return guarded(error, error_size, -1, [&]() -> int {
        if (limits == nullptr) {
            set_error(error, error_size, "limits is NULL");
            return -1;
        }
        ae2d::Limits l;
        l.max_dimension = limits->max_dimension;
        l.max_tensor_elements = limits->max_tensor_elements;
        l.max_image_pixels = limits->max_image_pixels;
        l.max_safetensors_header_bytes = limits->max_safetensors_header_bytes;
        l.max_forward_bytes = limits->max_forward_bytes;
        const ae2d::Status ok = ae2d::set_limits(l);
        if (!ok) {
            set_error(error, error_size, ok.message().c_str());
            return -1;
        }
        clear_error(error, error_size);
        return 0;
    });
}

}  // extern "C"
