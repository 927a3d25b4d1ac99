// ae2d._ae2d: the nanobind binding of the C++ API (include/ae2d/model.h). The Python package
// (python/ae2d/__init__.py) checks and converts arguments and calls in here with C-contiguous
// float32 arrays only; this layer still refuses anything else (noconvert: never a silent copy).
// Every library failure becomes a Python exception carrying the library's message.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/map.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "ae2d/config.h"
#include "ae2d/limits.h"
#include "ae2d/model.h"
#include "io/png_image.h"
#include "model/config_inference.h"

namespace nb = nanobind;

namespace {

using Input = nb::ndarray<const float, nb::ndim<4>, nb::c_contig, nb::device::cpu>;
using Output = nb::ndarray<float, nb::ndim<4>, nb::c_contig, nb::device::cpu>;

[[noreturn]] void raise_value(const std::string &message) { throw nb::value_error(message.c_str()); }

template<typename T>
T take(ae2d::Expected<T> e) {
    if (!e) raise_value(e.message());
    return std::move(e).value();
}

ae2d::Backend backend_of(const std::string &name) {
    ae2d::Backend b = take(ae2d::parse_backend(name));
    ae2d::Status ok = ae2d::check_backend(b);
    if (!ok) throw std::runtime_error(ok.message());
    return b;
}

// A loaded model. close() drops the reference; a forward pass running on another thread holds
// its own, so closing never frees weights in use.
class PyModel {
public:
    explicit PyModel(ae2d::Model m) : model_(std::make_shared<const ae2d::Model>(std::move(m))) {}

