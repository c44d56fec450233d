// Vertebral bodies and their endplates, derived from the labelled discs of one plane.
#pragma once

#include <array>
#include <map>
#include <optional>
#include <string>

#include "analysis/spine_localiser.hpp"
#include "modic/core/findings.hpp"

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
    // The positions between the body's front and back walls (all, where the walls were not
    // found): the positions beyond read the canal or the tissue in front of the body.
    int first_in_body = 0, last_in_body = kEndplatePositions - 1;

    // The plane point at `position` along the endplate, `inward_mm` into the body past its cortex.
    std::array<double, 2> at(int position, double inward_mm, double pixel_mm) const;
};

struct VertebraGeometry {
    std::string label;
    std::optional<EndplateLine> superior, inferior;
    double height_mm = 0;  // endplate to endplate; estimated where one endplate is not seen
    std::array<double, 2> centre{};  // plane pixels
    std::array<double, 2> across{};  // unit, front to back: along its endplates, or across the column's line

    const std::optional<EndplateLine>& endplate(EndplateSide side) const {
        return side == EndplateSide::Superior ? superior : inferior;
    }
};

// Bodies keyed by label ("L1" ... "S1", and thoracic ones above). A body between two found discs
// has both endplates; the one above the top disc and the one below the bottom disc have one.
// Each endplate is read across its own body (the disc moved along itself to that body's middle
// front to back) and placed on its cortex, the dark line between disc and marrow, where the plane
// shows one; else on the band's edge. Each disc is where its band lies.
std::map<std::string, VertebraGeometry> vertebrae_from_discs(const SpineLocalisation& spine,
                                                             const SagittalPlane& plane);

// A disc drawn into a change beside it (oedema or sclerosis with the disc's signal on T1 make one
// dark band with it) lies more than 7 mm from midway between its neighbours: it is put back there,
// its endplates sought again and the bodies placed again (the change is then read beside the
// disc, not taken for it). Run once the chain is final: the column's shape
// (`lowest_disc_breaks_the_column`) is judged on the discs as found, since a band beyond the
// column's end displaces its neighbour. `spine` keeps its bands as found.
void restore_displaced_discs(const SpineLocalisation& spine, std::map<std::string, VertebraGeometry>& bodies,
                             const SagittalPlane& plane);

// Whether the line through the centres of the three bodies above the lowest disc turns forward
// by more than 20 degrees at the middle one. Below a steep L5/S1 the chain may run on to a band
// in front of the sacrum (bowel, vessels), where the column does not go: the body then taken
// for L5 lies between the real L5/S1 and that band, in front of the line. The centres are
// those of `vertebrae_from_discs`, between the bodies' walls, steadier than the bands'.
bool lowest_disc_breaks_the_column(const SpineLocalisation& spine,
                                   const std::map<std::string, VertebraGeometry>& bodies);

// The centres (plane pixels) of the two endplates facing each other across disc `disc_label`
// ("L4/L5"): the upper body's inferior one and the lower body's superior one, where both were found.
std::optional<std::array<std::array<double, 2>, 2>> endplates_across_disc(
    const std::map<std::string, VertebraGeometry>& bodies, const std::string& disc_label);

// Bodies found on plane `from` as plane `to` shows them, mapped through patient coordinates: T1's
// bodies on the fluid-sensitive plane (`from` is then the T1 plane where the fluid image sees it:
// the same plane when the two series share a frame of reference, else the plane moved by
// align_t1_to_fluid), or on another slice of either series. An endplate is kept only where `to`
// covers it and the marrow beside it to a quarter of the body's height, half the depth the
// marrow is read to (step 7 reads no further than the plane shows): a fluid series' field of view
// often ends within S1, and where S1's oedema lay beside the T1 alone, it could not be typed.
// The fluid image's own discs are not needed then, which matters: on T2 the posterior elements
// form a chain of bands as strong as the discs, oedema has a healthy disc's signal and sclerosis
// a desiccated disc's.
std::map<std::string, VertebraGeometry> map_vertebrae(const std::map<std::string, VertebraGeometry>& bodies,
                                                      const SagittalPlane& from, const SagittalPlane& to);

}  // namespace modic::core
