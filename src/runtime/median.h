// The median of timing samples, as `ae2d bench` and `ae2d tune` report them.
#pragma once

#include <algorithm>
#include <vector>

namespace ae2d::runtime {

// The middle sample, or the mean of the two middle ones (0 for no sample).
inline double median_of(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace ae2d::runtime
