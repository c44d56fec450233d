#include "analysis/midline.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <vector>

#include "analysis/statistics.hpp"

namespace modic::core {
namespace {

// The spinal canal is sought behind each body's centre, this far along its endplates (mm): past
// the posterior wall of a 30-45 mm deep body, before the laminae.
constexpr double kCanalFromMm = 12.0, kCanalToMm = 45.0;
// On T1 the canal (CSF) is darker than the body's marrow by at least this factor...
constexpr double kCanalDarkFactor = 0.7;
// ...and its neighbours across the slices (pedicles, foramina, muscle) brighter than it by this.
constexpr double kCanalContrast = 1.5;
constexpr double kSliceReachMm = 30.0;  // the midline is sought this far either side of the plane
constexpr std::size_t kMinLevels = 3;
constexpr double kBoxHalfMm = 2.0;  // signal is averaged over a square of this half-side
// An oblique slice (up to 6 degrees) leaves a straight spine by at most 15 mm over the lumbar
// column's 150 mm from its middle; a larger shift is no obliquity, and the centre is left alone.
constexpr double kMaxPlannedMidlineShiftMm = 20.0;
// The slice normal's left-right share below which the slice is too far from sagittal to judge.
constexpr double kMinSagittalShare = 0.7;

// The unit normal of a series' slices, in patient space (the third column of its direction).
Vector3 slice_normal(const Volume& volume) {
    const auto& direction = volume.GetDirection();
    return {direction[0][2], direction[1][2], direction[2][2]};
}

// Samples the plane's series around plane point (x, y) on any of its slices.
class SliceSampler {
public:
    explicit SliceSampler(const SagittalPlane& plane) : plane_(plane), reader_(*plane.source) {
        const Volume& volume = *plane.source->image;
        normal_ = slice_normal(volume);
        spacing_ = volume.GetSpacing()[2];
        count_ = int(volume.GetLargestPossibleRegion().GetSize()[2]);
    }
    int count() const { return count_; }
    double spacing_mm() const { return spacing_; }
    const Vector3& normal() const { return normal_; }

