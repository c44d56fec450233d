// Where the spine's midline lies across the slices of a sagittal series. The spine is read on
// the middle slice; in an oblique series (or a patient lying off the magnet's axis) that slice
// crosses the midline at one level only, and a vertebra's centre lies left or right of it,
// further the further the vertebra is from that level.
#pragma once

#include <map>
#include <string>

#include "analysis/sagittal_plane.hpp"
#include "analysis/vertebra_geometry.hpp"

namespace modic::core {

// For each body, the patient-space shift from its centre on `plane` (the series' slice the spine
// was read on) to the midline: along the slice normal, from the spinal canal's middle across the
// slices, fitted by a straight line along the spine. Empty when the series has fewer than three
// slices or the canal's middle is found at fewer than three bodies.
std::map<std::string, Vector3> shifts_to_midline(const SagittalPlane& plane,
                                                 const std::map<std::string, VertebraGeometry>& bodies);

// Where the slices do not show the midline (one or two slices, or the canal found at fewer than
// three bodies): the patient-space shift, along the slice normal, that puts `centre` (a point on
// `plane`) level, left to right, with the middle of `plane`'s slice. A sagittal slice is planned
// through the middle of the spine, which runs head to foot: an oblique slice leaves it the
// further the farther from the slice's middle. Zero for a slice far from sagittal (its normal
// less than 0.7 left to right), or where the shift would exceed 20 mm.
Vector3 shift_to_planned_midline(const SagittalPlane& plane, const PointMm& centre);

}  // namespace modic::core
