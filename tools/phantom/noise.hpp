// Deterministic smooth value noise: marrow texture, wavy lesion borders, bowel, muscle fat streaks.
// Hash-based (no tables), so any point of space can be evaluated in any order.
#pragma once

#include <cmath>
#include <cstdint>

#include "geometry.hpp"
#include "rng.hpp"

namespace modic::phantom {

class ValueNoise {
public:
    explicit ValueNoise(std::uint64_t seed = 1) : seed_(mix64(seed)) {}

    // Smooth noise in [-1, 1] with features about `scale_mm` apart.
    double at(Vec3 p, double scale_mm) const {
        return at_cells(p.x / scale_mm, p.y / scale_mm, p.z / scale_mm);
    }
    // Same with a different scale per axis (e.g. streaks elongated along the body axis).
    double at(Vec3 p, double sx, double sy, double sz) const {
        return at_cells(p.x / sx, p.y / sy, p.z / sz);
    }
    // Two octaves: coarse shape plus finer grain.
    double fractal(Vec3 p, double scale_mm) const {
        return 0.67 * at(p, scale_mm) + 0.33 * at(p + Vec3{17.3, 5.1, 9.7}, scale_mm * 0.45);
    }

private:
    double lattice(std::int64_t ix, std::int64_t iy, std::int64_t iz) const {
        // One finaliser over a cheap combination of the coordinates: good enough for texture.
        const std::uint64_t h = mix64(seed_ ^ (static_cast<std::uint64_t>(ix) * 0x9e3779b97f4a7c15ULL) ^
                                      (static_cast<std::uint64_t>(iy) * 0xc2b2ae3d27d4eb4fULL) ^
                                      (static_cast<std::uint64_t>(iz) * 0x165667b19e3779f9ULL));
        return static_cast<double>(h >> 11) * 0x1.0p-52 - 1.0;
    }
    static double smooth(double t) { return t * t * (3.0 - 2.0 * t); }
    double at_cells(double x, double y, double z) const {
        const double fx = std::floor(x), fy = std::floor(y), fz = std::floor(z);
        const auto ix = static_cast<std::int64_t>(fx), iy = static_cast<std::int64_t>(fy),
                   iz = static_cast<std::int64_t>(fz);
        const double tx = smooth(x - fx), ty = smooth(y - fy), tz = smooth(z - fz);
        auto edge = [&](std::int64_t dy, std::int64_t dz) {
            return lerp(lattice(ix, iy + dy, iz + dz), lattice(ix + 1, iy + dy, iz + dz), tx);
        };
        const double y0 = lerp(edge(0, 0), edge(1, 0), ty);
        const double y1 = lerp(edge(0, 1), edge(1, 1), ty);
        return lerp(y0, y1, tz);
    }
    std::uint64_t seed_;
};

}  // namespace modic::phantom
