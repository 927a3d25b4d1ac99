/*
 * The C API of ae2d, for C programs and foreign-function interfaces (Python ctypes, Rust, Go...).
 * It wraps the C++ API of ae2d/model.h. The header is valid C89, C99 and C++.
 *
 *   char err[256];
 *   ae2d_model *m = ae2d_model_load("denoiser.safetensors", err, sizeof err);
 *   if (!m) { fprintf(stderr, "%s\n", err); return 1; }
 *   int64_t in[4] = {1, 1, 256, 256}, out[4];
 *   if (ae2d_model_output_shape(m, in, out, err, sizeof err) != 0) { ... }
 *   ... allocate out[0]*out[1]*out[2]*out[3] floats ...
 *   if (ae2d_model_forward(m, x, in, y, y_floats, err, sizeof err) != 0) { ... }
 *   ae2d_model_free(m);
 *
 * Conventions:
 * - Tensors are float32, row-major (PyTorch's contiguous NCHW layout), shapes are (B, C, H, W).
 * - Fallible calls return 0 on success (or a non-NULL handle) and, on failure, return non-zero
 *   (or NULL) and copy a message into the caller's buffer `error` of `error_size` bytes,
 *   truncated to fit and always NUL-terminated (nothing is written when error is NULL or
 *   error_size is 0). No C++ exception ever crosses this API.
 * - One model may be used by several threads at once (ae2d_model_forward and the queries are
 *   thread-safe); ae2d_model_free must not race with other calls on the same model.
 * - Link with -lae2d (pkg-config: ae2d; CMake: find_package(ae2d), target ae2d::ae2d).
 */
#ifndef AE2D_AE2D_H
#define AE2D_AE2D_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* An AE2d or UNet2d network loaded from a safetensors file. Opaque; free with ae2d_model_free. */
typedef struct ae2d_model ae2d_model;

/* The library's version, "MAJOR.MINOR.PATCH" (a static string). */
const char *ae2d_version(void);

/* Loads a safetensors file holding the state_dict of mdnc.modules.resnet.AE2d or UNet2d (the
   metadata's "arch", or the tensor shapes, tell them apart). Returns NULL on
   failure with the reason in `error`. */
ae2d_model *ae2d_model_load(const char *path, char *error, size_t error_size);

/* The same on a backend: "cpu", "cuda" or "opencl" (NULL means "cpu"). On a GPU the weights are
   uploaded once here, and forward passes keep every intermediate on the device. Returns NULL,
   with the reason in `error`, when the backend is unknown, not compiled in, or has no driver or
   device on this machine. */
ae2d_model *ae2d_model_load_backend(const char *path, const char *backend, char *error, size_t error_size);

/* Frees a model; NULL is accepted. */
void ae2d_model_free(ae2d_model *model);

/* "AE2d" or "UNet2d" (a static string); NULL when model is NULL. */
const char *ae2d_model_arch(const ae2d_model *model);
/* The configuration: the arguments of AE2d / UNet2d(channel, layers, block, kernel_size,
   in_planes, out_planes). Each returns -1 when model is NULL. */
int ae2d_model_channel(const ae2d_model *model);
int ae2d_model_depth(const ae2d_model *model); /* the number of entries of `layers` */
/* Copies min(depth, capacity) entries of `layers` into `layers` (which may be NULL when
   capacity is 0) and returns depth, or -1 when model is NULL. */
int ae2d_model_layers(const ae2d_model *model, int *layers, size_t capacity);
/* "plain" or "bottleneck" (a static string); NULL when model is NULL. */
const char *ae2d_model_block(const ae2d_model *model);
int ae2d_model_kernel_h(const ae2d_model *model);
int ae2d_model_kernel_w(const ae2d_model *model);
int ae2d_model_in_planes(const ae2d_model *model);
int ae2d_model_out_planes(const ae2d_model *model);
/* What ae2d_model_forward returns, from the file's metadata "output": "raw" (the network's
   output) or "normalized" (mean + std * f((x - mean) / std) per plane); a static string, NULL
   when model is NULL. */
const char *ae2d_model_output_mode(const ae2d_model *model);
/* "AE2d(64, [2, 2, 2, 2], block='bottleneck', kernel_size=3, in_planes=1, out_planes=1)";
   valid while the model lives. NULL when model is NULL. */
const char *ae2d_model_describe(const ae2d_model *model);

/* Convolutional layers along the depth (the module's `nlayers`); -1 when model is NULL. */
int ae2d_model_nlayers(const ae2d_model *model);
/* The number of learnable parameters; -1 when model is NULL. */
int64_t ae2d_model_num_parameters(const ae2d_model *model);

/* The output shape (B, out_planes, H, W) for an input shape (B, C, H, W). Returns 0, or non-zero
   with the reason the input is refused in `error`. */
int ae2d_model_output_shape(const ae2d_model *model, const int64_t input_shape[4], int64_t output_shape[4],
                            char *error, size_t error_size);

/* One forward pass. `input` holds B*C*H*W floats of shape `input_shape`; `output` has room for
   `output_capacity_floats` floats and receives the output (its shape is given by
   ae2d_model_output_shape). Returns 0, or non-zero with the reason in `error` (then `output`
   is left unchanged). Thread-safe. */
int ae2d_model_forward(const ae2d_model *model, const float *input, const int64_t input_shape[4], float *output,
                       size_t output_capacity_floats, char *error, size_t error_size);

/* Worker threads of the runtime, shared by all models (0: one per core). */
void ae2d_set_num_threads(int threads);

/* Process-wide limits checked before anything is allocated (ae2d/limits.h has their meaning and
   defaults). */
typedef struct ae2d_limits {
    int64_t max_dimension;
    int64_t max_tensor_elements;
    int64_t max_image_pixels;
    int64_t max_safetensors_header_bytes;
    int64_t max_forward_bytes;
} ae2d_limits;

/* The limits in force. */
ae2d_limits ae2d_get_limits(void);
/* Replaces the limits. Returns 0, or non-zero with the reason in `error` (a limit below 1); the
   limits are then unchanged. */
int ae2d_set_limits(const ae2d_limits *limits, char *error, size_t error_size);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* AE2D_AE2D_H */
