// Vertebral bodies and their endplates, derived from the labelled discs of one plane.
#pragma once

#include <array>
#include <map>
#include <optional>
#include <string>

#include "analysis/spine_localiser.hpp"

namespace modic::core {

// One endplate on a plane: a line segment and the direction into the body's marrow.
struct EndplateLine {
    std::array<double, 2> centre{};  // plane pixels
    std::array<double, 2> along{};  // unit, anterior -> posterior
    std::array<double, 2> inward{};  // unit, from the endplate into the body
};

struct VertebraGeometry {
    std::string label;
    std::optional<EndplateLine> superior, inferior;
    double height_mm = 0;  // endplate to endplate; estimated where one endplate is not seen
    std::array<double, 2> centre{};  // plane pixels
};

// Bodies keyed by label ("L1" ... "S1", and thoracic ones above). A body between two found discs
// has both endplates; the one above the top disc and the one below the bottom disc have one.
std::map<std::string, VertebraGeometry> vertebrae_from_discs(const SpineLocalisation& spine,
                                                             double pixel_mm);

}  // namespace modic::core
