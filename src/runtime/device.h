// GPU backends: which are compiled in, whether one runs here, and device-resident buffers.
//
// The CUDA and OpenCL kernels are separate AOT libraries (<stage>_cuda, <stage>_opencl) that
// share the one Halide runtime with the CPU kernels; that runtime opens libcuda / libOpenCL
// when a GPU backend is first used, so a machine without them still runs on the CPU.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "HalideBuffer.h"
#include "ae2d/model.h"
#include "ae2d/status.h"

namespace ae2d::runtime {

// Halide's device interface of a GPU backend; nullptr for the CPU or a backend not compiled in.
const halide_device_interface_t *device_interface(Backend backend);
bool backend_compiled(Backend backend);

// Probes a backend once per process (loads the driver, creates the context, allocates a few
// bytes on the device) and remembers the answer.
BackendStatus probe_backend(Backend backend);

using DeviceBuffer = Halide::Runtime::Buffer<float>;

// A device buffer of `sizes` (innermost first) with no host memory; the message of a failure
// names `what`.
Expected<DeviceBuffer> make_device_buffer(Backend backend, const std::vector<int> &sizes, const std::string &what);

// The model's parameters on the device, uploaded once at load: state_dict key -> buffer whose
// host side is the caller's tensor (it must outlive this) and device side a copy of it.
struct DeviceWeights {
    Backend backend = Backend::Cpu;
    std::unordered_map<std::string, DeviceBuffer> buffers;
};

}  // namespace ae2d::runtime
