#include "analysis/chain_matching.hpp"

#include <cmath>
#include <limits>

namespace modic::core {
namespace {

constexpr std::size_t kMinOverlap = 3;
constexpr double kMissingPairCostMm = 4.0;  // prefers shifts that pair more discs
constexpr double kTiltCostMmPerRadian = 20.0;

struct Point {
    double x, y;
};

// Disc centre in the plane's millimetres, and in patient space.
Point plane_mm(const SagittalPlane& plane, const Disc& disc) {
    return {disc.x * plane.pixel_mm, disc.y * plane.pixel_mm};
}

// Cost of pairing t1 disc i with fluid disc i + shift, for every i where both exist.
double shift_cost(const SagittalPlane& t1_plane, const std::vector<Disc>& t1,
                  const SagittalPlane& fluid_plane, const std::vector<Disc>& fluid, long shift) {
    std::vector<std::pair<std::size_t, std::size_t>> pairs;
    for (std::size_t i = 0; i < t1.size(); ++i) {
        const long j = long(i) + shift;
        if (j >= 0 && j < long(fluid.size())) pairs.emplace_back(i, std::size_t(j));
    }
    if (pairs.size() < kMinOverlap) return std::numeric_limits<double>::infinity();
    // Best translation between the paired centres, then the residual spread around it.
    double dx = 0, dy = 0;
    for (const auto& [i, j] : pairs) {
        const auto a = plane_mm(t1_plane, t1[i]), b = plane_mm(fluid_plane, fluid[j]);
        dx += b.x - a.x, dy += b.y - a.y;
    }
    dx /= double(pairs.size()), dy /= double(pairs.size());
    double cost = 0;
    for (const auto& [i, j] : pairs) {
        const auto a = plane_mm(t1_plane, t1[i]), b = plane_mm(fluid_plane, fluid[j]);
        cost += std::hypot(b.x - a.x - dx, b.y - a.y - dy);
        cost += kTiltCostMmPerRadian * std::abs(t1[i].angle - fluid[j].angle);
    }
    const std::size_t missing = std::min(t1.size(), fluid.size()) - pairs.size();
    return cost / double(pairs.size()) + kMissingPairCostMm * double(missing);
}

}  // namespace

void match_fluid_to_t1(const SagittalPlane& t1_plane, const SpineLocalisation& t1,
                       const SagittalPlane& fluid_plane, SpineLocalisation& fluid) {
    if (t1.discs.empty() || fluid.discs.empty()) return;
    const long limit = long(std::max(t1.discs.size(), fluid.discs.size()));
    long best_shift = 0;
    double best_cost = std::numeric_limits<double>::infinity();
    for (long shift = -limit; shift <= limit; ++shift) {
        const double cost = shift_cost(t1_plane, t1.discs, fluid_plane, fluid.discs, shift);
        if (cost < best_cost) best_cost = cost, best_shift = shift;
    }
    if (!std::isfinite(best_cost)) {
        fluid.discs.clear();
        fluid.failure = "the fluid-sensitive image shares too few discs with the T1 image";
        return;
    }
    std::vector<Disc> matched;
    for (std::size_t i = 0; i < t1.discs.size(); ++i) {
        const long j = long(i) + best_shift;
        if (j < 0 || j >= long(fluid.discs.size())) continue;
        Disc disc = fluid.discs[std::size_t(j)];
        disc.label = t1.discs[i].label;
        matched.push_back(disc);
    }
    fluid.discs = std::move(matched);
}

}  // namespace modic::core