    std::shared_ptr<const ae2d::Model> get() const {
        if (!model_) raise_value("the model is closed");
        return model_;
    }
    void close() { model_.reset(); }
    bool closed() const { return !model_; }

private:
    std::shared_ptr<const ae2d::Model> model_;
};

// The seconds forward_view took in this thread's last forward call: bench/python_overhead.py
// subtracts it from the time of the same call seen from Python.
thread_local double last_forward_seconds = 0;

ae2d::Status timed_forward(const ae2d::Model &m, const float *x, const std::vector<int64_t> &shape, float *y,
                           int64_t n) {
    const auto t0 = std::chrono::steady_clock::now();
    ae2d::Status ok = m.forward_view(x, shape, y, n);
    last_forward_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return ok;
}

std::vector<int64_t> shape_of(const Input &x) {
    return {int64_t(x.shape(0)), int64_t(x.shape(1)), int64_t(x.shape(2)), int64_t(x.shape(3))};
}

nb::ndarray<nb::numpy, float, nb::ndim<4>> forward_new(const PyModel &self, const Input &x) {
    std::shared_ptr<const ae2d::Model> m = self.get();
    const std::vector<int64_t> shape = shape_of(x);
    const std::vector<int64_t> o = take(m->output_shape(shape));
    const int64_t n = o[0] * o[1] * o[2] * o[3];
    float *data = new float[size_t(n)];  // std::bad_alloc becomes MemoryError
    nb::capsule owner(data, [](void *p) noexcept { delete[] static_cast<float *>(p); });
    ae2d::Status ok;
    {
        nb::gil_scoped_release release;
        ok = timed_forward(*m, x.data(), shape, data, n);
    }
    if (!ok) raise_value(ok.message());
    return nb::ndarray<nb::numpy, float, nb::ndim<4>>(data, {size_t(o[0]), size_t(o[1]), size_t(o[2]), size_t(o[3])},
                                                      owner);
}

void forward_out(const PyModel &self, const Input &x, Output &out) {
    std::shared_ptr<const ae2d::Model> m = self.get();
    const std::vector<int64_t> shape = shape_of(x);
    const std::vector<int64_t> o = take(m->output_shape(shape));
    const std::vector<int64_t> got = {int64_t(out.shape(0)), int64_t(out.shape(1)), int64_t(out.shape(2)),
                                      int64_t(out.shape(3))};
    if (got != o)
        raise_value("out has shape " + ae2d::shape_to_string(got) + ", the output of " + ae2d::shape_to_string(shape) +
                    " is " + ae2d::shape_to_string(o));
    ae2d::Status ok;
    {
        nb::gil_scoped_release release;
        ok = timed_forward(*m, x.data(), shape, out.data(), int64_t(out.size()));
    }
    if (!ok) raise_value(ok.message());
}

std::map<std::string, ae2d::Tensor> to_tensors(const std::map<std::string, nb::ndarray<const float, nb::c_contig, nb::device::cpu>> &arrays) {
    std::map<std::string, ae2d::Tensor> tensors;
    for (const auto &[name, a] : arrays) {
        ae2d::Tensor t;
        for (size_t d = 0; d < a.ndim(); ++d) t.shape.push_back(int64_t(a.shape(d)));
        t.data.assign(a.data(), a.data() + a.size());
        tensors.emplace(name, std::move(t));
    }
    return tensors;
}

// (channel, layers, block, (kh, kw), in_planes, out_planes, arch)
using ConfigTuple = std::tuple<int, std::vector<int>, std::string, std::tuple<int, int>, int, int, std::string>;

ConfigTuple config_tuple(const ae2d::Config &c) {
    return {c.channel,    c.layers,      ae2d::block_kind_name(c.block), {c.kernel_h, c.kernel_w},
            c.in_planes, c.out_planes, ae2d::arch_name(c.arch)};
}

ae2d::Config config_from(const ConfigTuple &t) {
    ae2d::Config c;
    c.channel = std::get<0>(t);
    c.layers = std::get<1>(t);
    c.block = take(ae2d::parse_block_kind(std::get<2>(t)));
    c.kernel_h = std::get<0>(std::get<3>(t));
    c.kernel_w = std::get<1>(std::get<3>(t));
    c.in_planes = std::get<4>(t);
    c.out_planes = std::get<5>(t);
    c.arch = take(ae2d::parse_arch(std::get<6>(t)));
    ae2d::Status ok = c.validate();
    if (!ok) raise_value(ok.message());
    return c;
}

// An image as Ray / PIL decode it, (H, W) or (H, W, C) uint8 or uint16, to (C', H, W) float32 in
// [0, 1] as `ae2d run` reads a PNG: alpha dropped (C = 2 -> 1, 4 -> 3), each sample scaled by
// io::sample_to_float.
template<typename T>
nb::ndarray<nb::numpy, float, nb::ndim<3>> planes_from(const nb::ndarray<const T, nb::c_contig, nb::device::cpu> &img,
                                                        int bit_depth) {
    if (img.ndim() != 2 && img.ndim() != 3)
        raise_value("an image must have shape (H, W) or (H, W, C), got " + std::to_string(img.ndim()) + " dimensions");
    const size_t H = img.shape(0), W = img.shape(1), C = img.ndim() == 3 ? img.shape(2) : 1;
    if (C < 1 || C > 4) raise_value("an image has 1 to 4 channels, got " + std::to_string(C));
    if (H == 0 || W == 0) raise_value("an image must not be empty");
    const size_t out_c = (C == 2 || C == 4) ? C - 1 : C;
    float *data = new float[out_c * H * W];
    nb::capsule owner(data, [](void *p) noexcept { delete[] static_cast<float *>(p); });
    const T *src = img.data();
    for (size_t y = 0; y < H; ++y)
        for (size_t x = 0; x < W; ++x)
            for (size_t c = 0; c < out_c; ++c)
                data[(c * H + y) * W + x] = ae2d::io::sample_to_float(unsigned(src[(y * W + x) * C + c]), bit_depth);
    return nb::ndarray<nb::numpy, float, nb::ndim<3>>(data, {out_c, H, W}, owner);
}

// (C, H, W) float32 to an (H, W) (C = 1) or (H, W, C) image of T, as `ae2d run` writes a PNG:
// clamped to [0, 1], NaN to 0, rounded to the nearest level (io::float_to_sample).
template<typename T>
nb::ndarray<nb::numpy, T> image_from(const nb::ndarray<const float, nb::ndim<3>, nb::c_contig, nb::device::cpu> &y,
                                     int bit_depth) {
    const size_t C = y.shape(0), H = y.shape(1), W = y.shape(2);
    T *data = new T[C * H * W];
    nb::capsule owner(data, [](void *p) noexcept { delete[] static_cast<T *>(p); });
    const float *src = y.data();
    for (size_t c = 0; c < C; ++c)
        for (size_t i = 0; i < H * W; ++i) data[i * C + c] = T(ae2d::io::float_to_sample(src[c * H * W + i], bit_depth));
    if (C == 1) return nb::ndarray<nb::numpy, T>(data, {H, W}, owner);
    return nb::ndarray<nb::numpy, T>(data, {H, W, C}, owner);
}

}  // namespace

