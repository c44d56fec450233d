#include "analysis/plane_alignment.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "analysis/statistics.hpp"

namespace modic::core {
namespace {

// Edge directions, not intensities, are matched: T1 and T2 show the same boundaries with other
// contrasts (a disc is dark on one, bright on the other) and other strengths (the canal's edges
// are strong on T2, faint on T1). This is the normalised gradient field measure: the mean squared
// cosine between the two images' gradients, where gradients weaker than the image's typical one
// count for little.
constexpr double kEdgeSigmaMm = 1.5;
// The region matched: the lumbar column, its canal and the posterior elements behind it, down
// into the sacrum. The column repeats itself every level; the sacrum, with no disc a level below
// S1, tells the right translation from one a level off.
constexpr double kAnteriorMarginMm = 30, kPosteriorMarginMm = 55;
constexpr double kCranialMarginMm = 20, kCaudalMarginMm = 45;
constexpr std::size_t kLumbarDiscs = 5;  // L1/L2 to L5/S1: a fluid series often covers less
constexpr double kSampleStepMm = 2.0;
constexpr double kSearchReachMm = 64.0, kCoarseStepMm = 4.0, kFineReachMm = 4.0;
constexpr double kMinOverlap = 0.6;  // of the region's samples, inside both planes
// The best agreement must stand out from the typical one within reach: below this the two planes
// show no common anatomy there (another part of the spine, another posture) or too little edge.
constexpr double kMinContrast = 1.45;

struct GradientField {
    PlaneImage::Pointer x, y;  // gradient / sqrt(|gradient|^2 + typical^2)
};

GradientField normalised_gradients(const SagittalPlane& plane) {
    const auto smooth = smoothed(plane.image, kEdgeSigmaMm / plane.pixel_mm);
    const PlaneImage& image = *smooth;
    const auto size = image.GetLargestPossibleRegion().GetSize();
    GradientField field{PlaneImage::New(), PlaneImage::New()};
    for (auto& component : {field.x, field.y}) {
        component->SetRegions(size);
        component->Allocate();
        component->FillBuffer(0);
    }
    std::vector<double> magnitudes;
    for (long y = 1; y + 1 < long(size[1]); ++y)
        for (long x = 1; x + 1 < long(size[0]); ++x) {
            const double gx = (image.GetPixel({{x + 1, y}}) - image.GetPixel({{x - 1, y}})) / 2;
            const double gy = (image.GetPixel({{x, y + 1}}) - image.GetPixel({{x, y - 1}})) / 2;
            field.x->SetPixel({{x, y}}, float(gx));
            field.y->SetPixel({{x, y}}, float(gy));
            if (plane.inside->GetPixel({{x, y}}) > 0.5f) magnitudes.push_back(std::hypot(gx, gy));
        }
    const double typical = std::max(1e-6, magnitudes.empty() ? 1.0 : median(magnitudes));
    float* gx = field.x->GetBufferPointer();
    float* gy = field.y->GetBufferPointer();
    for (std::size_t i = 0; i < size[0] * size[1]; ++i) {
        const double norm = std::sqrt(double(gx[i]) * gx[i] + double(gy[i]) * gy[i] + typical * typical);
        gx[i] = float(gx[i] / norm), gy[i] = float(gy[i] / norm);
    }
    return field;
}

struct Sample {
    double x, y;  // fluid plane pixels at zero translation
    double gx, gy;  // T1 normalised gradient, in the fluid plane's axes
};

// Mean squared cosine of the T1 samples' gradients with the fluid gradients moved by (dx, dy).
double agreement_at(const std::vector<Sample>& samples, const GradientField& fluid,
                    const PlaneImage& fluid_inside, double dx, double dy) {
    double sum = 0;
    std::size_t count = 0;
    for (const auto& sample : samples) {
        const double x = sample.x + dx, y = sample.y + dy;
        if (sample_bilinear(fluid_inside, x, y) < 1.0) continue;
        const double dot = sample.gx * sample_bilinear(*fluid.x, x, y) + sample.gy * sample_bilinear(*fluid.y, x, y);
        sum += dot * dot;
        ++count;
    }
    if (count < kMinOverlap * double(samples.size()) || count < 10) return -1;
    return sum / double(count);
}

// The T1 edges around the lumbar column, placed where the fluid plane's pixels would show them
// if the two planes' patient coordinates agreed.
std::vector<Sample> edges_around_column(const SagittalPlane& t1, const SpineLocalisation& t1_spine,
                                        const SagittalPlane& fluid) {
    double min_x = 1e9, max_x = -1e9, min_y = 1e9, max_y = -1e9;
    const std::size_t lumbar = std::min(t1_spine.discs.size(), kLumbarDiscs);
    for (std::size_t i = t1_spine.discs.size() - lumbar; i < t1_spine.discs.size(); ++i) {
        const auto& disc = t1_spine.discs[i];
        min_x = std::min(min_x, disc.x), max_x = std::max(max_x, disc.x);
        min_y = std::min(min_y, disc.y), max_y = std::max(max_y, disc.y);
    }
    const double mm = 1.0 / t1.pixel_mm;
    const auto gradients = normalised_gradients(t1);
    std::vector<Sample> samples;
    for (double y = min_y - kCranialMarginMm * mm; y <= max_y + kCaudalMarginMm * mm; y += kSampleStepMm * mm)
        for (double x = min_x - kAnteriorMarginMm * mm; x <= max_x + kPosteriorMarginMm * mm; x += kSampleStepMm * mm) {
            if (sample_bilinear(*t1.inside, x, y) < 1.0) continue;
            const auto at_fluid = map_point({x, y}, t1, fluid);
            const auto gradient = map_vector({sample_bilinear(*gradients.x, x, y), sample_bilinear(*gradients.y, x, y)},
                                             t1, fluid);
            samples.push_back({at_fluid[0], at_fluid[1], gradient[0], gradient[1]});
        }
    return samples;
}

}  // namespace

std::optional<SagittalPlane> align_t1_to_fluid(const SagittalPlane& t1, const SpineLocalisation& t1_spine,
                                                const SagittalPlane& fluid) {
    if (t1_spine.discs.empty()) return std::nullopt;
    const auto samples = edges_around_column(t1, t1_spine, fluid);
    if (samples.empty()) return std::nullopt;

    const auto fluid_gradients = normalised_gradients(fluid);
    const double px = 1.0 / fluid.pixel_mm;
    double best = -1, best_dx = 0, best_dy = 0;
    std::vector<double> coarse;
    auto search = [&](double centre_dx, double centre_dy, double reach_mm, double step_mm, std::vector<double>* all) {
        for (double dy = -reach_mm; dy <= reach_mm + 1e-9; dy += step_mm)
            for (double dx = -reach_mm; dx <= reach_mm + 1e-9; dx += step_mm) {
                const double value = agreement_at(samples, fluid_gradients, *fluid.inside,
                                                  centre_dx + dx * px, centre_dy + dy * px);
                if (value < 0) continue;
                if (all) all->push_back(value);
                if (value > best) best = value, best_dx = centre_dx + dx * px, best_dy = centre_dy + dy * px;
            }
    };
    search(0, 0, kSearchReachMm, kCoarseStepMm, &coarse);
    if (coarse.empty()) return std::nullopt;
    search(best_dx, best_dy, kFineReachMm, 1.0, nullptr);

    if (best < kMinContrast * std::max(1e-9, median(coarse))) return std::nullopt;
    SagittalPlane placed = t1;
    for (int i = 0; i < 3; ++i)
        placed.origin[i] += (best_dx * fluid.posterior[i] + best_dy * fluid.inferior[i]) * fluid.pixel_mm;
    return placed;
}

}  // namespace modic::core
