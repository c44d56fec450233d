// Reads the marrow beside each endplate against the patient's own normal marrow, on T1 and on the
// fluid-sensitive series, and types it the way a radiologist reads Modic changes.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "analysis/sagittal_plane.hpp"
#include "analysis/vertebra_geometry.hpp"
#include "modic/core/findings.hpp"

namespace modic::core {

// A plane prepared for marrow reading: smoothed, its bodies known, its normal marrow measured.
struct MarrowPlane {
    const SagittalPlane* plane = nullptr;
    PlaneImage::Pointer smoothed;
    std::map<std::string, VertebraGeometry> bodies;
    double normal_marrow = 0;  // median signal of the central marrow of the complete bodies
    // Each complete body's central marrow signal; its nearer neighbour's where a change fills its
    // middle (beyond both neighbours by a third).
    std::map<std::string, double> body_marrow;
};

MarrowPlane prepare_marrow_plane(const SagittalPlane& plane,
                                 std::map<std::string, VertebraGeometry> bodies);

struct EndplateReading {
    ModicType type = ModicType::None;
    double confidence = 0;
    double depth_fraction = 0;  // of the body height
    double extent_fraction = 0;  // of the endplate's length
    double area_mm2 = 0;  // on the plane
    std::vector<std::array<double, 2>> outline;  // on the T1 plane, plane pixels; closed
};

// Types the given endplate. `fluid` may be null or lack the vertebra (a fluid-sensitive image
// that shows another part of the spine): then only T1 is read, and only type 2 (T1 bright) can
// be called, with a lower confidence. `stir`, a STIR beside a T2 `fluid`, may be null: where it
// shows the endplate, oedema bright on it counts as bright on the fluid-sensitive image.
EndplateReading read_endplate(const MarrowPlane& t1, const MarrowPlane* fluid, bool fluid_is_stir,
                              const std::string& vertebra, EndplateSide side,
                              const MarrowPlane* stir = nullptr);

}  // namespace modic::core
