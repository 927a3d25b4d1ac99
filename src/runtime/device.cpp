#include "runtime/device.h"

#include <mutex>

#include "HalideRuntime.h"
#include "runtime/halide_errors.h"
#if AE2D_HAVE_GPU
#include "HalideRuntimeCuda.h"
#include "HalideRuntimeOpenCL.h"
#endif

namespace ae2d {

const char *backend_name(Backend backend) {
    switch (backend) {
    case Backend::Cpu: return "cpu";
    case Backend::Cuda: return "cuda";
    case Backend::OpenCL: return "opencl";
    }
    return "unknown";
}

Expected<Backend> parse_backend(const std::string &name) {
    for (Backend b : {Backend::Cpu, Backend::Cuda, Backend::OpenCL})
        if (name == backend_name(b)) return b;
    return Status::Error("unknown backend '" + name + "' (expected cpu, cuda or opencl)");
}

BackendStatus backend_status(Backend backend) { return runtime::probe_backend(backend); }

std::vector<BackendStatus> all_backend_status() {
    return {backend_status(Backend::Cpu), backend_status(Backend::Cuda), backend_status(Backend::OpenCL)};
}

Status check_backend(Backend backend) {
    const BackendStatus s = backend_status(backend);
    if (s.usable) return Status::Ok();
    return Status::Error(std::string("backend ") + backend_name(backend) + " is not usable: " + s.detail);
}

namespace runtime {

const halide_device_interface_t *device_interface(Backend backend) {
#if AE2D_HAVE_GPU
    if (backend == Backend::Cuda) return halide_cuda_device_interface();
    if (backend == Backend::OpenCL) return halide_opencl_device_interface();
#endif
    (void)backend;
    return nullptr;
}

bool backend_compiled(Backend backend) { return backend == Backend::Cpu || device_interface(backend) != nullptr; }

namespace {

const char *driver_of(Backend backend) {
    return backend == Backend::Cuda ? "the CUDA driver (libcuda.so) and an NVIDIA GPU"
                                    : "an OpenCL driver (libOpenCL.so and an ICD, e.g. POCL) with a device that has "
                                      "cl_khr_fp64";
}

BackendStatus probe_uncached(Backend backend) {
    BackendStatus s;
    s.backend = backend;
    s.compiled = backend_compiled(backend);
    if (backend == Backend::Cpu) {
        s.usable = true;
        s.detail = "Halide CPU kernels";
        return s;
    }
    if (!s.compiled) {
        s.detail = "not compiled in (ae2d was built with -DAE2D_GPU=OFF)";
        return s;
    }
    // A few bytes on the device: loads the driver, picks the device and creates the context.
    auto buffer = make_device_buffer(backend, {16}, "probe");
    if (!buffer) {
        s.detail = buffer.message() + "; needs " + driver_of(backend);
        return s;
    }
    s.usable = true;
    s.detail = backend == Backend::Cuda ? "CUDA device found (kernels: PTX for compute capability 6.1)"
                                        : "OpenCL device found (the first platform's, or HL_OCL_PLATFORM_NAME / "
                                          "HL_OCL_DEVICE_TYPE)";
    return s;
}

}  // namespace

BackendStatus probe_backend(Backend backend) {
    static std::mutex mutex;
    static std::vector<std::pair<Backend, BackendStatus>> known;
    std::lock_guard<std::mutex> lock(mutex);
    for (const auto &[b, s] : known)
        if (b == backend) return s;
    BackendStatus s = probe_uncached(backend);
    known.emplace_back(backend, s);
    return s;
}

Expected<DeviceBuffer> make_device_buffer(Backend backend, const std::vector<int> &sizes, const std::string &what) {
    const halide_device_interface_t *iface = device_interface(backend);
    if (iface == nullptr)
        return Status::Error(std::string("backend ") + backend_name(backend) + " is not compiled in");
    DeviceBuffer buffer(nullptr, sizes);  // no host memory
    const int code = buffer.device_malloc(iface);
    if (code != 0)
        return Status::Error(std::string(backend_name(backend)) + ": cannot allocate " +
                             std::to_string(buffer.size_in_bytes()) + " bytes on the device for " + what + ": " +
                             halide_failure(code));
    return buffer;
}

}  // namespace runtime
}  // namespace ae2d
