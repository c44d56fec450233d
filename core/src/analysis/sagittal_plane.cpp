#include "analysis/sagittal_plane.hpp"

#include <fmt/format.h>
#include <itkSmoothingRecursiveGaussianImageFilter.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace modic::core {
namespace {

double dot(const Vector3& a, const Vector3& b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }

Vector3 minus_projection(Vector3 v, const Vector3& onto) {
    const double along = dot(v, onto);
    for (int i = 0; i < 3; ++i) v[i] -= along * onto[i];
    return v;
}

Vector3 normalised(Vector3 v) {
    const double length = std::sqrt(dot(v, v));
    if (length < 1e-9) throw std::runtime_error("sagittal plane: degenerate orientation");
    for (auto& c : v) c /= length;
    return v;
}

Vector3 direction_column(const Volume& volume, int column) {
    const auto& direction = volume.GetDirection();
    return {direction[0][column], direction[1][column], direction[2][column]};
}

}  // namespace

PointMm SagittalPlane::to_patient(double x, double y) const {
    PointMm point = origin;
    for (int i = 0; i < 3; ++i)
        point[i] += x * pixel_mm * posterior[i] + y * pixel_mm * inferior[i];
    return point;
}

std::array<double, 2> SagittalPlane::from_patient(const PointMm& point) const {
    double x = 0, y = 0;
    for (int i = 0; i < 3; ++i) {
        x += (point[i] - origin[i]) * posterior[i];
        y += (point[i] - origin[i]) * inferior[i];
    }
    return {x / pixel_mm, y / pixel_mm};
}

PixelPoint SagittalPlane::to_source_pixel(double x, double y) const {
    const auto patient = to_patient(x, y);
    Volume::PointType point;
    for (int i = 0; i < 3; ++i) point[i] = patient[i];
    const auto index = source->image->TransformPhysicalPointToContinuousIndex<double>(point);
    return {index[0], index[1]};
}

unsigned mid_sagittal_slice(const SeriesVolume& series) {
    return static_cast<unsigned>(series.image->GetLargestPossibleRegion().GetSize()[2] / 2);
}

SagittalPlane extract_plane(const SeriesVolume& series, unsigned slice, double pixel_mm) {
    return extract_plane_at(series, double(slice), pixel_mm);
}

SagittalPlane extract_plane_at(const SeriesVolume& series, double position, double pixel_mm) {
    const Volume& volume = *series.image;
    const auto size = volume.GetLargestPossibleRegion().GetSize();
    if (position < 0 || position > double(size[2] - 1))
        throw std::runtime_error(fmt::format("sagittal plane: slice position {} outside the series' {} slices",
                                             position, size[2]));

    // In-plane axes: the patient's posterior (+Y) and inferior (-Z) directions projected onto the
    // slice plane, so an oblique slice keeps "up is head, right is back".
    const Vector3 normal = normalised(direction_column(volume, 2));
    SagittalPlane plane;
    plane.pixel_mm = pixel_mm;
    plane.source = &series;
    plane.slice = unsigned(std::lround(position));
    plane.posterior = normalised(minus_projection({0, 1, 0}, normal));
    plane.inferior =
        normalised(minus_projection(minus_projection({0, 0, -1}, normal), plane.posterior));

    // Bounding box of the slice's corners in plane coordinates.
    double min_x = std::numeric_limits<double>::max(), min_y = min_x;
    double max_x = std::numeric_limits<double>::lowest(), max_y = max_x;
    itk::ContinuousIndex<double, 3> corner;
    corner.Fill(0);
    corner[2] = position;
    Volume::PointType first_corner;
    volume.TransformContinuousIndexToPhysicalPoint(corner, first_corner);
    for (double ci : {0.0, double(size[0] - 1)})
        for (double cj : {0.0, double(size[1] - 1)}) {
            itk::ContinuousIndex<double, 3> index;
            index[0] = ci;
            index[1] = cj;
            index[2] = position;
            Volume::PointType point;
            volume.TransformContinuousIndexToPhysicalPoint(index, point);
            const Vector3 offset = {point[0] - first_corner[0], point[1] - first_corner[1],
                                    point[2] - first_corner[2]};
            const double x = dot(offset, plane.posterior), y = dot(offset, plane.inferior);
            min_x = std::min(min_x, x), max_x = std::max(max_x, x);
            min_y = std::min(min_y, y), max_y = std::max(max_y, y);
        }
    for (int i = 0; i < 3; ++i)
        plane.origin[i] = first_corner[i] + min_x * plane.posterior[i] + min_y * plane.inferior[i];

    PlaneImage::SizeType plane_size;
    plane_size[0] = static_cast<itk::SizeValueType>(std::floor((max_x - min_x) / pixel_mm)) + 1;
    plane_size[1] = static_cast<itk::SizeValueType>(std::floor((max_y - min_y) / pixel_mm)) + 1;
    plane.image = PlaneImage::New();
    plane.image->SetRegions(plane_size);
    plane.image->Allocate();
    plane.inside = PlaneImage::New();
    plane.inside->SetRegions(plane_size);
    plane.inside->Allocate();

    const SliceReader reader(series);
    for (itk::SizeValueType y = 0; y < plane_size[1]; ++y)
        for (itk::SizeValueType x = 0; x < plane_size[0]; ++x) {
            const auto value = reader.at(plane.to_patient(double(x), double(y)), position);
            const PlaneImage::IndexType pixel = {{itk::IndexValueType(x), itk::IndexValueType(y)}};
            plane.image->SetPixel(pixel, value ? float(*value) : 0.f);
            plane.inside->SetPixel(pixel, value ? 1.f : 0.f);
        }
    return plane;
}

