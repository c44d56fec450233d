// Gives the fluid-sensitive plane's discs the labels of the T1 plane's discs, so that an endplate
// is read on both images of the same vertebra, when the two planes could not be put on each other
// (different frames of reference and no translation that matches their edges, see
// plane_alignment.hpp): e.g. the two series show different parts of the spine (spider-dev).
#pragma once

#include "analysis/spine_localiser.hpp"

namespace modic::core {

// Relabels `fluid` (in place) by the shift of its disc sequence that best fits `t1` after a
// translation: the same patient's discs keep their spacing and tilt from one image to the other.
// Discs that match nothing keep no label and are dropped.
void match_fluid_to_t1(const SagittalPlane& t1_plane, const SpineLocalisation& t1,
                       const SagittalPlane& fluid_plane, SpineLocalisation& fluid);

}  // namespace modic::core
