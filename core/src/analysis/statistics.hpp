// Small order statistics the analysis stages share.
#pragma once

#include <algorithm>
#include <utility>
#include <vector>

namespace modic::core {

// The value at `fraction` (0..1) of the sorted values (the upper median for an even count at 0.5);
// 0 for no values. Takes a copy: the caller's order is kept.
inline double quantile(std::vector<double> values, double fraction) {
    if (values.empty()) return 0.0;
    const auto at = values.begin() + long(fraction * double(values.size() - 1) + 0.5);
    std::nth_element(values.begin(), at, values.end());
    return *at;
}

inline double median(std::vector<double> values) { return quantile(std::move(values), 0.5); }

}  // namespace modic::core