SliceReader::SliceReader(const SeriesVolume& series)
    : volume_(*series.image), interpolator_(itk::LinearInterpolateImageFunction<Volume, double>::New()) {
    interpolator_->SetInputImage(series.image);
}

std::optional<double> SliceReader::at(const PointMm& patient, double slice) const {
    Volume::PointType point;
    for (int i = 0; i < 3; ++i) point[i] = patient[i];
    auto index = volume_.TransformPhysicalPointToContinuousIndex<double>(point);
    index[2] = slice;  // on the slice: not read where the normal through the point would cross others
    if (!interpolator_->IsInsideBuffer(index)) return std::nullopt;
    return interpolator_->EvaluateAtContinuousIndex(index);
}

double sample_bilinear(const PlaneImage& image, double x, double y) {
    const auto size = image.GetLargestPossibleRegion().GetSize();
    const long x0 = long(std::floor(x)), y0 = long(std::floor(y));
    if (x0 < 0 || y0 < 0 || x0 + 1 >= long(size[0]) || y0 + 1 >= long(size[1])) return 0;
    const double fx = x - x0, fy = y - y0;
    auto at = [&](long px, long py) { return double(image.GetPixel({{px, py}})); };
    return (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) +
           fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1));
}

PlaneImage::Pointer smoothed(const PlaneImage::Pointer& image, double sigma_pixels) {
    auto filter = itk::SmoothingRecursiveGaussianImageFilter<PlaneImage, PlaneImage>::New();
    filter->SetInput(image);
    filter->SetSigma(sigma_pixels);
    filter->Update();
    return filter->GetOutput();
}

std::array<double, 2> map_point(const std::array<double, 2>& point, const SagittalPlane& from,
                                const SagittalPlane& to) {
    return to.from_patient(from.to_patient(point[0], point[1]));
}

std::array<double, 2> moved(const std::array<double, 2>& point, const std::array<double, 2>& direction, double mm,
                            double pixel_mm) {
    return {point[0] + mm * direction[0] / pixel_mm, point[1] + mm * direction[1] / pixel_mm};
}

std::array<double, 2> moved(const std::array<double, 2>& point, const std::array<double, 2>& first, double first_mm,
                            const std::array<double, 2>& second, double second_mm, double pixel_mm) {
    return moved(moved(point, first, first_mm, pixel_mm), second, second_mm, pixel_mm);
}

std::array<double, 2> map_vector(const std::array<double, 2>& vector, const SagittalPlane& from,
                                 const SagittalPlane& to) {
    const auto origin = map_point({0, 0}, from, to), tip = map_point(vector, from, to);
    return {tip[0] - origin[0], tip[1] - origin[1]};
}

}  // namespace modic::core
