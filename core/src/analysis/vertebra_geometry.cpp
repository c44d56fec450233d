#include "analysis/vertebra_geometry.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "analysis/statistics.hpp"

namespace modic::core {
namespace {

// Lumbar bodies are about 27 mm tall; used only when no complete body was found on the plane.
constexpr double kTypicalBodyHeightMm = 27.0;

// The endplate of the body below the disc (its superior endplate).
EndplateLine endplate_below(const Disc& disc, double pixel_mm) {
    const auto a = disc.along(), n = disc.normal();
    const double offset = disc.lower_edge / pixel_mm;
    return {{disc.x + offset * n[0], disc.y + offset * n[1]}, a, n};
}

// The endplate of the body above the disc (its inferior endplate).
EndplateLine endplate_above(const Disc& disc, double pixel_mm) {
    const auto a = disc.along(), n = disc.normal();
    const double offset = disc.upper_edge / pixel_mm;
    return {{disc.x - offset * n[0], disc.y - offset * n[1]}, a, {-n[0], -n[1]}};
}

double distance(const std::array<double, 2>& a, const std::array<double, 2>& b) {
    return std::hypot(a[0] - b[0], a[1] - b[1]);
}

}  // namespace

std::map<std::string, VertebraGeometry> vertebrae_from_discs(const SpineLocalisation& spine,
                                                             double pixel_mm) {
    std::map<std::string, VertebraGeometry> bodies;
    for (const auto& disc : spine.discs) {
        const auto [above, below] = vertebrae_of_disc(disc.label);
        bodies[above].label = above;
        bodies[above].inferior = endplate_above(disc, pixel_mm);
        bodies[below].label = below;
        bodies[below].superior = endplate_below(disc, pixel_mm);
    }

    std::vector<double> heights;
    for (auto& [label, body] : bodies)
        if (body.superior && body.inferior) {
            body.height_mm = distance(body.superior->centre, body.inferior->centre) * pixel_mm;
            heights.push_back(body.height_mm);
        }
    double typical = kTypicalBodyHeightMm;
    if (!heights.empty()) typical = median(heights);

    for (auto& [label, body] : bodies) {
        if (body.superior && body.inferior) {
            for (int i = 0; i < 2; ++i)
                body.centre[i] = (body.superior->centre[i] + body.inferior->centre[i]) / 2;
            continue;
        }
        // One endplate seen: the centre lies half a typical body height inward from it.
        body.height_mm = typical;
        const EndplateLine& seen = body.superior ? *body.superior : *body.inferior;
        const double half = typical / 2 / pixel_mm;
        body.centre = {seen.centre[0] + half * seen.inward[0], seen.centre[1] + half * seen.inward[1]};
    }
    return bodies;
}

}  // namespace modic::core
