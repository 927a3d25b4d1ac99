// Large host buffers (weights, packed weights, arenas) on transparent huge pages.
//
// A forward pass streams every weight once (W1: 160 MB per pass) and W2's arena is 59 MB; on
// 4 KiB pages each of those pages costs a TLB walk. Kernels that give huge pages only on
// request (THP "madvise", as on Ubuntu and on this project's machines) need the hint below.
// Measured with THP "never" vs "madvise", interleaved, 2 threads: W1 51.6 / 52.0 / 51.6 / 51.1
// -> 50.4 / 50.5 / 49.6 ms, W2 445 / 441 -> 430 / 432 ms (about 2.5%).
#pragma once

#include <cstddef>
#include <vector>

namespace ae2d::runtime {

// `n` zeros in memory that the kernel is first asked (madvise MADV_HUGEPAGE, before any page is
// touched) to back with huge pages where it is 2 MiB-aligned. A hint: where the kernel has no
// THP, or the allocation is small, it is an ordinary vector. Throws std::bad_alloc as one does.
std::vector<float> zeros_on_huge_pages(size_t n);

}  // namespace ae2d::runtime
