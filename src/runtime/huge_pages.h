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

// Sizes `data` to `n` zeros, first asking the kernel (madvise MADV_HUGEPAGE, before any page of
// the new allocation is touched) to back its 2 MiB-aligned part with huge pages. A hint: where
// the kernel has no THP, or the allocation is small, it is an ordinary resize. Throws
// std::bad_alloc as resize does.
void resize_on_huge_pages(std::vector<float> &data, size_t n);

}  // namespace ae2d::runtime
