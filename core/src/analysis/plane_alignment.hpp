// Series in different frames of reference share no patient coordinates (spider-dev's T1 and T2
// lie 10-50 mm apart). Their mid-sagittal planes still show the same anatomy, translated: the
// translation is found by matching the edges around the T1 spine in the fluid-sensitive plane.
#pragma once

#include <optional>

#include "analysis/sagittal_plane.hpp"
#include "analysis/spine_localiser.hpp"

namespace modic::core {

// The T1 plane placed on the fluid plane's anatomy (moved so that its patient coordinates are the
// fluid image's), or nothing when no translation within reach matches the edges around the T1
// spine well (a different part of the spine, a different posture).
std::optional<SagittalPlane> align_t1_to_fluid(const SagittalPlane& t1, const SpineLocalisation& t1_spine,
                                               const SagittalPlane& fluid);

}  // namespace modic::core
