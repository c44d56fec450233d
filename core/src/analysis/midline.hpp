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

}  // namespace modic::core
