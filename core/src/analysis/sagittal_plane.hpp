// One sagittal slice of a series, resampled to square millimetre pixels in a canonical frame:
// x runs toward the patient's back, y toward the feet, whatever the scanner's orientation. The
// spine detection works in this frame only; results are mapped back to patient coordinates and to
// the source pixels through the plane.
#pragma once

#include <itkImage.h>
#include <itkLinearInterpolateImageFunction.h>

#include <array>
#include <optional>

#include "image/series_volume.hpp"
#include "modic/core/findings.hpp"

namespace modic::core {

using PlaneImage = itk::Image<float, 2>;
using Vector3 = std::array<double, 3>;

struct SagittalPlane {
    PlaneImage::Pointer image;  // spacing 1 unit = pixel_mm; origin 0, identity direction
    PlaneImage::Pointer inside;  // 1 where the source slice covers the pixel, 0 outside
    double pixel_mm = 1.0;
    PointMm origin{};  // patient position of pixel (0, 0)
    Vector3 posterior{};  // unit vector in patient space along +x
    Vector3 inferior{};  // unit vector in patient space along +y
    const SeriesVolume* source = nullptr;
    unsigned slice = 0;  // index k of the source slice

    // Patient coordinates (LPS, mm) of the plane point (x, y) given in plane pixels.
    PointMm to_patient(double x, double y) const;
    // The plane point (x, y), in plane pixels, nearest the patient position (its projection).
    std::array<double, 2> from_patient(const PointMm& point) const;
    // (column, row) of the plane point in the source slice's pixel grid.
    PixelPoint to_source_pixel(double x, double y) const;
};

// The plane point `mm` millimetres from `point` (plane pixels) along the unit direction
// `direction`; with a second direction, a step along each (along a disc, then across it). Every
// walk across the plane in millimetres goes through these, whatever the plane's pixel size.
std::array<double, 2> moved(const std::array<double, 2>& point, const std::array<double, 2>& direction, double mm,
                            double pixel_mm);
std::array<double, 2> moved(const std::array<double, 2>& point, const std::array<double, 2>& first, double first_mm,
                            const std::array<double, 2>& second, double second_mm, double pixel_mm);

// Bilinear value of the image at plane point (x, y) in pixels; 0 outside it.
double sample_bilinear(const PlaneImage& image, double x, double y);

// The image smoothed by a Gaussian of `sigma_pixels`.
PlaneImage::Pointer smoothed(const PlaneImage::Pointer& image, double sigma_pixels);

// A point of plane `from`, in pixels, as plane `to` shows it (through patient coordinates).
std::array<double, 2> map_point(const std::array<double, 2>& point, const SagittalPlane& from,
                                const SagittalPlane& to);
// A vector of plane `from`, in pixels, as plane `to` shows it (length kept, in `to`'s pixels).
std::array<double, 2> map_vector(const std::array<double, 2>& vector, const SagittalPlane& from,
                                 const SagittalPlane& to);

// A series read at patient positions on one slice at a time: interpolated within the slice,
// never blended across slices (a position off the slice is read where the slice normal through it
// meets the slice), unless the slice asked for lies between two: then the two are blended
// linearly, as a slice there would show them.
class SliceReader {
public:
    explicit SliceReader(const SeriesVolume& series);
    // The value on slice `slice` (a fractional index lies between two slices) at `patient`, or
    // nullopt where the slice does not cover it.
    std::optional<double> at(const PointMm& patient, double slice) const;

private:
    const Volume& volume_;
    itk::LinearInterpolateImageFunction<Volume, double>::Pointer interpolator_;
};

// Resamples slice k of the series. Pixels outside the slice are 0 and marked in `inside`.
SagittalPlane extract_plane(const SeriesVolume& series, unsigned slice, double pixel_mm = 1.0);

// Resamples the series on the plane parallel to its slices at fractional slice index `position`
// (a body's midline lies between slices), blending the two slices either side; `slice` of the
// plane is the nearer one.
SagittalPlane extract_plane_at(const SeriesVolume& series, double position, double pixel_mm = 1.0);

// The slice the spine is read on: the middle one of the series.
unsigned mid_sagittal_slice(const SeriesVolume& series);

}  // namespace modic::core