    // Mean over a square of side 2 * kBoxHalfMm in slice `slice`, or nullopt outside the volume.
    std::optional<double> mean(double x, double y, int slice) const {
        const double half = kBoxHalfMm / plane_.pixel_mm;
        double sum = 0;
        int count = 0;
        for (double dy = -half; dy <= half + 1e-9; dy += 1.0)
            for (double dx = -half; dx <= half + 1e-9; dx += 1.0)
                if (const auto value = reader_.at(plane_.to_patient(x + dx, y + dy), double(slice))) {
                    sum += *value;
                    ++count;
                }
        if (count == 0) return std::nullopt;
        return sum / count;
    }

private:
    const SagittalPlane& plane_;
    SliceReader reader_;
    Vector3 normal_{};
    double spacing_ = 1.0;
    int count_ = 1;
};

// The canal behind the body on the plane: the darkest point along the body's endplates, when it
// is clearly darker than the body.
std::optional<std::array<double, 2>> canal_behind(const SliceSampler& sampler, const SagittalPlane& plane,
                                                  const VertebraGeometry& body) {
    const auto& line = body.superior ? *body.superior : *body.inferior;
    const auto own = sampler.mean(body.centre[0], body.centre[1], int(plane.slice));
    if (!own || *own <= 0) return std::nullopt;
    std::optional<std::array<double, 2>> darkest;
    double darkest_value = kCanalDarkFactor * *own;
    for (double s = kCanalFromMm; s <= kCanalToMm; s += 1.0) {
        const auto point = moved(body.centre, line.along, s, plane.pixel_mm);
        const auto value = sampler.mean(point[0], point[1], int(plane.slice));
        if (value && *value < darkest_value) darkest_value = *value, darkest = point;
    }
    return darkest;
}

// Distance (mm, along the slice normal) from the plane to the canal's middle at plane point
// `canal`: the centroid of the dark run across the slices around the darkest slice near the
// plane. Nullopt when the run is not bounded by brighter tissue on both sides within the series.
std::optional<double> canal_middle(const SliceSampler& sampler, const SagittalPlane& plane,
                                   const std::array<double, 2>& canal) {
    const int reach = int(std::ceil(kSliceReachMm / sampler.spacing_mm()));
    const int first = std::max(0, int(plane.slice) - reach);
    const int last = std::min(sampler.count() - 1, int(plane.slice) + reach);
    std::vector<double> values;
    for (int k = first; k <= last; ++k) {
        const auto value = sampler.mean(canal[0], canal[1], k);
        if (!value) return std::nullopt;
        values.push_back(*value);
    }
    const auto darkest = long(std::min_element(values.begin(), values.end()) - values.begin());
    const double brightest = *std::max_element(values.begin(), values.end());
    if (values[darkest] <= 0 || brightest < kCanalContrast * values[darkest]) return std::nullopt;
    const double threshold = (values[darkest] + brightest) / 2;
    long begin = darkest, end = darkest;
    while (begin > 0 && values[begin - 1] < threshold) --begin;
    while (end + 1 < long(values.size()) && values[end + 1] < threshold) ++end;
    if (begin == 0 || end + 1 == long(values.size())) return std::nullopt;  // not bounded
    double weight = 0, moment = 0;
    for (long i = begin; i <= end; ++i) {
        weight += threshold - values[i];
        moment += (threshold - values[i]) * double(first + i);
    }
    return (moment / weight - double(plane.slice)) * sampler.spacing_mm();
}

}  // namespace

std::map<std::string, Vector3> shifts_to_midline(const SagittalPlane& plane,
                                                 const std::map<std::string, VertebraGeometry>& bodies) {
    const SliceSampler sampler(plane);
    if (sampler.count() < 3) return {};
    std::vector<double> along_spine, offsets;  // plane y (mm) of each body, its canal's middle
    for (const auto& [label, body] : bodies) {
        if (!body.superior && !body.inferior) continue;
        const auto canal = canal_behind(sampler, plane, body);
        if (!canal) continue;
        if (const auto offset = canal_middle(sampler, plane, *canal)) {
            along_spine.push_back(body.centre[1] * plane.pixel_mm);
            offsets.push_back(*offset);
        }
    }
    if (offsets.size() < kMinLevels) return {};

    // A straight midline along the spine (Theil-Sen: one level's canal read wrong does not tilt it).
    std::vector<double> slopes;
    for (std::size_t i = 0; i < offsets.size(); ++i)
        for (std::size_t j = i + 1; j < offsets.size(); ++j)
            if (std::abs(along_spine[j] - along_spine[i]) > 1e-6)
                slopes.push_back((offsets[j] - offsets[i]) / (along_spine[j] - along_spine[i]));
    const double slope = slopes.empty() ? 0.0 : median(slopes);
    std::vector<double> intercepts;
    for (std::size_t i = 0; i < offsets.size(); ++i) intercepts.push_back(offsets[i] - slope * along_spine[i]);
    const double intercept = median(intercepts);

    std::map<std::string, Vector3> shifts;
    for (const auto& [label, body] : bodies) {
        const double offset = intercept + slope * body.centre[1] * plane.pixel_mm;
        const auto& n = sampler.normal();
        shifts[label] = {offset * n[0], offset * n[1], offset * n[2]};
    }
    return shifts;
}

Vector3 shift_to_planned_midline(const SagittalPlane& plane, const PointMm& centre) {
    const Volume& volume = *plane.source->image;
    const auto size = volume.GetLargestPossibleRegion().GetSize();
    itk::ContinuousIndex<double, 3> middle;
    middle[0] = (double(size[0]) - 1) / 2, middle[1] = (double(size[1]) - 1) / 2, middle[2] = double(plane.slice);
    Volume::PointType slice_middle;
    volume.TransformContinuousIndexToPhysicalPoint(middle, slice_middle);
    const Vector3 normal = slice_normal(volume);
    if (std::abs(normal[0]) < kMinSagittalShare) return {0, 0, 0};
    const double along_normal = (slice_middle[0] - centre[0]) / normal[0];  // patient x: right to left
    if (std::abs(along_normal) > kMaxPlannedMidlineShiftMm) return {0, 0, 0};
    return {along_normal * normal[0], along_normal * normal[1], along_normal * normal[2]};
}

}  // namespace modic::core