NB_MODULE(_ae2d, m) {
    m.doc() = "ae2d: residual auto-encoders trained in PyTorch, run by Halide kernels (C++ binding)";
    m.attr("__version__") = ae2d::version();

    m.def("set_num_threads", [](int threads) {
        if (threads < 0) raise_value("threads must be 0 (one per core) or positive, got " + std::to_string(threads));
        ae2d::set_num_threads(threads);
    });
    m.def("backends", [] {
        std::vector<std::tuple<std::string, bool, bool, std::string>> out;
        for (const ae2d::BackendStatus &s : ae2d::all_backend_status())
            out.emplace_back(ae2d::backend_name(s.backend), s.compiled, s.usable, s.detail);
        return out;
    });
    m.def("_last_forward_seconds", [] { return last_forward_seconds; });
    m.def("cpu_target", [] { return ae2d::cpu_target(); });
    m.def("limits", [] {
        const ae2d::Limits l = ae2d::limits();
        return std::map<std::string, int64_t>{{"max_dimension", l.max_dimension},
                                              {"max_tensor_elements", l.max_tensor_elements},
                                              {"max_image_pixels", l.max_image_pixels},
                                              {"max_safetensors_header_bytes", l.max_safetensors_header_bytes},
                                              {"max_forward_bytes", l.max_forward_bytes}};
    });
    m.def("set_limits", [](const std::map<std::string, int64_t> &values) {
        ae2d::Limits l = ae2d::limits();
        for (const auto &[k, v] : values) {
            if (k == "max_dimension") l.max_dimension = v;
            else if (k == "max_tensor_elements") l.max_tensor_elements = v;
            else if (k == "max_image_pixels") l.max_image_pixels = v;
            else if (k == "max_safetensors_header_bytes") l.max_safetensors_header_bytes = v;
            else if (k == "max_forward_bytes") l.max_forward_bytes = v;
            else raise_value("unknown limit '" + k + "'");
        }
        ae2d::Status ok = ae2d::set_limits(l);
        if (!ok) raise_value(ok.message());
    });
    m.def("summary", [](const ConfigTuple &config, int64_t c, int64_t h, int64_t w) {
        return take(ae2d::summary(config_from(config), c, h, w));
    });
    m.def("infer_config",
          [](const std::map<std::string, nb::ndarray<const float, nb::c_contig, nb::device::cpu>> &arrays) {
              return config_tuple(take(ae2d::model::infer_config(to_tensors(arrays))));
          });
    m.def("image_to_planes", [](const nb::ndarray<const uint8_t, nb::c_contig, nb::device::cpu> &img) {
        return planes_from<uint8_t>(img, 8);
    }, nb::arg("image").noconvert());
    m.def("image_to_planes", [](const nb::ndarray<const uint16_t, nb::c_contig, nb::device::cpu> &img) {
        return planes_from<uint16_t>(img, 16);
    }, nb::arg("image").noconvert());
    m.def("planes_to_image",
          [](const nb::ndarray<const float, nb::ndim<3>, nb::c_contig, nb::device::cpu> &y, int bit_depth) {
              if (bit_depth == 8) return nb::cast(image_from<uint8_t>(y, 8));
              if (bit_depth == 16) return nb::cast(image_from<uint16_t>(y, 16));
              raise_value("bit_depth must be 8 or 16, got " + std::to_string(bit_depth));
          },
          nb::arg("planes").noconvert(), nb::arg("bit_depth"));

    nb::class_<PyModel>(m, "Model")
        .def_static("load",
                    [](const std::string &path, const std::string &backend) {
                        const ae2d::Backend b = backend_of(backend);
                        return PyModel(take(ae2d::Model::load(path, {b})));
                    })
        .def_static("from_tensors",
                    [](const std::map<std::string, nb::ndarray<const float, nb::c_contig, nb::device::cpu>> &arrays,
                       const std::map<std::string, std::string> &metadata, const std::string &source,
                       const std::string &backend) {
                        const ae2d::Backend b = backend_of(backend);
                        return PyModel(take(ae2d::Model::from_tensors(to_tensors(arrays), metadata, source, {b})));
                    })
        .def("close", &PyModel::close)
        .def_prop_ro("closed", &PyModel::closed)
        .def_prop_ro("config", [](const PyModel &s) { return config_tuple(s.get()->config()); })
        .def_prop_ro("description", [](const PyModel &s) { return s.get()->config().to_string(); })
        .def_prop_ro("backend", [](const PyModel &s) { return std::string(ae2d::backend_name(s.get()->backend())); })
        .def_prop_ro("output_mode", [](const PyModel &s) { return std::string(ae2d::output_mode_name(s.get()->output_mode())); })
        .def_prop_ro("output_line", [](const PyModel &s) { return ae2d::output_mode_line(s.get()->output_mode()); })
        .def_prop_ro("schedule", [](const PyModel &s) { return s.get()->schedule().name(); })
        .def_prop_ro("warnings", [](const PyModel &s) { return s.get()->warnings(); })
        .def_prop_ro("nlayers", [](const PyModel &s) { return s.get()->nlayers(); })
        .def_prop_ro("num_parameters", [](const PyModel &s) { return s.get()->num_parameters(); })
        .def("output_shape",
             [](const PyModel &s, const std::vector<int64_t> &shape) { return take(s.get()->output_shape(shape)); })
        .def("forward", &forward_new, nb::arg("x").noconvert())
        .def("forward_into", &forward_out, nb::arg("x").noconvert(), nb::arg("out").noconvert())
        // The seconds of `runs` passes timed in C++ (GIL released), with no Python in between: the
        // baseline that bench/python_overhead.py subtracts from the time of a call from Python.
        .def("_time_forward",
             [](const PyModel &self, const Input &x, Output &out, int runs) {
                 std::shared_ptr<const ae2d::Model> m = self.get();
                 const std::vector<int64_t> shape = shape_of(x);
                 std::vector<double> seconds;
                 nb::gil_scoped_release release;
                 for (int i = 0; i < runs; ++i) {
                     const auto t0 = std::chrono::steady_clock::now();
                     ae2d::Status ok = m->forward_view(x.data(), shape, out.data(), int64_t(out.size()));
                     const auto t1 = std::chrono::steady_clock::now();
                     if (!ok) {
                         nb::gil_scoped_acquire acquire;
                         raise_value(ok.message());
                     }
                     seconds.push_back(std::chrono::duration<double>(t1 - t0).count());
                 }
                 return seconds;
             },
             nb::arg("x").noconvert(), nb::arg("out").noconvert(), nb::arg("runs"));
}
