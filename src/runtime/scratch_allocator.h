// Halide's scratch memory (the per-strip source rows and tiles the pipelines allocate inside
// every call) served from a pool of freed blocks, so that a repeated forward pass takes no
// memory from the system allocator. The pool keeps its blocks (up to 1024 free ones) for the life
// of the process; it holds as much as the most scratch one stage has used at once.
#pragma once

#include <cstdint>

namespace ae2d::runtime {

// Routes halide_malloc / halide_free through the pool; the allocator that was installed before
// (Halide's default unless the host program set its own) still provides the blocks. Runs while
// the program starts; Model calls it too, which links it into programs using the static library.
void install_scratch_allocator();

// Blocks taken from that allocator so far (a counter for tests and diagnostics).
int64_t scratch_system_allocations();

}  // namespace ae2d::runtime
