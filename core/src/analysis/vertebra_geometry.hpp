// Vertebral bodies and their endplates, derived from the labelled discs of one plane.
#pragma once

#include <array>
#include <map>
#include <optional>
#include <string>

#include "analysis/spine_localiser.hpp"

namespace modic::core {

// Positions along an endplate at which its cortex is found: every millimetre across its central
// 30 mm, from the front (index 0) to the back.
constexpr int kEndplatePositions = 31;
constexpr double kEndplatePositionStepMm = 1.0;

// One endplate on a plane: a straight line through its cortex and, position by position along it,
// how far the cortex lies from that line (endplates are concave, and a change beside the disc
// must not move the endplate).
struct EndplateLine {
    std::array<double, 2> centre{};  // plane pixels
    std::array<double, 2> along{};  // unit, anterior -> posterior
    std::array<double, 2> inward{};  // unit, from the endplate into the body
    std::array<double, kEndplatePositions> surface_mm{};  // cortex offset along `inward`
    bool on_cortex = false;  // false: the cortex was not seen, the line is the band's edge

    // The plane point at `position` along the endplate, `inward_mm` into the body past its cortex.
    std::array<double, 2> at(int position, double inward_mm, double pixel_mm) const;
};

struct VertebraGeometry {
    std::string label;
    std::optional<EndplateLine> superior, inferior;
    double height_mm = 0;  // endplate to endplate; estimated where one endplate is not seen
    std::array<double, 2> centre{};  // plane pixels
};

// Bodies keyed by label ("L1" ... "S1", and thoracic ones above). A body between two found discs
// has both endplates; the one above the top disc and the one below the bottom disc have one.
// Each endplate is placed on its cortex, the dark line between disc and marrow, where the plane
// shows one; else on the band's edge.
std::map<std::string, VertebraGeometry> vertebrae_from_discs(const SpineLocalisation& spine,
                                                             const SagittalPlane& plane);

// Both images' bodies, each from its own labelled discs (none where no column was found). When
// the two series share a frame of reference, the fluid-sensitive image takes T1's endplate,
// through patient coordinates, where it found none or none on its cortex and T1 found it on its
// cortex, and only where the fluid image covers the endplate and the marrow beside it. On T2
// oedema has a healthy disc's signal and sclerosis a desiccated disc's, so the fluid image may
// take the disc and the change beside it for one band, and miss that disc or its cortex.
struct BodiesOfBothImages {
    std::map<std::string, VertebraGeometry> t1, fluid;
};
BodiesOfBothImages vertebrae_of_both(const SpineLocalisation& t1_spine, const SagittalPlane& t1_plane,
                                     const SpineLocalisation& fluid_spine, const SagittalPlane& fluid_plane,
                                     bool same_frame_of_reference);

}  // namespace modic::core
