// The phantom's only source of randomness. std::mt19937_64's output sequence is fixed by the C++
// standard, but std:: distributions are not, so every distribution here is written out: the same
// seed gives the same study on every standard library.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace modic::phantom {

// SplitMix64 finaliser: turns related inputs (seed, case index, salt) into unrelated seeds.
inline std::uint64_t mix64(std::uint64_t value) {
    value += 0x9e3779b97f4a7c15ULL;
    value = (value ^ (value >> 30)) * 0xbf58476d1ce4e5b9ULL;
    value = (value ^ (value >> 27)) * 0x94d049bb133111ebULL;
    return value ^ (value >> 31);
}

class Rng {
public:
    explicit Rng(std::uint64_t seed) : engine_(mix64(seed)) {}

    std::uint64_t bits() { return engine_(); }
    // Uniform in [0, 1) from the top 53 bits.
    double uniform() { return static_cast<double>(bits() >> 11) * 0x1.0p-53; }
    double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
    // Uniform integer in [lo, hi], both included.
    int integer(int lo, int hi) {
        const auto span = static_cast<std::uint64_t>(hi - lo) + 1;
        return lo + static_cast<int>(bits() % span);
    }
    bool chance(double probability) { return uniform() < probability; }
    // Standard normal by Box-Muller (no cached second value, so the stream stays simple).
    double normal() {
        const double u1 = 1.0 - uniform();  // (0, 1]
        const double u2 = uniform();
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * 3.14159265358979323846 * u2);
    }
    double normal(double mean, double sd) { return mean + sd * normal(); }
    // Two independent standard normals from one Box-Muller draw (the noise of a complex pixel).
    std::pair<double, double> normal_pair() {
        const double u1 = 1.0 - uniform();
        const double u2 = uniform();
        const double radius = std::sqrt(-2.0 * std::log(u1));
        const double angle = 2.0 * 3.14159265358979323846 * u2;
        return {radius * std::cos(angle), radius * std::sin(angle)};
    }
    template <class T>
    const T& pick(const std::vector<T>& items) {
        return items[static_cast<std::size_t>(integer(0, static_cast<int>(items.size()) - 1))];
    }
    // Index drawn with the given relative weights.
    std::size_t weighted(const std::vector<double>& weights) {
        double total = 0;
        for (double w : weights) total += w;
        double r = uniform() * total;
        for (std::size_t i = 0; i < weights.size(); ++i) {
            if (r < weights[i]) return i;
            r -= weights[i];
        }
        return weights.size() - 1;
    }
    // An independent stream, so that adding draws to one part of the generator does not shift
    // every later part.
    Rng fork(std::uint64_t salt) { return Rng(bits() ^ mix64(salt)); }

private:
    std::mt19937_64 engine_;
};

}  // namespace modic::phantom
