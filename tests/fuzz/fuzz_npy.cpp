// libFuzzer target for the npy code path: see fuzz_entries.h and build_and_run.sh.
#include <cstdlib>

#include "fuzz_entries.h"

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
    if (!ae2d::set_limits(ae2d::fuzz::fuzz_limits())) std::abort();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return ae2d::fuzz::npy_one(data, size); }
